//! Parameter sweeps: one base scenario, lists of values for any of its
//! keys, and seeds, expanded into runs (`borgsim sweep`). The questions a
//! simulator is for are rarely one run's — which policy packs better over
//! a range of loads, what preemption costs across seeds — and a sweep
//! answers them with runs that are each a normal run, in a directory of
//! their own, plus a table (`runs.csv`) and a page (`report.html`) of all.
//!
//! The pieces, in the order a sweep uses them: [`spec`] reads the sweep
//! file; [`expand`] turns it into runs in their one order, with stable ids
//! and shards; [`resolve`] makes each run's scenario by setting its values
//! in the base scenario's TOML ([`path`]) and parsing the result as any
//! scenario; [`dir`] keeps the sweep's directory, which tells a run already
//! done from one to do; [`table`] writes `runs.csv` and [`stats`] the
//! page's means (`report::sweep` draws it); [`merge`] puts shards run on
//! several machines back together.
//!
//! Running the runs — threads, the wall clock, a progress bar — is the
//! command line's (`cli/sweep.rs`). Nothing here depends on how many
//! threads ran the runs, in which order they finished, or which machine ran
//! which shard: `runs.csv` and the page are made from the runs'
//! directories, in index order, after the runs.

pub mod command;
pub mod dir;
pub mod expand;
pub mod merge;
pub mod path;
pub mod resolve;
pub mod spec;
pub mod stats;
pub mod table;

pub use command::Command;
pub use dir::{Outcome, State, SweepInfo};
pub use expand::{Run, Shard};
pub use resolve::BaseScenario;
pub use spec::{Outputs, Spec};

use crate::error::{Error, Result};
use crate::report::Plots;
use std::path::{Path, PathBuf};

/// A sweep ready to run: its file, its base scenario and its runs.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep file's text, as read (saved as `sweep.toml`).
    pub text: String,
    pub spec: Spec,
    pub base: BaseScenario,
    /// Every run, in index order.
    pub runs: Vec<Run>,
    /// Names the sweep file in errors.
    pub origin: PathBuf,
}

impl Sweep {
    /// Reads the sweep file at `path` and its base scenario, expands the
    /// runs and checks every parameter against the base scenario.
    ///
    /// # Errors
    /// Bad input (exit code 2) naming the file and key: see [`Spec::parse`],
    /// [`BaseScenario::load`], [`expand::expand`] and
    /// [`resolve::check_parameters`].
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let spec = Spec::parse(&text, path)?;
        let base = BaseScenario::load(&spec, path)?;
        resolve::check_parameters(&spec, &base, path)?;
        let runs = expand::expand(&spec, path)?;
        Ok(Sweep {
            text,
            spec,
            base,
            runs,
            origin: path.to_path_buf(),
        })
    }

    /// The sweep a directory was made by, from its saved `sweep.toml` and
    /// `base.toml` (for `merge`, which runs nothing).
    ///
    /// # Errors
    /// As [`Sweep::load`], naming the saved files.
    pub fn saved(dir: &Path, text: String, base_text: String) -> Result<Sweep> {
        let origin = dir.join(dir::SWEEP_TOML);
        let spec = Spec::parse(&text, &origin)?;
        let base_origin = dir.join(dir::BASE_TOML);
        let base = BaseScenario::new(
            base_text,
            &base_origin,
            crate::scenario::Base::Dir(dir.to_path_buf()),
        )?;
        let runs = expand::expand(&spec, &origin)?;
        Ok(Sweep {
            text,
            spec,
            base,
            runs,
            origin,
        })
    }

    /// The text of `run`'s scenario (see [`resolve::scenario_text`]).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the parameter's key, for a path the base
    /// scenario lacks ([`Sweep::load`] has refused such a sweep before).
    pub fn scenario_text(&self, run: &Run) -> Result<String> {
        resolve::scenario_text(&self.spec, &self.base, run).map_err(|message| Error::Invalid {
            path: self.origin.clone(),
            key: "parameters".into(),
            message,
        })
    }

    /// The runs of `shard`, in index order.
    pub fn runs_of(&self, shard: Shard) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(move |r| shard.contains(r.index))
    }
}

