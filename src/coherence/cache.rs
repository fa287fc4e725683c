//! The authentication cache, so that an authenticated request usually needs neither a
//! signature check nor a database round trip.
//!
//! - Verified tokens, by their SHA-256: a token seen before skips the signature check
//!   (its time claims are still checked on every request).
//! - Sessions (id → owner, expiry) and accounts (id → `User`), filled from the database.
//!
//! The session and account entries are only used while the cache is *coherent*: the
//! change feed (`ChangeFeed`, beside this file) removes every entry a committed change makes stale
//! and renews a lease each time it proves it is keeping up. When the lease runs out (the
//! database or the feed is unreachable) every request goes to the database again, so an
//! outage fails closed. A fill that raced with an invalidation is dropped: fills carry
//! the generation they started at, and every invalidation advances it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::accounts::model::User;
use crate::tokens::access::AccessClaims;

const MAX_TOKENS: u64 = 20_000;
const MAX_SESSIONS: u64 = 20_000;
/// Entries are refreshed from the database at least this often.
const ENTRY_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct CachedSession {
    user_id: Uuid,
    expires_at: DateTime<Utc>,
}

pub struct AuthCache {
    tokens: Cache<[u8; 32], Arc<AccessClaims>>,
    sessions: Cache<Uuid, CachedSession>,
    users: Cache<Uuid, Arc<User>>,
    generation: AtomicU64,
    /// Microseconds after `epoch` until which session and account entries may be used.
    lease_until: AtomicU64,
    epoch: Instant,
}

impl AuthCache {
    pub fn new(access_ttl: Duration) -> AuthCache {
        AuthCache {
            tokens: Cache::builder()
                .max_capacity(MAX_TOKENS)
                .time_to_live(access_ttl + Duration::from_secs(60))
                .build(),
            sessions: Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_live(ENTRY_TTL)
                .build(),
            users: Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_live(ENTRY_TTL)
                .build(),
            generation: AtomicU64::new(0),
            lease_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The claims of `token` if it was verified before (the caller still checks time).
    pub fn verified(&self, token: &str) -> Option<Arc<AccessClaims>> {
        self.tokens.get(&token_key(token))
    }

    pub fn remember_verified(&self, token: &str, claims: Arc<AccessClaims>) {
        self.tokens.insert(token_key(token), claims);
    }

    /// The account behind session `session_id` of `user_id`, if both are cached, the
    /// session has not expired, and the cache is coherent now.
    pub fn session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Arc<User>> {
        if !self.is_coherent() {
            return None;
        }
        let session = self.sessions.get(&session_id)?;
        if session.user_id != user_id || session.expires_at <= now {
            return None;
        }
        self.users.get(&user_id)
    }

    /// The account `user_id`, if cached and the cache is coherent now.
    pub fn user(&self, user_id: Uuid) -> Option<Arc<User>> {
        if !self.is_coherent() {
            return None;
        }
        self.users.get(&user_id)
    }

    /// The generation a fill must quote (read it before querying the database).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches what the database said, unless an invalidation happened since `generation`
    /// was read (the row read may already be stale) or the cache is not coherent.
    pub fn fill(
        &self,
        generation: u64,
        session_id: Uuid,
        user: &User,
        session_expires_at: DateTime<Utc>,
    ) {
        if !self.is_coherent() || self.generation() != generation {
            return;
        }
        self.sessions.insert(
            session_id,
            CachedSession {
                user_id: user.id,
                expires_at: session_expires_at,
            },
        );
        self.users.insert(user.id, Arc::new(user.clone()));
        // An invalidation may have landed between the check and the inserts.
        if self.generation() != generation {
            self.sessions.invalidate(&session_id);
            self.users.invalidate(&user.id);
        }
    }

    pub fn invalidate_session(&self, session_id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.invalidate(&session_id);
    }

    pub fn invalidate_user(&self, user_id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.users.invalidate(&user_id);
    }

    /// Forgets every session and account (the feed may have missed changes).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.invalidate_all();
        self.users.invalidate_all();
    }

    /// The feed proved at `observed` that it has applied every change committed before
    /// then; entries may be used until `observed + lease`.
    pub fn renew_lease(&self, observed: Instant, lease: Duration) {
        let until = (observed.saturating_duration_since(self.epoch) + lease).as_micros() as u64;
        self.lease_until.fetch_max(until, Ordering::AcqRel);
    }

    /// Stops using entries at once (the feed lost its connection).
    pub fn end_lease(&self) {
        self.lease_until.store(0, Ordering::Release);
        self.clear();
    }

    pub fn is_coherent(&self) -> bool {
        (self.epoch.elapsed().as_micros() as u64) < self.lease_until.load(Ordering::Acquire)
    }
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::model::{Role, Tier};

    fn user(id: Uuid) -> User {
        let now = Utc::now();
        User {
            id,
            username: "u".into(),
            email: "u@example.com".into(),
            full_name: None,
            role: Role::User,
            tier: Tier::Basic,
            is_active: true,
            email_verified: false,
            pending_email: None,
            locale: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        }
    }

    #[test]
    fn entries_are_used_only_while_the_lease_holds() {
        let cache = AuthCache::new(Duration::from_secs(900));
        let (sid, uid) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        let expires = now + chrono::Duration::days(1);
        cache.fill(cache.generation(), sid, &user(uid), expires);
        assert!(
            cache.session_user(sid, uid, now).is_none(),
            "no lease yet: nothing was cached"
        );
        cache.renew_lease(Instant::now(), Duration::from_secs(2));
        cache.fill(cache.generation(), sid, &user(uid), expires);
        assert!(cache.session_user(sid, uid, now).is_some());
        assert!(
            cache.session_user(sid, Uuid::now_v7(), now).is_none(),
            "another user's session"
        );
        assert!(cache.session_user(sid, uid, expires).is_none(), "expired");
        cache.end_lease();
        assert!(cache.session_user(sid, uid, now).is_none());
    }

    #[test]
    fn invalidations_remove_entries_and_void_racing_fills() {
        let cache = AuthCache::new(Duration::from_secs(900));
        cache.renew_lease(Instant::now(), Duration::from_secs(60));
        let (sid, uid) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        let expires = now + chrono::Duration::days(1);
        cache.fill(cache.generation(), sid, &user(uid), expires);
        cache.invalidate_session(sid);
        assert!(cache.session_user(sid, uid, now).is_none());
        cache.fill(cache.generation(), sid, &user(uid), expires);
        cache.invalidate_user(uid);
        assert!(cache.session_user(sid, uid, now).is_none());
        // A fill that read the database before an invalidation is dropped.
        let before = cache.generation();
        cache.invalidate_session(Uuid::now_v7());
        cache.fill(before, sid, &user(uid), expires);
        assert!(cache.session_user(sid, uid, now).is_none());
    }

    #[test]
    fn verified_tokens_are_found_by_their_exact_text() {
        let cache = AuthCache::new(Duration::from_secs(900));
        assert!(cache.verified("a.b.c").is_none());
        let claims = AccessClaims {
            iss: "i".into(),
            aud: "a".into(),
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iat: 0,
            exp: 1,
            nbf: None,
            jti: Uuid::now_v7(),
            role: Role::User,
            tier: Tier::Basic,
            auth_time: Some(0),
            amr: vec!["pwd".into()],
            client_id: None,
            scope: None,
        };
        cache.remember_verified("a.b.c", Arc::new(claims));
        assert!(cache.verified("a.b.c").is_some());
        assert!(cache.verified("a.b.d").is_none());
    }
}
