//! The registry of OpenID clients: the applications that send users here to sign in,
//! and the services that ask for tokens of their own (`client_credentials`).
//!
//! - [`Client`], [`ClientType`], [`GrantType`]: a registered client as the provider's
//!   endpoints and the admin API see it (never its secret).
//! - [`ClientInput`] and [`validate`]: what an administrator may register, checked once
//!   for the admin API and the CLI alike, naming every failing field at once.
//! - [`register`], [`update`], [`delete`], [`rotate_secret`]: the changes, each in one
//!   transaction with its audit record. Deleting a client revokes every session issued
//!   to it in the same transaction; the change feed then makes every instance refuse
//!   their tokens.
//! - [`authenticate`]: the client of a token, revocation or introspection request
//!   (`client_secret_basic`, `client_secret_post`, or none for public clients).
//!
//! A confidential client's secret is 32 random bytes, shown once and stored only as its
//! SHA-256 (a fast hash suffices for 256 random bits, as for refresh tokens); it is
//! compared in constant time.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::crypto::{random_token, token_hash};
use crate::db::{Db, Exec, Tx};
use crate::error::{ApiError, FieldError};
use crate::http::Cursor;
use crate::on_exec;
use crate::text::{Lines, refusal};

/// Why the sessions of a deleted client were revoked (`sessions.revoked_reason`).
pub const REVOKED_CLIENT_DELETED: &str = "client_deleted";

const MAX_NAME: usize = 100;
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_SCOPES: usize = 50;
const MAX_SCOPE_LEN: usize = 100;
/// What a client may ask for when registered without `scopes`.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// What a client may use when registered without `grant_types`.
pub const DEFAULT_GRANT_TYPES: [GrantType; 2] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken];
/// ID token signing algorithms a client may ask for; the first is the default.
pub const ID_TOKEN_ALGORITHMS: [&str; 2] = ["RS256", "EdDSA"];

/// Whether a client can keep a secret (a server) or not (a browser or native app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Public,
    Confidential,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Public => "public",
            ClientType::Confidential => "confidential",
        }
    }

    pub fn parse(text: &str) -> Option<ClientType> {
        match text {
            "public" => Some(ClientType::Public),
            "confidential" => Some(ClientType::Confidential),
            _ => None,
        }
    }
}

/// An OAuth 2.0 grant a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    /// Confidential clients only; the token's `sub` is the client id.
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// The grant named by a `grant_type` parameter, if it is one Roster knows.
    pub fn parse(text: &str) -> Option<GrantType> {
        match text {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

/// A registered client, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: ClientType,
    /// Matched exactly (string comparison) against an authorization request's `redirect_uri`.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to; matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// The scopes the client may ask for: `openid`, `profile`, `email`,
    /// `offline_access`, and any API scope an administrator names.
    pub scopes: Vec<String>,
    /// Trusted application: its users are not asked for consent.
    pub first_party: bool,
    /// `RS256` or `EdDSA`.
    pub id_token_signed_response_alg: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Client {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether the client was registered with this scope (exact, case-sensitive).
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Exact string match against the registered redirect URIs (no normalisation).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    /// Exact string match against the registered post-logout redirect URIs.
    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }

    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }
}

