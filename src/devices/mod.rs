//! devices (placeholder until its issue lands).
