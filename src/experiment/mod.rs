//! The Borg paper's capacity experiments (§5.1), each answered with cell
//! compaction: what would a cell need if its workload were segregated
//! (prod and non-prod apart), split into sub-cells, had its requests
//! bucketed, or were placed by another policy?
//!
//! An experiment is a list of **variants**; a variant is a list of
//! **cells**, each the scenario compacted under one placement policy and
//! one workload edit ([`crate::workload::edit`]); a variant needs the sum
//! of its cells' machines (segregated: the prod cell and the non-prod
//! cell; k sub-cells: the k parts). The first variant is the baseline
//! (the shared cell, the original requests, or best fit), and every other
//! is reported as extra machines over it, in %.
//!
//! Every cell is compacted with the same seed, trials and fit rule, so its
//! trial `t` draws the same machine order as every other cell's trial `t`:
//! the trials are paired, and a variant's per-trial sums are comparable
//! trial by trial with the baseline's. Cells are compacted one after the
//! other, each on the thread pool of [`compact::Options::threads`], so the
//! result is the same whatever the thread count.

pub mod fgd;
pub mod fgd_published;
pub mod paper;
mod plan;
mod views;

use crate::compact::search::Search;
use crate::compact::{self, rank, CompactError, Compaction, Demand};
use crate::error::Error;
use crate::metrics::round6;
use crate::scenario::Scenario;
use crate::sched::Policy;
use crate::workload::edit::{Keep, WorkloadEdit};
use paper::PaperFigure;
pub use plan::{CellPlan, VariantPlan};
use serde::Serialize;

/// A capacity experiment.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    /// Prod and non-prod in separate cells vs one shared cell.
    Segregation,
    /// The workload split at random into 2, 5, 10 sub-cells vs one cell.
    Subcells,
    /// Requests rounded up to powers of two (from 0.5 core and 1 GiB) vs
    /// the original requests.
    Bucketing,
    /// Placement policies vs best fit, with the other three views of
    /// packing beside compaction.
    Policies,
    /// Reclamation on (non-prod admitted against reservations) vs off
    /// (every task against limits): the machines saved.
    Reclamation,
}

impl Experiment {
    pub const ALL: &'static [Experiment] = <Experiment as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            Experiment::Segregation => "segregation",
            Experiment::Subcells => "subcells",
            Experiment::Bucketing => "bucketing",
            Experiment::Policies => "policies",
            Experiment::Reclamation => "reclamation",
        }
    }

    /// Whether its variants edit the workload (so need a synthetic one).
    pub fn edits_workload(self) -> bool {
        !matches!(self, Experiment::Policies | Experiment::Reclamation)
    }
}

impl std::str::FromStr for Experiment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Experiment::ALL
            .iter()
            .copied()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown experiment {s:?}; expected one of segregation, subcells, bucketing, \
                     policies, reclamation"
                )
            })
    }
}

/// What to run beyond the scenario (its `[compaction]` gives trials,
/// percentile and the fit rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub experiment: Experiment,
    pub compact: compact::Options,
    /// `subcells`: the numbers of sub-cells (each at least 2).
    pub parts: Vec<u32>,
    /// `policies`: the policies compared (best fit, the baseline, first
    /// when listed).
    pub policies: Vec<Policy>,
}

/// `subcells`' default: Borg's 2, 5 and 10 sub-cells.
pub const DEFAULT_PARTS: [u32; 3] = [2, 5, 10];

/// What is wrong with `parts` (sub-cell counts), if anything: each must
/// be 2..=1000, none twice.
pub fn parts_problem(parts: &[u32]) -> Option<String> {
    if let Some(k) = parts.iter().find(|&&k| !(2..=1000).contains(&k)) {
        return Some(format!("{k} sub-cells: expected numbers from 2 to 1000"));
    }
    first_repeat(parts).map(|k| format!("{k} is listed twice"))
}

/// What is wrong with `policies` (compared), if anything: none twice.
pub fn policies_problem(policies: &[Policy]) -> Option<String> {
    first_repeat(policies).map(|p| format!("{} is listed twice", p.name()))
}

/// The first value listed a second time, if any.
fn first_repeat<T: PartialEq + Copy>(xs: &[T]) -> Option<T> {
    xs.iter()
        .enumerate()
        .find(|(i, x)| xs[..*i].contains(x))
        .map(|(_, x)| *x)
}

/// Every Borg-style policy that applies to `cell`: `gpu_keep_whole` only on
/// a cell with GPUs (`policies`' default; the FGD paper's six are asked
/// for by name).
pub fn default_policies(cell: &crate::cell::Cell) -> Vec<Policy> {
    let gpus = cell.machines.iter().any(|m| m.capacity.gpus > 0);
    Policy::ALL
        .iter()
        .copied()
        .filter(|&p| !p.is_fgd_paper() && (gpus || !p.needs_gpus()))
        .collect()
}

