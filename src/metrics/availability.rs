//! `summary.json`'s failure figures, the way the Borg paper measures them:
//! `evictions_per_task_week` (its Figure 3: evictions per task-week by
//! cause group, prod vs non-prod, with the work the evictions lost) and
//! `availability` (per prod job, the share of time all its tasks ran, and
//! at least n − k; percentiles across jobs, the low tail first).
//!
//! Everything is taken from exact integers the cell keeps
//! ([`crate::cell::state::Ledger`]: evictions and lost work per cause and
//! band, ∫ running tasks dt per band; [`crate::cell::state::availability`]:
//! each prod job's times): floats appear only here, at output.

use super::{round6, round_sig9};
use crate::cell::state::availability::{JobShares, SHARE_BP};
use crate::cell::state::{CellState, EvictionCause, EvictionGroup, Ledger};
use crate::time::SimTime;
use crate::workload::Band;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// µs in a week: task-weeks = task·µs / this.
pub const US_PER_WEEK: u128 = 7 * 86_400 * 1_000_000;

/// One value per cause group, written as a map in the groups' order
/// (preemption, machine failure, maintenance, out of resources, other).
#[derive(Clone, Debug, PartialEq)]
pub struct ByGroup<T>(pub [T; EvictionGroup::ALL.len()]);

impl<T> ByGroup<T> {
    pub fn get(&self, g: EvictionGroup) -> &T {
        &self.0[g as usize]
    }
}

impl<T: Serialize> Serialize for ByGroup<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for g in EvictionGroup::ALL {
            m.serialize_entry(g.name(), &self.0[*g as usize])?;
        }
        m.end()
    }
}

/// `evictions_per_task_week`: prod and non-prod.
#[derive(Debug, Serialize)]
pub struct EvictionRates {
    pub prod: GroupRates,
    pub nonprod: GroupRates,
}

/// One side (prod or non-prod) of the Figure 3 view.
#[derive(Debug, Serialize)]
pub struct GroupRates {
    /// ∫ running tasks dt over the run, in task-weeks (9 significant
    /// digits, as the rates).
    pub task_weeks: f64,
    /// Evictions by cause group (a task evicted twice counts twice).
    pub evictions: ByGroup<u64>,
    /// `evictions / task_weeks` by cause group (from the exact integers,
    /// then to 9 significant digits); `null` without task-weeks.
    pub per_task_week: ByGroup<Option<f64>>,
    /// Work lost by those evictions: the time each evicted task had run
    /// since its placement, summed, in task-seconds.
    pub lost_work_task_s: ByGroup<f64>,
}

impl GroupRates {
    /// The bands with `is_prod() == prod`, summed.
    pub fn of(l: &Ledger, prod: bool) -> GroupRates {
        let bands: Vec<usize> = Band::ALL
            .iter()
            .filter(|b| b.is_prod() == prod)
            .map(|b| b.index())
            .collect();
        let running_us: u128 = bands.iter().map(|&b| l.running_integral_us[b]).sum();
        let mut evictions = [0u64; EvictionGroup::ALL.len()];
        let mut lost_us = [0u128; EvictionGroup::ALL.len()];
        for c in EvictionCause::ALL {
            let g = EvictionGroup::of(*c) as usize;
            for &b in &bands {
                evictions[g] += l.evictions_by_band[*c as usize][b];
                lost_us[g] += l.lost_work_us[*c as usize][b];
            }
        }
        let task_weeks = round_sig9(running_us as f64 / US_PER_WEEK as f64);
        GroupRates {
            task_weeks,
            evictions: ByGroup(evictions),
            per_task_week: ByGroup(evictions.map(|n| {
                (running_us > 0)
                    .then(|| round_sig9(n as f64 * US_PER_WEEK as f64 / running_us as f64))
            })),
            lost_work_task_s: ByGroup(lost_us.map(|us| round6(us as f64 / 1e6))),
        }
    }
}

impl EvictionRates {
    pub fn of(st: &CellState) -> EvictionRates {
        EvictionRates {
            prod: GroupRates::of(st.ledger(), true),
            nonprod: GroupRates::of(st.ledger(), false),
        }
    }
}

