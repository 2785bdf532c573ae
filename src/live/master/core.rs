//! The live cell's functional core: the simulator's [`CellState`] and
//! [`Scheduler`], fed by registrations, submissions and reports, handing
//! back the launches and kills to send. No clock, no I/O: every method
//! takes the time ([`Now`]), so the same inputs in the same order give the
//! same placements — what the simulator gives for the same cell and jobs.
//!
//! The cell state is built as `build_simulation` builds it: the
//! scenario's scheduler configuration and seed, the profile seeded from
//! the run's streams, spread counting and the failure history switched on
//! as the simulation does. What differs is where the cell comes from: its
//! machines register one by one. A `Cell` is fixed once built, so a
//! *new* machine (a name not seen before) rebuilds the cell state from
//! the master's own records (`LiveCell::rebuild`): the machines in
//! registration order (machine id = registration order), the live jobs in
//! submission order, each task put back where it runs — the same rebuild
//! a restarted master does from its store. A rebuild starts the
//! scheduler afresh (its caches and random stream, from the seed), so a
//! cell whose machines all register before the first job is scheduled
//! exactly as the simulator schedules that cell.
//!
//! Tasks are services to the core (no duration): an agent's exit report
//! ends them. A failure with `restart = on_failure` is an eviction with
//! cause `task_crash`, which the failure history records, so the
//! `avoid_failed` filter keeps the task off that machine next time; the
//! master always runs with that filter (10 minutes unless the scenario
//! says otherwise). Machines lost past the grace period have their tasks
//! held in the cell's reschedule queue and released at
//! `reschedule_per_s` (a token bucket holding at most one second's worth).

use super::names::{parse_task_name, task_name};
use super::records::{Changes, JobRecord, MachineRecord, Records, TaskRow};
use super::spec::build_cell;
use crate::cell::state::CellState;
use crate::live::proto::{TaskLaunch, TaskRef, TaskState, Usage};
use crate::rng::{RngStreams, Stream};
use crate::sched::typical::{TypicalPods, TypicalSource};
use crate::sched::{Action, Profile, SchedConfig, Scheduler};
use crate::time::{SimDuration, SimTime};
use crate::workload::{JobId, TaskId};
use std::collections::{BTreeMap, BTreeSet};

/// How long a failed task avoids the machine it failed on when the
/// scenario does not say (`[scheduler] avoid_failed_s`).
pub const DEFAULT_AVOID_FAILED_S: u64 = 600;

/// Most tasks in one job.
pub const MAX_TASKS_PER_JOB: u32 = 10_000;

/// One task's worth of the reschedule token bucket, in task·µs per s.
const TOKEN: u64 = 1_000_000;

/// What the live cell is configured with.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The cell's name, the last part of every task name.
    pub cell: String,
    pub sched: SchedConfig,
    pub seed: u64,
    /// How often agents send heartbeats; silent for 3 of them, a machine
    /// is unreachable.
    pub heartbeat: SimDuration,
    /// Silent for this long, a machine is down and its tasks are lost.
    pub grace: SimDuration,
    /// Lost tasks released to the scheduler per second (≥ 1).
    pub reschedule_per_s: u32,
    pub max_machines: usize,
}

impl CoreConfig {
    /// A configuration with the default timings (1 s heartbeats, 10 s
    /// grace, 100 lost tasks a second, 4096 machines), the failure
    /// history on.
    pub fn new(cell: &str, mut sched: SchedConfig, seed: u64) -> CoreConfig {
        if sched.avoid_failed.is_none() {
            sched.avoid_failed = Some(SimDuration::from_secs(DEFAULT_AVOID_FAILED_S));
        }
        CoreConfig {
            cell: cell.to_string(),
            sched,
            seed,
            heartbeat: SimDuration::from_millis(1000),
            grace: SimDuration::from_millis(10_000),
            reschedule_per_s: 100,
            max_machines: 4096,
        }
    }
}

/// The time of a call: the core's (µs since the master started,
/// monotonic) and the wall clock's (ms since the Unix epoch, for the
/// records people read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub sim: SimTime,
    pub wall_ms: u64,
}

/// What to send to an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Launch {
        machine: u32,
        addr: String,
        launch: TaskLaunch,
    },
    Kill {
        machine: u32,
        addr: String,
        task: TaskRef,
    },
}

