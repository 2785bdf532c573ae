//! `borgsim master`: the live master's command line — flags, the token,
//! the scenario's scheduler, the runtime, the one `listening on` line.
//!
//! The token comes from `--token-file F` or the environment variable
//! `BORGSIM_TOKEN`, never from a flag (other users can read a process's
//! arguments). Bad input (no token, a short one, a bad scenario, a flag
//! out of range) exits with code 2 before anything is opened; so does a
//! `--store` that cannot be this cell's store — in a missing directory,
//! not a database, another cell's, or in use by another master — with
//! its path in the message. A `--listen` address that is not loopback
//! gets a warning: the token crosses the network in plain HTTP.

use borgsim::live::master::store::Store;
use borgsim::live::master::{CoreConfig, Master, MasterOptions};
use borgsim::scenario::Scenario;
use borgsim::sched::{Policy, SchedConfig};
use borgsim::time::SimDuration;
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MasterArgs {
    /// Address to listen on (loopback unless told otherwise; port 0 picks
    /// a free one, printed on the `listening on` line).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// The SQLite store: jobs, tasks, machines (created if missing).
    #[arg(long, default_value = "borgsim-master.db")]
    pub store: PathBuf,
    /// The cell's name, the last part of every task's name.
    #[arg(long, default_value = "cell")]
    pub cell: String,
    /// A scenario whose `[scheduler]` section and seed configure the
    /// pipeline [default: the hybrid policy with preemption, seed 1].
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// A file holding the cell's bearer token [default: $BORGSIM_TOKEN].
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// How often agents send heartbeats, ms (silent for 3: unreachable).
    #[arg(long, default_value_t = 1000)]
    pub heartbeat_ms: u64,
    /// Silent this long, ms, a machine is down and its tasks are lost.
    #[arg(long, default_value_t = 10_000)]
    pub grace_ms: u64,
    /// Lost tasks rescheduled per second.
    #[arg(long, default_value_t = 100)]
    pub reschedule_per_s: u32,
    /// Most machines in the cell.
    #[arg(long, default_value_t = 4096)]
    pub max_machines: usize,
}

/// Runs the master until interrupted; returns the exit code.
pub fn main(args: MasterArgs) -> i32 {
    // Not dumpable: its /proc files (its environment, with the token) are root's.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let opts = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if !opts.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, not loopback: the token and every request cross \
             the network in plain HTTP (no TLS)",
            opts.listen
        );
    }
    super::agent::run_live(None, serve(opts))
}

async fn serve(opts: MasterOptions) -> Result<(), String> {
    let master = Master::start(opts).await?;
    let addr = master.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let shutdown = async {
        stopped().await;
        eprintln!("stopping (tasks keep running on their agents)");
    };
    master.run(shutdown).await
}

/// Completes at SIGINT or SIGTERM (or at once if neither can be watched).
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The master's options from its flags, checked.
fn options(a: MasterArgs) -> Result<MasterOptions, String> {
    let token = super::agent::read_token(a.token_file.as_deref())?;
    borgsim::live::master::names::check_name("--cell", &a.cell)?;
    let (sched, seed) = match &a.scenario {
        Some(p) => {
            let sc = Scenario::load(p).map_err(|e| e.to_string())?;
            (sc.sched_config(), sc.seed)
        }
        None => (SchedConfig::new(Policy::Hybrid, true), 1),
    };
    if a.heartbeat_ms < 10 {
        return Err("--heartbeat-ms must be at least 10".into());
    }
    if a.grace_ms <= 3 * a.heartbeat_ms {
        return Err("--grace-ms must be longer than 3 heartbeats (--heartbeat-ms)".into());
    }
    if a.reschedule_per_s == 0 || a.max_machines == 0 {
        return Err("--reschedule-per-s and --max-machines must be at least 1".into());
    }
    let mut core = CoreConfig::new(&a.cell, sched, seed);
    core.heartbeat = SimDuration::from_millis(a.heartbeat_ms);
    core.grace = SimDuration::from_millis(a.grace_ms);
    core.reschedule_per_s = a.reschedule_per_s;
    core.max_machines = a.max_machines;
    let store = Store::open(&a.store, &a.cell).map_err(|e| e.to_string())?;
    Ok(MasterOptions {
        core,
        store,
        listen: a.listen,
        token,
    })
}
