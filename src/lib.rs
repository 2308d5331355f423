//! The lane agent: wiring, engine, store, device supervision, local API and CLI.
//!
//! See the README's architecture section for how the modules fit together.

pub mod agent;
pub mod api;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod devices;
pub mod doctor;
pub mod domain;
pub mod engine;
#[cfg(feature = "fault-injection")]
pub mod fault_injection;
pub mod metrics;
pub mod mirror;
pub mod service;
pub mod store;
pub mod telemetry;
mod zeroize_guard;
