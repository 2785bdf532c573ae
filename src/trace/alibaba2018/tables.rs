//! The tables row by row: machine_meta loaded whole and turned into
//! time-sorted machine records, batch_task parsed a row at a time (and its
//! status rules applied where it drives submissions). container_meta is in
//! `containers.rs`, batch_instance in `instances.rs`, container_usage in
//! `usage.rs`.

use super::names::{self, numbered};
use super::{BATCH_PRIORITY, CONTAINER_JOB_BIT};
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::error::Result;
use crate::time::{SimTime, US_PER_S};
use crate::trace::input::{CsvLayout, CsvRows, Decimal, Row};
use crate::trace::Source as TraceFile;
use crate::trace::{
    lenient, ReadStats, ReferenceMachine, TaskKey, TraceEvent, TraceMachine, TraceRecord, TraceTask,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

/// The tables this reader uses, in the order that breaks time ties.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    MachineMeta,
    ContainerMeta,
    BatchTask,
    BatchInstance,
    ContainerUsage,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::MachineMeta,
        Table::ContainerMeta,
        Table::BatchTask,
        Table::BatchInstance,
        Table::ContainerUsage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::MachineMeta => "machine_meta",
            Table::ContainerMeta => "container_meta",
            Table::BatchTask => "batch_task",
            Table::BatchInstance => "batch_instance",
            Table::ContainerUsage => "container_usage",
        }
    }

    /// The table a file belongs to: its file name contains the table's
    /// name, or failing that its directory's name does.
    pub fn of_file(path: &Path) -> Option<Table> {
        let names = [path.file_name(), path.parent().and_then(Path::file_name)];
        names.into_iter().flatten().find_map(|n| {
            let n = n.to_string_lossy();
            Table::ALL.into_iter().find(|t| n.contains(t.name()))
        })
    }
}

/// Shared copies of repeated strings (racks, power domains, app names).
#[derive(Default)]
pub(super) struct Strings(FxHashSet<Arc<str>>);

impl Strings {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

/// Everything a table load needs besides its files.
pub(super) struct Ctx<'a> {
    pub lenient: bool,
    pub reference: ReferenceMachine,
    pub stats: &'a mut ReadStats,
    pub strings: &'a mut Strings,
}

/// Reads every row of a headerless table, skipping bad rows in lenient mode.
pub(super) fn each_row(
    files: Vec<TraceFile>,
    table: Table,
    ctx: &mut Ctx<'_>,
    mut f: impl FnMut(Row<'_>, &mut Ctx<'_>) -> Result<()>,
) -> Result<()> {
    let mut rows = CsvRows::new(files, CsvLayout::HEADERLESS);
    loop {
        let adv = rows.advance();
        if !matches!(adv, Ok(false)) {
            ctx.stats.rows += 1;
        }
        match lenient(adv, ctx.lenient, ctx.stats, table.name())? {
            Some(true) => {}
            Some(false) => return Ok(()),
            None => continue,
        }
        let res = f(rows.row(), ctx);
        lenient(res, ctx.lenient, ctx.stats, table.name())?;
    }
}

pub(super) fn id(row: &Row<'_>, i: usize, name: &str, prefix: &str, below: u64) -> Result<u64> {
    let s = row.str(i, name)?;
    numbered(s, prefix).filter(|&n| n < below).ok_or_else(|| {
        row.error(
            name,
            format!("expected {prefix}<number below {below}>, found {s:?}"),
        )
    })
}

pub(super) fn seconds(row: &Row<'_>, i: usize, name: &str) -> Result<SimTime> {
    Ok(SimTime(row.uint(i, name)?.saturating_mul(US_PER_S)))
}

/// A value on the trace's 0–100 scale; −1 and 101 mark invalid values.
pub(super) fn percent(row: &Row<'_>, i: usize, name: &str) -> Result<Decimal> {
    let d = row.decimal(i, name)?;
    let at_most_100 = if d.exp10 >= 0 {
        10u128
            .checked_pow(d.exp10 as u32)
            .and_then(|p| d.mantissa.checked_mul(p))
            .is_some_and(|v| v <= 100)
    } else {
        10u128
            .checked_pow((-d.exp10) as u32)
            .and_then(|p| p.checked_mul(100))
            .is_none_or(|limit| d.mantissa <= limit)
    };
    if !at_most_100 {
        let v = String::from_utf8_lossy(row.raw(i));
        return Err(row.error(name, format!("expected 0–100, found {v:?}")));
    }
    Ok(d)
}

/// One machine_meta row.
struct MachineRow {
    time: SimTime,
    key: u64,
    rack: Arc<str>,
    power: Option<Arc<str>>,
    res: Resources,
    in_service: bool,
}

