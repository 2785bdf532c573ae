//! The FGD paper's own figures of a one-by-one replay, beside borgsim's
//! (`gpu_packing.rs`): allocation, frag amount and frag ratio bucketed by
//! the arrived demand as the paper's analysis does it.
//!
//! borgsim's curve takes the state when the arrived demand *first*
//! reaches x % of GPU capacity. The paper (Weng et al., ATC 2023, its
//! simulator's analysis scripts) records every event — each pod tried,
//! placed or dropped — as `arrive% = round_half_even(arrived_milli / GPUs
//! / 10)` and `alloc% = round(used_milli / GPUs / 10, 2)`, both computed
//! in that float order, and reports at x the mean alloc% over the events
//! whose arrive% is x; when there are none, over those with x − 1 ≤
//! arrive% ≤ x + 1; rounded to 2 decimals. The two readings differ by
//! hundredths of a point.
//!
//! **Frag amount** is the same bucketing applied to the cell's
//! fragmentation against the workload's typical pods
//! (`sched::typical`): Σ over machines of F, as a percentage of GPU
//! capacity. **Frag ratio** is that fragmentation as a share of the
//! unallocated GPU milli (the paper's fragmentation rate: how much of
//! what is free the typical pods could not use), 0 when nothing is free.
//! Both are per-event means, rounded to 2 decimals like the allocation.
//!
//! The frag ratio is the paper simulator's own: after each pod its
//! cluster report (`ClusterGpuFragReport`) logs `100 · frag / idle`, frag
//! being the sum of six of its seven per-typical-pod buckets (all but
//! "satisfied") and idle the sum of all seven — each typical pod's weight
//! splits a machine's free GPU milli between the buckets and the weights
//! sum to 1, so idle is the cell's free GPU milli — and its analysis
//! (`merge_frag_ratio_discrete.py`) takes the mean of that over the
//! events in the bucket, as here. Checked against its published per-seed
//! frag-ratio rows in `reports/FGD.md`.

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::typical::TypicalPods;

/// The running sums of the events in one arrive% bucket.
#[derive(Clone, Debug, Default)]
struct Bucket {
    events: u64,
    /// Σ alloc% in hundredths (each event's alloc% rounded as the paper's).
    alloc_hundredths: u64,
    /// Σ frag amount %, and Σ frag ratio %, unrounded.
    frag_amount_pct: f64,
    frag_ratio_pct: f64,
}

/// The paper's figures at one arrived demand x.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperPoint {
    /// Mean allocated share of GPU capacity, %, 2 decimals.
    pub gpu_alloc_pct: f64,
    /// Mean fragmentation (typical pods), % of GPU capacity, 2 decimals.
    pub frag_amount_pct: f64,
    /// Mean fragmentation as a share of the free GPU milli, %, 2 decimals.
    pub frag_ratio_pct: f64,
}

/// The per-event buckets of a run, indexed by arrive%.
#[derive(Clone, Debug, Default)]
pub struct PaperCurve {
    buckets: Vec<Bucket>,
}

/// One event, as the paper's analysis reads it.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// GPU milli of every task tried so far, dropped ones included.
    pub arrived_milli: u64,
    /// GPU milli allocated now.
    pub used_milli: u64,
    /// The cell's GPU capacity, milli (a positive multiple of 1000).
    pub capacity_milli: u64,
    /// Σ over machines of F × the typical pods' total count, and that
    /// total (see `TypicalPods::fragmentation`); `None`: not measured.
    pub frag: Option<(u128, u64)>,
}

/// `x` rounded to 2 decimals on its exact binary value, ties to even
/// (Python's `round(x, 2)`), in hundredths.
pub fn round2_hundredths(x: f64) -> i64 {
    // Rust formats a float's exact value, ties to even: "12.34".
    let s = format!("{x:.2}");
    s.replace('.', "").parse().unwrap_or(0)
}

/// `x` rounded as [`round2_hundredths`], as a number.
pub fn round2(x: f64) -> f64 {
    round2_hundredths(x) as f64 / 100.0
}

