//! A trace's own task failures feed the failure machinery, in both replay
//! modes (tests/fixtures/trace-fail: Google 2011, three machines; 400/0
//! FAILs, 401/0 is EVICTed and 402/0 LOST at 10 s; 400/0 and 401/0 are
//! submitted again at 11 s and placed by the trace where they ran).
//!
//! - Trace placement: the FAIL is the task's own failure, an eviction with
//!   cause `task_crash`; the EVICT, whose cause the trace does not say, is
//!   `trace`; LOST ends the task (killed). Both evictions are the Borg
//!   paper's "other" group. The failure history remembers the crash, so
//!   the trace putting 400/0 back on that machine is counted.
//! - Re-schedule: every END ends its run (killed), and the resubmission is
//!   a new task; the FAIL is remembered on the machine the simulation ran
//!   400/0 on, and with `avoid_failed_s` its second run goes elsewhere. The
//!   EVICT is not: 401/0's second run may go back.

use super::root;
use std::collections::BTreeMap;

/// Runs the fixture in `mode`, with or without the failure history;
/// returns summary.json and the event log's rows.
fn run(mode: &str, avoid_failed: bool) -> (serde_json::Value, Vec<BTreeMap<String, String>>) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/trace-fail");
    let toml = std::fs::read_to_string(fixture.join("scenario.toml")).unwrap();
    let trace = fixture.join("google2011");
    let toml = toml
        .replace("mode = \"trace_placement\"", &format!("mode = \"{mode}\""))
        .replace(
            "files = [\"google2011\"]",
            &format!("files = [{:?}]", trace.to_str().unwrap()),
        );
    let toml = match avoid_failed {
        true => toml,
        false => toml.replace("avoid_failed_s = 3600\n", ""),
    };
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, toml).unwrap();
    let (out, events) = super::run_logged(&scenario, dir.path());
    let summary = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap());
    let rows = super::csv_rows(&std::fs::read(events).unwrap());
    (summary.unwrap(), rows)
}

/// The machine each `place` row of trace job `job` names, in order.
fn placed(rows: &[BTreeMap<String, String>], job: &str) -> Vec<String> {
    rows.iter()
        .filter(|r| r["event"] == "place" && r["job_id"] == job)
        .map(|r| r["machine"].clone())
        .collect()
}

#[test]
fn a_traces_fail_is_a_task_crash_and_its_evict_a_trace_eviction() {
    let (s, rows) = run("trace_placement", true);
    let ev = &s["evictions"];
    assert_eq!(
        (&ev["task_crash"], &ev["trace"]),
        (&1.into(), &1.into()),
        "{ev}"
    );
    let all: u64 = ev
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(all, 2, "{ev}");
    // Both in the paper's "other" group.
    let other = &s["evictions_per_task_week"]["prod"]["evictions"];
    assert_eq!(other["other"], 2, "{other}");
    let t = &s["tasks"];
    assert_eq!(
        (
            &t["submitted"],
            &t["finished"],
            &t["killed"],
            &t["pending_at_end"]
        ),
        (&3.into(), &2.into(), &1.into(), &0.into()),
        "{t}"
    );
    assert_eq!(t["conservation"]["holds"], true);
    let reasons: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["event"] == "evict")
        .map(|r| (r["job_id"].as_str(), r["reason"].as_str()))
        .collect();
    assert_eq!(reasons, [("400", "task_crash"), ("401", "trace")]);
    // The trace places 400/0 back on the machine it crashed on: followed
    // (the trace is the record) and counted; not 401/0, only evicted.
    assert_eq!(placed(&rows, "400"), ["0", "0"]);
    assert_eq!(placed(&rows, "401"), ["1", "1"]);
    let replay = &s["trace"]["replay"];
    assert_eq!(replay["schedule_breaks_failure_history"], 1, "{replay}");
    // Without a failure history, nothing is remembered to break.
    let (s, _) = run("trace_placement", false);
    assert!(s["trace"]["replay"]["schedule_breaks_failure_history"].is_null());
    assert_eq!(s["evictions"]["task_crash"], 1);
}

#[test]
fn a_traces_fail_sends_the_resubmitted_task_elsewhere_when_rescheduling() {
    let (s, rows) = run("reschedule", true);
    // Every END ends its run; the resubmissions are new tasks: 3 + 2
    // submitted, the 3 first runs killed, the 2 second ones finished.
    let t = &s["tasks"];
    assert_eq!(
        (
            &t["submitted"],
            &t["finished"],
            &t["killed"],
            &t["pending_at_end"]
        ),
        (&5.into(), &2.into(), &3.into(), &0.into()),
        "{t}"
    );
    assert_eq!(t["conservation"]["holds"], true);
    let all: u64 = s["evictions"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(all, 0, "no run was evicted: each ended");
    // Best fit puts each first run on its own machine, 0, 1, 2 (lowest id
    // first, one task per machine). At 11 s both empty machines 0 and 1
    // fit: 400/0, which failed on 0, avoids it and goes to 1; 401/0, only
    // evicted from 1, takes 0, lowest id.
    assert_eq!(placed(&rows, "400"), ["0", "1"]);
    assert_eq!(placed(&rows, "401"), ["1", "0"]);
    // Without the failure history 400/0 goes back to 0.
    let (_, rows) = run("reschedule", false);
    assert_eq!(placed(&rows, "400"), ["0", "0"]);
}
