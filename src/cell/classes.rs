//! Machine classes: which machines of a cell are alike, so that the run
//! report can say how each kind of machine was used (a GPU class full while
//! the CPU-only machines idle is invisible in the cell's totals).
//!
//! A scenario's classes are its `[[cell.machines]]` entries; a trace's
//! machines are grouped by identical capacity (CPU, memory, GPUs), since a
//! trace has no classes of its own and its attributes vary machine by
//! machine. The cell state keeps each class's allocation, exactly and
//! cheaply, on every placement and release (`state::Ledger::alloc_by_class`),
//! so a cell may have at most [`MAX_GROUPS`] of them: a cell with more
//! keeps the [`MAX_GROUPS`] − 1 largest (by CPU capacity, then by machines)
//! and lumps the rest into one "other" group. Groups are in the order their
//! classes first appear (scenario order; for traces, by capacity).

use super::resources::{Capacity, Resources};
use super::Machine;

/// At most this many groups of machines are tracked (see the module doc).
pub const MAX_GROUPS: usize = 8;

/// One group of machines: a class, or the lumped rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassGroup {
    /// `cell.machines[1]: 16000 cpu_milli, 65536 mem_mib, ssd=yes`, or
    /// `12 other classes`.
    pub label: String,
    /// Machines in the group.
    pub machines: u32,
    /// Classes lumped into it (1 for a class of its own).
    pub classes: u32,
    /// Each machine's capacity, for a group of one class.
    pub machine_capacity: Option<Capacity>,
    /// The group's total capacity.
    pub capacity: Capacity,
}

/// A cell's machine groups and each machine's group.
#[derive(Clone, Debug, Default)]
pub struct MachineClasses {
    groups: Vec<ClassGroup>,
    /// Indexed by machine id.
    of_machine: Vec<u8>,
    /// Every class before grouping, by label, and each machine's class
    /// (indexed by machine id): what the classes of a subset of the
    /// machines are recomputed from ([`MachineClasses::subset`]).
    labels: Vec<String>,
    class_of: Vec<u32>,
}

/// A class before grouping: its label and its machines.
struct Class {
    label: String,
    machines: Vec<u32>,
    capacity: Capacity,
}

impl MachineClasses {
    /// One class per distinct capacity, in capacity order (a trace's cell).
    pub fn by_capacity(machines: &[Machine]) -> MachineClasses {
        let mut caps: Vec<Capacity> = machines.iter().map(|m| m.capacity).collect();
        caps.sort_by_key(|c| (c.res.cpu_milli, c.res.mem_mib, c.gpus));
        caps.dedup();
        let index = |c: &Capacity| {
            caps.binary_search_by_key(&(c.res.cpu_milli, c.res.mem_mib, c.gpus), |x| {
                (x.res.cpu_milli, x.res.mem_mib, x.gpus)
            })
            .expect("collected")
        };
        let labels = caps.iter().map(describe).collect();
        let class_of: Vec<usize> = machines.iter().map(|m| index(&m.capacity)).collect();
        MachineClasses::of(machines, labels, &class_of)
    }

    /// The classes `labels`, machine `i` being of class `class_of[i]` (a
    /// scenario's cell: one class per `[[cell.machines]]` entry).
    pub fn of(machines: &[Machine], labels: Vec<String>, class_of: &[usize]) -> MachineClasses {
        assert_eq!(machines.len(), class_of.len(), "a class for every machine");
        let raw_class_of = class_of
            .iter()
            .map(|&c| u32::try_from(c).expect("fewer than 2^32 classes"))
            .collect();
        let mut classes: Vec<Class> = labels
            .iter()
            .map(|label| Class {
                label: label.clone(),
                machines: Vec::new(),
                capacity: Capacity::default(),
            })
            .collect();
        for (m, &c) in machines.iter().zip(class_of) {
            let class = &mut classes[c];
            class.machines.push(m.id);
            class.capacity = add(class.capacity, m.capacity);
        }
        classes.retain(|c| !c.machines.is_empty());
        let (groups, of_machine) = group(machines, classes);
        MachineClasses {
            groups,
            of_machine,
            labels,
            class_of: raw_class_of,
        }
    }

    /// Machine `machine`'s class before grouping (a scenario's cell: the
    /// index of its `[[cell.machines]]` entry; a trace's: its capacity's
    /// rank among the distinct capacities, smallest first).
    pub fn class_of(&self, machine: u32) -> u32 {
        self.class_of[machine as usize]
    }

    /// How many classes there are before grouping.
    pub fn class_count(&self) -> usize {
        self.labels.len()
    }

    /// The classes of the cell made of `kept` (the machines of this cell
    /// with ids `keep`, renumbered `0..keep.len()` in that order, as
    /// [`super::Cell::subset`] makes them): each keeps its class, and the
    /// groups are recomputed from the kept machines alone (a class with no
    /// machine left has none; lumping follows the kept classes' sizes).
    pub fn subset(&self, kept: &[Machine], keep: &[u32]) -> MachineClasses {
        let class_of: Vec<usize> = keep
            .iter()
            .map(|&m| self.class_of[m as usize] as usize)
            .collect();
        MachineClasses::of(kept, self.labels.clone(), &class_of)
    }