impl PaperCurve {
    /// Records one event (see the module doc for the arithmetic).
    pub fn record(&mut self, e: Event) {
        let gpus = (e.capacity_milli / 1000) as f64;
        let arrive = (e.arrived_milli as f64 / gpus / 10.0).round_ties_even() as usize;
        let alloc = round2_hundredths(e.used_milli as f64 / gpus / 10.0);
        if self.buckets.len() <= arrive {
            self.buckets.resize(arrive + 1, Bucket::default());
        }
        let b = &mut self.buckets[arrive];
        b.events += 1;
        b.alloc_hundredths += alloc.max(0) as u64;
        if let Some((f, total)) = e.frag {
            let f = f as f64 / total.max(1) as f64;
            b.frag_amount_pct += f / e.capacity_milli as f64 * 100.0;
            let free = e.capacity_milli.saturating_sub(e.used_milli);
            if free > 0 {
                b.frag_ratio_pct += f / free as f64 * 100.0;
            }
        }
    }

    /// The figures at arrived demand `x` %: the events whose arrive% is
    /// x, or else those within x ± 1; `None` if there are none.
    pub fn at(&self, x: u32) -> Option<PaperPoint> {
        let x = x as usize;
        let exact = self.buckets.get(x).filter(|b| b.events > 0);
        let chosen: Vec<&Bucket> = match exact {
            Some(b) => vec![b],
            None => (x.saturating_sub(1)..=x + 1)
                .filter_map(|i| self.buckets.get(i))
                .collect(),
        };
        let n: u64 = chosen.iter().map(|b| b.events).sum();
        if n == 0 {
            return None;
        }
        let alloc: u64 = chosen.iter().map(|b| b.alloc_hundredths).sum();
        let amount: f64 = chosen.iter().map(|b| b.frag_amount_pct).sum();
        let ratio: f64 = chosen.iter().map(|b| b.frag_ratio_pct).sum();
        Some(PaperPoint {
            gpu_alloc_pct: round2(alloc as f64 / 100.0 / n as f64),
            frag_amount_pct: round2(amount / n as f64),
            frag_ratio_pct: round2(ratio / n as f64),
        })
    }
}

/// Σ over machines of F × total: each machine's fragmentation kept and
/// recomputed only when its `seq` moved (one machine per event in a
/// one-by-one replay). The machines to look at come from the cell's change
/// log while it reaches back to the last measure, so a measure costs the
/// machines changed since, not the cell.
#[derive(Clone, Debug)]
pub struct FragSum {
    typical: TypicalPods,
    seqs: Vec<u64>,
    frags: Vec<u64>,
    sum: u128,
    /// The change log's position at the last measure.
    cursor: Option<u64>,
}

impl FragSum {
    pub fn new(typical: TypicalPods) -> Self {
        FragSum {
            typical,
            seqs: Vec::new(),
            frags: Vec::new(),
            sum: 0,
            cursor: None,
        }
    }

    /// Σ F × total over the cell's machines now, and that total.
    pub fn measure(&mut self, st: &CellState) -> (u128, u64) {
        let n = st.machines().len();
        if self.frags.len() != n {
            self.seqs = vec![u64::MAX; n];
            self.frags = vec![0; n];
            self.sum = 0;
            self.cursor = None;
        }
        match self.cursor.and_then(|c| st.changes_since(c)) {
            Some(changed) => changed.iter().for_each(|&m| self.update(st, m)),
            None => (0..n as MachineId).for_each(|m| self.update(st, m)),
        }
        self.cursor = Some(st.change_cursor());
        (self.sum, self.typical.total())
    }

