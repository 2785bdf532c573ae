//! The live core's rules, call by call: placement, exits, restarts away
//! from the failed machine, preemption, lost machines under the rate
//! limit, drains, kills, and the rebuild from records.

use super::*;
use crate::live::master::LaunchFailure;
use crate::live::proto::{self, GpuSpec};
use crate::live::proto::{
    AgentRegistration, Capacity, ExitOutcome, Heartbeat, HeartbeatReply, JobSubmission, LimitsMode,
    RestartPolicy, RunningTask, TaskExit, TaskExits, TaskStatus,
};
use crate::sched::Policy;

fn config() -> CoreConfig {
    CoreConfig::new("cell", SchedConfig::new(Policy::BestFit, true), 1)
}

/// Time `ms` after the master started (wall clock: 10⁶ ms later).
fn at(ms: u64) -> Now {
    Now {
        sim: SimTime(ms * 1000),
        wall_ms: 1_000_000 + ms,
    }
}

fn reg(name: &str, cpu_milli: u64, mem_mib: u64) -> AgentRegistration {
    AgentRegistration {
        name: name.into(),
        addr: format!("127.0.0.1:{}", 7000 + name.len()),
        capacity: Capacity {
            cpu_milli,
            mem_mib,
            gpus: 0,
        },
        attrs: Default::default(),
        rack: None,
        limits: LimitsMode::Rlimit,
        running: vec![],
        exits: vec![],
    }
}

fn job(name: &str, tasks: u32, cpu_milli: u64, priority: u32) -> JobSubmission {
    JobSubmission {
        name: name.into(),
        user: "alice".into(),
        priority,
        tasks,
        cpu_milli,
        mem_mib: 100,
        gpu: GpuSpec::None,
        constraints: vec![],
        max_per_machine: None,
        max_per_rack: None,
        command: vec!["sleep".into(), "60".into()],
        env: Default::default(),
        workdir: None,
        restart: RestartPolicy::Never,
        max_restarts: 0,
    }
}

/// (machine, task name, incarnation) of each launch; kills as machine
/// + 1000.
fn summary(cmds: &[Command]) -> Vec<(u32, String, u32)> {
    cmds.iter()
        .map(|c| match c {
            Command::Launch {
                machine, launch, ..
            } => (*machine, launch.task.task.clone(), launch.task.incarnation),
            Command::Kill { machine, task, .. } => {
                (machine + 1000, task.task.clone(), task.incarnation)
            }
        })
        .collect()
}

fn exit(task: &str, incarnation: u32, outcome: ExitOutcome) -> TaskExit {
    TaskExit {
        task: TaskRef {
            task: task.into(),
            incarnation,
        },
        outcome,
        ended_ms: 0,
        detail: None,
    }
}

fn report(machine: &str, e: TaskExit) -> TaskExits {
    TaskExits {
        name: machine.into(),
        exits: vec![e],
    }
}

fn state_of(c: &LiveCell, job: &str, k: u32) -> (TaskState, Option<String>) {
    let j = c.job_index(job).unwrap();
    let t = c.task_status(j, k);
    (t.state, t.machine)
}

/// A cell of `n` machines `m0, m1…` of 4000 milli-cores each.
fn cell_of(n: usize) -> LiveCell {
    let mut c = LiveCell::new(config(), at(0));
    for i in 0..n {
        c.register(at(0), reg(&format!("m{i}"), 4000, 8192))
            .unwrap();
    }
    c
}

fn running(task: &str, incarnation: u32) -> RunningTask {
    RunningTask {
        task: TaskRef {
            task: task.into(),
            incarnation,
        },
        pid: 1,
        started_ms: 5,
    }
}

