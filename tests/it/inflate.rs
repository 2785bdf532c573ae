//! Workload inflation (`borgsim inflate`, `borgsim::inflate`) on small
//! static cells: the hand-worked growth of an even cell, vertical and
//! horizontal; the answer fits and one step more does not, re-judged
//! through the library; horizontal trials draw differently and
//! reproducibly; the thread count changes no byte; the page shows
//! inflation.json exactly; bad input exits 2.

use super::compact::fixture;
use super::report::{data_cells, summary_value};
use super::{borgsim, planned, planning, root, text};
use borgsim::compact::fit::{FitRule, WorkloadKind};
use borgsim::inflate::Mode;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::{build_simulation_with, workload_submitted, BuildOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `borgsim inflate <scenario> --out <out> -q --no-plots <args>`.
fn inflate(scenario: &Path, out: &Path, args: &[&str]) -> Output {
    planning(&["inflate"], scenario, out, args)
}

/// inflation.json of an inflation that must succeed.
fn inflated(scenario: &Path, args: &[&str]) -> Value {
    planned(&["inflate"], scenario, args, "inflation.json")
}

fn trials(c: &Value) -> &Vec<Value> {
    c["per_trial"].as_array().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

#[test]
fn vertical_inflation_of_an_even_cell_is_the_hand_worked_growth() {
    // inflate-even.toml: 10 machines of 8,000 milli-cores, 60 tasks of
    // 1,000. Six a machine hold while 1000 + g ≤ ⌊8000 / 6⌋ = 1333: the
    // cell takes 333 ‰, and at 334 ‰ a machine holds 5 (6 × 1334 = 8004),
    // so 10 of the 60 tasks stay unplaced.
    let c = inflated(
        &fixture("inflate-even.toml"),
        &["--mode", "vertical", "--resolution-permille", "1"],
    );
    assert_eq!(c["trials"], 1);
    let t = &trials(&c)[0];
    assert_eq!(
        (u(&t["answer_permille"]), u(&t["first_unfit_permille"])),
        (333, 334)
    );
    let at_334 = t["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["permille"] == 334)
        .expect("the first failure was probed");
    assert_eq!(
        (at_334["fits"].clone(), u(&at_334["unplaced_tasks"])),
        (false.into(), 10)
    );
    // The answer adds no task and 333 milli-cores to each of the 60:
    // 19,980; memory ⌈1024 × 1.333⌉ = 1,365 MiB a task, 341 more each.
    let a = &c["answer"];
    assert_eq!(u(&a["permille"]), 333);
    assert_eq!(u(&a["added"]["tasks"]), 0);
    assert_eq!(u(&a["added"]["cpu_milli"]), 60 * 333);
    assert_eq!(u(&a["added"]["mem_mib"]), 60 * 341);
    // At the default resolution (10 ‰) the answer is the step below: 330.
    let c = inflated(&fixture("inflate-even.toml"), &["--mode", "vertical"]);
    assert_eq!(u(&c["answer"]["permille"]), 330);
    assert_eq!(u(&trials(&c)[0]["first_unfit_permille"]), 340);
}

#[test]
fn horizontal_inflation_of_an_even_cell_stops_at_eighty_tasks() {
    // The same cell holds 8 tasks of 1,000 milli-cores a machine, 80 in
    // all: each trial's answer submits at most 80 tasks, and its next step
    // (the same trial's draws) more than 80.
    let path = fixture("inflate-even.toml");
    let c = inflated(&path, &["--mode", "horizontal", "--trials", "6"]);
    let sc = Scenario::load(&path).unwrap();
    let mut answers = Vec::new();
    for t in trials(&c) {
        let trial = u(&t["trial"]) as u32;
        let (fit, unfit) = (u(&t["answer_permille"]), u(&t["first_unfit_permille"]));
        assert_eq!(unfit, fit + 10);
        assert!(u(&t["submitted"]["tasks"]) <= 80, "{t}");
        let next = workload_submitted(&sc, Mode::Horizontal.edit(unfit as u32, trial)).unwrap();
        assert!(
            next.tasks > 80,
            "trial {trial}: {} tasks at {unfit} ‰",
            next.tasks
        );
        answers.push(fit);
    }
    // The trials draw differently: not every answer is the same.
    answers.sort_unstable();
    answers.dedup();
    assert!(answers.len() > 1, "{answers:?}");
}

/// The verdict on the scenario inflated by `permille` in trial `trial`,
/// by the rule inflation applies (the library, independently of the
/// command).
fn fits_at(sc: &Scenario, mode: Mode, permille: u32, trial: u32) -> bool {
    let whole = borgsim::whole_cell(sc).unwrap();
    let rule = FitRule::new(
        &sc.compaction.unwrap_or_default(),
        WorkloadKind::of(sc),
        whole.len(),
    );
    let mut sim = build_simulation_with(
        sc,
        &BuildOptions {
            relax_above_tasks: rule.relax_above_tasks,
            workload: mode.edit(permille, trial),
            ..BuildOptions::default()
        },
    )
    .unwrap();
    sim.run(&mut |_| {}).unwrap();
    rule.judge(&Summary::of(sc, &sim)).fits
}

#[test]
fn the_answer_fits_and_one_step_more_does_not() {
    let path = fixture("static.toml");
    let sc = Scenario::load(&path).unwrap();
    for (mode, args) in [
        (
            Mode::Horizontal,
            &["--mode", "horizontal", "--trials", "3"][..],
        ),
        (
            Mode::Vertical,
            &["--mode", "vertical", "--resolution-permille", "5"],
        ),
    ] {
        let c = inflated(&path, args);
        let step = u(&c["resolution_permille"]) as u32;
        for t in trials(&c) {
            let trial = u(&t["trial"]) as u32;
            let a = u(&t["answer_permille"]) as u32;
            assert_eq!(u(&t["first_unfit_permille"]) as u32, a + step);
            assert!(
                fits_at(&sc, mode, a, trial),
                "{mode:?} trial {trial}: {a} fits"
            );
            assert!(
                !fits_at(&sc, mode, a + step, trial),
                "{mode:?} trial {trial}: {} does not",
                a + step
            );
        }
    }
}

#[test]
fn horizontal_trials_are_reproducible_and_the_thread_count_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = fixture("static.toml");
    let run = |out: &str, threads: &str| {
        let out = dir.path().join(out);
        let o = borgsim(
            &root(),
            &[
                "inflate",
                scenario.to_str().unwrap(),
                "--mode",
                "horizontal",
                "--trials",
                "4",
                "-q",
                "--threads",
                threads,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let read = |f: &str| std::fs::read(out.join(f)).unwrap();
        (read("inflation.json"), read("report.html"))
    };
    let one = run("one", "1");
    assert_eq!(one, run("two", "2"), "--threads 1 and 2");
    assert_eq!(one, run("again", "1"), "the same run twice");
    // Another seed, other draws.
    let c: Value = serde_json::from_slice(&one.0).unwrap();
    let other = inflated(
        &scenario,
        &["--mode", "horizontal", "--trials", "4", "--seed", "8"],
    );
    assert_ne!(c["per_trial"], other["per_trial"]);
}

#[test]
fn the_page_shows_inflation_json_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i");
    let o = inflate(
        &fixture("static.toml"),
        &out,
        &["--mode", "horizontal", "--trials", "3"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let c: Value =
        serde_json::from_slice(&std::fs::read(out.join("inflation.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let cells = data_cells(&html);
    assert!(cells.len() >= 18, "{cells:?}");
    for (key, value) in cells {
        assert_eq!(summary_value(&c, &key), Some(value), "{key}");
    }
    for id in ["scenario", "inflation", "fig-inflation", "inflation-trials"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    assert!(html.contains(
        "Growth the cell takes, horizontal inflation, 3 trials — compact-static, best_fit, seed 7"
    ));
    let run: Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["completed"], true);
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i");
    let stat = fixture("static.toml");
    let trace = root().join("tests/fixtures/scenarios/google2011-reschedule.toml");
    let quickstart = PathBuf::from("quickstart");
    for (scenario, args, wanted) in [
        (&stat, &["--mode", "diagonal"][..], "diagonal"),
        (&stat, &[][..], "--mode"),
        (&stat, &["--mode", "vertical", "--trials", "3"], "--trials"),
        (
            &stat,
            &["--mode", "horizontal", "--trials", "0"],
            "--trials",
        ),
        (
            &stat,
            &["--mode", "horizontal", "--percentile", "0"],
            "--percentile",
        ),
        (
            &stat,
            &["--mode", "vertical", "--resolution-permille", "0"],
            "--resolution-permille",
        ),
        (
            &stat,
            &["--mode", "vertical", "--picky-share", "2"],
            "--picky-share",
        ),
        // The cell takes more than 2 %: the cap is reached still fitting.
        (
            &stat,
            &["--mode", "vertical", "--cap-permille", "20"],
            "--cap-permille",
        ),
        // The largest u32 would overflow the grown requests' arithmetic.
        (
            &stat,
            &[
                "--mode",
                "vertical",
                "--cap-permille",
                "4294967295",
                "--resolution-permille",
                "4294967295",
            ],
            "--cap-permille",
        ),
        (&trace, &["--mode", "horizontal"], "trace replay"),
        // quickstart leaves work pending on its own cell.
        (
            &quickstart,
            &["--mode", "vertical"],
            "does not fit its whole cell even uninflated",
        ),
    ] {
        let o = inflate(scenario, &out, args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: no output without an answer");
    }
}

/// A cap of 0 is refused naming the cap, not the resolution.
#[test]
fn a_cap_of_nothing_names_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let scen = super::root().join("tests/fixtures/compact/static.toml");
    let o = super::borgsim(
        dir.path(),
        &[
            "inflate",
            scen.to_str().unwrap(),
            "--mode",
            "horizontal",
            "--cap-permille",
            "0",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        super::text(&o.stderr).contains("--cap-permille"),
        "{}",
        super::text(&o.stderr)
    );
}
