//! What the summary's steady-state window needs of a run's allocation
//! history, kept exactly and in bounded memory, whatever the sampler does.
//!
//! A drained run has a ramp-up and a drain around the stretch a planner
//! cares about, so its whole-run utilisation understates what the cell held
//! while it was busy (churn-10k: about half of the ~70 % it holds at
//! steady state). The window (default) runs from the first instant the
//! cell's CPU allocation reaches its time-weighted median (over the time it
//! holds anything) to the last arrival; a scenario may fix either end instead
//! (`steady_state = { start_s, end_s }`).
//!
//! Everything is integer and taken at [`super::CellState::advance`], which
//! every mutator calls before it changes anything: the allocation level is
//! constant between two calls, so the time spent at each level and the first
//! instant each level was reached are exact, and the allocation areas at any
//! instant inside an interval follow by linear extension. Memory: one `u64`
//! per basis point of CPU allocation (10,001) plus one snapshot per level
//! reached — about 1 MiB at most.

use crate::time::SimTime;
use crate::workload::Band;

/// Basis points in a whole (100 %).
pub const LEVELS_BP: u64 = 10_000;

/// ∫ allocation dt, prod then non-prod, in (milli-core·µs, MiB·µs,
/// GPU-milli·µs).
pub type Areas = [[u128; 3]; 2];

/// Allocation rates, prod then non-prod, in (milli-cores, MiB, GPU milli).
pub type Rates = [[u64; 3]; 2];

/// An instant and the allocation areas up to it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub time: SimTime,
    pub areas: Areas,
}

impl Snapshot {
    /// The snapshot `dt_us` later at constant `rates`.
    fn extended(&self, rates: &Rates, dt_us: u64) -> Snapshot {
        let mut areas = self.areas;
        for (a, r) in areas.iter_mut().zip(rates) {
            for (x, y) in a.iter_mut().zip(r) {
                *x += u128::from(*y) * u128::from(dt_us);
            }
        }
        Snapshot {
            time: SimTime(self.time.0 + dt_us),
            areas,
        }
    }
}

/// The allocation history of a run (see the module doc).
#[derive(Clone, Debug)]
pub struct AllocHistory {
    cpu_capacity_milli: u64,
    /// µs spent at each CPU allocation level, in basis points of capacity.
    time_at_level_us: Vec<u64>,
    /// For each level up to the highest held so far: when it was first held.
    first_reach: Vec<Snapshot>,
    last_arrival: Option<Snapshot>,
    /// Fixed window ends asked for, and their snapshots once passed.
    targets: [Option<SimTime>; 2],
    fixed: [Option<Snapshot>; 2],
}

impl AllocHistory {
    pub fn new(cpu_capacity_milli: u64) -> Self {
        AllocHistory {
            cpu_capacity_milli,
            time_at_level_us: vec![0; LEVELS_BP as usize + 1],
            first_reach: vec![Snapshot::default()],
            last_arrival: None,
            targets: [None; 2],
            fixed: [None; 2],
        }
    }

    /// Fixes the window's start and/or end instead of the default rule.
    pub fn set_window(&mut self, start: Option<SimTime>, end: Option<SimTime>) {
        self.targets = [start, end];
    }

    /// The CPU allocation level of `cpu_milli` allocated, in basis points
    /// of capacity (rounded down; a cell with no CPU is at 0).
    pub fn level_bp(&self, cpu_milli: u64) -> usize {
        if self.cpu_capacity_milli == 0 {
            return 0;
        }
        let bp =
            u128::from(cpu_milli) * u128::from(LEVELS_BP) / u128::from(self.cpu_capacity_milli);
        bp.min(u128::from(LEVELS_BP)) as usize
    }

    /// The allocation was `rates` from `from` (areas `from.areas`) until
    /// `to_us` later.
    pub fn observe(&mut self, from: Snapshot, rates: &Rates, dt_us: u64) {
        self.observe_with(from.time, || from, rates, dt_us);
    }

    /// [`AllocHistory::observe`] from `start`, with the snapshot there
    /// taken only if needed (a level first reached, a window end crossed):
    /// it sums every band's areas, and most observations need none of it.
    pub fn observe_with(
        &mut self,
        start: SimTime,
        from: impl FnOnce() -> Snapshot,
        rates: &Rates,
        dt_us: u64,
    ) {
        if dt_us == 0 {
            return;
        }
        let level = self.level_bp(rates[0][0] + rates[1][0]);
        self.time_at_level_us[level] += dt_us;
        let end = start.0 + dt_us;
        let crosses = |(t, f): (&Option<SimTime>, &Option<Snapshot>)| {
            f.is_none() && t.is_some_and(|t| t.0 <= end)
        };
        let reached = self.first_reach.len() > level;
        if reached && !self.targets.iter().zip(&self.fixed).any(crosses) {
            return;
        }
        let from = from();
        debug_assert_eq!(from.time, start);
        while self.first_reach.len() <= level {
            self.first_reach.push(from);
        }
        for (target, fixed) in self.targets.iter().zip(self.fixed.iter_mut()) {
            if let (Some(t), None) = (target, &fixed) {
                if t.0 <= end {
                    let into = t.0.saturating_sub(from.time.0);
                    *fixed = Some(from.extended(rates, into));
                }
            }
        }
    }

