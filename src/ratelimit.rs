//! The per-client budget of the authentication endpoints: one budget per client address
//! (IPv6 clients by their /64, which is what one subscriber gets),
//! `RATE_LIMIT_AUTH_PER_MINUTE` at once, refilled evenly over a minute (GCRA, as
//! implemented by `governor`). The login endpoints spend it in the HTTP middleware
//! (`http::ratelimit`), password confirmations behind a bearer token in `auth::guard`;
//! beyond it: 429 problem+json with `Retry-After`.
//!
//! Counters live in memory, unless `REDIS_URL` is set: then the same GCRA runs as a Lua
//! script in Redis, so every instance spends from one shared budget. Time comes from the
//! application clock in both cases.
//!
//! **When Redis cannot answer** (down, unreachable, slower than [`REDIS_TIMEOUT`]), the
//! instance falls back to its in-memory counters for [`REDIS_RETRY_AFTER`] before it asks
//! Redis again, and logs a warning and counts `roster_rate_limit_backend_errors_total`.
//! This is deliberate: failing open (no limit) would hand attackers an unlimited budget
//! whenever Redis is down, and failing closed would turn a Redis outage into a login
//! outage. Per-instance limits keep the abuse bounded (by the number of instances) while
//! logins keep working; the per-identifier lockout lives in the database regardless.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use governor::{Quota, RateLimiter};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, Why};
use crate::i18n::message_key;

/// How long one Redis round trip (or connection attempt) may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After Redis failed, how long the in-memory counters are used before trying it again.
pub const REDIS_RETRY_AFTER: Duration = Duration::from_secs(2);

/// GCRA in Redis, in microseconds. KEYS[1]: the client's key; ARGV: now, emission
/// interval, burst. Answers 0 when allowed, else the microseconds to wait.
const GCRA_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local allow_at = tat + interval - burst * interval
if allow_at > now then return allow_at - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
";

/// The application clock as `governor` wants it: time since the Unix epoch.
#[derive(Clone)]
struct AppClock(Arc<dyn Clock>);

impl governor::clock::Clock for AppClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_micros(self.0.now().timestamp_micros().max(0) as u64)
    }
}

type LocalLimiter = RateLimiter<
    IpAddr,
    governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
    AppClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

/// The authentication budget of every client address.
pub struct AuthRateLimiter {
    quota: Quota,
    clock: AppClock,
    local: LocalLimiter,
    redis: Option<RedisBudget>,
}

struct RedisBudget {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// Set when Redis failed: until then the in-memory counters decide.
    skip_until: Mutex<Option<Instant>>,
}

impl AuthRateLimiter {
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AuthRateLimiter> {
        let per_minute = NonZeroU32::new(config.http.rate_limit_auth_per_minute)
            .ok_or_else(|| anyhow::anyhow!("RATE_LIMIT_AUTH_PER_MINUTE must be at least 1"))?;
        let quota = Quota::per_minute(per_minute);
        let clock = AppClock(clock);
        let redis = match &config.http.redis_url {
            None => None,
            Some(url) => Some(RedisBudget {
                client: redis::Client::open(url.expose())
                    .map_err(|e| anyhow::anyhow!("REDIS_URL is not usable: {e}"))?,
                prefix: format!("{}ratelimit:auth:", config.http.redis_key_prefix),
                script: redis::Script::new(GCRA_SCRIPT),
                connection: tokio::sync::Mutex::new(None),
                skip_until: Mutex::new(None),
            }),
        };
        Ok(AuthRateLimiter {
            quota,
            local: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
            redis,
        })
    }

    /// `shared` when the counters live in Redis, else `memory`.
    pub fn store(&self) -> &'static str {
        if self.redis.is_some() {
            "shared"
        } else {
            "memory"
        }
    }

    /// Spends one request of `ip`'s budget, if there is any left.
    pub async fn check(&self, ip: IpAddr) -> Decision {
        let key = client_key(ip);
        if let Some(redis) = &self.redis
            && let Some(decision) = redis.check(key, self.quota, &self.clock).await
        {
            return decision;
        }
        match self.local.check_key(&key) {
            Ok(()) => Decision::Allowed,
            Err(not_until) => Decision::Limited {
                retry_after: not_until.wait_time_from(governor::clock::Clock::now(&self.clock)),
            },
        }
    }

    /// Forgets in-memory counters that have refilled completely.
    fn forget_refilled(&self) {
        self.local.retain_recent();
        self.local.shrink_to_fit();
    }

    /// Prunes the in-memory counters every minute for as long as the limiter exists.
    pub fn spawn_upkeep(self: &Arc<Self>) {
        let weak: Weak<AuthRateLimiter> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(60));
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                limiter.forget_refilled();
            }
        });
    }
}

impl RedisBudget {
    /// The shared decision, or `None` when Redis cannot give one now.
    async fn check(&self, key: IpAddr, quota: Quota, clock: &AppClock) -> Option<Decision> {
        if self
            .skip_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        let now = governor::clock::Clock::now(clock).as_micros() as u64;
        let interval = quota.replenish_interval().as_micros().max(1) as u64;
        let burst = u64::from(quota.burst_size().get());
        let outcome = tokio::time::timeout(REDIS_TIMEOUT, async {
            let mut connection = self.connection().await?;
            self.script
                .key(format!("{}{key}", self.prefix))
                .arg(now)
                .arg(interval)
                .arg(burst)
                .invoke_async::<u64>(&mut connection)
                .await
        })
        .await;
        match outcome {
            Ok(Ok(0)) => Some(Decision::Allowed),
            Ok(Ok(wait)) => Some(Decision::Limited {
                retry_after: Duration::from_micros(wait),
            }),
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(_) => self.failed("no answer in time"),
        }
    }

    /// The shared connection, opened on first use (bounded by the caller's timeout; the
    /// manager reconnects by itself afterwards).
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(REDIS_RETRY_AFTER);
        let connection = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    fn failed(&self, why: &str) -> Option<Decision> {
        *self.skip_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + REDIS_RETRY_AFTER);
        metrics::counter!("roster_rate_limit_backend_errors_total").increment(1);
        tracing::warn!(
            error = why,
            retry_in_seconds = REDIS_RETRY_AFTER.as_secs(),
            "Redis did not answer the rate-limit check: this instance limits with its own in-memory counters meanwhile"
        );
        None
    }
}

/// The budget a client address spends from: IPv4 addresses alone, IPv6 by their /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            IpAddr::V6(Ipv6Addr::new(
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            ))
        }
        v4 => v4,
    }
}

/// The 429 of a client over its authentication budget (`Retry-After` rounded up).
pub fn too_many_requests(retry_after: Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: whole_seconds(retry_after),
        why: Why::new(
            "too many requests to the authentication endpoints from this address; try again later",
            message_key("too-many-requests"),
        ),
    }
}

/// `retry_after` in whole seconds, rounded up (what `Retry-After` says).
pub fn whole_seconds(retry_after: Duration) -> u64 {
    retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_slash_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_key("::ffff:198.51.100.4".parse().unwrap()),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
    }
}
