## Die E-Mails: templates/mail/*.txt und *.html und ihre Betreffzeilen.

mail-password-reset-subject = Setzen Sie Ihr { $brand }-Passwort zurück
mail-email-verification-subject = Bestätigen Sie Ihre E-Mail-Adresse
mail-password-changed-subject = Ihr { $brand }-Passwort wurde geändert
mail-email-change-confirm-subject = Bestätigen Sie Ihre neue E-Mail-Adresse
mail-email-change-notice-subject = Die E-Mail-Adresse Ihres { $brand }-Kontos wird geändert
mail-email-changed-by-admin-subject = Die E-Mail-Adresse Ihres { $brand }-Kontos wurde geändert
mail-identity-change-subject =
    { $change ->
        [linked] Ein Konto wurde mit Ihrem { $brand }-Konto verknüpft
       *[removed] Ein Konto wurde von Ihrem { $brand }-Konto getrennt
    }
mail-webhook-disabled-subject = Ein Webhook-Endpunkt wurde deaktiviert
mail-invitation-subject = Sie wurden zu { $brand } eingeladen
