//! Refresh-token rotation: `POST /refresh`, and the `refresh_token` grant of the token
//! endpoint.
//!
//! A refresh token is 256 bits handed out once and stored as its SHA-256. Every refresh
//! issues the presented token's successor, and a token with a successor is used. A
//! token has at most one successor (a unique index on `rotated_from`), and the
//! successor is derived from the token under a server-side key
//! ([`crate::tokens::rotation::SuccessorKey`]), so it is the same whoever computes it.
//!
//! Real clients present one token twice: two tabs refresh at once, or a mobile client
//! retries a refresh whose answer it lost. Within `REFRESH_REUSE_GRACE_SECONDS` of the
//! rotation, a used token whose successor is still unused is answered with that same
//! successor (and a fresh access token): the session keeps exactly one live refresh
//! token, and nothing is written. Outside the window, or once the successor has itself
//! been rotated (a token two generations back), a used token is theft: the whole
//! session is revoked, on every instance, and the audit log names both generations.
//!
//! Each refusal says why ([`Refusal`]): reuse (`401`), and `400` for an expired token,
//! a revoked session or an unknown token, so a client can tell "log in again" from
//! "someone else used your token".

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sessions::{
    IssuedRefresh, TokenPair, reason, refresh_expiry, revoke_session, token_pair,
};
use crate::accounts::model::{User, find_user};
use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::coherence::CacheUnaffected;
use crate::crypto::token_hash;
use crate::db::Exec;
use crate::error::{ApiResult, Problem, problem_response, problem_type};
use crate::http::ApiJson;
use crate::state::AppState;
use crate::tokens::access::Authentication;
use crate::tokens::rotation::{Rotation, Successor, rotate_all};
use crate::{on_exec, user_columns};

/// A presented refresh token with its successor, session and account, read in one query.
#[derive(Debug, sqlx::FromRow)]
struct PresentedToken {
    token_id: Uuid,
    session_id: Uuid,
    token_expires_at: DateTime<Utc>,
    /// A mark written by versions before migration 0009; a successor row says the same.
    used_at: Option<DateTime<Utc>>,
    successor_id: Option<Uuid>,
    successor_hash: Option<Vec<u8>>,
    /// When the successor was issued: when this token was rotated.
    rotated_at: Option<DateTime<Utc>>,
    successor_expires_at: Option<DateTime<Utc>>,
    /// Whether the successor has been rotated in turn.
    successor_used: bool,
    session_revoked_at: Option<DateTime<Utc>>,
    session_expires_at: DateTime<Utc>,
    auth_time: DateTime<Utc>,
    amr: String,
    client_id: Option<String>,
    scope: Option<String>,
    #[sqlx(flatten)]
    user: User,
}

async fn find_presented(
    ex: impl Into<Exec<'_>>,
    token: &str,
) -> Result<Option<PresentedToken>, sqlx::Error> {
    on_exec!(ex, c => sqlx::query_as::<_, PresentedToken>(concat!(
        "SELECT rt.id AS token_id, rt.session_id, rt.expires_at AS token_expires_at, rt.used_at, \
                successor.id AS successor_id, successor.token_hash AS successor_hash, \
                successor.created_at AS rotated_at, successor.expires_at AS successor_expires_at, \
                (successor.used_at IS NOT NULL OR next.id IS NOT NULL) AS successor_used, \
                s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at, \
                COALESCE(s.auth_time, s.created_at) AS auth_time, s.amr, s.client_id, s.scope, ", user_columns!("u"),
        " FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id \
           LEFT JOIN refresh_tokens successor ON successor.rotated_from = rt.id \
           LEFT JOIN refresh_tokens next ON next.rotated_from = successor.id \
         WHERE rt.token_hash = $1"))
        .bind(token_hash(token))
        .fetch_optional(c)
        .await)
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Used already, outside the grace window or two generations back: the session is
    /// now revoked (`401 refresh-token-reused`).
    Reused,
    /// The token or its session has expired (`400 refresh-token-expired`).
    Expired,
    /// The session was ended (logout, revocation, password change, deactivation, an
    /// earlier reuse) (`400 session-revoked`).
    SessionRevoked,
    /// No such refresh token (`400 invalid-token`).
    Unknown,
}

