//! Stranded resources and hole filling (`summary.json`'s `packing`)
//! recounted independently: from the snapshot of every machine taken at
//! the run's last instant (`--snapshot-at`), by the rule README.md states,
//! for several hole units, given and default.

use super::{borgsim, csv_rows, root, text};
use serde_json::Value;
use std::path::Path;

/// Runs the tiny scenario (1800 s) with `extra` flags, snapshotting its end;
/// returns summary.json's `packing` and the snapshot's rows.
fn run(
    dir: &Path,
    out: &str,
    extra: &[&str],
) -> (Value, Vec<std::collections::BTreeMap<String, String>>) {
    let scen = root().join("tests/golden/tiny.toml");
    let mut args = vec![
        "run",
        scen.to_str().unwrap(),
        "-q",
        "--no-plots",
        "--snapshot-at",
        "1800",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let o = borgsim(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join(out).join("summary.json")).unwrap())
            .unwrap();
    let snap = std::fs::read(dir.join(out).join("snapshot-1800.csv")).unwrap();
    (summary["packing"].clone(), csv_rows(&snap))
}

fn n(r: &std::collections::BTreeMap<String, String>, col: &str) -> u64 {
    r[col].parse().unwrap()
}

/// (stranded cpu, stranded mem, holes free, holes empty) by the README's rule.
fn recount(rows: &[std::collections::BTreeMap<String, String>], cpu: u64, mem: u64) -> [u64; 4] {
    let units = |c: u64, m: u64| (c / cpu).min(m / mem);
    let mut out = [0; 4];
    for r in rows.iter().filter(|r| r["up"] == "true") {
        let (cap_c, cap_m) = (n(r, "capacity_cpu_milli"), n(r, "capacity_mem_mib"));
        let free_c = cap_c - n(r, "allocated_cpu_milli");
        let free_m = cap_m - n(r, "allocated_mem_mib");
        if free_c >= cpu && free_m < mem {
            out[0] += free_c;
        }
        if free_m >= mem && free_c < cpu {
            out[1] += free_m;
        }
        out[2] += units(free_c, free_m);
        out[3] += units(cap_c, cap_m);
    }
    out
}

fn reported(p: &Value) -> [u64; 4] {
    [
        p["stranded"]["cpu_milli"].as_u64().unwrap(),
        p["stranded"]["mem_mib"].as_u64().unwrap(),
        p["holes"]["units_free"].as_u64().unwrap(),
        p["holes"]["units_empty"].as_u64().unwrap(),
    ]
}

#[test]
fn packing_equals_a_recount_from_the_last_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (p, rows) = run(dir.path(), "default", &[]);
    assert_eq!(p["unit"]["source"], "median_task");
    let (c, m) = (
        p["unit"]["cpu_milli"].as_u64().unwrap(),
        p["unit"]["mem_mib"].as_u64().unwrap(),
    );
    assert_eq!(reported(&p), recount(&rows, c, m));
    // Units that strand differently: small ones fit everywhere (nothing
    // stranded, many holes), CPU-heavy and memory-heavy ones strand the
    // other resource.
    let mut seen = std::collections::BTreeSet::new();
    for (i, (c, m)) in [(100, 128), (4000, 1024), (500, 8192), (3000, 6000)]
        .into_iter()
        .enumerate()
    {
        let out = format!("u{i}");
        let (p, rows) = run(dir.path(), &out, &["--hole-size", &format!("{c},{m}")]);
        assert_eq!(p["unit"]["source"], "hole_size");
        let want = recount(&rows, c, m);
        assert_eq!(reported(&p), want, "unit {c},{m}");
        seen.insert(want);
    }
    assert!(
        seen.len() > 2,
        "the units should judge the cell differently: {seen:?}"
    );
}

#[test]
fn a_hole_of_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scen = root().join("tests/golden/tiny.toml");
    for bad in ["0,0", "1000", "a,b", "-1,5"] {
        let o = borgsim(
            dir.path(),
            &[
                "run",
                scen.to_str().unwrap(),
                "-q",
                &format!("--hole-size={bad}"),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("--hole-size"),
            "{}",
            text(&o.stderr)
        );
    }
    let body = std::fs::read_to_string(&scen).unwrap().replace(
        "sample_interval_s = 300",
        "sample_interval_s = 300\npacking = { hole_size = { cpu_milli = 0, mem_mib = 0 } }",
    );
    let f = dir.path().join("zero.toml");
    std::fs::write(&f, body).unwrap();
    let o = borgsim(dir.path(), &["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("packing.hole_size"),
        "{}",
        text(&o.stderr)
    );
}
