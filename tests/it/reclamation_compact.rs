//! Compaction with reclamation (`borgsim experiment reclamation`, and
//! `borgsim compact` on a scenario with `[reclamation]` on), on two
//! hand-made static cells whose answers are worked out in their files
//! (`tests/fixtures/reclamation-compact/`): one where reclamation provably
//! saves machines (6 off, 4 on, in every trial), one where overcommitted
//! reclamation keeps killing tasks for memory and the fit rule refuses
//! it; and the experiment's bytes do not depend on the thread count.

use super::{borgsim, root, text};
use borgsim::compact::{self, fit::Check, search::Search};
use borgsim::scenario::reclamation::ReclamationMode;
use borgsim::scenario::Scenario;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    root().join(format!("tests/fixtures/reclamation-compact/{name}.toml"))
}

fn options() -> compact::Options {
    compact::Options {
        search: Search::Bisect,
        threads: 1,
    }
}

/// `borgsim experiment reclamation saves.toml` with `args`: its
/// experiment.json and directory.
fn experiment(args: &[&str]) -> (Value, tempfile::TempDir) {
    let (v, _, dir) = experiment_with_csv(args);
    (v, dir)
}

/// [`experiment`], with experiment.csv's rows (column → value).
fn experiment_with_csv(
    args: &[&str],
) -> (
    Value,
    Vec<std::collections::BTreeMap<String, String>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let scenario = fixture("saves");
    let mut all = vec![
        "experiment",
        "reclamation",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    all.extend_from_slice(args);
    let o = borgsim(&root(), &all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    let rows = csv::Reader::from_path(out.join("experiment.csv"))
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect();
    (v, rows, dir)
}

#[test]
fn reclamation_saves_the_machines_worked_out_by_hand() {
    let (e, rows, _dir) = experiment_with_csv(&[]);
    assert_eq!(e["experiment"], "reclamation");
    let v = e["variants"].as_array().unwrap();
    let names: Vec<&str> = v.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["off", "on"]);
    // Off: 4 prod machines + 2 for the batch pairs = 6; on: the batch
    // tasks in prod's reclaimed 1.8 cores, 4 machines: 2 / 6 fewer.
    assert_eq!(v[0]["machines"], 6);
    assert_eq!(v[1]["machines"], 4);
    assert_eq!(v[1]["extra_pct"], -33.333333);
    assert_eq!(v[1]["per_trial_machines"], serde_json::json!([4, 4, 4]));
    // The answer's probe: no kill, no throttling; CPU used over the run of
    // 900 s (3 ticks of 300 s: decay at once, k = 1): off, 4 × 2 + 4 × 1.5
    // = 14 of 24 cores all along (0.583333); on, 8 cores for 300 s and 14
    // for 600 s on 16 cores: (8 × 300 + 14 × 600) / (16 × 900) = 0.75.
    let usage = |i: usize| &v[i]["cells"][0]["usage"];
    assert_eq!(usage(0)["usage_cpu_utilization"], 0.583333);
    assert_eq!(usage(1)["usage_cpu_utilization"], 0.75);
    for i in 0..2 {
        assert_eq!(usage(i)["oom_kills"], 0);
        assert_eq!(usage(i)["throttled_cpu_core_s"], 0.0);
    }
    assert_eq!(usage(0)["oom_kills_allowed"], Value::Null, "off: measuring");
    assert_eq!(usage(1)["oom_kills_allowed"], 0);
    // experiment.csv, what a spreadsheet reads, has them too.
    let col = |i: usize, c: &str| rows[i][c].clone();
    assert_eq!(col(0, "usage_cpu_utilization"), "0.583333");
    assert_eq!(col(1, "usage_cpu_utilization"), "0.75");
    assert_eq!(
        (
            col(1, "oom_kills").as_str(),
            col(1, "throttled_cpu_core_s").as_str()
        ),
        ("0", "0.0")
    );
}

#[test]
fn compact_honours_the_scenarios_reclamation() {
    let off = Scenario::load(&fixture("saves")).unwrap();
    let c = compact::compact(&off, &options(), &|_| {}).unwrap();
    assert_eq!(c.answer.machines, 6);
    assert_eq!(
        (c.fit_rule.horizon_s, c.fit_rule.oom_kill_share),
        (None, None)
    );
    let json = serde_json::to_value(&c).unwrap();
    assert!(
        json["fit_rule"].get("horizon_s").is_none(),
        "absent when off"
    );
    let mut on = off.clone();
    on.reclamation.as_mut().unwrap().mode = ReclamationMode::On;
    let c = compact::compact(&on, &options(), &|_| {}).unwrap();
    assert_eq!(c.answer.machines, 4);
    // (⌈300 / 300⌉ + 1 + 1) × 300 s: the tick at 300 s decays every
    // reservation to its target at once.
    assert_eq!(c.fit_rule.horizon_s, Some(900));
    assert_eq!(c.fit_rule.oom_kill_share, Some(0.0));
    // The capacity bound is prod's limits alone (4 machines), so the
    // 4-machine answer is reachable; 3 machines cannot hold prod.
    assert!(c.per_trial.iter().all(|t| t.lower_bound_machines == 4));
}

#[test]
fn overcommitted_reclamation_that_kills_for_memory_does_not_fit() {
    // Batch admitted beside prod on the overcommitted basis uses more
    // memory than the machine has: killed, re-queued, placed, killed…
    let sc = Scenario::load(&fixture("overcommit")).unwrap();
    let Err(compact::CompactError::DoesNotFit(no)) = compact::compact(&sc, &options(), &|_| {})
    else {
        panic!("the whole cell should not fit");
    };
    let v = &no.verdict;
    assert_eq!(v.failed, [Check::OutOfMemory], "{v:?}");
    assert!(v.usage.as_ref().unwrap().oom_kills > 0);
    let msg = no.message(compact::Settings::Flags);
    assert!(
        msg.contains("killed for memory") && msg.contains("oom_kill_share"),
        "{msg}"
    );
    // The command says it, exit code 2.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let path = fixture("overcommit");
    let o = borgsim(
        &root(),
        &[
            "compact",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("oom_kill_share"),
        "{}",
        text(&o.stderr)
    );
    // Without the overcommit nothing is reclaimed (every task uses its
    // whole limit) and nothing is killed: prod on one machine, batch on
    // another, 2 machines.
    let mut plain = sc.clone();
    plain.reclamation.as_mut().unwrap().overcommit_permille.mem = 1000;
    let c = compact::compact(&plain, &options(), &|_| {}).unwrap();
    assert_eq!(c.answer.machines, 2);
    assert_eq!(c.whole_cell.verdict.usage.as_ref().unwrap().oom_kills, 0);
}

#[test]
fn the_experiments_bytes_do_not_depend_on_the_thread_count() {
    let (_, one) = experiment(&["--threads", "1"]);
    let (_, two) = experiment(&["--threads", "2"]);
    for f in ["experiment.json", "experiment.csv", "report.html"] {
        let a = std::fs::read(one.path().join("e").join(f)).unwrap();
        let b = std::fs::read(two.path().join("e").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn the_experiment_needs_a_usage_model() {
    // The experiments' fixture has no usage model: nothing to reclaim.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let cell = root().join("tests/fixtures/experiment/cell.toml");
    let o = borgsim(
        &root(),
        &[
            "experiment",
            "reclamation",
            cell.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("usage model"), "{err}");
    assert!(!out.exists());
}
