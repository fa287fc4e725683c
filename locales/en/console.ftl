## The console's own pages: what every page shares (the frame, times, devices).
## A message may use { $brand }; none names the product itself.

## Times (`when` in the templates): the exact time, then how long ago in words.
time-exact = { $day } { $month } { $year }, { $time } UTC
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
time-now = just now
time-minutes-ago = { $count ->
    [one] a minute ago
   *[other] { $count } minutes ago
}
time-hours-ago = { $count ->
    [one] an hour ago
   *[other] { $count } hours ago
}
time-days-ago = { $count ->
    [one] a day ago
   *[other] { $count } days ago
}
time-in-minutes = { $count ->
    [one] in a minute
   *[other] in { $count } minutes
}
time-in-hours = { $count ->
    [one] in an hour
   *[other] in { $count } hours
}
time-in-days = { $count ->
    [one] in a day
   *[other] in { $count } days
}

## Devices (`device` in the templates), from the browser's User-Agent.
device-browser-on-system = { $browser } on { $system }
device-unknown = Unknown device
