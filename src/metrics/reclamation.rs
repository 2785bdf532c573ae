//! `summary.json`'s `reclamation` (only with `[reclamation]` measuring or
//! on): the usage books' exact integrals (`cell::state::usage`) in the
//! units people read — core-seconds and MiB-seconds — per band, the work
//! that ran on reclaimed resources, throttled CPU and out-of-memory kills.
//! Beside them the ratios that show reclamation's trade-off at a glance:
//! the share of the allocation that ran on reclaimed resources and the
//! used share of the cell's capacity (what reclamation raises), next to
//! the throttling and kills (what it costs). Floats appear only here, at
//! output; a run without reclamation writes nothing of it.

use super::availability::US_PER_WEEK;
use super::summary::ProdSplit;
use super::{round6, round_sig9};
use crate::cell::resources::Resources;
use crate::cell::state::usage::{ReclamationMode, UsageLedger};
use crate::cell::state::{CellState, EvictionCause};
use crate::time::SimTime;
use crate::workload::Band;
use serde::Serialize;
use std::collections::BTreeMap;

/// milli-core·µs in a core-second.
const MILLI_US_PER_CORE_S: f64 = 1e9;
/// µs in a second (MiB·µs in a MiB-second).
const US_PER_S: f64 = 1e6;

/// `reclamation`.
#[derive(Debug, Serialize)]
pub struct ReclamationSummary {
    /// `measure` or `on`.
    pub mode: ReclamationMode,
    /// ∫ Σ over machines of the limits beyond capacity dt: the work that
    /// ran on reclaimed resources (0 unless `on`), in core-seconds and
    /// MiB-seconds.
    pub reclaimed_cpu_core_s: f64,
    pub reclaimed_mem_mib_s: f64,
    /// The reclaimed integrals over ∫ Σ limits of running tasks dt (all
    /// bands' allocation): the share of the allocated work that ran on
    /// reclaimed resources; 0 without allocation.
    pub reclaimed_share: CpuMem,
    /// ∫ usage dt over the capacity × the run's length, per resource, for
    /// prod, non-prod and all (the allocation's `utilization`, by usage);
    /// the usage at the one instant of a run of no length.
    pub usage_utilization: UsageUtilization,
    /// ∫ CPU throttled dt, all bands (`by_band`'s sum), in core-seconds.
    pub throttled_cpu_core_s: f64,
    /// Tasks killed for memory, all bands (`evictions.out_of_memory`).
    pub oom_kills: u64,
    /// `oom_kills` per task-week: over ∫ running tasks dt (all bands) / 7
    /// days (9 significant digits); `null` when no task ran.
    pub oom_kills_per_task_week: Option<f64>,
    /// Usages above their task's limit, clamped to it.
    pub usage_clamped: u64,
    /// Per band.
    pub by_band: BTreeMap<&'static str, BandUsage>,
}

/// A fraction per resource.
#[derive(Debug, Serialize)]
pub struct CpuMem {
    pub cpu: f64,
    pub mem: f64,
}

/// Used fraction of the cell's capacity, per resource.
#[derive(Debug, Serialize)]
pub struct UsageUtilization {
    pub cpu: ProdSplit,
    pub mem: ProdSplit,
}

/// One band's usage figures, over the whole run.
#[derive(Debug, Serialize)]
pub struct BandUsage {
    /// ∫ usage dt.
    pub usage_cpu_core_s: f64,
    pub usage_mem_mib_s: f64,
    /// Those over the capacity × the run's length (see
    /// [`ReclamationSummary::usage_utilization`]).
    pub usage_cpu_utilization: f64,
    pub usage_mem_utilization: f64,
    /// ∫ reservations dt.
    pub reserved_cpu_core_s: f64,
    pub reserved_mem_mib_s: f64,
    /// ∫ throttled CPU dt (always 0 for prod bands).
    pub throttled_cpu_core_s: f64,
    /// Tasks killed for memory (`evictions.out_of_memory`, this band's).
    pub oom_kills: u64,
}

impl ReclamationSummary {
    /// One line for a person at a terminal, after the allocation's: what
    /// was used (an allocation above 100 % is non-prod on reclaimed
    /// resources) and what reclaiming cost.
    pub fn human(&self) -> String {
        let mode = match self.mode {
            ReclamationMode::On => "on",
            _ => "measuring",
        };
        let u = &self.usage_utilization;
        format!(
            "\nusage (reclamation {mode}): cpu {:.1}%  mem {:.1}% of capacity used; \
             on reclaimed resources: {:.1}% of the cpu allocated, {:.1}% of the mem; \
             {:.0} core-s cpu throttled, {} killed for memory",
            u.cpu.total * 100.0,
            u.mem.total * 100.0,
            self.reclaimed_share.cpu * 100.0,
            self.reclaimed_share.mem * 100.0,
            self.throttled_cpu_core_s,
            self.oom_kills,
        )
    }

