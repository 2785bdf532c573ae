//! Fault injection end to end: spreading bounds what a rack outage takes
//! from a job, a machine back within its grace period loses nothing,
//! maintenance keeps its limits after every event (a property test), the
//! rate limit bounds reschedules per window, runs with faults are
//! deterministic (compaction's too, whatever the thread count), a `[faults]` table that injects nothing changes no other
//! figure, and every bad key is refused naming it (exit code 2).

use super::{borgsim, csv_rows, root, text};
use borgsim::cell::state::EvictionCause;
use borgsim::scenario::Scenario;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A cell of `racks` racks of 4 machines, 2 racks per power domain, and
/// long-running services of `tasks` tasks each (`spread`: at most one
/// per rack), plus `extra` scenario text.
fn cell(racks: u32, jobs: u32, tasks: u32, spread: bool, extra: &str) -> String {
    let limit = if spread { "max_per_rack = 1" } else { "" };
    format!(
        "name = \"f\"\nseed = 5\nduration_s = 3600\n\
         [cell]\nmachines_per_rack = 4\nracks_per_power_domain = 2\n\
         [[cell.machines]]\ncount = {}\ncpu_milli = 8000\nmem_mib = 16384\n\
         [scheduler]\npolicy = \"best_fit\"\npreemption = false\npass_interval_ms = 1000\n\
         [[workload.jobs]]\nname = \"svc\"\nband = \"production\"\ninitial_jobs = {jobs}\n\
         tasks = {{ constant = {tasks} }}\ncpu_milli = {{ constant = 1000 }}\nmem_mib = {{ constant = 1024 }}\n\
         {limit}\n{extra}",
        racks * 4
    )
}

/// Runs scenario `text` with the binary, the event log on; returns the
/// output directory (holding `events.csv`).
fn run_text(text_: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("s.toml");
    std::fs::write(&scen, text_).unwrap();
    let o = borgsim(
        dir.path(),
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
    dir
}

/// Evictions with cause `cause` at simulated second `at`, per job, read
/// from the event log (not from the fault records).
fn evicted_per_job(dir: &Path, cause: &str, at: &str) -> BTreeMap<String, u32> {
    let rows = csv_rows(&std::fs::read(dir.join("events.csv")).unwrap());
    let mut per_job = BTreeMap::new();
    for r in rows {
        if r["event"] == "evict" && r["reason"] == cause && r["time_s"] == at {
            *per_job.entry(r["job_id"].clone()).or_insert(0) += 1;
        }
    }
    per_job
}

const OUTAGE: &str = "[[faults.outages]]\nlevel = \"rack\"\nat_s = 600\ndomain = 0\n\
                      duration_s = { constant = 300 }\n";

#[test]
fn with_a_per_rack_limit_of_one_a_rack_outage_evicts_at_most_one_task_of_any_job() {
    // 6 racks of 4 machines; 5 services of 6 tasks: with the limit each
    // has one task in each of the 6 racks, so rack 0 holds one of each.
    let spread = run_text(&cell(6, 5, 6, true, OUTAGE));
    let lost = evicted_per_job(spread.path(), "machine_failure", "600.000000");
    assert!(!lost.is_empty(), "the outage evicted something");
    assert!(lost.values().all(|&n| n == 1), "{lost:?}");
    // Without it, best fit packs each service into one or two racks:
    // the same outage takes several tasks of one job (the check can fail).
    let packed = run_text(&cell(6, 5, 6, false, OUTAGE));
    let lost = evicted_per_job(packed.path(), "machine_failure", "600.000000");
    assert!(lost.values().any(|&n| n > 1), "{lost:?}");
    // failures.csv says the same of its outage row.
    let rows = csv_rows(&std::fs::read(spread.path().join("o/failures.csv")).unwrap());
    let outage = rows.iter().find(|r| r["kind"] == "outage").unwrap();
    assert_eq!(
        (
            outage["machines"].as_str(),
            outage["max_job_tasks"].as_str()
        ),
        ("4", "1")
    );
    // Five services of six tasks need all six racks: their tasks wait for
    // the rack to come back, 300 s later.
    assert_eq!(outage["recover_us"], "300000000");
}

/// Unreachability of every machine, each out of contact for 30 s about
/// once in 20 minutes, with grace period `grace_s`.
fn unreachable(grace_s: u64) -> String {
    cell(
        4,
        4,
        8,
        false,
        &format!(
            "[[faults.unreachable]]\ntime_between = {{ exponential = {{ mean_s = 1200 }} }}\n\
             duration_s = {{ constant = 30 }}\ngrace_s = {grace_s}\n"
        ),
    )
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("o/summary.json")).unwrap()).unwrap()
}

