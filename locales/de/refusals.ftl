## Warum eine Anfrage abgelehnt wurde (die 400 der API für einen falschen zweiten Faktor
## oder ein Token, das sich nicht verwenden lässt, ihre 404 und ihre 429), wie die Seiten
## es zeigen.

# Ein abgelehnter zweiter Faktor, neben seinem Feld
wrong-factor-not-current-code = Der Code ist nicht der aktuelle Code Ihrer Authenticator-App.
wrong-factor-code = Der Code ist nicht richtig oder wurde bereits verwendet.
wrong-factor-recovery-code = Der Wiederherstellungscode ist nicht richtig oder wurde bereits verwendet.
wrong-factor-passkey = Der Passkey ist nicht richtig oder wurde bereits verwendet.
wrong-factor-passkey-not-accepted = Die Antwort des Passkeys wurde nicht akzeptiert. Versuchen Sie es erneut oder verwenden Sie einen anderen Passkey.

# Ein Token oder Link, der sich nicht verwenden lässt
bad-token-verification = Das Bestätigungstoken ist ungültig, wurde bereits verwendet oder ist abgelaufen.
bad-token-reset = Das Token zum Zurücksetzen ist ungültig, wurde bereits verwendet oder ist abgelaufen.
bad-token-invitation = Das Einladungstoken ist ungültig, wurde bereits verwendet oder ist abgelaufen.
bad-token-email-change-confirm = Der Bestätigungslink ist ungültig, wurde bereits verwendet, ist abgelaufen oder wurde durch eine neuere Änderung ersetzt.
bad-token-email-change-cancel = Der Link zum Abbrechen ist ungültig, wurde bereits verwendet oder ist abgelaufen.
bad-token-mfa = Das mfa_token ist unbekannt, abgelaufen, bereits verwendet oder hat zu viele falsche Antworten erhalten; melden Sie sich erneut an.
bad-token-passkey-challenge = Die challenge_id ist unbekannt, abgelaufen, bereits verwendet oder nicht für diese Anfrage bestimmt.
bad-token-sign-in-too-long = Die Anmeldung hat zu lange gedauert: Beginnen Sie von vorn.

# Nicht gefunden
not-found-account = Konto nicht gefunden.
not-found-user = Konto nicht gefunden.
not-found-client = Anwendung nicht gefunden.
not-found-grant = Für diese Anwendung wurde kein Zugriff gefunden.
not-found-webhook = Webhook nicht gefunden.
not-found-delivery = Zustellung nicht gefunden.
not-found-goal = Ziel nicht gefunden.
not-found-provider = Anmeldeanbieter nicht gefunden.
not-found-identity = Konto bei einem anderen Anbieter nicht gefunden.
not-found-passkey = Passkey nicht gefunden.
not-found-totp = Es ist keine Authenticator-App eingerichtet.
not-found-payment = Zahlungsdaten nicht gefunden.
not-found-session = Sitzung nicht gefunden.
not-found-resource = Nicht gefunden.

# Zu viele Versuche oder Mails
too-many-requests = Aus Ihrem Netzwerk kamen zu viele Anmelde- und Kontoanfragen; versuchen Sie es später erneut.
too-many-password-attempts = Zu viele falsche Passwörter für dieses Konto; versuchen Sie es später erneut.
too-many-logins = Zu viele fehlgeschlagene Anmeldungen bei diesem Konto; versuchen Sie es später erneut.
too-many-reset-mails = Diese Adresse hat ihre Mails zum Zurücksetzen für diese Stunde schon erhalten.
too-many-verification-mails = { $count ->
    [one] An diese Adresse wurde in der letzten Stunde bereits { $count } Bestätigungs-E-Mail gesendet.
   *[other] An diese Adresse wurden in der letzten Stunde bereits { $count } Bestätigungs-E-Mails gesendet.
}
too-many-confirmation-mails = { $count ->
    [one] An diese Adresse wurde in der letzten Stunde bereits { $count } E-Mail zur Bestätigung der neuen Adresse gesendet.
   *[other] An diese Adresse wurden in der letzten Stunde bereits { $count } E-Mails zur Bestätigung der neuen Adresse gesendet.
}
