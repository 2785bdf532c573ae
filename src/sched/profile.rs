//! Named pipelines: which filters run, in which order, and which scorers with
//! which weights. The policy is an enum chosen in the scenario.
//!
//! A [`Profile`] is also the extension point for plugins of one's own: build
//! one with [`Profile::new`] from any filters and scorers (the shipped ones
//! are public under [`super::plugins`]) and run it with
//! [`Simulation::with_profile`](crate::sim::Simulation::with_profile). Each
//! plugin declares what of a task it reads ([`super::plugin::Plugin::sign`]),
//! so the caches stay exact with it.
//!
//! A profile's weights are checked once, when it is built: the weighted sum
//! of scores, at most Σ weight × `MAX_SCORE`, must fit in a `u64`, so adding
//! up a machine's score can never overflow (the pipeline asserts each score's
//! bound as it collects it).

use super::plugin::{Filter, Score, MAX_SCORE};
use super::plugins::{
    avoid_failed, best_fit, constraints, fits, gpu_packing, hybrid, spread, spreading, worst_fit,
};
use super::SchedConfig;
use serde::{Deserialize, Serialize};

/// The placement policies a scenario can choose. Their names are serde's;
/// strum derives the same rule for [`Policy::name`] and the variant list
/// (tests/it/schema.rs checks that the two agree).
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Policy {
    /// Spread: most free resources after placement.
    WorstFit,
    /// Pack: least free resources after placement.
    BestFit,
    /// Borg's: least stranded resources, ties to best fit.
    Hybrid,
    /// GPU-sharing clusters: least GPU fragmentation, then fewest idle GPUs
    /// left, then best fit.
    GpuPacking,
}

/// Why GPU packing is refused on a cell without GPUs: it ranks machines by
/// their GPUs first, and on such a cell it would rank them exactly as best
/// fit does, so a run named `gpu_packing` would mislead.
pub(crate) const GPU_PACKING_NEEDS_GPUS: &str =
    "gpu_packing ranks machines by their GPUs, and no machine of this cell has any \
     (it would rank them as best_fit does); choose another policy";

impl Policy {
    /// Every policy, in declaration order.
    pub const ALL: &'static [Policy] = <Policy as strum::VariantArray>::VARIANTS;

    /// Parses the scenario/CLI name of a policy.
    pub fn from_name(s: &str) -> Option<Policy> {
        Policy::ALL.iter().copied().find(|p| p.name() == s)
    }

