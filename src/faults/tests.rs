//! Unit tests of the fault machinery's shared parts: time conversion,
//! stream independence, outages, the drain's budget, a trace's word on
//! a machine.

use super::maintenance;
use super::*;
use crate::cell::state::TaskState;
use crate::testkit::{job, submit, CellBuilder};

fn parse(text: &str) -> FaultsConfig {
    toml::from_str(text).unwrap()
}

const FAILURES: &str = "[[machine_failures]]\n\
    time_to_failure = { exponential = { mean_s = 1000 } }\nrepair_s = { constant = 10 }\n";

#[test]
fn seconds_become_whole_microseconds_once() {
    // 1.5 µs rounds to 2; below zero and NaN are 0; beyond the clock
    // is its last instant.
    assert_eq!(secs_to_us(1.5e-6), 2);
    assert_eq!(secs_to_us(-3.0), 0);
    assert_eq!(secs_to_us(f64::NAN), 0);
    assert_eq!(secs_to_us(1e30), SimTime::NEVER.as_us() - 1);
    assert_eq!(secs_to_us(600.0), 600_000_000);
}

#[test]
fn adding_a_fault_kind_changes_no_other_kinds_draws() {
    let cell = CellBuilder::new().machines(8, 4000, 8000, 0).cell();
    let fails = |cfg: &str| -> Vec<(SimTime, FaultEvent)> {
        let mut out = Vec::new();
        Faults::new(&parse(cfg), &cell, 9, SimTime::NEVER, &mut out).unwrap();
        out.retain(|(_, e)| matches!(e, FaultEvent::Fail { .. }));
        out
    };
    let alone = fails(FAILURES);
    assert_eq!(alone.len(), 8, "one clock per machine");
    let with_more = fails(&format!(
        "{FAILURES}[[unreachable]]\ntime_between = {{ exponential = {{ mean_s = 50 }} }}\n\
         duration_s = {{ constant = 1 }}\ngrace_s = 1\n\
         [[outages]]\nlevel = \"rack\"\ntime_between = {{ weibull = {{ shape = 2, scale_s = 9 }} }}\n\
         duration_s = {{ constant = 1 }}\n"
    ));
    assert_eq!(alone, with_more);
    // Each machine's clock is its own: no two first failures alike.
    let mut times: Vec<SimTime> = alone.iter().map(|(t, _)| *t).collect();
    times.dedup();
    assert_eq!(times.len(), 8);
}

#[test]
fn an_outage_takes_its_free_machines_and_gives_them_back_together() {
    // 4 machines, 2 per rack: rack 0 is machines 0 and 1.
    let mut st = CellBuilder::new()
        .machines(4, 4000, 8000, 0)
        .domains(2, 2)
        .build();
    let j = submit(&mut st, job(1000, 1000, 200, 2));
    let (a, b) = (st.job_tasks(j)[0], st.job_tasks(j)[1]);
    st.place(SimTime(0), a, 0);
    st.place(SimTime(0), b, 1);
    let cfg = parse(
        "[[outages]]\nlevel = \"rack\"\nat_s = 1\ndomain = 0\nduration_s = { constant = 5 }\n",
    );
    let mut out = Vec::new();
    let mut f = Faults::new(&cfg, st.cell(), 1, SimTime::NEVER, &mut out).unwrap();
    assert_eq!(
        out,
        vec![(
            SimTime::from_secs(1),
            FaultEvent::Outage { rule: 0, domain: 0 }
        )]
    );
    out.clear();
    // Machine 1 is already down (another cause): the outage leaves it.
    st.set_machine(SimTime(1), 1, None);
    assert!(f.handle(
        FaultEvent::Outage { rule: 0, domain: 0 },
        SimTime::from_secs(1),
        &mut st,
        &mut out
    ));
    assert!(!st.machine_up(0) && st.task(a).state == TaskState::Pending);
    assert_eq!(
        out,
        vec![(SimTime::from_secs(6), FaultEvent::OutageEnd { fault: 0 })]
    );
    f.handle(
        FaultEvent::OutageEnd { fault: 0 },
        SimTime::from_secs(6),
        &mut st,
        &mut out,
    );
    assert!(st.machine_up(0) && !st.machine_up(1), "only what it took");
    let row = &f.rows()[0];
    assert_eq!(
        (row.kind, row.level, row.machines, row.tasks_evicted),
        ("outage", "rack", 1, 1)
    );
    assert_eq!(row.recovered_at_us, None, "task a is pending still");
    crate::cell::invariants::check(&st).unwrap();
}