#[test]
fn submit_to_running_is_measured_once_from_the_submission() {
    let mut c = cell_of(1);
    c.submit(at(10), job("web", 2, 1000, 200)).unwrap();
    c.pass(at(11));
    let latency = |c: &LiveCell, k| c.task_status(0, k).submit_to_running_us;
    assert_eq!(latency(&c, 0), None, "not running yet");
    // Launch reply at 13 ms: 13 − 10 = 3 ms = 3000 µs.
    c.launched(at(13), 0, &running("0.web.alice.cell", 1));
    assert_eq!(latency(&c, 0), Some(3000));
    // A heartbeat listing task 1 first, at 17 ms: 7000 µs; the launch
    // reply arriving after it changes nothing, nor does a later heartbeat
    // listing both.
    let hb = |tasks: &[&str]| Heartbeat {
        name: "m0".into(),
        usage: Default::default(),
        running: tasks.iter().map(|t| running(t, 1)).collect(),
        exits: vec![],
    };
    c.heartbeat(at(17), &hb(&["1.web.alice.cell"]));
    c.launched(at(19), 0, &running("1.web.alice.cell", 1));
    c.heartbeat(at(30), &hb(&["0.web.alice.cell", "1.web.alice.cell"]));
    assert_eq!((latency(&c, 0), latency(&c, 1)), (Some(3000), Some(7000)));
    // A task whose exit is reported before its launch reply: measured
    // at the exit (50 − 45 = 5 ms).
    c.submit(at(45), job("batch", 1, 1000, 200)).unwrap();
    c.pass(at(46));
    let ok = exit("0.batch.alice.cell", 1, ExitOutcome::Exited(0));
    c.exits(at(50), &report("m0", ok));
    assert_eq!(c.task_status(1, 0).submit_to_running_us, Some(5000));
    // A master rebuilt from the records did not see the submission.
    let (restored, _) = LiveCell::restore(config(), c.records(), at(60));
    assert_eq!(restored.task_status(0, 0).submit_to_running_us, None);
}

#[test]
fn a_job_is_placed_launched_and_finished() {
    let mut c = cell_of(2);
    c.submit(at(1), job("web", 3, 1000, 200)).unwrap();
    let cmds = c.pass(at(2));
    // Best fit packs: 3 × 1000 of 4000 milli-cores, all on one machine.
    let s = summary(&cmds);
    assert_eq!(s.len(), 3);
    assert!(
        s.iter().all(|(m, _, inc)| *m == s[0].0 && *inc == 1),
        "{s:?}"
    );
    assert_eq!(s[0].1, "0.web.alice.cell");
    let m = format!("m{}", s[0].0);
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Starting);
    c.launched(
        at(2),
        s[0].0,
        &RunningTask {
            task: TaskRef {
                task: "0.web.alice.cell".into(),
                incarnation: 1,
            },
            pid: 1,
            started_ms: 5,
        },
    );
    assert_eq!(
        state_of(&c, "web", 0),
        (TaskState::Running, Some(m.clone()))
    );
    let ack = c.exits(
        at(3),
        &report(&m, exit("0.web.alice.cell", 1, ExitOutcome::Exited(0))),
    );
    assert!(ack.known && ack.acked.len() == 1);
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Finished);
    // The same exit again is acknowledged and changes nothing.
    c.exits(
        at(4),
        &report(&m, exit("0.web.alice.cell", 1, ExitOutcome::Exited(3))),
    );
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Finished);
    let js = c.job_status(0, false);
    assert_eq!(js.task_states.get("finished"), Some(&1));
    assert_eq!(js.task_states.get("starting"), Some(&2));
}

#[test]
fn a_failed_task_restarts_elsewhere_or_stays_failed() {
    let mut c = cell_of(2);
    let mut sub = job("crash", 1, 1000, 200);
    sub.restart = RestartPolicy::OnFailure;
    sub.max_restarts = 1;
    c.submit(at(1), sub).unwrap();
    let first = summary(&c.pass(at(2)));
    let (m1, name, _) = first[0].clone();
    c.exits(
        at(3),
        &report(&format!("m{m1}"), exit(&name, 1, ExitOutcome::Exited(3))),
    );
    assert_eq!(state_of(&c, "crash", 0).0, TaskState::Pending);
    let second = summary(&c.pass(at(4)));
    // Not back on the machine it failed on: the other one, incarnation 2.
    assert_eq!(second, vec![(1 - m1, name.clone(), 2)]);
    // No restart left: the second failure is final.
    let m2 = format!("m{}", 1 - m1);
    c.exits(
        at(5),
        &report(&m2, exit(&name, 2, ExitOutcome::Signaled(9))),
    );
    let t = c.task_status(0, 0);
    assert_eq!((t.state, t.signal), (TaskState::Failed, Some(9)));
    assert!(c.pass(at(6)).is_empty());
}

