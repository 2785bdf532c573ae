//! Alibaba cluster-trace-v2018: about 4,000 machines over 8 days, running
//! online services (containers, scheduled by Sigma) next to batch jobs
//! (DAGs of tasks, scheduled by Fuxi).
//!
//! # Files
//! Five tables are read: `machine_meta`, `container_meta`, `batch_task`,
//! optionally `batch_instance` (see `alibaba2018/instances.rs`: with it,
//! each instance runs as it did in the trace, instead of `instance_num`
//! copies of its task) and optionally `container_usage` (see *Usage*; not
//! with [`Select::WithoutUsage`]). A file belongs to the table whose name its file
//! name contains, or failing that whose name its directory's name contains;
//! any other table is an error. Each table may come in several parts and
//! `.gz`-compressed.
//!
//! The tables are **headerless** CSV, as published: columns are found by
//! position, in the order of the publisher's `schema.txt`, and there is no
//! header row to check (a header line would be read as a bad row). A row
//! needs at least the columns up to the last one this reader requires;
//! trailing columns beyond those may be absent, and extra ones are
//! ignored. A row with too few columns, or a required field that is empty
//! or not of its type, is an error naming file, line and column (skipped
//! and counted under `<table>.<column>` in lenient mode). The publisher
//! documents no defaults; where a field may be empty the default is given
//! below.
//!
//! ## machine_meta (7 columns, all present)
//! | column | use | rule |
//! |---|---|---|
//! | machine_id | required | `m_<n>`: key n, name kept |
//! | time_stamp | required | seconds ≥ 0 → µs |
//! | failure_domain_1 | required | an integer: the rack |
//! | failure_domain_2 | optional | the power domain; empty keeps the machine's last one (none at first) |
//! | cpu_num | required | cores > 0 → milli-cores (× 1000) |
//! | mem_size | required | 0–100 of the reference machine's memory → MiB |
//! | status | required | `USING`: in service; any other: out of service |
//!
//! ## container_meta (8 columns, all present)
//! | column | use | rule |
//! |---|---|---|
//! | container_id | required | `c_<n>`, n < 2³²: the task's index |
//! | machine_id | required | `m_<n>`: where the trace ran it |
//! | time_stamp | required | seconds ≥ 0 → µs |
//! | app_du | required | `app_<n>`: the job (the deployment unit) |
//! | status | required | `started`, `allocated`: alive; `stopped` or any other: not running |
//! | cpu_request | required | 100 = 1 core → milli-cores (× 10; a fraction rounded to nearest) |
//! | cpu_limit | not used | any value (borgsim places by request) |
//! | mem_size | required | 0–100 of the reference machine's memory → MiB |
//!
//! ## batch_task (9 columns, all present)
//! | column | use | rule |
//! |---|---|---|
//! | task_name | required | the DAG stage and its dependencies (see below) |
//! | instance_num | required | integer ≥ 0: the task's instances; also the stage's size, so a DAG child waits for every instance ([`TraceTask::stage_tasks`](crate::trace::TraceTask::stage_tasks)) |
//! | job_name | required | `j_<n>`: the job |
//! | task_type | not used | a category (12 values) with no documented meaning for scheduling |
//! | status | optional | see *Batch tasks*; empty counts as unrecognised |
//! | start_time | required | seconds ≥ 0 → µs: the submission |
//! | end_time | optional | seconds ≥ 0; empty or 0 (outside the window): no end |
//! | plan_cpu | required | 100 = 1 core → milli-cores (× 10; a fraction rounded to nearest) |
//! | plan_mem | required | 0–100 of the reference machine's memory → MiB |
//!
//! ## batch_instance (14 columns; the last 6 may be absent)
//! | column | use | rule |
//! |---|---|---|
//! | instance_name | not used | random ids; an instance's index is its order within its task |
//! | task_name | required | as in batch_task |
//! | job_name | required | `j_<n>` |
//! | task_type | not used | as in batch_task |
//! | status | optional | decides the end (see `instances.rs`); empty counts as unrecognised |
//! | start_time | optional | seconds ≥ 0; empty or 0: no start, the row is skipped |
//! | end_time | optional | seconds ≥ 0; empty or 0: no end |
//! | machine_id | optional | `m_<n>`; empty: no placement |
//! | seq_no, total_seq_no | not used, may be absent | their meaning is not documented |
//! | cpu_avg | optional, may be absent | the run's mean CPU: 100 = 1 core → milli-cores (× 10), as `plan_cpu`; empty or absent: no usage |
//! | cpu_max | not used, may be absent | |
//! | mem_avg | optional, may be absent | the run's mean memory: 0–100 of the reference machine's memory → MiB, as `plan_mem`; empty or absent: no usage |
//! | mem_max | not used, may be absent | |
//!
//! (The published `schema.txt` swaps the comments of `cpu_max` and
//! `mem_avg` — it describes the twelfth column as average memory and the
//! thirteenth as maximum CPU — while their names, and the other two usage
//! columns, give the order used here: `cpu_avg, cpu_max, mem_avg, mem_max`.)
//!
//! ## container_usage (11 columns; the last 6 may be absent)
//! | column | use | rule |
//! |---|---|---|
//! | container_id | required | `c_<n>`, n < 2³²: the container, as in container_meta |
//! | machine_id | not used | the container's run says where it is |
//! | time_stamp | required | seconds ≥ 0 (a decimal: published as a double) → µs, exactly |
//! | cpu_util_percent | required | percent of the container's `cpu_request`; empty: the row is dropped |
//! | mem_util_percent | required | percent of the container's `mem_size`; empty: the row is dropped |
//! | cpi, mem_gps, mpki, net_in, net_out, disk_io_percent | not used, may be absent | |
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
//! other means out of service (the excerpt has `IMPORT_INSTALLING`, a
//! machine being installed; any value but these two is also counted, as
//! `machine_meta.status_unrecognised`).
//!
//! A machine's first row adds it — so the cell knows every machine and its
//! domains — followed at once by a remove if it is not in service. After
//! that, leaving service removes it (the replay evicts its tasks), returning
//! adds it again, and a change of capacity or domains while in service
//! updates it; repeated snapshots produce nothing. An empty
//! `failure_domain_2` keeps the machine's last one, counted as
//! `machine_meta.failure_domain_2_missing`: in the excerpt 34 snapshots
//! lack it, all within minutes of t ≈ 357,500 s or 447,500 s, and every
//! machine's next snapshot has its old value back — a gap in the data, not
//! a move.
//!
//! # Containers: online services
//! container_meta is a snapshot table too: a row per container per
//! snapshot, with its status then (see `alibaba2018/containers.rs`). Its
//! rows become each container's lifecycle, rows at the same instant in
//! file order:
//! - **Start.** A row alive (`started`, or `allocated`: its resources are
//!   held) for a container that is not live starts a run: a Submit and a
//!   [`TraceEvent::Schedule`] on the row's machine, at the row's time. The
//!   run has no duration: it ends when a row says so, or runs to the end of
//!   the trace (a service).
//! - **Stop.** A row not alive — `stopped`, or any other value (counted as
//!   `container_meta.status_unrecognised`) — for a live container ends its
//!   run then: an End (FINISH: the trace records no exit reason) that frees
//!   its resources. A row not alive for a container that is not live
//!   (stopped again, or never seen alive) changes nothing, counted as
//!   `container_meta.stopped_not_live`.
//! - **Restart.** A container seen alive again after it stopped starts a
//!   new run under the same key (the replay frees a key at its end).
//! - **Change.** A row alive for a live container whose machine, request
//!   (`cpu_request`, `mem_size`) or `app_du` differs from its run's ends
//!   that run and starts a new one with the row's values, at the row's
//!   time — borgsim cannot resize or move a running task in place. Counted
//!   as `container_meta.moved`, `.resized`, `.app_du_changed` (each field
//!   that changed). Repeated snapshots produce nothing.
//! - **Placed again.** If a live container's machine left service or
//!   shrank since the container was placed (the replay evicted it) and is
//!   in service at a later row that has the container alive and unchanged
//!   there, that row places it again: a Schedule, counted as
//!   `container_meta.placed_again` (in trace-placement mode the replay
//!   ignores it, counted, for a task that is still running).
//!
//! At each instant ends come before starts, so what a stopping container
//! frees is free for one starting then. The table is read whole at open
//! and sorted by time (the published tables are not in time order; this
//! one is small); its events are made an instant at a time as the stream
//! is read, keeping state only for live containers.
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
//! `end_time − start_time`. The task name carries the DAG: `M5_3_4` is
//! stage 5 of the job, waiting for stages 3 and 4 ([`TraceTask::after`]);
//! `task_<random>` is an independent task whose stage is a hash of its name
//! at or above [`names::INDEPENDENT_STAGE_BIT`], so it never collides with a
//! numbered stage. Irregular names are repaired as
//! [`names::task_name`] documents.
//!
//! Its `status` decides what runs, each rule counted under
//! `batch_task.<rule>`: `Terminated` runs until `end_time`; `Failed`,
//! `Cancelled` and `Interrupted` also held their resources until
//! `end_time`, and run until then like a terminated task (batch_task has no
//! per-instance outcome to replay; counted as `status_failed`,
//! `status_cancelled`, `status_interrupted`); `Running` had not ended when
//! the trace was cut and has no duration (`no_end_time`); `Waiting` and
//! `Ready` had not started: nothing is submitted (`not_started`); any
//! other value is read as `Terminated` (`status_unrecognised`). A task
//! that should have ended but has no usable end (0, empty, or before the
//! start) has no duration either (`no_end_time`); one with no instances
//! yields nothing (`no_instances`). batch_task records no machines: its
//! tasks can only be re-scheduled (in trace-placement mode they stay
//! pending); with batch_instance, the instances' own rows decide (and
//! batch_task's status and times are not used). A second row for a
//! (job, stage) already read is ignored there (`duplicate_task`).
//!
//! The table is too large to load and is streamed; it is not sorted by
//! start time in the published trace, so a row earlier than the one before
//! it is held at that time ([`Monotone`]), counted as
//! `batch_task.time_went_back` — sort it by `start_time` first for a
//! faithful replay.
//!
//! # Usage
//! Two tables measure usage, each a [`TraceEvent::Usage`] of a task:
//! - **batch_instance**'s `cpu_avg` and `mem_avg`: one value for the
//!   instance's whole run, at its start (after its Submit and Schedule).
//! - **container_usage**: a row per container per sample, at its
//!   `time_stamp`, holding until the container's next row. Its
//!   percentages are of the container's own request, not of the machine:
//!   the schema leaves them undocumented, the 2017 trace's schema names the
//!   same columns "used percent of requested cpus / memory", and the
//!   publisher answered for this trace that a container's CPU usage is "the
//!   percentage against the container's requested CPU number, not the
//!   machine CPU number" (github.com/alibaba/clusterdata issue 62). So
//!   usage = percent × the request of the container's current run (as
//!   container_meta's rows up to that instant give it) / 100, exactly,
//!   rounded to nearest: 50 % of `cpu_request` 400 (4,000 milli-cores) is
//!   2,000 milli-cores. A percentage may exceed 100 (CPU above the
//!   request, up to `cpu_limit`). A row for a container with no live run
//!   then is dropped (`container_usage.container_not_live`); one without a
//!   percentage too (`container_usage.usage_missing`). The table is far
//!   too large to load and is streamed; like batch_task it is not sorted
//!   by time as published: a row earlier than the one before it is held at
//!   that time (`container_usage.time_went_back`) — sort it by
//!   `time_stamp` first.
//!
//! # Priority
//! The trace has no priority. Online containers get [`ONLINE_PRIORITY`]
//! (120, the bottom of borgsim's production band: latency-sensitive
//! services that batch work yields to) and batch tasks [`BATCH_PRIORITY`]
//! (100, the bottom of the batch band). `trace_priority` repeats them.
//!
//! # Order
//! The tables are merged by time; at equal times machine events come
//! first, then ends, then starts (submissions and placements), then usage,
//! each in the order machine_meta, container_meta,
//! batch_task/batch_instance, container_usage (an instance's own records —
//! Submit, Schedule, Usage — come together, in that order).

