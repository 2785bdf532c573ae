//! Google clusterdata-2011-2: `machine_events`, `job_events`,
//! `task_events` and `task_constraints`, headerless CSV, each table in
//! parts (`part-NNNNN-of-MMMMM.csv[.gz]`) read in order.
//!
//! A file belongs to the table whose name appears in its path (a directory
//! `task_events/` or a file `task_events-….csv`). Each table is time-ordered;
//! the reader merges them by time (ties: machines, jobs, constraints, then
//! tasks, so a task's constraints and job name are known at its SUBMIT).
//!
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
//!   UPDATE_PENDING 7 and UPDATE_RUNNING 8 are ignored (repaired
//!   `task_events.update_ignored`). `different_machines_restriction` = 1
//!   → at most one task of the job per machine.
//! - **Machine events**: ADD 0, REMOVE 1, UPDATE 2; `platform_id` becomes the
//!   attribute `platform`. An ADD or UPDATE without capacity keeps the
//!   machine's last known one; without any, the row is dropped (repaired
//!   `machine_events.capacity_missing`).
//! - **Constraints**: operator 0 EQUAL and 1 NOT_EQUAL are kept; 2
//!   LESS_THAN and 3 GREATER_THAN are not supported by the cell's
//!   constraints yet and are dropped (repaired
//!   `task_constraints.unsupported_operator`). Constraints are held per task
//!   until the task's final end (FINISH, KILL, LOST), so resubmissions keep
//!   them: memory follows live tasks.
//! - **Job names** come from `job_events` (held until the job's final
//!   event); a task whose job was never seen is named `job-<id>`.

#[cfg(test)]
mod tests;

use super::input::{CsvLayout, CsvRows, Decimal, Row};
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

/// The tables, in tie-break order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Machines,
    Jobs,
    Constraints,
    Tasks,
}

