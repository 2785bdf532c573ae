//! The live cell's test binary (feature `agent`): real `borgsim`
//! processes on loopback, random ports, every wait bounded, every process
//! stopped and reaped when its guard drops. Run with
//! `cargo test --features agent --test live`.

// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

mod agent;
mod agent_guard;
mod cell;
mod common;
mod fake_master;
mod master;
mod master_common;
mod master_intake;
