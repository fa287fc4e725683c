//! Mail: delivery through a test SMTP server, password reset, verification, email change, and the pages the links open.

mod delivery;
mod email_change;
pub mod link_pages;
mod reset;
pub mod smtp_sink;
pub mod support;
mod verification;