fn machine_row(row: Row<'_>, ctx: &mut Ctx<'_>) -> Result<MachineRow> {
    row.expect_fields(7, "machine_meta")?;
    let key = id(&row, 0, "machine_id", "m_", u64::MAX)?;
    let time = seconds(&row, 1, "time_stamp")?;
    row.int(2, "failure_domain_1")?;
    let rack = ctx.strings.get(row.str(2, "failure_domain_1")?);
    let power = row.str(3, "failure_domain_2")?;
    let power = (!power.is_empty()).then(|| ctx.strings.get(power));
    let cpus = row.uint(4, "cpu_num")?;
    let cpu_milli = cpus
        .checked_mul(1000)
        .filter(|&m| m > 0)
        .ok_or_else(|| row.error("cpu_num", format!("expected a core count, found {cpus}")))?;
    let mem_mib = percent(&row, 5, "mem_size")?.scale_ratio(ctx.reference.mem_mib, 100);
    let status = row.str(6, "status")?;
    if status.is_empty() {
        return Err(row.error("status", "expected a status, found nothing".into()));
    }
    if !matches!(status, "USING" | "IMPORT_INSTALLING") {
        ctx.stats.repair("machine_meta.status_unrecognised");
    }
    Ok(MachineRow {
        time,
        key,
        rack,
        power,
        res: Resources::new(cpu_milli, mem_mib),
        in_service: status == "USING",
    })
}

/// machine_meta → machine records, sorted by time (see the module docs).
pub(super) fn machines(files: Vec<TraceFile>, ctx: &mut Ctx<'_>) -> Result<VecDeque<TraceRecord>> {
    let mut rows = Vec::new();
    each_row(files, Table::MachineMeta, ctx, |row, ctx| {
        let name: Arc<str> = Arc::from(row.str(0, "machine_id")?);
        rows.push((machine_row(row, ctx)?, name));
        Ok(())
    })?;
    rows.sort_by_key(|r| r.0.time); // stable: a machine's rows keep their order
    let mut known: FxHashMap<u64, (TraceMachine, bool)> = FxHashMap::default();
    let mut out = VecDeque::new();
    for (row, name) in rows {
        let push = |out: &mut VecDeque<TraceRecord>, event| {
            out.push_back(TraceRecord {
                time: row.time,
                event,
            })
        };
        let prev = known.get(&row.key);
        let power = match (&row.power, prev) {
            (None, Some((m, _))) => {
                ctx.stats.repair("machine_meta.failure_domain_2_missing");
                m.power.clone()
            }
            (p, _) => p.clone(),
        };
        let machine = TraceMachine {
            key: row.key,
            name: prev.map_or(name, |(m, _)| m.name.clone()),
            capacity: Capacity {
                res: row.res,
                gpus: 0,
            },
            attrs: Vec::new(),
            rack: Some(row.rack.clone()),
            power,
        };
        match prev {
            None => {
                push(&mut out, TraceEvent::MachineAdd(machine.clone()));
                if !row.in_service {
                    push(&mut out, TraceEvent::MachineRemove { machine: row.key });
                }
            }
            Some((old, was)) => match (*was, row.in_service) {
                (true, true) if *old != machine => {
                    push(&mut out, TraceEvent::MachineUpdate(machine.clone()))
                }
                (false, true) => push(&mut out, TraceEvent::MachineAdd(machine.clone())),
                (true, false) => push(&mut out, TraceEvent::MachineRemove { machine: row.key }),
                _ => {}
            },
        }
        known.insert(row.key, (machine, row.in_service));
    }
    Ok(out)
}

/// What a batch table's `status` says about a run (batch_task's task, or
/// batch_instance's instance). The published schema does not list the
/// values; these are the ones this reader knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum RunStatus {
    /// `Terminated`: ended normally at `end_time`.
    Terminated,
    /// `Failed`, `Cancelled`, `Interrupted`: ended at `end_time`, not
    /// normally; the name is the status in lower case (the rule it is
    /// counted under).
    Ended(&'static str),
    /// `Running`: had not ended when the trace was cut.
    Running,
    /// `Waiting`, `Ready`: had not started when the trace was cut.
    NotStarted,
    /// Any other value (or none): read as `Terminated`, counted.
    Unrecognised,
}

pub(super) fn run_status(s: &str) -> RunStatus {
    match s {
        "Terminated" => RunStatus::Terminated,
        "Failed" => RunStatus::Ended("failed"),
        "Cancelled" => RunStatus::Ended("cancelled"),
        "Interrupted" => RunStatus::Ended("interrupted"),
        "Running" => RunStatus::Running,
        "Waiting" | "Ready" => RunStatus::NotStarted,
        _ => RunStatus::Unrecognised,
    }
}