#[test]
fn preemption_kills_the_victim_and_queues_it_again() {
    let mut c = cell_of(1);
    c.submit(at(1), job("batch", 1, 4000, 100)).unwrap();
    assert_eq!(summary(&c.pass(at(2))).len(), 1);
    c.submit(at(3), job("prod", 1, 4000, 200)).unwrap();
    let s = summary(&c.pass(at(4)));
    // The batch task is killed on m0 (1000 + 0), the prod one launched.
    assert_eq!(
        s,
        vec![
            (1000, "0.batch.alice.cell".to_string(), 1),
            (0, "0.prod.alice.cell".to_string(), 1)
        ]
    );
    assert_eq!(state_of(&c, "batch", 0).0, TaskState::Pending);
    // Its late exit report (killed) is stale: it stays pending.
    c.exits(
        at(5),
        &report("m0", exit("0.batch.alice.cell", 1, ExitOutcome::Killed)),
    );
    assert_eq!(state_of(&c, "batch", 0).0, TaskState::Pending);
}

fn heartbeat(c: &mut LiveCell, now: Now, name: &str) -> HeartbeatReply {
    c.heartbeat(
        now,
        &Heartbeat {
            name: name.into(),
            usage: Default::default(),
            running: vec![],
            exits: vec![],
        },
    )
}

#[test]
fn a_lost_machine_s_tasks_are_rescheduled_under_the_rate_limit() {
    let mut cfg = config();
    cfg.reschedule_per_s = 1;
    let mut c = LiveCell::new(cfg, at(0));
    c.register(at(0), reg("m0", 4000, 8192)).unwrap();
    c.submit(at(0), job("svc", 2, 1000, 200)).unwrap();
    assert_eq!(summary(&c.pass(at(0))).len(), 2);
    c.register(at(0), reg("m1", 4000, 8192)).unwrap();
    // m0 silent from 0. At 3.5 s (> 3 heartbeats) it is unreachable: its
    // tasks are kept; at 10.5 s (> 10 s grace) it is down.
    for ms in [1000, 2000, 3500] {
        heartbeat(&mut c, at(ms), "m1");
        c.tick(at(ms));
    }
    assert_eq!(
        c.machine_statuses()[0].state,
        proto::MachineState::Unreachable
    );
    assert_eq!(state_of(&c, "svc", 0).0, TaskState::Starting);
    assert!(
        c.pass(at(3500)).is_empty(),
        "nothing new on m0, nothing to move"
    );
    for ms in [6000, 9000, 10_500] {
        heartbeat(&mut c, at(ms), "m1");
        c.tick(at(ms));
    }
    assert_eq!(c.machine_statuses()[0].state, proto::MachineState::Down);
    assert_eq!(state_of(&c, "svc", 0).0, TaskState::Lost);
    // One task a second: the bucket holds one now, the second a second on
    // (the machine's latest task was evicted, and queued, first).
    let s = summary(&c.pass(at(10_500)));
    assert_eq!(s, vec![(1, "1.svc.alice.cell".to_string(), 2)]);
    assert!(c.pass(at(11_000)).is_empty());
    let s = summary(&c.pass(at(11_500)));
    assert_eq!(s, vec![(1, "0.svc.alice.cell".to_string(), 2)]);
    // m0 comes back: unknown to heartbeats, it registers and is told to
    // stop its old tasks.
    assert!(!heartbeat(&mut c, at(12_000), "m0").known);
    let mut back = reg("m0", 4000, 8192);
    back.running = (0..2)
        .map(|k| RunningTask {
            task: TaskRef {
                task: format!("{k}.svc.alice.cell"),
                incarnation: 1,
            },
            pid: 10 + k,
            started_ms: 1,
        })
        .collect();
    let (reply, _) = c.register(at(12_000), back).unwrap();
    assert_eq!(reply.kill.len(), 2);
    assert_eq!(c.machine_statuses()[0].state, proto::MachineState::Up);
}

