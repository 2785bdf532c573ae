//! Cell compaction: Borg's answer to "how many machines does this workload
//! need?" (paper §5.1; Verma et al.'s fourth and most faithful packing
//! metric). Each trial draws a random order of the cell's machines and
//! finds the shortest prefix of that order on which the workload fits,
//! re-packing from scratch — a whole simulation — at every probe; the
//! trials' answers form a distribution, of which Borg reports the 90th
//! percentile of 11.
//!
//! The parts, each usable alone by later experiments (segregation,
//! sub-cells, bucketing, workload inflation):
//!
//! - a probe is [`crate::build_simulation_with`] on the prefix's machines
//!   ([`crate::cell::Cell::subset`]: renumbered in id order, so a probe
//!   depends on the set of machines, not their order), with large jobs
//!   relaxed, run to its end and judged by [`fit::FitRule`];
//! - `search.rs`: the machine order ([`search::permutation`], from the
//!   [`Stream::Compaction`] substream of the trial's index) and the search
//!   over it, bisection or linear removal, with the probes recorded and
//!   checked for evidence against monotonicity;
//! - `bound.rs`: a capacity lower bound that rules out short prefixes
//!   without simulating them (static workloads);
//! - `rank.rs`: the nearest-rank percentile.
//!
//! The whole cell is probed once, first: a workload that does not fit it
//! has no answer ([`CompactError::DoesNotFit`], naming what stays
//! unplaced) — unless `[compaction] grow` asks for the cell to be grown
//! by its own machine mix until it fits (`grow.rs`), which is then the
//! cell compacted. Trials then run in parallel on a thread pool of
//! [`Options::threads`]; each is a pure function of (scenario, seed,
//! trial index), and results are collected in trial order, so the result
//! is the same whatever the thread count.

pub mod bound;
pub mod fit;
pub mod grow;
mod no_fit;
pub mod rank;
pub mod reclaim;
pub mod search;
pub mod trials;

use crate::cell::{Cell, MachineId};
use crate::error::Error;
use crate::metrics::round6;
use crate::metrics::summary::Summary;
use crate::rng::{RngStreams, Stream};
use crate::scenario::Scenario;
use crate::workload::edit::WorkloadEdit;
use crate::{build_simulation_with, whole_cell, BuildOptions};
use bound::Amounts;
use fit::{Check, FitRule, Verdict, WorkloadKind};
use search::Search;
use serde::Serialize;

/// How to compact, beyond the scenario's `[compaction]` (trials,
/// percentile and the fit rule come from there).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub search: Search,
    /// Threads the trials run on (at least 1). Changes no result.
    pub threads: usize,
}

pub use no_fit::{NoFit, Settings};
pub use trials::Progress;

/// Why a compaction has no answer.
#[derive(Debug)]
pub enum CompactError {
    /// A probe failed (a bad trace row), or an output check did.
    Run(Error),
    /// The workload does not fit even the whole cell.
    DoesNotFit(Box<NoFit>),
}

impl From<Error> for CompactError {
    fn from(e: Error) -> Self {
        CompactError::Run(e)
    }
}

/// `compaction.json`: the result, every trial and every probe.
#[derive(Debug, Serialize)]
pub struct Compaction {
    pub scenario: String,
    pub seed: u64,
    pub policy: &'static str,
    pub preemption: bool,
    pub search: Search,
    /// Bisection probed this many prefixes above each boundary it found
    /// (`[compaction] verify_above`, resolved; unused by `linear`).
    pub verify_above: u32,
    pub trials: u32,
    pub percentile: u32,
    pub fit_rule: FitRule,
    /// The cell was grown before it was compacted (`[compaction] grow`):
    /// `whole_cell` is then the grown cell. `null` when it was not.
    pub grown: Option<grow::Growth>,
    pub whole_cell: WholeCell,
    /// The percentile of the trials' answers.
    pub answer: Answer,
    pub min_machines: u32,
    /// The nearest-rank median (the lower middle of an even count).
    pub median_machines: u32,
    pub max_machines: u32,
    /// Pairs of probes, over all trials, that contradict monotonicity.
    pub contradictions: usize,
    pub per_trial: Vec<Trial>,
    /// Events the probes' simulations ran, in all (for `run.json`: work
    /// done, not a result).
    #[serde(skip)]
    pub events_processed: u64,
}

/// The whole cell, and how the workload fared on it.
#[derive(Debug, Serialize)]
pub struct WholeCell {
    pub machines: u32,
    pub machines_by_class: Vec<ClassCount>,
    pub verdict: Verdict,
    /// Jobs the relaxation rule relaxed, and their tasks (the same in
    /// every probe: the threshold is the whole cell's).
    pub relaxed_jobs: u64,
    pub relaxed_tasks: u64,
    /// Static workloads: what every fitting cell must hold, per resource
    /// (`bound.rs`); `None` with time.
    pub must_place: Option<Demand>,
}

