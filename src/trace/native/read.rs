//! Reading either layout: the CSV pair merged by time (machines first on
//! ties), or JSON lines in file order. Each row is checked as it is read, so
//! a bad one names its file, line and field.

use super::{from_jevent, machine_col, parse_gpu, task_col, JEvent};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, Request, Resources};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime};
use crate::trace::input::{open_file, table_schema, CsvLayout, CsvRows, Fields, Schema};
use crate::trace::EndKind;
use crate::trace::Source;
use crate::trace::{
    lenient, Monotone, ReadOptions, ReadStats, Select, TaskKey, TraceEvent, TraceMachine,
    TraceReader, TraceRecord, TraceTask,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// Reads either layout (see the [`native`](super) module doc).
pub struct Reader {
    inner: Inner,
    lenient: bool,
    stats: ReadStats,
}

#[allow(
    clippy::large_enum_variant,
    reason = "one per reader, made once: boxing would only add an indirection to every row read"
)]
enum Inner {
    Csv {
        machines: Option<CsvRows>,
        tasks: Option<CsvRows>,
        heads: [Option<TraceRecord>; 2],
        times: [Monotone; 2],
    },
    Jsonl {
        files: Vec<Source>,
        next: usize,
        lines: Option<Box<dyn BufRead>>,
        line: u64,
        buf: String,
        time: Monotone,
        machines_only: bool,
    },
}