#[test]
fn an_unreachable_machine_back_within_its_grace_period_loses_no_task() {
    let in_time = run_text(&unreachable(60));
    let s = summary(in_time.path());
    let contact_lost = s["faults"]["by_kind"]["unreachable"]["count"]
        .as_u64()
        .unwrap();
    assert!(contact_lost > 10, "machines lost contact: {contact_lost}");
    assert_eq!(s["evictions"]["machine_failure"], 0);
    assert_eq!(s["faults"]["by_kind"]["unreachable"]["tasks_evicted"], 0);
    // With a 10 s grace the same draws lose tasks, which run elsewhere.
    let late = run_text(&unreachable(10));
    let s = summary(late.path());
    let lost = s["evictions"]["machine_failure"].as_u64().unwrap();
    assert!(lost > 0);
    let u = &s["faults"]["by_kind"]["unreachable"];
    assert_eq!(u["count"].as_u64().unwrap(), contact_lost, "same draws");
    assert_eq!(u["tasks_evicted"].as_u64().unwrap(), lost);
    assert!(u["recovered"].as_u64().unwrap() > 0, "{u}");
    // Each lost task was evicted 10 s after its machine lost contact.
    let rows = csv_rows(&std::fs::read(late.path().join("o/failures.csv")).unwrap());
    let events = csv_rows(&std::fs::read(late.path().join("events.csv")).unwrap());
    for r in rows.iter().filter(|r| r["tasks_evicted"] != "0") {
        let at = r["time_us"].parse::<u64>().unwrap() + 10_000_000;
        let machine = &r["domain"];
        let n = events
            .iter()
            .filter(|e| e["event"] == "evict" && &e["machine"] == machine)
            .filter(|e| (e["time_s"].parse::<f64>().unwrap() * 1e6).round() as u64 == at)
            .count();
        assert_eq!(n.to_string(), r["tasks_evicted"], "{r:?}");
    }
}

/// A scenario with a power-domain outage of 8 machines full of tasks and
/// a rate limit of `per` tasks per 30 s.
fn limited(per: u32) -> Scenario {
    let text = cell(
        4,
        8,
        8,
        false,
        &format!(
            "[[faults.outages]]\nlevel = \"power_domain\"\nat_s = 600\ndomain = 0\n\
             duration_s = {{ constant = 1200 }}\n\
             [faults.reschedule_limit]\ntasks = {per}\ninterval_s = 30\n"
        ),
    );
    Scenario::parse(&text, Path::new("limited.toml")).unwrap()
}

#[test]
fn the_rate_limit_bounds_reschedules_per_interval() {
    let per = 5;
    let mut sim = borgsim::build_simulation(&limited(per), true).unwrap();
    // Released so far = fault evictions − tasks still queued (from the
    // ledger and the queue, not the limiter's own counts), per window.
    let mut per_window: BTreeMap<u64, u64> = BTreeMap::new();
    let mut last = 0u64;
    let mut max_queued = 0;
    while sim.step() {
        let st = sim.state();
        let evicted = st.ledger().evictions[EvictionCause::MachineFailure as usize];
        let released = evicted - st.delayed_len() as u64;
        max_queued = max_queued.max(st.delayed_len());
        *per_window
            .entry(sim.now().as_us() / 30_000_000)
            .or_default() += released - last;
        last = released;
    }
    let counts: Vec<u64> = per_window.values().copied().filter(|&n| n > 0).collect();
    assert!(counts.iter().all(|&n| n <= u64::from(per)), "{counts:?}");
    assert!(
        counts.contains(&u64::from(per)),
        "the limit was reached: {counts:?}"
    );
    // 8 machines of 8 tasks each, best fit: far more than 5 at once.
    assert!(max_queued > 20, "{max_queued}");
    let f = sim.faults().unwrap().summary(sim.end_time());
    assert_eq!(f.reschedule_queue.max_queued, max_queued as u64);
    assert!(f.reschedule_queue.delay_us_total > 0);
}

