//! The shipped reclamation scenario and trace usage in summary.json: on a
//! reduced copy of the built-in `reclamation` cell, reclamation raises the
//! share of work on reclaimed resources and the used share of the cell,
//! and the aggressive margin kills at least as many tasks for memory as
//! the conservative one; `mode = "off"` is byte for byte the scenario
//! without the table; a Google 2011 replay's usage rows reach the summary,
//! integrated by hand below.

use super::{borgsim, root, text};
use borgsim::metrics::reclamation::ReclamationSummary;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::reclamation::ReclamationMode;
use borgsim::scenario::{ReclamationConfig, Scenario};
use std::path::Path;

/// The built-in scenario's text with its `[reclamation]` table replaced
/// by `table` (empty: none), at a quarter of its size and half its day:
/// the twelve hours from midnight, while the CPU's daily cycle rises.
fn reduced(table: &str) -> String {
    let full = borgsim::scenario::builtin("reclamation").unwrap();
    let start = full.find("\n[reclamation]\n").unwrap() + 1;
    let end = start + full[start..].find("\n\n").unwrap();
    let mut t = format!("{}{table}{}", &full[..start], &full[end..]);
    for (from, to) in [
        ("duration_s = 86400", "duration_s = 43200"),
        ("count = 40", "count = 10"),
        ("initial_jobs = 8", "initial_jobs = 2"),
        ("initial_jobs = 20", "initial_jobs = 5"),
        ("per_hour = 110", "per_hour = 28"),
        ("per_hour = 20", "per_hour = 5"),
    ] {
        assert!(t.contains(from), "the scenario has {from}");
        t = t.replace(from, to);
    }
    t
}

const CONSERVATIVE: &str =
    "[reclamation]\nmode = \"on\"\nmargin_permille = 500\ndecay_permille = 250\n";
const AGGRESSIVE: &str =
    "[reclamation]\nmode = \"on\"\nmargin_permille = 50\ndecay_permille = 1000\n";

/// The summary of a run of `text`.
fn summary(text: &str) -> Summary {
    let sc = Scenario::parse(text, Path::new("reclamation.toml")).unwrap();
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    Summary::of(&sc, &sim)
}

/// The figures of a run with reclamation, recounted: the kills are the
/// bands' and `evictions.out_of_memory`, the throttling the bands' sum,
/// and the reclaimed share the reclaimed core-seconds over the allocated
/// ones (`utilization.cpu.total` × capacity × length, to its rounding).
fn checked(s: &Summary) -> &ReclamationSummary {
    let r = s.reclamation.as_ref().expect("a reclamation summary");
    let kills: u64 = r.by_band.values().map(|b| b.oom_kills).sum();
    assert_eq!(r.oom_kills, kills);
    assert_eq!(s.evictions["out_of_memory"], kills);
    let throttled: f64 = r.by_band.values().map(|b| b.throttled_cpu_core_s).sum();
    assert!((r.throttled_cpu_core_s - throttled).abs() <= 1e-6 * throttled.max(1.0));
    let allocated = s.utilization.cpu.total * s.capacity.cpu_milli as f64 / 1000.0 * s.duration_s;
    if allocated > 0.0 {
        let share = r.reclaimed_cpu_core_s / allocated;
        assert!(
            (share - r.reclaimed_share.cpu).abs() < 1e-4,
            "{share} {r:?}"
        );
    }
    let used: f64 = r.by_band.values().map(|b| b.usage_cpu_utilization).sum();
    assert!((used - r.usage_utilization.cpu.total).abs() < 1e-5, "{r:?}");
    for (band, b) in &r.by_band {
        if matches!(*band, "production" | "monitoring") {
            assert_eq!((b.oom_kills, b.throttled_cpu_core_s), (0, 0.0), "{band}");
        }
    }
    r
}

#[test]
fn reclamation_trades_kills_and_throttling_for_use_of_the_cell() {
    // Measuring schedules as off does (tests/it/reclamation.rs), and
    // reports the usage off does not.
    let off = summary(&reduced("[reclamation]\nmode = \"measure\"\n"));
    let conservative = summary(&reduced(CONSERVATIVE));
    let aggressive = summary(&reduced(AGGRESSIVE));
    let (o, c, a) = (checked(&off), checked(&conservative), checked(&aggressive));
    assert_eq!(o.reclaimed_share.cpu, 0.0);
    assert_eq!((o.oom_kills, o.throttled_cpu_core_s), (0, 0.0));
    // Non-prod waits by limits: the cell has work to reclaim for.
    assert!(off.wait_us.nonprod.never_started > 0, "{:?}", off.wait_us);
    assert!(
        0.0 < c.reclaimed_share.cpu && c.reclaimed_share.cpu < a.reclaimed_share.cpu,
        "{c:?}\n{a:?}"
    );
    let used = |r: &ReclamationSummary| r.usage_utilization.cpu.total;
    assert!(
        used(o) < used(c) && used(c) < used(a),
        "{o:?}\n{c:?}\n{a:?}"
    );
    assert!(
        c.oom_kills <= a.oom_kills && a.oom_kills > 0,
        "{c:?}\n{a:?}"
    );
    assert!(
        c.throttled_cpu_core_s <= a.throttled_cpu_core_s,
        "{c:?}\n{a:?}"
    );
    assert!(
        off.utilization.cpu.total < aggressive.utilization.cpu.total,
        "more allocated, by limits"
    );
}

