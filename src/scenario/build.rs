//! Turning a validated scenario into the runtime's objects.

use super::model::{Arrival, GpuConfig, Scenario};
use crate::cell::attrs::{AttrTable, Attributes, Constraint};
use crate::cell::classes::{describe, MachineClasses};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::cell::resources::{Capacity, GpuRequest, Resources};
use crate::cell::state::failures::FailureScope;
use crate::cell::{Cell, Machine, MachineId};
use crate::sched::{SchedConfig, Techniques};
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::dist::to_u64;
use crate::workload::synthetic::{ArrivalProcess, JobClass};
use crate::workload::SpreadLimit;

/// `cell.machines[1]: 16000 cpu_milli, 65536 mem_mib, ssd=yes`: a machine
/// class as the report names it.
fn class_label((i, class): (usize, &super::model::MachineClass)) -> String {
    let mut label = format!(
        "cell.machines[{i}]: {}",
        describe(&Capacity {
            res: Resources::new(class.cpu_milli, class.mem_mib),
            gpus: class.gpus,
        })
    );
    for (k, v) in &class.attributes {
        label += &format!(", {k}={v}");
    }
    label
}

/// One machine standing for each machine class, and the job classes, with
/// their attributes and constraints interned in one table: what judging a
/// scenario needs (`hosts`, `estimate`) without building its cell, whose
/// machines may be billions.
pub(crate) struct Prototypes {
    pub table: AttrTable,
    /// Per machine class, in order: a machine of it (its id is the class's
    /// index) and the class's count.
    pub machines: Vec<(Machine, u32)>,
    pub classes: Vec<JobClass>,
}

impl Scenario {
    /// The machine classes and job classes (see [`Prototypes`]). Machine
    /// attributes are interned first, then constraints, as [`Self::build`]
    /// interns them.
    pub(crate) fn prototypes(&self) -> Prototypes {
        let mut table = AttrTable::default();
        let machines = self
            .cell
            .machines
            .iter()
            .enumerate()
            .map(|(i, class)| {
                let attrs: Vec<_> = class
                    .attributes
                    .iter()
                    .map(|(k, v)| (table.name_id(k), table.value_id(v)))
                    .collect();
                let machine = Machine {
                    id: i as MachineId,
                    capacity: Capacity {
                        res: Resources::new(class.cpu_milli, class.mem_mib),
                        gpus: class.gpus,
                    },
                    attrs: Attributes::new(attrs),
                };
                (machine, class.count)
            })
            .collect();
        let classes = self.job_classes(&mut table);
        Prototypes {
            table,
            machines,
            classes,
        }
    }

    /// Builds the cell and the job classes. Attribute strings of machines and
    /// constraints share one intern table.
    pub fn build(&self) -> (Cell, Vec<JobClass>) {
        let Prototypes {
            table,
            machines: classes_of_machines,
            classes,
        } = self.prototypes();
        let mut machines = Vec::new();
        let mut class_of = Vec::new();
        for (i, (prototype, count)) in classes_of_machines.iter().enumerate() {
            for _ in 0..*count {
                let id = MachineId::try_from(machines.len())
                    .expect("Scenario::validate: at most u32::MAX machines in all");
                machines.push(Machine {
                    id,
                    ..prototype.clone()
                });
                class_of.push(i);
            }
        }
        let labels = self
            .cell
            .machines
            .iter()
            .enumerate()
            .map(class_label)
            .collect();
        let machine_classes = MachineClasses::of(&machines, labels, &class_of);
        let domains = self.domain_tree();
        let cell = Cell::new(machines, domains, table).with_classes(machine_classes);
        (cell, classes)
    }

