//! Filter: the machine's attributes satisfy every hard constraint of the job.
//!
//! Evicting tasks never changes a machine's attributes, so a mismatch is not
//! resolvable by preemption.

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Filter, Fit, Plugin, TaskView};
use crate::sched::reason::Reason;

pub struct AttributeConstraints;

impl Plugin for AttributeConstraints {
    fn name(&self) -> &'static str {
        "attribute_constraints"
    }

    /// The job's constraints (machine attributes never change).
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.constraints);
        Signed::Shareable
    }
}

impl Filter for AttributeConstraints {
    fn applies(&self, task: &TaskView) -> bool {
        !task.job.spec.constraints.is_empty()
    }

    fn filter(&self, st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
        let attrs = &st.cell().machines[m as usize].attrs;
        if task.job.spec.constraints.iter().all(|c| c.admits(attrs)) {
            Ok(Fit::Free)
        } else {
            Err(Reason::ConstraintMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, CellBuilder, SpecBuilder};

    #[test]
    fn admits_only_matching_machines() {
        let mut cell = CellBuilder::new()
            .class(1, (1000, 1000, 0), &[("arch", "arm")])
            .class(1, (1000, 1000, 0), &[("arch", "x86")])
            .domains(1, 1)
            .cell();
        let spec = SpecBuilder::new(1, 1)
            .requires(&mut cell.attr_table, "arch", "x86")
            .build();
        let st = CellState::new(cell);
        let j = as_job(spec);
        let view = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Machine 0 is arm: rejected; machine 1 is x86: admitted.
        assert_eq!(
            AttributeConstraints.filter(&st, &view, 0),
            Err(Reason::ConstraintMismatch)
        );
        assert_eq!(AttributeConstraints.filter(&st, &view, 1), Ok(Fit::Free));
    }
}
