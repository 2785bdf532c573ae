//! Writing a run's outputs. A run's directory appears whole or not at all:
//! every file is written into a fresh temporary directory beside the
//! target, which is then renamed into place (an earlier run's directory is
//! moved aside first and removed), so no file of an earlier run survives
//! (an old PNG after `--no-plots`), an interrupted run leaves the previous
//! outputs as they were, and two runs given the same directory never mix:
//! the last to finish wins, whole. Single files elsewhere (`bench --json`)
//! go through [`write_atomic`].
//!
//! The directory is made before the run ([`RunDir::create`]), because the
//! outputs with a row per sample — `timeseries.csv`, `gpu_alloc.csv` —
//! stream into it as the run goes ([`RunDir::stream`]); the rest is
//! written at the end ([`RunDir::finish`]) — the data, then the page
//! drawn from it (`crate::report::run`) — and a run that fails leaves
//! nothing (the temporary directory is removed). An interrupted command
//! removes it too: the directory is listed in [`super::staging`] while it
//! lives, and the command line's signal handler removes what is listed.

use super::stream::CsvStream;
use super::summary::Summary;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::sim::Simulation;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a run measured that is *not* deterministic; kept apart from
/// `summary.json` so that file stays byte-identical.
#[derive(Debug, Serialize)]
pub struct RunInfo {
    /// Always true in a written `run.json`: the run finished and every
    /// output of the directory is its own.
    pub completed: bool,
    pub version: &'static str,
    pub wall_time_s: f64,
    /// CPU time (user and system, every thread) over the same span as
    /// `wall_time_s`; `None` where the platform has no process CPU clock.
    pub cpu_time_s: Option<f64>,
    pub events_processed: u64,
    pub events_per_s: f64,
    pub peak_rss_mib: Option<f64>,
}

