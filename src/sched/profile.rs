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

use super::devices::DeviceChoice;
use super::plugin::{Filter, Score, MAX_SCORE};
use super::plugins::{
    avoid_failed, best_fit, constraints, dot_product, fgd, fits, gpu_best_fit, gpu_clustering,
    gpu_keep_whole, gpu_packing, hybrid, random, spread, spreading, tie_order, worst_fit,
};
use super::typical::TypicalSlot;
use super::SchedConfig;
use crate::rng::RngStreams;
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
    /// GPU-sharing clusters, borgsim's own: least GPU fragmentation, then
    /// fewest idle GPUs left, then best fit (`plugins::gpu_keep_whole`).
    GpuKeepWhole,
    /// The six policies of Weng et al. (ATC 2023), scored as the paper's
    /// simulator does, integer scores with ties to a seeded random order
    /// of the machines (`plugins::tie_order`). Random: a uniformly random
    /// machine that fits, a random device that fits.
    Random,
    /// The paper's DotProd (Tetris): CPU and GPU demand against free.
    DotProduct,
    /// The paper's GpuClustering: GPU tasks of one type together.
    GpuClustering,
    /// The paper's GpuPacking: partly used devices, then partly used
    /// machines, then the smallest idle ones.
    GpuPacking,
    /// The paper's BestFit: least CPU and GPU left, against the largest
    /// node's size (borgsim's `best_fit` scores every dimension against
    /// each machine's own capacity).
    GpuBestFit,
    /// Fragmentation Gradient Descent: least growth of GPU fragmentation
    /// measured against the workload's typical pods, and FGD's own choice
    /// of device.
    Fgd,
}

/// Why a GPU policy is refused on a cell without GPUs: it ranks machines
/// by their GPUs first, and on such a cell every machine would tie, so a
/// run named after it would mislead.
pub(crate) fn needs_gpus_message(policy: Policy) -> String {
    format!(
        "{} ranks machines by their GPUs, and no machine of this cell has any; \
         choose another policy",
        policy.name()
    )
}

impl Policy {
    /// Every policy, in declaration order.
    pub const ALL: &'static [Policy] = <Policy as strum::VariantArray>::VARIANTS;

    /// Parses the scenario/CLI name of a policy.
    pub fn from_name(s: &str) -> Option<Policy> {
        Policy::ALL.iter().copied().find(|p| p.name() == s)
    }

    /// The scenario/CLI name: `worst_fit`, `best_fit`, `hybrid`,
    /// `gpu_keep_whole`, `random`, `dot_product`, `gpu_clustering`,
    /// `gpu_packing`, `gpu_best_fit`, `fgd`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// True for the policies that rank machines by their GPUs first, which
    /// a cell without GPUs refuses.
    pub fn needs_gpus(self) -> bool {
        matches!(
            self,
            Policy::GpuKeepWhole | Policy::GpuClustering | Policy::GpuPacking | Policy::Fgd
        )
    }

    /// True for the six policies of the FGD paper (Weng et al., ATC 2023).
    pub fn is_fgd_paper(self) -> bool {
        matches!(
            self,
            Policy::Random
                | Policy::DotProduct
                | Policy::GpuClustering
                | Policy::GpuPacking
                | Policy::GpuBestFit
                | Policy::Fgd
        )
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
    /// Which devices inside the chosen machine a task takes.
    devices: DeviceChoice,
    /// The typical pods the profile's FGD scorer and device choice read,
    /// filled in once the workload is known; `None` without FGD.
    typical: Option<TypicalSlot>,
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
        Profile {
            filters,
            scorers,
            devices: DeviceChoice::default(),
            typical: None,
        }
    }

    /// The same profile, taking the devices inside a machine as `devices`
    /// says (default: [`DeviceChoice::Fullest`]).
    pub fn with_devices(mut self, devices: DeviceChoice) -> Profile {
        if let DeviceChoice::Fragmentation(slot) = &devices {
            self.typical = Some(slot.clone());
        }
        self.devices = devices;
        self
    }

