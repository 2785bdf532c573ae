//! Watching one task through a run, to explain its scheduling attempts.
//!
//! A task is named as outputs name it ([`TaskRef`]): job ids are reused
//! once a job's slot is reclaimed, so a watch pins the task down by its
//! job's submission serial, which never is, with the task's id while the
//! job lives. A watched pass ([`super::Scheduler::pass_watched`]) tells the
//! [`Watch`] about every task it comes to; the watch explains the watched
//! task just before each decision for it, and records what the pass then
//! did, so the explanation can be checked against the decision.
//!
//! **What counts as an attempt** is what `pending.csv` reports: a task
//! skipped in a pass because an identical task of its job had just failed
//! there shares that failure (the pass decided for the job, on the same
//! cell: a failed attempt changes nothing). The watch explains such a
//! failure as it happens, and keeps it as the watched task's attempt if the
//! pass then skips the watched task.

use super::{Explanation, PassWatch};
use crate::cell::state::{CellState, TaskState};
use crate::cell::MachineId;
use crate::sched::pipeline::Outcome;
use crate::sched::reason::ReasonCounts;
use crate::sched::{Action, Scheduler};
use crate::time::SimTime;
use crate::workload::{Job, TaskId};
use std::fmt;

/// A task as a user names it, `JOB/INDEX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskRef {
    /// A task of a synthetic (or listed) workload: its job's name, as
    /// `pending.csv`'s `job_name` shows it (`batch-17`), or its submission
    /// serial, as the event log's and snapshots' `job_id` shows it (`85`),
    /// and its index in the job (`task_index`).
    Named {
        job: String,
        /// `job` split at its last `-` into a base and a serial, when it
        /// can be (generated jobs are named `class-serial`).
        split: Option<(String, u64)>,
        /// `job` read as a submission serial, when it is all digits (no
        /// generated name is: it ends in `-<serial>`).
        submission: Option<u64>,
        index: u32,
    },
    /// A task of a trace replay: the trace job's key (`pending.csv`'s
    /// `job_id`) and the trace's label of the task (`trace_task`: `3`,
    /// or `2.0` for stage 2's task 0).
    Trace { job: u64, task: String },
}

impl TaskRef {
    /// Parses `JOB/INDEX` (split at the last `/`). `trace`: the run
    /// replays a trace, whose jobs are named by their key.
    pub fn parse(s: &str, trace: bool) -> Result<TaskRef, String> {
        let Some((job, index)) = s
            .rsplit_once('/')
            .filter(|(j, i)| !j.is_empty() && !i.is_empty())
        else {
            return Err(format!("expected JOB/INDEX (e.g. batch-17/0), got {s:?}"));
        };
        if trace {
            let key = job.parse().map_err(|_| {
                format!(
                    "a trace replay names a job by its key in the trace, a number \
                     (pending.csv's job_id), not {job:?}"
                )
            })?;
            return Ok(TaskRef::Trace {
                job: key,
                task: index.to_string(),
            });
        }
        let index = index.parse().map_err(|_| {
            format!(
                "the task's index in its job is a number (pending.csv's task_index), not {index:?}"
            )
        })?;
        let split = job
            .rsplit_once('-')
            .and_then(|(base, n)| Some((base.to_string(), n.parse().ok()?)));
        let submission = job
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| job.parse().ok())
            .flatten();
        Ok(TaskRef::Named {
            job: job.to_string(),
            split,
            submission,
            index,
        })
    }

    /// The job part, as given.
    pub fn job(&self) -> String {
        match self {
            TaskRef::Named { job, .. } => job.clone(),
            TaskRef::Trace { job, .. } => job.to_string(),
        }
    }

    /// Whether `job` is the job named.
    pub fn job_matches(&self, job: &Job) -> bool {
        match self {
            TaskRef::Trace { job: key, .. } => job.trace_job == Some(*key),
            TaskRef::Named {
                submission: Some(serial),
                ..
            } => job.serial == *serial,
            TaskRef::Named {
                job: name, split, ..
            } => {
                let n = &job.spec.name;
                match (n.serial, split) {
                    (None, _) => *n.base == **name,
                    (Some(serial), Some((base, s))) => serial == *s && *n.base == **base,
                    (Some(_), None) => false,
                }
            }
        }
    }

    /// Whether task `t` of `st` is the task named; `label` gives the
    /// trace's label of it (trace replays).
    pub fn matches(
        &self,
        st: &CellState,
        t: TaskId,
        label: impl FnOnce() -> Option<String>,
    ) -> bool {
        let rec = st.task(t);
        if !self.job_matches(st.job(rec.job)) {
            return false;
        }
        match self {
            TaskRef::Named { index, .. } => rec.index == *index,
            TaskRef::Trace { task, .. } => label().as_deref() == Some(task.as_str()),
        }
    }
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskRef::Named { job, index, .. } => write!(f, "{job}/{index}"),
            TaskRef::Trace { job, task } => write!(f, "{job}/{task}"),
        }
    }
}

