//! Whether a workload fits a cell: the rule a compaction probe is judged
//! by, from the run's `summary.json` figures ([`Summary`]).
//!
//! Borg's rule (paper §5.1): after re-packing from scratch every task is
//! scheduled, except that up to 0.2 % "picky" tasks may stay pending. How
//! that reads here depends on the workload:
//!
//! - **Static** — a synthetic workload whose every job class submits its
//!   jobs at t = 0 (`initial_jobs`, no `arrival`) and whose tasks never end
//!   (no `duration_s`), as `borg-cell-pack`: a packing problem. It fits if
//!   the tasks *unplaced* at the end — pending (never-schedulable ones
//!   included), held outside the cell, or dropped — are at most
//!   `picky_share` of the tasks submitted (rounded down). Waits do not
//!   count: in a packing they measure only how many passes the packing
//!   took.
//! - **With time** — anything else: a synthetic workload with arrivals or
//!   tasks that end, and every trace replay. The whole run is judged: the
//!   same unplaced share at the end (work still queued or held when the
//!   run ends, which a cell that keeps up keeps to the last moments'
//!   arrivals), *and* the 90th-percentile wait of prod and of non-prod
//!   tasks (entering the cell → first start, over the tasks that started)
//!   at most `prod_wait_p90_s` / `nonprod_wait_p90_s`. A cell that is too
//!   small for a workload with time does not leave it unplaced so much as
//!   late: tasks wait for others to end or be evicted, and the waits show
//!   it. The defaults, 60 s for prod and 300 s for non-prod, are many
//!   scheduling passes (1–2 s apart by default): a cell with room places a
//!   task in its first pass or two, so a p90 counted in minutes means a
//!   tenth of the tasks waited for room, not for the scheduler. Prod's is
//!   the tighter because Borg admits prod work at once; batch tolerates
//!   queueing.
//!
//! With reclamation on (`[reclamation] mode = "on"`) a third check applies
//! to both kinds: the tasks killed for memory (`out_of_memory`) over the
//! run at most `oom_kill_share` of the tasks submitted (default 0). A cell
//! that holds its workload only because non-prod tasks keep being killed
//! and re-queued as usage outgrows the reclaimed capacity does not fit:
//! reclaimed capacity is real capacity only while usage stays under it
//! (Borg paper §5.5). A task killed and not placed again counts as
//! unplaced too. CPU beyond capacity is throttled, not judged: CPU is
//! compressible, and prod is never throttled below its request. A static
//! workload with reclamation runs to the horizon of `reclaim.rs`.
//!
//! The kind is decided from the scenario alone ([`WorkloadKind::of`]), never
//! from a run.

use crate::metrics::summary::Summary;
use crate::scenario::reclamation::ReclamationMode;
use crate::scenario::{CompactionConfig, Scenario};
use crate::workload::Band;
use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of workload a scenario has (see the module doc).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// Everything submitted at t = 0, nothing ends: a packing.
    Static,
    /// Arrivals, tasks that end, or a trace.
    WithTime,
}

impl WorkloadKind {
    /// Static if the scenario is synthetic and every job class submits
    /// only at t = 0 (no `arrival`) tasks that never end (no
    /// `duration_s`); with time otherwise (every trace replay).
    pub fn of(sc: &Scenario) -> WorkloadKind {
        let packing = sc.trace.is_none()
            && sc
                .workload
                .jobs
                .iter()
                .all(|j| j.arrival.is_none() && j.duration_s.is_none());
        if packing {
            WorkloadKind::Static
        } else {
            WorkloadKind::WithTime
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Static => "static",
            WorkloadKind::WithTime => "with_time",
        }
    }
}