/// Why a request to the core changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreError {
    /// The request is malformed (400).
    Invalid(String),
    /// No such job or machine (404).
    NotFound(String),
    /// It conflicts with what is there (409).
    Conflict(String),
    /// The cell has no room for another machine (503).
    Full(String),
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreError::Invalid(m)
            | CoreError::NotFound(m)
            | CoreError::Conflict(m)
            | CoreError::Full(m) => f.write_str(m),
        }
    }
}

/// Whether the master hears a machine's agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Contact {
    Up,
    /// Silent for 3 heartbeat intervals: nothing new goes there.
    Unreachable,
    /// Silent past the grace period: its tasks were declared lost.
    Down,
}

/// A registered machine.
#[derive(Clone, Debug)]
pub(super) struct LiveMachine {
    pub(super) rec: MachineRecord,
    pub(super) contact: Contact,
    pub(super) last_heard: SimTime,
    pub(super) last_heartbeat_ms: Option<u64>,
    pub(super) usage: Usage,
    /// Registered with this master process (after a restart, a heartbeat
    /// alone is not enough: the agent must register to be reconciled).
    pub(super) registered: bool,
}

impl LiveMachine {
    /// Whether the cell state has it up or unreachable (it may hold tasks).
    pub(super) fn in_cell(&self) -> bool {
        self.contact != Contact::Down && !self.rec.drained
    }
}

/// A submitted job.
#[derive(Clone, Debug)]
pub(super) struct LiveJob {
    pub(super) rec: JobRecord,
    pub(super) tasks: Vec<TaskRow>,
    /// Its id in the cell state while it has a task not ended.
    pub(super) cell_job: Option<JobId>,
    /// When this master process took the job in; `None` for a job
    /// restored from the store (submitted to an earlier process).
    pub(super) submitted_at: Option<SimTime>,
    /// Per task: µs from `submitted_at` to the first start of it known
    /// to be spawned (`TaskStatus::submit_to_running_us`). Kept in
    /// memory only: a measurement, not a record.
    pub(super) submit_to_running_us: Vec<Option<u64>>,
    /// Per task: heartbeats of its machine in a row that did not list it
    /// while the records have it running (in memory only; see
    /// `LiveCell::vanished`).
    pub(super) missed_beats: Vec<u8>,
}

impl LiveJob {
    pub(super) fn is_done(&self) -> bool {
        self.tasks.iter().all(|t| t.state.is_terminal())
    }
}

/// The records changed since the store last wrote them.
#[derive(Debug, Default)]
pub(super) struct Dirty {
    pub(super) machines: BTreeSet<u32>,
    pub(super) jobs: BTreeSet<usize>,
    pub(super) tasks: BTreeSet<(usize, u32)>,
}

/// The live cell: records, the cell state and the scheduler.
pub struct LiveCell {
    pub(super) cfg: CoreConfig,
    pub(super) machines: Vec<LiveMachine>,
    pub(super) machine_ids: BTreeMap<String, u32>,
    pub(super) jobs: Vec<LiveJob>,
    /// The latest job of each name.
    pub(super) job_ids: BTreeMap<String, usize>,
    /// Cell-state job id → index in `jobs`.
    pub(super) cell_jobs: BTreeMap<JobId, usize>,
    pub(super) st: CellState,
    pub(super) sched: Scheduler,
    /// The reschedule bucket's credit (task·µs/s) and when it was topped up.
    credit: u64,
    credit_at: SimTime,
    pub(super) dirty: Dirty,
    /// No machine heard at the last tick: none is declared down.
    pub(super) disrupted: bool,
}

impl LiveCell {
    /// An empty cell (no machine yet).
    pub fn new(cfg: CoreConfig, now: Now) -> LiveCell {
        Self::restore(cfg, Records::default(), now).0
    }

