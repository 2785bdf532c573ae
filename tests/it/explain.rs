//! `borgsim explain`: an explanation is the scheduler's own decision. Every
//! decision of whole runs is explained and compared with what the pass did
//! (under each set of scale techniques, with preemption and spread limits);
//! the binary's explanation of a placed task names the machine the task is
//! found on, and that of a task still pending at the end gives its
//! `pending.csv` row's reasons; bad `--task` values exit 2.

use super::techniques::decisions;
use super::{borgsim, root, text};
use borgsim::scenario::Scenario;
use borgsim::sched::explain::{Tally, Watch};
use borgsim::sched::Techniques;
use std::collections::BTreeMap;

/// Runs `sc` under `t` with every decision explained; the tally.
fn explain_every(mut sc: Scenario, t: Techniques) -> Tally {
    sc.scheduler.score_cache = t.score_cache;
    sc.scheduler.equivalence_classes = t.equivalence_classes;
    sc.scheduler.relaxed_randomization = t.relaxed_randomization;
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.watch(Watch::every());
    sim.run(&mut |_| {}).unwrap();
    let tally = sim.watched().unwrap().tally().clone();
    assert_eq!(
        tally.disagreements,
        Vec::<String>::new(),
        "{} under {t:?}: {} explanations disagree with the pass",
        sc.name,
        tally.disagreeing
    );
    let explained = tally.placed + tally.preempted + tally.pending;
    assert_eq!(explained, sim.scheduler().stats().tasks_attempted, "{t:?}");
    // Watching changes nothing: the same decisions and the same work as
    // the run unwatched.
    let mut plain = borgsim::build_simulation(&sc, false).unwrap();
    plain.run(&mut |_| {}).unwrap();
    assert_eq!(plain.scheduler().stats(), sim.scheduler().stats(), "{t:?}");
    assert!(decisions(&sc, &plain) == decisions(&sc, &sim), "{t:?}");
    tally
}

fn tiny() -> Scenario {
    Scenario::load(&root().join("tests/golden/tiny.toml")).unwrap()
}

/// The four paths a decision takes: class caches with a sample (the
/// default), caches without one, a fresh sample per task, every machine.
const TECHNIQUES: [Techniques; 4] = [
    Techniques::ALL,
    Techniques::EXACT,
    Techniques {
        score_cache: false,
        equivalence_classes: false,
        relaxed_randomization: true,
    },
    Techniques::NONE,
];

#[test]
fn every_decision_of_quickstart_is_its_explanation() {
    for t in TECHNIQUES {
        let tally = explain_every(Scenario::quickstart(), t);
        // Every kind of decision is covered: placements, preemptions, and
        // tasks left pending; with relaxed randomization, sampled ones.
        assert!(tally.placed > 1000, "{t:?}: {tally:?}");
        assert!(tally.preempted > 100, "{t:?}: {tally:?}");
        assert!(tally.pending > 100, "{t:?}: {tally:?}");
        assert_eq!(tally.sampled > 0, t.relaxed_randomization, "{t:?}");
    }
}

#[test]
fn every_decision_of_tiny_is_its_explanation() {
    // tiny: spread limits (tasks no cache serves), GPUs, preemption.
    for t in TECHNIQUES {
        let tally = explain_every(tiny(), t);
        assert!(tally.placed > 50 && tally.pending > 0, "{t:?}: {tally:?}");
    }
}

