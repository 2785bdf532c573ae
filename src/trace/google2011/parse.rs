//! Parsing a row of each table into what it says, and applying machine
//! events and attribute changes as they are merged.

use super::*;

table_schema! {
    /// `machine_events`, in the published order.
    pub(super) mod mach = "machine_events" {
        TIME: "time" => Required,
        MACHINE_ID: "machine_id" => Required,
        EVENT_TYPE: "event_type" => Required,
        PLATFORM_ID: "platform_id" => Optional(""),
        CPUS: "cpus" => Optional(""),
        MEMORY: "memory" => Optional(""),
    }
}

table_schema! {
    /// `machine_attributes`, in the published order.
    pub(super) mod attr = "machine_attributes" {
        TIME: "time" => Required,
        MACHINE_ID: "machine_id" => Required,
        ATTRIBUTE_NAME: "attribute_name" => Required,
        ATTRIBUTE_VALUE: "attribute_value" => Optional(""),
        ATTRIBUTE_DELETED: "attribute_deleted" => Optional("0"),
    }
}

table_schema! {
    /// `job_events`, in the published order.
    pub(super) mod job = "job_events" {
        TIME: "time" => Required,
        MISSING_INFO: "missing_info" => Unused,
        JOB_ID: "job_id" => Required,
        EVENT_TYPE: "event_type" => Required,
        USER: "user" => Optional(""),
        SCHEDULING_CLASS: "scheduling_class" => Unused,
        JOB_NAME: "job_name" => Optional(""),
        LOGICAL_JOB_NAME: "logical_job_name" => Unused,
    }
}

table_schema! {
    /// `task_events`, in the published order.
    pub(super) mod task = "task_events" {
        TIME: "time" => Required,
        MISSING_INFO: "missing_info" => Unused,
        JOB_ID: "job_id" => Required,
        TASK_INDEX: "task_index" => Required,
        MACHINE_ID: "machine_id" => Optional(""),
        EVENT_TYPE: "event_type" => Required,
        USER: "user" => Optional(""),
        SCHEDULING_CLASS: "scheduling_class" => Unused,
        PRIORITY: "priority" => Required,
        CPU_REQUEST: "cpu_request" => Optional(""),
        MEMORY_REQUEST: "memory_request" => Optional(""),
        DISK_SPACE_REQUEST: "disk_space_request" => Unused,
        DIFFERENT_MACHINES_RESTRICTION: "different_machines_restriction" => Optional("0"),
    }
}

table_schema! {
    /// `task_constraints`, in the published order.
    pub(super) mod cons = "task_constraints" {
        TIME: "time" => Required,
        JOB_ID: "job_id" => Required,
        TASK_INDEX: "task_index" => Required,
        COMPARISON_OPERATOR: "comparison_operator" => Required,
        ATTRIBUTE_NAME: "attribute_name" => Required,
        ATTRIBUTE_VALUE: "attribute_value" => Optional(""),
    }
}

table_schema! {
    /// `task_usage`, in the published order.
    pub(super) mod usage = "task_usage" {
        START_TIME: "start_time" => Required,
        END_TIME: "end_time" => Unused,
        JOB_ID: "job_id" => Required,
        TASK_INDEX: "task_index" => Required,
        MACHINE_ID: "machine_id" => Unused,
        CPU_RATE: "cpu_rate" => Required,
        CANONICAL_MEMORY_USAGE: "canonical_memory_usage" => Required,
        ASSIGNED_MEMORY_USAGE: "assigned_memory_usage" => Unused,
        UNMAPPED_PAGE_CACHE: "unmapped_page_cache" => Unused,
        TOTAL_PAGE_CACHE: "total_page_cache" => Unused,
        MAXIMUM_MEMORY_USAGE: "maximum_memory_usage" => Unused,
        DISK_IO_TIME: "disk_io_time" => Unused,
        LOCAL_DISK_SPACE_USAGE: "local_disk_space_usage" => Unused,
        MAXIMUM_CPU_RATE: "maximum_cpu_rate" => Unused,
        MAXIMUM_DISK_IO_TIME: "maximum_disk_io_time" => Unused,
        CYCLES_PER_INSTRUCTION: "cycles_per_instruction" => Unused,
        MEMORY_ACCESSES_PER_INSTRUCTION: "memory_accesses_per_instruction" => Unused,
        SAMPLE_PORTION: "sample_portion" => Unused,
        AGGREGATION_TYPE: "aggregation_type" => Unused,
        SAMPLED_CPU_USAGE: "sampled_cpu_usage" => Unused,
    }
}

