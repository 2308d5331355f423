//! Simulated lane hardware and POS cloud, for technicians and tests.
//!
//! Each simulator is a library first (tests and `lane-agent demo` start them in-process)
//! and a `hardware-sim` subcommand second. They reuse the driver crates' codecs with the
//! roles swapped and never depend on the agent.

pub mod pos;
pub mod reader;
pub mod tap;
pub mod terminal;
pub mod zvtlog;