#[test]
fn runs_with_faults_are_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let out = d.path().join("o");
        let o = borgsim(
            &root(),
            &[
                "run",
                "failures",
                "--quiet",
                "--no-plots",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    for f in [
        "summary.json",
        "failures.csv",
        "timeseries.csv",
        "pending.csv",
        "report.html",
    ] {
        let x = std::fs::read(a.path().join("o").join(f)).unwrap();
        let y = std::fs::read(b.path().join("o").join(f)).unwrap();
        assert!(x == y, "{f} differs between two runs of the same seed");
    }
    let rows = csv_rows(&std::fs::read(a.path().join("o/failures.csv")).unwrap());
    for kind in ["machine_failure", "outage", "maintenance"] {
        assert!(rows.iter().any(|r| r["kind"] == kind), "no {kind} row");
    }
}

/// Compaction runs whole simulations, faults included, on a pool of
/// threads: the thread count changes no byte of its answer.
#[test]
fn compaction_with_faults_is_the_same_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(threads);
        let o = borgsim(
            &root(),
            &[
                "compact",
                "failures",
                "--trials",
                "2",
                "--threads",
                threads,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        answers.push(std::fs::read(out.join("compaction.json")).unwrap());
    }
    assert!(
        answers[0] == answers[1],
        "compaction.json differs by thread count"
    );
}

#[test]
fn a_faults_table_that_injects_nothing_changes_no_other_figure() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(root().join("tests/golden/tiny.toml")).unwrap();
    std::fs::write(dir.path().join("plain.toml"), &tiny).unwrap();
    std::fs::write(dir.path().join("empty.toml"), format!("{tiny}\n[faults]\n")).unwrap();
    let mut summaries = Vec::new();
    for name in ["plain", "empty"] {
        let o = borgsim(
            dir.path(),
            &[
                "run",
                &format!("{name}.toml"),
                "--quiet",
                "--no-plots",
                "--out",
                name,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(name).join("summary.json")).unwrap(),
        )
        .unwrap();
        summaries.push(v);
    }
    let mut empty = summaries.pop().unwrap();
    let faults = empty.as_object_mut().unwrap().remove("faults").unwrap();
    assert_eq!(faults["faults"], 0);
    assert_eq!(summaries[0], empty);
    assert!(!dir.path().join("plain/failures.csv").exists());
}