    /// The figures of `st`'s usage books for a run that ended at `end`
    /// (nothing runs between it and the state's clock); `None` without
    /// them.
    pub fn of(st: &CellState, end: SimTime) -> Option<ReclamationSummary> {
        let b = st.usage_books()?;
        let l = b.ledger();
        let core_s = |v: u128| round_sig9(v as f64 / MILLI_US_PER_CORE_S);
        let mib_s = |v: u128| round_sig9(v as f64 / US_PER_S);
        let oom = &st.ledger().evictions_by_band[EvictionCause::OutOfMemory as usize];
        let used = Used::of(l, st, end);
        let by_band = Band::ALL
            .iter()
            .map(|band| {
                let i = band.index();
                let u = BandUsage {
                    usage_cpu_core_s: core_s(l.usage_integral[i][0]),
                    usage_mem_mib_s: mib_s(l.usage_integral[i][1]),
                    usage_cpu_utilization: round6(used.fraction(&[*band], 0)),
                    usage_mem_utilization: round6(used.fraction(&[*band], 1)),
                    reserved_cpu_core_s: core_s(l.reserved_integral[i][0]),
                    reserved_mem_mib_s: mib_s(l.reserved_integral[i][1]),
                    throttled_cpu_core_s: core_s(l.throttled_integral[i]),
                    oom_kills: oom[i],
                };
                (band.name(), u)
            })
            .collect();
        Some(ReclamationSummary {
            mode: b.settings().mode,
            reclaimed_cpu_core_s: core_s(l.excess_integral[0]),
            reclaimed_mem_mib_s: mib_s(l.excess_integral[1]),
            reclaimed_share: reclaimed_share(st, l.excess_integral),
            usage_utilization: UsageUtilization {
                cpu: used.split(0),
                mem: used.split(1),
            },
            throttled_cpu_core_s: core_s(l.throttled_integral.iter().sum()),
            oom_kills: oom.iter().sum(),
            oom_kills_per_task_week: per_task_week(oom.iter().sum(), st),
            usage_clamped: l.usage_clamped,
            by_band,
        })
    }
}

/// `n` over the task-weeks that ran: ∫ running tasks dt over all bands,
/// in task·µs, / µs in a week; `None` when no task ran.
fn per_task_week(n: u64, st: &CellState) -> Option<f64> {
    let running_us: u128 = st.ledger().running_integral_us.iter().sum();
    (running_us > 0).then(|| round_sig9(n as f64 * US_PER_WEEK as f64 / running_us as f64))
}

/// ∫ excess dt over ∫ Σ limits dt (every band's allocation integral), per
/// resource; 0 where nothing was allocated.
fn reclaimed_share(st: &CellState, excess: [u128; 2]) -> CpuMem {
    let alloc = &st.ledger().alloc_integral;
    let share = |d: usize| {
        let limits: u128 = alloc.iter().map(|a| a[d]).sum();
        if limits == 0 {
            0.0
        } else {
            round6(excess[d] as f64 / limits as f64)
        }
    };
    CpuMem {
        cpu: share(0),
        mem: share(1),
    }
}

/// Usage over capacity: the integrals and the rates now (for a run of no
/// length), the capacity and the run's length.
struct Used<'a> {
    integral: &'a [[u128; 2]; 4],
    now: &'a [Resources; 4],
    capacity: Resources,
    elapsed_us: u64,
}

impl<'a> Used<'a> {
    fn of(l: &'a UsageLedger, st: &CellState, end: SimTime) -> Used<'a> {
        Used {
            integral: &l.usage_integral,
            now: &l.usage_by_band,
            capacity: st.cell().total_capacity().res,
            elapsed_us: end.as_us(),
        }
    }

    /// The used fraction of resource `d` (0 CPU, 1 memory) by `bands`.
    fn fraction(&self, bands: &[Band], d: usize) -> f64 {
        let cap = [self.capacity.cpu_milli, self.capacity.mem_mib][d];
        if cap == 0 {
            return 0.0;
        }
        if self.elapsed_us == 0 {
            let now: u64 = bands
                .iter()
                .map(|b| {
                    let r = &self.now[b.index()];
                    [r.cpu_milli, r.mem_mib][d]
                })
                .sum();
            return now as f64 / cap as f64;
        }
        let area: u128 = bands.iter().map(|b| self.integral[b.index()][d]).sum();
        area as f64 / (cap as f64 * self.elapsed_us as f64)
    }

    /// Prod, non-prod and all, for resource `d`.
    fn split(&self, d: usize) -> ProdSplit {
        let of = |prod: bool| -> Vec<Band> {
            Band::ALL
                .iter()
                .copied()
                .filter(|b| b.is_prod() == prod)
                .collect()
        };
        let (p, n) = (self.fraction(&of(true), d), self.fraction(&of(false), d));
        ProdSplit {
            prod: round6(p),
            nonprod: round6(n),
            total: round6(p + n),
        }
    }
}

/// Whether `summary.json` lists eviction cause `c`: `out_of_memory` only
/// with reclamation (so a run without it writes what it always did).
pub fn cause_reported(st: &CellState, c: EvictionCause) -> bool {
    c != EvictionCause::OutOfMemory || st.reclamation_mode() != ReclamationMode::Off
}
