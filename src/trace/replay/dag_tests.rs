//! The dependency rules on their own: rows in any order, stages that never
//! appear, cycles, and the labels `pending.csv` shows.

use super::*;
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::trace::TaskKey;

/// Task `index` of stage `stage` of job `job`, waiting for stages `after`,
/// named like an Alibaba task (`M1`, `R2_1`) if `name` is given.
fn task(job: u64, stage: u32, index: u32, after: &[u32], name: Option<&str>) -> TraceTask {
    TraceTask {
        key: TaskKey { job, stage, index },
        job_name: format!("j_{job}").into(),
        user: "".into(),
        priority: 100,
        trace_priority: 100,
        request: Request {
            res: Resources::new(1000, 1024),
            gpu: GpuRequest::None,
        },
        constraints: vec![],
        max_per_machine: None,
        max_per_rack: None,
        duration: None,
        after: after.to_vec(),
        task_name: name.map(Into::into),
        stage_tasks: None,
        end_kind: None,
    }
}

/// Submits `t` as a feed does: held (returning its handle) or admitted.
fn submit(dag: &mut Dag<()>, t: TraceTask) -> Option<u64> {
    dag.submitted(&t);
    let on = dag.unmet(&t)?;
    Some(dag.hold(t, SimTime::from_secs(100), on, ()))
}

fn keys(v: &[Held<()>]) -> Vec<(u32, u32)> {
    v.iter()
        .map(|h| (h.task.key.stage, h.task.key.index))
        .collect()
}

#[test]
fn a_child_in_the_same_instant_waits_for_its_parent() {
    // M1 then R2_1, both at t=100: M1 is admitted, R2_1 held until M1 ends.
    let mut dag = Dag::default();
    let m1 = task(7, 1, 0, &[], Some("M1"));
    assert!(dag.submitted(&m1), "the job's first task");
    assert_eq!(dag.unmet(&m1), None);
    let r2 = task(7, 2, 0, &[1], Some("R2_1"));
    assert!(submit(&mut dag, r2).is_some());
    let held = dag.held_tasks();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].task.as_str(),
            held[0].reason.as_str(),
            held[0].job_id
        ),
        ("R2_1.0", "waiting_for_dependency M1", 7)
    );
    assert_eq!(held[0].since, SimTime::from_secs(100));
    assert_eq!(keys(&dag.done(m1.key)), [(2, 0)]);
    assert!(dag.held_tasks().is_empty());
}

#[test]
fn a_child_before_its_parent_waits_for_the_parent_to_appear_and_end() {
    let mut dag = Dag::default();
    // R2_1's row comes first; stage 1 has not appeared.
    submit(&mut dag, task(7, 2, 0, &[1], Some("R2_1"))).unwrap();
    assert_eq!(
        dag.held_tasks()[0].reason,
        "waiting_for_dependency stage 1 (not in the trace so far)"
    );
    // Two instances of M1 arrive (later, at any time): both must end.
    let (a, b) = (
        task(7, 1, 0, &[], Some("M1")),
        task(7, 1, 1, &[], Some("M1")),
    );
    assert!(!dag.submitted(&a), "job 7 was seen with R2_1");
    dag.submitted(&b);
    assert_eq!(dag.held_tasks()[0].reason, "waiting_for_dependency M1");
    assert!(dag.done(a.key).is_empty());
    assert_eq!(keys(&dag.done(b.key)), [(2, 0)]);
}

#[test]
fn a_stage_done_before_its_child_arrives_lets_it_through() {
    let mut dag: Dag<()> = Dag::default();
    let m1 = task(7, 1, 0, &[], None);
    dag.submitted(&m1);
    dag.done(m1.key);
    // Stage 1 appeared and is done; stage 3 of another job is not seen.
    assert_eq!(dag.unmet(&task(7, 2, 0, &[1], None)), None);
    assert_eq!(dag.unmet(&task(8, 2, 0, &[1], None)), Some(1));
    // Stages from 64 up are remembered apart from the bit word.
    let big = task(7, 900, 0, &[], None);
    dag.submitted(&big);
    assert_eq!(dag.unmet(&task(7, 901, 0, &[900], None)), Some(900));
    dag.done(big.key);
    assert_eq!(dag.unmet(&task(7, 901, 0, &[900], None)), None);
}

#[test]
fn a_task_waits_for_every_stage_it_names_one_after_the_other() {
    // R3_1_2 waits for 1 and 2; 2 ends first, then 1.
    let mut dag = Dag::default();
    let (m1, m2) = (task(9, 1, 0, &[], None), task(9, 2, 0, &[], None));
    dag.submitted(&m1);
    dag.submitted(&m2);
    submit(&mut dag, task(9, 3, 0, &[1, 2], None)).unwrap();
    assert_eq!(dag.held_tasks()[0].reason, "waiting_for_dependency stage 1");
    assert!(dag.done(m2.key).is_empty());
    assert_eq!(keys(&dag.done(m1.key)), [(3, 0)]);
    // The other order: 1 ends first, the task moves on to wait for 2.
    let mut dag = Dag::default();
    dag.submitted(&m1);
    dag.submitted(&m2);
    submit(&mut dag, task(9, 3, 0, &[1, 2], None)).unwrap();
    assert!(dag.done(m1.key).is_empty());
    assert_eq!(dag.held_tasks()[0].reason, "waiting_for_dependency stage 2");
    assert_eq!(keys(&dag.done(m2.key)), [(3, 0)]);
}