#[test]
fn every_bad_faults_key_is_refused_naming_it() {
    let base = cell(2, 1, 2, false, "");
    let cases = [
        ("[faults]\nbogus = 1\n", "bogus"),
        (
            "[[faults.outages]]\nlevel = \"rack\"\nat_s = 5\ndomain = 9\nduration_s = { constant = 1 }\n",
            "faults.outages[0].domain",
        ),
        (
            "[[faults.machine_failures]]\nclass = 1\ntime_to_failure = { exponential = { mean_s = 9 } }\nrepair_s = { constant = 1 }\n",
            "faults.machine_failures[0].class",
        ),
        (
            "[faults.maintenance]\nstart_s = 0\nmax_down = 1\nmax_job_share_pct = 101\nduration_s = { constant = 1 }\n",
            "faults.maintenance.max_job_share_pct",
        ),
        (
            "[[faults.task_crashes]]\nper_task_hour = 1\njob_class = \"nope\"\n",
            "faults.task_crashes[0].job_class",
        ),
        (
            "[[faults.unreachable]]\ntime_between = { weibull = { shape = 1, scale_s = -1 } }\nduration_s = { constant = 1 }\ngrace_s = 1\n",
            "faults.unreachable[0].time_between.weibull.scale_s",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (extra, key) in cases {
        std::fs::write(dir.path().join("bad.toml"), format!("{base}{extra}")).unwrap();
        let o = borgsim(dir.path(), &["validate", "bad.toml"]);
        assert_eq!(o.status.code(), Some(2), "{extra}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(key), "{key}: {}", text(&o.stderr));
    }
}

/// A crash rate that would flood the run is refused before it starts,
/// its key named, as any run beyond `--max-events`.
#[test]
fn a_flood_of_crashes_is_refused_by_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let text_ = std::fs::read_to_string(root().join("scenarios/failures.toml")).unwrap();
    let crashy = text_.replace("per_task_hour = 0.05", "per_task_hour = 1e6");
    assert_ne!(crashy, text_);
    std::fs::write(dir.path().join("crashy.toml"), crashy).unwrap();
    let o = borgsim(dir.path(), &["validate", "crashy.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("make faults.task_crashes smaller"),
        "{}",
        text(&o.stderr)
    );
}

/// What the maintenance property test draws: a cell, its services, the
/// drain's limits.
#[derive(Debug, Clone)]
struct Drain {
    racks: u32,
    jobs: u32,
    tasks: u32,
    max_down: u32,
    share_pct: u32,
    seed: u64,
}

fn drain_scenario(d: &Drain) -> Scenario {
    let text = cell(
        d.racks,
        d.jobs,
        d.tasks,
        false,
        &format!(
            "[faults.maintenance]\nstart_s = 60\nmax_down = {}\nmax_job_share_pct = {}\n\
             duration_s = {{ uniform = {{ min = 30, max = 120 }} }}\n",
            d.max_down, d.share_pct
        ),
    )
    .replace("seed = 5", &format!("seed = {}", d.seed));
    Scenario::parse(&text, Path::new("drain.toml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// After every event: at most `max_down` machines down, and no job
    /// with more tasks evicted and not running again than its budget,
    /// max(1, ⌊tasks × share / 100⌋) — counted from the cell alone
    /// (machines down; pending tasks evicted before: maintenance is the
    /// only thing that evicts here, preemption being off).
    #[test]
    fn maintenance_keeps_its_limits_after_every_event(
        racks in 1u32..5, jobs in 1u32..6, tasks in 1u32..12,
        max_down in 1u32..4, share_pct in 1u32..60, seed in 0u64..1000,
    ) {
        let d = Drain { racks, jobs, tasks, max_down, share_pct, seed };
        let mut sim = borgsim::build_simulation(&drain_scenario(&d), true).unwrap();
        let allowance = u64::from((tasks * share_pct / 100).max(1));
        while sim.step() {
            let st = sim.state();
            let down = (0..st.cell().len() as u32).filter(|&m| !st.machine_up(m)).count();
            prop_assert!(down as u32 <= max_down, "{down} down at {}", sim.now());
            let mut out: BTreeMap<u32, u64> = BTreeMap::new();
            for (_, rec) in st.live_tasks() {
                if rec.state == borgsim::cell::state::TaskState::Pending && rec.evictions > 0 {
                    *out.entry(rec.job).or_default() += 1;
                }
            }
            for (j, n) in out {
                prop_assert!(n <= allowance, "job {j}: {n} out, budget {allowance}, {d:?}");
            }
        }
        let f = sim.faults().unwrap().summary(sim.end_time());
        let m = f.maintenance.unwrap();
        prop_assert_eq!(m.machines, racks * 4);
        prop_assert!(m.drained <= m.machines);
    }
}

/// A trace replay (re-schedule mode) whose machines 0 and 1 leave at
/// 100 s: each REMOVE is a fault of kind `remove`, its tasks (cause
/// `machine_down`) go through the rate limit of 2 per 30 s, and the
/// fault recovers once they all run elsewhere.
#[test]
fn a_traces_machine_removes_go_through_the_rate_limit_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("native");
    std::fs::create_dir(&trace).unwrap();
    let mut machines = String::from("time_us,event,machine,cpu_milli,mem_mib\n");
    for m in 0..4 {
        machines += &format!("0,add,{m},8000,16384\n");
    }
    machines += "100000000,remove,0,,\n100000000,remove,1,,\n";
    std::fs::write(trace.join("machines.csv"), machines).unwrap();
    // 16 one-core services: best fit fills machines 0 and 1 first (8 each).
    let mut tasks = String::from("time_us,event,job,index,priority,cpu_milli,mem_mib\n");
    for i in 0..16 {
        tasks += &format!("0,submit,1,{i},200,1000,1024\n");
    }
    std::fs::write(trace.join("tasks.csv"), tasks).unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "name = \"removes\"\nseed = 1\nduration_s = 600\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"native\"\nfiles = [\"native\"]\n\
         [faults.reschedule_limit]\ntasks = 2\ninterval_s = 30\n",
    )
    .unwrap();
    let o = borgsim(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--quiet",
            "--no-plots",
            "--check-invariants",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = csv_rows(&std::fs::read(dir.path().join("o/failures.csv")).unwrap());
    let removes: Vec<_> = rows.iter().filter(|r| r["kind"] == "remove").collect();
    assert_eq!(removes.len(), 2, "{rows:?}");
    let s = summary(dir.path());
    assert_eq!(s["evictions"]["machine_down"], 16);
    assert_eq!(s["evictions"]["machine_failure"], 0);
    // 16 tasks at 2 per 30 s: 2 at 100 s, then 2 at each of 120, 150, …,
    // 300 s: 14 waited, the last released 200 s after the REMOVE.
    let q = &s["faults"]["reschedule_queue"];
    assert_eq!(
        (q["tasks_delayed"].as_u64(), q["max_queued"].as_u64()),
        (Some(14), Some(14))
    );
    // Machines 2 and 3 hold 16 cores: every task ran again, the last at 300 s.
    let last = removes
        .iter()
        .map(|r| r["recovered_at_us"].parse::<u64>().unwrap())
        .max();
    assert_eq!(last, Some(300_000_000));
}
