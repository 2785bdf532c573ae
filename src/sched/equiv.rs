//! Equivalence classes and score caching (Borg paper §3.4).
//!
//! **Equivalence classes.** Tasks with the same class key get the same
//! filter verdicts and scores on every machine, so one [`ClassCache`] serves
//! them all: feasibility and scoring are done once per class, not once per
//! task. The key is what the profile's plugins declare they read of a task,
//! assembled by [`super::class_key`] — under the shipped policies the
//! request, constraints and preemption threshold — so a plugin added to a
//! profile splits classes by what it reads, without a change here. A task
//! that a plugin cannot sign (a job with spread limits: its verdicts depend
//! on where the job's own tasks run) gets no cache.
//!
//! **Score caching.** A class cache keeps each machine's verdict (rejection
//! reason, needs-preemption, or score) together with the machine's change
//! sequence number, and is kept from one pass to the next. Before it is used,
//! it replays the cell's change log ([`CellState::changes_since`]) and
//! re-evaluates only the machines that changed since. The tolerance is zero:
//! any change to a machine invalidates its entries, so cached decisions are
//! exactly those of the exhaustive pipeline.
//!
//! The machines that fit as is are kept in a max-heap ordered by (score,
//! then machine id reversed): its top is the exhaustive pipeline's choice
//! (highest score, lowest id on ties). Re-scored machines are pushed anew and
//! their old entries dropped lazily when they surface, which is cheaper than
//! an ordered set's remove-and-insert for every change.
//! Machines that fit only with evictions are kept in id order, and the
//! rejections are counted per reason, so preemption and "why pending" see
//! exactly what a full scan would.
//!
//! **Relaxed randomization** (see [`super::sample`]) makes a cache examine
//! machines in the sampler's order from a random start (shared by the caches
//! built in one pass), only until enough fit
//! as is; it examines more when too few of those still fit, and everything
//! before it declares a task unschedulable.

use super::pipeline::{Outcome, Pipeline, Verdict};
use super::plugin::TaskView;
use super::reason::ReasonCounts;
use super::sample::Sampler;
use super::SchedStats;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::workload::JobId;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// One class's verdicts on the machines it has examined — every machine,
/// or with relaxed randomization a prefix of the scan order — kept current
/// through the change log.
pub struct ClassCache {
    /// Per machine: the machine's `seq` when evaluated, and the verdict
    /// (`None`: not examined).
    verdicts: Vec<(u64, Option<Verdict>)>,
    /// Machines that fit as is, as (score, id reversed, machine seq): a
    /// max-heap whose top is the best score with the lowest id. Entries are
    /// removed lazily: one whose seq no longer matches the machine's verdict
    /// is stale and skipped when it reaches the top.
    ranked: BinaryHeap<(u64, Reverse<MachineId>, u64)>,
    /// How many machines currently fit as is (live entries of `ranked`).
    fitting: usize,
    preempt: BTreeSet<MachineId>,
    counts: ReasonCounts,
    /// Scan order offset and how many machines of the order were examined.
    start: usize,
    examined: usize,
    /// Position in the cell's change log up to which this cache is current.
    cursor: u64,
    /// The last pass that used it, and the job (serial) that built it.
    pub last_pass: u64,
    pub built_by: u64,
    /// Creation order, for deterministic eviction of old caches.
    pub serial: u64,
    /// The class's filter mask (see [`Pipeline::filter_mask`]).
    mask: u32,
}

/// How a cache chooses the machines it examines.
pub enum Scan<'a> {
    /// Every machine, in id order: decisions equal the exhaustive pipeline's.
    All,
    /// The sampler's order from a fixed start, until `enough` fit as is.
    Sampled { sampler: &'a Sampler, enough: usize },
}

impl ClassCache {
    /// An empty cache; [`ClassCache::decide`] examines what it needs.
    pub fn new(st: &CellState, job: JobId, start: usize, mask: u32) -> Self {
        ClassCache {
            verdicts: vec![(0, None); st.cell().len()],
            ranked: BinaryHeap::new(),
            fitting: 0,
            preempt: BTreeSet::new(),
            counts: ReasonCounts::default(),
            start,
            examined: 0,
            cursor: st.change_cursor(),
            last_pass: 0,
            built_by: st.job(job).serial,
            serial: 0,
            mask,
        }
    }

    /// The number of machines it has room for.
    pub fn len(&self) -> usize {
        self.verdicts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }

    /// Its offset in the scan order (relaxed randomization; 0 otherwise).
    pub fn start(&self) -> usize {
        self.start
    }

    /// How many machines it has examined.
    pub fn examined(&self) -> usize {
        self.examined
    }

    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The class's filter mask, fixed when the cache was built.
    pub fn mask(&self) -> u32 {
        self.mask
    }

