//! The system endpoints, outages, graceful shutdown and the command line.

mod cancelled_begin;
mod cli;
mod cli_clients;
mod cli_providers;
mod cluster;
mod endpoints;
mod features;
mod first_admin_link;
mod import;
mod instances;
mod key_safety;
mod metrics_apart;
mod outage;
pub mod process;
mod settings;
mod shutdown;
