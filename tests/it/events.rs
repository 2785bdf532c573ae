//! The event log (`--events`) and snapshots (`--snapshot-at`) agree with
//! `summary.json` (issue "What people look at"): placements, evictions by
//! cause, finishes, kills, drops and submissions recounted from the log
//! equal the summary's, and so do the tasks running and pending at the end
//! when the log is replayed task by task; a snapshot's machines equal the
//! log replayed up to its time; the log is byte-identical run to run, and
//! its `.gz` form decompresses to the same bytes.

use super::{borgsim, root, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One row of the log, by column name.
type Row = BTreeMap<String, String>;

fn read_csv(bytes: &[u8]) -> Vec<Row> {
    super::csv_rows(bytes)
}

/// `12.000500` → 12000500 µs.
fn us(time_s: &str) -> u64 {
    let (s, frac) = time_s.split_once('.').unwrap();
    assert_eq!(frac.len(), 6, "{time_s}");
    s.parse::<u64>().unwrap() * 1_000_000 + frac.parse::<u64>().unwrap()
}

fn num(r: &Row, col: &str) -> u64 {
    r[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", r[col]))
}

/// Runs `args` with the real binary in `cwd`; fails on a non-zero exit.
fn run_ok(cwd: &Path, args: &[&str]) -> String {
    let o = borgsim(cwd, args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    text(&o.stderr)
}

/// Runs `scenario` from `cwd` into `dir/out`, its log into `dir/<log>`;
/// returns the summary and the log's rows.
fn run_logged(
    cwd: &Path,
    scenario: &str,
    dir: &Path,
    log: &str,
    extra: &[&str],
) -> (Value, Vec<Row>) {
    let out = dir.join("out");
    let log = dir.join(log);
    let mut args = vec![
        "run",
        scenario,
        "--out",
        out.to_str().unwrap(),
        "--events",
        log.to_str().unwrap(),
        "--no-plots",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run_ok(cwd, &args);
    let summary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let bytes = match log.extension().is_some_and(|x| x == "gz") {
        true => gunzip(&log),
        false => std::fs::read(&log).unwrap(),
    };
    (summary, read_csv(&bytes))
}

/// What the log says happened, counted.
#[derive(Debug, Default)]
struct Recount {
    by_event: BTreeMap<String, u64>,
    evictions: BTreeMap<String, u64>,
    /// Runs of tasks (a submit starts one) placed, and evicted, at least once.
    started: BTreeSet<u64>,
    evicted: BTreeSet<u64>,
    running_at_end: u64,
    pending_at_end: u64,
}

/// Counts the rows, and replays each task's state by its slot id (a slot
/// is reused only after its task is done, and a reused one starts with a
/// `submit`). A trace may submit a task again once its run has ended: each
/// submit starts a run of its own. A run's rows all name the same task.
fn recount(rows: &[Row]) -> Recount {
    let mut c = Recount::default();
    let mut state: BTreeMap<u64, &str> = BTreeMap::new();
    let mut run_of: BTreeMap<u64, u64> = BTreeMap::new();
    let mut name_of: BTreeMap<u64, (&str, &str, &str)> = BTreeMap::new();
    let mut runs = 0;
    let mut last = 0;
    for r in rows {
        let t = us(&r["time_s"]);
        assert!(t >= last, "rows out of time order at {r:?}");
        last = t;
        let ev = r["event"].as_str();
        *c.by_event.entry(ev.to_string()).or_default() += 1;
        if ev.starts_with("machine_") {
            assert!(r["task_id"].is_empty() && !r["machine"].is_empty(), "{r:?}");
            continue;
        }
        let slot = num(r, "task_id");
        let before = state.get(&slot).copied();
        let (from, to): (&[Option<&str>], &str) = match ev {
            "submit" => (&[None, Some("done")], "pending"),
            "place" => (&[Some("pending")], "running"),
            "evict" => (&[Some("running")], "pending"),
            "finish" => (&[Some("running")], "done"),
            "kill" => (&[Some("running"), Some("pending")], "done"),
            "drop" => (&[Some("pending")], "done"),
            _ => panic!("unknown event {ev:?}"),
        };
        assert!(from.contains(&before), "{ev} of a task {before:?}: {r:?}");
        // A running task's rows name its machine; a pending one's none.
        let on_machine = matches!(ev, "place" | "evict" | "finish")
            || (ev == "kill" && before == Some("running"));
        assert_eq!(!r["machine"].is_empty(), on_machine, "{r:?}");
        assert_eq!(!r["reason"].is_empty(), ev == "evict", "{r:?}");
        state.insert(slot, to);
        let name = (
            r["job_id"].as_str(),
            r["task"].as_str(),
            r["job_name"].as_str(),
        );
        if ev == "submit" {
            runs += 1;
            run_of.insert(slot, runs);
            name_of.insert(slot, name);
        }
        assert_eq!(name_of[&slot], name, "a task's rows name it alike: {r:?}");
        let run = run_of[&slot];
        match ev {
            "place" => {
                c.started.insert(run);
            }
            "evict" => {
                *c.evictions.entry(r["reason"].clone()).or_default() += 1;
                c.evicted.insert(run);
            }
            _ => {}
        }
    }
    c.running_at_end = state.values().filter(|&&s| s == "running").count() as u64;
    c.pending_at_end = state.values().filter(|&&s| s == "pending").count() as u64;
    c
}

/// The log's counts equal `summary.json`'s, exactly.
fn assert_agrees(s: &Value, rows: &[Row], what: &str) -> Recount {
    let c = recount(rows);
    let n = |ev: &str| c.by_event.get(ev).copied().unwrap_or(0);
    let t = &s["tasks"];
    let held = t["held_at_end"].as_u64().unwrap();
    let pairs = [
        (
            "submit",
            n("submit"),
            t["submitted"].as_u64().unwrap() - held,
        ),
        ("place", n("place"), t["placements"].as_u64().unwrap()),
        ("finish", n("finish"), t["finished"].as_u64().unwrap()),
        ("kill", n("kill"), t["killed"].as_u64().unwrap()),
        ("drop", n("drop"), t["dropped"].as_u64().unwrap()),
        (
            "scheduled",
            c.started.len() as u64,
            t["scheduled"].as_u64().unwrap(),
        ),
        (
            "evicted",
            c.evicted.len() as u64,
            t["evicted"].as_u64().unwrap(),
        ),
        (
            "running_at_end",
            c.running_at_end,
            t["running_at_end"].as_u64().unwrap(),
        ),
        (
            "pending_at_end",
            c.pending_at_end,
            t["pending_at_end"].as_u64().unwrap() - held,
        ),
    ];
    for (name, log, summary) in pairs {
        assert_eq!(
            log, summary,
            "{what}: {name}: the log says {log}, summary.json {summary}"
        );
    }
    for (cause, v) in s["evictions"].as_object().unwrap() {
        let log = c.evictions.get(cause).copied().unwrap_or(0);
        assert_eq!(log, v.as_u64().unwrap(), "{what}: evictions.{cause}");
    }
    assert_eq!(
        c.evictions
            .keys()
            .filter(|k| !s["evictions"].as_object().unwrap().contains_key(*k))
            .count(),
        0,
        "{what}: a cause summary.json does not know: {:?}",
        c.evictions
    );
    c
}

#[test]
fn quickstart_log_recounts_the_summary_preemptions_included() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rows) = run_logged(
        &root(),
        "scenarios/quickstart.toml",
        dir.path(),
        "ev.csv",
        &[],
    );
    let c = assert_agrees(&s, &rows, "quickstart");
    // Not vacuous: quickstart preempts, and every kind of task row appears.
    assert!(c.evictions["preemption"] > 100, "{c:?}");
    for ev in ["submit", "place", "evict", "finish"] {
        assert!(c.by_event[ev] > 0, "{ev}: {c:?}");
    }
    // A synthetic job is named by its class and serial, and its id is the
    // same in pending.csv.
    let place = rows.iter().find(|r| r["event"] == "place").unwrap();
    assert!(
        place["job_name"].contains('-') && !place["band"].is_empty(),
        "{place:?}"
    );
    let pending = read_csv(&std::fs::read(dir.path().join("out/pending.csv")).unwrap());
    for p in &pending {
        let last = rows
            .iter()
            .rev()
            .find(|r| r["task_id"] == p["task_id"])
            .expect("a pending task has rows");
        assert_eq!(
            (&last["job_id"], &last["job_name"]),
            (&p["job_id"], &p["job_name"])
        );
        assert!(
            matches!(last["event"].as_str(), "submit" | "evict"),
            "{last:?}"
        );
    }
}

/// The hand-written Google 2011 fixture: machine 2 leaves at 5 s and
/// returns at 9 s, evicting what runs on it, in both replay modes.
#[test]
fn trace_replays_log_machines_and_evictions_by_cause() {
    let fixtures = root().join("tests/fixtures/scenarios");
    for scenario in ["google2011-placement.toml", "google2011-reschedule.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let (s, rows) = run_logged(&fixtures, scenario, dir.path(), "ev.csv", &[]);
        let c = assert_agrees(&s, &rows, scenario);
        let machine_rows: Vec<_> = rows
            .iter()
            .filter(|r| r["event"].starts_with("machine_"))
            .map(|r| (us(&r["time_s"]), r["event"].as_str(), num(r, "cpu_milli")))
            .collect();
        // Three machines come up at 0 s; machine 2 leaves at 5 s and is back at 9 s.
        let ups = machine_rows.iter().filter(|m| m.1 == "machine_up").count();
        assert_eq!(ups, 4, "{scenario}: {machine_rows:?}");
        assert!(
            machine_rows.contains(&(5_000_000, "machine_down", 0)),
            "{scenario}: {machine_rows:?}"
        );
        assert!(c.evictions["machine_down"] > 0, "{scenario}: {c:?}");
        // Tasks are named as the trace does: job 100's tasks 0 and 1.
        assert!(rows
            .iter()
            .any(|r| r["job_id"] == "100" && r["task"] == "1"));
    }
}

/// A synthetic Google-2011-shaped trace (three days of 100 machines, a gz
/// log): machines leave and return under running tasks, prod preempts
/// batch, tasks run in parts of trace jobs.
#[test]
fn a_synthetic_trace_with_machine_churn_recounts_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("syn");
    run_ok(
        dir.path(),
        &[
            "trace",
            "synth",
            "--shape",
            "google2011",
            "--machines",
            "100",
            "--days",
            "3",
            "--out",
            trace.to_str().unwrap(),
        ],
    );
    let sc = dir.path().join("syn.toml");
    std::fs::write(
        &sc,
        "name = \"syn\"\nseed = 1\n[scheduler]\npolicy = \"hybrid\"\n\
         [trace]\nformat = \"google2011\"\nfiles = [\"syn\"]\n",
    )
    .unwrap();
    let (s, rows) = run_logged(dir.path(), "syn.toml", dir.path(), "ev.csv.gz", &[]);
    let c = assert_agrees(&s, &rows, "syn");
    assert!(
        c.evictions["machine_down"] > 0 && c.evictions["preemption"] > 0,
        "{c:?}"
    );
    assert!(
        c.by_event["machine_down"] > 0 && c.by_event["machine_up"] > 0,
        "{c:?}"
    );
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Two runs write the same bytes, and the `.gz` log holds the plain one.
#[test]
fn the_log_is_byte_identical_run_to_run_and_gz_holds_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<PathBuf> = ["a.csv", "b.csv", "c.csv.gz", "d.csv.gz"]
        .iter()
        .map(|name| {
            let sub = dir.path().join(name.replace('.', "-"));
            run_logged(&root(), "tests/golden/tiny.toml", &sub, name, &[]);
            sub.join(name)
        })
        .collect();
    let plain = std::fs::read(&logs[0]).unwrap();
    assert!(plain.len() > 1000, "{}", plain.len());
    assert_eq!(plain, std::fs::read(&logs[1]).unwrap());
    assert_eq!(
        std::fs::read(&logs[2]).unwrap(),
        std::fs::read(&logs[3]).unwrap()
    );
    assert_eq!(gunzip(&logs[2]), plain);
    // Only the finished logs are left: no temporary file beside them.
    for l in &logs {
        let names: Vec<_> = std::fs::read_dir(l.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}

/// A machine's load replayed from the log: (cpu, mem, gpu, tasks as
/// `job_id/task`).
type Load = (u64, u64, u64, Vec<String>);

/// Every machine's load after every row at or before `t_us`.
fn loads_at(rows: &[Row], t_us: u64) -> BTreeMap<u64, Load> {
    let mut running: BTreeMap<u64, (u64, [u64; 3], String)> = BTreeMap::new();
    for r in rows.iter().take_while(|r| us(&r["time_s"]) <= t_us) {
        match r["event"].as_str() {
            "place" => {
                let req = [num(r, "cpu_milli"), num(r, "mem_mib"), num(r, "gpu_milli")];
                let name = format!("{}/{}", r["job_id"], r["task"]);
                running.insert(num(r, "task_id"), (num(r, "machine"), req, name));
            }
            "evict" | "finish" | "kill" | "drop" => {
                running.remove(&num(r, "task_id"));
            }
            _ => {}
        }
    }
    let mut loads: BTreeMap<u64, Load> = BTreeMap::new();
    for (m, req, name) in running.into_values() {
        let l = loads.entry(m).or_default();
        l.0 += req[0];
        l.1 += req[1];
        l.2 += req[2];
        l.3.push(name);
    }
    loads
}

/// `a/b` task names in submission order: by job id, then index (a
/// synthetic run's names are numbers).
fn by_submission(names: &mut [String]) {
    names.sort_by_key(|n| {
        let (j, t) = n.split_once('/').unwrap();
        (j.parse::<u64>().unwrap(), t.parse::<u64>().unwrap())
    });
}

/// Checks a snapshot against the log replayed to its time, machine by
/// machine; returns its totals (CPU allocated, tasks).
fn check_snapshot(file: &str, snap: &[Row], rows: &[Row], t_us: u64) -> [u64; 2] {
    let loads = loads_at(rows, t_us);
    assert_eq!(snap.len(), 250, "{file}: a row per machine");
    let mut totals = [0u64; 2];
    for (i, r) in snap.iter().enumerate() {
        assert_eq!(num(r, "machine"), i as u64, "{file}: in machine order");
        let list: Vec<String> = r["task_list"]
            .split_whitespace()
            .map(String::from)
            .collect();
        // The log's tasks on the machine, in submission order: the
        // snapshot lists them so.
        let mut want = loads.get(&(i as u64)).cloned().unwrap_or_default();
        by_submission(&mut want.3);
        let got = (
            num(r, "allocated_cpu_milli"),
            num(r, "allocated_mem_mib"),
            num(r, "allocated_gpu_milli"),
            list,
        );
        assert_eq!(num(r, "tasks"), got.3.len() as u64);
        assert_eq!(got, want, "{file}: machine {i}");
        totals[0] += num(r, "allocated_cpu_milli");
        totals[1] += num(r, "tasks");
    }
    assert!(totals[1] > 0, "{file}: an empty cell proves little");
    totals
}

/// The time series' totals at `t_us` (CPU allocated, tasks running), if it
/// has a row then and the log no row at that instant (the sample is taken
/// among the events of its instant; the snapshot after all of them).
fn series_totals_at(series: &[Row], rows: &[Row], t_us: u64) -> Option<[u64; 2]> {
    let at_t = |r: &Row| us(&r["time_s"]) == t_us;
    let sample = series.iter().find(|r| at_t(r))?;
    if rows.iter().any(at_t) {
        return None;
    }
    let sum = |prefix: &str| -> u64 {
        sample
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .sum()
    };
    Some([sum("cpu_milli_"), sum("running_")])
}

#[test]
fn snapshots_equal_the_log_replayed_to_their_time_and_the_time_series() {
    let dir = tempfile::tempdir().unwrap();
    // 0 (after the submissions at 0 and the pass that places them), 10
    // min, 1 h (as 60m), the horizon (7200 s), and 1 h again (one file).
    let extra = [
        "--snapshot-at",
        "0",
        "--snapshot-at",
        "600",
        "--snapshot-at",
        "60m",
        "--snapshot-at",
        "2h",
        "--snapshot-at",
        "3600s",
    ];
    let (_, rows) = run_logged(
        &root(),
        "scenarios/quickstart.toml",
        dir.path(),
        "ev.csv",
        &extra,
    );
    let out = dir.path().join("out");
    let series = read_csv(&std::fs::read(out.join("timeseries.csv")).unwrap());
    let mut compared_with_series = 0;
    for t_s in [0, 600, 3600, 7200] {
        let file = format!("snapshot-{t_s}.csv");
        let snap = read_csv(&std::fs::read(out.join(&file)).unwrap());
        let totals = check_snapshot(&file, &snap, &rows, t_s * 1_000_000);
        if let Some(series) = series_totals_at(&series, &rows, t_s * 1_000_000) {
            assert_eq!(series, totals, "{file} vs timeseries.csv");
            compared_with_series += 1;
        }
    }
    assert!(
        compared_with_series > 0,
        "no snapshot could be compared with the series"
    );
    let snaps: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("snapshot-"))
        .collect();
    assert_eq!(snaps.len(), 4, "{snaps:?}");
}

/// Bad flags are bad input (exit code 2, the flag named), found before the
/// run; a snapshot after a drained run's end is a warning.
#[test]
fn bad_flags_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out");
    let refused = |args: &[&str], says: &str| {
        let mut all = vec![
            "run",
            "scenarios/quickstart.toml",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        all.extend_from_slice(args);
        let o = borgsim(&root(), &all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: nothing is written");
    };
    refused(
        &["--snapshot-at", "7201"],
        "--snapshot-at: 7201 s is after the run's end at duration_s = 7200 s",
    );
    refused(&["--snapshot-at", "1 hour"], "--snapshot-at");
    let inside = out.join("events.csv");
    refused(
        &["--events", inside.to_str().unwrap()],
        "--events: is inside the run's directory",
    );
    refused(
        &["--events", d.to_str().unwrap()],
        "--events: names a directory",
    );
    let blocked = d.join("file");
    std::fs::write(&blocked, "").unwrap();
    let under_file = blocked.join("events.csv");
    refused(
        &["--events", under_file.to_str().unwrap()],
        "--events: cannot write the event log here",
    );
    // Drained (no duration_s): the end is known only once it is reached.
    let sc = root().join("tests/fixtures/drain-horizon/scenario-s1.toml");
    let err = run_ok(
        d,
        &[
            "run",
            sc.to_str().unwrap(),
            "--out",
            "o",
            "--no-plots",
            "--snapshot-at",
            "1d",
            "--snapshot-at",
            "5",
        ],
    );
    assert!(err.contains("warning: --snapshot-at 86400: the run ended at 1100 s, before it; no snapshot-86400.csv written"), "{err}");
    assert!(d.join("o/snapshot-5.csv").exists() && !d.join("o/snapshot-86400.csv").exists());
}

/// A run that fails leaves no log, and an earlier log as it was.
#[test]
fn a_failed_run_leaves_the_earlier_log_untouched_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let swf =
        std::fs::read_to_string(root().join("tests/fixtures/drain-horizon/jobs.swf")).unwrap();
    std::fs::write(
        d.join("jobs.swf"),
        format!("{swf}3 oops 0 100 16 -1 -1 16 200 -1 1 1 1 1 1 1 -1 -1\n"),
    )
    .unwrap();
    let toml =
        std::fs::read_to_string(root().join("tests/fixtures/drain-horizon/scenario-s1.toml"))
            .unwrap();
    std::fs::write(d.join("bad.toml"), toml).unwrap();
    std::fs::write(d.join("ev.csv"), "earlier\n").unwrap();
    let o = borgsim(
        d,
        &[
            "run", "bad.toml", "--out", "o", "--events", "ev.csv", "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("jobs.swf:6"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("ev.csv")).unwrap(),
        "earlier\n"
    );
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Every fixture scenario (trace replays of every format and mode: DAGs
/// held and released, kills, failed instances, machines returning, the
/// openb protocol's dropped arrivals) and the shipped openb replay, through
/// the library: the log recounts the summary.
#[test]
fn every_fixture_scenario_s_log_recounts_its_summary() {
    let mut files = vec![root().join("scenarios/openb.toml")];
    let mut stack = vec![root().join("tests/fixtures")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 10, "{files:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for f in files {
        let sc = borgsim::scenario::Scenario::load(&f).unwrap();
        let mut sim = borgsim::build_simulation(&sc, false).unwrap();
        let log = dir.path().join("ev.csv");
        sim.log_events(borgsim::metrics::events::EventLog::create(&log).unwrap());
        sim.run(&mut |_| {}).unwrap();
        sim.take_event_log().unwrap().finish().unwrap();
        let summary =
            serde_json::to_value(borgsim::metrics::summary::Summary::of(&sc, &sim)).unwrap();
        let rows = read_csv(&std::fs::read(&log).unwrap());
        let c = assert_agrees(&summary, &rows, &f.display().to_string());
        seen.extend(c.by_event.into_keys());
        seen.extend(c.evictions.into_keys().map(|k| format!("evict {k}")));
    }
    // Together they show every kind of row but a resize (a unit test of the
    // cell's records has one). No fixture evicts but by a machine's going.
    let want = [
        "submit",
        "place",
        "evict",
        "finish",
        "kill",
        "drop",
        "machine_up",
        "machine_down",
        "machine_attributes",
        "evict machine_down",
    ];
    for w in want {
        assert!(seen.contains(w), "no fixture logs {w:?}: {seen:?}");
    }
}

/// The event log never replaces what the run reads, nor another output
/// directory's files, nor goes to `-`; `.GZ` compresses as `.gz` does.
#[test]
fn the_log_never_overwrites_an_input_or_another_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scen = d.join("my.toml");
    std::fs::copy(root().join("tests/golden/tiny.toml"), &scen).unwrap();
    let before = std::fs::read(&scen).unwrap();
    run_ok(d, &["run", "my.toml", "-q", "--no-plots", "--out", "a"]);
    for (file, says) in [
        ("my.toml", "is this run's input"),
        ("./my.toml", "is this run's input"),
        ("-", "not to standard output"),
        (
            "a/summary.json",
            "the output directory of another borgsim run",
        ),
    ] {
        let o = borgsim(
            d,
            &[
                "run",
                "my.toml",
                "-q",
                "--no-plots",
                "--out",
                "b",
                "--events",
                file,
            ],
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains("--events") && err.contains(says),
            "{file}: {err}"
        );
    }
    assert_eq!(
        std::fs::read(&scen).unwrap(),
        before,
        "the scenario is intact"
    );
    assert!(!d.join("b").exists() && !d.join("-").exists());
    run_ok(
        d,
        &[
            "run",
            "my.toml",
            "-q",
            "--no-plots",
            "--out",
            "c",
            "--events",
            "EV.CSV.GZ",
        ],
    );
    let raw = std::fs::read(d.join("EV.CSV.GZ")).unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip magic");
}
