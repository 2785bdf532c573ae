//! `trace synth --usage` and the built-in `google2011-usage` replay: the
//! synthetic `task_usage` rows read back through the Google 2011 reader
//! (every row, by the reader's unit rule), prod uses a smaller share of its
//! request than non-prod, the other tables do not change with `--usage`,
//! the shipped excerpt is what its documented command writes, and the
//! replay with reclamation on runs non-prod on reclaimed resources.

use super::{borgsim, root, text};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::trace::{self, ReadOptions, TraceEvent, TraceFormat};
use std::collections::BTreeMap;
use std::path::Path;

const TABLES: [&str; 4] = [
    "machine_events/part-00000-of-00001.csv",
    "job_events/part-00000-of-00001.csv",
    "task_events/part-00000-of-00001.csv",
    "task_usage/part-00000-of-00001.csv",
];

/// Runs `trace synth` into `out` with `extra` arguments; its stdout.
fn synth(out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["trace", "synth", "--shape", "google2011"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let o = borgsim(&root(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// A usage record: `((time µs, job, index), (cpu milli, mem MiB))`.
type Record = ((u64, u64, u32), (u64, u64));

/// The usage records the Google 2011 reader reads from `dir`, in order.
fn usage_records(dir: &Path) -> Vec<Record> {
    let files = trace::replay::resolve_files(dir, &[".".into()]).unwrap();
    let mut r = trace::open(TraceFormat::Google2011, &files, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        if let TraceEvent::Usage { task, usage } = rec.event {
            out.push((
                (rec.time.as_us(), task.job, task.index),
                (usage.cpu_milli, usage.mem_mib),
            ));
        }
    }
    assert!(r.stats().repaired.is_empty(), "{:?}", r.stats());
    out
}

#[test]
fn synth_usage_rows_read_back_by_the_google2011_reader() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let said = synth(
        d,
        &[
            "--machines",
            "10",
            "--days",
            "0.1",
            "--seed",
            "5",
            "--usage",
        ],
    );
    let rows = std::fs::read_to_string(d.join(TABLES[3])).unwrap();
    let n = rows.lines().count();
    assert!(n > 100, "{n} rows");
    assert!(said.contains(&format!(", {n} task_usage rows)")), "{said}");
    let records = usage_records(d);
    assert_eq!(records.len(), n);
    // Each record is its row by the reader's rule (1.0 = 32 cores, 128
    // GiB, rounded to nearest), in the row's order.
    for (row, ((t, job, index), (cpu, mem))) in rows.lines().zip(&records) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 7, "{row}");
        let at: u64 = f[0].parse().unwrap();
        let end: u64 = f[1].parse().unwrap();
        assert!(at < end && end - at <= 300_000_000, "{row}");
        assert_eq!(
            (at, *job, *index),
            (*t, f[2].parse().unwrap(), f[3].parse().unwrap())
        );
        let milli = (f[5].parse::<f64>().unwrap() * 32_000.0).round() as u64;
        let mib = (f[6].parse::<f64>().unwrap() * 131_072.0).round() as u64;
        assert_eq!((*cpu, *mem), (milli, mib), "{row}");
    }
}

/// The used share of the CPU request of the trace in `d`, by class:
/// prod (priority ≥ 9) draws 30–60 %, non-prod 50–90 %, each times
/// 0.9–1.1 per window, at most 1; the means fall inside.
fn check_shares(d: &Path) {
    let events = std::fs::read_to_string(d.join(TABLES[2])).unwrap();
    let rows = std::fs::read_to_string(d.join(TABLES[3])).unwrap();
    let mut request: BTreeMap<(&str, &str), (bool, f64)> = BTreeMap::new();
    for row in events.lines() {
        let f: Vec<&str> = row.split(',').collect();
        let prod = f[8].parse::<u32>().unwrap() >= 9;
        request.insert((f[2], f[3]), (prod, f[9].parse().unwrap()));
    }
    let mut share = [(0.0, 0u32); 2];
    for row in rows.lines() {
        let f: Vec<&str> = row.split(',').collect();
        let (prod, cpu) = request[&(f[2], f[3])];
        let s = f[5].parse::<f64>().unwrap() / cpu;
        assert!((0.25..=1.01).contains(&s), "{row}: {s} of {cpu}");
        share[usize::from(prod)].0 += s;
        share[usize::from(prod)].1 += 1;
    }
    let mean = |(sum, n): (f64, u32)| sum / f64::from(n);
    assert!((0.5..0.8).contains(&mean(share[0])), "{share:?}");
    assert!((0.3..0.5).contains(&mean(share[1])), "{share:?}");
}

#[test]
fn usage_adds_a_table_and_changes_no_other() {
    let (with, without) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--machines", "8", "--days", "0.05", "--seed", "2"];
    synth(with.path(), &[&args[..], &["--usage"]].concat());
    synth(without.path(), &args);
    for t in &TABLES[..3] {
        let a = std::fs::read(with.path().join(t)).unwrap();
        assert_eq!(a, std::fs::read(without.path().join(t)).unwrap(), "{t}");
    }
    assert!(!without.path().join("task_usage").exists());
}

#[test]
fn the_shipped_excerpt_is_what_its_command_writes() {
    // The command in traces/README.md.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--machines",
        "30",
        "--days",
        "0.25",
        "--seed",
        "1",
        "--usage",
    ];
    synth(dir.path(), &args);
    let shipped = root().join("traces/google2011-synth-usage");
    for t in TABLES {
        let a = std::fs::read(dir.path().join(t)).unwrap();
        assert!(a == std::fs::read(shipped.join(t)).unwrap(), "{t} differs");
    }
    // Its first usage row, by hand: job 1 task 0 (priority 4, non-prod;
    // CPU request 0.001517, memory 0.018417) uses 0.001058 × 32,000 =
    // 33.856 → 34 milli-cores (69.7 % of its request) and 0.016524 ×
    // 131,072 = 2,165.8 → 2,166 MiB in the window 601–900 s.
    check_shares(&shipped);
    let records = usage_records(&shipped);
    assert_eq!(records[0], ((601_000_000, 1, 0), (34, 2166)));
    let usage = std::fs::read_to_string(shipped.join(TABLES[3])).unwrap();
    assert!(usage.starts_with("601000000,900000000,1,0,28,0.001058,0.016524\n"));
}

