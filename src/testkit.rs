//! Builders for tests and benchmarks: cells, job specs, occupied machines and
//! list-driven simulations.
//!
//! One set, shared by the unit tests beside the code, the integration tests
//! in `tests/` and the criterion benches in `benches/`, so a change to a
//! record's fields is made once and every test builds its inputs the same
//! way. Public because integration tests and benches see only the public
//! API; it is also what a user writing tests for their own plugins needs.
//! Nothing here is used by a simulation run.

use crate::cell::attrs::{AttrTable, Attributes, Constraint, ConstraintOp};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::cell::state::CellState;
use crate::cell::{Cell, Machine};
use crate::sched::SchedConfig;
use crate::sim::{SimOptions, Simulation};
use crate::time::{SimDuration, SimTime};
use crate::workload::{JobSpec, ListSource, Priority, SpreadLimit, TaskId};

/// Machines per rack and racks per power domain unless a test says otherwise.
const PER_RACK: u32 = 2;
const RACKS_PER_POWER: u32 = 2;

/// One machine to build: (cpu_milli, mem_mib, gpus, attributes as (name, value)).
type MachinePlan = (u64, u64, u32, Vec<(String, String)>);

/// A cell built machine by machine.
#[derive(Clone, Debug, Default)]
pub struct CellBuilder {
    machines: Vec<MachinePlan>,
    domains: Option<(u32, u32)>,
}

impl CellBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` machines of (cpu_milli, mem_mib, gpus).
    pub fn machines(self, n: usize, cpu_milli: u64, mem_mib: u64, gpus: u32) -> Self {
        self.class(n, (cpu_milli, mem_mib, gpus), &[])
    }

    /// Adds `n` machines of (cpu_milli, mem_mib, gpus) with these attributes.
    pub fn class(
        mut self,
        n: usize,
        (cpu, mem, gpus): (u64, u64, u32),
        attrs: &[(&str, &str)],
    ) -> Self {
        let attrs: Vec<(String, String)> = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.machines
            .extend((0..n).map(|_| (cpu, mem, gpus, attrs.clone())));
        self
    }

    /// Sets attribute `name = value` on the last machine added.
    pub fn attr(mut self, name: &str, value: &str) -> Self {
        let m = self.machines.last_mut().expect("attr after a machine");
        m.3.push((name.into(), value.into()));
        self
    }

    /// The failure-domain shape: machines per rack, racks per power domain
    /// (default 2 and 2).
    pub fn domains(mut self, per_rack: u32, racks_per_power: u32) -> Self {
        self.domains = Some((per_rack, racks_per_power));
        self
    }

    /// The cell, machines numbered in the order added.
    pub fn cell(self) -> Cell {
        let mut table = AttrTable::default();
        let n = self.machines.len();
        let machines = self
            .machines
            .into_iter()
            .enumerate()
            .map(|(i, (cpu, mem, gpus, attrs))| Machine {
                id: i as u32,
                capacity: Capacity {
                    res: Resources::new(cpu, mem),
                    gpus,
                },
                attrs: Attributes::new(
                    attrs
                        .iter()
                        .map(|(k, v)| (table.name_id(k), table.value_id(v)))
                        .collect(),
                ),
            })
            .collect();
        let (per_rack, racks) = self.domains.unwrap_or((PER_RACK, RACKS_PER_POWER));
        Cell::new(machines, DomainTree::regular(n, per_rack, racks), table)
    }

    /// The cell's state, every machine empty.
    pub fn build(self) -> CellState {
        CellState::new(self.cell())
    }
}

/// A cell of machines with these (cpu_milli, mem_mib, gpus) capacities, two
/// machines per rack, two racks per power domain.
pub fn cell(caps: &[(u64, u64, u32)]) -> CellState {
    caps.iter()
        .fold(CellBuilder::new(), |b, &(c, m, g)| b.machines(1, c, m, g))
        .build()
}

/// A job spec built field by field; starts as one task of the given
/// request at priority 0, running forever, named "test".
#[derive(Clone, Debug)]
pub struct SpecBuilder(JobSpec);

impl SpecBuilder {
    pub fn new(cpu_milli: u64, mem_mib: u64) -> Self {
        SpecBuilder(JobSpec {
            name: "test".into(),
            user: "tester".into(),
            priority: 0,
            request: Request {
                res: Resources::new(cpu_milli, mem_mib),
                gpu: GpuRequest::None,
            },
            constraints: vec![],
            spread: vec![],
            task_durations: vec![None],
        })
    }
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.into();
        self
    }
    pub fn user(mut self, user: &str) -> Self {
        self.0.user = user.into();
        self
    }
    pub fn priority(mut self, p: Priority) -> Self {
        self.0.priority = p;
        self
    }
    pub fn gpu(mut self, gpu: GpuRequest) -> Self {
        self.0.request.gpu = gpu;
        self
    }
    /// `n` tasks, each running for `secs` (`None`: until the run ends).
    pub fn tasks(mut self, n: usize, secs: Option<u64>) -> Self {
        self.0.task_durations = vec![secs.map(SimDuration::from_secs); n];
        self
    }
    /// At most `k` of the job's tasks per machine.
    pub fn max_per_machine(mut self, k: u32) -> Self {
        self.0.spread.push(SpreadLimit {
            level: DomainLevel::Machine,
            max_tasks: k,
        });
        self
    }
    /// Requires machine attribute `name = value`, interned in `table`: the
    /// cell's own (build it with [`CellBuilder::cell`], pass
    /// `&mut cell.attr_table`, then make the [`CellState`]).
    pub fn requires(mut self, table: &mut AttrTable, name: &str, value: &str) -> Self {
        self.0.constraints.push(Constraint {
            name: table.name_id(name),
            op: ConstraintOp::Eq,
            value: table.value_id(value),
        });
        self
    }
    pub fn build(self) -> JobSpec {
        self.0
    }
}

/// A job of `tasks` tasks of (cpu_milli, mem_mib) at `priority`, running forever.
pub fn job(cpu: u64, mem: u64, priority: Priority, tasks: usize) -> JobSpec {
    SpecBuilder::new(cpu, mem)
        .priority(priority)
        .tasks(tasks, None)
        .build()
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

/// Options for a short list-driven run: `horizon_s` long, a pass every
/// `pass_ms`, seed 1, the invariant checker on.
pub fn options(horizon_s: u64, pass_ms: u64, sched: SchedConfig) -> SimOptions {
    let mut opts = SimOptions::new(SimTime::from_secs(horizon_s), sched, 1);
    opts.pass_interval = SimDuration::from_millis(pass_ms);
    opts.check_invariants = true;
    opts
}

/// A simulation of `jobs` (submission time, spec) on `st`, not yet run.
pub fn simulation(st: CellState, jobs: Vec<(SimTime, JobSpec)>, opts: SimOptions) -> Simulation {
    Simulation::new(st, Box::new(ListSource::new(jobs)), opts)
}
