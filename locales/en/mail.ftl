## The mails: templates/mail/*.txt and *.html, and their subjects (src/mail/templates.rs:
## mail-<template name, "_" as "-">-subject). Every message may name the brand as
## { $brand }.

mail-password-reset-subject = Reset your { $brand } password
mail-email-verification-subject = Confirm your email address
mail-password-changed-subject = Your { $brand } password was changed
mail-email-change-confirm-subject = Confirm your new email address
mail-email-change-notice-subject = Your { $brand } address is being changed
mail-email-changed-by-admin-subject = Your { $brand } address was changed
mail-identity-change-subject =
    { $change ->
        [linked] An account was linked to your { $brand } account
       *[removed] An account was removed from your { $brand } account
    }
mail-webhook-disabled-subject = A webhook endpoint was disabled
mail-invitation-subject = You are invited to { $brand }
