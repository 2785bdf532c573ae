//! The failures feature as one: the shipped `failures` (spread limits,
//! the spreading score, failure history, a reschedule limit of 40 per
//! minute) against `failures-packed` (none of them) and against a copy of
//! `failures` without the limit. Spreading lowers the worst per-job loss in
//! the rack outage; the limit bounds reschedules per window, recounted from
//! the event log (a `place` of a task whose last eviction was a
//! `machine_failure`); failures.csv, summary.json's `faults`, the event log
//! and the report agree; and every invariant holds after every event with
//! everything on.

use super::report::data_cells;
use super::{borgsim, csv_rows, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

type Rows = Vec<BTreeMap<String, String>>;

/// Runs `scenario` (a built-in's name or a file in `dir`) into `dir/out`
/// with its event log at `dir/out.csv`; `extra` arguments after.
fn run(dir: &Path, scenario: &str, out: &str, extra: &[&str]) -> (Rows, serde_json::Value, Rows) {
    let events = format!("{out}.csv");
    let mut args = vec![
        "run",
        scenario,
        "--quiet",
        "--no-plots",
        "--events",
        &events,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let o = borgsim(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{scenario}: {}", text(&o.stderr));
    let d = dir.join(out);
    let failures = csv_rows(&fs::read(d.join("failures.csv")).unwrap());
    let summary = serde_json::from_slice(&fs::read(d.join("summary.json")).unwrap()).unwrap();
    let log = csv_rows(&fs::read(dir.join(&events)).unwrap());
    (failures, summary, log)
}

/// The rack outage's row of failures.csv.
fn outage(failures: &Rows) -> &BTreeMap<String, String> {
    let rows: Vec<_> = failures.iter().filter(|r| r["kind"] == "outage").collect();
    assert_eq!(rows.len(), 1, "one outage");
    assert_eq!(rows[0]["level"], "rack");
    rows[0]
}

fn us(s: &str) -> u64 {
    let (secs, frac) = s.split_once('.').unwrap();
    secs.parse::<u64>().unwrap() * 1_000_000 + frac.parse::<u64>().unwrap()
}

/// Placements of tasks rescheduled after a `machine_failure` eviction
/// (failures, outages, machines lost past their grace period: what the
/// limit holds back), per window of `interval_us`.
fn reschedules_per_window(log: &Rows, interval_us: u64) -> BTreeMap<u64, u64> {
    let mut last: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut per = BTreeMap::new();
    for r in log.iter().filter(|r| !r["job_id"].is_empty()) {
        let key = (r["job_id"].clone(), r["task"].clone());
        match r["event"].as_str() {
            "evict" => {
                last.insert(key, r["reason"].clone());
            }
            "place" if last.remove(&key).as_deref() == Some("machine_failure") => {
                *per.entry(us(&r["time_s"]) / interval_us).or_insert(0) += 1;
            }
            "finish" | "kill" | "drop" => {
                last.remove(&key);
            }
            _ => {}
        }
    }
    per
}

/// Failure history, end to end: no task is placed again, within
/// `avoid_failed_s`, on a machine where a fault or a crash evicted it.
/// Returns how many placements came after such a failure.
fn check_history(log: &Rows, memory_us: u64) -> usize {
    let mut failed: BTreeMap<(String, String), Vec<(u64, String)>> = BTreeMap::new();
    let mut after = 0;
    for r in log.iter().filter(|r| !r["job_id"].is_empty()) {
        let key = (r["job_id"].clone(), r["task"].clone());
        let t = us(&r["time_s"]);
        match r["event"].as_str() {
            "evict" if ["machine_failure", "task_crash"].contains(&r["reason"].as_str()) => {
                failed
                    .entry(key)
                    .or_default()
                    .push((t, r["machine"].clone()));
            }
            "place" => {
                for (at, m) in failed.get(&key).into_iter().flatten() {
                    assert!(
                        t >= at + memory_us || *m != r["machine"],
                        "{key:?} back on machine {m} failed at {at} µs, at {t} µs"
                    );
                    after += 1;
                }
            }
            "finish" | "kill" | "drop" => {
                failed.remove(&key);
            }
            _ => {}
        }
    }
    after
}

/// Fault evictions in the Borg paper's groups: maintenance's under
/// "maintenance", failures' (outages, machines lost past their grace)
/// under "machine failure", crashes' under "other", each with work lost;
/// the event log's `evict` rows count the same.
fn check_groups(summary: &serde_json::Value, log: &Rows) {
    let ev = &summary["evictions"];
    let per = &summary["evictions_per_task_week"];
    let group = |g: &str| {
        ["prod", "nonprod"]
            .iter()
            .map(|side| per[side]["evictions"][g].as_u64().unwrap())
            .sum::<u64>()
    };
    let lost = |g: &str| {
        ["prod", "nonprod"]
            .iter()
            .map(|side| per[side]["lost_work_task_s"][g].as_f64().unwrap())
            .sum::<f64>()
    };
    let logged = |reason: &str| {
        log.iter()
            .filter(|r| r["event"] == "evict" && r["reason"] == reason)
            .count() as u64
    };
    for (cause, g) in [
        ("maintenance", "maintenance"),
        ("machine_failure", "machine_failure"),
        ("task_crash", "other"),
    ] {
        let n = ev[cause].as_u64().unwrap();
        assert!(n > 0, "{cause}");
        assert_eq!(group(g), n, "{cause} in {g}");
        assert_eq!(logged(cause), n, "{cause} in the log");
        assert!(lost(g) > 0.0, "work lost to {cause}");
    }
}

/// The outage's evictions per prod job, from the event log.
fn outage_losses(log: &Rows, at_us: u64) -> BTreeMap<String, u32> {
    let mut per = BTreeMap::new();
    for r in log {
        let prod = r["band"] == "production" || r["band"] == "monitoring";
        if r["event"] == "evict"
            && r["reason"] == "machine_failure"
            && us(&r["time_s"]) == at_us
            && prod
        {
            *per.entry(r["job_id"].clone()).or_insert(0) += 1;
        }
    }
    per
}

/// failures.csv, summary.json's `faults` and the page agree.
fn check_agreement(dir: &Path, out: &str, failures: &Rows, summary: &serde_json::Value) {
    let f = &summary["faults"];
    assert_eq!(f["faults"].as_u64().unwrap(), failures.len() as u64);
    for (kind, s) in f["by_kind"].as_object().unwrap() {
        let rows: Vec<_> = failures.iter().filter(|r| &r["kind"] == kind).collect();
        let n = |k: &str| {
            rows.iter()
                .map(|r| r[k].parse::<u64>().unwrap())
                .sum::<u64>()
        };
        assert_eq!(s["count"].as_u64().unwrap(), rows.len() as u64, "{kind}");
        assert_eq!(
            s["tasks_evicted"].as_u64().unwrap(),
            n("tasks_evicted"),
            "{kind}"
        );
        let unrecovered = rows
            .iter()
            .filter(|r| r["tasks_evicted"] != "0" && r["recover_us"].is_empty())
            .count();
        assert_eq!(
            s["unrecovered"].as_u64().unwrap(),
            unrecovered as u64,
            "{kind}"
        );
        let longest = rows
            .iter()
            .filter_map(|r| r["recover_us"].parse::<u64>().ok())
            .max();
        if n("tasks_evicted") > 0 {
            assert_eq!(s["recover_us_max"].as_u64(), longest, "{kind}");
        }
    }
    // The page: every faults cell is summary.json's, and the largest
    // losses' first row is failures.csv's worst prod job.
    let html = fs::read_to_string(dir.join(out).join("report.html")).unwrap();
    let cells: Vec<_> = data_cells(&html)
        .into_iter()
        .filter(|(k, _)| k.starts_with("faults."))
        .collect();
    assert!(cells.len() > 40, "{out}: {} faults cells", cells.len());
    for (key, value) in cells {
        let v = key.split('.').try_fold(summary, |v, k| v.get(k)).unwrap();
        let want = if v.is_null() {
            String::new()
        } else {
            v.to_string()
        };
        assert_eq!(value, want, "{out}: {key}");
    }
    let worst = failures
        .iter()
        .map(|r| r["max_prod_job_tasks"].parse::<u64>().unwrap())
        .max()
        .unwrap();
    let table = &html[html
        .find("id=\"faults-largest\"")
        .expect("the largest losses")..];
    let first = &table[table.find("<tbody>").unwrap()..];
    let cells: Vec<&str> = first.split("<td class=\"num\">").skip(3).take(1).collect();
    assert!(
        cells[0].starts_with(&format!("{worst}<")),
        "{out}: {}",
        cells[0]
    );
}

#[test]
fn spreading_lowers_the_worst_loss_and_the_limit_bounds_reschedules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Everything on, every invariant checked after every event.
    let (spread, s_summary, s_log) = run(d, "failures", "spread", &["--check-invariants"]);
    let (packed, p_summary, p_log) = run(d, "failures-packed", "packed", &[]);
    // Spreading: the rack outage takes at most one task of a prod job
    // (max_per_rack = 1), packed several; the event log says the same.
    let (s_out, p_out) = (outage(&spread), outage(&packed));
    assert_eq!(s_out["max_prod_job_tasks"], "1");
    let packed_worst: u32 = p_out["max_prod_job_tasks"].parse().unwrap();
    assert!(packed_worst > 1, "{p_out:?}");
    for (out, log) in [(s_out, &s_log), (p_out, &p_log)] {
        let losses = outage_losses(log, out["time_us"].parse().unwrap());
        let worst = losses.values().max().copied().unwrap_or(0);
        assert_eq!(worst.to_string(), out["max_prod_job_tasks"], "{losses:?}");
    }
    // The limit: at most 40 a minute, reached; without it, the outage's
    // tasks all come back in one minute.
    let minute = 60_000_000;
    for log in [&s_log, &p_log] {
        let per = reschedules_per_window(log, minute);
        assert!(per.values().all(|&n| n <= 40), "{per:?}");
        assert!(per.values().any(|&n| n == 40), "{per:?}");
    }
    assert!(
        p_summary["faults"]["reschedule_queue"]["max_queued"]
            .as_u64()
            .unwrap()
            > 0
    );
    let text = borgsim::scenario::builtin("failures").unwrap();
    let unlimited = text.replace(
        "[faults.reschedule_limit]\ntasks = 40\ninterval_s = 60\n",
        "",
    );
    assert_ne!(unlimited, text, "the limit's lines");
    fs::write(d.join("unlimited.toml"), unlimited).unwrap();
    let (_, u_summary, u_log) = run(d, "unlimited.toml", "unlimited", &[]);
    let per = reschedules_per_window(&u_log, minute);
    assert!(per.values().any(|&n| n > 40), "{per:?}");
    assert_eq!(u_summary["faults"]["reschedule_queue"]["max_queued"], 0);
    assert!(check_history(&s_log, 3_600_000_000) > 100);
    check_groups(&s_summary, &s_log);
    check_agreement(d, "spread", &spread, &s_summary);
    check_agreement(d, "packed", &packed, &p_summary);
    // Unreachable machines have their own rows: each goes back to
    // reachable or down, never straight up.
    let unreachable = s_log
        .iter()
        .filter(|r| r["event"] == "machine_unreachable")
        .count();
    let back = s_log
        .iter()
        .filter(|r| r["event"] == "machine_reachable")
        .count();
    let struck = s_summary["faults"]["by_kind"]["unreachable"]["count"]
        .as_u64()
        .unwrap();
    assert_eq!(unreachable as u64, struck);
    let lost = s_summary["faults"]["by_kind"]["unreachable"]["with_evictions"]
        .as_u64()
        .unwrap();
    assert!(
        back > 0 && back as u64 + lost <= struck,
        "{back} {lost} {struck}"
    );
}
