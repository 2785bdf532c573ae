//! The stream feed driven by the real simulation over hand-made records:
//! DAG holds in both modes whatever the row order, held tasks as pending,
//! one identity per trace job (spread limits across instants, job counts).

use super::*;
use crate::cell::MachineId;
use crate::sched::{Policy, SchedConfig, Techniques};
use crate::sim::{SimOptions, Simulation};
use crate::testkit::cell;
use crate::trace::replay::testing::{task, Records};

fn at(secs: u64, event: TraceEvent) -> TraceRecord {
    TraceRecord {
        time: SimTime::from_secs(secs),
        event,
    }
}

fn submit(secs: u64, t: TraceTask) -> TraceRecord {
    at(secs, TraceEvent::Submit(Box::new(t)))
}

fn schedule(secs: u64, job: u64, stage: u32, machine: u64) -> TraceRecord {
    let task = TaskKey {
        job,
        stage,
        index: 0,
    };
    at(secs, TraceEvent::Schedule { task, machine })
}

fn end(secs: u64, job: u64, stage: u32, kind: EndKind) -> TraceRecord {
    let task = TaskKey {
        job,
        stage,
        index: 0,
    };
    at(secs, TraceEvent::End { task, kind })
}

/// A replay of `records` on `machines` machines of 4 cores (trace machine
/// key `k` is machine `k - 1`).
fn replay(records: Vec<TraceRecord>, mode: ReplayMode, machines: usize) -> Simulation {
    let st = cell(&vec![(4000, 65536, 0); machines]);
    let ctx = Context {
        machine_ids: (0..machines as u64)
            .map(|k| (k + 1, k as MachineId))
            .collect(),
        excluded: Default::default(),
        racks: Vec::new(),
        use_trace_machines: false,
        format: "test",
    };
    let reader = Records::new(records);
    let feed = StreamFeed::new(Box::new(reader), mode, ctx);
    let mut sched = SchedConfig::new(Policy::BestFit, false);
    sched.techniques = Techniques::EXACT;
    let mut opts = SimOptions::new(SimTime::NEVER, sched, 1);
    opts.passes = mode == ReplayMode::Reschedule;
    Simulation::with_feed(st, Box::new(feed), opts)
}

/// Runs to the end under the invariant checker; returns, per distinct CPU
/// request, when its tasks were first seen running and when none was any
/// more (in seconds; `u64::MAX` if still running), and the last such end.
fn run(mut sim: Simulation) -> (BTreeMap<u64, (u64, u64)>, u64, Simulation) {
    let mut seen: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    loop {
        let more = sim.step();
        crate::cell::invariants::check(sim.state()).unwrap();
        let st = sim.state();
        let now = sim.now().as_us() / 1_000_000;
        let running: FxHashSet<u64> = st
            .live_tasks()
            .filter(|(_, r)| matches!(r.state, TaskState::Running { .. }))
            .map(|(t, _)| st.shape(t).request.res.cpu_milli)
            .collect();
        for &cpu in &running {
            seen.entry(cpu).or_insert((now, u64::MAX)).1 = u64::MAX;
        }
        for (cpu, span) in seen.iter_mut() {
            if span.1 == u64::MAX && !running.contains(cpu) {
                span.1 = now;
            }
        }
        if !more {
            break;
        }
    }
    let end = seen.values().map(|s| s.1).max().unwrap_or(0);
    (seen, end, sim)
}

fn replay_counts(sim: &Simulation) -> BTreeMap<&'static str, u64> {
    sim.feed().report().unwrap().replay
}

/// The field case: M1 (1 core, 100 s) and R2_1 (2 cores, 50 s, after M1)
/// both at t=100, in either row order.
#[test]
fn a_child_in_the_same_instant_starts_when_its_parent_ends() {
    let m1 = || submit(100, task(7, 1, 0, 1000, &[], Some(100)));
    let r2 = || submit(100, task(7, 2, 0, 2000, &[1], Some(50)));
    for records in [vec![m1(), r2()], vec![r2(), m1()]] {
        let (seen, end, sim) = run(replay(records, ReplayMode::Reschedule, 1));
        // M1 runs 100–200; R2_1 starts when M1 ends, and ends 50 s later.
        assert_eq!(
            (seen[&1000], seen[&2000], end),
            ((100, 200), (200, 250), 250)
        );
        let l = sim.state().ledger();
        assert_eq!(
            (l.jobs_submitted, l.tasks_submitted, l.tasks_finished),
            (1, 2, 2)
        );
        assert_eq!(replay_counts(&sim)["held_for_dependencies"], 1);
    }
}