/// `availability`: prod jobs (see [`crate::cell::state::availability`]
/// for what is measured and over which interval).
#[derive(Debug, Serialize)]
pub struct AvailabilitySummary {
    /// `[metrics] availability_k`.
    pub k: u32,
    /// Prod jobs of at least one task admitted.
    pub prod_jobs: u64,
    /// Of them, those with a measured interval of some length.
    pub jobs_measured: u64,
    /// Of them, those that never had all their tasks running at once.
    pub jobs_never_all_running: u64,
    /// Shares of time all required tasks were running.
    pub all_running: Shares,
    /// Shares of time at least n − k were running.
    pub n_minus_k_running: Shares,
    /// Submission → first instant all tasks were running, over jobs that
    /// reached it, in µs.
    pub time_to_all_running_us: TimeTo,
}

/// A share's distribution across measured jobs: the low tail. Per-job
/// shares are in basis points rounded down (never overstated); `null`
/// without a measured job.
#[derive(Debug, Serialize)]
pub struct Shares {
    /// Σ time over Σ interval, across measured jobs.
    pub time_weighted: Option<f64>,
    pub min: Option<f64>,
    pub p1: Option<f64>,
    pub p10: Option<f64>,
    pub p50: Option<f64>,
    /// Measured jobs at 100 % (never short of it).
    pub jobs_always: u64,
}

impl Shares {
    fn of(bp: &[u64], time_us: u128, interval_us: u128) -> Shares {
        let pct = |p: u64| percentile_bp(bp, p).map(|b| b as f64 / SHARE_BP as f64);
        Shares {
            time_weighted: (interval_us > 0).then(|| round6(time_us as f64 / interval_us as f64)),
            min: pct(0),
            p1: pct(1),
            p10: pct(10),
            p50: pct(50),
            jobs_always: bp[SHARE_BP as usize],
        }
    }
}

/// The nearest-rank `pct` percentile of a histogram indexed by basis
/// point (`pct` 0: the lowest value present); `None` if it is empty.
pub fn percentile_bp(hist: &[u64], pct: u64) -> Option<u64> {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return None;
    }
    let rank = (pct * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (bp, &c) in hist.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(bp as u64);
        }
    }
    unreachable!("rank {rank} within the {n} counted")
}

/// A wait's distribution: count, nearest-rank percentiles and maximum.
#[derive(Debug, Serialize)]
pub struct TimeTo {
    pub count: u64,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub max: Option<u64>,
}

