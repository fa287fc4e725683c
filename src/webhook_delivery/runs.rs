//! Runs: a subject's deliveries to an ordered endpoint sent one after another from one
//! claim. Only a subject's head may be claimed there, so without runs each of its
//! events cost a claim, two reads and a pass of its own after the one before was
//! recorded; an account signing in many times a second paid that for every sign-in.
//! A head that [leads](Claimed::leads) takes the pending deliveries right after it
//! ([`queue::claim_followers`], grouped by [`queue::assemble`]); they are sent in
//! sequence order in the head's slot, and the first that is not delivered (or an
//! endpoint disabled meanwhile) ends the run: the rest are given back untried
//! ([`queue::release`]), so they wait behind it as they would have.

use std::sync::Arc;

use super::endpoints::Endpoint;
use super::queue::{self, Claimed};
use super::worker::Worker;
use crate::events::feed::CloudEvent;

impl Worker {
    /// Sends `run` (each delivery with its event, `None` when no longer kept) to
    /// `endpoint`, one after another, until one is not delivered; gives back the rest.
    pub(super) async fn send_run(
        &self,
        run: Vec<(Claimed, Option<CloudEvent>)>,
        endpoint: Option<Arc<Endpoint>>,
    ) {
        let mut run = run.into_iter();
        while let Some((claimed, event)) = run.next() {
            match self.deliver(&claimed, endpoint.clone(), event).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    webhook_id = %claimed.webhook_id,
                    event_id = %claimed.event_id,
                    error = %e,
                    "recording a webhook delivery failed; it is taken again when its lease ends"
                ),
            }
            let untried: Vec<Claimed> = run.map(|(claimed, _)| claimed).collect();
            self.give_back(&untried).await;
            return;
        }
    }

    /// Gives back claimed deliveries that are not tried (their lease would keep them,
    /// with an attempt counted, until it ends). Nothing when stopping: the leases end.
    pub(super) async fn give_back(&self, untried: &[Claimed]) {
        if untried.is_empty() || self.stop.is_cancelled() {
            return;
        }
        if let Err(e) = queue::release(&self.db, self.owner, untried).await {
            tracing::warn!(error = %e, "giving back untried webhook deliveries failed; their leases end");
        }
    }
}