    /// The pipeline for a policy, with the random streams of seed 0 (the
    /// paper policies' tie order and draws; see [`Profile::for_seeded`]).
    pub fn for_policy(policy: Policy) -> Profile {
        Profile::for_seeded(policy, RngStreams::new(0))
    }

    /// The pipeline for a policy in a run whose random streams are
    /// `streams`. Filters run cheapest-first; the first one to reject a
    /// machine names the reason.
    pub fn for_seeded(policy: Policy, streams: RngStreams) -> Profile {
        if policy.is_fgd_paper() {
            return fgd_paper_profile(policy, streams);
        }
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
            Policy::GpuKeepWhole => vec![
                (
                    Box::new(gpu_keep_whole::GpuFragmentation),
                    (MAX_SCORE + 1) * (MAX_SCORE + 1),
                ),
                (Box::new(gpu_keep_whole::GpuIdleKept), MAX_SCORE + 1),
                (Box::new(best_fit::BestFit), 1),
            ],
            _ => unreachable!("{} is a paper policy", policy.name()),
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
        Profile::for_config_seeded(config, RngStreams::new(0))
    }

    /// [`Profile::for_config`] in a run whose random streams are `streams`.
    pub fn for_config_seeded(config: &SchedConfig, streams: RngStreams) -> Profile {
        let Profile {
            mut filters,
            mut scorers,
            devices,
            typical,
        } = Profile::for_seeded(config.policy, streams);
        if config.avoid_failed.is_some() {
            let at = filters.len() - 1; // before the resource fit
            filters.insert(at, Box::new(avoid_failed::AvoidFailed));
        }
        if let Some(weights) = config.spreading {
            let most: u64 = scorers.iter().map(|(_, w)| w * MAX_SCORE).sum();
            scorers.insert(0, (Box::new(spreading::Spreading::new(weights)), most + 1));
        }
        let mut p = Profile::new(filters, scorers).with_devices(devices);
        p.typical = typical;
        p
    }

    /// The typical pods this profile's FGD parts read, to be filled in
    /// once the workload is known; `None` if it has none.
    pub fn typical_slot(&self) -> Option<&TypicalSlot> {
        self.typical.as_ref()
    }

    /// How the profile picks the devices inside a machine.
    pub fn devices(&self) -> &DeviceChoice {
        &self.devices
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

/// The profile of one of the FGD paper's six policies: its integer score
/// (0..=100; Random's draw 0..=`MAX_SCORE`), then the seeded random tie
/// order as two digits (see `plugins::tie_order`), lexicographically.
fn fgd_paper_profile(policy: Policy, streams: RngStreams) -> Profile {
    let filters: Vec<BoxedFilter> = vec![
        Box::new(constraints::AttributeConstraints),
        Box::new(spread::SpreadLimits),
        Box::new(fits::ResourceFit),
    ];
    let mut devices = DeviceChoice::Fullest;
    let score: Box<dyn Score + Send + Sync> = match policy {
        Policy::Random => {
            devices = DeviceChoice::Random(streams);
            Box::new(random::Random { streams })
        }
        Policy::DotProduct => Box::new(dot_product::DotProduct),
        Policy::GpuClustering => Box::new(gpu_clustering::GpuClustering),
        Policy::GpuPacking => Box::new(gpu_packing::GpuPacking),
        Policy::GpuBestFit => Box::new(gpu_best_fit::GpuBestFit),
        Policy::Fgd => {
            let slot = TypicalSlot::default();
            devices = DeviceChoice::Fragmentation(slot.clone());
            Box::new(fgd::Fgd::new(slot))
        }
        _ => unreachable!("{} is not a paper policy", policy.name()),
    };
    let base = MAX_SCORE + 1;
    let tie = |high| Box::new(tie_order::TieOrder { streams, high });
    let scorers: Vec<WeightedScore> =
        vec![(score, base * base), (tie(true), base), (tie(false), 1)];
    Profile::new(filters, scorers).with_devices(devices)
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