/// The rule as applied to one scenario: `[compaction]` with its numbers
/// worked out for the whole cell (what `compaction.json` records as
/// `fit_rule`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitRule {
    pub workload: WorkloadKind,
    /// The share of submitted tasks that may end unplaced.
    pub picky_share: f64,
    pub relax_large_jobs: bool,
    pub relax_above_share: f64,
    /// Jobs of more tasks than this lose their constraints and spread
    /// limits in every probe: `relax_above_share` × the whole cell's
    /// machines, rounded down; `None` when relaxing is off.
    pub relax_above_tasks: Option<u64>,
    /// With time only (`None` for a static workload).
    pub prod_wait_p90_s: Option<u64>,
    pub nonprod_wait_p90_s: Option<u64>,
    /// Reclamation on only: the share of submitted tasks that may be
    /// killed for memory (absent from `compaction.json` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_share: Option<f64>,
    /// A static workload with usage tracked: the horizon every probe runs
    /// to, in seconds (`reclaim.rs`; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon_s: Option<u64>,
}

impl FitRule {
    /// The rule of `cfg` for a workload of `kind` on a whole cell of
    /// `whole_machines` machines.
    pub fn new(cfg: &CompactionConfig, kind: WorkloadKind, whole_machines: usize) -> FitRule {
        let timed = kind == WorkloadKind::WithTime;
        FitRule {
            workload: kind,
            picky_share: cfg.picky_share,
            relax_large_jobs: cfg.relax_large_jobs,
            relax_above_share: cfg.relax_above_share,
            relax_above_tasks: cfg
                .relax_large_jobs
                .then(|| floor_share(whole_machines as u64, cfg.relax_above_share)),
            prod_wait_p90_s: timed.then_some(cfg.prod_wait_p90_s),
            nonprod_wait_p90_s: timed.then_some(cfg.nonprod_wait_p90_s),
            oom_kill_share: None,
            horizon_s: None,
        }
    }

    /// The rule of `cfg` for the scenario `sc` on a whole cell of
    /// `whole_machines`: [`FitRule::new`], with the out-of-memory check
    /// when `sc` has reclamation on, and the probe horizon of a static
    /// workload with usage tracked (`reclaim.rs`).
    pub fn for_scenario(cfg: &CompactionConfig, sc: &Scenario, whole_machines: usize) -> FitRule {
        let on = sc
            .reclamation
            .as_ref()
            .is_some_and(|r| r.mode == ReclamationMode::On);
        FitRule {
            oom_kill_share: on.then_some(cfg.oom_kill_share),
            horizon_s: super::reclaim::probe_horizon_s(sc),
            ..FitRule::new(cfg, WorkloadKind::of(sc), whole_machines)
        }
    }

    /// Whether the scenario has reclamation on (the out-of-memory check
    /// applies exactly then): non-prod may run beyond the limits.
    pub fn reclaiming(&self) -> bool {
        self.oom_kill_share.is_some()
    }

    /// The tasks of `submitted` that may end unplaced: `picky_share` of
    /// them, rounded down (0.2 % of 356,770 is 713.54: 713 may).
    pub fn picky_allowed(&self, submitted: u64) -> u64 {
        floor_share(submitted, self.picky_share)
    }

    /// The verdict on a run's summary.
    pub fn judge(&self, s: &Summary) -> Verdict {
        let t = &s.tasks;
        let unplaced = t.pending_at_end + t.dropped;
        let allowed = self.picky_allowed(t.submitted);
        let mut failed = Vec::new();
        if unplaced > allowed {
            failed.push(Check::Unplaced);
        }
        let over = |p90_us: Option<u64>, limit_s: Option<u64>| match (p90_us, limit_s) {
            (Some(p), Some(l)) => p > l.saturating_mul(1_000_000),
            _ => false,
        };
        if over(s.wait_us.prod.p90, self.prod_wait_p90_s) {
            failed.push(Check::ProdWait);
        }
        if over(s.wait_us.nonprod.p90, self.nonprod_wait_p90_s) {
            failed.push(Check::NonprodWait);
        }
        let usage = s.reclamation.as_ref().map(|r| UsageFigures {
            oom_kills: r.oom_kills,
            oom_kills_allowed: self
                .oom_kill_share
                .map(|share| floor_share(t.submitted, share)),
            throttled_cpu_core_s: r.throttled_cpu_core_s,
            usage_cpu_utilization: r.usage_utilization.cpu.total,
            usage_mem_utilization: r.usage_utilization.mem.total,
        });
        if usage
            .as_ref()
            .is_some_and(|u| u.oom_kills_allowed.is_some_and(|a| u.oom_kills > a))
        {
            failed.push(Check::OutOfMemory);
        }
        Verdict {
            fits: failed.is_empty(),
            submitted_tasks: t.submitted,
            unplaced_tasks: unplaced,
            picky_allowed_tasks: allowed,
            prod_wait_p90_us: s.wait_us.prod.p90,
            nonprod_wait_p90_us: s.wait_us.nonprod.p90,
            failed,
            pending_by_band: Band::ALL
                .iter()
                .map(|b| (b.name(), s.by_band[b.name()].tasks_pending_at_end))
                .filter(|(_, n)| *n > 0)
                .collect(),
            dropped_tasks: t.dropped,
            usage,
        }
    }
}

