//! The command line: bad input exits 2 with a message naming the file and the
//! place; good input runs and writes every output.

use super::{borgsim, root, text};
use std::fs;

/// Writes `body` as a scenario file in a fresh directory and validates it.
fn validate(body: &str) -> (i32, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.toml"), body).unwrap();
    let out = borgsim(dir.path(), &["validate", "bad.toml"]);
    (out.status.code().unwrap(), text(&out.stderr), dir)
}

fn quickstart_with(from: &str, to: &str) -> String {
    let q = fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    assert!(q.contains(from), "quickstart has {from:?}");
    q.replacen(from, to, 1)
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let body = quickstart_with("seed = 42", "seed = 42\nsede = 1");
    let (code, err, _d) = validate(&body);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("unknown field `sede`"), "{err}");
    let line = body.lines().position(|l| l.starts_with("sede")).unwrap() + 1;
    assert!(err.contains(&format!("line {line}")), "{err}");
}

#[test]
fn negative_capacity_is_a_parse_error_with_position() {
    let body = quickstart_with("cpu_milli = 16000", "cpu_milli = -16000");
    let (code, err, _d) = validate(&body);
    assert_eq!(code, 2, "{err}");
    let line = body.lines().position(|l| l.contains("-16000")).unwrap() + 1;
    assert!(
        err.contains("bad.toml") && err.contains(&format!("line {line}")),
        "{err}"
    );
    assert!(err.contains("-16000"), "{err}");
}

#[test]
fn zero_capacity_names_the_key() {
    let body = quickstart_with("mem_mib = 65536", "mem_mib = 0");
    let (code, err, _d) = validate(&body);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.toml: cell.machines[0].mem_mib: capacity must be > 0"),
        "{err}"
    );
}

#[test]
fn unknown_policy_and_bad_priority_are_rejected() {
    let (code, err, _d) = validate(&quickstart_with("\"hybrid\"", "\"first_fit\""));
    assert_eq!(code, 2);
    assert!(err.contains("unknown variant `first_fit`"), "{err}");
    let (code, err, _d) = validate(&quickstart_with("priority = 200", "priority = 50"));
    assert_eq!(code, 2);
    assert!(
        err.contains("workload.jobs[1].priority: 50 is outside band production"),
        "{err}"
    );
}

#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = borgsim(dir.path(), &["run", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope.toml: cannot read"));
}

#[test]
fn valid_scenarios_validate() {
    for f in ["quickstart.toml", "fragmentation.toml"] {
        let out = borgsim(&root().join("scenarios"), &["validate", f]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(": ok:"));
    }
}

