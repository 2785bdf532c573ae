//! Public cluster traces, read as published and streamed.
//!
//! Each format has a reader (one file each) that turns its tables into one
//! time-ordered stream of [`TraceRecord`]s: machines coming and going, tasks
//! submitted, and — for traces that record placements — where the trace's
//! own scheduler put them and how they ended; for traces with usage tables,
//! what each task used, window by window ([`TraceEvent::Usage`]). Everything downstream
//! ([`replay`], [`inspect`], [`native`]'s `trace convert`) sees only that stream, so a new
//! format is one new file.
//!
//! Rules every reader follows:
//! - **Units are converted once, here.** Normalised values (Google's
//!   "largest machine = 1.0", Alibaba's memory 0–100) become integer
//!   milli-cores and MiB by exact decimal arithmetic against the reference
//!   machine in [`ReadOptions`] ([`input::Decimal::scale`]). Times become µs.
//!   Usage is converted by the same rule as the format's requests, so the
//!   two compare directly.
//! - **Streaming.** Rows are read one at a time; a reader keeps state only
//!   for what is live (a job's tasks still to come, a DAG's unfinished
//!   stages), never for the whole trace.
//! - **Bad rows** are an [`Error::Row`](crate::error::Error::Row) naming
//!   file, line, field and value; with `lenient` they are skipped instead and
//!   counted by reason in [`ReadStats::skipped`].
//! - **Inconsistent rows** that the format allows in practice (a time that
//!   goes back within a file, an event after the trace's end) are repaired by
//!   a documented rule and counted in [`ReadStats::repaired`], in both modes.

pub mod alibaba2018;
pub mod azure;
pub mod edit;
pub mod fuzz;
pub mod google2011;
pub mod google2019;
pub mod input;
pub mod inspect;
pub mod native;
pub mod openb;
pub mod replay;
mod source;
mod sqlite;
pub mod swf;
pub mod synth;

pub use source::{Embedded, Source};

use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, Request, Resources, MAX_RESOURCE};
use crate::error::Result;
use crate::time::{SimDuration, SimTime};
use crate::workload::Priority;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The trace formats borgsim reads. Their names are serde's; strum and
/// clap derive the same (tests/it/schema.rs checks that all three agree).
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum TraceFormat {
    /// Google clusterdata-2011-2: machine_events, machine_attributes,
    /// job_events, task_events, task_constraints (headerless CSV, optionally
    /// .gz, several parts).
    Google2011,
    /// Alibaba cluster-trace-gpu-v2023 ("openb"): node list + pod list.
    Openb,
    /// borgsim's own format (what `trace convert` writes): machines.csv +
    /// tasks.csv, or JSON lines.
    Native,
    /// Standard Workload Format v2.2 (Parallel Workloads Archive): one job
    /// per line, whitespace-separated, `;` comments, optionally .gz.
    Swf,
    /// Azure packing trace 2020: one SQLite file with tables vmRequests
    /// and vmTypes.
    Azure,
    /// Google ClusterData2019: machine_events, collection_events,
    /// instance_events as exported from BigQuery (JSON lines or CSV).
    Google2019,
    /// Alibaba cluster-trace-v2018: machine_meta, container_meta, batch_task,
    /// optionally batch_instance (headerless CSV).
    Alibaba2018,
}

impl TraceFormat {
    /// True if the format records where its tasks ran (SCHEDULE events):
    /// only those can be replayed in trace-placement mode.
    pub fn records_placements(self) -> bool {
        match self {
            TraceFormat::Google2011
            | TraceFormat::Google2019
            | TraceFormat::Alibaba2018
            | TraceFormat::Native => true,
            TraceFormat::Openb | TraceFormat::Swf | TraceFormat::Azure => false,
        }
    }

    /// The format's name in scenarios and on the command line (`google2011`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// A task's identity in a trace: its job, its stage within the job (Alibaba
/// DAG tasks; 0 elsewhere) and its index within the stage.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TaskKey {
    pub job: u64,
    pub stage: u32,
    pub index: u32,
}

/// A machine as a trace describes it, in borgsim units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceMachine {
    /// The trace's machine id (string ids are numbered in order of appearance).
    pub key: u64,
    pub name: Arc<str>,
    pub capacity: Capacity,
    /// Attributes constraints can test (platform, GPU model, …).
    pub attrs: Vec<(Arc<str>, Arc<str>)>,
    /// Failure domains, where the trace names them.
    pub rack: Option<Arc<str>>,
    pub power: Option<Arc<str>>,
}

