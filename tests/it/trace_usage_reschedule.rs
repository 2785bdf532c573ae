//! Trace usage in re-schedule mode: a usage row for a task the replay
//! knows but borgsim has not started yet is that task's current usage,
//! kept and applied when the task starts (`usage_kept_until_start`), not
//! dropped. One small trace per format, on a machine that holds one of
//! its two tasks at a time, so the second is pending when its row comes:
//! after it starts, its usage is the row's (read from the cell's books),
//! and the summary's usage integral is the hand-worked one.

use borgsim::cell::resources::Resources;
use borgsim::cell::state::TaskState;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sim::Simulation;
use borgsim::time::SimTime;
use std::path::Path;

/// Writes `tables` (file name, text) into a fresh directory.
fn trace_dir(tables: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in tables {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// A re-schedule replay of the trace in `dir`, measuring usage.
fn scenario(format: &str, dir: &Path) -> Scenario {
    let text = format!(
        "name = \"usage-reschedule\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n\
         [reclamation]\nmode = \"measure\"\n\
         [trace]\nformat = \"{format}\"\nfiles = [{:?}]\nmode = \"reschedule\"\n",
        dir.to_str().unwrap()
    );
    Scenario::parse(&text, Path::new("x.toml")).unwrap()
}

/// Steps `sim` through every event at or before `t`.
fn run_to(sim: &mut Simulation, t: SimTime) {
    while sim.next_event_time().is_some_and(|next| next <= t) {
        sim.step();
    }
}

/// The usage of the running task the feed labels `label`.
fn usage_of(sim: &Simulation, label: &str) -> Resources {
    let st = sim.state();
    let (t, _) = st
        .live_tasks()
        .find(|&(t, rec)| {
            matches!(rec.state, TaskState::Running { .. })
                && sim.feed().trace_task(t).as_deref() == Some(label)
        })
        .unwrap_or_else(|| panic!("task {label} is not running"));
    st.usage_books().unwrap().task(t).usage
}

/// Runs `sc`, checking task `label`'s usage just after `start`; returns
/// the summary, its usage rules and Σ CPU usage over bands (core-s).
fn check(sc: &Scenario, label: &str, start: SimTime, want: Resources) -> (Summary, String, f64) {
    let mut sim = borgsim::build_simulation(sc, true).unwrap();
    run_to(&mut sim, start);
    assert_eq!(usage_of(&sim, label), want, "{}", sc.name);
    sim.run(&mut |_| {}).unwrap();
    let s = Summary::of(sc, &sim);
    let replay = &s.trace.as_ref().unwrap().replay;
    let rules: Vec<String> = replay
        .iter()
        .filter(|(k, _)| k.starts_with("usage"))
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let r = s.reclamation.as_ref().unwrap();
    let used: f64 = r.by_band.values().map(|b| b.usage_cpu_core_s).sum();
    (s, rules.join(", "), used)
}

#[test]
fn google2011_a_window_of_a_pending_task_is_its_usage_when_it_starts() {
    // One machine of 0.125 × 32 cores = 4000 m and 0.0625 × 128 GiB =
    // 8192 MiB; two tasks of that size, submitted at 1 s, run 2–12 s in
    // the trace. borgsim runs task 0 from 1 s; task 1 waits. Its window
    // at 2 s (0.0625 → 2000 m, 0.03125 → 4096 MiB) is kept. At 12 s the
    // trace's ENDs give both runs 10 s: task 0 ends then (late), task 1
    // starts at 12 s from the kept usage and runs to 22 s.
    let dir = trace_dir(&[
        ("machine_events.csv", "0,1,0,platA,0.125,0.0625\n"),
        ("job_events.csv", "0,,1,0,user,1,jobA,logicalA\n"),
        (
            "task_events.csv",
            "1000000,,1,0,,0,user,1,9,0.125,0.0625,0,0\n\
             1000000,,1,1,,0,user,1,9,0.125,0.0625,0,0\n\
             2000000,,1,0,1,1,user,1,9,0.125,0.0625,0,0\n\
             2000000,,1,1,1,1,user,1,9,0.125,0.0625,0,0\n\
             12000000,,1,0,1,4,user,1,9,0.125,0.0625,0,0\n\
             12000000,,1,1,1,4,user,1,9,0.125,0.0625,0,0\n",
        ),
        ("task_usage.csv", "2000000,4000000,1,1,1,0.0625,0.03125\n"),
    ]);
    let sc = scenario("google2011", dir.path());
    let want = Resources::new(2000, 4096);
    let (_, rules, used) = check(&sc, "1", SimTime::from_secs(13), want);
    assert_eq!(rules, "usage_kept_until_start 1");
    // Task 0 at its limit, 4 cores × 11 s; task 1 at 2 cores × 10 s (at
    // its limit, as before this rule, it would be 40).
    assert!((used - (44.0 + 20.0)).abs() < 1e-9, "{used} core-s");
}

#[test]
fn google2019_a_window_of_a_pending_instance_is_its_usage_when_it_starts() {
    // One machine of 0.0625 × 64 cores = 4000 m and 0.03125 × 256 GiB =
    // 8192 MiB; two instances of that size submitted at 0 s, finishing at
    // 1000 s in the trace. Instance 1 waits for instance 0 (1000 s); its
    // window at 300 s (0.03125 → 2000 m, 0.015625 → 4096 MiB) is kept,
    // and it runs 1000–2000 s from it.
    let req = r#""priority":"103","alloc_collection_id":"0","resource_request":{"cpus":0.0625,"memory":0.03125}"#;
    let ev = |t: u64, ty: u32, i: u32| {
        format!(
            "{{\"time\":\"{t}\",\"type\":\"{ty}\",\"collection_id\":\"1\",\"instance_index\":\"{i}\",\"machine_id\":\"101\",{req}}}\n"
        )
    };
    let events: String = [(0, 0, 0), (0, 0, 1), (0, 3, 0), (0, 3, 1)]
        .iter()
        .chain(&[(1_000_000_000, 6, 0), (1_000_000_000, 6, 1)])
        .map(|&(t, ty, i)| ev(t, ty, i))
        .collect();
    let dir = trace_dir(&[
        (
            "machine_events.json",
            r#"{"time":"0","machine_id":"101","type":"1","switch_id":"sw1","capacity":{"cpus":0.0625,"memory":0.03125},"platform_id":"p1"}"#,
        ),
        (
            "collection_events.json",
            r#"{"time":"0","type":"0","collection_id":"1","priority":"103","user":"bob","collection_name":"mapreduce","alloc_collection_id":"0"}"#,
        ),
        ("instance_events.json", &events),
        (
            "instance_usage.json",
            r#"{"start_time":"300000000","end_time":"600000000","collection_id":"1","instance_index":"1","machine_id":"101","alloc_collection_id":"0","average_usage":{"cpus":0.03125,"memory":0.015625}}"#,
        ),
    ]);
    let sc = scenario("google2019", dir.path());
    let want = Resources::new(2000, 4096);
    let (_, rules, used) = check(&sc, "1", SimTime::from_secs(1001), want);
    assert_eq!(rules, "usage_kept_until_start 1");
    // Instance 0 at its limit, 4 cores × 1000 s; instance 1 at 2 cores ×
    // 1000 s.
    assert!((used - (4000.0 + 2000.0)).abs() < 1e-9, "{used} core-s");
}

#[test]
fn alibaba2018_a_runs_average_given_at_its_start_is_its_usage_when_it_starts() {
    // One machine of 96 cores; task M1 of j_1: two instances of 60 cores
    // (plan_cpu 6000), both starting at 100 s in the trace, 50 s and 60 s
    // long, with cpu_avg 2000 (20 cores) and mem_avg 0.2 % of 256 GiB
    // (524 MiB), given once, at the start. borgsim starts the first at
    // 100 s and the second when the first ends, at 150 s: both rows came
    // while their instance was pending (submitted, not yet placed by the
    // pass of the same instant), and both are kept.
    let dir = trace_dir(&[
        ("machine_meta.csv", "m_1,0,1,1,96,100,USING\n"),
        (
            "batch_task.csv",
            "M1,2,j_1,1,Terminated,100,160,6000,0.59\n",
        ),
        (
            "batch_instance.csv",
            "ins_a1,M1,j_1,1,Terminated,100,150,m_1,1,1,2000,2500,0.2,0.3\n\
             ins_a2,M1,j_1,1,Terminated,100,160,m_1,1,1,2000,2500,0.2,0.3\n",
        ),
    ]);
    let sc = scenario("alibaba2018", dir.path());
    let want = Resources::new(20_000, 524);
    let (_, rules, used) = check(&sc, "1.1", SimTime::from_secs(151), want);
    assert_eq!(rules, "usage_kept_until_start 2");
    // 20 cores × (50 + 60) s; at their limits, as before this rule, it
    // would be 60 cores × 110 s.
    assert!((used - 20.0 * 110.0).abs() < 1e-9, "{used} core-s");
}