// `time` (`start_time` for usage windows) is the first column of every table.
const _: () = assert!(
    mach::TIME == 0
        && attr::TIME == 0
        && job::TIME == 0
        && task::TIME == 0
        && cons::TIME == 0
        && usage::START_TIME == 0
);

impl Parser {
    /// One row → `None` (dropped by a rule) or a time and what it says.
    pub(super) fn parse(&mut self, table: Table, row: Fields) -> Result<Option<(SimTime, Head)>> {
        row.check_width()?;
        let t = row.int(mach::TIME)?;
        if t == AFTER_END {
            self.stats
                .repair(&format!("{}.after_trace_end", table.name()));
            return Ok(None);
        }
        if t < 0 {
            return Err(row.error(mach::TIME, format!("expected µs ≥ 0, found {t}")));
        }
        let time = SimTime(t as u64);
        let head = match table {
            Table::Attributes => self.attribute(row)?,
            Table::Machines => self.machine(row)?,
            Table::Jobs => self.job(row)?,
            Table::Constraints => self.constraint(row)?,
            Table::Tasks => self.task(row)?,
            Table::Usage => self.usage(row)?,
        };
        Ok(Some((time, head)))
    }

    fn machine(&mut self, row: Fields) -> Result<Head> {
        let key = row.uint(mach::MACHINE_ID)?;
        let ev = row.int(mach::EVENT_TYPE)?;
        if ev == 1 {
            return Ok(Head::Record(TraceEvent::MachineRemove { machine: key }));
        }
        if ev != 0 && ev != 2 {
            return Err(row.error(
                mach::EVENT_TYPE,
                format!("expected 0 (ADD), 1 (REMOVE) or 2 (UPDATE), found {ev}"),
            ));
        }
        let cpu = row.opt_decimal(mach::CPUS)?;
        let mem = row.opt_decimal(mach::MEMORY)?;
        let cap = match (cpu, mem) {
            (Some(c), Some(m)) => Capacity {
                res: Resources::new(
                    c.scale(self.reference.cpu_milli),
                    m.scale(self.reference.mem_mib),
                ),
                gpus: 0,
            },
            _ => match self.capacity.get(&key) {
                Some(c) => *c,
                None => {
                    self.stats.repair("machine_events.capacity_missing");
                    return Ok(Head::Nothing);
                }
            },
        };
        self.capacity.insert(key, cap);
        let platform = self.intern(row.raw(mach::PLATFORM_ID));
        let m = TraceMachine {
            key,
            name: format!("m{key}").into(),
            capacity: cap,
            attrs: vec![(Arc::from("platform"), platform)],
            rack: None,
            power: None,
        };
        Ok(Head::Record(if ev == 0 {
            TraceEvent::MachineAdd(m)
        } else {
            TraceEvent::MachineUpdate(m)
        }))
    }

    fn attribute(&mut self, row: Fields) -> Result<Head> {
        let machine = row.uint(attr::MACHINE_ID)?;
        let deleted = match row.str(attr::ATTRIBUTE_DELETED)? {
            "" | "0" => false,
            "1" => true,
            d if d.eq_ignore_ascii_case("false") => false,
            d if d.eq_ignore_ascii_case("true") => true,
            d => {
                return Err(row.error(
                    attr::ATTRIBUTE_DELETED,
                    format!("expected 0 or 1, found {d:?}"),
                ))
            }
        };
        let name = self.intern(row.raw(attr::ATTRIBUTE_NAME));
        let value = (!deleted).then(|| self.intern(row.raw(attr::ATTRIBUTE_VALUE)));
        Ok(Head::Attribute {
            machine,
            name,
            value,
        })
    }