    /// The scenario/CLI name: `worst_fit`, `best_fit`, `hybrid`, `gpu_packing`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Policy::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Policy::ALL.iter().map(|p| p.name()).collect();
            format!("unknown policy {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// A filter as a profile holds it.
pub type BoxedFilter = Box<dyn Filter + Send + Sync>;
/// A scorer and its weight, as a profile holds them.
pub type WeightedScore = (Box<dyn Score + Send + Sync>, u64);

/// An ordered list of filters and weighted scorers.
pub struct Profile {
    filters: Vec<BoxedFilter>,
    scorers: Vec<WeightedScore>,
}

impl Profile {
    /// A profile of `filters`, run in order (the first to reject a machine
    /// names the reason, so put cheap and decisive ones first), and weighted
    /// `scorers`. Panics, naming them, if the weighted sum of scores could
    /// overflow a `u64` (Σ weight × `MAX_SCORE` > `u64::MAX`), or if there
    /// are more than 32 filters (the pipeline keeps a task's filters in a
    /// 32-bit mask).
    pub fn new(filters: Vec<BoxedFilter>, scorers: Vec<WeightedScore>) -> Profile {
        assert!(
            filters.len() <= u32::BITS as usize,
            "a profile has at most {} filters, not {}",
            u32::BITS,
            filters.len()
        );
        let max_total = scorers.iter().try_fold(0u64, |total, (_, weight)| {
            weight.checked_mul(MAX_SCORE)?.checked_add(total)
        });
        assert!(
            max_total.is_some(),
            "profile weights overflow: Σ weight × MAX_SCORE exceeds u64 for scorers [{}]",
            scorers
                .iter()
                .map(|(s, w)| format!("{} × {w}", s.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Profile { filters, scorers }
    }

    /// The pipeline for a policy. Filters run cheapest-first; the first one to
    /// reject a machine names the reason.
    pub fn for_policy(policy: Policy) -> Profile {
        let filters: Vec<BoxedFilter> = vec![
            Box::new(constraints::AttributeConstraints),
            Box::new(spread::SpreadLimits),
            Box::new(fits::ResourceFit),
        ];
        let scorers: Vec<WeightedScore> = match policy {
            Policy::WorstFit => vec![(Box::new(worst_fit::WorstFit), 1)],
            Policy::BestFit => vec![(Box::new(best_fit::BestFit), 1)],
            // Lexicographic: stranding first, best fit breaks ties, because
            // a best-fit score (≤ MAX_SCORE) never outweighs one unit of
            // the stranded score weighted by MAX_SCORE + 1.
            Policy::Hybrid => vec![
                (Box::new(hybrid::LeastStranded), MAX_SCORE + 1),
                (Box::new(best_fit::BestFit), 1),
            ],
            // Lexicographic again: each weight exceeds the most all the
            // scorers after it can add (10,000 each).
            Policy::GpuPacking => vec![
                (
                    Box::new(gpu_packing::GpuFragmentation),
                    (MAX_SCORE + 1) * (MAX_SCORE + 1),
                ),
                (Box::new(gpu_packing::GpuIdleKept), MAX_SCORE + 1),
                (Box::new(best_fit::BestFit), 1),
            ],
        };
        Profile::new(filters, scorers)
    }

    /// The pipeline of a scheduler configuration: its policy's, with the
    /// failure-history filter (`avoid_failed`) before the resource fit when
    /// failures are avoided, and the spreading score first when it is on —
    /// lexicographically, its weight one more than the most the policy's
    /// scorers can add (Σ weight × `MAX_SCORE`), so the policy breaks ties
    /// among equally spread machines. Without either, exactly
    /// [`Profile::for_policy`].
    pub fn for_config(config: &SchedConfig) -> Profile {
        let Profile {
            mut filters,
            mut scorers,
        } = Profile::for_policy(config.policy);
        if config.avoid_failed.is_some() {
            let at = filters.len() - 1; // before the resource fit
            filters.insert(at, Box::new(avoid_failed::AvoidFailed));
        }
        if let Some(weights) = config.spreading {
            let most: u64 = scorers.iter().map(|(_, w)| w * MAX_SCORE).sum();
            scorers.insert(0, (Box::new(spreading::Spreading::new(weights)), most + 1));
        }
        Profile::new(filters, scorers)
    }

    /// The filters, in the order they run.
    pub fn filters(&self) -> &[BoxedFilter] {
        &self.filters
    }

    /// The scorers with their weights.
    pub fn scorers(&self) -> &[WeightedScore] {
        &self.scorers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::state::CellState;
    use crate::cell::MachineId;
    use crate::sched::class_key::{ClassKeyBuilder, Signed};
    use crate::sched::plugin::{Plugin, TaskView};

    struct Flat;

    impl Plugin for Flat {
        fn name(&self) -> &'static str {
            "flat"
        }
        fn sign(&self, _: &TaskView, _: &mut ClassKeyBuilder) -> Signed {
            Signed::Shareable
        }
    }

    impl Score for Flat {
        fn score(&self, _: &CellState, _: &TaskView, _: MachineId) -> u64 {
            MAX_SCORE
        }
    }

    #[test]
    fn the_policies_weights_fit() {
        // gpu_packing's are the largest: (10001² + 10001 + 1) × 10000
        // = 1,000,300,030,000 < u64::MAX.
        for &policy in Policy::ALL {
            let p = Profile::for_policy(policy);
            assert_eq!(p.filters().len(), 3);
        }
        let max = u64::MAX / MAX_SCORE;
        // The largest weight that fits: ⌊(2⁶⁴ − 1) / 10000⌋ × 10000 ≤ u64::MAX.
        let p = Profile::new(vec![], vec![(Box::new(Flat), max)]);
        assert_eq!(p.scorers()[0].1, max);
    }

    #[test]
    #[should_panic(
        expected = "profile weights overflow: Σ weight × MAX_SCORE exceeds u64 for scorers [flat × 1844674407370955, flat × 1]"
    )]
    fn weights_that_could_overflow_are_refused() {
        // ⌊(2⁶⁴ − 1) / 10000⌋ = 1,844,674,407,370,955; × 10000 fits, but
        // with one more scorer of weight 1 the sum exceeds u64::MAX by
        // 10000 − 1615 (2⁶⁴ − 1 mod 10000 = 1615).
        let max = u64::MAX / MAX_SCORE;
        let _ = Profile::new(vec![], vec![(Box::new(Flat), max), (Box::new(Flat), 1)]);
    }
}
