//! The system endpoints, outages, graceful shutdown and the command line.

mod cli;
mod cli_clients;
mod cli_providers;
mod cluster;
mod endpoints;
mod instances;
mod key_safety;
mod outage;
mod process;
mod shutdown;