    /// The cell as `records` left it (a restarted master): every machine
    /// unreachable until its agent registers, its grace period counted
    /// from `now`; tasks that were starting or running placed back on
    /// their machines. Also returns the kills of tasks that could not be
    /// put back (a machine record smaller than its tasks).
    pub fn restore(cfg: CoreConfig, records: Records, now: Now) -> (LiveCell, Vec<Command>) {
        let credit = u64::from(cfg.reschedule_per_s).saturating_mul(TOKEN);
        let empty = build_cell(&[]);
        let sched = new_scheduler(&cfg);
        let mut cell = LiveCell {
            cfg,
            machines: Vec::new(),
            machine_ids: BTreeMap::new(),
            jobs: Vec::new(),
            job_ids: BTreeMap::new(),
            cell_jobs: BTreeMap::new(),
            st: CellState::new(empty),
            sched,
            credit,
            credit_at: now.sim,
            dirty: Dirty::default(),
            disrupted: false,
        };
        for (i, rec) in records.machines.into_iter().enumerate() {
            cell.machine_ids
                .insert(rec.registration.name.clone(), i as u32);
            cell.machines.push(LiveMachine {
                rec,
                contact: Contact::Unreachable,
                last_heard: now.sim,
                last_heartbeat_ms: None,
                usage: Usage::default(),
                registered: false,
            });
        }
        for (i, (rec, tasks)) in records.jobs.into_iter().enumerate() {
            cell.job_ids.insert(rec.submission.name.clone(), i);
            let n = tasks.len();
            cell.jobs.push(LiveJob {
                rec,
                tasks,
                cell_job: None,
                submitted_at: None,
                submit_to_running_us: vec![None; n],
                missed_beats: vec![0; n],
            });
        }
        let kills = cell.rebuild(now);
        (cell, kills)
    }

    /// One scheduling pass: lost tasks released as the rate limit allows,
    /// then the scheduler's pass; returns the launches of the tasks it
    /// placed and the kills of those it preempted (pending again).
    pub fn pass(&mut self, now: Now) -> Vec<Command> {
        let t = now.sim.max(self.st.now());
        self.release_lost(t);
        let mut out = Vec::new();
        if self.st.cell().is_empty() || self.st.pending().is_empty() {
            return out;
        }
        self.fill_typical_pods();
        let mut actions = Vec::new();
        self.sched.pass(&mut self.st, t, &mut actions);
        for a in actions {
            match a {
                Action::Evict { task, .. } => {
                    let (j, k) = self.locate(task);
                    out.extend(self.kill_command(j, k));
                    self.jobs[j].tasks[k as usize].state = TaskState::Pending;
                    self.dirty.tasks.insert((j, k));
                }
                Action::Place { task, machine } => {
                    let (j, k) = self.locate(task);
                    out.push(self.placed(j, k, machine));
                }
            }
        }
        self.settle();
        out
    }

    /// Records task `k` of job `j` placed on `m`; returns its launch.
    fn placed(&mut self, j: usize, k: u32, m: u32) -> Command {
        let row = &mut self.jobs[j].tasks[k as usize];
        row.incarnation += 1;
        row.state = TaskState::Starting;
        row.machine = Some(m);
        row.started_ms = None;
        row.ended_ms = None;
        let incarnation = row.incarnation;
        self.dirty.tasks.insert((j, k));
        let sub = &self.jobs[j].rec.submission;
        Command::Launch {
            machine: m,
            addr: self.machines[m as usize].rec.registration.addr.clone(),
            launch: TaskLaunch {
                task: TaskRef {
                    task: task_name(k, &sub.name, &sub.user, &self.cfg.cell),
                    incarnation,
                },
                command: sub.command.clone(),
                env: sub.env.clone(),
                workdir: sub.workdir.clone(),
                cpu_milli: sub.cpu_milli,
                mem_mib: sub.mem_mib,
            },
        }
    }

    /// The kill of task `k` of job `j` on its machine, if it is on one.
    pub(super) fn kill_command(&self, j: usize, k: u32) -> Option<Command> {
        let row = &self.jobs[j].tasks[k as usize];
        let m = row.machine.filter(|_| row.is_on_machine())?;
        Some(Command::Kill {
            machine: m,
            addr: self.machines.get(m as usize)?.rec.registration.addr.clone(),
            task: self.task_ref(j, k),
        })
    }

    /// Task `k` of job `j` as its current incarnation.
    pub(super) fn task_ref(&self, j: usize, k: u32) -> TaskRef {
        let sub = &self.jobs[j].rec.submission;
        TaskRef {
            task: task_name(k, &sub.name, &sub.user, &self.cfg.cell),
            incarnation: self.jobs[j].tasks[k as usize].incarnation,
        }
    }

