//! `borgsim bench`: a baseline JSON, compared exactly on counters.

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

    // One task fewer pending in the baseline than today: a changed result.
    let pending = base["cases"][0]["pending_at_end"].as_u64().unwrap();
    let mut changed = base.clone();
    changed["cases"][0]["pending_at_end"] = (pending + 1).into();
    let out = against("changed.json", &changed);
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "REGRESSION fragmentation: result pending_at_end {} -> {pending}",
        pending + 1
    );
    assert!(text(&out.stdout).contains(&want), "{}", text(&out.stdout));
}
