//! Unit tests of the usage books: the reservation formula's arithmetic,
//! headroom with an excess, non-prod on reclaimed capacity, memory overruns
//! and CPU throttling lowest priority first (never prod), and random
//! sequences of changes checked after each.

use super::*;
use crate::cell::invariants;
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::testkit::{cell, occupy};
use crate::time::SimTime;
use crate::workload::usage::FixedShare;

/// Borg's defaults: 300 s delay, a 10 % margin, a quarter of the gap a tick.
fn borg(mode: ReclamationMode) -> Settings {
    Settings {
        mode,
        delay: SimDuration::from_secs(300),
        margin_permille: 100,
        decay_permille: 250,
        overcommit_permille: [1000, 1000],
    }
}

#[test]
fn reservations_follow_the_formula() {
    let s = borg(ReclamationMode::On);
    let limit = Resources::new(1000, 4096);
    let usage = Resources::new(400, 1000);
    let at = |secs| SimDuration::from_secs(secs);
    // Within the delay (299 s < 300 s): the limit, whatever the usage.
    assert_eq!(
        next_reservation(&s, &limit, &usage, &Resources::new(7, 7), at(299), true),
        limit
    );
    // After it: cpu target = min(1000, 400 + ⌈400 × 100 / 1000⌉ = 40) = 440;
    // 1000 > 440, so 440 + ⌊(1000 − 440) × 750 / 1000⌋ = 440 + 420 = 860.
    // mem target = min(4096, 1000 + 100) = 1100; 1100 + ⌊2996 × 750 / 1000⌋
    // = 1100 + 2247 = 3347.
    let r1 = next_reservation(&s, &limit, &usage, &limit, at(300), true);
    assert_eq!(r1, Resources::new(860, 3347));
    // The next tick: 440 + ⌊420 × 0.75⌋ = 755; 1100 + ⌊2247 × 0.75⌋ = 2785.
    let r2 = next_reservation(&s, &limit, &usage, &r1, at(600), true);
    assert_eq!(r2, Resources::new(755, 2785));
    // Usage rises to 900 / 4000: targets min(1000, 990) = 990 and
    // min(4096, 4400) = 4096, both above: the reservation rises at once.
    let high = Resources::new(900, 4000);
    assert_eq!(
        next_reservation(&s, &limit, &high, &r2, at(900), true),
        Resources::new(990, 4096)
    );
    // Without decay (a usage change between ticks), a target below stays put.
    assert_eq!(
        next_reservation(&s, &limit, &usage, &r2, at(900), false),
        r2
    );
    // The margin rounds up: usage 7 → 7 + ⌈0.7⌉ = 8; decay 1000 reaches it at once.
    let s = Settings {
        decay_permille: 1000,
        ..s
    };
    let tiny = Resources::new(7, 0);
    assert_eq!(
        next_reservation(&s, &limit, &tiny, &limit, at(300), true),
        Resources::new(8, 0)
    );
}

#[test]
fn a_change_is_a_sub_then_an_add() {
    let r = Resources::new;
    let mut a = MachineUsage::default();
    // Priority 100: one task using 1000/500 reserving 2000/800; priority 200
    // one using 300/300 reserving 600/600.
    a.add(100, &r(1000, 500), &r(2000, 800), 1);
    a.add(200, &r(300, 300), &r(600, 600), 1);
    let mut b = a.clone();
    // The first task now uses 700/650 and reserves 1500/900.
    a.change(
        100,
        &[r(1000, 500), r(2000, 800)],
        &[r(700, 650), r(1500, 900)],
    );
    b.sub(100, &r(1000, 500), &r(2000, 800), 0);
    b.add(100, &r(700, 650), &r(1500, 900), 0);
    assert_eq!(a, b);
    // Σ usage 700 + 300 = 1000 / 650 + 300 = 950; Σ reserved 1500 + 600 =
    // 2100 / 900 + 600 = 1500.
    assert_eq!((a.usage, a.reserved), (r(1000, 950), r(2100, 1500)));
    assert_eq!(a.by_priority()[0].tasks, 1);
}

