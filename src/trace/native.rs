//! borgsim's native trace format: what `trace convert` writes from any
//! format, already in borgsim units, and what the `native` reader reads.
//!
//! Two layouts, the same records:
//!
//! **CSV** — a directory with `machines.csv` and `tasks.csv` (headers as
//! below; any number of parts named `machines*.csv` / `tasks*.csv`, `.gz`
//! allowed). The two tables are merged by time, machines first on ties.
//!
//! `machines.csv`: `time_us, event, machine, name, cpu_milli, mem_mib, gpus,
//! rack, power, attrs` — `event` is `add`, `update` or `remove` (a removal
//! leaves the other fields empty); `attrs` is a JSON object of strings.
//!
//! `tasks.csv`: `time_us, event, job, stage, index, machine, kind, job_name,
//! user, priority, trace_priority, cpu_milli, mem_mib, gpu, max_per_machine,
//! max_per_rack, duration_us, after, constraints` — `event` is `submit`, `schedule` (with
//! `machine`) or `end` (with `kind`: finish, evict, fail, kill, lost);
//! `priority` is borgsim's (bands: best effort 0–99, batch 100–119,
//! production 120–359, monitoring 360+); `gpu` is empty, `whole:N` or
//! `share:M` (milli of one device); `duration_us` is empty when unknown;
//! `after` lists stages of the same job separated by `;`; `constraints` is a
//! JSON array of `[name, op, value]` with op `eq`, `ne`, `present`, `absent`.
//!
//! **JSON lines** — one file `*.jsonl`, one record per line:
//! `{"time_us": 0, "event": "machine_add", "machine": {…}}`,
//! `{"time_us": 5, "event": "submit", "task": {…}}`,
//! `{"time_us": 9, "event": "schedule", "task": {"job":…,"stage":…,"index":…}, "machine": 3}`,
//! `{"time_us": 9, "event": "end", "task": {…}, "kind": "finish"}` — the
//! fields as in the CSV layout. Lines must be in time order.

use super::input::{CsvLayout, CsvRows, Row};
use super::{
    lenient, EndKind, Monotone, ReadOptions, ReadStats, Select, TaskKey, TraceConstraint,
    TraceEvent, TraceMachine, TraceReader, TraceRecord, TraceTask,
};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::error::{Error, Result};
use crate::metrics::report::write_atomic;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MACHINE_COLUMNS: [&str; 10] = [
    "time_us",
    "event",
    "machine",
    "name",
    "cpu_milli",
    "mem_mib",
    "gpus",
    "rack",
    "power",
    "attrs",
];
const TASK_COLUMNS: [&str; 19] = [
    "time_us",
    "event",
    "job",
    "stage",
    "index",
    "machine",
    "kind",
    "job_name",
    "user",
    "priority",
    "trace_priority",
    "cpu_milli",
    "mem_mib",
    "gpu",
    "max_per_machine",
    "max_per_rack",
    "duration_us",
    "after",
    "constraints",
];

