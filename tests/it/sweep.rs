//! `borgsim sweep` and `borgsim merge` end to end, on small sweeps of the
//! tiny golden scenario (hundredths of a second a run): the same bytes at
//! one and two threads, runs.csv against each run's summary.json, resume
//! (runs done are not run again; a changed or unfinished one is), failed
//! runs reported while the others complete, shards merged into exactly the
//! unsharded sweep, and bad sweep files and merges refused naming what is
//! wrong (exit code 2).

use super::{borgsim, csv_rows, root, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A scratch directory holding `tiny.toml` and the sweep file
/// `sweep.toml` with `body` after its base.
fn setup(body: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("tests/golden/tiny.toml"),
        tmp.path().join("tiny.toml"),
    )
    .unwrap();
    write_sweep(tmp.path(), body);
    tmp
}

fn write_sweep(dir: &Path, body: &str) {
    fs::write(
        dir.join("sweep.toml"),
        format!("base = \"tiny.toml\"\n{body}"),
    )
    .unwrap();
}

/// Policy × preemption × 2 seeds: 12 runs.
const GRID: &str = "name = \"grid\"\nseeds = [1, 2]\n\
    [[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"worst_fit\", \"best_fit\", \"hybrid\"]\n\
    [[parameters]]\nkey = \"scheduler.preemption\"\nvalues = [true, false]\n";

fn sweep(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "sweep.toml", "--out", out];
    args.extend_from_slice(extra);
    borgsim(dir, &args)
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// Every file under `dir` (paths relative to it) → its bytes, except
/// run.json (wall and CPU times).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "run.json" {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{} differs", name.display());
    }
}

/// The value at a dotted key of summary.json, as runs.csv writes it.
fn summary_value(summary: &serde_json::Value, key: &str) -> String {
    match key.split('.').try_fold(summary, |v, k| v.get(k)) {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(v) => v.to_string(),
    }
}

#[test]
fn threads_do_not_change_a_byte_and_rows_are_the_runs_summaries() {
    let tmp = setup(GRID);
    let one = ok(&sweep(tmp.path(), "one", &["--threads", "1"]));
    assert!(
        one.contains("12 runs, 12 done, 0 failed (12 run now, 0 done by an earlier sweep)"),
        "{one}"
    );
    ok(&sweep(tmp.path(), "two", &["--threads", "2"]));
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    assert_same_files(&one, &two);
    let rows = csv_rows(&fs::read(one.join("runs.csv")).unwrap());
    assert_eq!(rows.len(), 12);
    // Index = (policy × 2 + preemption) × 2 + seed, seeds innermost.
    let r7 = &rows[7];
    assert_eq!(
        (
            r7["index"].as_str(),
            r7["id"].as_str(),
            r7["scheduler.policy"].as_str(),
            r7["scheduler.preemption"].as_str(),
            r7["seed"].as_str()
        ),
        ("7", "best_fit-false-s2", "best_fit", "false", "2")
    );
    for row in &rows {
        assert_eq!(row["status"], "ok");
        assert_eq!(row["error"], "");
        let dir = one.join("runs").join(&row["id"]);
        let summary: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["seed"].to_string(), row["seed"]);
        assert_eq!(summary["policy"].as_str().unwrap(), row["scheduler.policy"]);
        for (col, v) in row {
            let parameter = ["scheduler.policy", "scheduler.preemption"].contains(&col.as_str());
            if col.contains('.') && !parameter {
                assert_eq!(*v, summary_value(&summary, col), "{}: {col}", row["id"]);
            }
        }
        let scenario = fs::read_to_string(dir.join("scenario.toml")).unwrap();
        assert!(
            scenario.starts_with(&format!("# Run {} of a borgsim sweep", row["id"])),
            "{scenario}"
        );
        assert!(
            dir.join("report.html").is_file() && !dir.join("utilization.png").exists(),
            "no plots by default"
        );
    }
    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(one.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(
        (info["ok"].as_u64(), info["failed"].as_u64(), &info["shard"]),
        (Some(12), Some(0), &serde_json::Value::Null)
    );
    let page = fs::read_to_string(one.join("report.html")).unwrap();
    for needle in [
        "Headline figures by scheduler.policy — sweep grid (tiny.toml), mean ± sd over 2 seeds",
        "Headline figures by scheduler.preemption — sweep grid",
        "href=\"runs/best_fit-false-s2/report.html\"",
    ] {
        assert!(page.contains(needle), "the page lacks {needle:?}");
    }
    if cfg!(feature = "plots") {
        // Axes, with their units, in the drawn plots.
        for needle in ["CPU allocated (% of the cell)", "p99 wait, prod (s)"] {
            assert!(page.contains(needle), "the page lacks {needle:?}");
        }
    }
}

