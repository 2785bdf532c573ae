//! `borgsim trace inspect | convert | synth` through the real binary, on
//! every format's fixture and on the shipped excerpts.

use super::{borgsim, root, text};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn inspect(cwd: &Path, format: &str, files: &[&str]) -> Value {
    let mut args = vec!["trace", "inspect", "--json", "--format", format];
    args.extend_from_slice(files);
    let o = borgsim(cwd, &args);
    assert_eq!(o.status.code(), Some(0), "{format}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/traces")
}

#[test]
fn openb_inspect_matches_an_independent_count() {
    let nodes = root().join("traces/alibaba-openb-2023/openb_node_list_gpu_node.csv");
    let pods = root().join("traces/alibaba-openb-2023/openb_pod_list_default.csv");
    let v = inspect(
        &root(),
        "openb",
        &[nodes.to_str().unwrap(), pods.to_str().unwrap()],
    );
    // Count the CSV by hand: split lines on commas (the files have no quotes).
    let text = std::fs::read_to_string(&pods).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let count = |qos: &str| rows.iter().filter(|r| r[6] == qos).count() as u64;
    let gpu_pods = rows.iter().filter(|r| r[3] != "0").count() as u64;
    let node_rows = std::fs::read_to_string(&nodes).unwrap().lines().count() as u64 - 1;
    assert_eq!(v["task_submissions"], rows.len() as u64);
    assert_eq!(v["by_trace_priority"]["LS"], count("LS"));
    assert_eq!(v["by_trace_priority"]["BE"], count("BE"));
    assert_eq!(v["by_trace_priority"]["Burstable"], count("Burstable"));
    assert_eq!(v["by_trace_priority"]["Guaranteed"], count("Guaranteed"));
    assert_eq!(v["gpu_tasks"], gpu_pods);
    assert_eq!(v["machines"], node_rows);
    // And the published figures.
    assert_eq!(
        (
            count("LS"),
            count("BE"),
            count("Burstable"),
            count("Guaranteed")
        ),
        (4647, 3398, 100, 7)
    );
    assert_eq!((gpu_pods, node_rows), (7064, 1213));
    assert_eq!(v["rows_skipped"], 0);
}

#[test]
fn the_shipped_alibaba_machine_table_reads_whole() {
    let f = root().join("traces/alibaba-2018/machine_meta.csv");
    let v = inspect(&root(), "alibaba2018", &[f.to_str().unwrap()]);
    let text = std::fs::read_to_string(&f).unwrap();
    let machines: std::collections::BTreeSet<&str> =
        text.lines().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(v["machines"], machines.len() as u64);
    assert_eq!(v["rows"], text.lines().count() as u64);
}

