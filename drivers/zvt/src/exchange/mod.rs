//! The sans-IO exchange state machine (being written; see issue 3 step 4).