/// A run's usage figures (`summary.json`'s `reclamation`), with usage
/// tracked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UsageFigures {
    /// Tasks killed for memory over the run.
    pub oom_kills: u64,
    /// The most the rule allows (reclamation on; `None` measuring).
    pub oom_kills_allowed: Option<u64>,
    /// ∫ CPU throttled dt, core-seconds.
    pub throttled_cpu_core_s: f64,
    /// ∫ usage dt over capacity × the run's length, per resource.
    pub usage_cpu_utilization: f64,
    pub usage_mem_utilization: f64,
}

/// `share` of `n`, rounded down (a float → integer conversion made once,
/// never a comparison of floats).
fn floor_share(n: u64, share: f64) -> u64 {
    (n as f64 * share).floor() as u64
}

/// A check a run failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// More tasks unplaced at the end than the picky share allows.
    Unplaced,
    /// Prod's wait p90 above `prod_wait_p90_s`.
    ProdWait,
    /// Non-prod's wait p90 above `nonprod_wait_p90_s`.
    NonprodWait,
    /// More tasks killed for memory than `oom_kill_share` allows.
    OutOfMemory,
}

/// A run judged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub fits: bool,
    pub submitted_tasks: u64,
    /// Pending (held included) at the end, or dropped.
    pub unplaced_tasks: u64,
    pub picky_allowed_tasks: u64,
    pub prod_wait_p90_us: Option<u64>,
    pub nonprod_wait_p90_us: Option<u64>,
    /// The checks it failed; empty when it fits.
    pub failed: Vec<Check>,
    /// Tasks pending at the end (held included), per band that has any.
    pub pending_by_band: BTreeMap<&'static str, u64>,
    pub dropped_tasks: u64,
    /// With usage tracked (absent from `compaction.json` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageFigures>,
}

impl Verdict {
    /// What does not fit, for a person: `58,430 of 356,770 tasks unplaced
    /// at the end (batch 47,606, best_effort 10,824), more than the 713
    /// that picky_share 0.002 allows; non-prod wait p90 412.5 s, above
    /// 300 s`.
    pub fn why_not(&self, rule: &FitRule) -> String {
        let count = crate::report::html::count;
        let mut parts = Vec::new();
        for c in &self.failed {
            parts.push(match c {
                Check::Unplaced => {
                    let mut where_: Vec<String> = self
                        .pending_by_band
                        .iter()
                        .map(|(b, n)| format!("{b} {}", count(*n)))
                        .collect();
                    if self.dropped_tasks > 0 {
                        where_.push(format!("{} dropped", count(self.dropped_tasks)));
                    }
                    format!(
                        "{} of {} tasks unplaced at the end ({}), more than the {} that \
                         picky_share {} allows",
                        count(self.unplaced_tasks),
                        count(self.submitted_tasks),
                        where_.join(", "),
                        count(self.picky_allowed_tasks),
                        rule.picky_share
                    )
                }
                Check::ProdWait => wait_text("prod", self.prod_wait_p90_us, rule.prod_wait_p90_s),
                Check::NonprodWait => wait_text(
                    "non-prod",
                    self.nonprod_wait_p90_us,
                    rule.nonprod_wait_p90_s,
                ),
                Check::OutOfMemory => {
                    let u = self.usage.as_ref();
                    format!(
                        "{} tasks killed for memory, more than the {} that oom_kill_share {} \
                         allows",
                        count(u.map_or(0, |u| u.oom_kills)),
                        count(u.and_then(|u| u.oom_kills_allowed).unwrap_or(0)),
                        rule.oom_kill_share.unwrap_or(0.0)
                    )
                }
            });
        }
        parts.join("; ")
    }
}