impl AvailabilitySummary {
    /// At the run's end, `end` (live jobs measured up to it).
    pub fn of(st: &CellState, end: SimTime) -> AvailabilitySummary {
        let a = st.availability();
        let s: JobShares = a.shares_at(end);
        let [p50, p90, _, max] = s.to_all_running_us.quantiles();
        AvailabilitySummary {
            k: a.k(),
            prod_jobs: s.jobs,
            jobs_measured: s.jobs_measured,
            jobs_never_all_running: s.jobs_never_all_running,
            all_running: Shares::of(&s.all_running_bp, s.all_running_us, s.interval_us),
            n_minus_k_running: Shares::of(&s.within_k_bp, s.within_k_us, s.interval_us),
            time_to_all_running_us: TimeTo {
                count: s.to_all_running_us.count(),
                p50,
                p90,
                max,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job};

    #[test]
    fn rates_are_evictions_over_running_task_weeks() {
        // Two machines; a prod job of 2 tasks runs from 0. At 1 week one
        // task's machine fails (machine_failure) and at 2 weeks the other's
        // is taken down by a trace (machine_down): both group as machine
        // failure. One non-prod task runs 0 → 0.5 week and is preempted
        // (it had run half a week: 302,400 task-s lost).
        let mut st = cell(&[(4000, 4000, 0), (4000, 4000, 0), (4000, 4000, 0)]);
        let week = SimTime::from_secs(7 * 86_400);
        let half = SimTime::from_secs(7 * 86_400 / 2);
        let p = st.submit_job(SimTime::ZERO, job(1000, 1000, 200, 2));
        let (a, b) = (st.job(p).tasks[0], st.job(p).tasks[1]);
        st.place(SimTime::ZERO, a, 0);
        st.place(SimTime::ZERO, b, 1);
        let n = st.submit_job(SimTime::ZERO, job(1000, 1000, 0, 1));
        let c = st.job(n).tasks[0];
        st.place(SimTime::ZERO, c, 2);
        st.evict(half, c, EvictionCause::Preemption);
        st.evict(week, a, EvictionCause::MachineFailure);
        st.evict(SimTime(2 * week.as_us()), b, EvictionCause::MachineDown);
        // Prod ran 2 tasks × 1 week + 1 task × 1 week = 3 task-weeks: 2
        // machine-failure evictions → 2/3 per task-week (to 9 significant
        // digits); lost 1 + 2 weeks.
        let r = EvictionRates::of(&st);
        assert_eq!(r.prod.task_weeks, 3.0);
        assert_eq!(*r.prod.evictions.get(EvictionGroup::MachineFailure), 2);
        assert_eq!(
            *r.prod.per_task_week.get(EvictionGroup::MachineFailure),
            Some(0.666666667)
        );
        assert_eq!(
            *r.prod.lost_work_task_s.get(EvictionGroup::MachineFailure),
            3.0 * 604_800.0
        );
        assert_eq!(
            *r.prod.per_task_week.get(EvictionGroup::Preemption),
            Some(0.0)
        );
        // Non-prod ran half a task-week: 1 preemption → 2 per task-week.
        assert_eq!(r.nonprod.task_weeks, 0.5);
        assert_eq!(
            *r.nonprod.per_task_week.get(EvictionGroup::Preemption),
            Some(2.0)
        );
        assert_eq!(
            *r.nonprod.lost_work_task_s.get(EvictionGroup::Preemption),
            302_400.0
        );
        let json = serde_json::to_string(&r.prod.evictions).unwrap();
        assert_eq!(
            json,
            r#"{"preemption":0,"machine_failure":2,"maintenance":0,"out_of_resources":0,"other":0}"#
        );
    }

    #[test]
    fn no_running_time_gives_no_rate() {
        let st = cell(&[(1000, 1000, 0)]);
        let r = EvictionRates::of(&st);
        assert_eq!(r.prod.task_weeks, 0.0);
        assert_eq!(*r.prod.per_task_week.get(EvictionGroup::Other), None);
    }

    #[test]
    fn every_cause_has_a_group() {
        // The figure's five groups, each reached by some cause.
        for g in EvictionGroup::ALL {
            assert!(EvictionCause::ALL
                .iter()
                .any(|c| EvictionGroup::of(*c) == *g));
        }
        assert_eq!(
            EvictionGroup::of(EvictionCause::MachineDown),
            EvictionGroup::MachineFailure
        );
    }

    #[test]
    fn percentiles_of_a_histogram_by_nearest_rank() {
        // Shares 0.5 (×1), 0.9 (×8), 1.0 (×1): 10 jobs. p1: rank 1 → 0.5;
        // p10: rank 1 → 0.5; p50: rank 5 → 0.9; min 0.5.
        let mut h = vec![0u64; SHARE_BP as usize + 1];
        h[5_000] = 1;
        h[9_000] = 8;
        h[10_000] = 1;
        assert_eq!(percentile_bp(&h, 0), Some(5_000));
        assert_eq!(percentile_bp(&h, 1), Some(5_000));
        assert_eq!(percentile_bp(&h, 10), Some(5_000));
        assert_eq!(percentile_bp(&h, 50), Some(9_000));
        assert_eq!(percentile_bp(&h, 100), Some(10_000));
        assert_eq!(percentile_bp(&[0, 0], 50), None);
        let s = Shares::of(&h, 87, 100);
        assert_eq!((s.min, s.p50, s.jobs_always), (Some(0.5), Some(0.9), 1));
        assert_eq!(s.time_weighted, Some(0.87));
    }
}