    /// Re-evaluates the examined machines changed since the cache was last
    /// current (all examined ones if the change log no longer reaches back
    /// that far). Returns how many were re-evaluated.
    pub fn sync(
        &mut self,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        stats: &mut SchedStats,
    ) -> u64 {
        let all: Vec<MachineId>;
        let changed = match st.changes_since(self.cursor) {
            Some(c) => c,
            None => {
                all = (0..st.cell().len() as MachineId).collect();
                &all
            }
        };
        let mut misses = 0;
        for &m in changed {
            let seq = st.machine(m).seq;
            let (old_seq, old) = self.verdicts[m as usize];
            let Some(old) = old else {
                continue; // never examined
            };
            if old_seq == seq {
                continue; // unchanged, or already re-evaluated after this change
            }
            let v = pipeline.verdict_with(st, view, self.mask, m, stats);
            self.remove(m, old);
            self.verdicts[m as usize] = (seq, Some(v));
            self.insert(m, seq, v);
            misses += 1;
        }
        self.cursor = st.change_cursor();
        if self.ranked.len() > 2 * self.fitting + 1024 {
            self.compact();
        }
        misses
    }

    /// Examines more machines, in scan order, until `enough` fit as is or
    /// all are examined. Returns how many it examined.
    fn extend(
        &mut self,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        scan: &Scan,
        stats: &mut SchedStats,
    ) -> u64 {
        let n = self.verdicts.len();
        let mut seen = 0;
        while self.examined < n {
            let m = match scan {
                Scan::All => self.examined as MachineId,
                Scan::Sampled { sampler, enough } => {
                    if self.fitting >= *enough {
                        break;
                    }
                    sampler.at(self.start, self.examined)
                }
            };
            let v = pipeline.verdict_with(st, view, self.mask, m, stats);
            let seq = st.machine(m).seq;
            self.verdicts[m as usize] = (seq, Some(v));
            self.insert(m, seq, v);
            self.examined += 1;
            seen += 1;
        }
        seen
    }

    /// The decision for a task of this class now. Requires a sync. Returns
    /// it with the number of machines newly examined.
    pub fn decide(
        &mut self,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        scan: &Scan,
        stats: &mut SchedStats,
    ) -> (Outcome, u64) {
        debug_assert_eq!(self.cursor, st.change_cursor(), "decide after sync");
        let seen = self.extend(pipeline, st, view, scan, stats);
        if let Some(m) = self.best() {
            return (Outcome::Place(m), seen);
        }
        debug_assert_eq!(
            self.examined,
            self.verdicts.len(),
            "nothing fits: all examined"
        );
        let candidates: Vec<MachineId> = self.preempt.iter().copied().collect();
        let out = pipeline.decide_without_free(st, view, &candidates, self.counts.clone(), stats);
        (out, seen)
    }

    /// The fitting machine with the best score (lowest id on ties),
    /// dropping stale heap entries on the way.
    fn best(&mut self) -> Option<MachineId> {
        while let Some(&(s, Reverse(m), seq)) = self.ranked.peek() {
            if self.verdicts[m as usize] == (seq, Some(Verdict::Free(s))) {
                return Some(m);
            }
            self.ranked.pop();
        }
        debug_assert_eq!(self.fitting, 0, "live entries lost");
        None
    }

    /// Rebuilds the heap from the live verdicts.
    fn compact(&mut self) {
        let live: Vec<_> = self
            .verdicts
            .iter()
            .enumerate()
            .filter_map(|(m, &(seq, v))| match v {
                Some(Verdict::Free(s)) => Some((s, Reverse(m as MachineId), seq)),
                _ => None,
            })
            .collect();
        debug_assert_eq!(live.len(), self.fitting);
        self.ranked = BinaryHeap::from(live);
    }

    fn insert(&mut self, m: MachineId, seq: u64, v: Verdict) {
        match v {
            Verdict::Reject(r) => self.counts.add(r),
            Verdict::Preempt => {
                self.preempt.insert(m);
            }
            Verdict::Free(s) => {
                self.ranked.push((s, Reverse(m), seq));
                self.fitting += 1;
            }
        }
    }

    /// Takes an old verdict out of the tallies (a fitting machine's heap
    /// entry goes stale by itself).
    fn remove(&mut self, m: MachineId, v: Verdict) {
        let found = match v {
            Verdict::Reject(r) => self.counts.sub(r),
            Verdict::Preempt => self.preempt.remove(&m),
            Verdict::Free(_) => match self.fitting.checked_sub(1) {
                Some(f) => {
                    self.fitting = f;
                    true
                }
                None => false,
            },
        };
        assert!(found, "cache entry of machine {m} out of step");
    }
}
