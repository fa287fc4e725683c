//! Keyset pagination: `?limit=` (default 20, at most 100) and `?cursor=`, answered as
//! `{"items": [...], "next_cursor": ...}`. A cursor is the opaque encoding of the last
//! row's sort key, so pages neither repeat nor skip rows while others are inserted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: how many rows, after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K> {
    pub limit: u32,
    pub after: Option<K>,
}

impl PageQuery {
    /// Validates limit and cursor, where the cursor encodes a row id.
    pub fn by_id(&self) -> Result<Cursor<Uuid>, ApiError> {
        self.decode(|bytes| Uuid::from_slice(bytes).ok())
    }

    /// Validates limit and cursor with a caller-chosen key encoding.
    pub fn decode<K>(&self, parse: impl FnOnce(&[u8]) -> Option<K>) -> Result<Cursor<K>, ApiError> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => match URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| parse(&b)) {
                Some(key) => Some(key),
                None => {
                    errors.push(FieldError::new(
                        "cursor",
                        "is not a cursor this endpoint returned",
                    ));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Cursor { limit, after })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row only
    /// tells that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Vec<u8>) -> Page<T> {
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}
