//! A refused console form, as the page shows it: the API's refusal (`ApiError`) turned
//! into a message next to each named field, or one alert for the form when no field is
//! named, with the API's status. A field's message is in the request's language when the
//! rule has words (`FieldError::words`, a wrong password); otherwise it is the field's
//! label (in the request's language) followed by the API's own message. A refused second
//! factor, a conflict, a token that cannot be used, something not found and too many
//! attempts are said in the request's language (their `Why`). Errors that are no refusal
//! of the input (a 500) stay the API's answer.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::error::ApiError;
use crate::i18n::{Arg, message_key};
use crate::web::Pages;

/// What a page shows of a refused form.
#[derive(Debug, Default)]
pub struct Refusal {
    pub status: StatusCode,
    /// Field name to the sentence shown next to it.
    pub errors: BTreeMap<String, String>,
    /// A sentence for the whole form.
    pub alert: Option<String>,
    /// Seconds, for `Retry-After` (a lockout or the rate limit).
    pub retry_after: Option<u64>,
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

impl Refusal {
    /// One message for the whole form.
    pub fn alert(status: StatusCode, text: impl Into<String>) -> Refusal {
        Refusal {
            status,
            alert: Some(text.into()),
            ..Refusal::default()
        }
    }

    /// One message next to `field`.
    pub fn field(status: StatusCode, field: &str, text: impl Into<String>) -> Refusal {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), text.into());
        Refusal {
            status,
            errors,
            ..Refusal::default()
        }
    }

    /// How the page shows `error`, with `labels` naming the form's fields (each a field
    /// and the key of its label; a field the form does not have goes to the alert); `Err`
    /// with the error itself when it is not a refusal of the input (answered as the API
    /// answers it).
    pub fn of(
        error: ApiError,
        pages: &Pages,
        labels: &[(&str, &str)],
    ) -> Result<Refusal, ApiError> {
        let status = error.status();
        let label = |field: &str| {
            labels
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, key)| pages.tr(key))
        };
        let mut refusal = Refusal {
            status,
            ..Refusal::default()
        };
        // `message` is the API's words, `said` the same in the request's language.
        let put = |refusal: &mut Refusal, field: &str, message: String, said: Option<String>| {
            match label(field) {
                Some(label) => {
                    let text = said.unwrap_or_else(|| format!("{label} {message}."));
                    refusal
                        .errors
                        .entry(field.to_owned())
                        .and_modify(|t| {
                            t.push(' ');
                            t.push_str(&text);
                        })
                        .or_insert(text);
                }
                None => {
                    let text = said.unwrap_or_else(|| sentence(&format!("{field} {message}")));
                    refusal.alert = Some(match refusal.alert.take() {
                        Some(earlier) => format!("{earlier} {text}"),
                        None => text,
                    });
                }
            }
        };
        match error {
            ApiError::Validation(errors) => {
                for e in errors {
                    let said = pages.field_words(&e);
                    put(&mut refusal, &e.field, e.message, said);
                }
            }
            ApiError::WrongPassword(field) => {
                let said = label(field).map(|label| {
                    let key = message_key("console-account-not-correct");
                    pages.tr_with(key, &[("label", Arg::from(label))])
                });
                put(&mut refusal, field, "is not correct".into(), said)
            }
            ApiError::WrongFactor { field, why } => {
                let said = pages.why_words(&why);
                put(&mut refusal, field, why.message, Some(said))
            }
            ApiError::Conflict { why, field } => {
                let said = pages.why_words(&why);
                match field.filter(|field| label(field).is_some()) {
                    Some(field) => {
                        refusal.errors.insert(field, said);
                    }
                    None => refusal.alert = Some(said),
                }
            }
            ApiError::BadToken(why) | ApiError::NotFound(why) => {
                refusal.alert = Some(pages.why_words(&why))
            }
            ApiError::TooManyRequests {
                retry_after_secs,
                why,
            } => {
                refusal.alert = Some(pages.why_words(&why));
                refusal.retry_after = Some(retry_after_secs);
            }
            other => return Err(other),
        }
        Ok(refusal)
    }

    /// Adds what the refusal says to the page's headers (`Retry-After`).
    pub fn finish(&self, mut response: Response) -> Response {
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_follow_their_label_and_others_become_the_alert() {
        let pages = Pages::new("http://localhost").unwrap();
        let labels = [
            ("name", "achievements-label-name"),
            ("password", "security-label-your-password"),
        ];
        let error = ApiError::Validation(vec![
            crate::error::FieldError::new("name", "is required"),
            crate::error::FieldError::new("limit", "must be from 1 to 100"),
        ]);
        let refusal = Refusal::of(error, &pages, &labels).unwrap();
        assert_eq!(refusal.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refusal.errors["name"], "The name is required.");
        assert_eq!(
            refusal.alert.as_deref(),
            Some("Limit must be from 1 to 100.")
        );
        let why = crate::error::Why::new(
            "this user already has a badge with this name",
            message_key("conflict-badge-name"),
        );
        let conflict = ApiError::conflict("name", why);
        let refusal = Refusal::of(conflict, &pages, &labels).unwrap();
        assert_eq!(refusal.status, StatusCode::CONFLICT);
        assert_eq!(
            refusal.errors["name"],
            "This user already has a badge with this name."
        );
        let wrong = Refusal::of(ApiError::WrongPassword("password"), &pages, &labels).unwrap();
        assert_eq!(wrong.errors["password"], "Your password is not correct.");
        assert!(Refusal::of(ApiError::Internal(anyhow::anyhow!("x")), &pages, &[]).is_err());
    }
}
