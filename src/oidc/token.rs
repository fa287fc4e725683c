//! The token endpoint `POST /oauth2/token` (RFC 6749 §3.2): the `authorization_code`
//! grant (§4.1.3, with PKCE, RFC 7636 §4.6), `refresh_token` (§6, rotating, with the
//! reuse detection of Roster's own refresh tokens) and `client_credentials` (§4.4).
//! Answers are §5.1 JSON with `Cache-Control: no-store`; errors are §5.2 JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::claims;
use super::clients::{Client, GrantType};
use super::codes::{self, Redemption};
use super::id_token::{self, IdToken};
use super::oauth::{Form, OAuthError, OAuthErrorBody};
use super::scope::{self, Scopes};
use crate::accounts::model::find_user;
use crate::audit::{self, AuditEntry, event};
use crate::auth::refresh::{self, Refreshed};
use crate::auth::sessions::{self, Device, IssuedTo, reason};
use crate::coherence::CacheUnaffected;
use crate::error::ApiResult;
use crate::http::{ClientInfo, no_store};
use crate::on_exec;
use crate::state::AppState;
use crate::tokens::access::{Authentication, ClientGrant};
use crate::tokens::keys::IdTokenAlgorithm;

/// The form fields of a token request (RFC 6749 §4.1.3, §6, §4.4): each at most once;
/// empty ones count as absent, unknown ones are ignored.
#[derive(Debug, ToSchema)]
pub struct TokenRequest {
    pub grant_type: GrantType,
    /// `authorization_code`: the code the authorization endpoint sent back.
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// `authorization_code`: the `redirect_uri` of the authorization request, exactly.
    #[schema(nullable = false)]
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636), required when the request
    /// sent a `code_challenge` and refused when it did not.
    #[schema(nullable = false)]
    pub code_verifier: Option<String>,
    /// `refresh_token`: the refresh token to rotate; it is spent, and a new one answered.
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// `refresh_token`: a narrower scope than the one granted; `client_credentials`: some
    /// of the API scopes the client is registered for (default: all of them).
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// `client_secret_post`, or a public client naming itself.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// `client_secret_post`.
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
}

/// An RFC 6749 §5.1 answer.
#[derive(Debug, Serialize, ToSchema)]
struct TokenResponse {
    /// A JWT for `Authorization: Bearer`; for a user, its session ends with the grant's.
    access_token: String,
    /// `Bearer`
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: u64,
    /// With the `offline_access` scope (authorization code), and on every refresh: the
    /// next refresh token, single-use.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refresh_token: Option<String>,
    /// With the `openid` scope (authorization code only): the ID token, signed `RS256`
    /// or the client's `EdDSA`, verifiable with `/oauth2/jwks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    id_token: Option<String>,
    /// The granted scopes, space-separated.
    scope: String,
}

/// OAuth 2.0 token endpoint
///
/// Grants `authorization_code` (with PKCE), `refresh_token` (rotating: a spent refresh
/// token used again revokes its session) and `client_credentials` (confidential clients;
/// the token's `sub` is the client id). The client authenticates with
/// `client_secret_basic` or `client_secret_post`; a public client sends only its
/// `client_id`. The body is `application/x-www-form-urlencoded`; another content type,
/// a repeated parameter or a missing one is `invalid_request` (400). Every answer carries
/// `Cache-Control: no-store`.
///
/// The access token's `aud` is Roster's audience (`JWT_AUDIENCE`) for a `first_party`
/// client, so the team's services accept it as a user's login, and the client's own id
/// for every other client, so no service that checks Roster's audience can be handed a
/// third-party application's token; both carry `client_id`. `scope` names what was
/// granted (scopes the client is not registered for were ignored at authorization).
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth", operation_id = "oauth2_token",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "Tokens issued (RFC 6749 §5.1)", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "no-store"),
            ("Pragma" = String, description = "no-cache"),
        )),
        (status = 400, description = "RFC 6749 §5.2 error: `invalid_request`, `invalid_grant` (an unknown, expired or spent code or refresh token, a wrong `redirect_uri` or `code_verifier`), `unauthorized_client` (a grant the client is not registered for), `unsupported_grant_type` or `invalid_scope`", body = OAuthErrorBody, headers(
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, or a confidential client without its secret; with `WWW-Authenticate: Basic` when the client tried `client_secret_basic`", body = OAuthErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"roster\", charset=\"UTF-8\"` after a failed `client_secret_basic`"),
            ("Cache-Control" = String, description = "no-store"),
        )),
        (status = 500, description = "`server_error`: the token could not be signed", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the client could not be looked up just now, or (for at most 10 s after the first start on a fresh database) the key that signs ID tokens is not made yet; nothing was spent: retry", body = OAuthErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    client_info: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let answer = match Form::parse(&headers, &body) {
        Ok(form) => match form.client(&state.db, &headers).await {
            Ok(client) => grant(&state, &client_info, &form, &client).await?,
            Err(refused) => Err(refused),
        },
        Err(refused) => Err(refused),
    };
    Ok(match answer {
        Ok(response) => response,
        Err(refused) => refused.into_response(),
    })
}

