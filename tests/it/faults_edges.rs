//! Fault injection's edges, found in review: a trace's REMOVE of a machine
//! a fault holds down, faults checked against a cell read from a trace
//! (`validate` as `run`), the drain of a run without a horizon, task
//! crashes out of contact, the reschedule queue's time for tasks killed
//! in it, row outages, and the warnings of faults that can do nothing.

use super::{borgsim, csv_rows, text};
use std::path::Path;

/// Writes a native trace under `dir/native`: 8 machines of 16 cores, 4
/// per rack (machines 1–4 rack r0), machines 3 and 4 removed at 1,000 s
/// and machine 3 added back at 2,000 s; and 24 four-core services
/// submitted at 1 s.
fn remove_trace(dir: &Path) {
    let trace = dir.join("native");
    std::fs::create_dir(&trace).unwrap();
    let mut machines = String::from("time_us,event,machine,cpu_milli,mem_mib,rack,power\n");
    for m in 1..=8 {
        machines += &format!("0,add,{m},16000,65536,r{},p0\n", (m - 1) / 4);
    }
    machines += "1000000000,remove,3,,,,\n1000000000,remove,4,,,,\n";
    machines += "2000000000,add,3,16000,65536,r0,p0\n";
    std::fs::write(trace.join("machines.csv"), machines).unwrap();
    let mut tasks = String::from("time_us,event,job,index,priority,cpu_milli,mem_mib\n");
    for i in 0..24 {
        tasks += &format!("1000000,submit,1,{i},200,4000,4096\n");
    }
    std::fs::write(trace.join("tasks.csv"), tasks).unwrap();
}

/// Runs `s.toml` in `dir` with the event log; returns its rows.
fn run_events(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let o = borgsim(
        dir,
        &[
            "run",
            "s.toml",
            "--quiet",
            "--no-plots",
            "--check-invariants",
            "--events",
            "events.csv",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    csv_rows(&std::fs::read(dir.join("events.csv")).unwrap())
}

/// A rack outage from 900 s to 2,400 s holds trace machines 3 and 4
/// (cell machines 2 and 3) when the trace removes them at 1,000 s: the
/// trace has the last word, so machine 4, never added back, stays out
/// after the outage, and both REMOVEs are `remove` faults.
#[test]
fn a_machine_the_trace_removed_stays_out_when_the_outage_ends() {
    let dir = tempfile::tempdir().unwrap();
    remove_trace(dir.path());
    std::fs::write(
        dir.path().join("s.toml"),
        "name = \"holds\"\nseed = 3\nduration_s = 3600\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"native\"\nfiles = [\"native\"]\n\
         [[faults.outages]]\nlevel = \"rack\"\nat_s = 900\ndomain = 0\n\
         duration_s = { constant = 1500 }\n",
    )
    .unwrap();
    let events = run_events(dir.path());
    let on_3_after = |event: &str, t: f64| {
        events
            .iter()
            .filter(|e| e["event"] == event && e["machine"] == "3")
            .any(|e| e["time_s"].parse::<f64>().unwrap() > t)
    };
    assert!(!on_3_after("machine_up", 1000.0), "machine 3 came back");
    assert!(!on_3_after("place", 1000.0), "a task placed on machine 3");
    // Machine 2 (trace machine 3) is the trace's again at 2,000 s.
    let up_2: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "machine_up" && e["machine"] == "2")
        .map(|e| e["time_s"].as_str())
        .collect();
    assert_eq!(up_2, ["0.000000", "2000.000000"]);
    let rows = csv_rows(&std::fs::read(dir.path().join("o/failures.csv")).unwrap());
    let removes: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["kind"] == "remove")
        .map(|r| (r["time_us"].as_str(), r["domain"].as_str()))
        .collect();
    assert_eq!(removes, [("1000000000", "2"), ("1000000000", "3")]);
}