#[test]
fn default_run_writes_every_output_and_reports_the_oversized_task() {
    let dir = tempfile::tempdir().unwrap();
    let out = borgsim(dir.path(), &["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("scenario quickstart") && stdout.contains("wait prod:"),
        "{stdout}"
    );
    let rep = dir.path().join("reports/quickstart");
    let mut outputs = vec!["summary.json", "run.json", "timeseries.csv", "pending.csv"];
    // Plots only with the `plots` feature (on by default).
    if cfg!(feature = "plots") {
        outputs.extend(["utilization.png", "pending.png", "wait_cdf.png"]);
    }
    for f in outputs {
        let meta = fs::metadata(rep.join(f)).unwrap_or_else(|_| panic!("{f} written"));
        assert!(meta.len() > 0, "{f} is empty");
    }
    let leftovers: Vec<_> = fs::read_dir(&rep)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    if cfg!(feature = "plots") {
        let png = fs::read(rep.join("utilization.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    // The too-big job (64 cores, machines have at most 32) is reported, not an error.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(rep.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tasks"]["never_schedulable"], 1);
    let pending = fs::read_to_string(rep.join("pending.csv")).unwrap();
    let row = pending
        .lines()
        .find(|l| l.contains("too-big-0"))
        .expect("listed");
    assert!(row.contains("never_schedulable"), "{row}");
    for key in [
        "submitted",
        "scheduled",
        "finished",
        "pending_at_end",
        "evicted",
    ] {
        assert!(summary["tasks"][key].is_u64(), "tasks.{key}");
    }
    for band in ["prod", "nonprod"] {
        assert!(summary["utilization"]["cpu"][band].is_f64());
        assert!(summary["wait_us"][band]["p99"].is_u64());
    }
    assert!(summary["scheduler"]["feasibility_checks"].as_u64().unwrap() > 0);
    assert!(summary["evictions"]["preemption"].as_u64().unwrap() > 0);
}

#[test]
fn out_seed_and_policy_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = borgsim(
        dir.path(),
        &[
            "run",
            "--quiet",
            "--no-plots",
            "--seed",
            "5",
            "--policy",
            "worst_fit",
            "--out",
            "o",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--quiet prints nothing");
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(s["seed"], 5);
    assert_eq!(s["policy"], "worst_fit");
    let out = borgsim(dir.path(), &["run", "--policy", "first_fit"]);
    assert_eq!(out.status.code(), Some(2));
}

/// No silent changes: values that would be quietly changed or wrap are
/// errors naming the key (exit 2).
/// A machine beyond 2^40 milli-cores or MiB is refused: the scorers'
/// arithmetic (free × 10,000) would overflow long before a sum of machines.
#[test]
fn a_machine_beyond_the_resource_bound_names_the_key() {
    for (from, to, key) in [
        (
            "cpu_milli = 16000",
            "cpu_milli = 10000000000000000",
            "cpu_milli",
        ),
        ("mem_mib = 65536", "mem_mib = 2000000000000", "mem_mib"),
    ] {
        let (code, err, _d) = validate(&quickstart_with(from, to));
        assert_eq!(code, 2, "{err}");
        let want = format!("cell.machines[0].{key}: at most 1099511627776");
        assert!(err.contains(&want), "{err}");
    }
}

#[test]
fn values_that_would_change_quietly_are_errors_naming_the_key() {
    let cases = [
        // A job of no tasks, a task asking for no CPU.
        (
            ("tasks = { constant = 250 }", "tasks = { constant = 0 }"),
            "workload.jobs[0].tasks: can draw 0",
        ),
        (
            (
                "tasks = { uniform = { min = 5, max = 15 } }",
                "tasks = { uniform = { min = 0.2, max = 15 } }",
            ),
            "tasks: can draw 0",
        ),
        (
            (
                "cpu_milli = { constant = 100 }",
                "cpu_milli = { constant = 0.4 }",
            ),
            "workload.jobs[0].cpu_milli: can draw 0",
        ),
        // Exponential draws that round to 0 more than 1 % of the time:
        // 1 - e^(-0.5/1) = 39.3 % would silently count as 1.
        (
            (
                "tasks = { constant = 250 }",
                "tasks = { exponential = { mean = 1 } }",
            ),
            "workload.jobs[0].tasks: 39.3 % of its draws round to 0",
        ),
        // A log-normal cap below its median, a Pareto cap below its scale.
        (
            (
                "median = 25, sigma = 0.6, max = 120",
                "median = 25, sigma = 0.6, max = 20",
            ),
            "workload.jobs[1].tasks: max (20) is below the median (25)",
        ),
        (
            (
                "scale = 5, shape = 1.2, max = 400",
                "scale = 5, shape = 1.2, max = 4",
            ),
            "max (4) is below the scale (5)",
        ),
        // Two classes of one name.
        (
            ("name = \"web\"", "name = \"monitor\""),
            "workload.jobs[1].name: \"monitor\" is already the name of workload.jobs[0]",
        ),
        // Times beyond the clock (µs in a u64) are not "never", which
        // would make the run last until drained.
        (
            ("duration_s = 7200 ", "duration_s = 18446744073710 "),
            "duration_s: 18446744073710 s is beyond the simulator's clock",
        ),
        (
            (
                "duration_s = { constant = 60 }",
                "duration_s = { constant = 1e20 }",
            ),
            "duration_s: 100000000000000000000 s is beyond the simulator's clock",
        ),
        // A cell whose total CPU overflows u64: 4294967295 × 2^33 milli-cores.
        (
            ("cpu_milli = 16000", "cpu_milli = 8589934592000"),
            "cell.machines[0].cpu_milli: the cell's total milli-cores",
        ),
    ];
    for ((from, to), want) in cases {
        let mut body = quickstart_with(from, to);
        if want.contains("total milli-cores") {
            body = body.replacen("count = 200", "count = 4294967295", 1);
        }
        let (code, err, _d) = validate(&body);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(err.contains(want), "{to}: {err}");
    }
}

/// A run's directory is whole: nothing of an earlier run survives in it
/// (the first run's PNGs after a `--no-plots` run), and concurrent runs
/// given one `--out` never mix — every file is the winner's (its
/// timeseries.csv is the one a run with its seed writes alone).
#[test]
fn output_directories_are_whole_and_never_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |seed: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["run", "--quiet", "--seed", seed, "--out", out];
        args.extend_from_slice(extra);
        let o = borgsim(d, &args);
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    run("1", "o", &[]);
    run("2", "o", &["--no-plots"]);
    let names: Vec<String> = fs::read_dir(d.join("o"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".png")), "{names:?}");
    let run_json = fs::read_to_string(d.join("o/run.json")).unwrap();
    assert!(run_json.contains("\"completed\": true"), "{run_json}");
    // Six at a time into one directory, three times: each run's rename
    // may find another's directory in place, or find it just moved aside.
    let seeds = ["3", "4", "5", "6", "7", "8"];
    for seed in seeds {
        run(seed, &format!("ref-{seed}"), &["--no-plots"]);
    }
    for _ in 0..3 {
        let spawn = |seed: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
                .args([
                    "run",
                    "--quiet",
                    "--no-plots",
                    "--seed",
                    seed,
                    "--out",
                    "shared",
                ])
                .current_dir(d)
                .spawn()
                .unwrap()
        };
        let children: Vec<_> = seeds.iter().map(|s| spawn(s)).collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let summary = fs::read_to_string(d.join("shared/summary.json")).unwrap();
        let seed = seeds
            .iter()
            .find(|s| summary.contains(&format!("\"seed\": {s},")))
            .expect("one of the runs' summaries");
        for f in ["summary.json", "timeseries.csv", "pending.csv"] {
            let got = fs::read(d.join("shared").join(f)).unwrap();
            let want = fs::read(d.join(format!("ref-{seed}")).join(f)).unwrap();
            assert!(got == want, "{f} is not seed {seed}'s");
        }
    }
    // No temporary directory is left behind.
    let left: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A run replaces its `--out` whole, so an `--out` holding anything but an
/// earlier run is refused (exit 2) and left as it was; an empty directory
/// is fine, and a symbolic link leads to its target.
#[test]
fn out_replaces_only_an_earlier_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("mine")).unwrap();
    fs::write(d.join("mine/precious.txt"), "keep me").unwrap();
    let o = borgsim(d, &["run", "--quiet", "--no-plots", "--out", "mine"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no run.json"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        fs::read_to_string(d.join("mine/precious.txt")).unwrap(),
        "keep me"
    );
    // The current directory (or a parent) cannot be replaced either.
    let o = borgsim(
        &d.join("mine"),
        &["run", "--quiet", "--no-plots", "--out", "."],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(d.join("mine/precious.txt").exists());
    // An empty directory takes the run.
    fs::create_dir(d.join("empty")).unwrap();
    let o = borgsim(d, &["run", "--quiet", "--no-plots", "--out", "empty"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(d.join("empty/summary.json").exists());
    // A link to a run's directory stays a link; the run lands in its target.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.join("empty"), d.join("link")).unwrap();
        let o = borgsim(
            d,
            &[
                "run",
                "--quiet",
                "--no-plots",
                "--seed",
                "9",
                "--out",
                "link",
            ],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(fs::symlink_metadata(d.join("link")).unwrap().is_symlink());
        let s = fs::read_to_string(d.join("empty/summary.json")).unwrap();
        assert!(s.contains("\"seed\": 9,"), "{s}");
    }
}

/// An `--out` that cannot be written fails before the run, with exit 2.
#[test]
fn an_unwritable_out_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a-file"), "x").unwrap();
    let o = borgsim(dir.path(), &["run", "--quiet", "--out", "a-file/o"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("a-file/o"), "{}", text(&o.stderr));
}

/// Runs you can trust (issue 9): a scenario beyond the machine is refused
/// by `validate` and by `run` before it allocates — exit 2, the key named,
/// no output written — instead of aborting with "memory allocation
/// failed" (or running for years) after `validate` said ok.
#[test]
fn astronomic_scenarios_are_refused_by_validate_and_run_naming_the_key() {
    let probes: [(&[(&str, &str)], &str); 4] = [
        (
            &[("tasks = { constant = 250 }", "tasks = { constant = 1e12 }")],
            "workload.jobs[0].tasks",
        ),
        (
            &[("initial_jobs = 1\n", "initial_jobs = 1000000000000\n")],
            "workload.jobs[0].initial_jobs",
        ),
        // With the other 50 machines, u32::MAX in all (the most allowed).
        (
            &[("count = 200", "count = 4294967245")],
            "cell.machines[0].count",
        ),
        // Poisson arrivals for 31 years, sampled every second: beyond
        // memory here, and beyond --max-events on any machine.
        (
            &[
                ("duration_s = 7200", "duration_s = 1000000000"),
                ("sample_interval_s = 60", "sample_interval_s = 1"),
            ],
            "duration_s",
        ),
    ];
    for (edits, key) in probes {
        let mut body = fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
        for (from, to) in edits {
            assert!(body.contains(from), "quickstart has {from:?}");
            body = body.replacen(from, to, 1);
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("big.toml"), &body).unwrap();
        for args in [
            &["validate", "big.toml"][..],
            &["run", "big.toml", "--quiet", "--out", "o"][..],
        ] {
            let o = borgsim(dir.path(), args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?} {key}: {err}");
            assert!(
                err.contains(&format!("big.toml: {key}: ")),
                "{args:?}: {err}"
            );
            assert!(err.contains("--max-"), "says how to raise the limit: {err}");
        }
        assert!(!dir.path().join("o").exists(), "refused before any output");
    }
}

/// Every shipped scenario passes under the default limits, and `validate`
/// shows its estimate.
#[test]
fn builtin_scenarios_validate_under_the_default_limits() {
    for (name, _) in borgsim::scenario::BUILTIN {
        let o = borgsim(&root(), &["validate", name]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.contains("estimate: ") && out.contains("of memory"),
            "{out}"
        );
    }
}

/// `--max-memory` below churn-100k's estimate (~1.4 GiB) refuses it, from
/// `validate` and from `run` (at once: nothing is simulated); sizes are
/// parsed with units, and a bad size is a usage error (exit 2).
#[test]
fn a_small_max_memory_refuses_churn_100k() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["validate", "churn-100k", "--max-memory", "512MiB"][..],
        &[
            "run",
            "churn-100k",
            "--quiet",
            "--max-memory",
            "536870912",
            "--out",
            "o",
        ][..],
    ] {
        let o = borgsim(d, args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("churn-100k: workload.jobs[0].arrival.uniform.count: the run would need about 1.4 GiB")
                && err.contains("more than the limit of 512.0 MiB (--max-memory)")
                && err.contains("--max-memory 2GiB"),
            "{err}"
        );
    }
    assert!(!d.join("o").exists(), "refused before any output");
    let ok = borgsim(d, &["validate", "churn-100k", "--max-memory", "2GiB"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    for bad in ["lots", "0", "-1GiB", "12 parsecs"] {
        let o = borgsim(d, &["validate", "churn-1k", &format!("--max-memory={bad}")]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            text(&o.stderr).contains("--max-memory"),
            "{}",
            text(&o.stderr)
        );
    }
    let o = borgsim(d, &["validate", "quickstart", "--max-events", "1000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("would not end in reasonable time"),
        "{}",
        text(&o.stderr)
    );
}

/// The review's scenario T: one machine of 16,000 milli-cores flooded with
/// one-task jobs of 16,000 milli-cores running 10 s; `edits` change it.
fn flood(edits: &[(&str, &str)]) -> String {
    let mut body = String::from(
        "name = \"t\"\nseed = 1\nduration_s = 3600\n[cell]\n[[cell.machines]]\ncount = 1\n\
         cpu_milli = 16000\nmem_mib = 65536\n[scheduler]\npolicy = \"best_fit\"\n\
         preemption = false\npass_interval_ms = 1000000\n[[workload.jobs]]\nname = \"a\"\n\
         band = \"batch\"\ninitial_jobs = 1\narrival = { poisson = { per_hour = 20000000 } }\n\
         cpu_milli = { constant = 16000 }\nmem_mib = { constant = 100 }\n\
         tasks = { constant = 1 }\nduration_s = { constant = 10 }\n",
    );
    for (from, to) in edits {
        assert!(body.contains(from), "T has {from:?}");
        body = body.replacen(from, to, 1);
    }
    body
}

/// Runs `validate` and `run` of `body` with `extra` arguments: both exit 2
/// naming `key`, with every one of `says` in the message, and write nothing.
fn refused(body: &str, extra: &[&str], key: &str, says: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.toml"), body).unwrap();
    for args in [
        &["validate", "t.toml"][..],
        &["run", "t.toml", "--quiet", "--out", "o"][..],
    ] {
        let mut args = args.to_vec();
        args.extend_from_slice(extra);
        let o = borgsim(dir.path(), &args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("t.toml: {key}: ")), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {s:?} in {err}");
        }
    }
    assert!(!dir.path().join("o").exists(), "refused before any output");
}

/// An overloaded cell (review, kind 1): Little's law alone said 244 MiB
/// and the run died at 1.7 GB; every task it is sent stays live (2 × 10⁷,
/// about 35 GiB), refused naming the arrival rate.
#[test]
fn an_overloaded_cell_is_refused_not_run_out_of_memory() {
    refused(
        &flood(&[]),
        &["--max-memory", "8GiB"],
        "workload.jobs[0].arrival.poisson.per_hour",
        &[
            "the run would need about 35.4 GiB of memory",
            "the cell cannot keep up: it is offered 5.56e4 × its CPU",
        ],
    );
}

/// Scheduling work under queueing (review, kind 2): every pass scans the
/// pending queue, so a queue growing for 400,000 s costs 2.05 × 10¹⁰
/// attempts, beyond the default --max-attempts, though events and memory
/// are small; 50,000 jobs/h for an hour is shown (9.19 × 10⁷ attempts) and
/// refused below its figure, naming the rate, duration_s and the interval.
#[test]
fn scheduling_attempts_are_estimated_and_capped() {
    let days = flood(&[
        ("duration_s = 3600", "duration_s = 400000"),
        ("per_hour = 20000000", "per_hour = 1800"),
        ("pass_interval_ms = 1000000", "pass_interval_ms = 1000"),
    ]);
    refused(
        &days,
        &[],
        "duration_s",
        &[
            "its scheduling passes would make about 2.05e10 attempts",
            "more than the limit of 1.00e10 (--max-attempts)",
            "make duration_s or workload.jobs[0].arrival.poisson.per_hour smaller, \
             or scheduler.pass_interval_ms larger",
        ],
    );
    let hour = flood(&[
        ("per_hour = 20000000", "per_hour = 50000"),
        ("pass_interval_ms = 1000000", "pass_interval_ms = 1000"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.toml"), &hour).unwrap();
    let o = borgsim(dir.path(), &["validate", "t.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("9.19e7 scheduling attempts")
            && out.contains("1.00e10 scheduling attempts")
            && out.contains("the cell cannot keep up"),
        "{out}"
    );
    refused(
        &hour,
        &["--max-attempts", "10000000"],
        "workload.jobs[0].arrival.poisson.per_hour",
        &["scheduler.pass_interval_ms larger", "duration_s"],
    );
}

/// Machine ids are 32-bit (review, kind 3): more than u32::MAX machines in
/// all is an error naming cell.machines whatever the memory limit; and no
/// limit reaches beyond this machine, so following a suggestion never
/// builds a cell the machine cannot hold.
#[test]
fn machine_counts_and_memory_limits_stay_within_the_machine() {
    let two = flood(&[(
        "[scheduler]",
        "[[cell.machines]]\ncount = 4294967295\ncpu_milli = 16000\nmem_mib = 65536\n[scheduler]",
    )])
    .replacen("count = 1\n", "count = 4294967295\n", 1);
    refused(
        &two,
        &["--max-memory", "2081GiB"],
        "cell.machines",
        &["8589934590 machines in all", "machine ids are 32-bit"],
    );
    // One class of u32::MAX machines: 832 GiB, beyond this machine.
    let one = flood(&[("count = 1\n", "count = 4294967295\n")]);
    refused(
        &one,
        &["--max-memory", "99999GiB"],
        "cell.machines[0].count",
        &["capped at this machine's", "--max-memory cannot help"],
    );
}

/// Messages (review, kind 4): sizes beyond 16 EiB are errors, not
/// saturations; a saturated estimate reads "more than", not "about more
/// than"; and the program's fixed cost is named when it fills the limit.
#[test]
fn sizes_and_fixed_costs_read_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for big in ["99999999999EiB", "18446744073709551616", "16EiB"] {
        let o = borgsim(d, &["validate", "churn-1k", "--max-memory", big]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{big}: {err}");
        assert!(err.contains(&format!("{big} is too large")), "{err}");
    }
    let o = borgsim(d, &["validate", "churn-1k", "--max-memory", "16EiB"]);
    assert!(!text(&o.stderr).contains("couldn't parse"));
    let o = borgsim(d, &["validate", "quickstart", "--max-memory", "16MiB"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("quickstart: --max-memory: ")
            && err.contains("the program's fixed cost (16.0 MiB")
            && !err.contains("smaller"),
        "{err}"
    );
    let endless = flood(&[(
        "tasks = { constant = 1 }",
        "tasks = { pareto = { scale = 1, shape = 1 } }",
    )]);
    fs::write(d.join("t.toml"), endless).unwrap();
    let o = borgsim(d, &["validate", "t.toml"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("would need more than 16 EiB") && !err.contains("about more"),
        "{err}"
    );
}

/// A directory named like a built-in scenario does not hide it.
#[test]
fn a_directory_named_like_a_builtin_does_not_hide_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("quickstart")).unwrap();
    let o = borgsim(dir.path(), &["validate", "quickstart"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// GPU packing on a cell without GPUs would rank machines exactly as best
/// fit does: refused, naming `scheduler.policy` when the policy comes from
/// the scenario file, and `--policy` when it comes from the command line
/// (after validation, or on a trace's cell, known only once the trace is
/// read).
#[test]
fn gpu_packing_without_gpus_is_refused() {
    let (code, err, _d) = validate(&quickstart_with("\"hybrid\"", "\"gpu_packing\""));
    assert_eq!(code, 2, "{err}");
    let from_file = "scheduler.policy: gpu_packing ranks machines by their GPUs";
    assert!(err.contains(from_file), "{err}");
    let want = ": --policy: gpu_packing ranks machines by their GPUs";
    let dir = tempfile::tempdir().unwrap();
    let trace = root().join("tests/fixtures/alibaba-machine-returns/scenario-reschedule.toml");
    for scen in ["quickstart", trace.to_str().unwrap()] {
        for cmd in ["run", "compact"] {
            let o = borgsim(dir.path(), &[cmd, scen, "--policy", "gpu_packing"]);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{cmd} {scen}: {err}");
            assert!(err.contains(want), "{cmd} {scen}: {err}");
        }
    }
    // No output was written (`reports/`, the default parent, may be made).
    let reports = dir.path().join("reports");
    let written = fs::read_dir(&reports).map_or(0, |d| d.count());
    assert_eq!(written, 0);
}