fn mtime(p: &Path) -> std::time::SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_second_sweep_skips_runs_done_and_redoes_changed_or_unfinished_ones() {
    let body = |second: &str| {
        format!(
            "seeds = [1, 2]\n[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"best_fit\", \"{second}\"]\nlabels = [\"p1\", \"p2\"]\n"
        )
    };
    let tmp = setup(&body("hybrid"));
    ok(&sweep(tmp.path(), "out", &[]));
    let runs = tmp.path().join("out/runs");
    let summary = |id: &str| runs.join(id).join("summary.json");
    let before: Vec<_> = ["p1-s1", "p1-s2", "p2-s1", "p2-s2"]
        .iter()
        .map(|id| mtime(&summary(id)))
        .collect();
    let again = ok(&sweep(tmp.path(), "out", &[]));
    assert!(
        again.contains("(0 run now, 4 done by an earlier sweep)"),
        "{again}"
    );
    let after: Vec<_> = ["p1-s1", "p1-s2", "p2-s1", "p2-s2"]
        .iter()
        .map(|id| mtime(&summary(id)))
        .collect();
    assert_eq!(before, after, "no summary.json written again");
    // A run cut short (no run.json), and runs whose values the sweep file
    // changed (p2 is now worst_fit): those three run again, p1-s2 does not.
    fs::remove_file(runs.join("p1-s1/run.json")).unwrap();
    write_sweep(tmp.path(), &body("worst_fit"));
    let third = ok(&sweep(tmp.path(), "out", &[]));
    assert!(
        third.contains("4 runs, 4 done, 0 failed (3 run now, 1 done by an earlier sweep)"),
        "{third}"
    );
    assert_eq!(mtime(&summary("p1-s2")), before[1], "p1-s2 kept");
    let policy = |id: &str| -> String {
        let s: serde_json::Value = serde_json::from_slice(&fs::read(summary(id)).unwrap()).unwrap();
        s["policy"].as_str().unwrap().to_string()
    };
    assert_eq!(policy("p2-s1"), "worst_fit");
    assert!(runs.join("p1-s1/run.json").is_file());
    let rows = csv_rows(&fs::read(tmp.path().join("out/runs.csv")).unwrap());
    assert_eq!(rows[3]["scheduler.policy"], "worst_fit");
}

/// Three runs of which two fail: one refused by the scenario's checks (no
/// machines in a class), one by the estimate (--max-events).
const FAILING: &str = "name = \"failing\"\nseeds = [5]\n\
    [[parameters]]\nkey = \"cell.machines[0].count\"\nvalues = [6, 0]\n\
    [[parameters]]\nkey = \"duration_s\"\nvalues = [1800, 400000]\nlabels = [\"short\", \"long\"]\n";

