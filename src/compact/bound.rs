//! A lower bound on the answer that needs no simulation: a cell whose
//! capacity is less, in some resource, than the tasks that must be placed
//! cannot fit, whatever the scheduler does.
//!
//! For a static workload (everything submitted at t = 0, nothing ends) the
//! tasks that must be placed are all of them but the picky allowance: at
//! most `allowed` tasks may stay unplaced, and in each resource they can
//! hold at most the `allowed` largest requests. So a fitting cell has, in
//! every resource (CPU, memory, GPU milli-units), at least the total
//! request minus the sum of the `allowed` largest — each resource taken on
//! its own, which only loosens the bound. The shortest prefix of an order
//! with that much capacity is the bound; every shorter prefix is known not
//! to fit. A workload with time has no such bound (a cell may run its work
//! later, within the wait thresholds): its bound is 1. With reclamation
//! on, non-prod is admitted against reservations and may run beyond the
//! limits, so only prod's requests make the bound (`mod.rs`'s whole run).

use crate::cell::{Cell, MachineId};

/// A request or a capacity in the three resources: milli-cores, MiB, GPU
/// milli-units.
pub type Amounts = [u64; 3];

/// What must be placed of tasks requesting `requests`, when `allowed` of
/// them may stay unplaced: per resource, the total less its `allowed`
/// largest requests.
pub fn must_place(requests: &[Amounts], allowed: u64) -> Amounts {
    let mut need = [0u64; 3];
    for (d, n) in need.iter_mut().enumerate() {
        let mut v: Vec<u64> = requests.iter().map(|r| r[d]).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        let skip = usize::try_from(allowed).unwrap_or(usize::MAX).min(v.len());
        *n = v[skip..].iter().sum();
    }
    need
}

/// The shortest prefix of `order` (machine ids of `cell`) whose capacity
/// reaches `need` in every resource, at least 1; `order.len()` if none
/// does.
pub fn shortest_prefix(cell: &Cell, order: &[MachineId], need: Amounts) -> u32 {
    let mut have = [0u64; 3];
    let enough = |h: &Amounts| h.iter().zip(&need).all(|(h, n)| h >= n);
    for (i, &m) in order.iter().enumerate() {
        if enough(&have) {
            return (i as u32).max(1);
        }
        let c = &cell.machines[m as usize].capacity;
        have[0] += c.res.cpu_milli;
        have[1] += c.res.mem_mib;
        have[2] += c.gpu_milli();
    }
    order.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::CellBuilder;

    #[test]
    fn the_allowed_tasks_take_the_largest_requests_in_each_resource() {
        // CPU 4000, 1000, 3000; memory 100, 900, 500; no GPUs.
        let r = [[4000, 100, 0], [1000, 900, 0], [3000, 500, 0]];
        assert_eq!(must_place(&r, 0), [8000, 1500, 0]);
        // One may stay: CPU loses 4000, memory 900 (not the same task).
        assert_eq!(must_place(&r, 1), [4000, 600, 0]);
        assert_eq!(must_place(&r, 5), [0, 0, 0]);
    }

    #[test]
    fn the_bound_is_the_first_prefix_with_enough_of_everything() {
        // Machines 0..4: CPU 1000, 2000, 3000, 4000; memory 4096 each;
        // machine 3 has a GPU.
        let cell = CellBuilder::new()
            .machines(1, 1000, 4096, 0)
            .machines(1, 2000, 4096, 0)
            .machines(1, 3000, 4096, 0)
            .machines(1, 4000, 4096, 1)
            .cell();
        // Order 3, 0, 2, 1. 4500 mcpu: 4000 (1), 5000 (2) → 2 machines.
        let order = [3, 0, 2, 1];
        assert_eq!(shortest_prefix(&cell, &order, [4500, 0, 0]), 2);
        // 9000 MiB: 4096, 8192, 12288 → 3.
        assert_eq!(shortest_prefix(&cell, &order, [0, 9000, 0]), 3);
        // Both at once: the larger, 3.
        assert_eq!(shortest_prefix(&cell, &order, [4500, 9000, 0]), 3);
        // 500 GPU milli: machine 3 first → 1. In order 0, 1, 2, 3 → 4.
        assert_eq!(shortest_prefix(&cell, &order, [0, 0, 500]), 1);
        assert_eq!(shortest_prefix(&cell, &[0, 1, 2, 3], [0, 0, 500]), 4);
        // Nothing needed: 1, never 0. More than the cell: its size.
        assert_eq!(shortest_prefix(&cell, &order, [0, 0, 0]), 1);
        assert_eq!(shortest_prefix(&cell, &order, [99_999, 0, 0]), 4);
    }
}
