//! How the live cell's state is rebuilt from the master's records.
//!
//! A `Cell` is fixed once built, so a machine never seen before — and a
//! restarted master — rebuilds the cell state and the scheduler from the
//! records (see [`super::core`]'s module doc for why this keeps the
//! placements the simulator's): machines in registration order, live jobs
//! in submission order, each task put back where it runs, or lost when
//! its machine cannot take it back.

use super::core::{new_scheduler, Command, Contact, LiveCell, Now};
use super::spec::{build_cell, job_spec};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::live::proto::TaskState;
use crate::workload::TaskId;

impl LiveCell {
    /// Builds the cell state and the scheduler anew from the records (see
    /// the module doc). Tasks recorded on a machine that cannot take them
    /// back (down, drained, or too small now) are lost: pending again, and
    /// their kills returned.
    pub(super) fn rebuild(&mut self, now: Now) -> Vec<Command> {
        let mut st = CellState::new(build_cell(&self.machines));
        st.count_spread_for_all(self.cfg.sched.spreading.is_some());
        st.remember_failures_of(self.cfg.sched.avoid_failed, self.cfg.sched.failure_scope);
        st.advance(now.sim.max(self.st.now()));
        let t = st.now();
        for (m, lm) in self.machines.iter().enumerate() {
            if !lm.in_cell() {
                st.set_machine(t, m as MachineId, None);
            }
        }
        self.cell_jobs.clear();
        let mut kills = Vec::new();
        for j in 0..self.jobs.len() {
            self.jobs[j].cell_job = None;
            if !self.jobs[j].is_done() {
                self.resubmit(&mut st, j, &mut kills);
            }
        }
        for (m, lm) in self.machines.iter().enumerate() {
            if lm.in_cell() && lm.contact == Contact::Unreachable {
                st.set_unreachable(t, m as MachineId, true);
            }
        }
        self.st = st;
        self.sched = new_scheduler(&self.cfg);
        self.settle();
        kills
    }

    /// Submits job `j` to `st` and puts its tasks where the records say.
    fn resubmit(&mut self, st: &mut CellState, j: usize, kills: &mut Vec<Command>) {
        let t = st.now();
        let spec = job_spec(&self.jobs[j].rec.submission, st.attr_table_mut());
        let id = st.submit_job(t, spec);
        self.jobs[j].cell_job = Some(id);
        self.cell_jobs.insert(id, j);
        for k in 0..self.jobs[j].tasks.len() {
            let task = st.job_tasks(id)[k];
            let row = &self.jobs[j].tasks[k];
            let n = self.machines.len() as u32;
            for &m in row.failed_on.iter().filter(|&&m| m < n) {
                st.record_failure(task, m, t);
            }
            match row.state {
                s if s.is_terminal() => {
                    st.kill(t, task);
                }
                TaskState::Lost => st.delay(t, task),
                TaskState::Pending => {}
                TaskState::Starting | TaskState::Running => {
                    let m = row.machine.unwrap_or(u32::MAX);
                    if self.fits_back(st, task, m) {
                        st.place(t, task, m);
                    } else {
                        kills.extend(self.kill_command(j, k as u32));
                        let row = &mut self.jobs[j].tasks[k];
                        row.state = TaskState::Lost;
                        row.started_ms = None;
                        self.dirty.tasks.insert((j, k as u32));
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `task` can be put back on machine `m` as it is now.
    fn fits_back(&self, st: &CellState, task: TaskId, m: u32) -> bool {
        let Some(lm) = self.machines.get(m as usize) else {
            return false;
        };
        if !lm.in_cell() || !st.machine_up(m) {
            return false;
        }
        let req = st.shape(task).request;
        let ms = st.machine(m);
        ms.free.checked_sub(&req.res).is_some() && req.gpu.fits_devices(&ms.gpu_free_milli)
    }
}
