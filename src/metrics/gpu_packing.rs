//! GPU packing under growing demand: the openb paper's metric.
//!
//! With one-by-one arrivals (nothing leaves), the x-axis is the GPU demand
//! that has arrived — every task tried so far, dropped ones included — as a
//! percentage of the cell's GPU capacity, and the y-axis is the share of GPU
//! capacity allocated at that moment. A policy that fragments GPUs falls
//! behind the diagonal early. Recorded by the driver after each scheduling
//! pass ([`GpuCurve`]), never read from the sampled time series: the
//! sampling interval changes no figure.

use super::round6;
use crate::cell::state::CellState;
use crate::sim::Simulation;
use crate::time::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// One point of the curve: the state after the first arrival with which
/// the arrived demand reached `demand_pct`.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub demand_pct: u32,
    pub gpu_alloc_pct: f64,
    pub time_s: u64,
    pub tasks_dropped: u64,
}

/// The curve, recorded by the driver after each scheduling pass of a
/// one-by-one replay (its arrival placed or dropped), so that it does not
/// depend on how often the time series is sampled.
#[derive(Clone, Debug, Default)]
pub struct GpuCurve {
    points: Vec<Point>,
}

impl GpuCurve {
    /// Adds a point for each whole percent of GPU capacity that the arrived
    /// demand has newly reached (a cell without GPUs has no curve).
    pub fn observe(&mut self, st: &CellState, now: SimTime) {
        let cap = st.cell().total_capacity().gpu_milli();
        if cap == 0 {
            return;
        }
        let l = st.ledger();
        // Demand in whole percent: floor(100 × submitted / capacity).
        let reached = (u128::from(l.gpu_milli_submitted) * 100 / u128::from(cap)) as u32;
        let alloc: u64 = l.gpu_milli_by_band.iter().sum();
        let next = self.points.last().map_or(1, |p| p.demand_pct + 1);
        for pct in next..=reached {
            self.points.push(Point {
                demand_pct: pct,
                gpu_alloc_pct: round6(alloc as f64 * 100.0 / cap as f64),
                time_s: now.as_us() / 1_000_000,
                tasks_dropped: l.tasks_dropped,
            });
        }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }
}

/// The summary figures.
#[derive(Clone, Debug, Serialize)]
pub struct GpuPacking {
    /// Allocated share of GPU capacity (%) when the arrived demand reached
    /// each of these percentages of it.
    pub gpu_alloc_pct_at_demand_pct: BTreeMap<u32, f64>,
    /// Tasks that arrived, and the share (%) that fit nowhere and were dropped.
    pub tasks_arrived: u64,
    pub tasks_dropped: u64,
    pub tasks_dropped_pct: f64,
    /// GPU tasks dropped (the share of GPU demand that could not be placed).
    pub gpu_milli_dropped_pct: f64,
}

/// The curve at every whole percentage of demand reached, or `None` if the
/// run is not a one-by-one replay on a cell with GPUs.
pub fn curve(sim: &Simulation) -> Option<Vec<Point>> {
    let report = sim.feed().report()?;
    let cap = sim.state().cell().total_capacity().gpu_milli();
    if report.mode != crate::sim::feed::ReplayKind::OneByOne || cap == 0 {
        return None;
    }
    Some(sim.gpu_curve().points().to_vec())
}

pub fn header() -> Vec<String> {
    ["demand_pct", "gpu_alloc_pct", "time_s", "tasks_dropped"]
        .map(String::from)
        .to_vec()
}

pub fn row(p: &Point) -> Vec<String> {
    vec![
        p.demand_pct.to_string(),
        format!("{:.6}", p.gpu_alloc_pct),
        p.time_s.to_string(),
        p.tasks_dropped.to_string(),
    ]
}

impl GpuPacking {
    pub fn of(sim: &Simulation) -> Option<GpuPacking> {
        let points = curve(sim)?;
        let st = sim.state();
        let l = st.ledger();
        let at = [50, 70, 80, 90, 100, 110, 120, 130]
            .into_iter()
            .filter_map(|pct| {
                let p = points.iter().find(|p| p.demand_pct == pct)?;
                Some((pct, p.gpu_alloc_pct))
            })
            .collect();
        let dropped_gpu = l.gpu_milli_never_started;
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                round6(a as f64 * 100.0 / b as f64)
            }
        };
        Some(GpuPacking {
            gpu_alloc_pct_at_demand_pct: at,
            tasks_arrived: l.tasks_submitted,
            tasks_dropped: l.tasks_dropped,
            tasks_dropped_pct: pct(l.tasks_dropped, l.tasks_submitted),
            gpu_milli_dropped_pct: pct(dropped_gpu, l.gpu_milli_submitted),
        })
    }
}
