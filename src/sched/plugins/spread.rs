//! Filter: per-job limits on tasks per machine, rack, row or power domain.
//!
//! Borg spreads a job's tasks over failure domains so that one failure takes
//! out few of them; Google's 2019 trace has `max_per_machine` and
//! `max_per_switch`. A limit of `k` at a level means: at most `k` running tasks
//! of the job in any one domain of that level — of the whole trace job, for a
//! trace job submitted in parts (see `cell::state::spread`). Evictions would only remove
//! lower-priority tasks of *other* jobs, so a violated limit is not
//! resolvable by preemption.
//!
//! Its verdict on a machine depends on where the job's own tasks run, in the
//! whole rack or power domain, which no cache of per-machine verdicts can
//! follow: a job with spread limits opts out of the caches
//! ([`Signed::Unsignable`]), and its tasks are placed by a full scan.

use crate::cell::domain::DomainLevel;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Filter, Fit, Plugin, TaskView};
use crate::sched::reason::Reason;

pub struct SpreadLimits;

impl Plugin for SpreadLimits {
    fn name(&self) -> &'static str {
        "spread_limits"
    }

    /// Nothing for a job without limits (the filter admits every machine);
    /// unsignable for one with limits.
    fn sign(&self, task: &TaskView, _key: &mut ClassKeyBuilder) -> Signed {
        if task.job.spec.spread.is_empty() {
            Signed::Shareable
        } else {
            Signed::Unsignable
        }
    }
}

impl Filter for SpreadLimits {
    fn applies(&self, task: &TaskView) -> bool {
        !task.job.spec.spread.is_empty()
    }

    fn filter(&self, st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
        for limit in &task.job.spec.spread {
            let domain = st.cell().domains.domain_of(m as usize, limit.level);
            if st.job_tasks_in_domain(task.job.id, limit.level, domain) >= limit.max_tasks {
                return Err(match limit.level {
                    DomainLevel::Machine => Reason::MaxPerMachine,
                    DomainLevel::Rack => Reason::MaxPerRack,
                    DomainLevel::Row => Reason::MaxPerRow,
                    DomainLevel::Power => Reason::MaxPerPowerDomain,
                });
            }
        }
        Ok(Fit::Free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};
    use crate::workload::SpreadLimit;

    #[test]
    fn counts_running_tasks_per_domain() {
        // Four machines, two per rack: rack 0 = {0,1}, rack 1 = {2,3}.
        let mut st = cell(&[(1000, 1000, 0); 4]);
        let mut spec = job(10, 10, 200, 3);
        spec.spread = vec![
            SpreadLimit {
                level: DomainLevel::Machine,
                max_tasks: 1,
            },
            SpreadLimit {
                level: DomainLevel::Rack,
                max_tasks: 2,
            },
        ];
        let j = submit(&mut st, spec);
        let first = st.job(j).tasks[0];
        let now = st.now();
        st.place(now, first, 0);
        let job = st.job(j).clone();
        let view = TaskView {
            job: &job,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Machine 0 already has 1 task of the job (limit 1).
        assert_eq!(
            SpreadLimits.filter(&st, &view, 0),
            Err(Reason::MaxPerMachine)
        );
        // Machine 1 has 0, rack 0 has 1 < 2: admitted.
        assert_eq!(SpreadLimits.filter(&st, &view, 1), Ok(Fit::Free));
        st.place(now, first + 1, 1);
        // Rack 0 now holds 2 tasks: a third machine in it would exceed the limit,
        // but rack 1 is empty.
        assert_eq!(SpreadLimits.filter(&st, &view, 2), Ok(Fit::Free));
        assert_eq!(
            SpreadLimits.filter(&st, &view, 1),
            Err(Reason::MaxPerMachine)
        );
    }

    #[test]
    fn a_row_limit_rejects_naming_the_row() {
        // Eight machines, two per rack, two racks per power domain (testkit),
        // each rack its own row: a row limit of 1 rejects the other machine
        // of the rack the job's task runs in, as max_per_row.
        let mut st = cell(&[(1000, 1000, 0); 8]);
        let mut spec = job(10, 10, 200, 2);
        spec.spread = vec![SpreadLimit {
            level: DomainLevel::Row,
            max_tasks: 1,
        }];
        let j = submit(&mut st, spec);
        let first = st.job(j).tasks[0];
        let now = st.now();
        st.place(now, first, 2);
        let job = st.job(j).clone();
        let view = TaskView::of_job(&job, None);
        assert_eq!(SpreadLimits.filter(&st, &view, 3), Err(Reason::MaxPerRow));
        assert_eq!(SpreadLimits.filter(&st, &view, 4), Ok(Fit::Free));
    }
}
