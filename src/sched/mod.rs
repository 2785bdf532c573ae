//! The scheduler: a pass over the pending queue that places tasks.
//!
//! A pass scans pending tasks from high to low priority, round-robin across
//! jobs within a priority (Borg). For each task the [`pipeline`] filters and
//! scores machines; if no machine fits as things stand and preemption is on,
//! [`preempt`] picks a machine and the victims to evict. With the scale
//! techniques on, [`equiv`] serves identical tasks from one cache of verdicts
//! that is kept current through the cell's change log; decisions are the
//! same either way. The scheduler is a functional core: it reads and changes
//! the [`CellState`] through its methods and reports what it did as
//! [`Action`]s, which the simulation turns into events — and which a
//! real-node backend could turn into RPCs.

pub mod equiv;
pub mod pipeline;
pub mod plugin;
pub mod plugins;
pub mod preempt;
pub mod profile;
pub mod reason;
pub mod sample;

use crate::cell::state::{CellState, EvictionCause};
use crate::cell::MachineId;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::{JobId, TaskId};
use equiv::{ClassCache, ClassKey, Scan};
use pipeline::{view_of, Outcome, Pipeline};
pub use profile::Policy;
use reason::WhyPending;
use rustc_hash::{FxHashMap, FxHashSet};
use sample::Sampler;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a pass did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Evict { task: TaskId, cause: EvictionCause },
    Place { task: TaskId, machine: MachineId },
}

/// Counters of the work the scheduler did. They depend only on the scenario
/// and seed, so CI can compare them exactly across commits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SchedStats {
    pub passes: u64,
    pub tasks_attempted: u64,
    /// Tasks not attempted because an identical task of the same job had just
    /// failed in the same pass (it would fail too: a pass only fills machines).
    pub tasks_skipped_same_job: u64,
    /// Filter evaluations of one (task class, machine) pair.
    pub feasibility_checks: u64,
    pub scores_computed: u64,
    pub placements: u64,
    pub preemption_placements: u64,
    pub victims_evicted: u64,
    pub preemption_plans_computed: u64,
    /// Class caches built from a full scan of the cell.
    pub class_caches_built: u64,
    /// Decisions served by an existing class cache.
    pub class_cache_uses: u64,
    /// Of those, decisions for a job other than the one that built the cache.
    pub equivalence_reuses: u64,
    /// Machine verdicts reused from a cache, and re-evaluated into one.
    pub cache_hits: u64,
    pub cache_misses: u64,
}

/// Borg's scale techniques; each can be switched off to measure it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Techniques {
    /// Keep class caches from pass to pass (else: one pass only).
    pub score_cache: bool,
    /// Share a cache among all tasks with the same requirements (else: per job).
    pub equivalence_classes: bool,
    /// Examine machines in random order until enough fit (else: all).
    pub relaxed_randomization: bool,
}

impl Techniques {
    pub const ALL: Techniques = Techniques {
        score_cache: true,
        equivalence_classes: true,
        relaxed_randomization: true,
    };
    /// The exact techniques: decisions identical to the exhaustive pipeline.
    pub const EXACT: Techniques = Techniques {
        relaxed_randomization: false,
        ..Techniques::ALL
    };
    pub const NONE: Techniques = Techniques {
        score_cache: false,
        equivalence_classes: false,
        relaxed_randomization: false,
    };
}

/// Scheduler configuration from the scenario.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SchedConfig {
    pub policy: Policy,
    pub preemption: bool,
    pub techniques: Techniques,
}

impl SchedConfig {
    /// A configuration with every scale technique on.
    pub fn new(policy: Policy, preemption: bool) -> Self {
        SchedConfig {
            policy,
            preemption,
            techniques: Techniques::ALL,
        }
    }
}

/// Caches unused for this many passes are dropped.
const CACHE_RETAIN_PASSES: u64 = 64;
/// At most this many (class, machine) verdicts are kept in all (~32 B each).
const CACHE_MAX_ENTRIES: usize = 8 << 20;

