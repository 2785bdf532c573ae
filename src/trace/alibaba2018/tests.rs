//! Unit tests of the Alibaba 2018 reader: the merged stream of its four
//! tables, priorities to bands, the real machine_meta excerpt, machines
//! leaving and returning, and memory against the reference machine.

use super::*;
use crate::cell::resources::Resources;
use crate::time::SimDuration;
use crate::trace::{EndKind, TaskKey};
use crate::workload::Band;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod lifecycle;
mod usage;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> Vec<PathBuf> {
    ["batch_task.csv", "container_meta.csv", "machine_meta.csv"]
        .iter()
        .map(|n| root().join("tests/fixtures/traces/alibaba2018").join(n))
        .collect()
}

fn read_all(files: &[PathBuf], opts: &ReadOptions) -> Result<(Vec<TraceRecord>, ReadStats)> {
    crate::trace::read_to_end(&mut Reader::open(
        &crate::trace::Source::files(files),
        opts,
    )?)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn job(key: &TaskKey) -> String {
    if key.job & CONTAINER_JOB_BIT != 0 {
        format!("app{}", key.job & !CONTAINER_JOB_BIT)
    } else {
        format!("j{}", key.job)
    }
}

fn stage(s: u32) -> String {
    if s >= names::INDEPENDENT_STAGE_BIT {
        "H".into()
    } else {
        s.to_string()
    }
}

/// A short, comparable description of a record (time in seconds).
fn show(r: &TraceRecord) -> String {
    let t = r.time.as_us() / 1_000_000;
    match &r.event {
        TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => format!(
            "{t} {} {} {}/{} rack={} power={}",
            if matches!(r.event, TraceEvent::MachineAdd(_)) {
                "add"
            } else {
                "update"
            },
            m.name,
            m.capacity.res.cpu_milli,
            m.capacity.res.mem_mib,
            m.rack.as_deref().unwrap_or("-"),
            m.power.as_deref().unwrap_or("-"),
        ),
        TraceEvent::MachineRemove { machine } => format!("{t} remove m{machine}"),
        TraceEvent::Submit(task) => format!(
            "{t} submit {}/{}/{} p{} {}/{} {:?}{} after {:?}",
            job(&task.key),
            stage(task.key.stage),
            task.key.index,
            task.priority,
            task.request.res.cpu_milli,
            task.request.res.mem_mib,
            task.duration.map(|d| d.as_us() / 1_000_000),
            task.end_kind
                .map_or(String::new(), |k| format!(" then {k:?}")),
            task.after,
        ),
        TraceEvent::Schedule { task, machine } => {
            format!("{t} schedule {}/{} on m{machine}", job(task), task.index)
        }
        TraceEvent::End { task, kind } => format!("{t} {kind:?} {}/{}", job(task), task.index),
        TraceEvent::Usage { task, usage } => format!(
            "{t} usage {}/{}/{} {}/{}",
            job(task),
            stage(task.stage),
            task.index,
            usage.cpu_milli,
            usage.mem_mib
        ),
    }
}

#[test]
fn the_fixture_reads_as_a_merged_time_ordered_stream() {
    let (recs, stats) = read_all(&fixture(), &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    // Against 96 cores and 256 GiB (262,144 MiB):
    //   machines: 96 cores = 96000 m; memory 100 → 100 × 262144 / 100 = 262144 MiB.
    //   c_1, c_2: cpu_request 400 → 4000 m; mem 3.13 → 3.13 × 2621.44 = 8205.1072 → 8205.
    //   c_3: 800 → 8000 m; 6.25 × 2621.44 = 16384 MiB exactly.
    //   plan_cpu 50 → 500 m, 100 → 1000 m; plan_mem 0.39 → 1022.3616 → 1022,
    //   0.59 → 1546.6496 → 1547, 0.5 → 1310.72 → 1311, 0.2 → 524.288 → 524.
    // machine_meta is grouped by machine in the file and sorted by time here;
    // j_3's start at 90 s comes after 300 s in the file and is held there.
    let want = [
        "0 add m_1 96000/262144 rack=219 power=17",
        "0 add m_1263 96000/262144 rack=15 power=15",
        "0 submit app5/0/1 p120 4000/8205 None after []",
        "0 schedule app5/1 on m1",
        "0 submit app5/0/2 p120 4000/8205 None after []",
        "0 schedule app5/2 on m1263",
        "100 submit j1/1/0 p100 500/1022 Some(60) after []",
        "100 submit j1/1/1 p100 500/1022 Some(60) after []",
        "100 submit j1/2/0 p100 1000/1547 Some(120) after []",
        "150 submit j2/H/0 p100 1000/1311 Some(450) after []",
        "150 submit j2/H/1 p100 1000/1311 Some(450) after []",
        "150 submit j2/H/2 p100 1000/1311 Some(450) after []",
        "220 submit j1/3/0 p100 1000/1547 Some(80) after [1, 2]",
        "300 submit j1/4/0 p100 500/524 Some(30) after [3]",
        "300 submit j3/1/0 p100 1000/1311 None after []",
        "2711 add m_1021 96000/262144 rack=57 power=19",
        "2711 submit app7/0/3 p120 8000/16384 None after []",
        "2711 schedule app7/3 on m1021",
        // c_1's snapshot at 300 s repeats its first: nothing.
        // Never in service: known to the cell, out of it at once.
        "569729 add m_2739 96000/262144 rack=6 power=6",
        "569729 remove m2739",
    ];
    assert_eq!(got, want);
    // 9 machine rows + 4 container rows + 6 batch rows.
    assert_eq!(stats.rows, 19);
    assert!(stats.skipped.is_empty());
    let repaired: Vec<(&str, u64)> = stats
        .repaired
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        repaired,
        [
            ("batch_task.no_end_time", 1),                // j_3 is still running
            ("batch_task.time_went_back", 1),             // j_3 at 90 s after 300 s
            ("machine_meta.failure_domain_2_missing", 1), // m_1263 at 357600 s
        ]
    );
}

#[test]
fn priorities_put_containers_in_production_and_batch_in_batch() {
    let (recs, _) = read_all(&fixture(), &ReadOptions::default()).unwrap();
    for r in &recs {
        if let TraceEvent::Submit(t) = &r.event {
            let want = if t.key.job & CONTAINER_JOB_BIT != 0 {
                Band::Production
            } else {
                Band::Batch
            };
            assert_eq!(Band::of(t.priority), want);
            assert_eq!(t.trace_priority, i64::from(t.priority));
        }
    }
}

#[test]
fn the_real_machine_meta_excerpt_reads_whole() {
    let path = root().join("traces/alibaba-2018/machine_meta.csv");
    // Counted from the text: distinct machine_id and failure_domain_1.
    let text = std::fs::read_to_string(&path).unwrap();
    let column =
        |i: usize| -> BTreeSet<&str> { text.lines().filter_map(|l| l.split(',').nth(i)).collect() };
    let (ids, racks) = (column(0), column(2));
    assert_eq!((ids.len(), racks.len()), (4_034, 292));

    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[path], &opts).unwrap();
    assert_eq!(stats.rows, text.lines().count() as u64);
    assert!(stats.skipped.is_empty());
    let mut added = BTreeSet::new();
    let mut seen_racks = BTreeSet::new();
    for r in &recs {
        if let TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) = &r.event {
            added.insert(m.name.to_string());
            seen_racks.insert(m.rack.as_deref().unwrap().to_string());
            assert_eq!(m.capacity.res, Resources::new(96_000, 262_144));
        }
    }
    assert_eq!(added.len(), 4_034);
    assert_eq!(seen_racks.len(), 292);
    assert!(added.iter().all(|n| ids.contains(n.as_str())));
    // Times never go back, though the file is ordered by machine.
    assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
    // Only m_2739 (IMPORT_INSTALLING throughout) is ever out of service.
    let removed: Vec<&TraceRecord> = recs
        .iter()
        .filter(|r| matches!(r.event, TraceEvent::MachineRemove { .. }))
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        removed[0].event,
        TraceEvent::MachineRemove { machine: 2739 }
    );
}

