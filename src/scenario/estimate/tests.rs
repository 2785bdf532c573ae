//! Unit tests of the scenario estimate: each figure worked out by hand from
//! the per-item costs, the four probes refused with their keys, and
//! saturation instead of wrap-around.

use super::*;
use std::path::Path;

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("t.toml")).unwrap()
}

fn quickstart_with(edits: &[(&str, &str)]) -> Scenario {
    let mut text = crate::scenario::QUICKSTART_TOML.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "quickstart has {from:?}");
        text = text.replacen(from, to, 1);
    }
    parse(&text)
}

fn limits(memory_bytes: u64, events: u64) -> Limits {
    Limits {
        memory_bytes,
        memory_source: "--max-memory".into(),
        events,
    }
}

const GIB: u64 = 1 << 30;

/// One class of tasks of 1 MiB and `cpu_milli`, on 10 machines of 1,000
/// milli-cores and 1,000 MiB: every figure worked by hand.
fn small_of(cpu_milli: u64, class: &str, run: &str) -> Scenario {
    parse(&format!(
        "name = \"s\"\nseed = 1\n{run}\n[cell]\n[[cell.machines]]\ncount = 10\ncpu_milli = 1000\n\
         mem_mib = 1000\n[scheduler]\npolicy = \"best_fit\"\n[[workload.jobs]]\nname = \"j\"\n\
         band = \"batch\"\ncpu_milli = {{ constant = {cpu_milli} }}\nmem_mib = {{ constant = 1 }}\n{class}\n"
    ))
}

fn small(class: &str, run: &str) -> Scenario {
    small_of(1, class, run)
}

#[test]
fn churn_1k_figures_worked_by_hand() {
    let e = Scenario::builtin("churn-1k").unwrap().unwrap().estimate();
    assert_eq!((e.machines, e.jobs, e.tasks), (1000, 100_000, 100_000));
    // 100,000 jobs over 3,600 s, each running (483.85 + 1451.55) / 2 =
    // 967.7 s on average: 27.78 / s × 967.7 s = 26,880.6 live (a run's
    // samples peak at 26,967: the estimate is not a bound).
    assert_eq!(e.live_tasks, 26_881);
    // Drained: the last end is at most 3,600 + 1,452 = 5,052 s. Samples:
    // ⌈5,052 / 60⌉ + 2 = 87 (a run writes 85); passes: 5,052 / 1 + 2 =
    // 5,054; events: 100,000 arrivals + 100,000 ends + 5,054 + 87.
    assert_eq!(e.samples, 87);
    assert_eq!(e.events, 205_141);
    // 16 MiB + 1,000 × 208 + 26,881 × (320 + 168) + 1 user × 48
    // + 1,000 machines × 12 shapes (4 cpu × 3 mem) × 32 B
    // + 100,000 waits × (8 + 48) B
    // = 16,777,216 + 208,000 + 13,117,928 + 48 + 384,000 + 5,600,000
    // (peak RSS 27.8 MB).
    assert_eq!(e.memory_bytes, 36_087_192);
    assert!(e.check(&limits(GIB, DEFAULT_MAX_EVENTS)).is_ok());
}

#[test]
fn services_keep_every_task_and_poisson_counts_take_six_sigma() {
    // 100 s at 3,600 jobs/h: mean 100, + 6 × √100 = 160 arrivals; with 3
    // initial jobs, 163 jobs of 2 tasks = 326 tasks, all live (no duration).
    let e = small(
        "initial_jobs = 3\narrival = { poisson = { per_hour = 3600 } }\ntasks = { constant = 2 }",
        "duration_s = 100",
    )
    .estimate();
    assert_eq!((e.jobs, e.tasks, e.live_tasks), (163, 326, 326));
    // Events: 160 arrivals, no ends; passes ≤ changes + 1 = 161 (100 s / 1 s
    // + 2 = 102 is fewer: 102); samples ⌈100 / 60⌉ + 2 = 4.
    assert_eq!(e.events, 160 + 102 + 4);
}

#[test]
fn tasks_the_cell_cannot_run_cost_their_pending_csv_rows() {
    // 100 services of 500 milli-cores on 10 × 1,000: demand 50,000 of
    // 10,000, so 1 − 10,000 / 50,000 = 80 % stay pending (a run places 20).
    let e = small_of(
        500,
        "initial_jobs = 1\ntasks = { constant = 100 }",
        "duration_s = 60",
    )
    .estimate();
    assert_eq!(e.live_tasks, 100);
    // 16 MiB + 10 × 208 + 1 job × 320 + 100 tasks × 168 + 1 user × 48
    // + 10 machines × 1 shape × 32 + 100 waits × (8 + 48) + 80 rows × 1,400
    // = 16,777,216 + 2,080 + 320 + 16,800 + 48 + 320 + 5,600 + 112,000.
    assert_eq!(e.memory_bytes, 16_914_384);
    // With a duration, a drained run ends with nothing pending.
    let e = small_of(
        500,
        "initial_jobs = 1\ntasks = { constant = 100 }\nduration_s = { constant = 10 }",
        "",
    )
    .estimate();
    assert_eq!(e.memory_bytes, 16_914_384 - 112_000);
}

#[test]
fn an_idle_horizon_costs_samples_per_event_not_per_interval() {
    // One task of 10 s, then 10⁹ s of nothing. The sampler skips idle
    // stretches, so samples are bounded by 3 × (1 end + 2 passes + 1) = 12,
    // not 10⁹ / 1; passes by changes + 1 = 2.
    let e = small(
        "initial_jobs = 1\ntasks = { constant = 1 }\nduration_s = { constant = 10 }",
        "duration_s = 1000000000\nsample_interval_s = 1",
    )
    .estimate();
    assert_eq!((e.samples, e.events), (12, 1 + 2 + 12));
    assert!(e.check(&limits(GIB, DEFAULT_MAX_EVENTS)).is_ok());
}

