## The public pages: templates/web/*.html (not the console's) and the words the code
## behind them shows on them (src/web, src/oidc, src/admin/setup.rs, src/federation).
## Keys: <page>-<what>; every message may name the brand as { $brand }.

# The language's own name, in the choice of language.
language-name = English

## The layout of every page.
layout-title = { $page } · { $brand }

## Sign in (login.html, passkey_form.html).
login-title = Sign in
login-continue-to = Sign in to continue to { $client }.
login-username = Username or email
login-password = Password
login-submit = Sign in
login-forgot-password = Forgot your password?
login-create-account = Create an account
login-passkey = Sign in with a passkey
login-with-provider = Sign in with { $provider }
