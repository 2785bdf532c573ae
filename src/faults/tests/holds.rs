//! A trace's word on a machine a fault holds: every kind of fault × a
//! REMOVE while it holds the machine, and the controls (a fault that
//! finds the machine already removed, a REMOVE while out of contact, an
//! UPDATE while held). Driven as the driver drives them: each fault step
//! followed by a look at what the cell recorded, each trace change by a
//! look marked as the feed's.

use super::super::*;
use super::{kinds, scheduled, setup, step, trace, Out, FULL};
use crate::cell::state::TaskState;

/// After the fault's own end: machine 0 stays out, a REMOVE row says
/// the trace removed it, the invariants hold, and the trace's ADD alone
/// brings it back.
fn removed_for_good(f: &mut Faults, st: &mut CellState, fault: &str) {
    assert!(!st.machine_up(0), "{fault}: the trace removed machine 0");
    assert!(kinds(f).contains(&("remove", 0)), "{fault}: {:?}", kinds(f));
    crate::cell::invariants::check(st).unwrap();
    trace(f, st, 0, Some(FULL), SimTime::from_secs(500));
    assert!(st.machine_up(0), "{fault}: the trace's ADD brings it back");
    crate::cell::invariants::check(st).unwrap();
}

/// A cell with one machine-failure rule (repairs take 10 s).
fn with_failure_rule() -> (CellState, Faults) {
    setup(
        "[[machine_failures]]\ntime_to_failure = { exponential = { mean_s = 1e6 } }\n\
         repair_s = { constant = 10 }\n",
    )
}

/// The rule's clock runs out for machine 0 at 5 s.
fn fail_machine_0(f: &mut Faults, st: &mut CellState) -> Out {
    step(
        f,
        st,
        FaultEvent::Fail {
            rule: 0,
            machine: 0,
        },
        SimTime::from_secs(5),
    )
}

#[test]
fn a_remove_ends_a_machine_failures_hold() {
    let (mut st, mut f) = with_failure_rule();
    let out = fail_machine_0(&mut f, &mut st);
    let repair = scheduled(&out, |e| matches!(e, FaultEvent::Repair { .. }));
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(6));
    step(&mut f, &mut st, repair.1, repair.0);
    removed_for_good(&mut f, &mut st, "machine failure");
}

#[test]
fn a_remove_ends_an_outages_hold_on_that_machine_only() {
    let (mut st, mut f) = setup(
        "[[outages]]\nlevel = \"rack\"\nat_s = 1\ndomain = 0\nduration_s = { constant = 5 }\n",
    );
    let out = step(
        &mut f,
        &mut st,
        FaultEvent::Outage { rule: 0, domain: 0 },
        SimTime::from_secs(1),
    );
    let end = scheduled(&out, |e| matches!(e, FaultEvent::OutageEnd { .. }));
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(2));
    step(&mut f, &mut st, end.1, end.0);
    assert!(st.machine_up(1), "the outage's other machine is back");
    removed_for_good(&mut f, &mut st, "outage");
}

#[test]
fn a_remove_ends_the_hold_of_a_machine_lost_past_its_grace_period() {
    let (mut st, mut f) = setup(
        "[[unreachable]]\ntime_between = { exponential = { mean_s = 1e6 } }\n\
         duration_s = { constant = 60 }\ngrace_s = 10\n",
    );
    let lose = FaultEvent::LoseContact {
        rule: 0,
        machine: 0,
    };
    let out = step(&mut f, &mut st, lose, SimTime::from_secs(1));
    let grace = scheduled(&out, |e| matches!(e, FaultEvent::GraceOver { .. }));
    let regain = scheduled(&out, |e| matches!(e, FaultEvent::Regain { .. }));
    step(&mut f, &mut st, grace.1, grace.0);
    assert!(
        !st.machine_up(0) && !st.machine_unreachable(0),
        "down past grace"
    );
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(20));
    step(&mut f, &mut st, regain.1, regain.0);
    removed_for_good(&mut f, &mut st, "unreachable");
}

