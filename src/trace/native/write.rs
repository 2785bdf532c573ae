//! Writing a record stream in either layout, for `trace convert`. The whole
//! output is built in memory and each file written through a temporary name,
//! so a failed conversion leaves no half-written trace behind.

use super::{machine_col, task_col, to_jevent, to_jmachine, to_jtask};
use crate::error::{Error, Result};
use crate::metrics::report::write_atomic;
use crate::trace::{EndKind, TaskKey, TraceEvent, TraceMachine, TraceReader, TraceTask};
use std::path::Path;

/// A `tasks.csv` row, in the schema's column order: every cell is placed
/// by the schema's constant for its column, the constants the header is
/// written from (and the reader reads by), so the two cannot disagree.
type TaskRow = [String; task_col::COUNT];
/// A `machines.csv` row, likewise.
type MachineRow = [String; machine_col::COUNT];

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
        let written = match &rec.event {
            TraceEvent::MachineAdd(m) => machines.write_record(machine_row(t, "add", m)),
            TraceEvent::MachineUpdate(m) => machines.write_record(machine_row(t, "update", m)),
            TraceEvent::MachineRemove { machine } => {
                // Only the machine: the other cells stay empty.
                let mut row = MachineRow::default();
                row[machine_col::TIME_US] = t;
                row[machine_col::EVENT] = "remove".into();
                row[machine_col::MACHINE] = machine.to_string();
                machines.write_record(&row)
            }
            TraceEvent::Submit(task) => tasks.write_record(submit_row(t, task)),
            TraceEvent::Schedule { task, machine } => {
                let mut row = task_row(t, "schedule", task);
                row[task_col::MACHINE] = machine.to_string();
                tasks.write_record(&row)
            }
            TraceEvent::End { task, kind } => {
                let mut row = task_row(t, "end", task);
                row[task_col::KIND] = serde_name(kind);
                tasks.write_record(&row)
            }
            TraceEvent::Usage { task, usage } => {
                let mut row = task_row(t, "usage", task);
                row[task_col::CPU_MILLI] = usage.cpu_milli.to_string();
                row[task_col::MEM_MIB] = usage.mem_mib.to_string();
                tasks.write_record(&row)
            }
        };
        written.expect("in memory");
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

/// A machine's `add` or `update` row.
fn machine_row(time: String, event: &str, m: &TraceMachine) -> MachineRow {
    use machine_col as c;
    let j = to_jmachine(m);
    let mut row = MachineRow::default();
    row[c::TIME_US] = time;
    row[c::EVENT] = event.into();
    row[c::MACHINE] = m.key.to_string();
    row[c::NAME] = j.name;
    row[c::CPU_MILLI] = j.cpu_milli.to_string();
    row[c::MEM_MIB] = j.mem_mib.to_string();
    row[c::GPUS] = j.gpus.to_string();
    row[c::RACK] = j.rack.unwrap_or_default();
    row[c::POWER] = j.power.unwrap_or_default();
    row[c::ATTRS] = serde_json::to_string(&j.attrs).expect("serialisable");
    row
}

/// A task's `submit` row: everything but `machine` and `kind`.
fn submit_row(time: String, task: &TraceTask) -> TaskRow {
    use task_col as c;
    let mut row = task_row(time, "submit", &task.key);
    let j = to_jtask(task);
    let after: Vec<String> = j.after.iter().map(u32::to_string).collect();
    row[c::JOB_NAME] = j.job_name;
    row[c::USER] = j.user;
    row[c::PRIORITY] = j.priority.to_string();
    row[c::TRACE_PRIORITY] = j.trace_priority.to_string();
    row[c::CPU_MILLI] = j.cpu_milli.to_string();
    row[c::MEM_MIB] = j.mem_mib.to_string();
    row[c::GPU] = j.gpu;
    row[c::MAX_PER_MACHINE] = text(j.max_per_machine);
    row[c::MAX_PER_RACK] = text(j.max_per_rack);
    row[c::DURATION_US] = text(j.duration_us);
    row[c::AFTER] = after.join(";");
    row[c::CONSTRAINTS] = serde_json::to_string(&j.constraints).expect("serialisable");
    row[c::TASK_NAME] = j.task_name.unwrap_or_default();
    row[c::STAGE_TASKS] = text(j.stage_tasks);
    row[c::END_KIND] = j.end_kind.as_ref().map_or(String::new(), serde_name);
    row
}

/// An end kind's name: serde's (`finish`), the one the reader parses.
fn serde_name(kind: &EndKind) -> String {
    serde_json::to_value(kind)
        .expect("serialisable")
        .as_str()
        .unwrap_or_default()
        .to_string()
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
