//! Unit tests of the scenario estimate: each figure worked out by hand from
//! the per-item costs, the four probes refused with their keys, and
//! saturation instead of wrap-around.

use super::text::{run_time, suggest_size};
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
        physical_bytes: None,
        events,
        attempts: DEFAULT_MAX_ATTEMPTS,
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
        // 4,294,967,245 machines × 208 B ≈ 832 GiB (with the other 50,
        // u32::MAX in all: the most validation allows).
        (
            &[("count = 200", "count = 4294967245")],
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
    // = 7.2 × 10⁷ jobs of ~30 tasks, ~2.2 × 10⁹ task ends (all could run
    // by then); 10⁹ samples.
    let sc = quickstart_with(&[
        ("duration_s = 7200", "duration_s = 1000000000"),
        ("sample_interval_s = 60", "sample_interval_s = 1"),
    ]);
    let e = sc.estimate();
    assert!(e.events > 3_000_000_000, "{}", e.events);
    let (key, message) = e.check(&limits(u64::MAX, DEFAULT_MAX_EVENTS)).unwrap_err();
    assert_eq!(key, "duration_s", "{message}");
    assert!(
        message.contains("would not end in reasonable time") && message.contains("--max-events"),
        "{message}"
    );
    assert!(message.contains("sample_interval_s"), "{message}");
    // The web services (10 jobs/h of ~30 tasks, never ending) hold 8 × 10⁷
    // tasks by the end, tens of thousands of times the cell's CPU, so the
    // batch jobs wait, and every pass (one a second or so) tries the queue
    // again: far beyond 10¹⁰ attempts.
    assert!(e.attempts > 1_000_000_000_000, "{}", e.attempts);
    let (_, ratio) = e.overload.unwrap();
    assert!(ratio > 10_000.0, "{ratio}");
    let (key, message) = e.check(&limits(u64::MAX, u64::MAX)).unwrap_err();
    assert_eq!(key, "duration_s", "{message}");
    assert!(
        message.contains("--max-attempts") && message.contains("scheduler.pass_interval_ms larger"),
        "{message}"
    );
    // Over 12 GiB of live services and pending rows: refused on memory too.
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
    // Saturated: "more than", never "about more than".
    assert!(message.contains("would need more than 16 EiB"), "{message}");
    assert!(!e.to_string().contains("about more"), "{e}");
    assert!(e.to_string().contains("more than 16 EiB of memory"), "{e}");
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
    assert_eq!(suggest_size(1_395_864_371, None), "2GiB");
    assert_eq!(suggest_size(80 << 20, None), "100MiB");
    // Never beyond this machine: 1.25 × 20 GiB = 25 GiB > 23.5 GiB, and
    // 24 GiB too, so 23.5 GiB in whole MiB: 23.5 × 1024 = 24,064.
    assert_eq!(suggest_size(20 * GIB, Some(47 * GIB / 2)), "24064MiB");
    // 150,000 events/s: 9 × 10⁸ events = 6,000 s = 100 minutes; 3.9 × 10⁹
    // = 7.2 h; 1.8 × 10¹⁹ / 150,000 / 86,400 s = 1.42 × 10⁹ days.
    let at = |events: u64| run_time(events as f64 / EVENTS_PER_S as f64);
    assert_eq!(at(900_000_000), "about 100 minutes");
    assert_eq!(at(3_900_000_000), "about 7 hours");
    assert_eq!(at(u64::MAX), "about 1.42e9 days");
    assert_eq!(run_time(59.0), "under a minute");
}

