//! Alibaba cluster-trace-v2018: about 4,000 machines over 8 days, running
//! online services (containers, scheduled by Sigma) next to batch jobs
//! (DAGs of tasks, scheduled by Fuxi).
//!
//! # Files
//! Four tables are read, each a headerless CSV (optionally `.gz`, possibly
//! in several parts): `machine_meta`, `container_meta`, `batch_task` and,
//! optionally, `batch_instance` (see `alibaba2018/instances.rs`: with it, each instance
//! runs as it did in the trace, instead of `instance_num` copies of its
//! task). A file belongs to the table whose name its file name contains, or
//! failing that whose name its directory's name contains; any other table is
//! an error.
//!
//! Columns used — machine_meta: machine_id, time_stamp, failure_domain_1,
//! failure_domain_2, cpu_num, mem_size, status. container_meta:
//! container_id, machine_id, time_stamp, app_du, cpu_request, mem_size
//! (status and cpu_limit are not used). batch_task: task_name,
//! instance_num, job_name, start_time, end_time, plan_cpu, plan_mem
//! (task_type and status are not used).
//!
//! # Units
//! Times are seconds from the trace's start and become µs. CPU is in cores
//! (`cpu_num`) or hundredths of a core (`cpu_request`, `plan_cpu`: 100 = 1
//! core), converted exactly to milli-cores (×10). Memory is on a 0–100
//! scale of a machine's memory, which the trace does not disclose: it
//! becomes MiB as `value × mem_mib / 100` against the reference machine
//! ([`DEFAULT_REFERENCE`], overridable by [`ReadOptions::reference`]), by
//! exact decimal arithmetic rounded to nearest. The trace marks invalid
//! values −1 or 101: a value outside 0–100 (or a negative one elsewhere)
//! is a bad row naming its field — an error, or skipped and counted under
//! `<table>.<field>` in lenient mode.
//!
//! # Machines
//! machine_meta has a row per machine per status snapshot (17,592 rows for
//! 4,034 machines in the excerpt in `traces/alibaba-2018/`), ordered by
//! machine and not by time. It is bounded by the cell's size, so it is read
//! whole at [`Reader::open`] and sorted by time (stably: a machine's rows
//! keep their order). `m_123` becomes key 123 and name `m_123`;
//! `failure_domain_1` is the rack and `failure_domain_2` the power domain
//! (the larger and the smaller of the trace's two failure-domain levels:
//! 292 and 21 values in the excerpt). Status `USING` means in service; any
//! other (the excerpt has `IMPORT_INSTALLING`, a machine being installed)
//! means out of service.
//!
//! A machine's first row adds it — so the cell knows every machine and its
//! domains — followed at once by a remove if it is not in service. After
//! that, leaving service removes it, returning adds it again, and a change
//! of capacity or domains while in service updates it; repeated snapshots
//! produce nothing. An empty `failure_domain_2` keeps the machine's last
//! one, counted as `machine_meta.failure_domain_2_missing`: in the excerpt
//! 34 snapshots lack it, all within minutes of t ≈ 357,500 s or 447,500 s,
//! and every machine's next snapshot has its old value back — a gap in the
//! data, not a move.
//!
//! # Containers: online services
//! container_meta also has a row per container per snapshot; a container is
//! one task, submitted at its first (earliest) row and placed by the trace
//! on that row's machine (a [`TraceEvent::Schedule`] at the same time);
//! later rows are counted as `container_meta.later_row` and otherwise
//! ignored (the record stream has no event for a changed request).
//! Containers never end in the trace: their duration is `None`, services
//! that run to the end. The table is read whole at open, keeping only each
//! container's first row (memory bounded by the number of containers, about
//! 71,000 in the full trace), so that its order does not matter.
//!
//! A container's key is `TaskKey { job: CONTAINER_JOB_BIT | app, stage: 0,
//! index: container }` for `app_du` `app_<app>` and `container_id`
//! `c_<container>`: the deployment unit is the job (its containers are
//! alike), and the bit keeps it apart from batch job numbers.
//!
//! # Batch tasks: DAGs
//! Each batch_task row yields `instance_num` Submits, `TaskKey { job,
//! stage, index: 0..instance_num }` for `job_name` `j_<job>`, at its
//! `start_time` (the trace records no submission time) with duration
//! `end_time − start_time`. A row with no end (0, empty, or before the
//! start: the task had not finished) has no duration, counted as
//! `batch_task.no_end_time`; one with no instances yields nothing
//! (`batch_task.no_instances`). The task name carries the DAG: `M5_3_4` is
//! stage 5 of the job, waiting for stages 3 and 4 ([`TraceTask::after`]);
//! `task_<random>` is an independent task whose stage is a hash of its name
//! at or above [`names::INDEPENDENT_STAGE_BIT`], so it never collides with a
//! numbered stage. Irregular names are repaired as
//! [`names::task_name`] documents. The table is too large to load and is
//! streamed; it is not sorted by start time in the published trace, so a
//! row earlier than the one before it is held at that time ([`Monotone`]),
//! counted as `batch_task.time_went_back` — sort it by `start_time` first
//! for a faithful replay.
//!
//! # Priority
//! The trace has no priority. Online containers get [`ONLINE_PRIORITY`]
//! (120, the bottom of borgsim's production band: latency-sensitive
//! services that batch work yields to) and batch tasks [`BATCH_PRIORITY`]
//! (100, the bottom of the batch band). `trace_priority` repeats them.
//!
//! # Order
//! The three tables are merged by time; at equal times machines come
//! first, then containers, then batch tasks.

