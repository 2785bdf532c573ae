//! Small builders for unit tests: cells, jobs and occupied machines.

use crate::cell::attrs::AttrTable;
use crate::cell::domain::DomainTree;
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::cell::state::CellState;
use crate::cell::{Cell, Machine};
use crate::time::{SimDuration, SimTime};
use crate::workload::{JobSpec, Priority, TaskId};

/// A cell of machines with these (cpu_milli, mem_mib, gpus) capacities, two
/// machines per rack, two racks per power domain.
pub fn cell(caps: &[(u64, u64, u32)]) -> CellState {
    let machines = caps
        .iter()
        .enumerate()
        .map(|(i, &(c, m, g))| Machine {
            id: i as u32,
            capacity: Capacity {
                res: Resources::new(c, m),
                gpus: g,
            },
            attrs: Default::default(),
        })
        .collect();
    let domains = DomainTree::regular(caps.len(), 2, 2);
    CellState::new(Cell::new(machines, domains, AttrTable::default()))
}

/// A job of `tasks` tasks of (cpu_milli, mem_mib) at `priority`, running forever.
pub fn job(cpu: u64, mem: u64, priority: Priority, tasks: usize) -> JobSpec {
    JobSpec {
        name: "test".into(),
        user: "tester".into(),
        priority,
        request: Request {
            res: Resources::new(cpu, mem),
            gpu: GpuRequest::None,
        },
        constraints: vec![],
        spread: vec![],
        task_durations: vec![None::<SimDuration>; tasks],
    }
}

/// Submits a one-task job and places it on `machine`; returns the task.
pub fn occupy(st: &mut CellState, machine: u32, cpu: u64, mem: u64, prio: Priority) -> TaskId {
    let now = st.now();
    let j = st.submit_job(now, job(cpu, mem, prio, 1));
    let t = st.job(j).tasks[0];
    st.place(now, t, machine);
    t
}

/// Submits a job and returns its id (tasks stay pending).
pub fn submit(st: &mut CellState, spec: JobSpec) -> u32 {
    st.submit_job(SimTime::ZERO.max(st.now()), spec)
}

/// A stand-alone job record for asking plugins about a task shape.
pub fn as_job(spec: JobSpec) -> crate::workload::Job {
    crate::workload::Job {
        id: u32::MAX,
        shape: 0,
        tasks: (0..spec.task_count() as u32).collect(),
        spec: spec.into_info(),
        submit_time: SimTime::ZERO,
        ever_schedulable: true,
        serial: 0,
        trace_job: None,
    }
}