/// A confidential client's secret, as handed out once; never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    fn generate() -> ClientSecret {
        ClientSecret(random_token())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> Vec<u8> {
        token_hash(&self.0)
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// A new client id: 16 random bytes, base64url (22 characters, safe in URLs and forms).
fn new_client_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What an administrator registers, unchecked: the admin API's body and the CLI's
/// arguments. Every field is optional here so that [`validate`] can name every missing
/// or failing one at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// 1 to 100 characters. Required.
    pub name: Option<String>,
    /// `public` or `confidential`. Required.
    #[serde(rename = "type")]
    #[schema(value_type = Option<ClientType>)]
    pub client_type: Option<String>,
    /// Required (at least one) with `authorization_code`; at most 20. Each absolute,
    /// without fragment: `https`, `http` only on 127.0.0.1, [::1] or localhost, or a
    /// private-use scheme with a dot (`com.example.app:/callback`, RFC 8252).
    pub redirect_uris: Option<Vec<String>>,
    /// Same rules; default none.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Of `authorization_code`, `refresh_token`, `client_credentials` (confidential
    /// clients only); default `["authorization_code", "refresh_token"]`.
    #[schema(value_type = Option<Vec<GrantType>>)]
    pub grant_types: Option<Vec<String>>,
    /// RFC 6749 scope tokens, at most 50 of at most 100 characters; default
    /// `["openid", "profile", "email", "offline_access"]`. Other names are API scopes.
    pub scopes: Option<Vec<String>>,
    /// Default false.
    pub first_party: Option<bool>,
    /// `RS256` (default) or `EdDSA`.
    pub id_token_signed_response_alg: Option<String>,
}

/// A checked [`ClientInput`]: what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub id_token_signed_response_alg: String,
}

impl ClientSettings {
    /// The settings of a stored client, as input (the base a change is merged onto).
    pub fn input_of(client: &Client) -> ClientInput {
        ClientInput {
            name: Some(client.name.clone()),
            client_type: Some(client.client_type.as_str().to_owned()),
            redirect_uris: Some(client.redirect_uris.clone()),
            post_logout_redirect_uris: Some(client.post_logout_redirect_uris.clone()),
            grant_types: Some(
                client
                    .grant_types
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
            ),
            scopes: Some(client.scopes.clone()),
            first_party: Some(client.first_party),
            id_token_signed_response_alg: Some(client.id_token_signed_response_alg.clone()),
        }
    }
}

/// Checks every field of `input`, naming each failure (`redirect_uris[1]`, `type`, ...).
pub fn validate(input: &ClientInput) -> Result<ClientSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = match input.name.as_deref().map(str::trim) {
        None => fail(&mut errors, "name", "is required"),
        Some(name) => match refusal(name, Lines::One) {
            Some(why) => fail(&mut errors, "name", why),
            None if name.is_empty() || name.chars().count() > MAX_NAME => fail(
                &mut errors,
                "name",
                format!("must be 1 to {MAX_NAME} characters"),
            ),
            None => Some(name.to_owned()),
        },
    };
    let client_type = match input.client_type.as_deref() {
        None => fail(&mut errors, "type", "is required"),
        Some(text) => ClientType::parse(text)
            .or_else(|| fail(&mut errors, "type", "must be `public` or `confidential`")),
    };
    let grant_types = grant_types(input.grant_types.as_deref(), client_type, &mut errors);
    let redirect_uris = uris(input.redirect_uris.as_deref(), "redirect_uris", &mut errors);
    if grant_types
        .as_ref()
        .is_some_and(|g| g.contains(&GrantType::AuthorizationCode))
        && redirect_uris.as_ref().is_some_and(Vec::is_empty)
    {
        errors.push(FieldError::new(
            "redirect_uris",
            "at least one is required with the authorization_code grant",
        ));
    }
    let post_logout_redirect_uris = uris(
        input.post_logout_redirect_uris.as_deref(),
        "post_logout_redirect_uris",
        &mut errors,
    );
    let scopes = scopes(input.scopes.as_deref(), &mut errors);
    let alg = match input.id_token_signed_response_alg.as_deref() {
        None => Some(ID_TOKEN_ALGORITHMS[0].to_owned()),
        Some(alg) if ID_TOKEN_ALGORITHMS.contains(&alg) => Some(alg.to_owned()),
        Some(_) => fail(
            &mut errors,
            "id_token_signed_response_alg",
            "must be `RS256` or `EdDSA`",
        ),
    };
    match (
        name,
        client_type,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        alg,
    ) {
        (
            Some(name),
            Some(client_type),
            Some(redirect),
            Some(logout),
            Some(grants),
            Some(scopes),
            Some(alg),
        ) if errors.is_empty() => Ok(ClientSettings {
            name,
            client_type,
            redirect_uris: redirect,
            post_logout_redirect_uris: logout,
            grant_types: grants,
            scopes,
            first_party: input.first_party.unwrap_or(false),
            id_token_signed_response_alg: alg,
        }),
        _ => Err(errors),
    }
}