#[test]
#[should_panic(expected = "below zero")]
fn a_change_from_more_than_is_held_panics() {
    let r = Resources::new;
    let mut a = MachineUsage::default();
    a.add(100, &r(1000, 500), &r(2000, 800), 1);
    a.change(100, &[r(1001, 500), r(2000, 800)], &[r(0, 0), r(0, 0)]);
}

#[test]
fn the_reservation_room_is_the_basis_read_at_once() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let s = Settings {
        overcommit_permille: [1500, 1250],
        ..borg(ReclamationMode::On)
    };
    let half = FixedShare {
        cpu_permille: 500,
        mem_permille: 500,
    };
    st.enable_usage(s, Box::new(half));
    // A batch task of 1000 / 2000 reserves its limit at first: the basis
    // 4000 × 1.5 = 6000 / 8000 × 1.25 = 10000, free 5000 / 8000.
    occupy(&mut st, 0, 1000, 2000, 100);
    let room = st.reservation_room(0);
    assert_eq!(room.capacity, Resources::new(4000, 8000));
    assert_eq!(room.free, Resources::new(5000, 8000));
    assert_eq!(room.basis_capacity, Resources::new(6000, 10000));
    assert_eq!(room.free, st.headroom(0, Basis::Reservation).free);
    assert_eq!(
        room.basis_capacity,
        st.basis_capacity(0, Basis::Reservation)
    );
}

#[test]
fn headroom_keeps_free_and_excess_apart() {
    // 4000 / 8000 holding 5000 / 3000: free (0, 5000), excess (1000, 0).
    let mut h = Headroom::between(&Resources::new(4000, 8000), &Resources::new(5000, 3000));
    assert_eq!(h.free, Resources::new(0, 5000));
    assert_eq!(h.excess, Resources::new(1000, 0));
    // Beyond the basis in CPU, it admits no CPU; a task asking none is
    // judged by memory alone (it adds nothing to the excess).
    assert!(!h.admits(&Resources::new(1, 100)));
    assert!(h.admits(&Resources::new(0, 5000)));
    // 1500 / 500 back: 1000 of it pays the excess, 500 becomes free.
    h.give(&Resources::new(1500, 500));
    assert_eq!(
        (h.free, h.excess),
        (Resources::new(500, 5500), Resources::ZERO)
    );
    assert!(h.admits(&Resources::new(500, 5500)));
    // 800 / 6000 more: free runs out, the rest is excess again.
    h.take(&Resources::new(800, 6000));
    assert_eq!(
        (h.free, h.excess),
        (Resources::ZERO, Resources::new(300, 500))
    );
}

/// One machine of 4000 milli-cores / 8000 MiB, reclamation `on` with no
/// delay, no margin and reservations reaching usage in one tick; every
/// task uses half its limit.
fn reclaiming() -> CellState {
    let mut st = cell(&[(4000, 8000, 0)]);
    let s = Settings {
        delay: SimDuration::ZERO,
        margin_permille: 0,
        decay_permille: 1000,
        ..borg(ReclamationMode::On)
    };
    let half = FixedShare {
        cpu_permille: 500,
        mem_permille: 500,
    };
    st.enable_usage(s, Box::new(half));
    st
}