impl RunInfo {
    /// A finished run's (or compaction's, experiment's, inflation's)
    /// `run.json`: `wall_s` and `cpu_time_s` over the same span, in which
    /// `events` events ran; peak memory read now.
    pub fn completed(wall_s: f64, cpu_time_s: Option<f64>, events: u64) -> RunInfo {
        RunInfo {
            completed: true,
            version: env!("CARGO_PKG_VERSION"),
            wall_time_s: (wall_s * 1e6).round() / 1e6,
            cpu_time_s,
            events_processed: events,
            events_per_s: (events as f64 / wall_s.max(1e-9)).round(),
            peak_rss_mib: peak_rss_mib(),
        }
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// The CPU time this process has used so far, in seconds (unix).
pub fn cpu_time_s() -> Option<f64> {
    CpuClock::Process.now()
}

/// The CPU time used since `start` (a [`cpu_time_s`] reading), rounded to
/// the microsecond like wall times.
pub fn cpu_time_since_s(start: Option<f64>) -> Option<f64> {
    CpuClock::Process.since(start)
}

/// Whose CPU time `run.json` reports: the process's (`run`, one run per
/// process), or the calling thread's (`sweep`, where runs share the
/// process, one per thread at a time).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CpuClock {
    Process,
    Thread,
}

impl CpuClock {
    /// The CPU time used so far, in seconds (unix).
    pub fn now(self) -> Option<f64> {
        #[cfg(unix)]
        {
            use rustix::time::{clock_gettime, ClockId};
            let t = clock_gettime(match self {
                CpuClock::Process => ClockId::ProcessCPUTime,
                CpuClock::Thread => ClockId::ThreadCPUTime,
            });
            Some(t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
        }
        #[cfg(not(unix))]
        None
    }

    /// The CPU time used since `start` (a [`CpuClock::now`] reading of the
    /// same clock), rounded to the microsecond like wall times.
    pub fn since(self, start: Option<f64>) -> Option<f64> {
        let used = self.now()? - start?;
        Some((used * 1e6).round() / 1e6)
    }
}

/// The temporary name a file is written under before its rename. The
/// extension is kept, since some writers pick the format from it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".tmp.{name}"))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).expect("serialisable");
    b.push(b'\n');
    b
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Moves the finished directory `tmp` to `out`, replacing an earlier one.
/// Concurrent runs given the same `out` each get theirs in whole, the last
/// one's staying: a rename onto an occupied `out` moves the occupant aside
/// and tries again, and an occupant that vanished meanwhile (another run
/// moved it) is no error. On failure the finished files are removed, not
/// left beside the target.
fn publish(tmp: tempfile::TempDir, out: &Path) -> Result<()> {
    let parent = parent_of(out);
    let err = |source| Error::Write {
        path: out.to_path_buf(),
        source,
    };
    let tmp = tmp.keep();
    let result = (|| {
        for _ in 0..64 {
            match std::fs::rename(&tmp, out) {
                Ok(()) => return Ok(()),
                Err(e) if occupied(&e) => move_aside(out, &parent)?,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "64 other runs replaced it while this one was publishing",
        ))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map_err(err)
}

/// A rename failed because its target is a non-empty directory.
fn occupied(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
    )
}

/// Renames `out` to a fresh name in `parent` and removes it there; an
/// `out` already gone is fine.
fn move_aside(out: &Path, parent: &Path) -> std::io::Result<()> {
    let old = tempfile::Builder::new()
        .prefix(".tmp.old.")
        .tempdir_in(parent)?
        .keep();
    std::fs::remove_dir(&old)?;
    match std::fs::rename(out, &old) {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&old);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a command writes into its `--out` directory, and so which
/// existing directory it may replace: an empty one, or an earlier output of
/// the same kind, known by the file only that kind writes (a run's
/// `run.json`, a comparison's `compare.csv`), never anything else.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutputKind {
    /// What it is called in messages: "run", "comparison".
    pub what: &'static str,
    /// The file that marks an earlier output of this kind.
    pub marker: &'static str,
}

impl OutputKind {
    pub const RUN: OutputKind = OutputKind {
        what: "run",
        marker: "run.json",
    };
    pub const COMPARISON: OutputKind = OutputKind {
        what: "comparison",
        marker: "compare.csv",
    };
    /// A compaction's directory (`borgsim compact`).
    pub const COMPACTION: OutputKind = OutputKind {
        what: "compaction",
        marker: "compaction.json",
    };
    /// An experiment's directory (`borgsim experiment`).
    pub const EXPERIMENT: OutputKind = OutputKind {
        what: "experiment",
        marker: "experiment.json",
    };
    /// An inflation's directory (`borgsim inflate`).
    pub const INFLATION: OutputKind = OutputKind {
        what: "inflation",
        marker: "inflation.json",
    };
    /// A sweep's directory (`borgsim merge --out`).
    pub const SWEEP: OutputKind = OutputKind {
        what: "sweep",
        marker: "sweep.json",
    };
}

/// Why `out` may not be replaced by an output of `kind`, if it may not: it
/// holds something other than an earlier output of that kind, it is the
/// current directory or one of its parents, or it is, holds or lies inside
/// one of the command's `inputs` (a comparison written over a run it reads
/// would destroy it).
fn unreplaceable(out: &Path, kind: OutputKind, inputs: &[PathBuf]) -> Option<String> {
    let real = resolved(out);
    for input in inputs {
        let Ok(input) = std::fs::canonicalize(input) else {
            continue;
        };
        if input.starts_with(&real) || real.starts_with(&input) {
            return Some(format!(
                "it is, holds or lies inside {}, which this {} reads: choose another directory",
                input.display(),
                kind.what
            ));
        }
    }
    if !real.exists() {
        return None;
    }
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if cwd.starts_with(&real) {
            return Some("it is the current directory or one of its parents".into());
        }
    }
    let mut entries = std::fs::read_dir(&real).ok()?;
    let empty = entries.next().is_none();
    if empty || real.join(kind.marker).is_file() {
        return None;
    }
    let article = if kind.what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    Some(format!(
        "it exists and is not an earlier {what}'s directory (no {marker}): {article} {what} \
         replaces its --out whole, so choose a new directory or remove this one",
        what = kind.what,
        marker = kind.marker
    ))
}

/// `p` with its longest existing ancestor's links and `..` resolved, and
/// the rest (not made yet) appended as given.
fn resolved(p: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut base = p;
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            return rest.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// A run's output directory while the run goes: a fresh temporary
/// directory beside `out`, renamed into place by [`RunDir::finish`] and
/// removed if dropped unfinished.
#[derive(Debug)]
pub struct RunDir {
    tmp: tempfile::TempDir,
    out: PathBuf,
    /// Listed for removal if the process is interrupted (declared after
    /// `tmp`: unlisted once it is gone).
    _staged: super::staging::Staged,
}

impl RunDir {
    /// Makes the temporary directory beside `out` (and `out`'s parent if
    /// missing). Failing here is bad input — exit code 2, naming `--out` —
    /// found before any simulation is wasted.
    pub fn create(out: &Path) -> Result<RunDir> {
        Self::create_for(out, OutputKind::RUN, &[])
    }

    /// [`Self::create`] for an output of `kind` made from `inputs` (which
    /// `out` may not be, hold or lie inside).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `--out` when `out` may not be replaced
    /// or its temporary directory cannot be made.
    pub fn create_for(out: &Path, kind: OutputKind, inputs: &[PathBuf]) -> Result<RunDir> {
        let bad = |e: std::io::Error| Error::Invalid {
            path: out.to_path_buf(),
            key: "--out".into(),
            message: format!("cannot write the {}'s directory here: {e}", kind.what),
        };
        if out.exists() && !out.is_dir() {
            return Err(bad(std::io::Error::other(
                "it exists and is not a directory",
            )));
        }
        if let Some(why) = unreplaceable(out, kind, inputs) {
            return Err(bad(std::io::Error::other(why)));
        }
        // A symbolic link names where the user wants the run: replace its
        // target, not the link.
        let resolved;
        let out = if out.is_symlink() {
            resolved = std::fs::canonicalize(out).map_err(bad)?;
            resolved.as_path()
        } else {
            out
        };
        let parent = parent_of(out);
        std::fs::create_dir_all(&parent).map_err(bad)?;
        let name = out
            .file_name()
            .map_or("out".into(), |n| n.to_string_lossy().into_owned());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp.{name}."))
            .tempdir_in(&parent)
            .map_err(bad)?;
        let staged = super::staging::Staged::new(tmp.path())
            .ok_or_else(|| bad(std::io::Error::other("the command is being interrupted")))?;
        Ok(RunDir {
            tmp,
            out: out.to_path_buf(),
            _staged: staged,
        })
    }

    /// Writes `v` as pretty JSON (newline-terminated) into the directory
    /// as `name`.
    ///
    /// # Errors
    /// [`Error::Write`] naming the file.
    pub fn write_json<T: Serialize>(&self, name: &str, v: &T) -> Result<()> {
        let p = self.path().join(name);
        std::fs::write(&p, json_bytes(v)).map_err(|source| Error::Write { path: p, source })
    }

    /// Where the files go until the run is published.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Streams `timeseries.csv` and, for a one-by-one replay with GPUs,
    /// `gpu_alloc.csv` into the directory as `sim` runs (before its first
    /// step).
    pub fn stream(&self, sim: &mut Simulation) -> Result<()> {
        let with_usage = sim.state().usage_books().is_some();
        let path = self.path().join("timeseries.csv");
        sim.stream_series(super::timeseries::SeriesStream::create(&path, with_usage)?);
        if super::gpu_packing::applies(sim) {
            sim.stream_gpu_curve(CsvStream::create(&self.path().join("gpu_alloc.csv"))?);
        }
        Ok(())
    }

    /// Writes summary.json, run.json, pending.csv, the run's page
    /// `report.html` and (with the `plots` feature, unless `plots` is
    /// false) the PNG plots beside the streamed files, then renames the
    /// directory to `out` (see the module doc). Returns the files, under
    /// `out`.
    pub fn finish(
        self,
        sc: &Scenario,
        sim: &Simulation,
        summary: &Summary,
        run: &RunInfo,
        plots: bool,
    ) -> Result<Vec<PathBuf>> {
        self.write_outputs(sc, sim, summary, run, plots)?;
        let dir = self.path().to_path_buf();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .and_then(|entries| {
                entries
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
        names.sort();
        let out = self.out.clone();
        self.publish()?;
        Ok(names.into_iter().map(|n| out.join(n)).collect())
    }

    /// What [`RunDir::finish`] writes, without renaming the directory:
    /// for a caller that adds files of its own first (`sweep` adds the
    /// run's `scenario.toml`) and then calls [`RunDir::publish`].
    ///
    /// # Errors
    /// [`Error::Write`] or [`Error::Plot`] naming the file.
    pub fn write_outputs(
        &self,
        sc: &Scenario,
        sim: &Simulation,
        summary: &Summary,
        run: &RunInfo,
        plots: bool,
    ) -> Result<()> {
        let dir = self.path().to_path_buf();
        let put = |name: &str, bytes: Vec<u8>| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(|source| Error::Write { path: p, source })
        };
        put("summary.json", json_bytes(summary))?;
        if let Some(f) = sim.faults() {
            let mut csv = CsvStream::create(&dir.join("failures.csv"))?;
            for row in f.rows() {
                csv.put(&row)?;
            }
            csv.finish()?;
        }
        put("run.json", json_bytes(run))?;
        let pending = {
            let rows = super::pending::rows(sim);
            put("pending.csv", super::pending::csv_bytes_of(&rows))?;
            super::pending::tally(&rows)
        };
        let plots = crate::report::Plots::wanted(plots);
        let view = crate::report::run::RunView::new(sc, sim, summary, &pending, &dir, plots);
        crate::report::run::write(&view)
    }

    /// Renames the directory, with what was written into [`RunDir::path`],
    /// to its target (see the module doc): for writers other than a run's
    /// (`compare`).
    pub fn publish(self) -> Result<()> {
        publish(self.tmp, &self.out)
    }
}
