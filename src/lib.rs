//! # borgsim — a deterministic Borg-style cluster scheduler simulator
//!
//! borgsim replays workloads of prod and non-prod jobs through a Borg-like
//! scheduler against a simulated cell of machines, and reports what happened:
//! utilisation by band, scheduling waits, evictions, and why tasks are still
//! pending.
//!
//! ## Concepts
//! - **Time** is integer microseconds ([`time::SimTime`]), as in Google's
//!   traces. Nothing in the core reads a wall clock.
//! - **Randomness** comes from one root seed split into named streams
//!   ([`rng::RngStreams`]), one per subsystem, so a run is a pure function of
//!   (scenario, seed) and adding draws in one place never shifts another.
//! - **The engine** ([`engine`]) orders events by (time, insertion sequence).
//! - **The cell** ([`cell`]) holds machines with integer capacities (milli-cores,
//!   MiB, GPU devices), their attributes and failure domains; its
//!   [`cell::state::CellState`] is the single place that changes task and
//!   machine state, asserting its invariants as it does.
//! - **The workload** ([`workload`]) is a time-ordered source of jobs; a job is
//!   a set of identical tasks with a priority, whose range is its band.
//! - **The scheduler** ([`sched`]) is a pipeline of small filter and score
//!   plugins (as in the Kubernetes scheduler framework) with Borg's policies and
//!   priority preemption. It is a functional core: it gets the cell state and
//!   `now`, and returns actions.
//! - **Traces** ([`trace`]): the public cluster traces (Google 2011 and 2019,
//!   Alibaba 2018 and openb, SWF, Azure) read as published, streamed, with
//!   units converted once at the reader; a replay is a workload feed too.
//! - **The driver** ([`sim`]) connects them; [`metrics`] writes the outputs,
//!   and [`report`] the pages people read: a run's `report.html`, and
//!   `borgsim compare`'s.
//!
//! ## Example
//! ```
//! use borgsim::scenario::Scenario;
//! let sc = Scenario::quickstart();
//! let mut sim = borgsim::build_simulation(&sc, false).unwrap();
//! sim.run(&mut |_| {}).unwrap();
//! let summary = borgsim::metrics::summary::Summary::of(&sc, &sim);
//! assert!(summary.tasks.scheduled > 0);
//! ```
//!
//! See `ARCHITECTURE.md` for the code map and the invariants.

// The guards (ARCHITECTURE.md, "Guards"): a function over clippy.toml's
// limit, and every exception to a lint, says why; the modules a run's
// results come from never iterate a hash map in a `for` loop (its order is
// the hasher's, not the data's). clippy.toml bans the wall clock, the
// environment and unseeded randomness.
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

#[deny(clippy::iter_over_hash_type)]
pub mod cell;
pub mod compact;
#[deny(clippy::iter_over_hash_type)]
pub mod engine;
pub mod error;
pub mod experiment;
#[deny(clippy::iter_over_hash_type)]
pub mod faults;
pub mod inflate;
#[cfg(feature = "agent")]
pub mod live;
pub mod metrics;
mod prefetch;
pub mod report;
pub mod rng;
pub mod scenario;
#[deny(clippy::iter_over_hash_type)]
pub mod sched;
#[deny(clippy::iter_over_hash_type)]
pub mod sim;
pub mod sweep;
pub mod time;
pub mod trace;
#[deny(clippy::iter_over_hash_type)]
pub mod workload;

pub mod testkit;

use cell::state::CellState;
use rng::RngStreams;
use scenario::Scenario;
use sim::{SimOptions, Simulation};
use workload::synthetic::SyntheticSource;

/// How to build a simulation beyond what its scenario says: the library's
/// options for experiments that change the cell under a fixed workload
/// (cell compaction, [`compact`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Run the independent invariant checker after every event (slow).
    pub check_invariants: bool,
    /// Simulate only these machines of the scenario's whole cell: ids of
    /// [`whole_cell`]'s machines, in any order, renumbered `0..k` in id
    /// order ([`cell::Cell::subset`]). `None`: every machine. The workload
    /// is the same whatever the machines: it is drawn from its own random
    /// stream (a trace: read as it is), never from the cell. A trace
    /// replay ignores the events of the machines left out.
    pub machines: Option<Vec<cell::MachineId>>,
    /// Admit every job of more tasks than this without its constraints
    /// and spread limits (see `cell::state::Relaxation`); `None`: none.
    pub relax_above_tasks: Option<u64>,
    /// How the workload is edited (a part of it, requests rounded or
    /// grown, tasks added: [`workload::edit`]); the identity by default.
    /// A trace replay is edited as it is read (`trace::edit`), and refuses
    /// only added tasks, which it has no workload to draw from.
    pub workload: workload::edit::WorkloadEdit,
}

/// Builds a ready-to-run simulation of a validated scenario: its synthetic
/// workload, or its `[trace]` replay (which fails if the trace cannot be
/// opened or its machine table read).
///
/// # Errors
/// The scenario's trace cannot be opened or read.
pub fn build_simulation(sc: &Scenario, check_invariants: bool) -> error::Result<Simulation> {
    build_simulation_with(
        sc,
        &BuildOptions {
            check_invariants,
            ..BuildOptions::default()
        },
    )
}