/// The built-in, or its text with reclamation only measuring (scheduling
/// by limits), read from the checkout's traces.
fn summary(measure: bool) -> Summary {
    let sc = if measure {
        let traces = root().join("traces/google2011-synth-usage/");
        let text = borgsim::scenario::builtin("google2011-usage")
            .unwrap()
            .replace("mode = \"on\"", "mode = \"measure\"")
            .replace(
                "\"../traces/google2011-synth-usage/\"",
                &format!("{:?}", traces.to_str().unwrap()),
            );
        Scenario::parse(&text, Path::new("google2011-usage.toml")).unwrap()
    } else {
        Scenario::builtin("google2011-usage").unwrap().unwrap()
    };
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    Summary::of(&sc, &sim)
}

#[test]
fn the_google2011_usage_replay_runs_non_prod_on_reclaimed_resources() {
    let out = tempfile::tempdir().unwrap();
    let o = borgsim(
        out.path(),
        &[
            "run",
            "google2011-usage",
            "--quiet",
            "--no-plots",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("o/summary.json")).unwrap()).unwrap();
    let r = &s["reclamation"];
    assert_eq!(r["mode"], "on");
    assert!(r["reclaimed_share"]["cpu"].as_f64().unwrap() > 0.0, "{r}");
    let used = r["usage_utilization"]["cpu"]["total"].as_f64().unwrap();
    assert!((0.1..1.0).contains(&used), "{r}");
    // Against scheduling by limits: more allocated, more used, nothing
    // reclaimed there; the trace's usage rows applied in both.
    let (on, by_limits) = (summary(false), summary(true));
    let (ron, rlim) = (on.reclamation.unwrap(), by_limits.reclamation.unwrap());
    assert_eq!(rlim.reclaimed_share.cpu, 0.0);
    assert!(ron.reclaimed_share.cpu > 0.0);
    assert!(on.utilization.cpu.total > by_limits.utilization.cpu.total);
    assert!(ron.usage_utilization.cpu.total > rlim.usage_utilization.cpu.total);
    assert_eq!(on.tasks.submitted, 668);
}
