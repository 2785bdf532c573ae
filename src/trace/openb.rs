//! Alibaba cluster-trace-gpu-v2023 ("openb"): node lists and pod lists,
//! CSV with a header, already in integer units (milli-cores, MiB, GPU milli).
//!
//! # Files
//! Columns are found by their header name, in any order (a file whose
//! columns are reordered reads the same). A file is a node list if its
//! header names `sn`, a pod list if it names `name`; anything else is an
//! error. Node lists are read first, whatever the argument order: pod
//! constraints refer to the models they name. Every header is checked when
//! the reader opens: an unknown column, a column named twice or a missing
//! required one is an [`Error::Row`] naming the file and the column. A
//! UTF-8 byte-order mark and CRLF line ends are accepted.
//!
//! The publisher ships two shapes of pod list: the full eleven columns
//! (`default`, `cpuNNN`, `gpushareNN`, `gpuspecNN`), and the five columns
//! `name, cpu_milli, memory_mib, num_gpu, gpu_milli` of the *multigpu*
//! family, made for the paper's one-by-one protocol, which uses no times,
//! qos or phase. Both read; an absent column takes the default below.
//!
//! # Node list (`openb_node_list_*.csv`)
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `sn` | required | | node name (names repeat across lists: nodes are keyed by row) |
//! | `cpu_milli` | required | | milli-cores |
//! | `memory_mib` | required | | MiB |
//! | `gpu` | optional | 0 | whole GPUs, at most 64 |
//! | `model` | optional | none | GPU model → attribute `gpu_model`; empty or `nan` = none |
//!
//! # Pod list (`openb_pod_list_*.csv`)
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `name` | required | | the job name |
//! | `cpu_milli` | required | | milli-cores |
//! | `memory_mib` | optional | 0 | MiB |
//! | `num_gpu` | required | | GPUs asked for, 0–64 |
//! | `gpu_milli` | optional | 1000 | milli of each GPU; above 1000 → 1000 (repaired `pods.gpu_milli_above_1000`); 0 → a CPU pod; below 1000 only with `num_gpu` 1 (see Rules) |
//! | `gpu_spec` | optional | any model | allowed models, `\|`-separated; empty or `nan` = any |
//! | `qos` | optional | Guaranteed | BE, Burstable, LS, Guaranteed (any case) |
//! | `pod_phase` | optional | Running | Pending, Running, Succeeded, Failed, Unknown (counted, see below) |
//! | `creation_time` | optional | the pod's place in the list | s → µs |
//! | `deletion_time` | optional | never deleted | s → µs; needs `creation_time` |
//! | `scheduled_time` | optional | `creation_time` | s → µs; empty = never scheduled; needs `creation_time` |
//!
//! The defaults are the publisher's: its converter from these lists to the
//! simulator's pod descriptions (`pod_csv_to_yaml.py` in the trace's
//! repository) asks for 1000 milli per GPU when `gpu_milli` is absent, caps
//! it at 1000, asks for no memory when `memory_mib` is absent, reads an
//! empty `gpu_spec` as any model, and gives every pod limits equal to its
//! requests, which Kubernetes classes as Guaranteed; it reads the lists
//! with pandas, which takes `nan` for empty. Times, qos and phase are not
//! used by that converter nor by the paper's protocol.
//!
//! # Rules
//! - **Machines**: every node is added at time 0, keyed by its row; its GPU
//!   model (if any) becomes the attribute `gpu_model`.
//! - **GPU requests** (a pod asks for GPUs only with `num_gpu` ≥ 1 and
//!   `gpu_milli` > 0, as the paper's filter has it): `num_gpu` 0 → none;
//!   `gpu_milli` 0 with `num_gpu` ≥ 1 → none, a CPU pod (repaired
//!   `pods.gpu_milli_zero_cpu_pod`); 1 with `gpu_milli` < 1000 → a share of
//!   one device; `num_gpu` > 1 with `gpu_milli` 1000 (or above, capped) →
//!   that many whole devices. `num_gpu` > 1 with `gpu_milli` below 1000
//!   (several devices each partly used, which the publisher's simulator
//!   supports and borgsim's GPU requests cannot express) is a row error on
//!   `gpu_milli` (skipped and counted as `pods.gpu_milli` under
//!   `--lenient`); none of the shipped lists has such a row.
//! - **`gpu_spec`** becomes a constraint on `gpu_model`: one model → equal
//!   to it; several → the model is present and is none of the other models
//!   of the node lists (the cell's constraints have no set membership, and
//!   this is the same set).
//! - **Priority** from `qos` (the trace has no priority): Guaranteed → 200
//!   and LS (latency sensitive) → 120, both production (prod, never
//!   preempted by batch); Burstable → 100 (batch); BE → 0 (best effort).
//!   [`TraceTask::trace_priority`] holds the qos as 0 BE, 1 Burstable, 2 LS,
//!   3 Guaranteed ([`qos_name`]).
//! - **Times** are seconds → µs. A pod arrives at `creation_time` and runs
//!   `deletion_time − scheduled_time` (or `− creation_time` if it was never
//!   scheduled). A deletion before the start gives a run of 0 (repaired
//!   `pods.deletion_before_start`); a creation time before the previous
//!   row's is held at that time (repaired `pods.time_went_back`). A list
//!   without `creation_time` is the one-by-one protocol's: the k-th pod row
//!   (1-based, over the pod lists in order) arrives at k s, and without
//!   `deletion_time` a pod never leaves. Pod lists read together must all
//!   have `creation_time` or all lack it (the two clocks cannot be mixed).
//! - **Phase**: the trace's phase at collection. A Pending pod never ran in
//!   the traced cluster and a Failed one ended in failure; both are
//!   submitted like the others, asking for their resources from creation
//!   to deletion (the replay's scheduler decides for itself where and
//!   whether they run), and counted as repaired `pods.phase_pending`,
//!   `pods.phase_failed` and `pods.phase_unknown`.