    /// A workload arrival at `at` (areas up to it).
    pub fn arrival(&mut self, at: Snapshot) {
        self.last_arrival = Some(at);
    }

    /// The time-weighted median CPU allocation level while the cell held
    /// anything, in basis points: the lowest level at or below which the
    /// cell spent at least half of that time. Time with nothing allocated
    /// (before the first task, gaps, a drain's empty tail) is left out, so
    /// a cell idle most of the run still gets a window around its work.
    pub fn median_level_bp(&self) -> Option<usize> {
        let busy = &self.time_at_level_us[1..];
        let total: u128 = busy.iter().map(|&t| u128::from(t)).sum();
        if total == 0 {
            return None;
        }
        let mut seen = 0u128;
        busy.iter()
            .position(|&t| {
                seen += u128::from(t);
                2 * seen >= total
            })
            .map(|i| i + 1)
    }

    /// The window's two ends, given the run's end: `None` when it is empty.
    pub fn window(&self, run_end: Snapshot) -> Option<(Snapshot, Snapshot, WindowRule)> {
        let start = match (self.targets[0], self.fixed[0]) {
            (Some(_), Some(s)) => s,
            (Some(_), None) => return None,
            (None, _) => *self.first_reach.get(self.median_level_bp()?)?,
        };
        let end = match (self.targets[1], self.fixed[1]) {
            (Some(_), Some(e)) => e,
            (Some(_), None) => run_end,
            (None, _) => match self.last_arrival {
                Some(a) if a.time > start.time => a,
                _ => run_end,
            },
        };
        let rule = if self.targets == [None, None] {
            WindowRule::MedianToLastArrival
        } else {
            WindowRule::Scenario
        };
        (end.time > start.time).then_some((start, end, rule))
    }
}

/// The allocation history's side of the cell state.
impl super::CellState {
    /// The allocation areas up to now, prod then non-prod.
    pub fn snapshot(&self) -> Snapshot {
        snapshot_of(&self.ledger, self.now)
    }

    /// What is allocated now, prod then non-prod (milli-cores, MiB, GPU milli).
    pub fn alloc_rates(&self) -> Rates {
        let mut rates = [[0u64; 3]; 2];
        for b in Band::ALL {
            let (r, i) = (&self.ledger.alloc_by_band[b.index()], b.index());
            let side = &mut rates[usize::from(!b.is_prod())];
            side[0] += r.cpu_milli;
            side[1] += r.mem_mib;
            side[2] += self.ledger.gpu_milli_by_band[i];
        }
        rates
    }

    /// The allocation history (the steady-state window's source).
    pub fn history(&self) -> &AllocHistory {
        &self.history
    }

    /// Fixes the steady-state window's ends (see [`Self::history`]).
    pub fn set_steady_window(&mut self, start: Option<SimTime>, end: Option<SimTime>) {
        self.history.set_window(start, end);
    }
}

/// The areas of `ledger`'s allocation integrals at `now`, prod then non-prod.
pub(super) fn snapshot_of(ledger: &super::Ledger, now: SimTime) -> Snapshot {
    let mut areas = [[0u128; 3]; 2];
    for b in Band::ALL {
        let side = usize::from(!b.is_prod());
        for (a, x) in areas[side]
            .iter_mut()
            .zip(&ledger.alloc_integral[b.index()])
        {
            *a += x;
        }
    }
    Snapshot { time: now, areas }
}

