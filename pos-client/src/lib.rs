//! POS cloud client (placeholder; see issue 2).