#[cfg(test)]
mod tests;

use super::input::{table_schema, Columns, CsvLayout, CsvRows, Fields};
use super::{
    lenient, Monotone, ReadOptions, ReadStats, Select, Source, TaskKey, TraceConstraint,
    TraceEvent, TraceMachine, TraceReader, TraceRecord, TraceTask,
};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{
    Capacity, GpuRequest, Request, Resources, GPU_MILLI_PER_DEVICE, MAX_GPUS_PER_MACHINE,
};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime};
use std::path::Path;
use std::sync::Arc;

table_schema! {
    /// A node list's columns.
    pub mod node = "nodes" {
        SN: "sn" => Required,
        CPU_MILLI: "cpu_milli" => Required,
        MEMORY_MIB: "memory_mib" => Required,
        GPU: "gpu" => Optional("0"),
        MODEL: "model" => Optional(""),
    }
}

table_schema! {
    /// A pod list's columns.
    pub mod pod = "pods" {
        NAME: "name" => Required,
        CPU_MILLI: "cpu_milli" => Required,
        MEMORY_MIB: "memory_mib" => Optional("0"),
        NUM_GPU: "num_gpu" => Required,
        GPU_MILLI: "gpu_milli" => Optional("1000"),
        GPU_SPEC: "gpu_spec" => Optional(""),
        QOS: "qos" => Optional("Guaranteed"),
        POD_PHASE: "pod_phase" => Optional("Running"),
        CREATION_TIME: "creation_time" => Optional(""),
        DELETION_TIME: "deletion_time" => Optional(""),
        SCHEDULED_TIME: "scheduled_time" => Optional(""),
    }
}

/// qos codes in [`TraceTask::trace_priority`], low to high.
pub const QOS: [&str; 4] = ["BE", "Burstable", "LS", "Guaranteed"];

/// The name of a qos code.
pub fn qos_name(code: i64) -> &'static str {
    QOS.get(code as usize).copied().unwrap_or("?")
}

/// borgsim priority of each qos code.
const QOS_PRIORITY: [u32; 4] = [0, 100, 120, 200];

/// Kubernetes' pod phases; the ones after Running and Succeeded are counted.
const PHASES: [&str; 5] = ["Running", "Succeeded", "Pending", "Failed", "Unknown"];

pub struct Reader {
    nodes: Option<CsvRows>,
    pods: Option<CsvRows>,
    node_key: u64,
    pod_key: u64,
    models: Vec<Arc<str>>,
    lenient: bool,
    stats: ReadStats,
    time: Monotone,
    empty: Arc<str>,
}

/// Which list a file is, from its header.
fn kind_of(file: &Source) -> Result<Option<(&'static super::input::Schema, Columns)>> {
    let path = file.path();
    let mut rows = CsvRows::new(vec![file.clone()], CsvLayout::WITH_HEADER);
    if !rows.open_header()? {
        return Ok(None); // an empty file: no rows
    }
    let Some(header) = rows.header() else {
        return Ok(None);
    };
    let names = |n: &[u8]| header.iter().any(|h| h.trim_ascii() == n);
    let schema = match (names(b"sn"), names(b"name")) {
        (true, false) => &node::SCHEMA,
        (false, true) => &pod::SCHEMA,
        _ => {
            return Err(Error::Row {
                path: path.to_path_buf(),
                line: 1,
                column: "header".into(),
                message:
                    "expected an openb node list (a column `sn`) or pod list (a column `name`)"
                        .into(),
            })
        }
    };
    Ok(Some((
        schema,
        Columns::from_header(schema, path, 1, header)?,
    )))
}