async fn grant(
    state: &AppState,
    client_info: &ClientInfo,
    form: &Form,
    client: &Client,
) -> ApiResult<Result<Response, OAuthError>> {
    let grant_type = match form.require("grant_type") {
        Ok(grant_type) => grant_type,
        Err(refused) => return Ok(Err(refused)),
    };
    let kind = match grant_type {
        "authorization_code" => GrantType::AuthorizationCode,
        "refresh_token" => GrantType::RefreshToken,
        "client_credentials" => GrantType::ClientCredentials,
        _ => {
            return Ok(Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "grant_type must be authorization_code, refresh_token or client_credentials",
            )));
        }
    };
    if !client.allows_grant(kind) {
        return Ok(Err(OAuthError::bad_request(
            "unauthorized_client",
            format!("this client is not registered for the {grant_type} grant"),
        )));
    }
    match kind {
        GrantType::AuthorizationCode => authorization_code(state, client_info, form, client).await,
        GrantType::RefreshToken => refresh_token(state, client_info, form, client).await,
        GrantType::ClientCredentials => Ok(client_credentials(state, form, client)),
    }
}

fn answer(body: TokenResponse) -> Response {
    no_store(Json(body).into_response())
}

async fn authorization_code(
    state: &AppState,
    client_info: &ClientInfo,
    form: &Form,
    client: &Client,
) -> ApiResult<Result<Response, OAuthError>> {
    let (code, redirect_uri) = match (form.require("code"), form.require("redirect_uri")) {
        (Ok(code), Ok(uri)) => (code, uri),
        (Err(refused), _) | (_, Err(refused)) => return Ok(Err(refused)),
    };
    // Before the code is spent: on a fresh database the RSA key may still be in the making.
    let algorithm = IdTokenAlgorithm::parse(&client.id_token_signed_response_alg)
        .unwrap_or(IdTokenAlgorithm::Rs256);
    let Some(keys) = state
        .tokens
        .key_set_for_id_tokens(algorithm, id_token::KEY_WAIT)
        .await
    else {
        return Ok(Err(OAuthError::temporarily_unavailable(
            "the key that signs ID tokens is not ready yet; retry",
        )));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let redeemed = match codes::redeem(&mut tx, code, now).await? {
        Redemption::Redeemed(redeemed) => redeemed,
        Redemption::Invalid => {
            return Ok(Err(OAuthError::invalid_grant(
                "the code is unknown or has expired",
            )));
        }
        Redemption::UsedBefore {
            user_id,
            issued_session_id,
        } => {
            if let Some(session_id) = issued_session_id {
                sessions::revoke_session(
                    &mut tx,
                    user_id,
                    session_id,
                    reason::REVOKED_BY_CLIENT,
                    now,
                )
                .await?;
            }
            let entry = AuditEntry {
                event: event::AUTHORIZATION_CODE_REUSED,
                actor_id: None,
                user_id: Some(user_id),
                client: Some(client_info),
                detail: serde_json::json!({"client_id": client.client_id, "session_id": issued_session_id}),
            };
            audit::record(&mut tx, now, entry).await?;
            tx.commit().await?;
            tracing::warn!(client_id = %client.client_id, "authorization code used twice: its tokens are revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the code was used already; the tokens issued for it are revoked",
            )));
        }
    };
    // From here a refusal still burns the code: commit the mark before answering.
    let refusal = if redeemed.client_id != client.client_id {
        Some("the code was issued to another client")
    } else if redeemed.redirect_uri != redirect_uri {
        Some("redirect_uri is not the one the code was issued for")
    } else if !pkce_holds(
        redeemed.code_challenge.as_deref(),
        form.get("code_verifier"),
    ) {
        Some("code_verifier does not match the code_challenge")
    } else {
        None
    };
    let user = match find_user(&mut tx, redeemed.user_id).await? {
        Some(user) if user.is_active && refusal.is_none() => user,
        _ => {
            tx.commit().await?;
            return Ok(Err(OAuthError::invalid_grant(
                refusal.unwrap_or("the account is no longer active"),
            )));
        }
    };
    let browser_live: Option<i32> = on_exec!(&mut tx, c => sqlx::query_scalar(
        "SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(redeemed.browser_session_id)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    if browser_live.is_none() {
        tx.commit().await?;
        return Ok(Err(OAuthError::invalid_grant(
            "the sign-in the code came from has ended",
        )));
    }
    let scopes = Scopes::parse(&redeemed.scope).unwrap_or_default();
    let scope_text = scopes.text();
    let grant = ClientGrant {
        client_id: &client.client_id,
        scope: &scope_text,
        first_party: client.first_party,
    };
    let authentication = Authentication {
        time: redeemed.auth_time,
        methods: redeemed.amr.clone(),
    };
    let device = Device {
        name: Some(client.name.clone()),
        client: client_info.clone(),
    };
    let issued_to = IssuedTo {
        grant,
        browser_session_id: redeemed.browser_session_id,
    };
    let issued = sessions::start_client_session(
        state,
        &mut tx,
        user.id,
        &device,
        authentication,
        issued_to,
        now,
    )
    .await?;
    codes::record_session(&mut tx, &redeemed.code_hash, issued.session_id).await?;
    let user_claims = claims::for_user(&mut tx, &user, &scopes).await?;
    tx.commit().await?;
    let access_token = state.tokens.issue_for(
        &user,
        issued.session_id,
        &issued.authentication,
        Some(grant),
        now,
    )?;
    let id_token = if scopes.contains(scope::OPENID) {
        let token = IdToken {
            issuer: &state.config.tokens.issuer,
            client_id: &client.client_id,
            algorithm,
            authentication: &issued.authentication,
            nonce: redeemed.nonce.as_deref(),
            access_token: Some(&access_token),
            browser_session_id: Some(redeemed.browser_session_id),
            user: &user_claims,
            lifetime: id_token_lifetime(state),
        };
        Some(token.sign(&keys, now)?)
    } else {
        None
    };
    let refresh_token = (scopes.contains(scope::OFFLINE_ACCESS)
        && client.allows_grant(GrantType::RefreshToken))
    .then_some(issued.refresh_token);
    Ok(Ok(answer(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token,
        id_token,
        scope: scope_text,
    })))
}

