//! Task usage from the traces' usage tables, end to end on the fixtures:
//! each reader's usage records (task, time, values, in milli-cores and MiB
//! by the format's unit rule), what `trace inspect` counts, and what a
//! replay's feed hands the driver — updates of running tasks, the other
//! rows dropped and counted under `trace.replay`.

use super::{borgsim, root, text};
use borgsim::cell::state::TaskState;
use borgsim::scenario::Scenario;
use borgsim::sim::feed::Effects;
use borgsim::trace::{self, ReadOptions, Source, TraceEvent, TraceFormat};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures/traces").join(rel)
}

/// Google 2019's tables as JSON lines, with `instance_usage`.
fn google2019_json() -> Vec<PathBuf> {
    [
        "machine_events.json",
        "collection_events.json",
        "instance_events.json",
        "instance_usage.json",
    ]
    .iter()
    .map(|n| fixture("google2019").join(n))
    .collect()
}

/// The files a fixture is read from: a directory's files, or a list.
fn files(format: TraceFormat) -> Vec<Source> {
    match format {
        TraceFormat::Google2019 => Source::files(google2019_json()),
        _ => trace::replay::resolve_files(&fixture(format.name()), &[".".into()]).unwrap(),
    }
}

/// `time_us job/stage/index cpu_milli/mem_mib` of each usage record.
fn usage_records(format: TraceFormat) -> Vec<String> {
    let mut r = trace::open(format, &files(format), &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        if let TraceEvent::Usage { task, usage } = rec.event {
            let job = task.job & !trace::alibaba2018::CONTAINER_JOB_BIT;
            out.push(format!(
                "{} {job}/{}/{} {}/{}",
                rec.time.as_us(),
                task.stage,
                task.index,
                usage.cpu_milli,
                usage.mem_mib
            ));
        }
    }
    out
}

#[test]
fn each_reader_gives_its_fixtures_usage_at_each_windows_start() {
    // Google 2011, × 32 cores and 128 GiB: 0.0625 → 2000 m, 0.03125 →
    // 4096 MiB; 0.025 × 131072 = 3276.8 → 3277 MiB; 0.3 → 9600 m (above
    // 200/0's request: as measured). The row at 9 s has no values.
    assert_eq!(
        usage_records(TraceFormat::Google2011),
        [
            "2000000 100/0/0 2000/4096",
            "2000000 100/0/1 4000/8192",
            "3000000 200/0/0 6000/12288",
            "4000000 100/0/0 1600/3277",
            "6500000 100/0/1 3200/6554",
            "10000000 200/0/0 9600/26214",
            "12000000 300/0/0 320/1311",
        ]
    );
    // Google 2019, × 64 cores and 256 GiB: 0.03125 NCU → 2000 m, 0.015625
    // NMU → 4096 MiB; 0.01 → 640 m, 0.005 × 262144 = 1310.72 → 1311 MiB.
    assert_eq!(
        usage_records(TraceFormat::Google2019),
        [
            "300000000 1/0/0 2000/4096",
            "300000000 1/0/1 4000/8192",
            "600000001 2/0/0 640/1311",
            "600000001 2/0/2 640/1311",
            "900000000 2/0/1 640/1311",
            "1200000000 1/0/1 6400/16384",
            "1400000000 2/0/0 640/1311",
        ]
    );
    // Alibaba 2018: batch_instance cpu_avg 30 → 300 m (100 = 1 core),
    // mem_avg 0.2 % of 262144 MiB = 524.288 → 524; container_usage in
    // percent of the container's request: c_1 50 % of 4000 m = 2000 m,
    // 80 % of 8205 MiB = 6564 MiB; c_2 120 % → 4800 m, 90 % → 7384.5 → 7385.
    assert_eq!(
        usage_records(TraceFormat::Alibaba2018),
        [
            "10000000 5/0/1 2000/6564",
            "100000000 1/1/0 300/524",
            "100000000 1/1/1 300/524",
            "100000000 1/2/0 800/1049",
            "220000000 1/3/0 500/786",
            "300000000 1/4/0 200/262",
            "300000000 5/0/2 4800/7385",
            "2711000000 7/0/3 2000/8192",
        ]
    );
}

