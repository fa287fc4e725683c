## Die E-Mails: templates/mail/*.txt und *.html und ihre Betreffzeilen.
## Anrede: Sie. Begriffe: Konto, Anmelden/Abmelden, Passwort, Sitzung, Zwei-Faktor.

mail-hello = Hallo { $username },
mail-paste-link = Oder kopieren Sie diese Adresse in Ihren Browser:
mail-signature = { $brand }
mail-if-you-nothing-to-do = Wenn Sie das waren, ist nichts weiter zu tun.

mail-password-reset-subject = Setzen Sie Ihr { $brand }-Passwort zurück
password-reset-asked = jemand (hoffentlich Sie) hat beantragt, das Passwort Ihres { $brand }-Kontos zurückzusetzen. Um ein neues Passwort zu wählen, öffnen Sie innerhalb von { $valid_for } diesen Link:
password-reset-button = Mein Passwort zurücksetzen
password-reset-once = Der Link funktioniert einmal. Wenn Sie das nicht beantragt haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.

mail-email-verification-subject = Bestätigen Sie Ihre E-Mail-Adresse
email-verification-asked = bitte bestätigen Sie, dass { $email } die Adresse Ihres { $brand }-Kontos ist, indem Sie innerhalb von { $valid_for } diesen Link öffnen:
email-verification-button = Meine Adresse bestätigen
email-verification-ignore = Wenn Sie kein Konto erstellt und keine Adresse geändert haben, ignorieren Sie diese Nachricht.

mail-password-changed-subject = Ihr { $brand }-Passwort wurde geändert
password-changed-what =
    { $how ->
        [reset] das Passwort Ihres { $brand }-Kontos wurde am { $changed_at } zurückgesetzt; Ihre anderen Sitzungen wurden abgemeldet.
       *[changed] das Passwort Ihres { $brand }-Kontos wurde am { $changed_at } geändert; Ihre anderen Sitzungen wurden abgemeldet.
    }
password-changed-if-not = Wenn nicht, setzen Sie Ihr Passwort sofort zurück und melden Sie sich erneut an:

mail-email-change-confirm-subject = Bestätigen Sie Ihre neue E-Mail-Adresse
email-change-confirm-asked = jemand (hoffentlich Sie) hat beantragt, { $new_email } zur Adresse des { $brand }-Kontos { $username } zu machen. Zur Bestätigung öffnen Sie innerhalb von { $valid_for } diesen Link:
email-change-confirm-button = Meine neue Adresse bestätigen
email-change-confirm-until = Bis dahin behält das Konto seine bisherige Adresse. Wenn Sie das nicht beantragt haben, ignorieren Sie diese Nachricht.

mail-email-change-notice-subject = Die E-Mail-Adresse Ihres { $brand }-Kontos wird geändert
email-change-notice-asked = am { $requested_at } hat jemand beantragt, die Adresse Ihres { $brand }-Kontos von dieser auf { $new_email } zu ändern.
email-change-notice-cancel = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, brechen Sie die Änderung innerhalb von { $valid_for } mit diesem Link ab; er macht die Änderung auch rückgängig, falls sie bereits bestätigt wurde, und meldet alle Sitzungen des Kontos ab:
email-change-notice-button = Änderung abbrechen
email-change-notice-then = Setzen Sie danach Ihr Passwort zurück: Wer die Änderung beantragt hat, kannte es.

mail-email-changed-by-admin-subject = Die E-Mail-Adresse Ihres { $brand }-Kontos wurde geändert
email-changed-by-admin-what = am { $changed_at } hat ein Administrator die Adresse Ihres { $brand }-Kontos von dieser auf { $new_email } geändert. Nachrichten zum Konto gehen jetzt dorthin.
email-changed-by-admin-contact = Wenn Sie das nicht erwartet haben, wenden Sie sich an die Administratoren von { $public_url }.

mail-identity-change-subject =
    { $change ->
        [linked] Ein Konto wurde mit Ihrem { $brand }-Konto verknüpft
       *[removed] Ein Konto wurde von Ihrem { $brand }-Konto getrennt
    }
identity-change-linked = Ihr { $provider }-Konto wurde am { $changed_at } mit Ihrem { $brand }-Konto verknüpft: Sie können sich jetzt damit anmelden.
identity-change-linked-email = Ihr { $provider }-Konto ({ $email }) wurde am { $changed_at } mit Ihrem { $brand }-Konto verknüpft: Sie können sich jetzt damit anmelden.
identity-change-removed = Ihr { $provider }-Konto wurde am { $changed_at } von Ihrem { $brand }-Konto getrennt: Sie können sich nicht mehr damit anmelden.
identity-change-removed-email = Ihr { $provider }-Konto ({ $email }) wurde am { $changed_at } von Ihrem { $brand }-Konto getrennt: Sie können sich nicht mehr damit anmelden.
identity-change-if-not = Wenn nicht, melden Sie sich an, entfernen Sie aus Ihrem Konto, was Sie nicht kennen, und ändern Sie Ihr Passwort:

mail-webhook-disabled-subject = Ein Webhook-Endpunkt wurde deaktiviert
webhook-disabled-what = der Webhook-Endpunkt { $url } (ID { $webhook_id }) wurde am { $disabled_at } deaktiviert: { $why }.
webhook-disabled-gone = er hat mit 410 Gone geantwortet
webhook-disabled-failing = seine Zustellungen sind über WEBHOOK_DISABLE_AFTER_HOURS hinweg ohne einen Erfolg fehlgeschlagen
webhook-disabled-kept = Seine Ereignisse bleiben erhalten und warten auf ihn. Wenn der Endpunkt wieder funktioniert, aktivieren Sie ihn ({ $enable } mit { $body }), dann werden sie zugestellt; endgültig fehlgeschlagene Zustellungen sendet { $redrive } erneut.

mail-invitation-subject = Sie wurden zu { $brand } eingeladen
invitation-made = ein Administrator hat für Sie ein Konto bei { $brand } angelegt, mit dem Benutzernamen { $username } und dieser Adresse. Um Ihr Passwort zu wählen und das Konto zu verwenden, öffnen Sie innerhalb von { $valid_for } diesen Link:
invitation-button = Mein Passwort wählen
invitation-once = Der Link funktioniert einmal. Wenn Sie das nicht erwartet haben, ignorieren Sie diese Nachricht: Niemand kann sich bei dem Konto anmelden, solange kein Passwort festgelegt ist.

mail-valid-minutes = { $count ->
        [one] { $count } Minute
       *[other] { $count } Minuten
    }
mail-valid-hours = { $count ->
        [one] { $count } Stunde
       *[other] { $count } Stunden
    }
mail-valid-days = { $count ->
        [one] { $count } Tag
       *[other] { $count } Tagen
    }