#[test]
fn stages_that_never_appear_are_done_when_the_trace_ends() {
    let mut dag = Dag::default();
    let m1 = task(7, 1, 0, &[], None);
    dag.submitted(&m1);
    // Held for stage 5 (never appears), and for stages 1 (live) and 6
    // (never appears), and a third for 1 only.
    submit(&mut dag, task(7, 2, 0, &[5], None)).unwrap();
    submit(&mut dag, task(7, 3, 0, &[6, 1], None)).unwrap();
    submit(&mut dag, task(7, 4, 0, &[1], None)).unwrap();
    // Two held tasks wait for a stage that never appeared: counted; the
    // first is released, the second still waits for stage 1.
    assert_eq!(keys(&dag.trace_over()), [(2, 0)]);
    assert_eq!(dag.never_submitted, 2);
    assert!(dag.trace_over().is_empty(), "once");
    assert_eq!(keys(&dag.done(m1.key)), [(3, 0), (4, 0)]);
    assert_eq!(dag.never_submitted, 2);
}

#[test]
fn own_stage_and_independent_stages_are_not_dependencies() {
    let mut dag: Dag<()> = Dag::default();
    let t = task(7, 2, 0, &[2, INDEPENDENT_STAGE + 5], None);
    dag.submitted(&t);
    assert_eq!(dag.unmet(&t), None);
    assert_eq!(dag.on_independent, 1);
}

#[test]
fn a_cycle_stays_held_and_listed() {
    // M1_2 and M2_1 wait for each other: neither can start, even when the
    // trace ends; both are listed as pending.
    let mut dag = Dag::default();
    submit(&mut dag, task(5, 1, 0, &[2], Some("M1_2"))).unwrap();
    submit(&mut dag, task(5, 2, 0, &[1], Some("M2_1"))).unwrap();
    assert!(dag.trace_over().is_empty());
    let reasons: Vec<String> = dag.held_tasks().into_iter().map(|h| h.reason).collect();
    assert_eq!(
        reasons,
        ["waiting_for_dependency M2_1", "waiting_for_dependency M1_2"]
    );
}

#[test]
fn a_withdrawn_held_task_is_done_for_its_stage() {
    // R2_1 (held for M1) is withdrawn; J3_2 waits for stage 2, which is
    // done once the withdrawn task is reported done.
    let mut dag = Dag::default();
    let m1 = task(7, 1, 0, &[], None);
    dag.submitted(&m1);
    let r2 = task(7, 2, 0, &[1], None);
    let id = submit(&mut dag, r2.clone()).unwrap();
    submit(&mut dag, task(7, 3, 0, &[2], None)).unwrap();
    assert!(dag.unhold(id).is_some());
    assert_eq!(dag.held_tasks().len(), 1);
    assert_eq!(keys(&dag.done(r2.key)), [(3, 0)]);
    assert!(dag.held_tasks().is_empty());
    // M1 ending later releases nothing more.
    assert!(dag.done(m1.key).is_empty());
}

#[test]
fn labels_name_the_task_its_stage_or_its_index() {
    assert_eq!(task_label(&task(1, 2, 3, &[], Some("R2_1"))), "R2_1.3");
    assert_eq!(task_label(&task(1, 2, 3, &[], None)), "2.3");
    assert_eq!(task_label(&task(1, 0, 3, &[], None)), "3");
}

/// A stage whose size the trace gives (Alibaba's `instance_num`) is done
/// only once that many of its tasks were submitted and are done: here stage
/// 1 has 2 instances, submitted at different instants; the first finishing
/// before the second arrives does not release the child.
#[test]
fn a_stage_of_known_size_waits_for_all_its_tasks() {
    let mut dag: Dag<()> = Dag::default();
    let parent = |i| {
        let mut t = task(7, 1, i, &[], Some("M1"));
        t.stage_tasks = Some(2);
        t
    };
    let (p0, p1) = (parent(0), parent(1));
    assert!(dag.submitted(&p0));
    let child = task(7, 2, 0, &[1], Some("R2_1"));
    dag.submitted(&child);
    assert_eq!(dag.unmet(&child), Some(1));
    dag.hold(child, SimTime::ZERO, 1, ());
    // Instance 0 done: 1 of 2 submitted, so the stage is not done.
    assert!(dag.done(p0.key).is_empty());
    // Instance 1 arrives and finishes: 2 of 2, the child is released.
    dag.submitted(&p1);
    let released = dag.done(p1.key);
    assert_eq!(released.len(), 1);
    assert_eq!(dag.never_submitted + dag.instances_missing, 0);
}

/// If the trace ends with fewer of a stage's tasks than it announced, the
/// stage is done then, and the tasks held for it are counted.
#[test]
fn a_stage_missing_tasks_is_done_when_the_trace_ends() {
    let mut dag: Dag<()> = Dag::default();
    let mut p0 = task(7, 1, 0, &[], Some("M1"));
    p0.stage_tasks = Some(3);
    dag.submitted(&p0);
    let child = task(7, 2, 0, &[1], Some("R2_1"));
    dag.submitted(&child);
    dag.hold(child, SimTime::ZERO, 1, ());
    assert!(dag.done(p0.key).is_empty());
    let released = dag.trace_over();
    assert_eq!(released.len(), 1);
    assert_eq!(dag.instances_missing, 1);
}

/// A short stage still running when the trace ends: the child is released
/// when it ends, and counted.
#[test]
fn a_short_stage_still_running_at_the_end_is_counted() {
    let mut dag: Dag<()> = Dag::default();
    let mut p0 = task(7, 1, 0, &[], Some("M1"));
    p0.stage_tasks = Some(3);
    dag.submitted(&p0);
    let child = task(7, 2, 0, &[1], Some("R2_1"));
    dag.submitted(&child);
    dag.hold(child, SimTime::ZERO, 1, ());
    // The trace ends with M1's one instance still running.
    assert!(dag.trace_over().is_empty());
    assert_eq!(dag.instances_missing, 1);
    assert_eq!(dag.done(p0.key).len(), 1);
}