/// An amount of each resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Demand {
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpu_milli: u64,
}

/// The machines of one class in a cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The class as the run report names it.
    pub class: String,
    pub machines: u32,
    /// The class's machines in the whole cell.
    pub whole_cell_machines: u32,
}

/// The reported percentile.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub machines: u32,
    /// The trial that gave it.
    pub trial: u32,
    /// Its rank among the trials' answers, smallest first (nearest rank).
    pub rank: usize,
    /// `machines` over the whole cell's.
    pub share_of_cell: f64,
}

/// One trial: one machine order and its answer.
#[derive(Debug, Serialize)]
pub struct Trial {
    /// The trial's index, which is also its order's substream of the
    /// `compaction` random stream.
    pub trial: u32,
    pub answer_machines: u32,
    pub share_of_cell: f64,
    /// The capacity bound: every shorter prefix is known not to fit.
    pub lower_bound_machines: u32,
    pub machines_by_class: Vec<ClassCount>,
    /// Every simulation, in the order run.
    pub probes: Vec<ProbeRecord>,
    /// Pairs (fitting prefix, longer failing prefix) among the probes.
    pub contradictions: Vec<[u32; 2]>,
    /// Events its probes' simulations ran.
    #[serde(skip)]
    pub events_processed: u64,
}

/// One probe: a prefix simulated and judged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeRecord {
    pub machines: u32,
    pub fits: bool,
    /// Pending (held included) at the end, or dropped.
    pub unplaced_tasks: u64,
    pub prod_wait_p90_us: Option<u64>,
    pub nonprod_wait_p90_us: Option<u64>,
    /// The checks it failed.
    pub failed: Vec<Check>,
    /// With usage tracked: kills, throttling and usage over capacity
    /// (absent from `compaction.json` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<fit::UsageFigures>,
}

impl ProbeRecord {
    /// The record of a probe of `machines` machines judged `v`.
    pub fn of(machines: u32, v: &Verdict) -> Self {
        ProbeRecord {
            machines,
            fits: v.fits,
            unplaced_tasks: v.unplaced_tasks,
            prod_wait_p90_us: v.prod_wait_p90_us,
            nonprod_wait_p90_us: v.nonprod_wait_p90_us,
            failed: v.failed.clone(),
            usage: v.usage.clone(),
        }
    }
}

/// The whole cell's run: its verdict, what it relaxed, and (static
/// workloads) every task's request.
struct WholeRun {
    summary: Summary,
    events: u64,
    verdict: Verdict,
    relaxed: (u64, u64),
    requests: Option<Vec<Amounts>>,
}

