//! Compaction with reclamation (`[reclamation]` measuring or on): how long
//! a probe of a static workload runs, so that reclaimed capacity can show.
//!
//! A static workload submits everything at t = 0 and nothing ends, and a
//! run without `duration_s` stops at its last real event (the reclamation
//! tick keeps no drained run alive, `crate::sim`): right after the first
//! passes, when every reservation is still its task's limit. Reclamation
//! could never place a task there. So a probe of a static workload with
//! usage tracked runs to a horizon:
//!
//! - the scenario's `duration_s`, when it has one (its own choice);
//! - otherwise the **settle horizon**: `(w + k + 1) × interval_s`, where
//!   `w = max(1, ⌈delay_s / interval_s⌉)` is the first tick at which a task
//!   placed at t = 0 is past its delay, and `k` the ticks after which a
//!   reservation's gap to its target is 0 whatever its size: with
//!   `decay_permille` d, each tick leaves `⌊gap × (1000 − d) / 1000⌋`
//!   (`cell::state::usage::next_reservation`), and a gap is at most the
//!   largest machine's capacity in either resource (no task larger was
//!   placed), so `k` is that capacity's count of such steps to 0 (1 when
//!   d is 0 or 1000: nothing, or everything, decays in one tick). The last
//!   interval lets the passes the final decay asks for run. With Borg's
//!   defaults (300 s, 300 s, 250 ‰) and a largest machine of 256 GiB,
//!   k = 41: 43 ticks, 3 h 35 min.
//! - at least one simulated day when a usage model has a daily cycle
//!   (`diurnal_permille` > 0), so that the fit is judged past the peak,
//!   never on the night's trough alone.
//!
//! The horizon covers the reservations of the tasks placed at t = 0; a
//! task placed later on reclaimed capacity has had less time, so its own
//! reservation may still be above its target at the end. The rule is
//! therefore conservative. A workload with time keeps its own length.

use super::fit::WorkloadKind;
use crate::scenario::reclamation::ReclamationMode;
use crate::scenario::Scenario;
use std::borrow::Cow;

/// One simulated day, in seconds.
const DAY_S: u64 = 86_400;

/// Reclamation ticks after which a reservation gap of `gap` units has
/// decayed to 0 at `decay_permille` per tick (floor arithmetic, as
/// `next_reservation`): at least 1. `0` and `1000` ‰ take one tick.
///
/// # Examples
/// 250 ‰ from 4: 4 × 750 / 1000 = 3 → 2 → 1 → 0: four ticks.
pub fn settle_ticks(gap: u64, decay_permille: u32) -> u64 {
    if decay_permille == 0 || decay_permille >= 1000 {
        return 1;
    }
    let keep = u128::from(1000 - decay_permille);
    let mut g = u128::from(gap);
    let mut k = 0;
    while g > 0 {
        g = g * keep / 1000;
        k += 1;
    }
    k.max(1)
}

/// The horizon, in seconds, a compaction probe of `sc` runs to; `None`
/// when the scenario's own length stands (a workload with time, usage
/// not tracked, or `duration_s` set). See the module doc.
pub fn probe_horizon_s(sc: &Scenario) -> Option<u64> {
    let r = sc.reclamation.as_ref()?;
    let static_ = WorkloadKind::of(sc) == WorkloadKind::Static;
    if r.mode == ReclamationMode::Off || !static_ || sc.duration_s.is_some() {
        return None;
    }
    let (cell, _) = sc.build();
    let largest = cell
        .machines
        .iter()
        .map(|m| m.capacity.res.cpu_milli.max(m.capacity.res.mem_mib))
        .max()
        .unwrap_or(0);
    let k = settle_ticks(largest, r.decay_permille);
    let w = r.delay_s.div_ceil(r.interval_s).max(1);
    let settle = (w + k + 1).saturating_mul(r.interval_s);
    let daily = sc
        .workload
        .jobs
        .iter()
        .filter_map(|j| j.usage.as_ref())
        .chain(r.usage.as_ref())
        .any(|u| u.diurnal_permille > 0);
    Some(if daily { settle.max(DAY_S) } else { settle })
}

/// The scenario every probe of a compaction of `sc` runs: `sc` itself,
/// or `sc` with `duration_s` set to [`probe_horizon_s`].
pub fn probe_scenario(sc: &Scenario) -> Cow<'_, Scenario> {
    match probe_horizon_s(sc) {
        None => Cow::Borrowed(sc),
        Some(h) => {
            let mut s = sc.clone();
            s.duration_s = Some(h);
            Cow::Owned(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_decays_to_nothing_in_a_counted_number_of_ticks() {
        // 250 ‰: 4 → 3 → 2 → 1 → 0.
        assert_eq!(settle_ticks(4, 250), 4);
        // 500 ‰: 8 → 4 → 2 → 1 → 0.
        assert_eq!(settle_ticks(8, 500), 4);
        // 262,144 MiB at 250 ‰: without rounding 0.75^44 × 262,144 < 1
        // (0.75^43 × 262,144 = 1.1); each floor takes up to one more unit
        // off, so the gap is 0 three ticks sooner.
        assert_eq!(settle_ticks(262_144, 250), 41);
        assert_eq!(settle_ticks(262_144, 1000), 1);
        assert_eq!(settle_ticks(262_144, 0), 1);
        assert_eq!(settle_ticks(0, 250), 1);
    }

    #[test]
    fn only_a_static_workload_with_usage_tracked_gets_a_horizon() {
        let pack = Scenario::builtin("colocation-small").unwrap().unwrap();
        assert_eq!(probe_horizon_s(&pack), None, "[reclamation] off");
        let mut on = pack.clone();
        on.reclamation = Some(crate::scenario::ReclamationConfig {
            mode: ReclamationMode::On,
            ..Default::default()
        });
        // The largest machine: 64,000 milli-cores, 262,144 MiB → k = 41;
        // w = ⌈300 / 300⌉ = 1: (1 + 41 + 1) × 300 s.
        assert_eq!(probe_horizon_s(&on), Some(43 * 300));
        assert_eq!(probe_scenario(&on).duration_s, Some(12_900));
        let mut timed = on.clone();
        timed.duration_s = Some(600);
        assert_eq!(probe_horizon_s(&timed), None, "its own duration_s");
        let with_time = Scenario::builtin("reclamation").unwrap().unwrap();
        assert_eq!(probe_horizon_s(&with_time), None);
    }
}
