//! The lane-agent integration tests: one test binary (`cargo test -p lane-agent --test it`),
//! each former `tests/*.rs` file a module of it, the shared fixtures in `support`. A new test
//! file goes in this directory with a `mod` line below; `layout` fails the run if a test file
//! is left where Cargo would not build it.
//!
//! Everything here shares one process and runs on parallel threads: no test sets environment
//! variables or other process-wide state (a test that needs a global logger scopes it to its
//! own thread); the agent runs as a child process with its own environment and notify socket.

mod support;

mod api_errors;
mod api_events;
mod api_giftcard_code;
mod api_logs;
mod api_openapi;
mod api_outbox;
mod api_sales;
mod card_reservation;
mod cashier_display;
mod cli_history_report;
mod cli_run;
mod cli_status_outbox;
mod cli_store_lock;
mod cli_usage;
mod config_check;
mod config_validation;
mod crash_kill;
mod demo_summary;
mod devices_hotplug;
mod devices_pci;
mod devices_udev;
mod doctor_checks;
mod doctor_schema;
mod engine_exactly_once;
mod engine_pos_sim;
mod forward_window;
mod giftcard_load;
mod giftcard_replace_standin;
mod layout;
mod mirror_report;
mod mirror_standin;
mod mirror_sync;
mod money_movements;
mod outbox_cli_resolve;
mod pos_terminal;
mod returns_refunds;
mod run_lookups;
mod run_sale;
mod sale_skus;
mod secret_bank_card;
mod secret_sentinel;
mod store_code_key;
mod store_journal_epoch;
mod store_open;
mod store_outbox_model;
mod store_secure_delete;
mod systemd_security;
mod systemd_watchdog_restart;
mod terminal_day;
mod watchdog_forwarder;
