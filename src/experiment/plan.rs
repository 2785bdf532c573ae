//! Which cells each experiment compacts: its variants, each a list of
//! (policy, workload edit) cells, the baseline first; and the requests an
//! edited workload sums to (what bucketing costs in resources, computed
//! from the jobs the simulation would submit, not from a run).

use super::{keep_label, keeping, Experiment, Options};
use crate::compact::Demand;
use crate::scenario::reclamation::ReclamationMode;
use crate::scenario::{ReclamationConfig, Scenario};
use crate::sched::Policy;
use crate::workload::edit::{Keep, RoundUp, WorkloadEdit};

/// One cell of a variant: the scenario compacted under `policy` with its
/// workload edited by `edit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellPlan {
    pub label: String,
    pub policy: Policy,
    pub edit: WorkloadEdit,
    /// The reclamation mode the cell is compacted under, replacing the
    /// scenario's (`None`: the scenario's own).
    pub reclamation: Option<ReclamationMode>,
}

/// One variant: its name, whether it is the baseline, its policy (every
/// cell's), and its cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantPlan {
    pub name: String,
    pub baseline: bool,
    pub policy: Policy,
    pub cells: Vec<CellPlan>,
}

impl VariantPlan {
    fn new(name: impl Into<String>, policy: Policy, cells: &[(Keep, Option<RoundUp>)]) -> Self {
        VariantPlan {
            name: name.into(),
            baseline: false,
            policy,
            cells: cells
                .iter()
                .map(|&(keep, round_up)| CellPlan {
                    label: keep_label(keep),
                    policy,
                    edit: WorkloadEdit {
                        round_up,
                        ..keeping(keep)
                    },
                    reclamation: None,
                })
                .collect(),
        }
    }
}

/// The variants of `o.experiment` on `sc`, the baseline first.
pub fn variants(sc: &Scenario, o: &Options) -> Vec<VariantPlan> {
    let p = sc.scheduler.policy;
    let whole = [(Keep::All, None)];
    let mut v = match o.experiment {
        Experiment::Segregation => vec![
            VariantPlan::new("shared", p, &whole),
            VariantPlan::new(
                "segregated",
                p,
                &[(Keep::Prod, None), (Keep::NonProd, None)],
            ),
        ],
        Experiment::Subcells => std::iter::once(VariantPlan::new("1 cell", p, &whole))
            .chain(o.parts.iter().map(|&k| {
                let cells: Vec<_> = (0..k)
                    .map(|index| (Keep::Part { parts: k, index }, None))
                    .collect();
                VariantPlan::new(format!("{k} sub-cells"), p, &cells)
            }))
            .collect(),
        Experiment::Bucketing => vec![
            VariantPlan::new("original", p, &whole),
            VariantPlan::new("rounded up", p, &[(Keep::All, Some(RoundUp::BORG))]),
        ],
        Experiment::Policies => policy_order(&o.policies)
            .into_iter()
            .map(|q| VariantPlan::new(q.name(), q, &whole))
            .collect(),
        Experiment::Reclamation => [
            ("off", ReclamationMode::Measure),
            ("on", ReclamationMode::On),
        ]
        .into_iter()
        .map(|(name, mode)| {
            let mut v = VariantPlan::new(name, p, &whole);
            v.cells[0].reclamation = Some(mode);
            v
        })
        .collect(),
    };
    if let Some(first) = v.first_mut() {
        first.baseline = true;
    }
    v
}

/// `sc` with its reclamation mode set to `mode` (its `[reclamation]`
/// table's other keys kept, or the defaults when it has none); `sc` as
/// it is for `None`. `reclamation`'s baseline, "off", is compacted under
/// `measure`: decisions are those of scheduling by limits (no pass, no
/// placement differs), and the usage books give its cells' utilisation.
pub fn with_reclamation(mut sc: Scenario, mode: Option<ReclamationMode>) -> Scenario {
    if let Some(mode) = mode {
        let mut r = sc.reclamation.take().unwrap_or_default();
        r.mode = mode;
        sc.reclamation = Some(ReclamationConfig { mode, ..r });
    }
    sc
}

/// The policies in the order compared: best fit, the baseline the paper
/// measures against, first — added when not listed — then the others as
/// given.
fn policy_order(ps: &[Policy]) -> Vec<Policy> {
    let mut out = vec![Policy::BestFit];
    for &q in ps {
        if !out.contains(&q) {
            out.push(q);
        }
    }
    out
}

/// The requests of every task the scenario's synthetic workload, edited
/// by `edit`, submits: milli-cores, MiB and GPU milli-shares, summed.
pub fn requested(sc: &Scenario, edit: WorkloadEdit) -> Demand {
    let (_, classes) = sc.build();
    let mut src = crate::synthetic_source(sc, classes, edit);
    let mut d = Demand {
        cpu_milli: 0,
        mem_mib: 0,
        gpu_milli: 0,
    };
    while let Some((_, spec)) = src.next_job() {
        let n = spec.task_count() as u64;
        d.cpu_milli += spec.request.res.cpu_milli * n;
        d.mem_mib += spec.request.res.mem_mib * n;
        d.gpu_milli += spec.request.gpu.milli() * n;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_fit_leads_the_policies_and_none_repeats() {
        let got = policy_order(&[
            Policy::WorstFit,
            Policy::Hybrid,
            Policy::BestFit,
            Policy::Hybrid,
        ]);
        assert_eq!(got, [Policy::BestFit, Policy::WorstFit, Policy::Hybrid]);
        // Without best fit listed, best fit is added as the baseline.
        assert_eq!(
            policy_order(&[Policy::Hybrid]),
            [Policy::BestFit, Policy::Hybrid]
        );
    }
}
