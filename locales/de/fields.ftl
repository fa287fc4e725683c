## Die Fehler von Formularfeldern, wie die Seiten sie neben ihrem Feld zeigen.

# Jede Art von Feld
field-required = Muss angegeben werden.
field-not-null = Darf nicht null sein.
field-text = Muss Text sein.
field-too-short = { $limit ->
    [one] Muss mindestens { $limit } Zeichen lang sein.
   *[other] Muss mindestens { $limit } Zeichen lang sein.
}
field-too-long = { $max ->
    [one] Darf höchstens { $max } Zeichen lang sein.
   *[other] Darf höchstens { $max } Zeichen lang sein.
}
field-length-between = Muss { $min } bis { $max } Zeichen lang sein.
field-not-blank = Muss 1 bis { $max } Zeichen lang sein (nicht nur Leerzeichen).
field-bidi-characters = Darf keine Zeichen zur Steuerung der Schreibrichtung enthalten (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).
field-control-characters-one-line = Darf keine Steuerzeichen und keine Zeilenumbrüche enthalten.
field-control-characters = Darf außer Zeilenumbrüchen und Tabulatoren keine Steuerzeichen enthalten.
field-spaces-or-control-characters = Darf keine Leerzeichen und keine Steuerzeichen enthalten.
field-control-characters-none = Darf keine Steuerzeichen enthalten.
field-read-only = Wird vom Server gesetzt und kann nicht geschrieben werden.
field-not-future = Darf nicht in der Zukunft liegen.
field-timestamp = Muss ein Zeitpunkt nach RFC 3339 sein, etwa 2026-11-22T10:00:00Z.
field-count = Muss eine ganze Zahl von 0 bis { $max } sein.
field-at-most = Höchstens { $max }.