#[test]
fn a_failed_run_is_reported_and_the_others_complete() {
    let tmp = setup(FAILING);
    let o = sweep(tmp.path(), "out", &["--max-events", "100000"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error: 3 of the sweep's runs failed"),
        "{}",
        text(&o.stderr)
    );
    let out = tmp.path().join("out");
    let rows = csv_rows(&fs::read(out.join("runs.csv")).unwrap());
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["id"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("6-short-s5", "ok"),
            ("6-long-s5", "failed"),
            ("0-short-s5", "failed"),
            ("0-long-s5", "failed")
        ]
    );
    assert_eq!(rows[0]["error"], "");
    assert!(
        rows[1]["error"].starts_with("runs/6-long-s5/scenario.toml: duration_s: "),
        "{}",
        rows[1]["error"]
    );
    assert!(
        rows[1]["error"].contains("--max-events"),
        "{}",
        rows[1]["error"]
    );
    assert_eq!(
        rows[2]["error"],
        "runs/0-short-s5/scenario.toml: cell.machines[0].count: must be > 0"
    );
    assert_eq!(
        rows[2]["tasks.submitted"], "",
        "no figures for a failed run"
    );
    assert!(out.join("runs/6-short-s5/summary.json").is_file());
    let error = fs::read_to_string(out.join("runs/0-short-s5/error.txt")).unwrap();
    assert_eq!(error.trim_end(), rows[2]["error"]);
    let info: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(
        (info["ok"].as_u64(), info["failed"].as_u64()),
        (Some(1), Some(3))
    );
    assert!(fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("1 done, 3 failed."));
    // Failed runs are tried again; the one done is not.
    let again = sweep(tmp.path(), "out", &["--max-events", "100000"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stdout).contains("(3 run now, 1 done by an earlier sweep)"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn two_shards_merged_are_the_unsharded_sweep_byte_for_byte() {
    let tmp = setup(&format!(
        "{GRID}[[parameters]]\nkey = \"cell.machines[1].count\"\nvalues = [2, 0]\n"
    ));
    let d = tmp.path();
    // 24 runs, of which the 12 with no GPU machines fail: exit code 1.
    for (out, extra) in [
        ("whole", vec![]),
        ("s0", vec!["--shard", "0/2"]),
        ("s1", vec!["--shard", "1/2", "--threads", "1"]),
    ] {
        assert_eq!(sweep(d, out, &extra).status.code(), Some(1));
    }
    let s0: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("s0/sweep.json")).unwrap()).unwrap();
    assert_eq!(s0["shard"], serde_json::json!({"index": 0, "count": 2}));
    assert_eq!(
        (s0["runs_total"].as_u64(), s0["runs_here"].as_u64()),
        (Some(24), Some(12))
    );
    let shard_rows = csv_rows(&fs::read(d.join("s1/runs.csv")).unwrap());
    assert!(
        shard_rows
            .iter()
            .all(|r| r["index"].parse::<usize>().unwrap() % 2 == 1),
        "shard 1/2: odd indices"
    );
    let o = borgsim(d, &["merge", "s1", "s0", "--out", "merged"]);
    let said = ok(&o);
    assert!(
        said.contains("merged 2 directories of sweep grid: 24 runs, 12 done, 12 failed"),
        "{said}"
    );
    assert_same_files(&d.join("whole"), &d.join("merged"));
    // Merged again into the same place: replaced whole, the same bytes.
    ok(&borgsim(
        d,
        &["merge", "s0", "s1", "--out", "merged", "--quiet"],
    ));
    assert_same_files(&d.join("whole"), &d.join("merged"));
}

fn refused(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(needle),
        "expected {needle:?} in\n{}",
        text(&o.stderr)
    );
}

