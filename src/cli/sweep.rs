//! `borgsim sweep SWEEP.toml [--out DIR] [--threads N] [--shard I/N]` and
//! `borgsim merge DIR... --out DIR`: the command line of `borgsim::sweep`.
//! Here are the parts that are not deterministic by nature — threads, the
//! wall clock, the terminal — kept apart from what a sweep writes.
//!
//! A sweep's runs go to a rayon pool of `--threads` threads (default: all
//! cores). Each run is a normal run (`execute.rs`, as `run` does it),
//! written into `DIR/runs/<id>/` whole; runs.csv and the page are made
//! after the last run, from the runs' directories in index order, so they
//! do not depend on the threads or on the order runs finished in.
//!
//! Memory: every run is checked against `--max-memory` (and the other
//! limits) as `run` checks it, and one beyond is a failed run. Runs at
//! once share the machine, so the pool has no more threads than the limit
//! holds runs of the largest estimate among those to run: the estimate ×
//! threads fits, and fewer threads change no result.

use super::sweep_run;
use super::{check_estimate, say, LimitArgs};
use borgsim::error::Error;
use borgsim::metrics::report::RunDir;
use borgsim::report::Plots;
use borgsim::scenario::{Limits, Scenario};
use borgsim::sweep::{self, dir, resolve, Command, Outputs, Run, Shard, State, Sweep};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The sweep file: a base scenario, parameters with their values, seeds.
    pub sweep: PathBuf,
    /// Output directory [default: reports/sweep-<name>/]. Running a sweep
    /// again into it skips the runs already done.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs at once [default: every core; fewer when --max-memory cannot
    /// hold that many of the largest run].
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Run only shard I of N: the runs whose index is I modulo N (0/4 is
    /// the first of 4). Merge the shards' directories with borgsim merge.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// No progress bar and no summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The directories of a sweep's shards (what borgsim sweep --shard
    /// wrote), every shard once.
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged sweep goes, whole: the directory one unsharded
    /// sweep would have written.
    #[arg(long)]
    pub out: PathBuf,
    /// Say nothing on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A run to do: its scenario's text, and the scenario or why it cannot run.
struct Todo<'a> {
    run: &'a Run,
    text: String,
    scenario: Result<Scenario, Error>,
    memory_bytes: u64,
}

/// Runs the sweep; returns the exit code: 0, 1 when a run failed (after
/// every other run), 2 for bad input.
pub fn main(args: SweepArgs) -> i32 {
    match sweep_main(&args) {
        Ok(0) => 0,
        Ok(failed) => {
            eprintln!("error: {failed} of the sweep's runs failed: see the status and error columns of runs.csv");
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the sweep's wall time, said on the terminal only"
)]
fn sweep_main(args: &SweepArgs) -> Result<usize, Error> {
    let started = Instant::now();
    let sweep = Sweep::load(&args.sweep)?;
    let shard = args.shard.unwrap_or(Shard::ALL);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("sweep-{}", sweep.spec.name)));
    dir::check_out(&out)?;
    sweep::check_resumes(&out, &sweep, shard)?;
    dir::remove_stale_temporaries(&out)?;
    let limits = args.limits.resolve();
    let (todo, reused) = plan(&sweep, shard, &out, &limits)?;
    sweep::write_start(&out, &sweep, shard, reused)?;
    let threads = threads(args, &todo, limits.memory_bytes);
    let bar = progress_bar(todo.len() as u64, args.quiet);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {threads} threads: {e}")))?;
    let how = How {
        outputs: sweep.spec.outputs,
        command: &sweep.spec.command,
    };
    let recorded: Vec<Result<bool, Error>> = pool.install(|| {
        todo.par_iter()
            .map(|t| {
                let r = one(t, &out, &how);
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    // A run whose failure could not even be recorded stops the sweep.
    for r in recorded {
        r?;
    }
    let totals = sweep::write_summary(&out, &sweep, shard, Plots::wanted(true))?;
    if !args.quiet {
        let part = if shard.is_all() {
            String::new()
        } else {
            format!(" (shard {shard})")
        };
        say(&format!(
            "sweep {}{part}: {} runs, {} done, {} failed ({} run now, {reused} done by an earlier sweep)\n\
             runs.csv and report.html in {}/ ({:.2} s wall{})",
            sweep.spec.name,
            totals.ok + totals.failed,
            totals.ok,
            totals.failed,
            todo.len(),
            out.display(),
            started.elapsed().as_secs_f64(),
            match (todo.len(), threads) {
                (0, _) => String::new(),
                (_, 1) => ", 1 thread".into(),
                (_, n) => format!(", {n} threads"),
            }
        ));
        note_strays(&out, &sweep);
    }
    Ok(totals.failed)
}

/// The runs of `shard` still to do in `out`, each with its scenario (or
/// why it cannot run: its checks, or the limits), and how many are done.
fn plan<'a>(
    sweep: &'a Sweep,
    shard: Shard,
    out: &Path,
    limits: &Limits,
) -> Result<(Vec<Todo<'a>>, usize), Error> {
    let mut todo = Vec::new();
    let mut reused = 0;
    for run in sweep.runs_of(shard) {
        let text = sweep.scenario_text(run)?;
        if dir::state(&dir::run_dir(out, run), &text, &sweep.spec.command) == State::Done {
            reused += 1;
            continue;
        }
        let origin = resolve::origin(run);
        let scenario = resolve::parse(&text, &sweep.base, run)
            .and_then(|sc| check_estimate(&sc, &origin, limits).map(|est| (sc, est.memory_bytes)));
        let (scenario, memory_bytes) = match scenario {
            Ok((sc, m)) => (Ok(sc), m),
            Err(e) => (Err(e), 0),
        };
        todo.push(Todo {
            run,
            text,
            scenario,
            memory_bytes,
        });
    }
    Ok((todo, reused))
}

/// The pool's size: `--threads` or every core, no more than the runs to
/// do, and no more than `--max-memory` holds runs of the largest estimate.
fn threads(args: &SweepArgs, todo: &[Todo], memory_limit: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let wanted = args.threads.map_or(cores, NonZeroUsize::get);
    let largest = todo
        .iter()
        .filter(|t| t.scenario.is_ok())
        .map(|t| t.memory_bytes)
        .max()
        .unwrap_or(0);
    let fit = usize::try_from(memory_limit / largest.max(1))
        .unwrap_or(usize::MAX)
        .max(1);
    if fit < wanted.min(todo.len()) && !args.quiet {
        eprintln!(
            "note: running {fit} at a time, not {}: the largest run is estimated at {} and the limit is {} (--max-memory)",
            wanted.min(todo.len()),
            bytesize::ByteSize(largest),
            bytesize::ByteSize(memory_limit)
        );
    }
    wanted.min(fit).min(todo.len()).max(1)
}

/// What every run of the sweep does, and keeps.
struct How<'a> {
    outputs: Outputs,
    command: &'a Command,
}

/// Does one run into `out/runs/<id>/`, or records why it failed. Returns
/// whether it was done; an error only when not even the failure could be
/// written.
fn one(t: &Todo, out: &Path, how: &How) -> Result<bool, Error> {
    let run_dir = dir::run_dir(out, t.run);
    let failed = |message: String| dir::write_failure(&run_dir, &t.text, &message).map(|()| false);
    let sc = match &t.scenario {
        Ok(sc) => sc,
        Err(e) => return failed(e.to_string()),
    };
    dir::clear(&run_dir)?;
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        perform(sc, t.run, &run_dir, &t.text, how)
    }));
    match attempt {
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) => failed(e.to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("");
            failed(format!(
                "internal error (a bug): the run panicked: {what}; reproduce with: borgsim {} {}",
                how.command.name(),
                run_dir.join(dir::SCENARIO).display()
            ))
        }
    }
}