    /// The groups, in order.
    pub fn groups(&self) -> &[ClassGroup] {
        &self.groups
    }

    /// The group of `machine`.
    pub fn group_of(&self, machine: u32) -> usize {
        usize::from(self.of_machine[machine as usize])
    }
}

/// `16000 cpu_milli, 65536 mem_mib` (and `, 8 gpus` when it has some).
pub fn describe(c: &Capacity) -> String {
    let mut s = format!("{} cpu_milli, {} mem_mib", c.res.cpu_milli, c.res.mem_mib);
    if c.gpus > 0 {
        s += &format!(", {} gpus", c.gpus);
    }
    s
}

fn add(a: Capacity, b: Capacity) -> Capacity {
    Capacity {
        res: a.res.add(&b.res),
        gpus: a.gpus + b.gpus,
    }
}

/// Keeps the largest `MAX_GROUPS - 1` classes when there are more than
/// `MAX_GROUPS`, in their order, and lumps the rest: the groups, and each
/// machine's group.
fn group(machines: &[Machine], classes: Vec<Class>) -> (Vec<ClassGroup>, Vec<u8>) {
    let mut keep = vec![true; classes.len()];
    if classes.len() > MAX_GROUPS {
        let mut by_size: Vec<usize> = (0..classes.len()).collect();
        by_size.sort_by_key(|&i| {
            let c = &classes[i];
            (
                std::cmp::Reverse(c.capacity.res.cpu_milli),
                std::cmp::Reverse(c.machines.len()),
                i,
            )
        });
        keep = vec![false; classes.len()];
        for &i in &by_size[..MAX_GROUPS - 1] {
            keep[i] = true;
        }
    }
    let mut of_machine = vec![0u8; machines.len()];
    let mut groups: Vec<ClassGroup> = Vec::new();
    let mut other: Option<ClassGroup> = None;
    for (class, kept) in classes.into_iter().zip(keep) {
        let each = machines[class.machines[0] as usize].capacity;
        let g = ClassGroup {
            label: class.label,
            machines: class.machines.len() as u32,
            classes: 1,
            machine_capacity: Some(each),
            capacity: class.capacity,
        };
        let index = if kept { groups.len() } else { MAX_GROUPS - 1 };
        for m in &class.machines {
            of_machine[*m as usize] = index as u8;
        }
        if kept {
            groups.push(g);
            continue;
        }
        let o = other.get_or_insert_with(|| ClassGroup {
            label: String::new(),
            machines: 0,
            classes: 0,
            machine_capacity: None,
            capacity: Capacity {
                res: Resources::ZERO,
                gpus: 0,
            },
        });
        o.machines += g.machines;
        o.classes += 1;
        o.capacity = add(o.capacity, g.capacity);
    }
    if let Some(mut o) = other {
        o.label = format!("{} other classes", o.classes);
        groups.push(o);
    }
    assert!(groups.len() <= MAX_GROUPS);
    (groups, of_machine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::CellBuilder;

    #[test]
    fn a_trace_cell_is_grouped_by_identical_capacity() {
        // Machines 0 and 2 are alike (4000, 4096); machine 1 has a GPU.
        let cell = CellBuilder::new()
            .machines(1, 4000, 4096, 0)
            .machines(1, 4000, 4096, 1)
            .machines(1, 4000, 4096, 0)
            .cell();
        let c = MachineClasses::by_capacity(&cell.machines);
        let labels: Vec<&str> = c.groups().iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "4000 cpu_milli, 4096 mem_mib",
                "4000 cpu_milli, 4096 mem_mib, 1 gpus"
            ]
        );
        assert_eq!((c.group_of(0), c.group_of(1), c.group_of(2)), (0, 1, 0));
        assert_eq!(c.groups()[0].machines, 2);
        assert_eq!(c.groups()[0].capacity.res.cpu_milli, 8000);
    }

    #[test]
    fn past_eight_classes_the_smallest_are_lumped() {
        // Ten classes of one machine each, CPU 1000 … 10000: the seven
        // largest (4000 … 10000) keep groups of their own, in capacity
        // order; 1000, 2000 and 3000 become "3 other classes" (6000 mcpu).
        let mut b = CellBuilder::new();
        for i in 1..=10 {
            b = b.machines(1, 1000 * i, 1024, 0);
        }
        let cell = b.cell();
        let c = MachineClasses::by_capacity(&cell.machines);
        assert_eq!(c.groups().len(), MAX_GROUPS);
        let other = &c.groups()[MAX_GROUPS - 1];
        assert_eq!(other.label, "3 other classes");
        assert_eq!((other.machines, other.classes), (3, 3));
        assert_eq!(other.capacity.res.cpu_milli, 6000);
        assert_eq!(other.machine_capacity, None);
        assert_eq!(c.group_of(0), MAX_GROUPS - 1);
        assert_eq!(c.group_of(3), 0, "4000 mcpu: the first kept class");
        assert_eq!(c.group_of(9), MAX_GROUPS - 2);
    }
}
