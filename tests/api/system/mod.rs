//! The system endpoints, outages, graceful shutdown and the command line.

mod cli;
mod endpoints;
mod outage;
mod shutdown;
