//! `summary.json`'s `reclamation` (only with `[reclamation]` measuring or
//! on): the usage books' exact integrals (`cell::state::usage`) in the
//! units people read — core-seconds and MiB-seconds — per band, the work
//! that ran on reclaimed resources, throttled CPU and out-of-memory kills.
//! Floats appear only here, at output; a run without reclamation writes
//! nothing of it.

use super::round_sig9;
use crate::cell::state::usage::ReclamationMode;
use crate::cell::state::{CellState, EvictionCause};
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
    /// Usages above their task's limit, clamped to it.
    pub usage_clamped: u64,
    /// Per band.
    pub by_band: BTreeMap<&'static str, BandUsage>,
}

/// One band's usage figures, over the whole run.
#[derive(Debug, Serialize)]
pub struct BandUsage {
    /// ∫ usage dt.
    pub usage_cpu_core_s: f64,
    pub usage_mem_mib_s: f64,
    /// ∫ reservations dt.
    pub reserved_cpu_core_s: f64,
    pub reserved_mem_mib_s: f64,
    /// ∫ throttled CPU dt (always 0 for prod bands).
    pub throttled_cpu_core_s: f64,
    /// Tasks killed for memory (`evictions.out_of_memory`, this band's).
    pub oom_kills: u64,
}

impl ReclamationSummary {
    /// The figures of `st`'s usage books; `None` without them.
    pub fn of(st: &CellState) -> Option<ReclamationSummary> {
        let b = st.usage_books()?;
        let l = b.ledger();
        let core_s = |v: u128| round_sig9(v as f64 / MILLI_US_PER_CORE_S);
        let mib_s = |v: u128| round_sig9(v as f64 / US_PER_S);
        let oom = &st.ledger().evictions_by_band[EvictionCause::OutOfMemory as usize];
        let by_band = Band::ALL
            .iter()
            .map(|band| {
                let i = band.index();
                let u = BandUsage {
                    usage_cpu_core_s: core_s(l.usage_integral[i][0]),
                    usage_mem_mib_s: mib_s(l.usage_integral[i][1]),
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
            usage_clamped: l.usage_clamped,
            by_band,
        })
    }
}

/// Whether `summary.json` lists eviction cause `c`: `out_of_memory` only
/// with reclamation (so a run without it writes what it always did).
pub fn cause_reported(st: &CellState, c: EvictionCause) -> bool {
    c != EvictionCause::OutOfMemory || st.reclamation_mode() != ReclamationMode::Off
}