/// One batch_task row: `count` tasks like `task` (indices 0..count).
pub(super) struct BatchRow {
    pub time: SimTime,
    pub task: TraceTask,
    pub count: u32,
    pub status: RunStatus,
    /// `end_time`, if given (0 included: "before or after the window").
    pub end: Option<SimTime>,
}

/// Parses a batch_task row; its start time is not yet made monotone, and
/// its run length is left for [`submissions`] (batch_instance gives each
/// instance its own).
pub(super) fn batch_row(row: Row<'_>, ctx: &mut Ctx<'_>) -> Result<BatchRow> {
    row.expect_fields(9, "batch_task")?;
    let name = row.str(0, "task_name")?;
    let dag = names::task_name(name).map_err(|m| row.error("task_name", m))?;
    let count = row.uint(1, "instance_num")?;
    let count = u32::try_from(count)
        .map_err(|_| row.error("instance_num", format!("expected a count, found {count}")))?;
    let job = id(&row, 2, "job_name", "j_", CONTAINER_JOB_BIT)?;
    let job_name: Arc<str> = Arc::from(row.str(2, "job_name")?);
    let status = run_status(row.str(4, "status")?);
    let start = seconds(&row, 5, "start_time")?;
    let end = match row.opt_int(6, "end_time")? {
        Some(s) if s >= 0 => Some(SimTime((s as u64).saturating_mul(US_PER_S))),
        Some(_) => return Err(row.error("end_time", "expected a time ≥ 0".into())),
        None => None,
    };
    // plan_cpu: 100 = 1 core; plan_mem: 0–100 of the reference machine.
    let cpu_milli = row.decimal(7, "plan_cpu")?.scale_ratio(1000, 100);
    let mem_mib = percent(&row, 8, "plan_mem")?.scale_ratio(ctx.reference.mem_mib, 100);
    for rule in &dag.repairs {
        ctx.stats.repair(&format!("batch_task.{rule}"));
    }
    Ok(BatchRow {
        time: start,
        count,
        status,
        end,
        task: TraceTask {
            key: TaskKey {
                job,
                stage: dag.stage,
                index: 0,
            },
            job_name,
            user: ctx.strings.get(""),
            priority: BATCH_PRIORITY,
            trace_priority: i64::from(BATCH_PRIORITY),
            request: Request {
                res: Resources::new(cpu_milli, mem_mib),
                gpu: GpuRequest::None,
            },
            constraints: Vec::new(),
            max_per_machine: None,
            max_per_rack: None,
            duration: None,
            after: dag.after,
            task_name: Some(Arc::from(name)),
            stage_tasks: Some(count),
            end_kind: None,
        },
    })
}

/// Without batch_instance, a batch_task row's status decides its
/// submissions (the rules are in the module docs): `Waiting`/`Ready` submit
/// nothing, `Running` runs to the end, every other status runs until
/// `end_time`.
pub(super) fn submissions(b: &mut BatchRow, stats: &mut ReadStats) {
    let ended = match b.status {
        RunStatus::NotStarted => {
            stats.repair("batch_task.not_started");
            b.count = 0;
            return;
        }
        RunStatus::Running => false,
        RunStatus::Terminated => true,
        RunStatus::Ended(status) => {
            stats.repair(&format!("batch_task.status_{status}"));
            true
        }
        RunStatus::Unrecognised => {
            stats.repair("batch_task.status_unrecognised");
            true
        }
    };
    b.task.duration = match b.end {
        Some(e) if ended && e.as_us() > 0 && e >= b.time => Some(e - b.time),
        _ => {
            stats.repair("batch_task.no_end_time");
            None
        }
    };
    if b.count == 0 {
        stats.repair("batch_task.no_instances");
    }
}

/// batch_task whole, by (job, stage), with each task's `instance_num`:
/// what batch_instance rows need. A second row for the same (job, stage)
/// is ignored, counted as `batch_task.duplicate_task`.
pub(super) fn batch_tasks(
    files: Vec<TraceFile>,
    ctx: &mut Ctx<'_>,
) -> Result<FxHashMap<(u64, u32), (TraceTask, u32)>> {
    let mut out = FxHashMap::default();
    each_row(files, Table::BatchTask, ctx, |row, ctx| {
        let b = batch_row(row, ctx)?;
        match out.entry((b.task.key.job, b.task.key.stage)) {
            Entry::Occupied(_) => ctx.stats.repair("batch_task.duplicate_task"),
            Entry::Vacant(v) => {
                v.insert((b.task, b.count));
            }
        }
        Ok(())
    })?;
    Ok(out)
}
