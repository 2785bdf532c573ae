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

/// Sixteen one-core tasks on machines 0 and 1 (best fit fills them
/// first), both removed at 100 s: at 2 per 30 s, 2 go back at once and
/// 14 wait in the reschedule queue — until the trace kills the job at
/// 110 s. Each queued task waited 10 s: 140 s in all, counted although
/// none left the queue by a release.
#[test]
fn a_task_killed_in_the_reschedule_queue_counts_its_time_there() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("native");
    std::fs::create_dir(&trace).unwrap();
    let mut machines = String::from("time_us,event,machine,cpu_milli,mem_mib\n");
    for m in 0..4 {
        machines += &format!("0,add,{m},8000,16384\n");
    }
    machines += "100000000,remove,0,,\n100000000,remove,1,,\n";
    std::fs::write(trace.join("machines.csv"), machines).unwrap();
    let mut tasks = String::from("time_us,event,job,index,priority,cpu_milli,mem_mib,kind\n");
    for i in 0..16 {
        tasks += &format!("0,submit,1,{i},200,1000,1024,\n");
    }
    for i in 0..16 {
        tasks += &format!("110000000,end,1,{i},,,,kill\n");
    }
    std::fs::write(trace.join("tasks.csv"), tasks).unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "name = \"killed\"\nseed = 1\nduration_s = 600\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"native\"\nfiles = [\"native\"]\n\
         [faults.reschedule_limit]\ntasks = 2\ninterval_s = 30\n",
    )
    .unwrap();
    run_events(dir.path());
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(s["tasks"]["killed"], 16, "{}", s["tasks"]);
    let q = &s["faults"]["reschedule_queue"];
    assert_eq!(q["tasks_delayed"], 14, "{q}");
    assert_eq!(q["queued_at_end"], 0, "{q}");
    assert_eq!(q["delay_us_total"], 140_000_000u64, "{q}");
}

/// A native machine table under `dir/cell`: 8 machines, alternately of
/// 32 and 8 cores, 2 per rack, 2 racks per power domain.
fn mixed_cell(dir: &Path) {
    let cell = dir.join("cell");
    std::fs::create_dir(&cell).unwrap();
    let mut machines = String::from("time_us,event,machine,cpu_milli,mem_mib,rack,power\n");
    for m in 0..8 {
        let cores = if m % 2 == 0 { 32 } else { 8 };
        machines += &format!("0,add,{m},{},65536,r{},p{}\n", cores * 1000, m / 2, m / 4);
    }
    std::fs::write(cell.join("machines.csv"), machines).unwrap();
}

/// A synthetic workload on [`mixed_cell`], with `faults`.
fn on_mixed_cell(faults: &str) -> String {
    format!(
        "name = \"mixed\"\nseed = 4\nduration_s = 3600\n\
         [cell]\nfrom_trace = {{ format = \"native\", files = [\"cell\"] }}\n\
         [scheduler]\npolicy = \"best_fit\"\n\
         [[workload.jobs]]\nname = \"svc\"\nband = \"production\"\ninitial_jobs = 4\n\
         tasks = {{ constant = 4 }}\ncpu_milli = {{ constant = 2000 }}\nmem_mib = {{ constant = 1024 }}\n\
         {faults}"
    )
}

/// `borgsim validate` of scenario text `s` in `dir`: exit code, stderr.
fn validate(dir: &Path, s: &str) -> (Option<i32>, String) {
    std::fs::write(dir.join("s.toml"), s).unwrap();
    let o = borgsim(dir, &["validate", "s.toml"]);
    (o.status.code(), text(&o.stderr))
}

/// A cell read from a trace (`cell.from_trace`) has the trace's machine
/// classes, by capacity, smallest first (as a `[trace]` replay's): class
/// 0 is the four 8-core machines, numbered first. A rule naming it is
/// valid, and fails only those machines.
#[test]
fn a_class_on_a_cell_from_a_trace_is_the_traces_smallest_first() {
    let dir = tempfile::tempdir().unwrap();
    mixed_cell(dir.path());
    let failures = "[[faults.machine_failures]]\nclass = 0\n\
                    time_to_failure = { exponential = { mean_s = 600 } }\nrepair_s = { constant = 60 }\n";
    let (code, err) = validate(dir.path(), &on_mixed_cell(failures));
    assert_eq!(code, Some(0), "{err}");
    let o = borgsim(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--quiet",
            "--no-plots",
            "--snapshot-at",
            "0",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let snapshot = std::fs::read(dir.path().join("o/snapshot-0.csv")).unwrap();
    let cores: std::collections::BTreeMap<String, String> = csv_rows(&snapshot)
        .into_iter()
        .map(|r| (r["machine"].clone(), r["capacity_cpu_milli"].clone()))
        .collect();
    let rows = csv_rows(&std::fs::read(dir.path().join("o/failures.csv")).unwrap());
    assert!(rows.len() > 4, "{rows:?}");
    for r in &rows {
        assert_eq!(cores[&r["domain"]], "8000", "{r:?}");
    }
    // Class 2 does not exist: named with the file, the count and range.
    let bad = failures.replace("class = 0", "class = 2");
    let (code, err) = validate(dir.path(), &on_mixed_cell(&bad));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "s.toml: faults.machine_failures[0].class: no such machine class: the cell has 2 \
             machine classes (the trace's, by capacity, smallest first: 0 to 1), got 2"
        ),
        "{err}"
    );
}

