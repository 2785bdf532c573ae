//! Workload inflation: "how much growth can this cell take?" — the third
//! of Verma, Korupolu and Wilkes' four packing metrics ("Evaluating job
//! packing in warehouse-scale computing", IEEE CLUSTER 2014). The workload
//! is scaled up until it no longer fits the whole cell:
//!
//! - **horizontal** — more tasks: each job of n tasks gains n × ⌊f⌋ +
//!   Binomial(n, f − ⌊f⌋) copies of its own tasks (f the factor), drawn per
//!   job, per trial ([`WorkloadEdit::more_tasks_permille`], salted by
//!   [`WorkloadEdit::inflation_trial`]): Monte-Carlo sampling of the
//!   workload's own tasks. Trials differ in the draws; trial 0 draws what
//!   a plain edit of the same factor draws.
//! - **vertical** — bigger tasks: every task's CPU and memory request
//!   × (1 + f), rounded up ([`WorkloadEdit::grow_permille`]; GPUs are not
//!   grown). Nothing is drawn: every trial would give the same answer.
//!
//! A trial searches ([`search`]) for the largest factor, in per mille and a
//! multiple of the resolution, at which the inflated workload still fits
//! the whole cell by compaction's rule ([`FitRule`], from `[compaction]`):
//! doubling from one step until a factor does not fit, then bisection. The
//! uninflated workload is run once, first: one that does not fit has no
//! answer ([`InflateError::DoesNotFit`]). Trials run in parallel on a pool
//! of [`Options::threads`], each a pure function of (scenario, seed, trial
//! index), collected in trial order.
//!
//! The reported answer is a low percentile of the trials' answers (the
//! 10th by default, by nearest rank, `rank.rs`): the growth at least 90 %
//! of the draws could take. The cautious tail of "how much growth can the
//! cell take" is the small answers, as for compaction ("how many machines
//! does the workload need") it is the large ones.
//!
//! Synthetic workloads only: a trace is replayed as it is.

pub mod search;

use crate::cell::Cell;
use crate::compact::fit::{Check, FitRule, Verdict, WorkloadKind};
use crate::compact::{rank, Demand};
use crate::error::Error;
use crate::metrics::summary::Summary;
use crate::scenario::Scenario;
use crate::workload::edit::{Submitted, WorkloadEdit};
use crate::{build_simulation_with, whole_cell, workload_submitted, BuildOptions};
use serde::Serialize;

/// Which way the workload grows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// More tasks, sampled from each job's own.
    Horizontal,
    /// Bigger tasks: CPU and memory requests grown.
    Vertical,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Horizontal, Mode::Vertical];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Horizontal => "horizontal",
            Mode::Vertical => "vertical",
        }
    }

    /// The workload edit of factor `permille` in trial `trial`.
    pub fn edit(self, permille: u32, trial: u32) -> WorkloadEdit {
        match self {
            Mode::Horizontal => WorkloadEdit {
                more_tasks_permille: permille,
                inflation_trial: trial,
                ..WorkloadEdit::default()
            },
            Mode::Vertical => WorkloadEdit {
                grow_permille: permille,
                ..WorkloadEdit::default()
            },
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown mode {s:?}; expected horizontal or vertical"))
    }
}

/// How to inflate; the fit rule comes from the scenario's `[compaction]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// Trials (at least 1): Monte-Carlo draws of the added tasks.
    pub trials: u32,
    /// The percentile of the trials' answers reported (1..=100).
    pub percentile: u32,
    /// The search's step, per mille (at least 1, at most `cap_permille`).
    pub resolution_permille: u32,
    /// The largest factor tried, per mille: a workload that fits even
    /// there has no answer ([`InflateError::NeverFull`]).
    pub cap_permille: u32,
    /// Threads the trials run on (at least 1). Changes no result.
    pub threads: usize,
}

/// The defaults: steps of 10 ‰ (1 %) up to 100,000 ‰ (+10,000 %), the
/// 10th percentile.
pub const DEFAULT_RESOLUTION_PERMILLE: u32 = 10;
pub const DEFAULT_CAP_PERMILLE: u32 = 100_000;

/// The largest cap: growth by 1000× (a workload a thousand times its
/// size), far beyond any cell, and well inside the integer arithmetic of
/// grown requests and added tasks.
pub const MAX_CAP_PERMILLE: u32 = 1_000_000;
pub const DEFAULT_PERCENTILE: u32 = 10;
/// Horizontal trials by default (Borg's count for compaction); vertical
/// inflation draws nothing and needs one.
pub const DEFAULT_HORIZONTAL_TRIALS: u32 = 11;

