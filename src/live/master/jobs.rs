//! Jobs coming in and going out of the live cell: a submission checked
//! and admitted (one job, or a list all or none), a job killed.

use super::core::{Command, CoreError, LiveCell, LiveJob, Now};
use super::records::{JobRecord, TaskRow};
use super::spec::{check_submission, job_spec};
use crate::live::proto::{JobSubmission, TaskState};

impl LiveCell {
    /// Admits a job: its tasks pending. Returns its index.
    ///
    /// # Errors
    /// [`CoreError::Invalid`] naming the field that is wrong;
    /// [`CoreError::Conflict`] if a job of that name has tasks not ended.
    pub fn submit(&mut self, now: Now, sub: JobSubmission) -> Result<usize, CoreError> {
        let base = self.admissible(&sub)?;
        Ok(self.admit(now, sub, base))
    }

    /// Admits several jobs at once, in order, or none: every one is
    /// checked (and their names against each other) before any is
    /// admitted, so one pass sees them all, as a trace's jobs arriving
    /// together are seen by the simulator. Returns their indices.
    ///
    /// # Errors
    /// As [`LiveCell::submit`], the message prefixed with the job's place
    /// in the list, counted from 0 as JSON indexes it, and its name
    /// (``jobs[2] (`b`): …``); [`CoreError::Invalid`] for an empty list
    /// or a name given twice.
    pub fn submit_all(
        &mut self,
        now: Now,
        subs: Vec<JobSubmission>,
    ) -> Result<Vec<usize>, CoreError> {
        if subs.is_empty() {
            return Err(CoreError::Invalid("the list of jobs is empty".into()));
        }
        let mut bases = Vec::with_capacity(subs.len());
        let mut names = std::collections::BTreeSet::new();
        for (i, sub) in subs.iter().enumerate() {
            let at = |m: String| format!("{}: {m}", list_place(i, Some(&sub.name)));
            if !names.insert(sub.name.as_str()) {
                let m = format!("`name` {} is given twice", sub.name);
                return Err(CoreError::Invalid(at(m)));
            }
            bases.push(self.admissible(sub).map_err(|e| match e {
                CoreError::Invalid(m) => CoreError::Invalid(at(m)),
                CoreError::Conflict(m) => CoreError::Conflict(at(m)),
                other => other,
            })?);
        }
        let admitted = subs.into_iter().zip(bases);
        Ok(admitted
            .map(|(sub, base)| self.admit(now, sub, base))
            .collect())
    }

    /// Checks a submission; returns the last incarnation of a finished
    /// job of the same name (its tasks' incarnations go on from it).
    fn admissible(&self, sub: &JobSubmission) -> Result<Option<u32>, CoreError> {
        check_submission(sub).map_err(CoreError::Invalid)?;
        Ok(match self.job_ids.get(&sub.name) {
            Some(&j) if !self.jobs[j].is_done() => {
                return Err(CoreError::Conflict(format!(
                    "job `{}` exists and has tasks not ended",
                    sub.name
                )))
            }
            Some(&j) => self.jobs[j].tasks.iter().map(|t| t.incarnation).max(),
            None => None,
        })
    }

    fn admit(&mut self, now: Now, sub: JobSubmission, base: Option<u32>) -> usize {
        let j = self.jobs.len();
        let n = sub.tasks;
        self.job_ids.insert(sub.name.clone(), j);
        let spec = job_spec(&sub, self.st.attr_table_mut());
        let id = self.st.submit_job(now.sim.max(self.st.now()), spec);
        self.cell_jobs.insert(id, j);
        self.jobs.push(LiveJob {
            rec: JobRecord {
                submission: sub,
                submitted_ms: now.wall_ms,
                killed: false,
            },
            tasks: vec![TaskRow::pending(base.unwrap_or(0)); n as usize],
            cell_job: Some(id),
            submitted_at: Some(now.sim),
            submit_to_running_us: vec![None; n as usize],
            missed_beats: vec![0; n as usize],
        });
        self.dirty.jobs.insert(j);
        self.dirty.tasks.extend((0..n).map(|k| (j, k)));
        j
    }

    /// Kills a job: its tasks on machines are stopped there, its pending
    /// ones withdrawn. Returns its index and the kills. A job already
    /// ended is left as it is.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] if no job has the name.
    pub fn kill_job(&mut self, now: Now, name: &str) -> Result<(usize, Vec<Command>), CoreError> {
        let &j = self
            .job_ids
            .get(name)
            .ok_or_else(|| CoreError::NotFound(format!("no job `{name}`")))?;
        let mut out = Vec::new();
        if self.jobs[j].is_done() {
            return Ok((j, out));
        }
        let t = now.sim.max(self.st.now());
        for k in 0..self.jobs[j].tasks.len() as u32 {
            if self.jobs[j].tasks[k as usize].state.is_terminal() {
                continue;
            }
            out.extend(self.kill_command(j, k));
            if let Some(task) = self.cell_task(j, k) {
                self.st.kill(t, task);
            }
            let row = &mut self.jobs[j].tasks[k as usize];
            row.state = TaskState::Killed;
            row.ended_ms = Some(now.wall_ms);
            self.dirty.tasks.insert((j, k));
        }
        self.jobs[j].rec.killed = true;
        self.dirty.jobs.insert(j);
        self.settle();
        Ok((j, out))
    }
}

/// A job's place in a submitted list, counted from 0 as the JSON indexes
/// it, and its name if known: ``jobs[1] (`b`)`` — `job 1` alone reads as
/// the first.
pub(super) fn list_place(i: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("jobs[{i}] (`{n}`)"),
        None => format!("jobs[{i}]"),
    }
}
