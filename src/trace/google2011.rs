//! Google clusterdata-2011-2: `machine_events`, `machine_attributes`,
//! `job_events`, `task_events` and `task_constraints`, headerless CSV, each
//! table in parts (`part-NNNNN-of-MMMMM.csv[.gz]`) read in order.
//!
//! A file belongs to the table whose name appears in its path (a directory
//! `task_events/` or a file `task_events-….csv`). Each table is time-ordered;
//! the reader merges them by time (ties: machine attributes, machines,
//! jobs, constraints, then tasks, so a machine's attributes are known at
//! its ADD and a task's constraints and job name at its SUBMIT).
//! `task_usage` files are passed over: usage is not simulated.
//!
//! # Columns
//! The files have no header: columns are read by their published position
//! (the trace's `schema.csv`), each by its schema name. A row must have at
//! least the columns through the last required one and at most the table's
//! count; trailing optional columns left out take the default below, and an
//! optional column may be empty. A row with too few or too many fields is a
//! bad row (column `-`). A UTF-8 byte-order mark and CRLF line ends are
//! accepted.
//!
//! `machine_events` (3 to 6 fields):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `time` | required | | µs |
//! | 2 | `machine_id` | required | | the machine's key; named `m<id>` |
//! | 3 | `event_type` | required | | 0 ADD, 1 REMOVE, 2 UPDATE |
//! | 4 | `platform_id` | optional | empty | attribute `platform` |
//! | 5 | `cpus` | optional | the last known | normalised × reference CPU |
//! | 6 | `memory` | optional | the last known | normalised × reference memory |
//!
//! `machine_attributes` (3 to 5 fields):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `time` | required | | µs |
//! | 2 | `machine_id` | required | | |
//! | 3 | `attribute_name` | required | | the attribute constraints test |
//! | 4 | `attribute_value` | optional | empty | |
//! | 5 | `attribute_deleted` | optional | 0 | 1 (or `true`): the attribute is gone |
//!
//! `job_events` (4 to 8 fields):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `time` | required | | µs |
//! | 2 | `missing_info` | unused | | |
//! | 3 | `job_id` | required | | the job's key |
//! | 4 | `event_type` | required | | 0–8, as task events |
//! | 5 | `user` | optional | empty | the tasks' user |
//! | 6 | `scheduling_class` | unused | | |
//! | 7 | `job_name` | optional | empty | the tasks' job name |
//! | 8 | `logical_job_name` | unused | | |
//!
//! `task_events` (9 to 13 fields):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `time` | required | | µs |
//! | 2 | `missing_info` | unused | | |
//! | 3 | `job_id` | required | | |
//! | 4 | `task_index` | required | | < 2^32 |
//! | 5 | `machine_id` | optional | none | read on SCHEDULE (required there) |
//! | 6 | `event_type` | required | | 0–8 |
//! | 7 | `user` | optional | empty | |
//! | 8 | `scheduling_class` | unused | | |
//! | 9 | `priority` | required | | 0–11, read on SUBMIT |
//! | 10 | `cpu_request` | optional | 0 | normalised × reference CPU |
//! | 11 | `memory_request` | optional | 0 | normalised × reference memory |
//! | 12 | `disk_space_request` | unused | | disk is not modelled |
//! | 13 | `different_machines_restriction` | optional | 0 | 1 = one task of the job per machine |
//!
//! `task_constraints` (5 or 6 fields):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `time` | required | | µs |
//! | 2 | `job_id` | required | | |
//! | 3 | `task_index` | required | | |
//! | 4 | `comparison_operator` | required | | 0 EQUAL, 1 NOT_EQUAL, 2 LESS_THAN, 3 GREATER_THAN |
//! | 5 | `attribute_name` | required | | |
//! | 6 | `attribute_value` | optional | empty | |
//!
//! # Rules
//! - **Times** are µs. 0 means "before the trace" and stays 0; 2^63−1 means
//!   "after the trace": such rows are dropped (repaired `<table>.after_trace_end`).
//! - **Units**: CPU and memory are normalised so that the largest machine is
//!   1.0; they become milli-cores and MiB against the reference machine
//!   ([`DEFAULT_REFERENCE`]: 1.0 CPU = 32 cores, 1.0 memory = 128 GiB — the
//!   trace does not disclose sizes; override with `trace.reference`), by
//!   exact decimal arithmetic, rounded to nearest.
//! - **Priorities 0–11 → bands**, after "Borg: the Next Generation": free
//!   0–1 → best effort (priority 0–1), best-effort batch 2–8 → batch
//!   (100–106), production 9–10 → production (120–121), monitoring 11 →
//!   monitoring (360). (The 2011 documentation contradicts itself on which
//!   priority is monitoring; this follows the later paper.)
//! - **Task events**: SUBMIT 0 → submission; SCHEDULE 1 → the trace's
//!   placement; EVICT 2, FAIL 3, FINISH 4, KILL 5, LOST 6 → ends;
//!   UPDATE_PENDING 7 and UPDATE_RUNNING 8 change a live task's request,
//!   which the record stream cannot express: dropped, counted as repaired
//!   `task_events.update_ignored`. `different_machines_restriction` = 1
//!   → at most one task of the job per machine.
//! - **Job events**: SUBMIT 0 names the job (held until the job's final
//!   event: FAIL, FINISH, KILL or LOST); a task whose job was never seen is
//!   named `job-<id>`. The job's own SCHEDULE 1, EVICT 2, UPDATE_PENDING 7
//!   and UPDATE_RUNNING 8 repeat what its tasks' events say task by task:
//!   dropped, counted as repaired `job_events.<event>_ignored`.
//! - **Machine events**: ADD 0, REMOVE 1, UPDATE 2; `platform_id` becomes the
//!   attribute `platform`, and `machine_attributes` gives the others: an
//!   ADD or UPDATE carries every attribute set so far (rows at the ADD's
//!   own time included: attributes merge before machines on ties), and an
//!   attribute set or deleted on a machine in the cell is an UPDATE of it
//!   at that time; on a machine not in the cell it is held for its ADD. An ADD or UPDATE without capacity keeps the
//!   machine's last known one; without any, the row is dropped (repaired
//!   `machine_events.capacity_missing`).
//! - **Constraints**: operator 0 EQUAL and 1 NOT_EQUAL are kept; 2
//!   LESS_THAN and 3 GREATER_THAN are not supported by the cell's
//!   constraints yet and are dropped (repaired
//!   `task_constraints.unsupported_operator`). Constraints are held per task
//!   until the task's final end (FINISH, KILL, LOST), so resubmissions keep
//!   them: memory follows live tasks.