    /// The job classes, their constraints interned in `table`.
    fn job_classes(&self, table: &mut AttrTable) -> Vec<JobClass> {
        self.workload
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
                    Some(Arrival::Uniform { count, over_s }) => ArrivalProcess::Uniform {
                        count,
                        end: SimTime(to_u64(over_s * US_PER_S as f64)),
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
                    (DomainLevel::Row, j.max_per_row),
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
            .collect()
    }

    /// The failure-domain tree (`domains.rs`): each machine's named
    /// domains from its class, or from the trace `cell.from_trace` read.
    pub(super) fn domain_tree(&self) -> DomainTree {
        let cfg = &self.cell;
        if let Some(named) = &cfg.trace_domains {
            return super::domains::tree(cfg, named);
        }
        assert!(
            cfg.from_trace.is_none(),
            "cell.from_trace not read: load the scenario with Scenario::load, \
             Scenario::builtin or Scenario::resolve_cell"
        );
        let mut named = Vec::new();
        for m in &cfg.machines {
            let n = super::domains::NamedDomains {
                rack: m.rack.clone(),
                row: m.row.clone(),
                power: m.power_domain.clone(),
            };
            named.extend(std::iter::repeat_n(n, m.count as usize));
        }
        super::domains::tree(cfg, &named)
    }

    /// When the run stops: `duration_s`, or never (until drained).
    pub fn horizon(&self) -> SimTime {
        self.duration_s.map_or(SimTime::NEVER, SimTime::from_secs)
    }

    /// The steady-state window's fixed ends, if the scenario sets them.
    pub fn steady_window(&self) -> (Option<SimTime>, Option<SimTime>) {
        let w = self.steady_state.unwrap_or_default();
        (
            w.start_s.map(SimTime::from_secs),
            w.end_s.map(SimTime::from_secs),
        )
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
            techniques: Techniques {
                score_cache: self.scheduler.score_cache,
                equivalence_classes: self.scheduler.equivalence_classes,
                relaxed_randomization: self.scheduler.relaxed_randomization,
            },
            spreading: self.scheduler.spreading,
            avoid_failed: self.avoid_failed().map(|(memory, _)| memory),
            failure_scope: self
                .avoid_failed()
                .map_or(FailureScope::All, |(_, scope)| scope),
        }
    }

    /// How long a task avoids a machine it failed on, and for which
    /// failures: `[scheduler] avoid_failed_s` (0: not at all), for every
    /// failure; without it, under reclamation `on`, [`OOM_AVOID_S`] for
    /// out-of-memory kills only (they need it: placed again at once where
    /// its usage did not fit, a task would be killed again; crashes and
    /// machine failures are then treated as without reclamation), else
    /// not at all.
    fn avoid_failed(&self) -> Option<(SimDuration, FailureScope)> {
        use crate::cell::state::usage::ReclamationMode;
        let on = (self.reclamation.as_ref()).is_some_and(|r| r.mode == ReclamationMode::On);
        match self.scheduler.avoid_failed_s {
            Some(s) => Some(s).filter(|&s| s > 0).map(|s| (s, FailureScope::All)),
            None => on.then_some((OOM_AVOID_S, FailureScope::OutOfMemory)),
        }
        .map(|(s, scope)| (SimDuration::from_secs(s), scope))
    }
}

/// How long a task avoids a machine it failed on under reclamation `on`
/// when the scenario does not say (`[scheduler] avoid_failed_s`): the
/// out-of-memory back-off's reset period (`cell::state::usage::backoff`).
pub const OOM_AVOID_S: u64 = 600;

#[cfg(test)]
mod tests {
    use crate::cell::domain::DomainLevel;
    use crate::scenario::Scenario;
    use std::path::Path;

    fn tree(cell: &str) -> crate::cell::domain::DomainTree {
        let text = format!(
            "name = \"t\"\nseed = 1\nduration_s = 1\n{cell}\n[scheduler]\npolicy = \"best_fit\"\n\
             [[workload.jobs]]\nname = \"j\"\nband = \"batch\"\ninitial_jobs = 1\n\
             tasks = {{ constant = 1 }}\ncpu_milli = {{ constant = 1 }}\nmem_mib = {{ constant = 1 }}\n"
        );
        Scenario::parse(&text, Path::new("t.toml"))
            .unwrap()
            .build()
            .0
            .domains
    }

    #[test]
    fn generated_racks_fill_in_machine_order() {
        // 5 machines, 2 per rack -> racks 0,0,1,1,2; 2 racks per power domain -> 0,0,1.
        let t = tree(
            "[cell]\nmachines_per_rack = 2\nracks_per_power_domain = 2\n\
                      [[cell.machines]]\ncount = 5\ncpu_milli = 1\nmem_mib = 1\n",
        );
        let racks: Vec<u32> = (0..5).map(|m| t.domain_of(m, DomainLevel::Rack)).collect();
        assert_eq!(racks, vec![0, 0, 1, 1, 2]);
        assert_eq!(t.domain_of(4, DomainLevel::Power), 1);
    }

    #[test]
    fn named_racks_come_first_and_keep_their_power_domain() {
        // Class A: 3 machines, no rack -> generated; class B: 2 machines in rack
        // "r9" of power "p1". Named rack r9 is rack 0, power 0; the generated
        // racks (2 per rack) are 1 and 2, in generated power domain 1.
        let t = tree("[cell]\nmachines_per_rack = 2\nracks_per_power_domain = 4\n\
                      [[cell.machines]]\ncount = 3\ncpu_milli = 1\nmem_mib = 1\n\
                      [[cell.machines]]\ncount = 2\ncpu_milli = 1\nmem_mib = 1\nrack = \"r9\"\npower_domain = \"p1\"\n");
        let racks: Vec<u32> = (0..5).map(|m| t.domain_of(m, DomainLevel::Rack)).collect();
        assert_eq!(racks, vec![1, 1, 2, 0, 0]);
        let powers: Vec<u32> = (0..5).map(|m| t.domain_of(m, DomainLevel::Power)).collect();
        assert_eq!(powers, vec![1, 1, 1, 0, 0]);
    }

