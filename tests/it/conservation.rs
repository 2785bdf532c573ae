//! Every task accounted for, and the horizon is the workload's (issue 8,
//! kinds 4 and 5): on every shipped scenario and every fixture scenario,
//! `submitted = finished + killed + dropped + running + pending`, and no
//! reporting parameter changes a figure of `summary.json`.

use super::{borgsim, root, text};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use std::path::{Path, PathBuf};

fn run(sc: &Scenario) -> Summary {
    let mut sim = borgsim::build_simulation(sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    borgsim::cell::invariants::check(sim.state()).unwrap();
    Summary::of(sc, &sim)
}

/// Checks the identity by its parts (not only the summary's own flag).
fn assert_conserved(s: &Summary, what: &str) {
    let t = &s.tasks;
    let sum = t.finished + t.killed + t.dropped + t.running_at_end + t.pending_at_end;
    assert_eq!(t.submitted, sum, "{what}: tasks do not add up: {t:?}");
    assert!(t.conservation.holds, "{what}");
    assert!(t.held_at_end <= t.pending_at_end, "{what}");
    assert!(t.never_schedulable <= t.pending_at_end, "{what}");
}

/// Every `.toml` under `dir`, recursively, in name order, but sweep files
/// (`scenarios/sweeps/`: not scenarios, run by tests/it/sweep.rs).
fn tomls(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && p.file_name().is_some_and(|n| n == "sweeps") {
                continue;
            } else if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every shipped scenario. The two 10,000-machine-plus synthetic cells run
/// their first 120 simulated seconds (some 33,000 and 330,000 tasks), enough
/// to have tasks in every state; the identity must hold at any horizon.
#[test]
fn every_shipped_scenario_accounts_for_every_task() {
    let files = tomls(&root().join("scenarios"));
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        let mut sc = Scenario::load(&f).unwrap();
        if sc
            .cell
            .machines
            .iter()
            .map(|m| u64::from(m.count))
            .sum::<u64>()
            > 5_000
        {
            sc.duration_s = Some(sc.duration_s.unwrap_or(u64::MAX).min(120));
        }
        let s = run(&sc);
        assert!(s.tasks.submitted > 0, "{}", f.display());
        assert_conserved(&s, &f.display().to_string());
    }
}

/// Every scenario among the test fixtures (trace replays of every kind,
/// the field cases), in the mode it names.
#[test]
fn every_fixture_scenario_accounts_for_every_task() {
    let files = tomls(&root().join("tests/fixtures"));
    assert!(!files.is_empty());
    for f in files {
        let sc = Scenario::load(&f).unwrap();
        let s = run(&sc);
        assert_conserved(&s, &f.display().to_string());
    }
}

/// The openb protocol's arrivals that fit nowhere are dropped, and called
/// so: not finished, not killed.
#[test]
fn openb_dropped_pods_are_dropped_not_finished() {
    let sc = Scenario::load(&root().join("scenarios/openb.toml")).unwrap();
    let s = run(&sc);
    let t = &s.tasks;
    assert!(t.dropped > 0);
    // Pods never leave: whatever was not dropped is still running.
    assert_eq!((t.finished, t.killed, t.pending_at_end), (0, 0, 0));
    assert_eq!(t.submitted, t.dropped + t.running_at_end);
    assert_eq!(s.gpu_packing.as_ref().unwrap().tasks_dropped, t.dropped);
    assert_conserved(&s, "openb");
}

fn with_sample_interval(path: &Path, secs: u64) -> Scenario {
    let mut sc = Scenario::load(path).unwrap();
    sc.sample_interval_s = secs;
    sc
}

/// The field case: two rigid 16-core jobs on one 16-core machine, the
/// second waiting for the first. Whatever the sample interval, the run ends
/// at 1,100 s (0 + 1,000, then 100 more) with the CPU allocated throughout.
#[test]
fn drained_runs_end_at_their_last_event_whatever_the_sample_interval() {
    let dir = root().join("tests/fixtures/drain-horizon");
    for s in [1, 100, 1000] {
        let sc = Scenario::load(&dir.join(format!("scenario-s{s}.toml"))).unwrap();
        let sum = run(&sc);
        assert_eq!(sum.duration_s, 1100.0, "sample_interval_s = {s}");
        assert_eq!(sum.utilization.cpu.total, 1.0, "sample_interval_s = {s}");
        assert_conserved(&sum, "drain-horizon");
    }
}

/// Sample intervals from 1 s to longer than the run give byte-identical
/// summaries: a drained synthetic run, a run with a horizon, and the openb
/// one-by-one replay (whose GPU curve is recorded per pass, not sampled).
#[test]
fn the_sample_interval_changes_no_figure() {
    let cases = [
        ("scenarios/fragmentation.toml", [1, 7, 60, 100_000]),
        ("scenarios/quickstart.toml", [1, 13, 60, 100_000]),
        ("scenarios/openb.toml", [1, 3, 60, 100_000]),
    ];
    for (file, intervals) in cases {
        let path = root().join(file);
        let json = |secs| {
            let sc = with_sample_interval(&path, secs);
            serde_json::to_string(&run(&sc)).unwrap()
        };
        let first = json(intervals[0]);
        for s in &intervals[1..] {
            assert_eq!(first, json(*s), "{file}: sample_interval_s = {s}");
        }
    }
}

/// Plots on or off, through the real binary: the same summary.json bytes.
#[test]
fn plots_change_no_figure() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("scenarios/fragmentation.toml");
    let scenario = scenario.to_str().unwrap();
    let mut outs = Vec::new();
    for (name, extra) in [("plots", None), ("no-plots", Some("--no-plots"))] {
        let out = dir.path().join(name);
        let mut args = vec!["run", scenario, "--quiet", "--out", out.to_str().unwrap()];
        args.extend(extra);
        let o = borgsim(dir.path(), &args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        outs.push(std::fs::read(out.join("summary.json")).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
}

/// churn-10k's README promises about 70 % CPU allocated at steady state;
/// over the whole drained run (ramp-up and drain included) it is about
/// half. churn-1k has the same shape at a tenth of the size. The window
/// runs from the first instant at the median allocation to the last arrival.
#[test]
fn steady_state_shows_what_the_busy_cell_holds() {
    let sc = Scenario::load(&root().join("scenarios/churn-1k.toml")).unwrap();
    let s = run(&sc);
    let ss = s.steady_state.as_ref().expect("a window");
    assert!(ss.end_s <= 3600.0 && ss.start_s > 0.0, "{ss:?}");
    assert!(
        (0.65..0.75).contains(&ss.utilization.cpu.total),
        "steady {:?}",
        ss.utilization.cpu
    );
    assert!(
        s.utilization.cpu.total < ss.utilization.cpu.total - 0.1,
        "whole run {:?}",
        s.utilization.cpu
    );
    // The median is the window's threshold; it cannot exceed the steady level
    // by much, nor lie below the whole-run mean by much.
    let median = ss.cpu_median_allocation.unwrap();
    assert!(median > s.utilization.cpu.total - 0.1, "{median}");
}

/// A scenario may fix the window's ends; its figures are then over exactly
/// that span (the drain-horizon cell is full from 0 to 1,100 s).
#[test]
fn a_fixed_steady_state_window_is_honoured() {
    let path = root().join("tests/fixtures/drain-horizon/scenario-s100.toml");
    let mut sc = Scenario::load(&path).unwrap();
    sc.steady_state = Some(borgsim::scenario::SteadyStateConfig {
        start_s: Some(50),
        end_s: Some(950),
    });
    let s = run(&sc);
    let ss = s.steady_state.unwrap();
    assert_eq!((ss.start_s, ss.end_s), (50.0, 950.0));
    assert_eq!(ss.utilization.cpu.total, 1.0);
}

/// The run's submissions are the trace's: on every fixture scenario that
/// replays a trace at its own times, in both modes where the trace has its
/// own machines, the SUBMIT records the replay read are what `trace
/// inspect` counts, and each became a task or was the same task submitted
/// again while live.
#[test]
fn every_trace_submission_is_a_task_or_counted() {
    use borgsim::scenario::{ArrivalOrder, MachineSource, ReplayMode};
    let mut checked = 0;
    for f in tomls(&root().join("tests/fixtures")) {
        let sc = Scenario::load(&f).unwrap();
        let Some(t) = &sc.trace else { continue };
        if t.arrivals != ArrivalOrder::Trace {
            continue;
        }
        let opts = borgsim::trace::ReadOptions {
            lenient: t.lenient,
            reference: t.reference,
            ..Default::default()
        };
        let mut reader =
            borgsim::trace::open(t.format, &sc.trace_files(t).unwrap(), &opts).unwrap();
        let inspected = borgsim::trace::inspect::inspect(t.format, reader.as_mut())
            .unwrap()
            .task_submissions;
        let mut modes = vec![t.mode];
        if t.machines == MachineSource::Trace && t.format.records_placements() {
            modes = vec![ReplayMode::Reschedule, ReplayMode::TracePlacement];
        }
        for mode in modes {
            let mut sc = sc.clone();
            sc.trace.as_mut().unwrap().mode = mode;
            let s = run(&sc);
            let tr = s.trace.as_ref().unwrap();
            let what = format!("{} ({mode:?})", f.display());
            assert_eq!(tr.submissions_read, inspected, "{what}");
            let again = tr.replay.get("submit_for_live_task").copied().unwrap_or(0);
            assert_eq!(s.tasks.submitted + again, inspected, "{what}");
            assert_conserved(&s, &what);
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
}

/// A drained run of no length (everything arrives at 0 s and runs on, as
/// when a cell is packed from scratch) reports the allocation at its one
/// instant, not 0: 4 tasks of 4 cores on 2 machines of 16 cores = 50 % CPU,
/// 4 × 8 GiB of 2 × 64 GiB = 25 % memory.
#[test]
fn a_run_of_no_length_reports_its_instant() {
    let text = "name = \"zero-length\"\nseed = 1\n[cell]\nmachines_per_rack = 2\n\
                racks_per_power_domain = 1\n[[cell.machines]]\ncount = 2\ncpu_milli = 16000\n\
                mem_mib = 65536\n[scheduler]\npolicy = \"best_fit\"\n[[workload.jobs]]\n\
                name = \"svc\"\nband = \"production\"\ninitial_jobs = 1\n\
                tasks = { constant = 4 }\ncpu_milli = { constant = 4000 }\n\
                mem_mib = { constant = 8192 }\n";
    let sc = Scenario::parse(text, Path::new("zero.toml")).unwrap();
    let s = run(&sc);
    assert_eq!(s.duration_s, 0.0);
    assert_eq!(
        (s.utilization.cpu.total, s.utilization.mem.total),
        (0.5, 0.25)
    );
    assert_eq!(s.by_band["production"].cpu_utilization, 0.5);
    let ss = s.steady_state.as_ref().unwrap();
    assert_eq!(ss.rule, borgsim::cell::state::history::WindowRule::Instant);
    assert_eq!(ss.utilization.cpu.total, 0.5);
    assert_conserved(&s, "zero-length");
}

/// Trace rows after the last task's end that change no task do not
/// stretch a drained run (it used to last 1,000 s at 1 % allocation).
#[test]
fn rows_after_the_work_do_not_stretch_a_drained_run() {
    use borgsim::scenario::ReplayMode;
    let path = root().join("tests/fixtures/horizon-trace-tail/scenario.toml");
    for mode in [ReplayMode::Reschedule, ReplayMode::TracePlacement] {
        let mut sc = Scenario::load(&path).unwrap();
        sc.trace.as_mut().unwrap().mode = mode;
        let s = run(&sc);
        assert_eq!(s.duration_s, 11.0, "{mode:?}");
        assert_eq!(s.utilization.cpu.total, 0.909091, "{mode:?}");
        assert_conserved(&s, "horizon-trace-tail");
    }
}