/// One run, as its command does it on the command line, with the
/// scenario it ran beside its outputs.
fn perform(sc: &Scenario, run: &Run, run_dir: &Path, text: &str, how: &How) -> Result<(), Error> {
    let dir = RunDir::create(run_dir)?;
    let plots = how.outputs == Outputs::All;
    let write = |path: PathBuf, result: std::io::Result<()>| {
        result.map_err(|source| Error::Write { path, source })
    };
    // Before the run, so that the run's page lists it with its outputs.
    let scenario = dir.path().join(dir::SCENARIO);
    write(scenario.clone(), std::fs::write(&scenario, text))?;
    let origin = resolve::origin(run);
    sweep_run::execute(how.command, sc, &origin, &dir, plots)?;
    if how.outputs == Outputs::Summary {
        let keep = [how.command.result_file(), "run.json", dir::SCENARIO];
        let entries = std::fs::read_dir(dir.path()).map_err(|source| Error::Write {
            path: dir.path().to_path_buf(),
            source,
        })?;
        for entry in entries.flatten() {
            if !keep.iter().any(|k| entry.file_name() == **k) {
                write(entry.path(), std::fs::remove_file(entry.path()))?;
            }
        }
    }
    dir.publish()
}

/// A progress bar over runs, on stderr, only on a terminal.
fn progress_bar(runs: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::new(runs).with_style(
        ProgressStyle::with_template(
            "{spinner} runs {pos}/{len} [{bar:40}] {elapsed} elapsed, about {eta} left",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    )
}

/// Says which directories under `out/runs/` are of no run of the sweep
/// (a value since removed from the sweep file): left as they are.
fn note_strays(out: &Path, sweep: &Sweep) {
    let Ok(entries) = std::fs::read_dir(out.join(dir::RUNS)) else {
        return;
    };
    let mut strays: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".tmp.") && !sweep.runs.iter().any(|r| r.id == *n))
        .collect();
    if strays.is_empty() {
        return;
    }
    strays.sort();
    let more = if strays.len() > 5 { ", …" } else { "" };
    eprintln!(
        "note: {} of the directories under {}/ belong to no run of this sweep (a value since \
         removed from the sweep file?), left as they are: {}{more}",
        strays.len(),
        out.join(dir::RUNS).display(),
        strays[..strays.len().min(5)].join(", ")
    );
}

/// `borgsim merge`: the shards' directories into one.
pub fn merge_main(args: MergeArgs) -> Result<(), Error> {
    let (sweep, totals) = sweep::merge::merge(&args.dirs, &args.out, Plots::wanted(true))?;
    if !args.quiet {
        say(&format!(
            "merged {} of sweep {}: {} runs, {} done, {} failed; runs.csv and report.html in {}/",
            if args.dirs.len() == 1 {
                "1 directory".to_string()
            } else {
                format!("{} directories", args.dirs.len())
            },
            sweep.spec.name,
            sweep.runs.len(),
            totals.ok,
            totals.failed,
            args.out.display()
        ));
        if totals.failed > 0 {
            eprintln!(
                "warning: {} of the sweep's runs failed: see the status and error columns of runs.csv",
                totals.failed
            );
        }
    }
    Ok(())
}
