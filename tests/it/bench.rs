//! `borgsim bench`: a baseline JSON, compared exactly on counters and
//! results, and on the fastest of repeated runs' times.

use super::{borgsim, text};
use std::fs;

#[test]
fn baseline_comparison_flags_a_counter_increase() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = borgsim(
        d,
        &["bench", "--case", "fragmentation", "--json", "base.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("fragmentation") && stdout.contains("feas_checks"),
        "{stdout}"
    );
    let base: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("base.json")).unwrap()).unwrap();
    let checks = base["cases"][0]["counters"]["feasibility_checks"]
        .as_u64()
        .unwrap();
    assert!(checks > 0);

    // The same code against its own baseline: no regression.
    let out = borgsim(
        d,
        &[
            "bench",
            "--case",
            "fragmentation",
            "--baseline",
            "base.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 regression(s)"));

    // A baseline that did one check less: today's run is a regression.
    let mut lowered = base.clone();
    lowered["cases"][0]["counters"]["feasibility_checks"] = (checks - 1).into();
    fs::write(
        d.join("lowered.json"),
        serde_json::to_vec(&lowered).unwrap(),
    )
    .unwrap();
    let out = borgsim(
        d,
        &[
            "bench",
            "--case",
            "fragmentation",
            "--baseline",
            "lowered.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "REGRESSION fragmentation: feasibility_checks {} -> {checks} (+1)",
        checks - 1
    );
    assert!(
        text(&out.stdout).contains(&expected),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn unknown_case_and_bad_baseline_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = borgsim(dir.path(), &["bench", "--case", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown case \"nope\""));
    fs::write(dir.path().join("bad.json"), "{\"cases\": 3}").unwrap();
    let out = borgsim(
        dir.path(),
        &["bench", "--case", "fragmentation", "--baseline", "bad.json"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad.json: not a bench report"));
}

/// A baseline that compares nothing cannot pass: no cases, or a case
/// renamed, is an error (exit 2); a change in a deterministic result is
/// reported with both values (exit 1).
#[test]
fn a_baseline_must_compare_something_and_results_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = borgsim(
        d,
        &["bench", "--case", "fragmentation", "--json", "base.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let base: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("base.json")).unwrap()).unwrap();
    let against = |name: &str, v: &serde_json::Value| {
        fs::write(d.join(name), serde_json::to_vec(v).unwrap()).unwrap();
        borgsim(d, &["bench", "--case", "fragmentation", "--baseline", name])
    };
    let mut empty = base.clone();
    empty["cases"] = serde_json::json!([]);
    let out = against("empty.json", &empty);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("the baseline has no cases"),
        "{}",
        text(&out.stderr)
    );

    let mut renamed = base.clone();
    renamed["cases"][0]["case"] = "fragmentation-old".into();
    let out = against("renamed.json", &renamed);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("case \"fragmentation\" is not in the baseline"),
        "{}",
        text(&out.stderr)
    );

    // A baseline from before results were compared: refused, not passed.
    let mut old = base.clone();
    old["cases"][0].as_object_mut().unwrap().remove("results");
    let out = against("old.json", &old);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("the baseline has no results"),
        "{}",
        text(&out.stderr)
    );

    // One task more pending, or one eviction more, in the baseline than
    // today: changed results, each reported with both values.
    let results = &base["cases"][0]["results"];
    let pending = results["tasks.pending_at_end"].as_u64().unwrap();
    let evicted = results["tasks.evicted"].as_u64().unwrap();
    let mut changed = base.clone();
    changed["cases"][0]["results"]["tasks.pending_at_end"] = (pending + 1).into();
    changed["cases"][0]["results"]["tasks.evicted"] = (evicted + 1).into();
    let out = against("changed.json", &changed);
    assert_eq!(out.status.code(), Some(1));
    for want in [
        format!(
            "REGRESSION fragmentation: result tasks.pending_at_end {} -> {pending}",
            pending + 1
        ),
        format!(
            "REGRESSION fragmentation: result tasks.evicted {} -> {evicted}",
            evicted + 1
        ),
    ] {
        assert!(text(&out.stdout).contains(&want), "{}", text(&out.stdout));
    }
}

/// Times are compared by default: the least CPU time of the repeats
/// against the baseline's, beyond a tolerance and a slack; `--no-time-check`
/// turns that off. No timing is asserted here: the baseline claims 1 µs,
/// which no run can match.
#[test]
fn cpu_times_are_compared_by_default_least_of_the_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let case = ["bench", "--case", "fragmentation", "--repeat", "2"];
    let out = borgsim(d, &[&case[..], &["--json", "base.json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut base: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("base.json")).unwrap()).unwrap();
    assert_eq!(base["repeat"], 2);
    let c = &base["cases"][0];
    for (least, all) in [
        ("wall_time_s", "wall_times_s"),
        ("cpu_time_s", "cpu_times_s"),
    ] {
        let times: Vec<f64> = serde_json::from_value(c[all].clone()).unwrap();
        assert_eq!(times.len(), 2, "{all}");
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(c[least].as_f64(), Some(min), "{least}");
    }

    base["cases"][0]["cpu_time_s"] = 0.000001.into();
    fs::write(d.join("fast.json"), base.to_string()).unwrap();
    base["cases"][0]["cpu_time_s"] = serde_json::Value::Null;
    fs::write(d.join("old.json"), base.to_string()).unwrap();
    let against = |name: &str, extra: &[&str]| {
        let args = [
            &case[..],
            &["--baseline", name, "--time-slack-ms", "0"],
            extra,
        ]
        .concat();
        borgsim(d, &args)
    };
    let out = against("fast.json", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("REGRESSION fragmentation: cpu_time_s 0.000 -> "),
        "{}",
        text(&out.stdout)
    );
    let out = against("fast.json", &["--no-time-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A baseline without CPU times cannot compare them: refused, not passed.
    let out = against("old.json", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("the baseline has no cpu_time_s"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        against("old.json", &["--no-time-check"]).status.code(),
        Some(0)
    );

    let out = borgsim(d, &["bench", "--case", "fragmentation", "--repeat", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `churn-10k-faults` is churn-10k's cell, scheduler and workload with
/// reclamation and faults on, and a horizon (recurring faults need one);
/// `bench` knows it and the month (their runs take minutes: not run here).
#[test]
fn the_faults_case_is_churn_10k_plus_reclamation_and_faults_and_bench_knows_it() {
    use borgsim::scenario::{ReclamationConfig, Scenario};
    let builtin = |name: &str| Scenario::builtin(name).unwrap().unwrap();
    let (plain, faults) = (builtin("churn-10k"), builtin("churn-10k-faults"));
    for (what, a, b) in [
        (
            "cell",
            format!("{:?}", plain.cell),
            format!("{:?}", faults.cell),
        ),
        (
            "scheduler",
            format!("{:?}", plain.scheduler),
            format!("{:?}", faults.scheduler),
        ),
        (
            "workload",
            format!("{:?}", plain.workload),
            format!("{:?}", faults.workload),
        ),
    ] {
        assert_eq!(a, b, "{what}");
    }
    assert_eq!((plain.seed, plain.duration_s), (1, None));
    assert_eq!((faults.seed, faults.duration_s), (1, Some(5400)));
    let rec: &ReclamationConfig = faults.reclamation.as_ref().unwrap();
    assert_eq!(format!("{:?}", rec.mode), "On");
    assert!(rec.usage.is_some(), "the batch tasks need a usage model");
    let f = faults.faults.as_ref().unwrap();
    assert!(!f.machine_failures.is_empty() && !f.task_crashes.is_empty());
    assert!(!f.outages.is_empty() && !f.unreachable.is_empty());
    assert!(f.maintenance.is_some() && f.reschedule_limit.is_some());

    let dir = tempfile::tempdir().unwrap();
    let out = borgsim(dir.path(), &["validate", "churn-10k-faults"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = borgsim(dir.path(), &["bench", "--case", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for case in ["churn-10k-faults", "google2011-month"] {
        assert!(err.contains(&format!(" {case},")), "{err}");
    }
}