/// The scheduler: a pipeline, its caches, counters and why-pending records.
pub struct Scheduler {
    config: SchedConfig,
    pipeline: Pipeline,
    stats: SchedStats,
    why: BTreeMap<JobId, WhyPending>,
    /// Looked up by key; iterated only for order-independent sums and for
    /// eviction, which sorts first.
    caches: FxHashMap<ClassKey, ClassCache>,
    next_serial: u64,
    /// The scheduler's RNG stream, until the sampler takes it.
    rng: Option<SimRng>,
    sampler: Option<Sampler>,
    /// The scan offset shared by the class caches built in a pass.
    pass_start: Option<(u64, usize)>,
}

impl Scheduler {
    /// A scheduler drawing its random numbers (relaxed randomization) from
    /// `rng`, the scheduler's stream of the run.
    pub fn new(config: SchedConfig, rng: SimRng) -> Self {
        Scheduler {
            rng: Some(rng),
            sampler: None,
            pass_start: None,
            config,
            pipeline: Pipeline::new(config.policy),
            stats: SchedStats::default(),
            why: BTreeMap::new(),
            caches: FxHashMap::default(),
            next_serial: 0,
        }
    }

    pub fn config(&self) -> SchedConfig {
        self.config
    }

    pub fn stats(&self) -> &SchedStats {
        &self.stats
    }

    /// Forgets jobs whose slots the cell reclaimed (their ids will be reused).
    pub fn forget_jobs(&mut self, jobs: &[JobId]) {
        for j in jobs {
            self.why.remove(j);
        }
    }

    /// The last failed attempt's reasons for a job's pending tasks.
    pub fn why_pending(&self, job: JobId) -> Option<&WhyPending> {
        self.why.get(&job)
    }

    /// One pass over the pending queue at time `now`. Appends what it did to
    /// `actions`.
    pub fn pass(&mut self, st: &mut CellState, now: SimTime, actions: &mut Vec<Action>) {
        self.stats.passes += 1;
        for (_, order) in st.pending().scan_order() {
            let mut failed: FxHashSet<JobId> = FxHashSet::default();
            for (job, task) in order {
                if failed.contains(&job) {
                    self.stats.tasks_skipped_same_job += 1;
                    continue;
                }
                if !st.job(job).ever_schedulable {
                    failed.insert(job);
                    continue;
                }
                if !self.try_place(st, now, task, actions) {
                    failed.insert(job);
                }
            }
        }
        self.retire_caches(st);
    }

    /// Attempts one task; true if it was placed.
    fn try_place(
        &mut self,
        st: &mut CellState,
        now: SimTime,
        task: TaskId,
        actions: &mut Vec<Action>,
    ) -> bool {
        self.stats.tasks_attempted += 1;
        let job = st.task(task).job;
        match self.decide(st, job) {
            Outcome::Place(machine) => {
                st.place(now, task, machine);
                actions.push(Action::Place { task, machine });
                self.stats.placements += 1;
                true
            }
            Outcome::Preempt(plan) => {
                for &v in &plan.victims {
                    st.evict(now, v, EvictionCause::Preemption);
                    actions.push(Action::Evict {
                        task: v,
                        cause: EvictionCause::Preemption,
                    });
                }
                st.place(now, task, plan.machine);
                actions.push(Action::Place {
                    task,
                    machine: plan.machine,
                });
                self.stats.placements += 1;
                self.stats.preemption_placements += 1;
                self.stats.victims_evicted += plan.victims.len() as u64;
                true
            }
            Outcome::Unschedulable(counts) => {
                let why = WhyPending {
                    attempt_us: now.as_us(),
                    counts,
                };
                self.why.insert(job, why);
                false
            }
        }
    }

