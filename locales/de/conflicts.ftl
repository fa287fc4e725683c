## Warum eine Anfrage dem Gespeicherten widerspricht (die 409 der API), wie die Seiten
## es neben dem Feld oder für das ganze Formular zeigen.

# Konten
conflict-username-taken = Dieser Benutzername ist bereits vergeben.
conflict-email-registered = Diese E-Mail-Adresse ist bereits registriert.
conflict-email-verified = Die E-Mail-Adresse ist bereits bestätigt.
conflict-last-admin = Dies ist der letzte aktive Administrator: Machen Sie zuerst ein anderes Konto zum Administrator.
conflict-account-deactivated = Das Konto ist deaktiviert: Aktivieren Sie es wieder, bevor Sie einen Link zum Zurücksetzen senden.
conflict-payment-stored = Zahlungsdaten sind bereits gespeichert: Ersetzen Sie sie mit PUT.

# Anmeldung und zweite Faktoren
conflict-totp-set-up = Eine Authenticator-App ist bereits eingerichtet; entfernen Sie sie zuerst.
conflict-totp-not-pending = Es wird keine Authenticator-App eingerichtet; beginnen Sie mit POST /api/v1/auth/mfa/totp.
conflict-recovery-needs-factor = Richten Sie zuerst einen zweiten Faktor ein (eine Authenticator-App oder einen Passkey).
conflict-passkey-registered = Dieser Passkey ist bereits registriert.
conflict-no-passkey = Dieses Konto hat keinen Passkey.
conflict-session-rotated = Das Refresh-Token der Sitzung wurde inzwischen erneuert; versuchen Sie es noch einmal.
conflict-last-sign-in = Das ist die letzte Möglichkeit, sich bei dem Konto anzumelden: Legen Sie zuerst ein Passwort fest (durch ein Zurücksetzen) oder fügen Sie einen Passkey hinzu.

# Anwendungen und Anmeldeanbieter
conflict-public-client-secret = Ein öffentlicher Client hat kein Geheimnis, das erneuert werden könnte.
conflict-provider-slug = Es gibt bereits einen Anmeldeanbieter mit diesem Kurznamen.

# Abzeichen und Ziele
conflict-badge-name = Dieses Konto hat bereits ein Abzeichen mit diesem Namen.
conflict-goal-closed = { $status ->
    [completed] Das Ziel ist erreicht
    [abandoned] Das Ziel wurde aufgegeben
   *[other] Das Ziel hat den Status { $status }
}; setzen Sie seinen Status auf „in Arbeit“, um wieder einzuchecken.