/// Checks that `out`, when it already holds a sweep (`sweep.json`), holds
/// this one, whose runs a resume keeps: the same sweep name, base and
/// parameter keys (values may change: their runs are done again), and the
/// same shard. Another sweep's directory is never taken over.
///
/// # Errors
/// [`Error::Invalid`] naming `--out` and what differs; the saved
/// `sweep.json`'s errors.
pub fn check_resumes(out: &Path, sweep: &Sweep, shard: Shard) -> Result<()> {
    if !out.join(dir::SWEEP_JSON).is_file() {
        return Ok(());
    }
    let info = dir::read_info(out)?;
    let keys = |spec: &Spec| -> Vec<String> {
        spec.parameters.iter().map(|p| p.key.to_string()).collect()
    };
    let mut differs = Vec::new();
    if info.sweep != sweep.spec.name {
        differs.push(format!(
            "its sweep is named {:?}, not {:?}",
            info.sweep, sweep.spec.name
        ));
    }
    if info.base != sweep.spec.base {
        differs.push(format!(
            "its base is {:?}, not {:?}",
            info.base, sweep.spec.base
        ));
    }
    let saved = out.join(dir::SWEEP_TOML);
    let saved_keys = std::fs::read_to_string(&saved)
        .ok()
        .and_then(|t| Spec::parse(&t, &saved).ok())
        .map(|s| keys(&s));
    if let Some(saved_keys) = saved_keys.filter(|k| *k != keys(&sweep.spec)) {
        differs.push(format!(
            "its grid's parameters are [{}], not [{}]",
            saved_keys.join(", "),
            keys(&sweep.spec).join(", ")
        ));
    }
    if info.shard() != shard {
        let what = |s: Shard| {
            if s.is_all() {
                "the whole sweep".to_string()
            } else {
                format!("shard {s}")
            }
        };
        differs.push(format!(
            "it holds {}, not {} (--shard)",
            what(info.shard()),
            what(shard)
        ));
    }
    if differs.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid {
        path: out.to_path_buf(),
        key: "--out".into(),
        message: format!(
            "it is another sweep's directory ({}): a sweep resumes only its own; choose another \
             --out, or remove this one",
            differs.join("; ")
        ),
    })
}

/// Runs done and failed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub ok: usize,
    pub failed: usize,
}

/// Writes the sweep's files on top of its runs' directories in `dir`:
/// `sweep.toml`, `base.toml`, `sweep.json`, `runs.csv` and `report.html`,
/// for the runs of `shard`, each of which must be done or failed. Returns
/// how many are which.
///
/// # Errors
/// [`Error::Internal`] for a run neither done nor failed; errors reading a
/// run's `summary.json`, writing the files, or drawing the page.
pub fn write_summary(dir: &Path, sweep: &Sweep, shard: Shard, plots: Plots) -> Result<Totals> {
    let mut outcomes = Vec::new();
    for run in sweep.runs_of(shard) {
        let run_dir = dir::run_dir(dir, run);
        let command = &sweep.spec.command;
        let state = dir::state(&run_dir, &sweep.scenario_text(run)?, command);
        outcomes.push((run, dir::outcome(&run_dir, state, command)?));
    }
    let rows: Vec<(&Run, &Outcome)> = outcomes.iter().map(|(r, o)| (*r, o)).collect();
    let totals = Totals {
        ok: rows
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Done(_)))
            .count(),
        failed: rows
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .count(),
    };
    let info = info(sweep, shard, totals);
    let page_path = dir.join(dir::REPORT);
    let page = crate::report::sweep::page(sweep, &rows, shard, plots, &page_path)?;
    dir::write_files(
        dir,
        &[
            (dir::SWEEP_TOML, sweep.text.clone().into_bytes()),
            (dir::BASE_TOML, sweep.base.text.clone().into_bytes()),
            (dir::RUNS_CSV, table::csv_bytes(&sweep.spec, &rows)),
            (dir::REPORT, page.render().into_bytes()),
            (dir::SWEEP_JSON, dir::info_bytes(&info)),
        ],
    )?;
    Ok(totals)
}

/// `sweep.json` for `shard` of `sweep` with `totals`.
pub fn info(sweep: &Sweep, shard: Shard, totals: Totals) -> SweepInfo {
    SweepInfo {
        sweep: sweep.spec.name.clone(),
        base: sweep.spec.base.clone(),
        shard: (!shard.is_all()).then_some(dir::ShardInfo {
            index: shard.index,
            count: shard.count,
        }),
        runs_total: sweep.runs.len(),
        runs_here: sweep.runs_of(shard).count(),
        ok: totals.ok,
        failed: totals.failed,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Marks `dir` as this sweep's before any run: `sweep.toml`, `base.toml`
/// and a `sweep.json` counting the runs already done, so that a sweep
/// stopped before its end leaves a directory it (or `merge`) recognises.
///
/// # Errors
/// [`Error::Write`] naming the file.
pub fn write_start(dir: &Path, sweep: &Sweep, shard: Shard, done: usize) -> Result<()> {
    let info = info(
        sweep,
        shard,
        Totals {
            ok: done,
            failed: 0,
        },
    );
    dir::write_files(
        dir,
        &[
            (dir::SWEEP_TOML, sweep.text.clone().into_bytes()),
            (dir::BASE_TOML, sweep.base.text.clone().into_bytes()),
            (dir::SWEEP_JSON, dir::info_bytes(&info)),
        ],
    )
}