#[test]
fn machines_leave_and_return_to_service_and_change() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "machine_meta.csv",
        "m_1,0,1,a,96,100,USING\n\
         m_1,10,1,a,96,100,IMPORT_INSTALLING\n\
         m_1,20,1,a,96,100,IMPORT_INSTALLING\n\
         m_1,30,1,a,96,100,USING\n\
         m_1,40,2,a,64,50,USING\n\
         m_1,50,2,,64,50,USING\n",
    );
    let (recs, stats) = read_all(&[p], &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "0 add m_1 96000/262144 rack=1 power=a",
            "10 remove m1",
            "30 add m_1 96000/262144 rack=1 power=a",
            // mem 50 → 50 × 262144 / 100 = 131072 MiB; a new rack.
            "40 update m_1 64000/131072 rack=2 power=a",
        ]
    );
    assert_eq!(stats.repaired["machine_meta.failure_domain_2_missing"], 1);
}

#[test]
fn memory_follows_the_reference_machine() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "machine_meta.csv", "m_7,0,1,1,96,37.5,USING\n");
    let opts = ReadOptions {
        reference: Some(ReferenceMachine {
            cpu_milli: 96_000,
            mem_mib: 524_288,
        }),
        ..ReadOptions::default()
    };
    let (recs, _) = read_all(&[p], &opts).unwrap();
    // 37.5 of 512 GiB: 37.5 × 524288 / 100 = 196608 MiB.
    assert_eq!(show(&recs[0]), "0 add m_7 96000/196608 rack=1 power=1");
}

