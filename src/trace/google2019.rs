//! Google ClusterData2019 (the "v3" Borg traces of eight cells, May 2019),
//! as exported from BigQuery.
//!
//! # Files
//! Five tables are read: `machine_attributes`, `machine_events`,
//! `collection_events`, `instance_events` and, optionally,
//! `instance_usage` (not with [`Select::WithoutUsage`]). A file belongs to the table whose name its file name
//! contains (`instance_events-000000000007.json.gz`), or failing that whose
//! name its directory's name contains (`instance_events/part-3.csv`); a file
//! naming none of them is an error. Each table may come in several parts,
//! read in the order of the numbers in their names. Without `machine_attributes`, a constraint on an
//! attribute no machine has is dropped by the replay and counted
//! (`trace.replay.constraint_on_unknown_attribute`).
//!
//! Each file is either newline-delimited JSON (`.json`, `.jsonl`,
//! `.ndjson`) or CSV with a header (`.csv`), optionally gzipped (`.gz`);
//! the parts of a table may mix the two. JSON rows have nested records
//! (`"resource_request": {"cpus": …, "memory": …}`) and the `constraint`
//! list as the export writes them; a CSV header names nested fields
//! flattened, `resource_request.cpus` or `resource_request_cpus`, and holds
//! the `constraint` list as JSON text in one field (BigQuery cannot write
//! lists to CSV, so a query flattening the table must serialise it). JSON
//! rows are read one line at a time. BigQuery writes INT64 values as JSON
//! strings, so every number may be a JSON number or a string. A UTF-8
//! byte-order mark and CRLF line ends are accepted in both layouts.
//!
//! # Columns
//! Columns are found by name — a CSV header's, in any order, or a JSON
//! row's keys — against the table's published schema (the proto
//! `clusterdata_trace_format_v3`). A CSV header naming a column the table
//! does not have, naming one twice, or lacking a required one is an error
//! naming the file and the column, reported when the reader opens; a JSON
//! row with such a key (nested ones included: `capacity.gpus`) is a bad row
//! naming the key. An absent column, a JSON null and an empty CSV field all
//! read as "nothing", which takes the default below. Columns marked
//! *unused* are accepted and not read.
//!
//! `machine_events`:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time` | required | | µs |
//! | `machine_id` | required | | the machine's key and name |
//! | `type` | required | | 0 UNKNOWN, 1 ADD, 2 REMOVE, 3 UPDATE |
//! | `switch_id` | optional | the last known | the machine's rack |
//! | `capacity.cpus` | optional | the last known | NCU; required by an ADD |
//! | `capacity.memory` | optional | the last known | NMU; required by an ADD |
//! | `platform_id` | optional | the last known | attribute `platform` |
//! | `missing_data_reason` | unused | | |
//!
//! `machine_attributes` (optional table):
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time` | required | | µs |
//! | `machine_id` | required | | the machine it describes |
//! | `name` | required | | the attribute's name, as constraints name it |
//! | `value` | optional | empty | its value (text) |
//! | `deleted` | optional | false | true: the attribute is removed |
//!
//! `collection_events`:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time` | required | | µs |
//! | `type` | required | | event type 0–10 |
//! | `collection_id` | required | | the job's key |
//! | `priority` | optional | the last known, else none | 0–450 |
//! | `alloc_collection_id` | optional | 0 (none) | |
//! | `user` | optional | the last known, else empty | |
//! | `collection_name` | optional | the last known, else the id | |
//! | `start_after_collection_ids` | optional | none | a list; counted, see below |
//! | `max_per_machine` | optional | no limit | 0 = no limit |
//! | `max_per_switch` | optional | no limit | 0 = no limit; per rack |
//! | `scheduling_class`, `missing_type`, `collection_type`, `collection_logical_name`, `parent_collection_id`, `vertical_scaling`, `scheduler` | unused | | |
//!
//! `instance_events`:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time` | required | | µs |
//! | `type` | required | | event type 0–10 |
//! | `collection_id` | required | | the task's job |
//! | `instance_index` | required | | the task's index |
//! | `priority` | optional | the collection's, else 0 | 0–450 |
//! | `alloc_collection_id` | optional | 0 (none) | |
//! | `machine_id` | optional | none | read on SCHEDULE; 0 and −1 = none |
//! | `resource_request.cpus` | optional | 0 | NCU, read on SUBMIT |
//! | `resource_request.memory` | optional | 0 | NMU, read on SUBMIT |
//! | `constraint` | optional | none | a list of `{name, value, relation}` |
//! | `scheduling_class`, `missing_type`, `collection_type`, `alloc_instance_index` | unused | | |
//!
//! `instance_usage` (optional table; one row per instance per measurement
//! window, normally 300 s):
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `start_time` | required | | µs: the window's start, the record's time |
//! | `collection_id` | required | | the task's job |
//! | `instance_index` | required | | the task's index |
//! | `alloc_collection_id` | optional | 0 (none) | not 0: the row is dropped, as the instance's events are |
//! | `average_usage.cpus` | optional | none | mean usage, NCU × reference CPU; none drops the row |
//! | `average_usage.memory` | optional | none | mean usage, NMU × reference memory; none drops the row |
//! | `end_time`, `machine_id`, `alloc_instance_index`, `collection_type`, `maximum_usage.cpus`, `maximum_usage.memory`, `random_sample_usage.cpus`, `random_sample_usage.memory`, `assigned_memory`, `page_cache_memory`, `cycles_per_instruction`, `memory_accesses_per_instruction`, `sample_rate`, `cpu_usage_distribution`, `tail_cpu_usage_distribution` | unused | | |
//!
//! # Time
//! Times are µs and kept as they are (the trace starts at 600 s). A time of
//! 0 means "before the trace began" and stays 0. A time of 2^63−1 means
//! "after the trace ended": such rows describe nothing the replay can see
//! and are dropped, counted as repaired `<table>.after_end`. Each table is
//! expected in time order (export with `ORDER BY time`: a plain export of a
//! table to several files has no order); a row earlier than the one before
//! it in its table is held at that time ([`Monotone`]), counted as
//! `<table>.time_went_back`, because the merged stream must not go back.
//! The tables are merged by time; at equal times machine attributes and
//! machines come first, then collections, then instances, then usage, so
//! a task never arrives before the machine it was placed on or the job it
//! belongs to, and a usage window starting when its instance is scheduled
//! or ends comes after that event. Usage rows are streamed like the
//! others: nothing is held per row (export `instance_usage` with `ORDER BY
//! start_time`).
//!
//! # Units
//! CPU is in NCU and memory in NMU, both normalised so that the largest
//! machine is 1.0. They become milli-cores and MiB by exact decimal
//! arithmetic against the reference machine ([`DEFAULT_REFERENCE`] unless
//! [`ReadOptions::reference`] says otherwise), rounded to nearest. The
//! decimal is taken from the text of the number: a string exactly; a JSON
//! number through its shortest double text, which is the number as written
//! for up to 15 significant digits (the export's NCU/NMU values have fewer).
//!
//! # Usage
//! An `instance_usage` row becomes a [`TraceEvent::Usage`] of
//! `(collection_id, instance_index)` at its `start_time`: the window's
//! mean, `average_usage`, in NCU and NMU, converted by the rule of
//! requests (0.03125 NCU × 64,000 = 2,000 milli-cores). A row lacking
//! either mean is dropped (`instance_usage.usage_missing`); one of an
//! instance inside an alloc set (its row's `alloc_collection_id`, or its
//! collection's) is dropped like that instance's events
//! (`instance_usage.in_alloc_set`).
//!
//! # Machines
//! ADD (1) → [`TraceEvent::MachineAdd`], REMOVE (2) →
//! [`TraceEvent::MachineRemove`], UPDATE (3) → [`TraceEvent::MachineUpdate`].
//! `switch_id` is the machine's rack; `platform_id` becomes the attribute
//! `platform`; the key and name are `machine_id`. An ADD without capacity is
//! a bad row. An UPDATE may leave fields out: those keep their last value.
//! The trace shows the machine tables' edges as they are, so these are
//! repaired and counted rather than refused: an UPDATE of a machine not in
//! the cell adds it (`machine_events.update_before_add`) or, with no
//! capacity known, is dropped (`machine_events.update_without_capacity`);
//! an ADD of a machine already in the cell updates it
//! (`machine_events.add_while_present`); a REMOVE of a machine not in the
//! cell is dropped (`machine_events.remove_unknown`); type UNKNOWN (0) is
//! dropped (`machine_events.type_unknown`).
//!
//! # Collections and instances
//! A collection is a job or an alloc set; its instances are tasks, keyed
//! `TaskKey { job: collection_id, stage: 0, index: instance_index }`.
//! Collection events produce no records: they keep, per live collection,
//! what its instances' submissions need — name, user, priority,
//! `max_per_machine` and `max_per_switch` (0 or nothing: no limit; a switch
//! is the machine's rack, from `switch_id`) and whether it runs inside an
//! alloc set — and the collection is forgotten at its FAIL, FINISH, KILL or
//! LOST, so memory is bounded by the collections alive at once.
//!
//! Instance event types: SUBMIT (0) → [`TraceEvent::Submit`] with the
//! instance's own request, constraints and priority (the collection's when
//! the row has none) and no duration (the replay learns it from the End);
//! SCHEDULE (3) → [`TraceEvent::Schedule`] on `machine_id`; EVICT, FAIL,
//! FINISH, KILL, LOST (4–8) → [`TraceEvent::End`] (a FAIL replays as the
//! task's own failure, `task_crash`; an EVICT as `trace`, its cause
//! unknown: see `replay::stream`). QUEUE (1) and ENABLE (2)
//! are the trace scheduler's own admission steps, which the replay's
//! scheduler makes for itself; UPDATE_PENDING (9) and UPDATE_RUNNING (10)
//! change a live task's request or priority, which the record stream cannot
//! express (a task keeps its submitted request). All four are dropped and
//! counted (`instance_events.ignored_queue`, `…ignored_enable`,
//! `…ignored_update_pending`, `…ignored_update_running`). A collection's
//! UPDATE_PENDING / UPDATE_RUNNING (new priority, name, spread limits)
//! reaches the instances it submits from then on, not its live ones
//! (`collection_events.update_for_later_instances_only`).
//!
//! A collection whose SUBMIT lists `start_after_collection_ids` must wait
//! for those collections in the traced cell; the record stream has no
//! dependencies between jobs, so its instances are submitted at their own
//! times and the collection is counted as
//! `collection_events.start_after_not_enforced`.
//!
//! Instances of jobs that run inside an alloc set (`alloc_collection_id`
//! not 0) are dropped, every event, counted as `instance_events.in_alloc_set`:
//! their resources are already held by the alloc set's own instances, which
//! are read as tasks, and reading both would count them twice.
//!
//! Other repairs: a SCHEDULE without a machine (0 = none, −1 = dedicated)
//! is dropped (`instance_events.schedule_without_machine`); a SUBMIT
//! without a request asks for nothing in the missing dimension
//! (`instance_events.request_missing`); without a priority on the row or
//! its collection it gets 0 (`instance_events.priority_missing`); of a
//! collection not seen it is named after its id, with no user
//! (`instance_events.collection_unknown`).
//!
//! # Priority
//! ClusterData2019 priorities (0–450) are on borgsim's scale already —
//! borgsim's bands were taken from the trace's tiers: free ≤99, best-effort
//! batch 100–115 and mid 116–119 (borgsim's batch band), production
//! 120–359, monitoring ≥360 — so a task's priority is the trace's, unchanged.
//!
//! # Constraints
//! EQUAL, NOT_EQUAL, PRESENT and NOT_PRESENT (codes 0, 1, 6, 7, or their
//! names) become [`ConstraintOp`] Eq, Ne, Present, Absent. The ordered
//! relations (LESS_THAN … GREATER_THAN_EQUAL, 2–5) compare attribute values
//! as numbers, which the cell's interned attributes cannot yet do: they are
//! dropped (the task is placed as if they were met) and counted as
//! `instance_events.constraint_unsupported_relation`.