#[test]
fn when_no_machine_is_heard_none_is_declared_down() {
    let mut c = cell_of(2);
    c.submit(at(0), job("svc", 2, 1000, 200)).unwrap();
    assert_eq!(summary(&c.pass(at(0))).len(), 2);
    // Both silent well past the 10 s grace: the master is the likelier
    // fault (cut off, a wrong token); nothing goes down, nothing is lost.
    for ms in [3500, 10_500, 30_000] {
        c.tick(at(ms));
    }
    assert!(c.fully_disrupted());
    let states: Vec<_> = c.machine_statuses().iter().map(|m| m.state).collect();
    assert_eq!(states, [proto::MachineState::Unreachable; 2]);
    assert_eq!(state_of(&c, "svc", 0).0, TaskState::Starting);
    // One is heard again: the other, silent past the grace, goes down.
    heartbeat(&mut c, at(31_000), "m0");
    c.tick(at(31_000));
    assert!(!c.fully_disrupted());
    let states: Vec<_> = c.machine_statuses().iter().map(|m| m.state).collect();
    assert_eq!(states, [proto::MachineState::Up, proto::MachineState::Down]);
}

#[test]
fn an_agent_heard_within_the_grace_period_keeps_its_tasks() {
    let mut c = cell_of(1);
    c.submit(at(0), job("svc", 1, 1000, 200)).unwrap();
    c.pass(at(0));
    c.tick(at(5000));
    assert_eq!(
        c.machine_statuses()[0].state,
        proto::MachineState::Unreachable
    );
    assert!(heartbeat(&mut c, at(6000), "m0").known);
    // 2 s silent since: up, past the first grace period's end.
    c.tick(at(12_000 - 4000));
    assert_eq!(c.machine_statuses()[0].state, proto::MachineState::Up);
    assert_eq!(state_of(&c, "svc", 0).0, TaskState::Starting);
}

#[test]
fn a_drain_moves_tasks_off_and_an_undrain_takes_new_ones() {
    let mut c = cell_of(2);
    c.submit(at(0), job("svc", 2, 1000, 200)).unwrap();
    let s = summary(&c.pass(at(0)));
    let m = s[0].0;
    let (_, kills) = c.drain(at(1), &format!("m{m}")).unwrap();
    assert_eq!(summary(&kills).len(), 2);
    assert!(summary(&kills).iter().all(|k| k.0 == 1000 + m));
    let moved = summary(&c.pass(at(2)));
    assert!(moved.iter().all(|l| l.0 == 1 - m && l.2 == 2), "{moved:?}");
    assert_eq!(
        c.machine_statuses()[m as usize].state,
        proto::MachineState::Drained
    );
    c.undrain(at(3), &format!("m{m}")).unwrap();
    c.submit(at(3), job("more", 1, 4000, 200)).unwrap();
    // 4000 fits only the emptied machine.
    assert_eq!(summary(&c.pass(at(4)))[0].0, m);
    assert!(matches!(
        c.drain(at(5), "nope"),
        Err(CoreError::NotFound(_))
    ));
}

#[test]
fn a_killed_job_stops_running_tasks_and_withdraws_pending_ones() {
    let mut c = cell_of(1);
    c.submit(at(0), job("big", 5, 1000, 200)).unwrap();
    assert_eq!(c.pass(at(0)).len(), 4, "4 of 5 fit 4000 milli-cores");
    let (_, kills) = c.kill_job(at(1), "big").unwrap();
    assert_eq!(kills.len(), 4);
    let js = c.job_status(0, false);
    assert!(js.killed);
    assert_eq!(js.task_states.get("killed"), Some(&5));
    // Its name is free again; incarnations go on from the old job's.
    c.submit(at(2), job("big", 1, 1000, 200)).unwrap();
    assert_eq!(
        summary(&c.pass(at(3))),
        vec![(0, "0.big.alice.cell".into(), 2)]
    );
    assert!(matches!(
        c.kill_job(at(4), "none"),
        Err(CoreError::NotFound(_))
    ));
}

