//! The three tables, row by row: machine_meta and container_meta loaded
//! whole and turned into time-sorted records, batch_task parsed a row at a
//! time.

use super::names::{self, numbered};
use super::{BATCH_PRIORITY, CONTAINER_JOB_BIT, ONLINE_PRIORITY};
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::error::Result;
use crate::time::{SimTime, US_PER_S};
use crate::trace::input::{CsvLayout, CsvRows, Decimal, Row};
use crate::trace::{
    lenient, ReadStats, ReferenceMachine, TaskKey, TraceEvent, TraceMachine, TraceRecord, TraceTask,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The tables this reader uses, in the order that breaks time ties.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    MachineMeta,
    ContainerMeta,
    BatchTask,
    BatchInstance,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::MachineMeta,
        Table::ContainerMeta,
        Table::BatchTask,
        Table::BatchInstance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::MachineMeta => "machine_meta",
            Table::ContainerMeta => "container_meta",
            Table::BatchTask => "batch_task",
            Table::BatchInstance => "batch_instance",
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
fn each_row(
    files: Vec<PathBuf>,
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

fn id(row: &Row<'_>, i: usize, name: &str, prefix: &str, below: u64) -> Result<u64> {
    let s = row.str(i, name)?;
    numbered(s, prefix).filter(|&n| n < below).ok_or_else(|| {
        row.error(
            name,
            format!("expected {prefix}<number below {below}>, found {s:?}"),
        )
    })
}

fn seconds(row: &Row<'_>, i: usize, name: &str) -> Result<SimTime> {
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
pub(super) fn machines(files: Vec<PathBuf>, ctx: &mut Ctx<'_>) -> Result<VecDeque<TraceRecord>> {
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

/// A container's first row.
struct ContainerRow {
    seq: u64,
    time: SimTime,
    index: u32,
    machine: u64,
    app: u64,
    app_du: Arc<str>,
    request: Request,
}

fn container_row(row: Row<'_>, seq: u64, ctx: &mut Ctx<'_>) -> Result<ContainerRow> {
    row.expect_fields(8, "container_meta")?;
    let index = id(&row, 0, "container_id", "c_", u64::from(u32::MAX) + 1)? as u32;
    let machine = id(&row, 1, "machine_id", "m_", u64::MAX)?;
    let time = seconds(&row, 2, "time_stamp")?;
    let app = id(&row, 3, "app_du", "app_", CONTAINER_JOB_BIT)?;
    let app_du = ctx.strings.get(row.str(3, "app_du")?);
    // cpu_request: 100 = 1 core, so milli-cores = value × 1000 / 100.
    let cpu_milli = row.decimal(5, "cpu_request")?.scale_ratio(1000, 100);
    let mem_mib = percent(&row, 7, "mem_size")?.scale_ratio(ctx.reference.mem_mib, 100);
    Ok(ContainerRow {
        seq,
        time,
        index,
        machine,
        app,
        app_du,
        request: Request {
            res: Resources::new(cpu_milli, mem_mib),
            gpu: GpuRequest::None,
        },
    })
}

/// container_meta → a Submit and a Schedule per container, at its first
/// row, sorted by time (see the module docs).
pub(super) fn containers(files: Vec<PathBuf>, ctx: &mut Ctx<'_>) -> Result<VecDeque<TraceRecord>> {
    let mut first: FxHashMap<u32, ContainerRow> = FxHashMap::default();
    let mut seq = 0;
    each_row(files, Table::ContainerMeta, ctx, |row, ctx| {
        let c = container_row(row, seq, ctx)?;
        seq += 1;
        match first.get(&c.index) {
            Some(old) => {
                ctx.stats.repair("container_meta.later_row");
                if c.time < old.time {
                    first.insert(c.index, c);
                }
            }
            None => {
                first.insert(c.index, c);
            }
        }
        Ok(())
    })?;
    let mut rows: Vec<ContainerRow> = first.into_values().collect();
    rows.sort_by_key(|c| (c.time, c.seq));
    let empty: Arc<str> = Arc::from("");
    let mut out = VecDeque::with_capacity(rows.len() * 2);
    for c in rows {
        let key = TaskKey {
            job: CONTAINER_JOB_BIT | c.app,
            stage: 0,
            index: c.index,
        };
        let task = TraceTask {
            key,
            job_name: c.app_du,
            user: empty.clone(),
            priority: ONLINE_PRIORITY,
            trace_priority: i64::from(ONLINE_PRIORITY),
            request: c.request,
            constraints: Vec::new(),
            max_per_machine: None,
            max_per_rack: None,
            duration: None,
            after: Vec::new(),
            task_name: None,
        };
        for event in [
            TraceEvent::Submit(Box::new(task)),
            TraceEvent::Schedule {
                task: key,
                machine: c.machine,
            },
        ] {
            out.push_back(TraceRecord {
                time: c.time,
                event,
            });
        }
    }
    Ok(out)
}

/// One batch_task row: `count` tasks like `task` (indices 0..count).
pub(super) struct BatchRow {
    pub time: SimTime,
    pub task: TraceTask,
    pub count: u32,
}

/// Parses a batch_task row; its start time is not yet made monotone.
pub(super) fn batch_row(row: Row<'_>, ctx: &mut Ctx<'_>) -> Result<BatchRow> {
    row.expect_fields(9, "batch_task")?;
    let name = row.str(0, "task_name")?;
    let dag = names::task_name(name).map_err(|m| row.error("task_name", m))?;
    let count = row.uint(1, "instance_num")?;
    let count = u32::try_from(count)
        .map_err(|_| row.error("instance_num", format!("expected a count, found {count}")))?;
    let job = id(&row, 2, "job_name", "j_", CONTAINER_JOB_BIT)?;
    let job_name: Arc<str> = Arc::from(row.str(2, "job_name")?);
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
    let duration = match end {
        Some(e) if e.as_us() > 0 && e >= start => Some(e - start),
        _ => {
            ctx.stats.repair("batch_task.no_end_time");
            None
        }
    };
    if count == 0 {
        ctx.stats.repair("batch_task.no_instances");
    }
    Ok(BatchRow {
        time: start,
        count,
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
            duration,
            after: dag.after,
            task_name: Some(Arc::from(name)),
        },
    })
}

/// batch_task whole, by (job, stage): what batch_instance rows need.
pub(super) fn batch_tasks(
    files: Vec<PathBuf>,
    ctx: &mut Ctx<'_>,
) -> Result<rustc_hash::FxHashMap<(u64, u32), TraceTask>> {
    let mut out = rustc_hash::FxHashMap::default();
    each_row(files, Table::BatchTask, ctx, |row, ctx| {
        let b = batch_row(row, ctx)?;
        out.insert((b.task.key.job, b.task.key.stage), b.task);
        Ok(())
    })?;
    Ok(out)
}