fn wait_text(what: &str, p90_us: Option<u64>, limit_s: Option<u64>) -> String {
    let shown = p90_us.map_or("—".to_string(), crate::report::html::seconds_of_us);
    format!(
        "{what} wait p90 {shown}, above {} s",
        limit_s.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn the_kind_comes_from_the_scenario() {
        // quickstart has arrivals and tasks that end; borg-cell-pack
        // submits everything at t = 0, for ever.
        assert_eq!(
            WorkloadKind::of(&Scenario::quickstart()),
            WorkloadKind::WithTime
        );
        let pack = Scenario::builtin("borg-cell-pack").unwrap().unwrap();
        assert_eq!(WorkloadKind::of(&pack), WorkloadKind::Static);
        let openb = Scenario::builtin("openb").unwrap().unwrap();
        assert_eq!(WorkloadKind::of(&openb), WorkloadKind::WithTime);
    }

    #[test]
    fn the_numbers_of_the_rule() {
        let cfg = CompactionConfig::default();
        // 12,500 machines × 0.5 = 6,250: jobs of 6,251 tasks or more relax.
        let r = FitRule::new(&cfg, WorkloadKind::Static, 12_500);
        assert_eq!(r.relax_above_tasks, Some(6_250));
        assert_eq!((r.prod_wait_p90_s, r.nonprod_wait_p90_s), (None, None));
        // 0.2 % of 356,770 = 713.54 → 713; of 499 = 0.998 → 0.
        assert_eq!(r.picky_allowed(356_770), 713);
        assert_eq!(r.picky_allowed(499), 0);
        assert_eq!(r.picky_allowed(500), 1);
        // 25 machines × 0.5 = 12.5 → 12.
        let off = CompactionConfig {
            relax_large_jobs: false,
            ..cfg
        };
        assert_eq!(
            FitRule::new(&cfg, WorkloadKind::WithTime, 25).relax_above_tasks,
            Some(12)
        );
        let t = FitRule::new(&off, WorkloadKind::WithTime, 25);
        assert_eq!(t.relax_above_tasks, None);
        assert_eq!(
            (t.prod_wait_p90_s, t.nonprod_wait_p90_s),
            (Some(60), Some(300))
        );
    }

    #[test]
    fn quickstart_leaves_too_much_unplaced_on_its_own_cell() {
        // quickstart keeps its cell busy with batch: 574 of 14,085 tasks
        // are pending at the end; 0.2 % of 14,085 is 28.17, so 28 may be.
        // Its waits are within the limits (prod p90 1.73 s ≤ 60 s, non-prod
        // p90 277.8 s ≤ 300 s): only the unplaced check fails.
        let sc = Scenario::quickstart();
        let mut sim = crate::build_simulation(&sc, false).unwrap();
        sim.run(&mut |_| {}).unwrap();
        let s = Summary::of(&sc, &sim);
        let rule = FitRule::new(&CompactionConfig::default(), WorkloadKind::of(&sc), 250);
        let v = rule.judge(&s);
        assert_eq!((v.unplaced_tasks, v.picky_allowed_tasks), (574, 28));
        assert_eq!(v.failed, [Check::Unplaced]);
        assert!(!v.fits);
        assert_eq!(v.pending_by_band.get("batch"), Some(&381));
        assert!(v
            .why_not(&rule)
            .starts_with("574 of 14,085 tasks unplaced at the end (batch 381, best_effort 193)"));
        // Tighter waits fail them too; looser picky share passes it.
        let strict = CompactionConfig {
            nonprod_wait_p90_s: 200,
            picky_share: 0.05,
            ..CompactionConfig::default()
        };
        let v = FitRule::new(&strict, WorkloadKind::WithTime, 250).judge(&s);
        assert_eq!(v.failed, [Check::NonprodWait]);
        // A static reading of the same run ignores waits.
        let v = FitRule::new(&strict, WorkloadKind::Static, 250).judge(&s);
        assert!(v.fits, "{v:?}");
    }
}