#[test]
fn bad_submissions_change_nothing() {
    let mut c = cell_of(1);
    c.take_changes();
    let mut bad = job("x", 1, 1000, 200);
    bad.workdir = Some("../up".into());
    assert!(matches!(c.submit(at(0), bad), Err(CoreError::Invalid(m)) if m.contains("workdir")));
    let mut bad = job("a.b", 1, 1000, 200);
    assert!(c.submit(at(0), bad.clone()).is_err());
    bad.name = "ok".into();
    bad.command = vec![];
    assert!(c.submit(at(0), bad).is_err());
    assert!(c.take_changes().is_empty());
    c.submit(at(0), job("dup", 1, 1000, 200)).unwrap();
    let again = c.submit(at(0), job("dup", 1, 1000, 200));
    assert!(matches!(again, Err(CoreError::Conflict(_))));
}

/// The same calls twice: the same commands.
#[test]
fn the_same_inputs_give_the_same_placements() {
    let run = || {
        let mut c = cell_of(5);
        let mut out = Vec::new();
        for i in 0..6 {
            c.submit(
                at(i),
                job(&format!("j{i}"), 4, 700 + 100 * i, 100 + 30 * i as u32),
            )
            .unwrap();
            out.extend(summary(&c.pass(at(i))));
        }
        out
    };
    let a = run();
    assert!(a.len() > 10);
    assert_eq!(a, run());
}

/// Statuses without what is not a record: the scheduler's reasons, and
/// the latencies measured by the process that took the jobs in.
fn strip(v: Vec<TaskStatus>) -> Vec<TaskStatus> {
    v.into_iter()
        .map(|t| TaskStatus {
            pending_reason: None,
            submit_to_running_us: None,
            ..t
        })
        .collect()
}

#[test]
fn a_cell_rebuilt_from_its_records_is_the_same_and_reattaches() {
    let mut c = cell_of(2);
    c.submit(at(0), job("a", 3, 1000, 200)).unwrap();
    c.submit(at(0), job("b", 6, 1000, 100)).unwrap();
    let s = summary(&c.pass(at(0)));
    let (m, name, _) = s[0].clone();
    c.exits(
        at(1),
        &report(&format!("m{m}"), exit(&name, 1, ExitOutcome::Exited(0))),
    );
    let before = c.task_statuses(None);
    let (mut r, kills) = LiveCell::restore(config(), c.records(), at(0));
    assert!(kills.is_empty());
    assert_eq!(strip(r.task_statuses(None)), strip(before));
    assert_eq!(r.records(), c.records());
    // Unreachable until registered: no placement on them.
    assert!(r
        .machine_statuses()
        .iter()
        .all(|m| m.state == proto::MachineState::Unreachable));
    assert!(!heartbeat(&mut r, at(1), "m0").known, "register first");
    // m0's agent runs all it had: re-attached, nothing killed; m1's runs
    // none of its tasks: lost, placed again once it is up.
    for i in 0..2 {
        let mut g = reg(&format!("m{i}"), 4000, 8192);
        if i == 0 {
            g.running = (c.task_statuses(None).into_iter())
                .filter(|t| t.machine.as_deref() == Some("m0") && t.state == TaskState::Starting)
                .map(|t| RunningTask {
                    task: TaskRef {
                        task: t.name,
                        incarnation: t.incarnation,
                    },
                    pid: 1,
                    started_ms: 1,
                })
                .collect();
        }
        let (reply, kills) = r.register(at(2), g).unwrap();
        assert!(reply.kill.is_empty() && kills.is_empty());
    }
    let on = |c: &LiveCell, m: &str, st: TaskState| {
        (c.task_statuses(None).iter())
            .filter(|t| t.machine.as_deref() == Some(m) && t.state == st)
            .count()
    };
    assert_eq!(
        on(&r, "m0", TaskState::Running),
        on(&c, "m0", TaskState::Starting)
    );
    let lost = on(&c, "m1", TaskState::Starting);
    assert_eq!(
        (r.task_statuses(None).iter())
            .filter(|t| t.state == TaskState::Lost)
            .count(),
        lost
    );
    // The lost ones and the one that never fitted are placed: one slot
    // freed by the finished task, four by the lost ones on m1.
    let pending = (c.task_statuses(None).iter())
        .filter(|t| t.state == TaskState::Pending)
        .count();
    assert_eq!((lost, pending), (4, 1));
    assert_eq!(r.pass(at(3)).len(), lost + pending);
    assert!(r
        .task_statuses(None)
        .iter()
        .all(|t| t.state != TaskState::Lost));
}