#[cfg(test)]
mod tests;

use super::input::{table_schema, CsvLayout, CsvRows, Decimal, Fields, Schema};
use super::{
    lenient, sort_parts, EndKind, Monotone, ReadOptions, ReadStats, ReferenceMachine, Select,
    TaskKey, TraceConstraint, TraceEvent, TraceMachine, TraceReader, TraceRecord, TraceTask,
};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::error::{Error, Result};
use crate::time::SimTime;
use crate::workload::Priority;
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What 1.0 is, by default (see the module doc).
pub const DEFAULT_REFERENCE: ReferenceMachine = ReferenceMachine {
    cpu_milli: 32_000,
    mem_mib: 131_072,
};

/// "After the trace ended".
const AFTER_END: i64 = i64::MAX;

table_schema! {
    /// `machine_events`, in the published order.
    mod mach = "machine_events" {
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
    mod attr = "machine_attributes" {
        TIME: "time" => Required,
        MACHINE_ID: "machine_id" => Required,
        ATTRIBUTE_NAME: "attribute_name" => Required,
        ATTRIBUTE_VALUE: "attribute_value" => Optional(""),
        ATTRIBUTE_DELETED: "attribute_deleted" => Optional("0"),
    }
}

table_schema! {
    /// `job_events`, in the published order.
    mod job = "job_events" {
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
    mod task = "task_events" {
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
    mod cons = "task_constraints" {
        TIME: "time" => Required,
        JOB_ID: "job_id" => Required,
        TASK_INDEX: "task_index" => Required,
        COMPARISON_OPERATOR: "comparison_operator" => Required,
        ATTRIBUTE_NAME: "attribute_name" => Required,
        ATTRIBUTE_VALUE: "attribute_value" => Optional(""),
    }
}

// `time` is the first column of every table.
const _: () = assert!(
    mach::TIME == 0 && attr::TIME == 0 && job::TIME == 0 && task::TIME == 0 && cons::TIME == 0
);

/// The tables, in tie-break order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    /// Before the machines: attributes recorded at a machine's ADD time
    /// are held, and the ADD carries them.
    Attributes,
    Machines,
    Jobs,
    Constraints,
    Tasks,
}

impl Table {
    const ALL: [Table; 5] = [
        Table::Attributes,
        Table::Machines,
        Table::Jobs,
        Table::Constraints,
        Table::Tasks,
    ];
    fn name(self) -> &'static str {
        self.schema().table
    }
    fn schema(self) -> &'static Schema {
        match self {
            Table::Attributes => &attr::SCHEMA,
            Table::Machines => &mach::SCHEMA,
            Table::Jobs => &job::SCHEMA,
            Table::Constraints => &cons::SCHEMA,
            Table::Tasks => &task::SCHEMA,
        }
    }
}

