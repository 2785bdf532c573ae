//! Sweeps whose runs are capacity-planning commands (`command = "compact"`,
//! `"experiment"`, `"inflate"`), end to end on the small compaction
//! fixtures (a few hundredths of a second a compaction in debug): each
//! run's directory is what the command writes (compaction.json the same
//! bytes as `borgsim compact` on the run's scenario), runs.csv's rows are
//! the result files' figures, a compaction that does not fit is a failed
//! run naming why, one and two threads write the same bytes, resume skips
//! what is done, two shards merge into the unsharded sweep, and keys that
//! do not apply are refused naming the key (exit code 2).

use super::{borgsim, csv_rows, root, text};
use std::fs;
use std::path::Path;
use std::process::Output;

/// A scratch directory holding the compaction fixture `static.toml` (24
/// machines: 16 plain, 8 with SSDs) and `sweep.toml` of `body` after its
/// base.
fn setup(body: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("tests/fixtures/compact/static.toml"),
        tmp.path().join("static.toml"),
    )
    .unwrap();
    fs::write(
        tmp.path().join("sweep.toml"),
        format!("base = \"static.toml\"\n{body}"),
    )
    .unwrap();
    tmp
}

/// Two policies × SSD machines 8 (fits) or 1 (the db job's six tasks,
/// one per SSD machine, cannot all be placed: does not fit) × 2 seeds, 3
/// trials each: 8 runs, 4 failing.
const GRID: &str = "name = \"cells\"\ncommand = \"compact\"\nseeds = [1, 2]\n\
    [[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"worst_fit\", \"best_fit\"]\n\
    [[parameters]]\nkey = \"cell.machines[1].count\"\nvalues = [8, 1]\n\
    [[parameters]]\nkey = \"compaction.trials\"\nvalues = [3]\n";

fn sweep(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "sweep.toml", "--out", out, "--quiet"];
    args.extend_from_slice(extra);
    borgsim(dir, &args)
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// Every file under `dir` except run.json (wall and CPU times): relative
/// path → bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "run.json" {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "the same files");
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs");
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_compaction_sweep_writes_compact_s_directories_and_their_figures() {
    let tmp = setup(GRID);
    let d = tmp.path();
    assert_eq!(
        code(&sweep(d, "one", &["--threads", "1"])),
        Some(1),
        "4 runs fail"
    );
    assert_eq!(code(&sweep(d, "two", &["--threads", "2"])), Some(1));
    assert_same_files(&d.join("one"), &d.join("two"));
    let rows = csv_rows(&fs::read(d.join("one/runs.csv")).unwrap());
    assert_eq!(rows.len(), 8);
    for row in &rows {
        check_row(row, &d.join("one/runs").join(&row["id"]));
    }
    // A run's directory is `borgsim compact` of its scenario, byte for byte.
    let first = d.join("one/runs").join(&rows[0]["id"]);
    let o = borgsim(
        d,
        &[
            "compact",
            first.join("scenario.toml").to_str().unwrap(),
            "--threads",
            "2",
            "--no-plots",
            "--quiet",
            "--out",
            "alone",
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o.stderr));
    for name in ["compaction.json", "report.html"] {
        assert!(
            fs::read(d.join("alone").join(name)).unwrap() == fs::read(first.join(name)).unwrap(),
            "{name} as compact --no-plots writes it (outputs = \"no_plots\")"
        );
    }
    let page = fs::read_to_string(d.join("one/report.html")).unwrap();
    assert!(
        page.contains("Machines needed"),
        "the page shows the compaction's figures"
    );
    // Run again: the 4 done are kept, the 4 failed tried again.
    let again = borgsim(d, &["sweep", "sweep.toml", "--out", "one"]);
    assert_eq!(code(&again), Some(1));
    assert!(
        text(&again.stdout).contains("(4 run now, 4 done by an earlier sweep)"),
        "{}",
        text(&again.stdout)
    );
}