#[cfg(test)]
mod header_tests;
mod machines;
mod parse;
mod rows;
#[cfg(test)]
mod tests;
mod usage;

use self::parse::*;
use self::rows::{Layout, Relation, Source, Table};
use super::input::CsvRows;
use super::Source as TraceFile;
use super::{
    lenient, sort_parts, Monotone, ReadOptions, ReadStats, ReferenceMachine, Select,
    TraceConstraint, TraceEvent, TraceMachine, TraceReader, TraceRecord, TraceTask,
};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::error::{Error, Result};
use crate::time::SimTime;
use crate::trace::EndKind;
use crate::workload::Priority;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What 1.0 NCU and 1.0 NMU are. The trace does not publish its largest
/// machine; this assumes a two-socket server of 2019 with 64 cores and
/// 256 GiB. Requests and capacities scale together, so packing depends on
/// it only through rounding; override it with [`ReadOptions::reference`].
pub const DEFAULT_REFERENCE: ReferenceMachine = ReferenceMachine {
    cpu_milli: 64_000,
    mem_mib: 262_144,
};

/// One table being read, with its next row.
struct Stream {
    src: Source,
    head: Option<Head>,
    monotone: Monotone,
}

/// What instances need of a live collection.
struct Collection {
    name: Arc<str>,
    user: Arc<str>,
    priority: Option<Priority>,
    max_per_machine: Option<u32>,
    max_per_switch: Option<u32>,
    in_alloc: bool,
}

