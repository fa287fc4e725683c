## Die Seiten der Konsole: was alle Seiten teilen (Rahmen, Zeiten, Geräte).
## Eine Nachricht darf { $brand } nennen; keine nennt das Produkt selbst.

## Zeiten (`when` in den Vorlagen): die genaue Zeit, dann wie lange her in Worten.
## Datum und Uhrzeit getrennt, damit die Uhrzeit (die Seite hält sie auf einer Zeile) eine
## eigene Nachricht ist.
time-exact = { $date }, { $clock }
time-date = { $day }. { $month } { $year }
time-clock = { $time } UTC
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
device-application = Eine Anwendung ({ $name })
device-unknown = Unbekanntes Gerät

## Der Rahmen jeder Konsolenseite (console/frame.html).
console-skip = Zum Seiteninhalt springen
console-sections = Bereiche
console-sections-menu = Bereiche (Menü)
console-menu = Menü
console-nav-account = Konto
console-nav-profile = Profil
console-nav-preferences = Einstellungen
console-nav-security = Anmeldung und Sicherheit
console-nav-sessions = Sitzungen
console-nav-applications = Anwendungen
console-nav-achievements = Abzeichen und Ziele
console-nav-payment = Zahlung
console-nav-people = Personen
console-nav-admin = Administration
console-signed-in-as = Angemeldet als { $username }
console-sign-out = Abmelden
console-to-account = Zurück zu Ihrem Konto

## Ablehnungen jeder Konsolenseite (src/console/frame.rs, src/console/problem.rs).
console-admins-only-title = Nur für Administratoren
console-admins-only = Diese Seite ist Administratoren vorbehalten.
console-form-expired-title = Das Formular war abgelaufen
console-form-expired-next = Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
console-form-unreadable-title = Das Formular konnte nicht gelesen werden
console-form-unreadable-next = Gehen Sie zurück und versuchen Sie es noch einmal.
console-nothing-changed = Es wurde nichts geändert.
console-not-found-title = Seite nicht gefunden
console-not-found = Unter dieser Adresse gibt es keine Seite, oder was sie zeigte, wurde inzwischen gelöscht.
console-unreadable-title = Die Anfrage konnte nicht gelesen werden
console-unreadable = Es wurde nichts geändert. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
console-not-allowed-title = Nicht erlaubt
console-not-allowed = Das dürfen Sie hier nicht tun. Es wurde nichts geändert.
console-conflict-title = Nicht geändert
console-conflict = Inzwischen hat sich etwas geändert, daher wurde nichts geändert. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
console-too-many-title = Zu viele Versuche
console-too-many = Es gab zu viele Versuche. Warten Sie eine Minute und versuchen Sie es dann noch einmal.
console-failed-title = Etwas ist schiefgegangen
console-failed = Die Seite konnte nicht angezeigt werden. Versuchen Sie es gleich noch einmal; wenn es wieder geschieht, wenden Sie sich an einen Administrator.
console-failed-reference = Referenz: { $reference }.
console-not-done-title = Nicht ausgeführt
console-not-done = Das konnte nicht ausgeführt werden. Gehen Sie zurück und versuchen Sie es noch einmal.

## Wenn die Sitzung hier endet (abgemeldet, das Konto gelöscht).
console-signed-out-title = Abgemeldet
console-signed-out = Sie sind in diesem Browser von { $brand } abgemeldet.
console-sign-in-again = Erneut anmelden
console-deleted-title = Konto gelöscht
console-deleted = Ihr Konto und alles, was dazu gehörte, wurden gelöscht, und Sie sind überall abgemeldet.
console-deleted-next = Neues Konto erstellen