/// How far an experiment has got: cells compacted of all.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub cells_done: usize,
    pub cells: usize,
    /// The cell being compacted's own progress.
    pub compaction: compact::Progress,
}

/// `experiment.json`.
#[derive(Debug, Serialize)]
pub struct ExperimentResult {
    pub experiment: Experiment,
    pub scenario: String,
    pub seed: u64,
    /// The scenario's policy (every variant's but `policies`').
    pub policy: &'static str,
    pub preemption: bool,
    pub search: Search,
    pub trials: u32,
    pub percentile: u32,
    /// The baseline variant's name.
    pub baseline: String,
    pub paper: PaperFigure,
    /// Why the figures may differ from the paper's.
    pub caveats: &'static str,
    pub variants: Vec<Variant>,
    /// The baseline's compaction, whole (its page section).
    #[serde(skip)]
    pub baseline_compaction: Option<Compaction>,
    /// Events all compactions and runs processed (for `run.json`).
    #[serde(skip)]
    pub events_processed: u64,
}

/// One variant: its cells and what they need together.
#[derive(Debug, Serialize)]
pub struct Variant {
    pub name: String,
    pub baseline: bool,
    pub policy: &'static str,
    pub cells: Vec<CellResult>,
    /// The sum of the cells' answers (each its percentile): machines the
    /// variant needs, each cell provisioned on its own.
    pub machines: u32,
    /// `machines` over the baseline's, as extra in %.
    pub extra_pct: f64,
    /// Per trial, the sum of the cells' answers in that trial (paired:
    /// the same machine order in every cell).
    pub per_trial_machines: Vec<u32>,
    /// The percentile of `per_trial_machines`, by nearest rank.
    pub paired_machines: u32,
    /// Per trial, its sum over the baseline's in that trial, extra in %.
    pub per_trial_extra_pct: Vec<f64>,
    /// The median of `per_trial_extra_pct` (nearest rank).
    pub median_trial_extra_pct: f64,
    /// Requests summed over every task the cells' workloads submit
    /// (`None` for a trace replay, which is not read ahead).
    pub requested: Option<Demand>,
    pub requested_extra_cpu_pct: Option<f64>,
    pub requested_extra_mem_pct: Option<f64>,
    /// `policies`: the other views of packing, from one run on the whole
    /// cell and a vertical inflation of it.
    pub views: Option<Views>,
}

/// One cell of a variant: one compaction.
#[derive(Debug, Serialize)]
pub struct CellResult {
    /// `whole`, `prod`, `non_prod`, `part 2 of 5`.
    pub cell: String,
    pub policy: &'static str,
    /// Requests rounded up from this base (milli-cores, MiB), if they are.
    pub round_up: Option<Demand>,
    pub submitted_tasks: u64,
    /// Its compaction's percentile answer; 0 for a cell with no tasks
    /// (no cell is needed).
    pub answer_machines: u32,
    pub min_machines: u32,
    pub median_machines: u32,
    pub max_machines: u32,
    pub per_trial_machines: Vec<u32>,
    /// Unplaced on the whole cell (at most the picky share).
    pub whole_cell_unplaced_tasks: u64,
    pub contradictions: usize,
    /// With usage tracked (`reclamation`): the out-of-memory kills,
    /// throttled CPU and usage over capacity of the probe that gave the
    /// answer (its trial's fitting probe of that many machines, or the
    /// whole cell's run); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<compact::fit::UsageFigures>,
}

/// Aggregate utilisation, stranded resources and hole filling at the end
/// of one run on the whole cell (`summary.json`'s figures).
#[derive(Debug, Serialize)]
pub struct Views {
    pub cpu_utilization: f64,
    pub mem_utilization: f64,
    pub stranded_cpu_share: Option<f64>,
    pub stranded_mem_share: Option<f64>,
    pub holes_units_free: Option<u64>,
    pub holes_free_share: Option<f64>,
    /// The hole unit, as judged (milli-cores, MiB).
    pub hole_unit: Option<Demand>,
    /// Workload inflation, vertical (every request grown until the
    /// workload no longer fits the whole cell; `borgsim inflate --mode
    /// vertical`): the largest growth that fits, per mille. `None` for a
    /// trace replay, which is not inflated.
    pub inflation_vertical_permille: Option<u32>,
}

