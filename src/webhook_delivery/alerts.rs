//! Disabling an endpoint from delivery (a `410`, or failing for
//! `WEBHOOK_DISABLE_AFTER_HOURS`): audited, and mailed to every active administrator
//! through the mail outbox, all in the transaction that disables it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::endpoints;
use crate::audit::{self, AuditEntry, event};
use crate::crypto::Cipher;
use crate::db::Tx;
use crate::mail::MailKind;
use crate::mail::outbox::{self, NewMail};
use crate::mail::templates::Composer;
use crate::on_exec;

/// Disables endpoint `id` for `reason` (an `endpoints::DISABLED_*`), unless it is
/// already disabled; audits it and queues the administrators' mail. True when it did.
pub async fn disable(
    tx: &mut Tx,
    cipher: &Cipher,
    composer: &Composer,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some(url) = endpoints::disable(tx, id, reason, now).await? else {
        return Ok(false);
    };
    let entry = AuditEntry {
        event: event::WEBHOOK_DISABLED,
        actor_id: None,
        user_id: None,
        client: None,
        detail: serde_json::json!({"webhook_id": id, "reason": reason}),
    };
    audit::record(tx, now, entry).await?;
    let gone = reason == endpoints::DISABLED_GONE;
    let admins: Vec<(Uuid, String, String, Option<String>)> = on_exec!(&mut *tx, c => sqlx::query_as(
        "SELECT id, username, email, locale FROM users WHERE role = 'admin' AND is_active ORDER BY id")
        .fetch_all(c)
        .await)?;
    for (admin_id, username, email, locale) in admins {
        let message =
            composer.webhook_disabled(&username, locale.as_deref(), id, &url, gone, now)?;
        let mail = NewMail {
            kind: MailKind::WebhookDisabled,
            user_id: Some(admin_id),
            recipient: &email,
            message: Some(&message),
            discard_after: None,
        };
        outbox::enqueue(tx, cipher, mail, now).await?;
    }
    tracing::warn!(webhook_id = %id, reason, "webhook endpoint disabled");
    Ok(true)
}