#[test]
fn merge_refuses_missing_duplicate_and_foreign_directories() {
    let tmp = setup("name = \"m\"\nseeds = [1, 2, 3]\n");
    let d = tmp.path();
    for (out, shard) in [("s0", "0/2"), ("s1", "1/2")] {
        ok(&sweep(d, out, &["--shard", shard]));
    }
    let merge = |args: &[&str]| {
        let mut all = vec!["merge"];
        all.extend_from_slice(args);
        borgsim(d, &all)
    };
    refused(
        &merge(&["s0", "--out", "m"]),
        "run 1 is in none of the directories given, of the sweep's 3 (shard 1/2 missing?)",
    );
    refused(
        &merge(&["s0", "s1", "s0", "--out", "m"]),
        "runs 0, 2 are in two directories",
    );
    refused(
        &merge(&["s0", "s1", "--out", "s1"]),
        "--out: is s1, one of the directories merged",
    );
    refused(
        &merge(&["s0", "tiny.toml", "--out", "m"]),
        "tiny.toml: not a directory",
    );
    fs::create_dir(d.join("empty")).unwrap();
    refused(
        &merge(&["s0", "empty", "--out", "m"]),
        "not a sweep's directory: it has no sweep.json",
    );
    // Another sweep: other seeds.
    write_sweep(d, "name = \"m\"\nseeds = [1, 2, 4]\n");
    ok(&sweep(d, "other", &["--shard", "1/2"]));
    refused(
        &merge(&["s0", "other", "--out", "m"]),
        "another sweep's directory: its sweep.toml (the sweep file) differs",
    );
    // A shard cut short: a run without its run.json.
    fs::remove_file(d.join("s1/runs/s2/run.json")).unwrap();
    refused(
        &merge(&["s0", "s1", "--out", "m"]),
        "run 1 (s2) is not finished in this directory",
    );
    assert!(!d.join("m").exists(), "nothing written");
}

#[test]
fn sweep_files_and_outputs_that_cannot_be_are_refused_naming_the_key() {
    let tmp = setup("seeds = [1]\n");
    let d = tmp.path();
    let cases = [
        ("seeds = [1]\nthreads = 2\n", "unknown field `threads`"),
        ("seeds = []\n", "sweep.toml: seeds: give the seeds to run"),
        ("seeds = [1]\n[[parameters]]\nkey = \"scheduler.polcy\"\nvalues = [\"hybrid\"]\n", "sweep.toml: parameters[0].key: scheduler.polcy = \"hybrid\": unknown field `polcy`"),
        ("seeds = [1]\n[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"best-fit\"]\n", "sweep.toml: parameters[0].values[0]: scheduler.policy = \"best-fit\": unknown variant `best-fit`"),
        ("seeds = [1]\n[[parameters]]\nkey = \"cell.machines[5].count\"\nvalues = [1]\n", "sweep.toml: parameters[0].key: cell.machines[5]: the base scenario's cell.machines has 2 elements"),
        ("seeds = [1]\n[[parameters]]\nkey = \"workload.jobs[0].tasks\"\nvalues = [3]\n", "sweep.toml: parameters[0].values[0]: workload.jobs[0].tasks = 3: "),
    ];
    for (body, needle) in cases {
        write_sweep(d, body);
        refused(&sweep(d, "out", &[]), needle);
    }
    fs::write(
        d.join("sweep.toml"),
        "base = \"nowhere.toml\"\nseeds = [1]\n",
    )
    .unwrap();
    refused(
        &sweep(d, "out", &[]),
        "sweep.toml: base: \"nowhere.toml\" is neither a scenario file",
    );
    write_sweep(d, "seeds = [1]\n");
    refused(
        &sweep(d, "out", &["--shard", "2/2"]),
        "expected I/N with 0 <= I < N",
    );
    fs::create_dir(d.join("mine")).unwrap();
    fs::write(d.join("mine/notes.txt"), "keep").unwrap();
    refused(
        &sweep(d, "mine", &[]),
        "mine: --out: it exists and is not a sweep's directory",
    );
    assert_eq!(
        fs::read_to_string(d.join("mine/notes.txt")).unwrap(),
        "keep"
    );
    assert!(!d.join("out").exists());
}