impl Reader {
    pub fn open(files: &[Source], opts: &ReadOptions) -> Result<Reader> {
        let name = |p: &Source| {
            p.path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let jsonl: Vec<Source> = files
            .iter()
            .filter(|p| name(p).contains(".jsonl"))
            .cloned()
            .collect();
        let machines: Vec<Source> = files
            .iter()
            .filter(|p| name(p).starts_with("machines"))
            .cloned()
            .collect();
        let tasks: Vec<Source> = files
            .iter()
            .filter(|p| name(p).starts_with("tasks"))
            .cloned()
            .collect();
        if let Some(other) = files
            .iter()
            .find(|p| !jsonl.contains(p) && !machines.contains(p) && !tasks.contains(p))
        {
            return Err(Error::Invalid {
                path: other.path().to_path_buf(),
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
            // Every header is checked now, so a wrong one is reported
            // before any row is read (and by `borgsim validate`).
            CsvRows::check_headers(&machines, &machine_col::SCHEMA)?;
            CsvRows::check_headers(&tasks, &task_col::SCHEMA)?;
            let tasks = (opts.select != Select::MachinesOnly && !tasks.is_empty())
                .then(|| CsvRows::with_schema(tasks, CsvLayout::WITH_HEADER, &task_col::SCHEMA));
            Inner::Csv {
                machines: (!machines.is_empty()).then(|| {
                    CsvRows::with_schema(machines, CsvLayout::WITH_HEADER, &machine_col::SCHEMA)
                }),
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

fn machine_row(f: Fields) -> Result<TraceEvent> {
    use super::machine_col as c;
    let key = f.uint(c::MACHINE)?;
    let ev = f.str(c::EVENT)?;
    if ev == "remove" {
        return Ok(TraceEvent::MachineRemove { machine: key });
    }
    let opt = |s: &str| (!s.is_empty()).then(|| Arc::<str>::from(s));
    let attrs_text = f.str(c::ATTRS)?;
    let attrs: BTreeMap<String, String> = if attrs_text.is_empty() {
        BTreeMap::new()
    } else {
        serde_json::from_str(attrs_text)
            .map_err(|e| f.error(c::ATTRS, format!("expected a JSON object of strings: {e}")))?
    };
    let gpus = f.uint(c::GPUS)?;
    if gpus > crate::cell::resources::MAX_GPUS_PER_MACHINE as u64 {
        return Err(f.error(c::GPUS, format!("expected at most 64, found {gpus}")));
    }
    let m = TraceMachine {
        key,
        name: f.str(c::NAME)?.into(),
        capacity: Capacity {
            res: Resources::new(f.uint(c::CPU_MILLI)?, f.uint(c::MEM_MIB)?),
            gpus: gpus as u32,
        },
        attrs: attrs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        rack: opt(f.str(c::RACK)?),
        power: opt(f.str(c::POWER)?),
    };
    match ev {
        "add" => Ok(TraceEvent::MachineAdd(m)),
        "update" => Ok(TraceEvent::MachineUpdate(m)),
        other => Err(f.error(
            c::EVENT,
            format!("expected add, update or remove, found {other:?}"),
        )),
    }
}

/// An end kind in column `col`: `None` if empty.
fn end_kind(f: &Fields, col: usize) -> Result<Option<EndKind>> {
    let k = f.str(col)?;
    if k.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(k.into()))
        .map(Some)
        .map_err(|_| {
            f.error(
                col,
                format!("expected finish, evict, fail, kill or lost, found {k:?}"),
            )
        })
}

fn task_row(f: Fields) -> Result<TraceEvent> {
    use super::task_col as c;
    let key = TaskKey {
        job: f.uint(c::JOB)?,
        stage: f.u32(c::STAGE)?,
        index: f.u32(c::INDEX)?,
    };
    match f.str(c::EVENT)? {
        "schedule" => Ok(TraceEvent::Schedule {
            task: key,
            machine: f.uint(c::MACHINE)?,
        }),
        "end" => {
            let kind = end_kind(&f, c::KIND)?.ok_or_else(|| {
                f.error(
                    c::KIND,
                    "expected finish, evict, fail, kill or lost, found \"\"".into(),
                )
            })?;
            Ok(TraceEvent::End { task: key, kind })
        }
        "submit" => submit(&f, key),
        "usage" => Ok(TraceEvent::Usage {
            task: key,
            usage: Resources::new(f.uint(c::CPU_MILLI)?, f.uint(c::MEM_MIB)?),
        }),
        other => Err(f.error(
            c::EVENT,
            format!("expected submit, schedule, end or usage, found {other:?}"),
        )),
    }
}

/// A `submit` row of `tasks.csv`, for task `key`.
fn submit(f: &Fields, key: TaskKey) -> Result<TraceEvent> {
    use super::task_col as c;
    let gpu_s = f.str(c::GPU)?;
    let gpu = parse_gpu(gpu_s).ok_or_else(|| {
        f.error(
            c::GPU,
            format!("expected nothing, whole:N or share:M, found {gpu_s:?}"),
        )
    })?;
    let after = f.str(c::AFTER)?;
    let after = after
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<u32>().map_err(|_| {
                f.error(
                    c::AFTER,
                    format!("expected stages separated by ';', found {after:?}"),
                )
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    let cs = f.str(c::CONSTRAINTS)?;
    let constraints: Vec<(String, ConstraintOp, String)> = if cs.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(cs).map_err(|e| {
            f.error(
                c::CONSTRAINTS,
                format!("expected a JSON array of [name, op, value]: {e}"),
            )
        })?
    };
    let limit = |col: usize| -> Result<Option<u32>> {
        Ok(f.opt_uint(col)?.map(|v| v.min(u64::from(u32::MAX)) as u32))
    };
    Ok(TraceEvent::Submit(Box::new(TraceTask {
        key,
        job_name: f.str(c::JOB_NAME)?.into(),
        user: f.str(c::USER)?.into(),
        priority: f.u32(c::PRIORITY)?,
        trace_priority: f.opt_int(c::TRACE_PRIORITY)?.unwrap_or(0),
        request: Request {
            res: Resources::new(f.uint(c::CPU_MILLI)?, f.uint(c::MEM_MIB)?),
            gpu,
        },
        constraints: super::constraints_of(constraints),
        max_per_machine: limit(c::MAX_PER_MACHINE)?,
        max_per_rack: limit(c::MAX_PER_RACK)?,
        duration: f.opt_uint(c::DURATION_US)?.map(SimDuration),
        after,
        task_name: Some(f.str(c::TASK_NAME)?)
            .filter(|n| !n.is_empty())
            .map(Into::into),
        stage_tasks: limit(c::STAGE_TASKS)?,
        end_kind: end_kind(f, c::END_KIND)?,
    })))
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
                let f = rows.fields();
                let parsed = f.check_width().and_then(|()| {
                    Ok(if i == 0 {
                        (f.uint(machine_col::TIME_US)?, machine_row(f)?)
                    } else {
                        (f.uint(task_col::TIME_US)?, task_row(f)?)
                    })
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
                *lines = Some(Box::new(BufReader::new(open_file(p)?)));
                *next += 1;
                *line = 0;
            }
            buf.clear();
            let path = files[*next - 1].path().to_path_buf();
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
            let parsed = jsonl_record(buf, &path, *line);
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

/// The record on line `line` of the JSON-lines file `path`, or the error
/// naming the key at fault.
fn jsonl_record(text: &str, path: &Path, line: u64) -> Result<TraceRecord> {
    let row_error = |column: String, message: String| Error::Row {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    serde_json::from_str::<JEvent>(text)
        .map_err(|e| match explain(text) {
            Some((key, message)) => row_error(key, message),
            None => row_error(format!("column {}", e.column()), e.to_string()),
        })
        .and_then(|j| {
            from_jevent(j).ok_or_else(|| {
                row_error(
                    "gpu".into(),
                    "a GPU request (nothing, whole:N ≤ 64, share:M < 1000) or machine GPU count (≤ 64) out of range".into(),
                )
            })
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

// ---- naming the key at fault in a JSON line ----

table_schema! {
    /// A machine object's keys (`machine_add`, `machine_update`).
    mod j_machine = "machine" {
        KEY: "key" => Required,
        NAME: "name" => Required,
        CPU_MILLI: "cpu_milli" => Required,
        MEM_MIB: "mem_mib" => Required,
        GPUS: "gpus" => Optional("0"),
        RACK: "rack" => Optional(""),
        POWER: "power" => Optional(""),
        ATTRS: "attrs" => Optional(""),
    }
}

table_schema! {
    /// A submitted task's keys.
    mod j_task = "submitted task" {
        JOB: "job" => Required,
        STAGE: "stage" => Optional("0"),
        INDEX: "index" => Optional("0"),
        JOB_NAME: "job_name" => Optional(""),
        USER: "user" => Optional(""),
        PRIORITY: "priority" => Required,
        TRACE_PRIORITY: "trace_priority" => Optional("0"),
        CPU_MILLI: "cpu_milli" => Required,
        MEM_MIB: "mem_mib" => Required,
        GPU: "gpu" => Optional(""),
        MAX_PER_MACHINE: "max_per_machine" => Optional(""),
        MAX_PER_RACK: "max_per_rack" => Optional(""),
        DURATION_US: "duration_us" => Optional(""),
        AFTER: "after" => Optional(""),
        CONSTRAINTS: "constraints" => Optional(""),
        TASK_NAME: "task_name" => Optional(""),
        STAGE_TASKS: "stage_tasks" => Optional(""),
        END_KIND: "end_kind" => Optional(""),
    }
}

table_schema! {
    /// A task key's keys (`schedule`, `end`).
    mod j_key = "task key" {
        JOB: "job" => Required,
        STAGE: "stage" => Optional("0"),
        INDEX: "index" => Optional("0"),
    }
}

table_schema! {
    mod j_machine_event = "machine event" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        MACHINE: "machine" => Required,
    }
}

table_schema! {
    mod j_submit = "submit" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        TASK: "task" => Required,
    }
}

table_schema! {
    mod j_schedule = "schedule" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        TASK: "task" => Required,
        MACHINE: "machine" => Required,
    }
}

table_schema! {
    mod j_end = "end" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        TASK: "task" => Required,
        KIND: "kind" => Required,
    }
}

/// For a line serde refused: the key at fault (`task.cpu_milli`) and what
/// is wrong with it, when the fault is an unknown, missing or misplaced
/// key. Only called on the error path, so the happy path parses once.
fn explain(text: &str) -> Option<(String, String)> {
    use serde_json::{Map, Value};
    let Value::Object(top) = serde_json::from_str::<Value>(text).ok()? else {
        return None;
    };
    let check = |obj: &Map<String, Value>, schema: &'static Schema, prefix: &str| {
        schema
            .resolve(obj.keys().map(String::as_str), false)
            .err()
            .map(|f| {
                let (key, message) = f.describe(schema, "key");
                (format!("{prefix}{key}"), message)
            })
    };
    let Some(event) = top.get("event") else {
        return Some(("event".into(), "a required key is missing".into()));
    };
    let (outer, inner): (&'static Schema, Option<(&str, &'static Schema)>) =
        match event.as_str().unwrap_or_default() {
            "machine_add" | "machine_update" => {
                (&j_machine_event::SCHEMA, Some(("machine", &j_machine::SCHEMA)))
            }
            "machine_remove" => (&j_machine_event::SCHEMA, None),
            "submit" => (&j_submit::SCHEMA, Some(("task", &j_task::SCHEMA))),
            "schedule" => (&j_schedule::SCHEMA, Some(("task", &j_key::SCHEMA))),
            "end" => (&j_end::SCHEMA, Some(("task", &j_key::SCHEMA))),
            _ => {
                return Some((
                    "event".into(),
                    format!(
                        "expected machine_add, machine_update, machine_remove, submit, schedule or end, found {event}"
                    ),
                ))
            }
        };
    if let Some(fault) = check(&top, outer, "") {
        return Some(fault);
    }
    let (key, schema) = inner?;
    match top.get(key) {
        Some(Value::Object(obj)) => check(obj, schema, &format!("{key}.")),
        Some(other) => Some((
            key.to_string(),
            format!(
                "expected an object with the keys {}, found {other}",
                schema.names()
            ),
        )),
        None => None,
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::trace::input::Column;

    /// The JSON-lines key lists (used to name a bad key) are the CSV tables'
    /// columns without the event columns: kept side by side, they must not
    /// drift apart.
    #[test]
    fn json_keys_are_the_csv_columns_without_the_event_ones() {
        let without = |cols: &[Column], drop: &[&str]| -> Vec<Column> {
            cols.iter()
                .filter(|c| !drop.contains(&c.name))
                .copied()
                .collect()
        };
        let tasks = without(
            super::super::task_col::SCHEMA.columns,
            &["time_us", "event", "machine", "kind"],
        );
        assert_eq!(tasks, j_task::SCHEMA.columns);
        let machines = without(
            super::super::machine_col::SCHEMA.columns,
            &["time_us", "event", "machine"],
        );
        // A machine object names its key `key`; the rest as in machines.csv
        // (`name` is required in an object, which always describes a machine).
        assert_eq!(machines.len() + 1, j_machine::SCHEMA.columns.len());
        for (csv, json) in machines.iter().zip(&j_machine::SCHEMA.columns[1..]) {
            assert_eq!(csv.name, json.name);
        }
    }
}