/// How the window's ends were chosen.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowRule {
    /// From the first instant at the median CPU allocation to the last
    /// arrival (or the run's end, if nothing arrived after that instant).
    MedianToLastArrival,
    /// The scenario's `steady_state` (an end it leaves out is the default's).
    Scenario,
    /// The run has no length (everything happened at one instant, e.g. a
    /// cell packed from scratch): the allocation at that instant.
    Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(cpu: u64) -> Rates {
        [[0, 0, 0], [cpu, 0, 0]]
    }

    fn at(s: u64) -> Snapshot {
        Snapshot {
            time: SimTime::from_secs(s),
            areas: [[0; 3]; 2],
        }
    }

    #[test]
    fn median_is_time_weighted_and_window_starts_where_it_is_first_held() {
        // Capacity 1000 milli: 10 s at 0 %, 20 s at 50 %, 10 s at 100 %.
        let mut h = AllocHistory::new(1000);
        let mut snap = at(0);
        for (cpu, secs) in [(0, 10), (500, 20), (1000, 10)] {
            h.observe(snap, &rates(cpu), secs * 1_000_000);
            snap = snap.extended(&rates(cpu), secs * 1_000_000);
        }
        // 30 s with something allocated (the idle 10 s left out); half is
        // 15 s, reached within the 50 % level.
        assert_eq!(h.median_level_bp(), Some(5000));
        let (start, end, rule) = h.window(snap).unwrap();
        // First held at t = 10 s; no arrival recorded, so the run's end.
        assert_eq!((start.time, end.time), (SimTime::from_secs(10), snap.time));
        assert_eq!(rule, WindowRule::MedianToLastArrival);
        // Area over the window: 500 × 20 s + 1000 × 10 s = 20,000 milli·s.
        assert_eq!(end.areas[1][0] - start.areas[1][0], 20_000 * 1_000_000);
    }

    #[test]
    fn fixed_ends_are_snapshot_inside_an_interval() {
        let mut h = AllocHistory::new(1000);
        h.set_window(Some(SimTime::from_secs(5)), Some(SimTime::from_secs(15)));
        h.observe(at(0), &rates(200), 20_000_000);
        let end_of_run = at(0).extended(&rates(200), 20_000_000);
        let (start, end, rule) = h.window(end_of_run).unwrap();
        assert_eq!(rule, WindowRule::Scenario);
        // 200 milli × 5 s at the start, 200 × 15 s at the end.
        assert_eq!(start.areas[1][0], 200 * 5_000_000);
        assert_eq!(end.areas[1][0], 200 * 15_000_000);
    }

    #[test]
    fn an_empty_run_has_no_window() {
        let h = AllocHistory::new(1000);
        assert!(h.window(at(0)).is_none());
    }

    /// The eager observation, as it was before the snapshot became lazy:
    /// the reference for `observe_with`.
    fn observe_eagerly(h: &mut AllocHistory, from: Snapshot, rates: &Rates, dt_us: u64) {
        if dt_us == 0 {
            return;
        }
        let level = h.level_bp(rates[0][0] + rates[1][0]);
        h.time_at_level_us[level] += dt_us;
        while h.first_reach.len() <= level {
            h.first_reach.push(from);
        }
        let end = from.time.0 + dt_us;
        for (target, fixed) in h.targets.iter().zip(h.fixed.iter_mut()) {
            if let (Some(t), None) = (target, &fixed) {
                if t.0 <= end {
                    let into = t.0.saturating_sub(from.time.0);
                    *fixed = Some(from.extended(rates, into));
                }
            }
        }
    }

    #[test]
    fn a_lazy_snapshot_keeps_what_an_eager_one_kept() {
        // Random levels (capacity 1000 milli, so 0..=1200 covers every
        // level and the saturated one) and steps (0 included), with no
        // window ends, either end fixed, or both: every level's first
        // reach and every fixed end equal the eager observation's.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut draw = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let ends = [
            (None, None),
            (Some(SimTime(40_000)), None),
            (None, Some(SimTime(900_000))),
            (Some(SimTime(0)), Some(SimTime(500_000))),
        ];
        for (start, end) in ends {
            let (mut lazy, mut eager) = (AllocHistory::new(1000), AllocHistory::new(1000));
            lazy.set_window(start, end);
            eager.set_window(start, end);
            let mut snap = Snapshot::default();
            let mut taken = 0;
            for _ in 0..2_000 {
                let r = [[draw(600), draw(50), 0], [draw(600), 0, draw(9)]];
                let dt = draw(1_000);
                lazy.observe_with(
                    snap.time,
                    || {
                        taken += 1;
                        snap
                    },
                    &r,
                    dt,
                );
                observe_eagerly(&mut eager, snap, &r, dt);
                snap = snap.extended(&r, dt);
            }
            assert_eq!(lazy.time_at_level_us, eager.time_at_level_us);
            assert_eq!(lazy.first_reach, eager.first_reach);
            assert_eq!(lazy.fixed, eager.fixed);
            // Lazy in fact: far fewer snapshots than observations.
            assert!(taken < 1_000, "{taken} snapshots taken");
        }
    }

    #[test]
    fn levels_round_down_and_saturate() {
        let h = AllocHistory::new(3000);
        // 1000 / 3000 = 3333.3 bp → 3333.
        assert_eq!(h.level_bp(1000), 3333);
        assert_eq!(h.level_bp(3000), 10_000);
        assert_eq!(AllocHistory::new(0).level_bp(5), 0);
    }
}
