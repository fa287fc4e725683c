## Die öffentlichen Seiten: templates/web/*.html (ohne die Konsole) und was der Code
## dahinter auf ihnen anzeigt. Jede Nachricht darf die Marke als { $brand } nennen.

language-name = Deutsch

layout-title = { $page } · { $brand }

login-title = Anmelden
login-continue-to = Melden Sie sich an, um mit { $client } fortzufahren.
login-username = Benutzername oder E-Mail-Adresse
login-password = Passwort
login-submit = Anmelden
login-forgot-password = Passwort vergessen?
login-create-account = Konto erstellen
login-passkey = Mit einem Passkey anmelden
login-with-provider = Mit { $provider } anmelden