#[test]
fn a_parent_whose_row_comes_later_still_holds_its_child() {
    // R2_1 at 10 s, its parent M1 only at 50 s (a table not sorted by
    // time): R2_1 waits for M1 to appear and end (150 s), ends at 160 s.
    let records = vec![
        submit(10, task(7, 2, 0, 2000, &[1], Some(10))),
        submit(50, task(7, 1, 0, 1000, &[], Some(100))),
    ];
    let mut sim = replay(records, ReplayMode::Reschedule, 1);
    while sim.now() < SimTime::from_secs(60) && sim.step() {}
    let held = sim.feed().held_tasks();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].task.as_str(),
            held[0].reason.as_str(),
            held[0].since
        ),
        (
            "2.0",
            "waiting_for_dependency stage 1",
            SimTime::from_secs(10)
        )
    );
    let (seen, end, _) = run(sim);
    assert_eq!((seen[&2000].0, end), (150, 160));
}

#[test]
fn a_parent_that_never_appears_releases_its_child_when_the_trace_ends() {
    // R2_1 waits for stage 1, which never comes; the trace's last record is
    // at 30 s: R2_1 starts then. Its sibling task waits for nothing.
    let records = vec![
        submit(10, task(7, 2, 0, 2000, &[1], Some(10))),
        submit(30, task(7, 3, 0, 1000, &[], Some(5))),
    ];
    let (seen, end, sim) = run(replay(records, ReplayMode::Reschedule, 1));
    assert_eq!((seen[&2000].0, end), (30, 40));
    let c = replay_counts(&sim);
    assert_eq!(
        (c["held_for_dependencies"], c["dependency_never_submitted"]),
        (1, 1)
    );
    assert!(sim.feed().held_tasks().is_empty());
}

/// Trace-placement mode: both SCHEDULEd on machine 1 at 100; the trace ends
/// R2_1 at 150 and M1 at 200.
#[test]
fn trace_placement_applies_a_held_childs_placement_when_its_parent_ends() {
    let records = vec![
        submit(100, task(7, 1, 0, 1000, &[], None)),
        submit(100, task(7, 2, 0, 2000, &[1], None)),
        schedule(100, 7, 1, 1),
        schedule(100, 7, 2, 1),
        end(150, 7, 2, EndKind::Finish),
        end(200, 7, 1, EndKind::Finish),
    ];
    let (seen, end, sim) = run(replay(records, ReplayMode::TracePlacement, 1));
    // R2_1 runs the trace's 50 s, from M1's end.
    assert_eq!(
        (seen[&1000], seen[&2000], end),
        ((100, 200), (200, 250), 250)
    );
    let c = replay_counts(&sim);
    assert_eq!((c["schedule_while_held"], c["end_while_held"]), (1, 1));
    let l = sim.state().ledger();
    assert_eq!(
        (l.tasks_submitted, l.tasks_finished, l.tasks_killed),
        (2, 2, 0)
    );
    assert_eq!(sim.scheduler().stats().passes, 0);
}

#[test]
fn trace_placement_withdraws_a_held_child_the_trace_never_ran() {
    // R2_1 is killed at 150 without a SCHEDULE: withdrawn, counted, and
    // still accounted for (submitted and killed).
    let records = vec![
        submit(100, task(7, 1, 0, 1000, &[], None)),
        submit(100, task(7, 2, 0, 2000, &[1], None)),
        schedule(100, 7, 1, 1),
        end(150, 7, 2, EndKind::Kill),
        end(200, 7, 1, EndKind::Finish),
    ];
    let (seen, end, sim) = run(replay(records, ReplayMode::TracePlacement, 1));
    assert!(!seen.contains_key(&2000));
    assert_eq!(end, 200);
    assert_eq!(replay_counts(&sim)["withdrawn_while_held"], 1);
    let l = sim.state().ledger();
    assert_eq!(
        (l.tasks_submitted, l.tasks_finished, l.tasks_killed),
        (2, 2, 1)
    );
}

