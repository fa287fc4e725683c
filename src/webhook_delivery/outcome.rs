//! What an attempt's result means for its delivery: delivered, retried when, dead, or
//! the endpoint gone. Pure decisions, so they are tested without a network.

use chrono::{DateTime, Utc};
use rand::RngExt;

use super::transport::Attempt;

/// Jitter added to each wait of the schedule: up to this fraction of it.
const JITTER: f64 = 0.2;

/// The decision for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered {
        status: u16,
    },
    /// Try again at `at`.
    Retry {
        status: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
    /// The schedule is spent.
    Dead {
        status: Option<u16>,
        error: String,
    },
}

impl Verdict {
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Verdict::Delivered { status } => Some(*status),
            Verdict::Retry { status, .. } | Verdict::Dead { status, .. } => *status,
        }
    }
}

/// Decides attempt number `attempts` (1 for the first) that came to `attempt` at `now`:
/// `2xx` is delivered; anything else is retried after the schedule's next wait (with
/// up to 20 % jitter, `jitter` in 0..1 choosing how much), or after `Retry-After` on a
/// 429 or 503 when that is later; with the schedule spent it is dead.
pub fn judge(
    attempt: &Attempt,
    attempts: i32,
    schedule: &[chrono::Duration],
    now: DateTime<Utc>,
    jitter: f64,
) -> Verdict {
    let (status, error, asked) = match attempt {
        Attempt::Answered { status, .. } if (200..300).contains(status) => {
            return Verdict::Delivered { status: *status };
        }
        Attempt::Answered {
            status,
            retry_after,
        } => {
            let asked = match status {
                429 | 503 => retry_after
                    .as_deref()
                    .and_then(|text| retry_after_at(text, now)),
                _ => None,
            };
            (Some(*status), answer_error(*status), asked)
        }
        Attempt::Failed(why) => (None, why.clone(), None),
    };
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
    let Some(wait) = schedule.get(index) else {
        return Verdict::Dead { status, error };
    };
    let extra_ms = (wait.num_milliseconds() as f64 * JITTER * jitter.clamp(0.0, 1.0)) as i64;
    let mut at = now + *wait + chrono::Duration::milliseconds(extra_ms);
    if let Some(asked) = asked
        && asked > at
    {
        at = asked;
    }
    Verdict::Retry { status, error, at }
}

/// A random jitter fraction for [`judge`].
pub fn random_jitter() -> f64 {
    rand::rng().random_range(0.0..=1.0)
}

/// `last_error` for a non-2xx answer.
fn answer_error(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!("the endpoint answered {status} {reason}")
        .trim_end()
        .to_owned();
    if (300..400).contains(&status) {
        text.push_str(" (redirects are not followed)");
    }
    text
}

/// When a `Retry-After` value (delay seconds or an HTTP date) lets the sender try again.
fn retry_after_at(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u32>() {
        return Some(now + chrono::Duration::seconds(i64::from(seconds)));
    }
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Vec<chrono::Duration> {
        vec![chrono::Duration::seconds(5), chrono::Duration::minutes(5)]
    }

    fn answered(status: u16, retry_after: Option<&str>) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: retry_after.map(str::to_owned),
        }
    }

    #[test]
    fn failures_follow_the_schedule_with_at_most_a_fifth_more_then_die() {
        let now = Utc::now();
        let first = judge(&answered(500, None), 1, &schedule(), now, 0.0);
        assert!(
            matches!(first, Verdict::Retry { at, status: Some(500), .. } if at == now + chrono::Duration::seconds(5))
        );
        let second = judge(&Attempt::Failed("refused".into()), 2, &schedule(), now, 1.0);
        assert!(
            matches!(second, Verdict::Retry { at, status: None, .. } if at == now + chrono::Duration::minutes(6))
        );
        let third = judge(&answered(500, None), 3, &schedule(), now, 0.5);
        assert!(matches!(
            third,
            Verdict::Dead {
                status: Some(500),
                ..
            }
        ));
        assert_eq!(
            judge(&answered(204, None), 3, &schedule(), now, 0.5),
            Verdict::Delivered { status: 204 }
        );
    }

    #[test]
    fn retry_after_counts_on_429_and_503_when_longer_and_a_redirect_is_a_failure() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = judge(&answered(429, Some("120")), 1, &schedule(), now, 0.0);
        assert!(
            matches!(later, Verdict::Retry { at, .. } if at == now + chrono::Duration::minutes(2))
        );
        let dated = judge(
            &answered(503, Some("Thu, 01 Jan 2026 01:00:00 GMT")),
            1,
            &schedule(),
            now,
            0.0,
        );
        assert!(
            matches!(dated, Verdict::Retry { at, .. } if at == now + chrono::Duration::hours(1))
        );
        let shorter = judge(&answered(503, Some("1")), 1, &schedule(), now, 0.0);
        assert!(
            matches!(shorter, Verdict::Retry { at, .. } if at == now + chrono::Duration::seconds(5))
        );
        let ignored = judge(&answered(500, Some("120")), 1, &schedule(), now, 0.0);
        assert!(
            matches!(ignored, Verdict::Retry { at, .. } if at == now + chrono::Duration::seconds(5))
        );
        let Verdict::Retry { error, .. } = judge(&answered(302, None), 1, &schedule(), now, 0.0)
        else {
            panic!("a redirect is retried");
        };
        assert_eq!(
            error,
            "the endpoint answered 302 Found (redirects are not followed)"
        );
    }
}