impl Refusal {
    /// The problem `type` suffix.
    fn kind(self) -> &'static str {
        match self {
            Refusal::Reused => "refresh-token-reused",
            Refusal::Expired => "refresh-token-expired",
            Refusal::SessionRevoked => "session-revoked",
            Refusal::Unknown => "invalid-token",
        }
    }

    /// What a client should read, also the OAuth2 `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            Refusal::Reused => {
                "the refresh token was already used; its session is revoked: log in again"
            }
            Refusal::Expired => "the refresh token has expired: log in again",
            Refusal::SessionRevoked => "the refresh token's session has ended: log in again",
            Refusal::Unknown => "the refresh token is not known",
        }
    }

    /// The `result` label of `roster_token_refreshes_total`.
    pub fn metric(self) -> &'static str {
        match self {
            Refusal::Reused => "reused",
            Refusal::Expired => "expired",
            Refusal::SessionRevoked => "revoked",
            Refusal::Unknown => "invalid",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Refusal::Reused => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = Problem {
            kind: problem_type(self.kind()),
            title: match self {
                Refusal::Reused => "Refresh token reused",
                Refusal::Expired => "Refresh token expired",
                Refusal::SessionRevoked => "Session revoked",
                Refusal::Unknown => "Invalid token",
            }
            .to_owned(),
            status: status.as_u16(),
            detail: Some(self.description().to_owned()),
            errors: None,
            request_id: None,
        };
        let mut response = problem_response(status, &problem);
        if self == Refusal::Reused {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"roster\", error=\"invalid_token\", error_description=\"the refresh token was already used; its session is revoked\"",
                ),
            );
        }
        response
    }
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refreshed {
    /// A new successor, or (`repeated`) within the grace window the one issued before.
    Rotated {
        user: User,
        issued: IssuedRefresh,
        repeated: bool,
        /// The scope granted to the OpenID client of the session (none for Roster's own).
        scope: Option<String>,
    },
    Refused(Refusal),
}

impl Refreshed {
    fn rotated(user: User, rotation: Rotation) -> Self {
        Refreshed::Rotated {
            scope: rotation.scope,
            user,
            issued: IssuedRefresh {
                session_id: rotation.session_id,
                refresh_token: rotation.refresh_token,
                expires_at: rotation.expires_at,
                authentication: Authentication {
                    time: rotation.auth_time,
                    methods: rotation.amr,
                },
            },
            repeated: false,
        }
    }

    /// The `result` label of `roster_token_refreshes_total`.
    pub fn metric(&self) -> &'static str {
        match self {
            Refreshed::Rotated {
                repeated: false, ..
            } => "rotated",
            Refreshed::Rotated { repeated: true, .. } => "repeated",
            Refreshed::Refused(refusal) => refusal.metric(),
        }
    }
}

/// What to do with a presented token that the fast path did not rotate.
enum Verdict {
    Rotate,
    /// Answer with the successor issued a moment ago.
    Repeat,
    Reuse,
    Refuse(Refusal),
}