#[test]
fn rescheduling_a_held_child_keeps_the_trace_run_length_learned_while_held() {
    // No durations at submission: the run lengths come from the trace's
    // SCHEDULE and END (R2_1: 100–150, so 50 s), learned while R2_1 is held.
    let records = vec![
        submit(100, task(7, 1, 0, 1000, &[], None)),
        submit(100, task(7, 2, 0, 2000, &[1], None)),
        schedule(100, 7, 1, 1),
        schedule(100, 7, 2, 1),
        end(150, 7, 2, EndKind::Finish),
        end(200, 7, 1, EndKind::Finish),
    ];
    let (seen, end, sim) = run(replay(records, ReplayMode::Reschedule, 1));
    assert_eq!(
        (seen[&1000], seen[&2000], end),
        ((100, 200), (200, 250), 250)
    );
    assert_eq!(replay_counts(&sim)["end_while_held"], 1);
}

fn limited(job: u64, index: u32, cpu: u64, limit: bool) -> TraceTask {
    let mut t = task(job, 0, index, cpu, &[], None);
    t.max_per_machine = limit.then_some(1);
    t
}

#[test]
fn a_spread_limit_counts_the_jobs_tasks_from_every_instant() {
    // One job's two tasks, at most one per machine, arriving at 1 s and 2 s
    // on a one-machine cell with room for both: the second stays pending.
    let records = vec![
        submit(1, limited(3, 0, 1000, true)),
        submit(2, limited(3, 1, 1000, true)),
    ];
    let (seen, _, sim) = run(replay(records.clone(), ReplayMode::Reschedule, 1));
    let st = sim.state();
    assert_eq!(
        (st.ledger().jobs_submitted, st.ledger().tasks_started),
        (1, 1)
    );
    assert_eq!(seen[&1000].0, 1);
    // The one left pending is named by its trace job.
    let j = st.job_of(st.pending().scan_order()[0].1[0].1);
    assert_eq!(j.trace_job, Some(3));
    // Two machines: one task on each.
    let (_, _, sim) = run(replay(records, ReplayMode::Reschedule, 2));
    let st = sim.state();
    assert_eq!(st.ledger().tasks_started, 2);
    let machines: Vec<_> = st.machines().iter().map(|m| m.tasks.len()).collect();
    assert_eq!(machines, [1, 1]);
}

#[test]
fn a_limit_that_comes_with_a_later_task_counts_the_earlier_ones() {
    // Task 0 (no limit) runs from 1 s; task 1 at 2 s must not share its
    // machine (Google 2011: "a different machine than any other currently
    // running task in the job"): on one machine it stays pending.
    let records = vec![
        submit(1, limited(3, 0, 1000, false)),
        submit(2, limited(3, 1, 2000, true)),
    ];
    let (seen, _, sim) = run(replay(records, ReplayMode::Reschedule, 1));
    assert!(!seen.contains_key(&2000));
    assert_eq!(replay_counts(&sim)["spread_parts_counted_late"], 1);
}

#[test]
fn jobs_are_counted_once_per_trace_job() {
    // Job 1: three tasks in two shapes over two instants; job 2: one task.
    let records = vec![
        submit(1, task(1, 0, 0, 1000, &[], Some(5))),
        submit(1, task(1, 0, 1, 500, &[], Some(5))),
        submit(3, task(1, 0, 2, 1000, &[], Some(5))),
        submit(3, task(2, 0, 0, 1000, &[], Some(5))),
    ];
    let (_, _, sim) = run(replay(records, ReplayMode::Reschedule, 1));
    let l = sim.state().ledger();
    assert_eq!(
        (l.jobs_submitted, l.tasks_submitted, l.tasks_finished),
        (2, 4, 4)
    );
}

// ---- usage records ----

fn usage(secs: u64, job: u64, stage: u32, cpu: u64) -> TraceRecord {
    let task = TaskKey {
        job,
        stage,
        index: 0,
    };
    let usage = Resources::new(cpu, 512);
    at(secs, TraceEvent::Usage { task, usage })
}

/// Each step's time (s) and usage updates, as (trace job, milli-cores).
type Steps = Vec<(u64, Vec<(u64, u64)>)>;