/// A known machine: its last description, and whether it is in the cell.
struct Known {
    machine: TraceMachine,
    present: bool,
}

/// Reads ClusterData2019 tables as one time-ordered stream.
pub struct Reader {
    streams: Vec<Stream>,
    lenient: bool,
    reference: ReferenceMachine,
    stats: ReadStats,
    machines: FxHashMap<u64, Known>,
    /// Each machine's attributes from `machine_attributes`, by name.
    attributes: FxHashMap<u64, BTreeMap<Arc<str>, Arc<str>>>,
    collections: FxHashMap<u64, Collection>,
    /// Racks, platforms, users, constraint names and values.
    strings: FxHashSet<Arc<str>>,
    platform: Arc<str>,
    empty: Arc<str>,
}

impl Reader {
    /// Opens the given files (see the module docs for how they are told
    /// apart) and reads each table's first row.
    pub fn open(files: &[TraceFile], opts: &ReadOptions) -> Result<Reader> {
        let mut parts: BTreeMap<Table, Vec<TraceFile>> = BTreeMap::new();
        for f in files {
            let table = Table::of_file(f.path()).ok_or_else(|| Error::Invalid {
                path: f.path().to_path_buf(),
                key: "file name".into(),
                message: "names none of machine_events, machine_attributes, collection_events, instance_events, instance_usage".into(),
            })?;
            Layout::of_file(f.path())?;
            let machine_table = matches!(table, Table::Machines | Table::Attributes);
            let skip = match opts.select {
                Select::All => false,
                Select::MachinesOnly => !machine_table,
                Select::WithoutUsage => table == Table::Usage,
            };
            if skip {
                continue;
            }
            parts.entry(table).or_default().push(f.clone());
        }
        // Every CSV header is checked now, before any row is read.
        for (table, files) in &parts {
            let csv: Vec<TraceFile> = files
                .iter()
                .filter(|f| matches!(Layout::of_file(f.path()), Ok(Layout::Csv)))
                .cloned()
                .collect();
            CsvRows::check_headers(&csv, table.schema())?;
        }
        let streams = parts
            .into_iter()
            .map(|(table, mut files)| {
                sort_parts(&mut files);
                Stream {
                    src: Source::new(table, files),
                    head: None,
                    monotone: Monotone::default(),
                }
            })
            .collect();
        let mut r = Reader {
            streams,
            lenient: opts.lenient,
            reference: opts.reference.unwrap_or(DEFAULT_REFERENCE),
            stats: ReadStats::default(),
            machines: FxHashMap::default(),
            attributes: FxHashMap::default(),
            collections: FxHashMap::default(),
            strings: FxHashSet::default(),
            platform: Arc::from("platform"),
            empty: Arc::from(""),
        };
        for i in 0..r.streams.len() {
            r.fill(i)?;
        }
        Ok(r)
    }

