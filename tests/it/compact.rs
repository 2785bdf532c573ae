//! Cell compaction (`borgsim compact`, `borgsim::compact`) on small cells:
//! bisection gives the answers brute-force removal gives, the answer fits
//! and one machine fewer of the same order does not, the workload is the
//! same whatever the machines, the bytes do not depend on the thread
//! count, bad input exits 2, and a trace replay compacts.

use super::report::{data_cells, summary_value};
use super::{borgsim, planned, planning, root, text};
use borgsim::compact::fit::{FitRule, WorkloadKind};
use borgsim::compact::search::permutation;
use borgsim::metrics::summary::Summary;
use borgsim::rng::{RngStreams, Stream};
use borgsim::scenario::Scenario;
use borgsim::{build_simulation_with, BuildOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixtures: a static workload on 24 machines of two classes, and one
/// with time on 20.
pub(crate) fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/compact").join(name)
}

/// Runs `borgsim compact <scenario> --out <out> -q --no-plots <args>`.
fn compact(scenario: &Path, out: &Path, args: &[&str]) -> Output {
    planning(&["compact"], scenario, out, args)
}

/// compaction.json of a compaction that must succeed.
fn compacted(scenario: &Path, args: &[&str]) -> Value {
    planned(&["compact"], scenario, args, "compaction.json")
}

fn answers(c: &Value) -> Vec<u64> {
    c["per_trial"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["answer_machines"].as_u64().unwrap())
        .collect()
}

#[test]
fn bisection_answers_what_removing_machines_one_by_one_answers() {
    // Three seeds (each a workload and five machine orders) under two
    // policies, on the static fixture; and the fixture with time.
    let stat = fixture("static.toml");
    let mut cases: Vec<(PathBuf, String, &str)> = Vec::new();
    for seed in ["1", "2", "3"] {
        for policy in ["best_fit", "worst_fit"] {
            cases.push((stat.clone(), seed.into(), policy));
        }
    }
    // With time, fitting need not be monotone: bisection checks the
    // prefixes above its boundary (`verify_above`, 4 by default).
    for seed in ["1", "2", "3", "4"] {
        for policy in ["hybrid", "worst_fit"] {
            cases.push((fixture("with-time.toml"), seed.into(), policy));
        }
    }
    for (scenario, seed, policy) in &cases {
        let args = ["--trials", "5", "--seed", seed, "--policy", policy];
        let bisect = compacted(scenario, &args);
        let linear = compacted(scenario, &[&args[..], &["--search", "linear"]].concat());
        assert_eq!(
            answers(&bisect),
            answers(&linear),
            "{} seed {seed} {policy}",
            scenario.display()
        );
        // Removal probes every prefix from the whole cell down to the
        // answer and the one below it: the last probe fails, the one
        // before it (if any) is the answer and fits.
        for t in linear["per_trial"].as_array().unwrap() {
            let probes = t["probes"].as_array().unwrap();
            let answer = t["answer_machines"].as_u64().unwrap();
            let last = probes.last().unwrap();
            assert_eq!(last["machines"].as_u64(), Some(answer - 1));
            assert_eq!(last["fits"], false);
            // No two probes contradict a monotone fit.
            assert!(t["contradictions"].as_array().unwrap().is_empty());
        }
        assert_eq!(bisect["contradictions"], 0);
    }
}

/// The verdict on the first `p` machines of trial `t`'s order, judged by
/// the rule compaction applies (the library, independently of `compact`).
fn fits_prefix(sc: &Scenario, t: u64, p: usize) -> bool {
    let whole = borgsim::whole_cell(sc).unwrap();
    let order = permutation(
        whole.len() as u32,
        &mut RngStreams::new(sc.seed).substream(Stream::Compaction, t),
    );
    let rule = FitRule::new(
        &sc.compaction.unwrap_or_default(),
        WorkloadKind::of(sc),
        whole.len(),
    );
    let mut sim = build_simulation_with(
        sc,
        &BuildOptions {
            machines: Some(order[..p].to_vec()),
            relax_above_tasks: rule.relax_above_tasks,
            ..BuildOptions::default()
        },
    )
    .unwrap();
    sim.run(&mut |_| {}).unwrap();
    rule.judge(&Summary::of(sc, &sim)).fits
}

