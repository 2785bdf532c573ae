//! `borgsim experiment fgd` end to end on a handful of nodes and pods
//! (tests/fixtures/fgd: 3 nodes, 5 GPUs, two pod lists), two seeds, two
//! policies: the table's shape, its means and sds worked out from the
//! per-run summaries of `borgsim run` under each policy, pod list and
//! seed, and the same bytes whatever the thread count; the published
//! figures only on the paper's cell at 130 %.

use super::{borgsim, csv_rows, root, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const POLICIES: [&str; 2] = ["fgd", "gpu_packing"];
const TRACES: [&str; 2] = ["a", "b"];
const SEEDS: [u64; 2] = [1, 2];

fn fixture() -> PathBuf {
    root().join("tests/fixtures/fgd")
}

/// The experiment on the fixture with `threads`; its output directory.
fn experiment(threads: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let scenario = fixture().join("scenario.toml");
    let o = borgsim(
        &root(),
        &[
            "experiment",
            "fgd",
            scenario.to_str().unwrap(),
            "--traces",
            "a,b",
            "--seeds",
            "1..2",
            "--policies",
            "fgd,gpu_packing",
            "--threads",
            threads,
            "--out",
            out.path().to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    out
}

/// summary.json of `borgsim run` on the fixture with pod list `trace`
/// (the scenario copied with its files absolute), `policy` and `seed`.
fn summary(trace: &str, policy: &str, seed: u64) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let text_of = std::fs::read_to_string(fixture().join("scenario.toml")).unwrap();
    let abs = |f: &str| fixture().join(f).to_str().unwrap().to_string();
    let toml = text_of.replace(
        "files = [\"nodes.csv\", \"openb_pod_list_a.csv\"]",
        &format!(
            "files = [{:?}, {:?}]",
            abs("nodes.csv"),
            abs(&format!("openb_pod_list_{trace}.csv"))
        ),
    );
    assert_ne!(toml, text_of, "the fixture names its files as expected");
    let sc = dir.path().join("scenario.toml");
    std::fs::write(&sc, toml).unwrap();
    let out = dir.path().join("out");
    let seed = seed.to_string();
    let o = borgsim(
        &root(),
        &[
            "run",
            sc.to_str().unwrap(),
            "--policy",
            policy,
            "--seed",
            &seed,
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// Mean and sample sd (n − 1) of `xs`, to 2 decimals, as fgd.csv gives
/// them (none where there is nothing; no sd of a single value).
fn by_hand(xs: &[f64]) -> (Option<f64>, Option<f64>) {
    let round2 = borgsim::metrics::gpu_paper::round2;
    if xs.is_empty() {
        return (None, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    let sd = (xs.len() > 1).then(|| round2((ss / (n - 1.0)).sqrt()));
    (Some(round2(mean)), sd)
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn the_table_is_the_mean_and_sd_of_the_runs_summaries() {
    let out = experiment("2");
    let rows = csv_rows(&read(out.path(), "fgd.csv"));
    // Policy, then pod list, then arrived % 0..=130.
    assert_eq!(rows.len(), 2 * 2 * 131);
    let mut i = 0;
    for p in POLICIES {
        for t in TRACES {
            for x in 0..=130 {
                let r = &rows[i];
                assert_eq!((&r["policy"][..], &r["trace"][..]), (p, t));
                assert_eq!(r["demand_pct"], x.to_string());
                // The paper has no published figure for these lists.
                assert_eq!(r["published_gpu_alloc_pct_mean"], "");
                i += 1;
            }
        }
    }
    let mut compared = 0;
    for p in POLICIES {
        for t in TRACES {
            let runs: Vec<_> = SEEDS.iter().map(|&s| summary(t, p, s)).collect();
            for key in [
                "gpu_alloc_pct_paper_at_demand_pct",
                "frag_amount_pct_paper_at_demand_pct",
                "frag_ratio_pct_paper_at_demand_pct",
            ] {
                let column = key.replace("_paper_at_demand_pct", "");
                for x in [50, 70, 80, 90, 100, 110, 120, 130] {
                    let xs: Vec<f64> = (runs.iter())
                        .filter_map(|s| s["gpu_packing"][key][x.to_string()].as_f64())
                        .collect();
                    let row = rows
                        .iter()
                        .find(|r| {
                            r["policy"] == p && r["trace"] == t && r["demand_pct"] == x.to_string()
                        })
                        .unwrap();
                    let (mean, sd) = by_hand(&xs);
                    let cell = |c: &str| row[&format!("{column}_{c}")].parse::<f64>().ok();
                    assert_eq!(
                        (cell("mean"), cell("sd")),
                        (mean, sd),
                        "{p} on {t} at {x} %: {column}"
                    );
                    compared += usize::from(!xs.is_empty());
                }
            }
        }
    }
    // Enough of the grid is filled for the comparison to mean something.
    assert!(compared >= 20, "only {compared} figures compared");
}

#[test]
fn the_outputs_are_the_same_whatever_the_thread_count() {
    let one = experiment("1");
    let two = experiment("2");
    for f in ["fgd.csv", "fgd.json", "report.html"] {
        assert!(
            read(one.path(), f) == read(two.path(), f),
            "{f} differs between 1 and 2 threads"
        );
    }
    let j: serde_json::Value = serde_json::from_slice(&read(one.path(), "fgd.json")).unwrap();
    // 2 policies × 2 pod lists × 2 seeds, policy-major, seeds innermost.
    let order: Vec<(String, String, u64)> = j["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("policy"), s("trace"), r["seed"].as_u64().unwrap())
        })
        .collect();
    let mut want = Vec::new();
    for p in POLICIES {
        for t in TRACES {
            for s in SEEDS {
                want.push((p.to_string(), t.to_string(), s));
            }
        }
    }
    assert_eq!(order, want);
}

#[test]
fn bad_flags_are_refused_naming_them() {
    let scenario = fixture().join("scenario.toml");
    let sc = scenario.to_str().unwrap();
    let cases: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("--seeds", vec!["--seeds", "9..3"]),
        ("--policies", vec!["--policies", "fgd,fgd"]),
        ("--traces", vec!["--traces", "b,b"]),
        ("--trials", vec!["--trials", "3"]),
        // The capacity experiments' flags: nothing is compacted here.
        ("--search", vec!["--search", "linear"]),
        ("--grow", vec!["--grow"]),
        ("--verify-above", vec!["--verify-above", "2"]),
        ("--picky-share", vec!["--picky-share", "0.1"]),
        ("--relax-large-jobs", vec!["--relax-large-jobs", "off"]),
        ("--relax-above-share", vec!["--relax-above-share", "0.3"]),
        ("--prod-wait-p90-s", vec!["--prod-wait-p90-s", "5"]),
        ("--nonprod-wait-p90-s", vec!["--nonprod-wait-p90-s", "5"]),
        ("--oom-kill-share", vec!["--oom-kill-share", "0.1"]),
        // The run-size guards apply to each replay as it runs: the
        // fixture's replays each process more than 5 events and try to
        // place more than 1 task.
        ("--max-events", vec!["--max-events", "5"]),
        ("--max-attempts", vec!["--max-attempts", "1"]),
    ]);
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    for (flag, extra) in cases {
        let mut args = vec!["experiment", "fgd", sc, "--quiet", "--traces", "a"];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(extra);
        let o = borgsim(&root(), &args);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(flag),
            "{flag}: {}",
            text(&o.stderr)
        );
    }
    // A capacity experiment refuses fgd's flags.
    let o = borgsim(
        &root(),
        &[
            "experiment",
            "policies",
            "tests/fixtures/experiment/cell.toml",
            "--seeds",
            "1..2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--seeds"), "{}", text(&o.stderr));
}

/// `experiment fgd SCENARIO --traces LIST --seeds 1 --policies fgd` into
/// `out`; the terminal's text.
fn one_run(scenario: &Path, list: &Path, out: &Path) -> String {
    let o = borgsim(
        &root(),
        &[
            "experiment",
            "fgd",
            scenario.to_str().unwrap(),
            "--traces",
            list.to_str().unwrap(),
            "--seeds",
            "1",
            "--policies",
            "fgd",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// The published columns of fgd.csv in `out`, per arrived %.
fn published_columns(out: &Path) -> Vec<(String, String, String)> {
    csv_rows(&read(out, "fgd.csv"))
        .iter()
        .map(|r| {
            let c = |k: &str| r[k].clone();
            (
                c("demand_pct"),
                c("published_gpu_alloc_pct_mean"),
                c("published_gpu_alloc_pct_sd"),
            )
        })
        .collect()
}

/// The fixture's list a saved under the name of one of the paper's
/// unshipped lists (gpushare40: FGD 93.96 ± 0.07 at 100 %, 94.15 at 130 %).
fn list_named_gpushare40(dir: &Path) -> PathBuf {
    let list = dir.join("openb_pod_list_gpushare40.csv");
    std::fs::copy(fixture().join("openb_pod_list_a.csv"), &list).unwrap();
    list
}

#[test]
fn a_list_named_as_the_papers_on_the_papers_cell_is_shown_beside_its_published_figures() {
    // scenarios/openb.toml: the 1,213-node GPU list, 130 %. The list is
    // matched by its file stem after `openb_pod_list_`.
    let dir = tempfile::tempdir().unwrap();
    let list = list_named_gpushare40(dir.path());
    let out = dir.path().join("out");
    let said = one_run(&root().join("scenarios/openb.toml"), &list, &out);
    let cols = published_columns(&out);
    assert_eq!(cols.len(), 131);
    for (x, mean, sd) in cols {
        let want = match &x[..] {
            "100" => ("93.96", "0.07"),
            "130" => ("94.15", ""),
            _ => ("", ""),
        };
        assert_eq!((&mean[..], &sd[..]), want, "at {x} %");
    }
    assert!(said.contains("(93.96)"), "{said}");
    let j: serde_json::Value = serde_json::from_slice(&read(&out, "fgd.json")).unwrap();
    assert_eq!(j["published_withheld"], serde_json::Value::Null);
}

#[test]
fn published_figures_are_left_out_on_a_cell_that_is_not_the_papers_saying_why() {
    // The same list on the fixture's 3-node cell: matched by name, but the
    // cell is not the paper's, so nothing is shown beside it.
    let dir = tempfile::tempdir().unwrap();
    let list = list_named_gpushare40(dir.path());
    let out = dir.path().join("out");
    let said = one_run(&fixture().join("scenario.toml"), &list, &out);
    for (x, mean, sd) in published_columns(&out) {
        assert_eq!((&mean[..], &sd[..]), ("", ""), "at {x} %");
    }
    let j: serde_json::Value = serde_json::from_slice(&read(&out, "fgd.json")).unwrap();
    let why = j["published_withheld"].as_str().unwrap();
    assert!(why.contains("3 machines, 5 GPUs"), "{why}");
    // Said once on the terminal and on the page, no published figure.
    assert_eq!(said.matches("3 machines, 5 GPUs").count(), 1, "{said}");
    assert!(!said.contains("(93.96)"), "{said}");
    let page = String::from_utf8(read(&out, "report.html")).unwrap();
    assert!(page.contains("left out: the cell is not the paper"));
    assert_eq!(page.matches("3 machines, 5 GPUs").count(), 1, "said once");
    assert!(!page.contains("93.96"), "a published figure on the page");
}

#[test]
fn published_figures_are_left_out_when_demand_is_not_inflated_to_130_pct() {
    // The paper's cell at 100 %: another protocol.
    let dir = tempfile::tempdir().unwrap();
    let openb = root().join("scenarios/openb.toml");
    let toml = std::fs::read_to_string(&openb).unwrap();
    let edited = toml
        .replace("\"../traces", &format!("\"{}/traces", root().display()))
        .replace(
            "inflate_gpu_demand_pct = 130",
            "inflate_gpu_demand_pct = 100",
        );
    assert_eq!(edited.matches(&root().display().to_string()).count(), 2);
    let scenario = dir.path().join("openb100.toml");
    std::fs::write(&scenario, edited).unwrap();
    let list = list_named_gpushare40(dir.path());
    let out = dir.path().join("out");
    let said = one_run(&scenario, &list, &out);
    assert!(said.contains("inflated to 100 %"), "{said}");
    for (x, mean, _) in published_columns(&out) {
        assert_eq!(mean, "", "at {x} %");
    }
}

#[test]
fn a_traces_path_must_be_a_pod_list_file() {
    // A node list (header `sn`, no `name`) and a directory: both named,
    // and said what they are.
    let nodes = fixture().join("nodes.csv");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fgd.csv"), "policy,trace\n").unwrap();
    let scenario = fixture().join("scenario.toml");
    for (given, says) in [
        (nodes.to_str().unwrap(), "is an openb node list"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        let out = dir.path().join("out");
        let o = borgsim(
            &root(),
            &[
                "experiment",
                "fgd",
                scenario.to_str().unwrap(),
                "--traces",
                given,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{given}: {err}");
        assert!(err.contains(&format!("{given} {says}")), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn the_help_and_the_flag_errors_speak_of_fgd_too() {
    let o = borgsim(&root(), &["experiment", "--help"]);
    let help = text(&o.stdout);
    for says in [
        "fgd.json, fgd.csv",
        "fgd: the policies replayed [default: the paper's six",
        "(experiment fgd: the runs)",
        "the compaction flags",
    ] {
        assert!(help.contains(says), "no {says:?} in {help}");
    }
    let scenario = fixture().join("scenario.toml");
    let sc = scenario.to_str().unwrap();
    for (flag, value, says) in [
        ("--seeds", "42..", "LAST is missing"),
        ("--threads", "0", "at least 1 thread"),
    ] {
        let o = borgsim(&root(), &["experiment", "fgd", sc, flag, value]);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    }
}
