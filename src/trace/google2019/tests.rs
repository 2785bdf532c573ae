//! Unit tests of the Google 2019 reader: the fixture as one time-ordered
//! stream, JSON lines and CSV exports giving the same records, collections
//! and instances, and numbers written either way.

use super::*;
use crate::trace::TaskKey;
use crate::workload::Band;
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/google2019")
}

fn json_fixture() -> Vec<PathBuf> {
    [
        "instance_events.json",
        "machine_events.json",
        "collection_events.json",
    ]
    .iter()
    .map(|n| fixture_dir().join(n))
    .collect()
}

fn csv_fixture() -> Vec<PathBuf> {
    [
        "instance_events-000000000001.csv",
        "machine_events.csv",
        "instance_events-000000000000.csv",
        "collection_events.csv",
    ]
    .iter()
    .map(|n| fixture_dir().join(n))
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

fn key(job: u64, index: u32) -> TaskKey {
    TaskKey {
        job,
        stage: 0,
        index,
    }
}

/// A short, comparable description of a record.
fn show(r: &TraceRecord) -> String {
    let t = r.time.as_us();
    match &r.event {
        TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => {
            let what = if matches!(r.event, TraceEvent::MachineAdd(_)) {
                "add"
            } else {
                "update"
            };
            let attrs: Vec<String> = m.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{t} {what} m{} {}/{} rack={:?} {}",
                m.key,
                m.capacity.res.cpu_milli,
                m.capacity.res.mem_mib,
                m.rack.as_deref(),
                attrs.join(",")
            )
        }
        TraceEvent::MachineRemove { machine } => format!("{t} remove m{machine}"),
        TraceEvent::Submit(task) => format!(
            "{t} submit {}/{} p{} {}/{}",
            task.key.job,
            task.key.index,
            task.priority,
            task.request.res.cpu_milli,
            task.request.res.mem_mib
        ),
        TraceEvent::Schedule { task, machine } => {
            format!("{t} schedule {}/{} on m{machine}", task.job, task.index)
        }
        TraceEvent::End { task, kind } => format!("{t} {kind:?} {}/{}", task.job, task.index),
        TraceEvent::Usage { task, usage } => format!(
            "{t} usage {}/{} {}/{}",
            task.job, task.index, usage.cpu_milli, usage.mem_mib
        ),
    }
}

#[test]
fn the_fixture_reads_as_a_merged_time_ordered_stream() {
    let (recs, stats) = read_all(&json_fixture(), &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    // Capacities against 64 cores / 256 GiB (262,144 MiB):
    //   m101: 0.5 NCU × 64000 = 32000 m; 0.25 NMU × 262144 = 65536 MiB.
    //   m102: 1.0 × 64000 = 64000 m; 0.5 × 262144 = 131072 MiB; the UPDATE
    //   gives only cpus 0.75 × 64000 = 48000 m: memory, rack, platform kept.
    // Requests: job 1: 0.125 × 64000 = 8000 m, 0.0625 × 262144 = 16384 MiB.
    //   job 2: 0.0245361328125 × 64000 = 1570.3125 → 1570 m;
    //          0.01 × 262144 = 2621.44 → 2621 MiB.
    // At equal times machines come first, then collections, then instances
    // (t=0 and t=900 s); within a table the file's order is kept.
    let want = [
        "0 add m101 32000/65536 rack=Some(\"sw1\") platform=p1",
        "0 add m102 64000/131072 rack=Some(\"sw2\") platform=p2",
        "0 submit 1/0 p200 8000/16384",
        "0 schedule 1/0 on m101",
        "0 submit 1/1 p200 8000/16384",
        "0 schedule 1/1 on m102",
        "600000000 submit 2/0 p103 1570/2621",
        "600000000 submit 2/1 p103 1570/2621",
        "600000000 submit 2/2 p103 1570/2621",
        "600000001 schedule 2/0 on m102",
        "600000001 schedule 2/1 on m102",
        "700000000 schedule 2/2 on m101",
        "900000000 update m102 48000/131072 rack=Some(\"sw2\") platform=p2",
        "900000000 Evict 2/1",
        "1000000000 Finish 2/0",
        "1000000000 Finish 2/2",
        "1100000000 submit 2/1 p103 1570/2621",
        "1100000000 schedule 2/1 on m101",
        "1150000000 Finish 2/1",
        "1500000000 remove m101",
        "1500000000 Lost 1/0",
    ];
    assert_eq!(got, want);
    // 4 machine rows + 3 collection rows + 19 instance rows.
    assert_eq!(stats.rows, 26);
    assert!(stats.skipped.is_empty());
    let repaired: Vec<(&str, u64)> = stats
        .repaired
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        repaired,
        [
            ("instance_events.after_end", 1), // the KILL at 2^63−1
            ("instance_events.constraint_unsupported_relation", 1), // kernel LESS_THAN 5
            ("instance_events.ignored_queue", 1),
        ]
    );
}

