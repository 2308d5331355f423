//! What the tests share: the agent process and its API (`agent`), the one lane fixture
//! (`lane`: POS stand-in + simulated terminal + config + agent process), the API server over
//! a fake backend (`api`), engine fakes for the engine's ports (`engine`), the crash harness
//! (`crash`), and the events stream (`sse`).

pub mod agent;
pub mod api;
pub mod crash;
pub mod engine;
pub mod lane;
pub mod sse;
