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
    use crate::cell::attrs::{AttrTable, Attributes, Constraint, ConstraintOp};
    use crate::cell::domain::DomainTree;
    use crate::cell::resources::{Capacity, Resources};
    use crate::cell::{Cell, Machine};
    use crate::testkit::{as_job, job};

    #[test]
    fn admits_only_matching_machines() {
        let mut t = AttrTable::default();
        let (arch, arm, x86) = (t.name_id("arch"), t.value_id("arm"), t.value_id("x86"));
        let cap = Capacity {
            res: Resources::new(1000, 1000),
            gpus: 0,
        };
        let machines = vec![
            Machine {
                id: 0,
                capacity: cap,
                attrs: Attributes::new(vec![(arch, arm)]),
            },
            Machine {
                id: 1,
                capacity: cap,
                attrs: Attributes::new(vec![(arch, x86)]),
            },
        ];
        let st = CellState::new(Cell::new(machines, DomainTree::regular(2, 1, 1), t));
        let mut spec = job(1, 1, 0, 1);
        spec.constraints = vec![Constraint {
            name: arch,
            op: ConstraintOp::Eq,
            value: x86,
        }];
        let j = as_job(spec);
        let view = TaskView {
            job: &j,
            preempt_below: None,
        };
        // Machine 0 is arm: rejected; machine 1 is x86: admitted.
        assert_eq!(
            AttributeConstraints.filter(&st, &view, 0),
            Err(Reason::ConstraintMismatch)
        );
        assert_eq!(AttributeConstraints.filter(&st, &view, 1), Ok(Fit::Free));
    }
}