/// What `run` refuses on a cell read from a trace, `validate` refuses
/// too, naming the scenario's file, the level and the valid range; and
/// so for a `[trace]` replay's cell.
#[test]
fn validate_checks_faults_on_a_cell_read_from_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    mixed_cell(dir.path());
    let outage = "[[faults.outages]]\nlevel = \"power_domain\"\nat_s = 60\ndomain = 2\n\
                  duration_s = { constant = 60 }\n";
    let (code, err) = validate(dir.path(), &on_mixed_cell(outage));
    assert_eq!(code, Some(2), "{err}");
    let want = "s.toml: faults.outages[0].domain: the cell has 2 domains at level \
                power_domain (0 to 1), got 2";
    assert!(err.contains(want), "{err}");
    let o = borgsim(dir.path(), &["run", "s.toml", "--quiet", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains(want), "{}", text(&o.stderr));
    // A replay of the same machines (no task): its cell is read too.
    std::fs::write(
        dir.path().join("cell/tasks.csv"),
        "time_us,event,job,index,priority,cpu_milli,mem_mib\n",
    )
    .unwrap();
    let replay = format!(
        "name = \"r\"\nseed = 1\nduration_s = 600\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"native\"\nfiles = [\"cell\"]\n{outage}\
         [[faults.unreachable]]\nclass = 3\ntime_between = {{ exponential = {{ mean_s = 60 }} }}\n\
         duration_s = {{ constant = 1 }}\ngrace_s = 1\n"
    );
    let (code, err) = validate(dir.path(), &replay);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(want), "{err}");
    let fixed = replay.replace("domain = 2", "domain = 1");
    let (code, err) = validate(dir.path(), &fixed);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("s.toml: faults.unreachable[0].class: no such machine class: the cell has 2"),
        "{err}"
    );
}

/// 4 racks of 4 machines, 2 racks per row and per power domain, prod
/// services of 8 one-core tasks (at most 2 per rack), and `extra`.
fn rows_cell(extra: &str) -> String {
    format!(
        "name = \"rows\"\nseed = 5\nduration_s = 3600\n\
         [cell]\nmachines_per_rack = 4\nracks_per_row = 2\nracks_per_power_domain = 2\n\
         [[cell.machines]]\ncount = 16\ncpu_milli = 8000\nmem_mib = 16384\n\
         [scheduler]\npolicy = \"best_fit\"\npass_interval_ms = 1000\n\
         [[workload.jobs]]\nname = \"svc\"\nband = \"production\"\ninitial_jobs = 4\n\
         tasks = {{ constant = 8 }}\ncpu_milli = {{ constant = 1000 }}\nmem_mib = {{ constant = 1024 }}\n\
         max_per_rack = 2\n{extra}"
    )
}

/// A row outage takes both racks of the row, 8 machines, at once, and
/// gives them back together; a row beyond the cell's is named with its
/// level and range.
#[test]
fn an_outage_may_take_out_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let outage = "[[faults.outages]]\nlevel = \"row\"\nat_s = 600\ndomain = 1\n\
                  duration_s = { constant = 300 }\n";
    let (code, err) = validate(dir.path(), &rows_cell(outage));
    assert_eq!(code, Some(0), "{err}");
    let events = run_events(dir.path());
    let at = |event: &str, t: &str| -> Vec<String> {
        let rows = events
            .iter()
            .filter(|e| e["event"] == event && e["time_s"] == t);
        rows.map(|e| e["machine"].clone()).collect()
    };
    // Row 1 is racks 2 and 3: machines 8 to 15.
    let row: Vec<String> = (8..16).map(|m| m.to_string()).collect();
    assert_eq!(at("machine_down", "600.000000"), row);
    assert_eq!(at("machine_up", "900.000000"), row);
    let rows = csv_rows(&std::fs::read(dir.path().join("o/failures.csv")).unwrap());
    let r = &rows[0];
    assert_eq!(
        (
            r["kind"].as_str(),
            r["level"].as_str(),
            r["domain"].as_str(),
            r["machines"].as_str()
        ),
        ("outage", "row", "1", "8")
    );
    // Each service has at most 2 tasks per rack: 4 in a row at most.
    assert!(r["max_job_tasks"].parse::<u32>().unwrap() <= 4, "{r:?}");
    let (code, err) = validate(
        dir.path(),
        &rows_cell(&outage.replace("domain = 1", "domain = 2")),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "faults.outages[0].domain: the cell has 2 domains at level row (0 to 1), got 2"
        ),
        "{err}"
    );
}

