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
//! their old entries dropped lazily when they surface. Placements make the
//! changed machine the likely best again (best fit) and most re-scored
//! machines are far from the top, so this beats an indexed structure that
//! is rewritten on every change: a tournament tree over the machines cost
//! 9 % more instructions on churn-1k (reports/BENCHMARKS.md).
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
use super::reason::{Reason, ReasonCounts};
use super::sample::Sampler;
use super::verdicts::ColumnMut;
pub use super::verdicts::Slot;
use super::SchedStats;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::workload::JobId;
use std::collections::{BTreeSet, BinaryHeap};

/// One class's verdicts on the machines it has examined — every machine,
/// or with relaxed randomization a prefix of the scan order — kept current
/// through the change log.
pub struct ClassCache {
    /// Its column of the scheduler's [`super::verdicts::VerdictTable`]
    /// (the `slots` its methods are given): per machine, the machine's
    /// `seq` when evaluated, and the kind of verdict (a fitting machine's
    /// score is in `ranked`).
    col: usize,
    /// Machines in the cell.
    machines: usize,
    /// Machines that fit as is, as entries (score, id reversed, machine
    /// seq) packed in one `u128` (see `mod entry`): a max-heap whose top is the best score with the
    /// lowest id. Entries are removed lazily: one whose seq no longer
    /// matches the machine's slot is stale and skipped when it reaches the
    /// top. 16 bytes an entry, not 24: the heap is walked on every pop.
    ranked: BinaryHeap<u128>,
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
    /// An empty cache keeping its verdicts in column `col` of the table
    /// (every slot "not examined"); [`ClassCache::decide`] examines what it
    /// needs.
    pub fn new(st: &CellState, job: JobId, start: usize, mask: u32, col: usize) -> Self {
        ClassCache {
            col,
            machines: st.cell().len(),
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
        self.machines
    }

    pub fn is_empty(&self) -> bool {
        self.machines == 0
    }

    /// Its offset in the scan order (relaxed randomization; 0 otherwise).
    pub fn start(&self) -> usize {
        self.start
    }

    /// How many machines it has examined.
    pub fn examined(&self) -> usize {
        self.examined
    }

    /// Its column of the verdict table.
    pub fn col(&self) -> usize {
        self.col
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
        slots: &mut ColumnMut,
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
            let old = slots.get(m);
            if old == Slot::UNEXAMINED {
                continue;
            }
            let seq = st.machine_seq(m);
            if old.seq() == seq {
                continue; // unchanged, or already re-evaluated after this change
            }
            let v = pipeline.verdict_with(st, view, self.mask, m, stats);
            self.remove(m, old);
            self.record(slots, m, seq, v);
            misses += 1;
        }
        self.cursor = st.change_cursor();
        if self.ranked.len() > 2 * self.fitting + 1024 {
            self.compact(slots);
        }
        misses
    }

