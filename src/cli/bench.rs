//! `borgsim bench`: a fixed suite of built-in scenarios, timed, with the
//! scheduler's deterministic work counters and results, and a comparison
//! against a baseline that CI can trust.
//!
//! Each case runs in a child `borgsim run` process (this same binary), so
//! its times and peak RSS are its own. The child runs in an empty
//! scratch directory, so a case's name always means the built-in scenario
//! (never a file of that name where `bench` was started); built-ins and
//! their trace files are compiled in, so the suite runs from a binary
//! copied anywhere. Cases run `--repeat` times, in rounds (every case once,
//! then again), so a burst of load from elsewhere slows one run of several
//! cases rather than every run of one. A case that is not built in (the
//! Google-2011-shaped month under `--full`) is prepared once before any
//! run, untimed, in the same scratch directory; which cases run, and that
//! preparation, are in `cases.rs`. What is compared, and how, is in
//! `compare.rs`.

mod cases;
mod compare;

use borgsim::error::Error;
use borgsim::metrics::report::write_atomic;
use cases::Case;
use clap::Args;
use compare::{BenchReport, CaseResult, TimeRule};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The defaults' false-alarm rate is measured in reports/BENCHMARKS.md
/// ("`bench --baseline` false alarms").
///
/// Runs per case by default (the least CPU time of them is compared).
pub const DEFAULT_REPEAT: u32 = 3;
/// A least CPU time more than this many percent above the baseline's…
pub const DEFAULT_TIME_TOLERANCE_PCT: f64 = 25.0;
/// …and more than this many milliseconds above it is a regression (the
/// smallest cases take a few milliseconds, where percentages are noise).
pub const DEFAULT_TIME_SLACK_MS: u64 = 50;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Compare with an earlier `--json` file; exit 1 on any regression.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Run each case N times; its times are the least of the runs', and
    /// its counters and results must be the same in every run.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REPEAT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// With --baseline: a CPU time more than PCT percent (and more than
    /// --time-slack-ms) above the baseline's is a regression.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_TIME_TOLERANCE_PCT,
          value_parser = parse_pct)]
    pub time_tolerance: f64,
    /// With --baseline: a CPU time at most this many milliseconds above
    /// the baseline's is never a regression.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIME_SLACK_MS)]
    pub time_slack_ms: u64,
    /// With --baseline: compare counters and results only, not times (for
    /// a baseline made on another machine).
    #[arg(long)]
    pub no_time_check: bool,
    /// Run only these cases (repeatable): a label of the suite
    /// (`openb-gpu_keep_whole`, `churn-100k`, `google2011-month`, …) or any
    /// built-in scenario.
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
    /// Include the largest cases (churn-100k: 10 M tasks; a synthetic
    /// Google-2011-shaped month: 23 M tasks, its 4.2 GB trace written to
    /// the scratch directory first; minutes, GBs).
    #[arg(long)]
    pub full: bool,
    /// Time borg-cell-pack with each combination of the scale techniques.
    #[arg(long)]
    pub ablation: bool,
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
    // Everything that can be refused is refused before anything runs.
    let base = args.baseline.as_deref().map(read_report).transpose()?;
    let cases = if args.ablation {
        cases::ablation_cases()
    } else {
        cases::select(&args.cases, args.full)?
    };
    let work = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    let (results, problems) = run_suite(work.path(), &cases, args.repeat)?;
    print_table(&results);
    let ratios = cases::ratios(&results);
    for r in &ratios {
        println!("{}", r.line());
    }
    let report = BenchReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        repeat: args.repeat,
        cases: results,
        ratios,
    };
    if let Some(path) = &args.json {
        let mut bytes = serde_json::to_vec_pretty(&report).expect("serialisable");
        bytes.push(b'\n');
        write_atomic(path, &bytes)?;
    }
    // Runs that disagree are reported even if the baseline is refused.
    for p in &problems {
        println!("REGRESSION {p}");
    }
    let mut count = problems.len();
    match (&base, &args.baseline) {
        (Some(base), Some(path)) => {
            count += against_baseline(args, base, path, &report)?;
            println!("{count} regression(s) against {}", path.display());
        }
        _ if count > 0 => println!("{count} regression(s)"),
        _ => {}
    }
    Ok(if count == 0 { 0 } else { 1 })
}

/// Compares `report` with the baseline `base` read from `path`, printing
/// each regression; returns how many. A baseline that cannot compare
/// everything is an error.
fn against_baseline(
    args: &BenchArgs,
    base: &BenchReport,
    path: &Path,
    report: &BenchReport,
) -> Result<usize, Error> {
    let times = !args.no_time_check;
    let subset = !args.cases.is_empty();
    compare::check_cases(base, report, subset, times).map_err(|message| Error::Invalid {
        path: path.to_path_buf(),
        key: "cases".into(),
        message,
    })?;
    let rule = times.then_some(TimeRule {
        pct: args.time_tolerance,
        slack_s: args.time_slack_ms as f64 / 1000.0,
    });
    let found = compare::compare(base, report, rule);
    for p in &found {
        println!("REGRESSION {p}");
    }
    Ok(found.len())
}