/// How far an inflation has got, told after every probe.
pub use crate::compact::trials::Progress;

/// Why an inflation has no answer.
#[derive(Debug)]
pub enum InflateError {
    /// A probe failed, or the scenario replays a trace.
    Run(Error),
    /// The uninflated workload does not fit the whole cell.
    DoesNotFit(Box<(FitRule, Verdict)>),
    /// A trial's workload fits even at the cap.
    NeverFull { trial: u32, cap_permille: u32 },
}

impl From<Error> for InflateError {
    fn from(e: Error) -> Self {
        InflateError::Run(e)
    }
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InflateError::Run(e) => write!(f, "{e}"),
            InflateError::DoesNotFit(b) => write!(
                f,
                "the workload does not fit its whole cell even uninflated: {}. Inflation can \
                 only add work: add machines to the cell, or loosen [compaction] (picky_share{})",
                b.1.why_not(&b.0),
                match b.0.workload {
                    WorkloadKind::Static => "",
                    WorkloadKind::WithTime => ", prod_wait_p90_s, nonprod_wait_p90_s",
                }
            ),
            InflateError::NeverFull {
                trial,
                cap_permille,
            } => write!(
                f,
                "trial {trial}'s workload still fits the cell inflated by {} ‰ (+{} %), the \
                 largest factor tried: the cell is far larger than its workload; raise the cap",
                crate::report::html::count(u64::from(*cap_permille)),
                crate::report::html::count(u64::from(*cap_permille / 10)),
            ),
        }
    }
}

/// `inflation.json`: the answer, every trial and every probe.
#[derive(Debug, Serialize)]
pub struct Inflation {
    pub scenario: String,
    pub seed: u64,
    pub policy: &'static str,
    pub preemption: bool,
    pub mode: Mode,
    pub trials: u32,
    pub percentile: u32,
    pub resolution_permille: u32,
    pub cap_permille: u32,
    pub fit_rule: FitRule,
    pub uninflated: Uninflated,
    /// The percentile of the trials' answers.
    pub answer: Answer,
    pub min_permille: u32,
    /// The nearest-rank median (the lower middle of an even count).
    pub median_permille: u32,
    pub max_permille: u32,
    /// Pairs of probes, over all trials, that contradict monotonicity.
    pub contradictions: usize,
    pub per_trial: Vec<Trial>,
    /// Events the probes' simulations ran, in all (for `run.json`).
    #[serde(skip)]
    pub events_processed: u64,
}

/// The cell and the workload as the scenario has them.
#[derive(Debug, Serialize)]
pub struct Uninflated {
    pub machines: u32,
    /// The whole cell's capacity.
    pub capacity: Demand,
    pub verdict: Verdict,
    pub relaxed_jobs: u64,
    pub relaxed_tasks: u64,
    pub submitted: Submitted,
}

/// The reported percentile.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    /// The largest factor that fits, per mille.
    pub permille: u32,
    /// The trial that gave it.
    pub trial: u32,
    /// Its rank among the trials' answers, smallest first (nearest rank).
    pub rank: usize,
    /// What the workload submits inflated by it (in that trial).
    pub submitted: Submitted,
    /// … less what it submits uninflated.
    pub added: Submitted,
}

/// One trial: one Monte-Carlo draw (horizontal) and its answer.
#[derive(Debug, Serialize)]
pub struct Trial {
    /// The trial's index, which salts the added tasks' draws.
    pub trial: u32,
    /// The largest factor found to fit, per mille.
    pub answer_permille: u32,
    /// The smallest found not to (one resolution step above).
    pub first_unfit_permille: u32,
    /// What the workload submits at the answer.
    pub submitted: Submitted,
    /// Every simulation, in the order run.
    pub probes: Vec<ProbeRecord>,
    /// Pairs `[failing, larger fitting]` of factors among the probes.
    pub contradictions: Vec<[u32; 2]>,
    #[serde(skip)]
    pub events_processed: u64,
}

/// One probe: an inflation simulated and judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeRecord {
    pub permille: u32,
    pub fits: bool,
    pub submitted_tasks: u64,
    /// Pending (held included) at the end, or dropped.
    pub unplaced_tasks: u64,
    pub prod_wait_p90_us: Option<u64>,
    pub nonprod_wait_p90_us: Option<u64>,
    pub failed: Vec<Check>,
}

