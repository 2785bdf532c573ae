//! borgsim's native trace format: what `trace convert` writes from any
//! format, already in borgsim units, and what the `native` reader reads.
//!
//! Two layouts, the same records:
//!
//! **CSV** — a directory with `machines.csv` and `tasks.csv` (any number
//! of parts named `machines*.csv` / `tasks*.csv`, `.gz` allowed). The two
//! tables are merged by time, machines first on ties. Columns are found by
//! their header name, in any order; a header naming an unknown column,
//! naming one twice or lacking a required one is an error naming the file
//! and the column, and an absent optional column reads as its default in
//! every row. A UTF-8 byte-order mark and CRLF line ends are accepted.
//!
//! `machines.csv` — one machine event per row:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time_us` | required | | µs |
//! | `event` | required | | `add`, `update` or `remove` (a removal reads only `machine`) |
//! | `machine` | required | | the machine's key, an integer |
//! | `name` | optional | empty | |
//! | `cpu_milli` | required | | milli-cores |
//! | `mem_mib` | required | | MiB |
//! | `gpus` | optional | 0 | whole GPUs, at most 64 |
//! | `rack` | optional | none | empty = none |
//! | `power` | optional | none | empty = none |
//! | `attrs` | optional | none | a JSON object of strings |
//!
//! `tasks.csv` — one task event per row:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `time_us` | required | | µs |
//! | `event` | required | | `submit`, `schedule`, `end` or `usage` |
//! | `job` | required | | the job's key, an integer |
//! | `stage` | optional | 0 | |
//! | `index` | optional | 0 | |
//! | `machine` | optional | none | `schedule`: the machine's key (required there) |
//! | `kind` | optional | none | `end`: finish, evict, fail, kill or lost (required there) |
//! | `job_name` | optional | empty | |
//! | `user` | optional | empty | |
//! | `priority` | required | | borgsim's: best effort 0–99, batch 100–119, production 120–359, monitoring 360+ (`submit`) |
//! | `trace_priority` | optional | 0 | the trace's own; empty = 0 |
//! | `cpu_milli` | required | | milli-cores (`submit`: the request; `usage`: the mean used over the window starting then) |
//! | `mem_mib` | required | | MiB (`submit`, `usage`, likewise) |
//! | `gpu` | optional | none | empty, `whole:N` (N ≤ 64) or `share:M` (milli of one device, M < 1000) |
//! | `max_per_machine` | optional | no limit | empty = no limit |
//! | `max_per_rack` | optional | no limit | empty = no limit |
//! | `duration_us` | optional | unknown | µs; empty = learned from an `end` |
//! | `after` | optional | none | stages of the same job, separated by `;` |
//! | `constraints` | optional | none | a JSON array of `[name, op, value]`, op `eq`, `ne`, `present`, `absent` |
//! | `task_name` | optional | none | the task's name in its trace (Alibaba's `M1`), for `pending.csv` |
//! | `end_kind` | optional | finish | how the run of `duration_us` ends (finish, evict, fail, kill, lost), when known at submission; then no `end` row follows |
//! | `stage_tasks` | optional | unknown | how many tasks the stage has in all (Alibaba's `instance_num`): a DAG stage is done once that many are |
//!
//! Cells a row's event does not use are not read (a `schedule` row's
//! `priority` may be empty). A `usage` row is a [`TraceEvent::Usage`]: the
//! task's usage from then until its next `usage` row.
//!
//! **JSON lines** — one file `*.jsonl`, one record per line:
//! `{"time_us": 0, "event": "machine_add", "machine": {…}}` (and
//! `machine_update`), `{"time_us": 3, "event": "machine_remove", "machine": 7}`,
//! `{"time_us": 5, "event": "submit", "task": {…}}`,
//! `{"time_us": 9, "event": "schedule", "task": {"job":…,"stage":…,"index":…}, "machine": 3}`,
//! `{"time_us": 9, "event": "end", "task": {…}, "kind": "finish"}`,
//! `{"time_us": 9, "event": "usage", "task": {…}, "cpu_milli": 500, "mem_mib": 256}`. Every
//! key shown is required. A machine object has the keys of `machines.csv`
//! from `name` on, with the machine's key as `key` (required, like `name`,
//! `cpu_milli` and `mem_mib`); a submitted task has the keys of `tasks.csv`
//! from `job` on, without `machine` and `kind` (required: `job`,
//! `priority`, `cpu_milli`, `mem_mib`); `after` is a list and
//! `constraints` a list of `[name, op, value]`; a task key has `job`
//! (required), `stage` and `index`. Absent optional keys take the defaults
//! of the tables above. An unknown key, or a missing required one, is an
//! error naming file, line and key (`task.cpu_milli`). Lines must be in
//! time order; a byte-order mark and CRLF line ends are accepted.
//!
//! Both layouts go through the JSON-lines model below (it also parses the
//! CSV cells that hold JSON), so they stay one format. [`write()`] (what
//! `trace convert` runs) and the [`Reader`] are its two directions, each in
//! its own file.