/// A row of the compaction sweep's runs.csv against its run's directory.
fn check_row(row: &std::collections::BTreeMap<String, String>, run: &Path) {
    if row["cell.machines[1].count"] == "1" {
        assert_eq!(row["status"], "failed", "{}", row["id"]);
        let error = fs::read_to_string(run.join("error.txt")).unwrap();
        assert!(
            error.contains("compaction") && error.contains("does not fit"),
            "the command's message: {error}"
        );
        assert!(
            error.contains("compaction.grow = true") && !error.contains("--grow"),
            "a sweep's run names the key it can set, not the command's flag: {error}"
        );
        assert_eq!(row["answer.machines"], "");
        assert!(row["error"].contains("does not fit"), "{}", row["error"]);
        return;
    }
    assert_eq!(row["status"], "ok");
    let c = json(&run.join("compaction.json"));
    assert_eq!(row["answer.machines"], c["answer"]["machines"].to_string());
    assert_eq!(row["median_machines"], c["median_machines"].to_string());
    assert_eq!(row["trials"], "3", "[compaction] trials, swept by key");
    assert_eq!(row["seed"], c["seed"].to_string());
    // Saved: the whole cell's 24 machines less the answer.
    let answer: u64 = row["answer.machines"].parse().unwrap();
    assert_eq!(row["whole_cell.machines"], "24");
    assert_eq!(row["saved_machines"], (24 - answer).to_string());
    let share: f64 = row["saved_share"].parse().unwrap();
    assert!((share - (24 - answer) as f64 / 24.0).abs() < 1e-6);
    let mut names: Vec<String> = fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "compaction.json",
            "report.html",
            "run.json",
            "scenario.toml"
        ]
    );
}

#[test]
fn two_shards_of_a_compaction_sweep_merge_into_the_unsharded_one() {
    let tmp = setup(GRID);
    let d = tmp.path();
    for (out, extra) in [
        ("whole", vec![]),
        ("s0", vec!["--shard", "0/2"]),
        ("s1", vec!["--shard", "1/2", "--threads", "1"]),
    ] {
        assert_eq!(code(&sweep(d, out, &extra)), Some(1));
    }
    let o = borgsim(d, &["merge", "s0", "s1", "--out", "merged", "--quiet"]);
    assert_eq!(code(&o), Some(0), "{}", text(&o.stderr));
    assert!(
        fs::read(d.join("whole/runs.csv")).unwrap() == fs::read(d.join("merged/runs.csv")).unwrap(),
        "runs.csv byte for byte"
    );
    assert_same_files(&d.join("whole"), &d.join("merged"));
}

#[test]
fn experiment_and_inflation_sweeps_give_their_figures() {
    let tmp = setup(
        "command = \"experiment\"\nexperiment = \"segregation\"\nseeds = [3]\n\
         [[parameters]]\nkey = \"compaction.trials\"\nvalues = [2]\n",
    );
    let d = tmp.path();
    assert_eq!(code(&sweep(d, "e", &[])), Some(0));
    let rows = csv_rows(&fs::read(d.join("e/runs.csv")).unwrap());
    let e = json(
        &d.join("e/runs")
            .join(&rows[0]["id"])
            .join("experiment.json"),
    );
    for v in e["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let col = |f: &str| rows[0][&format!("variants.{name}.{f}")].clone();
        assert_eq!(col("machines"), v["machines"].to_string());
        assert_eq!(col("extra_pct"), v["extra_pct"].to_string());
    }
    assert_eq!(rows[0]["baseline"], e["baseline"].as_str().unwrap());
    fs::write(
        d.join("sweep.toml"),
        "base = \"static.toml\"\ncommand = \"inflate\"\nmode = \"vertical\"\nseeds = [3]\n",
    )
    .unwrap();
    assert_eq!(code(&sweep(d, "i", &[])), Some(0));
    let rows = csv_rows(&fs::read(d.join("i/runs.csv")).unwrap());
    let i = json(&d.join("i/runs/s3/inflation.json"));
    assert_eq!(
        rows[0]["answer.permille"],
        i["answer"]["permille"].to_string()
    );
    assert_eq!(rows[0]["uninflated.machines"], "24");
}

