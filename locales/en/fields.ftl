## The errors of form fields, as the pages show them next to their field: the same
## words as the API's English `message` (`FieldError::words`), as a sentence.

# Every kind of field
field-required = Is required.
field-not-null = Must not be null.
field-text = Must be a string.
field-too-short = { $limit ->
    [one] Must be at least { $limit } character.
   *[other] Must be at least { $limit } characters.
}
field-too-long = { $max ->
    [one] Must be at most { $max } character.
   *[other] Must be at most { $max } characters.
}
field-length-between = Must be { $min } to { $max } characters.
field-not-blank = Must be 1 to { $max } characters (not blank).
field-bidi-characters = Must not contain bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).
field-control-characters-one-line = Must not contain control characters or line breaks.
field-control-characters = Must not contain control characters other than line breaks and tabs.
field-spaces-or-control-characters = Must not contain spaces or control characters.
field-control-characters-none = Must not contain control characters.
field-read-only = Is set by the server and cannot be written.
field-not-future = Must not be in the future.
field-timestamp = Must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z.
field-count = Must be a whole number from 0 to { $max }.
field-at-most = At most { $max }.

# Addresses on the web
field-url-absolute = Must be an absolute URL.
field-url-fragment = Must not have a fragment.
field-url-host = Must name a host.
field-url-credentials = Must not carry a user name or password.
field-http-url = Must be an http:// or https:// URL of at most { $max } characters.
field-web-url = Must be an absolute http or https URL.

# The URL parser's reasons, inside another message (field-webhook-url's { $problem })
url-problem-empty-host = empty host
url-problem-idna = invalid international domain name
url-problem-port = invalid port number
url-problem-ipv4 = invalid IPv4 address
url-problem-ipv6 = invalid IPv6 address
url-problem-domain-character = invalid domain character
url-problem-relative = relative URL without a base
url-problem-cannot-be-a-base = relative URL with a cannot-be-a-base base
url-problem-no-host-to-set = a cannot-be-a-base URL doesn’t have a host to set
url-problem-overflow = URLs more than 4 GB are not supported

# Accounts and profiles
field-username-length = Must be { $min } to { $max } characters.
field-username-characters = May contain only letters, digits, '_', '.' and '-'.
field-email = Must be a valid email address of at most { $max } characters.
field-locale = Must be one of the supported languages: { $languages }.
field-phone = Must be an E.164 number: '+' and 2 to 15 digits, e.g. +12125551234.
field-date = Must be a date YYYY-MM-DD.
field-date-past = Must be in the past.
field-date-of-birth-age = Must give an age from { $min } to { $max } years.
field-country = Must be an ISO 3166-1 alpha-2 country code, e.g. US.
field-postal-code = May contain only letters, digits, spaces and '-'.
field-profile-visibility = Must be premium or private.
field-confirm-password = Must equal the password.

# Goals
field-goal-status = Must be one of not-started, in-progress, completed, abandoned.

# Preferences (the rules of their JSON Schema)
field-not-recognised = Is not a recognised field.
field-wrong-type = Has the wrong type.
field-one-of = Must be one of { $options }.
field-constant = Must be { $value }.
field-minimum = Must be at least { $limit }.
field-maximum = Must be at most { $limit }.
field-greater-than = Must be greater than { $limit }.
field-less-than = Must be less than { $limit }.
field-min-items = { $limit ->
    [one] Must have at least { $limit } item.
   *[other] Must have at least { $limit } items.
}
field-max-items = { $limit ->
    [one] Must have at most { $limit } item.
   *[other] Must have at most { $limit } items.
}
field-unique-items = Must not repeat items.
field-pattern = Must match the pattern { $pattern }.
field-format = Must be a valid { $format }.
field-multiple-of = Must be a multiple of { $limit }.
field-no-schema-fits = Does not match any of the allowed forms.
field-several-schemas-fit = Matches more than one of the allowed forms, where exactly one must match.
field-not-allowed = Is not allowed.
field-contains = Has no item of the required kind.
field-min-properties = { $limit ->
    [one] Must have at least { $limit } field.
   *[other] Must have at least { $limit } fields.
}
field-max-properties = { $limit ->
    [one] Must have at most { $limit } field.
   *[other] Must have at most { $limit } fields.
}
field-unexpected-items = Has more items than allowed.
field-property-names = Has a field name that is not allowed.
field-invalid = Is not valid: { $problem }.

# Applications (OAuth clients)
field-client-type = Must be `public` or `confidential`.
field-grant-type = Must be `authorization_code`, `refresh_token` or `client_credentials`.
field-grant-types-empty = Must name at least one grant.
field-grant-client-credentials-public = client_credentials is only for confidential clients.
field-redirect-uris-needed = At least one is required with the authorization_code grant.
field-redirect-uri-http = Must use https (http only on 127.0.0.1, [::1] or localhost).
field-redirect-uri-scheme = Must use https, http on a loopback host, or a private-use scheme with a dot (com.example.app:/callback).
field-id-token-algorithm = Must be `RS256` or `EdDSA`.
field-client-scope = Must be 1 to { $max } printable ASCII characters other than space, `"` and `\` (RFC 6749 §3.3).

# Identity providers
field-provider-kind = Must be one of oidc, google, apple, microsoft, github, gitlab.
field-provider-slug = Must be 1 to { $max } of a-z, 0-9 and -, starting with a letter or digit.
field-provider-slug-reserved = Names one of { $brand }'s own pages; choose another.
field-provider-credential = Must be 1 to { $max } bytes without control characters.
field-provider-secret-with-ids = Is required with team_id and key_id (the key they name).
field-provider-apple-only = Is only for kind apple.
field-provider-trust-email = Must be one of never, verified, authoritative.
field-provider-scopes-count = At most { $max } scopes.
field-provider-scope = Must be a scope token of 1 to { $max } characters.
field-provider-scopes-openid = Must include openid.
field-provider-url-https = Must be https (http only on a loopback host).
field-provider-url-query = Must have no query or fragment.
field-provider-issuer-oidc = Is required for kind oidc: its discovery document is read from it.
field-provider-issuer-microsoft = Is required for kind microsoft: the tenant's issuer, https://login.microsoftonline.com/{"{"}tenant-id{"}"}/v2.0.
field-apple-required = Is required for kind apple.
field-apple-id = Must be the 10 characters (A-Z, 0-9) Apple's developer console shows.
field-apple-key = Must be the text of the .p8 key file Apple gave you: a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).

# The audit log
field-event-name = Must be an event name of at most { $max } characters.

# Webhooks
field-webhook-url = Is not a URL ({ $problem }).
field-webhook-https = Must be an https URL.
field-webhook-host-unresolved = Has a host, { $host }, that does not resolve.
field-webhook-host-no-address = Has a host that resolves to no address.
field-webhook-not-public = Points at { $address }, which is not a public address (WEBHOOK_ALLOW_HOSTS may admit it).
field-webhook-events-count = Must list 1 to { $max } event types.
field-webhook-event-unknown = "{ $pattern }" is not an event type.
field-webhook-description = Must be at most { $max } characters, without control characters.