    /// Examines more machines, in scan order, until `enough` fit as is or
    /// all are examined. Returns how many it examined.
    fn extend(
        &mut self,
        slots: &mut ColumnMut,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        scan: &Scan,
        stats: &mut SchedStats,
    ) -> u64 {
        let n = self.machines;
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
            self.record(slots, m, st.machine_seq(m), v);
            self.examined += 1;
            seen += 1;
        }
        seen
    }

    /// The decision for a task of this class now. Requires a sync. Returns
    /// it with the number of machines newly examined.
    pub fn decide(
        &mut self,
        slots: &mut ColumnMut,
        pipeline: &Pipeline,
        st: &CellState,
        view: &TaskView,
        scan: &Scan,
        stats: &mut SchedStats,
    ) -> (Outcome, u64) {
        debug_assert_eq!(self.cursor, st.change_cursor(), "decide after sync");
        let seen = self.extend(slots, pipeline, st, view, scan, stats);
        if let Some(m) = self.best(slots) {
            return (Outcome::Place(m), seen);
        }
        debug_assert_eq!(self.examined, self.machines, "nothing fits: all examined");
        let candidates: Vec<MachineId> = self.preempt.iter().copied().collect();
        let out = pipeline.decide_without_free(st, view, &candidates, self.counts.clone(), stats);
        (out, seen)
    }

    /// The fitting machine with the best score (lowest id on ties),
    /// dropping stale heap entries on the way.
    fn best(&mut self, slots: &ColumnMut) -> Option<MachineId> {
        while let Some(&e) = self.ranked.peek() {
            let (m, seq) = entry::machine_seq(e);
            if slots.get(m) == Slot::free(seq) {
                return Some(m);
            }
            self.ranked.pop();
        }
        debug_assert_eq!(self.fitting, 0, "live entries lost");
        None
    }

    /// Rebuilds the heap from its live entries.
    fn compact(&mut self, slots: &ColumnMut) {
        let mut entries = std::mem::take(&mut self.ranked).into_vec();
        entries.retain(|&e| {
            let (m, seq) = entry::machine_seq(e);
            slots.get(m) == Slot::free(seq)
        });
        debug_assert_eq!(entries.len(), self.fitting);
        self.ranked = BinaryHeap::from(entries);
    }

    /// Records machine `m`'s new verdict, evaluated at its `seq`.
    fn record(&mut self, slots: &mut ColumnMut, m: MachineId, seq: u64, v: Verdict) {
        slots.set(m, Slot::new(seq, v));
        match v {
            Verdict::Reject(r) => self.counts.add(r),
            Verdict::Preempt => {
                self.preempt.insert(m);
            }
            Verdict::Free(s) => {
                self.ranked.push(entry::new(s, m, seq));
                self.fitting += 1;
            }
        }
    }

    /// Takes an old verdict out of the tallies (a fitting machine's heap
    /// entry goes stale by itself).
    fn remove(&mut self, m: MachineId, old: Slot) {
        let found = match old.kind() {
            SlotKind::Reject(r) => self.counts.sub(r),
            SlotKind::Preempt => self.preempt.remove(&m),
            SlotKind::Free => match self.fitting.checked_sub(1) {
                Some(f) => {
                    self.fitting = f;
                    true
                }
                None => false,
            },
            SlotKind::Unexamined => false,
        };
        assert!(found, "cache entry of machine {m} out of step");
    }
}

/// A heap entry: score (high 64 bits), machine id reversed (`!m`, the
/// next 32), machine seq (low 32). Ordered as `(score, Reverse(m), seq)`
/// would be: the greatest is the best score, then the lowest id.
mod entry {
    use crate::cell::MachineId;

    pub fn new(score: u64, m: MachineId, seq: u64) -> u128 {
        debug_assert!(seq <= u64::from(u32::MAX), "seq {seq} beyond 32 bits");
        u128::from(score) << 64 | u128::from(!m) << 32 | u128::from(seq)
    }

    pub fn machine_seq(e: u128) -> (MachineId, u64) {
        (!((e >> 32) as u32), u64::from(e as u32))
    }
}

// A `Slot` holds a machine's `seq` when its verdict was taken (low 56
// bits, at most 2^32 − 1: heap entries keep 32) and the verdict's kind
// (high 8 bits: 0 not examined, 1 fits as is, 2 fits with evictions,
// 3 + r rejected for reason r), in 8 bytes: the slots of every class cache
// are read on each change replay.

enum SlotKind {
    Unexamined,
    Free,
    Preempt,
    Reject(Reason),
}

const SEQ_BITS: u32 = 56;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
/// The most changes of one machine a class cache follows (2^32 − 1).
const SEQ_MAX: u64 = u32::MAX as u64;

impl Slot {
    const UNEXAMINED: Slot = Slot(0);

    /// # Panics
    /// If `seq` needs more than 32 bits (2^32 changes of one machine, a
    /// run of more than 4 billion events).
    fn new(seq: u64, v: Verdict) -> Slot {
        assert!(
            seq <= SEQ_MAX,
            "machine change count {seq} beyond 2^32 - 1, the most a class cache follows"
        );
        let kind: u64 = match v {
            Verdict::Free(_) => return Slot::free(seq),
            Verdict::Preempt => 2,
            Verdict::Reject(r) => 3 + r as u64,
        };
        Slot(kind << SEQ_BITS | seq)
    }

