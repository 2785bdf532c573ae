//! `borgsim bench`: a fixed suite of scenarios, timed, with the scheduler's
//! deterministic work counters, and a comparison against a baseline.
//!
//! Each case runs in a child `borgsim run` process, so its wall time and peak
//! RSS are its own. Counters (events, feasibility checks, scores, cache hits
//! and misses…) depend only on the code and the scenario: compared with a
//! baseline they must not increase at all. Times vary with the machine, so
//! they are compared only with a tolerance the caller gives.

use borgsim::error::Error;
use borgsim::metrics::report::write_atomic;
use borgsim::scenario;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The default suite; `--full` adds the 100k-machine churn.
const SUITE: &[&str] = &[
    "quickstart",
    "fragmentation",
    "churn-1k",
    "churn-10k",
    "borg-cell-pack",
];
const FULL_EXTRA: &[&str] = &["churn-100k"];
/// The openb GPU replay, once per policy (label, policy).
const OPENB: &[(&str, &str)] = &[
    ("openb-best_fit", "best_fit"),
    ("openb-worst_fit", "worst_fit"),
    ("openb-hybrid", "hybrid"),
    ("openb-gpu_packing", "gpu_packing"),
];

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Compare with an earlier `--json` file; exit 1 on any regression.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// With --baseline: a wall time more than this many percent above the
    /// baseline's is a regression (times are not compared without it).
    #[arg(long, value_name = "PCT")]
    pub time_tolerance: Option<f64>,
    /// Run only these cases (repeatable).
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
    /// Include the largest case (churn-100k: 10 M tasks; minutes, GBs).
    #[arg(long)]
    pub full: bool,
    /// Time borg-cell-pack with each combination of the scale techniques.
    #[arg(long)]
    pub ablation: bool,
}

/// One case's figures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub case: String,
    pub wall_time_s: f64,
    pub events_per_s: f64,
    pub placements_per_s: f64,
    pub peak_rss_mib: Option<f64>,
    /// Deterministic: compared exactly against a baseline.
    pub counters: BTreeMap<String, u64>,
    /// Quality of the result, for the ablation table.
    pub cpu_utilization: f64,
    pub pending_at_end: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BenchReport {
    pub version: String,
    pub cases: Vec<CaseResult>,
}

