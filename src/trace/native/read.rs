//! Reading either layout: the CSV pair merged by time (machines first on
//! ties), or JSON lines in file order. Each row is checked as it is read, so
//! a bad one names its file, line and field.

use super::{from_jevent, parse_gpu, JEvent};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, Request, Resources};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime};
use crate::trace::input::{open_file, CsvLayout, CsvRows, Row};
use crate::trace::{
    lenient, Monotone, ReadOptions, ReadStats, Select, TaskKey, TraceEvent, TraceMachine,
    TraceReader, TraceRecord, TraceTask,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

/// Reads either layout (see the [`native`](super) module doc).
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
                constraints: super::constraints_of(constraints),
                max_per_machine,
                max_per_rack,
                duration: opt_u(16, "duration_us")?.map(SimDuration),
                after,
                task_name: None,
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
                *lines = Some(Box::new(BufReader::new(open_file(p)?)));
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
