//! The scheduler: a pass over the pending queue that places tasks.
//!
//! A pass scans pending tasks from high to low priority, round-robin across
//! jobs within a priority (Borg). For each task the [`pipeline`] filters and
//! scores machines; if no machine fits as things stand and preemption is on,
//! [`preempt`] picks a machine and the victims to evict. With the scale
//! techniques on, [`equiv`] serves identical tasks from one cache of verdicts
//! that is kept current through the cell's change log; decisions are the
//! same either way. Which tasks count as identical is not listed here: the
//! plugins declare what of a task they read, and [`class_key`] assembles
//! those declarations into the key of a task's class.
//!
//! The scheduler is a functional core: it reads and changes the
//! [`CellState`] through its methods and reports what it did as [`Action`]s,
//! which the simulation turns into events — and which a real-node backend
//! could turn into RPCs.

pub mod class_key;
pub mod devices;
pub mod equiv;
pub mod explain;
pub mod pipeline;
pub mod plugin;
pub mod plugins;
pub mod preempt;
pub mod profile;
pub mod reason;
pub mod sample;
pub mod typical;
pub mod verdicts;

use crate::cell::state::{CellState, EvictionCause};
use crate::cell::MachineId;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::{JobId, TaskId};
use class_key::{ClassKey, ClassKeyBuilder, Signed};
use equiv::{ClassCache, Scan};
use pipeline::{view_of, Outcome, Pipeline};
use plugin::TaskView;
pub use profile::{Policy, Profile};
use reason::WhyPending;
use rustc_hash::{FxHashMap, FxHashSet};
use sample::Sampler;
use serde::Serialize;
use std::collections::BTreeMap;
use verdicts::{ColumnMut, VerdictTable};

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
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
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
    /// The spreading score's weight per failure-domain level
    /// (`plugins::spreading`); `None`: no spreading score.
    pub spreading: Option<plugins::spreading::LevelWeights>,
    /// How long a task avoids a machine it failed on
    /// (`plugins::avoid_failed`); `None`: it does not.
    pub avoid_failed: Option<crate::time::SimDuration>,
    /// Which failures it avoids machines for (every failure unless the
    /// default under reclamation `on` made it out-of-memory kills only).
    pub failure_scope: crate::cell::state::failures::FailureScope,
}

