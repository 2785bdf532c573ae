//! Unit tests of the openb reader: nodes then pods, GPU models as
//! constraints, bad rows, columns by name in any order, the five-column
//! pod lists and the publishers' defaults, headers named when wrong.

use super::*;
use std::path::{Path, PathBuf};

fn fixture() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/openb");
    // Pods first: the reader still reads the node list first.
    vec![dir.join("pods.csv"), dir.join("nodes.csv")]
}

fn read_all(files: &[PathBuf], opts: &ReadOptions) -> Result<(Vec<TraceRecord>, ReadStats)> {
    crate::trace::read_to_end(&mut Reader::open(
        &crate::trace::Source::files(files),
        opts,
    )?)
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
         a,1,1,99,1000,,LS,Running,0,1,0\nb,1,1,0,0,,XX,Running,0,1,0\nc,1,1,0,0,,BE,Running,0,1,0\n\
         d,1,1,0,0,,BE,Sleeping,0,1,0\ne,1,1,0,0,,BE,Running,0,1\n",
    )
    .unwrap();
    let msg = read_all(std::slice::from_ref(&p), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("pods.csv:2: num_gpu: expected at most 64, found 99"),
        "{msg}"
    );
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[p], &lenient).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(stats.skipped["pods.num_gpu"], 1);
    assert_eq!(stats.skipped["pods.qos"], 1);
    assert_eq!(stats.skipped["pods.pod_phase"], 1);
    // A row one field short of its header.
    assert_eq!(stats.skipped["pods.-"], 1);
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

/// The fixture's node and pod lists with their columns in another order
/// (every header correct): `order` gives, for each new column, the old one.
fn reorder(text: &str, order: &[usize]) -> String {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            order.iter().map(|&i| f[i]).collect::<Vec<_>>().join(",") + "\n"
        })
        .collect()
}

#[test]
fn reordered_columns_give_identical_records() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture();
    let pods = std::fs::read_to_string(&fx[0]).unwrap();
    let nodes = std::fs::read_to_string(&fx[1]).unwrap();
    let p = dir.path().join("pods.csv");
    let n = dir.path().join("nodes.csv");
    std::fs::write(&p, reorder(&pods, &[10, 6, 2, 0, 9, 4, 5, 1, 8, 3, 7])).unwrap();
    std::fs::write(&n, reorder(&nodes, &[4, 2, 0, 3, 1])).unwrap();
    let want = read_all(&fx, &ReadOptions::default()).unwrap();
    assert_eq!(read_all(&[p, n], &ReadOptions::default()).unwrap(), want);
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_the_same() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/openb-bom-crlf");
    let files = vec![dir.join("pods.csv"), dir.join("nodes.csv")];
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{f:?} has its mark");
        assert!(bytes.windows(2).any(|w| w == b"\r\n"), "{f:?} has CRLF");
    }
    let want = read_all(&fixture(), &ReadOptions::default()).unwrap();
    assert_eq!(read_all(&files, &ReadOptions::default()).unwrap(), want);
}

#[test]
fn five_column_pod_lists_read_with_the_publishers_defaults() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openb-five-columns");
    let files = vec![dir.join("nodes.csv"), dir.join("pods.csv")];
    let (recs, stats) = read_all(&files, &ReadOptions::default()).unwrap();
    let gpus: u32 = recs
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::MachineAdd(m) => Some(m.capacity.gpus),
            _ => None,
        })
        .sum();
    assert_eq!(gpus, 2 + 8); // node-c has none
    let t = tasks(&recs);
    let got: Vec<(u64, GpuRequest, u64)> = t
        .iter()
        .map(|(time, task)| {
            (
                time.as_us() / 1_000_000,
                task.request.gpu,
                task.request.gpu.milli(),
            )
        })
        .collect();
    // No creation_time: the k-th pod arrives at k s. gpu_milli 1000 of one
    // GPU is a whole device; 500 and 250 are shares.
    assert_eq!(
        got,
        [
            (1, GpuRequest::Whole(1), 1000),
            (2, GpuRequest::Share(500), 500),
            (3, GpuRequest::Whole(8), 8000),
            (4, GpuRequest::None, 0),
            (5, GpuRequest::Share(250), 250),
            (6, GpuRequest::Whole(2), 2000),
        ]
    );
    // 1000 + 500 + 8000 + 250 + 2000 = 11,750 GPU milli.
    assert_eq!(got.iter().map(|g| g.2).sum::<u64>(), 11_750);
    for (_, task) in &t {
        // No qos: Guaranteed (prod); no gpu_spec: any model; no deletion: never leaves.
        assert_eq!(
            (task.priority, qos_name(task.trace_priority)),
            (200, "Guaranteed")
        );
        assert!(task.constraints.is_empty());
        assert_eq!(task.duration, None);
    }
    assert_eq!(t[1].1.request.res, Resources::new(2000, 4096));
    assert!(stats.repaired.is_empty() && stats.skipped.is_empty());
}

#[test]
fn absent_optional_columns_take_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let n = dir.path().join("n.csv");
    std::fs::write(&n, "cpu_milli,sn,memory_mib\n1000,x,2048\n").unwrap();
    let p = dir.path().join("p.csv");
    // No memory_mib, gpu_milli, gpu_spec, qos or phase; times present but
    // no scheduled_time: the run is deletion − creation.
    std::fs::write(
        &p,
        "num_gpu,name,cpu_milli,creation_time,deletion_time\n2,a,500,10,25\n",
    )
    .unwrap();
    let (recs, stats) = read_all(&[p, n], &ReadOptions::default()).unwrap();
    let TraceEvent::MachineAdd(m) = &recs[0].event else {
        panic!()
    };
    assert_eq!((m.capacity.gpus, m.attrs.len()), (0, 0));
    let t = tasks(&recs);
    assert_eq!(t[0].0, SimTime::from_secs(10));
    let task = t[0].1;
    assert_eq!(task.request.res, Resources::new(500, 0));
    assert_eq!(task.request.gpu, GpuRequest::Whole(2));
    assert_eq!(task.duration, Some(SimDuration::from_secs(15)));
    assert_eq!(task.priority, 200);
    assert!(stats.repaired.is_empty());
}