    /// (job index, task index) of a cell-state task.
    pub(super) fn locate(&self, task: TaskId) -> (usize, u32) {
        let rec = self.st.task(task);
        let j = *self
            .cell_jobs
            .get(&rec.job)
            .unwrap_or_else(|| panic!("cell job {} has no live job", rec.job));
        (j, rec.index)
    }

    /// The cell-state task of task `k` of job `j`, while its job is there.
    pub(super) fn cell_task(&self, j: usize, k: u32) -> Option<TaskId> {
        let id = self.jobs[j].cell_job?;
        self.st.job_tasks(id).get(k as usize).copied()
    }

    /// (job index, task index) of a task name this cell gave out.
    pub(super) fn find_task(&self, name: &str) -> Option<(usize, u32)> {
        let (k, job, user, cell) = parse_task_name(name)?;
        let &j = self.job_ids.get(job)?;
        let sub = &self.jobs[j].rec.submission;
        let ok = sub.user == user && cell == self.cfg.cell && k < sub.tasks;
        ok.then_some((j, k))
    }

    /// Moves lost tasks from the reschedule queue to the pending queue,
    /// as many as the bucket's credit allows.
    fn release_lost(&mut self, now: SimTime) {
        let per_s = u64::from(self.cfg.reschedule_per_s);
        let elapsed = now.as_us().saturating_sub(self.credit_at.as_us());
        let full = per_s.saturating_mul(TOKEN);
        self.credit = self
            .credit
            .saturating_add(elapsed.saturating_mul(per_s))
            .min(full);
        self.credit_at = now;
        while self.credit >= TOKEN && self.st.delayed_len() > 0 {
            self.st.undelay_front();
            self.credit -= TOKEN;
        }
    }

    /// Before the first pass of a profile with FGD parts: its typical
    /// pods, from the tasks submitted so far (as the simulator does).
    fn fill_typical_pods(&mut self) {
        let Some(slot) = self.sched.typical_slot() else {
            return;
        };
        if slot.get().is_some() {
            return;
        }
        let typical = TypicalPods::from_tasks(
            TypicalSource::FirstPass,
            self.st.jobs().iter().flat_map(|j| {
                let n = j.tasks.len();
                std::iter::repeat_n((j.spec.request, &j.spec.constraints[..]), n)
            }),
        );
        let _ = slot.set(typical);
    }

    /// Frees the cell state's slots of jobs whose tasks have all ended.
    pub(super) fn settle(&mut self) {
        let freed = self.st.reclaim().to_vec();
        self.sched.forget_jobs(&freed);
        for id in freed {
            if let Some(j) = self.cell_jobs.remove(&id) {
                self.jobs[j].cell_job = None;
            }
        }
    }

    /// Marks task `k` of job `j` changed.
    pub(super) fn touch(&mut self, j: usize, k: u32) {
        self.dirty.tasks.insert((j, k));
    }

    /// Marks machine `m` changed.
    pub(super) fn touch_machine(&mut self, m: u32) {
        self.dirty.machines.insert(m);
    }

    /// The records changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        let d = std::mem::take(&mut self.dirty);
        Changes {
            machines: (d.machines.into_iter())
                .map(|m| (m, self.machines[m as usize].rec.clone()))
                .collect(),
            jobs: (d.jobs.into_iter())
                .map(|j| (j as u32, self.jobs[j].rec.clone()))
                .collect(),
            tasks: (d.tasks.into_iter())
                .map(|(j, k)| (j as u32, k, self.jobs[j].tasks[k as usize].clone()))
                .collect(),
        }
    }

    /// Every record, as a store would hold them.
    pub fn records(&self) -> Records {
        Records {
            machines: self.machines.iter().map(|m| m.rec.clone()).collect(),
            jobs: (self.jobs.iter())
                .map(|j| (j.rec.clone(), j.tasks.clone()))
                .collect(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// The simulator's view of the cell (read-only).
    pub fn cell_state(&self) -> &CellState {
        &self.st
    }
}

/// The scheduler of a run of `cfg`'s configuration and seed, built as a
/// simulation builds its own.
pub(super) fn new_scheduler(cfg: &CoreConfig) -> Scheduler {
    let streams = RngStreams::new(cfg.seed);
    Scheduler::with_profile(
        cfg.sched,
        Profile::for_config_seeded(&cfg.sched, RngStreams::new(cfg.seed)),
        streams.stream(Stream::Scheduler),
    )
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
