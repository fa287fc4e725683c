//! Authorization codes (RFC 6749 §4.1.2): 256 random bits, only their SHA-256 stored,
//! single-use, 60 seconds, bound to the client, the `redirect_uri` and the PKCE
//! challenge of the request they answer. Redeeming marks a code used in the same
//! statement that finds it, so two exchanges racing cannot both succeed; a code
//! presented again after its use names the session the first exchange started, which
//! the token endpoint then revokes (§4.1.2: "SHOULD revoke … all tokens previously
//! issued based on that authorization code").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::crypto::{random_token, token_hash};
use crate::db::{Exec, Tx};
use crate::on_exec;
use crate::tokens::access::Authentication;

/// How long a code lives.
pub const LIFETIME_SECONDS: i64 = 60;

/// What a code is issued for.
pub struct NewCode<'a> {
    pub client_id: &'a str,
    pub user_id: Uuid,
    pub browser_session_id: Uuid,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub authentication: &'a Authentication,
}

/// A code redeemed now: what it was issued for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RedeemedCode {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub user_id: Uuid,
    pub browser_session_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
}

/// What presenting a code led to.
pub enum Redemption {
    Redeemed(RedeemedCode),
    /// Used before: the session its first exchange started, to revoke.
    UsedBefore {
        user_id: Uuid,
        issued_session_id: Option<Uuid>,
    },
    /// Unknown or expired.
    Invalid,
}

/// Stores a new code and answers it.
pub async fn issue(
    ex: impl Into<Exec<'_>>,
    code: NewCode<'_>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = random_token();
    on_exec!(ex, c => sqlx::query(
        "INSERT INTO oauth_codes (code_hash, client_id, user_id, browser_session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(token_hash(&token))
        .bind(code.client_id)
        .bind(code.user_id)
        .bind(code.browser_session_id)
        .bind(code.redirect_uri)
        .bind(code.scope)
        .bind(code.nonce)
        .bind(code.code_challenge)
        .bind(code.authentication.time)
        .bind(&code.authentication.methods)
        .bind(now)
        .bind(now + chrono::Duration::seconds(LIFETIME_SECONDS))
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(token)
}

/// Marks `code` used and answers what it was for, or why it cannot be redeemed.
pub async fn redeem(
    tx: &mut Tx,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Redemption, sqlx::Error> {
    let hash = token_hash(code);
    let redeemed = on_exec!(&mut *tx, c => sqlx::query_as::<_, RedeemedCode>(
        "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING code_hash, client_id, user_id, browser_session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr")
        .bind(&hash)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    if let Some(redeemed) = redeemed {
        return Ok(Redemption::Redeemed(redeemed));
    }
    let used: Option<(Uuid, Option<Uuid>)> = on_exec!(&mut *tx, c => sqlx::query_as(
        "SELECT user_id, issued_session_id FROM oauth_codes WHERE code_hash = $1 AND used_at IS NOT NULL")
        .bind(&hash)
        .fetch_optional(c)
        .await)?;
    Ok(match used {
        Some((user_id, issued_session_id)) => Redemption::UsedBefore {
            user_id,
            issued_session_id,
        },
        None => Redemption::Invalid,
    })
}

/// Records the session the exchange of a code started.
pub async fn record_session(
    tx: &mut Tx,
    code_hash: &[u8],
    session_id: Uuid,
) -> Result<(), sqlx::Error> {
    on_exec!(&mut *tx, c => sqlx::query("UPDATE oauth_codes SET issued_session_id = $2 WHERE code_hash = $1")
        .bind(code_hash)
        .bind(session_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether `verifier` (RFC 7636 §4.1: 43 to 128 unreserved characters) answers the
/// `S256` challenge.
pub fn verifier_matches(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// Deletes codes that expired more than a day ago (used ones are kept that long so a
/// late second use is still recognised and revokes what the first issued).
pub async fn purge_expired(db: &crate::db::Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    on_exec!(db.writer(), c => sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= $1")
        .bind(now - chrono::Duration::days(1))
        .execute(c)
        .await.map(|r| r.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(challenge, verifier));
        assert!(!verifier_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"
        ));
        assert!(!verifier_matches(challenge, "short"));
    }
}
