//! Numbering a request's events as soon as they have committed, instead of at the
//! sequencer's next poll (a second later: all of the time from commit to delivery).
//!
//! [`log::append`](super::log::append) marks the request it runs in; the HTTP layer
//! runs every request through [`watching`], which says whether the request appended any
//! event. By then the handler has committed, so the sequencer, woken, finds them.
//! Events appended outside a request (background work, the command line) and those of
//! other instances are found by the poll, as before.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Notify;

/// The least time between two numberings of one sequencer after it numbered some.
///
/// Each numbering starts a chain of work beside the requests: the numbering's
/// transaction, the webhook sender's fan-out transaction and claim, the NATS
/// publisher's lease, read and cursor. Those cost the same however many events the
/// chain carries (with Roster on a core of its own, a sign-in cost 1.1-1.6 ms more CPU
/// with a webhook and NATS when every event went alone: `bench/README.md`). Spacing the
/// numberings bounds the chains to 20 a second under load, whatever the request rate;
/// what stays per event is its delivery (the request and its record) and its share of
/// the publish. A change that comes when no numbering ran in the last 50 ms is numbered
/// at once, so a quiet service delivers in milliseconds and a busy one within 50 ms more.
pub const SPACING: std::time::Duration = std::time::Duration::from_millis(50);

tokio::task_local! {
    static APPENDED: Cell<bool>;
}

/// Marks the current request (if this runs in one) as having appended an event.
pub(super) fn note_appended() {
    let _ = APPENDED.try_with(|appended| appended.set(true));
}

/// Runs `work` (a request) and says whether it appended an event.
pub async fn watching<F: Future>(work: F) -> (F::Output, bool) {
    APPENDED
        .scope(Cell::new(false), async {
            let output = work.await;
            (output, APPENDED.with(Cell::get))
        })
        .await
}

/// Wakes the sequencer: the events a request appended have committed. One wake-up
/// stands for any number of requests until the sequencer takes it.
#[derive(Debug, Default, Clone)]
pub struct Appended(Arc<Notify>);

impl Appended {
    pub fn new() -> Appended {
        Appended::default()
    }

    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for the next [`Self::notify`] (at once when one came since the last wait).
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_says_whether_it_appended() {
        let ((), appended) = watching(async { note_appended() }).await;
        assert!(appended);
        let ((), appended) = watching(async {}).await;
        assert!(!appended);
        note_appended(); // Outside a request: nothing to mark, and no panic.
    }
}
