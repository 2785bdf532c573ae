//! Formats as their publishers ship them, through the real binary: the
//! openb *multigpu* pod lists' five columns, native tables read by header
//! name, byte-order marks and CRLF line ends, and wrong headers named
//! before a run.

use super::{borgsim, root, text};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// `trace inspect` in `cwd`, human (`json` false) or JSON; must succeed.
fn inspect(cwd: &Path, json: bool, format: &str, files: &[&str]) -> String {
    let mut args = vec!["trace", "inspect", "--format", format];
    if json {
        args.push("--json");
    }
    args.extend_from_slice(files);
    let o = borgsim(cwd, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{format} {files:?}: {}",
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn inspect_json(cwd: &Path, format: &str, files: &[&str]) -> Value {
    serde_json::from_str(&inspect(cwd, true, format, files)).unwrap()
}

#[test]
fn openb_five_column_pod_lists_inspect_to_the_published_counts() {
    let dir = fixtures().join("openb-five-columns");
    let v = inspect_json(&dir, "openb", &["nodes.csv", "pods.csv"]);
    // 3 nodes with 2 + 8 + 0 GPUs; 6 pods, 5 asking for GPUs:
    // 1000 + 500 + 8 × 1000 + 250 + 2 × 1000 = 11,750 GPU milli.
    assert_eq!(v["machines"], 3);
    assert_eq!(v["machine_gpus"], 10);
    assert_eq!(v["task_submissions"], 6);
    assert_eq!(v["gpu_tasks"], 5);
    assert_eq!(v["gpu_milli_requested"], 11_750);
    assert_eq!(v["rows_skipped"], 0);
    let human = inspect(&dir, false, "openb", &["nodes.csv", "pods.csv"]);
    assert!(human.contains("machines: 3, 10 GPUs"), "{human}");
    assert!(
        human.contains("task submissions: 6 (5 ask for GPUs, 11750 GPU milli in all;"),
        "{human}"
    );
}

#[test]
fn openb_five_column_pod_lists_replay_one_by_one() {
    let out = tempfile::tempdir().unwrap();
    let dir = fixtures().join("openb-five-columns");
    let o = borgsim(
        &dir,
        &[
            "run",
            "scenario.toml",
            "--out",
            out.path().to_str().unwrap(),
            "--no-plots",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["trace"]["mode"], "one_by_one");
    assert_eq!(s["capacity"]["gpus"], 10);
    assert_eq!(s["trace"]["replay"]["tasks_from_trace"], 6);
    // 11,750 milli of 10,000 is short of 130 %: pods are drawn until it is
    // reached, so at least one more arrives.
    let arrived = s["gpu_packing"]["tasks_arrived"].as_u64().unwrap();
    assert!(arrived > 6, "{s}");
    assert!(
        s["gpu_packing"]["gpu_alloc_pct_at_demand_pct"]["100"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn native_tables_are_read_by_header_name() {
    let dir = fixtures().join("native-columns-by-name");
    let as_written = inspect(&dir, false, "native", &["as-written"]);
    let reordered = inspect(&dir, false, "native", &["reordered"]);
    assert_eq!(reordered, as_written);
    let v = inspect_json(&dir, "native", &["reordered"]);
    assert_eq!(v["task_submissions"], 4);
    assert_eq!(v["cpu_milli"]["p50"], 4000);
    assert_eq!(v["mem_mib"]["p50"], 8192);
}

#[test]
fn an_unknown_or_missing_column_is_named_with_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("native-columns-by-name/reordered");
    let tasks = std::fs::read_to_string(src.join("tasks.csv")).unwrap();
    let machines = std::fs::read_to_string(src.join("machines.csv")).unwrap();
    for (table, text_in, from, to, want) in [
        (
            "tasks.csv",
            &tasks,
            "mem_mib,cpu_milli",
            "memory_mib,cpu_milli",
            "tasks.csv:1: memory_mib: unknown column",
        ),
        (
            "machines.csv",
            &machines,
            "attrs,power,rack,gpus,mem_mib,cpu_milli,",
            "attrs,power,rack,gpus,mem_mib,",
            "machines.csv:1: cpu_milli: a required column of machines is missing",
        ),
    ] {
        let d = tmp.path().join(table.trim_end_matches(".csv"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(table), text_in.replacen(from, to, 1)).unwrap();
        let o = borgsim(
            tmp.path(),
            &[
                "trace",
                "inspect",
                "--format",
                "native",
                d.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2));
        let err = text(&o.stderr);
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn byte_order_marks_and_crlf_read_like_the_plain_fixtures() {
    let f = fixtures().join("traces");
    let g19 = |dir: &str| -> Vec<String> {
        [
            "machine_events.csv",
            "collection_events.csv",
            "instance_events-000000000000.csv",
            "instance_events-000000000001.csv",
        ]
        .iter()
        .map(|n| f.join(dir).join(n).to_string_lossy().into_owned())
        .collect()
    };
    let cases: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "openb",
            vec![f.join("openb").to_string_lossy().into()],
            vec![f.join("openb-bom-crlf").to_string_lossy().into()],
        ),
        (
            "native",
            vec![fixtures()
                .join("native-columns-by-name/as-written")
                .to_string_lossy()
                .into()],
            vec![f.join("native-bom-crlf").to_string_lossy().into()],
        ),
        ("google2019", g19("google2019"), g19("google2019-bom-crlf")),
    ];
    for (format, plain, marked) in cases {
        let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
        let marked: Vec<&str> = marked.iter().map(String::as_str).collect();
        assert_eq!(
            inspect(&root(), true, format, &marked),
            inspect(&root(), true, format, &plain),
            "{format}"
        );
    }
}

#[test]
fn validate_names_a_wrong_header_before_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("openb-five-columns");
    std::fs::copy(src.join("nodes.csv"), tmp.path().join("nodes.csv")).unwrap();
    let pods = std::fs::read_to_string(src.join("pods.csv")).unwrap();
    std::fs::write(
        tmp.path().join("pods.csv"),
        pods.replacen("gpu_milli", "gpu_mili", 1),
    )
    .unwrap();
    std::fs::copy(src.join("scenario.toml"), tmp.path().join("scenario.toml")).unwrap();
    let o = borgsim(tmp.path(), &["validate", "scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("pods.csv:1: gpu_mili: unknown column"),
        "{err}"
    );
}