/// Drives the feed by hand on one 4-core machine (trace machine key 1):
/// each step's usage updates, as CPU by trace job; `place` runs after each
/// step, standing in for the scheduler (re-schedule mode).
fn usage_steps(
    records: Vec<TraceRecord>,
    mode: ReplayMode,
    place: impl Fn(SimTime, &StreamFeed, &mut CellState),
) -> (Steps, BTreeMap<&'static str, u64>) {
    let mut st = cell(&[(4000, 65536, 0)]);
    let ctx = Context {
        machine_ids: [(1, 0)].into_iter().collect(),
        excluded: Default::default(),
        racks: Vec::new(),
        use_trace_machines: false,
        format: "test",
    };
    let mut feed = StreamFeed::new(Box::new(Records::new(records)), mode, ctx);
    let mut steps = Vec::new();
    while let Some(now) = feed.next_time().unwrap() {
        feed.apply(now, &mut st, &mut Effects::default()).unwrap();
        let mut out = Vec::new();
        feed.take_usage(&mut out);
        let by_job = out
            .iter()
            .map(|(t, u)| (feed.key_of[t].job, u.cpu_milli))
            .collect();
        steps.push((now.as_us() / 1_000_000, by_job));
        place(now, &feed, &mut st);
    }
    (steps, feed.counts.clone())
}

#[test]
fn usage_of_running_tasks_reaches_the_driver_and_the_rest_is_counted() {
    // Job 1 placed at 0 s; job 2 never placed; job 3 held for stage 1 of
    // its job, which never comes; job 9 unknown. Job 1's usage at 10 s is
    // read before its end at 10 s: dropped when the instant is over.
    let records = vec![
        submit(0, task(1, 0, 0, 1000, &[], None)),
        schedule(0, 1, 0, 1),
        submit(0, task(2, 0, 0, 1000, &[], None)),
        submit(0, task(3, 2, 0, 1000, &[1], None)),
        usage(0, 1, 0, 500),
        usage(0, 2, 0, 600),
        usage(0, 3, 2, 700),
        usage(5, 1, 0, 800),
        usage(5, 9, 0, 900),
        usage(10, 1, 0, 400),
        end(10, 1, 0, EndKind::Finish),
        usage(12, 1, 0, 300),
    ];
    let (steps, counts) = usage_steps(records, ReplayMode::TracePlacement, |_, _, _| {});
    assert_eq!(
        steps,
        [
            (0, vec![(1, 500)]),
            (5, vec![(1, 800)]),
            (10, vec![]),
            (12, vec![])
        ]
    );
    // Not running: job 2 (pending), job 3 (held), job 1 at 10 s (ended in
    // its instant). Unknown: job 9, and job 1 after its end.
    assert_eq!(counts["usage_for_task_not_running"], 3);
    assert_eq!(counts["usage_for_unknown_task"], 2);
}

#[test]
fn in_reschedule_mode_a_pending_tasks_window_is_kept_for_its_start() {
    // The trace runs job 1 from 0 s; borgsim starts it at 2 s (the
    // stand-in scheduler): its window at 1 s, while it is pending, is
    // kept as the usage it starts from (in the cell's books: this cell
    // keeps none), the one at 3 s reaches the driver. An update not taken
    // before the next step is gone (the step at 3 s takes only its own).
    let records = vec![
        submit(0, task(1, 0, 0, 1000, &[], None)),
        schedule(0, 1, 0, 1),
        usage(1, 1, 0, 500),
        at(2, TraceEvent::MachineRemove { machine: 7 }),
        usage(3, 1, 0, 600),
        usage(3, 1, 0, 650),
    ];
    let place = |now: SimTime, feed: &StreamFeed, st: &mut CellState| {
        if now == SimTime::from_secs(2) {
            let key = TaskKey {
                job: 1,
                stage: 0,
                index: 0,
            };
            st.place(now, feed.live[&key], 0);
        }
    };
    let (steps, counts) = usage_steps(records, ReplayMode::Reschedule, place);
    // Both updates of the step, in trace order: the later one supersedes.
    assert_eq!(
        steps,
        [
            (0, vec![]),
            (1, vec![]),
            (2, vec![]),
            (3, vec![(1, 600), (1, 650)])
        ]
    );
    assert_eq!(counts["usage_kept_until_start"], 1);
    assert!(!counts.contains_key("usage_for_task_not_running"));
    assert!(!counts.contains_key("usage_for_unknown_task"));
}

