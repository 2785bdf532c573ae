//! The live cell as the API shows it: jobs, tasks and machines in the
//! wire types of [`crate::live::proto`], read from the records and the
//! scheduler's why-pending notes. Read-only.

use super::core::{Contact, LiveCell};
use super::names::task_name;
use crate::live::proto::{self, JobStatus, MachineState, MachineStatus, TaskState, TaskStatus};
use crate::sched::reason::{MachineGroups, NeverFit, Reason, ReasonCounts};
use std::collections::BTreeMap;

impl LiveCell {
    /// Job `j` (an index from [`LiveCell::submit`]), with its tasks if
    /// `with_tasks`.
    pub fn job_status(&self, j: usize, with_tasks: bool) -> JobStatus {
        let job = &self.jobs[j];
        let sub = &job.rec.submission;
        let mut task_states = BTreeMap::new();
        for row in &job.tasks {
            *task_states
                .entry(state_name(row.state).to_string())
                .or_insert(0) += 1;
        }
        let tasks = match with_tasks {
            true => (0..job.tasks.len() as u32)
                .map(|k| self.task_status(j, k))
                .collect(),
            false => Vec::new(),
        };
        JobStatus {
            name: sub.name.clone(),
            user: sub.user.clone(),
            priority: sub.priority,
            task_states,
            killed: job.rec.killed,
            tasks,
        }
    }

    /// The index of the latest job named `name`.
    pub fn job_index(&self, name: &str) -> Option<usize> {
        self.job_ids.get(name).copied()
    }

    /// Every job, in submission order (the latest of each name).
    pub fn job_statuses(&self) -> Vec<JobStatus> {
        (0..self.jobs.len())
            .filter(|&j| self.job_ids.get(&self.jobs[j].rec.submission.name) == Some(&j))
            .map(|j| self.job_status(j, false))
            .collect()
    }

    /// Every task of the jobs [`LiveCell::job_statuses`] lists, or of the
    /// job named `job`.
    pub fn task_statuses(&self, job: Option<&str>) -> Vec<TaskStatus> {
        let jobs: Vec<usize> = match job {
            Some(name) => self.job_index(name).into_iter().collect(),
            None => (0..self.jobs.len())
                .filter(|&j| self.job_ids.get(&self.jobs[j].rec.submission.name) == Some(&j))
                .collect(),
        };
        jobs.into_iter()
            .flat_map(|j| (0..self.jobs[j].tasks.len() as u32).map(move |k| (j, k)))
            .map(|(j, k)| self.task_status(j, k))
            .collect()
    }

    /// Task `k` of job `j`.
    pub fn task_status(&self, j: usize, k: u32) -> TaskStatus {
        let job = &self.jobs[j];
        let sub = &job.rec.submission;
        let row = &job.tasks[k as usize];
        // A task waiting is on no machine, whatever it last ran on (its
        // `detail` says what became of that run).
        let placed = !matches!(row.state, TaskState::Pending | TaskState::Lost);
        let machine = (row.machine.filter(|_| placed))
            .and_then(|m| self.machines.get(m as usize))
            .map(|lm| lm.rec.registration.name.clone());
        TaskStatus {
            name: task_name(k, &sub.name, &sub.user, &self.cfg.cell),
            job: sub.name.clone(),
            index: k,
            state: row.state,
            machine,
            incarnation: row.incarnation,
            exit_code: row.exit_code,
            signal: row.signal,
            pending_reason: self.pending_reason(j, k),
            detail: row.detail.clone(),
            submitted_ms: job.rec.submitted_ms,
            started_ms: row.started_ms,
            ended_ms: row.ended_ms,
            submit_to_running_us: job.submit_to_running_us.get(k as usize).copied().flatten(),
        }
    }

    /// Why task `k` of job `j` waits, if it does.
    fn pending_reason(&self, j: usize, k: u32) -> Option<String> {
        let row = &self.jobs[j].tasks[k as usize];
        if !matches!(row.state, TaskState::Pending | TaskState::Lost) {
            return None;
        }
        if self.st.cell().is_empty() {
            return Some("no machine has registered".into());
        }
        let id = self.jobs[j].cell_job?;
        let task = self.cell_task(j, k)?;
        if !self.st.job(id).ever_schedulable {
            return Some(self.never_fit(id));
        }
        if self.st.delayed().any(|(t, _)| t == task) {
            return Some("lost with its machine; waiting for the reschedule rate limit".into());
        }
        let why = self.sched.why_pending(id);
        let text = why.map(|w| self.describe_counts(&w.counts));
        Some(text.unwrap_or_else(|| "not attempted yet".into()))
    }

