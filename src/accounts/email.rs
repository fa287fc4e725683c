//! The canonical form of an email address, so that one mailbox is one account.
//!
//! Two spellings of one mailbox must not register twice: `alice@exämple.com` and
//! `alice@xn--exmple-cua.com`, `"alice"@example.com` and `alice@example.com`, full-width
//! letters in the domain. [`canonical_email`] therefore
//!
//! 1. normalises the address to Unicode NFC;
//! 2. maps the domain with IDNA (UTS 46, non-transitional, as browsers do) to its ASCII
//!    form, which also folds full-width letters and case;
//! 3. removes the quotes around a local part that needs none (`"alice"` is `alice`),
//!    undoing quoted pairs (`"a\b"` is `ab`);
//! 4. lower-cases the local part (Roster has always treated addresses case-insensitively).
//!
//! Addresses stored before this form existed are brought to it once, at migration, by
//! [`canonicalise_stored`]: an address whose canonical form no other account has is
//! rewritten; accounts whose addresses collide under it are left exactly as they are
//! and listed in `email_canonical_duplicates` (and in the log) for an operator to sort
//! out, because merging accounts is not something a migration may decide.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::db::Db;
use crate::on_exec;

pub const MAX_EMAIL: usize = 254;

/// The canonical form of `raw`, or `None` when it is not an address Roster accepts (no
/// display name, no IP literal, a domain with a dot, at most 254 characters).
pub fn canonical_email(raw: &str) -> Option<String> {
    let normalised: String = raw.trim().nfc().collect();
    let (local, domain) = normalised.rsplit_once('@')?;
    let local = canonical_local_part(local)?;
    let domain = idna::domain_to_ascii(domain).ok()?;
    if domain.is_empty() || !domain.contains('.') || domain.starts_with('[') {
        return None;
    }
    let address = format!("{local}@{domain}");
    if address.chars().count() > MAX_EMAIL {
        return None;
    }
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    email_address::EmailAddress::parse_with_options(&address, options).ok()?;
    Some(address)
}

/// A local part as it is stored: lower-cased, and unquoted when quoting adds nothing.
fn canonical_local_part(local: &str) -> Option<String> {
    let Some(quoted) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
        return Some(local.to_lowercase());
    };
    let mut content = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => content.push(chars.next()?),
            '"' => return None,
            c => content.push(c),
        }
    }
    let content = content.to_lowercase();
    if is_dot_atom(&content) {
        return Some(content);
    }
    let mut requoted = String::with_capacity(content.len() + 2);
    requoted.push('"');
    for c in content.chars() {
        if matches!(c, '"' | '\\') {
            requoted.push('\\');
        }
        requoted.push(c);
    }
    requoted.push('"');
    Some(requoted)
}

/// RFC 5322 dot-atom (with RFC 6532's non-ASCII characters): atoms of `atext` joined by
/// single dots.
fn is_dot_atom(text: &str) -> bool {
    let atext = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
            || !c.is_ascii() && !c.is_control() && !c.is_whitespace()
    };
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// What [`canonicalise_stored`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CanonicalReport {
    /// Accounts whose stored address was rewritten to its canonical form.
    pub rewritten: u64,
    /// Accounts left alone because another account has the same canonical address
    /// (each listed in `email_canonical_duplicates`).
    pub duplicates: Vec<Uuid>,
}

const FIX_NAME: &str = "email_canonical_form";

/// Brings stored addresses to their canonical form, once per database (a row in
/// `data_fixes` records that it ran). Runs in one transaction: either every rewrite and
/// every reported duplicate is stored, or none.
pub async fn canonicalise_stored(
    db: &Db,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CanonicalReport>> {
    let mut tx = db.begin().await?;
    let done: Option<String> = on_exec!(&mut tx, c => sqlx::query_scalar(
        "SELECT name FROM data_fixes WHERE name = $1")
        .bind(FIX_NAME)
        .fetch_optional(c)
        .await)?;
    if done.is_some() {
        return Ok(None);
    }
    let accounts: Vec<(Uuid, String)> = on_exec!(&mut tx, c => sqlx::query_as(
        "SELECT id, email FROM users ORDER BY id")
        .fetch_all(c)
        .await)?;
    let mut by_canonical: HashMap<String, Vec<(Uuid, &str)>> = HashMap::new();
    for (id, email) in &accounts {
        // An address that no longer parses stays as it is and keys on itself.
        let canonical = canonical_email(email).unwrap_or_else(|| email.clone());
        by_canonical
            .entry(canonical)
            .or_default()
            .push((*id, email));
    }
    let mut report = CanonicalReport::default();
    for (canonical, holders) in &by_canonical {
        match holders.as_slice() {
            [(id, email)] if *email != canonical => {
                on_exec!(&mut tx, c => sqlx::query("UPDATE users SET email = $2 WHERE id = $1")
                    .bind(id)
                    .bind(canonical)
                    .execute(c)
                    .await.map(|r| r.rows_affected()))?;
                report.rewritten += 1;
            }
            [_] => {}
            many => {
                for (id, email) in many {
                    on_exec!(&mut tx, c => sqlx::query(
                        "INSERT INTO email_canonical_duplicates (user_id, email, canonical_email, found_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id) DO NOTHING")
                        .bind(id)
                        .bind(email)
                        .bind(canonical)
                        .bind(now)
                        .execute(c)
                        .await.map(|r| r.rows_affected()))?;
                    report.duplicates.push(*id);
                }
            }
        }
    }
    on_exec!(&mut tx, c => sqlx::query("INSERT INTO data_fixes (name, applied_at) VALUES ($1, $2)")
        .bind(FIX_NAME)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    report.duplicates.sort();
    if !report.duplicates.is_empty() {
        tracing::warn!(
            accounts = report.duplicates.len(),
            user_ids = ?report.duplicates,
            "accounts share a mailbox under the canonical email form; they were left unchanged and are listed in email_canonical_duplicates"
        );
    }
    if report.rewritten > 0 {
        tracing::info!(
            accounts = report.rewritten,
            "stored email addresses brought to their canonical form"
        );
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mailbox_has_one_canonical_form() {
        let same = [
            "alice@xn--exmple-cua.com",
            "alice@exämple.com",
            "Alice@EXÄMPLE.com",
            "\"alice\"@exämple.com",
            "alice@ｅｘämple.com",
            " alice@exa\u{0308}mple.com ",
        ];
        for spelling in same {
            assert_eq!(
                canonical_email(spelling).as_deref(),
                Some("alice@xn--exmple-cua.com"),
                "{spelling}"
            );
        }
        assert_eq!(
            canonical_email("Ann@Example.COM").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            canonical_email("\"a\\lice\"@example.com").as_deref(),
            Some("alice@example.com")
        );
    }

    #[test]
    fn quotes_that_matter_are_kept() {
        assert_eq!(
            canonical_email("\"john doe\"@example.com").as_deref(),
            Some("\"john doe\"@example.com")
        );
        assert_eq!(
            canonical_email("\"a..b\"@example.com").as_deref(),
            Some("\"a..b\"@example.com")
        );
    }

    #[test]
    fn what_is_no_address_is_refused() {
        for bad in [
            "",
            "plain",
            "a@b",
            "Ann <ann@example.com>",
            "a@[127.0.0.1]",
            "a@-bad-.com\u{0}",
            "\"unterminated@example.com",
            &format!("{}@example.com", "x".repeat(250)),
        ] {
            assert_eq!(canonical_email(bad), None, "{bad}");
        }
    }
}
