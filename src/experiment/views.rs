//! `policies`' other views of packing, beside compaction: one run of the
//! scenario on its whole cell (aggregate utilisation, stranded resources,
//! hole filling) and a vertical inflation of it. Apart from `mod.rs`,
//! which runs the compactions.

use super::Views;
use crate::compact::Demand;
use crate::error::Error;
use crate::metrics::summary::Summary;
use crate::scenario::Scenario;

/// One run of the scenario on its whole cell (aggregate utilisation,
/// stranded resources, hole filling) and a vertical inflation of it: the
/// other three views, compaction being the experiment's.
pub(super) fn views(sc: &Scenario, threads: usize, events: &mut u64) -> Result<Views, Error> {
    let mut sim = crate::build_simulation(sc, false)?;
    sim.run(&mut |_| {})?;
    *events += sim.events_processed();
    let s = Summary::of(sc, &sim);
    let p = &s.packing;
    Ok(Views {
        cpu_utilization: s.utilization.cpu.total,
        mem_utilization: s.utilization.mem.total,
        stranded_cpu_share: p.stranded.as_ref().map(|x| x.cpu_share),
        stranded_mem_share: p.stranded.as_ref().map(|x| x.mem_share),
        holes_units_free: p.holes.as_ref().map(|h| h.units_free),
        holes_free_share: p.holes.as_ref().map(|h| h.free_share),
        hole_unit: p.unit.as_ref().map(|u| Demand {
            cpu_milli: u.cpu_milli,
            mem_mib: u.mem_mib,
            gpu_milli: 0,
        }),
        inflation_vertical_permille: vertical_inflation(sc, threads, events)?,
    })
}

/// The largest vertical growth of the workload that still fits its whole
/// cell, per mille, by `inflate`'s defaults (steps of 1 %); `None` for a
/// trace replay, or a workload that fits even at the cap.
fn vertical_inflation(
    sc: &Scenario,
    threads: usize,
    events: &mut u64,
) -> Result<Option<u32>, Error> {
    if sc.trace.is_some() {
        return Ok(None);
    }
    let o = crate::inflate::Options {
        mode: crate::inflate::Mode::Vertical,
        trials: 1,
        percentile: crate::inflate::DEFAULT_PERCENTILE,
        resolution_permille: crate::inflate::DEFAULT_RESOLUTION_PERMILLE,
        cap_permille: crate::inflate::DEFAULT_CAP_PERMILLE,
        threads,
    };
    match crate::inflate::inflate(sc, &o, &|_| {}) {
        Ok(i) => {
            *events += i.events_processed;
            Ok(Some(i.answer.permille))
        }
        Err(crate::inflate::InflateError::NeverFull { .. }) => Ok(None),
        Err(crate::inflate::InflateError::Run(e)) => Err(e),
        Err(crate::inflate::InflateError::DoesNotFit(_)) => Err(Error::Internal(
            "the workload fits its whole cell for compaction but not for inflation".into(),
        )),
    }
}
