//! The live cell: the simulator's scheduler placing real tasks on real
//! machines (feature `agent`).
//!
//! A policy studied in simulation can be watched running, and a
//! simulation checked against reality, only if both run the *same*
//! scheduling code. So the live master holds a [`crate::cell::state::CellState`]
//! and a [`crate::sched::Scheduler`] exactly as the simulator's driver
//! does, and gives them time as an argument (the wall clock, read here,
//! turned into a [`crate::time::SimTime`]) — as HyperQueue's tako keeps
//! its scheduler free of I/O. Everything with a clock, a socket or a
//! process lives in this module; the core stays deterministic.
//!
//! - `proto` — the wire types of every route (master, agent).
//! - `spec_check` — the one check of a task's command and environment
//!   that the master (submissions) and the agent (launches) both make.
//! - `auth` — bearer tokens, compared in constant time; no route without.
//! - `client` — the master's API from the outside (`submit`, `status`, …).
//! - `page` — the cell's page, in the run report's look.
//! - `agent` — `borgsim agent`, the Borglet: runs tasks as processes in
//!   sandboxes, under limits, and reports to the master.
//! - `master` — `borgsim master`: the live cell's core, its store, its
//!   HTTP API and the loop that schedules and talks to the agents.

pub mod agent;
pub mod auth;
pub mod client;
pub mod master;
pub mod page;
pub mod proto;
pub mod spec_check;