    /// Why no machine could ever run job `id`'s tasks: each machine, empty,
    /// under the first check it fails — what the job asks against what
    /// the machines have, or the constraint none meets.
    fn never_fit(&self, id: crate::workload::JobId) -> String {
        let spec = &self.st.job(id).spec;
        let groups = MachineGroups::of(&self.st);
        let nf = NeverFit::of(self.st.cell(), &groups, &spec.request, &spec.constraints);
        nf.describe(&self.st.cell().attr_table)
    }

    /// The scheduler's counts of a failed attempt, in its words
    /// ([`ReasonCounts::describe`]), except that machines drained — down
    /// to the scheduler, which counts them as `machine_down` — are counted
    /// as `drained`. The simulator's counts (its `pending.csv`) are left
    /// as they are: it has no drains.
    fn describe_counts(&self, counts: &ReasonCounts) -> String {
        let drained = self.machines.iter().filter(|lm| lm.rec.drained).count() as u32;
        let drained = drained.min(counts.get(Reason::MachineDown));
        let mut parts = Vec::new();
        if drained > 0 {
            parts.push(format!("{drained} drained"));
        }
        for &r in Reason::ALL {
            let n = counts.get(r) - if r == Reason::MachineDown { drained } else { 0 };
            if n > 0 {
                parts.push(format!("{n} {}", r.key()));
            }
        }
        let machines = self.st.cell().len();
        format!("0/{machines} machines are available: {}", parts.join(", "))
    }

    /// Every machine, in registration order.
    pub fn machine_statuses(&self) -> Vec<MachineStatus> {
        let n = self.machines.len();
        let mut allocated = vec![proto::Capacity::default(); n];
        let mut running = vec![0u32; n];
        for job in &self.jobs {
            let sub = &job.rec.submission;
            for row in job.tasks.iter().filter(|r| r.is_on_machine()) {
                let Some(m) = row.machine.filter(|&m| (m as usize) < n) else {
                    continue;
                };
                let a = &mut allocated[m as usize];
                a.cpu_milli += sub.cpu_milli;
                a.mem_mib += sub.mem_mib;
                if let proto::GpuSpec::Whole(g) = sub.gpu {
                    a.gpus += g;
                }
                running[m as usize] += u32::from(row.state == TaskState::Running);
            }
        }
        (0..n)
            .map(|m| self.machine_status(m, allocated[m], running[m]))
            .collect()
    }

    /// Machine `m` (registration order) by name.
    pub fn machine_status_named(&self, name: &str) -> Option<MachineStatus> {
        let m = *self.machine_ids.get(name)? as usize;
        self.machine_statuses().into_iter().nth(m)
    }

    fn machine_status(&self, m: usize, allocated: proto::Capacity, running: u32) -> MachineStatus {
        let lm = &self.machines[m];
        let reg = &lm.rec.registration;
        let state = match (lm.contact, lm.rec.drained) {
            (Contact::Down, _) => MachineState::Down,
            (Contact::Unreachable, _) => MachineState::Unreachable,
            (Contact::Up, true) => MachineState::Drained,
            (Contact::Up, false) => MachineState::Up,
        };
        MachineStatus {
            name: reg.name.clone(),
            addr: reg.addr.clone(),
            state,
            capacity: reg.capacity,
            allocated,
            usage: lm.usage,
            tasks_running: running,
            limits: reg.limits,
            last_heartbeat_ms: lm.last_heartbeat_ms,
        }
    }
}

/// A task state's name on the wire (`pending`, `running`…).
pub fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Pending => "pending",
        TaskState::Starting => "starting",
        TaskState::Running => "running",
        TaskState::Finished => "finished",
        TaskState::Failed => "failed",
        TaskState::Killed => "killed",
        TaskState::Lost => "lost",
    }
}