/// A drain is one-off: a run without duration_s refuses it for what it
/// may do (wait for ever), and `[[faults.maintenance]]` is refused saying
/// one table is expected.
#[test]
fn a_drain_is_refused_with_the_real_reason() {
    let dir = tempfile::tempdir().unwrap();
    let drain =
        "start_s = 60\nmax_down = 2\nmax_job_share_pct = 25\nduration_s = { constant = 60 }\n";
    let drained =
        rows_cell(&format!("[faults.maintenance]\n{drain}")).replace("duration_s = 3600\n", "");
    let (code, err) = validate(dir.path(), &drained);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("s.toml: faults.maintenance: "), "{err}");
    assert!(
        err.contains("may wait for ever") && !err.contains("recurs"),
        "{err}"
    );
    let (code, err) = validate(
        dir.path(),
        &rows_cell(&format!("[[faults.maintenance]]\n{drain}")),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("expected one table [faults.maintenance]") && !err.contains("u64"),
        "{err}"
    );
}

/// Faults that can do nothing are warned of, each by its key: an outage
/// or a drain starting at or after the run's end, a crash rule that no
/// job class matches or whose matches an earlier rule takes.
#[test]
fn faults_that_can_do_nothing_are_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let idle = "[[faults.outages]]\nlevel = \"rack\"\nat_s = 3600\ndomain = 0\n\
                duration_s = { constant = 60 }\n\
                [[faults.outages]]\nlevel = \"rack\"\nat_s = 3599\ndomain = 0\n\
                duration_s = { constant = 60 }\n\
                [faults.maintenance]\nstart_s = 4000\nmax_down = 1\nmax_job_share_pct = 10\n\
                duration_s = { constant = 60 }\n\
                [[faults.task_crashes]]\nper_task_hour = 1\nband = \"batch\"\n\
                [[faults.task_crashes]]\nper_task_hour = 1\njob_class = \"svc\"\n\
                [[faults.task_crashes]]\nper_task_hour = 1\nband = \"production\"\n";
    let (code, err) = validate(dir.path(), &rows_cell(idle));
    assert_eq!(code, Some(0), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    let want = [
        "warning: s.toml: faults.outages[0].at_s: 3600 s is at or after the run's end \
         (duration_s = 3600): the outage never happens",
        "warning: s.toml: faults.maintenance.start_s: 4000 s is at or after the run's end \
         (duration_s = 3600): the drain never happens",
        "warning: s.toml: faults.task_crashes[0]: no job class of workload.jobs matches \
         band = \"batch\": it crashes no task",
        "warning: s.toml: faults.task_crashes[2]: every job class it matches is an earlier \
         rule's (a task's rule is the first that matches it): it crashes no task",
    ];
    assert_eq!(warnings, want);
    let o = borgsim(dir.path(), &["validate", "s.toml"]);
    assert!(
        text(&o.stdout).contains("4 warnings"),
        "{}",
        text(&o.stdout)
    );
}

/// End to end, a crash is never seen on a machine out of contact: every
/// `task_crash` eviction in the event log is on a machine in contact.
#[test]
fn no_task_crashes_on_a_machine_out_of_contact() {
    let dir = tempfile::tempdir().unwrap();
    let faults = "[[faults.unreachable]]\ntime_between = { exponential = { mean_s = 600 } }\n\
                  duration_s = { constant = 120 }\ngrace_s = 600\n\
                  [[faults.task_crashes]]\nper_task_hour = 20\n";
    std::fs::write(dir.path().join("s.toml"), rows_cell(faults)).unwrap();
    let events = run_events(dir.path());
    let mut out_of_contact = std::collections::BTreeSet::new();
    let mut crashes = 0;
    for e in &events {
        let m = e["machine"].clone();
        match (e["event"].as_str(), e["reason"].as_str()) {
            ("machine_unreachable", _) => {
                out_of_contact.insert(m);
            }
            ("machine_reachable" | "machine_down", _) => {
                out_of_contact.remove(&m);
            }
            ("evict", "task_crash") => {
                crashes += 1;
                assert!(!out_of_contact.contains(&m), "{e:?}");
            }
            _ => {}
        }
    }
    assert!(crashes > 100, "{crashes}");
}
