//! `borgsim compare`: two and four runs side by side — compare.csv's
//! columns, every value the runs' summary.json's, every delta worked out
//! against the first run — its page, and bad directories refused naming
//! what is wrong (exit code 2, no panic, nothing written).

use super::report::{assert_self_contained, data_cells, figure, summary_value};
use super::{borgsim, root, text};
use std::fs;
use std::path::Path;

/// Runs the tiny scenario (a second of work) into `dir/<out>` with `args`.
fn tiny(dir: &Path, out: &str, args: &[&str]) {
    let scen = root().join("tests/golden/tiny.toml");
    let mut all = vec![
        "run",
        scen.to_str().unwrap(),
        "--quiet",
        "--no-plots",
        "--out",
        out,
    ];
    all.extend_from_slice(args);
    let o = borgsim(dir, &all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

fn compare(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["compare", "--quiet"];
    all.extend_from_slice(args);
    borgsim(dir, &all)
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// compare.csv as rows of strings, header first.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|row| row.unwrap().iter().map(String::from).collect())
        .collect()
}

/// Checks every figure row of compare.csv against the runs' summaries:
/// the values, and each delta and relative delta against the first.
fn check_csv(csv: &[Vec<String>], runs: &[serde_json::Value]) -> usize {
    let n = runs.len();
    let mut figures = 0;
    for row in &csv[1..] {
        let (key, unit) = (&row[0], &row[1]);
        if unit.is_empty() {
            continue; // a parameter
        }
        figures += 1;
        for (i, s) in runs.iter().enumerate() {
            assert_eq!(
                Some(row[2 + i].clone()),
                summary_value(s, key),
                "{key}: run_{}",
                i + 1
            );
        }
        let first: Option<f64> = row[2].parse().ok();
        for i in 1..n {
            let (value, delta, pct) = (&row[2 + i], &row[1 + n + i], &row[2 * n + i]);
            let Some((a, b)) = first.zip(value.parse::<f64>().ok()) else {
                assert!(
                    delta.is_empty() && pct.is_empty(),
                    "{key}: a delta without two numbers"
                );
                continue;
            };
            let d: f64 = delta
                .parse()
                .unwrap_or_else(|_| panic!("{key}: delta {delta:?}"));
            assert!(
                (d - (b - a)).abs() < 1e-6,
                "{key}: delta_{} = {d}, want {}",
                i + 1,
                b - a
            );
            if a != 0.0 {
                let p: f64 = pct.parse().unwrap();
                assert!(
                    (p - 100.0 * (b - a) / a.abs()).abs() < 1e-3,
                    "{key}: delta_pct_{} = {p}",
                    i + 1
                );
            }
        }
    }
    figures
}

/// Whether each run's cell of the Runs table's row `name` is marked as
/// differing from the first run's.
fn marked(html: &str, name: &str) -> Vec<bool> {
    let table = &html[html.find("id=\"runs-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let row = &table[table
        .find(&format!("<th scope=\"row\">{name}</th>"))
        .unwrap_or_else(|| panic!("no row {name}"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| cell.starts_with(" class=\"differs\""))
        .collect()
}

#[test]
fn two_runs_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny(d, "on", &[]);
    tiny(d, "off", &["--preemption", "off"]);
    let o = compare(d, &["on", "off", "--out", "cmp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = rows(&d.join("cmp/compare.csv"));
    assert_eq!(
        csv[0],
        ["metric", "unit", "run_1", "run_2", "delta_2", "delta_pct_2"]
    );
    let param = |name: &str| csv.iter().find(|r| r[0] == name).unwrap().clone();
    assert_eq!(param("label")[2..4], ["on", "off"]);
    assert_eq!(param("preemption")[2..4], ["true", "false"]);
    let runs = [summary(&d.join("on")), summary(&d.join("off"))];
    assert!(check_csv(&csv, &runs) > 40);
    // A delta worked out by hand: evictions by preemption, 22 with it on
    // (tests/golden/tiny.summary.json), none with it off.
    let ev = csv.iter().find(|r| r[0] == "evictions.preemption").unwrap();
    assert_eq!(ev[2..6], ["22", "0", "-22", "-100"]);
    // The page: the same values, run by run, and the series overlaid.
    let html = fs::read_to_string(d.join("cmp/report.html")).unwrap();
    assert_self_contained(&html, "compare's report.html");
    let cells = data_cells(&html);
    for (i, (key, value)) in cells.iter().enumerate() {
        let run = &runs[i % 2];
        assert_eq!(
            Some(value.clone()),
            summary_value(run, key),
            "{key} of run {}",
            i % 2 + 1
        );
    }
    assert!(
        html.contains("−22 (−100 %)"),
        "the preemption delta, for people"
    );
    // Bold marks a parameter that differs from the first run's; a run's
    // label and directory always differ, so they are never marked.
    assert_eq!(marked(&html, "preemption"), [false, true]);
    assert_eq!(marked(&html, "seed"), [false, false]);
    assert_eq!(marked(&html, "label"), [false, false]);
    assert_eq!(marked(&html, "dir"), [false, false]);
    for id in ["allocation", "pending", "evictions"] {
        let fig = figure(&html, id);
        assert!(fig.contains("<svg"), "fig-{id} not drawn");
        assert!(fig.contains("— tiny, hybrid, seed 3"), "fig-{id}'s title");
        for label in ["on", "off"] {
            let entry = format!(">\n{label}\n</text>");
            assert!(
                fig.contains(&entry),
                "fig-{id}: no legend entry for run {label}"
            );
        }
    }
}

#[test]
fn four_runs_under_every_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policies = ["worst_fit", "best_fit", "hybrid", "gpu_packing"];
    for p in policies {
        tiny(d, p, &["--policy", p]);
    }
    let o = compare(
        d,
        &[
            "worst_fit",
            "best_fit",
            "hybrid",
            "gpu_packing",
            "--no-plots",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The default directory names the runs.
    let out = d.join("reports/compare-worst_fit-vs-best_fit-vs-hybrid-vs-gpu_packing");
    let csv = rows(&out.join("compare.csv"));
    let header: Vec<String> = ["metric", "unit", "run_1", "run_2", "run_3", "run_4"]
        .iter()
        .map(|s| s.to_string())
        .chain((2..=4).map(|i| format!("delta_{i}")))
        .chain((2..=4).map(|i| format!("delta_pct_{i}")))
        .collect();
    assert_eq!(csv[0], header);
    let policy = csv.iter().find(|r| r[0] == "policy").unwrap();
    assert_eq!(policy[2..6], policies);
    let runs: Vec<_> = policies.iter().map(|p| summary(&d.join(p))).collect();
    assert!(check_csv(&csv, &runs) > 40);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Plots were not drawn"));
    assert!(html.contains("borgsim compare: worst_fit vs best_fit vs hybrid vs gpu_packing"));
}

/// Runs compare on a good run and `bad`, which `spoil` breaks; returns
/// stderr after checking the exit code and that nothing was written.
fn refused(spoil: impl Fn(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny(d, "good", &[]);
    tiny(d, "bad", &[]);
    spoil(&d.join("bad"));
    let o = compare(d, &["good", "bad", "--out", "cmp"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !d.join("cmp").exists(),
        "a refused comparison writes nothing"
    );
    err
}

/// Breaks a run's directory.
type Spoil = Box<dyn Fn(&Path)>;

#[test]
fn bad_directories_are_refused_naming_what_is_wrong() {
    let write = |name: &'static str, text: &'static str| {
        move |d: &Path| fs::write(d.join(name), text).unwrap()
    };
    let cases: Vec<(Spoil, &str)> = vec![
        (
            Box::new(|d: &Path| fs::remove_dir_all(d).unwrap()),
            "bad: not a directory",
        ),
        (
            Box::new(|d: &Path| fs::remove_file(d.join("summary.json")).unwrap()),
            "bad: not a borgsim run directory: it has no summary.json",
        ),
        (
            Box::new(write("summary.json", "{ not json")),
            "summary.json: not valid JSON",
        ),
        (
            Box::new(write("summary.json", "{\"seed\": 1}")),
            "summary.json: no \"scenario\": not a borgsim summary",
        ),
        (
            Box::new(|d: &Path| {
                let s = fs::read_to_string(d.join("summary.json")).unwrap();
                let s = s.replacen("\"duration_s\": 1800.0", "\"duration_s\": \"abc\"", 1);
                fs::write(d.join("summary.json"), s).unwrap();
            }),
            "summary.json: \"duration_s\" is \"abc\", expected a number of seconds",
        ),
        (
            Box::new(|d: &Path| {
                let s = fs::read_to_string(d.join("summary.json")).unwrap();
                let v: serde_json::Value = serde_json::from_str(&s).unwrap();
                let mut v = v.as_object().unwrap().clone();
                v.insert("capacity".into(), serde_json::json!({}));
                fs::write(d.join("summary.json"), serde_json::to_string(&v).unwrap()).unwrap();
            }),
            "summary.json: no \"capacity.cpu_milli\"",
        ),
        (
            Box::new(|d: &Path| fs::remove_file(d.join("run.json")).unwrap()),
            "run.json: cannot read",
        ),
        (
            Box::new(write("run.json", "{\"completed\": false}")),
            "run.json: the run did not complete",
        ),
        (
            Box::new(|d: &Path| fs::remove_file(d.join("timeseries.csv")).unwrap()),
            "timeseries.csv: cannot read",
        ),
        (
            Box::new(write("timeseries.csv", "time_s,held\n0.000000,0\n")),
            "timeseries.csv: no column \"cpu_milli_best_effort\"",
        ),
    ];
    for (spoil, want) in cases {
        let err = refused(spoil);
        assert!(err.contains(want), "want {want:?} in: {err}");
    }
    // A malformed number names its line.
    let err = refused(|d: &Path| {
        let csv = fs::read_to_string(d.join("timeseries.csv")).unwrap();
        let mut lines: Vec<String> = csv.lines().map(String::from).collect();
        lines[3] = lines[3].replacen(",", ",x", 1);
        fs::write(d.join("timeseries.csv"), lines.join("\n") + "\n").unwrap();
    });
    assert!(
        err.contains("timeseries.csv: line 4: column 2: not a number: \"x"),
        "{err}"
    );
}

#[test]
fn one_directory_is_not_a_comparison() {
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), "a", &[]);
    let o = compare(dir.path(), &["a"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("2 values required"),
        "{}",
        text(&o.stderr)
    );
}

/// The output directory is never one of the runs (writing over a run it
/// reads would destroy it), a run is compared once, and a comparison may
/// be redone into the directory of an earlier one (CI's "this commit
/// against the last", every night).
#[test]
fn out_is_never_an_input_and_an_earlier_comparison_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny(d, "a", &[]);
    tiny(d, "b", &["--policy", "best_fit"]);
    let before = fs::read(d.join("b/summary.json")).unwrap();
    for out in ["b", "a", "."] {
        let o = compare(d, &["a", "b", "--out", out]);
        assert_eq!(o.status.code(), Some(2), "--out {out}: {}", text(&o.stderr));
    }
    let o = compare(d, &["a", "b", "--out", "b/inside"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("which this comparison reads"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        fs::read(d.join("b/summary.json")).unwrap(),
        before,
        "run b intact"
    );
    assert!(!d.join("b/inside").exists());
    // Twice into one directory: the second replaces the first.
    for _ in 0..2 {
        let o = compare(d, &["a", "b", "--out", "cmp"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    // But not a run's directory, nor another's files.
    fs::create_dir(d.join("other")).unwrap();
    fs::write(d.join("other/notes.txt"), "mine").unwrap();
    let o = compare(d, &["a", "b", "--out", "other"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("not an earlier comparison's directory (no compare.csv)"));
    // The same run twice, by any path to it.
    let o = compare(d, &["a", "./a", "--out", "cmp2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("run 2 is the same directory as run 1"));
}

/// Runs of different scenarios can be compared, with a warning.
#[test]
fn different_scenarios_are_compared_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny(d, "a", &[]);
    let o = borgsim(d, &["run", "quickstart", "-q", "--no-plots", "--out", "q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = borgsim(d, &["compare", "a", "q", "--no-plots", "--out", "cmp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning: the runs are of different scenarios (tiny, quickstart)"),
        "{}",
        text(&o.stderr)
    );
}

/// A replay that followed its trace's placements is compared as "trace
/// placements", not as the policy its scenario names (which decided
/// nothing), in the Runs table, compare.csv and every title.
#[test]
fn a_replay_of_the_traces_placements_is_not_named_by_its_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for mode in ["placement", "reschedule"] {
        let scenario = root().join(format!("tests/fixtures/scenarios/google2011-{mode}.toml"));
        let o = borgsim(d, &["run", scenario.to_str().unwrap(), "-q", "--out", mode]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let o = compare(d, &["placement", "reschedule", "--out", "cmp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = rows(&d.join("cmp/compare.csv"));
    let policy = csv.iter().find(|r| r[0] == "policy").unwrap();
    assert_eq!(policy[2..4], ["trace placements", "best_fit"]);
    let html = fs::read_to_string(d.join("cmp/report.html")).unwrap();
    assert_eq!(marked(&html, "policy"), [false, true]);
    for id in ["allocation", "pending", "evictions"] {
        let fig = figure(&html, id);
        assert!(
            fig.contains(
                "— google2011-placement / google2011-reschedule, trace placements / best_fit, seed 1"
            ),
            "fig-{id}'s title"
        );
    }
}

/// A plot that would be zeros in every run is a line saying so instead.
#[test]
fn a_plot_of_zeros_in_every_run_is_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("idle.toml"), super::report::IDLE_QUEUE).unwrap();
    for seed in ["1", "2"] {
        let o = borgsim(
            d,
            &["run", "idle.toml", "-q", "--seed", seed, "--out", seed],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let o = compare(d, &["1", "2", "--out", "cmp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let html = fs::read_to_string(d.join("cmp/report.html")).unwrap();
    for (id, line) in [
        (
            "pending",
            "No run had a task pending at any sample: nothing to plot.",
        ),
        ("evictions", "No run evicted a task."),
    ] {
        let want = format!("<p class=\"empty-plot\" id=\"fig-{id}\">{line}</p>");
        assert!(html.contains(&want), "{want}");
    }
    assert!(figure(&html, "allocation").contains("<svg"));
}