/// Runs scenario file `path` with the binary: summary.json and
/// timeseries.csv.
fn run_files(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let out = tempfile::tempdir().unwrap();
    let o = borgsim(
        &root(),
        &[
            "run",
            path.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--no-plots",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let read = |n: &str| std::fs::read(out.path().join(n)).unwrap();
    (read("summary.json"), read("timeseries.csv"))
}

#[test]
fn mode_off_is_the_reclamation_scenario_without_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.toml");
    let off = dir.path().join("off.toml");
    std::fs::write(&plain, reduced("")).unwrap();
    std::fs::write(&off, reduced("[reclamation]\nmode = \"off\"\n")).unwrap();
    let (a, b) = (run_files(&plain), run_files(&off));
    assert!(a == b, "outputs differ with mode = \"off\"");
    // The scenario is named `reclamation`: the keys, not the text.
    let summary: serde_json::Value = serde_json::from_slice(&a.0).unwrap();
    assert!(summary.get("reclamation").is_none());
    assert!(summary["evictions"].get("out_of_memory").is_none());
    assert!(summary["evictions"].get("preemption").is_some());
}

/// The Google 2011 fixture replayed in `file`'s mode with reclamation in
/// `mode`.
fn google2011(file: &str, mode: ReclamationMode) -> Summary {
    let mut sc = Scenario::load(&root().join("tests/fixtures/scenarios").join(file)).unwrap();
    sc.reclamation = Some(ReclamationConfig {
        mode,
        ..Default::default()
    });
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    sim.run(&mut |_| {}).unwrap();
    Summary::of(&sc, &sim)
}

#[test]
fn a_google2011_replays_usage_rows_reach_the_summary() {
    // Trace placement (× 32 cores, 128 GiB; tests/it/trace_usage.rs has
    // the records). Limits: jobA's tasks 4000 m / 8192 MiB, jobB's 8000 /
    // 16384. Each value holds until the task's next row; a task with none
    // uses its limit.
    //   jobA/0 runs 2–11 s: 2000/4096 for 2 s, then 1600/3277 for 7 s
    //     cpu 4000 + 11200 = 15200, mem 8192 + 22939 = 31131
    //   jobA/1 runs 2–5 s (its machine leaves at 5 s): 4000/8192 for 3 s
    //     cpu 12000, mem 24576; again 8–12 s with no row of that run
    //     (its 9 s row has no values): its limit, cpu 16000, mem 32768
    //   jobB/0 runs 3–13 s: 6000/12288 for 7 s, then 9600/26214 clamped
    //     to its limit 8000/16384 for 3 s: cpu 42000 + 24000 = 66000,
    //     mem 86016 + 49152 = 135168
    // Usage: 109200 milli-core·s = 109.2 core-s, 223643 MiB-s. Limits:
    //   cpu 4000 × 9 + 4000 × 7 + 8000 × 10 = 144000 → 144 core-s
    //   mem 8192 × 9 + 8192 × 7 + 16384 × 10 = 294912 MiB-s
    for mode in [ReclamationMode::Measure, ReclamationMode::On] {
        let s = google2011("google2011-placement.toml", mode);
        let r = checked(&s);
        let used = |f: fn(&borgsim::metrics::reclamation::BandUsage) -> f64| -> f64 {
            r.by_band.values().map(f).sum()
        };
        assert_eq!(used(|b| b.usage_cpu_core_s), 109.2, "{mode:?}");
        assert_eq!(used(|b| b.usage_mem_mib_s), 223_643.0, "{mode:?}");
        assert_eq!(r.usage_clamped, 1, "jobB's 10 s row");
        let cap = s.capacity.cpu_milli as f64 / 1000.0 * s.duration_s;
        let limits = s.utilization.cpu.total * cap;
        assert!((limits - 144.0).abs() < 1e-3 * cap, "{limits}");
        let share = r.usage_utilization.cpu.total * cap;
        assert!((share - 109.2).abs() < 1e-3 * cap, "{share}");
        // The trace places every task: nothing on reclaimed resources.
        assert_eq!(r.reclaimed_share.cpu, 0.0);
    }
    // Re-schedule: borgsim starts the tasks at its own times; the usage
    // that reaches them is below their limits all the same.
    for mode in [ReclamationMode::Measure, ReclamationMode::On] {
        let s = google2011("google2011-reschedule.toml", mode);
        let r = checked(&s);
        let cap = s.capacity.cpu_milli as f64 / 1000.0 * s.duration_s;
        let (used, limits) = (
            r.usage_utilization.cpu.total * cap,
            s.utilization.cpu.total * cap,
        );
        assert!(0.0 < used && used < limits, "{mode:?}: {used} {limits}");
    }
}

/// `run`'s lines at the terminal say what was used and reclaimed when
/// usage is tracked (an allocation above 100 % is otherwise unexplained
/// there), in summary.json's figures; a run without reclamation prints no
/// such line.
#[test]
fn the_terminal_summary_gives_usage_and_reclaimed_shares() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = root().join("tests/fixtures/reclamation/on.toml");
    let o = borgsim(
        d,
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            "o",
            "--no-plots",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("o/summary.json")).unwrap()).unwrap();
    let r = &s["reclamation"];
    let pct = |v: &serde_json::Value| format!("{:.1}%", v.as_f64().unwrap() * 100.0);
    let line = format!(
        "usage (reclamation on): cpu {}  mem {} of capacity used; on reclaimed resources: {} of \
         the cpu allocated, {} of the mem; ",
        pct(&r["usage_utilization"]["cpu"]["total"]),
        pct(&r["usage_utilization"]["mem"]["total"]),
        pct(&r["reclaimed_share"]["cpu"]),
        pct(&r["reclaimed_share"]["mem"]),
    );
    assert!(out.contains(&line), "{line}\nnot in\n{out}");
    let plain = root().join("tests/golden/tiny.toml");
    let o = borgsim(
        d,
        &["run", plain.to_str().unwrap(), "--out", "p", "--no-plots"],
    );
    assert!(!text(&o.stdout).contains("usage ("), "{}", text(&o.stdout));
}