fn fail<T>(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) -> Option<T> {
    errors.push(FieldError::new(field, message));
    None
}

fn grant_types(
    given: Option<&[String]>,
    client_type: Option<ClientType>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<GrantType>> {
    let Some(given) = given else {
        return Some(DEFAULT_GRANT_TYPES.to_vec());
    };
    let before = errors.len();
    let mut grants = Vec::new();
    for (i, text) in given.iter().enumerate() {
        match GrantType::parse(text) {
            Some(grant) if !grants.contains(&grant) => grants.push(grant),
            Some(_) => {}
            None => errors.push(FieldError::new(
                format!("grant_types[{i}]"),
                "must be `authorization_code`, `refresh_token` or `client_credentials`",
            )),
        }
    }
    if given.is_empty() {
        errors.push(FieldError::new(
            "grant_types",
            "must name at least one grant",
        ));
    }
    if client_type == Some(ClientType::Public) && grants.contains(&GrantType::ClientCredentials) {
        errors.push(FieldError::new(
            "grant_types",
            "client_credentials is only for confidential clients",
        ));
    }
    (errors.len() == before).then_some(grants)
}

fn uris(
    given: Option<&[String]>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let Some(given) = given else {
        return Some(Vec::new());
    };
    let before = errors.len();
    if given.len() > MAX_URIS {
        errors.push(FieldError::new(field, format!("at most {MAX_URIS}")));
    }
    let mut uris: Vec<String> = Vec::new();
    for (i, uri) in given.iter().enumerate() {
        match redirect_uri_refusal(uri) {
            Some(why) => errors.push(FieldError::new(format!("{field}[{i}]"), why)),
            None if !uris.contains(uri) => uris.push(uri.clone()),
            None => {}
        }
    }
    (errors.len() == before).then_some(uris)
}

/// Why `uri` may not be registered as a (post-logout) redirect URI, or `None`.
fn redirect_uri_refusal(uri: &str) -> Option<&'static str> {
    if uri.len() > MAX_URI_LEN {
        return Some("must be at most 2000 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces or control characters");
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some("must be an absolute URL");
    };
    if parsed.fragment().is_some() {
        return Some("must not have a fragment");
    }
    match parsed.scheme() {
        "https" if parsed.host().is_none() => Some("must name a host"),
        "https" | "http" if !parsed.username().is_empty() || parsed.password().is_some() => {
            Some("must not carry a user name or password")
        }
        "https" => None,
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => None,
            Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => None,
            Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => None,
            _ => Some("must use https (http only on 127.0.0.1, [::1] or localhost)"),
        },
        scheme if scheme.contains('.') => None,
        _ => Some(
            "must use https, http on a loopback host, or a private-use scheme with a dot (com.example.app:/callback)",
        ),
    }
}