    /// Recomputes machine `m`'s term if it changed since.
    fn update(&mut self, st: &CellState, m: MachineId) {
        let (i, seq) = (m as usize, st.machine_seq(m));
        if self.seqs[i] == seq {
            return;
        }
        let ms = st.machine(m);
        let attrs = &st.cell().machines[i].attrs;
        let f = self
            .typical
            .fragmentation(attrs, ms.free.cpu_milli, &ms.gpu_free_milli);
        self.sum = self.sum - u128::from(self.frags[i]) + u128::from(f);
        self.frags[i] = f;
        self.seqs[i] = seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frag_sum_from_the_change_log_equals_a_fresh_scan() {
        use crate::cell::resources::{GpuRequest, Request, Resources};
        use crate::sched::typical::TypicalSource;
        use crate::testkit::{cell, occupy};
        // Typical pods: one whole GPU with 4000 m of CPU: a machine with
        // less than 4000 m free has all its free GPU as fragment.
        let req = Request {
            res: Resources::new(4000, 1024),
            gpu: GpuRequest::Whole(1),
        };
        let typical = || TypicalPods::from_tasks(TypicalSource::PodList, [(req, &[][..])]);
        let mut st = cell(&[(8000, 8192, 2), (8000, 8192, 2), (8000, 8192, 1)]);
        let mut kept = FragSum::new(typical());
        let fresh = |st: &CellState| FragSum::new(typical()).measure(st);
        assert_eq!(kept.measure(&st), fresh(&st));
        for (step, m) in [1u32, 1, 0, 2, 1].into_iter().enumerate() {
            occupy(&mut st, m, 2500, 100, 0);
            if step == 3 {
                // The log no longer reaches back: a full scan.
                st.trim_changes(st.change_cursor());
            }
            assert_eq!(kept.measure(&st), fresh(&st), "step {step}");
        }
        // Machine 1 ran three tasks: 8000 − 3 × 2500 = 500 m free, below
        // 4000, so its 2 idle GPUs are fragment (2 × 1000 milli); 0 and 2
        // (5500 m free each) fragment nothing.
        assert_eq!(kept.measure(&st).0, 2000);
    }

    fn event(arrived_milli: u64, used_milli: u64) -> Event {
        Event {
            arrived_milli,
            used_milli,
            capacity_milli: 4000,
            frag: None,
        }
    }

    #[test]
    fn python_rounding_to_two_decimals() {
        // 0.125 is exact in binary: a tie, to even → 0.12; 0.375 → 0.38.
        assert_eq!(round2_hundredths(0.125), 12);
        assert_eq!(round2_hundredths(0.375), 38);
        // 2.675 is 2.67499999… in binary: down, as Python's round.
        assert_eq!(round2_hundredths(2.675), 267);
        assert_eq!(round2(92.345_001), 92.35);
    }

    #[test]
    fn the_mean_over_the_events_whose_arrived_percent_rounds_to_x() {
        // 4 GPUs. arrive% = arrived / 4 / 10: 3980 → 99.5 → 100 (ties to
        // even), 4000 → 100, 4019 → 100.475 → 100, 4020 → 100.5 → 100
        // (even), 4060 → 101.5 → 102.
        let mut c = PaperCurve::default();
        // alloc% = used / 4 / 10: 3700 → 92.5, 3701 → 92.525 (in binary
        // 92.52500000000000568…) → 92.53, 3720 → 93.0.
        c.record(event(3980, 3700));
        c.record(event(4000, 3701));
        c.record(event(4019, 3720));
        c.record(event(4020, 3720));
        c.record(event(4060, 3720));
        // x = 100: (92.50 + 92.53 + 93.00 + 93.00) / 4 = 92.7575 → 92.76.
        assert_eq!(c.at(100).unwrap().gpu_alloc_pct, 92.76);
        // x = 101: no event; x ± 1 = 100 and 102: the five events,
        // (92.50 + 92.53 + 3 × 93.00) / 5 = 92.806 → 92.81.
        assert_eq!(c.at(101).unwrap().gpu_alloc_pct, 92.81);
        // x = 102: the one event there; x = 104: nothing within 1.
        assert_eq!(c.at(102).unwrap().gpu_alloc_pct, 93.0);
        assert_eq!(c.at(104), None);
    }

    #[test]
    fn frag_amount_and_ratio_are_per_event_means() {
        // 4 GPUs (4000 milli). Event 1: F × total = 600 over total 2 →
        // F = 300 milli: amount 300 / 4000 = 7.5 %; free 4000 − 1000 =
        // 3000: ratio 10 %. Event 2 (same bucket): F = 0, nothing free:
        // amount 0, ratio 0 (nothing free). Means: 3.75 %, 5 %.
        let mut c = PaperCurve::default();
        let mut e = event(2000, 1000);
        e.frag = Some((600, 2));
        c.record(e);
        let mut e = event(2001, 4000);
        e.frag = Some((0, 2));
        c.record(e);
        let p = c.at(50).unwrap();
        assert_eq!((p.frag_amount_pct, p.frag_ratio_pct), (3.75, 5.0));
    }
}