// ---- the JSON-lines model (also used for the CSV cells that hold JSON) ----

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JMachine {
    key: u64,
    name: String,
    cpu_milli: u64,
    mem_mib: u64,
    #[serde(default)]
    gpus: u32,
    #[serde(default)]
    rack: Option<String>,
    #[serde(default)]
    power: Option<String>,
    #[serde(default)]
    attrs: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JTask {
    job: u64,
    #[serde(default)]
    stage: u32,
    #[serde(default)]
    index: u32,
    #[serde(default)]
    job_name: String,
    #[serde(default)]
    user: String,
    priority: u32,
    #[serde(default)]
    trace_priority: i64,
    cpu_milli: u64,
    mem_mib: u64,
    #[serde(default)]
    gpu: String,
    #[serde(default)]
    max_per_machine: Option<u32>,
    #[serde(default)]
    max_per_rack: Option<u32>,
    #[serde(default)]
    duration_us: Option<u64>,
    #[serde(default)]
    after: Vec<u32>,
    #[serde(default)]
    constraints: Vec<(String, ConstraintOp, String)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JKey {
    job: u64,
    #[serde(default)]
    stage: u32,
    #[serde(default)]
    index: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
enum JEvent {
    MachineAdd {
        time_us: u64,
        machine: JMachine,
    },
    MachineUpdate {
        time_us: u64,
        machine: JMachine,
    },
    MachineRemove {
        time_us: u64,
        machine: u64,
    },
    Submit {
        time_us: u64,
        task: JTask,
    },
    Schedule {
        time_us: u64,
        task: JKey,
        machine: u64,
    },
    End {
        time_us: u64,
        task: JKey,
        kind: EndKind,
    },
}

fn gpu_text(g: GpuRequest) -> String {
    match g {
        GpuRequest::None => String::new(),
        GpuRequest::Whole(n) => format!("whole:{n}"),
        GpuRequest::Share(m) => format!("share:{m}"),
    }
}

fn parse_gpu(s: &str) -> Option<GpuRequest> {
    let s = s.trim();
    if s.is_empty() {
        return Some(GpuRequest::None);
    }
    let (kind, n) = s.split_once(':')?;
    let n: u32 = n.trim().parse().ok()?;
    match kind.trim() {
        "whole" if n as usize <= crate::cell::resources::MAX_GPUS_PER_MACHINE => {
            Some(GpuRequest::Whole(n))
        }
        "share" if (1..1000).contains(&n) => Some(GpuRequest::Share(n)),
        _ => None,
    }
}

fn to_jmachine(m: &TraceMachine) -> JMachine {
    JMachine {
        key: m.key,
        name: m.name.to_string(),
        cpu_milli: m.capacity.res.cpu_milli,
        mem_mib: m.capacity.res.mem_mib,
        gpus: m.capacity.gpus,
        rack: m.rack.as_deref().map(String::from),
        power: m.power.as_deref().map(String::from),
        attrs: m
            .attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn from_jmachine(m: JMachine) -> TraceMachine {
    TraceMachine {
        key: m.key,
        name: m.name.into(),
        capacity: Capacity {
            res: Resources::new(m.cpu_milli, m.mem_mib),
            gpus: m.gpus,
        },
        attrs: m
            .attrs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        rack: m.rack.map(Into::into),
        power: m.power.map(Into::into),
    }
}

fn to_jtask(t: &TraceTask) -> JTask {
    JTask {
        job: t.key.job,
        stage: t.key.stage,
        index: t.key.index,
        job_name: t.job_name.to_string(),
        user: t.user.to_string(),
        priority: t.priority,
        trace_priority: t.trace_priority,
        cpu_milli: t.request.res.cpu_milli,
        mem_mib: t.request.res.mem_mib,
        gpu: gpu_text(t.request.gpu),
        max_per_machine: t.max_per_machine,
        max_per_rack: t.max_per_rack,
        duration_us: t.duration.map(|d| d.as_us()),
        after: t.after.clone(),
        constraints: t
            .constraints
            .iter()
            .map(|c| (c.name.to_string(), c.op, c.value.to_string()))
            .collect(),
    }
}

fn from_jtask(t: JTask) -> Option<TraceTask> {
    Some(TraceTask {
        key: TaskKey {
            job: t.job,
            stage: t.stage,
            index: t.index,
        },
        job_name: t.job_name.into(),
        user: t.user.into(),
        priority: t.priority,
        trace_priority: t.trace_priority,
        request: Request {
            res: Resources::new(t.cpu_milli, t.mem_mib),
            gpu: parse_gpu(&t.gpu)?,
        },
        constraints: t
            .constraints
            .into_iter()
            .map(|(n, op, v)| TraceConstraint {
                name: n.into(),
                op,
                value: v.into(),
            })
            .collect(),
        max_per_machine: t.max_per_machine,
        max_per_rack: t.max_per_rack,
        duration: t.duration_us.map(SimDuration),
        after: t.after,
    })
}

fn key_of(k: &TaskKey) -> JKey {
    JKey {
        job: k.job,
        stage: k.stage,
        index: k.index,
    }
}

// ---- writing ----

/// Writes every record of `reader` to `out` (CSV pair, or `trace.jsonl`),
/// each file through a temporary name. Returns the number of records.
pub fn write(reader: &mut dyn TraceReader, out: &Path, jsonl: bool) -> Result<u64> {
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let mut n = 0;
    if jsonl {
        let mut buf = Vec::new();
        while let Some(rec) = reader.next_record()? {
            serde_json::to_writer(&mut buf, &to_jevent(&rec)).expect("serialisable");
            buf.push(b'\n');
            n += 1;
        }
        write_atomic(&out.join("trace.jsonl"), &buf)?;
        return Ok(n);
    }
    let mut machines = csv::Writer::from_writer(Vec::new());
    let mut tasks = csv::Writer::from_writer(Vec::new());
    machines.write_record(MACHINE_COLUMNS).expect("in memory");
    tasks.write_record(TASK_COLUMNS).expect("in memory");
    while let Some(rec) = reader.next_record()? {
        n += 1;
        let t = rec.time.as_us().to_string();
        let e = String::new;
        match &rec.event {
            TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => {
                let ev = if matches!(rec.event, TraceEvent::MachineAdd(_)) {
                    "add"
                } else {
                    "update"
                };
                let j = to_jmachine(m);
                let attrs = serde_json::to_string(&j.attrs).expect("serialisable");
                let row = [
                    t,
                    ev.into(),
                    m.key.to_string(),
                    j.name,
                    j.cpu_milli.to_string(),
                    j.mem_mib.to_string(),
                    j.gpus.to_string(),
                    j.rack.unwrap_or_default(),
                    j.power.unwrap_or_default(),
                    attrs,
                ];
                machines.write_record(&row).expect("in memory");
            }
            TraceEvent::MachineRemove { machine } => {
                let row = [
                    t,
                    "remove".into(),
                    machine.to_string(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                ];
                machines.write_record(&row).expect("in memory");
            }
            TraceEvent::Submit(task) => {
                let j = to_jtask(task);
                let after: Vec<String> = j.after.iter().map(u32::to_string).collect();
                let row = [
                    t,
                    "submit".into(),
                    j.job.to_string(),
                    j.stage.to_string(),
                    j.index.to_string(),
                    e(),
                    e(),
                    j.job_name,
                    j.user,
                    j.priority.to_string(),
                    j.trace_priority.to_string(),
                    j.cpu_milli.to_string(),
                    j.mem_mib.to_string(),
                    j.gpu,
                    j.max_per_machine.map_or(e(), |v| v.to_string()),
                    j.max_per_rack.map_or(e(), |v| v.to_string()),
                    j.duration_us.map_or(e(), |v| v.to_string()),
                    after.join(";"),
                    serde_json::to_string(&j.constraints).expect("serialisable"),
                ];
                tasks.write_record(&row).expect("in memory");
            }
            TraceEvent::Schedule { task, machine } => {
                let row = [
                    t,
                    "schedule".into(),
                    task.job.to_string(),
                    task.stage.to_string(),
                    task.index.to_string(),
                    machine.to_string(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                ];
                tasks.write_record(&row).expect("in memory");
            }
            TraceEvent::End { task, kind } => {
                let kind = serde_json::to_value(kind).expect("serialisable");
                let row = [
                    t,
                    "end".into(),
                    task.job.to_string(),
                    task.stage.to_string(),
                    task.index.to_string(),
                    e(),
                    kind.as_str().unwrap_or_default().into(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                    e(),
                ];
                tasks.write_record(&row).expect("in memory");
            }
        }
    }
    write_atomic(
        &out.join("machines.csv"),
        &machines.into_inner().expect("in memory"),
    )?;
    write_atomic(
        &out.join("tasks.csv"),
        &tasks.into_inner().expect("in memory"),
    )?;
    Ok(n)
}

fn to_jevent(rec: &TraceRecord) -> JEvent {
    let time_us = rec.time.as_us();
    match &rec.event {
        TraceEvent::MachineAdd(m) => JEvent::MachineAdd {
            time_us,
            machine: to_jmachine(m),
        },
        TraceEvent::MachineUpdate(m) => JEvent::MachineUpdate {
            time_us,
            machine: to_jmachine(m),
        },
        TraceEvent::MachineRemove { machine } => JEvent::MachineRemove {
            time_us,
            machine: *machine,
        },
        TraceEvent::Submit(t) => JEvent::Submit {
            time_us,
            task: to_jtask(t),
        },
        TraceEvent::Schedule { task, machine } => JEvent::Schedule {
            time_us,
            task: key_of(task),
            machine: *machine,
        },
        TraceEvent::End { task, kind } => JEvent::End {
            time_us,
            task: key_of(task),
            kind: *kind,
        },
    }
}

// ---- reading ----

/// Reads either layout (see the module doc).
pub struct Reader {
    inner: Inner,
    lenient: bool,
    stats: ReadStats,
}

#[allow(clippy::large_enum_variant)] // one per reader
enum Inner {
    Csv {
        machines: Option<CsvRows>,
        tasks: Option<CsvRows>,
        heads: [Option<TraceRecord>; 2],
        times: [Monotone; 2],
    },
    Jsonl {
        files: Vec<PathBuf>,
        next: usize,
        lines: Option<Box<dyn BufRead>>,
        line: u64,
        buf: String,
        time: Monotone,
        machines_only: bool,
    },
}

impl Reader {
    pub fn open(files: &[PathBuf], opts: &ReadOptions) -> Result<Reader> {
        let name = |p: &PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let jsonl: Vec<PathBuf> = files
            .iter()
            .filter(|p| name(p).contains(".jsonl"))
            .cloned()
            .collect();
        let machines: Vec<PathBuf> = files
            .iter()
            .filter(|p| name(p).starts_with("machines"))
            .cloned()
            .collect();
        let tasks: Vec<PathBuf> = files
            .iter()
            .filter(|p| name(p).starts_with("tasks"))
            .cloned()
            .collect();
        if let Some(other) = files
            .iter()
            .find(|p| !jsonl.contains(p) && !machines.contains(p) && !tasks.contains(p))
        {
            return Err(Error::Invalid {
                path: other.clone(),
                key: "trace.files".into(),
                message: "not a native trace file: expected machines*.csv, tasks*.csv or *.jsonl"
                    .into(),
            });
        }
        let inner = if !jsonl.is_empty() {
            Inner::Jsonl {
                files: jsonl,
                next: 0,
                lines: None,
                line: 0,
                buf: String::new(),
                time: Monotone::default(),
                machines_only: opts.select == Select::MachinesOnly,
            }
        } else {
            let tasks = (opts.select == Select::All && !tasks.is_empty())
                .then(|| CsvRows::new(tasks, CsvLayout::WITH_HEADER));
            Inner::Csv {
                machines: (!machines.is_empty())
                    .then(|| CsvRows::new(machines, CsvLayout::WITH_HEADER)),
                tasks,
                heads: [None, None],
                times: [Monotone::default(), Monotone::default()],
            }
        };
        Ok(Reader {
            inner,
            lenient: opts.lenient,
            stats: ReadStats::default(),
        })
    }
}

fn machine_row(row: Row) -> Result<TraceEvent> {
    let key = row.uint(2, "machine")?;
    let ev = row.str(1, "event")?;
    if ev == "remove" {
        return Ok(TraceEvent::MachineRemove { machine: key });
    }
    let opt = |s: &str| (!s.is_empty()).then(|| Arc::<str>::from(s));
    let attrs_text = row.str(9, "attrs")?;
    let attrs: BTreeMap<String, String> = if attrs_text.is_empty() {
        BTreeMap::new()
    } else {
        serde_json::from_str(attrs_text)
            .map_err(|e| row.error("attrs", format!("expected a JSON object of strings: {e}")))?
    };
    let gpus = row.uint(6, "gpus")?;
    if gpus > crate::cell::resources::MAX_GPUS_PER_MACHINE as u64 {
        return Err(row.error("gpus", format!("expected at most 64, found {gpus}")));
    }
    let m = TraceMachine {
        key,
        name: row.str(3, "name")?.into(),
        capacity: Capacity {
            res: Resources::new(row.uint(4, "cpu_milli")?, row.uint(5, "mem_mib")?),
            gpus: gpus as u32,
        },
        attrs: attrs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        rack: opt(row.str(7, "rack")?),
        power: opt(row.str(8, "power")?),
    };
    match ev {
        "add" => Ok(TraceEvent::MachineAdd(m)),
        "update" => Ok(TraceEvent::MachineUpdate(m)),
        other => Err(row.error(
            "event",
            format!("expected add, update or remove, found {other:?}"),
        )),
    }
}

fn task_row(row: Row) -> Result<TraceEvent> {
    let u32_of = |i: usize, name: &str| -> Result<u32> {
        let v = row.uint(i, name)?;
        u32::try_from(v).map_err(|_| row.error(name, format!("expected < 2^32, found {v}")))
    };
    let key = TaskKey {
        job: row.uint(2, "job")?,
        stage: u32_of(3, "stage")?,
        index: u32_of(4, "index")?,
    };
    match row.str(1, "event")? {
        "schedule" => Ok(TraceEvent::Schedule {
            task: key,
            machine: row.uint(5, "machine")?,
        }),
        "end" => {
            let k = row.str(6, "kind")?;
            let kind =
                serde_json::from_value(serde_json::Value::String(k.into())).map_err(|_| {
                    row.error(
                        "kind",
                        format!("expected finish, evict, fail, kill or lost, found {k:?}"),
                    )
                })?;
            Ok(TraceEvent::End { task: key, kind })
        }
        "submit" => {
            let gpu_s = row.str(13, "gpu")?;
            let gpu = parse_gpu(gpu_s).ok_or_else(|| {
                row.error(
                    "gpu",
                    format!("expected nothing, whole:N or share:M, found {gpu_s:?}"),
                )
            })?;
            let after = row.str(17, "after")?;
            let after = after
                .split(';')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim().parse::<u32>().map_err(|_| {
                        row.error(
                            "after",
                            format!("expected stages separated by ';', found {after:?}"),
                        )
                    })
                })
                .collect::<Result<Vec<u32>>>()?;
            let cs = row.str(18, "constraints")?;
            let constraints: Vec<(String, ConstraintOp, String)> = if cs.is_empty() {
                Vec::new()
            } else {
                serde_json::from_str(cs).map_err(|e| {
                    row.error(
                        "constraints",
                        format!("expected a JSON array of [name, op, value]: {e}"),
                    )
                })?
            };
            let opt_u = |i: usize, name: &str| -> Result<Option<u64>> {
                row.opt_int(i, name)?
                    .map(|v| {
                        u64::try_from(v)
                            .map_err(|_| row.error(name, format!("expected ≥ 0, found {v}")))
                    })
                    .transpose()
            };
            let limit = |i: usize, name: &str| -> Result<Option<u32>> {
                Ok(opt_u(i, name)?.map(|v| v.min(u64::from(u32::MAX)) as u32))
            };
            let max_per_machine = limit(14, "max_per_machine")?;
            let max_per_rack = limit(15, "max_per_rack")?;
            Ok(TraceEvent::Submit(Box::new(TraceTask {
                key,
                job_name: row.str(7, "job_name")?.into(),
                user: row.str(8, "user")?.into(),
                priority: u32_of(9, "priority")?,
                trace_priority: row.opt_int(10, "trace_priority")?.unwrap_or(0),
                request: Request {
                    res: Resources::new(row.uint(11, "cpu_milli")?, row.uint(12, "mem_mib")?),
                    gpu,
                },
                constraints: constraints
                    .into_iter()
                    .map(|(n, op, v)| TraceConstraint {
                        name: n.into(),
                        op,
                        value: v.into(),
                    })
                    .collect(),
                max_per_machine,
                max_per_rack,
                duration: opt_u(16, "duration_us")?.map(SimDuration),
                after,
            })))
        }
        other => Err(row.error(
            "event",
            format!("expected submit, schedule or end, found {other:?}"),
        )),
    }
}

impl Reader {
    fn next_csv(&mut self) -> Result<Option<TraceRecord>> {
        let Inner::Csv {
            machines,
            tasks,
            heads,
            times,
        } = &mut self.inner
        else {
            unreachable!()
        };
        for (i, (table, name)) in [(machines, "machines"), (tasks, "tasks")]
            .into_iter()
            .enumerate()
        {
            while heads[i].is_none() {
                let Some(rows) = table.as_mut() else { break };
                if !rows.advance()? {
                    *table = None;
                    break;
                }
                self.stats.rows += 1;
                let row = rows.row();
                let parsed = row.uint(0, "time_us").and_then(|t| {
                    let ev = if i == 0 {
                        machine_row(row)?
                    } else {
                        task_row(row)?
                    };
                    Ok((t, ev))
                });
                if let Some((t, event)) = lenient(parsed, self.lenient, &mut self.stats, name)? {
                    let time = times[i].fix(SimTime(t), &mut self.stats, name);
                    heads[i] = Some(TraceRecord { time, event });
                }
            }
        }
        let pick = match (&heads[0], &heads[1]) {
            (Some(m), Some(t)) => usize::from(t.time < m.time),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return Ok(None),
        };
        Ok(heads[pick].take())
    }

    fn next_jsonl(&mut self) -> Result<Option<TraceRecord>> {
        let Inner::Jsonl {
            files,
            next,
            lines,
            line,
            buf,
            time,
            machines_only,
        } = &mut self.inner
        else {
            unreachable!()
        };
        loop {
            if lines.is_none() {
                let Some(p) = files.get(*next) else {
                    return Ok(None);
                };
                *lines = Some(Box::new(BufReader::new(super::input::open_file(p)?)));
                *next += 1;
                *line = 0;
            }
            buf.clear();
            let path = files[*next - 1].clone();
            let n = lines
                .as_mut()
                .expect("opened")
                .read_line(buf)
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
            if n == 0 {
                *lines = None;
                continue;
            }
            *line += 1;
            if buf.trim().is_empty() {
                continue;
            }
            self.stats.rows += 1;
            let parsed: Result<TraceRecord> = serde_json::from_str::<JEvent>(buf)
                .map_err(|e| Error::Row { path: path.clone(), line: *line, column: format!("column {}", e.column()), message: e.to_string() })
                .and_then(|j| from_jevent(j).ok_or_else(|| Error::Row { path: path.clone(), line: *line, column: "gpu".into(), message: "a GPU request (nothing, whole:N ≤ 64, share:M < 1000) or machine GPU count (≤ 64) out of range".into() }));
            if let Some(mut rec) = lenient(parsed, self.lenient, &mut self.stats, "jsonl")? {
                let is_machine = matches!(
                    rec.event,
                    TraceEvent::MachineAdd(_)
                        | TraceEvent::MachineUpdate(_)
                        | TraceEvent::MachineRemove { .. }
                );
                if *machines_only && !is_machine {
                    continue;
                }
                rec.time = time.fix(rec.time, &mut self.stats, "jsonl");
                return Ok(Some(rec));
            }
        }
    }
}

fn from_jevent(j: JEvent) -> Option<TraceRecord> {
    let (t, event) = match j {
        JEvent::MachineAdd { time_us, machine } => {
            (time_us, TraceEvent::MachineAdd(from_jmachine(machine)))
        }
        JEvent::MachineUpdate { time_us, machine } => {
            (time_us, TraceEvent::MachineUpdate(from_jmachine(machine)))
        }
        JEvent::MachineRemove { time_us, machine } => {
            (time_us, TraceEvent::MachineRemove { machine })
        }
        JEvent::Submit { time_us, task } => {
            (time_us, TraceEvent::Submit(Box::new(from_jtask(task)?)))
        }
        JEvent::Schedule {
            time_us,
            task,
            machine,
        } => (
            time_us,
            TraceEvent::Schedule {
                task: TaskKey {
                    job: task.job,
                    stage: task.stage,
                    index: task.index,
                },
                machine,
            },
        ),
        JEvent::End {
            time_us,
            task,
            kind,
        } => (
            time_us,
            TraceEvent::End {
                task: TaskKey {
                    job: task.job,
                    stage: task.stage,
                    index: task.index,
                },
                kind,
            },
        ),
    };
    if let TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) = &event {
        if m.capacity.gpus as usize > crate::cell::resources::MAX_GPUS_PER_MACHINE {
            return None;
        }
    }
    Some(TraceRecord {
        time: SimTime(t),
        event,
    })
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        match self.inner {
            Inner::Csv { .. } => self.next_csv(),
            Inner::Jsonl { .. } => self.next_jsonl(),
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{open, TraceFormat};

    fn all(format: TraceFormat, files: &[PathBuf]) -> Vec<TraceRecord> {
        let mut r = open(format, files, &ReadOptions::default()).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        out
    }

    fn fixture(name: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/traces")
            .join(name);
        crate::trace::replay::resolve_files(&dir, &[PathBuf::from(".")]).unwrap()
    }

    /// Converting to either layout and reading back gives the same records.
    #[test]
    fn conversion_round_trips_in_both_layouts() {
        for (format, name) in [
            (TraceFormat::Google2011, "google2011"),
            (TraceFormat::Openb, "openb"),
        ] {
            let original = all(format, &fixture(name));
            for jsonl in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let mut r = open(format, &fixture(name), &ReadOptions::default()).unwrap();
                let n = write(r.as_mut(), dir.path(), jsonl).unwrap();
                assert_eq!(n as usize, original.len());
                let files =
                    crate::trace::replay::resolve_files(dir.path(), &[PathBuf::from(".")]).unwrap();
                let back = all(TraceFormat::Native, &files);
                assert_eq!(back, original, "{name}, jsonl = {jsonl}");
            }
        }
    }

    #[test]
    fn bad_native_rows_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tasks.csv");
        let header = TASK_COLUMNS.join(",");
        std::fs::write(
            &p,
            format!("{header}\n5,submit,1,0,0,,,j,u,100,0,10,10,whole:99,,,,,\n"),
        )
        .unwrap();
        let mut r = Reader::open(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
        let msg = r.next_record().unwrap_err().to_string();
        assert!(
            msg.contains(
                "tasks.csv:2: gpu: expected nothing, whole:N or share:M, found \"whole:99\""
            ),
            "{msg}"
        );
        let j = dir.path().join("t.jsonl");
        std::fs::write(&j, "{\"event\":\"submit\",\"time_us\":1}\n").unwrap();
        let mut r = Reader::open(&[j], &ReadOptions::default()).unwrap();
        let msg = r.next_record().unwrap_err().to_string();
        assert!(msg.contains("t.jsonl:1: column"), "{msg}");
    }
}
