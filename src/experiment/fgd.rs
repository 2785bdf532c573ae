//! The FGD paper's experiment as one command (`borgsim experiment fgd`):
//! a one-by-one replay of openb pod lists under each policy and seed,
//! with the paper's metric at every arrived % of GPU demand, mean ± sd
//! over seeds, beside the published figures (`fgd_published.rs`).
//!
//! Unlike the capacity experiments (`mod.rs`) nothing is compacted: each
//! run is one whole simulation of the scenario — its cell, its protocol —
//! with the scenario's last trace file replaced by a pod list, its policy
//! and its seed set. Runs go in parallel on a rayon pool
//! ([`crate::compact::trials::run`]) and are collected in a fixed order
//! (policy, then pod list, then seed), so every output is the same
//! whatever the thread count.
//!
//! The published figures stand beside a result only where they are of the
//! same experiment: the paper's cell, inflated to 130 %
//! ([`super::fgd_published::not_comparable`]); elsewhere the result says
//! why they are left out (`published_withheld`).
//!
//! A replay is read as it runs, so its size is not known beforehand: the
//! run-size guards ([`Guards`], `--max-events` and `--max-attempts`) are
//! applied to each replay as it runs, which stops with an error once past
//! either.

use super::fgd_published::{not_comparable, published, CellTotals, Published};
use crate::error::Error;
use crate::metrics::gpu_paper::{round2, PaperPoint};
use crate::scenario::Scenario;
use crate::sched::Policy;
use serde::Serialize;
use std::path::PathBuf;

/// One pod list: its name in the outputs, and the file replacing the
/// scenario's last trace file (relative to the scenario, or absolute).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodList {
    pub name: String,
    pub file: PathBuf,
}

/// What to run: every policy × pod list × seed.
#[derive(Clone, Debug)]
pub struct Options {
    pub traces: Vec<PodList>,
    pub seeds: Vec<u64>,
    pub policies: Vec<Policy>,
    pub threads: usize,
    pub guards: Guards,
}

/// The most one replay may do: past either, it stops with an error.
#[derive(Clone, Copy, Debug)]
pub struct Guards {
    /// Events processed (`--max-events`).
    pub events: u64,
    /// Tasks the scheduler tries to place (`--max-attempts`).
    pub attempts: u64,
}

impl Guards {
    /// No limit.
    pub const NONE: Guards = Guards {
        events: u64::MAX,
        attempts: u64::MAX,
    };
}

/// One run's figures: the paper's at each arrived % of the grid
/// (`None` where no arrival was within 1 % of it).
#[derive(Clone, Debug, Serialize)]
pub struct RunFigures {
    pub policy: Policy,
    pub trace: String,
    pub seed: u64,
    pub tasks_arrived: u64,
    pub tasks_dropped: u64,
    /// borgsim's own reading at 100 %: when the demand first reached it.
    pub gpu_alloc_pct_first_at_100: Option<f64>,
    pub gpu_alloc_pct: Vec<Option<f64>>,
    pub frag_amount_pct: Vec<Option<f64>>,
    pub frag_ratio_pct: Vec<Option<f64>>,
}

/// Mean and sample sd (n − 1) over the seeds with a value, 2 decimals;
/// sd `None` with fewer than two.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub sd: Option<f64>,
    pub runs: usize,
}

/// One row of the table: a policy on a pod list at one arrived %.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub policy: Policy,
    pub trace: String,
    pub demand_pct: u32,
    pub gpu_alloc_pct: Option<Stat>,
    pub frag_amount_pct: Option<Stat>,
    pub frag_ratio_pct: Option<Stat>,
    /// The published mean (and sd at 100 %) where the paper has one.
    pub published_gpu_alloc_pct_mean: Option<f64>,
    pub published_gpu_alloc_pct_sd: Option<f64>,
}

/// The experiment's result (`fgd.json`).
#[derive(Clone, Debug, Serialize)]
pub struct FgdResult {
    pub scenario: String,
    pub policies: Vec<Policy>,
    pub traces: Vec<String>,
    pub seeds: Vec<u64>,
    /// The arrived % of the grid: 0 ..= the scenario's target demand.
    pub demand_pct: Vec<u32>,
    /// Why the published figures are left out (the cell or the inflation
    /// is not the paper's); `None` when they are shown.
    pub published_withheld: Option<String>,
    pub table: Vec<Row>,
    pub runs: Vec<RunFigures>,
    pub events_processed: u64,
}