/// Runs the command; returns the exit code.
pub fn main(args: BenchArgs) -> i32 {
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run(args: &BenchArgs) -> Result<i32, Error> {
    let work = tempdir()?;
    let result = run_in(args, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run_in(args: &BenchArgs, work: &Path) -> Result<i32, Error> {
    if args.ablation {
        let rows = ablation(work)?;
        print_table(&rows);
        return Ok(0);
    }
    let names: Vec<String> = if args.cases.is_empty() {
        let extra = if args.full { FULL_EXTRA } else { &[] };
        SUITE.iter().chain(extra).map(|s| s.to_string()).collect()
    } else {
        args.cases.clone()
    };
    let mut results = Vec::new();
    for name in &names {
        eprintln!("bench: {name}");
        results.push(run_case(work, name, name, &[])?);
    }
    if args.cases.is_empty() {
        for (label, policy) in OPENB {
            eprintln!("bench: {label}");
            results.push(run_case(work, label, "openb", &["--policy", policy])?);
        }
    }
    print_table(&results);
    let report = BenchReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        cases: results,
    };
    if let Some(path) = &args.json {
        let mut bytes = serde_json::to_vec_pretty(&report).expect("serialisable");
        bytes.push(b'\n');
        write_atomic(path, &bytes)?;
    }
    let Some(base_path) = &args.baseline else {
        return Ok(0);
    };
    let base = read_report(base_path)?;
    check_cases(&base, &report, !args.cases.is_empty()).map_err(|message| Error::Invalid {
        path: base_path.clone(),
        key: "cases".into(),
        message,
    })?;
    let regressions = compare(&base, &report, args.time_tolerance);
    for r in &regressions {
        println!("REGRESSION {r}");
    }
    println!(
        "{} regression(s) against {}",
        regressions.len(),
        base_path.display()
    );
    Ok(if regressions.is_empty() { 0 } else { 1 })
}

/// A scratch directory under the system's temporary directory.
fn tempdir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("borgsim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Runs the built-in scenario `scenario` in a child process with `extra` flags.
fn run_case(work: &Path, label: &str, scenario: &str, extra: &[&str]) -> Result<CaseResult, Error> {
    scenario::builtin(scenario).ok_or_else(|| Error::Invalid {
        path: PathBuf::from("bench"),
        key: "case".into(),
        message: format!(
            "unknown case {scenario:?}; expected one of {}",
            scenario::BUILTIN
                .iter()
                .map(|b| b.0)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    // The child resolves the built-in by name (and its trace files against
    // the source tree's scenarios/).
    let file = PathBuf::from(scenario);
    let out = work.join(label);
    let exe = std::env::current_exe().map_err(|source| Error::Read {
        path: PathBuf::from("borgsim"),
        source,
    })?;
    let status = Command::new(exe)
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&out)
        .args(extra)
        .status()
        .map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
    if !status.success() {
        return Err(Error::Invalid {
            path: file,
            key: "case".into(),
            message: format!("the run failed ({status})"),
        });
    }
    let summary: serde_json::Value = read_json(&out.join("summary.json"))?;
    let run: serde_json::Value = read_json(&out.join("run.json"))?;
    Ok(case_result(label, &summary, &run))
}

fn read_json(path: &Path) -> Result<serde_json::Value, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn read_report(path: &Path) -> Result<BenchReport, Error> {
    let v = read_json(path)?;
    serde_json::from_value(v).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: format!("not a bench report: {e}"),
    })
}

fn case_result(label: &str, summary: &serde_json::Value, run: &serde_json::Value) -> CaseResult {
    let wall = run["wall_time_s"].as_f64().unwrap_or(0.0);
    let mut counters = BTreeMap::new();
    counters.insert(
        "events_processed".to_string(),
        summary["events_processed"].as_u64().unwrap_or(0),
    );
    if let Some(obj) = summary["scheduler"].as_object() {
        for (k, v) in obj {
            counters.insert(k.clone(), v.as_u64().unwrap_or(0));
        }
    }
    let per_s = |n: u64| {
        if wall > 0.0 {
            (n as f64 / wall).round()
        } else {
            0.0
        }
    };
    CaseResult {
        case: label.to_string(),
        wall_time_s: wall,
        events_per_s: per_s(counters["events_processed"]),
        placements_per_s: per_s(counters.get("placements").copied().unwrap_or(0)),
        peak_rss_mib: run["peak_rss_mib"].as_f64(),
        counters,
        cpu_utilization: summary["utilization"]["cpu"]["total"]
            .as_f64()
            .unwrap_or(0.0),
        pending_at_end: summary["tasks"]["pending_at_end"].as_u64().unwrap_or(0),
    }
}

/// A baseline must compare something: it has cases, every case run is in
/// it under the same name, with the same counters, and (unless `--case`
/// chose a subset) every case of it was run. Otherwise the message says
/// what is missing (the caller exits 2: a baseline that compares nothing
/// never passes).
pub fn check_cases(base: &BenchReport, now: &BenchReport, subset: bool) -> Result<(), String> {
    if base.cases.is_empty() {
        return Err("the baseline has no cases".into());
    }
    for case in &now.cases {
        let Some(b) = base.cases.iter().find(|b| b.case == case.case) else {
            return Err(format!(
                "case {:?} is not in the baseline (new or renamed: refresh the baseline)",
                case.case
            ));
        };
        let (mine, theirs): (Vec<_>, Vec<_>) =
            (case.counters.keys().collect(), b.counters.keys().collect());
        if mine != theirs {
            return Err(format!(
                "case {:?}: the baseline's counters {theirs:?} are not this build's {mine:?}",
                case.case
            ));
        }
    }
    if !subset {
        if let Some(b) = base
            .cases
            .iter()
            .find(|b| !now.cases.iter().any(|c| c.case == b.case))
        {
            return Err(format!(
                "baseline case {:?} was not run (removed or renamed?)",
                b.case
            ));
        }
    }
    Ok(())
}

/// Regressions of `now` against `base` (whose cases [`check_cases`] has
/// matched): any counter increase; any change in the deterministic results
/// (CPU allocation, tasks pending at the end), with both values; and wall
/// times beyond the tolerance (if one is given).
pub fn compare(
    base: &BenchReport,
    now: &BenchReport,
    time_tolerance_pct: Option<f64>,
) -> Vec<String> {
    let mut out = Vec::new();
    for case in &now.cases {
        let Some(b) = base.cases.iter().find(|b| b.case == case.case) else {
            continue;
        };
        for (k, v) in &case.counters {
            if let Some(bv) = b.counters.get(k) {
                if v > bv {
                    out.push(format!("{}: {k} {bv} -> {v} (+{})", case.case, v - bv));
                }
            }
        }
        // Results are deterministic: any change is reported, either way.
        if case.cpu_utilization.to_bits() != b.cpu_utilization.to_bits() {
            out.push(format!(
                "{}: result cpu_utilization {} -> {}",
                case.case, b.cpu_utilization, case.cpu_utilization
            ));
        }
        if case.pending_at_end != b.pending_at_end {
            out.push(format!(
                "{}: result pending_at_end {} -> {}",
                case.case, b.pending_at_end, case.pending_at_end
            ));
        }
        if let Some(tol) = time_tolerance_pct {
            let limit = b.wall_time_s * (1.0 + tol / 100.0);
            if case.wall_time_s > limit {
                out.push(format!(
                    "{}: wall_time_s {:.3} -> {:.3} (more than {tol}% slower)",
                    case.case, b.wall_time_s, case.wall_time_s
                ));
            }
        }
    }
    out
}

/// borg-cell-pack with every combination of the three techniques.
fn ablation(work: &Path) -> Result<Vec<CaseResult>, Error> {
    let mut rows = Vec::new();
    let switch = |b: bool| if b { "on" } else { "off" };
    for i in 0..8u8 {
        let (cache, equiv, random) = (switch(i & 4 == 0), switch(i & 2 == 0), switch(i & 1 == 0));
        let label = format!("pack cache={cache} equiv={equiv} random={random}");
        eprintln!("bench: {label}");
        let flags = [
            "--score-cache",
            cache,
            "--equivalence-classes",
            equiv,
            "--relaxed-randomization",
            random,
        ];
        let dir = format!("pack-{cache}-{equiv}-{random}");
        let mut r = run_case(work, &dir, "borg-cell-pack", &flags)?;
        r.case = label;
        rows.push(r);
    }
    Ok(rows)
}

fn print_table(rows: &[CaseResult]) {
    println!(
        "{:<34} {:>9} {:>12} {:>12} {:>9} {:>14} {:>12} {:>8} {:>8}",
        "case",
        "wall_s",
        "events/s",
        "placed/s",
        "rss_mib",
        "feas_checks",
        "scores",
        "cpu_util",
        "pending"
    );
    for r in rows {
        let c = |k: &str| r.counters.get(k).copied().unwrap_or(0);
        println!(
            "{:<34} {:>9.3} {:>12.0} {:>12.0} {:>9.1} {:>14} {:>12} {:>8.4} {:>8}",
            r.case,
            r.wall_time_s,
            r.events_per_s,
            r.placements_per_s,
            r.peak_rss_mib.unwrap_or(f64::NAN),
            c("feasibility_checks"),
            c("scores_computed"),
            r.cpu_utilization,
            r.pending_at_end
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(checks: u64, wall: f64) -> BenchReport {
        BenchReport {
            version: "x".into(),
            cases: vec![CaseResult {
                case: "c".into(),
                wall_time_s: wall,
                events_per_s: 0.0,
                placements_per_s: 0.0,
                peak_rss_mib: None,
                counters: [("feasibility_checks".to_string(), checks)].into(),
                cpu_utilization: 0.0,
                pending_at_end: 0,
            }],
        }
    }

    #[test]
    fn counters_compare_exactly_times_with_tolerance() {
        let base = report(100, 1.0);
        assert!(compare(&base, &report(100, 5.0), None).is_empty());
        assert!(compare(&base, &report(99, 1.0), None).is_empty());
        let r = compare(&base, &report(101, 1.0), None);
        assert_eq!(r, vec!["c: feasibility_checks 100 -> 101 (+1)"]);
        // 10 % tolerance: 1.09 s passes, 1.11 s does not.
        assert!(compare(&base, &report(100, 1.09), Some(10.0)).is_empty());
        assert_eq!(compare(&base, &report(100, 1.11), Some(10.0)).len(), 1);
    }
}
