//! Two of the four views of packing quality of Verma, Korupolu and Wilkes,
//! "Evaluating job packing in warehouse-scale computing" (IEEE CLUSTER
//! 2014): **stranded resources** and **hole filling**, taken on the cell
//! as it stands at the end of a run. (The other two: aggregate utilisation
//! is `summary.json`'s `utilization`; compaction and inflation are their
//! own commands, since they re-run the workload.)
//!
//! Both need a task shape to judge free space by, the *unit*: what a
//! typical task asks for. It is the scenario's `packing.hole_size` (or
//! `run --hole-size`) when given; otherwise the median request of the
//! tasks in the cell at the end (running and pending), taken per resource
//! over the tasks that ask for some of it (the Google traces hold many
//! tasks requesting 0 of a resource; a unit of 0 would make every sliver a
//! hole). With no such task there is no unit, and no stranding or holes.
//!
//! - **Stranded** (per resource): a machine's free CPU is stranded when it
//!   has room for the unit's CPU but not for its memory — the CPU is there
//!   and cannot be used, because memory ran out; and the other way round.
//!   A machine short of both holds slivers, not stranded resources.
//! - **Holes**: how many units fit into the free space, machine by machine
//!   (`min(free cpu / unit cpu, free mem / unit mem)`, whole units), beside
//!   how many fit into the same machines empty. Constraints and GPUs are
//!   ignored, as in the paper (GPU fragmentation: `gpu_packing`).
//!
//! Only machines that are up count; a machine resized by a trace counts
//! with its current capacity. Everything is integer but the shares.

use super::round6;
use crate::cell::resources::Resources;
use crate::cell::state::{CellState, TaskState};
use serde::Serialize;

/// Where the unit came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitSource {
    /// The scenario's `packing.hole_size` or `run --hole-size`.
    HoleSize,
    /// The median request of the tasks in the cell at the end.
    MedianTask,
}

/// The task shape free space is judged by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub source: UnitSource,
}

/// Free resources stranded by the lack of the other resource.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stranded {
    /// Free CPU on machines with room for the unit's CPU but not its memory.
    pub cpu_milli: u64,
    /// That CPU as a share of the cell's (current) CPU capacity.
    pub cpu_share: f64,
    /// Machines whose free CPU is stranded.
    pub cpu_machines: u64,
    /// Free memory on machines with room for the unit's memory but not its CPU.
    pub mem_mib: u64,
    pub mem_share: f64,
    pub mem_machines: u64,
}

/// Units that fit into the free space, and into the same machines empty.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Holes {
    pub units_free: u64,
    pub units_empty: u64,
    /// `units_free / units_empty`: the share of the cell's room for the
    /// unit that is still open.
    pub free_share: f64,
}

/// `summary.json`'s `packing`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Packing {
    /// `None` when there is no unit (no `hole_size`, and no task in the
    /// cell at the end asking for both resources' worth of anything).
    pub unit: Option<Unit>,
    pub stranded: Option<Stranded>,
    pub holes: Option<Holes>,
}

impl Packing {
    /// The packing views of `st` as it stands, judged by `hole_size` if
    /// given, else by the median task (see the module docs).
    pub fn of(st: &CellState, hole_size: Option<Resources>) -> Packing {
        let unit = match hole_size {
            Some(r) => Some(Unit {
                cpu_milli: r.cpu_milli,
                mem_mib: r.mem_mib,
                source: UnitSource::HoleSize,
            }),
            None => median_unit(st),
        };
        let Some(u) = unit else {
            return Packing {
                unit: None,
                stranded: None,
                holes: None,
            };
        };
        let (stranded, holes) = measure(st, u);
        Packing {
            unit: Some(u),
            stranded: Some(stranded),
            holes: Some(holes),
        }
    }
}

/// The median CPU and memory request, each over the live tasks asking for
/// some of it; `None` if either has no such task.
fn median_unit(st: &CellState) -> Option<Unit> {
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    for (_, rec) in st.live_tasks() {
        if rec.state == TaskState::Finished {
            continue;
        }
        let r = st.shape_of(rec).request.res;
        if r.cpu_milli > 0 {
            cpu.push(r.cpu_milli);
        }
        if r.mem_mib > 0 {
            mem.push(r.mem_mib);
        }
    }
    cpu.sort_unstable();
    mem.sort_unstable();
    Some(Unit {
        cpu_milli: super::percentile(&cpu, 50)?,
        mem_mib: super::percentile(&mem, 50)?,
        source: UnitSource::MedianTask,
    })
}

/// How many whole units fit in `r`; a unit asking for none of a resource
/// is bounded by the other alone.
fn units_in(r: Resources, u: Unit) -> u64 {
    let by = |have: u64, need: u64| have.checked_div(need).unwrap_or(u64::MAX);
    let n = by(r.cpu_milli, u.cpu_milli).min(by(r.mem_mib, u.mem_mib));
    // A zero-sized unit fits "everywhere": count none rather than infinity.
    if n == u64::MAX {
        0
    } else {
        n
    }
}