#[test]
fn non_prod_runs_on_reclaimed_capacity() {
    let mut st = reclaiming();
    // Prod 2000 / 4000 uses 1000 / 2000; after a tick its reservation is that.
    let p = occupy(&mut st, 0, 2000, 4000, 200);
    st.reclamation_tick(SimTime::from_secs(1));
    let b = st.usage_books().unwrap();
    assert_eq!(b.task(p).reservation, Resources::new(1000, 2000));
    // Batch asks 3000 / 6000: limits have 2000 / 4000 left, reservations
    // 4000 − 1000 = 3000 / 8000 − 2000 = 6000: it fits by reservations.
    assert_eq!(st.basis_for(100), Basis::Reservation);
    assert_eq!(st.basis_for(200), Basis::Limit);
    let room = st.headroom(0, Basis::Reservation);
    assert!(room.admits(&Resources::new(3000, 6000)));
    assert!(!st
        .headroom(0, Basis::Limit)
        .admits(&Resources::new(3000, 6000)));
    let batch = occupy(&mut st, 0, 3000, 6000, 100);
    // Limits 5000 / 10000 on 4000 / 8000: free 0, excess 1000 / 2000.
    let lim = st.headroom(0, Basis::Limit);
    assert_eq!(
        (lim.free, lim.excess),
        (Resources::ZERO, Resources::new(1000, 2000))
    );
    assert_eq!(st.limits_held(0), Resources::new(5000, 10000));
    invariants::check(&st).unwrap();
    // 10 s of it: ∫ excess = 1000 milli-cores × 10 s.
    st.advance(SimTime::from_secs(11));
    let l = st.usage_books().unwrap().ledger();
    assert_eq!(l.excess_integral[0], 1000 * 10_000_000);
    // The batch task ends: the excess is paid back first, free is exact again.
    st.evict(SimTime::from_secs(11), batch, EvictionCause::Preemption);
    assert_eq!(
        st.headroom(0, Basis::Limit).free,
        Resources::new(2000, 4000)
    );
    assert_eq!(st.usage_books().unwrap().ledger().excess, Resources::ZERO);
    invariants::check(&st).unwrap();
}

#[test]
fn measuring_schedules_by_limits() {
    let mut st = cell(&[(4000, 8000, 0)]);
    let half = FixedShare {
        cpu_permille: 500,
        mem_permille: 500,
    };
    st.enable_usage(borg(ReclamationMode::Measure), Box::new(half));
    assert_eq!(st.basis_for(100), Basis::Limit);
    let t = occupy(&mut st, 0, 2000, 4000, 100);
    // Usage is kept, and the reservation starts at the limit.
    let u = st.usage_books().unwrap().task(t);
    assert_eq!(
        (u.usage, u.reservation),
        (Resources::new(1000, 2000), Resources::new(2000, 4000))
    );
    // Within the delay a tick keeps it at the limit; after it, it decays:
    // target 1000 + 100 = 1100, 1100 + ⌊900 × 0.75⌋ = 1775 (mem 2200 + 1350).
    st.reclamation_tick(SimTime::from_secs(299));
    assert_eq!(
        st.usage_books().unwrap().task(t).reservation,
        Resources::new(2000, 4000)
    );
    st.reclamation_tick(SimTime::from_secs(300));
    assert_eq!(
        st.usage_books().unwrap().task(t).reservation,
        Resources::new(1775, 3550)
    );
    invariants::check(&st).unwrap();
}

/// The cell of [`non_prod_runs_on_reclaimed_capacity`] with a best-effort
/// task added: prod P 2000 / 4000, batch B 3000 / 6000 (prio 100), best
/// effort E 1500 / 3000 (prio 0), each using half its limit.
fn three_tasks() -> (CellState, [crate::workload::TaskId; 3]) {
    let mut st = reclaiming();
    let p = occupy(&mut st, 0, 2000, 4000, 200);
    st.reclamation_tick(SimTime::from_secs(1));
    let b = occupy(&mut st, 0, 3000, 6000, 100);
    st.reclamation_tick(SimTime::from_secs(2));
    // Reservations 1000 + 1500 = 2500 / 5000: room for 1500 / 3000.
    let e = occupy(&mut st, 0, 1500, 3000, 0);
    invariants::check(&st).unwrap();
    (st, [p, b, e])
}

