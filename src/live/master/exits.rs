//! How tasks end in the live cell: agents' exit reports and the outcome
//! of launches.
//!
//! An exit is acknowledged whatever it says (the agent then forgets it),
//! but only the current incarnation on the reporting machine changes
//! anything: an exit of a task since preempted, killed or re-placed is
//! stale, as a simulated `TaskEnd` of an evicted task is.
//!
//! - status 0 → `finished`;
//! - any other end (a status, a signal, out of memory, could not start, a
//!   kill the master did not ask for) → with `restart = on_failure` and
//!   restarts left, pending again, evicted with cause `task_crash` so the
//!   failure history keeps it off that machine; else `failed`.
//! - a launch the agent refused (an error status) is a start failure; a
//!   launch that did not reach the agent (no connection, a timeout) puts
//!   the task back in the queue and the machine out of use until its
//!   agent is heard again (a heartbeat), so a dead agent is not sent
//!   launch after launch.

use super::core::{Contact, LiveCell, Now};
use crate::cell::state::EvictionCause;
use crate::live::proto::{
    ExitOutcome, ExitsAck, RestartPolicy, RunningTask, TaskExit, TaskExits, TaskRef, TaskState,
};

/// How a launch request went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaunchFailure {
    /// The agent did not answer (no connection, timeout): the task is
    /// pending again, and the machine unreachable until heard again.
    Unreachable(String),
    /// The agent answered with an error (4xx: it cannot run that spec;
    /// 5xx: it failed to): the task could not start.
    Refused(String),
}

impl LiveCell {
    /// Exits reported by agent `name` outside a heartbeat.
    pub fn exits(&mut self, now: Now, report: &TaskExits) -> ExitsAck {
        let Some(&m) = self.machine_ids.get(&report.name) else {
            return ExitsAck {
                acked: Vec::new(),
                known: false,
            };
        };
        let acked = self.exits_on(now, m, &report.exits);
        self.settle();
        ExitsAck {
            acked,
            known: self.machines[m as usize].registered,
        }
    }

    /// Records exits from machine `m`; returns them all, acknowledged.
    pub(super) fn exits_on(&mut self, now: Now, m: u32, exits: &[TaskExit]) -> Vec<TaskRef> {
        for e in exits {
            if let Some((j, k)) = self.on_machine(m, &e.task) {
                self.task_ended(now, j, k, e);
            }
        }
        exits.iter().map(|e| e.task.clone()).collect()
    }

    /// Task `k` of job `j` ended as `e` says, on its machine.
    fn task_ended(&mut self, now: Now, j: usize, k: u32, e: &TaskExit) {
        // An exit reported before the launch's reply arrived: it ran.
        if e.outcome != ExitOutcome::StartFailed {
            self.note_running(now, j, k);
        }
        let (code, signal) = match e.outcome {
            ExitOutcome::Exited(c) => (Some(c), None),
            ExitOutcome::Signaled(s) => (None, Some(s)),
            _ => (None, None),
        };
        let t = now.sim.max(self.st.now());
        let row = &mut self.jobs[j].tasks[k as usize];
        row.exit_code = code;
        row.signal = signal;
        row.detail = e.detail.clone().or_else(|| outcome_detail(e.outcome));
        row.ended_ms = Some(e.ended_ms);
        let m = row.machine.unwrap_or(u32::MAX);
        self.touch(j, k);
        let task = self.cell_task(j, k);
        if e.outcome == ExitOutcome::Exited(0) {
            self.jobs[j].tasks[k as usize].state = TaskState::Finished;
            if let Some(task) = task {
                let inc = self.st.task(task).incarnation;
                self.st.finish(t, task, inc);
            }
            return;
        }
        let sub = &self.jobs[j].rec.submission;
        let (policy, max) = (sub.restart, sub.max_restarts);
        let row = &mut self.jobs[j].tasks[k as usize];
        row.note_failed_on(m);
        if policy == RestartPolicy::OnFailure && row.restarts < max {
            row.restarts += 1;
            row.state = TaskState::Pending;
            row.started_ms = None;
            let running = task.filter(|&x| {
                matches!(
                    self.st.task(x).state,
                    crate::cell::state::TaskState::Running { .. }
                )
            });
            if let Some(task) = running {
                self.st.evict(t, task, EvictionCause::TaskCrash);
            }
        } else {
            row.state = TaskState::Failed;
            if let Some(task) = task {
                self.st.kill(t, task);
            }
        }
    }

    /// Agent `m` answered at `now` that it started `started` (its
    /// process is spawned): it is running.
    pub fn launched(&mut self, now: Now, m: u32, started: &RunningTask) {
        if let Some((j, k)) = self.on_machine(m, &started.task) {
            self.confirm_running(now, j, k, started.started_ms);
        }
    }

    /// The launch of `task` on machine `m` failed (see [`LaunchFailure`]).
    pub fn launch_failed(&mut self, now: Now, m: u32, task: &TaskRef, why: LaunchFailure) {
        let Some((j, k)) = self.on_machine(m, task) else {
            return;
        };
        if self.jobs[j].tasks[k as usize].state != TaskState::Starting {
            return;
        }
        match why {
            LaunchFailure::Refused(detail) => {
                let exit = TaskExit {
                    task: task.clone(),
                    outcome: ExitOutcome::StartFailed,
                    ended_ms: now.wall_ms,
                    detail: Some(detail),
                };
                self.task_ended(now, j, k, &exit);
            }
            LaunchFailure::Unreachable(detail) => {
                let t = now.sim.max(self.st.now());
                if let Some(cell_task) = self.cell_task(j, k) {
                    self.st.evict(t, cell_task, EvictionCause::MachineDown);
                }
                let row = &mut self.jobs[j].tasks[k as usize];
                row.state = TaskState::Pending;
                row.detail = Some(detail);
                self.touch(j, k);
                self.stop_using(t, m);
            }
        }
        self.settle();
    }
}

impl LiveCell {
    /// Machine `m` did not answer: unreachable until heard again (no
    /// task goes there meanwhile), down after the grace period as usual.
    fn stop_using(&mut self, t: crate::time::SimTime, m: u32) {
        let lm = &mut self.machines[m as usize];
        if lm.contact != Contact::Up {
            return;
        }
        lm.contact = Contact::Unreachable;
        if !lm.rec.drained {
            self.st.set_unreachable(t, m, true);
        }
    }
}

/// What an outcome without a status or signal says, for the record.
fn outcome_detail(o: ExitOutcome) -> Option<String> {
    match o {
        ExitOutcome::Killed => Some("killed by its agent".into()),
        ExitOutcome::StartFailed => Some("could not be started".into()),
        ExitOutcome::OutOfMemory => Some("killed for exceeding its memory limit".into()),
        ExitOutcome::Exited(_) | ExitOutcome::Signaled(_) => None,
    }
}