#[test]
fn the_answer_fits_and_one_machine_fewer_of_its_order_does_not() {
    for name in ["static.toml", "with-time.toml"] {
        let path = fixture(name);
        let c = compacted(&path, &["--trials", "4"]);
        let sc = Scenario::load(&path).unwrap();
        for (t, answer) in answers(&c).into_iter().enumerate() {
            let a = answer as usize;
            assert!(fits_prefix(&sc, t as u64, a), "{name} trial {t}: {a} fits");
            assert!(
                !fits_prefix(&sc, t as u64, a - 1),
                "{name} trial {t}: {} does not",
                a - 1
            );
        }
    }
}

#[test]
fn the_workload_is_the_same_on_any_machines() {
    // Static: every job is live at the end; the same jobs (name, tasks,
    // request) on the whole cell and on 9 of its machines.
    let sc = Scenario::load(&fixture("static.toml")).unwrap();
    let jobs = |keep: Option<Vec<u32>>| {
        let mut sim = build_simulation_with(
            &sc,
            &BuildOptions {
                machines: keep,
                ..BuildOptions::default()
            },
        )
        .unwrap();
        sim.run(&mut |_| {}).unwrap();
        let st = sim.state();
        let list: Vec<String> = st
            .live_jobs()
            .map(|j| {
                let s = &j.spec;
                format!(
                    "{:?} {} {:?} {}",
                    s.name,
                    j.task_count(),
                    s.request,
                    s.priority
                )
            })
            .collect();
        (list, Summary::of(&sc, &sim))
    };
    let (whole, s_whole) = jobs(None);
    let (part, s_part) = jobs(Some(vec![23, 0, 5, 9, 17, 2, 11, 20, 14]));
    assert_eq!(whole, part);
    assert_eq!(s_part.machines, 9);
    assert!(s_part.tasks.pending_at_end > s_whole.tasks.pending_at_end);
    // With time: what was submitted, per band.
    let sc = Scenario::quickstart();
    let submitted = |keep: Option<Vec<u32>>| {
        let opts = BuildOptions {
            machines: keep,
            ..BuildOptions::default()
        };
        let mut sim = build_simulation_with(&sc, &opts).unwrap();
        sim.run(&mut |_| {}).unwrap();
        let s = Summary::of(&sc, &sim);
        let bands: Vec<u64> = s.by_band.values().map(|b| b.tasks_submitted).collect();
        (s.jobs_submitted, s.tasks.submitted, bands)
    };
    assert_eq!(
        submitted(None),
        submitted(Some((0..250).step_by(3).collect()))
    );
}

#[test]
fn the_thread_count_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = fixture("static.toml");
    let run = |out: &str, threads: &str, env: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"));
        cmd.args(["compact", scenario.to_str().unwrap(), "-q", "--out", out]);
        if !threads.is_empty() {
            cmd.args(["--threads", threads]);
        }
        if let Some(n) = env {
            cmd.env("RAYON_NUM_THREADS", n);
        }
        let o = cmd.current_dir(dir.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let read = |f: &str| std::fs::read(dir.path().join(out).join(f)).unwrap();
        (read("compaction.json"), read("report.html"))
    };
    let one = run("one", "1", None);
    assert_eq!(one, run("two", "2", None), "--threads 1 and 2");
    assert_eq!(one, run("env", "", Some("1")), "RAYON_NUM_THREADS=1");
    assert_eq!(
        one,
        run("four", "4", Some("3")),
        "--threads 4, RAYON_NUM_THREADS=3"
    );
}