#[test]
fn trace_inspect_counts_usage_records() {
    let g19: Vec<String> = google2019_json()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let cases = [
        (
            "google2011",
            vec![fixture("google2011").to_string_lossy().into()],
            7,
        ),
        ("google2019", g19, 7),
        (
            "alibaba2018",
            vec![fixture("alibaba2018").to_string_lossy().into()],
            8,
        ),
    ];
    for (format, files, want) in cases {
        let mut args = vec!["trace", "inspect", "--json", "--format", format];
        args.extend(files.iter().map(String::as_str));
        let o = borgsim(&root(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["usage_records"], want, "{format}");
    }
}

/// A trace-placement replay of `format`'s fixture, driven by hand (the feed
/// alone changes the cell in this mode): each usage update the feed hands
/// over, as `time_us job_name/task cpu/mem`, and its replay counts.
fn placement_updates(format: TraceFormat) -> (Vec<String>, BTreeMap<&'static str, u64>) {
    let files: Vec<String> = files(format)
        .iter()
        .map(|f| format!("{:?}", f.path().to_str().unwrap()))
        .collect();
    let text = format!(
        "name = \"usage\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n\
         [reclamation]\nmode = \"measure\"\n\
         [trace]\nformat = \"{}\"\nfiles = [{}]\nmode = \"trace_placement\"\n",
        format.name(),
        files.join(", ")
    );
    let sc = Scenario::parse(&text, std::path::Path::new("x.toml")).unwrap();
    let (mut st, mut feed) = trace::replay::cell_and_feed(&sc, sc.trace.as_ref().unwrap()).unwrap();
    let (mut got, mut out) = (Vec::new(), Vec::new());
    while let Some(now) = feed.next_time().unwrap() {
        feed.apply(now, &mut st, &mut Effects::default()).unwrap();
        feed.take_usage(&mut out);
        for (task, u) in out.drain(..) {
            let rec = st.task(task);
            assert!(matches!(rec.state, TaskState::Running { .. }));
            got.push(format!(
                "{} {}/{} {}/{}",
                now.as_us(),
                st.job(rec.job).spec.name.base,
                feed.trace_task(task).unwrap(),
                u.cpu_milli,
                u.mem_mib
            ));
        }
        feed.forget_done();
    }
    (got, feed.report().unwrap().replay)
}

fn usage_counts(replay: &BTreeMap<&'static str, u64>) -> Vec<(&'static str, u64)> {
    replay
        .iter()
        .filter(|(k, _)| k.starts_with("usage"))
        .map(|(k, v)| (*k, *v))
        .collect()
}

#[test]
fn the_feed_hands_running_tasks_usage_to_the_driver_and_counts_the_rest() {
    // Google 2011: 100/1 is pending at 6.5 s (its machine left at 5 s);
    // job 300 was never submitted.
    let (got, replay) = placement_updates(TraceFormat::Google2011);
    assert_eq!(
        got,
        [
            "2000000 jobA/0 2000/4096",
            "2000000 jobA/1 4000/8192",
            "3000000 jobB/0 6000/12288",
            "4000000 jobA/0 1600/3277",
            "10000000 jobB/0 9600/26214",
        ]
    );
    assert_eq!(
        usage_counts(&replay),
        [
            ("usage_for_task_not_running", 1),
            ("usage_for_unknown_task", 1)
        ]
    );
    // Google 2019: 2/2 is queued at 600.000001 s and 2/1 evicted at 900 s
    // (both live, not running); 2/0 finished at 1000 s before its window
    // at 1400 s.
    let (got, replay) = placement_updates(TraceFormat::Google2019);
    assert_eq!(
        got,
        [
            "300000000 web/0 2000/4096",
            "300000000 web/1 4000/8192",
            "600000001 mapreduce/0 640/1311",
            "1200000000 web/1 6400/16384",
        ]
    );
    assert_eq!(
        usage_counts(&replay),
        [
            ("usage_for_task_not_running", 2),
            ("usage_for_unknown_task", 1)
        ]
    );
    // Alibaba 2018: M2's instance names m_1021, which the trace adds only
    // at 2711 s (it stays pending); R3 and J4 wait for it (held).
    let (got, replay) = placement_updates(TraceFormat::Alibaba2018);
    assert_eq!(
        got,
        [
            "10000000 app_5/1 2000/6564",
            "100000000 j_1/1.0 300/524",
            "100000000 j_1/1.1 300/524",
            "300000000 app_5/2 4800/7385",
            "2711000000 app_7/3 2000/8192",
        ]
    );
    assert_eq!(usage_counts(&replay), [("usage_for_task_not_running", 3)]);
}

#[test]
fn a_replay_without_usage_tables_counts_no_usage() {
    // The Google 2011 fixture without task_usage: no usage rule, and the
    // rows of the other tables only.
    let dir = fixture("google2011");
    let tables = [
        "machine_events",
        "job_events",
        "task_events",
        "task_constraints",
    ];
    let files: Vec<String> = tables
        .iter()
        .map(|t| format!("{:?}", dir.join(t).to_str().unwrap()))
        .collect();
    let text = format!(
        "name = \"no-usage\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"google2011\"\nfiles = [{}]\nmode = \"trace_placement\"\n",
        files.join(", ")
    );
    let sc = Scenario::parse(&text, std::path::Path::new("x.toml")).unwrap();
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let s = borgsim::metrics::summary::Summary::of(&sc, &sim);
    let tr = s.trace.unwrap();
    assert_eq!(tr.trace_rows, 5 + 4 + 14 + 2);
    assert!(usage_counts(&tr.replay).is_empty(), "{:?}", tr.replay);
}

#[test]
fn usage_survives_conversion_to_native_and_is_left_out_when_not_selected() {
    let dir = tempfile::tempdir().unwrap();
    for jsonl in [false, true] {
        let out = dir.path().join(if jsonl { "jsonl" } else { "csv" });
        let mut r = trace::open(
            TraceFormat::Google2011,
            &files(TraceFormat::Google2011),
            &ReadOptions::default(),
        )
        .unwrap();
        trace::native::write(r.as_mut(), &out, jsonl).unwrap();
        let back = |select| {
            let opts = ReadOptions {
                select,
                ..ReadOptions::default()
            };
            let files = trace::replay::resolve_files(&out, &[".".into()]).unwrap();
            let mut r = trace::open(TraceFormat::Native, &files, &opts).unwrap();
            let mut usage = Vec::new();
            while let Some(rec) = r.next_record().unwrap() {
                if let TraceEvent::Usage { task, usage: u } = rec.event {
                    usage.push((
                        rec.time.as_us(),
                        task.job,
                        task.index,
                        u.cpu_milli,
                        u.mem_mib,
                    ));
                }
            }
            usage
        };
        let all = back(trace::Select::All);
        assert_eq!(all.len(), 7, "jsonl {jsonl}");
        assert_eq!(all[3], (4_000_000, 100, 0, 1600, 3277), "jsonl {jsonl}");
        assert!(
            back(trace::Select::WithoutUsage).is_empty(),
            "jsonl {jsonl}"
        );
    }
}

/// Re-schedule mode through the real driver: the rows that do not reach it
/// are counted, the rest are running tasks' (7 records in all).
#[test]
fn reschedule_replays_count_usage_from_borgsims_own_starts() {
    let mut sc =
        Scenario::load(&root().join("tests/fixtures/scenarios/google2011-reschedule.toml"))
            .unwrap();
    // Usage tables are read when the run keeps usage (measuring here).
    sc.reclamation = Some(borgsim::scenario::ReclamationConfig {
        mode: borgsim::scenario::reclamation::ReclamationMode::Measure,
        ..Default::default()
    });
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let s = borgsim::metrics::summary::Summary::of(&sc, &sim);
    let tr = s.trace.unwrap();
    assert_eq!(tr.trace_rows, 5 + 4 + 14 + 2 + 8);
    assert_eq!(tr.trace_rows_repaired["task_usage.usage_missing"], 1);
    // borgsim starts every task at 1 s, before the trace's windows at 2–4
    // s and 10 s: those 5 reach the driver. 100/1's window at 6.5 s comes
    // after the trace's EVICT at 6 s, which ended its run here (a run
    // length; its key is free until its resubmission at 7 s), and job 300
    // was never submitted: both unknown.
    assert_eq!(usage_counts(&tr.replay), [("usage_for_unknown_task", 2)]);
}

/// Every format with usage tables, replayed through the real driver on
/// its own placements with reclamation measuring: the trace's usage rows
/// reach summary.json — usage above zero and below the limits the same
/// tasks held (every fixture has rows below their requests), and without
/// the rows (reclamation off) no usage is kept at all.
#[test]
fn each_formats_usage_reaches_the_summary_through_the_driver() {
    for format in [
        TraceFormat::Google2011,
        TraceFormat::Google2019,
        TraceFormat::Alibaba2018,
    ] {
        let files: Vec<String> = files(format)
            .iter()
            .map(|f| format!("{:?}", f.path().to_str().unwrap()))
            .collect();
        let text = |reclamation: &str| {
            format!(
                "name = \"usage\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n{reclamation}\
                 [trace]\nformat = \"{}\"\nfiles = [{}]\nmode = \"trace_placement\"\n",
                format.name(),
                files.join(", ")
            )
        };
        let run = |t: &str| {
            let sc = Scenario::parse(t, std::path::Path::new("x.toml")).unwrap();
            let mut sim = borgsim::build_simulation(&sc, true).unwrap();
            sim.run(&mut |_| {}).unwrap();
            borgsim::metrics::summary::Summary::of(&sc, &sim)
        };
        let s = run(&text("[reclamation]\nmode = \"measure\"\n"));
        let r = s.reclamation.as_ref().expect("measuring");
        let cap = s.capacity.cpu_milli as f64 / 1000.0 * s.duration_s;
        let used: f64 = r.by_band.values().map(|b| b.usage_cpu_core_s).sum();
        let limits = s.utilization.cpu.total * cap;
        assert!(
            0.0 < used && used < limits - 1e-6,
            "{format:?}: used {used} core-s, limits {limits}"
        );
        let off = run(&text(""));
        assert!(off.reclamation.is_none(), "{format:?}");
        assert_eq!(off.tasks.submitted, s.tasks.submitted, "{format:?}");
    }
}

/// A usage row beyond what borgsim accepts stops the replay naming the
/// task and the trace's directory, not the first file read (Google 2011's
/// `job_events`, a table that has no such row).
#[test]
fn a_usage_value_too_large_names_the_trace_not_another_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tr = d.join("tr");
    for table in ["job_events", "machine_events", "task_events", "task_usage"] {
        std::fs::create_dir_all(tr.join(table)).unwrap();
        for f in std::fs::read_dir(fixture("google2011").join(table)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, tr.join(table).join(f.file_name().unwrap())).unwrap();
        }
    }
    // jobA/0's second window, 1e30 × the 32-core reference.
    let usage = tr.join("task_usage/part-00000-of-00001.csv");
    let rows = std::fs::read_to_string(&usage).unwrap();
    std::fs::write(&usage, format!("{rows}5000000,6000000,100,0,1,1e30,0.03\n")).unwrap();
    let scenario = "name = \"g\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n\
                    [trace]\nformat = \"google2011\"\nfiles = [\"tr\"]\n\
                    [reclamation]\nmode = \"on\"\n";
    std::fs::write(d.join("g.toml"), scenario).unwrap();
    let out = borgsim(d, &["run", "g.toml", "--out", "o", "-q"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: tr: trace: usage of task 100/0/0:"),
        "{err}"
    );
    assert!(!err.contains("job_events"), "{err}");
}