mod read;
#[cfg(test)]
mod tests;
mod write;

pub use self::read::Reader;
pub use self::write::write;

use super::input::table_schema;
use super::{EndKind, TaskKey, TraceConstraint, TraceEvent, TraceMachine, TraceRecord, TraceTask};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

table_schema! {
    /// The columns of `machines.csv`, in the order `trace convert` writes them.
    pub(crate) mod machine_col = "machines" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        MACHINE: "machine" => Required,
        NAME: "name" => Optional(""),
        CPU_MILLI: "cpu_milli" => Required,
        MEM_MIB: "mem_mib" => Required,
        GPUS: "gpus" => Optional("0"),
        RACK: "rack" => Optional(""),
        POWER: "power" => Optional(""),
        ATTRS: "attrs" => Optional(""),
    }
}

table_schema! {
    /// The columns of `tasks.csv`, in the order `trace convert` writes them.
    pub(crate) mod task_col = "tasks" {
        TIME_US: "time_us" => Required,
        EVENT: "event" => Required,
        JOB: "job" => Required,
        STAGE: "stage" => Optional("0"),
        INDEX: "index" => Optional("0"),
        MACHINE: "machine" => Optional(""),
        KIND: "kind" => Optional(""),
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage_tasks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_kind: Option<EndKind>,
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
    Usage {
        time_us: u64,
        task: JKey,
        cpu_milli: u64,
        mem_mib: u64,
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
        task_name: t.task_name.as_ref().map(|n| n.to_string()),
        stage_tasks: t.stage_tasks,
        end_kind: t.end_kind,
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
        constraints: constraints_of(t.constraints),
        max_per_machine: t.max_per_machine,
        max_per_rack: t.max_per_rack,
        duration: t.duration_us.map(SimDuration),
        after: t.after,
        task_name: t.task_name.map(Into::into),
        stage_tasks: t.stage_tasks,
        end_kind: t.end_kind,
    })
}

fn key_of(k: &TaskKey) -> JKey {
    JKey {
        job: k.job,
        stage: k.stage,
        index: k.index,
    }
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
        TraceEvent::Usage { task, usage } => JEvent::Usage {
            time_us,
            task: key_of(task),
            cpu_milli: usage.cpu_milli,
            mem_mib: usage.mem_mib,
        },
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
        JEvent::Usage {
            time_us,
            task,
            cpu_milli,
            mem_mib,
        } => (
            time_us,
            TraceEvent::Usage {
                task: TaskKey {
                    job: task.job,
                    stage: task.stage,
                    index: task.index,
                },
                usage: Resources::new(cpu_milli, mem_mib),
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

/// Constraints as the native format writes them, `[name, op, value]`.
pub(super) fn constraints_of(c: Vec<(String, ConstraintOp, String)>) -> Vec<TraceConstraint> {
    c.into_iter()
        .map(|(n, op, v)| TraceConstraint {
            name: n.into(),
            op,
            value: v.into(),
        })
        .collect()
}