#[test]
fn a_refused_launch_fails_and_an_unreachable_agent_requeues() {
    let mut c = cell_of(1);
    c.submit(at(0), job("a", 2, 1000, 200)).unwrap();
    let s = summary(&c.pass(at(0)));
    let r0 = TaskRef {
        task: s[0].1.clone(),
        incarnation: 1,
    };
    let r1 = TaskRef {
        task: s[1].1.clone(),
        incarnation: 1,
    };
    c.launch_failed(at(1), 0, &r0, LaunchFailure::Refused("bad workdir".into()));
    c.launch_failed(at(1), 0, &r1, LaunchFailure::Unreachable("timeout".into()));
    assert_eq!(state_of(&c, "a", 0).0, TaskState::Failed);
    assert_eq!(state_of(&c, "a", 1).0, TaskState::Pending);
    // Each says why, in the status people read.
    let j = c.job_index("a").unwrap();
    assert_eq!(c.task_status(j, 0).reason(), "bad workdir");
    assert!(c.task_status(j, 1).reason().starts_with("timeout; "));
    // The machine is out of use until its agent is heard again.
    assert_eq!(
        c.machine_statuses()[0].state,
        proto::MachineState::Unreachable
    );
    assert!(c.pass(at(2)).is_empty());
    assert!(heartbeat(&mut c, at(3), "m0").known);
    assert_eq!(
        summary(&c.pass(at(3))),
        vec![(0, "1.a.alice.cell".into(), 2)]
    );
}

#[test]
fn a_machine_beyond_the_bounds_is_refused() {
    let mut c = cell_of(0);
    let huge = reg("big", u64::MAX, 1);
    assert!(
        matches!(c.register(at(0), huge), Err(CoreError::Invalid(m)) if m.contains("capacity"))
    );
    let mut bad = reg("x", 1000, 1000);
    bad.addr = "nowhere".into();
    assert!(matches!(c.register(at(0), bad), Err(CoreError::Invalid(m)) if m.contains("addr")));
    assert!(c.machine_statuses().is_empty());
}

/// The live cell places a workload as the simulator does on the same
/// cell: every job submitted at 0, one pass.
#[test]
fn the_live_cell_places_as_the_simulator_does() {
    use crate::sched::Techniques;
    let mut sched = SchedConfig::new(Policy::Hybrid, true);
    sched.techniques = Techniques::ALL;
    let cfg = CoreConfig::new("cell", sched, 7);
    let mut c = LiveCell::new(cfg.clone(), at(0));
    let sizes = [
        (4000, 8192),
        (8000, 16384),
        (2000, 4096),
        (8000, 8192),
        (6000, 8192),
    ];
    for (i, (cpu, mem)) in sizes.iter().enumerate() {
        c.register(at(0), reg(&format!("m{i}"), *cpu, *mem))
            .unwrap();
    }
    let mut jobs = Vec::new();
    for i in 0..8u32 {
        let mut sub = job(
            &format!("j{i}"),
            1 + i % 3,
            300 + 250 * u64::from(i),
            100 + 40 * i,
        );
        sub.mem_mib = 500 + 300 * u64::from(i);
        jobs.push(sub.clone());
        c.submit(at(0), sub).unwrap();
    }
    let live: Vec<(u32, String)> = summary(&c.pass(at(0)))
        .into_iter()
        .map(|(m, name, _)| (m, name))
        .collect();
    // The simulator: the same cell, the same jobs (services), one pass.
    let st = CellState::new(crate::live::master::spec::build_cell(&c.machines));
    let mut table = st.cell().attr_table.clone();
    let specs = (jobs.iter())
        .map(|s| {
            (
                SimTime::ZERO,
                crate::live::master::spec::job_spec(s, &mut table),
            )
        })
        .collect();
    let opts = crate::sim::SimOptions::new(SimTime::from_secs(1), cfg.sched, cfg.seed);
    let mut sim = crate::testkit::simulation(st, specs, opts);
    sim.run(&mut |_| {}).unwrap();
    let st = sim.state();
    let mut simulated = Vec::new();
    for (j, sub) in jobs.iter().enumerate() {
        for (k, &t) in st.job_tasks(j as u32).iter().enumerate() {
            if let crate::cell::state::TaskState::Running { machine, .. } = st.task(t).state {
                simulated.push((machine, task_name(k as u32, &sub.name, "alice", "cell")));
            }
        }
    }
    let (mut a, mut b) = (live.clone(), simulated);
    a.sort();
    b.sort();
    assert!(a.len() >= 8, "{a:?}");
    assert_eq!(a, b);
}