mod containers;
mod instances;
pub mod names;
mod tables;
#[cfg(test)]
mod tests;
mod usage;

use self::tables::{BatchRow, Ctx, Strings, Table};
use super::Source as TraceFile;
use super::{
    lenient, sort_parts, Monotone, ReadOptions, ReadStats, ReferenceMachine, Select, TraceEvent,
    TraceReader, TraceRecord, TraceTask,
};
use crate::error::{Error, Result};
use crate::trace::input::{CsvLayout, CsvRows};
use crate::workload::Priority;
use std::collections::{BTreeMap, VecDeque};

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

/// What a record does, ordering records of the same instant: machine
/// events, then ends (what they free is free for the starts), then starts,
/// then usage.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Machine,
    End,
    Start,
    /// Last: usage of a task started at the same instant finds it running.
    Usage,
}

/// A batch row whose instances are being handed out.
struct Expanding {
    row: BatchRow,
    next: u32,
}

/// Reads Alibaba 2018 tables as one time-ordered stream.
pub struct Reader {
    machines: VecDeque<TraceRecord>,
    containers: Option<containers::Containers>,
    batch: Option<CsvRows>,
    batch_head: Option<BatchRow>,
    expanding: Option<Expanding>,
    /// With batch_instance given: the instances (batch_task is then read
    /// whole at open and not streamed).
    instances: Option<instances::Instances>,
    /// container_usage, streamed.
    container_usage: Option<usage::ContainerUsage>,
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
    pub fn open(files: &[TraceFile], opts: &ReadOptions) -> Result<Reader> {
        let mut parts: BTreeMap<Table, Vec<TraceFile>> = BTreeMap::new();
        for f in files {
            let table = Table::of_file(f.path()).ok_or_else(|| Error::Invalid {
                path: f.path().to_path_buf(),
                key: "file name".into(),
                message: "names none of machine_meta, container_meta, batch_task, batch_instance, container_usage"
                    .into(),
            })?;
            let skip = match opts.select {
                Select::All => false,
                Select::MachinesOnly => table != Table::MachineMeta,
                Select::WithoutUsage => table == Table::ContainerUsage,
            };
            if skip {
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
            containers: None,
            // With batch_instance, batch_task is read whole below instead.
            batch: batch_files
                .clone()
                .filter(|_| instance_files.is_none())
                .map(|f| CsvRows::new(f, CsvLayout::HEADERLESS)),
            batch_head: None,
            expanding: None,
            instances: None,
            container_usage: parts
                .remove(&Table::ContainerUsage)
                .map(usage::ContainerUsage::new),
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
            r.containers = Some(containers::Containers::load(f, &mut ctx)?);
        }
        if let Some(f) = instance_files {
            let tasks = match batch_files {
                Some(b) => tables::batch_tasks(b, &mut ctx)?,
                None => Default::default(),
            };
            r.instances = Some(instances::Instances::new(f, tasks, opts.select.usage()));
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
                tables::submissions(&mut row, &mut self.stats);
                if row.count == 0 {
                    continue; // nothing to submit, and no time to keep in order
                }
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
            // The earliest head by (time, phase); at equal keys machines,
            // then containers, then batch work, then container usage.
            let mut ctx = Ctx {
                lenient: self.lenient,
                reference: self.reference,
                stats: &mut self.stats,
                strings: &mut self.strings,
            };
            let batch = match self.instances.as_mut() {
                Some(inst) => inst.next_key(&mut ctx)?,
                None => self.batch_head.as_ref().map(|b| (b.time, Phase::Start)),
            };
            let usage = match self.container_usage.as_mut() {
                Some(u) => u.next_key(&mut ctx)?,
                None => None,
            };
            let heads = [
                self.machines.front().map(|r| (r.time, Phase::Machine)),
                self.containers.as_mut().and_then(|c| c.next_key()),
                batch,
                usage,
            ];
            let Some((_, i)) = (0..heads.len()).filter_map(|i| Some((heads[i]?, i))).min() else {
                return Ok(None);
            };
            match i {
                0 => {
                    let rec = self.machines.pop_front();
                    if let (Some(c), Some(r)) = (self.containers.as_mut(), rec.as_ref()) {
                        c.on_machine(&r.event);
                    }
                    return Ok(rec);
                }
                1 => {
                    let stats = &mut self.stats;
                    if let Some(rec) = self.containers.as_mut().and_then(|c| c.pop(stats)) {
                        return Ok(Some(rec));
                    }
                }
                3 => {
                    let (containers, stats) = (self.containers.as_ref(), &mut self.stats);
                    let rec = self
                        .container_usage
                        .as_mut()
                        .and_then(|u| u.pop(containers, stats));
                    if rec.is_some() {
                        return Ok(rec);
                    }
                }
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