    /// A machine event as it is merged: an ADD or UPDATE carries the
    /// machine's attributes so far; the cell's machines are kept.
    pub(super) fn machine_merged(&mut self, event: &mut TraceEvent) {
        match event {
            TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => {
                m.attrs.truncate(1); // the platform
                if let Some(a) = self.attrs.get(&m.key) {
                    m.attrs.extend(a.iter().cloned());
                }
                self.present.insert(m.key, m.clone());
            }
            TraceEvent::MachineRemove { machine } => {
                self.present.remove(machine);
            }
            _ => {}
        }
    }

    /// An attribute change as it is merged: an update of the machine if it
    /// is in the cell, else held for its ADD.
    pub(super) fn attribute_merged(
        &mut self,
        machine: u64,
        name: Arc<str>,
        value: Option<Arc<str>>,
    ) -> Option<TraceEvent> {
        let list = self.attrs.entry(machine).or_default();
        list.retain(|(n, _)| *n != name);
        if let Some(v) = value {
            list.push((name, v));
        }
        let mut event = TraceEvent::MachineUpdate(self.present.get(&machine)?.clone());
        self.machine_merged(&mut event);
        Some(event)
    }

    fn job(&mut self, row: Fields) -> Result<Head> {
        let job = row.uint(job::JOB_ID)?;
        match row.int(job::EVENT_TYPE)? {
            0 => Ok(Head::JobSeen {
                job,
                name: String::from_utf8_lossy(row.raw(job::JOB_NAME))
                    .trim()
                    .into(),
                user: self.intern(row.raw(job::USER)),
            }),
            3..=6 => Ok(Head::JobGone { job }),
            e @ (1 | 2 | 7 | 8) => {
                // The job's own SCHEDULE, EVICT and UPDATEs: its tasks'
                // events say the same, task by task.
                self.stats
                    .repair(&format!("job_events.{}_ignored", EVENT_NAMES[e as usize]));
                Ok(Head::Nothing)
            }
            e => Err(row.error(job::EVENT_TYPE, format!("expected 0–8, found {e}"))),
        }
    }

    fn constraint(&mut self, row: Fields) -> Result<Head> {
        let key = (row.uint(cons::JOB_ID)?, row.u32(cons::TASK_INDEX)?);
        let op = match row.int(cons::COMPARISON_OPERATOR)? {
            0 => ConstraintOp::Eq,
            1 => ConstraintOp::Ne,
            2 | 3 => {
                self.stats.repair("task_constraints.unsupported_operator");
                return Ok(Head::Nothing);
            }
            o => {
                return Err(row.error(
                    cons::COMPARISON_OPERATOR,
                    format!("expected 0–3, found {o}"),
                ))
            }
        };
        let c = TraceConstraint {
            name: self.intern(row.raw(cons::ATTRIBUTE_NAME)),
            op,
            value: self.intern(row.raw(cons::ATTRIBUTE_VALUE)),
        };
        Ok(Head::Constraint { key, c })
    }

    fn task(&mut self, row: Fields) -> Result<Head> {
        let key = TaskKey {
            job: row.uint(task::JOB_ID)?,
            stage: 0,
            index: row.u32(task::TASK_INDEX)?,
        };
        let ev = row.int(task::EVENT_TYPE)?;
        let kind = match ev {
            0 => return self.submit(row, key),
            1 => {
                let machine = row.uint(task::MACHINE_ID)?;
                return Ok(Head::Record(TraceEvent::Schedule { task: key, machine }));
            }
            2 => EndKind::Evict,
            3 => EndKind::Fail,
            4 => EndKind::Finish,
            5 => EndKind::Kill,
            6 => EndKind::Lost,
            7 | 8 => {
                self.stats.repair("task_events.update_ignored");
                return Ok(Head::Nothing);
            }
            e => return Err(row.error(task::EVENT_TYPE, format!("expected 0–8, found {e}"))),
        };
        Ok(Head::Record(TraceEvent::End { task: key, kind }))
    }

