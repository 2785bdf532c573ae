//! Alibaba cluster-trace-gpu-v2023 ("openb"): a node list and a pod list,
//! CSV with headers, already in integer units (milli-cores, MiB, GPU milli).
//!
//! Files are told apart by their header's first column: `sn` for a node list
//! (`sn, cpu_milli, memory_mib, gpu, model`), `name` for a pod list (`name,
//! cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
//! creation_time, deletion_time, scheduled_time`). Node lists are read
//! first, whatever the argument order: pod constraints refer to the models
//! they name.
//!
//! - **Machines**: every node is added at time 0, keyed by its row (node
//!   names repeat across the published lists); its GPU model (if any)
//!   becomes the attribute `gpu_model`.
//! - **GPU requests**: `num_gpu` 0 → none; 1 with `gpu_milli` < 1000 → a
//!   share of one device; otherwise `num_gpu` whole devices. `gpu_milli`
//!   above 1000 is an error.
//! - **`gpu_spec`** (allowed models, `|`-separated; empty = any) becomes a
//!   constraint on `gpu_model`: one model → equal to it; several → the model
//!   is present and is none of the other models of the node lists (the cell's
//!   constraints have no set membership, and this is the same set).
//! - **Priority** from `qos` (the trace has no priority): Guaranteed → 200
//!   and LS (latency sensitive) → 120, both production (prod, never
//!   preempted by batch); Burstable → 100 (batch); BE → 0 (best effort).
//!   [`TraceTask::trace_priority`] holds the qos as 0 BE, 1 Burstable, 2 LS,
//!   3 Guaranteed ([`qos_name`]).
//! - **Times** are seconds → µs. A pod arrives at `creation_time` and runs
//!   `deletion_time − scheduled_time` (or `− creation_time` if it was never
//!   scheduled; pending and failed pods still ask for their resources). A
//!   deletion before the start gives a run of 0 (repaired `pods.deletion_before_start`);
//!   a creation time before the previous row's is held at that time
//!   (repaired `pods.time_went_back`).

use super::input::{CsvLayout, CsvRows, Row};
use super::{
    lenient, Monotone, ReadOptions, ReadStats, Select, TaskKey, TraceConstraint, TraceEvent,
    TraceMachine, TraceReader, TraceRecord, TraceTask,
};
use crate::cell::attrs::ConstraintOp;
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources, GPU_MILLI_PER_DEVICE};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime};
use std::path::PathBuf;
use std::sync::Arc;

/// qos codes in [`TraceTask::trace_priority`], low to high.
pub const QOS: [&str; 4] = ["BE", "Burstable", "LS", "Guaranteed"];

/// The name of a qos code.
pub fn qos_name(code: i64) -> &'static str {
    QOS.get(code as usize).copied().unwrap_or("?")
}

/// borgsim priority of each qos code.
const QOS_PRIORITY: [u32; 4] = [0, 100, 120, 200];

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

