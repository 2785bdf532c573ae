//! Named pipelines: which filters run, in which order, and which scorers with
//! which weights. The policy is an enum chosen in the scenario.

use super::plugin::{Filter, Score, MAX_SCORE};
use super::plugins::{best_fit, constraints, fits, gpu_packing, hybrid, spread, worst_fit};
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

/// An ordered list of filters and weighted scorers.
pub struct Profile {
    pub filters: Vec<Box<dyn Filter + Send + Sync>>,
    pub scorers: Vec<(Box<dyn Score + Send + Sync>, u64)>,
}

impl Profile {
    /// The pipeline for a policy. Filters run cheapest-first; the first one to
    /// reject a machine names the reason.
    pub fn for_policy(policy: Policy) -> Profile {
        let filters: Vec<Box<dyn Filter + Send + Sync>> = vec![
            Box::new(constraints::AttributeConstraints),
            Box::new(spread::SpreadLimits),
            Box::new(fits::ResourceFit),
        ];
        let scorers: Vec<(Box<dyn Score + Send + Sync>, u64)> = match policy {
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
        Profile { filters, scorers }
    }
}
