//! One run of a scenario into its directory: what `run` and `sweep` share,
//! so a sweep's run is a run like any other — the same simulation, the
//! same outputs, the same `run.json` — and a change to what a run writes
//! reaches both. It lives in the command line because it reads the wall
//! clock (for `run.json`, which is not deterministic by design).

use borgsim::error::Error;
use borgsim::metrics::report::{CpuClock, RunDir, RunInfo};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sim::Simulation;
use borgsim::time::SimTime;
use std::time::Instant;

/// How to run a scenario.
pub(crate) struct Execution<'a> {
    pub sc: &'a Scenario,
    /// Check every invariant after every event (slow).
    pub check_invariants: bool,
    /// Draw the plots (PNGs, and report.html's SVGs).
    pub plots: bool,
    /// Whose CPU time run.json reports.
    pub cpu: CpuClock,
}

/// A finished run whose outputs are written into its [`RunDir`], not yet
/// published.
pub(crate) struct Executed {
    pub sim: Simulation,
    pub summary: Summary,
    pub wall_s: f64,
}

/// Builds the simulation, streams its series into `dir`, lets `attach`
/// add observers (`run`'s event log and snapshots), runs it (calling
/// `progress` with the simulated time now and then), and writes
/// summary.json, run.json, pending.csv and the page into `dir`. The
/// caller publishes `dir` ([`RunDir::publish`]) after adding files of its
/// own.
///
/// # Errors
/// The scenario's (a trace that cannot be read) and the outputs' errors.
#[expect(
    clippy::disallowed_methods,
    reason = "the run's wall time, for run.json, which is not deterministic by design"
)]
pub(crate) fn execute(
    ex: &Execution,
    dir: &RunDir,
    attach: impl FnOnce(&mut Simulation),
    progress: &mut dyn FnMut(SimTime),
) -> Result<Executed, Error> {
    let started = Instant::now();
    let cpu_started = ex.cpu.now();
    let mut sim = borgsim::build_simulation(ex.sc, ex.check_invariants)?;
    dir.stream(&mut sim)?;
    attach(&mut sim);
    sim.run(progress)?;
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_time_s = ex.cpu.since(cpu_started);
    let summary = Summary::of(ex.sc, &sim);
    let run = RunInfo::completed(wall_s, cpu_time_s, sim.events_processed());
    dir.write_outputs(ex.sc, &sim, &summary, &run, ex.plots)?;
    Ok(Executed {
        sim,
        summary,
        wall_s,
    })
}
