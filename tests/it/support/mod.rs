//! What the tests share: the agent process, its config and its API (`agent`), the API server
//! over a fake backend (`api`), engine fakes for the engine's ports (`engine`), the crash
//! harness (`crash`).

pub mod agent;
pub mod api;
pub mod crash;
pub mod engine;