fn measure(st: &CellState, u: Unit) -> (Stranded, Holes) {
    let mut s = Stranded::default();
    let mut h = Holes::default();
    let mut cap = Resources::ZERO;
    for (m, ms) in st.machines().iter().enumerate() {
        let m = m as crate::cell::MachineId;
        if !st.machine_up(m) {
            continue;
        }
        let full = st.cell().machines[m as usize].capacity.res;
        let current = full.checked_sub(&st.withheld(m)).unwrap_or(Resources::ZERO);
        cap = Resources::new(
            cap.cpu_milli.saturating_add(current.cpu_milli),
            cap.mem_mib.saturating_add(current.mem_mib),
        );
        let f = ms.free;
        let cpu_room = f.cpu_milli >= u.cpu_milli;
        let mem_room = f.mem_mib >= u.mem_mib;
        if cpu_room && !mem_room {
            s.cpu_milli += f.cpu_milli;
            s.cpu_machines += 1;
        }
        if mem_room && !cpu_room {
            s.mem_mib += f.mem_mib;
            s.mem_machines += 1;
        }
        h.units_free += units_in(f, u);
        h.units_empty += units_in(current, u);
    }
    let share = |x: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            round6(x as f64 / of as f64)
        }
    };
    s.cpu_share = share(s.cpu_milli, cap.cpu_milli);
    s.mem_share = share(s.mem_mib, cap.mem_mib);
    h.free_share = share(h.units_free, h.units_empty);
    (s, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{job, occupy, submit, CellBuilder};

    /// Three 8-core / 32 GiB machines, each holding one task (none for a
    /// zero request).
    fn three_machines(requests: [(u64, u64); 3]) -> CellState {
        let mut st = CellBuilder::new().machines(3, 8000, 32768, 0).build();
        for (m, (cpu, mem)) in requests.into_iter().enumerate() {
            if (cpu, mem) != (0, 0) {
                occupy(&mut st, m as u32, cpu, mem, 200);
            }
        }
        st
    }

    #[test]
    fn stranded_cpu_and_memory_and_holes() {
        // Unit 1 core / 4 GiB (given). Free after the tasks:
        //   m0: 8000-1000 = 7000 milli, 32768-30720 = 2048 MiB -> CPU room, no memory room:
        //       7000 milli stranded CPU; holes min(7, 0) = 0.
        //   m1: 8000-7500 = 500 milli, 32768-4096 = 28672 MiB -> memory room, no CPU room:
        //       28672 MiB stranded memory; holes min(0, 7) = 0.
        //   m2: 8000-2000 = 6000, 32768-8192 = 24576 -> both: nothing stranded; holes min(6, 6) = 6.
        // Empty: each machine min(8, 8) = 8 -> 24. Shares: 7000/24000, 28672/98304.
        let st = three_machines([(1000, 30720), (7500, 4096), (2000, 8192)]);
        let p = Packing::of(&st, Some(Resources::new(1000, 4096)));
        let s = p.stranded.unwrap();
        assert_eq!((s.cpu_milli, s.cpu_machines), (7000, 1));
        assert_eq!((s.mem_mib, s.mem_machines), (28672, 1));
        assert_eq!(s.cpu_share, round6(7000.0 / 24000.0));
        assert_eq!(s.mem_share, round6(28672.0 / 98304.0));
        let h = p.holes.unwrap();
        assert_eq!((h.units_free, h.units_empty), (6, 24));
        assert_eq!(h.free_share, 0.25);
        assert_eq!(p.unit.unwrap().source, UnitSource::HoleSize);
    }

    #[test]
    fn slivers_are_not_stranded() {
        // m0 is left with 500 milli and 1024 MiB: short of both for a
        // 1-core / 4-GiB unit, so neither is stranded.
        let st = three_machines([(7500, 31744), (0, 0), (0, 0)]);
        let s = Packing::of(&st, Some(Resources::new(1000, 4096)))
            .stranded
            .unwrap();
        assert_eq!((s.cpu_milli, s.mem_mib), (0, 0));
    }

    #[test]
    fn the_default_unit_is_the_median_task_per_resource() {
        // Requests (1000, 30720), (7500, 4096), (2000, 8192): CPU sorted
        // 1000, 2000, 7500 -> median 2000; memory 4096, 8192, 30720 -> 8192.
        let st = three_machines([(1000, 30720), (7500, 4096), (2000, 8192)]);
        let u = Packing::of(&st, None).unit.unwrap();
        assert_eq!((u.cpu_milli, u.mem_mib), (2000, 8192));
        assert_eq!(u.source, UnitSource::MedianTask);
        // Zero requests are left out of the median: with only (0, 512) in
        // the cell there is no CPU median, hence no unit.
        let mut st = CellBuilder::new().machines(1, 8000, 32768, 0).build();
        submit(&mut st, job(0, 512, 200, 1));
        let p = Packing::of(&st, None);
        assert!(p.unit.is_none() && p.stranded.is_none() && p.holes.is_none());
    }

    #[test]
    fn a_unit_without_one_resource_is_bounded_by_the_other() {
        let u = Unit {
            cpu_milli: 0,
            mem_mib: 1024,
            source: UnitSource::HoleSize,
        };
        // 4096 MiB / 1024 = 4, CPU unbounded; a zero unit counts no holes.
        assert_eq!(units_in(Resources::new(1, 4096), u), 4);
        let zero = Unit { mem_mib: 0, ..u };
        assert_eq!(units_in(Resources::new(1, 4096), zero), 0);
    }
}
