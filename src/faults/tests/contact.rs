//! Task crashes on a machine out of contact: the master cannot see them,
//! so the task is restarted only when the machine reports again — or is
//! lost with it, if the grace period ends first.

use super::super::*;
use super::{scheduled, setup, step, trace, FULL};
use crate::cell::state::TaskState;

const RULES: &str = "[[unreachable]]\ntime_between = { exponential = { mean_s = 1e6 } }\n\
                     duration_s = { constant = DURATION }\ngrace_s = 30\n\
                     [[task_crashes]]\nper_task_hour = 1\n";

/// Machine 0 out of contact at 1 s for `duration_s` (grace 30 s), and
/// its task's crash clock running out at 5 s: the faults, the cell, the
/// task, and the events the loss of contact scheduled.
fn crash_out_of_contact(duration_s: u64) -> (CellState, Faults, TaskId, Out) {
    let (mut st, mut f) = setup(&RULES.replace("DURATION", &duration_s.to_string()));
    let t = st.machine(0).tasks[0];
    let lose = FaultEvent::LoseContact {
        rule: 0,
        machine: 0,
    };
    let out = step(&mut f, &mut st, lose, SimTime::from_secs(1));
    let crash = FaultEvent::Crash {
        task: t,
        incarnation: st.task(t).incarnation,
    };
    let later = step(&mut f, &mut st, crash, SimTime::from_secs(5));
    assert!(later.is_empty(), "{later:?}");
    assert!(
        matches!(st.task(t).state, TaskState::Running { machine: 0, .. }),
        "the master did not see the crash"
    );
    assert_eq!(f.summary(SimTime::from_secs(5)).task_crashes, 0);
    (st, f, t, out)
}

#[test]
fn a_crash_out_of_contact_is_seen_when_the_machine_reports_again() {
    let (mut st, mut f, t, out) = crash_out_of_contact(20);
    let regain = scheduled(&out, |e| matches!(e, FaultEvent::Regain { .. }));
    assert_eq!(regain.0, SimTime::from_secs(21));
    let now = step(&mut f, &mut st, regain.1, regain.0);
    // The crash comes now, after the machine's return.
    let crash = scheduled(&now, |e| matches!(e, FaultEvent::Crash { .. }));
    assert_eq!(crash.0, SimTime::from_secs(21));
    step(&mut f, &mut st, crash.1, crash.0);
    assert_eq!(st.task(t).state, TaskState::Pending, "restarted by its job");
    assert_eq!(f.summary(crash.0).task_crashes, 1);
    let l = st.ledger();
    assert_eq!(l.evictions[EvictionCause::TaskCrash as usize], 1);
    crate::cell::invariants::check(&st).unwrap();
}

#[test]
fn a_crash_out_of_contact_is_lost_with_the_machine_past_its_grace_period() {
    let (mut st, mut f, t, out) = crash_out_of_contact(60);
    let grace = scheduled(&out, |e| matches!(e, FaultEvent::GraceOver { .. }));
    let regain = scheduled(&out, |e| matches!(e, FaultEvent::Regain { .. }));
    step(&mut f, &mut st, grace.1, grace.0);
    assert_eq!(st.task(t).state, TaskState::Pending);
    let now = step(&mut f, &mut st, regain.1, regain.0);
    assert!(!now
        .iter()
        .any(|(_, e)| matches!(e, FaultEvent::Crash { .. })));
    let l = st.ledger();
    assert_eq!(l.evictions[EvictionCause::MachineFailure as usize], 1);
    assert_eq!(l.evictions[EvictionCause::TaskCrash as usize], 0);
    assert_eq!(f.summary(regain.0).task_crashes, 0);
}

#[test]
fn a_traces_update_of_a_machine_out_of_contact_brings_its_crashes() {
    let (mut st, mut f, t, _) = crash_out_of_contact(20);
    st.set_machine(SimTime::from_secs(8), 0, Some(FULL));
    let events = st.take_events();
    let mut out = Vec::new();
    f.observe(&events, true, SimTime::from_secs(8), &mut st, &mut out);
    let crash = scheduled(&out, |e| matches!(e, FaultEvent::Crash { .. }));
    step(&mut f, &mut st, crash.1, crash.0);
    assert_eq!(st.task(t).state, TaskState::Pending);
    assert_eq!(f.summary(crash.0).task_crashes, 1);
    // A REMOVE instead loses the task with the machine (cause
    // machine_down), and the crash with it.
    let (mut st, mut f, t, _) = crash_out_of_contact(20);
    trace(&mut f, &mut st, 0, None, SimTime::from_secs(8));
    assert_eq!(st.task(t).state, TaskState::Pending);
    st.set_machine(SimTime::from_secs(9), 0, Some(FULL));
    let events = st.take_events();
    let mut out = Vec::new();
    f.observe(&events, true, SimTime::from_secs(9), &mut st, &mut out);
    assert!(out.is_empty(), "{out:?}");
}
