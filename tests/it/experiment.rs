//! The capacity experiments (`borgsim experiment`, `borgsim::experiment`)
//! on a small static cell: each runs end to end; a variant's cells are the
//! compactions `compact` gives with the same edit, and "extra" is their
//! sum over the baseline's; sub-cells partition the tasks; bucketing's
//! request sums agree with the tasks a run submits; the bytes do not
//! depend on the thread count; bad input exits 2.

use super::{borgsim, root, text};
use borgsim::compact::{self, search::Search};
use borgsim::scenario::Scenario;
use borgsim::workload::edit::{Keep, RoundUp, WorkloadEdit};
use borgsim::{build_simulation_with, BuildOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture() -> PathBuf {
    root().join("tests/fixtures/experiment/cell.toml")
}

/// Runs `borgsim experiment <name> <scenario> <args> --out <out> -q`.
fn experiment(name: &str, scenario: &Path, out: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "experiment",
        name,
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    all.extend_from_slice(args);
    borgsim(&root(), &all)
}

/// experiment.json of an experiment that must succeed (and its directory).
fn done(name: &str, args: &[&str]) -> (Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let o = experiment(name, &fixture(), &out, args);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
    for f in ["experiment.csv", "report.html", "run.json"] {
        assert!(out.join(f).is_file(), "{name}: {f}");
    }
    let v = serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    (v, dir)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn variants(e: &Value) -> &Vec<Value> {
    e["variants"].as_array().unwrap()
}

/// A compaction of the fixture with `edit`, through the library.
fn compacted(edit: WorkloadEdit) -> compact::Compaction {
    let sc = Scenario::load(&fixture()).unwrap();
    let o = compact::Options {
        search: Search::Bisect,
        threads: 1,
    };
    compact::compact_edited(&sc, &o, edit, &|_| {}).unwrap()
}

fn trial_answers(c: &compact::Compaction) -> Vec<u64> {
    c.per_trial
        .iter()
        .map(|t| u64::from(t.answer_machines))
        .collect()
}

fn cell_trials(cell: &Value) -> Vec<u64> {
    cell["per_trial_machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(u)
        .collect()
}

#[test]
fn segregation_adds_the_prod_and_non_prod_compactions() {
    let (e, _dir) = done("segregation", &[]);
    let v = variants(&e);
    assert_eq!(v.len(), 2);
    let (shared, seg) = (&v[0], &v[1]);
    // The shared cell is plain compaction; the segregated cells are
    // compaction with Keep::Prod and Keep::NonProd, trial for trial.
    let keep = |k| WorkloadEdit {
        keep: k,
        ..WorkloadEdit::default()
    };
    let plain = compacted(WorkloadEdit::default());
    assert_eq!(cell_trials(&shared["cells"][0]), trial_answers(&plain));
    let prod = compacted(keep(Keep::Prod));
    let nonprod = compacted(keep(Keep::NonProd));
    assert_eq!(cell_trials(&seg["cells"][0]), trial_answers(&prod));
    assert_eq!(cell_trials(&seg["cells"][1]), trial_answers(&nonprod));
    // Machines: the cells' answers summed; extra: over the shared cell's.
    let sum = u64::from(prod.answer.machines + nonprod.answer.machines);
    assert_eq!(u(&seg["machines"]), sum);
    let base = u64::from(plain.answer.machines);
    assert_eq!(u(&shared["machines"]), base);
    let extra = (sum as f64 - base as f64) * 100.0 / base as f64;
    assert!((seg["extra_pct"].as_f64().unwrap() - extra).abs() < 1e-5);
    // Paired: trial t's sum is the two cells' trial t.
    let paired: Vec<u64> = trial_answers(&prod)
        .iter()
        .zip(trial_answers(&nonprod))
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(cell_trials(seg), paired);
    // The split keeps every task: prod + non-prod = the shared cell's.
    let tasks = |c: &Value| u(&c["submitted_tasks"]);
    assert_eq!(
        tasks(&seg["cells"][0]) + tasks(&seg["cells"][1]),
        tasks(&shared["cells"][0])
    );
    assert!(tasks(&seg["cells"][0]) > 0 && tasks(&seg["cells"][1]) > 0);
    assert_eq!(e["paper"]["applies_to"][0], "segregated");
}

#[test]
fn sub_cells_partition_the_tasks() {
    let (e, _dir) = done("subcells", &["--parts", "2,3"]);
    let v = variants(&e);
    let names: Vec<&str> = v.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1 cell", "2 sub-cells", "3 sub-cells"]);
    let whole = u(&v[0]["cells"][0]["submitted_tasks"]);
    for (k, x) in [(2, &v[1]), (3, &v[2])] {
        let cells = x["cells"].as_array().unwrap();
        assert_eq!(cells.len(), k);
        let tasks: u64 = cells.iter().map(|c| u(&c["submitted_tasks"])).sum();
        assert_eq!(tasks, whole, "{k} sub-cells");
        let machines: u64 = cells.iter().map(|c| u(&c["answer_machines"])).sum();
        assert_eq!(u(&x["machines"]), machines);
        // Requests are only divided: their sum does not change.
        assert_eq!(x["requested_extra_cpu_pct"], 0.0);
    }
}

/// CPU and memory requested by every task a run of the fixture, edited by
/// `edit`, submits: read from the cell's task records after the run.
fn requested_by_a_run(edit: WorkloadEdit) -> (u64, u64) {
    let sc = Scenario::load(&fixture()).unwrap();
    let mut sim = build_simulation_with(
        &sc,
        &BuildOptions {
            workload: edit,
            ..BuildOptions::default()
        },
    )
    .unwrap();
    sim.run(&mut |_| {}).unwrap();
    // Static: nothing ends, so every task submitted is still live.
    let st = sim.state();
    st.live_tasks().fold((0, 0), |(c, m), (_, rec)| {
        let q = st.shape_of(rec).request.res;
        (c + q.cpu_milli, m + q.mem_mib)
    })
}

#[test]
fn bucketing_rounds_requests_up_and_sums_them_as_a_run_submits_them() {
    let (e, _dir) = done("bucketing", &[]);
    let v = variants(&e);
    let (orig, rounded) = (&v[0], &v[1]);
    let (c0, m0) = requested_by_a_run(WorkloadEdit::default());
    let (c1, m1) = requested_by_a_run(WorkloadEdit {
        round_up: Some(RoundUp::BORG),
        ..WorkloadEdit::default()
    });
    assert_eq!(u(&orig["requested"]["cpu_milli"]), c0);
    assert_eq!(u(&orig["requested"]["mem_mib"]), m0);
    assert_eq!(u(&rounded["requested"]["cpu_milli"]), c1);
    assert_eq!(u(&rounded["requested"]["mem_mib"]), m1);
    // 1100 -> 2000, 3000 -> 4000, ...: strictly more of both.
    assert!(c1 > c0 && m1 > m0, "{c0} {c1} {m0} {m1}");
    let cpu = (c1 as f64 - c0 as f64) * 100.0 / c0 as f64;
    let got = rounded["requested_extra_cpu_pct"].as_f64().unwrap();
    assert!((got - cpu).abs() < 1e-5, "{got} {cpu}");
    assert!(u(&rounded["machines"]) >= u(&orig["machines"]));
}

#[test]
fn policies_put_the_four_views_side_by_side_best_fit_first() {
    let (e, dir) = done("policies", &["--policies", "hybrid,worst_fit,best_fit"]);
    let v = variants(&e);
    let names: Vec<&str> = v.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["best_fit", "hybrid", "worst_fit"]);
    for x in v {
        let w = &x["views"];
        assert!(w["cpu_utilization"].as_f64().unwrap() > 0.0);
        assert!(w["holes_units_free"].is_u64(), "{w}");
        assert_eq!(x["cells"][0]["policy"], x["name"]);
    }
    let csv = std::fs::read(dir.path().join("e/experiment.csv")).unwrap();
    let rows = super::csv_rows(&csv);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["variant"], "hybrid");
    assert_eq!(rows[1]["paper_extra_pct_low"], "-5.0");
    assert!(!rows[1]["stranded_cpu_share"].is_empty());
}

#[test]
fn the_bytes_do_not_depend_on_the_thread_count() {
    let (_, one) = done("subcells", &["--parts", "2", "--threads", "1"]);
    let (_, two) = done("subcells", &["--parts", "2", "--threads", "2"]);
    for f in ["experiment.json", "experiment.csv", "report.html"] {
        let a = std::fs::read(one.path().join("e").join(f)).unwrap();
        let b = std::fs::read(two.path().join("e").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let o = experiment("segregate", &fixture(), &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("unknown experiment"),
        "{}",
        text(&o.stderr)
    );
    // A one-by-one replay draws arrivals to a demand target: no split.
    let trace = root().join("tests/fixtures/openb-five-columns/scenario.toml");
    let o = experiment("segregation", &trace, &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("trace.arrivals") && err.contains("one-by-one"),
        "{err}"
    );
    let o = experiment("subcells", &fixture(), &out, &["--parts", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--parts"), "{}", text(&o.stderr));
    let o = experiment("policies", &fixture(), &out, &["--policy", "hybrid"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "nothing written on bad input");
}

/// Segregation on a real trace (openb's pods at their own times): the
/// prod cell replays exactly the pods whose qos is LS or Guaranteed, the
/// non-prod cell the others (recounted from pods.csv), and the parts add
/// up to the whole.
#[test]
fn segregation_runs_on_a_trace_replayed_at_its_own_times() {
    let scen = root().join("tests/fixtures/experiment/openb-trace/scenario.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let o = experiment("segregation", &scen, &out, &["--trials", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let e: Value =
        serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    let pods = super::csv_rows(&std::fs::read(scen.with_file_name("pods.csv")).unwrap());
    let prod = pods
        .iter()
        .filter(|p| ["LS", "Guaranteed"].contains(&p["qos"].as_str()))
        .count() as u64;
    let cells = &e["variants"][1]["cells"];
    let tasks = |i: usize| cells[i]["submitted_tasks"].as_u64().unwrap();
    assert_eq!(cells[0]["cell"], "prod");
    assert_eq!(tasks(0), prod);
    assert_eq!(tasks(1), pods.len() as u64 - prod);
    let shared = e["variants"][0]["cells"][0]["submitted_tasks"]
        .as_u64()
        .unwrap();
    assert_eq!(shared, pods.len() as u64);
    assert!(prod > 0 && tasks(1) > 0, "both parts hold pods");
}

/// Flags that do not apply, or repeat, are refused; best fit is always the
/// baseline of `policies`, listed or not; no thread count of 0.
#[test]
fn flags_that_do_not_apply_or_repeat_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    for (name, args, says) in [
        ("segregation", vec!["--parts", "5"], "--parts"),
        ("subcells", vec!["--parts", "2,2"], "2 is listed twice"),
        ("bucketing", vec!["--policies", "hybrid"], "--policies"),
        (
            "policies",
            vec!["--policies", "hybrid,hybrid"],
            "hybrid is listed twice",
        ),
        ("segregation", vec!["--threads", "0"], "--threads"),
    ] {
        let o = experiment(name, &fixture(), &out, &args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{name} {args:?}: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains(says),
            "{name} {args:?}: {}",
            text(&o.stderr)
        );
    }
    let o = experiment(
        "policies",
        &fixture(),
        &out,
        &["--policies", "worst_fit,hybrid", "--trials", "2"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let e: Value =
        serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    let names: Vec<&str> = e["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["best_fit", "worst_fit", "hybrid"]);
    assert_eq!(e["variants"][0]["baseline"], true);
    // The fourth view: a vertical inflation per policy, as inflate finds it.
    let grown = e["variants"][2]["views"]["inflation_vertical_permille"]
        .as_u64()
        .unwrap();
    let o = borgsim(
        &root(),
        &[
            "inflate",
            fixture().to_str().unwrap(),
            "--mode",
            "vertical",
            "--policy",
            "hybrid",
            "-q",
            "--no-plots",
            "--out",
            dir.path().join("i").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let i: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("i/inflation.json")).unwrap())
            .unwrap();
    assert_eq!(i["answer"]["permille"].as_u64().unwrap(), grown);
}

#[test]
fn the_default_directory_names_the_policy_it_overrides() {
    // As compact and inflate: an experiment under --policy worst_fit does
    // not replace the one under the scenario's own policy.
    let dir = tempfile::tempdir().unwrap();
    let scenario = fixture();
    let run = |args: &[&str]| {
        let mut all = vec!["experiment", "segregation", scenario.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-q", "--trials", "1"]);
        let o = borgsim(dir.path(), &all);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    };
    run(&[]);
    run(&["--policy", "worst_fit"]);
    let reports = dir.path().join("reports");
    let read = |name: &str| {
        let e: Value = serde_json::from_slice(
            &std::fs::read(reports.join(name).join("experiment.json")).unwrap(),
        )
        .unwrap();
        e["policy"].as_str().unwrap().to_string()
    };
    assert_eq!(read("experiment-cell-worst_fit-segregation"), "worst_fit");
    assert_ne!(
        read("experiment-cell-segregation"),
        "worst_fit",
        "the scenario's own policy's experiment is still there"
    );
}

/// `--hole-size` sets the shape the policies' hole filling counts (and
/// applies to that experiment only).
#[test]
fn policies_count_holes_of_the_shape_asked_for() {
    let (e, _dir) = done(
        "policies",
        &[
            "--policies",
            "best_fit,worst_fit",
            "--hole-size",
            "500,1024",
        ],
    );
    for x in variants(&e) {
        let unit = &x["views"]["hole_unit"];
        assert_eq!(unit["cpu_milli"], 500, "{unit}");
        assert_eq!(unit["mem_mib"], 1024, "{unit}");
    }
    let dir = tempfile::tempdir().unwrap();
    let o = experiment(
        "segregation",
        &fixture(),
        &dir.path().join("e"),
        &["--hole-size", "500,1024"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--hole-size"),
        "{}",
        text(&o.stderr)
    );
}
