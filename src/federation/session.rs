//! Signing an account in because a provider vouched for it: the same path as a password
//! sign-in on the sign-in page. An account with a second factor gets the sign-in page's
//! own second step (the challenge cookie and page of `oidc::sign_in`); otherwise a Roster
//! session starts (amr `fed`), audited as `login_success`, with the browser's cookie.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::identities;
use super::pages::{DEPARTURE_COOKIE, cookie, refused};
use crate::accounts::model::User;
use crate::audit::{self, AuditEntry, ClientInfo, event};
use crate::auth::mfa;
use crate::auth::sessions::{self, Device};
use crate::error::ApiError;
use crate::oidc::{browser, sign_in};
use crate::tokens::access::Authentication;
use crate::web::Web;

const DEVICE_NAME: &str = "Web browser";
/// The authentication method of a session a provider vouched for.
const FEDERATED: &str = "fed";

/// Which identity signed in, through which provider.
pub struct Vouched<'a> {
    pub identity_id: Uuid,
    pub provider_id: Uuid,
    pub provider_slug: &'a str,
    pub email: Option<&'a str>,
}

/// Signs `user` in through `vouched`, then sends the browser to `return_to` (or
/// `/account`).
pub async fn sign_in(
    web: &Web,
    headers: &HeaderMap,
    client: ClientInfo,
    user: &User,
    vouched: &Vouched<'_>,
    return_to: &str,
) -> Result<Response, ApiError> {
    if !user.is_active {
        return Ok(refused(
            &web.pages,
            StatusCode::FORBIDDEN,
            crate::i18n::message_key("federation-deactivated"),
            None,
        ));
    }
    let state = &web.app;
    let now = state.clock.now();
    let device = Device {
        name: Some(DEVICE_NAME.to_owned()),
        client,
    };
    let factors = mfa::factors(&state.db, user.id).await?;
    let mut tx = state.db.begin().await?;
    identities::record_use(
        &mut tx,
        vouched.identity_id,
        vouched.provider_id,
        vouched.email,
        now,
    )
    .await?;
    if factors.any() {
        tx.commit().await?;
        let key = format!("identity:{}", vouched.identity_id);
        let challenge =
            mfa::challenge::start(state, user.id, FEDERATED, &key, &device, &factors).await?;
        let mut response = sign_in::second_step(web, headers, return_to, &challenge).await;
        forget_departure(web, &mut response);
        return Ok(response);
    }
    let authentication = Authentication {
        time: now,
        methods: FEDERATED.to_owned(),
    };
    let issued =
        sessions::start_session(state, &mut tx, user.id, &device, authentication, now).await?;
    crate::accounts::model::record_login(&mut tx, user.id, now).await?;
    let entry = AuditEntry::by_owner(event::LOGIN_SUCCESS, user.id, &device.client).with_detail(
        serde_json::json!({"session_id": issued.session_id, "provider": vouched.provider_slug}),
    );
    audit::record(&mut tx, now, entry).await?;
    let session_cookie = browser::start(
        &mut tx,
        &web.pages,
        issued.session_id,
        now,
        issued.expires_at,
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("roster_logins_total", "result" => "success").increment(1);
    let next = if return_to.is_empty() {
        "/account"
    } else {
        return_to
    };
    let mut response = Redirect::to(next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie);
    forget_departure(web, &mut response);
    Ok(response)
}

/// Makes the browser forget the cookie of its trip to the provider.
pub fn forget_departure(web: &Web, response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(&web.pages, DEPARTURE_COOKIE, "", 0),
    );
}
