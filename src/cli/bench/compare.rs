//! What a bench case measured, and the comparisons that make `bench
//! --baseline` a check CI can trust.
//!
//! Two kinds of figures, compared differently:
//! - **Deterministic** ones depend only on the code and the scenario: the
//!   scheduler's work counters (any increase is a regression) and the
//!   results — everything else `summary.json` reports, flattened to
//!   `tasks.pending_at_end`, `evictions.preemption`, `utilization.gpu.total`,
//!   `gpu_packing.…` (any change, either way, is a regression, reported with
//!   both values). They must also agree across a case's repeats.
//! - **Time** varies with the machine and its load. What is compared is the
//!   run's CPU time (`run.json`'s `cpu_time_s`), which other processes on a
//!   shared machine inflate far less than wall time (they take turns on the
//!   cores; wall time counts the waiting, CPU time does not). A case runs
//!   several times and keeps its smallest (interference only ever adds),
//!   and only a slowdown beyond a relative tolerance *and* an absolute slack
//!   counts. Wall times are kept and shown, not compared.
//!
//! A baseline that cannot compare everything is refused (exit 2) rather than
//! passed: no cases, a case it lacks, counters or results that differ in
//! name (an older baseline without results says so), or no CPU times when
//! times are compared.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One case's figures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub case: String,
    /// The fastest of the repeats.
    pub wall_time_s: f64,
    /// Every repeat's wall time, in the order run.
    #[serde(default)]
    pub wall_times_s: Vec<f64>,
    /// The smallest CPU time of the repeats (what is compared); `None` in
    /// older baselines, and where the platform has no process CPU clock.
    #[serde(default)]
    pub cpu_time_s: Option<f64>,
    /// Every repeat's CPU time, in the order run.
    #[serde(default)]
    pub cpu_times_s: Vec<f64>,
    pub events_per_s: f64,
    pub placements_per_s: f64,
    /// The largest over the repeats.
    pub peak_rss_mib: Option<f64>,
    /// Deterministic: compared exactly against a baseline.
    pub counters: BTreeMap<String, u64>,
    /// Deterministic: every other figure of `summary.json`, by dotted key.
    #[serde(default)]
    pub results: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BenchReport {
    pub version: String,
    /// How many times each case ran (1 in baselines older than `--repeat`).
    #[serde(default = "one")]
    pub repeat: u32,
    pub cases: Vec<CaseResult>,
    /// One case's least CPU time over another's, for each pair of the
    /// suite that measures a feature's cost and ran (absent in older
    /// reports; reported, never compared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratios: Vec<super::cases::CpuRatio>,
}

fn one() -> u32 {
    1
}

/// When a case's smallest CPU time is a regression: more than `pct` percent
/// *and* more than `slack_s` seconds above the baseline's.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TimeRule {
    pub pct: f64,
    pub slack_s: f64,
}

/// The deterministic figures of a run's `summary.json`: the work counters
/// (`events_processed` and the `scheduler` section) and everything else as
/// results, keyed by dotted path.
pub fn split_summary(
    summary: &serde_json::Value,
) -> (BTreeMap<String, u64>, BTreeMap<String, serde_json::Value>) {
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
    let mut results = BTreeMap::new();
    if let Some(obj) = summary.as_object() {
        for (k, v) in obj {
            if k != "scheduler" && k != "events_processed" {
                flatten(k, v, &mut results);
            }
        }
    }
    (counters, results)
}

fn flatten(key: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                flatten(&format!("{key}.{k}"), x, out);
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{key}.{i}"), x, out);
            }
        }
        _ => {
            out.insert(key.to_string(), v.clone());
        }
    }
}

