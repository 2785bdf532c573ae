//! Unit tests of the cell state: the books after each change, machines
//! going down and shrinking, kills, and slot reuse.

use super::*;
use crate::cell::invariants::check;
use crate::testkit::{cell, job, occupy, submit};

#[test]
fn place_evict_finish_keep_the_books() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let j = submit(&mut st, job(1000, 2000, 100, 2));
    let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
    st.place(SimTime(10), a, 0);
    st.place(SimTime(10), b, 0);
    // 4000 - 2*1000 = 2000 mcpu, 8000 - 2*2000 = 4000 MiB left.
    assert_eq!(st.machine(0).free, Resources::new(2000, 4000));
    check(&st).unwrap();
    st.evict(SimTime(20), a, EvictionCause::Preemption);
    assert_eq!(st.task(a).state, TaskState::Pending);
    assert_eq!(st.ledger().evictions[0], 1);
    // A completion for the evicted incarnation is stale and ignored.
    assert!(!st.finish(SimTime(30), a, 1));
    assert!(st.finish(SimTime(30), b, 1));
    assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
    check(&st).unwrap();
    // Batch allocation 2000 mcpu for 10 µs then 1000 for 10 µs = 30000 mcpu·µs.
    assert_eq!(st.ledger().alloc_integral[Band::Batch.index()][0], 30_000);
}

#[test]
#[should_panic(expected = "over capacity")]
fn placing_over_capacity_is_refused() {
    let mut st = cell(&[(4000, 8000, 0)]);
    occupy(&mut st, 0, 3000, 10, 0);
    occupy(&mut st, 0, 3000, 10, 0);
}

#[test]
#[should_panic(expected = "time went back")]
fn time_never_goes_back() {
    let mut st = cell(&[(4000, 8000, 0)]);
    st.advance(SimTime(5));
    st.advance(SimTime(4));
}

#[test]
fn the_checker_sees_what_the_books_hide() {
    let mut st = cell(&[(4000, 8000, 0)]);
    occupy(&mut st, 0, 1000, 1000, 0);
    check(&st).unwrap();
    // Corrupt the incremental state behind the mutators' back.
    st.machines[0].free.cpu_milli += 1;
    assert!(check(&st).unwrap_err().contains("free"));
    st.machines[0].free.cpu_milli -= 1;
    st.machines[0].tasks.push(0);
    assert!(check(&st).is_err());
}

#[test]
fn machines_go_down_and_shrink_evicting_lowest_priority_first() {
    let mut st = cell(&[(4000, 8000, 2), (4000, 8000, 0)]);
    let low = occupy(&mut st, 0, 1000, 1000, 0);
    let high = occupy(&mut st, 0, 2000, 2000, 200);
    // Shrink machine 0 to 2500 mcpu: the 3000 held no longer fit; the
    // priority-0 task goes first, then 2000 ≤ 2500 fits.
    let gone = st.set_machine(SimTime(1), 0, Some(Resources::new(2500, 8000)));
    assert_eq!(gone, vec![low]);
    // Free = 2500 − 2000 = 500 mcpu; withheld = 4000 − 2500 = 1500.
    assert_eq!(st.machine(0).free, Resources::new(500, 6000));
    assert_eq!(st.withheld(0), Resources::new(1500, 0));
    assert_eq!(
        st.ledger().evictions[EvictionCause::MachineShrunk as usize],
        1
    );
    check(&st).unwrap();
    // Down: everything goes, nothing is offered, GPUs included.
    assert_eq!(st.set_machine(SimTime(2), 0, None), vec![high]);
    assert!(!st.machine_up(0));
    assert_eq!(st.machine(0).free, Resources::ZERO);
    assert_eq!(st.machine(0).gpu_free_milli, vec![0, 0]);
    check(&st).unwrap();
    // Back up at full size: all of it free again.
    assert!(st
        .set_machine(SimTime(3), 0, Some(Resources::new(9999, 9999)))
        .is_empty());
    assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
    assert_eq!(st.machine(0).gpu_free_milli, vec![1000, 1000]);
    check(&st).unwrap();
}