impl Reader {
    pub fn open(files: &[PathBuf], opts: &ReadOptions) -> Result<Reader> {
        let mut nodes = Vec::new();
        let mut pods = Vec::new();
        for f in files {
            let mut rows = CsvRows::new(vec![f.clone()], CsvLayout::WITH_HEADER);
            rows.advance()?;
            let first = rows.header().and_then(|h| h.get(0)).unwrap_or(b"");
            match first.trim_ascii() {
                b"sn" => nodes.push(f.clone()),
                b"name" => pods.push(f.clone()),
                _ => {
                    return Err(Error::Row {
                        path: f.clone(),
                        line: 1,
                        column: "header".into(),
                        message: "expected an openb node list (first column `sn`) or pod list (first column `name`)".into(),
                    })
                }
            }
        }
        let pods = (opts.select == Select::All && !pods.is_empty())
            .then(|| CsvRows::new(pods, CsvLayout::WITH_HEADER));
        Ok(Reader {
            nodes: (!nodes.is_empty()).then(|| CsvRows::new(nodes, CsvLayout::WITH_HEADER)),
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

    fn node(&mut self, row: Row) -> Result<TraceMachine> {
        row.expect_fields(5, "sn, cpu_milli, memory_mib, gpu, model")?;
        let gpus = row.uint(3, "gpu")?;
        if gpus > crate::cell::resources::MAX_GPUS_PER_MACHINE as u64 {
            return Err(row.error(
                "gpu",
                format!(
                    "at most {} GPUs per machine, found {gpus}",
                    crate::cell::resources::MAX_GPUS_PER_MACHINE
                ),
            ));
        }
        let model = row.str(4, "model")?;
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
            name: row.str(0, "sn")?.into(),
            capacity: Capacity {
                res: Resources::new(row.uint(1, "cpu_milli")?, row.uint(2, "memory_mib")?),
                gpus: gpus as u32,
            },
            attrs,
            rack: None,
            power: None,
        })
    }

    fn pod(&mut self, row: Row) -> Result<(SimTime, TraceTask)> {
        row.expect_fields(11, "the 11 openb pod columns")?;
        let num_gpu = row.uint(3, "num_gpu")?;
        let gpu_milli = row.uint(4, "gpu_milli")?;
        let gpu = match (num_gpu, gpu_milli) {
            (0, _) => GpuRequest::None,
            (_, m) if m > u64::from(GPU_MILLI_PER_DEVICE) => {
                return Err(row.error("gpu_milli", format!("expected at most 1000, found {m}")))
            }
            (1, m) if m > 0 && m < u64::from(GPU_MILLI_PER_DEVICE) => GpuRequest::Share(m as u32),
            (n, _) if n <= crate::cell::resources::MAX_GPUS_PER_MACHINE as u64 => {
                GpuRequest::Whole(n as u32)
            }
            (n, _) => return Err(row.error("num_gpu", format!("expected at most 64, found {n}"))),
        };
        let qos = row.str(6, "qos")?;
        let Some(code) = QOS.iter().position(|q| q.eq_ignore_ascii_case(qos)) else {
            return Err(row.error(
                "qos",
                format!("expected one of BE, Burstable, LS, Guaranteed, found {qos:?}"),
            ));
        };
        let created = row.uint(8, "creation_time")?;
        let deleted = row.uint(9, "deletion_time")?;
        let started = row
            .opt_int(10, "scheduled_time")?
            .map_or(created, |s| s.max(0) as u64);
        if deleted < started {
            self.stats.repair("pods.deletion_before_start");
        }
        let run = SimDuration::from_secs(deleted.saturating_sub(started));
        let constraints = self.spec_constraints(row.str(5, "gpu_spec")?);
        let time = SimTime::from_secs(created);
        let key = TaskKey {
            job: self.pod_key,
            stage: 0,
            index: 0,
        };
        Ok((
            time,
            TraceTask {
                key,
                job_name: row.str(0, "name")?.into(),
                user: self.empty.clone(),
                priority: QOS_PRIORITY[code],
                trace_priority: code as i64,
                request: Request {
                    res: Resources::new(row.uint(1, "cpu_milli")?, row.uint(2, "memory_mib")?),
                    gpu,
                },
                constraints,
                max_per_machine: None,
                max_per_rack: None,
                duration: Some(run),
                after: Vec::new(),
                task_name: None,
            },
        ))
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

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        // Each table is taken out while a row is parsed (the row borrows it)
        // and put back when a record is returned.
        if let Some(mut rows) = self.nodes.take() {
            while rows.advance()? {
                self.stats.rows += 1;
                let parsed = self.node(rows.row());
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
                let parsed = self.pod(rows.row());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/openb");
        // Pods first: the reader still reads the node list first.
        vec![dir.join("pods.csv"), dir.join("nodes.csv")]
    }

    fn read_all(files: &[PathBuf], opts: &ReadOptions) -> Result<(Vec<TraceRecord>, ReadStats)> {
        crate::trace::read_to_end(&mut Reader::open(files, opts)?)
    }

    fn tasks(recs: &[TraceRecord]) -> Vec<(SimTime, &TraceTask)> {
        recs.iter()
            .filter_map(|r| Some((r.time, r.event.submitted()?)))
            .collect()
    }

    #[test]
    fn nodes_come_first_then_pods_with_their_requests() {
        let (recs, stats) = read_all(&fixture(), &ReadOptions::default()).unwrap();
        assert_eq!(stats.rows, 8);
        let TraceEvent::MachineAdd(a) = &recs[0].event else {
            panic!()
        };
        assert_eq!((a.capacity.gpus, &*a.attrs[0].1), (2, "V100M16"));
        let TraceEvent::MachineAdd(c) = &recs[2].event else {
            panic!()
        };
        assert!(c.attrs.is_empty(), "a CPU-only node has no gpu_model");
        let t = tasks(&recs);
        assert_eq!(t.len(), 4);
        // pod-0: one device, 460 milli → a share; LS → priority 120.
        assert_eq!(t[0].1.request.gpu, GpuRequest::Share(460));
        assert_eq!(
            (t[0].1.priority, qos_name(t[0].1.trace_priority)),
            (120, "LS")
        );
        // pod-1: 1000 milli of one device → a whole device; BE → 0; runs 70 − 20 = 50 s.
        assert_eq!(t[1].1.request.gpu, GpuRequest::Whole(1));
        assert_eq!(t[1].1.priority, 0);
        assert_eq!(t[1].1.duration, Some(SimDuration::from_secs(50)));
        assert_eq!(t[1].0, SimTime::from_secs(10));
        // pod-2: 8 whole devices of T4 or P100; Burstable → 100; never
        // scheduled, so runs deletion − creation = 10 s.
        assert_eq!(
            (t[2].1.request.gpu, t[2].1.priority),
            (GpuRequest::Whole(8), 100)
        );
        assert_eq!(t[2].1.duration, Some(SimDuration::from_secs(10)));
        // Guaranteed → 200; deleted before created: runs 0, repaired.
        assert_eq!(
            (t[3].1.priority, t[3].1.duration),
            (200, Some(SimDuration::ZERO))
        );
        assert_eq!(stats.repaired["pods.deletion_before_start"], 1);
    }

    #[test]
    fn gpu_spec_becomes_model_constraints() {
        use crate::cell::attrs::{AttrTable, Attributes, Constraint, UNKNOWN_ATTR};
        let (recs, _) = read_all(&fixture(), &ReadOptions::default()).unwrap();
        let t = tasks(&recs);
        // Judge each pod's constraints against each node's model.
        let mut table = AttrTable::default();
        let name = table.name_id("gpu_model");
        let models = ["V100M16", "T4", "", "P100"];
        let nodes: Vec<Attributes> = models
            .iter()
            .map(|m| {
                if m.is_empty() {
                    Attributes::new(vec![])
                } else {
                    Attributes::new(vec![(name, table.value_id(m))])
                }
            })
            .collect();
        let admits = |task: &TraceTask| -> Vec<bool> {
            nodes
                .iter()
                .map(|a| {
                    task.constraints.iter().all(|c| {
                        Constraint {
                            name: table.find_name(&c.name).unwrap_or(UNKNOWN_ATTR),
                            op: c.op,
                            value: table.find_value(&c.value).unwrap_or(UNKNOWN_ATTR),
                        }
                        .admits(a)
                    })
                })
                .collect()
        };
        assert_eq!(admits(t[0].1), vec![true; 4], "no spec: any node");
        assert_eq!(
            admits(t[1].1),
            vec![true, false, false, false],
            "V100M16 only"
        );
        assert_eq!(admits(t[2].1), vec![false, true, false, true], "T4 or P100");
    }

    #[test]
    fn bad_rows_are_errors_or_counted_skips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pods.csv");
        std::fs::write(
            &p,
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
             a,1,1,1,1500,,LS,Running,0,1,0\nb,1,1,0,0,,XX,Running,0,1,0\nc,1,1,0,0,,BE,Running,0,1,0\n",
        )
        .unwrap();
        let msg = read_all(std::slice::from_ref(&p), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.ends_with("pods.csv:2: gpu_milli: expected at most 1000, found 1500"),
            "{msg}"
        );
        let lenient = ReadOptions {
            lenient: true,
            ..ReadOptions::default()
        };
        let (recs, stats) = read_all(&[p], &lenient).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(stats.skipped["pods.gpu_milli"], 1);
        assert_eq!(stats.skipped["pods.qos"], 1);
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "x,y\n1,2\n").unwrap();
        let msg = read_all(&[other], &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("other.csv:1: header: expected an openb node list"),
            "{msg}"
        );
    }
}