/// A hard placement constraint as a trace states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceConstraint {
    pub name: Arc<str>,
    pub op: ConstraintOp,
    pub value: Arc<str>,
}

/// A submitted task, in borgsim units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceTask {
    pub key: TaskKey,
    /// The job's name in the trace (shared by its tasks).
    pub job_name: Arc<str>,
    pub user: Arc<str>,
    /// borgsim priority (the reader maps the trace's own; see each reader).
    pub priority: Priority,
    /// The trace's own priority or class, for histograms.
    pub trace_priority: i64,
    pub request: Request,
    pub constraints: Vec<TraceConstraint>,
    /// At most this many of the job's tasks per machine.
    pub max_per_machine: Option<u32>,
    /// At most this many of the job's tasks per rack (Google 2019's
    /// `max_per_switch`: a switch is a rack).
    pub max_per_rack: Option<u32>,
    /// How long the task runs once started, if the trace says so at
    /// submission (`None`: learned from a later [`TraceEvent::End`], or a
    /// service that runs to the end).
    pub duration: Option<SimDuration>,
    /// Stages of the same job that must finish before this task may start.
    pub after: Vec<u32>,
    /// The task's own name in the trace, where it has one (Alibaba 2018
    /// batch_task `task_name`, e.g. `M1`): it labels the task, and the stage
    /// other tasks wait for, in `pending.csv`.
    pub task_name: Option<Arc<str>>,
    /// How many tasks the trace gives this task's stage in all, where it
    /// says so (Alibaba 2018 `instance_num`): a DAG stage is done only once
    /// that many have been submitted and are done, so a child never starts
    /// between two instances of its parent.
    pub stage_tasks: Option<u32>,
    /// How the run of `duration` ends, when the trace says so at submission
    /// (Alibaba's batch_instance status): the replay then ends it so, in
    /// both modes, and no End record follows. `None`: as a FINISH, or as a
    /// later End says.
    pub end_kind: Option<EndKind>,
}

/// How a task's run ended in the trace.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    Finish,
    Evict,
    Fail,
    Kill,
    Lost,
}

impl EndKind {
    /// After these the trace's task is gone for good; after the others it may
    /// be submitted again.
    pub fn is_final(self) -> bool {
        matches!(self, EndKind::Finish | EndKind::Kill | EndKind::Lost)
    }
}

/// One event of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    MachineAdd(TraceMachine),
    /// New capacity or attributes for a known machine.
    MachineUpdate(TraceMachine),
    MachineRemove {
        machine: u64,
    },
    Submit(Box<TraceTask>),
    /// The trace's scheduler started the task on this machine.
    Schedule {
        task: TaskKey,
        machine: u64,
    },
    /// The task's run ended.
    End {
        task: TaskKey,
        kind: EndKind,
    },
    /// What the task used over a measurement window that starts at the
    /// record's time, in milli-cores and MiB (the format's usage columns by
    /// the rule of its requests; see each reader). A replay holds it until
    /// the task's next Usage record (a step, not an interpolation). It may
    /// exceed the task's request: the trace measured it so.
    Usage {
        task: TaskKey,
        usage: Resources,
    },
}

impl TraceEvent {
    /// The task, if this is a submission.
    pub fn submitted(&self) -> Option<&TraceTask> {
        match self {
            TraceEvent::Submit(t) => Some(t),
            _ => None,
        }
    }
}

/// An event and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    pub time: SimTime,
    pub event: TraceEvent,
}

/// The machine that normalised units are relative to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceMachine {
    /// What a normalised CPU of 1.0 is, in milli-cores.
    pub cpu_milli: u64,
    /// What a normalised memory of 1.0 (or 100 on a 0–100 scale) is, in MiB.
    pub mem_mib: u64,
}

/// Which of a trace's tables to read.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Select {
    /// Every table given.
    #[default]
    All,
    /// Only the machine tables: the replay reads these first, whole, to
    /// build the cell (they are bounded by the cell's size, not the trace's
    /// length).
    MachinesOnly,
    /// Every table but what measures usage: the usage tables (Google 2011
    /// `task_usage`, Google 2019 `instance_usage`, Alibaba 2018
    /// `container_usage`) are not opened, and no [`TraceEvent::Usage`] is
    /// made (Alibaba's `batch_instance` averages, native `usage` rows): for
    /// a replay that does not simulate usage, which then reads what it
    /// read before usage was read at all.
    WithoutUsage,
}

