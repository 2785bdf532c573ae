//! `[compaction]`: how `borgsim compact` judges that a workload fits a
//! cell, and how many trials it runs (see `crate::compact` for the method).
//! Every key is optional; the defaults are Borg's (paper §5.1) where the
//! paper gives one, and argued in the README's "Capacity planning" section
//! where it does not.

use super::model::{Invalid, MAX_TIME_S};
use serde::{Deserialize, Serialize};

/// `[compaction]`.
#[derive(Copy, Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompactionConfig {
    /// Trials: random machine orders, each giving one answer.
    #[serde(default = "default_trials")]
    pub trials: u32,
    /// The percentile of the trials' answers reported (nearest rank).
    #[serde(default = "default_percentile")]
    pub percentile: u32,
    /// The share of submitted tasks that may end unplaced — pending or held
    /// at the end, or dropped — and the workload still fit: Borg's "picky"
    /// tasks, 0.2 %.
    #[serde(default = "default_picky_share")]
    pub picky_share: f64,
    /// Drop the constraints and spread limits of jobs larger than
    /// `relax_above_share` of the whole cell's machines (Borg made them
    /// soft; borgsim has no soft constraints).
    #[serde(default = "yes")]
    pub relax_large_jobs: bool,
    /// A job with more tasks than this share of the whole cell's machine
    /// count is large: Borg's "larger than half the cell".
    #[serde(default = "default_relax_above_share")]
    pub relax_above_share: f64,
    /// Workloads with time only: the largest 90th-percentile wait of prod
    /// tasks (entering the cell → first start), in seconds.
    #[serde(default = "default_prod_wait_p90_s")]
    pub prod_wait_p90_s: u64,
    /// The same for non-prod tasks.
    #[serde(default = "default_nonprod_wait_p90_s")]
    pub nonprod_wait_p90_s: u64,
    /// A workload that does not fit the whole cell: grow the cell by its
    /// own machine mix (eighths, up to 4×) until it does, and compact that
    /// (`crate::compact::grow`). Off by default: Borg's compaction only
    /// removes machines.
    #[serde(default)]
    pub grow: bool,
    /// After bisection finds a boundary, the prefixes just above it that
    /// are probed too, a failure among them starting bisection again above
    /// it (`crate::compact::search::bisect_checked`). Absent: 4 for
    /// workloads with time (queueing makes fitting non-monotone in the
    /// machine count), 0 for static ones.
    #[serde(default)]
    pub verify_above: Option<u32>,
    /// With reclamation on (`[reclamation] mode = "on"`): the share of
    /// submitted tasks that may be killed for memory (`out_of_memory`)
    /// over a probe's run and the workload still fit. Default 0: capacity
    /// reclaimed from reservations counts only if usage stays under it
    /// (`crate::compact::reclaim`).
    #[serde(default)]
    pub oom_kill_share: f64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            trials: default_trials(),
            percentile: default_percentile(),
            picky_share: default_picky_share(),
            relax_large_jobs: true,
            relax_above_share: default_relax_above_share(),
            prod_wait_p90_s: default_prod_wait_p90_s(),
            nonprod_wait_p90_s: default_nonprod_wait_p90_s(),
            grow: false,
            verify_above: None,
            oom_kill_share: 0.0,
        }
    }
}

/// At most this many trials: each is a bisection of simulations.
pub const MAX_TRIALS: u32 = 10_000;

fn default_trials() -> u32 {
    11
}
fn default_percentile() -> u32 {
    90
}
fn default_picky_share() -> f64 {
    0.002
}
fn yes() -> bool {
    true
}
fn default_relax_above_share() -> f64 {
    0.5
}
fn default_prod_wait_p90_s() -> u64 {
    60
}
fn default_nonprod_wait_p90_s() -> u64 {
    300
}