/// The four probes: each refused, naming the key that drives it.
#[test]
fn astronomic_scenarios_are_refused_naming_the_key() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        // 1 job × 10¹² tasks = 10¹² live × 168 B ≈ 153 TiB.
        (
            &[("tasks = { constant = 250 }", "tasks = { constant = 1e12 }")],
            "workload.jobs[0].tasks",
        ),
        // 10¹² jobs × 250 tasks.
        (
            &[("initial_jobs = 1\n", "initial_jobs = 1000000000000\n")],
            "workload.jobs[0].initial_jobs",
        ),
        // 4,294,967,295 machines × 208 B ≈ 832 GiB.
        (
            &[("count = 200", "count = 4294967295")],
            "cell.machines[0].count",
        ),
    ];
    for (edits, key) in cases {
        let e = quickstart_with(edits).estimate();
        let (got, message) = e.check(&limits(64 * GIB, DEFAULT_MAX_EVENTS)).unwrap_err();
        assert_eq!(got, key, "{message}");
        assert!(
            message.contains("more than the limit of 64.0 GiB (--max-memory)"),
            "{message}"
        );
        assert!(message.contains("--max-memory"), "{message}");
    }
}

#[test]
fn poisson_for_an_astronomic_duration_would_never_end() {
    // 10⁹ s of quickstart: the batch class alone submits 260 / 3600 × 10⁹
    // = 7.2 × 10⁷ jobs of ~20 tasks, ~1.4 × 10⁹ task ends; 10⁹ samples.
    let sc = quickstart_with(&[
        ("duration_s = 7200", "duration_s = 1000000000"),
        ("sample_interval_s = 60", "sample_interval_s = 1"),
    ]);
    let e = sc.estimate();
    assert!(e.events > 3_000_000_000, "{}", e.events);
    let (key, message) = e.check(&limits(u64::MAX, DEFAULT_MAX_EVENTS)).unwrap_err();
    assert_eq!(key, "duration_s", "{message}");
    assert!(
        message.contains("would not end in reasonable time"),
        "{message}"
    );
    assert!(message.contains("sample_interval_s"), "{message}");
    // Its services alone (web: 10 jobs/h × ~30 tasks, never ending) hold
    // 8 × 10⁷ tasks by the end: over 12 GiB, also refused on memory.
    let (key, message) = e.check(&limits(8 * GIB, u64::MAX)).unwrap_err();
    assert_eq!(key, "duration_s", "{message}");
}

#[test]
fn an_unbounded_mean_is_refused_and_nothing_overflows() {
    // A Pareto task count of shape 1 without max has no finite mean.
    let e = small(
        "initial_jobs = 1\narrival = { poisson = { per_hour = 1e300 } }\n\
         tasks = { pareto = { scale = 1, shape = 1 } }",
        "duration_s = 18446744073709", // the clock's last second
    )
    .estimate();
    assert_eq!((e.tasks, e.memory_bytes), (u64::MAX, u64::MAX));
    let (key, message) = e.check(&limits(GIB, u64::MAX)).unwrap_err();
    assert!(
        key.starts_with("workload.jobs[0]") || key == "duration_s",
        "{key}"
    );
    assert!(message.contains("more than 16 EiB"), "{message}");
}

#[test]
fn traces_are_never_refused_on_a_guess() {
    // openb: machines from the trace, tasks read as the run goes.
    let e = Scenario::builtin("openb").unwrap().unwrap().estimate();
    assert!(e.trace);
    assert_eq!((e.machines, e.tasks, e.events), (0, 0, 0));
    assert!(e.check(&limits(BASE_BYTES, 0)).is_ok());
    assert!(e.to_string().contains("read from the trace"), "{e}");
}

#[test]
fn a_small_limit_refuses_churn_100k_and_suggests_a_larger_one() {
    let e = Scenario::builtin("churn-100k").unwrap().unwrap().estimate();
    let (key, message) = e.check(&limits(100 << 20, DEFAULT_MAX_EVENTS)).unwrap_err();
    // 10⁷ jobs over 3,600 s × 967.7 s = 2.69 × 10⁶ live, ~1.4 GiB: the
    // job count is the largest factor of the largest part.
    assert_eq!(key, "workload.jobs[0].arrival.uniform.count", "{message}");
    assert!(message.contains("--max-memory 2GiB"), "{message}");
    assert!(e.check(&limits(4 * GIB, DEFAULT_MAX_EVENTS)).is_ok());
}

#[test]
fn counts_read_exactly_below_a_million() {
    assert_eq!(count(999_999), "999999");
    assert_eq!(count(2_691_778), "2.69e6");
    assert_eq!(count(u64::MAX), "more than 1.8e19");
    // 1.25 × 1.3 GiB = 1.625 GiB → 2 GiB; 80 MiB × 1.25 = 100 MiB.
    assert_eq!(suggest_size(1_395_864_371), "2GiB");
    assert_eq!(suggest_size(80 << 20), "100MiB");
    // 150,000 events/s: 9 × 10⁸ events = 100 minutes; 3.9 × 10⁹ = 7.2 h;
    // 1.8 × 10¹⁹ / 150,000 / 86,400 s = 1.42 × 10⁹ days.
    assert_eq!(run_time(900_000_000), "about 100 minutes");
    assert_eq!(run_time(3_900_000_000), "about 7 hours");
    assert_eq!(run_time(u64::MAX), "about 1.42e9 days");
}