#[test]
#[should_panic(expected = "which is down")]
fn nothing_is_placed_on_a_down_machine() {
    let mut st = cell(&[(4000, 8000, 0)]);
    st.set_machine(SimTime(1), 0, None);
    occupy(&mut st, 0, 0, 0, 0);
}

#[test]
fn killing_withdraws_pending_and_running_tasks() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let j = submit(&mut st, job(1000, 1000, 100, 2));
    let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
    st.place(SimTime(1), a, 0);
    assert!(st.kill(SimTime(2), a));
    assert!(st.kill(SimTime(2), b));
    assert!(!st.kill(SimTime(3), b), "already gone");
    assert_eq!(st.pending().len(), 0);
    assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
    assert_eq!(
        (st.ledger().tasks_killed, st.ledger().tasks_finished),
        (2, 2)
    );
    check(&st).unwrap();
}

#[test]
fn finished_jobs_are_reclaimed_and_their_slots_reused() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let a = submit(&mut st, job(1000, 1000, 100, 2));
    let (t0, t1) = (st.job(a).tasks[0], st.job(a).tasks[1]);
    st.place(SimTime(1), t0, 0);
    st.place(SimTime(1), t1, 0);
    assert!(st.finish(SimTime(2), t0, 1));
    // The finished task's slot is freed; the job lives on.
    assert!(st.reclaim().is_empty(), "one task still runs");
    assert!(st.is_live_job(a));
    check(&st).unwrap();
    assert!(st.finish(SimTime(3), t1, 1));
    assert_eq!(st.reclaim(), &[a]);
    assert!(!st.is_live_job(a));
    check(&st).unwrap();
    // The next job takes the freed ids (ascending) and job id; a
    // completion scheduled for an old task (incarnation 1) is stale.
    let b = submit(&mut st, job(500, 500, 100, 3));
    assert_eq!(b, a);
    assert_eq!(&st.job(b).tasks[..], &[t0, t1, 2]);
    assert_eq!(st.job(b).serial, 1);
    st.place(SimTime(4), t0, 0);
    assert!(!st.finish(SimTime(5), t0, 1));
    assert!(st.finish(SimTime(5), t0, 2));
    check(&st).unwrap();
    assert_eq!(st.ledger().tasks_reclaimed, 2);
    assert_eq!(st.tasks().len(), 3);
}

#[test]
fn parts_of_a_trace_job_share_its_spread_counters_and_count_once() {
    // Machines 0,1 in rack 0. Trace job 7 arrives in two parts, each with
    // at most one task per machine; job 8, another trace job, is apart.
    let mut st = cell(&[(4000, 8000, 0); 2]);
    let mut limited = job(1000, 1000, 100, 1);
    limited.spread = vec![crate::workload::SpreadLimit {
        level: crate::cell::domain::DomainLevel::Machine,
        max_tasks: 1,
    }];
    st.count_workload_job();
    let a = st.submit_part(SimTime(1), limited.clone(), 7, false);
    st.place(SimTime(1), st.job(a).tasks[0], 0);
    let b = st.submit_part(SimTime(2), limited.clone(), 7, false);
    let c = st.submit_part(SimTime(2), limited, 8, false);
    use crate::cell::domain::DomainLevel::{Machine, Rack};
    // Part b sees part a's task on machine 0; job 8 sees none.
    assert_eq!(st.job_tasks_in_domain(b, Machine, 0), 1);
    assert_eq!(st.job_tasks_in_domain(c, Machine, 0), 0);
    assert_eq!(st.owner(b), Owner::Trace(7));
    check(&st).unwrap();
    // Two parts and another job, but one workload job counted.
    assert_eq!(st.ledger().jobs_submitted, 1);
    assert_eq!((st.job(a).serial, st.job(b).serial), (0, 1));
    // Both parts running in rack 0: 2 there.
    st.place(SimTime(3), st.job(b).tasks[0], 1);
    assert_eq!(st.job_tasks_in_domain(a, Rack, 0), 2);
    check(&st).unwrap();
    // An unlimited part is not counted until asked to be, then with its
    // running task.
    let d = st.submit_part(SimTime(4), job(1000, 1000, 100, 1), 7, false);
    st.place(SimTime(4), st.job(d).tasks[0], 1);
    assert_eq!(st.job_tasks_in_domain(a, Machine, 1), 1);
    st.count_spread(d);
    st.count_spread(d);
    assert_eq!(st.job_tasks_in_domain(a, Machine, 1), 2);
    check(&st).unwrap();
    // Ends take the counts back down to nothing.
    for j in [a, b, d] {
        st.kill(SimTime(5), st.job(j).tasks[0]);
    }
    assert_eq!(st.spread_counters().count(), 0);
    check(&st).unwrap();
}