/// One case from its repeats (at least one): the smallest wall and CPU
/// times, the largest peak RSS, and the deterministic figures of the first
/// run. Each
/// later run whose counters or results differ from the first's is reported
/// (they are deterministic: a difference is a bug).
pub fn combine(runs: Vec<CaseResult>) -> (CaseResult, Vec<String>) {
    let n = runs.len();
    let mut runs = runs.into_iter();
    let mut best = runs.next().expect("at least one run");
    let mut problems = Vec::new();
    for (i, r) in runs.enumerate() {
        let what = format!(
            "not deterministic: run {} of {n} differs from run 1:",
            i + 2
        );
        for d in differences(&best, &r) {
            problems.push(format!("{}: {what} {d}", best.case));
        }
        best.wall_times_s.extend(r.wall_times_s);
        best.cpu_times_s.extend(r.cpu_times_s);
        best.peak_rss_mib = merge(best.peak_rss_mib, r.peak_rss_mib, f64::max);
        best.cpu_time_s = merge(best.cpu_time_s, r.cpu_time_s, f64::min);
        if r.wall_time_s < best.wall_time_s {
            best.wall_time_s = r.wall_time_s;
            best.events_per_s = r.events_per_s;
            best.placements_per_s = r.placements_per_s;
        }
    }
    (best, problems)
}

/// `f` of both, or the one there is.
fn merge(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Every counter or result that differs between `a` and `b`, as
/// `<name> <a> -> <b>` (a name only one has shows `(none)` for the other).
fn differences(a: &CaseResult, b: &CaseResult) -> Vec<String> {
    let counters = changed(&a.counters, &b.counters, |v| v.to_string());
    let results = changed(&a.results, &b.results, |v| v.to_string());
    let results = results.into_iter().map(|r| format!("result {r}"));
    counters.into_iter().chain(results).collect()
}

fn changed<V: PartialEq>(
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    show: impl Fn(&V) -> String,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&V>| v.map_or("(none)".to_string(), &show);
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k} {} -> {}", show(a.get(k)), show(b.get(k))))
        .collect()
}

