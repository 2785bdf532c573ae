//! The failure domains: machine, rack, row and power domain.
//!
//! Borg spreads a job's tasks across failure domains so that one failure
//! takes out few of them, and correlated failures strike a rack or a power
//! domain at once; so every machine knows its domain at every level from
//! the start. Each level above the machine is a *partition* of the
//! machines: a generated cell nests them (racks fill rows and power
//! domains), but a trace's need not — in Alibaba's 2018 `machine_meta` a
//! `failure_domain_1` spans several `failure_domain_2` values — and
//! nothing here assumes they nest. The partitions come from a scenario's
//! shape (machines per rack, racks per row and per power domain), from its
//! named racks, rows and power domains, or from a trace (Alibaba's
//! `failure_domain_1/2`, Google 2019's `switch_id`).
//!
//! The hot path (spread limits, the spreading score) looks a machine's
//! domain up at one level: one load from a per-level array.

use serde::{Deserialize, Serialize};

/// A level of failure domains. The set is fixed: a scenario or trace says
/// which domain each machine is in at each level, not which levels exist.
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DomainLevel {
    /// The machine itself.
    Machine,
    /// Machines under one top-of-rack switch.
    Rack,
    /// Racks sharing an aggregation switch or a busway; each rack its own
    /// row unless the scenario groups them.
    Row,
    /// Machines fed by one power distribution unit.
    Power,
}

impl DomainLevel {
    /// Every level, in declaration order (`level.index()` indexes by it).
    pub const ALL: &'static [DomainLevel] = <DomainLevel as strum::VariantArray>::VARIANTS;

    /// The level's name in scenarios and outputs: `machine`, `rack`, `row`,
    /// `power`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The level's position in [`DomainLevel::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The levels above the machine, as [`DomainTree`] stores them.
const SHARED: [DomainLevel; 3] = [DomainLevel::Rack, DomainLevel::Row, DomainLevel::Power];

/// Each machine's domain at every level above the machine.
#[derive(Clone, Debug, Default)]
pub struct DomainTree {
    /// Per shared level (rack, row, power): each machine's domain index.
    of_machine: [Vec<u32>; 3],
    /// Per shared level: the number of domains (an index is below it; a
    /// domain may be left without machines by [`DomainTree::restrict`]).
    domains: [u32; 3],
}

impl DomainTree {
    /// A regular tree: consecutive machines fill racks, consecutive racks
    /// fill power domains; each rack is its own row. Both sizes must be at
    /// least 1.
    pub fn regular(machines: usize, machines_per_rack: u32, racks_per_power: u32) -> Self {
        assert!(machines_per_rack > 0 && racks_per_power > 0);
        let rack_of_machine: Vec<u32> = (0..machines as u32)
            .map(|m| m / machines_per_rack)
            .collect();
        let racks = rack_of_machine.last().map_or(0, |r| r + 1);
        let power_of_rack = (0..racks).map(|r| r / racks_per_power).collect();
        DomainTree::explicit(rack_of_machine, power_of_rack)
    }

    /// A tree given rack by rack: every rack index in `rack_of_machine`
    /// must have an entry in `power_of_rack`; each rack is its own row.
    pub fn explicit(rack_of_machine: Vec<u32>, power_of_rack: Vec<u32>) -> Self {
        let power = rack_of_machine
            .iter()
            .map(|&r| power_of_rack[r as usize])
            .collect();
        let rows = power_of_rack.len() as u32;
        let powers = power_of_rack.iter().max().map_or(0, |p| p + 1);
        DomainTree::partitions(
            rack_of_machine.clone(),
            rack_of_machine,
            power,
            [rows, rows, powers],
        )
    }

    /// Levels given machine by machine, none assumed to nest in another:
    /// each machine's rack, row and power domain, and the number of domains
    /// at each of those levels (every index below its count).
    pub fn partitions(rack: Vec<u32>, row: Vec<u32>, power: Vec<u32>, domains: [u32; 3]) -> Self {
        let of_machine = [rack, row, power];
        for (level, ids) in of_machine.iter().enumerate() {
            assert_eq!(ids.len(), of_machine[0].len(), "one domain per machine");
            assert!(
                ids.iter().all(|&d| d < domains[level]),
                "domain index in range"
            );
        }
        DomainTree {
            of_machine,
            domains,
        }
    }

    /// The tree of the machines `keep` (ids of this tree's machines),
    /// renumbered `0..keep.len()` in that order: each keeps its domains, and
    /// domains keep their numbers (a domain left without machines stays
    /// counted, empty: domains are only ever looked up from a machine).
    pub fn restrict(&self, keep: &[u32]) -> Self {
        DomainTree {
            of_machine: self
                .of_machine
                .each_ref()
                .map(|ids| keep.iter().map(|&m| ids[m as usize]).collect()),
            domains: self.domains,
        }
    }

    pub fn rack_of(&self, machine: usize) -> u32 {
        self.of_machine[0][machine]
    }

    pub fn power_of(&self, machine: usize) -> u32 {
        self.of_machine[2][machine]
    }

    /// The index of `machine`'s domain at `level`.
    #[inline]
    pub fn domain_of(&self, machine: usize, level: DomainLevel) -> u32 {
        match level {
            DomainLevel::Machine => machine as u32,
            DomainLevel::Rack => self.of_machine[0][machine],
            DomainLevel::Row => self.of_machine[1][machine],
            DomainLevel::Power => self.of_machine[2][machine],
        }
    }

    /// How many domains `level` has (machines: how many machines).
    pub fn domains(&self, level: DomainLevel) -> usize {
        match level {
            DomainLevel::Machine => self.of_machine[0].len(),
            l => self.domains[SHARED.iter().position(|&s| s == l).expect("shared")] as usize,
        }
    }

    pub fn racks(&self) -> usize {
        self.domains(DomainLevel::Rack)
    }

    pub fn power_domains(&self) -> usize {
        self.domains(DomainLevel::Power)
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
        assert_eq!(t.domains(DomainLevel::Row), 3);
        assert_eq!(t.domain_of(5, DomainLevel::Rack), 1);
        assert_eq!(t.domain_of(5, DomainLevel::Row), 1);
        assert_eq!(t.domain_of(5, DomainLevel::Power), 0);
        assert_eq!(t.domain_of(6, DomainLevel::Power), 1);
        assert_eq!(t.domain_of(6, DomainLevel::Machine), 6);
    }

    #[test]
    fn partitions_need_not_nest() {
        // Machines 0,1 share rack 0 but sit in power domains 0 and 1 (as
        // Alibaba's failure_domain_1/2 do); restricting to machines [1, 2]
        // keeps their domains and the counts.
        let t = DomainTree::partitions(vec![0, 0, 1], vec![0, 0, 0], vec![0, 1, 1], [2, 1, 2]);
        assert_eq!(t.domain_of(1, DomainLevel::Rack), 0);
        assert_eq!(t.domain_of(1, DomainLevel::Power), 1);
        let r = t.restrict(&[1, 2]);
        assert_eq!(r.domain_of(0, DomainLevel::Power), 1);
        assert_eq!(r.domain_of(1, DomainLevel::Rack), 1);
        assert_eq!(r.racks(), 2);
        assert_eq!(r.domains(DomainLevel::Machine), 2);
    }

    #[test]
    fn level_names_are_serdes() {
        let names: Vec<&str> = DomainLevel::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names, ["machine", "rack", "row", "power"]);
        for &l in DomainLevel::ALL {
            let json = serde_json::to_string(&l).expect("serialise");
            assert_eq!(json, format!("\"{}\"", l.name()));
        }
    }
}