#[test]
fn every_format_reads_its_fixture() {
    let f = fixtures();
    let g19: Vec<String> = [
        "collection_events.json",
        "instance_events.json",
        "machine_events.json",
    ]
    .iter()
    .map(|n| f.join("google2019").join(n).to_string_lossy().into_owned())
    .collect();
    let g19: Vec<&str> = g19.iter().map(String::as_str).collect();
    // (format, files, task submissions in the fixture, counted by hand)
    let cases: Vec<(&str, Vec<String>, u64)> = vec![
        (
            "google2011",
            vec![f.join("google2011").to_string_lossy().into()],
            4,
        ),
        ("openb", vec![f.join("openb").to_string_lossy().into()], 4),
        (
            "swf",
            vec![f.join("swf/tiny.swf").to_string_lossy().into()],
            6,
        ),
        // With batch_instance: 3 containers and the 5 instances of known tasks.
        (
            "alibaba2018",
            vec![f.join("alibaba2018").to_string_lossy().into()],
            8,
        ),
        // Without it: 3 containers and batch_task's instance_num copies.
        (
            "alibaba2018",
            ["machine_meta.csv", "container_meta.csv", "batch_task.csv"]
                .iter()
                .map(|n| f.join("alibaba2018").join(n).to_string_lossy().into())
                .collect(),
            12,
        ),
    ];
    for (format, files, submits) in cases {
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let v = inspect(&root(), format, &files);
        assert_eq!(v["task_submissions"], submits, "{format}");
        assert_eq!(v["rows_skipped"], 0, "{format}");
    }
    let v = inspect(&root(), "google2019", &g19);
    assert_eq!(v["task_submissions"], 6);
    // Azure: the fixture is SQL; build the SQLite file it describes.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("packing.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&std::fs::read_to_string(f.join("azure/tiny.sql")).unwrap())
        .unwrap();
    let vms: i64 = conn
        .query_row("SELECT COUNT(*) FROM vmRequests", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    let v = inspect(&root(), "azure", &[db.to_str().unwrap()]);
    assert_eq!(v["task_submissions"], vms as u64);
}

#[test]
fn convert_to_native_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("google2011");
    let original = inspect(&root(), "google2011", &[src.to_str().unwrap()]);
    for (out, flag) in [("csv", None), ("jsonl", Some("--jsonl"))] {
        let mut args = vec![
            "trace",
            "convert",
            "--format",
            "google2011",
            src.to_str().unwrap(),
            "--out",
            out,
        ];
        args.extend(flag);
        let o = borgsim(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let back = inspect(dir.path(), "native", &[out]);
        for key in [
            "records",
            "machines",
            "jobs",
            "task_submissions",
            "task_schedules",
            "task_ends",
            "usage_records",
            "by_band",
            "cpu_milli",
            "mem_mib",
        ] {
            assert_eq!(back[key], original[key], "{out}: {key}");
        }
    }
}

#[test]
fn synth_is_reproducible_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, seed: &str| {
        let args = [
            "trace",
            "synth",
            "--shape",
            "google2011",
            "--machines",
            "60",
            "--days",
            "0.1",
            "--seed",
            seed,
            "--rows-per-part",
            "2000",
            "--out",
            out,
        ];
        let o = borgsim(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    };
    run("a", "7");
    run("b", "7");
    run("c", "8");
    let bytes = |d: &str| {
        let files = borgsim::trace::replay::resolve_files(dir.path(), &[PathBuf::from(d)]).unwrap();
        files
            .iter()
            .map(|p| {
                (
                    p.path()
                        .strip_prefix(dir.path().join(d))
                        .unwrap()
                        .to_path_buf(),
                    std::fs::read(p.path()).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(bytes("a") == bytes("b"), "same seed, same bytes");
    assert!(bytes("a") != bytes("c"), "another seed, another trace");
    assert!(bytes("a").len() > 3, "task_events split into parts");
    let v = inspect(dir.path(), "google2011", &["a"]);
    assert_eq!(v["machines"], 60);
    assert!(v["task_submissions"].as_u64().unwrap() > 100);
    assert_eq!(v["rows_skipped"], 0);
    assert!(
        v["rows_repaired"].as_object().unwrap().is_empty(),
        "{}",
        v["rows_repaired"]
    );
}

#[test]
fn a_bad_row_names_file_and_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.swf"), "; MaxProcs: 4\n1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 1 0 1 -1 -1\n2 five -1 10 2 -1 -1 2 10 -1 1 1 1 1 0 1 -1 -1\n").unwrap();
    let o = borgsim(
        dir.path(),
        &["trace", "inspect", "--format", "swf", "x.swf"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("x.swf:3:"), "{err}");
    assert!(err.contains("five"), "{err}");
    let o = borgsim(
        dir.path(),
        &[
            "trace",
            "inspect",
            "--format",
            "swf",
            "--lenient",
            "--json",
            "x.swf",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["task_submissions"].as_u64(), v["rows_skipped"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn validate_opens_the_trace_files() {
    let dir = tempfile::tempdir().unwrap();
    let scen = "name = \"x\"\nseed = 1\n[scheduler]\npolicy = \"hybrid\"\n[trace]\nformat = \"openb\"\nfiles = [\"nope.csv\"]\n";
    std::fs::write(dir.path().join("x.toml"), scen).unwrap();
    let o = borgsim(dir.path(), &["validate", "x.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("nope.csv: cannot read"),
        "{}",
        text(&o.stderr)
    );
    let o = borgsim(&root(), &["validate", "openb"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("openb trace (2 files)"));
}
