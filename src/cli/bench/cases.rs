//! Which cases `bench` runs: the default suite, `--full`'s large ones,
//! `--case` choices and `--ablation`'s combinations; the preparation a case
//! may need before its timed runs; and the CPU-time ratios reported between
//! cases that measure the cost of a feature (the same cell and workload
//! with and without it).
//!
//! Most cases run a built-in scenario. The Google-2011-shaped month cannot
//! be built in (its trace is 4.2 GB of CSV): it is prepared once, before
//! any case runs and untimed, by writing the synthetic trace and a scenario
//! replaying it into the bench's scratch directory, which goes when the
//! bench ends.

use borgsim::error::Error;
use borgsim::scenario;
use borgsim::trace::synth::{self, SynthConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The default suite; `--full` adds [`FULL_EXTRA`].
const SUITE: &[&str] = &[
    "quickstart",
    "fragmentation",
    "churn-1k",
    "churn-10k",
    "churn-10k-faults",
    "borg-cell-pack",
];
/// The 100k-machine churn (10 M tasks; minutes, GBs), and a month of a
/// synthetic Google-2011-shaped cell re-scheduled ([`MONTH`]).
const FULL_EXTRA: &[&str] = &["churn-100k"];
/// The openb GPU replay, once per policy (label, policy).
const OPENB: &[(&str, &str)] = &[
    ("openb-best_fit", "best_fit"),
    ("openb-worst_fit", "worst_fit"),
    ("openb-hybrid", "hybrid"),
    ("openb-gpu_keep_whole", "gpu_keep_whole"),
    ("openb-fgd", "fgd"),
];

/// The month of reports/BENCHMARKS.md ("A synthetic Google-2011-shaped
/// month, re-schedule mode"): 12,500 machines, 30 days (783,415 jobs,
/// 22,839,056 tasks); writing it takes about 36 s and 4.2 GB.
pub const MONTH: Synth = Synth {
    label: "google2011-month",
    machines: 12_500,
    days: 30.0,
    seed: 1,
};

/// Case `case`'s CPU time over case `of`'s, and the most it should be: the
/// cost of what `case` adds to `of`'s cell and workload.
const RATIOS: &[(&str, &str, f64)] = &[("churn-10k-faults", "churn-10k", 1.5)];

/// A case: its label, what it runs, and extra `run` flags.
#[derive(Clone, Debug)]
pub struct Case {
    pub label: String,
    pub scenario: Scenario,
    pub flags: Vec<String>,
}

/// What a case runs.
#[derive(Clone, Debug)]
pub enum Scenario {
    /// A built-in scenario, by name.
    Builtin(&'static str),
    /// A synthetic Google 2011 trace, written before the case's runs, and
    /// a scenario re-scheduling it with the hybrid policy.
    Synth(Synth),
}

/// The size of a synthetic Google 2011 trace (`borgsim trace synth
/// --shape google2011`), and the label of the case replaying it.
#[derive(Clone, Debug)]
pub struct Synth {
    pub label: &'static str,
    pub machines: u32,
    /// Length in days (fractions allowed).
    pub days: f64,
    pub seed: u64,
}

impl Case {
    fn builtin(label: &str, scenario: &'static str, flags: &[&str]) -> Case {
        Case {
            label: label.to_string(),
            scenario: Scenario::Builtin(scenario),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// What `borgsim run` is given: the built-in's name, or the prepared
    /// scenario file in `dir` (see [`prepare`]).
    pub fn run_arg(&self, dir: &Path) -> PathBuf {
        match &self.scenario {
            Scenario::Builtin(name) => PathBuf::from(name),
            Scenario::Synth(s) => scenario_path(dir, s),
        }
    }
}

/// The cases to run: the default suite (with `full`, also the large
/// cases), or those `names` (`--case`; the large ones need no `--full`).
///
/// # Errors
/// A name that is neither a label of the suite nor a built-in scenario.
pub fn select(names: &[String], full: bool) -> Result<Vec<Case>, Error> {
    let mut suite: Vec<Case> = SUITE.iter().map(|s| Case::builtin(s, s, &[])).collect();
    let mut extra: Vec<Case> = FULL_EXTRA
        .iter()
        .map(|s| Case::builtin(s, s, &[]))
        .collect();
    extra.push(Case {
        label: MONTH.label.to_string(),
        scenario: Scenario::Synth(MONTH),
        flags: Vec::new(),
    });
    let openb = OPENB
        .iter()
        .map(|(label, policy)| Case::builtin(label, "openb", &["--policy", policy]));
    if names.is_empty() {
        if full {
            suite.extend(extra);
        }
        suite.extend(openb);
        return Ok(suite);
    }
    let known: Vec<Case> = suite.into_iter().chain(extra).chain(openb).collect();
    let mut seen = std::collections::BTreeSet::new();
    names
        .iter()
        .filter(|name| seen.insert(name.as_str())) // `--case x --case x` runs x once
        .map(|name| {
            if let Some(c) = known.iter().find(|c| c.label == *name) {
                return Ok(c.clone());
            }
            match scenario::BUILTIN.iter().find(|b| b.0 == name) {
                Some((builtin, _)) => Ok(Case::builtin(name, builtin, &[])),
                None => Err(unknown_case(name, &known)),
            }
        })
        .collect()
}

fn unknown_case(name: &str, known: &[Case]) -> Error {
    let mut names: Vec<&str> = known.iter().map(|c| c.label.as_str()).collect();
    names.extend(scenario::BUILTIN.iter().map(|b| b.0));
    names.sort_unstable();
    names.dedup();
    Error::Invalid {
        path: PathBuf::from("bench"),
        key: "case".into(),
        message: format!(
            "unknown case {name:?}; expected one of {}",
            names.join(", ")
        ),
    }
}

/// borg-cell-pack with every combination of the three techniques.
pub fn ablation_cases() -> Vec<Case> {
    let switch = |b: bool| if b { "on" } else { "off" };
    (0..8u8)
        .map(|i| {
            let (cache, equiv, random) =
                (switch(i & 4 == 0), switch(i & 2 == 0), switch(i & 1 == 0));
            let flags = [
                "--score-cache",
                cache,
                "--equivalence-classes",
                equiv,
                "--relaxed-randomization",
                random,
            ];
            let label = format!("pack cache={cache} equiv={equiv} random={random}");
            Case::builtin(&label, "borg-cell-pack", &flags)
        })
        .collect()
}

/// Prepares `case` in `dir` (its own, empty or absent) before its runs:
/// for a synthetic trace, writes the trace to `dir/trace/` and the
/// scenario replaying it to `dir/<label>.toml`. Built-ins need nothing.
///
/// # Errors
/// The trace or the scenario cannot be written.
pub fn prepare(dir: &Path, case: &Case) -> Result<(), Error> {
    let Scenario::Synth(s) = &case.scenario else {
        return Ok(());
    };
    eprintln!(
        "bench: {}: writing a synthetic Google 2011 trace ({} machines, {} days; not timed)",
        case.label, s.machines, s.days
    );
    let cfg = SynthConfig {
        machines: s.machines,
        duration_s: (s.days * 86_400.0).round() as u64,
        seed: s.seed,
        rows_per_part: 10_000_000,
        usage: false,
    };
    synth::google2011(&cfg, &dir.join("trace"))?;
    let path = scenario_path(dir, s);
    std::fs::write(&path, synth_scenario(s)).map_err(|source| Error::Write { path, source })
}

fn scenario_path(dir: &Path, s: &Synth) -> PathBuf {
    dir.join(format!("{}.toml", s.label))
}

/// The scenario of reports/BENCHMARKS.md's month: the trace's own cell and
/// submissions, re-scheduled by the hybrid policy.
fn synth_scenario(s: &Synth) -> String {
    format!(
        "name = \"{label}\"\n\
         description = \"a synthetic Google-2011-shaped trace ({machines} machines, {days} days) re-scheduled\"\n\
         seed = 1\n\n\
         [scheduler]\n\
         policy = \"hybrid\"\n\n\
         [trace]\n\
         format = \"google2011\"\n\
         files = [\"trace\"]\n\
         mode = \"reschedule\"\n",
        label = s.label,
        machines = s.machines,
        days = s.days,
    )
}

/// One case's least CPU time over another's (both run).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CpuRatio {
    pub case: String,
    /// The case it is divided by.
    pub of: String,
    /// `case`'s `cpu_time_s` / `of`'s.
    pub cpu_time_ratio: f64,
    /// The most it should be.
    pub target_max: f64,
}

impl CpuRatio {
    /// `churn-10k-faults / churn-10k: 1.23× CPU time (target ≤ 1.5×: met)`.
    pub fn line(&self) -> String {
        let verdict = if self.cpu_time_ratio <= self.target_max {
            "met"
        } else {
            "missed"
        };
        format!(
            "{} / {}: {:.2}× CPU time (target ≤ {}×: {verdict})",
            self.case, self.of, self.cpu_time_ratio, self.target_max
        )
    }
}

/// The ratios of [`RATIOS`] whose two cases both ran with CPU times.
pub fn ratios(results: &[super::CaseResult]) -> Vec<CpuRatio> {
    let cpu = |label: &str| {
        let r = results.iter().find(|r| r.case == label)?;
        r.cpu_time_s.filter(|t| *t > 0.0)
    };
    RATIOS
        .iter()
        .filter_map(|(case, of, target_max)| {
            Some(CpuRatio {
                case: case.to_string(),
                of: of.to_string(),
                cpu_time_ratio: cpu(case)? / cpu(of)?,
                target_max: *target_max,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use borgsim::metrics::summary::Summary;

    fn labels(cases: &[Case]) -> Vec<&str> {
        cases.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn the_month_runs_under_full_or_by_name_and_the_faults_case_by_default() {
        let default = select(&[], false).unwrap();
        assert!(labels(&default).contains(&"churn-10k-faults"));
        assert!(!labels(&default).contains(&"google2011-month"));
        let full = select(&[], true).unwrap();
        assert!(labels(&full).contains(&"google2011-month"));
        let named = select(&["google2011-month".into()], false).unwrap();
        assert_eq!(labels(&named), ["google2011-month"]);
        let dir = Path::new("scratch");
        assert_eq!(
            named[0].run_arg(dir),
            Path::new("scratch/google2011-month.toml")
        );
        assert_eq!(default[0].run_arg(dir), Path::new("quickstart"));
    }

    fn result(case: &str, cpu_time_s: Option<f64>) -> super::super::CaseResult {
        super::super::CaseResult {
            case: case.into(),
            wall_time_s: 1.0,
            wall_times_s: vec![1.0],
            cpu_time_s,
            cpu_times_s: cpu_time_s.into_iter().collect(),
            events_per_s: 0.0,
            placements_per_s: 0.0,
            peak_rss_mib: None,
            counters: Default::default(),
            results: Default::default(),
        }
    }

    #[test]
    fn the_faults_ratio_needs_both_cases_with_cpu_times() {
        let both = [
            result("churn-10k", Some(2.0)),
            result("churn-10k-faults", Some(2.5)),
        ];
        let r = ratios(&both);
        // 2.5 s / 2.0 s = 1.25, within 1.5.
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].cpu_time_ratio, 1.25);
        assert_eq!(
            r[0].line(),
            "churn-10k-faults / churn-10k: 1.25× CPU time (target ≤ 1.5×: met)"
        );
        // 3.2 s / 2.0 s = 1.6: missed.
        let slow = [
            result("churn-10k", Some(2.0)),
            result("churn-10k-faults", Some(3.2)),
        ];
        assert!(ratios(&slow)[0]
            .line()
            .ends_with("1.60× CPU time (target ≤ 1.5×: missed)"));
        assert!(ratios(&both[1..]).is_empty(), "churn-10k did not run");
        let no_cpu = [
            result("churn-10k", None),
            result("churn-10k-faults", Some(2.5)),
        ];
        assert!(ratios(&no_cpu).is_empty());
    }

    /// The month's preparation at a tiny size: the trace and the scenario
    /// are written, and the scenario replays the trace's cell and jobs.
    #[test]
    fn a_prepared_synthetic_trace_replays() {
        let dir = tempfile::tempdir().unwrap();
        let tiny = Synth {
            label: "tiny",
            machines: 50,
            days: 0.01,
            seed: 1,
        };
        let case = Case {
            label: "tiny".into(),
            scenario: Scenario::Synth(tiny),
            flags: Vec::new(),
        };
        let prepared = dir.path().join("prepared");
        prepare(&prepared, &case).unwrap();
        let path = case.run_arg(&prepared);
        assert_eq!(path, prepared.join("tiny.toml"));
        assert!(prepared.join("trace/task_events").is_dir());
        let sc = borgsim::scenario::Scenario::load(&path).unwrap();
        assert_eq!(sc.name, "tiny");
        let mut sim = borgsim::build_simulation(&sc, false).unwrap();
        sim.run(&mut |_| {}).unwrap();
        let summary = Summary::of(&sc, &sim);
        assert_eq!(summary.machines, 50);
        assert!(summary.tasks.scheduled > 0, "{:?}", summary.tasks);
        // Built-ins need no preparation: nothing is written.
        let builtin = &select(&["churn-1k".into()], false).unwrap()[0];
        prepare(&dir.path().join("none"), builtin).unwrap();
        assert!(!dir.path().join("none").exists());
    }
}
