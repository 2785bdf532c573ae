//! Tasks killed for memory on an overcommitted cell do not loop: each
//! avoids the machine that killed it and backs off, 10 s doubling to
//! 300 s (`cell::state::usage::backoff`).
//!
//! `tests/fixtures/scenarios/oom-loop.toml`: memory overcommitted twice
//! over, 20 batch tasks using 95 % of 4 GiB on four 16 GiB machines. Four
//! machines hold 16 such tasks by usage; the rest fit by reservations
//! only, and every placement of one is killed for memory at once. Before
//! the back-off, 16 tasks were placed and killed every second for the
//! whole hour: 3,600 `out_of_memory` kills each, 57,600 in all (the run
//! of this file's commit's parent).

use super::{borgsim, root, text};
use std::collections::BTreeMap;

/// One task's placements and kills, in order: (time µs, machine, killed).
type Trail = Vec<(u64, String, bool)>;

/// The event log of a run of the fixture, per task, and its pending.csv.
fn trails() -> BTreeMap<u64, Trail> {
    run().0
}

fn run() -> (BTreeMap<u64, Trail>, String) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("tests/fixtures/scenarios/oom-loop.toml");
    let (out, log) = super::run_logged(&scenario, dir.path());
    let csv = std::fs::read_to_string(&log).unwrap();
    let mut by_task: BTreeMap<u64, Trail> = BTreeMap::new();
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let (time, event, task, machine, reason) = (f[0], f[1], f[5], f[6], f[7]);
        let killed = match (event, reason) {
            ("place", _) => false,
            ("evict", "out_of_memory") => true,
            ("evict", other) => panic!("an eviction for {other}"),
            _ => continue,
        };
        let us = (time.parse::<f64>().unwrap() * 1e6).round() as u64;
        let t = by_task.entry(task.parse().unwrap()).or_default();
        t.push((us, machine.to_string(), killed));
    }
    (
        by_task,
        std::fs::read_to_string(out.join("pending.csv")).unwrap(),
    )
}

/// The hold after the k-th kill in a row: 10 s × 2^(k−1), at most 300 s.
fn hold_us(k: u32) -> u64 {
    (10_000_000u64 << (k - 1).min(5)).min(300_000_000)
}

#[test]
fn an_oom_killed_task_backs_off_and_avoids_the_machine_that_killed_it() {
    let trails = trails();
    let kills: Vec<usize> = trails
        .values()
        .map(|t| t.iter().filter(|e| e.2).count())
        .collect();
    assert!(
        kills.iter().any(|&k| k > 1),
        "the scenario kills: {kills:?}"
    );
    // Every kill here is of a task placed the same instant (usage is
    // constant), so kills are in a row: after the 5th the holds have
    // taken 10 + 20 + 40 + 80 + 160 = 310 s, then one kill per ≥ 300 s at
    // most: 5 + ⌊(3600 − 310) / 300⌋ = 15 kills, and the first at 0 s.
    assert!(kills.iter().all(|&k| k <= 16), "kills per task {kills:?}");
    for (task, trail) in &trails {
        let mut in_a_row = 0;
        for w in trail.windows(2) {
            let ((at, m, killed), (next, next_m, _)) = (&w[0], &w[1]);
            if !killed {
                continue;
            }
            in_a_row += 1;
            // Placed again no sooner than its hold, and elsewhere while
            // the failure history (600 s) remembers the machine.
            assert!(
                next - at >= hold_us(in_a_row),
                "task {task}: kill {in_a_row} at {at} µs, placed again at {next} µs"
            );
            if next - at < 600_000_000 {
                assert_ne!(m, next_m, "task {task} went back at {next} µs");
            }
        }
    }
}

/// A task held back at the end is `backing_off` in pending.csv, and its
/// `why` gives the kills in a row and the hold's end, as the event log
/// shows them: the last kill's time + the hold after that many kills.
/// `explain` says the same of it.
#[test]
fn a_task_held_back_at_the_end_is_backing_off_in_pending_and_explain() {
    let (trails, pending) = run();
    let mut rows = csv::Reader::from_reader(pending.as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, status, why) = (col("task_id"), col("status"), col("why"));
    let mut backing_off = Vec::new();
    for row in rows.records().map(Result::unwrap) {
        let task: u64 = row[id].parse().unwrap();
        let trail = &trails[&task];
        let (last, _, killed) = trail.last().unwrap();
        assert!(
            killed,
            "task {task} is pending, so its last event is a kill"
        );
        // Kills in a row: every kill here follows its placement the same
        // instant (no run reaches the 600 s reset), so all of them.
        let k = trail.iter().filter(|e| e.2).count() as u32;
        let until = last + hold_us(k);
        if until > 3_600_000_000 {
            assert_eq!(&row[status], "backing_off", "task {task}");
            let want = format!(
                "killed for memory {k} times in a row; held back until {}.{:06}s \
                 (out-of-memory back-off)",
                until / 1_000_000,
                until % 1_000_000
            );
            assert_eq!(&row[why], want.as_str(), "task {task}");
            backing_off.push(task);
        } else {
            assert_ne!(&row[status], "backing_off", "task {task}");
        }
    }
    assert!(
        !backing_off.is_empty(),
        "the fixture ends with tasks held back"
    );
    let scenario = root().join("tests/fixtures/scenarios/oom-loop.toml");
    let task = format!("batch-0/{}", backing_off[0]);
    let o = borgsim(
        &root(),
        &[
            "explain",
            scenario.to_str().unwrap(),
            "--task",
            &task,
            "--at",
            "end",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("backing_off: killed for memory"),
        "explain says nothing of the back-off:\n{out}"
    );
}