    /// A fitting machine's slot, evaluated at `seq`.
    fn free(seq: u64) -> Slot {
        Slot(1 << SEQ_BITS | seq)
    }

    fn seq(self) -> u64 {
        self.0 & SEQ_MASK
    }

    fn kind(self) -> SlotKind {
        match self.0 >> SEQ_BITS {
            0 => SlotKind::Unexamined,
            1 => SlotKind::Free,
            2 => SlotKind::Preempt,
            k => SlotKind::Reject(Reason::ALL[(k - 3) as usize]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;

    /// The slot's kind as the verdict it stands for (a free one's score is
    /// in the heap, so 0 here).
    fn verdict_of(s: Slot) -> Option<Verdict> {
        match s.kind() {
            SlotKind::Unexamined => None,
            SlotKind::Free => Some(Verdict::Free(0)),
            SlotKind::Preempt => Some(Verdict::Preempt),
            SlotKind::Reject(r) => Some(Verdict::Reject(r)),
        }
    }

    #[test]
    fn a_slot_gives_back_its_seq_and_kind() {
        // Every kind at the seqs' edges: 0 (a machine never changed, which
        // must still differ from "not examined") and 2^56 − 1.
        let mut kinds: Vec<Verdict> = Reason::ALL.iter().map(|&r| Verdict::Reject(r)).collect();
        kinds.extend([Verdict::Preempt, Verdict::Free(0), Verdict::Free(u64::MAX)]);
        for seq in [0, 1, 12_345, SEQ_MAX - 1, SEQ_MAX] {
            let mut seen = Vec::new();
            for &v in &kinds {
                let s = Slot::new(seq, v);
                assert_ne!(s, Slot::UNEXAMINED, "{v:?} at {seq}");
                assert_eq!(s.seq(), seq, "{v:?}");
                let want = match v {
                    Verdict::Free(_) => Verdict::Free(0),
                    other => other,
                };
                assert_eq!(verdict_of(s), Some(want), "at {seq}");
                // A fitting machine's slot is `free(seq)` whatever its
                // score: what the heap's staleness check compares.
                assert_eq!(s == Slot::free(seq), matches!(v, Verdict::Free(_)));
                seen.push(s);
            }
            // Kinds stay apart: Free twice (two scores), the rest once.
            seen.sort_unstable_by_key(|s| s.0);
            seen.dedup();
            assert_eq!(seen.len(), kinds.len() - 1);
        }
        assert!(verdict_of(Slot::UNEXAMINED).is_none());
        // One seq apart is another slot: an entry from before a change is stale.
        assert_ne!(Slot::free(SEQ_MAX - 1), Slot::free(SEQ_MAX));
    }

    #[test]
    fn entries_order_as_score_then_lowest_id() {
        // As the tuples (score, Reverse(m), seq) they stand for.
        let cases = [
            (0, 0, 0),
            (0, 1, 5),
            (7, 0, SEQ_MAX),
            (7, 3, 0),
            (7, MachineId::MAX, 1),
            (u64::MAX, 2, 9),
            (u64::MAX, 2, 10),
        ];
        for &(s1, m1, q1) in &cases {
            let e1 = entry::new(s1, m1, q1);
            assert_eq!(entry::machine_seq(e1), (m1, q1));
            for &(s2, m2, q2) in &cases {
                let e2 = entry::new(s2, m2, q2);
                assert_eq!(
                    e1.cmp(&e2),
                    (s1, Reverse(m1), q1).cmp(&(s2, Reverse(m2), q2)),
                    "{:?} vs {:?}",
                    (s1, m1, q1),
                    (s2, m2, q2)
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "beyond 2^32 - 1")]
    fn a_seq_beyond_32_bits_is_refused() {
        let _ = Slot::new(SEQ_MAX + 1, Verdict::Preempt);
    }
}
