//! Failures and availability, checked against the event log: summary.json's
//! `evictions_per_task_week` (evictions by cause group and prod/non-prod,
//! task-weeks, lost work) and `availability` (per prod job, recounted from
//! the log's submissions, placements, evictions and ends) are recomputed
//! here independently, from the `--events` file alone, on a built-in with
//! preemption and on a trace replay whose machine removal leaves a prod
//! task waiting; and the run report's failures section shows them.

use super::report::figure;
use super::{borgsim, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// `5.000001` → 5,000,001 µs, exactly.
fn us(s: &str) -> u64 {
    let (secs, frac) = s.split_once('.').unwrap();
    secs.parse::<u64>().unwrap() * 1_000_000 + frac.parse::<u64>().unwrap()
}

/// The Borg paper's groups of the log's `reason`s.
fn group(reason: &str) -> &'static str {
    match reason {
        "preemption" => "preemption",
        "machine_failure" | "machine_down" => "machine_failure",
        "maintenance" => "maintenance",
        "machine_shrunk" => "out_of_resources",
        "trace" | "task_crash" => "other",
        r => panic!("unknown eviction reason {r}"),
    }
}

/// One prod job as the log tells it.
#[derive(Default)]
struct Job {
    required: u32,
    running: u32,
    since: Option<u64>,
    last: u64,
    all_us: u64,
    within_us: u64,
}

impl Job {
    fn integrate(&mut self, t: u64, k: u32) {
        if self.since.is_some() && self.required > 0 {
            let dt = t - self.last;
            if self.running == self.required {
                self.all_us += dt;
            }
            if self.running + k >= self.required {
                self.within_us += dt;
            }
        }
        self.last = t;
    }
}

