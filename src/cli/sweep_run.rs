//! One run of a sweep into its directory, whatever the sweep's command: a
//! simulation as `run` does it (`execute.rs`), or a compaction, an
//! experiment or an inflation as `compact`, `experiment` and `inflate` do
//! them (their `*_into` functions), so a sweep's run writes what the
//! command writes, through the same code.
//!
//! Threads: the sweep's pool runs its runs at once, so each capacity
//! command here runs its trials one after another on the run's own thread
//! (`threads: 1`): the sweep's `--threads` are all the threads at work,
//! and `--max-memory`'s cap (that many of the largest run's estimate)
//! holds, each run simulating one probe at a time. Results do not depend
//! on threads, so they are the command line's, byte for byte.

use super::compact::{compact_into, refuse_trace_placement, Caller};
use super::execute::{execute as simulate, Execution};
use super::experiment::experiment_into;
use super::inflate::{default_options, inflate_into};
use borgsim::compact::Options;
use borgsim::error::Error;
use borgsim::experiment;
use borgsim::metrics::report::RunDir;
use borgsim::report::Plots;
use borgsim::scenario::Scenario;
use borgsim::sweep::Command;
use std::path::Path;

/// Does `command` on `sc` (whose file `origin` names in errors), writing
/// its outputs into `dir` (plots drawn when `plots`); the caller
/// publishes `dir`. CPU times in `run.json` are the run's thread's.
///
/// # Errors
/// The command's: a scenario it refuses (a trace-placement replay for a
/// compaction), a workload that does not fit its whole cell, a probe's
/// error, the outputs' errors.
pub(super) fn execute(
    command: &Command,
    sc: &Scenario,
    origin: &Path,
    dir: &RunDir,
    plots: bool,
) -> Result<(), Error> {
    let drawn = Plots::wanted(plots);
    match command {
        Command::Run => {
            let ex = Execution {
                sc,
                check_invariants: false,
                plots,
                cpu: Caller::Sweep.cpu(),
            };
            simulate(&ex, dir, |_| {}, &mut |_| {}).map(drop)
        }
        Command::Compact { search } => {
            refuse_trace_placement(origin, sc)?;
            let o = Options {
                search: *search,
                threads: 1,
            };
            compact_into(dir, sc, origin, &o, drawn, Caller::Sweep, &|_| {}).map(drop)
        }
        Command::Experiment {
            experiment: e,
            search,
            parts,
            policies,
        } => {
            refuse_trace_placement(origin, sc)?;
            let policies = if policies.is_empty() {
                experiment::default_policies(&borgsim::whole_cell(sc)?)
            } else {
                policies.clone()
            };
            let o = experiment::Options {
                experiment: *e,
                compact: Options {
                    search: *search,
                    threads: 1,
                },
                parts: parts.clone(),
                policies,
            };
            experiment_into(dir, sc, origin, &o, drawn, Caller::Sweep, &|_| {}).map(drop)
        }
        Command::Inflate { mode } => {
            let o = default_options(*mode);
            inflate_into(dir, sc, origin, &o, drawn, Caller::Sweep, &|_| {}).map(drop)
        }
    }
}