#[test]
fn memory_overrun_kills_the_lowest_priority_first_never_prod() {
    let (mut st, [p, b, e]) = three_tasks();
    let now = SimTime::from_secs(3);
    // B uses 3000 / 6000: memory 2000 + 6000 + 1500 = 9500 > 8000. E (prio 0)
    // is killed: 8000 fits. CPU 1000 + 3000 = 4000: nothing throttled.
    assert!(st.set_usage(now, b, Resources::new(3000, 6000)));
    assert_eq!(
        st.task(e).state,
        TaskState::Pending,
        "killed, pending again"
    );
    assert!(matches!(st.task(b).state, TaskState::Running { .. }));
    assert_eq!(
        st.ledger().evictions[EvictionCause::OutOfMemory as usize],
        1
    );
    assert_eq!(
        st.usage_books().unwrap().machine(0).usage,
        Resources::new(4000, 8000)
    );
    invariants::check(&st).unwrap();
    // Prod rises to its limit: 4000 + 6000 = 10000 > 8000; batch goes, prod stays.
    assert!(st.set_usage(now, p, Resources::new(2000, 4000)));
    assert_eq!(st.task(b).state, TaskState::Pending);
    assert!(matches!(st.task(p).state, TaskState::Running { .. }));
    let oom = &st.ledger().evictions_by_band[EvictionCause::OutOfMemory as usize];
    assert_eq!(oom, &[1, 1, 0, 0], "one best-effort, one batch, no prod");
    invariants::check(&st).unwrap();
}

#[test]
fn equal_priorities_lose_the_latest_started_first() {
    // Three batch tasks of 2000 / 4000, started at 0, 2 and 4 s, each
    // using 1000 / 2000; the third fits only by reservations (the first
    // two reserve their usage after a tick).
    let mut st = reclaiming();
    let first = occupy(&mut st, 0, 2000, 4000, 100);
    st.reclamation_tick(SimTime::from_secs(1));
    st.advance(SimTime::from_secs(2));
    let second = occupy(&mut st, 0, 2000, 4000, 100);
    st.reclamation_tick(SimTime::from_secs(3));
    st.advance(SimTime::from_secs(4));
    let third = occupy(&mut st, 0, 2000, 4000, 100);
    let now = SimTime::from_secs(5);
    // The first to 4000 MiB: 4000 + 2000 + 2000 = 8000 fits.
    assert!(st.set_usage(now, first, Resources::new(1000, 4000)));
    // A usage above the limit is clamped (counted): 4001 → 4000, still fits.
    assert!(st.set_usage(now, first, Resources::new(1000, 4001)));
    assert_eq!(st.usage_books().unwrap().ledger().usage_clamped, 1);
    assert_eq!(
        st.ledger().evictions[EvictionCause::OutOfMemory as usize],
        0
    );
    // The second to 3000: 9000 > 8000. Among equals the latest started
    // goes — the third, although its usage did not change.
    assert!(st.set_usage(now, second, Resources::new(1000, 3000)));
    assert_eq!(st.task(third).state, TaskState::Pending);
    assert!(matches!(st.task(first).state, TaskState::Running { .. }));
    assert!(matches!(st.task(second).state, TaskState::Running { .. }));
    // A usage for a pending task is kept for its next start (a trace's
    // row for a task not started, or killed): nothing else changes now.
    let held = st.usage_books().unwrap().machine(0).usage;
    assert!(st.set_usage(now, third, Resources::new(1, 1)));
    let b = st.usage_books().unwrap();
    assert_eq!(b.task(third).usage, Resources::ZERO);
    assert_eq!(b.task(third).external, Some(Resources::new(1, 1)));
    assert_eq!(b.machine(0).usage, held);
    // Killed for memory at 5 s, after 1 s of running: held back 10 s.
    assert!(st.held_back(third, SimTime::from_secs(14)));
    assert!(!st.held_back(third, SimTime::from_secs(15)));
    invariants::check(&st).unwrap();
}

