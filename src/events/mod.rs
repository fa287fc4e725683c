//! The event log: what other services learn about accounts, sessions and clients.
//!
//! Every change that writes an audit entry also writes its events, in the same
//! transaction (`crate::audit::record` is the one caller of [`log::append`]), so there is
//! no change without its event and no event without its change. Events are CloudEvents
//! 1.0 ([`feed::CloudEvent`]); [`types`] is the catalog of their types.
//!
//! Ordering: a change's transaction inserts its events unnumbered; the sequencer
//! ([`log::sequence_pending`]) numbers committed ones in its own transaction, which locks
//! the one-row counter. `sequence` follows the order in which events became visible, so
//! a reader polling `after=N` cannot miss an event that commits late, and no change's
//! transaction waits on a lock for its events. `subjectsequence` counts the events of
//! one subject (1, 2, 3...). A request's events are numbered as soon as it has
//! committed ([`wakeup`]); others at the sequencer's poll.
//!
//! This room sits below the audit trail and imports no feature: reading a page
//! ([`feed`]), matching types ([`filter`]) and purging old events ([`log::purge_before`])
//! are plain functions over the database, and the HTTP API is elsewhere.

pub mod feed;
pub mod filter;
pub mod log;
pub mod types;
pub mod wakeup;

pub use log::NewEvent;