#[test]
fn json_and_csv_exports_give_the_same_stream() {
    let opts = ReadOptions::default();
    let (json, json_stats) = read_all(&json_fixture(), &opts).unwrap();
    let (csv, csv_stats) = read_all(&csv_fixture(), &opts).unwrap();
    assert_eq!(json, csv);
    // The CSV has one header line per file, which is not a row.
    assert_eq!(json_stats, csv_stats);
}

#[test]
fn submissions_carry_the_collection_and_the_instance() {
    let (recs, _) = read_all(&json_fixture(), &ReadOptions::default()).unwrap();
    let tasks: Vec<&TraceTask> = recs.iter().filter_map(|r| r.event.submitted()).collect();
    let web = tasks[0];
    assert_eq!(web.key, key(1, 0));
    assert_eq!((&*web.job_name, &*web.user), ("web", "alice"));
    assert_eq!(web.max_per_machine, Some(1));
    // max_per_switch: a switch is a rack.
    assert_eq!(web.max_per_rack, Some(2));
    assert_eq!(web.duration, None);
    assert!(web.after.is_empty());
    // The trace's priority is borgsim's: 200 is production, 103 (best-effort
    // batch tier, 100–115) is borgsim's batch band.
    assert_eq!((web.priority, web.trace_priority), (200, 200));
    assert_eq!(Band::of(web.priority), Band::Production);
    assert_eq!(Band::of(tasks[2].priority), Band::Batch);
    assert_eq!(
        (tasks[2].max_per_machine, tasks[2].max_per_rack),
        (None, None)
    );
    let c = |name: &str, op, value: &str| TraceConstraint {
        name: Arc::from(name),
        op,
        value: Arc::from(value),
    };
    assert_eq!(web.constraints, [c("platform", ConstraintOp::Eq, "p1")]);
    // Relation 1 (NOT_EQUAL) is kept; relation 2 (LESS_THAN) is dropped.
    assert_eq!(
        tasks[1].constraints,
        [c("platform", ConstraintOp::Ne, "p1")]
    );
}

#[test]
fn collections_are_forgotten_at_their_final_event() {
    let mut r = Reader::open(
        &crate::trace::Source::files(json_fixture()),
        &ReadOptions::default(),
    )
    .unwrap();
    while r.next_record().unwrap().is_some() {}
    // Collection 2 FINISHed at 1200 s; collection 1 is still live.
    assert_eq!(r.collections.len(), 1);
    assert!(r.collections.contains_key(&1));
}

