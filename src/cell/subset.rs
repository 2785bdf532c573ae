//! A cell made of some of another cell's machines: what cell compaction
//! (`crate::compact`) simulates at every probe, and what any experiment that
//! shrinks or splits a cell (sub-cells, segregation) builds on.
//!
//! The kept machines are renumbered `0..k` in their original id order, so a
//! subset is a function of the *set* of machines kept, never of the order
//! they were listed in: two probes of the same machines are the same
//! simulation. Each machine keeps its capacity, its attributes, its rack and
//! power domain (the domain tree restricted, racks keeping their numbers),
//! and its machine class; the classes' groups are recomputed from the kept
//! machines, so a run's per-class figures describe the subset.

use super::{Cell, Machine, MachineId};

impl Cell {
    /// The cell of the machines `keep` (ids of this cell's machines, in any
    /// order; duplicates count once), renumbered `0..k` in id order. The
    /// attribute table is shared as it is, so constraints interned against
    /// this cell mean the same in the subset.
    ///
    /// # Panics
    /// If an id in `keep` is not a machine of this cell (a caller's bug:
    /// ids come from the cell itself).
    pub fn subset(&self, keep: &[MachineId]) -> Cell {
        let mut ids = keep.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if let Some(&last) = ids.last() {
            assert!(
                (last as usize) < self.len(),
                "machine {last} is not in this cell of {} machines",
                self.len()
            );
        }
        let machines: Vec<Machine> = ids
            .iter()
            .enumerate()
            .map(|(new, &old)| Machine {
                id: new as MachineId,
                ..self.machines[old as usize].clone()
            })
            .collect();
        let classes = self.classes.subset(&machines, &ids);
        let domains = self.domains.restrict(&ids);
        Cell::new(machines, domains, self.attr_table.clone()).with_classes(classes)
    }
}

#[cfg(test)]
mod tests {
    use crate::cell::domain::DomainLevel;
    use crate::testkit::CellBuilder;

    /// Six machines, two per rack, two racks per power domain: racks
    /// 0,0,1,1,2,2 and power domains 0,0,0,0,1,1. Machines 0–2 are
    /// (4000, 4096), 3–4 are (8000, 8192) with ssd=yes, 5 is (4000, 4096)
    /// with a GPU. A cell built machine by machine is classed by capacity,
    /// in capacity order: (4000, 4096), (4000, 4096, 1 GPU), (8000, 8192).
    fn cell() -> crate::cell::Cell {
        CellBuilder::new()
            .machines(3, 4000, 4096, 0)
            .class(2, (8000, 8192, 0), &[("ssd", "yes")])
            .machines(1, 4000, 4096, 1)
            .domains(2, 2)
            .cell()
    }

    #[test]
    fn kept_machines_are_renumbered_in_id_order_and_keep_everything() {
        let full = cell();
        // Listed out of order, with a duplicate: the set {1, 3, 5}.
        let sub = full.subset(&[5, 1, 3, 1]);
        assert_eq!(sub.len(), 3);
        let ids: Vec<u32> = sub.machines.iter().map(|m| m.id).collect();
        assert_eq!(ids, [0, 1, 2]);
        // New 0 is old 1, new 1 is old 3, new 2 is old 5.
        for (new, old) in [(0usize, 1usize), (1, 3), (2, 5)] {
            assert_eq!(sub.machines[new].capacity, full.machines[old].capacity);
            assert_eq!(sub.machines[new].attrs, full.machines[old].attrs);
            for level in [DomainLevel::Rack, DomainLevel::Power] {
                assert_eq!(
                    sub.domains.domain_of(new, level),
                    full.domains.domain_of(old, level),
                    "machine {old} at {level:?}"
                );
            }
        }
        // Old racks 0, 1, 2 and power domains 0, 0, 1 are kept as numbered.
        assert_eq!(sub.domains.domain_of(2, DomainLevel::Rack), 2);
        assert_eq!(sub.domains.domain_of(2, DomainLevel::Power), 1);
        // 4000 + 8000 + 4000 mcpu; one GPU.
        assert_eq!(sub.total_capacity().res.cpu_milli, 16_000);
        assert_eq!(sub.total_capacity().gpus, 1);
        assert_eq!(sub.subset(&[0, 1, 2]).len(), 3, "a subset of a subset");
    }

    #[test]
    fn classes_are_recomputed_from_the_kept_machines() {
        let full = cell();
        assert_eq!(full.classes().groups().len(), 3);
        // Machines 3 and 4 only: one class of two machines left.
        let sub = full.subset(&[4, 3]);
        let groups = sub.classes().groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].label, full.classes().groups()[2].label);
        assert_eq!(groups[0].machines, 2);
        assert_eq!(groups[0].capacity.res.cpu_milli, 16_000);
        assert_eq!(
            (sub.classes().group_of(0), sub.classes().group_of(1)),
            (0, 0)
        );
        // Machines 0 and 5: the first class and the GPU class, in order.
        let sub = full.subset(&[0, 5]);
        let labels: Vec<&str> = sub
            .classes()
            .groups()
            .iter()
            .map(|g| g.label.as_str())
            .collect();
        let full_labels: Vec<&str> = full
            .classes()
            .groups()
            .iter()
            .map(|g| g.label.as_str())
            .collect();
        assert_eq!(labels, [full_labels[0], full_labels[1]]);
        assert_eq!(sub.classes().group_of(1), 1);
    }

    #[test]
    fn the_empty_subset_and_the_whole_cell() {
        let full = cell();
        assert!(full.subset(&[]).is_empty());
        let all: Vec<u32> = (0..6).collect();
        let same = full.subset(&all);
        assert_eq!(same.total_capacity(), full.total_capacity());
        assert_eq!(same.classes().groups(), full.classes().groups());
    }

    #[test]
    #[should_panic(expected = "machine 6 is not in this cell of 6 machines")]
    fn an_id_beyond_the_cell_is_a_bug() {
        cell().subset(&[0, 6]);
    }
}