mod instances;
pub mod names;
mod tables;
#[cfg(test)]
mod tests;

use self::tables::{BatchRow, Ctx, Strings, Table};
use super::{
    lenient, sort_parts, Monotone, ReadOptions, ReadStats, ReferenceMachine, Select, TraceEvent,
    TraceReader, TraceRecord, TraceTask,
};
use crate::error::{Error, Result};
use crate::trace::input::{CsvLayout, CsvRows};
use crate::workload::Priority;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

/// The trace's machines: 96 cores (`cpu_num`) and, as an assumption, 256
/// GiB — the trace gives memory only as 0–100 of a machine. `cpu_milli` is
/// not used (the trace's CPU is not normalised). Override with
/// [`ReadOptions::reference`].
pub const DEFAULT_REFERENCE: ReferenceMachine = ReferenceMachine {
    cpu_milli: 96_000,
    mem_mib: 262_144,
};

/// Online containers: the bottom of the production band.
pub const ONLINE_PRIORITY: Priority = 120;

/// Batch tasks: the bottom of the batch band.
pub const BATCH_PRIORITY: Priority = 100;

/// Set in a container's job key, keeping deployment units apart from batch
/// jobs (whose numbers must be below it).
pub const CONTAINER_JOB_BIT: u64 = 1 << 62;

/// A batch row whose instances are being handed out.
struct Expanding {
    row: BatchRow,
    next: u32,
}

/// Reads Alibaba 2018 tables as one time-ordered stream.
pub struct Reader {
    machines: VecDeque<TraceRecord>,
    containers: VecDeque<TraceRecord>,
    batch: Option<CsvRows>,
    batch_head: Option<BatchRow>,
    expanding: Option<Expanding>,
    /// With batch_instance given: the instances (batch_task is then read
    /// whole at open and not streamed).
    instances: Option<instances::Instances>,
    monotone: Monotone,
    lenient: bool,
    reference: ReferenceMachine,
    strings: Strings,
    stats: ReadStats,
}

