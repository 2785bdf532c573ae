//! Built-in scenarios run from a binary copied away from its checkout, in
//! any directory: their TOML and the trace files they replay are compiled
//! in. A user's scenario file still reads real files relative to itself.

use super::{root, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary, copied into a fresh directory of its own.
fn copied_binary() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let built = Path::new(env!("CARGO_BIN_EXE_borgsim"));
    let exe = dir.path().join(built.file_name().unwrap());
    fs::copy(built, &exe).unwrap();
    (dir, exe)
}

/// Runs the copy. A fresh copy can be "busy" (ETXTBSY) for a moment: a
/// test thread forking meanwhile holds the copy's write descriptor until
/// its child execs. That is the test harness's race, not borgsim's, so it
/// is retried.
fn run(exe: &Path, cwd: &Path, args: &[&str]) -> Output {
    const ETXTBSY: i32 = 26;
    for _ in 0..100 {
        match Command::new(exe).args(args).current_dir(cwd).output() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r.expect("the copied binary runs"),
        }
    }
    panic!("the copied binary stayed busy for 2 s");
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_copied_binary_validates_and_runs_openb_from_another_directory() {
    let (_bin, exe) = copied_binary();
    let cwd = tempfile::tempdir().unwrap();
    for (name, _) in borgsim::scenario::BUILTIN {
        let out = run(&exe, cwd.path(), &["validate", name]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
    }
    let out = run(&exe, cwd.path(), &["validate", "openb"]);
    assert!(
        text(&out.stdout).contains("openb trace (2 files)"),
        "{}",
        text(&out.stdout)
    );
    let out = run(
        &exe,
        cwd.path(),
        &["run", "openb", "--quiet", "--no-plots", "--out", "o"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = json(&cwd.path().join("o/summary.json"));
    // The shipped lists: 1,213 GPU nodes and 8,152 default pods.
    assert_eq!(s["machines"], 1213);
    assert_eq!(s["trace"]["submissions_read"], 8152);
    assert!(s["gpu_packing"]["gpu_alloc_pct_at_demand_pct"]["130"].as_f64() > Some(50.0));
}

/// `bench` runs its cases (this binary, as children) in a directory of
/// their own: a file named like a case where `bench` starts does not
/// replace the built-in. GPU allocation is among the results compared.
#[test]
fn a_copied_binary_benches_openb_and_compares_gpu_allocation() {
    let (_bin, exe) = copied_binary();
    let cwd = tempfile::tempdir().unwrap();
    let d = cwd.path();
    fs::write(d.join("openb"), "not a scenario").unwrap();
    let case = ["bench", "--case", "openb-gpu_keep_whole", "--repeat", "1"];
    let out = run(&exe, d, &[&case[..], &["--json", "base.json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let base = json(&d.join("base.json"));
    let results = &base["cases"][0]["results"];
    let key = "gpu_packing.gpu_alloc_pct_at_demand_pct.130";
    let pct = results[key].as_f64().unwrap();
    assert!(results["utilization.gpu.total"].as_f64() > Some(0.0));
    assert_eq!(results["policy"], "gpu_keep_whole");

    // A baseline whose GPU allocation differs: today's run is a regression.
    let mut changed = base.clone();
    changed["cases"][0]["results"][key] = (pct + 1.0).into();
    fs::write(d.join("changed.json"), changed.to_string()).unwrap();
    let args = [
        &case[..],
        &["--baseline", "changed.json", "--no-time-check"],
    ]
    .concat();
    let out = run(&exe, d, &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let want = format!(
        "REGRESSION openb-gpu_keep_whole: result {key} {} -> {pct}",
        pct + 1.0
    );
    assert!(text(&out.stdout).contains(&want), "{}", text(&out.stdout));
}

/// A scenario file is not a built-in, even under a built-in's name: its
/// trace files are read from disk relative to it, and missing ones named.
#[test]
fn a_scenario_file_reads_its_trace_files_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("scenarios/openb.toml"),
        dir.path().join("openb.toml"),
    )
    .unwrap();
    let out = super::borgsim(dir.path(), &["validate", "openb.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("openb_node_list_gpu_node.csv"), "{err}");
    assert!(!err.contains("<embedded>"), "{err}");
}
