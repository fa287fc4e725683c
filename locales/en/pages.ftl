## The public pages: templates/web/*.html (not the console's) and the words the code
## behind them shows on them (src/web, src/oidc, src/admin/setup.rs, src/federation).
## Keys: <page>-<what>; every message may name the brand as { $brand }.

# The language's own name, in the choice of language.
language-name = English

## The layout of every page.
layout-title = { $page } · { $brand }

## What many pages say.
page-form-unreadable = The form could not be read.
page-go-back = Go back and try again.
page-form-expired-title = The form had expired
page-back-to-application = Go back to the application and sign in again.
page-too-many-attempts-title = Too many attempts
page-too-many-attempts = There have been too many sign-in and account requests from your network. Try again in { $seconds } seconds.
page-too-many-attempts-next = Wait, then go back and send the form again.

## Sign in (login.html, passkey_form.html, src/oidc/sign_in).
login-title = Sign in
login-continue-to = Sign in to continue to { $client }.
login-username = Username or email
login-password = Password
login-submit = Sign in
login-forgot-password = Forgot your password?
login-create-account = Create an account
login-passkey = Sign in with a passkey
login-with-provider = Sign in with { $provider }
login-form-expired = The form had expired. Please sign in again.
login-missing-fields = Enter your username or email and your password.
login-wrong-credentials = The username, email or password is not right.
login-locked = Too many failed sign-ins for this account. Wait a few minutes and try again.
login-too-slow = The sign-in took too long. Please start again.
login-passkey-unreadable = The passkey's answer could not be read. Please try again.
login-passkey-refused = That passkey was not accepted.
login-form-unreadable-again = The form could not be read. Please try again.

## The second factor (second_factor.html).
second-factor-title = Second factor
second-factor-intro-totp-passkey = Your account has a second factor. Enter the 6-digit code from your authenticator app, use a passkey, or one of your recovery codes.
second-factor-intro-totp = Your account has a second factor. Enter the 6-digit code from your authenticator app or one of your recovery codes.
second-factor-intro-passkey = Your account has a second factor. Use one of your passkeys, or one of your recovery codes.
second-factor-intro-recovery = Your account has a second factor. Enter one of your recovery codes.
second-factor-code = Authentication code
second-factor-verify = Verify
second-factor-passkey = Use a passkey
second-factor-recovery-code = Or a recovery code
second-factor-use-recovery-code = Use the recovery code
second-factor-wrong-code = That code is not right, or was used already. Try the next one.
second-factor-wrong-recovery-code = That recovery code is not right, or was used already.
second-factor-passkey-refused = That passkey was not accepted. Try again or use another.
second-factor-too-many = Too many wrong codes. Wait a few minutes and try again.

## Consent to an application (consent.html, src/oidc/consent.rs).
consent-title = Allow { $client }?
consent-asks = { $client } asks to sign you in as { $username } and to:
consent-scope-openid = know who you are (your user id)
consent-scope-profile = see your name, username and picture
consent-scope-email = see your email address and whether it is verified
consent-scope-offline-access = stay signed in when you are not using it
consent-scope-other = use the API permission “{ $scope }”
consent-withdraw-hint = You can withdraw this at any time from your account's list of applications.
consent-allow = Allow
consent-deny = Deny
consent-expired-title = This request has expired
consent-expired = The page you came from was used already, is too old, or belongs to another sign-in. Nothing was granted.
consent-invalid-title = The form was not valid
consent-invalid = The form could not be read. Nothing was granted.
consent-nothing-granted = Nothing was granted.

## A sign-in request an application sent that is not valid (src/oidc/answer.rs).
authorize-invalid-title = The sign-in request is not valid
authorize-invalid-next = Go back to the application you came from and try again; if this keeps happening, tell its developers.

## Signing out (sign_out.html, src/oidc/logout.rs).
sign-out-title = Sign out
sign-out-question = You are signed in as { $username }. Sign out of { $brand }?
sign-out-question-client = You are signed in as { $username }. Sign out of { $brand } and of { $client }?
sign-out-submit = Sign out
sign-out-done-title = Signed out
sign-out-done = You are signed out of { $brand }.
sign-out-invalid-title = The sign-out request is not valid
sign-out-invalid-next = You have not been signed out. Go back to the application and try again.

