//! `borgsim merge DIR... --out DIR`: the directories of a sweep's shards,
//! run on several machines (a Kubernetes Indexed Job, a Slurm job array),
//! put back into the directory one machine would have written — the same
//! runs' directories, and the same `runs.csv`, `report.html` and
//! `sweep.json`, byte for byte.
//!
//! Before anything is written, the directories must be of one sweep —
//! their `sweep.toml` and `base.toml` the same bytes (the sweep file and
//! the scenario it varies) — and must hold every run exactly once: each
//! directory holds the runs of its shard (`sweep.json`), and a run in no
//! directory, or in two, is an error naming the runs and the shards. Every
//! run must be done or failed in its directory, with the scenario the
//! sweep gives it. The output appears whole, through a temporary directory
//! renamed into place, and the shards are left as they were.

use super::dir::{self, State, SweepInfo};
use super::{Shard, Sweep, Totals};
use crate::error::{Error, Result};
use crate::metrics::report::{OutputKind, RunDir};
use crate::report::Plots;
use std::path::{Path, PathBuf};

/// One directory to merge.
#[derive(Clone, Debug)]
pub struct Part {
    pub dir: PathBuf,
    pub info: SweepInfo,
    pub sweep_text: String,
    pub base_text: String,
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the sweep directory `dir`.
///
/// # Errors
/// [`Error::Parse`] or [`Error::Read`] naming the directory or file, for a
/// directory that is not a sweep's.
pub fn read(dir: &Path) -> Result<Part> {
    if !dir.is_dir() {
        return Err(Error::Parse {
            path: dir.to_path_buf(),
            message: "not a directory: give the output directories of borgsim sweep".into(),
        });
    }
    let info = dir::read_info(dir)?;
    Ok(Part {
        dir: dir.to_path_buf(),
        info,
        sweep_text: read_text(&dir.join(dir::SWEEP_TOML))?,
        base_text: read_text(&dir.join(dir::BASE_TOML))?,
    })
}

fn invalid(path: &Path, message: String) -> Error {
    Error::Invalid {
        path: path.to_path_buf(),
        key: "DIR".into(),
        message,
    }
}

/// Checks that every part is of the first part's sweep.
///
/// # Errors
/// [`Error::Invalid`] naming the first directory that differs and how.
pub fn check_same(parts: &[Part]) -> Result<()> {
    let first = &parts[0];
    for p in &parts[1..] {
        let differs = if p.sweep_text != first.sweep_text {
            Some("sweep.toml (the sweep file)")
        } else if p.base_text != first.base_text {
            Some("base.toml (the base scenario)")
        } else {
            None
        };
        if let Some(what) = differs {
            return Err(invalid(
                &p.dir,
                format!(
                    "another sweep's directory: its {what} differs from {}'s; merge the shards of one sweep",
                    first.dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// `run 3 is`, `runs 1, 3, 5 are` — at most 10 of them, then how many
/// more.
fn runs_are(indices: &[usize]) -> String {
    let shown: Vec<String> = indices.iter().take(10).map(ToString::to_string).collect();
    match indices.len() {
        1 => format!("run {} is", shown[0]),
        n if n > 10 => format!("runs {} and {} more are", shown.join(", "), n - 10),
        _ => format!("runs {} are", shown.join(", ")),
    }
}

/// Which part holds each of `runs` runs (by index): each part holds its
/// shard's.
///
/// # Errors
/// [`Error::Invalid`] naming the runs no part holds, or two parts hold.
pub fn assign(parts: &[Part], runs: usize) -> Result<Vec<usize>> {
    let mut holder = vec![None; runs];
    let mut twice: Vec<(usize, usize, usize)> = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        let shard = part.info.shard();
        for (i, h) in holder
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| shard.contains(*i))
        {
            match h {
                Some(q) => twice.push((i, *q, p)),
                None => *h = Some(p),
            }
        }
    }
    let shard_of = |p: usize| {
        let s = parts[p].info.shard();
        if s.is_all() {
            "the whole sweep".to_string()
        } else {
            format!("shard {s}")
        }
    };
    if let Some(&(_, a, b)) = twice.first() {
        let indices: Vec<usize> = twice
            .iter()
            .filter(|t| (t.1, t.2) == (a, b))
            .map(|t| t.0)
            .collect();
        return Err(invalid(
            &parts[b].dir,
            format!(
                "{} in two directories: {} ({}) and this one ({}); give each shard once",
                runs_are(&indices),
                parts[a].dir.display(),
                shard_of(a),
                shard_of(b)
            ),
        ));
    }
    let missing: Vec<usize> = (0..runs).filter(|&i| holder[i].is_none()).collect();
    if !missing.is_empty() {
        let count = parts[0].info.shard().count;
        let absent: Vec<String> = (0..count)
            .filter(|&s| missing.iter().any(|&i| i % count == s))
            .map(|s| format!("{s}/{count}"))
            .collect();
        return Err(invalid(
            &parts[0].dir,
            format!(
                "{} in none of the directories given, of the sweep's {runs} (shard {} missing?)",
                runs_are(&missing),
                absent.join(", ")
            ),
        ));
    }
    Ok(holder
        .into_iter()
        .map(|h| h.expect("every run held"))
        .collect())
}

/// Merges the sweep directories `dirs` into `out` (see the module doc).
/// Returns the sweep, as the shards ran it, and its totals.
///
/// # Errors
/// Bad input (exit code 2) for directories that are not of one sweep, do
/// not hold every run once, or hold a run not finished; `--out` that is
/// one of them or something other than a sweep's directory; errors
/// writing.
pub fn merge(dirs: &[PathBuf], out: &Path, plots: Plots) -> Result<(Sweep, Totals)> {
    let parts = dirs.iter().map(|d| read(d)).collect::<Result<Vec<_>>>()?;
    check_same(&parts)?;
    let real_out = std::fs::canonicalize(out).ok();
    if let Some(p) = parts
        .iter()
        .find(|p| real_out.is_some() && std::fs::canonicalize(&p.dir).ok() == real_out)
    {
        return Err(Error::Invalid {
            path: out.to_path_buf(),
            key: "--out".into(),
            message: format!(
                "is {}, one of the directories merged: choose another",
                p.dir.display()
            ),
        });
    }
    let first = &parts[0];
    let sweep = Sweep::saved(
        &first.dir,
        first.sweep_text.clone(),
        first.base_text.clone(),
    )?;
    let holder = assign(&parts, sweep.runs.len())?;
    for run in &sweep.runs {
        let from = dir::run_dir(&parts[holder[run.index]].dir, run);
        if dir::state(&from, &sweep.scenario_text(run)?, &sweep.spec.command) == State::Absent {
            return Err(invalid(
                &from,
                format!(
                    "run {} ({}) is not finished in this directory (no complete run.json or \
                     error.txt for this sweep's scenario): run that shard again, then merge",
                    run.index, run.id
                ),
            ));
        }
    }
    let inputs: Vec<PathBuf> = parts.iter().map(|p| p.dir.clone()).collect();
    let target = RunDir::create_for(out, OutputKind::SWEEP, &inputs)?;
    for run in &sweep.runs {
        let from = dir::run_dir(&parts[holder[run.index]].dir, run);
        dir::copy_dir(&from, &dir::run_dir(target.path(), run))?;
    }
    let totals = super::write_summary(target.path(), &sweep, Shard::ALL, plots)?;
    target.publish()?;
    Ok((sweep, totals))
}

#[cfg(test)]
mod tests {
    use super::super::dir::ShardInfo;
    use super::*;

    fn part(dir: &str, shard: Option<(usize, usize)>) -> Part {
        Part {
            dir: PathBuf::from(dir),
            info: SweepInfo {
                sweep: "s".into(),
                base: "q".into(),
                shard: shard.map(|(index, count)| ShardInfo { index, count }),
                runs_total: 5,
                runs_here: 0,
                ok: 0,
                failed: 0,
                version: String::new(),
            },
            sweep_text: "a".into(),
            base_text: "b".into(),
        }
    }

    fn message(r: Result<Vec<usize>>) -> String {
        match r {
            Err(Error::Invalid { message, .. }) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shards_cover_the_runs_once() {
        // Shard 0/2 holds runs 0, 2, 4; shard 1/2 runs 1, 3.
        let parts = [part("a", Some((1, 2))), part("b", Some((0, 2)))];
        assert_eq!(assign(&parts, 5).unwrap(), [1, 0, 1, 0, 1]);
        let m = message(assign(&parts[..1], 5));
        assert_eq!(
            m,
            "runs 0, 2, 4 are in none of the directories given, of the sweep's 5 (shard 0/2 missing?)"
        );
        let twice = [
            part("a", Some((1, 2))),
            part("b", Some((0, 2))),
            part("c", Some((1, 2))),
        ];
        let m = message(assign(&twice, 5));
        assert!(
            m.starts_with(
                "runs 1, 3 are in two directories: a (shard 1/2) and this one (shard 1/2)"
            ),
            "{m}"
        );
        let whole_and_shard = [part("a", None), part("b", Some((0, 2)))];
        assert!(message(assign(&whole_and_shard, 5)).contains("a (the whole sweep)"));
    }

    #[test]
    fn parts_of_another_sweep_are_refused() {
        let mut other = part("b", None);
        other.base_text = "c".into();
        let err = check_same(&[part("a", None), other])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("base.toml (the base scenario) differs from a's"),
            "{err}"
        );
        assert!(check_same(&[part("a", None), part("b", Some((0, 2)))]).is_ok());
    }
}
