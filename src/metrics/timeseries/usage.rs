//! The columns of `timeseries.csv` that exist only when the run keeps usage
//! books (`[reclamation]` measuring or on): per band the usage and the
//! reservations of the running tasks (their allocation, the limits, is in
//! the `cpu_milli_<band>` and `mem_mib_<band>` columns every run has), the
//! CPU throttled now per band, the out-of-memory kills so far and the
//! cell's current capacity. A run without reclamation writes none of them,
//! so its file stays what it always was.
//!
//! Every figure is read from the books' running sums at the sample
//! (`cell::state::usage::UsageLedger`, kept exact at every change and
//! recomputed by the invariant checker): a sample walks no task.

use crate::cell::resources::Resources;
use crate::cell::state::{CellState, EvictionCause};
use serde::Serialize;

/// The usage books at one instant (see the module doc).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageSample {
    /// Σ usage of running tasks, per band ([`crate::workload::Band::index`]).
    pub usage: [Resources; 4],
    /// Σ reservations of running tasks, per band.
    pub reserved: [Resources; 4],
    /// Milli-cores throttled now, per band (prod's always 0).
    pub throttled_cpu_milli: [u64; 4],
    /// Σ over machines of capacity − withheld (a machine down offers 0).
    pub capacity: Resources,
}

impl UsageSample {
    /// The books of `st` now; `None` without them (reclamation off).
    pub fn of(st: &CellState) -> Option<UsageSample> {
        let l = st.usage_books()?.ledger();
        Some(UsageSample {
            usage: l.usage_by_band,
            reserved: l.reserved_by_band,
            throttled_cpu_milli: l.throttled_by_band,
            capacity: l.capacity,
        })
    }
}

/// The usage columns of a row of `timeseries.csv`, after [`super::Row`]'s
/// (per band, in [`crate::workload::Band::ALL`] order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    pub usage_cpu_milli_best_effort: u64,
    pub usage_cpu_milli_batch: u64,
    pub usage_cpu_milli_production: u64,
    pub usage_cpu_milli_monitoring: u64,
    pub usage_mem_mib_best_effort: u64,
    pub usage_mem_mib_batch: u64,
    pub usage_mem_mib_production: u64,
    pub usage_mem_mib_monitoring: u64,
    pub reservation_cpu_milli_best_effort: u64,
    pub reservation_cpu_milli_batch: u64,
    pub reservation_cpu_milli_production: u64,
    pub reservation_cpu_milli_monitoring: u64,
    pub reservation_mem_mib_best_effort: u64,
    pub reservation_mem_mib_batch: u64,
    pub reservation_mem_mib_production: u64,
    pub reservation_mem_mib_monitoring: u64,
    pub throttled_cpu_milli_best_effort: u64,
    pub throttled_cpu_milli_batch: u64,
    pub throttled_cpu_milli_production: u64,
    pub throttled_cpu_milli_monitoring: u64,
    /// Tasks killed for memory so far (they count in `evictions_total`).
    pub evictions_out_of_memory: u64,
    /// The cell's current capacity (capacity − withheld, summed).
    pub capacity_cpu_milli: u64,
    pub capacity_mem_mib: u64,
}

impl UsageRow {
    /// The usage columns of a sample taken with the books, whose evictions
    /// so far are `evictions`.
    pub fn of(u: &UsageSample, evictions: &[u64; EvictionCause::ALL.len()]) -> UsageRow {
        let cpu = |r: [Resources; 4]| r.map(|x| x.cpu_milli);
        let mem = |r: [Resources; 4]| r.map(|x| x.mem_mib);
        let [u_cpu_be, u_cpu_b, u_cpu_p, u_cpu_m] = cpu(u.usage);
        let [u_mem_be, u_mem_b, u_mem_p, u_mem_m] = mem(u.usage);
        let [r_cpu_be, r_cpu_b, r_cpu_p, r_cpu_m] = cpu(u.reserved);
        let [r_mem_be, r_mem_b, r_mem_p, r_mem_m] = mem(u.reserved);
        let [t_be, t_b, t_p, t_m] = u.throttled_cpu_milli;
        UsageRow {
            usage_cpu_milli_best_effort: u_cpu_be,
            usage_cpu_milli_batch: u_cpu_b,
            usage_cpu_milli_production: u_cpu_p,
            usage_cpu_milli_monitoring: u_cpu_m,
            usage_mem_mib_best_effort: u_mem_be,
            usage_mem_mib_batch: u_mem_b,
            usage_mem_mib_production: u_mem_p,
            usage_mem_mib_monitoring: u_mem_m,
            reservation_cpu_milli_best_effort: r_cpu_be,
            reservation_cpu_milli_batch: r_cpu_b,
            reservation_cpu_milli_production: r_cpu_p,
            reservation_cpu_milli_monitoring: r_cpu_m,
            reservation_mem_mib_best_effort: r_mem_be,
            reservation_mem_mib_batch: r_mem_b,
            reservation_mem_mib_production: r_mem_p,
            reservation_mem_mib_monitoring: r_mem_m,
            throttled_cpu_milli_best_effort: t_be,
            throttled_cpu_milli_batch: t_b,
            throttled_cpu_milli_production: t_p,
            throttled_cpu_milli_monitoring: t_m,
            evictions_out_of_memory: evictions[EvictionCause::OutOfMemory as usize],
            capacity_cpu_milli: u.capacity.cpu_milli,
            capacity_mem_mib: u.capacity.mem_mib,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::stream::header_of;
    use crate::workload::Band;

    #[test]
    fn the_usage_columns_name_each_band_in_band_order() {
        let mut want = Vec::new();
        for what in [
            "usage_cpu_milli",
            "usage_mem_mib",
            "reservation_cpu_milli",
            "reservation_mem_mib",
            "throttled_cpu_milli",
        ] {
            for b in Band::ALL {
                want.push(format!("{what}_{}", b.name()));
            }
        }
        want.extend(
            [
                "evictions_out_of_memory",
                "capacity_cpu_milli",
                "capacity_mem_mib",
            ]
            .map(String::from),
        );
        let got: Vec<String> = header_of::<UsageRow>().iter().map(String::from).collect();
        assert_eq!(got, want);
        // Batch is Band::ALL[1]: its usage is the second column.
        let mut u = UsageSample::default();
        u.usage[Band::Batch.index()] = Resources::new(300, 40);
        u.reserved[Band::Production.index()] = Resources::new(900, 70);
        u.throttled_cpu_milli[Band::BestEffort.index()] = 5;
        u.capacity = Resources::new(4000, 8192);
        let mut ev = [0; EvictionCause::ALL.len()];
        ev[EvictionCause::OutOfMemory as usize] = 2;
        ev[EvictionCause::Preemption as usize] = 9;
        let row = UsageRow::of(&u, &ev);
        assert_eq!(
            (row.usage_cpu_milli_batch, row.usage_mem_mib_batch),
            (300, 40)
        );
        assert_eq!(row.reservation_mem_mib_production, 70);
        assert_eq!(row.throttled_cpu_milli_best_effort, 5);
        assert_eq!(row.evictions_out_of_memory, 2);
        assert_eq!((row.capacity_cpu_milli, row.capacity_mem_mib), (4000, 8192));
    }
}
