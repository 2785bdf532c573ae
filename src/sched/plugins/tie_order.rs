//! Scorer: a seeded random order of the machines, for ties — the paper
//! GPU policies' protocol (Weng et al., ATC 2023: on equal scores, the node
//! ranked first in a random permutation drawn with the run's seed wins).
//!
//! The paper's scores are small integers (0..=100) and tie often; lowest
//! machine id first, the pipeline's own rule, favours the first machines of
//! the list and moves GpuPacking and GpuClustering by up to 0.7 points of
//! GPU allocation. Each machine's rank is a keyed draw of the `tie_order`
//! stream ([`Stream::TieOrder`]) on its id, below 10001²: in a profile it
//! comes as two scorers, the high and the low digit in base 10001, weighted
//! 10001 and 1 after the policy's score (see `profile.rs`). Two machines
//! draw the same rank with probability 10⁻⁸ per pair; then the lowest id
//! wins. The rank depends on the machine only, so the caches keep it.

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::rng::{RngStreams, Stream};
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};

/// One digit of a machine's random rank.
pub struct TieOrder {
    pub streams: RngStreams,
    /// True: the high digit; false: the low one.
    pub high: bool,
}

/// The machine's rank in `0..(MAX_SCORE + 1)²`, as (high, low) digits.
pub fn rank_digits(streams: &RngStreams, m: MachineId) -> (u64, u64) {
    let base = MAX_SCORE + 1;
    let r = streams.keyed(Stream::TieOrder, &[u64::from(m)]) % (base * base);
    (r / base, r % base)
}

impl Plugin for TieOrder {
    fn name(&self) -> &'static str {
        if self.high {
            "tie_order_high"
        } else {
            "tie_order_low"
        }
    }

    /// Nothing of the task.
    fn sign(&self, _: &TaskView, _: &mut ClassKeyBuilder) -> Signed {
        Signed::Shareable
    }
}

impl Score for TieOrder {
    fn score(&self, _: &CellState, _: &TaskView, m: MachineId) -> u64 {
        let (high, low) = rank_digits(&self.streams, m);
        if self.high {
            high
        } else {
            low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_a_seeded_permutation() {
        // 1000 machines: distinct ranks, fixed by the seed, and another
        // seed orders them otherwise.
        let s = RngStreams::new(7);
        let mut ranks: Vec<_> = (0..1000).map(|m| rank_digits(&s, m)).collect();
        assert_eq!(
            ranks,
            (0..1000).map(|m| rank_digits(&s, m)).collect::<Vec<_>>()
        );
        let other: Vec<_> = (0..1000)
            .map(|m| rank_digits(&RngStreams::new(8), m))
            .collect();
        assert_ne!(ranks, other);
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), 1000);
        assert!(ranks.iter().all(|&(h, l)| h <= MAX_SCORE && l <= MAX_SCORE));
    }
}
