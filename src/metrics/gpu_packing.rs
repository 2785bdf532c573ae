//! GPU packing under growing demand: the openb paper's metric.
//!
//! With one-by-one arrivals (nothing leaves), the x-axis is the GPU demand
//! that has arrived — every task tried so far, dropped ones included — as a
//! percentage of the cell's GPU capacity, and the y-axis is the share of GPU
//! capacity allocated at that moment. A policy that fragments GPUs falls
//! behind the diagonal early. Recorded by the driver after each scheduling
//! pass ([`GpuCurve`]), never read from the sampled time series: the
//! sampling interval changes no figure.
//!
//! The curve has a point per whole percent of demand, and the demand to
//! reach is the scenario's (`inflate_gpu_demand_pct`, any `u32`): its
//! points stream to `gpu_alloc.csv` as they are made ([`CsvStream`]), and
//! memory keeps only those `summary.json` reports ([`SUMMARY_DEMAND_PCT`]).

use super::gpu_paper::{Event, FragSum, PaperCurve};
use super::round6;
use super::stream::CsvStream;
use crate::cell::state::CellState;
use crate::error::Result;
use crate::sched::typical::TypicalPods;
use crate::sim::Simulation;
use crate::time::SimTime;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The demand percentages at which `summary.json` gives the allocation.
pub const SUMMARY_DEMAND_PCT: [u32; 8] = [50, 70, 80, 90, 100, 110, 120, 130];

/// One point of the curve, and one row of `gpu_alloc.csv` (the header is
/// these names): the state after the first arrival with which the arrived
/// demand reached `demand_pct`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Point {
    pub demand_pct: u32,
    #[serde(serialize_with = "six_decimals")]
    pub gpu_alloc_pct: f64,
    pub time_s: u64,
    pub tasks_dropped: u64,
}

/// `gpu_alloc.csv` writes percentages with six decimals (`12.500000`).
fn six_decimals<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:.6}"))
}

/// The curve, recorded by the driver after each scheduling pass of a
/// one-by-one replay (its arrival placed or dropped), so that it does not
/// depend on how often the time series is sampled.
#[derive(Debug, Default)]
pub struct GpuCurve {
    /// The last demand percentage reached (0: none yet).
    reached_pct: u32,
    /// The points at [`SUMMARY_DEMAND_PCT`].
    marks: BTreeMap<u32, f64>,
    out: Option<CsvStream<Point>>,
    /// Every event, bucketed as the paper's analysis reads them.
    paper: PaperCurve,
    /// The cell's fragmentation against the typical pods, once given.
    frag: Option<FragSum>,
}

impl GpuCurve {
    /// Writes every point to `out` from now on (before the first point).
    pub fn stream_to(&mut self, out: CsvStream<Point>) {
        assert_eq!(self.reached_pct, 0, "a curve streams from its first point");
        self.out = Some(out);
    }

    /// Whether the frag figures still wait for the workload's typical
    /// pods ([`GpuCurve::measure_frag`]): a cell with GPUs, not given yet.
    pub fn wants_typical(&self, st: &CellState) -> bool {
        self.frag.is_none() && st.cell().total_capacity().gpu_milli() > 0
    }

    /// Measures the cell's fragmentation against `typical` at every event
    /// from now on (the paper's frag amount and ratio).
    pub fn measure_frag(&mut self, typical: TypicalPods) {
        self.frag = Some(FragSum::new(typical));
    }

    /// The events bucketed as the paper's analysis reads them.
    pub fn paper(&self) -> &PaperCurve {
        &self.paper
    }