/// Inflates the scenario's workload: uninflated first, then
/// `o.trials` trials in parallel (see the module doc).
///
/// # Errors
/// [`InflateError::Run`] for a trace replay, a failed probe, a thread pool
/// that cannot start, or a probe that submits other tasks than the
/// workload generated alone (a bug); [`InflateError::DoesNotFit`] if the
/// uninflated workload does not fit; [`InflateError::NeverFull`] if a
/// trial fits even at the cap.
///
/// # Panics
/// If `o.trials` is 0, `o.percentile` not in `1..=100`, or the resolution
/// 0 or above the cap.
pub fn inflate(
    sc: &Scenario,
    o: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Inflation, InflateError> {
    if sc.trace.is_some() {
        return Err(Error::Invalid {
            path: std::path::PathBuf::from(&sc.name),
            key: "trace".into(),
            message: "workload inflation grows a synthetic workload by its own draws; a trace \
                      replay is read as it is and cannot be inflated"
                .into(),
        }
        .into());
    }
    assert!(o.trials > 0, "inflate: no trials");
    let cell = whole_cell(sc)?;
    let cfg = sc.compaction.unwrap_or_default();
    let rule = FitRule::for_scenario(&cfg, sc, cell.len());
    let sc = &*crate::compact::reclaim::probe_scenario(sc);
    let ctx = Context { sc, rule: &rule, o };
    let (uninflated, first) = ctx.uninflated(&cell)?;
    if !uninflated.verdict.fits {
        return Err(InflateError::DoesNotFit(Box::new((
            rule,
            uninflated.verdict,
        ))));
    }
    let trials =
        crate::compact::trials::run("inflation", o.threads, o.trials, progress, &|t, probed| {
            ctx.trial(t, probed)
        })?;
    Ok(result(sc, o, rule, uninflated, first, trials))
}

/// What every trial shares.
struct Context<'a> {
    sc: &'a Scenario,
    rule: &'a FitRule,
    o: &'a Options,
}

impl Context<'_> {
    /// The uninflated run, and the events it ran.
    fn uninflated(&self, cell: &Cell) -> Result<(Uninflated, u64), Error> {
        let (record, verdict, relaxed, events) = self.probe(WorkloadEdit::default())?;
        let cap = cell.total_capacity();
        let submitted = self.submitted(WorkloadEdit::default(), record.submitted_tasks)?;
        Ok((
            Uninflated {
                machines: cell.len() as u32,
                capacity: Demand {
                    cpu_milli: cap.res.cpu_milli,
                    mem_mib: cap.res.mem_mib,
                    gpu_milli: u64::from(cap.gpus) * 1000,
                },
                verdict,
                relaxed_jobs: relaxed.0,
                relaxed_tasks: relaxed.1,
                submitted,
            },
            events,
        ))
    }

    /// Trial `t`; `probed` is called after every probe.
    fn trial(&self, t: u32, probed: &(dyn Fn() + Sync)) -> Result<Trial, InflateError> {
        let mode = self.o.mode;
        let mut records: Vec<ProbeRecord> = Vec::new();
        let mut events = 0;
        let mut fits = |f: u32| -> Result<bool, Error> {
            let (record, _, _, e) = self.probe(mode.edit(f, t))?;
            events += e;
            probed();
            let fits = record.fits;
            records.push(record);
            Ok(fits)
        };
        let found = search::search(self.o.resolution_permille, self.o.cap_permille, &mut fits)?
            .ok_or(InflateError::NeverFull {
                trial: t,
                cap_permille: self.o.cap_permille,
            })?;
        let answer = found.largest_fit_permille;
        // The answer's own probe (none for 0: the uninflated run's).
        let probed_tasks = records
            .iter()
            .find(|r| r.permille == answer)
            .map(|r| r.submitted_tasks);
        let submitted = match probed_tasks {
            Some(n) => self.submitted(mode.edit(answer, t), n)?,
            None => crate::workload_submitted(self.sc, mode.edit(0, t)).unwrap_or_default(),
        };
        let seen: Vec<(u32, bool)> = std::iter::once((0, true))
            .chain(records.iter().map(|r| (r.permille, r.fits)))
            .collect();
        Ok(Trial {
            trial: t,
            answer_permille: answer,
            first_unfit_permille: found.first_unfit_permille,
            submitted,
            probes: records,
            contradictions: search::contradictions(&seen),
            events_processed: events,
        })
    }

    /// Simulates the whole cell under `edit` and judges the run: the
    /// record, the verdict, the jobs and tasks relaxed, the events run.
    fn probe(&self, edit: WorkloadEdit) -> Result<(ProbeRecord, Verdict, (u64, u64), u64), Error> {
        let mut sim = build_simulation_with(
            self.sc,
            &BuildOptions {
                relax_above_tasks: self.rule.relax_above_tasks,
                workload: edit,
                ..BuildOptions::default()
            },
        )?;
        sim.run(&mut |_| {})?;
        let s = Summary::of(self.sc, &sim);
        let v = self.rule.judge(&s);
        let r = sim.state().relaxation();
        let permille = edit.grow_permille.max(edit.more_tasks_permille);
        let record = ProbeRecord {
            permille,
            fits: v.fits,
            submitted_tasks: s.tasks.submitted,
            unplaced_tasks: v.unplaced_tasks,
            prod_wait_p90_us: v.prod_wait_p90_us,
            nonprod_wait_p90_us: v.nonprod_wait_p90_us,
            failed: v.failed.clone(),
        };
        Ok((record, v, (r.jobs, r.tasks), sim.events_processed()))
    }

    /// What the workload under `edit` submits, generated alone, checked
    /// against the `simulated` tasks a probe of it submitted: the edit is
    /// a function of the workload, never of the cell.
    fn submitted(&self, edit: WorkloadEdit, simulated: u64) -> Result<Submitted, Error> {
        let s = workload_submitted(self.sc, edit).unwrap_or_default();
        if s.tasks == simulated {
            return Ok(s);
        }
        Err(Error::Internal(format!(
            "inflation {edit:?}: the simulation submitted {simulated} tasks, the workload \
             generated alone {}",
            s.tasks
        )))
    }
}