/// Which of the watched task's attempts a watch keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Keep {
    First,
    /// The latest so far (the caller stops the run at the time it wants).
    Last,
    /// Watching every task ([`Watch::every`]): each decision of the run is
    /// explained and compared with the pass's, and only the tally is kept.
    Every,
}

/// What a watch of every task found: decisions explained, by outcome, and
/// the first few whose explanation disagreed with the pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Decisions explained: placed as is, placed by preemption, left pending.
    pub placed: u64,
    pub preempted: u64,
    pub pending: u64,
    /// Decisions explained with a sample of the cell (relaxed randomization).
    pub sampled: u64,
    /// The first disagreements (at most [`Tally::KEPT`]), described.
    pub disagreements: Vec<String>,
    pub disagreeing: u64,
}

impl Tally {
    pub const KEPT: usize = 8;

    fn add(&mut self, task: TaskId, a: &Attempt) {
        match &a.explanation.outcome {
            Outcome::Place(_) => self.placed += 1,
            Outcome::Preempt(_) => self.preempted += 1,
            Outcome::Unschedulable(_) => self.pending += 1,
        }
        self.sampled += u64::from(a.explanation.sampled.is_some());
        if !a.agrees() {
            self.disagreeing += 1;
            if self.disagreements.len() < Self::KEPT {
                self.disagreements.push(format!(
                    "task {task} in pass {} at {}: explained {:?}, the pass {:?}",
                    a.pass, a.at, a.explanation.outcome, a.decided
                ));
            }
        }
    }
}

/// Whose decision an attempt was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    /// The watched task's own.
    Own,
    /// An identical task of its job, which failed; the pass then skipped
    /// the watched task (`task_index` is that task's index).
    SameJob { task: TaskId, task_index: u32 },
}

/// What the pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decided {
    /// Placed on `machine`, evicting `victims` first.
    Placed {
        machine: MachineId,
        victims: Vec<TaskId>,
    },
    /// Left pending; the reasons the scheduler kept (`pending.csv`'s).
    Pending(ReasonCounts),
}

/// One attempt: the explanation made just before the decision, and the
/// decision.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: SimTime,
    /// The pass's number (1 for the run's first).
    pub pass: u64,
    pub kind: AttemptKind,
    pub explanation: Explanation,
    pub decided: Decided,
}

impl Attempt {
    /// Whether the explanation's decision is the pass's.
    pub fn agrees(&self) -> bool {
        match (&self.explanation.outcome, &self.decided) {
            (Outcome::Place(m), Decided::Placed { machine, victims }) => {
                m == machine && victims.is_empty()
            }
            (Outcome::Preempt(plan), Decided::Placed { machine, victims }) => {
                plan.machine == *machine && plan.victims == *victims
            }
            (Outcome::Unschedulable(c), Decided::Pending(d)) => c == d,
            _ => false,
        }
    }
}

/// A failure of another task of the watched task's job in this pass,
/// explained, waiting to see whether the pass skips the watched task.
#[derive(Clone, Debug)]
struct Sibling {
    pass: u64,
    task: TaskId,
    task_index: u32,
    explanation: Explanation,
    counts: ReasonCounts,
}

/// Watches one task through a run (see the module documentation).
#[derive(Debug)]
pub struct Watch {
    /// `None` when watching every task.
    wanted: Option<TaskRef>,
    keep: Keep,
    /// The task count of the named job, once a pass has seen it.
    job_tasks: Option<u32>,
    tally: Tally,
    /// Once found: its job's serial and its id.
    target: Option<(u64, TaskId)>,
    /// Its job as it was when found: a task dropped or finished at once
    /// (a one-by-one replay drops what fits nowhere within the event that
    /// submitted it) has its slot reused, so the job is kept here.
    target_job: Option<crate::workload::Job>,
    before: Option<Explanation>,
    sibling: Option<Sibling>,
    attempt: Option<Attempt>,
    attempts: u64,
}

impl Watch {
    /// A watch of one task, keeping its first or its last attempt
    /// (`keep` is [`Keep::First`] or [`Keep::Last`]).
    pub fn new(wanted: TaskRef, keep: Keep) -> Watch {
        assert_ne!(keep, Keep::Every, "a watch of one task keeps an attempt");
        Watch::with(Some(wanted), keep)
    }

    /// A watch of every task: every decision of the run explained and
    /// compared with the pass's ([`Watch::tally`]).
    pub fn every() -> Watch {
        Watch::with(None, Keep::Every)
    }

    fn with(wanted: Option<TaskRef>, keep: Keep) -> Watch {
        Watch {
            wanted,
            keep,
            job_tasks: None,
            tally: Tally::default(),
            target: None,
            target_job: None,
            before: None,
            sibling: None,
            attempt: None,
            attempts: 0,
        }
    }

