//! A sweep's directory. Unlike a run's, it is not replaced whole: it grows
//! run by run, so that a sweep stopped half-way (a crash, a job's time
//! limit) keeps what it finished and a second invocation does only the
//! rest. Each run's own directory still appears whole (`RunDir`), and the
//! files on top are each written under a temporary name and renamed.
//!
//! ```text
//! DIR/sweep.toml      the sweep file, as given
//! DIR/base.toml       the base scenario's text
//! DIR/sweep.json      what the directory holds: the sweep, its shard, counts
//! DIR/runs.csv        a row per run, in index order
//! DIR/report.html     the sweep's page
//! DIR/runs/<id>/      a run's directory, with the scenario.toml it ran;
//!                     or, for a run that failed, scenario.toml and error.txt
//! ```
//!
//! A run is written in `runs/.tmp.<id>.…` and renamed; a sweep killed
//! meanwhile leaves that behind, and the next sweep into the directory
//! removes it ([`remove_stale_temporaries`]).
//!
//! A run is *done* when its directory's `run.json` says `completed`, it
//! holds its command's result file (`summary.json` for a simulation,
//! `compaction.json` for a compaction, …) and its `scenario.toml` is, byte
//! for byte, the text the sweep gives that run now — a text whose header
//! says the command's settings too (`Command::settings`), so a run of
//! another experiment, `parts`, `mode` or `search` is not done; *failed* when it holds `error.txt` and that text. A sweep run again
//! keeps the runs done and runs the rest: failed runs (their cause may be
//! gone: a limit raised), and anything else — no directory, one cut short,
//! one of a run whose values the sweep file has since changed.

use super::command::Command;
use super::expand::{Run, Shard};
use crate::error::{Error, Result};
use crate::metrics::report::{write_atomic, RunDir};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const SWEEP_TOML: &str = "sweep.toml";
pub const BASE_TOML: &str = "base.toml";
pub const SWEEP_JSON: &str = "sweep.json";
pub const RUNS_CSV: &str = "runs.csv";
pub const REPORT: &str = "report.html";
pub const RUNS: &str = "runs";
/// In a run's directory: the scenario it ran.
pub const SCENARIO: &str = "scenario.toml";
/// In a failed run's directory: why it failed.
pub const ERROR: &str = "error.txt";

/// `sweep.json`: what a sweep's directory holds. Deterministic: the same
/// sweep and shard give the same bytes (wall times stay in each run's
/// `run.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepInfo {
    /// The sweep's name.
    pub sweep: String,
    /// The base scenario, as the sweep file names it.
    pub base: String,
    /// `I/N` for a shard's directory; `null` for a whole sweep (one run
    /// unsharded, or merged).
    pub shard: Option<ShardInfo>,
    /// Runs in the whole sweep.
    pub runs_total: usize,
    /// Runs this directory is for: the shard's, or all.
    pub runs_here: usize,
    /// Of those, runs done and runs failed.
    pub ok: usize,
    pub failed: usize,
    /// The borgsim that wrote the directory.
    pub version: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    pub index: usize,
    pub count: usize,
}

impl SweepInfo {
    /// The shard the directory is for.
    pub fn shard(&self) -> Shard {
        self.shard.map_or(Shard::ALL, |s| Shard {
            index: s.index,
            count: s.count,
        })
    }
}

/// A run's directory in the sweep's directory `dir`.
pub fn run_dir(dir: &Path, run: &Run) -> PathBuf {
    dir.join(RUNS).join(&run.id)
}

/// What a run's directory says about the run whose scenario is `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Done,
    Failed(String),
    /// No directory, an unfinished one, or one of another scenario.
    Absent,
}

/// Reads the state of the run in `run_dir` (see the module doc), a run of
/// `command`, whose result file a done run holds.
pub fn state(run_dir: &Path, text: &str, command: &Command) -> State {
    let same = std::fs::read_to_string(run_dir.join(SCENARIO)).is_ok_and(|t| t == text);
    if !same {
        return State::Absent;
    }
    let completed = std::fs::read(run_dir.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|v| v.get("completed") == Some(&Value::Bool(true)));
    if completed && run_dir.join(command.result_file()).is_file() {
        return State::Done;
    }
    match std::fs::read_to_string(run_dir.join(ERROR)) {
        Ok(e) => State::Failed(e.trim_end().to_string()),
        Err(_) => State::Absent,
    }
}