impl Reader {
    /// Opens the given files (see the module docs for how they are told
    /// apart), reads machine_meta and container_meta whole, and batch_task's
    /// first row.
    pub fn open(files: &[PathBuf], opts: &ReadOptions) -> Result<Reader> {
        let mut parts: BTreeMap<Table, Vec<PathBuf>> = BTreeMap::new();
        for f in files {
            let table = Table::of_file(f).ok_or_else(|| Error::Invalid {
                path: f.clone(),
                key: "file name".into(),
                message: "names none of machine_meta, container_meta, batch_task, batch_instance"
                    .into(),
            })?;
            if opts.select == Select::MachinesOnly && table != Table::MachineMeta {
                continue;
            }
            parts.entry(table).or_default().push(f.clone());
        }
        for p in parts.values_mut() {
            sort_parts(p);
        }
        let batch_files = parts.remove(&Table::BatchTask);
        let instance_files = parts.remove(&Table::BatchInstance);
        let mut r = Reader {
            machines: VecDeque::new(),
            containers: VecDeque::new(),
            // With batch_instance, batch_task is read whole below instead.
            batch: batch_files
                .clone()
                .filter(|_| instance_files.is_none())
                .map(|f| CsvRows::new(f, CsvLayout::HEADERLESS)),
            batch_head: None,
            expanding: None,
            instances: None,
            monotone: Monotone::default(),
            lenient: opts.lenient,
            reference: opts.reference.unwrap_or(DEFAULT_REFERENCE),
            strings: Strings::default(),
            stats: ReadStats::default(),
        };
        let mut ctx = Ctx {
            lenient: r.lenient,
            reference: r.reference,
            stats: &mut r.stats,
            strings: &mut r.strings,
        };
        if let Some(f) = parts.remove(&Table::MachineMeta) {
            r.machines = tables::machines(f, &mut ctx)?;
        }
        if let Some(f) = parts.remove(&Table::ContainerMeta) {
            r.containers = tables::containers(f, &mut ctx)?;
        }
        if let Some(f) = instance_files {
            let tasks = match batch_files {
                Some(b) => tables::batch_tasks(b, &mut ctx)?,
                None => Default::default(),
            };
            r.instances = Some(instances::Instances::new(f, tasks));
        }
        r.fill_batch()?;
        Ok(r)
    }

    /// Reads batch_task's next usable row into `batch_head`.
    fn fill_batch(&mut self) -> Result<()> {
        self.batch_head = None;
        let Some(rows) = self.batch.as_mut() else {
            return Ok(());
        };
        let table = Table::BatchTask.name();
        loop {
            let adv = rows.advance();
            if !matches!(adv, Ok(false)) {
                self.stats.rows += 1;
            }
            match lenient(adv, self.lenient, &mut self.stats, table)? {
                Some(true) => {}
                Some(false) => return Ok(()),
                None => continue,
            }
            let mut ctx = Ctx {
                lenient: self.lenient,
                reference: self.reference,
                stats: &mut self.stats,
                strings: &mut self.strings,
            };
            let parsed = tables::batch_row(rows.row(), &mut ctx);
            if let Some(mut row) = lenient(parsed, self.lenient, &mut self.stats, table)? {
                row.time = self.monotone.fix(row.time, &mut self.stats, table);
                self.batch_head = Some(row);
                return Ok(());
            }
        }
    }

    /// The next instance of the batch row being handed out.
    fn next_instance(&mut self) -> Option<TraceRecord> {
        let e = self.expanding.as_mut()?;
        if e.next >= e.row.count {
            self.expanding = None;
            return None;
        }
        let mut task: TraceTask = e.row.task.clone();
        task.key.index = e.next;
        e.next += 1;
        Some(TraceRecord {
            time: e.row.time,
            event: TraceEvent::Submit(Box::new(task)),
        })
    }
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        loop {
            if let Some(rec) = self.next_instance() {
                return Ok(Some(rec));
            }
            // The earliest head; at equal times machines, then containers,
            // then batch tasks.
            let batch = match self.instances.as_mut() {
                Some(inst) => {
                    let mut ctx = Ctx {
                        lenient: self.lenient,
                        reference: self.reference,
                        stats: &mut self.stats,
                        strings: &mut self.strings,
                    };
                    inst.next_time(&mut ctx)?
                }
                None => self.batch_head.as_ref().map(|b| b.time),
            };
            let heads = [
                self.machines.front().map(|r| r.time),
                self.containers.front().map(|r| r.time),
                batch,
            ];
            let Some((_, i)) = (0..3).filter_map(|i| Some((heads[i]?, i))).min() else {
                return Ok(None);
            };
            match i {
                0 => return Ok(self.machines.pop_front()),
                1 => return Ok(self.containers.pop_front()),
                _ if self.instances.is_some() => {
                    return Ok(self.instances.as_mut().and_then(|i| i.pop()));
                }
                _ => {
                    let row = self.batch_head.take();
                    self.fill_batch()?;
                    self.expanding = row.map(|row| Expanding { row, next: 0 });
                }
            }
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}
