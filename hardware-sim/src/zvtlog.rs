//! ZVT messages in words for the live consoles and the tap: the driver's own
//! [`zvt::describe`], shared with the agent's `lane-agent terminal trace`.

pub use zvt::describe::{Direction, describe};