impl Reader {
    pub fn open(files: &[Source], opts: &ReadOptions) -> Result<Reader> {
        let mut nodes = Vec::new();
        let mut pods = Vec::new();
        // A pod list with creation_time and one without, if any.
        let mut timed: [Option<&Path>; 2] = [None, None];
        for f in files {
            let Some((schema, cols)) = kind_of(f)? else {
                continue;
            };
            if std::ptr::eq(schema, &node::SCHEMA) {
                nodes.push(f.clone());
                continue;
            }
            let has_creation = cols.has(pod::CREATION_TIME);
            for c in [pod::DELETION_TIME, pod::SCHEDULED_TIME] {
                if cols.has(c) && !has_creation {
                    return Err(header_error(
                        f.path(),
                        pod::SCHEMA.columns[c].name,
                        "needs creation_time, which this pod list lacks".into(),
                    ));
                }
            }
            timed[usize::from(has_creation)].get_or_insert(f.path());
            if let [Some(without), Some(with)] = timed {
                return Err(header_error(
                    without,
                    "creation_time",
                    format!(
                        "missing here but present in {}: pod lists read together must all have times or none",
                        with.display()
                    ),
                ));
            }
            pods.push(f.clone());
        }
        let pods = (opts.select != Select::MachinesOnly && !pods.is_empty())
            .then(|| CsvRows::with_schema(pods, CsvLayout::WITH_HEADER, &pod::SCHEMA));
        Ok(Reader {
            nodes: (!nodes.is_empty())
                .then(|| CsvRows::with_schema(nodes, CsvLayout::WITH_HEADER, &node::SCHEMA)),
            pods,
            node_key: 0,
            pod_key: 0,
            models: Vec::new(),
            lenient: opts.lenient,
            stats: ReadStats::default(),
            time: Monotone::default(),
            empty: Arc::from(""),
        })
    }

