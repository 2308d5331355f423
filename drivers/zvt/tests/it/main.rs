//! The lane-zvt integration tests: one test binary (`cargo test -p lane-zvt --test it`),
//! each file in this directory a module of it. A new test file goes here with a `mod` line
//! below.

mod commands;
mod currency_refund;
mod exchange;
mod fixtures;
mod framing;
mod properties;
mod recovery;
mod transport_timers;