/// A one-by-one replay cannot be split or edited: it draws arrivals up to
/// a demand target whatever the pods it draws from.
fn refuse_one_by_one(sc: &Scenario, e: Experiment) -> Result<(), CompactError> {
    let one_by_one = sc
        .trace
        .as_ref()
        .is_some_and(|t| t.arrivals == crate::scenario::ArrivalOrder::OneByOne);
    if e.edits_workload() && one_by_one {
        return Err(CompactError::Run(Error::Invalid {
            path: std::path::PathBuf::from(&sc.name),
            key: "trace.arrivals".into(),
            message: format!(
                "the {} experiment splits or edits the workload, and a one-by-one replay \
                 draws arrivals until a demand target whatever the pods it draws from: \
                 replay the pods at their own times (arrivals = \"trace\") to split them",
                e.name()
            ),
        }));
    }
    Ok(())
}

/// Runs experiment `o.experiment` on `sc` (see the module doc).
///
/// # Errors
/// [`CompactError::Run`] for an edit on a one-by-one replay or a failed probe;
/// [`CompactError::DoesNotFit`] when a cell's workload does not fit the
/// whole cell.
pub fn run(
    sc: &Scenario,
    o: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ExperimentResult, CompactError> {
    let plans = plan::variants(sc, o);
    refuse_one_by_one(sc, o.experiment)?;
    let cells = plans.iter().map(|v| v.cells.len()).sum();
    let mut done = 0;
    let mut events = 0;
    let mut baseline_compaction = None;
    let mut variants = Vec::new();
    for v in &plans {
        let mut results = Vec::new();
        for c in &v.cells {
            let sc_c = plan::with_reclamation(with_policy(sc, c.policy), c.reclamation);
            let tell = |p: compact::Progress| {
                progress(Progress {
                    cells_done: done,
                    cells,
                    compaction: p,
                });
            };
            let k = compact::compact_edited(&sc_c, &o.compact, c.edit, &tell)
                .map_err(|e| in_cell(v, c, e))?;
            events += k.events_processed;
            done += 1;
            results.push(cell_result(c, &k));
            if variants.is_empty() && baseline_compaction.is_none() {
                baseline_compaction = Some(k);
            }
        }
        let views = match o.experiment {
            Experiment::Policies => Some(views::views(
                &with_policy(sc, v.policy),
                o.compact.threads,
                &mut events,
            )?),
            _ => None,
        };
        variants.push(variant(sc, v, results, views));
    }
    relate(&mut variants, sc.compaction.unwrap_or_default().percentile);
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let cfg = sc.compaction.unwrap_or_default();
    Ok(ExperimentResult {
        experiment: o.experiment,
        scenario: sc.name.clone(),
        seed: sc.seed,
        policy: sc.scheduler.policy.name(),
        preemption: sc.scheduler.preemption,
        search: o.compact.search,
        trials: cfg.trials,
        percentile: cfg.percentile,
        baseline: names[0].clone(),
        paper: paper::figure(o.experiment, &names),
        caveats: paper::caveats(o.experiment),
        variants,
        baseline_compaction,
        events_processed: events,
    })
}

/// A cell's workload that does not fit the whole cell, named: which
/// variant, which cell (the caller words the rest for its user).
fn in_cell(v: &VariantPlan, c: &CellPlan, e: CompactError) -> CompactError {
    match e {
        CompactError::DoesNotFit(mut no) => {
            no.within = Some(format!(
                "variant {:?}, cell {:?} ({} policy)",
                v.name,
                c.label,
                c.policy.name()
            ));
            CompactError::DoesNotFit(no)
        }
        e => e,
    }
}

fn with_policy(sc: &Scenario, p: Policy) -> Scenario {
    let mut s = sc.clone();
    s.scheduler.policy = p;
    s
}

/// A cell's key figures from its compaction.
fn cell_result(c: &CellPlan, k: &Compaction) -> CellResult {
    let empty = k.whole_cell.verdict.submitted_tasks == 0;
    let zero_if_empty = |m: u32| if empty { 0 } else { m };
    CellResult {
        cell: c.label.clone(),
        policy: c.policy.name(),
        round_up: c.edit.round_up.map(|r| Demand {
            cpu_milli: r.cpu_milli,
            mem_mib: r.mem_mib,
            gpu_milli: 0,
        }),
        submitted_tasks: k.whole_cell.verdict.submitted_tasks,
        answer_machines: zero_if_empty(k.answer.machines),
        min_machines: zero_if_empty(k.min_machines),
        median_machines: zero_if_empty(k.median_machines),
        max_machines: zero_if_empty(k.max_machines),
        per_trial_machines: k
            .per_trial
            .iter()
            .map(|t| zero_if_empty(t.answer_machines))
            .collect(),
        whole_cell_unplaced_tasks: k.whole_cell.verdict.unplaced_tasks,
        contradictions: k.contradictions,
        usage: answer_usage(k),
    }
}

/// The usage figures of the probe that gave `k`'s answer: in the answer's
/// trial, the fitting probe of that many machines, or the whole cell's run
/// when the answer is the whole cell (never probed again).
fn answer_usage(k: &Compaction) -> Option<compact::fit::UsageFigures> {
    let trial = k.per_trial.iter().find(|t| t.trial == k.answer.trial)?;
    trial
        .probes
        .iter()
        .find(|p| p.fits && p.machines == k.answer.machines)
        .map_or(k.whole_cell.verdict.usage.as_ref(), |p| p.usage.as_ref())
        .cloned()
}

/// A variant from its cells; the figures relative to the baseline are
/// filled in by [`relate`].
fn variant(
    sc: &Scenario,
    v: &VariantPlan,
    cells: Vec<CellResult>,
    views: Option<Views>,
) -> Variant {
    let trials = cells.first().map_or(0, |c| c.per_trial_machines.len());
    let per_trial: Vec<u32> = (0..trials)
        .map(|t| cells.iter().map(|c| c.per_trial_machines[t]).sum())
        .collect();
    let requested = sc.trace.is_none().then(|| {
        v.cells.iter().fold(
            Demand {
                cpu_milli: 0,
                mem_mib: 0,
                gpu_milli: 0,
            },
            |a, c| {
                let r = plan::requested(sc, c.edit);
                Demand {
                    cpu_milli: a.cpu_milli + r.cpu_milli,
                    mem_mib: a.mem_mib + r.mem_mib,
                    gpu_milli: a.gpu_milli + r.gpu_milli,
                }
            },
        )
    });
    Variant {
        name: v.name.clone(),
        baseline: v.baseline,
        policy: v.policy.name(),
        machines: cells.iter().map(|c| c.answer_machines).sum(),
        cells,
        extra_pct: 0.0,
        per_trial_machines: per_trial,
        paired_machines: 0,
        per_trial_extra_pct: Vec::new(),
        median_trial_extra_pct: 0.0,
        requested,
        requested_extra_cpu_pct: None,
        requested_extra_mem_pct: None,
        views,
    }
}

/// `a` over `b` as extra in %, to six decimals: (a − b) / b × 100.
pub fn extra_pct(a: u64, b: u64) -> f64 {
    round6((a as f64 - b as f64) * 100.0 / (b.max(1) as f64))
}

/// Fills in every variant's figures relative to the first (the baseline).
fn relate(variants: &mut [Variant], percentile: u32) {
    let Some(base) = variants.first() else { return };
    let machines = u64::from(base.machines);
    let per_trial: Vec<u64> = base
        .per_trial_machines
        .iter()
        .map(|&m| u64::from(m))
        .collect();
    let requested = base.requested;
    for v in variants.iter_mut() {
        v.extra_pct = extra_pct(u64::from(v.machines), machines);
        if !v.per_trial_machines.is_empty() {
            v.paired_machines = rank::percentile(&v.per_trial_machines, percentile).0;
        }
        v.per_trial_extra_pct = v
            .per_trial_machines
            .iter()
            .zip(&per_trial)
            .map(|(&m, &b)| extra_pct(u64::from(m), b))
            .collect();
        v.median_trial_extra_pct = median(&v.per_trial_extra_pct);
        if let (Some(r), Some(b)) = (v.requested, requested) {
            v.requested_extra_cpu_pct = Some(extra_pct(r.cpu_milli, b.cpu_milli));
            v.requested_extra_mem_pct = Some(extra_pct(r.mem_mib, b.mem_mib));
        }
    }
}

/// The nearest-rank median (the lower middle of an even count); 0 of none.
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[rank::nearest_rank(50, v.len()) - 1]
}

/// How a cell's edit keeps the workload, in `CellResult::cell`'s words.
fn keep_label(k: Keep) -> String {
    match k {
        Keep::All => "whole".into(),
        Keep::Prod => "prod".into(),
        Keep::NonProd => "non_prod".into(),
        Keep::Part { parts, index } => format!("part {} of {parts}", index + 1),
    }
}

/// The identity edit with `keep`.
fn keeping(keep: Keep) -> WorkloadEdit {
    WorkloadEdit {
        keep,
        ..WorkloadEdit::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_is_over_the_baseline_in_percent() {
        // 125 machines over 100: 25 % more; 97 over 100: 3 % fewer.
        assert_eq!(extra_pct(125, 100), 25.0);
        assert_eq!(extra_pct(97, 100), -3.0);
        // 2 over 3: −33.333333 %, to six decimals.
        assert_eq!(extra_pct(2, 3), -33.333333);
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        // Ranks of 4: ⌈0.5 × 4⌉ = 2nd smallest.
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn experiments_parse_by_name() {
        for e in Experiment::ALL {
            assert_eq!(e.name().parse::<Experiment>(), Ok(*e));
        }
        assert!("segregate".parse::<Experiment>().is_err());
    }
}