#[test]
fn numbers_may_be_json_numbers_or_strings() {
    let dir = tempfile::tempdir().unwrap();
    let as_numbers = write(
        dir.path(),
        "a_machine_events.json",
        r#"{"time":0,"machine_id":7,"type":1,"capacity":{"cpus":0.5,"memory":"0.25"}}"#,
    );
    let as_strings = write(
        dir.path(),
        "b_machine_events.jsonl",
        r#"{"time":"0","machine_id":"7","type":"1","capacity":{"cpus":"0.5","memory":0.25}}"#,
    );
    let opts = ReadOptions::default();
    let (a, _) = read_all(&[as_numbers], &opts).unwrap();
    let (b, _) = read_all(&[as_strings], &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(show(&a[0]), "0 add m7 32000/65536 rack=None ");
}

#[test]
fn the_reference_machine_can_be_overridden() {
    let opts = ReadOptions {
        reference: Some(ReferenceMachine {
            cpu_milli: 96_000,
            mem_mib: 393_216,
        }),
        ..ReadOptions::default()
    };
    let (recs, _) = read_all(&json_fixture(), &opts).unwrap();
    // 0.5 × 96000 = 48000 m; 0.25 × 393216 = 98304 MiB.
    assert_eq!(
        show(&recs[0]),
        "0 add m101 48000/98304 rack=Some(\"sw1\") platform=p1"
    );
}

#[test]
fn a_bad_row_names_file_line_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "machine_events.json",
        "{\"time\":\"0\",\"machine_id\":\"1\",\"type\":\"1\",\"capacity\":{\"cpus\":0.5,\"memory\":0.5}}\n\
         \n\
         {\"time\":\"0\",\"machine_id\":\"2\",\"type\":\"1\",\"capacity\":{\"cpus\":\"half\",\"memory\":0.5}}\n",
    );
    let err = read_all(&[p], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    // Line 3: the blank line 2 still counts.
    assert!(
        err.contains("machine_events.json:3: capacity.cpus"),
        "{err}"
    );
    assert!(err.contains("\"half\""), "{err}");

    let p = write(
        dir.path(),
        "instance_events.csv",
        "time,type,collection_id,instance_index\n0,0,1,0\n5,42,1,1\n6,3,x,2\n",
    );
    let err = read_all(&[p], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("instance_events.csv:3: type"), "{err}");
    assert!(err.contains("0..=10") && err.contains("\"42\""), "{err}");
}

#[test]
fn lenient_reading_skips_bad_rows_counted_by_table_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "instance_events.csv",
        "time,type,collection_id,instance_index,resource_request.cpus,resource_request.memory\n\
         0,0,1,0,0.5,0.5\n\
         5,42,1,1,,\n\
         6,0,x,2,0.1,0.1\n\
         7,0,1,3,-0.1,0.1\n\
         8,6,1,0,,\n",
    );
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[p], &opts).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    assert_eq!(got, ["0 submit 1/0 p0 32000/131072", "8 Finish 1/0"]);
    assert_eq!(stats.rows, 5);
    assert_eq!(stats.skipped["instance_events.type"], 1);
    assert_eq!(stats.skipped["instance_events.collection_id"], 1);
    assert_eq!(stats.skipped["instance_events.resource_request.cpus"], 1);
    // No collection row and no priority: repaired, not skipped.
    assert_eq!(stats.repaired["instance_events.collection_unknown"], 1);
    assert_eq!(stats.repaired["instance_events.priority_missing"], 1);
}

#[test]
fn a_line_that_is_not_json_is_a_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "collection_events.ndjson",
        "{\"time\":\"0\",\"type\":\"0\",\"collection_id\":\"1\"}\n{\"time\":\n[1]\n",
    );
    let err = read_all(std::slice::from_ref(&p), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("collection_events.ndjson:2: json"), "{err}");
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (_, stats) = read_all(&[p], &opts).unwrap();
    assert_eq!(stats.skipped["collection_events.json"], 2);
    assert_eq!(stats.rows, 3);
}