    fn node(&mut self, f: Fields) -> Result<TraceMachine> {
        f.check_width()?;
        let gpus = f.uint(node::GPU)?;
        if gpus > MAX_GPUS_PER_MACHINE as u64 {
            return Err(f.error(
                node::GPU,
                format!("at most {MAX_GPUS_PER_MACHINE} GPUs per machine, found {gpus}"),
            ));
        }
        let model = none_if_nan(f.str(node::MODEL)?);
        let mut attrs = Vec::new();
        if !model.is_empty() {
            let model: Arc<str> = model.into();
            if !self.models.contains(&model) {
                self.models.push(model.clone());
            }
            attrs.push((Arc::from("gpu_model"), model));
        }
        Ok(TraceMachine {
            key: self.node_key,
            name: f.str(node::SN)?.into(),
            capacity: Capacity {
                res: Resources::new(f.uint(node::CPU_MILLI)?, f.uint(node::MEMORY_MIB)?),
                gpus: gpus as u32,
            },
            attrs,
            rack: None,
            power: None,
        })
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one pod row, column by column, with the publisher's rule for each (GPU shares, GPU models, qos, times)"
    )]
    fn pod(&mut self, f: Fields) -> Result<(SimTime, TraceTask)> {
        f.check_width()?;
        let num_gpu = f.uint(pod::NUM_GPU)?;
        let mut gpu_milli = f.uint(pod::GPU_MILLI)?;
        let capped = num_gpu > 0 && gpu_milli > u64::from(GPU_MILLI_PER_DEVICE);
        if capped {
            gpu_milli = u64::from(GPU_MILLI_PER_DEVICE);
        }
        let whole = u64::from(GPU_MILLI_PER_DEVICE);
        let gpu = match (num_gpu, gpu_milli) {
            (0, _) | (_, 0) => GpuRequest::None,
            (n, _) if n > MAX_GPUS_PER_MACHINE as u64 => {
                return Err(f.error(
                    pod::NUM_GPU,
                    format!("expected at most {MAX_GPUS_PER_MACHINE}, found {n}"),
                ))
            }
            (1, m) if m < whole => GpuRequest::Share(m as u32),
            (n, m) if m == whole => GpuRequest::Whole(n as u32),
            (n, m) => {
                return Err(f.error(
                    pod::GPU_MILLI,
                    format!(
                        "expected {whole} with num_gpu = {n} (a pod of several GPUs takes whole \
                         devices; only a 1-GPU pod may ask for a share), found {m}"
                    ),
                ))
            }
        };
        // num_gpu ≥ 1 asking for 0 milli: no GPU request (the paper's
        // filter counts a GPU pod only with milli > 0).
        let no_milli = num_gpu > 0 && gpu_milli == 0;
        let qos = f.str(pod::QOS)?;
        let Some(code) = QOS.iter().position(|q| q.eq_ignore_ascii_case(qos)) else {
            return Err(f.error(
                pod::QOS,
                format!("expected one of BE, Burstable, LS, Guaranteed, found {qos:?}"),
            ));
        };
        let phase = f.str(pod::POD_PHASE)?;
        let Some(phase) = PHASES.iter().position(|p| p.eq_ignore_ascii_case(phase)) else {
            return Err(f.error(
                pod::POD_PHASE,
                format!("expected one of {}, found {phase:?}", PHASES.join(", ")),
            ));
        };
        // The k-th pod row (1-based) when the list has no times.
        let ordinal = self.pod_key + 1;
        let (created, run) = if f.has(pod::CREATION_TIME) {
            let created = f.uint(pod::CREATION_TIME)?;
            let started = f
                .opt_int(pod::SCHEDULED_TIME)?
                .map_or(created, |s| s.max(0) as u64);
            let run = if f.has(pod::DELETION_TIME) {
                let deleted = f.uint(pod::DELETION_TIME)?;
                if deleted < started {
                    self.stats.repair("pods.deletion_before_start");
                }
                Some(SimDuration::from_secs(deleted.saturating_sub(started)))
            } else {
                None
            };
            (created, run)
        } else {
            (ordinal, None)
        };
        let constraints = self.spec_constraints(none_if_nan(f.str(pod::GPU_SPEC)?));
        let task = TraceTask {
            key: TaskKey {
                job: self.pod_key,
                stage: 0,
                index: 0,
            },
            job_name: f.str(pod::NAME)?.into(),
            user: self.empty.clone(),
            priority: QOS_PRIORITY[code],
            trace_priority: code as i64,
            request: Request {
                res: Resources::new(f.uint(pod::CPU_MILLI)?, f.uint(pod::MEMORY_MIB)?),
                gpu,
            },
            constraints,
            max_per_machine: None,
            max_per_rack: None,
            duration: run,
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        };
        // Counted only for rows that pass.
        if capped {
            self.stats.repair("pods.gpu_milli_above_1000");
        }
        if no_milli {
            self.stats.repair("pods.gpu_milli_zero_cpu_pod");
        }
        match PHASES[phase] {
            "Pending" => self.stats.repair("pods.phase_pending"),
            "Failed" => self.stats.repair("pods.phase_failed"),
            "Unknown" => self.stats.repair("pods.phase_unknown"),
            _ => {}
        }
        Ok((SimTime::from_secs(created), task))
    }

    /// `gpu_spec` as constraints on `gpu_model` (see the module doc).
    fn spec_constraints(&self, spec: &str) -> Vec<TraceConstraint> {
        let allowed: Vec<&str> = spec
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let name: Arc<str> = Arc::from("gpu_model");
        match allowed.as_slice() {
            [] => Vec::new(),
            [one] => vec![TraceConstraint {
                name,
                op: ConstraintOp::Eq,
                value: Arc::from(*one),
            }],
            many => {
                let mut c = vec![TraceConstraint {
                    name: name.clone(),
                    op: ConstraintOp::Present,
                    value: self.empty.clone(),
                }];
                for m in &self.models {
                    if !many.contains(&&**m) {
                        c.push(TraceConstraint {
                            name: name.clone(),
                            op: ConstraintOp::Ne,
                            value: m.clone(),
                        });
                    }
                }
                c
            }
        }
    }
}

/// `nan` (pandas' text for an empty cell) read as empty.
fn none_if_nan(s: &str) -> &str {
    if s.eq_ignore_ascii_case("nan") {
        ""
    } else {
        s
    }
}

fn header_error(path: &Path, column: &str, message: String) -> Error {
    Error::Row {
        path: path.to_path_buf(),
        line: 1,
        column: column.to_string(),
        message,
    }
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        // Each table is taken out while a row is parsed (the row borrows it)
        // and put back when a record is returned.
        if let Some(mut rows) = self.nodes.take() {
            while rows.advance()? {
                self.stats.rows += 1;
                let parsed = self.node(rows.fields());
                self.node_key += 1;
                if let Some(m) = lenient(parsed, self.lenient, &mut self.stats, "nodes")? {
                    self.nodes = Some(rows);
                    let event = TraceEvent::MachineAdd(m);
                    return Ok(Some(TraceRecord {
                        time: SimTime::ZERO,
                        event,
                    }));
                }
            }
        }
        if let Some(mut rows) = self.pods.take() {
            while rows.advance()? {
                self.stats.rows += 1;
                let parsed = self.pod(rows.fields());
                self.pod_key += 1;
                if let Some((t, task)) = lenient(parsed, self.lenient, &mut self.stats, "pods")? {
                    self.pods = Some(rows);
                    let time = self.time.fix(t, &mut self.stats, "pods");
                    let event = TraceEvent::Submit(Box::new(task));
                    return Ok(Some(TraceRecord { time, event }));
                }
            }
        }
        Ok(None)
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}