#[test]
fn a_command_s_keys_are_checked_naming_the_key() {
    for (body, needle) in [
        (
            "command = \"compat\"\n",
            "command: unknown command \"compat\"",
        ),
        (
            "command = \"compact\"\nexperiment = \"segregation\"\n",
            "experiment: does not apply to command = \"compact\"",
        ),
        (
            "mode = \"vertical\"\n",
            "mode: does not apply to command = \"run\"",
        ),
        (
            "command = \"inflate\"\n",
            "mode: command = \"inflate\" needs mode",
        ),
        (
            "command = \"experiment\"\nexperiment = \"bucketing\"\nparts = [2]\n",
            "parts: applies to experiment = \"subcells\" only",
        ),
        (
            "command = \"experiment\"\nexperiment = \"subcells\"\nparts = [2, 2]\n",
            "parts: 2 is listed twice",
        ),
        // An inflation takes inflate's own trials and percentile: sweeping
        // [compaction]'s would vary a column and no result.
        (
            "command = \"inflate\"\nmode = \"horizontal\"\n\
             [[parameters]]\nkey = \"compaction.trials\"\nvalues = [3, 5]\n",
            "parameters[0].key: compaction.trials has no effect on command = \"inflate\"",
        ),
        (
            "command = \"inflate\"\nmode = \"vertical\"\n\
             [[parameters]]\nkey = \"compaction.percentile\"\nvalues = [50]\n",
            "compaction.percentile has no effect",
        ),
    ] {
        let tmp = setup(&format!("seeds = [1]\n{body}"));
        let o = sweep(tmp.path(), "out", &[]);
        assert_eq!(code(&o), Some(2), "{body}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(needle),
            "expected {needle:?} in\n{}",
            text(&o.stderr)
        );
        assert!(!tmp.path().join("out").exists(), "nothing run");
    }
}

#[test]
fn the_shipped_compaction_sweep_expands_to_its_documented_runs_and_one_shard_runs() {
    let path = root().join("scenarios/sweeps/compaction.toml");
    let s = borgsim::sweep::Sweep::load(&path).unwrap();
    // 3 policies × 2 cell shapes × 1 trial count × 2 seeds.
    assert_eq!(s.runs.len(), 12);
    assert_eq!(s.spec.command.name(), "compact");
    assert_eq!(s.runs[0].id, "worst_fit-mixed-5-trials-s1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Shard 0/6: runs 0 and 6.
    let o = borgsim(
        tmp.path(),
        &[
            "sweep",
            path.to_str().unwrap(),
            "--shard",
            "0/6",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), Some(0), "{}", text(&o.stderr));
    let rows = csv_rows(&fs::read(out.join("runs.csv")).unwrap());
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "worst_fit-mixed-5-trials-s1",
            "best_fit-big-memory-5-trials-s1"
        ]
    );
    for r in &rows {
        assert_eq!(r["status"], "ok");
        assert_eq!(r["whole_cell.machines"], "100");
    }
}

#[test]
fn a_resumed_sweep_redoes_the_runs_its_command_s_settings_changed() {
    let body = |experiment: &str| {
        format!(
            "command = \"experiment\"\n{experiment}seeds = [3]\n\
             [[parameters]]\nkey = \"compaction.trials\"\nvalues = [1]\n"
        )
    };
    let tmp = setup(&body("experiment = \"subcells\"\nparts = [2]\n"));
    let d = tmp.path();
    assert_eq!(code(&sweep(d, "e", &[])), Some(0));
    // The same runs' scenarios, another experiment: none of them is done.
    fs::write(
        d.join("sweep.toml"),
        format!(
            "base = \"static.toml\"\n{}",
            body("experiment = \"segregation\"\n")
        ),
    )
    .unwrap();
    let again = borgsim(d, &["sweep", "sweep.toml", "--out", "e"]);
    assert_eq!(code(&again), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("(1 run now, 0 done by an earlier sweep)"),
        "{}",
        text(&again.stdout)
    );
    let rows = csv_rows(&fs::read(d.join("e/runs.csv")).unwrap());
    let e = json(
        &d.join("e/runs")
            .join(&rows[0]["id"])
            .join("experiment.json"),
    );
    assert_eq!(e["experiment"], "segregation");
    let header = String::from_utf8(fs::read(d.join("e/runs.csv")).unwrap()).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        !header.contains("subcells"),
        "no old experiment's columns: {header}"
    );
    // Nothing changed: the run is done.
    let third = borgsim(d, &["sweep", "sweep.toml", "--out", "e"]);
    assert!(
        text(&third.stdout).contains("(0 run now, 1 done by an earlier sweep)"),
        "{}",
        text(&third.stdout)
    );
}