#[test]
fn the_page_shows_compaction_json_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let o = compact(&fixture("with-time.toml"), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let c: Value =
        serde_json::from_slice(&std::fs::read(out.join("compaction.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let cells = data_cells(&html);
    assert!(cells.len() >= 15, "{cells:?}");
    for (key, value) in cells {
        assert_eq!(summary_value(&c, &key), Some(value), "{key}");
    }
    for id in [
        "scenario",
        "compaction",
        "fig-compaction",
        "compaction-trials",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    assert!(html.contains("Machines needed, 5 trials — compact-with-time, hybrid, seed 3"));
    let run: Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["completed"], true);
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let stat = fixture("static.toml");
    for (args, wanted) in [
        (&["--picky-share", "1.5"][..], "--picky-share"),
        (&["--percentile", "0"], "--percentile"),
        (&["--trials", "0"], "--trials"),
        (&["--relax-above-share", "0"], "--relax-above-share"),
        (&["--search", "galloping"], "galloping"),
    ] {
        let o = compact(&stat, &out, args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
    // A key of [compaction] in the file is named as the file's.
    let bad = dir.path().join("bad.toml");
    let body = std::fs::read_to_string(fixture("with-time.toml")).unwrap();
    std::fs::write(&bad, body.replace("trials = 5", "trials = 5\npicky = 1")).unwrap();
    let o = compact(&bad, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("picky"), "{}", text(&o.stderr));
    // quickstart leaves work pending on its own cell: no answer.
    let o = borgsim(
        &root(),
        &[
            "compact",
            "quickstart",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for part in [
        "does not fit even the whole cell of 250 machines",
        "batch",
        "picky_share",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(!out.exists(), "no output without an answer");
    // Following the trace's own placements re-packs nothing.
    let o = compact(
        &root().join("tests/fixtures/scenarios/google2011-placement.toml"),
        &out,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("trace.mode"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_trace_replay_compacts_and_ignores_the_machines_left_out() {
    // A synthetic Google 2011 trace of 20 machines over 72 minutes.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let o = borgsim(
        dir.path(),
        &[
            "trace",
            "synth",
            "--shape",
            "google2011",
            "--machines",
            "20",
            "--days",
            "0.05",
            "--out",
            "trace",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(trace.join("machine_events").exists());
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(
        &scenario,
        "name = \"synth\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"google2011\"\nfiles = [\"trace\"]\n\
         [compaction]\ntrials = 3\nnonprod_wait_p90_s = 3600\n",
    )
    .unwrap();
    let c = compacted(&scenario, &[]);
    assert_eq!(c["fit_rule"]["workload"], "with_time");
    assert_eq!(c["whole_cell"]["machines"], 20);
    for a in answers(&c) {
        assert!((1..20).contains(&a), "{a} of 20 machines");
    }
    // A replay on 5 of the 20 machines: the other 15 machines' events
    // (one ADD each, at time 0) are counted, not applied.
    let sc = Scenario::load(&scenario).unwrap();
    let mut sim = build_simulation_with(
        &sc,
        &BuildOptions {
            machines: Some(vec![0, 4, 8, 12, 16]),
            ..BuildOptions::default()
        },
    )
    .unwrap();
    sim.run(&mut |_| {}).unwrap();
    let s = serde_json::to_value(Summary::of(&sc, &sim)).unwrap();
    assert_eq!(s["machines"], 5);
    assert_eq!(s["trace"]["replay"]["machine_event_excluded"], 15, "{s}");
    assert_eq!(s["tasks"]["conservation"]["holds"], true);
}

#[test]
fn a_replay_on_the_scenarios_cell_runs_on_some_of_its_machines() {
    // The hand-written Google 2011 fixture replayed on a [cell] of four
    // machines (the trace's machine events ignored, as always with
    // trace.machines = "scenario"), then on machines 1 and 3 of it.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    let trace = root().join("tests/fixtures/traces/google2011");
    std::fs::write(
        &scenario,
        format!(
            "name = \"cell\"\nseed = 1\n[cell]\n[[cell.machines]]\ncount = 4\n\
             cpu_milli = 64000\nmem_mib = 262144\n[scheduler]\npolicy = \"best_fit\"\n\
             [trace]\nformat = \"google2011\"\nfiles = [{:?}]\nmachines = \"scenario\"\n",
            trace.to_str().unwrap()
        ),
    )
    .unwrap();
    let sc = Scenario::load(&scenario).unwrap();
    let summary = |keep: Option<Vec<u32>>| {
        let opts = BuildOptions {
            machines: keep,
            ..BuildOptions::default()
        };
        let mut sim = build_simulation_with(&sc, &opts).unwrap();
        sim.run(&mut |_| {}).unwrap();
        serde_json::to_value(Summary::of(&sc, &sim)).unwrap()
    };
    let (whole, part) = (summary(None), summary(Some(vec![3, 1])));
    assert_eq!(
        (whole["machines"].as_u64(), part["machines"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(part["tasks"]["submitted"], whole["tasks"]["submitted"]);
    assert_eq!(part["tasks"]["conservation"]["holds"], true);
    let replay = &part["trace"]["replay"];
    assert_eq!(
        replay["machine_event_ignored"],
        whole["trace"]["replay"]["machine_event_ignored"]
    );
    assert!(replay.get("machine_event_excluded").is_none(), "{replay}");
}

/// The static fixture on fewer machines of its two classes.
fn half_cell(dir: &Path, counts: (u32, u32)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("static.toml")).unwrap();
    let text = text
        .replacen("count = 16\n", &format!("count = {}\n", counts.0), 1)
        .replacen("count = 8\n", &format!("count = {}\n", counts.1), 1);
    let path = dir.join(format!("static-{}-{}.toml", counts.0, counts.1));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_grown_cell_compacts_as_that_cell_written_out() {
    let dir = tempfile::tempdir().unwrap();
    // Half the machines, 6 + 3 (96 cores): the workload asks for about
    // 140 cores.
    let half = half_cell(dir.path(), (6, 3));
    let o = compact(&half, &dir.path().join("no"), &["--trials", "3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--grow"), "{}", text(&o.stderr));
    let grown = compacted(&half, &["--trials", "3", "--grow"]);
    let g = &grown["grown"];
    assert_eq!(g["from_machines"], 9);
    // Each step is an eighth more of each class, rounded up: 6 and 3 ×
    // f → ceil(6 f) + ceil(3 f) machines; only the last step fits.
    let f = g["factor"].as_f64().unwrap();
    let eighths = (f * 8.0).round() as u32;
    let counts = ((6 * eighths).div_ceil(8), (3 * eighths).div_ceil(8));
    assert_eq!(g["to_machines"], counts.0 + counts.1);
    let probes = g["probes"].as_array().unwrap();
    assert_eq!(probes.len() as u32, eighths - 8);
    let fits: Vec<bool> = probes
        .iter()
        .map(|p| p["fits"].as_bool().unwrap())
        .collect();
    assert!(fits[..fits.len() - 1].iter().all(|f| !f) && fits[fits.len() - 1]);
    // The answer needs more machines than the cell had.
    assert!(grown["answer"]["machines"].as_u64().unwrap() > 9);
    // Growing and compacting is compacting the grown cell written out.
    let written = compacted(&half_cell(dir.path(), counts), &["--trials", "3"]);
    let mut without = grown.clone();
    without["grown"] = Value::Null;
    assert_eq!(without, written);
}

#[test]
fn growing_is_refused_where_it_cannot_help() {
    let dir = tempfile::tempdir().unwrap();
    // A trace's machines are the trace's.
    let trace = root().join("tests/fixtures/alibaba-machine-returns/scenario-reschedule.toml");
    let o = compact(&trace, &dir.path().join("t"), &["--grow"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("compaction.grow"),
        "{}",
        text(&o.stderr)
    );
    // quickstart's "too-big" tasks fit no machine of its mix: with no
    // picky share they can never be placed.
    let o = borgsim(
        &root(),
        &[
            "compact",
            "quickstart",
            "--grow",
            "--picky-share",
            "0",
            "--out",
            dir.path().join("q").to_str().unwrap(),
            "-q",
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("compaction.grow") && err.contains("fit no machine"),
        "{err}"
    );
}