#[test]
fn a_bad_row_names_file_line_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "machine_meta.csv",
            "m_1,0,1,1,96,100,USING\nm_2,0,1,1,96,101,USING\n",
            "machine_meta.csv:2: mem_size",
            "\"101\"",
        ),
        (
            "machine_meta.csv",
            "machine7,0,1,1,96,100,USING\n",
            "machine_meta.csv:1: machine_id",
            "\"machine7\"",
        ),
        (
            "container_meta.csv",
            "c_1,m_1,0,app_1,started,-1,400,1\n",
            "container_meta.csv:1: cpu_request",
            "\"-1\"",
        ),
        (
            "batch_task.csv",
            "M1,1,j_1,1,Terminated,5,6,100,-1\n",
            "batch_task.csv:1: plan_mem",
            "\"-1\"",
        ),
        (
            "batch_task.csv",
            "M1,1,job1,1,Terminated,5,6,100,1\n",
            "batch_task.csv:1: job_name",
            "\"job1\"",
        ),
    ];
    for (name, text, place, value) in cases {
        let p = write(dir.path(), name, text);
        let err = read_all(&[p], &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(place) && err.contains(value), "{err}");
    }
}

#[test]
fn lenient_reading_skips_bad_rows_counted_by_table_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(
        dir.path(),
        "batch_task.csv",
        "M1,1,j_1,1,Terminated,5,6,100,1\n\
         M2_1,1,j_1,1,Terminated,6,7,,1\n\
         M3,1,j_1,1,Terminated,7,8,100,101\n\
         M4,1,j_1\n\
         M5,1,j_1,1,Terminated,9,10,100,1\n",
    );
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[b], &opts).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(stats.rows, 5);
    assert_eq!(stats.skipped["batch_task.plan_cpu"], 1);
    assert_eq!(stats.skipped["batch_task.plan_mem"], 1);
    assert_eq!(stats.skipped["batch_task.-"], 1); // too few fields
}

#[test]
fn irregular_task_names_are_repaired_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(
        dir.path(),
        "batch_task.csv",
        "J10_7_9_Stg4,1,j_9395,1,Terminated,5,6,100,1\n\
         M2_2,1,j_1,1,Terminated,5,6,100,1\n\
         MergeTask,1,j_1,1,Terminated,5,6,100,1\n\
         M1,0,j_1,1,Terminated,5,6,100,1\n",
    );
    let (recs, stats) = read_all(&[b], &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "5 submit j9395/10/0 p100 1000/2621 Some(1) after [7, 9]",
            "5 submit j1/2/0 p100 1000/2621 Some(1) after []",
            "5 submit j1/H/0 p100 1000/2621 Some(1) after []",
        ]
    );
    for rule in [
        "task_name_extra_part",
        "self_dependency",
        "task_name_unrecognised",
        "no_instances",
    ] {
        assert_eq!(stats.repaired[&format!("batch_task.{rule}")], 1, "{rule}");
    }
}

#[test]
fn machines_only_reads_the_machine_table() {
    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&fixture(), &opts).unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(stats.rows, 9);
}

#[test]
fn files_are_told_apart_by_name() {
    let p = PathBuf::from;
    assert_eq!(
        Table::of_file(&p("a/batch_task.csv.gz")),
        Some(Table::BatchTask)
    );
    assert_eq!(
        Table::of_file(&p("container_meta/part-0.csv")),
        Some(Table::ContainerMeta)
    );
    assert_eq!(
        Table::of_file(&p("batch_instance.csv")),
        Some(Table::BatchInstance)
    );
    let err = Reader::open(&[p("machine_usage.csv").into()], &ReadOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("names none of"), "{err}");
}

