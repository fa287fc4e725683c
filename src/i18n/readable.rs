//! Values as people read them, for the console's templates:
//!
//! - `{{ at|when }}`: a time (RFC 3339, as the models serialise it) as
//!   `<time datetime="…">7 Dec 2026, 05:05 UTC</time>` followed by how long ago (or how
//!   soon) it is in words, "3 minutes ago", when the render context has `now` (the
//!   app's clock, so tests set it). The console's script shows the `<time>` in the
//!   browser's own time zone; without the script it stays in UTC and says so. A value
//!   that is no time is shown as it is.
//! - `{{ user_agent|device }}`: a User-Agent as "Chrome on Linux" (woothee's parser), a
//!   program that is no browser as "An application (curl)", none as "Unknown device".
//!
//! Both speak the render context's `lang`, like `t`.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Timelike, Utc};
use minijinja::value::Value;
use minijinja::{Environment, Error, State};

use super::{Arg, Language, Words, message_key};

/// How far from `now` a time is still said in words ("3 days ago"); beyond, the date
/// alone says it better.
const IN_WORDS_UP_TO_DAYS: i64 = 30;

const MONTHS: [&str; 12] = [
    message_key("month-1"),
    message_key("month-2"),
    message_key("month-3"),
    message_key("month-4"),
    message_key("month-5"),
    message_key("month-6"),
    message_key("month-7"),
    message_key("month-8"),
    message_key("month-9"),
    message_key("month-10"),
    message_key("month-11"),
    message_key("month-12"),
];

/// Adds the `when` and `device` filters to `env`.
pub fn add_to(env: &mut Environment<'static>, words: Arc<Words>) {
    let for_when = Arc::clone(&words);
    env.add_filter(
        "when",
        move |state: &State, at: Value| -> Result<Value, Error> {
            let at = match time_of(&at) {
                None => return Ok(Value::from("")),
                Some(Ok(at)) => at,
                // Not a time (a template's sample value, a date alone): shown as it is.
                Some(Err(text)) => return Ok(Value::from(text)),
            };
            let language = language_of(state);
            let now = state
                .lookup("now")
                .and_then(|now| now.as_str().and_then(parse));
            Ok(Value::from_safe_string(when(&for_when, language, at, now)))
        },
    );
    env.add_filter("device", move |state: &State, agent: Value| -> Value {
        let agent = agent.as_str().unwrap_or_default();
        Value::from(device(&words, language_of(state), agent))
    });
}

