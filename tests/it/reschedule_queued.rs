//! Why a task the reschedule rate limit holds back is pending: it is in
//! the reschedule queue, which no scheduling pass scans. `pending.csv`
//! says so (`reschedule_queued`, its place in the queue, when its turn
//! comes), not "no scheduling pass since it became pending"; `borgsim
//! explain` says the same; and the turn it names is when the fault
//! machinery really lets it back.
//!
//! The fixture: rack 0's four machines go out at 1000 s; at most 2
//! fault-evicted tasks go back per 600 s window; the run ends at 3000 s.

use super::{borgsim, root, text};
use borgsim::scenario::Scenario;
use std::collections::BTreeMap;

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/scenarios/reschedule-queued.toml")
}

/// (pending.csv rows, summary.json) of a run of the fixture.
fn run() -> (Vec<BTreeMap<String, String>>, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let o = borgsim(
        &root(),
        &[
            "run",
            fixture().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--no-plots",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = super::csv_rows(&std::fs::read(out.path().join("pending.csv")).unwrap());
    let summary = std::fs::read(out.path().join("summary.json")).unwrap();
    (rows, serde_json::from_slice(&summary).unwrap())
}

/// `7200.000000` → µs.
fn us(s: &str) -> u64 {
    let (a, b) = s.split_once('.').unwrap();
    a.parse::<u64>().unwrap() * 1_000_000 + b.parse::<u64>().unwrap()
}

#[test]
fn a_queued_task_is_reported_as_queued_with_its_place_and_turn() {
    let (rows, summary) = run();
    let queued: Vec<_> = rows
        .iter()
        .filter(|r| r["status"] == "reschedule_queued")
        .collect();
    let at_end = &summary["faults"]["reschedule_queue"]["queued_at_end"];
    assert_eq!(queued.len() as u64, at_end.as_u64().unwrap());
    assert!(
        queued.len() >= 10,
        "the fixture queues many: {}",
        queued.len()
    );
    assert!(
        rows.iter().all(|r| r["status"] != "not_attempted"),
        "thousands of passes ran"
    );
    let mut positions: Vec<u64> = queued
        .iter()
        .map(|r| r["queue_position"].parse().unwrap())
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=queued.len() as u64).collect::<Vec<_>>());
    for r in &queued {
        // The end (3000 s) is window 5's first instant, where the run's
        // End comes before the limit's release: the limit last counted in
        // window 4, so position p goes back at (4 + ⌈p / 2⌉) × 600 s —
        // positions 1 and 2 at 3000 s, already after the run.
        let p: u64 = r["queue_position"].parse().unwrap();
        assert_eq!(us(&r["queue_release_s"]), (4 + p.div_ceil(2)) * 600_000_000);
        assert_eq!(us(&r["pending_since_s"]), 1_000_000_000);
        assert_eq!(r["last_attempt_s"], "");
        let why = &r["why"];
        assert!(
            why.starts_with("held back by the reschedule rate limit since 1000.000000 s"),
            "{why}"
        );
        assert!(
            why.contains(" in the queue, which no scheduling pass scans"),
            "{why}"
        );
        assert!(
            why.ends_with("after the run's end at 3000.000000 s"),
            "{why}"
        );
    }
}

#[test]
fn explain_says_a_queued_task_waits_in_the_queue() {
    let (rows, _) = run();
    let row = rows
        .iter()
        .find(|r| r["status"] == "reschedule_queued" && r["queue_position"] == "3")
        .unwrap();
    let task = format!("{}/{}", row["job_name"], row["task_index"]);
    let scenario = fixture();
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", scenario.to_str().unwrap(), "--task", &task];
        args.extend_from_slice(extra);
        let o = borgsim(&root(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    // At the end: pending.csv's sentence, word for word.
    let out = explain(&["--at", "end"]);
    let line = format!(
        "at the end (3000.000000 s): pending since 1000.000000 s (1 evictions so far); \
         reschedule_queued: {} (pending.csv reports the same)",
        row["why"]
    );
    assert!(out.contains(&line), "{out}");
    let v: serde_json::Value = serde_json::from_str(&explain(&["--at", "end", "--json"])).unwrap();
    let q = &v["reschedule_queue"];
    assert_eq!(q["position"], 3);
    assert_eq!(q["release_s"], row["queue_release_s"].as_str());
    assert_eq!(q["since_s"], "1000.000000");
    assert_eq!(
        (&q["tasks_per_window"], &q["window_s"]),
        (&2.into(), &600.into())
    );
    assert_eq!(q["why"], row["why"].as_str());
    // Mid-run, after the 2 released at 1200 s and before the 4 at 1800
    // and 2400 s: 4 places further back, 7th, in window 2 of [1200, 1800)
    // s; its turn is window 2 + ⌈7 / 2⌉ = 6, at 3600 s, after the run.
    let v: serde_json::Value = serde_json::from_str(&explain(&["--at", "1500", "--json"])).unwrap();
    let q = &v["reschedule_queue"];
    assert_eq!(
        (&q["position"], &q["release_s"]),
        (&7.into(), &"3600.000000".into())
    );
    assert!(
        q["why"]
            .as_str()
            .unwrap()
            .ends_with("after the run's end at 3000.000000 s"),
        "{q}"
    );
}

/// The turn the queue's view names for each task, whenever it is looked
/// at (once every event of the instant has run, as `explain --at` looks),
/// is when the fault machinery lets the task back into the pending queue.
#[test]
fn the_turn_named_is_when_the_limit_lets_the_task_back() {
    let sc = Scenario::load(&fixture()).unwrap();
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    // Task → every turn predicted for it.
    let mut predicted: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut released: BTreeMap<u32, u64> = BTreeMap::new();
    let mut before: Vec<u32> = Vec::new();
    while sim.step() {
        let now = sim.now();
        let queue: Vec<u32> = sim.state().delayed().map(|(t, _)| t).collect();
        for t in before.iter().filter(|t| !queue.contains(t)) {
            released.insert(*t, now.as_us());
        }
        before = queue;
        if sim.next_event_time().is_some_and(|t| t == now) {
            continue;
        }
        let view = sim.reschedule_queue();
        assert_eq!(view.len(), before.len());
        for (i, &t) in before.iter().enumerate() {
            let q = view.get(t).unwrap();
            assert_eq!(q.position as usize, i + 1);
            predicted
                .entry(t)
                .or_default()
                .push(q.turn.unwrap().1.as_us());
        }
    }
    sim.take_error().unwrap();
    // 2 back at once, 26 queued at 1000 s; 2 back at each of 1200, 1800
    // and 2400 s.
    assert_eq!(predicted.len(), 26);
    assert_eq!(released.len(), 6);
    for (t, turns) in &predicted {
        match released.get(t) {
            Some(at) => assert!(turns.iter().all(|p| p == at), "task {t}: {turns:?} vs {at}"),
            None => assert!(
                turns.iter().all(|&p| p >= 3_000_000_000),
                "task {t}: {turns:?}"
            ),
        }
    }
}
