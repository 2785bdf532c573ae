//! `run`'s flags for looking inside a run: `--events FILE` (every task and
//! machine change, streamed to a CSV file of the user's choosing) and
//! `--snapshot-at T` (each machine's allocation and tasks at simulated time
//! T, into the run's directory). Kept apart from the other flags so that
//! `run` only asks this module to check, attach and finish them.
//!
//! Both are checked before the run, as bad input (exit code 2, the flag
//! named): an event log that cannot be written, or that would sit inside
//! the run's directory (which is replaced whole when the run ends, so the
//! file would vanish with the old directory); a snapshot after the
//! scenario's `duration_s`. A run with no horizon (run until drained) ends
//! when its work does, which is not known before: a snapshot after that
//! end is not written, and `run` warns.

use borgsim::error::Error;
use borgsim::metrics::events::EventLog;
use borgsim::metrics::report::RunDir;
use borgsim::metrics::snapshot::{self, Snapshots};
use borgsim::scenario::Scenario;
use borgsim::sim::Simulation;
use borgsim::time::{SimTime, US_PER_S};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Default, Clone)]
pub struct ObserveArgs {
    /// Write a CSV row for every task and machine change (submit, place,
    /// evict with its cause, finish, kill, drop, machine down/up/resized,
    /// unreachable and reachable again)
    /// to FILE, gzip-compressed if FILE ends in .gz; outside the output
    /// directory.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write each machine's allocation and tasks at simulated time T, after
    /// every event at T, to snapshot-<T>.csv in the output directory.
    /// Repeatable. T in seconds, or with a unit: 3600, 90s, 30m, 1.5h, 2d.
    #[arg(long, value_name = "T", value_parser = parse_sim_time)]
    pub snapshot_at: Vec<SimTime>,
}

impl ObserveArgs {
    /// Checks the flags before the run and opens the event log, if asked
    /// for. `origin` names the scenario in errors; `out` is the run's
    /// directory.
    pub fn open(
        &self,
        sc: &Scenario,
        origin: &Path,
        out: &Path,
    ) -> Result<Option<EventLog>, Error> {
        let horizon = sc.horizon();
        if let Some(&t) = self.snapshot_at.iter().find(|&&t| t > horizon) {
            return Err(Error::Invalid {
                path: origin.to_path_buf(),
                key: "--snapshot-at".into(),
                message: format!(
                    "{} s is after the run's end at duration_s = {} s",
                    snapshot::seconds_text(t),
                    snapshot::seconds_text(horizon)
                ),
            });
        }
        let Some(events) = &self.events else {
            return Ok(None);
        };
        if normal(events).starts_with(normal(out)) {
            return Err(Error::Invalid {
                path: events.clone(),
                key: "--events".into(),
                message: format!(
                    "is inside the run's directory {}, which is replaced whole at the \
                     end of the run; name a file outside it",
                    out.display()
                ),
            });
        }
        if let Some(why) = clobbers(events, sc, origin) {
            return Err(Error::Invalid {
                path: events.clone(),
                key: "--events".into(),
                message: why,
            });
        }
        EventLog::create(events).map(Some)
    }

    /// Attaches the event log and the snapshots to `sim` (before its first
    /// step); snapshots go into the run's directory.
    pub fn attach(&self, sim: &mut Simulation, dir: &RunDir, log: Option<EventLog>) {
        if let Some(log) = log {
            sim.log_events(log);
        }
        if !self.snapshot_at.is_empty() {
            sim.take_snapshots(Snapshots::new(dir.path(), &self.snapshot_at));
        }
    }

    /// After the run's directory is written: puts the event log in place,
    /// and warns (unless `quiet`) about snapshots after the run's end.
    pub fn finish(sim: &mut Simulation, quiet: bool) -> Result<(), Error> {
        if let Some(log) = sim.take_event_log() {
            log.finish()?;
        }
        let end = snapshot::seconds_text(sim.end_time());
        for t in sim.snapshots().into_iter().flat_map(|s| s.missed()) {
            if !quiet {
                eprintln!(
                    "warning: --snapshot-at {}: the run ended at {end} s, before it; \
                     no {} written",
                    snapshot::seconds_text(t),
                    snapshot::file_name(t)
                );
            }
        }
        Ok(())
    }
}