fn scopes(given: Option<&[String]>, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let Some(given) = given else {
        return Some(DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    };
    let before = errors.len();
    if given.len() > MAX_SCOPES {
        errors.push(FieldError::new("scopes", format!("at most {MAX_SCOPES}")));
    }
    let mut scopes: Vec<String> = Vec::new();
    for (i, scope) in given.iter().enumerate() {
        if !is_scope_token(scope) {
            errors.push(FieldError::new(
                format!("scopes[{i}]"),
                format!(
                    "must be 1 to {MAX_SCOPE_LEN} printable ASCII characters other than space, `\"` and `\\` (RFC 6749 §3.3)"
                ),
            ));
        } else if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    (errors.len() == before).then_some(scopes)
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, here at most 100.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_LEN
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Who made a change, for the audit record.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An administrator through the API.
    Admin {
        user_id: Uuid,
        client: &'a ClientInfo,
    },
    /// The `roster clients` command.
    Cli,
}

async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: Actor<'_>,
    event: &'static str,
    mut detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let (actor_id, client, via) = match actor {
        Actor::Admin { user_id, client } => (Some(user_id), Some(client), "api"),
        Actor::Cli => (None, None, "cli"),
    };
    detail["via"] = via.into();
    let entry = AuditEntry {
        event,
        actor_id,
        user_id: None,
        client,
        detail,
    };
    audit::record(tx, now, entry).await
}

/// The columns of `oauth_clients` that make a [`Client`], in [`ClientRow`]'s order.
const COLUMNS: &str = "client_id, name, client_type, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, scopes, first_party, id_token_signed_response_alg, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    first_party: bool,
    id_token_signed_response_alg: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// The client and its secret's hash (confidential clients only).
    fn into_client(self) -> Result<(Client, Option<Vec<u8>>), sqlx::Error> {
        let list = |column: &str, text: &str| {
            serde_json::from_str::<Vec<String>>(text).map_err(|e| sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: Box::new(e),
            })
        };
        let bad = |column: &str, what: String| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: what.into(),
        };
        let client_type = ClientType::parse(&self.client_type).ok_or_else(|| {
            bad(
                "client_type",
                format!("unknown client type {}", self.client_type),
            )
        })?;
        let grant_types = list("grant_types", &self.grant_types)?
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| bad("grant_types", format!("unknown grant {g}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = Client {
            client_id: self.client_id,
            name: self.name,
            client_type,
            redirect_uris: list("redirect_uris", &self.redirect_uris)?,
            post_logout_redirect_uris: list(
                "post_logout_redirect_uris",
                &self.post_logout_redirect_uris,
            )?,
            grant_types,
            scopes: list("scopes", &self.scopes)?,
            first_party: self.first_party,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        Ok((client, self.secret_hash))
    }
}

fn json_list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

async fn fetch(
    ex: impl Into<Exec<'_>>,
    client_id: &str,
) -> Result<Option<(Client, Option<Vec<u8>>)>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE client_id = $1");
    let row = on_exec!(ex, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
    row.map(ClientRow::into_client).transpose()
}

/// The registered client with this id.
pub async fn find(db: &Db, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
    Ok(fetch(db, client_id).await?.map(|(client, _)| client))
}

/// One page of clients, ordered by id.
pub async fn list(db: &Db, page: &Cursor<String>) -> Result<Vec<Client>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM oauth_clients WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2"
    );
    let rows = on_exec!(db, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit) + 1)
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_client().map(|(client, _)| client))
        .collect()
}

/// Every registered client, ordered by name (for the CLI).
pub async fn list_all(db: &Db) -> Result<Vec<Client>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients ORDER BY name, client_id");
    let rows = on_exec!(db, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|row| row.into_client().map(|(client, _)| client))
        .collect()
}

/// Registers a client from `input`; a confidential one gets its secret, returned here
/// only. Audited as `client_created`.
pub async fn register(
    db: &Db,
    input: &ClientInput,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<(Client, Option<ClientSecret>), ApiError> {
    let settings = validate(input).map_err(ApiError::Validation)?;
    let client_id = new_client_id();
    let secret = (settings.client_type == ClientType::Confidential).then(ClientSecret::generate);
    let sql = format!(
        "INSERT INTO oauth_clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(&client_id)
        .bind(&settings.name)
        .bind(settings.client_type.as_str())
        .bind(secret.as_ref().map(ClientSecret::hash))
        .bind(json_list(&settings.redirect_uris))
        .bind(json_list(&settings.post_logout_redirect_uris))
        .bind(json_list(&settings.grant_types))
        .bind(json_list(&settings.scopes))
        .bind(settings.first_party)
        .bind(&settings.id_token_signed_response_alg)
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client.client_id, "name": client.name, "type": client.client_type.as_str()});
    record(&mut tx, now, actor, event::CLIENT_CREATED, detail).await?;
    tx.commit().await?;
    Ok((client, secret))
}