/// Compacts the scenario's cell: the whole cell first, then
/// `[compaction].trials` trials in parallel (see the module doc).
///
/// # Errors
/// [`CompactError::DoesNotFit`] if the workload does not fit the whole
/// cell; [`CompactError::Run`] if a probe fails (a bad trace row), if the
/// thread pool cannot start, or if a synthetic workload differs between
/// two probes (a bug).
pub fn compact(
    sc: &Scenario,
    o: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Compaction, CompactError> {
    compact_edited(sc, o, WorkloadEdit::default(), progress)
}

/// [`compact`] of the scenario's workload edited by `edit` (a part of it,
/// requests rounded, …: [`crate::workload::edit`]) in every probe, the
/// whole cell's included: what the capacity experiments compact
/// (`crate::experiment`). The identity edit is [`compact`] itself, byte
/// for byte. The fit rule's large-job threshold stays the whole cell's,
/// and the machine orders are the seed's whatever the edit, so two edits
/// compacted with one seed are paired trial by trial.
///
/// # Errors
/// As [`compact`]; also [`CompactError::Run`] when `edit` is not the
/// identity and the scenario replays a trace (edits apply to synthetic
/// workloads only).
pub fn compact_edited(
    sc: &Scenario,
    o: &Options,
    edit: WorkloadEdit,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Compaction, CompactError> {
    let cfg = sc.compaction.unwrap_or_default();
    grow::check(sc)?;
    let n = u32::try_from(whole_cell(sc)?.len()).expect("machine ids are 32-bit");
    let rule = FitRule::for_scenario(&cfg, sc, n as usize);
    let probed = reclaim::probe_scenario(sc);
    let sc = &*probed;
    let whole = run_whole(sc, &rule, edit)?;
    match whole.verdict.fits {
        true => compact_fitting(sc, o, edit, rule, whole, None, progress),
        false if cfg.grow => {
            let g = grow::grow(sc, edit, n, &whole)?;
            let growth = Some(g.growth);
            let rule = FitRule {
                horizon_s: rule.horizon_s,
                ..g.rule
            };
            compact_fitting(&g.scenario, o, edit, rule, g.whole, growth, progress)
        }
        false => Err(CompactError::DoesNotFit(Box::new(NoFit {
            machines: n,
            rule,
            verdict: whole.verdict,
            grown: false,
            can_grow: sc.trace.is_none(),
            within: None,
        }))),
    }
}

/// The trials of a compaction of `sc`'s whole cell, which the workload
/// fits (`whole`).
fn compact_fitting(
    sc: &Scenario,
    o: &Options,
    edit: WorkloadEdit,
    rule: FitRule,
    whole: WholeRun,
    grown: Option<grow::Growth>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Compaction, CompactError> {
    let cfg = sc.compaction.unwrap_or_default();
    let cell = whole_cell(sc)?;
    let need = whole
        .requests
        .as_ref()
        .map(|r| bound::must_place(r, whole.verdict.picky_allowed_tasks));
    let ctx = TrialContext {
        sc,
        rule: &rule,
        cell: &cell,
        whole: &whole,
        need,
        search: o.search,
        verify_above: verify_above(&cfg, rule.workload),
        edit,
    };
    let trials = trials::run(
        "compaction",
        o.threads,
        cfg.trials,
        progress,
        &|t, probed| ctx.run(t, probed).map_err(CompactError::from),
    )?;
    let window = ctx.verify_above;
    let mut c = result(sc, &cfg, o.search, rule, &cell, whole, need, trials);
    c.verify_above = window;
    c.grown = grown;
    Ok(c)
}

/// The whole cell's probe.
fn run_whole(sc: &Scenario, rule: &FitRule, edit: WorkloadEdit) -> Result<WholeRun, Error> {
    let mut sim = build_simulation_with(
        sc,
        &BuildOptions {
            relax_above_tasks: rule.relax_above_tasks,
            workload: edit,
            ..BuildOptions::default()
        },
    )?;
    sim.run(&mut |_| {})?;
    let summary = Summary::of(sc, &sim);
    let verdict = rule.judge(&summary);
    let st = sim.state();
    let r = st.relaxation();
    // Static: nothing ends, so every task submitted is still live. With
    // reclamation on, only prod is admitted against limits (non-prod may
    // run on reclaimed capacity, beyond them): the bound is prod's.
    let reclaiming = rule.reclaiming();
    let requests = (rule.workload == WorkloadKind::Static).then(|| {
        st.live_tasks()
            .filter(|(_, rec)| !reclaiming || st.shape_of(rec).band().is_prod())
            .map(|(_, rec)| {
                let q = st.shape_of(rec).request;
                [q.res.cpu_milli, q.res.mem_mib, q.gpu.milli()]
            })
            .collect()
    });
    Ok(WholeRun {
        events: sim.events_processed(),
        summary,
        verdict,
        relaxed: (r.jobs, r.tasks),
        requests,
    })
}

/// What every trial shares.
struct TrialContext<'a> {
    sc: &'a Scenario,
    rule: &'a FitRule,
    cell: &'a Cell,
    whole: &'a WholeRun,
    need: Option<Amounts>,
    search: Search,
    /// Bisection's check above its boundary (`[compaction] verify_above`).
    verify_above: u32,
    /// The workload's edit, in every probe.
    edit: WorkloadEdit,
}

impl TrialContext<'_> {
    /// Trial `t`: its order, bound and search; `probed` is called after
    /// every probe.
    fn run(&self, t: u32, probed: &(dyn Fn() + Sync)) -> Result<Trial, Error> {
        let n = self.cell.len() as u32;
        let mut rng = RngStreams::new(self.sc.seed).substream(Stream::Compaction, u64::from(t));
        let order = search::permutation(n, &mut rng);
        let lower = self
            .need
            .map_or(1, |need| bound::shortest_prefix(self.cell, &order, need));
        let mut records = Vec::new();
        let mut events = 0;
        let mut fits = |p: u32| -> Result<bool, Error> {
            let (record, e) = self.probe(&order[..p as usize])?;
            events += e;
            probed();
            let fits = record.fits;
            records.push(record);
            Ok(fits)
        };
        let window = self.verify_above;
        let answer = match self.search {
            Search::Bisect if lower >= n => n,
            Search::Bisect => search::bisect_checked(lower - 1, n, window, &mut fits)?,
            Search::Linear => search::linear(n, &mut fits)?,
        };
        let seen: Vec<(u32, bool)> = std::iter::once((n, true))
            .chain(records.iter().map(|r| (r.machines, r.fits)))
            .collect();
        Ok(Trial {
            trial: t,
            answer_machines: answer,
            share_of_cell: share(answer, n),
            lower_bound_machines: lower,
            machines_by_class: by_class(self.cell, &order[..answer as usize]),
            probes: records,
            contradictions: search::contradictions(&seen)
                .into_iter()
                .map(|(a, b)| [a, b])
                .collect(),
            events_processed: events,
        })
    }

    /// Simulates the cell of `machines` and judges the run; also the
    /// events it ran.
    fn probe(&self, machines: &[MachineId]) -> Result<(ProbeRecord, u64), Error> {
        let mut sim = build_simulation_with(
            self.sc,
            &BuildOptions {
                machines: Some(machines.to_vec()),
                relax_above_tasks: self.rule.relax_above_tasks,
                workload: self.edit,
                ..BuildOptions::default()
            },
        )?;
        sim.run(&mut |_| {})?;
        let s = Summary::of(self.sc, &sim);
        self.check_same_workload(&s, machines.len())?;
        let record = ProbeRecord::of(machines.len() as u32, &self.rule.judge(&s));
        Ok((record, sim.events_processed()))
    }

    /// A synthetic workload is drawn from its own stream, never from the
    /// cell: every probe submits exactly the whole cell's jobs and tasks.
    /// (A trace replay's submissions may differ with the cell — a
    /// resubmission of a task still live is ignored — so only synthetic
    /// workloads are checked.)
    fn check_same_workload(&self, s: &Summary, machines: usize) -> Result<(), Error> {
        let w = &self.whole.summary;
        let same = self.sc.trace.is_some()
            || (s.jobs_submitted == w.jobs_submitted && s.tasks.submitted == w.tasks.submitted);
        if same {
            return Ok(());
        }
        Err(Error::Internal(format!(
            "the workload changed with the cell: {} jobs and {} tasks on {machines} machines, \
             {} and {} on the whole cell",
            s.jobs_submitted, s.tasks.submitted, w.jobs_submitted, w.tasks.submitted
        )))
    }
}

/// `[compaction] verify_above`, or its default for the kind of workload:
/// 4 with time (queueing makes fitting non-monotone: a longer prefix can
/// leave more waiting than a shorter one), 0 for a static one.
fn verify_above(cfg: &crate::scenario::CompactionConfig, kind: WorkloadKind) -> u32 {
    cfg.verify_above.unwrap_or(match kind {
        WorkloadKind::Static => 0,
        WorkloadKind::WithTime => 4,
    })
}

/// `a / b`, to six decimals.
fn share(a: u32, b: u32) -> f64 {
    round6(f64::from(a) / f64::from(b.max(1)))
}

/// The machines `keep` of `cell` counted by the cell's classes (every
/// class of the whole cell listed, in order, with 0 where none is kept).
pub fn by_class(cell: &Cell, keep: &[MachineId]) -> Vec<ClassCount> {
    let classes = cell.classes();
    let mut counts = vec![0u32; classes.groups().len()];
    for &m in keep {
        counts[classes.group_of(m)] += 1;
    }
    classes
        .groups()
        .iter()
        .zip(counts)
        .map(|(g, machines)| ClassCount {
            class: g.label.clone(),
            machines,
            whole_cell_machines: g.machines,
        })
        .collect()
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of the result, each computed once by `compact`, put together in one place"
)]
fn result(
    sc: &Scenario,
    cfg: &crate::scenario::CompactionConfig,
    search: Search,
    rule: FitRule,
    cell: &Cell,
    whole: WholeRun,
    need: Option<Amounts>,
    trials: Vec<Trial>,
) -> Compaction {
    let n = cell.len() as u32;
    let answers: Vec<u32> = trials.iter().map(|t| t.answer_machines).collect();
    let (machines, i) = rank::percentile(&answers, cfg.percentile);
    let all: Vec<MachineId> = (0..n).collect();
    Compaction {
        scenario: sc.name.clone(),
        seed: sc.seed,
        policy: sc.scheduler.policy.name(),
        preemption: sc.scheduler.preemption,
        search,
        verify_above: 0,
        trials: cfg.trials,
        percentile: cfg.percentile,
        fit_rule: rule,
        grown: None,
        whole_cell: WholeCell {
            machines: n,
            machines_by_class: by_class(cell, &all),
            verdict: whole.verdict,
            relaxed_jobs: whole.relaxed.0,
            relaxed_tasks: whole.relaxed.1,
            must_place: need.map(|[c, m, g]| Demand {
                cpu_milli: c,
                mem_mib: m,
                gpu_milli: g,
            }),
        },
        answer: Answer {
            machines,
            trial: trials[i].trial,
            rank: rank::nearest_rank(cfg.percentile, answers.len()),
            share_of_cell: share(machines, n),
        },
        min_machines: answers.iter().copied().min().unwrap_or(0),
        median_machines: rank::percentile(&answers, 50).0,
        max_machines: answers.iter().copied().max().unwrap_or(0),
        contradictions: trials.iter().map(|t| t.contradictions.len()).sum(),
        events_processed: whole.events + trials.iter().map(|t| t.events_processed).sum::<u64>(),
        per_trial: trials,
    }
}
