//! Google clusterdata-2011-2: `machine_events`, `machine_attributes`,
//! `job_events`, `task_events`, `task_constraints` and `task_usage`,
//! headerless CSV, each table in parts (`part-NNNNN-of-MMMMM.csv[.gz]`)
//! read in order.
//!
//! A file belongs to the table whose name appears in its path (a directory
//! `task_events/` or a file `task_events-….csv`). Each table is time-ordered;
//! the reader merges them by time (ties: machine attributes, machines,
//! jobs, constraints, tasks, then usage, so a machine's attributes are
//! known at its ADD, a task's constraints and job name at its SUBMIT, and a
//! task's SCHEDULE and end at an instant come before its usage window
//! starting then). `task_usage` is streamed like the others: nothing is
//! held per row; it is not read with [`Select::WithoutUsage`].
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
//! `task_usage` (7 to 20 fields; one row per task per measurement window,
//! normally 300 s):
//! | # | column | need | default | unit, rule |
//! |---|---|---|---|---|
//! | 1 | `start_time` | required | | µs: the window's start, the record's time |
//! | 2 | `end_time` | unused | | the window holds until the task's next row |
//! | 3 | `job_id` | required | | |
//! | 4 | `task_index` | required | | < 2^32 |
//! | 5 | `machine_id` | unused | | the task's run is found by its key |
//! | 6 | `cpu_rate` | required | | mean CPU usage rate: normalised × reference CPU; empty drops the row |
//! | 7 | `canonical_memory_usage` | required | | normalised × reference memory; empty drops the row |
//! | 8–20 | `assigned_memory_usage`, `unmapped_page_cache`, `total_page_cache`, `maximum_memory_usage`, `disk_io_time`, `local_disk_space_usage`, `maximum_cpu_rate`, `maximum_disk_io_time`, `cycles_per_instruction`, `memory_accesses_per_instruction`, `sample_portion`, `aggregation_type`, `sampled_cpu_usage` | unused | | may be left out |
//!
//! # Rules
//! - **Times** are µs. 0 means "before the trace" and stays 0; 2^63−1 means
//!   "after the trace": such rows are dropped (repaired `<table>.after_trace_end`).
//! - **Units**: CPU and memory are normalised so that the largest machine is
//!   1.0; they become milli-cores and MiB against the reference machine
//!   ([`DEFAULT_REFERENCE`]: 1.0 CPU = 32 cores, 1.0 memory = 128 GiB — the
//!   trace does not disclose sizes; override with `trace.reference`), by
//!   exact decimal arithmetic, rounded to nearest. Usage (`cpu_rate`:
//!   normalised core-seconds per second; `canonical_memory_usage`) is on
//!   the same scale as requests and converted by the same rule:
//!   0.0625 × 32,000 = 2,000 milli-cores.
//! - **Usage**: a `task_usage` row becomes a [`TraceEvent::Usage`] of
//!   `(job_id, task_index)` at its `start_time`; a row lacking `cpu_rate`
//!   or `canonical_memory_usage` is dropped (repaired
//!   `task_usage.usage_missing`).
//! - **Priorities 0–11 → bands**, after "Borg: the Next Generation": free
//!   0–1 → best effort (priority 0–1), best-effort batch 2–8 → batch
//!   (100–106), production 9–10 → production (120–121), monitoring 11 →
//!   monitoring (360). (The 2011 documentation contradicts itself on which
//!   priority is monitoring; this follows the later paper.)
//! - **Task events**: SUBMIT 0 → submission; SCHEDULE 1 → the trace's
//!   placement; EVICT 2, FAIL 3, FINISH 4, KILL 5, LOST 6 → ends (the
//!   replay makes a FAIL the task's own failure — an eviction with cause
//!   `task_crash`, in the failure history — and an EVICT one of unknown
//!   cause, `trace`: see `replay::stream`);
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

mod parse;
#[cfg(test)]
mod tests;

use self::parse::{attr, cons, job, mach, task, usage};
use super::input::{table_schema, CsvLayout, CsvRows, Decimal, Fields, Schema};
use super::Source as TraceFile;
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
use std::sync::Arc;

/// What 1.0 is, by default (see the module doc).
pub const DEFAULT_REFERENCE: ReferenceMachine = ReferenceMachine {
    cpu_milli: 32_000,
    mem_mib: 131_072,
};

/// "After the trace ended".
const AFTER_END: i64 = i64::MAX;

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
    /// Last: a usage window starting when the task is scheduled finds it
    /// running.
    Usage,
}

impl Table {
    const ALL: [Table; 6] = [
        Table::Attributes,
        Table::Machines,
        Table::Jobs,
        Table::Constraints,
        Table::Tasks,
        Table::Usage,
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
            Table::Usage => &usage::SCHEMA,
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
    pub fn open(files: &[TraceFile], opts: &ReadOptions) -> Result<Reader> {
        let mut by_table: Vec<(Table, Vec<TraceFile>)> = Vec::new();
        for f in files {
            let p = f.path().to_string_lossy();
            let Some(t) = Table::ALL.into_iter().find(|t| p.contains(t.name())) else {
                return Err(Error::Invalid {
                    path: f.path().to_path_buf(),
                    key: "trace.files".into(),
                    message: "not a google2011 table: the path must name machine_events, machine_attributes, job_events, task_events, task_constraints or task_usage".into(),
                });
            };
            let machine_table = matches!(t, Table::Machines | Table::Attributes);
            let skip = match opts.select {
                Select::All => false,
                Select::MachinesOnly => !machine_table,
                Select::WithoutUsage => t == Table::Usage,
            };
            if skip {
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
