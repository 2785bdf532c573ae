//! Turning a validated scenario into the runtime's objects.

use super::model::{Arrival, GpuConfig, Scenario};
use crate::cell::attrs::{AttrTable, Attributes, Constraint};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::cell::resources::{Capacity, GpuRequest, Resources};
use crate::cell::{Cell, Machine};
use crate::sched::SchedConfig;
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::synthetic::{ArrivalProcess, JobClass};
use crate::workload::SpreadLimit;

impl Scenario {
    /// Builds the cell and the job classes. Attribute strings of machines and
    /// constraints share one intern table.
    pub fn build(&self) -> (Cell, Vec<JobClass>) {
        let mut table = AttrTable::default();
        let mut machines = Vec::new();
        for class in &self.cell.machines {
            let attrs: Vec<_> = class
                .attributes
                .iter()
                .map(|(k, v)| (table.name_id(k), table.value_id(v)))
                .collect();
            for _ in 0..class.count {
                machines.push(Machine {
                    id: machines.len() as u32,
                    capacity: Capacity {
                        res: Resources::new(class.cpu_milli, class.mem_mib),
                        gpus: class.gpus,
                    },
                    attrs: Attributes::new(attrs.clone()),
                });
            }
        }
        let domains = DomainTree::regular(
            machines.len(),
            self.cell.machines_per_rack,
            self.cell.racks_per_power_domain,
        );
        let classes = self
            .workload
            .jobs
            .iter()
            .map(|j| JobClass {
                name: j.name.clone(),
                priority: j.priority.unwrap_or(j.band.default_priority()),
                users: j.users,
                initial_jobs: j.initial_jobs,
                arrival: match j.arrival {
                    None => ArrivalProcess::None,
                    Some(Arrival::Poisson { per_hour }) => ArrivalProcess::Poisson {
                        mean_gap_us: 3600.0 * US_PER_S as f64 / per_hour,
                    },
                },
                max_jobs: j.max_jobs,
                tasks: j.tasks.clone(),
                cpu_milli: j.cpu_milli.clone(),
                mem_mib: j.mem_mib.clone(),
                gpu: match j.gpu {
                    GpuConfig::None => GpuRequest::None,
                    GpuConfig::Whole(n) => GpuRequest::Whole(n),
                    GpuConfig::Share(m) => GpuRequest::Share(m),
                },
                duration_s: j.duration_s.clone(),
                spread: [
                    (DomainLevel::Machine, j.max_per_machine),
                    (DomainLevel::Rack, j.max_per_rack),
                    (DomainLevel::Power, j.max_per_power_domain),
                ]
                .into_iter()
                .filter_map(|(level, max)| max.map(|max_tasks| SpreadLimit { level, max_tasks }))
                .collect(),
                constraints: j
                    .constraints
                    .iter()
                    .map(|c| Constraint {
                        name: table.name_id(&c.attr),
                        op: c.op,
                        value: c.value.as_deref().map_or(0, |v| table.value_id(v)),
                    })
                    .collect(),
            })
            .collect();
        (Cell::new(machines, domains, table), classes)
    }

    pub fn horizon(&self) -> SimTime {
        SimTime::from_secs(self.duration_s)
    }

    pub fn sample_interval(&self) -> SimDuration {
        SimDuration::from_secs(self.sample_interval_s)
    }

    pub fn pass_interval(&self) -> SimDuration {
        SimDuration::from_millis(self.scheduler.pass_interval_ms)
    }

    pub fn sched_config(&self) -> SchedConfig {
        SchedConfig {
            policy: self.scheduler.policy,
            preemption: self.scheduler.preemption,
        }
    }
}