    /// The task watched (`None`: every task).
    pub fn wanted(&self) -> Option<&TaskRef> {
        self.wanted.as_ref()
    }

    /// The named job's task count, once a pass has seen the job.
    pub fn job_tasks(&self) -> Option<u32> {
        self.job_tasks
    }

    /// Notes that a pass saw the named job, with its task count.
    pub fn note_job(&mut self, tasks: u32) {
        self.job_tasks = Some(tasks);
    }

    /// What a watch of every task found.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The task, once found: its job's serial and its id.
    pub fn target(&self) -> Option<(u64, TaskId)> {
        self.target
    }

    /// Pins the watch to a task of `job` (found pending by the driver).
    pub fn set_target(&mut self, job: &crate::workload::Job, task: TaskId) {
        self.target = Some((job.serial, task));
        self.target_job = Some(job.clone());
    }

    /// The watched task's job as it was when found.
    pub fn target_job(&self) -> Option<&crate::workload::Job> {
        self.target_job.as_ref()
    }

    /// The attempt kept: the first, or the last so far.
    pub fn attempt(&self) -> Option<&Attempt> {
        self.attempt.as_ref()
    }

    /// How many attempts the watched task has had so far.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Whether the watch has what it keeps and the run may stop.
    pub fn done(&self) -> bool {
        self.keep == Keep::First && self.attempt.is_some()
    }

    fn is_target(&self, st: &CellState, task: TaskId) -> bool {
        self.target
            .is_some_and(|(serial, t)| t == task && of_job(st, serial, task))
    }

    /// Another task of the watched task's job, while the watched one is pending.
    fn is_sibling(&self, st: &CellState, task: TaskId) -> bool {
        self.target.is_some_and(|(serial, t)| {
            t != task
                && of_job(st, serial, task)
                && of_job(st, serial, t)
                && st.task(t).state == TaskState::Pending
        })
    }

    fn record(&mut self, task: TaskId, attempt: Attempt) {
        if self.keep == Keep::Every {
            return self.tally.add(task, &attempt);
        }
        self.attempts += 1;
        if !self.done() {
            self.attempt = Some(attempt);
        }
    }
}

impl PassWatch for Watch {
    fn skipped(&mut self, sched: &Scheduler, st: &CellState, now: SimTime, task: TaskId) {
        if !self.is_target(st, task) {
            return;
        }
        let pass = sched.stats().passes;
        if let Some(s) = self.sibling.take().filter(|s| s.pass == pass) {
            let kind = AttemptKind::SameJob {
                task: s.task,
                task_index: s.task_index,
            };
            self.record(
                task,
                Attempt {
                    at: now,
                    pass,
                    kind,
                    explanation: s.explanation,
                    decided: Decided::Pending(s.counts),
                },
            );
        }
    }

    fn before(&mut self, sched: &Scheduler, st: &CellState, _: SimTime, task: TaskId) {
        if self.keep == Keep::Every || (self.is_target(st, task) && !self.done()) {
            self.before = Some(sched.explain(st, task));
        }
    }

    fn after(
        &mut self,
        sched: &Scheduler,
        st: &CellState,
        now: SimTime,
        task: TaskId,
        (actions, from): (&[Action], usize),
    ) {
        let actions = &actions[from..];
        let job = st.task(task).job;
        // The reasons the scheduler kept for the job's failed attempt.
        let counts = || {
            sched
                .why_pending(job)
                .map(|w| w.counts.clone())
                .unwrap_or_default()
        };
        let mine = self.keep == Keep::Every || self.is_target(st, task);
        if let Some(explanation) = self.before.take().filter(|_| mine) {
            let decided = match actions.last() {
                Some(&Action::Place { machine, .. }) => Decided::Placed {
                    machine,
                    victims: evicted(actions),
                },
                _ => Decided::Pending(counts()),
            };
            self.record(
                task,
                Attempt {
                    at: now,
                    pass: sched.stats().passes,
                    kind: AttemptKind::Own,
                    explanation,
                    decided,
                },
            );
        } else if actions.is_empty() && !self.done() && self.is_sibling(st, task) {
            // A failed attempt changed nothing: the cell is as it was for it.
            self.sibling = Some(Sibling {
                pass: sched.stats().passes,
                task,
                task_index: st.task(task).index,
                explanation: sched.explain(st, task),
                counts: counts(),
            });
        }
    }
}

/// Whether task slot `t` holds a task of the job submitted `serial`th (a
/// slot is reused once its job is reclaimed).
pub fn of_job(st: &CellState, serial: u64, t: TaskId) -> bool {
    let j = st.task(t).job;
    st.is_live_job(j) && st.job(j).serial == serial
}

/// The tasks a decision evicted, in order.
fn evicted(actions: &[Action]) -> Vec<TaskId> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::Evict { task, .. } => Some(task),
            Action::Place { .. } => None,
        })
        .collect()
}
