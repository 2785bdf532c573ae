//! Why pending, precisely: a task no machine could ever host is listed in
//! pending.csv with, per machine, the first check an empty machine fails —
//! the constraint or the resource named — and `borgsim validate` warns
//! about such job classes before a run.

use super::{borgsim, root, text};
use std::collections::BTreeMap;
use std::path::Path;

/// pending.csv as rows of column name → value.
fn pending(out: &Path) -> Vec<BTreeMap<String, String>> {
    super::csv_rows(&std::fs::read(out.join("pending.csv")).unwrap())
}

/// Runs a fixture scenario with the real binary; returns the output dir.
fn run(scenario: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let path = root().join("tests/fixtures/scenarios").join(scenario);
    let o = borgsim(
        &root(),
        &[
            "run",
            path.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--no-plots",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    out
}

/// The reason columns of a row that are not zero.
fn counts(row: &BTreeMap<String, String>) -> Vec<(&str, u32)> {
    [
        "machine_down",
        "insufficient_cpu",
        "insufficient_memory",
        "insufficient_gpu",
        "constraint_mismatch",
        "max_per_machine",
        "max_per_rack",
        "max_per_power_domain",
    ]
    .into_iter()
    .map(|k| (k, row[k].parse::<u32>().unwrap()))
    .filter(|(_, n)| *n > 0)
    .collect()
}

/// A pending row as (job name, non-zero reason counts, why).
type Seen<'a> = (&'a str, Vec<(&'a str, u32)>, &'a str);

fn rows_of<'a>(
    rows: &'a [BTreeMap<String, String>],
    prefix: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter()
        .filter(|r| r["job_name"].starts_with(prefix))
        .collect()
}

#[test]
fn never_schedulable_tasks_carry_the_reasons_per_machine() {
    // The cell: 5 machines of 96 cores in zone a, 3 of 16 cores in zone a
    // with SSDs — 8 machines.
    let out = run("why-pending.toml");
    let rows = pending(out.path());
    // `pinned` (zone = b, 2 tasks): all 8 machines fail the constraint.
    let pinned = rows_of(&rows, "pinned-");
    assert_eq!(pinned.len(), 2);
    for r in pinned {
        assert_eq!(r["status"], "never_schedulable");
        assert_eq!(r["last_attempt_s"], "", "never attempted");
        assert_eq!(counts(r), vec![("constraint_mismatch", 8)]);
        assert_eq!(
            r["why"],
            "no machine could ever host it (0/8 machines, even empty): constraint_mismatch zone=b: 8"
        );
    }
    // `huge-ssd` (24 cores, ssd = yes): the 5 large machines have no SSD,
    // the 3 with SSDs have 16 cores < 24: 5 + 3 = 8.
    let huge = rows_of(&rows, "huge-ssd-");
    assert_eq!(huge.len(), 1);
    assert_eq!(
        counts(huge[0]),
        vec![("insufficient_cpu", 3), ("constraint_mismatch", 5)]
    );
    assert_eq!(
        huge[0]["why"],
        "no machine could ever host it (0/8 machines, even empty): constraint_mismatch ssd=yes: 5; \
         insufficient_cpu: 3 (needs 24000 cpu_milli; these have at most 16000)"
    );
    // `wide` (24 cores) is too large for the 3 small machines but fits the
    // large ones: it ran, it is not pending.
    assert!(rows_of(&rows, "wide-").is_empty());
    // The summary counts the same tasks as never schedulable.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    let never = rows
        .iter()
        .filter(|r| r["status"] == "never_schedulable")
        .count();
    assert_eq!(never, 3);
    assert_eq!(summary["tasks"]["never_schedulable"], never as u64);
}

#[test]
fn validate_warns_about_every_class_no_machine_class_can_host() {
    let o = borgsim(
        &root().join("tests/fixtures/scenarios"),
        &["validate", "why-pending.toml"],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(
        o.status.code(),
        Some(0),
        "warnings are not errors: {stderr}"
    );
    assert!(
        stdout.contains(": ok:") && stdout.contains("3 warnings"),
        "{stdout}"
    );
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: why-pending.toml: "))
        .collect();
    assert_eq!(warned.len(), 3, "{stderr}");
    // `web` and `wide` fit some machine class: no warning.
    assert!(
        !stderr.contains("\"web\"") && !stderr.contains("\"wide\""),
        "{stderr}"
    );
    for expected in [
        "workload.jobs[2] (\"pinned\"): no machine class can host any of its tasks",
        "cell.machines[0]: 5 × (96000 cpu_milli, 393216 mem_mib): constraint_mismatch zone=b (its machines have zone=a)",
        "workload.jobs[3] (\"huge-ssd\"): no machine class can host any of its tasks",
        "cell.machines[0]: 5 × (96000 cpu_milli, 393216 mem_mib): constraint_mismatch ssd=yes (its machines have no ssd)",
        "cell.machines[1]: 3 × (16000 cpu_milli, 65536 mem_mib): insufficient_cpu: needs 24000 cpu_milli, has 16000 (short by 8000)",
        "workload.jobs[4] (\"spiky\"): its largest draw (120000 cpu_milli, 2048 mem_mib) fits no machine class",
        "cpu_milli lognormal max 120000 exceeds the largest machine that satisfies its constraints (96000)",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn trace_replays_name_the_reasons_too_in_both_modes() {
    // m1, m2: 8 cores, zone a; m3, m4: 4 cores, zone b; the trace removes
    // m4 at 5 s, so it is down at the end.
    for scenario in [
        "native-never-reschedule.toml",
        "native-never-placement.toml",
    ] {
        let out = run(scenario);
        let rows = pending(out.path());
        let got: Vec<Seen> = rows
            .iter()
            .map(|r| {
                assert_eq!(r["status"], "never_schedulable", "{scenario}");
                (r["job_name"].as_str(), counts(r), r["why"].as_str())
            })
            .collect();
        let lead = "no machine could ever host it (0/4 machines, even empty): ";
        // 6 cores in zone b: m1, m2 are in zone a; m4 is down (and has 4
        // cores); m3 has 4 cores < 6. 2 + 1 + 1 = 4.
        let b_only = (
            "b-only",
            vec![
                ("machine_down", 1),
                ("insufficient_cpu", 1),
                ("constraint_mismatch", 2),
            ],
            format!(
                "{lead}constraint_mismatch zone=b: 2; machine_down: 1 (could not host it even when up); \
                 insufficient_cpu: 1 (needs 6000 cpu_milli; these have at most 4000)"
            ),
        );
        // Zone c: no machine has that value; the trace's string is named.
        let zone_c = (
            "zone-c",
            vec![("constraint_mismatch", 4)],
            format!("{lead}constraint_mismatch zone=c: 4"),
        );
        // Two whole GPUs on a cell without GPUs: m4 down, the others short.
        let gpus = (
            "two-gpus",
            vec![("machine_down", 1), ("insufficient_gpu", 3)],
            format!(
                "{lead}machine_down: 1 (could not host it even when up); \
                 insufficient_gpu: 3 (needs 2 whole GPUs; these have at most 0)"
            ),
        );
        let want = [&b_only, &b_only, &zone_c, &gpus];
        assert_eq!(got.len(), want.len(), "{scenario}: {got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0, &g.1, g.2), (w.0, &w.1, w.2.as_str()), "{scenario}");
        }
    }
    // Trace scenarios are not judged before the run (their tasks are known
    // only by reading the trace): validate passes them without warnings.
    let o = borgsim(
        &root().join("tests/fixtures/scenarios"),
        &["validate", "native-never-reschedule.toml"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stderr), "");
}