/// How far the experiment has got.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub runs_done: u32,
    pub runs: u32,
}

/// The scenario of one run: `base` with the pod list, policy and seed.
///
/// # Errors
/// A scenario without a one-by-one trace replay.
pub fn run_scenario(
    base: &Scenario,
    list: &PodList,
    policy: Policy,
    seed: u64,
) -> Result<Scenario, Error> {
    let mut sc = base.clone();
    let bad = |message: &str| Error::Invalid {
        path: base.origin.clone(),
        key: "trace.files".into(),
        message: message.into(),
    };
    let tc = sc
        .trace
        .as_mut()
        .ok_or_else(|| bad("the FGD experiment replays pod lists: the scenario needs a [trace]"))?;
    if tc.arrivals != crate::scenario::ArrivalOrder::OneByOne {
        return Err(bad(
            "the FGD experiment needs the paper's protocol: arrivals = \"one_by_one\"",
        ));
    }
    match tc.files.last_mut() {
        Some(f) => f.clone_from(&list.file),
        None => return Err(bad("no trace file to replace with the pod list")),
    }
    sc.scheduler.policy = policy;
    sc.seed = seed;
    Ok(sc)
}

/// The arrived % of the grid: 0 ..= the target demand (130 by default).
fn grid(base: &Scenario) -> Vec<u32> {
    let top = base
        .trace
        .as_ref()
        .and_then(|t| t.inflate_gpu_demand_pct)
        .unwrap_or(130);
    (0..=top).collect()
}

/// Runs `sim` to its end, or to an error once past `guards`.
fn run_guarded(
    sim: &mut crate::sim::Simulation,
    guards: Guards,
    origin: &std::path::Path,
    what: &str,
) -> Result<(), Error> {
    let over = |key: &str, n: u64, of: &str| Error::Invalid {
        path: origin.to_path_buf(),
        key: key.into(),
        message: format!(
            "the replay of {what} went past the limit of {n} {of} (a replay's size is known \
             only as it runs, so the limit is applied to each); raise it with {key}"
        ),
    };
    while sim.step() {
        if sim.events_processed() > guards.events {
            return Err(over("--max-events", guards.events, "events"));
        }
        if sim.scheduler().stats().tasks_attempted > guards.attempts {
            return Err(over(
                "--max-attempts",
                guards.attempts,
                "attempts to place a task",
            ));
        }
    }
    sim.take_error()
}

/// Runs one (policy, pod list, seed) to its end.
fn run_one(
    base: &Scenario,
    (policy, list, seed): (Policy, &PodList, u64),
    grid: &[u32],
    guards: Guards,
) -> Result<(RunFigures, u64), Error> {
    let sc = run_scenario(base, list, policy, seed)?;
    let mut sim = crate::build_simulation(&sc, false)?;
    let what = format!("{} under {}, seed {seed}", list.name, policy.name());
    run_guarded(&mut sim, guards, &base.origin, &what)?;
    let curve = sim.gpu_curve();
    let at: Vec<Option<PaperPoint>> = grid.iter().map(|&x| curve.paper().at(x)).collect();
    let pick = |f: fn(&PaperPoint) -> f64| at.iter().map(|p| p.as_ref().map(f)).collect();
    let l = sim.state().ledger();
    let r = RunFigures {
        policy,
        trace: list.name.clone(),
        seed,
        tasks_arrived: l.tasks_submitted,
        tasks_dropped: l.tasks_dropped,
        gpu_alloc_pct_first_at_100: curve.marks().get(&100).copied(),
        gpu_alloc_pct: pick(|p| p.gpu_alloc_pct),
        frag_amount_pct: pick(|p| p.frag_amount_pct),
        frag_ratio_pct: pick(|p| p.frag_ratio_pct),
    };
    Ok((r, sim.events_processed()))
}

/// Why the published figures do not apply to `base` (see
/// [`not_comparable`]): its whole cell and its inflation.
///
/// # Errors
/// The scenario's node list cannot be read.
pub fn published_withheld(base: &Scenario) -> Result<Option<String>, Error> {
    let cell = crate::whole_cell(base)?;
    let inflate = base.trace.as_ref().and_then(|t| t.inflate_gpu_demand_pct);
    Ok(not_comparable(CellTotals::of(&cell), inflate))
}

