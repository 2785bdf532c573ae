//! Relaxed randomization (Borg paper §3.4): examine machines in a random
//! order until enough feasible ones are found, then take the best of those.
//!
//! **How many is enough** follows Kubernetes' adaptive rule
//! (`numFeasibleNodesToFind`): with `n` machines, all of them if `n < 100`;
//! else `max(100, n · p / 100)` with `p = max(5, 50 − n/125)` percent. So
//! 1,000 machines → 42 % → 420; 10,000 → 5 % → 500; 12,500 → 5 % → 625.
//!
//! **The order** is one random permutation of the machines, drawn once from
//! the scheduler's RNG stream; a scan starts at a random offset in it (also
//! from that stream) and wraps around. Class caches built in the same pass
//! share one offset, so tasks of different shapes consider the same machines
//! and can fill them together; with an offset per class, each shape packed its
//! own subset of the cell and left 12 % more of borg-cell-pack's tasks pending
//! (see `reports/BENCHMARKS.md`). A scan that finds no machine
//! that fits as is goes on to the end, so a task is never declared
//! unschedulable, nor denied preemption, for want of looking.

use crate::cell::MachineId;
use crate::rng::SimRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// How many feasible machines a scan looks for in a cell of `n`.
pub fn enough_feasible(n: usize) -> usize {
    if n < 100 {
        return n;
    }
    let pct = 50usize.saturating_sub(n / 125).max(5);
    (n * pct / 100).max(100)
}

/// The scan order: a fixed random permutation and fresh random offsets.
pub struct Sampler {
    order: Vec<MachineId>,
    rng: SimRng,
}

impl Sampler {
    pub fn new(mut rng: SimRng, n: usize) -> Self {
        let mut order: Vec<MachineId> = (0..n as MachineId).collect();
        order.shuffle(&mut rng);
        Sampler { order, rng }
    }

    pub fn order(&self) -> &[MachineId] {
        &self.order
    }

    /// A random starting offset for a new scan.
    pub fn start(&mut self) -> usize {
        if self.order.is_empty() {
            0
        } else {
            self.rng.random_range(0..self.order.len())
        }
    }

    /// The offset the next [`Sampler::start`] will return, drawn from a
    /// copy of the stream (the stream itself does not move).
    pub fn peek_start(&self) -> usize {
        if self.order.is_empty() {
            0
        } else {
            self.rng.clone().random_range(0..self.order.len())
        }
    }

    /// The machine at scan step `i` from offset `start`.
    pub fn at(&self, start: usize, i: usize) -> MachineId {
        self.order[(start + i) % self.order.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn adaptive_count_follows_kubernetes() {
        assert_eq!(enough_feasible(50), 50); // small cells: everything
        assert_eq!(enough_feasible(1000), 420); // 50 - 8 = 42 %
        assert_eq!(enough_feasible(10_000), 500); // max(5, 50 - 80) = 5 %
        assert_eq!(enough_feasible(12_500), 625);
        assert_eq!(enough_feasible(150), 100); // 49 % of 150 = 73, floored at 100
    }

    #[test]
    fn the_order_is_a_seeded_permutation() {
        let a = Sampler::new(SimRng::seed_from_u64(1), 1000);
        let b = Sampler::new(SimRng::seed_from_u64(1), 1000);
        assert_eq!(a.order(), b.order());
        let mut sorted = a.order().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a.order(), &sorted[..], "shuffled");
        assert_eq!(a.at(999, 2), a.order()[1], "wraps around");
    }

    #[test]
    fn peeking_at_the_next_start_does_not_draw_it() {
        let mut s = Sampler::new(SimRng::seed_from_u64(7), 1000);
        let peeked = s.peek_start();
        assert_eq!(s.peek_start(), peeked, "a peek leaves the stream");
        assert_eq!(s.start(), peeked, "the next start is the one peeked");
        assert_eq!(s.peek_start(), s.start(), "and so on");
    }
}