    /// The pipeline's decision for a task of `job`, from a class cache when
    /// the techniques allow, else from a full scan.
    fn decide(&mut self, st: &CellState, job: JobId) -> Outcome {
        let SchedConfig {
            preemption,
            techniques: t,
            ..
        } = self.config;
        let view = view_of(st, job, preemption);
        let n = st.cell().len();
        let enough = t.relaxed_randomization.then(|| sample::enough_feasible(n));
        if enough.is_some() && self.sampler.is_none() {
            let rng = self.rng.take().expect("the scheduler's RNG");
            self.sampler = Some(Sampler::new(rng, n));
        }
        let cacheable = (t.score_cache || t.equivalence_classes) && view.job.spec.spread.is_empty();
        if !cacheable {
            return match (enough, self.sampler.as_mut()) {
                (Some(k), Some(sampler)) => {
                    let start = sampler.start();
                    let sampler = &*sampler;
                    let order = (0..n).map(|i| sampler.at(start, i));
                    self.pipeline.scan(st, &view, order, k, &mut self.stats)
                }
                _ => self.pipeline.evaluate(st, job, preemption, &mut self.stats),
            };
        }
        let key = ClassKey::of(&view, !t.equivalence_classes);
        if !self.caches.contains_key(&key) {
            Self::make_room(&mut self.caches, n);
            // Every class cache built in a pass starts its scan at the same
            // random offset, so different task shapes look at the same
            // machines and can share them, as they would in a full scan.
            let start = match (self.sampler.as_mut(), self.pass_start) {
                (Some(_), Some((pass, start))) if pass == self.stats.passes => start,
                (Some(sampler), _) => {
                    let start = sampler.start();
                    self.pass_start = Some((self.stats.passes, start));
                    start
                }
                (None, _) => 0,
            };
            let mut c = ClassCache::new(st, job, start, self.pipeline.filter_mask(&view));
            c.serial = self.next_serial;
            self.next_serial += 1;
            self.stats.class_caches_built += 1;
            self.caches.insert(key.clone(), c);
        } else {
            let c = self.caches.get_mut(&key).expect("present");
            let examined = c.examined() as u64;
            let misses = c.sync(&self.pipeline, st, &view, &mut self.stats);
            let stats = &mut self.stats;
            stats.cache_misses += misses;
            stats.cache_hits += examined - misses;
            stats.class_cache_uses += 1;
            stats.equivalence_reuses += u64::from(c.built_by != st.job(job).serial);
        }
        let scan = match (enough, self.sampler.as_ref()) {
            (Some(enough), Some(sampler)) => Scan::Sampled { sampler, enough },
            _ => Scan::All,
        };
        let cache = self.caches.get_mut(&key).expect("present");
        cache.last_pass = self.stats.passes;
        let (outcome, seen) = cache.decide(&self.pipeline, st, &view, &scan, &mut self.stats);
        self.stats.cache_misses += seen;
        outcome
    }

    /// Evicts the least recently used caches (by last pass, then creation
    /// order: deterministic) until one more cache of `n` machines fits the
    /// budget.
    fn make_room(caches: &mut FxHashMap<ClassKey, ClassCache>, n: usize) {
        let total: usize = caches.values().map(ClassCache::len).sum();
        let excess = (total + n).saturating_sub(CACHE_MAX_ENTRIES);
        if excess == 0 {
            return;
        }
        let mut by_age: Vec<(u64, u64, usize)> = caches
            .values()
            .map(|c| (c.last_pass, c.serial, c.len()))
            .collect();
        by_age.sort_unstable();
        let mut freed = 0;
        let mut drop = FxHashSet::default();
        for (_, serial, len) in by_age {
            if freed >= excess {
                break;
            }
            drop.insert(serial);
            freed += len;
        }
        caches.retain(|_, c| !drop.contains(&c.serial));
    }

    /// Drops caches that are no longer worth keeping and trims the cell's
    /// change log to what the remaining caches still need.
    fn retire_caches(&mut self, st: &mut CellState) {
        let pass = self.stats.passes;
        if self.config.techniques.score_cache {
            self.caches
                .retain(|_, c| c.last_pass + CACHE_RETAIN_PASSES > pass);
        } else {
            self.caches.clear();
        }
        let keep_from = self.caches.values().map(ClassCache::cursor).min();
        st.trim_changes(keep_from.unwrap_or_else(|| st.change_cursor()));
    }
}
