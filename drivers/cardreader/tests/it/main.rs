//! The lane-cardreader integration tests: one test binary (`cargo test -p lane-cardreader
//! --test it`), each file in this directory a module of it. A new test file goes here with a
//! `mod` line below.

mod classify;
mod properties;
mod track;
mod wedge;