impl Select {
    /// Whether usage is read.
    pub fn usage(self) -> bool {
        self == Select::All
    }
}

/// How to read a trace.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Skip bad rows (counted by reason) instead of failing on the first.
    pub lenient: bool,
    /// Overrides the format's default reference machine.
    pub reference: Option<ReferenceMachine>,
    pub select: Select,
}

/// What a reader saw, besides its records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadStats {
    /// Data rows read, over all tables.
    pub rows: u64,
    /// Bad rows skipped in lenient mode, by `table.field`.
    pub skipped: BTreeMap<String, u64>,
    /// Rows repaired by a documented rule, by rule.
    pub repaired: BTreeMap<String, u64>,
}

impl ReadStats {
    pub fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
    pub fn repair(&mut self, rule: &str) {
        *self.repaired.entry(rule.to_string()).or_default() += 1;
    }
    pub fn rows_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// A time-ordered stream of trace events.
pub trait TraceReader {
    /// The next record; times are non-decreasing. `Ok(None)` at the end.
    fn next_record(&mut self) -> Result<Option<TraceRecord>>;
    fn stats(&self) -> &ReadStats;
}

/// Reads every record of `reader`, with its stats (small traces, tests).
pub fn read_to_end(reader: &mut dyn TraceReader) -> Result<(Vec<TraceRecord>, ReadStats)> {
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record()? {
        out.push(rec);
    }
    Ok((out, reader.stats().clone()))
}

/// In lenient mode, turns a row error into a skip counted under `reason`
/// (`Ok(None)`); in strict mode passes it on.
pub fn lenient<T>(
    res: Result<T>,
    lenient: bool,
    stats: &mut ReadStats,
    table: &str,
) -> Result<Option<T>> {
    match res {
        Ok(v) => Ok(Some(v)),
        Err(crate::error::Error::Row { column, .. }) if lenient => {
            stats.skip(&format!("{table}.{column}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Keeps a table's times non-decreasing: a row earlier than the one before
/// it in the same table is moved to that time and counted as
/// `<table>.time_went_back` (the trace's own order is kept).
#[derive(Debug, Default)]
pub struct Monotone {
    last: SimTime,
}

impl Monotone {
    pub fn fix(&mut self, t: SimTime, stats: &mut ReadStats, table: &str) -> SimTime {
        if t < self.last {
            stats.repair(&format!("{table}.time_went_back"));
            return self.last;
        }
        self.last = t;
        t
    }
}

/// Sorts a table's parts into reading order: `part-00002-of-00010` before
/// `part-00010-of-00010` (by the numbers in the name, then the name).
pub fn sort_parts(parts: &mut [Source]) {
    fn key(p: &std::path::Path) -> (Vec<u64>, String) {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let nums = name
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or(u64::MAX))
            .collect();
        (nums, name)
    }
    parts.sort_by_cached_key(|p| key(p.path()));
}

/// Opens a reader of `format` over `files` (table files or parts; see each
/// reader for how it tells its tables apart). Every machine capacity, task
/// request and task usage it yields is at most [`MAX_RESOURCE`] in each
/// dimension, or reading fails naming the machine or task (see `Bounded`).
/// With [`Select::WithoutUsage`] it yields no [`TraceEvent::Usage`].
pub fn open(
    format: TraceFormat,
    files: &[Source],
    opts: &ReadOptions,
) -> Result<Box<dyn TraceReader>> {
    Ok(Box::new(Bounded {
        inner: open_unbounded(format, files, opts)?,
        path: common_path(files),
        usage: opts.select.usage(),
    }))
}

/// What an error about a record of `files` names, records not knowing
/// their file: the one file, or the deepest directory holding them all
/// (never the first file, which may be another table than the record's).
fn common_path(files: &[Source]) -> PathBuf {
    let mut paths = files.iter().map(Source::path);
    let Some(first) = paths.next() else {
        return PathBuf::new();
    };
    let mut common = first.to_path_buf();
    for p in paths {
        while !p.starts_with(&common) {
            if !common.pop() {
                return PathBuf::new();
            }
        }
    }
    common
}

/// A reader whose resources are checked against [`MAX_RESOURCE`]: a value
/// beyond it (a unit rule misapplied, a corrupt row) is an error, never a
/// saturated number that could "fit" an equally saturated machine.
struct Bounded {
    inner: Box<dyn TraceReader>,
    path: PathBuf,
    /// Whether usage records are passed on (the readers leave usage tables
    /// unread without it; this drops what a table mixes in, as native
    /// `tasks.csv` does).
    usage: bool,
}

impl TraceReader for Bounded {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        let mut rec = self.inner.next_record()?;
        while !self.usage && matches!(&rec, Some(r) if matches!(r.event, TraceEvent::Usage { .. }))
        {
            rec = self.inner.next_record()?;
        }
        let (what, res) = match rec.as_ref().map(|r| &r.event) {
            Some(TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m)) => {
                (format!("machine {}", m.key), m.capacity.res)
            }
            Some(TraceEvent::Submit(t)) => (
                format!("task {}/{}/{}", t.key.job, t.key.stage, t.key.index),
                t.request.res,
            ),
            Some(TraceEvent::Usage { task, usage }) => (
                format!("usage of task {}/{}/{}", task.job, task.stage, task.index),
                *usage,
            ),
            _ => return Ok(rec),
        };
        for (v, unit) in [(res.cpu_milli, "milli-cores"), (res.mem_mib, "MiB")] {
            if v > MAX_RESOURCE {
                return Err(crate::error::Error::Invalid {
                    path: self.path.clone(),
                    key: "trace".into(),
                    message: format!(
                        "{what}: {v} {unit} is beyond the most borgsim accepts ({MAX_RESOURCE}); \
                         check the trace's units and the reference machine"
                    ),
                });
            }
        }
        Ok(rec)
    }

    fn stats(&self) -> &ReadStats {
        self.inner.stats()
    }
}

fn open_unbounded(
    format: TraceFormat,
    files: &[Source],
    opts: &ReadOptions,
) -> Result<Box<dyn TraceReader>> {
    Ok(match format {
        TraceFormat::Google2011 => Box::new(google2011::Reader::open(files, opts)?),
        TraceFormat::Openb => Box::new(openb::Reader::open(files, opts)?),
        TraceFormat::Native => Box::new(native::Reader::open(files, opts)?),
        TraceFormat::Google2019 => Box::new(google2019::Reader::open(files, opts)?),
        TraceFormat::Alibaba2018 => Box::new(alibaba2018::Reader::open(files, opts)?),
        TraceFormat::Swf => Box::new(swf::Reader::open(files, opts)?),
        TraceFormat::Azure => match files {
            [one] => Box::new(azure::Reader::open(on_disk(one)?, opts)?),
            _ => {
                return Err(crate::error::Error::Invalid {
                    path: files
                        .first()
                        .map(|f| f.path().to_path_buf())
                        .unwrap_or_default(),
                    key: "trace.files".into(),
                    message: format!(
                        "the Azure packing trace is one SQLite file; {} given",
                        files.len()
                    ),
                })
            }
        },
    })
}

/// The path of a trace file the reader can only read from disk (SQLite's).
fn on_disk(file: &Source) -> Result<&std::path::Path> {
    file.on_disk().ok_or_else(|| crate::error::Error::Invalid {
        path: file.path().to_path_buf(),
        key: "trace.files".into(),
        message: "an SQLite trace is read from disk only, not embedded".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn parts_sort_by_their_numbers() {
        let mut v = Source::files(["part-00010-of-00011.csv.gz", "part-00002-of-00011.csv.gz"]);
        sort_parts(&mut v);
        assert_eq!(v[0].path(), Path::new("part-00002-of-00011.csv.gz"));
    }

    #[test]
    fn times_that_go_back_are_held_and_counted() {
        let mut m = Monotone::default();
        let mut st = ReadStats::default();
        assert_eq!(m.fix(SimTime(10), &mut st, "t"), SimTime(10));
        assert_eq!(m.fix(SimTime(5), &mut st, "t"), SimTime(10));
        assert_eq!(m.fix(SimTime(11), &mut st, "t"), SimTime(11));
        assert_eq!(st.repaired["t.time_went_back"], 1);
    }
}