impl CompactionConfig {
    /// Checks every value; the error names the key (`compaction.…`).
    ///
    /// # Errors
    /// A value out of its range, naming the key.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |k: &str, m: String| Err((format!("compaction.{k}"), m));
        if self.trials == 0 || self.trials > MAX_TRIALS {
            return bad(
                "trials",
                format!("must be in 1..={MAX_TRIALS}, got {}", self.trials),
            );
        }
        if self.percentile == 0 || self.percentile > 100 {
            return bad(
                "percentile",
                format!("must be in 1..=100, got {}", self.percentile),
            );
        }
        if !(self.picky_share.is_finite() && (0.0..1.0).contains(&self.picky_share)) {
            return bad(
                "picky_share",
                format!(
                    "must be a fraction in [0, 1) (0.002 is 0.2 %), got {}",
                    shown(self.picky_share)
                ),
            );
        }
        if !(self.oom_kill_share.is_finite() && (0.0..1.0).contains(&self.oom_kill_share)) {
            return bad(
                "oom_kill_share",
                format!(
                    "must be a fraction in [0, 1) (0 allows no out-of-memory kill), got {}",
                    shown(self.oom_kill_share)
                ),
            );
        }
        let share = self.relax_above_share;
        if !(share.is_finite() && share > 0.0 && share <= 1.0) {
            return bad(
                "relax_above_share",
                format!(
                    "must be a fraction in (0, 1] (0.5 is half the cell), got {}",
                    shown(share)
                ),
            );
        }
        for (k, v) in [
            ("prod_wait_p90_s", self.prod_wait_p90_s),
            ("nonprod_wait_p90_s", self.nonprod_wait_p90_s),
        ] {
            if v > MAX_TIME_S {
                return bad(k, format!("{v} s is beyond the simulator's clock"));
            }
        }
        Ok(())
    }
}

/// A number as a person reads it: plain when it is, in exponent form when
/// plain would take more than a few digits (`1e308`, not 309 of them).
fn shown(x: f64) -> String {
    let plain = format!("{x}");
    if plain.len() > 12 {
        format!("{x:e}")
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;
    use std::path::Path;

    fn with(table: &str) -> Result<Scenario, String> {
        let text = format!(
            "{}\n[compaction]\n{table}\n",
            crate::scenario::QUICKSTART_TOML
        );
        Scenario::parse(&text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_absent_table_or_key_takes_borgs_defaults() {
        assert_eq!(Scenario::quickstart().compaction, None);
        let sc = with("trials = 5").unwrap();
        let c = sc.compaction.unwrap();
        assert_eq!((c.trials, c.percentile), (5, 90));
        assert_eq!((c.picky_share, c.relax_above_share), (0.002, 0.5));
        assert!(c.relax_large_jobs);
        assert_eq!((c.prod_wait_p90_s, c.nonprod_wait_p90_s), (60, 300));
        assert_eq!(c.oom_kill_share, 0.0);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (table, key) in [
            ("trials = 0", "compaction.trials"),
            ("percentile = 101", "compaction.percentile"),
            ("percentile = 0", "compaction.percentile"),
            ("picky_share = 1.0", "compaction.picky_share"),
            ("picky_share = -0.1", "compaction.picky_share"),
            ("picky_share = nan", "compaction.picky_share"),
            ("oom_kill_share = 1.0", "compaction.oom_kill_share"),
            ("oom_kill_share = -0.01", "compaction.oom_kill_share"),
            ("relax_above_share = 0.0", "compaction.relax_above_share"),
            ("relax_above_share = 1.5", "compaction.relax_above_share"),
            (
                "prod_wait_p90_s = 18446744073709551615",
                "compaction.prod_wait_p90_s",
            ),
        ] {
            let e = with(table).unwrap_err();
            assert!(e.contains(key), "{table}: {e}");
        }
        let e = with("pickiness = 0.1").unwrap_err();
        assert!(e.contains("pickiness"), "an unknown key is named: {e}");
    }
}