#[test]
fn lower_subtracts_and_refuses_to_go_below_zero() {
    let mut n: u64 = 3;
    lower(&mut n, 2, "x"); // 3 - 2 = 1
    assert_eq!(n, 1);
    let r = std::panic::catch_unwind(move || {
        let mut n = n;
        lower(&mut n, 2, "x"); // 1 - 2 < 0
    });
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(msg, "count x would go below zero (1 - 2)");
}

#[test]
#[should_panic(expected = "count running_by_band would go below zero")]
fn a_ledger_count_below_zero_stops_the_run() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let t = occupy(&mut st, 0, 1000, 1000, 100);
    // Forge a bookkeeping bug: the ledger forgets the running task.
    st.ledger.running_by_band = [0; 4];
    st.finish(SimTime(5), t, 1);
}

#[test]
#[should_panic(expected = "alloc_by_band would go below zero")]
fn a_band_allocation_below_zero_stops_the_run() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let t = occupy(&mut st, 0, 1000, 1000, 100);
    // The allocation was clamped at zero before; now the bug is named.
    st.ledger.alloc_by_band = [Resources::ZERO; 4];
    st.finish(SimTime(5), t, 1);
}

#[test]
#[should_panic(expected = "not finished and unqueued")]
fn reclaim_frees_only_finished_slots() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let t = occupy(&mut st, 0, 1000, 1000, 100);
    // Forge a bug: a running task listed as done.
    st.done_tasks.push(t);
    st.reclaim();
}

#[test]
#[should_panic(expected = "not finished and unqueued")]
fn reclaim_never_frees_a_queued_slot() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let j = submit(&mut st, job(1000, 1000, 100, 1));
    let t = st.job(j).tasks[0];
    st.done_tasks.push(t);
    st.reclaim();
}

#[test]
fn a_task_that_requests_nothing_keeps_its_priority_entry() {
    // Google 2011 has tasks requesting 0 CPU and 0 memory. On one machine, at
    // priority 100: a task of (1000, 1000) and one of (0, 0). The entry for
    // priority 100 holds (1000, 1000) and 2 tasks; when the first finishes
    // it holds (0, 0) and 1 task, and must stay for the second.
    let mut st = cell(&[(4000, 8000, 0)]);
    let a = occupy(&mut st, 0, 1000, 1000, 100);
    let b = occupy(&mut st, 0, 0, 0, 100);
    assert!(st.finish(SimTime(5), a, 1));
    check(&st).unwrap();
    assert!(st.finish(SimTime(6), b, 1));
    check(&st).unwrap();
    assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
}

