//! The cell: machines, their attributes and failure domains, and the state of
//! every task placed on them.
//!
//! [`Cell`] is what does not change during a run (machines, capacities,
//! attributes, the domain tree). [`state::CellState`] is what does, and it is
//! the only place that changes it: every placement, eviction and completion
//! goes through a method there that asserts the invariants.

pub mod attrs;
pub mod domain;
pub mod invariants;
pub mod pending;
pub mod resources;
pub mod state;

use attrs::{AttrTable, Attributes};
use domain::DomainTree;
use resources::{Capacity, Request, Resources};

pub type MachineId = u32;

/// A machine's fixed description.
#[derive(Clone, Debug)]
pub struct Machine {
    pub id: MachineId,
    pub capacity: Capacity,
    pub attrs: Attributes,
}

/// The machines of a cell and their place in the failure-domain tree.
#[derive(Clone, Debug)]
pub struct Cell {
    pub machines: Vec<Machine>,
    pub domains: DomainTree,
    pub attr_table: AttrTable,
    total: Capacity,
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
        Cell {
            machines,
            domains,
            attr_table,
            total,
        }
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
    /// the constraints.
    pub fn could_ever_host(&self, req: &Request, constraints: &[attrs::Constraint]) -> bool {
        self.machines.iter().any(|m| {
            m.capacity.could_ever_host(req) && constraints.iter().all(|c| c.admits(&m.attrs))
        })
    }

    /// The largest capacity of any machine in each dimension.
    pub fn max_machine(&self) -> Capacity {
        self.machines
            .iter()
            .fold(Capacity::default(), |acc, m| Capacity {
                res: Resources::new(
                    acc.res.cpu_milli.max(m.capacity.res.cpu_milli),
                    acc.res.mem_mib.max(m.capacity.res.mem_mib),
                ),
                gpus: acc.gpus.max(m.capacity.gpus),
            })
    }
}
