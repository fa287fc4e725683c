## The mails: templates/mail/*.txt and *.html, and their subjects (src/mail/templates.rs:
## mail-<template name, "_" as "-">-subject). Keys: mail-<what> for what every mail
## says, <mail>-<what> for one mail's words. Every message may name the brand as
## { $brand }.

mail-hello = Hello { $username },
mail-paste-link = Or paste this address into your browser:
mail-signature = { $brand }
mail-if-you-nothing-to-do = If this was you, there is nothing to do.

mail-password-reset-subject = Reset your { $brand } password
password-reset-asked = someone (hopefully you) asked to reset the password of your { $brand } account. To choose a new password, open this link within { $valid_for }:
password-reset-button = Reset my password
password-reset-once = The link works once. If you did not ask for this, ignore this message: your password stays as it is.

mail-email-verification-subject = Confirm your email address
email-verification-asked = please confirm that { $email } is the address of your { $brand } account by opening this link within { $valid_for }:
email-verification-button = Confirm my address
email-verification-ignore = If you did not create an account or change its address, ignore this message.

mail-password-changed-subject = Your { $brand } password was changed
password-changed-what =
    { $how ->
        [reset] the password of your { $brand } account was reset at { $changed_at }; your other sessions were signed out.
       *[changed] the password of your { $brand } account was changed at { $changed_at }; your other sessions were signed out.
    }
password-changed-if-not = If it was not, reset your password at once and sign in again:

mail-email-change-confirm-subject = Confirm your new email address
email-change-confirm-asked = someone (hopefully you) asked to make { $new_email } the address of the { $brand } account { $username }. To confirm, open this link within { $valid_for }:
email-change-confirm-button = Confirm my new address
email-change-confirm-until = Until you do, the account keeps its current address. If you did not ask for this, ignore this message.

mail-email-change-notice-subject = Your { $brand } address is being changed
email-change-notice-asked = at { $requested_at } someone asked to change the address of your { $brand } account from this one to { $new_email }.
email-change-notice-cancel = If this was you, there is nothing to do. If it was not, cancel the change within { $valid_for } with this link; it also undoes the change if it was already confirmed, and signs every session of the account out:
email-change-notice-button = Cancel the change
email-change-notice-then = Then reset your password: whoever asked knew it.

mail-email-changed-by-admin-subject = Your { $brand } address was changed
email-changed-by-admin-what = at { $changed_at } an administrator changed the address of your { $brand } account from this one to { $new_email }. Messages about the account now go there.
email-changed-by-admin-contact = If you did not expect this, contact the administrators of { $public_url }.

mail-identity-change-subject =
    { $change ->
        [linked] An account was linked to your { $brand } account
       *[removed] An account was removed from your { $brand } account
    }
identity-change-linked = your { $provider } account was linked to your { $brand } account at { $changed_at }: it can now sign you in.
identity-change-linked-email = your { $provider } account ({ $email }) was linked to your { $brand } account at { $changed_at }: it can now sign you in.
identity-change-removed = your { $provider } account was removed from your { $brand } account at { $changed_at }: it no longer signs you in.
identity-change-removed-email = your { $provider } account ({ $email }) was removed from your { $brand } account at { $changed_at }: it no longer signs you in.
identity-change-if-not = If it was not, sign in, remove what you do not know from your account, and change your password:

mail-webhook-disabled-subject = A webhook endpoint was disabled
webhook-disabled-what = the webhook endpoint { $url } (id { $webhook_id }) was disabled at { $disabled_at }: { $why }.
webhook-disabled-gone = it answered 410 Gone
webhook-disabled-failing = its deliveries failed without a success for WEBHOOK_DISABLE_AFTER_HOURS
webhook-disabled-kept = Its events are kept and wait for it. When the endpoint works again, enable it ({ $enable } with { $body }) and they go out; dead deliveries are sent again by { $redrive }.

mail-invitation-subject = You are invited to { $brand }
invitation-made = an administrator made you an account on { $brand }, with the username { $username } and this address. To choose your password and start using it, open this link within { $valid_for }:
invitation-button = Choose my password
invitation-once = The link works once. If you did not expect this, ignore this message: nobody can sign in to the account until a password is set.

## How long a link works, in the mails' sentences.
mail-valid-minutes = { $count ->
        [one] { $count } minute
       *[other] { $count } minutes
    }
mail-valid-hours = { $count ->
        [one] { $count } hour
       *[other] { $count } hours
    }
mail-valid-days = { $count ->
        [one] { $count } day
       *[other] { $count } days
    }