fn result(
    sc: &Scenario,
    o: &Options,
    rule: FitRule,
    uninflated: Uninflated,
    first_events: u64,
    trials: Vec<Trial>,
) -> Inflation {
    let answers: Vec<u32> = trials.iter().map(|t| t.answer_permille).collect();
    let (permille, i) = rank::percentile(&answers, o.percentile);
    let at = trials[i].submitted;
    let base = uninflated.submitted;
    let minus = |a: u64, b: u64| a.saturating_sub(b);
    Inflation {
        scenario: sc.name.clone(),
        seed: sc.seed,
        policy: sc.scheduler.policy.name(),
        preemption: sc.scheduler.preemption,
        mode: o.mode,
        trials: o.trials,
        percentile: o.percentile,
        resolution_permille: o.resolution_permille,
        cap_permille: o.cap_permille,
        fit_rule: rule,
        answer: Answer {
            permille,
            trial: trials[i].trial,
            rank: rank::nearest_rank(o.percentile, answers.len()),
            submitted: at,
            added: Submitted {
                jobs: minus(at.jobs, base.jobs),
                tasks: minus(at.tasks, base.tasks),
                cpu_milli: minus(at.cpu_milli, base.cpu_milli),
                mem_mib: minus(at.mem_mib, base.mem_mib),
                gpu_milli: minus(at.gpu_milli, base.gpu_milli),
            },
        },
        uninflated,
        min_permille: answers.iter().copied().min().unwrap_or(0),
        median_permille: rank::percentile(&answers, 50).0,
        max_permille: answers.iter().copied().max().unwrap_or(0),
        contradictions: trials.iter().map(|t| t.contradictions.len()).sum(),
        events_processed: first_events + trials.iter().map(|t| t.events_processed).sum::<u64>(),
        per_trial: trials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_percentile_is_the_cautious_tail() {
        // Eleven trials' answers (‰); the default 10th percentile is the
        // ⌈0.1 × 11⌉ = 2nd smallest: 300 (trial 7), a growth at least ten
        // of the eleven draws took. The median is the 6th smallest (340, trial 4, after trial 1's 340).
        let answers = [350, 340, 330, 360, 340, 320, 370, 300, 380, 290, 345];
        assert_eq!(rank::nearest_rank(DEFAULT_PERCENTILE, 11), 2);
        assert_eq!(rank::percentile(&answers, DEFAULT_PERCENTILE), (300, 7));
        assert_eq!(rank::percentile(&answers, 50), (340, 4));
        // One trial (vertical): every percentile is it.
        assert_eq!(rank::percentile(&[450], DEFAULT_PERCENTILE), (450, 0));
    }

    #[test]
    fn modes_edit_the_workload_their_way() {
        let h = Mode::Horizontal.edit(250, 3);
        assert_eq!(
            (h.more_tasks_permille, h.inflation_trial, h.grow_permille),
            (250, 3, 0)
        );
        // Vertical draws nothing: the trial does not reach the edit.
        assert_eq!(Mode::Vertical.edit(250, 3), Mode::Vertical.edit(250, 0));
        assert_eq!(Mode::Vertical.edit(250, 3).grow_permille, 250);
        assert!(Mode::Horizontal.edit(0, 5).is_identity());
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>(), Ok(m));
        }
        assert!("diagonal".parse::<Mode>().is_err());
    }
}