/// A parsed row waiting to be merged.
enum Head {
    Record(TraceEvent),
    /// A SUBMIT, completed with its job's name and its constraints when it
    /// is merged (they come from tables that may be read ahead of it).
    Submit(Box<TraceTask>),
    JobSeen {
        job: u64,
        name: Arc<str>,
        user: Arc<str>,
    },
    JobGone {
        job: u64,
    },
    Constraint {
        key: (u64, u32),
        c: TraceConstraint,
    },
    /// A machine attribute set (`Some`) or deleted (`None`).
    Attribute {
        machine: u64,
        name: Arc<str>,
        value: Option<Arc<str>>,
    },
    Nothing,
}

struct Source {
    table: Table,
    rows: CsvRows,
    head: Option<(SimTime, Head)>,
    time: Monotone,
    done: bool,
}

pub struct Reader {
    sources: Vec<Source>,
    p: Parser,
}

/// A machine attribute: name and value.
type Attr = (Arc<str>, Arc<str>);

/// Everything but the tables, so a row borrowed from a table can be parsed
/// with `&mut Parser`.
struct Parser {
    reference: ReferenceMachine,
    lenient: bool,
    stats: ReadStats,
    jobs: FxHashMap<u64, (Arc<str>, Arc<str>)>,
    constraints: FxHashMap<(u64, u32), Vec<TraceConstraint>>,
    capacity: FxHashMap<u64, Capacity>,
    /// Each machine's attributes from `machine_attributes`, by name (held
    /// for machines not yet added).
    attrs: FxHashMap<u64, Vec<Attr>>,
    /// The machines in the cell, as last described (for the update an
    /// attribute change makes).
    present: FxHashMap<u64, TraceMachine>,
    strings: FxHashMap<Box<[u8]>, Arc<str>>,
    empty: Arc<str>,
}