#[test]
fn the_0_to_100_scale_is_checked_exactly() {
    let check = |v: &str| {
        let mut rec = csv::ByteRecord::new();
        rec.push_field(v.as_bytes());
        let row = crate::trace::input::Row {
            path: Path::new("t.csv"),
            line: 1,
            rec: &rec,
        };
        tables::percent(&row, 0, "mem_size").is_ok()
    };
    for ok in ["0", "100", "100.000", "1e2", "99.9999999", "1e-50", ".5"] {
        assert!(check(ok), "{ok}");
    }
    for bad in ["101", "-1", "100.0000001", "1.000001e2", "1e30", "x", ""] {
        assert!(!check(bad), "{bad}");
    }
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    const FIELDS: &[&str] = &[
        "m_1",
        "m_2",
        "c_1",
        "app_3",
        "j_4",
        "M5_3_4",
        "task_x",
        "R2_",
        "-1",
        "101",
        "100",
        "0.5",
        "",
        "1e30",
        "0",
        "USING",
        "IMPORT_INSTALLING",
        "9223372036854775807",
        "18446744073709551616",
        "\"a,b\"",
        "\"",
        "4294967296",
    ];

    fn lines() -> impl Strategy<Value = String> {
        let row =
            prop::collection::vec(prop::sample::select(FIELDS), 0..11).prop_map(|f| f.join(","));
        prop::collection::vec(row, 0..8).prop_map(|rows| rows.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_rows_give_records_or_errors(m in lines(), c in lines(), b in lines()) {
            let dir = tempfile::tempdir().unwrap();
            let files = [
                write(dir.path(), "machine_meta.csv", &m),
                write(dir.path(), "container_meta.csv", &c),
                write(dir.path(), "batch_task.csv", &b),
            ];
            for lenient in [false, true] {
                let opts = ReadOptions { lenient, ..ReadOptions::default() };
                if let Ok((recs, _)) = read_all(&files, &opts) {
                    prop_assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
                }
            }
        }
    }
}

#[test]
fn instances_run_as_they_ran_in_the_trace() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/alibaba2018");
    let files = [dir.join("batch_task.csv"), dir.join("batch_instance.csv")];
    let mut r = Reader::open(&crate::trace::Source::files(files), &ReadOptions::default()).unwrap();
    let mut recs = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        recs.push(rec);
    }
    assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
    let submits: Vec<&TraceTask> = recs.iter().filter_map(|r| r.event.submitted()).collect();
    // 5 instances of known tasks (j_404 is not in batch_task: skipped).
    assert_eq!(submits.len(), 5);
    assert_eq!(r.stats().repaired["batch_instance.task_unknown"], 1);
    // M1's two instances: indices 0 and 1, each its own run length
    // (150 − 100 = 50 s, 160 − 100 = 60 s), the task's request (plan_cpu 50
    // → 500 mcpu).
    let m1: Vec<&&TraceTask> = submits.iter().filter(|t| t.key.stage == 1).collect();
    assert_eq!((m1[0].key.index, m1[1].key.index), (0, 1));
    assert_eq!(m1[0].duration, Some(SimDuration::from_secs(50)));
    assert_eq!(m1[1].duration, Some(SimDuration::from_secs(60)));
    assert_eq!(m1[0].request.res.cpu_milli, 500);
    // R3 depends on stages 1 and 2; J4 has no end: it runs to the end.
    let r3 = submits.iter().find(|t| t.key.stage == 3).unwrap();
    assert_eq!(r3.after, vec![1, 2]);
    let j4 = submits.iter().find(|t| t.key.stage == 4).unwrap();
    assert_eq!(j4.duration, None);
    // Placements on the trace's machines, and ends by status.
    let schedules = recs
        .iter()
        .filter(|r| matches!(r.event, TraceEvent::Schedule { .. }))
        .count();
    assert_eq!(schedules, 4, "J4's instance names no machine");
    // Ends by status, known at submission (no End records follow):
    // Terminated → FINISH; Failed → KILL: the run is over (a FAIL would
    // send it back to pending for a re-placement the trace never records);
    // J4 has no end.
    assert!(!recs
        .iter()
        .any(|r| matches!(r.event, TraceEvent::End { .. })));
    let ends: Vec<Option<EndKind>> = submits.iter().map(|t| t.end_kind).collect();
    assert_eq!(
        ends.iter().filter(|k| **k == Some(EndKind::Finish)).count(),
        3,
        "{ends:?}"
    );
    assert_eq!(
        ends.iter().filter(|k| **k == Some(EndKind::Kill)).count(),
        1,
        "{ends:?}"
    );
    assert_eq!(j4.end_kind, None);
    // batch_task lists j_2's 3 instances and j_3's 1, batch_instance none
    // of them: 4 instances never run. Every other task has as many rows as
    // its instance_num (M1: 2, M2, R3_1_2, J4_3: 1).
    let repaired = &r.stats().repaired;
    assert_eq!(repaired["batch_instance.instances_missing"], 4);
    assert!(!repaired.contains_key("batch_instance.instances_beyond_instance_num"));
    assert_eq!(repaired["batch_instance.no_machine"], 1);
}
