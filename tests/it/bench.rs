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
