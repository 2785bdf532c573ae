//! The failure-domain tree: machine → rack → power domain → cell.
//!
//! Borg spreads a job's tasks across failure domains, and later issues inject
//! correlated failures per rack or power domain, so every machine knows its
//! place in the tree from the start. The tree is either generated from a
//! scenario's shape (machines per rack, racks per power domain) or read from a
//! trace (Alibaba's `failure_domain_1/2`).

use serde::{Deserialize, Serialize};

/// A level of the failure-domain tree.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainLevel {
    Machine,
    Rack,
    Power,
}

/// Which rack each machine is in and which power domain each rack is in.
#[derive(Clone, Debug, Default)]
pub struct DomainTree {
    rack_of_machine: Vec<u32>,
    power_of_rack: Vec<u32>,
}

impl DomainTree {
    /// A regular tree: consecutive machines fill racks, consecutive racks fill
    /// power domains. Both sizes must be at least 1.
    pub fn regular(machines: usize, machines_per_rack: u32, racks_per_power: u32) -> Self {
        assert!(machines_per_rack > 0 && racks_per_power > 0);
        let rack_of_machine: Vec<u32> = (0..machines as u32)
            .map(|m| m / machines_per_rack)
            .collect();
        let racks = rack_of_machine.last().map_or(0, |r| r + 1);
        let power_of_rack = (0..racks).map(|r| r / racks_per_power).collect();
        DomainTree {
            rack_of_machine,
            power_of_rack,
        }
    }

    /// A tree given explicitly (e.g. by a trace). Every rack index in
    /// `rack_of_machine` must have an entry in `power_of_rack`.
    pub fn explicit(rack_of_machine: Vec<u32>, power_of_rack: Vec<u32>) -> Self {
        assert!(rack_of_machine
            .iter()
            .all(|&r| (r as usize) < power_of_rack.len()));
        DomainTree {
            rack_of_machine,
            power_of_rack,
        }
    }

    /// The tree of the machines `keep` (ids of this tree's machines),
    /// renumbered `0..keep.len()` in that order: each keeps its rack, and
    /// racks keep their power domain and their numbers (a rack left without
    /// machines stays in the tree, empty: domains are only ever looked up
    /// from a machine).
    pub fn restrict(&self, keep: &[u32]) -> Self {
        DomainTree {
            rack_of_machine: keep
                .iter()
                .map(|&m| self.rack_of_machine[m as usize])
                .collect(),
            power_of_rack: self.power_of_rack.clone(),
        }
    }

    pub fn rack_of(&self, machine: usize) -> u32 {
        self.rack_of_machine[machine]
    }

    pub fn power_of(&self, machine: usize) -> u32 {
        self.power_of_rack[self.rack_of(machine) as usize]
    }

    /// The index of `machine`'s domain at `level`.
    pub fn domain_of(&self, machine: usize, level: DomainLevel) -> u32 {
        match level {
            DomainLevel::Machine => machine as u32,
            DomainLevel::Rack => self.rack_of(machine),
            DomainLevel::Power => self.power_of(machine),
        }
    }

    pub fn racks(&self) -> usize {
        self.power_of_rack.len()
    }

    pub fn power_domains(&self) -> usize {
        self.power_of_rack
            .iter()
            .max()
            .map_or(0, |p| *p as usize + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_tree_fills_racks_then_power_domains() {
        // 7 machines, 3 per rack -> racks {0,1,2},{3,4,5},{6}; 2 racks per power
        // domain -> power 0 = racks 0,1; power 1 = rack 2.
        let t = DomainTree::regular(7, 3, 2);
        assert_eq!(t.racks(), 3);
        assert_eq!(t.power_domains(), 2);
        assert_eq!(t.domain_of(5, DomainLevel::Rack), 1);
        assert_eq!(t.domain_of(5, DomainLevel::Power), 0);
        assert_eq!(t.domain_of(6, DomainLevel::Power), 1);
        assert_eq!(t.domain_of(6, DomainLevel::Machine), 6);
    }
}