/// The overloaded cell of the review: one machine of 16,000 milli-cores,
/// one-task jobs of 16,000 milli-cores running 10 s, arriving as Poisson
/// `per_hour` for `duration_s` (or `uniform` when `arrival` says so),
/// passes every `pass_ms`.
fn flood(arrival: &str, run: &str, pass_ms: u64) -> Scenario {
    parse(&format!(
        "name = \"t\"\nseed = 1\n{run}\n[cell]\n[[cell.machines]]\ncount = 1\ncpu_milli = 16000\n\
         mem_mib = 65536\n[scheduler]\npolicy = \"best_fit\"\npreemption = false\n\
         pass_interval_ms = {pass_ms}\n[[workload.jobs]]\nname = \"a\"\nband = \"batch\"\n\
         {arrival}\ncpu_milli = {{ constant = 16000 }}\nmem_mib = {{ constant = 100 }}\n\
         tasks = {{ constant = 1 }}\nduration_s = {{ constant = 10 }}\n"
    ))
}

fn poisson(per_hour: f64) -> String {
    format!("initial_jobs = 1\narrival = {{ poisson = {{ per_hour = {per_hour} }} }}")
}

#[test]
fn an_overloaded_cell_keeps_every_task_it_is_sent() {
    let e = flood(&poisson(2e7), "duration_s = 3600", 1_000_000).estimate();
    // 2 × 10⁷ arrivals + 6 √(2 × 10⁷) = 20,026,832.8, and the initial job:
    // 20,026,833.8 jobs of one task.
    assert_eq!((e.jobs, e.tasks), (20_026_834, 20_026_834));
    // Little's law alone: 1 + 20,026,832.8 / 3,600 s × 10 s = 55,631.1
    // tasks would run at once (what the estimate used to hold: about 244
    // MiB). Each takes the whole machine: offered 55,631.1 × its CPU.
    let (resource, ratio) = e.overload.unwrap();
    assert_eq!(resource, "CPU");
    assert!((ratio - 55_631.091).abs() < 1e-3, "{ratio}");
    // 1 / 55,631.1 of the tasks run, the rest wait: live at the peak
    // 55,631.1 × (1 / 55,631.1) + 20,026,833.8 × (1 − 1 / 55,631.1)
    // = 1 + 20,026,833.8 − 359.99 = 20,026,474.8.
    assert_eq!(e.live_tasks, 20_026_475);
    // 2 × 10⁷ live tasks × 488 B and as many pending.csv rows × 1,400 B:
    // about 35 GiB, refused naming the arrival rate (its factor, 2 × 10⁷,
    // is the largest of the pending rows' keys).
    assert!(e.memory_bytes > 35 * GIB, "{}", e.memory_bytes);
    let (key, message) = e.check(&limits(8 * GIB, DEFAULT_MAX_EVENTS)).unwrap_err();
    assert_eq!(
        key, "workload.jobs[0].arrival.poisson.per_hour",
        "{message}"
    );
    assert!(
        message.contains("the cell cannot keep up: it is offered 5.56e4 × its CPU"),
        "{message}"
    );
}

#[test]
fn scheduling_attempts_grow_with_the_queue() {
    let e = flood(&poisson(50_000.0), "duration_s = 3600", 1000).estimate();
    // 50,000 + 6 √50,000 = 51,341.6 arrivals; Little: 1 + 51,341.6 / 3,600
    // × 10 = 143.6 tasks want the one machine: 1 / 143.6 run, the rest wait.
    // Task ends: at most 1 machine × (3,600 / 10 s + 1) = 361; passes:
    // min(3,600 / 1 s + 2, 51,342 + 361 + 1) = 3,602. Pending jobs at a
    // pass, on average: the
    // initial one and half the arrivals (spread over the whole horizon),
    // those that wait: (1 + 25,670.8) × (1 − 1 / 143.6) = 25,493.1.
    // Attempts: 51,342.6 placed once + 3,602 × 25,493.1 = 91,877,369.2
    // (a release run of a third of the horizon made 9.9 × 10⁶, as 1,200 ×
    // 8,300 predicts: the queue grows linearly).
    assert_eq!(e.attempts, 91_877_370);
    assert!(e.check(&limits(GIB, DEFAULT_MAX_EVENTS)).is_ok());
    let tight = Limits {
        attempts: 10_000_000,
        ..limits(GIB, DEFAULT_MAX_EVENTS)
    };
    let (key, message) = e.check(&tight).unwrap_err();
    // The arrival rate's factor (50,000) is larger than duration_s's (3,600).
    assert_eq!(
        key, "workload.jobs[0].arrival.poisson.per_hour",
        "{message}"
    );
    assert!(
        message.contains(
            "make workload.jobs[0].arrival.poisson.per_hour or duration_s smaller, \
             or scheduler.pass_interval_ms larger, or raise the limit with --max-attempts"
        ),
        "{message}"
    );
    assert!(
        message.contains("3602 passes × 25494 jobs pending on average"),
        "{message}"
    );
}