#[test]
fn maintenance_takes_a_machine_only_within_every_jobs_budget() {
    // 3 machines; a job of 10 tasks at 10 %: max(1, ⌊10 × 10 / 100⌋) =
    // 1 task out at once. Machine 0 holds 2 of its tasks, machine 1
    // one, machine 2 none.
    let mut st = CellBuilder::new().machines(3, 8000, 8000, 0).build();
    let j = submit(&mut st, job(100, 100, 200, 10));
    let t = st.job_tasks(j).to_vec();
    st.place(SimTime(0), t[0], 0);
    st.place(SimTime(0), t[1], 0);
    st.place(SimTime(0), t[2], 1);
    let cfg = parse(
        "[maintenance]\nstart_s = 0\nmax_down = 3\nmax_job_share_pct = 10\n\
         duration_s = { constant = 60 }\n",
    );
    let mut out = Vec::new();
    st.record_events(true);
    let mut f = Faults::new(&cfg, st.cell(), 1, SimTime::NEVER, &mut out).unwrap();
    out.clear();
    f.handle(FaultEvent::Drain, SimTime(0), &mut st, &mut out);
    let ev = st.take_events();
    f.observe(&ev, false, SimTime(0), &mut st, &mut out);
    // Machine 1 (one task: 0 + 1 ≤ 1) and machine 2 go; machine 0
    // (2 > 1) waits, and so would machine 1's task's job now.
    assert!(st.machine_up(0) && !st.machine_up(1) && !st.machine_up(2));
    assert_eq!(f.maintenance_down(), 2);
    assert!(out.contains(&(SimTime(maintenance::RETRY_US), FaultEvent::Drain)));
    // The evicted task runs again on machine 0: still 2 there, so
    // machine 0 stays (its two tasks exceed the budget on their own).
    st.place(SimTime(1), t[2], 0);
    let ev = st.take_events();
    f.observe(&ev, false, SimTime(1), &mut st, &mut out);
    f.handle(
        FaultEvent::Drain,
        SimTime(maintenance::RETRY_US),
        &mut st,
        &mut out,
    );
    assert!(st.machine_up(0));
    assert_eq!(
        f.summary(SimTime(maintenance::RETRY_US))
            .maintenance
            .unwrap()
            .finished_s,
        None
    );
}

#[test]
fn a_traces_machine_event_ends_a_faults_hold() {
    let mut st = CellBuilder::new().machines(2, 4000, 8000, 0).build();
    st.record_events(true);
    let mut out = Vec::new();
    let mut f = Faults::new(&parse(FAILURES), st.cell(), 3, SimTime::NEVER, &mut out).unwrap();
    out.clear();
    f.handle(
        FaultEvent::Fail {
            rule: 0,
            machine: 0,
        },
        SimTime(5),
        &mut st,
        &mut out,
    );
    assert!(!st.machine_up(0));
    let repair = out
        .iter()
        .find(|(_, e)| matches!(e, FaultEvent::Repair { .. }))
        .copied();
    let (at, repair) = repair.expect("a repair is scheduled");
    st.take_events();
    // The trace removes machine 0 for good (it was down already: a
    // trace resize to nothing), then the repair comes: it gives back
    // nothing, the trace having the last word.
    st.set_machine(SimTime(6), 0, Some(Resources::new(1000, 1000)));
    let ev = st.take_events();
    f.observe(&ev, true, SimTime(6), &mut st, &mut out);
    st.set_machine(SimTime(7), 0, None);
    let ev = st.take_events();
    f.observe(&ev, true, SimTime(7), &mut st, &mut out);
    assert!(!f.handle(repair, at, &mut st, &mut out));
    assert!(!st.machine_up(0), "the trace removed it");
    // Its REMOVE, having evicted nothing, is a fault of its own.
    assert_eq!(f.rows().last().unwrap().kind, "remove");
}

// Shared by the child modules: the driver's way of running faults.

/// A fault step, as the driver runs it.
pub(super) fn step(f: &mut Faults, st: &mut CellState, ev: FaultEvent, now: SimTime) -> Out {
    let mut out = Vec::new();
    f.handle(ev, now, st, &mut out);
    let events = st.take_events();
    f.observe(&events, false, now, st, &mut out);
    out
}

/// A trace's machine event: `None` a REMOVE, `Some` an ADD or UPDATE
/// with that capacity (what the feed does: `CellState::set_machine`).
pub(super) fn trace(
    f: &mut Faults,
    st: &mut CellState,
    m: MachineId,
    cap: Option<Resources>,
    now: SimTime,
) {
    st.set_machine(now, m, cap);
    let events = st.take_events();
    f.observe(&events, true, now, st, &mut Vec::new());
}

/// 4 machines of 4 cores, 2 per rack, a task of a service on each,
/// recording changes; the faults of `cfg` (their first events dropped:
/// each test runs the steps it needs).
pub(super) fn setup(cfg: &str) -> (CellState, Faults) {
    let mut st = CellBuilder::new()
        .machines(4, 4000, 8000, 0)
        .domains(2, 2)
        .build();
    let j = submit(&mut st, job(1000, 1000, 200, 4));
    for (m, &t) in st.job_tasks(j).to_vec().iter().enumerate() {
        st.place(SimTime(0), t, m as MachineId);
    }
    st.record_events(true);
    let cfg: FaultsConfig = toml::from_str(cfg).unwrap();
    let mut first = Vec::new();
    let f = Faults::new(&cfg, st.cell(), 1, SimTime::NEVER, &mut first).unwrap();
    (st, f)
}

/// The event `out` scheduled that `pick` selects.
pub(super) fn scheduled(out: &Out, pick: impl Fn(&FaultEvent) -> bool) -> (SimTime, FaultEvent) {
    *out.iter().find(|(_, e)| pick(e)).expect("scheduled")
}

pub(super) fn kinds(f: &Faults) -> Vec<(&'static str, u32)> {
    f.rows().iter().map(|r| (r.kind, r.domain)).collect()
}

pub(super) const FULL: Resources = Resources {
    cpu_milli: 4000,
    mem_mib: 8000,
};

mod contact;
mod holds;