#[test]
fn cpu_is_throttled_lowest_priority_first_and_prod_never() {
    let (mut st, [p, b, e]) = three_tasks();
    let at = SimTime::from_secs(3);
    // B to 3000 milli-cores: 1000 + 3000 + 750 = 4750, 750 over: E's whole
    // usage (750) is throttled, B's none.
    assert!(st.set_usage(at, b, Resources::new(3000, 3000)));
    let m = st.usage_books().unwrap().machine(0).throttled;
    assert_eq!(m, [750, 0, 0, 0]);
    // Prod to its limit, 2000: 2000 + 3000 + 750 = 5750, 1750 over: E 750,
    // then B 1000; prod, admitted by limits, is never throttled.
    assert!(st.set_usage(at, p, Resources::new(2000, 2000)));
    let m = st.usage_books().unwrap().machine(0).throttled;
    assert_eq!(m, [750, 1000, 0, 0]);
    invariants::check(&st).unwrap();
    // Integrated exactly: 10 s later, 750 × 10 s and 1000 × 10 s.
    st.advance(SimTime::from_secs(13));
    let l = st.usage_books().unwrap().ledger();
    assert_eq!(l.throttled_integral, [7_500_000_000, 10_000_000_000, 0, 0]);
    // E ends: B alone covers the 1000 over.
    st.evict(SimTime::from_secs(13), e, EvictionCause::Preemption);
    let m = st.usage_books().unwrap().machine(0).throttled;
    assert_eq!(m, [0, 1000, 0, 0]);
    invariants::check(&st).unwrap();
}

#[test]
fn a_tick_moves_the_seq_of_machines_whose_reservations_change() {
    let mut st = reclaiming();
    occupy(&mut st, 0, 2000, 4000, 100);
    let (seq, cursor) = (st.machine_seq(0), st.change_cursor());
    st.reclamation_tick(SimTime::from_secs(1));
    // The reservation fell from the limit to the usage: caches must see it.
    assert!(st.machine_seq(0) > seq);
    assert_eq!(st.changes_since(cursor), Some(&[0][..]));
    // Nothing changes at the next tick: no bump.
    let seq = st.machine_seq(0);
    st.reclamation_tick(SimTime::from_secs(2));
    assert_eq!(st.machine_seq(0), seq);
}

mod properties {
    //! Random sequences of what can happen to a cell with reclamation on —
    //! placements on the task's basis (as the scheduler admits them), usage
    //! rows (some above the limit), ticks, evictions, ends, machines
    //! resized, taken down and brought back — keep the books consistent
    //! (the independent checker after every step).

    use super::*;
    use crate::testkit::{job, submit};
    use crate::workload::TaskId;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// A one-task job of (priority, milli-cores, MiB) onto a machine.
        Place(u32, u64, u64, u32),
        /// The n-th running task's usage, in ‰ of its limit (cpu, mem).
        Usage(usize, u64, u64),
        Tick,
        Evict(usize),
        Finish(usize),
        /// A machine resized to (‰ of its capacity) or taken down (0).
        Resize(u32, u64),
        Wait(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let prio = prop_oneof![Just(0u32), Just(100), Just(110), Just(200), Just(360)];
        prop_oneof![
            6 => (prio, 1u64..=3000, 1u64..=6000, 0u32..3).prop_map(|(p, c, m, at)| Op::Place(p, c, m, at)),
            5 => (0usize..8, 300u64..=1200, prop_oneof![Just(300u64), 300u64..=1200])
                .prop_map(|(i, c, m)| Op::Usage(i, c, m)),
            2 => Just(Op::Tick),
            1 => (0usize..8).prop_map(Op::Evict),
            1 => (0usize..8).prop_map(Op::Finish),
            1 => (0u32..3, prop_oneof![Just(0u64), 500u64..=1000]).prop_map(|(m, p)| Op::Resize(m, p)),
            2 => (0u64..=120).prop_map(Op::Wait),
        ]
    }

    fn running(st: &CellState) -> Vec<TaskId> {
        st.live_tasks()
            .filter(|(_, r)| matches!(r.state, TaskState::Running { .. }))
            .map(|(t, _)| t)
            .collect()
    }