/// `p` made absolute and lexically clean (`.` and `..` resolved), its
/// longest existing ancestor resolved (symbolic links), so that two names
/// of one place compare equal.
/// Why the event log may not be written to `events`, if it may not: `-`
/// (the log is a file, renamed into place when complete, never a stream),
/// the scenario file itself or one of its trace files, or a file in
/// another output directory of borgsim (one holding a `run.json` or a
/// `compare.csv`), which the log would silently replace.
fn clobbers(events: &Path, sc: &Scenario, origin: &Path) -> Option<String> {
    if events == Path::new("-") {
        return Some(
            "the event log is written to a file (named FILE, or FILE.gz to compress it), \
             not to standard output"
                .into(),
        );
    }
    let target = normal(events);
    let mut inputs = Vec::new();
    if let borgsim::scenario::Base::Dir(dir) = &sc.base {
        inputs.push(normal(origin));
        let files = sc.trace.iter().flat_map(|tc| &tc.files);
        inputs.extend(files.map(|f| normal(&dir.join(f))));
    }
    if let Some(input) = inputs.iter().find(|i| target.starts_with(i)) {
        return Some(format!(
            "is this run's input {}: name another file for the event log",
            input.display()
        ));
    }
    let dir = target.parent()?;
    ["run.json", "compare.csv"]
        .iter()
        .any(|m| dir.join(m).is_file())
        .then(|| {
            format!(
                "is inside {}, the output directory of another borgsim run or comparison: \
                 name a file outside it",
                dir.display()
            )
        })
}

fn normal(p: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            c => clean.push(c),
        }
    }
    let mut base = clean.as_path();
    let mut rest = Vec::new();
    while !base.exists() {
        match (base.file_name(), base.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => break,
        }
    }
    let mut out = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// `--snapshot-at`: seconds of simulated time, plain or with a unit (`s`,
/// `m`, `h`, `d`), with at most microsecond precision: `3600`, `90m`,
/// `1.5h`, `0.25`. Exact: decimal digits, never a float.
pub fn parse_sim_time(s: &str) -> Result<SimTime, String> {
    let s = s.trim();
    let (number, unit_us) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], US_PER_S),
        Some((i, 'm')) => (&s[..i], 60 * US_PER_S),
        Some((i, 'h')) => (&s[..i], 3600 * US_PER_S),
        Some((i, 'd')) => (&s[..i], 86_400 * US_PER_S),
        _ => (s, US_PER_S),
    };
    let expected = || format!("expected a time such as 3600, 90s, 30m, 1.5h or 2d, got {s:?}");
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 12 {
        return Err(expected());
    }
    let whole: u64 = whole.parse().map_err(|_| expected())?;
    let scale = 10u128.pow(frac.len() as u32);
    let frac: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| expected())?
    };
    let frac_us = frac * u128::from(unit_us);
    if !frac_us.is_multiple_of(scale) {
        return Err(format!("{s:?} is not a whole number of microseconds"));
    }
    u128::from(whole)
        .checked_mul(u128::from(unit_us))
        .and_then(|w| w.checked_add(frac_us / scale))
        .and_then(|us| u64::try_from(us).ok())
        .filter(|&us| us < SimTime::NEVER.as_us())
        .map(SimTime)
        .ok_or_else(|| format!("{s:?} is too far in the future"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_exact_in_any_unit() {
        let ok = |s: &str| parse_sim_time(s).unwrap().as_us();
        assert_eq!(ok("3600"), 3_600_000_000);
        assert_eq!(ok("3600s"), 3_600_000_000);
        assert_eq!(ok("90m"), 5_400_000_000);
        // 1.5 h = 5400 s, exactly.
        assert_eq!(ok("1.5h"), 5_400_000_000);
        assert_eq!(ok("2d"), 172_800_000_000);
        assert_eq!(ok("0.000001"), 1);
        assert_eq!(ok("0"), 0);
        for bad in [
            "",
            "h",
            "-1",
            "1.5.2",
            "1e3",
            "0.0000001",
            "1 h",
            "1x",
            ".5",
        ] {
            assert!(parse_sim_time(bad).is_err(), "{bad:?}");
        }
        assert!(parse_sim_time("99999999999999999999").is_err());
    }

    #[test]
    fn two_names_of_one_place_compare_equal() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("out");
        std::fs::create_dir(&a).unwrap();
        let b = dir.path().join("x/../out/events.csv");
        assert!(normal(&b).starts_with(normal(&a)));
        assert!(!normal(&dir.path().join("events.csv")).starts_with(normal(&a)));
    }
}