/// A run as the table and the page see it.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Its result: `summary.json`, or the command's result file with what
    /// is computed from it (`command::headline`).
    Done(Value),
    /// Its error.
    Failed(String),
}

/// The outcome of a run of `command` whose state is done or failed.
///
/// # Errors
/// [`Error::Read`] or [`Error::Parse`] for a result file that cannot be
/// read; [`Error::Internal`] for a run that is neither done nor failed.
pub fn outcome(run_dir: &Path, state: State, command: &Command) -> Result<Outcome> {
    match state {
        State::Done => {
            let path = run_dir.join(command.result_file());
            let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let v = serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
                path,
                message: format!("not valid JSON: {e}"),
            })?;
            Ok(Outcome::Done(super::command::headline(command, v)))
        }
        State::Failed(e) => Ok(Outcome::Failed(e)),
        State::Absent => Err(Error::Internal(format!(
            "{}: the run has no outcome",
            run_dir.display()
        ))),
    }
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `out` can hold a sweep: it does not exist, is empty, or is
/// an earlier sweep's directory (it has `sweep.json`). A directory of
/// something else is never written into.
///
/// # Errors
/// [`Error::Invalid`] naming `--out`.
pub fn check_out(out: &Path) -> Result<()> {
    let bad = |message: &str| Error::Invalid {
        path: out.to_path_buf(),
        key: "--out".into(),
        message: message.into(),
    };
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(bad("it exists and is not a directory"));
    }
    let empty = std::fs::read_dir(out)
        .map_err(|e| bad(&format!("cannot read it: {e}")))?
        .next()
        .is_none();
    if empty || out.join(SWEEP_JSON).is_file() {
        return Ok(());
    }
    Err(bad(
        "it exists and is not a sweep's directory (no sweep.json): choose a new directory",
    ))
}

/// Removes what `run_dir` holds of an earlier attempt, before the run is
/// done again.
///
/// # Errors
/// [`Error::Write`] naming the directory.
pub fn clear(run_dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(run_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_err(run_dir)(e)),
        _ => Ok(()),
    }
}

