## Die Seiten der Konsole: was alle Seiten teilen (Rahmen, Zeiten, Geräte).
## Eine Nachricht darf { $brand } nennen; keine nennt das Produkt selbst.

## Zeiten (`when` in den Vorlagen): die genaue Zeit, dann wie lange her in Worten.
time-exact = { $day }. { $month } { $year }, { $time } UTC
month-1 = Jan.
month-2 = Feb.
month-3 = März
month-4 = Apr.
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = Aug.
month-9 = Sept.
month-10 = Okt.
month-11 = Nov.
month-12 = Dez.
time-now = gerade eben
time-minutes-ago = { $count ->
    [one] vor einer Minute
   *[other] vor { $count } Minuten
}
time-hours-ago = { $count ->
    [one] vor einer Stunde
   *[other] vor { $count } Stunden
}
time-days-ago = { $count ->
    [one] vor einem Tag
   *[other] vor { $count } Tagen
}
time-in-minutes = { $count ->
    [one] in einer Minute
   *[other] in { $count } Minuten
}
time-in-hours = { $count ->
    [one] in einer Stunde
   *[other] in { $count } Stunden
}
time-in-days = { $count ->
    [one] in einem Tag
   *[other] in { $count } Tagen
}

## Geräte (`device` in den Vorlagen), aus dem User-Agent des Browsers.
device-browser-on-system = { $browser } unter { $system }
device-unknown = Unbekanntes Gerät