fn language_of(state: &State) -> Language {
    state
        .lookup("lang")
        .and_then(|lang| lang.as_str().and_then(Language::from_tag))
        .unwrap_or(Language::FALLBACK)
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// The time `value` holds; `None` for none (a time not set).
fn time_of(value: &Value) -> Option<Result<DateTime<Utc>, String>> {
    if value.is_none() || value.is_undefined() {
        return None;
    }
    Some(
        value
            .as_str()
            .and_then(parse)
            .ok_or_else(|| value.to_string()),
    )
}

/// The HTML of [`add_to`]'s `when`.
fn when(
    words: &Words,
    language: Language,
    at: DateTime<Utc>,
    now: Option<DateTime<Utc>>,
) -> String {
    let iso = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let time = format!(
        "<time datetime=\"{iso}\" data-local>{}</time>",
        exact(words, language, at)
    );
    match now.and_then(|now| in_words(words, language, at, now)) {
        Some(words) => format!(
            "<span class=\"when\">{time} <span class=\"ago\">{}</span></span>",
            escape(&words)
        ),
        None => format!("<span class=\"when\">{time}</span>"),
    }
}

/// Where the date and the time of day go in `time-exact` before they are put in as HTML
/// (characters of Unicode's private use area, which no message holds).
const DATE_GOES_HERE: &str = "\u{E000}";
const CLOCK_GOES_HERE: &str = "\u{E001}";

/// "7 Dec 2026, 05:05 UTC", as HTML: the time of day in a `<span class="clock">`, which
/// the stylesheet keeps on one line (a cell may still wrap between date and time).
fn exact(words: &Words, language: Language, at: DateTime<Utc>) -> String {
    let month = words.text(language, MONTHS[at.month0() as usize], &[]);
    let date = words.text(
        language,
        message_key("time-date"),
        &[
            ("day", Arg::from(i64::from(at.day()))),
            ("month", Arg::from(month)),
            ("year", Arg::Text(at.year().to_string())),
        ],
    );
    let clock = words.text(
        language,
        message_key("time-clock"),
        &[(
            "time",
            Arg::from(format!("{:02}:{:02}", at.hour(), at.minute())),
        )],
    );
    let exact = words.text(
        language,
        message_key("time-exact"),
        &[
            ("date", Arg::from(DATE_GOES_HERE)),
            ("clock", Arg::from(CLOCK_GOES_HERE)),
        ],
    );
    escape(&exact)
        .replace(DATE_GOES_HERE, &escape(&date))
        .replace(
            CLOCK_GOES_HERE,
            &format!("<span class=\"clock\">{}</span>", escape(&clock)),
        )
}

/// "3 minutes ago", "in 2 hours", "just now"; `None` when further than
/// [`IN_WORDS_UP_TO_DAYS`] away.
fn in_words(
    words: &Words,
    language: Language,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    let seconds = (now - at).num_seconds();
    let past = seconds >= 0;
    let seconds = seconds.unsigned_abs();
    let (key, count) = match seconds {
        0..60 => return Some(words.text(language, message_key("time-now"), &[])),
        60..3_600 => (
            if past {
                message_key("time-minutes-ago")
            } else {
                message_key("time-in-minutes")
            },
            seconds / 60,
        ),
        3_600..86_400 => (
            if past {
                message_key("time-hours-ago")
            } else {
                message_key("time-in-hours")
            },
            seconds / 3_600,
        ),
        _ => (
            if past {
                message_key("time-days-ago")
            } else {
                message_key("time-in-days")
            },
            seconds / 86_400,
        ),
    };
    if count > IN_WORDS_UP_TO_DAYS as u64 && seconds >= 86_400 {
        return None;
    }
    Some(words.text(language, key, &[("count", Arg::from(count))]))
}

/// woothee's name for a program that speaks HTTP without being a browser (curl, wget,
/// Java's client): the agent's own product name says more.
const HTTP_LIBRARY: &str = "HTTP Library";

/// The longest product name shown for a program (a longer one is no name people read).
const PROGRAM_NAME_UP_TO: usize = 40;

/// "Chrome on Linux", "Safari on iPhone"; "An application (curl)" for a program that is
/// no browser; or the words for an unknown device (no User-Agent at all, or one that
/// names nothing).
fn device(words: &Words, language: Language, agent: &str) -> String {
    let parsed = woothee::parser::Parser::new().parse(agent);
    let known = |name: &str| {
        !name.is_empty() && name != woothee::woothee::VALUE_UNKNOWN && name != HTTP_LIBRARY
    };
    match parsed {
        Some(ua) if known(ua.name) && known(ua.os) => words.text(
            language,
            message_key("device-browser-on-system"),
            &[
                ("browser", Arg::from(ua.name)),
                ("system", Arg::from(ua.os)),
            ],
        ),
        Some(ua) if known(ua.name) => ua.name.to_owned(),
        _ => match program_of(agent) {
            Some(name) => words.text(
                language,
                message_key("device-application"),
                &[("name", Arg::from(name))],
            ),
            None => words.text(language, message_key("device-unknown"), &[]),
        },
    }
}

/// The product name an agent that is no browser starts with (RFC 9110 §10.1.5,
/// `product/version`): "curl" of "curl/8.5.0", "python-requests" of
/// "python-requests/2.31.0". `None` when it starts with no such name, or with
/// "Mozilla" (a browser woothee does not know: its name is not that).
fn program_of(agent: &str) -> Option<&str> {
    let first = agent.split_whitespace().next()?;
    let (name, version) = first.split_once('/')?;
    let readable = (1..=PROGRAM_NAME_UP_TO).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.bytes().any(|b| b.is_ascii_alphabetic());
    (readable && !version.is_empty() && !name.eq_ignore_ascii_case("mozilla")).then_some(name)
}

fn escape(text: &str) -> String {
    super::html::escape_html(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, ctx: Value) -> String {
        let mut env = Environment::new();
        add_to(&mut env, Arc::new(Words::new("Acme")));
        env.render_str(template, ctx).unwrap()
    }

    #[test]
    fn times_read_as_a_date_and_how_long_ago() {
        let ctx = minijinja::context! {
            now => "2026-12-07T05:08:10Z",
            at => "2026-12-07T05:05:05.318525Z",
            soon => "2026-12-07T07:05:05Z",
            long_ago => "2025-01-02T03:04:05Z",
            never => Value::from(()),
            day => "2026-12-07",
        };
        let html = render(
            "{{ at|when }}|{{ soon|when }}|{{ long_ago|when }}|{{ never|when }}|{{ day|when }}",
            ctx.clone(),
        );
        assert_eq!(
            html,
            "<span class=\"when\"><time datetime=\"2026-12-07T05:05:05Z\" data-local>7 Dec 2026, <span class=\"clock\">05:05 UTC</span></time> <span class=\"ago\">3 minutes ago</span></span>|\
             <span class=\"when\"><time datetime=\"2026-12-07T07:05:05Z\" data-local>7 Dec 2026, <span class=\"clock\">07:05 UTC</span></time> <span class=\"ago\">in an hour</span></span>|\
             <span class=\"when\"><time datetime=\"2025-01-02T03:04:05Z\" data-local>2 Jan 2025, <span class=\"clock\">03:04 UTC</span></time></span>||2026-12-07"
        );
        let german = render("{{ at|when }}", minijinja::context! { lang => "de", ..ctx });
        assert!(
            german.contains(
                ">7. Dez. 2026, <span class=\"clock\">05:05 UTC</span></time> <span class=\"ago\">vor 3 Minuten</span>"
            ),
            "{german}"
        );
    }

    #[test]
    fn devices_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let ctx = minijinja::context! { chrome => chrome, curl => "curl/8.5.0", junk => "x" };
        assert_eq!(
            render("{{ chrome|device }}|{{ junk|device }}", ctx.clone()),
            "Chrome on Linux|Unknown device"
        );
        assert_eq!(
            render(
                "{{ chrome|device }}",
                minijinja::context! { lang => "de", ..ctx }
            ),
            "Chrome unter Linux"
        );
    }

    #[test]
    fn programs_and_missing_agents_read_as_words() {
        let ctx = minijinja::context! {
            curl => "curl/8.5.0",
            python => "python-requests/2.31.0",
            okhttp => "okhttp/4.12.0",
            empty => "",
            never => Value::from(()),
            odd => "Mozilla/5.0 (compatible; nothing known)",
            script => "<script>/1",
        };
        let template = "{{ curl|device }}|{{ python|device }}|{{ okhttp|device }}|\
                        {{ empty|device }}|{{ never|device }}|{{ odd|device }}|{{ script|device }}";
        assert_eq!(
            render(template, ctx.clone()),
            "An application (curl)|An application (python-requests)|\
             An application (okhttp)|Unknown device|Unknown device|Unknown device|Unknown device"
        );
        assert_eq!(
            render(template, minijinja::context! { lang => "de", ..ctx }),
            "Eine Anwendung (curl)|Eine Anwendung (python-requests)|\
             Eine Anwendung (okhttp)|Unbekanntes Gerät|Unbekanntes Gerät|Unbekanntes Gerät|\
             Unbekanntes Gerät"
        );
    }
}