/// Removes what runs interrupted before their rename left under `dir`'s
/// `runs/`: the temporary directories (`.tmp.<id>.…`, `.tmp.old.…`) a run's
/// directory is written in ([`RunDir`]). Only a sweep resuming `dir` calls
/// it, before its runs: no run of the directory is under way then (two
/// sweeps at once in one directory are not supported). Returns how many
/// it removed.
///
/// # Errors
/// [`Error::Write`] naming a temporary directory that cannot be removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir.join(RUNS)) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(".tmp.")
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if stale {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(write_err(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Records a failed run: its directory, replacing what was there, holding
/// its scenario `text` and `error.txt`.
///
/// # Errors
/// [`Error::Write`] naming the directory.
pub fn write_failure(run_dir: &Path, text: &str, message: &str) -> Result<()> {
    clear(run_dir)?;
    let dir = RunDir::create(run_dir)?;
    std::fs::write(dir.path().join(SCENARIO), text).map_err(write_err(run_dir))?;
    std::fs::write(dir.path().join(ERROR), format!("{message}\n")).map_err(write_err(run_dir))?;
    dir.publish()
}

/// Writes `files` (name, bytes) into the sweep's directory `dir`, each under
/// a temporary name then renamed.
///
/// # Errors
/// [`Error::Write`] naming the file.
pub fn write_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    for (name, bytes) in files {
        write_atomic(&dir.join(name), bytes)?;
    }
    Ok(())
}

/// `sweep.json`'s bytes.
pub fn info_bytes(info: &SweepInfo) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(info).expect("serialisable");
    b.push(b'\n');
    b
}

/// Reads `sweep.json` of the sweep directory `dir`.
///
/// # Errors
/// [`Error::Parse`] naming the directory when it has no `sweep.json`, or
/// the file when it is not one.
pub fn read_info(dir: &Path) -> Result<SweepInfo> {
    let path = dir.join(SWEEP_JSON);
    let bytes = std::fs::read(&path).map_err(|_| Error::Parse {
        path: dir.to_path_buf(),
        message: "not a sweep's directory: it has no sweep.json".into(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
        path,
        message: format!("not a sweep.json of this borgsim: {e}"),
    })
}

/// Copies the directory `from` to `to` (which must not exist), files and
/// subdirectories, through a temporary directory beside `to`.
///
/// # Errors
/// [`Error::Read`] or [`Error::Write`] naming the path.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let dir = RunDir::create(to)?;
    copy_into(from, dir.path())?;
    dir.publish()
}

fn copy_into(from: &Path, to: &Path) -> Result<()> {
    let read = |source| Error::Read {
        path: from.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(from).map_err(read)? {
        let entry = entry.map_err(read)?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(read)?.is_dir() {
            std::fs::create_dir(&target).map_err(write_err(&target))?;
            copy_into(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(write_err(&target))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            index: 0,
            id: "a-s1".into(),
            values: vec![0],
            seed: 1,
        }
    }

    #[test]
    fn a_run_is_done_only_with_its_own_scenario_and_a_complete_run_json() {
        let tmp = tempfile::tempdir().unwrap();
        let d = run_dir(tmp.path(), &run());
        let state = |d: &Path, t: &str| state(d, t, &Command::Run);
        assert_eq!(state(&d, "x"), State::Absent, "no directory");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(SCENARIO), "x").unwrap();
        std::fs::write(d.join("summary.json"), "{}").unwrap();
        assert_eq!(state(&d, "x"), State::Absent, "no run.json");
        std::fs::write(d.join("run.json"), r#"{"completed": false}"#).unwrap();
        assert_eq!(state(&d, "x"), State::Absent, "not completed");
        std::fs::write(d.join("run.json"), r#"{"completed": true}"#).unwrap();
        assert_eq!(state(&d, "x"), State::Done);
        assert_eq!(state(&d, "y"), State::Absent, "another scenario");
        write_failure(&d, "y", "it broke").unwrap();
        assert_eq!(state(&d, "y"), State::Failed("it broke".into()));
        assert!(!d.join("run.json").exists(), "the earlier run is gone");
    }

    #[test]
    fn only_an_earlier_sweep_or_an_empty_directory_is_written_into() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(check_out(&tmp.path().join("new")).is_ok());
        assert!(check_out(tmp.path()).is_ok(), "empty");
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        assert!(matches!(check_out(tmp.path()), Err(Error::Invalid { key, .. }) if key == "--out"));
        std::fs::write(tmp.path().join(SWEEP_JSON), "{}").unwrap();
        assert!(check_out(tmp.path()).is_ok());
    }

    #[test]
    fn a_resume_removes_the_temporaries_of_interrupted_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join(RUNS);
        for d in [".tmp.a-s1.x1y2", ".tmp.old.z3", "a-s1"] {
            std::fs::create_dir_all(runs.join(d)).unwrap();
            std::fs::write(runs.join(d).join("summary.json"), "{}").unwrap();
        }
        std::fs::write(runs.join(".tmp.note"), "a file").unwrap();
        assert_eq!(remove_stale_temporaries(tmp.path()).unwrap(), 2);
        let mut left: Vec<String> = std::fs::read_dir(&runs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".tmp.note", "a-s1"], "runs and other files stay");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            remove_stale_temporaries(empty.path()).unwrap(),
            0,
            "no runs/"
        );
    }

    #[test]
    fn a_directory_copies_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("from");
        std::fs::create_dir_all(from.join("sub")).unwrap();
        std::fs::write(from.join("a.txt"), "a").unwrap();
        std::fs::write(from.join("sub/b.txt"), "b").unwrap();
        let to = tmp.path().join("out/to");
        copy_dir(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("sub/b.txt")).unwrap(), "b");
        assert_eq!(std::fs::read_to_string(to.join("a.txt")).unwrap(), "a");
    }
}