/// Runs every case `repeat` times, in rounds; returns each case's combined
/// figures and any disagreement between its runs.
fn run_suite(
    work: &Path,
    cases: &[Case],
    repeat: u32,
) -> Result<(Vec<CaseResult>, Vec<String>), Error> {
    let cwd = work.join("cwd");
    std::fs::create_dir_all(&cwd).map_err(|source| Error::Write {
        path: cwd.clone(),
        source,
    })?;
    // Preparations (a synthetic trace) are written once, before any case
    // runs, outside the child processes: never timed.
    let mut scenarios = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = work.join(format!("case-{i}-prepared"));
        cases::prepare(&dir, case)?;
        scenarios.push(case.run_arg(&dir));
    }
    let mut runs: Vec<Vec<CaseResult>> = vec![Vec::new(); cases.len()];
    for round in 1..=repeat {
        for (i, case) in cases.iter().enumerate() {
            eprintln!("bench: {} (run {round} of {repeat})", case.label);
            let out = work.join(format!("case-{i}-run-{round}"));
            runs[i].push(run_once(&cwd, &out, case, &scenarios[i])?);
            // Outputs can be large (time series); only the summary is kept.
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    let mut results = Vec::new();
    let mut problems = Vec::new();
    for r in runs {
        let (result, p) = compare::combine(r);
        results.push(result);
        problems.extend(p);
    }
    Ok((results, problems))
}

/// One run of `case` (its `scenario`: a built-in's name or a prepared
/// file) in a child process started in `cwd`, writing to `out`.
fn run_once(cwd: &Path, out: &Path, case: &Case, scenario: &Path) -> Result<CaseResult, Error> {
    let exe = std::env::current_exe().map_err(|source| Error::Read {
        path: PathBuf::from("borgsim"),
        source,
    })?;
    let status = Command::new(exe)
        .current_dir(cwd)
        .arg("run")
        .arg(scenario)
        .args(["--quiet", "--no-plots", "--out"])
        .arg(out)
        .args(&case.flags)
        .status()
        .map_err(|source| Error::Read {
            path: scenario.to_path_buf(),
            source,
        })?;
    if !status.success() {
        return Err(Error::Invalid {
            path: scenario.to_path_buf(),
            key: "case".into(),
            message: format!("the run of case {:?} failed ({status})", case.label),
        });
    }
    let summary: serde_json::Value = read_json(&out.join("summary.json"))?;
    let run: serde_json::Value = read_json(&out.join("run.json"))?;
    Ok(case_result(&case.label, &summary, &run))
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
    let (counters, results) = compare::split_summary(summary);
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
        wall_times_s: vec![wall],
        cpu_time_s: run["cpu_time_s"].as_f64(),
        cpu_times_s: run["cpu_time_s"].as_f64().into_iter().collect(),
        events_per_s: per_s(counters["events_processed"]),
        placements_per_s: per_s(counters.get("placements").copied().unwrap_or(0)),
        peak_rss_mib: run["peak_rss_mib"].as_f64(),
        counters,
        results,
    }
}

fn parse_pct(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("expected a percentage ≥ 0, got {s:?}")),
    }
}

fn print_table(rows: &[CaseResult]) {
    println!(
        "{:<34} {:>8} {:>8} {:>9} {:>12} {:>12} {:>9} {:>14} {:>12} {:>8} {:>8}",
        "case",
        "wall_s",
        "cpu_s",
        "cpu_max_s",
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
        let result = |k: &str| r.results.get(k).cloned().unwrap_or_default();
        let cpu_s = r.cpu_time_s.unwrap_or(f64::NAN);
        let cpu_max_s = r.cpu_times_s.iter().copied().fold(cpu_s, f64::max);
        println!(
            "{:<34} {:>8.3} {:>8.3} {:>9.3} {:>12.0} {:>12.0} {:>9.1} {:>14} {:>12} {:>8.4} {:>8}",
            r.case,
            r.wall_time_s,
            cpu_s,
            cpu_max_s,
            r.events_per_s,
            r.placements_per_s,
            r.peak_rss_mib.unwrap_or(f64::NAN),
            c("feasibility_checks"),
            c("scores_computed"),
            result("utilization.cpu.total").as_f64().unwrap_or(f64::NAN),
            result("tasks.pending_at_end").to_string()
        );
    }
}