/// Applies `change` (the stored settings with some fields replaced) after the same
/// checks as at registration; the type cannot change. Audited as `client_updated` with
/// the names of the fields that changed. `None` when there is no such client.
pub async fn update(
    db: &Db,
    client_id: &str,
    change: impl FnOnce(ClientInput) -> ClientInput,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Client>, ApiError> {
    let mut tx = db.begin().await?;
    let Some((current, _)) = fetch(&mut tx, client_id).await? else {
        return Ok(None);
    };
    let mut merged = change(ClientSettings::input_of(&current));
    merged.client_type = Some(current.client_type.as_str().to_owned());
    let settings = validate(&merged).map_err(ApiError::Validation)?;
    let changed = changed_fields(&current, &settings);
    if changed.is_empty() {
        return Ok(Some(current));
    }
    let sql = format!(
        "UPDATE oauth_clients SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, grant_types = $5, scopes = $6, first_party = $7, id_token_signed_response_alg = $8, updated_at = $9 WHERE client_id = $1 RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .bind(&settings.name)
        .bind(json_list(&settings.redirect_uris))
        .bind(json_list(&settings.post_logout_redirect_uris))
        .bind(json_list(&settings.grant_types))
        .bind(json_list(&settings.scopes))
        .bind(settings.first_party)
        .bind(&settings.id_token_signed_response_alg)
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client_id, "fields": changed});
    record(&mut tx, now, actor, event::CLIENT_UPDATED, detail).await?;
    tx.commit().await?;
    Ok(Some(client))
}

fn changed_fields(current: &Client, new: &ClientSettings) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut note = |differs: bool, name: &'static str| {
        if differs {
            fields.push(name);
        }
    };
    note(current.name != new.name, "name");
    note(current.redirect_uris != new.redirect_uris, "redirect_uris");
    note(
        current.post_logout_redirect_uris != new.post_logout_redirect_uris,
        "post_logout_redirect_uris",
    );
    note(current.grant_types != new.grant_types, "grant_types");
    note(current.scopes != new.scopes, "scopes");
    note(current.first_party != new.first_party, "first_party");
    note(
        current.id_token_signed_response_alg != new.id_token_signed_response_alg,
        "id_token_signed_response_alg",
    );
    fields
}