impl Table {
    const ALL: [Table; 4] = [
        Table::Machines,
        Table::Jobs,
        Table::Constraints,
        Table::Tasks,
    ];
    fn name(self) -> &'static str {
        match self {
            Table::Machines => "machine_events",
            Table::Jobs => "job_events",
            Table::Constraints => "task_constraints",
            Table::Tasks => "task_events",
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

/// Everything but the tables, so a row borrowed from a table can be parsed
/// with `&mut Parser`.
struct Parser {
    reference: ReferenceMachine,
    lenient: bool,
    stats: ReadStats,
    jobs: FxHashMap<u64, (Arc<str>, Arc<str>)>,
    constraints: FxHashMap<(u64, u32), Vec<TraceConstraint>>,
    capacity: FxHashMap<u64, Capacity>,
    strings: FxHashMap<Box<[u8]>, Arc<str>>,
    empty: Arc<str>,
}

impl Reader {
    pub fn open(files: &[PathBuf], opts: &ReadOptions) -> Result<Reader> {
        let mut by_table: Vec<(Table, Vec<PathBuf>)> = Vec::new();
        for f in files {
            let p = f.to_string_lossy();
            let Some(t) = Table::ALL.into_iter().find(|t| p.contains(t.name())) else {
                if p.contains("machine_attributes") || p.contains("task_usage") {
                    continue; // Not read (yet); see the module doc.
                }
                return Err(Error::Invalid {
                    path: f.clone(),
                    key: "trace.files".into(),
                    message: "not a google2011 table: the path must name machine_events, job_events, task_events or task_constraints".into(),
                });
            };
            if opts.select == Select::MachinesOnly && t != Table::Machines {
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
                    rows: CsvRows::new(parts, CsvLayout::HEADERLESS),
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
            let parsed = p.parse(table, src.rows.row());
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
    fn parse(&mut self, table: Table, row: Row) -> Result<Option<(SimTime, Head)>> {
        let t = row.int(0, "time")?;
        if t == AFTER_END {
            self.stats
                .repair(&format!("{}.after_trace_end", table.name()));
            return Ok(None);
        }
        if t < 0 {
            return Err(row.error("time", format!("expected µs ≥ 0, found {t}")));
        }
        let time = SimTime(t as u64);
        let head = match table {
            Table::Machines => self.machine(row)?,
            Table::Jobs => self.job(row)?,
            Table::Constraints => self.constraint(row)?,
            Table::Tasks => self.task(row)?,
        };
        Ok(Some((time, head)))
    }

    fn machine(&mut self, row: Row) -> Result<Head> {
        row.expect_fields(4, "time, machine_id, event_type, platform_id, cpus, memory")?;
        let key = row.uint(1, "machine_id")?;
        let ev = row.int(2, "event_type")?;
        if ev == 1 {
            return Ok(Head::Record(TraceEvent::MachineRemove { machine: key }));
        }
        if ev != 0 && ev != 2 {
            return Err(row.error(
                "event_type",
                format!("expected 0 (ADD), 1 (REMOVE) or 2 (UPDATE), found {ev}"),
            ));
        }
        let cpu = row.opt_decimal(4, "cpus")?;
        let mem = row.opt_decimal(5, "memory")?;
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
        let platform = self.intern(row.raw(3));
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

    fn job(&mut self, row: Row) -> Result<Head> {
        row.expect_fields(
            7,
            "time, missing_info, job_id, event_type, user, scheduling_class, job_name",
        )?;
        let job = row.uint(2, "job_id")?;
        match row.int(3, "event_type")? {
            0 => Ok(Head::JobSeen {
                job,
                name: String::from_utf8_lossy(row.raw(6)).trim().into(),
                user: self.intern(row.raw(4)),
            }),
            3..=6 => Ok(Head::JobGone { job }),
            1 | 2 | 7 | 8 => Ok(Head::Nothing),
            e => Err(row.error("event_type", format!("expected 0–8, found {e}"))),
        }
    }

    fn constraint(&mut self, row: Row) -> Result<Head> {
        row.expect_fields(
            6,
            "time, job_id, task_index, comparison_operator, attribute_name, attribute_value",
        )?;
        let key = (row.uint(1, "job_id")?, task_index(&row, 2)?);
        let op = match row.int(3, "comparison_operator")? {
            0 => ConstraintOp::Eq,
            1 => ConstraintOp::Ne,
            2 | 3 => {
                self.stats.repair("task_constraints.unsupported_operator");
                return Ok(Head::Nothing);
            }
            o => return Err(row.error("comparison_operator", format!("expected 0–3, found {o}"))),
        };
        let c = TraceConstraint {
            name: self.intern(row.raw(4)),
            op,
            value: self.intern(row.raw(5)),
        };
        Ok(Head::Constraint { key, c })
    }

    fn task(&mut self, row: Row) -> Result<Head> {
        row.expect_fields(13, "the 13 task_events columns")?;
        let job = row.uint(2, "job_id")?;
        let index = task_index(&row, 3)?;
        let key = TaskKey {
            job,
            stage: 0,
            index,
        };
        let ev = row.int(5, "event_type")?;
        let kind = match ev {
            0 => return self.submit(row, key),
            1 => {
                let machine = row.uint(4, "machine_id")?;
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
            e => return Err(row.error("event_type", format!("expected 0–8, found {e}"))),
        };
        Ok(Head::Record(TraceEvent::End { task: key, kind }))
    }

    fn submit(&mut self, row: Row, key: TaskKey) -> Result<Head> {
        let p = row.int(8, "priority")?;
        let priority = priority_of(p)
            .ok_or_else(|| row.error("priority", format!("expected 0–11, found {p}")))?;
        let cpu = row.opt_decimal(9, "cpu_request")?.unwrap_or(Decimal::ZERO);
        let mem = row
            .opt_decimal(10, "memory_request")?
            .unwrap_or(Decimal::ZERO);
        let one_per_machine = match row.opt_int(12, "different_machines_restriction")? {
            None | Some(0) => false,
            Some(1) => true,
            Some(v) => {
                return Err(row.error(
                    "different_machines_restriction",
                    format!("expected 0 or 1, found {v}"),
                ))
            }
        };
        let task = TraceTask {
            key,
            job_name: self.empty.clone(),
            user: self.intern(row.raw(6)),
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

fn task_index(row: &Row, i: usize) -> Result<u32> {
    let v = row.uint(i, "task_index")?;
    u32::try_from(v).map_err(|_| row.error("task_index", format!("expected < 2^32, found {v}")))
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
                Head::Record(event) => {
                    if let TraceEvent::End { task, kind } = &event {
                        if kind.is_final() {
                            self.p.constraints.remove(&(task.job, task.index));
                        }
                    }
                    return Ok(Some(TraceRecord { time, event }));
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
