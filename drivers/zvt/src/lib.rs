//! ZVT protocol driver (placeholder; see issue 3).