    /// Records the event for the paper's figures, and adds a point for
    /// each whole percent of GPU capacity that the arrived demand has
    /// newly reached (a cell without GPUs has no curve).
    pub fn observe(&mut self, st: &CellState, now: SimTime) -> Result<()> {
        let cap = st.cell().total_capacity().gpu_milli();
        if cap == 0 {
            return Ok(());
        }
        let l = st.ledger();
        self.paper.record(Event {
            arrived_milli: l.gpu_milli_submitted,
            used_milli: l.gpu_milli_by_band.iter().sum(),
            capacity_milli: cap,
            frag: self.frag.as_mut().map(|f| f.measure(st)),
        });
        // Demand in whole percent: floor(100 × submitted / capacity).
        let reached = (u128::from(l.gpu_milli_submitted) * 100 / u128::from(cap)) as u32;
        let alloc: u64 = l.gpu_milli_by_band.iter().sum();
        for pct in self.reached_pct.saturating_add(1)..=reached {
            let p = Point {
                demand_pct: pct,
                gpu_alloc_pct: round6(alloc as f64 * 100.0 / cap as f64),
                time_s: now.as_us() / 1_000_000,
                tasks_dropped: l.tasks_dropped,
            };
            if SUMMARY_DEMAND_PCT.contains(&pct) {
                self.marks.insert(pct, p.gpu_alloc_pct);
            }
            if let Some(out) = &mut self.out {
                out.put(&p)?;
            }
        }
        self.reached_pct = self.reached_pct.max(reached);
        Ok(())
    }

    /// The run is over: the file is complete.
    pub fn close(&mut self) -> Result<()> {
        match &mut self.out {
            Some(out) => out.finish(),
            None => Ok(()),
        }
    }

    /// The allocation at each of [`SUMMARY_DEMAND_PCT`] reached.
    pub fn marks(&self) -> &BTreeMap<u32, f64> {
        &self.marks
    }

    /// The last whole percentage of demand reached.
    pub fn reached_pct(&self) -> u32 {
        self.reached_pct
    }
}

/// The summary figures.
#[derive(Clone, Debug, Serialize)]
pub struct GpuPacking {
    /// Allocated share of GPU capacity (%) when the arrived demand reached
    /// each of these percentages of it.
    pub gpu_alloc_pct_at_demand_pct: BTreeMap<u32, f64>,
    /// The paper's reading of the same (`gpu_paper.rs`): the mean over
    /// the arrivals whose arrived % rounds to each percentage.
    pub gpu_alloc_pct_paper_at_demand_pct: BTreeMap<u32, f64>,
    /// The paper's frag amount (% of GPU capacity) and frag ratio (% of
    /// the free GPU milli), bucketed alike.
    pub frag_amount_pct_paper_at_demand_pct: BTreeMap<u32, f64>,
    pub frag_ratio_pct_paper_at_demand_pct: BTreeMap<u32, f64>,
    /// Tasks that arrived, and the share (%) that fit nowhere and were dropped.
    pub tasks_arrived: u64,
    pub tasks_dropped: u64,
    pub tasks_dropped_pct: f64,
    /// GPU tasks dropped (the share of GPU demand that could not be placed).
    pub gpu_milli_dropped_pct: f64,
}

/// True if the run has a curve: a one-by-one replay on a cell with GPUs
/// (known before the run, when its `gpu_alloc.csv` is opened).
pub fn applies(sim: &Simulation) -> bool {
    let one_by_one = sim
        .feed()
        .report()
        .is_some_and(|r| r.mode == crate::sim::feed::ReplayKind::OneByOne);
    one_by_one && sim.state().cell().total_capacity().gpu_milli() > 0
}

impl GpuPacking {
    pub fn of(sim: &Simulation) -> Option<GpuPacking> {
        if !applies(sim) {
            return None;
        }
        let st = sim.state();
        let l = st.ledger();
        let at = sim.gpu_curve().marks().clone();
        let dropped_gpu = l.gpu_milli_never_started;
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                round6(a as f64 * 100.0 / b as f64)
            }
        };
        let paper = |f: fn(&super::gpu_paper::PaperPoint) -> f64| -> BTreeMap<u32, f64> {
            SUMMARY_DEMAND_PCT
                .iter()
                .filter_map(|&x| Some((x, f(&sim.gpu_curve().paper().at(x)?))))
                .collect()
        };
        Some(GpuPacking {
            gpu_alloc_pct_at_demand_pct: at,
            gpu_alloc_pct_paper_at_demand_pct: paper(|p| p.gpu_alloc_pct),
            frag_amount_pct_paper_at_demand_pct: paper(|p| p.frag_amount_pct),
            frag_ratio_pct_paper_at_demand_pct: paper(|p| p.frag_ratio_pct),
            tasks_arrived: l.tasks_submitted,
            tasks_dropped: l.tasks_dropped,
            tasks_dropped_pct: pct(l.tasks_dropped, l.tasks_submitted),
            gpu_milli_dropped_pct: pct(dropped_gpu, l.gpu_milli_submitted),
        })
    }
}