#[test]
fn jobs_submitted_together_are_admitted_all_or_none() {
    let mut c = cell_of(2);
    c.submit(at(1), job("old", 1, 100, 200)).unwrap();
    // A bad job anywhere in the list refuses the whole list, naming it.
    let bad = job("b", 0, 100, 200);
    let lists = [
        (vec![job("a", 1, 100, 200), bad], "jobs[1] (`b`): `tasks`"),
        (
            vec![job("a", 1, 100, 200), job("a", 2, 100, 200)],
            "given twice",
        ),
        (
            vec![job("a", 1, 100, 200), job("old", 1, 100, 200)],
            "jobs[1] (`old`): job `old` exists",
        ),
        (vec![], "empty"),
    ];
    for (list, why) in lists {
        let e = c.submit_all(at(2), list).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
        assert_eq!(c.job_statuses().len(), 1, "nothing admitted");
    }
    // A good list: in order, then one pass places every task of both
    // (and `old`'s): 2 + 1 + 1.
    let js = c.submit_all(at(3), vec![job("x", 2, 100, 200), job("y", 1, 100, 200)]);
    assert_eq!(js.unwrap(), [1, 2]);
    assert_eq!(summary(&c.pass(at(4))).len(), 4);
}

fn beat_listing(c: &mut LiveCell, now: Now, name: &str, tasks: &[RunningTask]) -> HeartbeatReply {
    c.heartbeat(
        now,
        &Heartbeat {
            name: name.into(),
            usage: Default::default(),
            running: tasks.to_vec(),
            exits: vec![],
        },
    )
}

#[test]
fn a_task_its_heartbeats_stop_listing_is_lost_after_three_and_moves() {
    let mut c = cell_of(2);
    c.submit(at(1), job("web", 1, 1000, 200)).unwrap();
    let (m, name, _) = summary(&c.pass(at(2)))[0].clone();
    let machine = format!("m{m}");
    c.launched(at(2), m, &running(&name, 1));
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Running);
    // Two heartbeats without it, then one with it: the count starts over.
    beat_listing(&mut c, at(3), &machine, &[]);
    beat_listing(&mut c, at(4), &machine, &[]);
    beat_listing(&mut c, at(5), &machine, &[running(&name, 1)]);
    beat_listing(&mut c, at(6), &machine, &[]);
    beat_listing(&mut c, at(7), &machine, &[]);
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Running);
    // The third in a row: vanished.
    beat_listing(&mut c, at(8), &machine, &[]);
    let t = c.task_status(0, 0);
    assert_eq!(t.state, TaskState::Lost);
    assert!(t.detail.as_deref().is_some_and(|d| d.contains("vanished")));
    // Scheduled again: the other machine, the next incarnation.
    assert_eq!(summary(&c.pass(at(9))), vec![(1 - m, name, 2)]);
}

#[test]
fn a_starting_task_or_one_on_another_machine_is_not_counted_missing() {
    let mut c = cell_of(2);
    c.submit(at(1), job("web", 1, 1000, 200)).unwrap();
    let (m, name, _) = summary(&c.pass(at(2)))[0].clone();
    let (here, other) = (format!("m{m}"), format!("m{}", 1 - m));
    // Its launch's reply not in yet: heartbeats that leave it out do not count.
    for i in 3..8 {
        beat_listing(&mut c, at(i), &here, &[]);
    }
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Starting);
    c.launched(at(8), m, &running(&name, 1));
    // The other machine's heartbeats say nothing about it.
    for i in 9..14 {
        beat_listing(&mut c, at(i), &other, &[]);
    }
    assert_eq!(state_of(&c, "web", 0).0, TaskState::Running);
}

#[path = "intake_tests.rs"]
mod intake;