    /// Reads stream `i`'s next usable row into its head.
    fn fill(&mut self, i: usize) -> Result<()> {
        let Reader {
            streams,
            stats,
            lenient: len,
            ..
        } = self;
        let st = &mut streams[i];
        let table = st.src.table.name();
        st.head = None;
        loop {
            let advanced = st.src.advance();
            if !matches!(advanced, Ok(false)) {
                stats.rows += 1;
            }
            match lenient(advanced, *len, stats, table)? {
                None => continue,
                Some(false) => return Ok(()),
                Some(true) => {}
            }
            let Some((time, body)) =
                lenient(parse(st.src.table, st.src.fields()), *len, stats, table)?
            else {
                continue;
            };
            let Some(time) = time else {
                stats.repair(&format!("{table}.after_end"));
                continue;
            };
            let time = st.monotone.fix(SimTime(time as u64), stats, table);
            st.head = Some(Head { time, body });
            return Ok(());
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(a.clone());
        a
    }

    fn collection_event(&mut self, row: CollectionRow) {
        if row.kind == SUBMIT && row.starts_after_others {
            self.stats
                .repair("collection_events.start_after_not_enforced");
        }
        if matches!(row.kind, FAIL | FINISH | KILL | LOST) {
            self.collections.remove(&row.id);
            return;
        }
        if matches!(row.kind, UPDATE_PENDING | UPDATE_RUNNING) {
            // Reaches the collection's instances submitted from now on; its
            // live instances keep what they were submitted with.
            self.stats
                .repair("collection_events.update_for_later_instances_only");
        }
        let user = row.user.as_deref().map(|u| self.intern(u));
        let c = self
            .collections
            .entry(row.id)
            .or_insert_with(|| Collection {
                name: Arc::from(row.id.to_string()),
                user: self.empty.clone(),
                priority: None,
                max_per_machine: None,
                max_per_switch: None,
                in_alloc: false,
            });
        if let Some(n) = row.name {
            if *c.name != *n {
                c.name = Arc::from(n);
            }
        }
        if let Some(u) = user {
            c.user = u;
        }
        c.priority = row.priority.or(c.priority);
        c.max_per_machine = row.max_per_machine.or(c.max_per_machine);
        c.max_per_switch = row.max_per_switch.or(c.max_per_switch);
        c.in_alloc |= row.in_alloc;
    }

    fn instance_event(&mut self, row: InstanceRow) -> Option<TraceEvent> {
        let coll = self.collections.get(&row.key.job);
        if row.in_alloc || coll.is_some_and(|c| c.in_alloc) {
            self.stats.repair("instance_events.in_alloc_set");
            return None;
        }
        let task = row.key;
        let end = |kind| Some(TraceEvent::End { task, kind });
        let ignored = |st: &mut ReadStats, what: &str| {
            st.repair(&format!("instance_events.ignored_{what}"));
            None
        };
        match row.kind {
            SUBMIT => Some(TraceEvent::Submit(Box::new(self.task(row)))),
            SCHEDULE => match row.machine {
                Some(machine) => Some(TraceEvent::Schedule { task, machine }),
                None => {
                    self.stats
                        .repair("instance_events.schedule_without_machine");
                    None
                }
            },
            EVICT => end(EndKind::Evict),
            FAIL => end(EndKind::Fail),
            FINISH => end(EndKind::Finish),
            KILL => end(EndKind::Kill),
            LOST => end(EndKind::Lost),
            QUEUE => ignored(&mut self.stats, "queue"),
            ENABLE => ignored(&mut self.stats, "enable"),
            UPDATE_PENDING => ignored(&mut self.stats, "update_pending"),
            UPDATE_RUNNING => ignored(&mut self.stats, "update_running"),
            _ => None,
        }
    }

    /// The task an instance's SUBMIT describes.
    fn task(&mut self, row: InstanceRow) -> TraceTask {
        let (job_name, user, coll_priority, max_per_machine, max_per_rack) =
            match self.collections.get(&row.key.job) {
                Some(c) => (
                    c.name.clone(),
                    c.user.clone(),
                    c.priority,
                    c.max_per_machine,
                    c.max_per_switch,
                ),
                None => {
                    self.stats.repair("instance_events.collection_unknown");
                    (
                        Arc::from(row.key.job.to_string()),
                        self.empty.clone(),
                        None,
                        None,
                        None,
                    )
                }
            };
        let priority = row.priority.or(coll_priority).unwrap_or_else(|| {
            self.stats.repair("instance_events.priority_missing");
            0
        });
        if row.cpus.is_none() || row.memory.is_none() {
            self.stats.repair("instance_events.request_missing");
        }
        let res = Resources::new(
            row.cpus.map_or(0, |d| d.scale(self.reference.cpu_milli)),
            row.memory.map_or(0, |d| d.scale(self.reference.mem_mib)),
        );
        let mut constraints = Vec::with_capacity(row.constraints.len());
        for c in &row.constraints {
            let op = match c.relation {
                Relation::Equal => ConstraintOp::Eq,
                Relation::NotEqual => ConstraintOp::Ne,
                Relation::Present => ConstraintOp::Present,
                Relation::NotPresent => ConstraintOp::Absent,
                Relation::Ordered => {
                    self.stats
                        .repair("instance_events.constraint_unsupported_relation");
                    continue;
                }
            };
            constraints.push(TraceConstraint {
                name: self.intern(&c.name),
                op,
                value: self.intern(&c.value),
            });
        }
        TraceTask {
            key: row.key,
            job_name,
            user,
            priority,
            trace_priority: i64::from(priority),
            request: Request {
                res,
                gpu: GpuRequest::None,
            },
            constraints,
            max_per_machine,
            max_per_rack,
            duration: None,
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        }
    }
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        loop {
            // The earliest head; at equal times the first table (machines,
            // collections, instances) wins.
            let next = (0..self.streams.len())
                .filter_map(|i| Some((self.streams[i].head.as_ref()?.time, i)))
                .min();
            let Some((time, i)) = next else {
                return Ok(None);
            };
            let head = self.streams[i].head.take().expect("a head");
            self.fill(i)?;
            let event = match head.body {
                Body::Attribute(row) => self.attribute_event(row),
                Body::Machine(row) => self.machine_event(row),
                Body::Collection(row) => {
                    self.collection_event(row);
                    None
                }
                Body::Instance(row) => self.instance_event(*row),
                Body::Usage(row) => self.usage_event(row),
            };
            if let Some(event) = event {
                return Ok(Some(TraceRecord { time, event }));
            }
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}