#[test]
fn tables_merge_by_time_with_machines_then_collections_then_instances() {
    let dir = tempfile::tempdir().unwrap();
    let i = write(
        dir.path(),
        "instance_events.json",
        "{\"time\":\"5\",\"type\":\"0\",\"collection_id\":\"1\",\"instance_index\":\"0\"}\n\
         {\"time\":\"5\",\"type\":\"3\",\"collection_id\":\"1\",\"instance_index\":\"0\",\"machine_id\":\"9\"}\n\
         {\"time\":\"20\",\"type\":\"6\",\"collection_id\":\"1\",\"instance_index\":\"0\"}\n",
    );
    let c = write(
        dir.path(),
        "collection_events.json",
        "{\"time\":\"5\",\"type\":\"0\",\"collection_id\":\"1\",\"priority\":\"360\",\"collection_name\":\"mon\"}\n",
    );
    let m = write(
        dir.path(),
        "machine_events.csv",
        "time,machine_id,type,capacity_cpus,capacity_memory\n5,9,1,1,1\n10,9,2,,\n",
    );
    let (recs, stats) = read_all(&[i, c, m], &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "5 add m9 64000/262144 rack=None ",
            // The collection at t=5 was applied first: priority 360 (monitoring).
            "5 submit 1/0 p360 0/0",
            "5 schedule 1/0 on m9",
            "10 remove m9",
            "20 Finish 1/0",
        ]
    );
    // The SUBMIT has no request: it asks for nothing.
    assert_eq!(stats.repaired["instance_events.request_missing"], 1);
}

#[test]
fn times_that_go_back_or_lie_past_the_end_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "machine_events.csv",
        "time,machine_id,type,capacity.cpus,capacity.memory\n\
         10,1,1,1,1\n\
         4,2,1,1,1\n\
         9223372036854775807,1,2,,\n",
    );
    let (recs, stats) = read_all(&[m], &ReadOptions::default()).unwrap();
    // Machine 2's ADD at 4 is held at 10; the REMOVE at 2^63−1 is dropped.
    let times: Vec<u64> = recs.iter().map(|r| r.time.as_us()).collect();
    assert_eq!(times, [10, 10]);
    assert_eq!(stats.repaired["machine_events.time_went_back"], 1);
    assert_eq!(stats.repaired["machine_events.after_end"], 1);
}

#[test]
fn machine_edges_are_repaired_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "machine_events.csv",
        "time,machine_id,type,switch_id,capacity.cpus,capacity.memory,platform_id\n\
         0,1,3,,0.5,0.5,\n\
         0,2,3,,,,\n\
         1,1,1,s,0.5,0.5,p\n\
         2,3,2,,,,\n\
         3,1,0,,,,\n\
         4,1,2,,,,\n\
         5,1,3,,,0.25,\n",
    );
    let (recs, stats) = read_all(&[m], &ReadOptions::default()).unwrap();
    let got: Vec<String> = recs.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "0 add m1 32000/131072 rack=None ",
            "1 update m1 32000/131072 rack=Some(\"s\") platform=p",
            "4 remove m1",
            // Out of the cell, an UPDATE with what is known re-adds it.
            "5 add m1 32000/65536 rack=Some(\"s\") platform=p",
        ]
    );
    for rule in [
        "update_before_add",
        "update_without_capacity",
        "add_while_present",
        "remove_unknown",
        "type_unknown",
    ] {
        let n = if rule == "update_before_add" { 2 } else { 1 };
        assert_eq!(
            stats.repaired[&format!("machine_events.{rule}")],
            n,
            "{rule}"
        );
    }
}

#[test]
fn instances_inside_alloc_sets_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let c = write(
        dir.path(),
        "collection_events.csv",
        "time,type,collection_id,alloc_collection_id\n0,0,1,0\n0,0,2,1\n",
    );
    let i = write(
        dir.path(),
        "instance_events.csv",
        "time,type,collection_id,instance_index,alloc_collection_id,priority\n\
         0,0,1,0,0,200\n\
         0,0,2,0,1,200\n\
         0,0,3,0,1,200\n\
         1,6,2,0,,\n",
    );
    let (recs, stats) = read_all(&[c, i], &ReadOptions::default()).unwrap();
    // Collection 1 is the alloc set: its instance is a task. Jobs 2 (by its
    // collection row) and 3 (by its instance row) run inside it.
    assert_eq!(recs.len(), 1);
    assert_eq!(stats.repaired["instance_events.in_alloc_set"], 3);
}