    /// Places a new task of `p` on `m` if it fits its basis, as the fit
    /// filter admits it.
    fn place(st: &mut CellState, now: SimTime, (p, cpu, mem): (u32, u64, u64), m: u32) {
        let req = Resources::new(cpu, mem);
        let basis = st.basis_for(p);
        let fits = st.machine_up(m)
            && st.headroom(m, basis).admits(&req)
            && req.fits_in(&st.current_capacity(m));
        if fits {
            let j = submit(st, job(cpu, mem, p, 1));
            st.place(now, st.job(j).tasks[0], m);
        }
    }

    fn apply(st: &mut CellState, now: &mut SimTime, op: Op) {
        let pick = |st: &CellState, i: usize| running(st).get(i).copied();
        match op {
            Op::Place(p, c, m, at) => place(st, *now, (p, c, m), at),
            Op::Usage(i, c, m) => {
                if let Some(t) = pick(st, i) {
                    let l = st.shape(t).request.res;
                    let u = Resources::new(l.cpu_milli * c / 1000, l.mem_mib * m / 1000);
                    assert!(st.set_usage(*now, t, u));
                }
            }
            Op::Tick => {
                st.reclamation_tick(*now);
            }
            Op::Evict(i) => {
                if let Some(t) = pick(st, i) {
                    st.evict(*now, t, EvictionCause::Preemption);
                }
            }
            Op::Finish(i) => {
                if let Some(t) = pick(st, i) {
                    let inc = st.task(t).incarnation;
                    assert!(st.finish(*now, t, inc));
                }
            }
            Op::Resize(m, permille) => {
                let full = st.cell().machines[m as usize].capacity.res;
                let cap = (permille > 0).then(|| {
                    Resources::new(
                        full.cpu_milli * permille / 1000,
                        full.mem_mib * permille / 1000,
                    )
                });
                st.set_machine(*now, m, cap);
            }
            Op::Wait(s) => *now += SimDuration::from_secs(s),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn the_books_hold_after_every_change(
            ops in prop::collection::vec(op(), 1..120),
            delay in 0u64..=60,
            decay in 0u32..=1000,
            oc in (1000u32..=2000, 1000u32..=2000),
        ) {
            let mut st = cell(&[(4000, 8000, 0), (8000, 16000, 0), (2000, 4000, 0)]);
            let s = Settings {
                delay: SimDuration::from_secs(delay),
                decay_permille: decay,
                overcommit_permille: [oc.0, oc.1],
                ..borg(ReclamationMode::On)
            };
            st.enable_usage(s, Box::new(FixedShare { cpu_permille: 200, mem_permille: 500 }));
            let mut now = SimTime::ZERO;
            for op in ops {
                let shown = format!("{op:?}");
                apply(&mut st, &mut now, op);
                st.reclaim();
                invariants::check(&st).map_err(|e| TestCaseError::fail(format!("after {shown}: {e}")))?;
            }
        }
    }
}

#[test]
fn a_usage_from_outside_is_the_tasks_across_evictions_and_a_draw_is_not() {
    // Two batch tasks of 2000 / 4000 on a 4000 / 8000 machine; the model
    // draws half the limit (1000 / 2000). Task a's usage is set from
    // outside to 300 / 600; both are preempted and placed again: a starts
    // from 300 / 600 (the usage is the task's), b from a new draw.
    let mut st = reclaiming();
    let a = occupy(&mut st, 0, 2000, 4000, 100);
    let b = occupy(&mut st, 0, 2000, 4000, 100);
    let at = SimTime::from_secs;
    assert!(st.set_usage(at(1), a, Resources::new(300, 600)));
    for t in [a, b] {
        st.evict(at(2), t, EvictionCause::Preemption);
        assert_eq!(st.usage_books().unwrap().task(t).usage, Resources::ZERO);
    }
    for t in [a, b] {
        st.place(at(3), t, 0);
    }
    let books = st.usage_books().unwrap();
    assert_eq!(books.task(a).usage, Resources::new(300, 600));
    assert_eq!(books.task(b).usage, Resources::new(1000, 2000));
    // 300 + 1000 milli-cores, 600 + 2000 MiB.
    assert_eq!(books.machine(0).usage, Resources::new(1300, 2600));
    invariants::check(&st).unwrap();
}