/// [`build_simulation`] with options: on some of the cell's machines, with
/// large jobs relaxed.
///
/// # Errors
/// The scenario's trace cannot be opened or read.
///
/// # Panics
/// If `opts.machines` names a machine the whole cell does not have.
pub fn build_simulation_with(sc: &Scenario, o: &BuildOptions) -> error::Result<Simulation> {
    let mut opts = SimOptions::new(sc.horizon(), sc.sched_config(), sc.seed);
    opts.pass_interval = sc.pass_interval();
    opts.sample_interval = sc.sample_interval();
    opts.steady_window = sc.steady_window();
    opts.availability_k = sc.metrics.availability_k;
    opts.check_invariants = o.check_invariants;
    let mut sim = match &sc.trace {
        Some(_) if o.workload.more_tasks_permille > 0 => {
            return Err(error::Error::Invalid {
                path: std::path::PathBuf::from(&sc.name),
                key: "trace".into(),
                message: "adding tasks (horizontal inflation) draws new tasks from a \
                          synthetic workload; a trace replay has only the trace's own"
                    .into(),
            })
        }
        Some(tc) => trace::replay::build(sc, tc, opts, o.machines.as_deref(), o.workload)?,
        None => {
            let (cell, classes) = sc.build();
            let cell = match &o.machines {
                Some(keep) => cell.subset(keep),
                None => cell,
            };
            let source = synthetic_source(sc, classes, o.workload);
            Simulation::new(CellState::new(cell), source, opts)
        }
    };
    if o.machines.is_none() {
        refuse_gpu_packing_without_gpus(sc, sim.state().cell())?;
    }
    if let Some(r) = &sc.reclamation {
        if let Some(settings) = r.settings() {
            sim.reclaim(settings, r.interval(), usage_source(sc)?);
        }
    }
    if let Some(n) = o.relax_above_tasks {
        sim.relax_jobs_above(n);
    }
    let mut first = Vec::new();
    if let Some(f) = faults::Faults::for_scenario(sc, sim.state().cell(), &mut first)? {
        sim.inject_faults(f, first);
        let limit = sc.faults.as_ref().and_then(|cfg| cfg.reschedule_limit);
        sim.set_reschedule_rule(limit.map(|l| sim::queued::RescheduleRule {
            tasks: l.tasks,
            window: time::SimDuration::from_secs(l.interval_s),
        }));
    }
    Ok(sim)
}

/// A GPU policy ([`sched::Policy::needs_gpus`]) on a cell without GPUs is
/// refused ([`sched::profile::needs_gpus_message`] says why): here for trace
/// cells and a `--policy` given after validation. Judged on the whole cell
/// (a compaction's smaller probes may hold no GPU machine and still be of
/// a GPU cell).
///
/// # Errors
/// [`error::Error::Invalid`] naming `scheduler.policy`.
fn refuse_gpu_packing_without_gpus(sc: &Scenario, cell: &cell::Cell) -> error::Result<()> {
    let gpus = cell.machines.iter().any(|m| m.capacity.gpus > 0);
    if !sc.scheduler.policy.needs_gpus() || gpus {
        return Ok(());
    }
    Err(error::Error::Invalid {
        path: std::path::PathBuf::from(&sc.name),
        key: "scheduler.policy".into(),
        message: sched::profile::needs_gpus_message(sc.scheduler.policy),
    })
}

/// The synthetic workload of a scenario (its job classes, `classes` of
/// [`Scenario::build`]) edited by `edit`: the jobs a simulation of it
/// submits, in order. What the capacity experiments also read to sum the
/// requests of an edited workload.
pub fn synthetic_source(
    sc: &Scenario,
    classes: Vec<workload::synthetic::JobClass>,
    edit: workload::edit::WorkloadEdit,
) -> Box<dyn workload::JobSource> {
    let streams = RngStreams::new(sc.seed);
    let source: Box<dyn workload::JobSource> =
        Box::new(SyntheticSource::new(classes, &streams, sc.horizon()));
    if edit.is_identity() {
        source
    } else {
        Box::new(workload::edit::Edited::new(source, edit, sc.seed))
    }
}

/// Where a scenario's tasks' usage comes from, with reclamation on or
/// measuring: the one place the usage source is chosen. A synthetic
/// workload's job classes follow their `usage` models, and classes without
/// one `[reclamation] usage` (absent: they use their whole limit). A trace
/// replay's tasks use their limit until the trace's usage rows say
/// otherwise (`Feed::take_usage` → `CellState::set_usage`), so the default
/// model is not applied to them.
///
/// # Errors
/// A usage model the scenario's validation would refuse, naming its key.
pub fn usage_source(sc: &Scenario) -> error::Result<Box<dyn workload::usage::UsageSource>> {
    let Some(r) = &sc.reclamation else {
        return Ok(Box::new(workload::usage::FixedShare {
            cpu_permille: 1000,
            mem_permille: 1000,
        }));
    };
    let default = if sc.trace.is_some() {
        None
    } else {
        r.usage.as_ref()
    };
    let source = workload::usage::SyntheticUsage::from_scenario(sc, default, r.interval())?;
    Ok(Box::new(source))
}

/// What a synthetic scenario's workload, edited by `edit`, submits over
/// its whole run: jobs, tasks, and the requests of every task summed
/// (milli-cores, MiB, GPU milli), without simulating it. `None` for a
/// trace replay.
pub fn workload_submitted(
    sc: &Scenario,
    edit: workload::edit::WorkloadEdit,
) -> Option<workload::edit::Submitted> {
    if sc.trace.is_some() {
        return None;
    }
    let mut source = synthetic_source(sc, sc.build().1, edit);
    let mut total = workload::edit::Submitted::default();
    while let Some((_, spec)) = source.next_job() {
        total.add(&spec);
    }
    Some(total)
}

/// The scenario's whole cell: its `[cell]`, or the machines of the trace it
/// replays (every machine the trace's machine tables mention). What
/// [`BuildOptions::machines`] picks machines from.
///
/// # Errors
/// The scenario's trace cannot be opened or its machine tables read.
pub fn whole_cell(sc: &Scenario) -> error::Result<cell::Cell> {
    match &sc.trace {
        Some(tc) => trace::replay::replay_cell(sc, tc),
        None => Ok(sc.build().0),
    }
}