## The pages the links in mails open (src/web/mail_links.rs, src/web/invitation.rs).
link-dead = This link is invalid, was already used or has expired.
link-form-forged-title = This form has expired
link-form-forged = The form could not be checked (it came from another site, or your browser did not send its cookie). Open the link from the email again.
link-form-unreadable = The form could not be read. Open the link from the email again.
link-taken = Another account has this email address now, so the change cannot be made.
link-too-many = Too many attempts; try again later.
link-to-account = Go to your account
verify-title = Confirm your email address
verify-dead = Ask for a new verification email from your account.
verify-renew = Send a new verification email
verify-done-title = Email address confirmed
verify-done = Your email address is confirmed.
reset-title = Choose a new password
reset-dead = Ask for a new password reset email; only the newest link works.
reset-renew = Send a new password reset email
reset-intro = Choose a new password for { $username }. Every session of the account will be signed out.
reset-not-changed = The password was not changed:
reset-new-password = New password
reset-rules = 8 to 128 characters, with an upper-case letter, a lower-case letter and a digit; not one of your recent passwords.
reset-again = New password, again
reset-submit = Set the new password
reset-done-title = Password changed
reset-done = Your new password is set and every session of the account was signed out. Sign in with the new password.
reset-sign-in = Sign in
confirm-change-title = Confirm your new email address
confirm-change-dead = If you still want the change, ask for it again from your account.
confirm-change-renew = Change the address again
confirm-change-done-title = Email address changed
confirm-change-done = { $email } is now the address of your account.
cancel-change-title = Cancel the email change
cancel-change-dead = If your account's address was changed without you, reset your password or contact the administrators.
cancel-change-renew = Reset your password
cancel-change-intro = Someone asked to change the email address of your { $brand } account. If that was not you, cancel the change: a change already confirmed is undone, and every session of the account is signed out. Then reset your password.
cancel-change-submit = Cancel the change
cancel-change-withdrawn-title = Email change cancelled
cancel-change-withdrawn = The change is cancelled: your account keeps this address.
cancel-change-undone-title = Email change undone
cancel-change-undone = Your account has this address again and every session of it was signed out.
cancel-change-undone-next = Whoever changed it knew your password: reset it now.
invitation-title = Choose your password
invitation-dead = Invitations work once, for 7 days: ask for a password reset email to choose your password.
invitation-renew = Send a password reset email
invitation-intro = An administrator made you the account { $username }. Choose its password to start using it.
invitation-not-set = The password was not set:
invitation-password = Password
invitation-rules = 8 to 128 characters, with an upper-case letter, a lower-case letter and a digit; not easy to guess and not containing your username.
invitation-again = Password, again
invitation-submit = Set my password
invitation-done-title = Password set
invitation-done = Your password is set. Sign in as { $username } with it.
invitation-sign-in = Sign in to your account

## What a new password may not be (src/passwords/policy.rs, src/auth/credentials.rs).
password-mismatch = The two passwords are not the same.
password-too-short = The password must be at least { $min } characters.
password-too-long = The password must be at most { $max } characters.
password-needs-upper = The password must contain an upper-case letter.
password-needs-lower = The password must contain a lower-case letter.
password-needs-digit = The password must contain a digit.
password-personal = The password must not contain the username or email.
password-guessable = The password is too easy to guess; use a longer or less common password.
password-recent = The password must differ from your last { $count } passwords.
password-other = The password { $problem }.

## The first administrator (setup.html, src/admin/setup.rs).
setup-title = Create the first administrator
setup-intro = This database has no administrator yet. Choose the first one's username, email and password; the link stops working once it is used.
setup-not-created = No administrator was created:
setup-username = Username
setup-email = Email
setup-password = Password
setup-rules = 8 to 128 characters, with an upper-case letter, a lower-case letter and a digit.
setup-again = Password, again
setup-submit = Create the administrator
setup-dead = This setup link is invalid, was used already or has expired.
setup-dead-next = Restart roster serve for a new link while there is no administrator, or run roster create-admin; once an administrator exists, sign in at /admin.
setup-open-again = Open the setup link again.
setup-forged = The form could not be checked (it came from another site, or your browser did not send its cookie).
setup-mismatch = The two passwords are not the same.
setup-done-title = Administrator created
setup-done = { $username } is an administrator. The setup link no longer works.
setup-done-next = Sign in at /admin to manage users and applications; the API is described at /docs.

## Signing in through another provider (link_identity.html, src/federation).
federation-refused-title = Sign-in not completed
federation-refused-next = Go back to the sign-in page and try again, or sign in another way.
federation-unreadable = The provider's answer could not be read.
federation-no-such-provider = There is no such way to sign in here.
federation-no-state = The provider's answer is missing its state.
federation-stale = This sign-in was completed or abandoned already, or it took too long.
federation-wrong-issuer = The answer did not come from { $provider }.
federation-misconfigured = Sign-in with { $provider } is not set up right. Tell an administrator.
federation-other-browser = This sign-in was started in another browser. Start it again here.
federation-too-slow = The sign-in took too long. Please start again.
federation-no-account = An account could not be made for you just now.
link-identity-title = Link your { $provider } account
link-identity-taken = An account here already uses the address { $email } that { $provider } gave us.
link-identity-how = To link your { $provider } account to it, sign in to that account with its own password (and its second factor) or a passkey. After that, { $provider } signs you in too.
link-identity-sign-in = Sign in to link { $provider }
link-identity-cancel = Cancel
link-identity-none-waiting = There is no identity waiting to be linked in this browser.
link-identity-expired = The offer to link your identity has expired. Sign in through the provider again.
link-identity-other-account = You signed in to another account than the one with this address; nothing was linked.
link-identity-used = This identity is linked already, or the offer was used.
link-identity-signed-out = This browser is no longer signed in to the account that asked for the link; nothing was linked.
link-identity-elsewhere = This { $provider } account is linked to another account here; nothing was linked.
federation-denied = { $provider } did not sign you in.
federation-no-code = { $provider } sent no authorization code.
federation-unverified = { $provider }'s answer could not be verified.
federation-not-set-up = The sign-in with this provider is not set up right. Tell an administrator.
federation-deactivated = The account linked to this identity is deactivated.
federation-no-email = { $provider } did not share an email address with us, and no account here is linked to your { $provider } account.
federation-unconfirmed-email = { $provider } has not confirmed your email address, so it cannot make an account here. Confirm the address at { $provider } first, or sign up here with a password.
federation-signup-closed = No account here is linked to your { $provider } account, and new accounts cannot be made through { $provider }. Sign in with your account here instead.

## What the passkey script says while it works (passkey_form.html, assets/web/passkey.js).
passkey-waiting = Waiting for your passkey…
passkey-signing-in = Signing in…
passkey-not-used = The passkey was not used. Try again, or sign in another way.
