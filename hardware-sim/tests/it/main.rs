//! The hardware-sim integration tests: one test binary (`cargo test -p hardware-sim --test
//! it`), each file in this directory a module of it; `support` holds the shared set-ups (a
//! started POS stand-in, a driver wired to a simulated terminal). A new test file goes here
//! with a `mod` line below.

mod support;

mod pos_cli;
mod pos_faults;
mod pos_giftcards;
mod pos_oidc;
mod pos_paging;
mod pos_purchases;
mod pos_schema;
mod reader_sim;
mod terminal_bytes;
mod terminal_cli;
mod terminal_commands;
mod terminal_faults;
mod terminal_redaction;
mod terminal_refund_currency;
mod terminal_tap;
mod terminal_tshark;