/// PKCE (RFC 7636 §4.6): a code issued with a challenge needs its verifier; a code
/// issued without one must not be redeemed with one (RFC 9700 §2.1.1, downgrade).
fn pkce_holds(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => codes::verifier_matches(challenge, verifier),
        (None, None) => true,
        _ => false,
    }
}

fn id_token_lifetime(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.tokens.ttl()).unwrap_or(chrono::Duration::minutes(15))
}

async fn refresh_token(
    state: &AppState,
    client_info: &ClientInfo,
    form: &Form,
    client: &Client,
) -> ApiResult<Result<Response, OAuthError>> {
    let token = match form.require("refresh_token") {
        Ok(token) => token,
        Err(refused) => return Ok(Err(refused)),
    };
    let refreshed =
        refresh::rotate_refresh_token(state, token, client_info, Some(&client.client_id)).await?;
    metrics::counter!("roster_token_refreshes_total", "result" => refreshed.metric()).increment(1);
    let (user, issued, granted) = match refreshed {
        Refreshed::Rotated {
            user,
            issued,
            scope,
            ..
        } => (
            user,
            issued,
            Scopes::parse(scope.as_deref().unwrap_or("")).unwrap_or_default(),
        ),
        Refreshed::Refused(refusal) => {
            return Ok(Err(OAuthError::invalid_grant(refusal.description())));
        }
    };
    // §6: a narrower scope may be asked for; never a wider one.
    let scopes = match form.get("scope").map(Scopes::parse) {
        None => granted,
        Some(Some(asked)) if asked.is_subset(&granted) => asked,
        Some(_) => {
            return Ok(Err(OAuthError::bad_request(
                "invalid_scope",
                "scope may only narrow what was granted",
            )));
        }
    };
    let scope_text = scopes.text();
    let grant = ClientGrant {
        client_id: &client.client_id,
        scope: &scope_text,
        first_party: client.first_party,
    };
    let now = state.clock.now();
    let access_token = state.tokens.issue_for(
        &user,
        issued.session_id,
        &issued.authentication,
        Some(grant),
        now,
    )?;
    let mut response = answer(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token: Some(issued.refresh_token),
        id_token: None,
        scope: scope_text,
    });
    // A rotation revokes nothing and changes no account: no cache sync needed.
    response.extensions_mut().insert(CacheUnaffected);
    Ok(Ok(response))
}

fn client_credentials(
    state: &AppState,
    form: &Form,
    client: &Client,
) -> Result<Response, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            "public clients cannot use client_credentials",
        ));
    }
    let api_scopes: Scopes = client
        .scopes
        .iter()
        .filter(|s| !scope::STANDARD.contains(&s.as_str()))
        .collect();
    let scopes = match form.get("scope").map(Scopes::parse) {
        None => api_scopes,
        Some(Some(asked)) if asked.is_subset(&api_scopes) => asked,
        Some(_) => {
            return Err(OAuthError::bad_request(
                "invalid_scope",
                "scope may name only API scopes this client is registered for",
            ));
        }
    };
    let scope_text = scopes.text();
    let grant = ClientGrant {
        client_id: &client.client_id,
        scope: &scope_text,
        first_party: client.first_party,
    };
    let issued = state.tokens.issue_service(grant, state.clock.now());
    let (access_token, _) = match issued {
        Ok(issued) => issued,
        Err(e) => {
            tracing::error!(error = %e, "signing a client_credentials token");
            return Err(OAuthError {
                status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "the token could not be signed".into(),
                basic_challenge: false,
            });
        }
    };
    let mut response = answer(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token: None,
        id_token: None,
        scope: scope_text,
    });
    response.extensions_mut().insert(CacheUnaffected);
    Ok(response)
}