#[test]
fn a_prod_job_losing_a_task_to_a_machine_failure_is_measured_exactly() {
    // A prod job of 3 tasks, all placed at 0; task 0 is evicted at 10 s by
    // a machine failure and placed again at 40 s; the run is read at 100 s.
    // All running 100 − 30 = 70 s of 100 (70 %); at least n − 1 = 2
    // running all along (100 %). Lost work: task 0 had run 10 s. Running
    // prod task·µs: 3 × 100 s − 30 s = 270 s.
    let s = SimTime::from_secs;
    let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
    let j = submit(&mut st, job(1000, 1000, 200, 3));
    let tasks = st.job(j).tasks.to_vec();
    for &t in &tasks {
        st.place(s(0), t, 0);
    }
    assert_eq!(st.availability().now_counts(), (1, 1, 1));
    st.evict(s(10), tasks[0], EvictionCause::MachineFailure);
    assert_eq!(st.availability().now_counts(), (1, 0, 1));
    check(&st).unwrap();
    st.place(s(40), tasks[0], 1);
    st.advance(s(100));
    check(&st).unwrap();
    let shares = st.availability().shares_at(s(100));
    assert_eq!(shares.all_running_bp[7_000], 1);
    assert_eq!(shares.within_k_bp[10_000], 1);
    let l = st.ledger();
    let (c, b) = (
        EvictionCause::MachineFailure as usize,
        Band::Production.index(),
    );
    assert_eq!(l.evictions_by_band[c][b], 1);
    assert_eq!(l.lost_work_us[c][b], 10_000_000);
    assert_eq!(l.running_integral_us[b], 270_000_000);
    // The books say so; a wrong count would not pass the checker: finish
    // all three (the job retires, no longer tracked) and check again.
    for &t in &tasks {
        let inc = st.task(t).incarnation;
        assert!(st.finish(s(100), t, inc));
    }
    assert_eq!(st.availability().now_counts(), (0, 0, 0));
    check(&st).unwrap();
    st.reclaim();
    // A non-prod job reusing the slot is not tracked.
    let n = submit(&mut st, job(1000, 1000, 0, 3));
    assert_eq!(st.availability().counts_of(n), None);
    check(&st).unwrap();
}

#[test]
fn every_change_of_a_machine_moves_its_seq_once_and_is_logged_once() {
    // Score caches and the fragmentation sum read the change log, caches
    // and fault holds compare seqs: a machine's seq must move exactly as
    // often as the machine is logged, by one per change.
    let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
    let logged_as_counted = |st: &CellState| {
        let log = st
            .changes_since(0)
            .expect("a short run keeps its whole log");
        for m in 0..2u32 {
            let n = log.iter().filter(|&&x| x == m).count() as u64;
            assert_eq!(st.machine_seq(m), n, "machine {m}");
        }
    };
    let j = submit(&mut st, job(1000, 1000, 100, 3));
    let t: Vec<TaskId> = st.job(j).tasks.to_vec();
    let seq = |st: &CellState| [st.machine_seq(0), st.machine_seq(1)];
    assert_eq!(seq(&st), [0, 0], "a submission changes no machine");
    // A placement, a completion, an eviction and a kill: one each.
    st.place(SimTime(1), t[0], 0);
    st.place(SimTime(1), t[1], 0);
    st.place(SimTime(1), t[2], 1);
    assert_eq!(seq(&st), [2, 1]);
    assert!(st.finish(SimTime(2), t[2], 1));
    st.evict(SimTime(3), t[1], EvictionCause::Preemption);
    assert_eq!(seq(&st), [3, 2]);
    st.place(SimTime(4), t[1], 0);
    assert!(st.kill(SimTime(5), t[1]));
    assert_eq!(seq(&st), [5, 2]);
    logged_as_counted(&st);
    // Unreachable and back: one each; asked twice, nothing.
    assert!(st.set_unreachable(SimTime(6), 1, true));
    assert!(!st.set_unreachable(SimTime(6), 1, true));
    assert!(st.set_unreachable(SimTime(7), 1, false));
    assert_eq!(seq(&st), [5, 4]);
    // Machine 0 down with its one task: the eviction, then the machine.
    let evicted = st.set_machine_as(SimTime(8), 0, None, EvictionCause::MachineFailure);
    assert_eq!(evicted, vec![t[0]]);
    assert_eq!(seq(&st), [7, 4]);
    // Up again, then shrunk: one each.
    st.set_machine_as(
        SimTime(9),
        0,
        Some(Resources::new(4000, 8000)),
        EvictionCause::MachineFailure,
    );
    st.set_machine_as(
        SimTime(10),
        0,
        Some(Resources::new(2000, 8000)),
        EvictionCause::MachineFailure,
    );
    assert_eq!(seq(&st), [9, 4]);
    logged_as_counted(&st);
    check(&st).unwrap();
}
