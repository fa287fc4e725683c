## Why a request was refused (the API's 400 for a wrong second factor or a token that
## cannot be used, its 404 and its 429: `ApiError::WrongFactor`, `BadToken`, `NotFound`,
## `TooManyRequests`), as the pages show it: the same words as the API's English
## `detail` (or, for a second factor, the field's `message` after its name), as a
## sentence.

# A second factor refused, next to its field
wrong-factor-not-current-code = The code is not the authenticator's current code.
wrong-factor-code = The code is not correct, or was used already.
wrong-factor-recovery-code = The recovery code is not correct, or was used already.
wrong-factor-passkey = The passkey is not correct, or was used already.
wrong-factor-passkey-not-accepted = The passkey's answer was not accepted: { $reason }.

# A token or link that cannot be used
bad-token-verification = The verification token is invalid, used or expired.
bad-token-reset = The reset token is invalid, used or expired.
bad-token-invitation = The invitation token is invalid, used or expired.
bad-token-email-change-confirm = The confirmation link is invalid, used, expired or replaced by a newer change.
bad-token-email-change-cancel = The cancellation link is invalid, used or expired.
bad-token-mfa = The mfa_token is unknown, expired, used or refused too many answers; log in again.
bad-token-passkey-challenge = The challenge_id is unknown, expired, used, or not for this request.
bad-token-sign-in-too-long = The sign-in took too long: start again.

# Not found
not-found-account = Account not found.
not-found-user = User not found.
not-found-client = Client not found.
not-found-grant = No grant to this application was found.
not-found-webhook = Webhook not found.
not-found-delivery = Delivery not found.
not-found-goal = Goal not found.
not-found-provider = Identity provider not found.
not-found-identity = Identity not found.
not-found-passkey = Passkey not found.
not-found-totp = TOTP authenticator not found.
not-found-payment = Payment information not found.
not-found-session = Session not found.
not-found-resource = Resource not found.

# Too many attempts or mails
too-many-requests = Too many requests to the authentication endpoints from this address; try again later.
too-many-password-attempts = Too many failed password attempts for this account; try again later.
too-many-logins = Too many failed logins for this account; try again later.
too-many-reset-mails = This address already had its reset mails this hour.
too-many-verification-mails = This address was sent { $count } verification emails in the last hour.
too-many-confirmation-mails = This address was sent { $count } confirmation emails in the last hour.
