//! Set-ups the tests share: a started POS stand-in and a raw HTTP client (`pos`), a driver
//! and a simulated terminal on a real TCP socket or pty (`terminal`).

pub mod pos;
pub mod terminal;