fn judge(presented: &PresentedToken, token: &str, state: &AppState, now: DateTime<Utc>) -> Verdict {
    if presented.session_revoked_at.is_some() || !presented.user.is_active {
        return Verdict::Refuse(Refusal::SessionRevoked);
    }
    if presented.session_expires_at <= now || presented.token_expires_at <= now {
        return Verdict::Refuse(Refusal::Expired);
    }
    let (Some(successor_hash), Some(rotated_at), Some(successor_expires_at)) = (
        &presented.successor_hash,
        presented.rotated_at,
        presented.successor_expires_at,
    ) else {
        return match presented.used_at {
            None => Verdict::Rotate,
            // Marked used by a version before migration 0009, successor unknown.
            Some(_) => Verdict::Reuse,
        };
    };
    let grace =
        chrono::Duration::from_std(state.config.tokens.refresh_reuse_grace).unwrap_or_default();
    let within_grace = !grace.is_zero() && now - rotated_at <= grace;
    // A successor issued before successors were derived (or under another
    // `ENCRYPTION_KEY`) cannot be given again: that presentation counts as reuse.
    // Re-authentication derives its successor too, so a refresh racing it repeats it.
    let derivable = || {
        let again = token_hash(&state.rotations.key().successor_of(&token_hash(token)));
        bool::from(again.ct_eq(successor_hash))
    };
    if within_grace && !presented.successor_used && successor_expires_at > now && derivable() {
        Verdict::Repeat
    } else {
        Verdict::Reuse
    }
}

