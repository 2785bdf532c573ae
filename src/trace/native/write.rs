//! Writing a record stream in either layout, for `trace convert`. The whole
//! output is built in memory and each file written through a temporary name,
//! so a failed conversion leaves no half-written trace behind.

use super::{machine_col, task_col, to_jevent, to_jmachine, to_jtask};
use crate::error::{Error, Result};
use crate::metrics::report::write_atomic;
use crate::trace::{TaskKey, TraceEvent, TraceReader};
use std::path::Path;

/// A `tasks.csv` row, in the schema's column order.
type TaskRow = [String; task_col::COUNT];
/// A `machines.csv` row, in the schema's column order.
type MachineRow = [String; machine_col::COUNT];
/// The column of `job_name`, the first that only a submission fills.
const JOB_NAME: usize = task_col::JOB_NAME;

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
    let names =
        |s: &crate::trace::input::Schema| s.columns.iter().map(|c| c.name).collect::<Vec<_>>();
    machines
        .write_record(names(&machine_col::SCHEMA))
        .expect("in memory");
    tasks
        .write_record(names(&task_col::SCHEMA))
        .expect("in memory");
    while let Some(rec) = reader.next_record()? {
        n += 1;
        let t = rec.time.as_us().to_string();
        match &rec.event {
            TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => {
                let ev = if matches!(rec.event, TraceEvent::MachineAdd(_)) {
                    "add"
                } else {
                    "update"
                };
                let j = to_jmachine(m);
                let attrs = serde_json::to_string(&j.attrs).expect("serialisable");
                let row: MachineRow = [
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
                // Only the machine: the other cells stay empty.
                let mut row = MachineRow::default();
                row[machine_col::TIME_US] = t;
                row[machine_col::EVENT] = "remove".into();
                row[machine_col::MACHINE] = machine.to_string();
                machines.write_record(&row).expect("in memory");
            }
            TraceEvent::Submit(task) => {
                let mut row = task_row(t, "submit", &task.key);
                let j = to_jtask(task);
                let after: Vec<String> = j.after.iter().map(u32::to_string).collect();
                // Everything from job_name on; machine and kind stay empty.
                let submitted: [String; task_col::COUNT - JOB_NAME] = [
                    j.job_name,
                    j.user,
                    j.priority.to_string(),
                    j.trace_priority.to_string(),
                    j.cpu_milli.to_string(),
                    j.mem_mib.to_string(),
                    j.gpu,
                    text(j.max_per_machine),
                    text(j.max_per_rack),
                    text(j.duration_us),
                    after.join(";"),
                    serde_json::to_string(&j.constraints).expect("serialisable"),
                    j.task_name.unwrap_or_default(),
                    text(j.stage_tasks),
                    j.end_kind.map_or(String::new(), |k| {
                        serde_json::to_value(k)
                            .expect("serialisable")
                            .as_str()
                            .unwrap_or("")
                            .to_string()
                    }),
                ];
                for (cell, value) in row[JOB_NAME..].iter_mut().zip(submitted) {
                    *cell = value;
                }
                tasks.write_record(&row).expect("in memory");
            }
            TraceEvent::Schedule { task, machine } => {
                let mut row = task_row(t, "schedule", task);
                row[task_col::MACHINE] = machine.to_string();
                tasks.write_record(&row).expect("in memory");
            }
            TraceEvent::End { task, kind } => {
                let kind = serde_json::to_value(kind).expect("serialisable");
                let mut row = task_row(t, "end", task);
                row[task_col::KIND] = kind.as_str().unwrap_or_default().into();
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

/// A `tasks.csv` row with its time, event and task key; every other cell
/// empty, for the caller to fill those that apply to the event.
fn task_row(time: String, event: &str, key: &TaskKey) -> TaskRow {
    let mut row = TaskRow::default();
    row[task_col::TIME_US] = time;
    row[task_col::EVENT] = event.into();
    row[task_col::JOB] = key.job.to_string();
    row[task_col::STAGE] = key.stage.to_string();
    row[task_col::INDEX] = key.index.to_string();
    row
}

/// An optional number's cell: empty when there is none.
fn text<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}