# Adressen im Web
field-url-absolute = Muss eine absolute URL sein.
field-url-fragment = Darf kein Fragment (#…) haben.
field-url-host = Muss einen Host nennen.
field-url-credentials = Darf keinen Benutzernamen und kein Passwort enthalten.
field-http-url = Muss eine http://- oder https://-URL mit höchstens { $max } Zeichen sein.
field-web-url = Muss eine absolute http- oder https-URL sein.

# Die Gründe des URL-Parsers, innerhalb einer anderen Meldung ({ $problem } von field-webhook-url)
url-problem-empty-host = leerer Host
url-problem-idna = ungültiger internationaler Domainname
url-problem-port = ungültige Portnummer
url-problem-ipv4 = ungültige IPv4-Adresse
url-problem-ipv6 = ungültige IPv6-Adresse
url-problem-domain-character = ungültiges Zeichen im Domainnamen
url-problem-relative = relative URL ohne Basis
url-problem-cannot-be-a-base = relative URL zu einer Basis ohne Pfadstruktur
url-problem-no-host-to-set = eine URL ohne Pfadstruktur hat keinen Host, der gesetzt werden könnte
url-problem-overflow = URLs über 4 GB werden nicht unterstützt

# Konten und Profile
field-username-length = Muss { $min } bis { $max } Zeichen lang sein.
field-username-characters = Darf nur Buchstaben, Ziffern, „_“, „.“ und „-“ enthalten.
field-email = Muss eine gültige E-Mail-Adresse mit höchstens { $max } Zeichen sein.
field-locale = Muss eine der unterstützten Sprachen sein: { $languages }.
field-phone = Muss eine Nummer nach E.164 sein: „+“ und 2 bis 15 Ziffern, z. B. +12125551234.
field-date = Muss ein Datum der Form JJJJ-MM-TT sein.
field-date-past = Muss in der Vergangenheit liegen.
field-date-of-birth-age = Muss ein Alter von { $min } bis { $max } Jahren ergeben.
field-country = Muss ein Ländercode nach ISO 3166-1 alpha-2 sein, z. B. DE.
field-postal-code = Darf nur Buchstaben, Ziffern, Leerzeichen und „-“ enthalten.
field-profile-visibility = Muss premium oder private sein.
field-confirm-password = Muss dem Passwort gleichen.

# Ziele
field-goal-status = Muss einer von not-started, in-progress, completed, abandoned sein.

# Einstellungen (die Regeln ihres JSON-Schemas)
field-not-recognised = Ist kein bekanntes Feld.
field-wrong-type = Hat den falschen Typ.
field-one-of = Muss einer dieser Werte sein: { $options }.
field-constant = Muss { $value } sein.
field-minimum = Muss mindestens { $limit } sein.
field-maximum = Darf höchstens { $limit } sein.
field-greater-than = Muss größer als { $limit } sein.
field-less-than = Muss kleiner als { $limit } sein.
field-min-items = { $limit ->
    [one] Muss mindestens { $limit } Eintrag haben.
   *[other] Muss mindestens { $limit } Einträge haben.
}
field-max-items = { $limit ->
    [one] Darf höchstens { $limit } Eintrag haben.
   *[other] Darf höchstens { $limit } Einträge haben.
}
field-unique-items = Darf keinen Eintrag wiederholen.
field-pattern = Muss dem Muster { $pattern } entsprechen.
field-format = Muss ein gültiger Wert des Formats { $format } sein.
field-multiple-of = Muss ein Vielfaches von { $limit } sein.
field-no-schema-fits = Entspricht keiner der erlaubten Formen.
field-several-schemas-fit = Entspricht mehr als einer der erlaubten Formen, obwohl genau eine passen muss.
field-not-allowed = Ist nicht erlaubt.
field-contains = Enthält keinen Eintrag der verlangten Art.
field-min-properties = { $limit ->
    [one] Muss mindestens { $limit } Feld haben.
   *[other] Muss mindestens { $limit } Felder haben.
}
field-max-properties = { $limit ->
    [one] Darf höchstens { $limit } Feld haben.
   *[other] Darf höchstens { $limit } Felder haben.
}
field-unexpected-items = Hat mehr Einträge als erlaubt.
field-property-names = Hat einen Feldnamen, der nicht erlaubt ist.
field-invalid = Ist nicht gültig: { $problem }.

# Anwendungen (OAuth-Clients)
field-client-type = Muss `public` oder `confidential` sein.
field-grant-type = Muss `authorization_code`, `refresh_token` oder `client_credentials` sein.
field-grant-types-empty = Muss mindestens eine Grant-Art nennen.
field-grant-client-credentials-public = client_credentials gibt es nur für vertrauliche (confidential) Anwendungen.
field-redirect-uris-needed = Mit der Grant-Art authorization_code ist mindestens eine nötig.
field-redirect-uri-http = Muss https verwenden (http nur auf 127.0.0.1, [::1] oder localhost).
field-redirect-uri-scheme = Muss https verwenden, http auf einem Loopback-Host oder ein eigenes Schema mit Punkt (com.example.app:/callback).
field-id-token-algorithm = Muss `RS256` oder `EdDSA` sein.
field-client-scope = Muss 1 bis { $max } druckbare ASCII-Zeichen außer Leerzeichen, `"` und `\` umfassen (RFC 6749 §3.3).

# Identitätsanbieter
field-provider-kind = Muss einer von oidc, google, apple, microsoft, github, gitlab sein.
field-provider-slug = Muss 1 bis { $max } Zeichen aus a-z, 0-9 und - umfassen und mit einem Buchstaben oder einer Ziffer beginnen.
field-provider-slug-reserved = Bezeichnet eine der eigenen Seiten von { $brand }; bitte wählen Sie einen anderen.
field-provider-credential = Muss 1 bis { $max } Bytes ohne Steuerzeichen umfassen.
field-provider-secret-with-ids = Ist mit team_id und key_id nötig (der Schlüssel, den sie bezeichnen).
field-provider-apple-only = Gibt es nur für die Art apple.
field-provider-trust-email = Muss einer von never, verified, authoritative sein.
field-provider-scopes-count = Höchstens { $max } Scopes.
field-provider-scope = Muss ein Scope-Token aus 1 bis { $max } Zeichen sein.
field-provider-scopes-openid = Muss openid enthalten.
field-provider-url-https = Muss https verwenden (http nur auf einem Loopback-Host).
field-provider-url-query = Darf weder Query noch Fragment haben.
field-provider-issuer-oidc = Ist für die Art oidc nötig: Von dort wird das Discovery-Dokument gelesen.
field-provider-issuer-microsoft = Ist für die Art microsoft nötig: der Issuer des Mandanten, https://login.microsoftonline.com/{"{"}tenant-id{"}"}/v2.0.
field-apple-required = Ist für die Art apple nötig.
field-apple-id = Muss aus den 10 Zeichen (A-Z, 0-9) bestehen, die Apples Entwicklerkonsole zeigt.
field-apple-key = Muss der Text der .p8-Schlüsseldatei sein, die Apple Ihnen gegeben hat: ein privater P-256-Schlüssel in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).

# Das Audit-Protokoll
field-event-name = Muss ein Ereignisname mit höchstens { $max } Zeichen sein.

# Webhooks
field-webhook-url = Ist keine URL ({ $problem }).
field-webhook-https = Muss eine https-URL sein.
field-webhook-host-unresolved = Hat einen Host, { $host }, der sich nicht auflösen lässt.
field-webhook-host-no-address = Hat einen Host, der zu keiner Adresse aufgelöst wird.
field-webhook-not-public = Zeigt auf { $address }, keine öffentliche Adresse (WEBHOOK_ALLOW_HOSTS kann sie zulassen).
field-webhook-events-count = Muss 1 bis { $max } Ereignistypen nennen.
field-webhook-event-unknown = „{ $pattern }“ ist kein Ereignistyp.
field-webhook-description = Darf höchstens { $max } Zeichen ohne Steuerzeichen lang sein.
