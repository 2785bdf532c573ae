//! The cell: machines, their attributes and failure domains, and the state of
//! every task placed on them.
//!
//! [`Cell`] is what does not change during a run (machines, capacities,
//! attributes, the domain tree). [`state::CellState`] is what does, and it is
//! the only place that changes it: every placement, eviction and completion
//! goes through a method there that asserts the invariants.
//!
//! Whether a task could *ever* run is a question about the fixed cell: an
//! empty machine at its full capacity either admits the task or fails a check
//! that no amount of waiting changes ([`Machine::empty_misfit`]). The
//! scheduler never attempts a task that every machine fails this way, and
//! "why pending" names, per machine, the check it failed.

pub mod attrs;
pub mod classes;
pub mod domain;
pub mod invariants;
pub mod pending;
pub mod resources;
pub mod state;
mod subset;

use attrs::{AttrTable, Attributes};
use classes::MachineClasses;
use domain::DomainTree;
use resources::{Capacity, Request, Resources};
use rustc_hash::FxHashMap;

pub type MachineId = u32;

/// A machine's fixed description.
#[derive(Clone, Debug)]
pub struct Machine {
    pub id: MachineId,
    pub capacity: Capacity,
    pub attrs: Attributes,
}

/// Why an empty machine, at its full capacity, cannot host a task: the first
/// check it fails, in the scheduler's filter order (constraints, then CPU,
/// memory, GPUs — see `sched::profile` and `sched::plugins::fits`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EmptyMisfit {
    /// The task's constraint at this index (the first that fails).
    Constraint(usize),
    Cpu,
    Memory,
    Gpu,
}

impl Machine {
    /// `None` if this machine, empty, could host a task of `req` with
    /// `constraints`; else the first check it fails.
    pub fn empty_misfit(
        &self,
        req: &Request,
        constraints: &[attrs::Constraint],
    ) -> Option<EmptyMisfit> {
        if let Some(i) = constraints.iter().position(|c| !c.admits(&self.attrs)) {
            return Some(EmptyMisfit::Constraint(i));
        }
        let cap = &self.capacity;
        if req.res.cpu_milli > cap.res.cpu_milli {
            Some(EmptyMisfit::Cpu)
        } else if req.res.mem_mib > cap.res.mem_mib {
            Some(EmptyMisfit::Memory)
        } else if !cap.could_ever_host_gpu(req.gpu) {
            Some(EmptyMisfit::Gpu)
        } else {
            None
        }
    }
}

/// The machines of a cell and their place in the failure-domain tree.
#[derive(Clone, Debug)]
pub struct Cell {
    pub machines: Vec<Machine>,
    pub domains: DomainTree,
    pub attr_table: AttrTable,
    total: Capacity,
    /// [`Cell::max_machine`], computed once (the machines never change).
    largest: Capacity,
    classes: MachineClasses,
}

impl Cell {
    pub fn new(machines: Vec<Machine>, domains: DomainTree, attr_table: AttrTable) -> Self {
        assert!(machines.iter().enumerate().all(|(i, m)| m.id as usize == i));
        let total = machines
            .iter()
            .fold(Capacity::default(), |acc, m| Capacity {
                res: acc.res.add(&m.capacity.res),
                gpus: acc.gpus + m.capacity.gpus,
            });
        let largest = machines
            .iter()
            .fold(Capacity::default(), |acc, m| Capacity {
                res: Resources::new(
                    acc.res.cpu_milli.max(m.capacity.res.cpu_milli),
                    acc.res.mem_mib.max(m.capacity.res.mem_mib),
                ),
                gpus: acc.gpus.max(m.capacity.gpus),
            });
        let classes = MachineClasses::by_capacity(&machines);
        Cell {
            machines,
            domains,
            attr_table,
            total,
            largest,
            classes,
        }
    }

    /// The cell with these machine classes instead of the default (one per
    /// distinct capacity): a scenario's `[[cell.machines]]` entries.
    pub fn with_classes(mut self, classes: MachineClasses) -> Self {
        self.classes = classes;
        self
    }

    /// Its machine classes, grouped (see [`classes`]).
    pub fn classes(&self) -> &MachineClasses {
        &self.classes
    }