/// Deletes a client and revokes every live session issued to it (their access and
/// refresh tokens are refused from the next request, on every instance); its codes and
/// grants go with it. Audited as `client_deleted`. Returns how many sessions were
/// revoked, `None` when there is no such client.
pub async fn delete(
    db: &Db,
    client_id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Option<u64>, ApiError> {
    let mut tx = db.begin().await?;
    let deleted = on_exec!(&mut tx, c => sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    if deleted == 0 {
        return Ok(None);
    }
    let revoked = on_exec!(&mut tx, c => sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE client_id = $1 AND revoked_at IS NULL")
        .bind(client_id)
        .bind(now)
        .bind(REVOKED_CLIENT_DELETED)
        .execute(c)
        .await.map(|r| r.rows_affected()))?;
    let detail = serde_json::json!({"client_id": client_id, "sessions_revoked": revoked});
    record(&mut tx, now, actor, event::CLIENT_DELETED, detail).await?;
    tx.commit().await?;
    Ok(Some(revoked))
}

/// What [`rotate_secret`] did.
#[derive(Debug)]
pub enum SecretRotation {
    /// The new secret (shown once); the old one no longer authenticates.
    Rotated(Client, ClientSecret),
    /// A public client has no secret.
    PublicClient,
    NotFound,
}

/// Gives a confidential client a new secret; the old one stops working at once.
/// Audited as `client_secret_rotated` (without the secret).
pub async fn rotate_secret(
    db: &Db,
    client_id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<SecretRotation, ApiError> {
    let mut tx = db.begin().await?;
    let Some((current, _)) = fetch(&mut tx, client_id).await? else {
        return Ok(SecretRotation::NotFound);
    };
    if current.is_public() {
        return Ok(SecretRotation::PublicClient);
    }
    let secret = ClientSecret::generate();
    let sql = format!(
        "UPDATE oauth_clients SET secret_hash = $2, secret_rotated_at = $3, updated_at = $3 WHERE client_id = $1 RETURNING {COLUMNS}"
    );
    let row = on_exec!(&mut tx, c => sqlx::query_as::<_, ClientRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .bind(secret.hash())
        .bind(now)
        .fetch_one(c)
        .await)?;
    let (client, _) = row.into_client()?;
    let detail = serde_json::json!({"client_id": client_id});
    record(&mut tx, now, actor, event::CLIENT_SECRET_ROTATED, detail).await?;
    tx.commit().await?;
    Ok(SecretRotation::Rotated(client, secret))
}

/// Why a client was not authenticated; the endpoint answers RFC 6749 §5.2 errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// RFC 6749 §5.2 `invalid_request` (e.g. two methods at once, malformed Basic header).
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `invalid_client`: unknown client, wrong or missing secret, secret sent for a
    /// public client. `basic` tells that the client tried `Authorization: Basic`, so the
    /// answer must be 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    #[error("invalid_client")]
    InvalidClient { basic: bool },
    /// The database could not be asked (answer 503/500, not a client error).
    #[error("client lookup failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Authenticates the client of a token-endpoint style request: `client_secret_basic`
/// (Authorization: Basic, client_id and secret each application/x-www-form-urlencoded
/// before base64, RFC 6749 §2.3.1), `client_secret_post` (form fields), or none (public
/// client sending only client_id). Exactly one method: a Basic header together with a
/// `client_secret` field is `invalid_request`, as is a `client_id` field naming another
/// client than the header. An `Authorization` header of another scheme is not client
/// authentication and is ignored here.
pub async fn authenticate(
    db: &Db,
    headers: &axum::http::HeaderMap,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> Result<Client, ClientAuthError> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret, via_basic) = match &basic {
        Some((id, secret)) => {
            if form_client_secret.is_some() {
                return Err(ClientAuthError::InvalidRequest(
                    "use one client authentication method: the Authorization header or client_secret, not both",
                ));
            }
            if form_client_id.is_some_and(|form_id| form_id != id) {
                return Err(ClientAuthError::InvalidRequest(
                    "client_id differs from the client of the Authorization header",
                ));
            }
            (id.as_str(), Some(secret.as_str()), true)
        }
        None => match form_client_id {
            Some(id) => (id, form_client_secret, false),
            None => return Err(ClientAuthError::InvalidClient { basic: false }),
        },
    };
    let refused = ClientAuthError::InvalidClient { basic: via_basic };
    let Some((client, stored_hash)) = fetch(db, client_id).await? else {
        return Err(refused);
    };
    match (client.client_type, secret, stored_hash) {
        (ClientType::Public, None, _) => Ok(client),
        (ClientType::Confidential, Some(secret), Some(stored))
            if bool::from(token_hash(secret).ct_eq(&stored)) =>
        {
            Ok(client)
        }
        _ => Err(refused),
    }
}

/// Base64 that accepts a value with or without its padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The client id and secret of `Authorization: Basic`, `None` without such a header.
fn basic_credentials(
    headers: &axum::http::HeaderMap,
) -> Result<Option<(String, String)>, ClientAuthError> {
    let malformed = ClientAuthError::InvalidRequest("the Basic authorization header is malformed");
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Ok(value) = value.to_str() else {
        return Err(malformed);
    };
    let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = LENIENT_BASE64
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ClientAuthError::InvalidRequest(
            "the Basic authorization header is not base64 of UTF-8 text",
        ))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(ClientAuthError::InvalidRequest(
            "the Basic credentials lack the colon between client id and secret",
        ))?;
    match (form_decode(id), form_decode(secret)) {
        (Some(id), Some(secret)) if !id.is_empty() => Ok(Some((id, secret))),
        _ => Err(malformed),
    }
}

/// Undoes application/x-www-form-urlencoded on one value (`+` is a space, `%XX` a
/// byte); `None` for a broken escape or bytes that are not UTF-8.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn basic(raw: &str) -> HeaderMap {
        with_authorization(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let parsed = basic_credentials(&basic("my%3Aapp:s%2Bcr+t%25")).unwrap();
        assert_eq!(parsed, Some(("my:app".to_owned(), "s+cr t%".to_owned())));
        // The first colon separates; an unencoded colon in the secret stays in it.
        let parsed = basic_credentials(&basic("app:a:b")).unwrap();
        assert_eq!(parsed, Some(("app".to_owned(), "a:b".to_owned())));
        // Scheme in any case, padding optional.
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("app:x");
        let parsed = basic_credentials(&with_authorization(&format!("bAsIc {unpadded}"))).unwrap();
        assert_eq!(parsed, Some(("app".to_owned(), "x".to_owned())));
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_requests() {
        for headers in [
            basic("no-colon-here"),
            basic("app:bad%zzescape"),
            basic("app:%e2%28"),
            basic(":secret"),
            with_authorization("Basic !!!not-base64!!!"),
            with_authorization("Basic"),
        ] {
            assert!(
                matches!(
                    basic_credentials(&headers),
                    Err(ClientAuthError::InvalidRequest(_))
                ),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn other_schemes_and_no_header_are_not_basic_credentials() {
        assert!(matches!(basic_credentials(&HeaderMap::new()), Ok(None)));
        assert!(matches!(
            basic_credentials(&with_authorization("Bearer abc.def")),
            Ok(None)
        ));
    }

    fn input() -> ClientInput {
        ClientInput {
            name: Some("App".into()),
            client_type: Some("confidential".into()),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            ..ClientInput::default()
        }
    }

    #[test]
    fn redirect_uris_follow_the_native_and_web_rules() {
        for ok in [
            "https://app.example/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri_refusal(ok), None, "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "/relative",
            "javascript:alert(1)",
            "https://user:pw@app.example/",
            " https://app.example/cb",
            "myapp:/cb",
        ] {
            assert!(redirect_uri_refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn validation_names_every_failing_field_and_applies_defaults() {
        let settings = validate(&input()).unwrap();
        assert_eq!(settings.grant_types, DEFAULT_GRANT_TYPES);
        assert_eq!(settings.scopes, DEFAULT_SCOPES);
        assert_eq!(settings.id_token_signed_response_alg, "RS256");
        assert!(!settings.first_party);
        let bad = ClientInput {
            name: Some(" ".into()),
            client_type: Some("public".into()),
            redirect_uris: Some(vec!["http://evil.example/".into()]),
            grant_types: Some(vec!["client_credentials".into(), "password".into()]),
            scopes: Some(vec!["ok".into(), "bad scope".into()]),
            id_token_signed_response_alg: Some("HS256".into()),
            ..ClientInput::default()
        };
        let mut fields: Vec<String> = validate(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        fields.dedup();
        assert_eq!(
            fields,
            [
                "grant_types",
                "grant_types[1]",
                "id_token_signed_response_alg",
                "name",
                "redirect_uris[0]",
                "scopes[1]"
            ]
        );
        let service = ClientInput {
            redirect_uris: None,
            grant_types: Some(vec!["client_credentials".into()]),
            ..input()
        };
        assert!(validate(&service).is_ok());
        let missing = validate(&ClientInput {
            redirect_uris: None,
            ..input()
        })
        .unwrap_err();
        assert_eq!(missing[0].field, "redirect_uris");
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("read:users"));
        assert!(is_scope_token("!#[]~"));
        for bad in ["", "a b", "quote\"", "back\\slash", "é", &"x".repeat(101)] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }
}
