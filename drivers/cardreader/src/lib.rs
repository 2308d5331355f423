//! Card reader parsing (placeholder; see issue 4).
