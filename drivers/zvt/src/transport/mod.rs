//! Placeholder for the tokio transport (written by the transport helper).