impl SchedConfig {
    /// A configuration with every scale technique on.
    pub fn new(policy: Policy, preemption: bool) -> Self {
        SchedConfig {
            policy,
            preemption,
            techniques: Techniques::ALL,
            spreading: None,
            avoid_failed: None,
            failure_scope: crate::cell::state::failures::FailureScope::All,
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
    /// The class caches' verdict slots, machine-major (made for the cell's
    /// size when the first cache is built).
    table: VerdictTable,
    /// The buffer each task's class key is assembled in, reused.
    key: ClassKeyBuilder,
    /// The buffer each task's failed-on machines are read into, reused.
    failed_on: Vec<MachineId>,
    next_serial: u64,
    /// The scheduler's RNG stream, until the sampler takes it.
    rng: Option<SimRng>,
    sampler: Option<Sampler>,
    /// The scan offset shared by the class caches built in a pass.
    pass_start: Option<(u64, usize)>,
}

impl Scheduler {
    /// A scheduler drawing its random numbers (relaxed randomization) from
    /// `rng`, the scheduler's stream of the run. The FGD paper's policies
    /// draw their tie order and `random`'s choices from the streams of
    /// seed 0 here; a simulation builds its scheduler with its own seed's
    /// ([`Profile::for_config_seeded`]).
    pub fn new(config: SchedConfig, rng: SimRng) -> Self {
        Self::with_profile(config, Profile::for_config(&config), rng)
    }

    /// A scheduler running `profile` instead of the pipeline of
    /// `config.policy` (which then only names the run in reports).
    pub fn with_profile(config: SchedConfig, profile: Profile, rng: SimRng) -> Self {
        Scheduler {
            rng: Some(rng),
            sampler: None,
            pass_start: None,
            config,
            pipeline: Pipeline::with_profile(profile),
            stats: SchedStats::default(),
            why: BTreeMap::new(),
            caches: FxHashMap::default(),
            table: VerdictTable::new(0),
            key: ClassKeyBuilder::default(),
            failed_on: Vec::new(),
            next_serial: 0,
        }
    }

    pub fn config(&self) -> SchedConfig {
        self.config
    }

    pub fn stats(&self) -> &SchedStats {
        &self.stats
    }

    /// The typical pods the profile's FGD parts read (see
    /// [`Profile::typical_slot`]).
    pub fn typical_slot(&self) -> Option<&typical::TypicalSlot> {
        self.pipeline.profile().typical_slot()
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
        self.pass_with(st, now, actions, &mut explain::Unwatched);
    }

    /// [`Scheduler::pass`], telling `watch` about each task it comes to
    /// (see [`explain::PassWatch`]); with [`explain::Unwatched`], whose
    /// methods are empty, it compiles to the plain pass.
    fn pass_with<W: explain::PassWatch>(
        &mut self,
        st: &mut CellState,
        now: SimTime,
        actions: &mut Vec<Action>,
        watch: &mut W,
    ) {
        self.stats.passes += 1;
        for (_, order) in st.pending().scan_order() {
            let mut failed: FxHashSet<JobId> = FxHashSet::default();
            for (job, task) in order {
                if failed.contains(&job) {
                    self.stats.tasks_skipped_same_job += 1;
                    watch.skipped(self, st, now, task);
                    continue;
                }
                if !st.job(job).ever_schedulable {
                    failed.insert(job);
                    watch.skipped(self, st, now, task);
                    continue;
                }
                if st.held_back(task, now) {
                    // Backing off after an out-of-memory kill: not an
                    // attempt, and nothing said of its job's other tasks.
                    continue;
                }
                watch.before(self, st, now, task);
                let done = actions.len();
                let placed = self.try_place(st, now, task, actions);
                watch.after(self, st, now, task, (actions, done));
                // A task that failed with machines to avoid says nothing
                // of its job's other tasks, which may avoid fewer.
                if !placed && self.failed_on.is_empty() {
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
        match self.decide(st, task) {
            Outcome::Place(machine) => {
                let gpu = self
                    .pipeline
                    .profile()
                    .devices()
                    .choose(st, st.job(job), machine);
                st.place_on(now, task, machine, gpu);
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
                let gpu = self
                    .pipeline
                    .profile()
                    .devices()
                    .choose(st, st.job(job), plan.machine);
                st.place_on(now, task, plan.machine, gpu);
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

    /// The pipeline's decision for `task`, from a class cache when the
    /// techniques and the plugins allow, else from a scan of the cell.
    /// Leaves the machines it failed on in `self.failed_on`.
    fn decide(&mut self, st: &CellState, task: TaskId) -> Outcome {
        let mut failed_on = std::mem::take(&mut self.failed_on);
        st.failed_machines(task, &mut failed_on);
        let view = TaskView {
            failed_on: &failed_on,
            ..view_of(st, st.task(task).job, self.config.preemption)
        };
        let enough = self.enough_feasible(st.cell().len());
        // Taken out while in use, so that the key can be read while the
        // scheduler changes; put back for the next task (no allocation).
        let mut key = std::mem::take(&mut self.key);
        let outcome = if self.class_key(&view, &mut key) {
            self.decide_cached(st, &view, key.words(), enough)
        } else {
            self.scan_cell(st, &view, enough)
        };
        self.key = key;
        self.failed_on = failed_on;
        outcome
    }

    /// With relaxed randomization, how many machines that fit as is are
    /// enough (see [`sample::enough_feasible`]), the sampler made on first
    /// use; `None` when every machine is examined.
    fn enough_feasible(&mut self, machines: usize) -> Option<usize> {
        if !self.config.techniques.relaxed_randomization {
            return None;
        }
        if self.sampler.is_none() {
            let rng = self.rng.take().expect("the scheduler's RNG");
            self.sampler = Some(Sampler::new(rng, machines));
        }
        Some(sample::enough_feasible(machines))
    }

    /// Assembles the class key of `view`'s task into `key`; false if no
    /// class cache may serve the task (caches off, or a plugin cannot sign
    /// it). Without equivalence classes a class is one job's tasks.
    fn class_key(&self, view: &TaskView, key: &mut ClassKeyBuilder) -> bool {
        let t = self.config.techniques;
        if !(t.score_cache || t.equivalence_classes) {
            return false;
        }
        if self.pipeline.sign(view, key) == Signed::Unsignable {
            return false;
        }
        if !t.equivalence_classes {
            let _ = key.fragment(|k| {
                k.add(&view.job.id);
                Signed::Shareable
            });
        }
        true
    }

    /// The exhaustive pipeline: every machine in id order or, with relaxed
    /// randomization, a fresh sample from a random start.
    fn scan_cell(&mut self, st: &CellState, view: &TaskView, enough: Option<usize>) -> Outcome {
        let n = st.cell().len();
        match (enough, self.sampler.as_mut()) {
            (Some(k), Some(sampler)) => {
                let start = sampler.start();
                let sampler = &*sampler;
                let order = (0..n).map(|i| sampler.at(start, i));
                self.pipeline.scan(st, view, order, k, &mut self.stats)
            }
            _ => {
                let all = 0..n as MachineId;
                self.pipeline
                    .scan(st, view, all, usize::MAX, &mut self.stats)
            }
        }
    }

    /// The decision from the cache of the class `key`: brought up to date
    /// with the cell if the class has one, else built.
    fn decide_cached(
        &mut self,
        st: &CellState,
        view: &TaskView,
        key: &[u64],
        enough: Option<usize>,
    ) -> Outcome {
        // One lookup on the common path, a hit.
        let cache = match self.caches.get_mut(key) {
            Some(cache) => {
                let mut slots = self.table.column(cache.col());
                Self::refresh(cache, &mut slots, &self.pipeline, st, view, &mut self.stats);
                cache
            }
            None => {
                let cache = self.new_cache(st, view);
                self.caches.entry(key.into()).or_insert(cache)
            }
        };
        let scan = match (enough, self.sampler.as_ref()) {
            (Some(enough), Some(sampler)) => Scan::Sampled { sampler, enough },
            _ => Scan::All,
        };
        cache.last_pass = self.stats.passes;
        let mut slots = self.table.column(cache.col());
        let (outcome, seen) =
            cache.decide(&mut slots, &self.pipeline, st, view, &scan, &mut self.stats);
        self.stats.cache_misses += seen;
        outcome
    }

    /// Replays the cell's changes into an existing class cache, counting the
    /// verdicts it reuses and whether another job built it.
    fn refresh(
        cache: &mut ClassCache,
        slots: &mut ColumnMut,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        stats: &mut SchedStats,
    ) {
        debug_assert_eq!(
            cache.mask(),
            pipeline.filter_mask(view),
            "a filter's `applies` reads what its `sign` does not declare"
        );
        let examined = cache.examined() as u64;
        let misses = cache.sync(slots, pipeline, st, view, stats);
        stats.cache_misses += misses;
        stats.cache_hits += examined - misses;
        stats.class_cache_uses += 1;
        stats.equivalence_reuses += u64::from(cache.built_by != view.job.serial);
    }

    /// An empty cache for `view`'s class, room made for it in the budget.
    fn new_cache(&mut self, st: &CellState, view: &TaskView) -> ClassCache {
        let n = st.cell().len();
        if self.table.machines() != n {
            // First use: the table is made for the cell's size, fixed for
            // the run.
            assert!(
                self.caches.is_empty(),
                "the cell changed size under the caches"
            );
            self.table = VerdictTable::new(n);
        }
        Self::make_room(&mut self.caches, &mut self.table, n);
        let col = self.table.acquire();
        let start = self.scan_start();
        let mask = self.pipeline.filter_mask(view);
        let mut cache = ClassCache::new(st, view.job.id, start, mask, col);
        cache.serial = self.next_serial;
        self.next_serial += 1;
        self.stats.class_caches_built += 1;
        cache
    }

    /// Where a new class cache starts its scan. Every class cache built in a
    /// pass starts at the same random offset, so different task shapes look
    /// at the same machines and can share them, as they would in a full
    /// scan; 0 without relaxed randomization.
    fn scan_start(&mut self) -> usize {
        match (self.sampler.as_mut(), self.pass_start) {
            (Some(_), Some((pass, start))) if pass == self.stats.passes => start,
            (Some(sampler), _) => {
                let start = sampler.start();
                self.pass_start = Some((self.stats.passes, start));
                start
            }
            (None, _) => 0,
        }
    }

    /// Evicts the least recently used caches (by last pass, then creation
    /// order: deterministic) until one more cache of `n` machines fits the
    /// budget.
    fn make_room(caches: &mut FxHashMap<ClassKey, ClassCache>, table: &mut VerdictTable, n: usize) {
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
        release_where(caches, table, |c| drop.contains(&c.serial));
    }

    /// Drops caches that are no longer worth keeping and trims the cell's
    /// change log to what the remaining caches still need.
    fn retire_caches(&mut self, st: &mut CellState) {
        let pass = self.stats.passes;
        let keep_all = self.config.techniques.score_cache;
        release_where(&mut self.caches, &mut self.table, |c| {
            !keep_all || c.last_pass + CACHE_RETAIN_PASSES <= pass
        });
        debug_assert_eq!(
            self.table.taken(),
            self.caches.len(),
            "verdict table columns out of step with the caches"
        );
        let keep_from = self.caches.values().map(ClassCache::cursor).min();
        st.trim_changes(keep_from.unwrap_or_else(|| st.change_cursor()));
    }
}

/// Drops the caches `gone` selects, their table columns given back.
fn release_where(
    caches: &mut FxHashMap<ClassKey, ClassCache>,
    table: &mut VerdictTable,
    gone: impl Fn(&ClassCache) -> bool,
) {
    // Which caches go does not depend on the map's order, nor does what
    // releasing one does to the table (each bumps its own column).
    caches.retain(|_, c| {
        let keep = !gone(c);
        if !keep {
            table.release(c.col());
        }
        keep
    });
}