#[test]
fn machines_only_reads_the_machine_table() {
    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&json_fixture(), &opts).unwrap();
    assert_eq!(recs.len(), 4);
    assert_eq!(stats.rows, 4);
}

#[test]
fn files_are_told_apart_by_name_and_extension() {
    let p = |s: &str| PathBuf::from(s);
    assert_eq!(
        Table::of_file(&p("x/instance_events-000000000003.json.gz")),
        Some(Table::Instances)
    );
    assert_eq!(
        Table::of_file(&p("collection_events/part-1.csv")),
        Some(Table::Collections)
    );
    assert_eq!(
        Table::of_file(&p("machine_attributes.json")),
        Some(Table::Attributes)
    );
    assert_eq!(
        Table::of_file(&p("instance_usage-000.json")),
        Some(Table::Usage)
    );
    assert_eq!(Table::of_file(&p("machine_usage-000.json")), None);
    assert_eq!(Layout::of_file(&p("a.NDJSON.gz")).unwrap(), Layout::Json);
    assert_eq!(Layout::of_file(&p("a.csv.gz")).unwrap(), Layout::Csv);
    assert!(Layout::of_file(&p("machine_events.parquet")).is_err());
    let err = Reader::open(&[p("usage.json").into()], &ReadOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("names none of"), "{err}");
}

#[test]
fn gzipped_json_lines_are_read() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("machine_events-000.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(
        std::fs::read(fixture_dir().join("machine_events.json"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    gz.finish().unwrap();
    let (recs, _) = read_all(&[p], &ReadOptions::default()).unwrap();
    assert_eq!(recs.len(), 4);
}

#[test]
fn a_csv_header_must_name_the_required_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "machine_events.csv", "time,type\n0,1\n");
    let err = read_all(&[p], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("machine_id"), "{err}");
}

#[test]
fn relations_parse_from_codes_and_names() {
    assert_eq!(Relation::parse("0"), Some(Relation::Equal));
    assert_eq!(Relation::parse("NOT_PRESENT"), Some(Relation::NotPresent));
    assert_eq!(Relation::parse("4"), Some(Relation::Ordered));
    assert_eq!(Relation::parse("8"), None);
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "time",
        "type",
        "machine_id",
        "collection_id",
        "instance_index",
        "priority",
        "alloc_collection_id",
        "max_per_machine",
        "user",
        "collection_name",
        "switch_id",
        "platform_id",
        "capacity",
        "resource_request",
        "constraint",
    ];
    const VALUES: &[&str] = &[
        "\"0\"",
        "0",
        "1",
        "3",
        "6",
        "10",
        "11",
        "-1",
        "0.5",
        "1e400",
        "1e-400",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "9223372036854775807",
        "\"9223372036854775808\"",
        "{\"cpus\":0.5,\"memory\":\"0.25\"}",
        "{\"cpus\":-1}",
        "[{\"name\":\"a\",\"value\":\"b\",\"relation\":3}]",
        "[{\"relation\":9}]",
        "[1]",
        "\"[{\\\"name\\\":\\\"a\\\",\\\"relation\\\":0}]\"",
    ];

    fn lines() -> impl Strategy<Value = String> {
        let pair = (prop::sample::select(KEYS), prop::sample::select(VALUES));
        let obj = prop::collection::vec(pair, 0..12).prop_map(|kv| {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        });
        let junk = "[ -~]{0,30}";
        let line = prop_oneof![4 => obj, 1 => junk];
        prop::collection::vec(line, 0..8).prop_map(|l| l.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_rows_give_records_or_errors(m in lines(), c in lines(), i in lines()) {
            let dir = tempfile::tempdir().unwrap();
            let files = [
                write(dir.path(), "machine_events.json", &m),
                write(dir.path(), "collection_events.json", &c),
                write(dir.path(), "instance_events.json", &i),
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