/// Runs the experiment: every policy × pod list × seed of `o` on `base`.
///
/// # Errors
/// The node list cannot be read; a run's scenario or simulation error (the
/// first in run order), or a replay past `o.guards`.
pub fn run(
    base: &Scenario,
    o: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<FgdResult, Error> {
    let withheld = published_withheld(base)?;
    let grid = grid(base);
    let mut plan = Vec::new();
    for &p in &o.policies {
        for list in &o.traces {
            for &s in &o.seeds {
                plan.push((p, list, s));
            }
        }
    }
    let n = u32::try_from(plan.len()).map_err(|_| Error::Internal("too many runs".into()))?;
    let tell = |t: crate::compact::trials::Progress| {
        progress(Progress {
            runs_done: t.trials_done,
            runs: t.trials,
        });
    };
    let done = crate::compact::trials::run("experiment", o.threads, n, &tell, &|i, _| {
        run_one(base, plan[i as usize], &grid, o.guards)
    })?;
    let events_processed = done.iter().map(|(_, e)| e).sum();
    let runs: Vec<RunFigures> = done.into_iter().map(|(r, _)| r).collect();
    Ok(FgdResult {
        scenario: base.name.clone(),
        policies: o.policies.clone(),
        traces: o.traces.iter().map(|t| t.name.clone()).collect(),
        seeds: o.seeds.clone(),
        table: table(&runs, &grid, withheld.is_none()),
        published_withheld: withheld,
        demand_pct: grid,
        runs,
        events_processed,
    })
}

/// Mean and sample sd of `xs`, each rounded to 2 decimals; `None` if empty.
pub fn stat(xs: &[f64]) -> Option<Stat> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| {
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        round2((ss / (n - 1.0)).sqrt())
    });
    Some(Stat {
        mean: round2(mean),
        sd,
        runs: xs.len(),
    })
}

/// The rows: per policy, per pod list, per arrived %, over the seeds; the
/// published figures beside when `comparable`.
fn table(runs: &[RunFigures], grid: &[u32], comparable: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let (policy, trace) = (runs[i].policy, &runs[i].trace);
        let j = i + runs[i..]
            .iter()
            .take_while(|r| r.policy == policy && r.trace == *trace)
            .count();
        let group = &runs[i..j];
        let paper = published(trace, policy).filter(|_| comparable);
        for (k, &x) in grid.iter().enumerate() {
            let of = |f: fn(&RunFigures) -> &Vec<Option<f64>>| -> Option<Stat> {
                let xs: Vec<f64> = group.iter().filter_map(|r| f(r)[k]).collect();
                stat(&xs)
            };
            let (mean, sd) = published_at(paper, x);
            rows.push(Row {
                policy,
                trace: trace.clone(),
                demand_pct: x,
                gpu_alloc_pct: of(|r| &r.gpu_alloc_pct),
                frag_amount_pct: of(|r| &r.frag_amount_pct),
                frag_ratio_pct: of(|r| &r.frag_ratio_pct),
                published_gpu_alloc_pct_mean: mean,
                published_gpu_alloc_pct_sd: sd,
            });
        }
        i = j;
    }
    rows
}

/// The published mean (and sd) at `x`: the paper gives 100 % and 130 %.
fn published_at(p: Option<Published>, x: u32) -> (Option<f64>, Option<f64>) {
    match (p, x) {
        (Some(p), 100) => (Some(p.at_100_mean), Some(p.at_100_sd)),
        (Some(p), 130) => (Some(p.at_130_mean), None),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd_over_seeds() {
        // 90, 92, 94: mean 92; Σ (x − 92)² = 8, / (3 − 1) = 4: sd 2.
        let s = stat(&[90.0, 92.0, 94.0]).unwrap();
        assert_eq!((s.mean, s.sd, s.runs), (92.0, Some(2.0), 3));
        // One seed: no sd. None: no figure.
        assert_eq!(stat(&[91.5]).unwrap().sd, None);
        assert_eq!(stat(&[]), None);
        // 95.21, 95.24: mean 95.225 (95.22499… in binary) → 95.22;
        // sd √(2 × 0.015² / 1) = 0.0212… → 0.02.
        let s = stat(&[95.21, 95.24]).unwrap();
        assert_eq!((s.mean, s.sd), (95.22, Some(0.02)));
    }
}