/// Runs the binary; (exit code, stdout, stderr).
fn run_bin(args: &[&str]) -> (i32, String, String) {
    let o = borgsim(&root(), args);
    (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
}

/// `explain --json` of a task, parsed.
fn explain_json(scenario: &str, task: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["explain", scenario, "--task", task, "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run_bin(&args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Tasks running at the end that never moved — placed once, at their
/// first start, never evicted — as (JOB/INDEX, machine, start in seconds);
/// at most `n`, spread over the run. A trace replay's are named by trace
/// job and label.
fn settled_tasks(sc: &Scenario, n: usize) -> Vec<(String, u32, String)> {
    let mut sim = borgsim::build_simulation(sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let st = sim.state();
    let name = |t| {
        let job = st.job_of(t);
        match job.trace_job {
            Some(key) => format!("{key}/{}", sim.feed().trace_task(t).unwrap()),
            None => format!("{}/{}", job.spec.name, st.task(t).index),
        }
    };
    let settled: Vec<(String, u32, String)> = st
        .live_tasks()
        .filter(|(_, r)| r.evictions == 0)
        .filter_map(|(t, r)| match r.state {
            borgsim::cell::state::TaskState::Running { machine, since, .. }
                if r.first_start() == Some(since) =>
            {
                let at = format!("{since}").trim_end_matches('s').to_string();
                Some((name(t), machine, at))
            }
            _ => None,
        })
        .collect();
    let step = (settled.len() / n).max(1);
    settled.into_iter().step_by(step).take(n).collect()
}

/// Explains each settled task of `sc` at the instant it started: the
/// machine chosen is the one it runs on.
fn check_settled(scenario: &str, sc: &Scenario) {
    let tasks = settled_tasks(sc, 6);
    assert!(tasks.len() >= 3, "{scenario}: {tasks:?}");
    for (task, machine, at) in tasks {
        let v = explain_json(scenario, &task, &["--at", &at]);
        let e = &v["explanation"];
        assert_eq!(v["attempt"]["time_s"], at.as_str(), "{scenario} {task}");
        assert_eq!(v["attempt"]["pass_agrees"], true, "{scenario} {task}");
        assert_eq!(e["decision"]["machine"], machine, "{scenario} {task}");
        assert!(v["standing"]
            .as_str()
            .unwrap()
            .starts_with(&format!("running on machine {machine} ")));
        // The machine chosen passed every filter that applies.
        let m = &e["machines"][machine as usize];
        for f in m["filters"].as_array().unwrap() {
            let f = f.as_str().unwrap();
            assert!(
                ["pass", "pass_with_preemption", "not_applicable"].contains(&f),
                "{f}"
            );
        }
    }
}

#[test]
fn a_placed_task_is_explained_on_the_machine_it_runs_on() {
    check_settled("quickstart", &Scenario::quickstart());
    check_settled("tests/golden/tiny.toml", &tiny());
}

/// pending.csv of a run of `scenario` (extra flags too), as rows.
fn pending_rows(scenario: &str, extra: &[&str]) -> Vec<BTreeMap<String, String>> {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        scenario,
        "--out",
        out.path().to_str().unwrap(),
        "--no-plots",
        "-q",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = run_bin(&args);
    assert_eq!(code, 0, "{err}");
    super::csv_rows(&std::fs::read(out.path().join("pending.csv")).unwrap())
}

/// An unschedulable row's explanation at the end: the same attempt time,
/// reasons and sentence.
fn check_pending_row(scenario: &str, task: &str, row: &BTreeMap<String, String>, extra: &[&str]) {
    let mut flags = vec!["--at", "end"];
    flags.extend_from_slice(extra);
    let v = explain_json(scenario, task, &flags);
    assert_eq!(
        v["attempt"]["time_s"],
        row["last_attempt_s"].as_str(),
        "{task}"
    );
    assert_eq!(v["attempt"]["pass_agrees"], true);
    let e = &v["explanation"];
    assert_eq!(e["decision"]["kind"], "unschedulable", "{task}");
    assert_eq!(e["summary"], row["why"].as_str(), "{task}");
    for (reason, n) in e["reasons"].as_object().unwrap() {
        assert_eq!(n.to_string(), row[reason], "{task}: {reason}");
    }
    assert!(
        v["standing"].as_str().unwrap().starts_with("pending"),
        "{v}"
    );
}

#[test]
fn a_task_pending_at_the_end_is_explained_as_pending_csv_has_it() {
    for (scenario, extra) in [
        ("quickstart", &[][..]),
        ("tests/golden/tiny.toml", &["--seed", "5"]),
    ] {
        let rows = pending_rows(scenario, extra);
        let stuck: Vec<_> = rows
            .iter()
            .filter(|r| r["status"] == "unschedulable")
            .collect();
        assert!(!stuck.is_empty(), "{scenario}");
        let step = (stuck.len() / 3).max(1);
        for row in stuck.iter().step_by(step).take(3) {
            let task = format!("{}/{}", row["job_name"], row["task_index"]);
            check_pending_row(scenario, &task, row, extra);
        }
    }
}

#[test]
fn a_never_schedulable_task_is_explained_as_pending_csv_has_it() {
    let rows = pending_rows("quickstart", &[]);
    let row = rows
        .iter()
        .find(|r| r["status"] == "never_schedulable")
        .unwrap();
    let task = format!("{}/{}", row["job_name"], row["task_index"]);
    let (code, out, err) = run_bin(&["explain", "quickstart", "--task", &task]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "never attempted: never_schedulable: {}",
            row["why"]
        )),
        "{out}"
    );
}

#[test]
fn a_trace_task_is_named_by_its_trace_job_and_label() {
    let fixture = |name: &str| root().join("tests/fixtures/scenarios").join(name);
    check_settled("openb", &Scenario::builtin("openb").unwrap().unwrap());
    // A trace task no machine could ever host: as pending.csv has it.
    let scenario = fixture("native-never-reschedule.toml");
    let scenario = scenario.to_str().unwrap();
    let rows = pending_rows(scenario, &[]);
    let row = &rows[0];
    assert_eq!(row["status"], "never_schedulable");
    assert_eq!(
        row["task_index"], "",
        "a trace's task is named by its label"
    );
    let task = format!("{}/{}", row["job_id"], row["trace_task"]);
    // At the end, as pending.csv: a machine down then counts as machine_down.
    let (code, out, err) = run_bin(&["explain", scenario, "--task", &task, "--at", "end"]);
    assert_eq!(code, 0, "{err}");
    assert!(row["why"].contains("machine_down: 1"), "{}", row["why"]);
    assert!(
        out.contains(&format!(
            "never attempted: never_schedulable: {}",
            row["why"]
        )),
        "{out}"
    );
}

#[test]
fn before_its_first_attempt_a_task_is_shown_on_the_cell_as_it_stands() {
    // db-3/0 waits a little for a pass: a microsecond before its first
    // attempt it is pending, and there is no attempt to explain.
    let first = explain_json("quickstart", "db-3/0", &[]);
    let (s, us) = first["attempt"]["time_s"]
        .as_str()
        .unwrap()
        .split_once('.')
        .unwrap();
    let at_us = s.parse::<u64>().unwrap() * 1_000_000 + us.parse::<u64>().unwrap() - 1;
    let before = format!("{}.{:06}", at_us / 1_000_000, at_us % 1_000_000);
    let v = explain_json("quickstart", "db-3/0", &["--at", &before]);
    assert!(v["attempt"].is_null(), "{}", v["attempt"]);
    assert_eq!(v["hypothetical"], true);
    assert!(v["standing"].as_str().unwrap().starts_with("pending since"));
    // Every machine, whatever a pass would sample.
    assert!(v["explanation"]["sampled"].is_null());
    assert_eq!(v["explanation"]["examined"], 250);
}

#[test]
fn output_is_the_same_bytes_every_time() {
    for flags in [
        &["--task", "db-3/0"][..],
        &["--task", "batch-20/1", "--all"],
        &["--task", "web-5/2", "--json"],
    ] {
        let mut args = vec!["explain", "quickstart"];
        args.extend_from_slice(flags);
        let a = run_bin(&args);
        assert_eq!(a.0, 0, "{}", a.2);
        assert_eq!(a, run_bin(&args), "{flags:?}");
    }
}

#[test]
fn a_task_that_never_exists_is_bad_input() {
    let cases = [
        (
            "nosuch-3/0",
            "no job nosuch-3; jobs are named like monitor-0, web-0",
        ),
        (
            "web-100000/0",
            "no task web-100000/0 was submitted: job web-100000 does not exist",
        ),
        (
            "web-5/99",
            "job web-5 has 16 tasks (task_index 0 to 15), not 99",
        ),
        ("web-5", "expected JOB/INDEX"),
        ("web-5/x", "the task's index in its job is a number"),
    ];
    for (task, want) in cases {
        let (code, out, err) = run_bin(&["explain", "quickstart", "--task", task]);
        assert_eq!(code, 2, "{task}: {out}{err}");
        assert!(
            err.contains("--task") && err.contains(want),
            "{task}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = run_bin(&["explain", "quickstart", "--task", "web-5/0", "--at", "soon"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--at"), "{err}");
}

#[test]
fn a_replay_of_the_traces_placements_has_nothing_to_explain() {
    let scenario = root().join("tests/fixtures/scenarios/google2011-placement.toml");
    let (code, _, err) = run_bin(&["explain", scenario.to_str().unwrap(), "--task", "1/0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("trace_placement"), "{err}");
}

/// The README's example block that starts with `first_line`.
fn readme_block(first_line: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("```text\n{first_line}"))
        .unwrap_or_else(|| panic!("README has no example starting {first_line:?}"));
    let body = &readme[start + "```text\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_examples_are_real_output() {
    for (task, top) in [("db-3/0", "3"), ("batch-3/0", "4")] {
        let (code, out, err) = run_bin(&["explain", "quickstart", "--task", task, "--top", top]);
        assert_eq!(code, 0, "{err}");
        let first = out.lines().next().unwrap();
        assert_eq!(readme_block(first), out, "README's example of {task}");
    }
}

#[test]
fn help_documents_the_task_syntax() {
    let (code, out, _) = run_bin(&["explain", "--help"]);
    assert_eq!(code, 0);
    for want in ["JOB/INDEX", "job_name", "task_index", "trace_task", "--at"] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

/// `explain` agrees with the event log (`run --events`): for tasks spread
/// over quickstart's run, a first attempt explained as a placement (or a
/// preemption) is the log's first `place` row of that task — same time,
/// same machine — and one explained as unschedulable has no `place` row
/// at its attempt's time.
#[test]
fn explain_agrees_with_the_event_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.csv");
    let out = dir.path().join("o");
    let (code, _, err) = run_bin(&[
        "run",
        "quickstart",
        "--no-plots",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--events",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut r = csv::Reader::from_path(&log).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (ev, name, task, time, machine) = (
        col("event"),
        col("job_name"),
        col("task"),
        col("time_s"),
        col("machine"),
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let submitted: Vec<String> = rows
        .iter()
        .filter(|row| &row[ev] == "submit")
        .map(|row| format!("{}/{}", &row[name], &row[task]))
        .collect();
    let step = submitted.len() / 12;
    let (mut placed, mut refused) = (0, 0);
    for who in submitted.iter().step_by(step.max(1)) {
        let j = explain_json("quickstart", who, &[]);
        let at = j["attempt"]["time_s"].as_str().unwrap().to_string();
        let decision = &j["explanation"]["decision"];
        let first_place = rows
            .iter()
            .find(|row| &row[ev] == "place" && format!("{}/{}", &row[name], &row[task]) == *who);
        match decision["kind"].as_str().unwrap() {
            "place" | "preempt" => {
                let p =
                    first_place.unwrap_or_else(|| panic!("{who}: explained placed, never placed"));
                assert_eq!(&p[time], at, "{who}: {decision}");
                assert_eq!(
                    p[machine],
                    decision["machine"].to_string(),
                    "{who}: {decision}"
                );
                placed += 1;
            }
            _ => {
                assert!(
                    first_place.is_none_or(|p| p[time] != *at),
                    "{who}: explained unplaced, but placed at its attempt"
                );
                refused += 1;
            }
        }
    }
    assert!(
        placed > 0,
        "no placed task among the sample ({refused} refused)"
    );
}

/// A task of a one-by-one replay that fitted nowhere is dropped within the
/// event that submitted it, and its slot reused: it is still explained,
/// from its job as it was when found (this used to read a freed slot).
#[test]
fn a_dropped_task_of_a_one_by_one_replay_is_explained() {
    let scen = "tests/fixtures/openb-five-columns/scenario.toml";
    let o = borgsim(
        &root(),
        &[
            "run",
            scen,
            "-q",
            "--no-plots",
            "--out",
            "target/it-explain-dropped",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = super::csv_rows(&std::fs::read("target/it-explain-dropped/timeseries.csv").unwrap());
    let killed: u64 = rows.last().unwrap()["tasks_killed"].parse().unwrap();
    assert!(killed > 0, "the fixture drops a pod");
    let mut explained = 0;
    for job in 0..6 {
        let task = format!("{job}/0");
        let (code, out, err) = run_bin(&["explain", scen, "--task", &task, "--at", "end"]);
        assert!(!err.contains("panicked"), "{task}: {err}");
        if code == 0 && out.contains("dropped as it fitted nowhere") {
            explained += 1;
        }
    }
    assert_eq!(
        explained as u64, killed,
        "every dropped pod explained as dropped"
    );
}

/// The event log's and snapshots' `job_id` (the submission serial) names
/// a synthetic job as well as its name does.
#[test]
fn a_synthetic_task_is_named_by_its_submission_serial_too() {
    let by_serial = explain_json("quickstart", "85/0", &[]);
    let name = by_serial["task"].as_str().unwrap().to_string();
    assert_eq!(name, "85/0");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ev.csv");
    let o = borgsim(
        &root(),
        &[
            "run",
            "quickstart",
            "-q",
            "--no-plots",
            "--out",
            dir.path().join("o").to_str().unwrap(),
            "--events",
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = super::csv_rows(&std::fs::read(&log).unwrap());
    let first_place = rows
        .iter()
        .find(|r| r["event"] == "place" && r["job_id"] == "85" && r["task"] == "0")
        .expect("job 85's task 0 is placed");
    let attempt = &by_serial["attempt"];
    assert_eq!(
        attempt["time_s"].as_str(),
        Some(first_place["time_s"].as_str())
    );
}

/// `--at` takes the times `--snapshot-at` takes, and refuses one after
/// the horizon as it does; a drained run's end is said when T is later.
#[test]
fn at_takes_units_and_refuses_times_after_the_horizon() {
    let (code, out, err) = run_bin(&["explain", "quickstart", "--task", "web-5/0", "--at", "1h"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("at 3600.000000 s:"), "{out}");
    let (code, _, err) = run_bin(&[
        "explain",
        "quickstart",
        "--task",
        "web-5/0",
        "--at",
        "99999",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--at") && err.contains("after the run's end"),
        "{err}"
    );
}