    #[test]
    fn rows_group_racks_named_or_generated() {
        // 8 machines, 2 per rack -> racks 0..4 in pairs; 2 racks per row ->
        // rows 0,0,0,0,1,1,1,1; 4 racks per power domain -> one domain.
        let t = tree(
            "[cell]\nmachines_per_rack = 2\nracks_per_row = 2\nracks_per_power_domain = 4\n\
                      [[cell.machines]]\ncount = 8\ncpu_milli = 1\nmem_mib = 1\n",
        );
        let rows: Vec<u32> = (0..8).map(|m| t.domain_of(m, DomainLevel::Row)).collect();
        assert_eq!(rows, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(t.domains(DomainLevel::Row), 2);
        // A named rack in row "east" comes first at the row level too; the
        // generated racks (2 machines each) fill generated rows after it.
        let t = tree("[cell]\nmachines_per_rack = 2\nracks_per_row = 1\n\
                      [[cell.machines]]\ncount = 4\ncpu_milli = 1\nmem_mib = 1\n\
                      [[cell.machines]]\ncount = 1\ncpu_milli = 1\nmem_mib = 1\nrack = \"r\"\nrow = \"east\"\n");
        let rows: Vec<u32> = (0..5).map(|m| t.domain_of(m, DomainLevel::Row)).collect();
        assert_eq!(rows, vec![1, 1, 2, 2, 0]);
    }

    #[test]
    fn a_rack_in_two_rows_is_refused_naming_the_key() {
        let text = "name = \"t\"\nseed = 1\nduration_s = 1\n[cell]\n\
                    [[cell.machines]]\ncount = 1\ncpu_milli = 1\nmem_mib = 1\nrack = \"r\"\nrow = \"a\"\n\
                    [[cell.machines]]\ncount = 1\ncpu_milli = 1\nmem_mib = 1\nrack = \"r\"\nrow = \"b\"\n\
                    [scheduler]\npolicy = \"best_fit\"\n[[workload.jobs]]\nname = \"j\"\nband = \"batch\"\n\
                    initial_jobs = 1\ntasks = { constant = 1 }\ncpu_milli = { constant = 1 }\nmem_mib = { constant = 1 }\n";
        let e = Scenario::parse(text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cell.machines[1].row") && e.contains("rack \"r\" is already in row \"a\""),
            "{e}"
        );
    }
}

#[cfg(test)]
mod avoid_failed_tests {
    use crate::cell::state::failures::FailureScope;
    use crate::scenario::Scenario;
    use crate::time::SimDuration;
    use std::path::Path;

    /// `avoid`: lines of `[scheduler]`; `mode`: reclamation's, if any.
    fn config(avoid: &str, mode: Option<&str>) -> (Option<SimDuration>, FailureScope) {
        let recl = mode.map_or(String::new(), |m| {
            format!("[reclamation]\nmode = \"{m}\"\n")
        });
        let text = format!(
            "name = \"t\"\nseed = 1\nduration_s = 1\n[[cell.machines]]\ncount = 1\n\
             cpu_milli = 1000\nmem_mib = 1000\n[scheduler]\npolicy = \"best_fit\"\n{avoid}\n\
             {recl}[[workload.jobs]]\nname = \"j\"\n\
             band = \"batch\"\ninitial_jobs = 1\ntasks = {{ constant = 1 }}\n\
             cpu_milli = {{ constant = 1 }}\nmem_mib = {{ constant = 1 }}\n"
        );
        let c = Scenario::parse(&text, Path::new("t.toml"))
            .unwrap()
            .sched_config();
        (c.avoid_failed, c.failure_scope)
    }

    #[test]
    fn reclamation_on_avoids_machines_after_out_of_memory_kills_only_by_default() {
        let secs = |s| Some(SimDuration::from_secs(s));
        let on = Some("on");
        assert_eq!(config("", on), (secs(600), FailureScope::OutOfMemory));
        // Set by the scenario: every failure, for as long as it says.
        let set = config("avoid_failed_s = 100", on);
        assert_eq!(set, (secs(100), FailureScope::All));
        assert_eq!(config("avoid_failed_s = 0", on).0, None);
        // Without reclamation, or only measuring: nothing by default.
        assert_eq!(config("", None).0, None);
        assert_eq!(config("", Some("measure")).0, None);
    }
}