    pub fn len(&self) -> usize {
        self.machines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.machines.is_empty()
    }

    /// The sum of all machines' capacities.
    pub fn total_capacity(&self) -> Capacity {
        self.total
    }

    /// True if at least one machine, empty, could host the request and satisfy
    /// the constraints. Stops at the first such machine; a task it is false
    /// for is explained by `sched::reason::NeverFit`, from the same check.
    pub fn could_ever_host(&self, req: &Request, constraints: &[attrs::Constraint]) -> bool {
        self.machines
            .iter()
            .any(|m| m.empty_misfit(req, constraints).is_none())
    }

    /// The largest capacity of any machine in each dimension (the CPU of
    /// the machine with the most CPU, the GPUs of the one with the most
    /// GPUs; zero for an empty cell).
    pub fn max_machine(&self) -> Capacity {
        self.largest
    }
}

/// [`Cell::could_ever_host`]'s answers, remembered per (request,
/// constraints): the cell's machines never change, so neither does the
/// answer, and a task shape no machine can host would otherwise cost a scan
/// of every machine per job. Looked up, never iterated; emptied when it
/// holds [`HostableCache::MAX_ENTRIES`] shapes, so memory stays bounded
/// when every job has a shape of its own.
#[derive(Debug, Default)]
pub struct HostableCache {
    by_request: FxHashMap<Request, Vec<KnownShape>>,
    entries: usize,
}

/// A constraint list and whether a task of it (and the request it is filed
/// under) could ever run.
type KnownShape = (Box<[attrs::Constraint]>, bool);

impl HostableCache {
    pub const MAX_ENTRIES: usize = 1 << 16;

    /// [`Cell::could_ever_host`], from the cache when it knows the shape.
    pub fn could_ever_host(
        &mut self,
        cell: &Cell,
        req: &Request,
        constraints: &[attrs::Constraint],
    ) -> bool {
        if let Some(known) = self
            .by_request
            .get(req)
            .and_then(|v| v.iter().find(|(c, _)| **c == *constraints))
        {
            return known.1;
        }
        let answer = cell.could_ever_host(req, constraints);
        if self.entries >= Self::MAX_ENTRIES {
            self.by_request.clear();
            self.entries = 0;
        }
        self.by_request
            .entry(*req)
            .or_default()
            .push((constraints.into(), answer));
        self.entries += 1;
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::CellBuilder;
    use attrs::{Constraint, ConstraintOp};
    use resources::GpuRequest;

    #[test]
    fn remembered_answers_equal_the_scan() {
        // Two machines of 4000 mcpu / 4096 MiB, the second with arch=arm.
        let mut cell = CellBuilder::new()
            .machines(1, 4000, 4096, 0)
            .class(1, (4000, 4096, 0), &[("arch", "arm")])
            .domains(1, 1)
            .cell();
        let t = &mut cell.attr_table;
        let (arch, arm, x86) = (t.name_id("arch"), t.value_id("arm"), t.value_id("x86"));
        let on = |value| Constraint {
            name: arch,
            op: ConstraintOp::Eq,
            value,
        };
        let mut cache = HostableCache::default();
        for _ in 0..2 {
            for cpu in [1000, 4000, 4001] {
                let req = Request {
                    res: Resources::new(cpu, 1),
                    gpu: GpuRequest::None,
                };
                for cons in [vec![], vec![on(arm)], vec![on(x86)]] {
                    assert_eq!(
                        cache.could_ever_host(&cell, &req, &cons),
                        cell.could_ever_host(&req, &cons),
                        "{cpu} {cons:?}"
                    );
                }
            }
        }
        // 3 requests × 3 constraint lists, each remembered once.
        assert_eq!(cache.entries, 9);
        // Only arm machines for arch=arm, none for x86; 4001 mcpu fits none.
        let req = |cpu| Request {
            res: Resources::new(cpu, 1),
            gpu: GpuRequest::None,
        };
        assert!(cache.could_ever_host(&cell, &req(4000), &[on(arm)]));
        assert!(!cache.could_ever_host(&cell, &req(1000), &[on(x86)]));
        assert!(!cache.could_ever_host(&cell, &req(4001), &[]));
    }
}