#[test]
fn outputs_choose_what_each_run_keeps() {
    for (outputs, kept) in [
        (
            "summary",
            &["run.json", "scenario.toml", "summary.json"][..],
        ),
        (
            "all",
            &[
                "pending.csv",
                "pending.png",
                "report.html",
                "run.json",
                "scenario.toml",
                "summary.json",
                "timeseries.csv",
                "utilization.png",
                "wait_cdf.png",
            ][..],
        ),
    ] {
        let tmp = setup(&format!("seeds = [1]\noutputs = \"{outputs}\"\n"));
        ok(&sweep(tmp.path(), "out", &["--quiet"]));
        let mut names: Vec<String> = fs::read_dir(tmp.path().join("out/runs/s1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        if !cfg!(feature = "plots") {
            continue;
        }
        assert_eq!(names, kept, "outputs = {outputs}");
        if outputs == "all" {
            super::report::assert_files_listed(&tmp.path().join("out/runs/s1"));
        }
    }
}

#[test]
fn the_shipped_sweep_expands_to_its_documented_runs_and_one_shard_runs() {
    let path = root().join("scenarios/sweeps/policies.toml");
    let s = borgsim::sweep::Sweep::load(&path).unwrap();
    // 3 policies × 2 preemption × 3 seeds.
    assert_eq!(s.runs.len(), 18);
    assert_eq!(s.runs[0].id, "worst_fit-preempt-s1");
    assert_eq!(s.runs[17].id, "hybrid-no-preempt-s3");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Shard 0/9: runs 0 and 9, quickstart each.
    let o = borgsim(
        tmp.path(),
        &[
            "sweep",
            path.to_str().unwrap(),
            "--shard",
            "0/9",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    ok(&o);
    let rows = csv_rows(&fs::read(out.join("runs.csv")).unwrap());
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["worst_fit-preempt-s1", "best_fit-no-preempt-s1"]);
}

#[test]
fn runs_at_once_are_no_more_than_the_memory_limit_holds() {
    // A tiny run is estimated at about 17 MiB: 30 MiB holds one at a time.
    let tmp = setup("seeds = [1, 2, 3, 4]\n");
    let o = sweep(
        tmp.path(),
        "out",
        &["--threads", "2", "--max-memory", "30MiB"],
    );
    let said = ok(&o);
    assert!(
        said.contains("4 runs, 4 done, 0 failed") && said.contains(", 1 thread)"),
        "{said}"
    );
    assert!(
        text(&o.stderr)
            .contains("note: running 1 at a time, not 2: the largest run is estimated at"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_sweep_never_takes_over_another_sweep_s_directory() {
    let tmp = setup("name = \"one\"\nseeds = [1]\n");
    let d = tmp.path();
    ok(&sweep(d, "out", &[]));
    let before = files(&d.join("out"));
    let refused = |o: &Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(err.contains("another sweep's directory"), "{err}");
        assert!(err.contains(needle), "{needle:?} in {err}");
    };
    // Another name.
    write_sweep(d, "name = \"two\"\nseeds = [1]\n");
    refused(&sweep(d, "out", &[]), "named \"one\", not \"two\"");
    // Another grid.
    write_sweep(
        d,
        "name = \"one\"\nseeds = [1]\n[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"hybrid\"]\n",
    );
    refused(
        &sweep(d, "out", &[]),
        "parameters are [], not [scheduler.policy]",
    );
    // Another shard of the same sweep.
    write_sweep(d, "name = \"one\"\nseeds = [1, 2]\n");
    refused(
        &sweep(d, "out", &["--shard", "1/2"]),
        "the whole sweep, not shard 1/2",
    );
    ok(&sweep(d, "s0", &["--shard", "0/2"]));
    refused(
        &sweep(d, "s0", &["--shard", "1/2"]),
        "shard 0/2, not shard 1/2",
    );
    assert_eq!(
        files(&d.join("out")),
        before,
        "the first sweep's directory is untouched"
    );
    // The same sweep, a seed added: a resume.
    let again = ok(&sweep(d, "out", &[]));
    assert!(
        again.contains("(1 run now, 1 done by an earlier sweep)"),
        "{again}"
    );
}

#[test]
fn a_resume_removes_what_an_interrupted_sweep_left_under_runs() {
    let tmp = setup("name = \"one\"\nseeds = [1]\n");
    let d = tmp.path();
    ok(&sweep(d, "out", &[]));
    // What a sweep killed while a run was being written leaves.
    let stale = d.join("out/runs/.tmp.s1.Ab3xYz");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("summary.json"), "{}").unwrap();
    ok(&sweep(d, "out", &[]));
    assert!(!stale.exists(), "the resume removed it");
    assert!(
        d.join("out/runs/s1/summary.json").is_file(),
        "the run stays"
    );
}