#[test]
fn wrong_headers_name_the_file_and_the_column_when_the_reader_opens() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "name,cpu_milli,memory_mib,num_gpu,gpu_mili\n",
            "bad.csv:1: gpu_mili: unknown column; the pods columns are name, cpu_milli",
        ),
        (
            "name,memory_mib,num_gpu\n",
            "bad.csv:1: cpu_milli: a required column of pods is missing",
        ),
        (
            "name,cpu_milli,num_gpu,cpu_milli\n",
            "bad.csv:1: cpu_milli: named twice (columns 2 and 4)",
        ),
        (
            "name,cpu_milli,num_gpu,deletion_time\n",
            "bad.csv:1: deletion_time: needs creation_time, which this pod list lacks",
        ),
        (
            "sn,cpu_milli,memory_mib,gpus\n",
            "bad.csv:1: gpus: unknown column; the nodes columns are sn, cpu_milli, memory_mib, gpu, model",
        ),
        ("sn,name,cpu_milli\n", "bad.csv:1: header: expected an openb node list"),
    ];
    for (header, want) in cases {
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, header).unwrap();
        // No row is read: the header alone is checked at open.
        let msg = Reader::open(&[p.into()], &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(want), "{header:?}: {msg}");
    }
}

#[test]
fn pod_lists_with_and_without_times_are_not_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "name,cpu_milli,num_gpu,creation_time\nx,1,0,5\n").unwrap();
    let b = dir.path().join("b.csv");
    std::fs::write(&b, "name,cpu_milli,num_gpu\ny,1,0\n").unwrap();
    let msg = Reader::open(&[a.into(), b.into()], &ReadOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("b.csv:1: creation_time: missing here but present in"),
        "{msg}"
    );
}

#[test]
fn gpu_milli_above_a_device_is_capped_nan_is_empty_and_phases_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let n = dir.path().join("nodes.csv");
    std::fs::write(&n, "sn,cpu_milli,memory_mib,gpu,model\na,1000,1024,2,nan\n").unwrap();
    let p = dir.path().join("pods.csv");
    std::fs::write(
        &p,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
         a,1,1,1,1500,nan,ls,Pending,0,5,\nb,1,1,2,1200,,BE,failed,0,5,1\nc,1,1,0,5000,,BE,Unknown,0,5,1\n",
    )
    .unwrap();
    let (recs, stats) = read_all(&[p, n], &ReadOptions::default()).unwrap();
    let TraceEvent::MachineAdd(m) = &recs[0].event else {
        panic!()
    };
    assert!(m.attrs.is_empty(), "model nan is no model");
    let t = tasks(&recs);
    // 1500 → 1000 of one GPU: a whole device; 2 × 1200 → 2 whole devices;
    // a CPU pod's gpu_milli is not a GPU request, so nothing is capped.
    assert_eq!(t[0].1.request.gpu, GpuRequest::Whole(1));
    assert!(t[0].1.constraints.is_empty(), "gpu_spec nan is any model");
    assert_eq!(t[0].1.priority, 120, "qos in any case");
    assert_eq!(t[1].1.request.gpu, GpuRequest::Whole(2));
    assert_eq!(t[2].1.request.gpu, GpuRequest::None);
    let r = |k: &str| stats.repaired.get(k).copied();
    assert_eq!(r("pods.gpu_milli_above_1000"), Some(2));
    assert_eq!(
        (
            r("pods.phase_pending"),
            r("pods.phase_failed"),
            r("pods.phase_unknown")
        ),
        (Some(1), Some(1), Some(1))
    );
}

/// The paper's rule: a GPU pod has num ≥ 1 and milli > 0. `num_gpu = 1,
/// gpu_milli = 0` (and 2, 0) is a CPU pod, counted as repaired; `num_gpu
/// = 2, gpu_milli = 500` cannot be expressed (a share is of one device):
/// a row error on gpu_milli, skipped and counted under --lenient.
#[test]
fn zero_milli_is_a_cpu_pod_and_shares_of_several_gpus_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pods.csv");
    let head = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n";
    std::fs::write(
        &p,
        format!("{head}a,1000,1,1,0\nb,1000,1,2,0\nc,1000,1,1,500\n"),
    )
    .unwrap();
    let (recs, stats) = read_all(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
    let gpus: Vec<GpuRequest> = tasks(&recs).iter().map(|t| t.1.request.gpu).collect();
    assert_eq!(
        gpus,
        [GpuRequest::None, GpuRequest::None, GpuRequest::Share(500)]
    );
    assert_eq!(stats.repaired.get("pods.gpu_milli_zero_cpu_pod"), Some(&2));
    let q = dir.path().join("multi.csv");
    std::fs::write(&q, format!("{head}a,1000,1,2,500\nb,1000,1,2,1000\n")).unwrap();
    let msg = read_all(std::slice::from_ref(&q), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("multi.csv:2: gpu_milli: expected 1000 with num_gpu = 2"),
        "{msg}"
    );
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[q], &lenient).unwrap();
    assert_eq!(tasks(&recs)[0].1.request.gpu, GpuRequest::Whole(2));
    assert_eq!(stats.skipped["pods.gpu_milli"], 1);
}
