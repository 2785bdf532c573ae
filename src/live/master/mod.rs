//! The live master (`borgsim master`): the simulator's scheduler placing
//! real tasks on the machines whose agents register with it.
//!
//! A policy studied in simulation is only worth watching live if the live
//! cell runs the *same* code: [`core::LiveCell`] owns a
//! [`crate::cell::state::CellState`] and a [`crate::sched::Scheduler`]
//! built as `build_simulation` builds them, and is a functional core (time
//! as an argument, no I/O). Around it, an imperative shell
//! ([`server`], [`api`]) reads the clock, keeps the [`store`], serves the
//! HTTP API and talks to the agents.
//!
//! - `core` — the live cell: its state, passes, placements (module doc:
//!   how machines registering one by one become a simulator cell);
//! - `rebuild` — the cell state rebuilt from the records (a new machine,
//!   a restart);
//! - `jobs` — submissions admitted, jobs killed;
//! - `machines` — registration, heartbeats, silence, drains (Borg's
//!   rules for lost machines);
//! - `exits` — how tasks end: exit reports, launch outcomes, restarts;
//! - `view` — the wire view of jobs, tasks and machines;
//! - `names` — Borg names, `index.job.user.cell`, and name checks;
//! - `records`, `store` — what is remembered, and the SQLite store (its
//!   schema is in `store`'s doc);
//! - `server`, `api` — the lock, the loop, the requests, the routes.
//!
//! # API
//! The routes and bodies are [`crate::live::proto`]'s table; the status
//! codes are [`api`]'s. Every route needs the cell's bearer token.
//!
//! # At the door
//! - **One master per store.** The store is locked (`flock`, exclusive)
//!   while the master runs; a second master on it refuses to start
//!   (exit 2, "store X is in use by another master"), as does a store of
//!   another cell, a file that is not a store, or a path in a missing
//!   directory.
//! - **One agent per machine name.** A registration for a machine whose
//!   agent is live (registered with this process, heard within 3
//!   heartbeat intervals) from another address is refused, 409, and
//!   logged; the same address, or a machine silent, down or not yet
//!   registered since a restart, is taken as before (`machines`' doc).
//! - **What the master admits, an agent can start.** A submission's
//!   command and environment pass the agent's own check
//!   ([`crate::live::spec_check`]): a program named, no NUL byte, names
//!   without `=`, none starting with `BORGSIM_`. A list's refusals name
//!   the job by its place, from 0, and name (``jobs[1] (`b`): …``).
//! - **Waiting tasks.** A pending or lost task shows no machine; its
//!   reason counts drained machines as `drained` (the scheduler counts
//!   them as `machine_down`), and a job no machine could ever run says
//!   what it asks against what the machines have, or the constraint none
//!   meets.
//! - **Plain HTTP.** The API has no TLS: listening beyond loopback, the
//!   master warns that the token crosses the network in the clear.
//!
//! # Write-ahead
//! Every change is committed to the store before anything leaves the
//! master: a placement before its launch request, a submission before
//! its 201, a kill before the kill requests, a registration before its
//! reply.
//!
//! # Restart and reconciliation
//! A restarted master reads its store and rebuilds the cell: machines in
//! registration order (the same ids), jobs in submission order, tasks
//! that were starting or running put back on their machines, ended ones
//! ended. Every machine is `unreachable` until its agent registers again
//! (an agent's heartbeat is answered `known: false` until then); the
//! grace period is counted from the master's start. On registration the
//! master reconciles: tasks the store has on that machine that the agent
//! runs are running (re-attached, not restarted); tasks the store has
//! there that the agent does not run are lost and scheduled again; tasks
//! the agent runs that the store does not place there are told to stop —
//! the only kill a restart makes. A master that dies never kills a task.

pub mod api;
pub mod core;
mod exits;
mod jobs;
mod machines;
pub mod names;
mod rebuild;
pub mod records;
pub mod server;
mod spec;
pub mod store;
mod view;

pub use self::core::{Command, CoreConfig, CoreError, LiveCell, Now};
pub use exits::LaunchFailure;

use crate::live::auth::Token;
use std::net::SocketAddr;
use std::sync::Arc;

/// How to run a master.
pub struct MasterOptions {
    pub core: CoreConfig,
    /// The SQLite store, opened (and so locked: [`store::Store::open`])
    /// for this cell.
    pub store: store::Store,
    pub listen: SocketAddr,
    pub token: Token,
}

/// A master ready to serve: store read, cell rebuilt, socket bound.
pub struct Master {
    listener: tokio::net::TcpListener,
    shared: Arc<server::Shared>,
    token: Token,
    heartbeat: std::time::Duration,
    /// Kills of tasks the store could not put back, sent once serving.
    kills: Vec<Command>,
}

impl Master {
    /// Reads the store, rebuilds the cell from it, binds the socket.
    ///
    /// # Errors
    /// The store cannot be read, or the address cannot be bound.
    pub async fn start(opts: MasterOptions) -> Result<Master, String> {
        let store = opts.store;
        let store_path = store.path().to_path_buf();
        let records = store.load().map_err(|e| e.to_string())?;
        let (jobs, machines) = (records.jobs.len(), records.machines.len());
        let heartbeat = std::time::Duration::from_micros(opts.core.heartbeat.as_us().max(1000));
        let zero = Now {
            sim: crate::time::SimTime::ZERO,
            wall_ms: 0,
        };
        let (cell, kills) = LiveCell::restore(opts.core, records, zero);
        let shared = server::Shared::new(cell, store, opts.token.clone())?;
        // What the rebuild changed (tasks it could not put back) is kept.
        shared.apply(|_, _| ()).map_err(|e| e.0)?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
        eprintln!(
            "store {}: {machines} machine(s), {jobs} job(s) recovered",
            store_path.display()
        );
        Ok(Master {
            listener,
            shared,
            token: opts.token,
            heartbeat,
            kills,
        })
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// The socket has no local address (closed).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves the API and runs the scheduling loop until `shutdown`
    /// completes. Tasks keep running on their agents.
    ///
    /// # Errors
    /// The server fails (the socket breaks).
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let app = api::router(Arc::clone(&self.shared), self.token);
        let sched = tokio::spawn(server::schedule_loop(
            Arc::clone(&self.shared),
            self.heartbeat,
        ));
        self.shared.dispatch(self.kills);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| format!("the server failed: {e}"));
        sched.abort();
        served
    }
}
