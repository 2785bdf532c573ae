//! The live master (`borgsim master`): the simulator's scheduler placing
//! real tasks on the machines whose agents register with it.
//!
//! (Full documentation below, with the API, the store and the restart
//! rules.)

pub mod core;
mod exits;
mod machines;
pub mod names;
pub mod records;
mod view;

pub use self::core::{Command, CoreConfig, CoreError, LiveCell, Now};
pub use exits::LaunchFailure;
