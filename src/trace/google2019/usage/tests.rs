//! `instance_usage` read from the fixture's JSON lines and CSV exports:
//! units, the tie order with the other tables, the rows dropped and
//! counted, and bad rows named by field.

use crate::trace::google2019::Reader;
use crate::trace::{read_to_end, ReadOptions, ReadStats, Select, Source, TraceEvent, TraceRecord};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/google2019")
}

/// The fixture's tables in one layout, with its `instance_usage`.
fn tables(json: bool) -> Vec<PathBuf> {
    let names: &[&str] = if json {
        &[
            "machine_events.json",
            "collection_events.json",
            "instance_events.json",
            "instance_usage.json",
        ]
    } else {
        &[
            "machine_events.csv",
            "collection_events.csv",
            "instance_events-000000000000.csv",
            "instance_events-000000000001.csv",
            "instance_usage.csv",
        ]
    };
    names.iter().map(|n| dir().join(n)).collect()
}

fn read(files: &[PathBuf], opts: &ReadOptions) -> (Vec<TraceRecord>, ReadStats) {
    read_to_end(&mut Reader::open(&Source::files(files), opts).unwrap()).unwrap()
}

/// `time µs job/index milli-cores/MiB` of each usage record.
fn usage(recs: &[TraceRecord]) -> Vec<String> {
    recs.iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Usage { task, usage } => Some(format!(
                "{} {}/{} {}/{}",
                r.time.as_us(),
                task.job,
                task.index,
                usage.cpu_milli,
                usage.mem_mib
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn instance_usage_reads_the_same_from_json_lines_and_csv() {
    let (json, json_stats) = read(&tables(true), &ReadOptions::default());
    let (csv, csv_stats) = read(&tables(false), &ReadOptions::default());
    assert_eq!(json, csv);
    assert_eq!(json_stats.repaired, csv_stats.repaired);
    // The mean usage, NCU × 64000 milli-cores and NMU × 262144 MiB:
    //   0.03125 × 64000 = 2000 m, 0.015625 × 262144 = 4096 MiB;
    //   0.0625 → 4000 m, 0.03125 → 8192 MiB;
    //   0.01 → 640 m, 0.005 × 262144 = 1310.72 → 1311 MiB;
    //   0.1 → 6400 m, 0.0625 → 16384 MiB.
    // Dropped: 1/0 at 1000 s (no average memory), 3/0 at 1200 s (in alloc
    // set 9).
    let want = [
        "300000000 1/0 2000/4096",
        "300000000 1/1 4000/8192",
        "600000001 2/0 640/1311",
        "600000001 2/2 640/1311",
        "900000000 2/1 640/1311",
        "1200000000 1/1 6400/16384",
        "1400000000 2/0 640/1311",
    ];
    assert_eq!(usage(&json), want);
    assert_eq!(json_stats.repaired["instance_usage.usage_missing"], 1);
    assert_eq!(json_stats.repaired["instance_usage.in_alloc_set"], 1);
    // 4 machine rows, 3 collection rows, 19 instance rows, 9 usage rows.
    assert_eq!(json_stats.rows, 4 + 3 + 19 + 9);
}

#[test]
fn usage_comes_after_the_instance_events_of_its_instant() {
    let (recs, _) = read(&tables(true), &ReadOptions::default());
    let kinds = |t: u64| -> Vec<&'static str> {
        recs.iter()
            .filter(|r| r.time.as_us() == t)
            .map(|r| match r.event {
                TraceEvent::Schedule { .. } => "schedule",
                TraceEvent::End { .. } => "end",
                TraceEvent::Usage { .. } => "usage",
                TraceEvent::MachineUpdate(_) => "machine",
                _ => "other",
            })
            .collect()
    };
    // 2/0 and 2/1 scheduled, then the windows of 2/0 and 2/2 starting then.
    assert_eq!(
        kinds(600_000_001),
        ["schedule", "schedule", "usage", "usage"]
    );
    // m102 shrinks, 2/1 is evicted, then its window starts.
    assert_eq!(kinds(900_000_000), ["machine", "end", "usage"]);
}

#[test]
fn usage_is_left_unread_when_not_selected() {
    let opts = ReadOptions {
        select: Select::WithoutUsage,
        ..ReadOptions::default()
    };
    let (recs, stats) = read(&tables(true), &opts);
    assert!(usage(&recs).is_empty());
    assert_eq!(stats.rows, 4 + 3 + 19);
    assert!(!stats
        .repaired
        .keys()
        .any(|k| k.starts_with("instance_usage")));
}

#[test]
fn a_bad_usage_row_names_its_field() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("instance_usage.csv");
    std::fs::write(
        &csv,
        "start_time,collection_id,instance_index,average_usage_cpus,average_usage_memory\n\
         1,7,0,0.1,0.1\n2,7,0,abc,0.1\n",
    )
    .unwrap();
    let files = Source::files([&csv]);
    let err = read_to_end(&mut Reader::open(&files, &ReadOptions::default()).unwrap());
    let msg = err.unwrap_err().to_string();
    assert!(
        msg.contains("instance_usage.csv:3: average_usage.cpus: expected a decimal"),
        "{msg}"
    );
    let json = tmp.path().join("instance_usage.json");
    std::fs::write(
        &json,
        "{\"start_time\":1,\"collection_id\":7,\"instance_index\":0,\"average_usage\":{\"cpus\":0.1,\"gpus\":1}}\n",
    )
    .unwrap();
    // The reader reads each table's first row when it opens.
    let files = Source::files([&json]);
    let err = Reader::open(&files, &ReadOptions::default()).err().unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("instance_usage.json:1: average_usage.gpus: unknown key"),
        "{msg}"
    );
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read(&[csv], &lenient);
    assert_eq!(usage(&recs), ["1 7/0 6400/26214"]);
    assert_eq!(stats.skipped["instance_usage.average_usage.cpus"], 1);
}