/// A baseline must compare something: it has cases, every case run is in
/// it under the same name, with the same counters and results (and CPU
/// times on both sides if `times` are compared), and (unless `--case` chose
/// a subset) every case of it was run. Otherwise the message says what is
/// missing (the caller exits 2: a baseline that compares nothing never
/// passes).
pub fn check_cases(
    base: &BenchReport,
    now: &BenchReport,
    subset: bool,
    times: bool,
) -> Result<(), String> {
    if base.cases.is_empty() {
        return Err("the baseline has no cases".into());
    }
    if let Some((i, b)) = base
        .cases
        .iter()
        .enumerate()
        .find(|(i, b)| base.cases[..*i].iter().any(|a| a.case == b.case))
    {
        return Err(format!(
            "the baseline lists case {:?} twice (the second at position {}): which one counts?",
            b.case,
            i + 1
        ));
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
        same_result_keys(b, case)?;
        if times {
            both_cpu_times(b, case)?;
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

/// The baseline's case `b` has the results `now` has, no more, no fewer.
fn same_result_keys(b: &CaseResult, now: &CaseResult) -> Result<(), String> {
    if b.results.is_empty() {
        return Err(format!(
            "case {:?}: the baseline has no results (written by a borgsim that compared \
             only counters): refresh the baseline",
            now.case
        ));
    }
    let only = |x: &CaseResult, y: &CaseResult| -> Vec<String> {
        let keys = x.results.keys().filter(|k| !y.results.contains_key(*k));
        keys.cloned().collect()
    };
    let (missing, extra) = (only(now, b), only(b, now));
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    Err(format!(
        "case {:?}: results not in the baseline: {missing:?}; in the baseline but not \
         reported by this build: {extra:?} (refresh the baseline)",
        now.case
    ))
}

fn both_cpu_times(b: &CaseResult, now: &CaseResult) -> Result<(), String> {
    let whose = match (b.cpu_time_s, now.cpu_time_s) {
        (Some(_), Some(_)) => return Ok(()),
        (None, _) => "the baseline has no cpu_time_s (written by an older borgsim)",
        (_, None) => "this platform reports no CPU time",
    };
    Err(format!(
        "case {:?}: {whose}: refresh the baseline, or compare without times \
         (--no-time-check)",
        now.case
    ))
}

/// Regressions of `now` against `base` (whose cases [`check_cases`] has
/// matched): any counter increase; any change in a result, either way, with
/// both values; and, with a `time` rule, wall times beyond it.
pub fn compare(base: &BenchReport, now: &BenchReport, time: Option<TimeRule>) -> Vec<String> {
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
        for r in changed(&b.results, &case.results, |v| v.to_string()) {
            out.push(format!("{}: result {r}", case.case));
        }
        let cpu = b.cpu_time_s.zip(case.cpu_time_s);
        if let (Some(rule), Some((old, new))) = (time, cpu) {
            if new > old * (1.0 + rule.pct / 100.0) && new - old > rule.slack_s {
                out.push(format!(
                    "{}: cpu_time_s {old:.3} -> {new:.3} (+{:.0}%; more than {}% and {:.3} s slower)",
                    case.case,
                    (new / old - 1.0) * 100.0,
                    rule.pct,
                    rule.slack_s
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A case whose CPU time is `wall` (and wall time 1 s more).
    fn case(checks: u64, wall: f64, pending: u64) -> CaseResult {
        CaseResult {
            case: "c".into(),
            wall_time_s: wall + 1.0,
            wall_times_s: vec![wall + 1.0],
            cpu_time_s: Some(wall),
            cpu_times_s: vec![wall],
            events_per_s: 0.0,
            placements_per_s: 0.0,
            peak_rss_mib: None,
            counters: [("feasibility_checks".to_string(), checks)].into(),
            results: [("tasks.pending_at_end".to_string(), json!(pending))].into(),
        }
    }

    fn report(checks: u64, wall: f64) -> BenchReport {
        BenchReport {
            version: "x".into(),
            repeat: 1,
            cases: vec![case(checks, wall, 3)],
            ratios: Vec::new(),
        }
    }

    const TEN_PCT: Option<TimeRule> = Some(TimeRule {
        pct: 10.0,
        slack_s: 0.05,
    });

    #[test]
    fn counters_compare_exactly_times_with_tolerance_and_slack() {
        let base = report(100, 1.0);
        assert!(compare(&base, &report(100, 5.0), None).is_empty());
        assert!(compare(&base, &report(99, 1.0), None).is_empty());
        let r = compare(&base, &report(101, 1.0), None);
        assert_eq!(r, vec!["c: feasibility_checks 100 -> 101 (+1)"]);
        // 10 % and 0.05 s: 1.09 s passes, 1.11 s does not.
        assert!(compare(&base, &report(100, 1.09), TEN_PCT).is_empty());
        let r = compare(&base, &report(100, 1.11), TEN_PCT);
        assert_eq!(r.len(), 1);
        assert!(
            r[0].starts_with("c: cpu_time_s 1.000 -> 1.110 (+11%"),
            "{r:?}"
        );
        // A 0.1 s case twice as slow is within the 0.05 s slack at 0.14 s,
        // not at 0.16 s.
        assert!(compare(&report(100, 0.1), &report(100, 0.14), TEN_PCT).is_empty());
        assert_eq!(
            compare(&report(100, 0.1), &report(100, 0.16), TEN_PCT).len(),
            1
        );
    }

    #[test]
    fn a_result_change_either_way_is_reported_with_both_values() {
        let base = report(100, 1.0);
        let mut now = report(100, 1.0);
        now.cases[0]
            .results
            .insert("tasks.pending_at_end".into(), json!(2));
        assert_eq!(
            compare(&base, &now, None),
            ["c: result tasks.pending_at_end 3 -> 2"]
        );
        now.cases[0]
            .results
            .insert("tasks.pending_at_end".into(), json!(3));
        assert!(compare(&base, &now, None).is_empty());
    }

    #[test]
    fn a_baseline_without_results_or_with_other_keys_is_refused() {
        let now = report(100, 1.0);
        let mut old = report(100, 1.0);
        old.cases[0].results.clear();
        let e = check_cases(&old, &now, false, false).unwrap_err();
        assert!(e.contains("the baseline has no results"), "{e}");
        let mut other = report(100, 1.0);
        other.cases[0].results = [("tasks.evicted".to_string(), json!(0))].into();
        let e = check_cases(&other, &now, false, false).unwrap_err();
        assert!(
            e.contains("[\"tasks.pending_at_end\"]") && e.contains("[\"tasks.evicted\"]"),
            "{e}"
        );
        assert_eq!(check_cases(&report(1, 9.0), &now, false, true), Ok(()));
    }

    #[test]
    fn comparing_times_needs_cpu_times_on_both_sides() {
        let now = report(100, 1.0);
        let mut old = report(100, 1.0);
        old.cases[0].cpu_time_s = None;
        let e = check_cases(&old, &now, false, true).unwrap_err();
        assert!(e.contains("the baseline has no cpu_time_s"), "{e}");
        assert_eq!(check_cases(&old, &now, false, false), Ok(()));
        let e = check_cases(&now, &old, false, true).unwrap_err();
        assert!(e.contains("this platform reports no CPU time"), "{e}");
    }

    #[test]
    fn repeats_keep_the_fastest_time_and_must_agree() {
        let mut slow_cpu = case(5, 1.9, 3);
        slow_cpu.wall_time_s = 2.2; // the fastest wall time, not the least CPU
        slow_cpu.wall_times_s = vec![2.2];
        let (c, problems) = combine(vec![case(5, 2.0, 3), case(5, 1.5, 3), slow_cpu]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.cpu_time_s, Some(1.5));
        assert_eq!(c.cpu_times_s, [2.0, 1.5, 1.9]);
        assert_eq!(c.wall_time_s, 2.2);
        assert_eq!(c.wall_times_s, [3.0, 2.5, 2.2]);
        let (_, problems) = combine(vec![case(5, 1.0, 3), case(5, 1.0, 3), case(6, 1.0, 4)]);
        assert_eq!(
            problems,
            [
                "c: not deterministic: run 3 of 3 differs from run 1: feasibility_checks 5 -> 6",
                "c: not deterministic: run 3 of 3 differs from run 1: result tasks.pending_at_end 3 -> 4",
            ]
        );
    }

    #[test]
    fn a_summary_splits_into_counters_and_flat_results() {
        let s = json!({
            "events_processed": 7,
            "scheduler": {"placements": 4, "feasibility_checks": 9},
            "tasks": {"pending_at_end": 1, "evicted": 2},
            "evictions": {},
            "gpu_packing": {"gpu_alloc_pct_at_demand_pct": {"50": 49.5}},
            "steady_state": null,
        });
        let (counters, results) = split_summary(&s);
        assert_eq!(
            counters.keys().collect::<Vec<_>>(),
            ["events_processed", "feasibility_checks", "placements"]
        );
        assert_eq!(
            results,
            [
                ("evictions".to_string(), json!({})),
                (
                    "gpu_packing.gpu_alloc_pct_at_demand_pct.50".to_string(),
                    json!(49.5)
                ),
                ("steady_state".to_string(), json!(null)),
                ("tasks.evicted".to_string(), json!(2)),
                ("tasks.pending_at_end".to_string(), json!(1)),
            ]
            .into()
        );
    }

    #[test]
    fn a_baseline_listing_a_case_twice_is_refused() {
        let mut base = report(100, 1.0);
        base.cases.push(case(100, 1.0, 3));
        let e = check_cases(&base, &report(100, 1.0), false, false).unwrap_err();
        assert!(e.contains("lists case \"c\" twice"), "{e}");
    }
}
