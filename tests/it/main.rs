//! One integration-test binary (fewer link steps, one place to look): real
//! scenarios run end to end, through the library and through the real binary.

// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

mod alibaba_lifecycle;
mod bench;
mod browser;
mod cli;
mod cluster;
mod compact;
mod compare;
mod conservation;
mod determinism;
mod done_when;
mod embedded;
mod events;
mod experiment;
mod explain;
mod failure_domains;
mod failures;
mod faults;
mod faults_edges;
mod fgd_experiment;
mod fgd_general;
mod fgd_identity;
mod fgd_policies;
mod float_maths;
mod golden;
mod hand_worked;
mod inflate;
mod interrupt;
mod one_by_one_refusals;
mod oom_backoff;
mod packing;
mod policies;
mod properties;
mod reclamation;
mod reclamation_compact;
mod reclamation_scenario;
mod reclamation_series;
mod report;
mod reschedule_queued;
mod schema;
mod streaming;
mod sweep;
mod sweep_capacity;
mod synth_usage;
mod techniques;
mod tidy;
mod trace_cli;
mod trace_failures;
mod trace_formats;
mod trace_fuzz;
mod trace_jobs;
mod trace_replay;
mod trace_usage;
mod trace_usage_reschedule;
mod usage_model;
mod user_plugins;
mod why_pending;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real `borgsim` binary with `args`, in `cwd`.
pub fn borgsim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the borgsim binary runs")
}

/// Runs `borgsim run <scenario> --out <dir>/out --events <dir>/events.csv
/// -q --no-plots`, which must succeed; returns the output directory and
/// the event log's path.
pub fn run_logged(scenario: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let (out, events) = (dir.join("out"), dir.join("events.csv"));
    let o = borgsim(
        &root(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
            "-q",
            "--no-plots",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    (out, events)
}

/// Runs a capacity-planning command (`compact`, `inflate`, …):
/// `borgsim <command…> <scenario> --out <out> -q --no-plots <args>`.
pub fn planning(command: &[&str], scenario: &Path, out: &Path, args: &[&str]) -> Output {
    let mut all = command.to_vec();
    all.extend([
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--no-plots",
    ]);
    all.extend_from_slice(args);
    borgsim(&root(), &all)
}

/// The JSON result `file` of a [`planning`] command that must succeed.
pub fn planned(command: &[&str], scenario: &Path, args: &[&str], file: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = planning(command, scenario, &out, args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    serde_json::from_slice(&std::fs::read(out.join(file)).unwrap()).unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A CSV file's rows as column name → value: tests read outputs by column
/// name, never by position.
pub fn csv_rows(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