/// Rotates a refresh token (see the module documentation).
///
/// The common case is one statement, shared with the other rotations that arrive
/// meanwhile (see [`crate::tokens::rotation`]). The account it returns comes from the
/// authentication cache when the cache holds it unchanged (same `updated_at` as the
/// rotation saw), else from the database. When the statement rotates nothing, a write
/// transaction reads the token with its successor, session and account and decides
/// what it sees ([`judge`]): refused, rotated a moment ago (the same successor again),
/// used (reuse: the session is revoked), or still rotatable (a concurrent rotation
/// failed and rolled back).
///
/// `issued_to` is the OpenID client presenting the token (`None` at Roster's own
/// endpoints). A token of another client's session, or of an application's session
/// presented to Roster's endpoints, was taken from where it belongs: the session is
/// revoked and the token refused as unknown.
pub async fn rotate_refresh_token(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
    issued_to: Option<&str>,
) -> ApiResult<Refreshed> {
    let generation = state.auth_cache.generation();
    if let Some(rotation) = state.rotations.rotate(token).await? {
        if rotation.client_id.as_deref() != issued_to {
            revoke_for_wrong_client(state, rotation.user_id, rotation.session_id).await?;
            return Ok(Refreshed::Refused(Refusal::Unknown));
        }
        let cached = state
            .auth_cache
            .user(rotation.user_id)
            .filter(|user| user.updated_at == rotation.user_updated_at);
        let user = match cached {
            Some(user) => User::clone(&user),
            None => match find_user(&state.db, rotation.user_id).await? {
                Some(user) => user,
                // Deleted since the rotation a moment ago.
                None => return Ok(Refreshed::Refused(Refusal::SessionRevoked)),
            },
        };
        state
            .auth_cache
            .fill(generation, rotation.session_id, &user, rotation.expires_at);
        return Ok(Refreshed::rotated(user, rotation));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut tried_rotating = false;
    loop {
        let Some(presented) = find_presented(&mut tx, token).await? else {
            return Ok(Refreshed::Refused(Refusal::Unknown));
        };
        if presented.client_id.as_deref() != issued_to {
            drop(tx);
            revoke_for_wrong_client(state, presented.user.id, presented.session_id).await?;
            return Ok(Refreshed::Refused(Refusal::Unknown));
        }
        match judge(&presented, token, state, now) {
            Verdict::Refuse(refusal) => return Ok(Refreshed::Refused(refusal)),
            Verdict::Rotate if !tried_rotating => {
                tried_rotating = true;
                let successor = [Successor::for_token(state.rotations.key(), token)];
                let expires_at = refresh_expiry(state, now);
                let rotated = rotate_all(&mut tx, &successor, now, expires_at).await?;
                if let Some(rotation) = rotated.into_iter().next().flatten() {
                    tx.commit().await?;
                    return Ok(Refreshed::rotated(presented.user, rotation));
                }
                // Another instance rotated it meanwhile: read what it left.
            }
            Verdict::Repeat => {
                let issued = IssuedRefresh {
                    session_id: presented.session_id,
                    refresh_token: state.rotations.key().successor_of(&token_hash(token)),
                    expires_at: presented.successor_expires_at.unwrap_or(now),
                    authentication: Authentication {
                        time: presented.auth_time,
                        methods: presented.amr,
                    },
                };
                return Ok(Refreshed::Rotated {
                    user: presented.user,
                    issued,
                    repeated: true,
                    scope: presented.scope,
                });
            }
            // Unrotated still, though a rotation just inserted nothing: a concurrent
            // rotation rolled back in between. Not the client's fault, nor reuse.
            Verdict::Rotate => {
                return Err(crate::error::ApiError::Unavailable(
                    "the refresh token could not be rotated just now; retry".to_owned(),
                ));
            }
            Verdict::Reuse => {
                revoke_for_reuse(tx, state, &presented, client, now).await?;
                return Ok(Refreshed::Refused(Refusal::Reused));
            }
        }
    }
}

/// A refresh token presented by someone it was not issued to: ends its session.
async fn revoke_for_wrong_client(
    state: &AppState,
    user_id: uuid::Uuid,
    session_id: uuid::Uuid,
) -> ApiResult<()> {
    let now = state.clock.now();
    revoke_session(
        state.db.writer(),
        user_id,
        session_id,
        reason::REFRESH_TOKEN_WRONG_CLIENT,
        now,
    )
    .await?;
    tracing::warn!(%session_id, "refresh token presented by a client it was not issued to: session revoked");
    Ok(())
}

/// Reuse: revokes the session and records both generations, the presented token and
/// the successor it had been rotated into.
async fn revoke_for_reuse(
    mut tx: crate::db::Tx,
    state: &AppState,
    presented: &PresentedToken,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let user_id = presented.user.id;
    revoke_session(
        &mut tx,
        user_id,
        presented.session_id,
        reason::REFRESH_TOKEN_REUSE,
        now,
    )
    .await?;
    let entry = AuditEntry {
        event: event::TOKEN_REFRESH_REUSE,
        actor_id: None,
        user_id: Some(user_id),
        client: Some(client),
        detail: serde_json::json!({
            "session_id": presented.session_id,
            "presented_token_id": presented.token_id,
            "successor_token_id": presented.successor_id,
            "rotated_at": presented.rotated_at.or(presented.used_at),
            "successor_used": presented.successor_used,
            "grace_seconds": state.config.tokens.refresh_reuse_grace.as_secs(),
        }),
    };
    audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    tracing::warn!(session_id = %presented.session_id, "refresh token reuse: session revoked");
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair (rotation)
///
/// The presented refresh token stops working. Presented again within
/// `REFRESH_REUSE_GRACE_SECONDS` (10) of its rotation, while its successor is unused
/// (two tabs, a retry after a lost answer), it is answered with that same successor and
/// a fresh access token. Presented again later, or after its successor was rotated in
/// turn, it revokes the whole session: `401` `urn:roster:problem:refresh-token-reused`.
/// An expired token is `400` `...:refresh-token-expired`, one whose session has ended
/// `400` `...:session-revoked`, an unknown one `400` `...:invalid-token`.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "Rotated token pair (or, within the grace window, the same successor again)", body = TokenPair),
        (status = 400, description = "Expired (refresh-token-expired), session ended (session-revoked) or unknown (invalid-token) refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token was already used (refresh-token-reused): its session is now revoked", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    let refreshed = rotate_refresh_token(&state, &body.refresh_token, &client, None).await?;
    metrics::counter!("roster_token_refreshes_total", "result" => refreshed.metric()).increment(1);
    match refreshed {
        Refreshed::Rotated { user, issued, .. } => {
            let mut response = crate::http::no_store(
                Json(token_pair(&state, user, issued, state.clock.now())?).into_response(),
            );
            // A rotation revokes nothing and changes no account: no cache sync needed.
            response.extensions_mut().insert(CacheUnaffected);
            Ok(response)
        }
        Refreshed::Refused(refusal) => Ok(refusal.into_response()),
    }
}