/// What the log says: per side (prod, non-prod), evictions and lost µs by
/// group and running task·µs; per prod job, its measured times.
#[derive(Default)]
struct Recount {
    evictions: BTreeMap<(bool, &'static str), u64>,
    lost_us: BTreeMap<(bool, &'static str), u64>,
    running_us: [u64; 2],
    /// (all running µs, within k µs, interval µs), or `None`: never all running.
    jobs: Vec<Option<(u64, u64, u64)>>,
}

impl Recount {
    /// A task of prod job `job` changed at `t`: running and required
    /// tasks moved by `d`; a job with nothing left required is done.
    fn prod_change(
        &mut self,
        jobs: &mut BTreeMap<String, Job>,
        job: &str,
        t: u64,
        k: u32,
        d: (i32, i32),
    ) {
        let j = jobs.entry(job.to_string()).or_insert_with(|| Job {
            last: t,
            ..Job::default()
        });
        j.integrate(t, k);
        j.running = j.running.checked_add_signed(d.0).unwrap();
        j.required = j.required.checked_add_signed(d.1).unwrap();
        if j.since.is_none() && j.required > 0 && j.running == j.required {
            j.since = Some(t);
        }
        if j.required == 0 && d.1 < 0 {
            let done = jobs.remove(job).unwrap();
            self.jobs
                .push(done.since.map(|s| (done.all_us, done.within_us, t - s)));
        }
    }
}

fn recount(log: &Path, end_us: u64, k: u32) -> Recount {
    let mut r = csv::Reader::from_path(log).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (time, event, job, task, machine, reason, band) = (
        col("time_s"),
        col("event"),
        col("job_id"),
        col("task"),
        col("machine"),
        col("reason"),
        col("band"),
    );
    let mut out = Recount::default();
    let mut running = [0u64; 2];
    let mut last = 0u64;
    let mut placed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
    for row in r.records() {
        let row = row.unwrap();
        let t = us(&row[time]);
        for (side, n) in running.iter().enumerate() {
            out.running_us[side] += n * (t - last);
        }
        last = t;
        if row[band].is_empty() {
            continue; // a machine's row
        }
        let prod = matches!(&row[band], "production" | "monitoring");
        let side = usize::from(!prod);
        let key = (row[job].to_string(), row[task].to_string());
        let was_running = !row[machine].is_empty();
        let (d_run, d_req): (i32, i32) = match &row[event] {
            "submit" => (0, 1),
            "place" => {
                placed.insert(key, t);
                running[side] += 1;
                (1, 0)
            }
            "evict" => {
                let g = group(&row[reason]);
                *out.evictions.entry((prod, g)).or_default() += 1;
                *out.lost_us.entry((prod, g)).or_default() += t - placed[&key];
                running[side] -= 1;
                (-1, 0)
            }
            "finish" | "kill" | "drop" if was_running => {
                running[side] -= 1;
                (-1, -1)
            }
            "finish" | "kill" | "drop" => (0, -1),
            e => panic!("unknown event {e}"),
        };
        if prod {
            out.prod_change(&mut jobs, &row[job], t, k, (d_run, d_req));
        }
    }
    for (side, n) in running.iter().enumerate() {
        out.running_us[side] += n * (end_us - last);
    }
    for (_, mut j) in jobs {
        j.integrate(end_us, k);
        out.jobs
            .push(j.since.map(|s| (j.all_us, j.within_us, end_us - s)));
    }
    out
}

/// Nearest-rank percentile of sorted basis points, as a share.
fn pct(sorted: &[u64], p: u64) -> serde_json::Value {
    if sorted.is_empty() {
        return serde_json::Value::Null;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    serde_json::json!(sorted[rank as usize - 1] as f64 / 10_000.0)
}

/// summary.json's figures against the log's recount.
fn check_against_log(dir: &Path, log: &Path) {
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let end_us = (s["duration_s"].as_f64().unwrap() * 1e6).round() as u64;
    let k = s["availability"]["k"].as_u64().unwrap() as u32;
    let r = recount(log, end_us, k);
    const WEEK_US: f64 = 7.0 * 86_400.0 * 1e6;
    // Rates and task-weeks are written to 9 significant digits.
    let close = |got: &serde_json::Value, want: f64, what: &str| {
        let got = got.as_f64().unwrap();
        assert!(
            (got - want).abs() <= want.abs() * 1e-8,
            "{what}: {got} vs {want}"
        );
    };
    for (prod, side) in [(true, "prod"), (false, "nonprod")] {
        let e = &s["evictions_per_task_week"][side];
        let running = r.running_us[usize::from(!prod)];
        close(&e["task_weeks"], running as f64 / WEEK_US, side);
        for g in [
            "preemption",
            "machine_failure",
            "maintenance",
            "out_of_resources",
            "other",
        ] {
            let n = r.evictions.get(&(prod, g)).copied().unwrap_or(0);
            assert_eq!(e["evictions"][g], n, "{side} {g}");
            let rate = &e["per_task_week"][g];
            if running == 0 {
                assert!(rate.is_null(), "{side} {g}");
            } else {
                close(rate, n as f64 * WEEK_US / running as f64, g);
            }
            let lost = r.lost_us.get(&(prod, g)).copied().unwrap_or(0) as f64 / 1e6;
            assert!((e["lost_work_task_s"][g].as_f64().unwrap() - lost).abs() < 1e-6);
        }
    }
    let a = &s["availability"];
    let measured: Vec<(u64, u64, u64)> = r
        .jobs
        .iter()
        .flatten()
        .filter(|j| j.2 > 0)
        .copied()
        .collect();
    assert_eq!(a["prod_jobs"], r.jobs.len() as u64);
    assert_eq!(a["jobs_measured"], measured.len() as u64);
    assert_eq!(
        a["jobs_never_all_running"],
        r.jobs.iter().filter(|j| j.is_none()).count() as u64
    );
    for (key, pick) in [("all_running", 0usize), ("n_minus_k_running", 1)] {
        let time = |j: &(u64, u64, u64)| if pick == 0 { j.0 } else { j.1 };
        let mut bp: Vec<u64> = measured.iter().map(|j| time(j) * 10_000 / j.2).collect();
        bp.sort_unstable();
        let got = &a[key];
        for (stat, p) in [("min", 0), ("p1", 1), ("p10", 10), ("p50", 50)] {
            assert_eq!(got[stat], pct(&bp, p), "{key}.{stat}");
        }
        assert_eq!(
            got["jobs_always"],
            bp.iter().filter(|&&b| b == 10_000).count() as u64
        );
        let (t, i): (u64, u64) = measured
            .iter()
            .fold((0, 0), |a, j| (a.0 + time(j), a.1 + j.2));
        if i > 0 {
            let want = ((t as f64 / i as f64) * 1e6).round() / 1e6;
            assert_eq!(got["time_weighted"].as_f64().unwrap(), want, "{key}");
        }
    }
}

/// Runs `scenario` in `cwd` with the event log; returns (out dir, log).
fn run(cwd: &Path, scenario: &str, out: &Path) -> std::path::PathBuf {
    let log = out.with_extension("events.csv");
    let o = borgsim(
        cwd,
        &[
            "run",
            scenario,
            "--out",
            out.to_str().unwrap(),
            "--events",
            log.to_str().unwrap(),
            "--quiet",
            "--check-invariants",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    log
}

#[test]
fn a_builtin_with_preemption_matches_its_event_log() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("q");
    let log = run(d.path(), "quickstart", &out);
    check_against_log(&out, &log);
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    // Quickstart preempts non-prod work, and prod never.
    let e = &s["evictions_per_task_week"];
    assert!(e["nonprod"]["evictions"]["preemption"].as_u64().unwrap() > 0);
    assert_eq!(e["prod"]["evictions"]["preemption"], 0);
    assert!(
        e["nonprod"]["lost_work_task_s"]["preemption"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // The page shows the rates as bars, drawn.
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(figure(&html, "failures-rates").contains("<svg"));
    assert!(figure(&html, "failures-over-time").contains("<svg"));
    assert!(html.contains("data-key=\"evictions_per_task_week.nonprod.per_task_week.preemption\""));
}

/// A Google 2011 trace: two machines that hold one prod task each; a prod
/// job of 2 tasks from 1 s; machine 2 leaves at 5 s and returns at 9 s;
/// the run ends at 21 s. A best-effort task runs beside.
fn write_trace(dir: &Path) {
    let files = [
        (
            "machine_events",
            "0,1,0,platA,0.5,0.5\n0,2,0,platA,0.5,0.5\n5000000,2,1,,,\n9000000,2,0,platA,0.5,0.5\n",
        ),
        (
            "job_events",
            "1000000,,100,0,userA,1,jobA,logicalA\n1000000,,200,0,userB,0,jobB,logicalB\n",
        ),
        (
            "task_events",
            "1000000,,100,0,,0,userA,1,9,0.3,0.1,0,0\n1000000,,100,1,,0,userA,1,9,0.3,0.1,0,0\n\
             1000000,,200,0,,0,userB,0,0,0.1,0.1,0,0\n",
        ),
        ("task_constraints", ""),
    ];
    for (table, rows) in files {
        let at = dir.join("trace").join(table);
        fs::create_dir_all(&at).unwrap();
        fs::write(at.join("part-00000-of-00001.csv"), rows).unwrap();
    }
    fs::write(
        dir.join("scenario.toml"),
        "name = \"machine-leaves\"\nseed = 1\nduration_s = 21\nsample_interval_s = 1\n\
         [scheduler]\npolicy = \"best_fit\"\nrelaxed_randomization = false\n\
         [trace]\nformat = \"google2011\"\nfiles = [\"trace\"]\n",
    )
    .unwrap();
}

#[test]
fn a_machine_removal_costs_a_prod_job_its_availability() {
    let d = tempfile::tempdir().unwrap();
    write_trace(d.path());
    let out = d.path().join("o");
    let log = run(d.path(), "scenario.toml", &out);
    check_against_log(&out, &log);
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    // The job is all running from 1 s to 21 s (20 s) but for 5–9 s: 16 s,
    // 80 %; at least n − 1 = 1 task runs throughout: 100 %.
    let a = &s["availability"];
    assert_eq!(a["prod_jobs"], 1);
    assert_eq!(a["all_running"]["min"], 0.8);
    assert_eq!(a["all_running"]["time_weighted"], 0.8);
    assert_eq!(a["n_minus_k_running"]["min"], 1.0);
    // The removal evicted one prod task, as a machine failure (a trace
    // cannot tell it from maintenance), which had run 4 s.
    let e = &s["evictions_per_task_week"]["prod"];
    assert_eq!(e["evictions"]["machine_failure"], 1);
    assert_eq!(e["lost_work_task_s"]["machine_failure"], 4.0);
    // The time series shows the job short of a task from 5 s to 9 s.
    let mut r = csv::Reader::from_path(out.join("timeseries.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (t, all, within) = (
        col("time_s"),
        col("prod_jobs_all_running"),
        col("prod_jobs_n_minus_k_running"),
    );
    for row in r.records() {
        let row = row.unwrap();
        let at = us(&row[t]);
        // The instants of a change (1 s, 5 s, 9 s) may be sampled before
        // or after it: left out.
        if [1, 5, 9].contains(&(at / 1_000_000)) {
            continue;
        }
        let short = (5_000_000..9_000_000).contains(&at);
        let started = at >= 1_000_000;
        assert_eq!(
            &row[all],
            if started && !short { "1" } else { "0" },
            "at {at} µs"
        );
        assert_eq!(&row[within], if started { "1" } else { "0" }, "at {at} µs");
    }
    // The page: its section, the bars, the CDF, the table's cells.
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"failures\">"));
    for id in ["failures-rates", "failures-over-time", "availability-cdf"] {
        assert!(figure(&html, id).contains("<svg"), "fig-{id}");
    }
    assert!(html.contains("data-key=\"availability.all_running.min\" data-value=\"0.8\">80 %<"));
}

/// The terminal's summary of a run with faults gives the faults and prod
/// availability, read from summary.json (and a run without faults prints
/// neither line).
#[test]
fn the_terminal_summary_names_faults_and_availability() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let o = borgsim(
        dir.path(),
        &[
            "run",
            "failures",
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let said = text(&o.stdout) + &text(&o.stderr);
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let f = &s["faults"];
    let head = format!("faults: {} (", f["faults"].as_u64().unwrap());
    assert!(said.contains(&head), "{head} in {said}");
    let evicted = format!(
        "{} tasks evicted, {} task crashes",
        f["all"]["tasks_evicted"], f["task_crashes"]
    );
    assert!(said.contains(&evicted), "{evicted} in {said}");
    let tw = s["availability"]["all_running"]["time_weighted"]
        .as_f64()
        .unwrap();
    let avail = format!("every task running: {:.3}% of the time", tw * 100.0);
    assert!(said.contains(&avail), "{avail} in {said}");

    let o = borgsim(
        dir.path(),
        &[
            "run",
            "quickstart",
            "--out",
            dir.path().join("t").to_str().unwrap(),
            "--no-plots",
        ],
    );
    let said = text(&o.stdout) + &text(&o.stderr);
    assert!(
        !said.contains("faults:") && !said.contains("every task running"),
        "{said}"
    );
}