#[test]
fn updates_not_taken_are_dropped_at_the_next_step() {
    let records = vec![
        submit(0, task(1, 0, 0, 1000, &[], None)),
        schedule(0, 1, 0, 1),
        usage(1, 1, 0, 500),
        usage(2, 1, 0, 600),
    ];
    let st = &mut cell(&[(4000, 65536, 0)]);
    let ctx = Context {
        machine_ids: [(1, 0)].into_iter().collect(),
        excluded: Default::default(),
        racks: Vec::new(),
        use_trace_machines: false,
        format: "test",
    };
    let mut feed = StreamFeed::new(
        Box::new(Records::new(records)),
        ReplayMode::TracePlacement,
        ctx,
    );
    for s in 0..3 {
        feed.apply(SimTime::from_secs(s), st, &mut Effects::default())
            .unwrap();
    }
    let mut out = Vec::new();
    feed.take_usage(&mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.cpu_milli, 600);
}

/// `replay` with usage books, measuring (a task without a row uses its
/// limit).
fn replay_measuring(records: Vec<TraceRecord>, mode: ReplayMode) -> Simulation {
    use crate::cell::state::usage::{ReclamationMode, Settings};
    let mut sim = replay(records, mode, 1);
    let settings = Settings {
        mode: ReclamationMode::Measure,
        delay: SimDuration::from_secs(300),
        margin_permille: 100,
        decay_permille: 250,
        overcommit_permille: [1000, 1000],
    };
    let limit = crate::workload::usage::FixedShare {
        cpu_permille: 1000,
        mem_permille: 1000,
    };
    sim.reclaim(settings, SimDuration::from_secs(300), Box::new(limit));
    sim
}

/// The usage of the running task of stage `stage`, after every event up
/// to `secs`.
fn usage_at(sim: &mut Simulation, secs: u64, stage: u32) -> Resources {
    while sim
        .next_event_time()
        .is_some_and(|t| t <= SimTime::from_secs(secs))
    {
        sim.step();
    }
    let st = sim.state();
    let (t, _) = st
        .live_tasks()
        .find(|&(t, r)| {
            matches!(r.state, TaskState::Running { .. })
                && sim.feed().trace_task(t).as_deref() == Some(&format!("{stage}.0"))
        })
        .expect("the stage's task runs");
    st.usage_books().unwrap().task(t).usage
}

/// Re-schedule mode keeps a row of a task not started — held for its
/// parent (stage 2), or pending (stage 3, 3 cores, waits for stage 1's
/// core) — as the usage it starts from; a row of a task never submitted
/// (stage 9) is dropped. Trace placement drops the held one's.
#[test]
fn rows_of_tasks_not_started_are_their_usage_when_they_start() {
    let records = || {
        vec![
            submit(100, task(7, 1, 0, 1000, &[], Some(100))),
            submit(100, task(7, 2, 0, 2000, &[1], Some(50))),
            submit(100, task(7, 3, 0, 3500, &[], Some(10))),
            usage(100, 7, 2, 500),
            usage(100, 7, 3, 700),
            usage(100, 7, 9, 100),
        ]
    };
    let mut sim = replay_measuring(records(), ReplayMode::Reschedule);
    // Stage 1 runs 100–200 s at its limit; stage 3 waits for it and
    // runs 200–210 s from its row; stage 2, released at 200 s, waits
    // for stage 3 and runs 210–260 s from its row.
    assert_eq!(usage_at(&mut sim, 100, 1), Resources::new(1000, 1024));
    assert_eq!(usage_at(&mut sim, 200, 3), Resources::new(700, 512));
    assert_eq!(usage_at(&mut sim, 210, 2), Resources::new(500, 512));
    sim.run(&mut |_| {}).unwrap();
    let counts = replay_counts(&sim);
    assert_eq!(counts["usage_kept_until_start"], 2);
    assert_eq!(counts["usage_for_unknown_task"], 1);
    assert!(!counts.contains_key("usage_for_task_not_running"));
    // Placing as the trace does (no SCHEDULE: nothing runs), every row
    // of a live task not running is dropped, as before.
    let mut sim = replay_measuring(records(), ReplayMode::TracePlacement);
    sim.run(&mut |_| {}).unwrap();
    let counts = replay_counts(&sim);
    assert_eq!(counts["usage_for_task_not_running"], 2);
    assert!(!counts.contains_key("usage_kept_until_start"));
}