#[test]
fn a_queue_that_grows_for_days_is_refused_under_the_default_limit() {
    // 1,800 jobs/h for 400,000 s: 200,000 + 6 √200,000 = 202,683.3 jobs,
    // 6.07 times what the machine runs. Ends: at most 400,000 / 10 + 1 =
    // 40,001; passes: min(400,002, 202,684 + 40,001 + 1) = 242,686; pending
    // at a pass: (1 + 101,341.6) × (1 − 1 / 6.07) = 84,639.0; attempts
    // 202,684.3 + 242,686 × 84,639.0 = 2.05 × 10¹⁰, about 2.9 hours at
    // 2 × 10⁶ a second: beyond the default 10¹⁰, though memory (under 400
    // MiB) and events (about 5 × 10⁵) are not.
    let e = flood(&poisson(1800.0), "duration_s = 400000", 1000).estimate();
    assert!(
        (20_540_000_000..20_542_000_000).contains(&e.attempts),
        "{}",
        e.attempts
    );
    assert!(e.memory_bytes < 400 << 20 && e.events < 1_000_000, "{e}");
    let (key, message) = e.check(&limits(GIB, DEFAULT_MAX_EVENTS)).unwrap_err();
    assert_eq!(key, "duration_s", "{message}");
    for named in [
        "workload.jobs[0].arrival.poisson.per_hour",
        "scheduler.pass_interval_ms",
        "--max-attempts",
        "would not end in reasonable time",
    ] {
        assert!(message.contains(named), "{named}: {message}");
    }
}

#[test]
fn a_drained_run_lasts_until_the_cell_has_run_the_work() {
    // 1,000 jobs in the first 10 s, each a whole machine for 10 s: the last
    // arrival's task could end at 20 s, but one machine runs 1,000 × 10 s
    // of work in 10,000 s. Passes: min(10,000 / 1 + 2, 1,000 arrivals +
    // 1,000 ends + 1) = 2,001; samples: ⌈10,000 / 60⌉ + 2 = 169.
    let e = flood(
        "arrival = { uniform = { count = 1000, over_s = 10 } }",
        "sample_interval_s = 60",
        1000,
    )
    .estimate();
    assert_eq!(e.samples, 169);
    assert_eq!(e.events, 1000 + 1000 + 2001 + 169);
    // Little: 1,000 / 10 s × 10 s = 1,000 want the machine, 999 wait, so
    // 1,000 live at the peak. Pending at a pass: 1,000 × (1 − 10 / 20,000)
    // × 0.999 = 998.5005; attempts 1,000 + 2,001 × 998.5005 = 1,998,999.5
    // (a release run lasts 10,000 s and makes 503,918 in 1,009 passes: its
    // queue drains as a triangle, and passes merge arrivals).
    assert_eq!(e.live_tasks, 1000);
    assert_eq!(e.attempts, 1_999_000);
}

