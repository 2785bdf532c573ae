//! The live core's intake rules: who may register a machine's name, what
//! a submission may ask, and what a waiting task is told.

use super::*;

/// `m0` registered from `addr`.
fn reg_at(name: &str, addr: &str) -> AgentRegistration {
    let mut r = reg(name, 4000, 8192);
    r.addr = addr.into();
    r
}

#[test]
fn a_second_agent_cannot_take_a_live_machine_s_name() {
    let mut c = LiveCell::new(config(), at(0));
    c.register(at(0), reg_at("m0", "10.0.0.1:7001")).unwrap();
    c.submit(at(0), job("svc", 1, 1000, 200)).unwrap();
    assert_eq!(summary(&c.pass(at(0))).len(), 1);
    heartbeat(&mut c, at(1000), "m0");
    // Heard 1 s ago (< 3 heartbeats): another address is refused, and
    // nothing changes — the task stays on the first agent's machine.
    let err = c.register(at(2000), reg_at("m0", "10.0.0.2:7001"));
    let want = "machine m0 is held by a live agent at 10.0.0.1:7001; a second agent \
                cannot take its name until that one falls silent";
    assert_eq!(err.unwrap_err(), CoreError::Conflict(want.into()));
    assert_eq!(c.machine_statuses()[0].addr, "10.0.0.1:7001");
    assert_eq!(
        state_of(&c, "svc", 0),
        (TaskState::Starting, Some("m0".into()))
    );
    // The same address (an agent restarted on its fixed port) is taken.
    assert!(c.register(at(2000), reg_at("m0", "10.0.0.1:7001")).is_ok());
    // Silent since 2 s: at 5 s it is just 3 heartbeats, still held; past
    // that (5.001 s, before any tick marks it unreachable) it is not.
    assert!(c.register(at(5000), reg_at("m0", "10.0.0.2:7001")).is_err());
    let (reply, _) = c.register(at(5001), reg_at("m0", "10.0.0.2:7001")).unwrap();
    assert!(reply.kill.is_empty());
    assert_eq!(c.machine_statuses()[0].addr, "10.0.0.2:7001");
}

#[test]
fn a_machine_down_or_not_registered_since_a_restart_is_taken_over() {
    let mut c = LiveCell::new(config(), at(0));
    c.register(at(0), reg_at("m0", "10.0.0.1:7001")).unwrap();
    c.register(at(0), reg_at("m1", "10.0.0.9:7001")).unwrap();
    // Down (silent past the 10 s grace, m1 heard): a newcomer takes the name.
    for ms in [3500, 10_500] {
        heartbeat(&mut c, at(ms), "m1");
        c.tick(at(ms));
    }
    assert_eq!(c.machine_statuses()[0].state, proto::MachineState::Down);
    c.register(at(10_600), reg_at("m0", "10.0.0.2:7001"))
        .unwrap();
    // A master rebuilt from its records: nothing registered with it yet.
    let (mut back, _) = LiveCell::restore(config(), c.records(), at(0));
    assert!(back.register(at(0), reg_at("m0", "10.0.0.3:7001")).is_ok());
}

#[test]
fn a_submission_the_agent_would_refuse_is_refused_naming_the_field() {
    let mut c = cell_of(1);
    c.take_changes();
    let with = |f: &dyn Fn(&mut JobSubmission)| {
        let mut j = job("x", 1, 1000, 200);
        f(&mut j);
        j
    };
    let cases = [
        (
            with(&|j| j.command = vec!["sh".into(), "-c".into(), "a\0b".into()]),
            "command[2]: a NUL byte",
        ),
        (
            with(&|j| _ = j.env.insert("A".into(), "x\0y".into())),
            "env.A: a NUL byte",
        ),
        (
            with(&|j| _ = j.env.insert("A=B".into(), "1".into())),
            "env: \"A=B\" cannot name",
        ),
        (
            with(&|j| _ = j.env.insert("BORGSIM_TASK".into(), "1".into())),
            "env.BORGSIM_TASK: names starting with BORGSIM_ are reserved",
        ),
        (with(&|j| j.command = vec![]), "command: a program"),
    ];
    for (sub, want) in cases {
        match c.submit(at(0), sub) {
            Err(CoreError::Invalid(m)) => assert!(m.starts_with(want), "{m} (wanted {want})"),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert!(c.take_changes().is_empty(), "nothing admitted");
}

#[test]
fn a_task_waiting_shows_no_machine_and_drained_machines_are_named() {
    let mut c = cell_of(2);
    c.submit(at(0), job("svc", 1, 3000, 200)).unwrap();
    let m = summary(&c.pass(at(0)))[0].0;
    assert_eq!(
        state_of(&c, "svc", 0),
        (TaskState::Starting, Some(format!("m{m}")))
    );
    // Both drained: the task is pending, on no machine, and the two
    // machines the scheduler counts as down are drained.
    c.drain(at(1), "m0").unwrap();
    c.drain(at(1), "m1").unwrap();
    assert!(c.pass(at(2)).is_empty());
    let t = c.task_status(0, 0);
    assert_eq!((t.state, t.machine), (TaskState::Pending, None));
    let why = t.pending_reason.unwrap();
    assert_eq!(why, "0/2 machines are available: 2 drained");
    // One back: 3000 of its 4000 milli-cores taken by a second job, the
    // task (3000) waits on one drained machine and one short of CPU.
    c.undrain(at(3), "m1").unwrap();
    c.submit(at(3), job("hog", 1, 3000, 300)).unwrap();
    c.pass(at(4));
    let why = c.task_status(0, 0).pending_reason.unwrap();
    assert!(
        why.starts_with("0/2 machines are available: 1 drained, 1 "),
        "{why}"
    );
}

#[test]
fn a_job_no_machine_could_run_says_what_it_asks_against_what_they_have() {
    let mut c = cell_of(2);
    c.submit(at(0), job("huge", 1, 8000, 200)).unwrap();
    assert!(c.pass(at(0)).is_empty());
    let why = c.task_status(0, 0).pending_reason.unwrap();
    assert_eq!(
        why,
        "no machine could ever host it (0/2 machines, even empty): \
         insufficient_cpu: 2 (needs 8000 cpu_milli; these have at most 4000)"
    );
}