#[test]
fn a_remove_ends_maintenances_hold_and_the_drain_goes_on() {
    let (mut st, mut f) = setup(
        "[maintenance]\nstart_s = 0\nmax_down = 1\nmax_job_share_pct = 100\n\
         duration_s = { constant = 60 }\n",
    );
    let out = step(&mut f, &mut st, FaultEvent::Drain, SimTime(0));
    assert_eq!(f.maintenance_down(), 1);
    let back = scheduled(&out, |e| matches!(e, FaultEvent::Repair { machine: 0, .. }));
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(6));
    let out = step(&mut f, &mut st, back.1, back.0);
    // Machine 0's step is over (not down for maintenance any more): the
    // drain takes machine 1 next.
    assert!(!st.machine_up(1), "{out:?}");
    assert_eq!(f.maintenance_down(), 1);
    removed_for_good(&mut f, &mut st, "maintenance");
}

/// Control: a REMOVE of a machine out of contact (within its grace
/// period) evicts its tasks; the fault's end brings nothing back.
#[test]
fn a_remove_while_out_of_contact_ends_the_hold() {
    let (mut st, mut f) = setup(
        "[[unreachable]]\ntime_between = { exponential = { mean_s = 1e6 } }\n\
         duration_s = { constant = 5 }\ngrace_s = 10\n",
    );
    let lose = FaultEvent::LoseContact {
        rule: 0,
        machine: 0,
    };
    let out = step(&mut f, &mut st, lose, SimTime::from_secs(1));
    let regain = scheduled(&out, |e| matches!(e, FaultEvent::Regain { .. }));
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(2));
    let row = f.rows().into_iter().find(|r| r.kind == "remove").unwrap();
    assert_eq!(row.tasks_evicted, 1, "its task, running on, is evicted");
    step(&mut f, &mut st, regain.1, regain.0);
    removed_for_good(&mut f, &mut st, "out of contact");
}

/// Control: a fault whose clock runs out on a machine the trace removed
/// leaves it alone.
#[test]
fn a_fault_leaves_a_removed_machine_alone() {
    let (mut st, mut f) = with_failure_rule();
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(1));
    let out = fail_machine_0(&mut f, &mut st);
    assert!(!out
        .iter()
        .any(|(_, e)| matches!(e, FaultEvent::Repair { .. })));
    assert_eq!(kinds(&f), vec![("remove", 0)]);
    removed_for_good(&mut f, &mut st, "failure after a remove");
}

/// Control: a trace's UPDATE of a machine a fault holds down brings it
/// up at once, and the fault's end changes nothing.
#[test]
fn an_update_while_held_brings_the_machine_back_for_good() {
    let (mut st, mut f) = setup(
        "[[outages]]\nlevel = \"rack\"\nat_s = 1\ndomain = 0\nduration_s = { constant = 5 }\n",
    );
    let out = step(
        &mut f,
        &mut st,
        FaultEvent::Outage { rule: 0, domain: 0 },
        SimTime::from_secs(1),
    );
    let end = scheduled(&out, |e| matches!(e, FaultEvent::OutageEnd { .. }));
    trace(
        &mut f,
        &mut st,
        0,
        Some(Resources::new(2000, 4000)),
        SimTime::from_secs(2),
    );
    assert!(st.machine_up(0));
    let j = st.task(0).job;
    let t = st.job_tasks(j)[1];
    assert_eq!(st.task(t).state, TaskState::Pending, "machine 1's task");
    step(&mut f, &mut st, end.1, end.0);
    // Still the trace's 2 cores, not the 4 the outage took.
    assert_eq!(st.machine(0).free, Resources::new(2000, 4000));
    assert!(kinds(&f).iter().all(|k| k.0 != "remove"), "{:?}", kinds(&f));
    crate::cell::invariants::check(&st).unwrap();
}

/// The change log trimmed past the faults' last look (a scheduling pass
/// trims it; a long event drops its older half): the REMOVE is found by
/// the machine's `seq` instead.
#[test]
fn a_remove_is_found_when_the_change_log_no_longer_reaches_back() {
    let (mut st, mut f) = with_failure_rule();
    let out = fail_machine_0(&mut f, &mut st);
    let repair = scheduled(&out, |e| matches!(e, FaultEvent::Repair { .. }));
    st.set_machine(SimTime::from_secs(6), 0, None);
    st.trim_changes(st.change_cursor());
    assert!(st.changes_since(f.cursor).is_none());
    let events = st.take_events();
    f.observe(
        &events,
        true,
        SimTime::from_secs(6),
        &mut st,
        &mut Vec::new(),
    );
    step(&mut f, &mut st, repair.1, repair.0);
    removed_for_good(&mut f, &mut st, "machine failure, log trimmed");
}