impl Reader {
    pub fn open(files: &[PathBuf], opts: &ReadOptions) -> Result<Reader> {
        let mut by_table: Vec<(Table, Vec<PathBuf>)> = Vec::new();
        for f in files {
            let p = f.to_string_lossy();
            let Some(t) = Table::ALL.into_iter().find(|t| p.contains(t.name())) else {
                if p.contains("task_usage") {
                    continue; // Usage is not simulated; see the module doc.
                }
                return Err(Error::Invalid {
                    path: f.clone(),
                    key: "trace.files".into(),
                    message: "not a google2011 table: the path must name machine_events, machine_attributes, job_events, task_events or task_constraints".into(),
                });
            };
            let machine_table = matches!(t, Table::Machines | Table::Attributes);
            if opts.select == Select::MachinesOnly && !machine_table {
                continue;
            }
            match by_table.iter_mut().find(|(x, _)| *x == t) {
                Some((_, v)) => v.push(f.clone()),
                None => by_table.push((t, vec![f.clone()])),
            }
        }
        by_table.sort_by_key(|(t, _)| *t);
        let sources = by_table
            .into_iter()
            .map(|(table, mut parts)| {
                sort_parts(&mut parts);
                Source {
                    table,
                    rows: CsvRows::with_schema(parts, CsvLayout::HEADERLESS, table.schema()),
                    head: None,
                    time: Monotone::default(),
                    done: false,
                }
            })
            .collect();
        Ok(Reader {
            sources,
            p: Parser {
                reference: opts.reference.unwrap_or(DEFAULT_REFERENCE),
                lenient: opts.lenient,
                stats: ReadStats::default(),
                jobs: FxHashMap::default(),
                constraints: FxHashMap::default(),
                capacity: FxHashMap::default(),
                attrs: FxHashMap::default(),
                present: FxHashMap::default(),
                strings: FxHashMap::default(),
                empty: Arc::from(""),
            },
        })
    }

    /// Fills the head of source `i` (reading past dropped rows).
    fn fill(&mut self, i: usize) -> Result<()> {
        let src = &mut self.sources[i];
        let p = &mut self.p;
        while src.head.is_none() && !src.done {
            if !src.rows.advance()? {
                src.done = true;
                break;
            }
            p.stats.rows += 1;
            let table = src.table;
            let parsed = p.parse(table, src.rows.fields());
            let Some(parsed) = lenient(parsed, p.lenient, &mut p.stats, table.name())? else {
                continue;
            };
            let Some((t, head)) = parsed else {
                continue;
            };
            let t = src.time.fix(t, &mut p.stats, table.name());
            src.head = Some((t, head));
        }
        Ok(())
    }
}

impl Parser {
    /// One row → `None` (dropped by a rule) or a time and what it says.
    fn parse(&mut self, table: Table, row: Fields) -> Result<Option<(SimTime, Head)>> {
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
    fn machine_merged(&mut self, event: &mut TraceEvent) {
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
    fn attribute_merged(
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
        };
        Ok(Head::Submit(Box::new(task)))
    }

    /// Completes a SUBMIT with what the other tables said before it.
    fn complete(&mut self, mut t: Box<TraceTask>) -> TraceEvent {
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

/// The trace's priority 0–11 as a borgsim priority (see the module doc).
pub fn priority_of(p: i64) -> Option<Priority> {
    Some(match p {
        0 | 1 => p as Priority,
        2..=8 => 100 + (p as Priority - 2),
        9 | 10 => 120 + (p as Priority - 9),
        11 => 360,
        _ => return None,
    })
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        loop {
            for i in 0..self.sources.len() {
                self.fill(i)?;
            }
            // The earliest head; ties go to the table listed first.
            let next = self
                .sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.head.as_ref().map(|(t, _)| (*t, s.table, i)))
                .min();
            let Some((time, _, i)) = next else {
                return Ok(None);
            };
            let (_, head) = self.sources[i].head.take().expect("present");
            match head {
                Head::Record(mut event) => {
                    if let TraceEvent::End { task, kind } = &event {
                        if kind.is_final() {
                            self.p.constraints.remove(&(task.job, task.index));
                        }
                    }
                    self.p.machine_merged(&mut event);
                    return Ok(Some(TraceRecord { time, event }));
                }
                Head::Attribute {
                    machine,
                    name,
                    value,
                } => {
                    if let Some(event) = self.p.attribute_merged(machine, name, value) {
                        return Ok(Some(TraceRecord { time, event }));
                    }
                }
                Head::Submit(t) => {
                    let event = self.p.complete(t);
                    return Ok(Some(TraceRecord { time, event }));
                }
                Head::JobSeen { job, name, user } => {
                    self.p.jobs.insert(job, (name, user));
                }
                Head::JobGone { job } => {
                    self.p.jobs.remove(&job);
                }
                Head::Constraint { key, c } => self.p.constraints.entry(key).or_default().push(c),
                Head::Nothing => {}
            }
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.p.stats
    }
}