    fn submit(&mut self, row: Fields, key: TaskKey) -> Result<Head> {
        let p = row.int(task::PRIORITY)?;
        let priority = priority_of(p)
            .ok_or_else(|| row.error(task::PRIORITY, format!("expected 0–11, found {p}")))?;
        let cpu = row.opt_decimal(task::CPU_REQUEST)?.unwrap_or(Decimal::ZERO);
        let mem = row
            .opt_decimal(task::MEMORY_REQUEST)?
            .unwrap_or(Decimal::ZERO);
        let one_per_machine = match row.opt_int(task::DIFFERENT_MACHINES_RESTRICTION)? {
            None | Some(0) => false,
            Some(1) => true,
            Some(v) => {
                return Err(row.error(
                    task::DIFFERENT_MACHINES_RESTRICTION,
                    format!("expected 0 or 1, found {v}"),
                ))
            }
        };
        let task = TraceTask {
            key,
            job_name: self.empty.clone(),
            user: self.intern(row.raw(task::USER)),
            priority,
            trace_priority: p,
            request: Request {
                res: Resources::new(
                    cpu.scale(self.reference.cpu_milli),
                    mem.scale(self.reference.mem_mib),
                ),
                gpu: GpuRequest::None,
            },
            constraints: self
                .constraints
                .get(&(key.job, key.index))
                .cloned()
                .unwrap_or_default(),
            max_per_machine: one_per_machine.then_some(1),
            max_per_rack: None,
            duration: None,
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        };
        Ok(Head::Submit(Box::new(task)))
    }

    /// A usage window: the mean CPU rate and the canonical memory usage,
    /// normalised like requests, × the reference machine. A row without
    /// either value is dropped (repaired `task_usage.usage_missing`).
    fn usage(&mut self, row: Fields) -> Result<Head> {
        let task = TaskKey {
            job: row.uint(usage::JOB_ID)?,
            stage: 0,
            index: row.u32(usage::TASK_INDEX)?,
        };
        let cpu = row.opt_decimal(usage::CPU_RATE)?;
        let mem = row.opt_decimal(usage::CANONICAL_MEMORY_USAGE)?;
        let (Some(cpu), Some(mem)) = (cpu, mem) else {
            self.stats.repair("task_usage.usage_missing");
            return Ok(Head::Nothing);
        };
        let usage = Resources::new(
            cpu.scale(self.reference.cpu_milli),
            mem.scale(self.reference.mem_mib),
        );
        Ok(Head::Record(TraceEvent::Usage { task, usage }))
    }

    /// Completes a SUBMIT with what the other tables said before it.
    pub(super) fn complete(&mut self, mut t: Box<TraceTask>) -> TraceEvent {
        match self.jobs.get(&t.key.job) {
            Some((name, user)) => {
                t.job_name = name.clone();
                t.user = user.clone();
            }
            None => t.job_name = Arc::from(format!("job-{}", t.key.job)),
        }
        if let Some(c) = self.constraints.get(&(t.key.job, t.key.index)) {
            t.constraints = c.clone();
        }
        TraceEvent::Submit(t)
    }

    /// Shares one allocation per distinct string of the few-valued columns
    /// (users, platforms, attribute names and values); job names are unique
    /// per job and are not interned.
    fn intern(&mut self, b: &[u8]) -> Arc<str> {
        if let Some(s) = self.strings.get(b) {
            return s.clone();
        }
        let s: Arc<str> = String::from_utf8_lossy(b).trim().into();
        // Bounded: a trace has far fewer distinct names than rows; past a
        // million, stop caching rather than grow without bound.
        if self.strings.len() < 1_000_000 {
            self.strings.insert(b.into(), s.clone());
        }
        s
    }
}

/// Job and task event types, by code.
const EVENT_NAMES: [&str; 9] = [
    "submit",
    "schedule",
    "evict",
    "fail",
    "finish",
    "kill",
    "lost",
    "update_pending",
    "update_running",
];
