//! The FGD paper's published figures (Weng et al., "Beware of
//! Fragmentation", USENIX ATC 2023; its simulator's
//! `experiments/analysis/expected_results/`): GPU allocation at arrived
//! GPU demand = 100 % (mean ± sd over seeds 42–51) and at 130 % (mean),
//! per pod list and policy, on the 1,213-node GPU list with the workload
//! inflated to 130 %. Kept apart so `experiment fgd` can print them
//! beside its own.

use crate::sched::Policy;

/// One published cell: allocated share of GPU capacity, %.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Published {
    pub at_100_mean: f64,
    pub at_100_sd: f64,
    pub at_130_mean: f64,
}

/// The paper's six policies in its column order.
pub const POLICIES: [Policy; 6] = [
    Policy::Random,
    Policy::DotProduct,
    Policy::GpuClustering,
    Policy::GpuPacking,
    Policy::GpuBestFit,
    Policy::Fgd,
];

/// The paper's five pod lists (`openb_pod_list_<name>.csv`).
pub const TRACES: [&str; 5] = ["default", "cpu100", "gpushare60", "multigpu30", "gpuspec20"];

/// Per trace (in [`TRACES`] order), per policy (in [`POLICIES`] order):
/// (mean at 100, sd at 100, mean at 130).
const TABLE: [[(f64, f64, f64); 6]; 5] = [
    [
        (86.30, 0.33, 87.47),
        (90.62, 0.19, 90.85),
        (91.65, 0.61, 91.88),
        (91.78, 0.53, 92.00),
        (92.86, 0.14, 93.08),
        (95.23, 0.11, 95.39),
    ],
    [
        (87.44, 0.28, 89.11),
        (91.73, 0.27, 91.95),
        (92.42, 0.40, 92.64),
        (92.50, 0.42, 92.72),
        (93.26, 0.13, 93.44),
        (95.21, 0.14, 95.35),
    ],
    [
        (82.81, 0.35, 83.65),
        (86.82, 0.28, 87.11),
        (86.90, 0.41, 87.20),
        (87.15, 0.37, 87.45),
        (89.06, 0.18, 89.36),
        (91.25, 0.13, 91.40),
    ],
    [
        (86.63, 0.47, 89.27),
        (93.11, 0.31, 93.28),
        (94.55, 0.32, 94.72),
        (94.70, 0.32, 94.87),
        (94.57, 0.24, 94.72),
        (96.36, 0.10, 96.46),
    ],
    [
        (85.90, 0.35, 87.24),
        (88.29, 0.17, 89.97),
        (89.11, 0.21, 92.25),
        (89.28, 0.25, 92.94),
        (88.46, 0.12, 93.30),
        (94.66, 0.13, 94.84),
    ],
];

/// The published figures of `policy` on the pod list `trace`, if the
/// paper has them (its six policies, its five lists).
pub fn published(trace: &str, policy: Policy) -> Option<Published> {
    let t = TRACES.iter().position(|&n| n == trace)?;
    let p = POLICIES.iter().position(|&q| q == policy)?;
    let (at_100_mean, at_100_sd, at_130_mean) = TABLE[t][p];
    Some(Published {
        at_100_mean,
        at_100_sd,
        at_130_mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_found_by_trace_and_policy() {
        // FGD.md: gpushare60, BestFit: 89.06 ± 0.18, 89.36 at 130 %.
        let p = published("gpushare60", Policy::GpuBestFit).unwrap();
        assert_eq!(
            (p.at_100_mean, p.at_100_sd, p.at_130_mean),
            (89.06, 0.18, 89.36)
        );
        assert_eq!(published("default", Policy::BestFit), None);
        assert_eq!(published("mine", Policy::Fgd), None);
    }
}
