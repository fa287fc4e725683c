## Why a request conflicts with what is stored (the API's 409, `ApiError::Conflict`), as
## the pages show it, next to its field or for the whole form: the same words as the
## API's English `detail`, as a sentence.

# Accounts
conflict-username-taken = This username is already taken.
conflict-email-registered = This email is already registered.
conflict-email-verified = The email address is already verified.
conflict-last-admin = This is the last active administrator: make another account an administrator first.
conflict-account-deactivated = The account is deactivated: reactivate it before sending a reset mail.
conflict-payment-stored = Payment information is already stored: replace it with PUT.

# Sign-in and second factors
conflict-totp-set-up = A TOTP authenticator is already set up; remove it first.
conflict-totp-not-pending = No TOTP set-up is pending; start one with POST /api/v1/auth/mfa/totp.
conflict-recovery-needs-factor = Set up a second factor (TOTP or a passkey) first.
conflict-passkey-registered = This passkey is registered already.
conflict-no-passkey = This account has no passkey.
conflict-session-rotated = The session's refresh token was rotated meanwhile; retry.
conflict-last-sign-in = This is the account's last way to sign in: set a password (by a reset) or add a passkey first.

# Applications and sign-in providers
conflict-public-client-secret = A public client has no secret to rotate.
conflict-provider-slug = A provider with this slug exists already.

# Badges and goals
conflict-badge-name = This user already has a badge with this name.
conflict-goal-closed = The goal is { $status }; set its status to in-progress to check in again.