#[test]
fn jobs_no_machine_can_host_pile_up_without_loading_the_cell() {
    // Tasks of 5,000 milli-cores on machines of 1,000: every job is stuck.
    // 100 + 6 × 10 = 160 arrive in 100 s and all stay (Little's law would
    // say 1 / s × 10 s = 10), pending at the end; they load nothing.
    let e = small_of(
        5000,
        "arrival = { poisson = { per_hour = 3600 } }\ntasks = { constant = 1 }\n\
         duration_s = { constant = 10 }",
        "duration_s = 100",
    )
    .estimate();
    assert_eq!(e.live_tasks, 160);
    assert_eq!(e.overload, None);
    // 16 MiB + 10 × 208 + 160 × (320 + 168) + 48 + 10 × 1 shape × 32
    // + 160 × (8 + 48) + 160 rows × 1,400.
    let want = BASE_BYTES + 2080 + 160 * 488 + 48 + 320 + 160 * 56 + 160 * 1400;
    assert_eq!(e.memory_bytes, want);
    // Never placed, never ended: passes min(100 + 2, 160 + 1) = 102, each
    // trying half the arrivals on average: 102 × 80 = 8,160 attempts.
    assert_eq!(e.attempts, 8160);
}

#[test]
fn the_fixed_cost_is_named_when_it_fills_the_limit_or_leads() {
    // A limit of 16 MiB is the program's fixed cost alone: no scenario
    // change can help, so the flag is named, not duration_s.
    let e = Scenario::builtin("quickstart").unwrap().unwrap().estimate();
    let (key, message) = e
        .check(&limits(BASE_BYTES, DEFAULT_MAX_EVENTS))
        .unwrap_err();
    assert_eq!(key, "--max-memory", "{message}");
    assert!(message.contains("alone fills the limit"), "{message}");
    assert!(!message.contains("smaller"), "{message}");
    // A small run: 16.9 MB, of which 16 MiB is the program, the largest part.
    let e = small(
        "initial_jobs = 1\ntasks = { constant = 100 }",
        "duration_s = 60",
    )
    .estimate();
    let (key, message) = e
        .check(&limits(BASE_BYTES + 1, DEFAULT_MAX_EVENTS))
        .unwrap_err();
    assert_eq!(key, "--max-memory", "{message}");
    assert!(
        message.contains("the largest part is the program's fixed cost (16.0 MiB"),
        "{message}"
    );
}

#[test]
fn a_limit_beyond_this_machine_is_never_suggested() {
    let huge = |count: u64| {
        parse(&format!(
            "name = \"h\"\nseed = 1\nduration_s = 1\n[cell]\n[[cell.machines]]\ncount = {count}\n\
             cpu_milli = 1000\nmem_mib = 1000\n[scheduler]\npolicy = \"best_fit\"\n\
             [[workload.jobs]]\nname = \"j\"\nband = \"batch\"\ninitial_jobs = 1\n\
             tasks = {{ constant = 1 }}\ncpu_milli = {{ constant = 1 }}\nmem_mib = {{ constant = 1 }}\n"
        ))
    };
    // u32::MAX machines × 208 B = 832 GiB (and 8 Mi cache entries): beyond
    // a machine of 32 GiB, whatever --max-memory says.
    let e = huge(u64::from(u32::MAX)).estimate();
    let here = Limits {
        physical_bytes: Some(32 * GIB),
        ..limits(32 * GIB, DEFAULT_MAX_EVENTS)
    };
    let (key, message) = e.check(&here).unwrap_err();
    assert_eq!(key, "cell.machines[0].count", "{message}");
    assert!(
        message.contains("make cell.machines[0].count smaller; this machine has 32.0 GiB")
            && message.contains("--max-memory cannot help")
            && !message.contains("e.g."),
        "{message}"
    );
    // On a machine of 2 TiB the suggestion is 1.25 × 832.4 GiB → 1,041 GiB.
    let there = Limits {
        physical_bytes: Some(2048 * GIB),
        ..here
    };
    let (_, message) = e.check(&there).unwrap_err();
    assert!(message.contains("--max-memory 1041GiB"), "{message}");
}
