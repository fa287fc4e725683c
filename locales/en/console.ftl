## The console's own pages: what every page shares (the frame, times, devices).
## A message may use { $brand }; none names the product itself.

## Times (`when` in the templates): the exact time, then how long ago in words.
## The date and the time of day are apart, so that the time of day (the page keeps it on one
## line) is a message of its own.
time-exact = { $date }, { $clock }
time-date = { $day } { $month } { $year }
time-clock = { $time } UTC
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
device-application = An application ({ $name })
device-unknown = Unknown device

## The frame of every console page (console/frame.html).
console-skip = Skip to the page
console-sections = Sections
console-sections-menu = Sections (menu)
console-menu = Menu
console-nav-account = Account
console-nav-profile = Profile
console-nav-preferences = Preferences
console-nav-security = Sign-in and security
console-nav-sessions = Sessions
console-nav-applications = Applications
console-nav-achievements = Badges and goals
console-nav-payment = Payment
console-nav-people = People
console-nav-admin = Administration
console-signed-in-as = Signed in as { $username }
console-sign-out = Sign out
console-to-account = Back to your account

## Refusals of every console page (src/console/frame.rs, src/console/problem.rs).
console-admins-only-title = Administrators only
console-admins-only = This page is for administrators.
console-form-expired-title = The form had expired
console-form-expired-next = Go back, reload the page and try again.
console-form-unreadable-title = The form could not be read
console-form-unreadable-next = Go back and try again.
console-nothing-changed = Nothing was changed.
console-not-found-title = Page not found
console-not-found = There is no page at this address, or what it showed was deleted meanwhile.
console-unreadable-title = The request could not be read
console-unreadable = Nothing was changed. Go back, reload the page and try again.
console-not-allowed-title = Not allowed
console-not-allowed = You may not do this here. Nothing was changed.
console-conflict-title = Not changed
console-conflict = Something changed meanwhile, so nothing was changed. Go back, reload the page and try again.
console-too-many-title = Too many attempts
console-too-many = There were too many attempts. Wait a minute, then try again.
console-failed-title = Something went wrong
console-failed = The page could not be shown. Try again in a moment; if it keeps happening, tell an administrator.
console-failed-reference = Reference: { $reference }.
console-not-done-title = Not done
console-not-done = This could not be done. Go back and try again.

## When the session ends here (signed out, the account deleted).
console-signed-out-title = Signed out
console-signed-out = You are signed out of { $brand } on this browser.
console-sign-in-again = Sign in again
console-deleted-title = Account deleted
console-deleted = Your account and everything of it were deleted, and you are signed out everywhere.
console-deleted-next = Create a new account
