//! The pos-client integration tests: one test binary (`cargo test -p pos-client --test it`),
//! each file in this directory a module of it; `support` holds the shared fixtures (a wiremock
//! identity provider, a manual clock, a raw TCP server, the real oidc-provider). A new test
//! file goes here with a `mod` line below.

mod support;

mod against_stand_in;
mod install_checks;
mod oidc;
mod terminal_payments;
mod wire;
