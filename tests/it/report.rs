//! The run report, `report.html`: written by every run of every built-in
//! scenario (the slow churn-10k and churn-100k aside), with every section
//! and plot, the headline numbers equal to summary.json's, no URL to fetch,
//! titles naming the run, units on the axes — and the same bytes twice.

use super::{borgsim, text};
use borgsim::report::headline::{When, METRICS};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Runs `borgsim run <args> --out <dir>/<out> --quiet` in `dir`.
fn run(dir: &Path, out: &str, args: &[&str]) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out, "--quiet"]);
    let o = borgsim(dir, &all);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
}

/// The values of every attribute `name` in `html`, unescaped.
pub(crate) fn attributes(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// (data-key, data-value) of every cell that carries a summary value, in
/// page order.
pub(crate) fn data_cells(html: &str) -> Vec<(String, String)> {
    attributes(html, "data-key")
        .into_iter()
        .zip(attributes(html, "data-value"))
        .collect()
}

/// summary.json's value at a dotted key, as the page writes it in
/// `data-value`: numbers and switches as JSON, strings bare, null empty.
pub(crate) fn summary_value(summary: &serde_json::Value, key: &str) -> Option<String> {
    let v = key.split('.').try_fold(summary, |v, k| v.get(k))?;
    Some(match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    })
}

/// No address to fetch: every `href` and `src` is an anchor or a file of
/// the directory, and no `http` appears anywhere.
pub(crate) fn assert_self_contained(html: &str, what: &str) {
    for name in ["href", "src"] {
        for v in attributes(html, name) {
            assert!(
                !v.contains(':') && !v.starts_with("//") && !v.contains('/'),
                "{what}: {name}=\"{v}\" leaves the page's directory"
            );
        }
    }
    assert!(!html.contains("http"), "{what}: an address in the page");
    assert!(!html.contains("<script"), "{what}: a script");
    assert!(!html.contains("<link"), "{what}: a linked resource");
}

/// The HTML of the figure `fig-<id>`.
pub(crate) fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<figure class=\"plot\" id=\"fig-{id}\""))
        .unwrap_or_else(|| panic!("no figure fig-{id}"));
    let end = start + html[start..].find("</figure>").unwrap();
    &html[start..end]
}

/// The page's Files section links every file of the run's directory (the
/// page aside), and nothing else.
pub(crate) fn assert_files_listed(dir: &Path) {
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    let files = &html[html
        .find("<section id=\"files\">")
        .expect("a Files section")..];
    let files = &files[..files.find("</section>").unwrap()];
    let mut linked = attributes(files, "href");
    linked.sort();
    let mut written: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "report.html")
        .collect();
    written.sort();
    assert_eq!(
        linked,
        written,
        "{}: the Files section and the directory differ",
        dir.display()
    );
}

/// What every run's page must have, whatever the scenario.
fn check_page(dir: &Path, gpu: bool) {
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let name = summary["scenario"].as_str().unwrap();
    let what = format!("{name}'s report.html");
    assert_self_contained(&html, &what);
    let mut sections = vec![
        "scenario",
        "headline",
        "bands",
        "allocation",
        "classes",
        "pending",
        "waits",
        "evictions",
        "failures",
        "files",
    ];
    if gpu {
        sections.push("gpu");
    }
    // Usage and reclamation: exactly when the run kept usage books.
    let reclaiming = summary.get("reclamation").is_some();
    assert_eq!(
        html.contains("<section id=\"reclamation\">"),
        reclaiming,
        "{what}: the reclamation section"
    );
    if reclaiming {
        sections.push("reclamation");
        for key in [
            "reclamation.reclaimed_share.cpu",
            "reclamation.oom_kills_per_task_week",
        ] {
            let cell = format!("data-key=\"{key}\"");
            assert!(html.contains(&cell), "{what}: no {key}");
        }
    }
    for id in &sections {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "{what}: no section {id}"
        );
        assert!(
            html.contains(&format!("href=\"#{id}\"")),
            "{what}: {id} not in the contents"
        );
    }
    check_headline(&html, &summary, &what);
    check_faults(dir, &html, &summary, &what);
    check_figures(&html, &summary, gpu, &what);
    check_nothing_drawn_empty(dir, &html, &summary, &what);
    assert_files_listed(dir);
    // The per-band table has a GPU column in a cell with GPUs, only there.
    for band in ["best_effort", "batch", "production", "monitoring"] {
        let key = format!("data-key=\"by_band.{band}.gpu_utilization\"");
        assert_eq!(html.contains(&key), gpu, "{what}: {key}");
    }
}

/// The faults' tables are there exactly when the run injected faults
/// (their cells are summary.json's: `check_headline`), and the slowest
/// recovery and the largest prod-job loss are failures.csv's.
fn check_faults(dir: &Path, html: &str, summary: &serde_json::Value, what: &str) {
    let Some(faults) = summary.get("faults") else {
        assert!(!html.contains("faults-by-kind"), "{what}: faults shown");
        assert!(!dir.join("failures.csv").exists(), "{what}");
        return;
    };
    for id in ["faults-by-kind", "faults-queue"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{what}: no {id}");
    }
    let rows = super::csv_rows(&fs::read(dir.join("failures.csv")).unwrap());
    assert_eq!(faults["faults"].as_u64(), Some(rows.len() as u64), "{what}");
    let n = |r: &BTreeMap<String, String>, k: &str| r[k].parse::<u64>().unwrap_or(u64::MAX);
    // The first row of each list: its figure as the page shows it.
    let first_row = |id: &str| {
        let at = html.find(&format!("id=\"{id}\"")).unwrap();
        let body = &html[at..];
        let body = &body[body.find("<tbody>").unwrap()..];
        body[..body.find("</tr>").unwrap()].to_string()
    };
    let evicting: Vec<_> = rows.iter().filter(|r| r["tasks_evicted"] != "0").collect();
    if let Some(slowest) = evicting.iter().map(|r| n(r, "recover_us")).max() {
        let shown = if slowest == u64::MAX {
            "not by the end".to_string()
        } else {
            format!(
                "{} s",
                borgsim::report::html::decimal(slowest as f64 / 1e6, 3)
            )
        };
        assert!(
            first_row("faults-slowest").contains(&shown),
            "{what}: {shown}"
        );
    }
    let worst = rows
        .iter()
        .map(|r| n(r, "max_prod_job_tasks"))
        .max()
        .unwrap_or(0);
    if worst > 0 {
        let row = first_row("faults-largest");
        assert!(
            row.contains(&format!(">{worst}</td>")),
            "{what}: {worst} in {row}"
        );
    }
}

/// Every headline figure is in the page, and every value the page takes
/// from summary.json is the file's.
fn check_headline(html: &str, summary: &serde_json::Value, what: &str) {
    let cells: BTreeMap<String, String> = data_cells(html).into_iter().collect();
    assert!(cells.len() > 40, "{what}: {} summary cells", cells.len());
    for (key, value) in &cells {
        assert_eq!(
            Some(value.clone()),
            summary_value(summary, key),
            "{what}: {key} differs from summary.json"
        );
    }
    for m in METRICS.iter().filter(|m| m.when == When::Always) {
        assert!(
            cells.contains_key(m.key),
            "{what}: headline {} missing",
            m.key
        );
    }
}

/// What placed the run's tasks, as titles name it: the policy, or, for a
/// replay that followed the trace's own placements, "trace placements".
pub(crate) fn placed_by(summary: &serde_json::Value) -> &str {
    if summary["trace"]["mode"] == "trace_placement" {
        "trace placements"
    } else {
        summary["policy"].as_str().unwrap()
    }
}

/// The figures of every page, with texts each must have (its axes'
/// units); the usage plot too when the run kept usage books.
fn expected_figures(summary: &serde_json::Value) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut figures = vec![
        (
            "allocation",
            vec![
                "CPU allocated (% of cell)",
                "memory allocated (% of cell)",
                "simulated time (",
            ],
        ),
        (
            "classes",
            vec!["CPU allocated (% of the class)", "simulated time ("],
        ),
        ("pending", vec!["pending tasks", "simulated time ("]),
        (
            "waits",
            vec![
                "wait (simulated time",
                "share of tasks that entered the cell",
                "never started",
            ],
        ),
        ("evictions", vec!["evictions so far", "simulated time ("]),
        (
            "failures-rates",
            vec!["evictions per task-week", "machine shutdown"],
        ),
        (
            "failures-over-time",
            vec!["evictions so far", "simulated time ("],
        ),
        (
            "availability-cdf",
            vec![
                "availability (% of the measured interval)",
                "measured prod jobs at or below (share)",
            ],
        ),
    ];
    if summary.get("reclamation").is_some() {
        figures.push((
            "usage",
            vec![
                "CPU (% of full cell capacity)",
                "memory (% of full cell capacity)",
                "simulated time (",
            ],
        ));
    }
    figures
}

/// Each plot is drawn (inline SVG), names the run in its title, and has
/// units on its axes.
fn check_figures(html: &str, summary: &serde_json::Value, gpu: bool, what: &str) {
    let run = format!(
        "— {}, {}, seed {}",
        summary["scenario"].as_str().unwrap(),
        placed_by(summary),
        summary["seed"]
    );
    let mut figures = expected_figures(summary);
    // A plot with nothing to show is a line instead (see
    // check_nothing_drawn_empty and check_failures_lines).
    figures.retain(|(id, _)| shown(html, id));
    if gpu {
        figures[0].1.push("GPU allocated (% of cell)");
        figures.push((
            "gpu-packing",
            vec![
                "GPU demand arrived (% of GPU capacity)",
                "GPU allocated (% of GPU capacity)",
            ],
        ));
    }
    for (id, texts) in figures {
        let fig = figure(html, id);
        assert!(fig.contains("<svg"), "{what}: fig-{id} is not drawn");
        let caption = &fig[fig.find("<figcaption><strong>").unwrap()..];
        let title = &caption[20..caption.find("</strong>").unwrap()];
        assert!(
            title.ends_with(&run),
            "{what}: fig-{id}'s title {title:?} does not name the run"
        );
        for t in texts {
            assert!(fig.contains(t), "{what}: fig-{id} has no {t:?}");
        }
    }
}

/// True unless the page shows a line in place of the plot `fig-<id>`, or
/// leaves it out: the failures section shows none of its plots when
/// nothing was evicted and no prod job ran, and no availability CDF
/// without a prod job.
fn shown(html: &str, id: &str) -> bool {
    let quiet = html.contains("Nothing was evicted and no prod job ran");
    let no_prod = html.contains("No prod job ran: no availability to measure.");
    !(html.contains(&empty_plot(id))
        || quiet && id.starts_with("failures")
        || (quiet || no_prod) && id == "availability-cdf")
}

/// The line a page shows in place of the plot `fig-<id>`.
fn empty_plot(id: &str) -> String {
    format!("<p class=\"empty-plot\" id=\"fig-{id}\">")
}

/// The sum of `columns` of timeseries.csv over every row.
fn series_total(dir: &Path, columns: &[&str]) -> f64 {
    let mut r = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let at: Vec<usize> = columns
        .iter()
        .map(|c| r.headers().unwrap().iter().position(|h| h == *c).unwrap())
        .collect();
    r.records()
        .map(|row| {
            let row = row.unwrap();
            at.iter()
                .map(|&i| row[i].parse::<f64>().unwrap())
                .sum::<f64>()
        })
        .sum()
}

/// The plot `fig-<id>` is the line `line` exactly when `empty`.
fn check_line(html: &str, id: &str, empty: bool, line: &str, what: &str) {
    assert_eq!(html.contains(&empty_plot(id)), empty, "{what}: fig-{id}");
    if empty {
        let at = html.find(&empty_plot(id)).unwrap();
        assert!(html[at..].contains(line), "{what}: fig-{id} says {line:?}");
    }
}

/// The failures section: one line when nothing was evicted and no prod
/// job ran; otherwise each of its plots with nothing to show a line.
fn check_failures_lines(html: &str, summary: &serde_json::Value, what: &str) {
    let evictions = summary["tasks"]["evicted"].as_u64().unwrap();
    let prod_jobs = summary["availability"]["prod_jobs"].as_u64().unwrap();
    let quiet = evictions == 0 && prod_jobs == 0;
    assert_eq!(
        html.contains("Nothing was evicted and no prod job ran: no failure to measure."),
        quiet,
        "{what}: the failures section's line"
    );
    let measured = summary["availability"]["jobs_measured"].as_u64().unwrap();
    let none = evictions == 0 && !quiet;
    for (id, empty, line) in [
        (
            "failures-rates",
            none,
            "No task was evicted: every rate is 0.",
        ),
        ("failures-over-time", none, "No task was evicted."),
        (
            "availability-cdf",
            measured == 0 && prod_jobs > 0,
            "No prod job had all its tasks running",
        ),
    ] {
        check_line(html, id, empty, line, what);
    }
}

/// A plot of zeros is a line saying so instead, and only then; a wait
/// plot of one value (all 0) says so on a linear axis; and no legend
/// names a group with nothing in it.
fn check_nothing_drawn_empty(dir: &Path, html: &str, summary: &serde_json::Value, what: &str) {
    let bands = ["best_effort", "batch", "production", "monitoring"];
    let pending: Vec<String> = bands.iter().map(|b| format!("pending_{b}")).collect();
    let mut pending: Vec<&str> = pending.iter().map(String::as_str).collect();
    pending.push("held");
    let evictions = summary["tasks"]["evicted"].as_u64().unwrap();
    for (id, empty, line) in [
        ("pending", series_total(dir, &pending) == 0.0, "No task was"),
        ("evictions", evictions == 0, "No task was evicted."),
    ] {
        check_line(html, id, empty, line, what);
    }
    check_failures_lines(html, summary, what);
    let waits = figure(html, "waits");
    let w = &summary["wait_us"];
    for group in ["prod", "nonprod"] {
        let tasks =
            w[group]["count"].as_u64().unwrap() + w[group]["never_started"].as_u64().unwrap();
        let entry = format!(">\n{}: ", if group == "prod" { "prod" } else { "non-prod" });
        assert_eq!(
            waits.contains(&entry),
            tasks > 0,
            "{what}: legend {entry:?}"
        );
    }
    let censored = w["prod"]["never_started"].as_u64().unwrap()
        + w["nonprod"]["never_started"].as_u64().unwrap();
    assert_eq!(
        waits.contains("(censored)"),
        censored > 0,
        "{what}: the censoring entry"
    );
    // Every wait 0: those that started, and those censored at the end of
    // a run of no length.
    let all_zero = ["prod", "nonprod"]
        .iter()
        .all(|g| w[*g]["max"].as_u64().unwrap_or(0) == 0)
        && (censored == 0 || summary["duration_s"] == 0.0);
    let axis = "wait (simulated time) — every task";
    assert_eq!(waits.contains(axis), all_zero, "{what}: the wait axis");
    if all_zero {
        let label = &waits[waits.find(axis).unwrap()..];
        let label = &label[..label.find("</text>").unwrap()];
        assert!(
            label.contains(" at once: all ") && label.contains(" waits were 0 s"),
            "{label}"
        );
    }
    assert_eq!(
        waits.contains("wait (simulated time, log scale;"),
        !all_zero,
        "{what}: the wait axis"
    );
}

#[test]
fn every_builtin_scenario_writes_a_whole_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Every built-in but the slow churns (minutes in a debug build), so a
    // scenario shipped later is covered without a word here.
    let slow = ["churn-10k", "churn-10k-faults", "churn-100k"];
    for (scenario, _) in borgsim::scenario::BUILTIN
        .iter()
        .filter(|(n, _)| !slow.contains(n))
    {
        let sc = borgsim::scenario::Scenario::builtin(scenario)
            .unwrap()
            .unwrap();
        let gpu = borgsim::whole_cell(&sc).unwrap().total_capacity().gpus > 0;
        run(d, scenario, &[scenario]);
        check_page(&d.join(scenario), gpu);
        for png in ["utilization.png", "pending.png", "wait_cdf.png"] {
            assert!(d.join(scenario).join(png).exists(), "{scenario}: no {png}");
        }
    }
}

#[test]
fn a_replay_of_the_traces_placements_names_no_policy() {
    // The trace placed every task: its scenario's policy (best_fit)
    // decided nothing, so no title, lede or parameter names it as if it had.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixtures = super::root().join("tests/fixtures/scenarios");
    for (out, mode) in [("placement", "placement"), ("reschedule", "reschedule")] {
        let scenario = fixtures.join(format!("google2011-{mode}.toml"));
        run(d, out, &[scenario.to_str().unwrap()]);
        check_page(&d.join(out), false);
    }
    let html = fs::read_to_string(d.join("placement/report.html")).unwrap();
    let titles: Vec<&str> = html
        .match_indices("<figcaption><strong>")
        .map(|(at, _)| &html[at + 20..at + html[at..].find("</strong>").unwrap()])
        .collect();
    assert!(titles.len() >= 5, "{titles:?}");
    for t in &titles {
        assert!(
            t.ends_with("— google2011-placement, trace placements, seed 1"),
            "{t}"
        );
    }
    // In the pictures too, and nowhere else as a policy.
    assert!(!html.contains("best_fit, seed"), "a title names the policy");
    let lede = &html[html.find("<div class=\"lede\">").unwrap()..];
    let lede = &lede[..lede.find("</div>").unwrap()];
    assert!(lede.contains("trace placements"), "{lede}");
    assert!(!lede.contains("policy"), "{lede}");
    let params = &html[html.find("<table class=\"params\">").unwrap()..];
    let params = &params[..params.find("</table>").unwrap()];
    assert!(!params.contains(">policy<"), "{params}");
    assert!(params.contains(">placements<"), "{params}");
    // A replay borgsim scheduled still names its policy.
    let html = fs::read_to_string(d.join("reschedule/report.html")).unwrap();
    assert!(html.contains("— google2011-reschedule, best_fit, seed 1"));
    assert!(html.contains(">policy<"));
}

/// Batch work only, every task placed in the first pass and running to
/// the end: no prod task, no wait, nothing pending, no eviction.
pub(crate) const IDLE_QUEUE: &str = "name = \"idle-queue\"\nseed = 1\nduration_s = 60\n\
    [cell]\nmachines_per_rack = 2\nracks_per_power_domain = 1\n\
    [[cell.machines]]\ncount = 2\ncpu_milli = 16000\nmem_mib = 65536\n\
    [scheduler]\npolicy = \"best_fit\"\n\
    [[workload.jobs]]\nname = \"batch\"\nband = \"batch\"\ninitial_jobs = 2\n\
    tasks = { constant = 3 }\ncpu_milli = { constant = 1000 }\nmem_mib = { constant = 1024 }\n";

#[test]
fn a_plot_with_nothing_to_show_is_a_line_and_an_empty_group_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("idle.toml"), IDLE_QUEUE).unwrap();
    run(d, "o", &["idle.toml"]);
    check_page(&d.join("o"), false);
    let html = fs::read_to_string(d.join("o/report.html")).unwrap();
    for (id, line) in [
        (
            "pending",
            "No task was ever pending: none waited for a machine.",
        ),
        ("evictions", "No task was evicted."),
    ] {
        assert!(
            html.contains(&format!("{}{line}</p>", empty_plot(id))),
            "fig-{id}: {line}"
        );
        assert!(!html.contains(&format!("id=\"fig-{id}\"><svg")));
    }
    // Batch work only, never evicted: the failures section is one line.
    let failures = &html[html.find("<section id=\"failures\">").unwrap()..];
    let failures = &failures[..failures.find("</section>").unwrap()];
    assert!(
        failures.contains("Nothing was evicted and no prod job ran") && !failures.contains("<svg"),
        "{failures}"
    );
    // Six batch tasks, all started at once: one curve, on a linear axis
    // that says why; no prod entry, no censoring entry.
    let waits = figure(&html, "waits");
    assert!(waits.contains("every task started at once: all 6 waits were 0 s"));
    assert!(waits.contains(">\nnon-prod: 6 started, 0 never started\n<"));
    assert!(
        !waits.contains(">\nprod: "),
        "a legend entry for no prod work"
    );
    assert!(!waits.contains("(censored)"));
    assert!(waits.contains("No prod task entered the cell"));
    // Allocation: batch alone in the legend.
    let alloc = figure(&html, "allocation");
    assert!(alloc.contains(">\nbatch\n<"));
    for band in ["monitoring", "production", "best_effort"] {
        assert!(
            !alloc.contains(&format!(">\n{band}\n<")),
            "{band} in the legend"
        );
    }
}

#[test]
fn the_files_section_lists_every_file_snapshots_included() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snapshots = [
        "quickstart",
        "--snapshot-at",
        "600",
        "--snapshot-at",
        "1.5m",
    ];
    run(d, "plots", &snapshots);
    run(d, "no-plots", &[&snapshots[..], &["--no-plots"]].concat());
    for out in ["plots", "no-plots"] {
        assert_files_listed(&d.join(out));
    }
    // Snapshots in time order (90 s before 600 s, unlike their names).
    let html = fs::read_to_string(d.join("plots/report.html")).unwrap();
    let at = |name: &str| html.find(&format!("href=\"{name}\"")).unwrap();
    assert!(at("snapshot-90.csv") < at("snapshot-600.csv"));
    assert!(at("summary.json") < at("snapshot-90.csv"));
}

#[test]
fn the_page_is_the_same_bytes_for_the_same_scenario_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, "a", &["fragmentation"]);
    run(d, "b", &["fragmentation"]);
    for f in [
        "report.html",
        "utilization.png",
        "pending.png",
        "wait_cdf.png",
    ] {
        let (a, b) = (
            fs::read(d.join("a").join(f)).unwrap(),
            fs::read(d.join("b").join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between two runs of the same seed");
    }
    // Another seed is another page.
    run(d, "c", &["fragmentation", "--seed", "8"]);
    let (a, c) = (
        fs::read(d.join("a/report.html")).unwrap(),
        fs::read(d.join("c/report.html")).unwrap(),
    );
    assert!(a != c);
}

#[test]
fn without_plots_the_page_keeps_its_tables_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, "o", &["quickstart", "--no-plots"]);
    let html = fs::read_to_string(d.join("o/report.html")).unwrap();
    assert!(!html.contains("<svg"));
    // A build without the plots feature says so instead.
    let why = if cfg!(feature = "plots") {
        "Plots were not drawn: the run was given --no-plots."
    } else {
        "Plots were not built: this borgsim was compiled without the `plots` feature."
    };
    assert!(html.contains(why));
    for table in [
        "headline-table",
        "by-band",
        "waits-by-band",
        "class-table",
        "pending-status",
        "pending-reason",
        "evictions-by-cause",
    ] {
        assert!(
            html.contains(&format!("id=\"{table}\"")),
            "no table {table}"
        );
    }
    // The figures are still named, so the page says what is missing.
    assert!(figure(&html, "waits").contains(
        "Wait from entering the cell to first start (CDF) — quickstart, hybrid, seed 42"
    ));
    let pngs = fs::read_dir(d.join("o")).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "png")
    });
    assert_eq!(pngs.count(), 0, "--no-plots writes no PNG");
}

#[test]
fn pending_tasks_and_censored_waits_are_counted_as_pending_csv_has_them() {
    // The quickstart leaves batch and best-effort tasks pending, and one
    // task no machine can host (too-big: 64000 cpu_milli).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, "o", &["quickstart", "--no-plots"]);
    let html = fs::read_to_string(d.join("o/report.html")).unwrap();
    let mut r = csv::Reader::from_path(d.join("o/pending.csv")).unwrap();
    // Columns by name, never by position.
    let col = |r: &mut csv::Reader<fs::File>, name: &str| {
        r.headers().unwrap().iter().position(|h| h == name).unwrap()
    };
    let (status_col, evictions_col, band_col) = (
        col(&mut r, "status"),
        col(&mut r, "evictions"),
        col(&mut r, "band"),
    );
    let statuses: Vec<String> = r
        .records()
        .map(|row| row.unwrap()[status_col].to_string())
        .collect();
    let row_total = |table: &str, name: &str| -> u64 {
        let t = &html[html.find(&format!("id=\"{table}\"")).unwrap()..];
        let t = &t[..t.find("</table>").unwrap()];
        let row = &t[t.find(&format!("<code>{name}</code>")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        let last = row.rfind("<td class=\"num\">").unwrap();
        row[last + 16..row[last..].find("</td>").unwrap() + last]
            .replace(',', "")
            .parse()
            .unwrap()
    };
    for status in ["unschedulable", "never_schedulable"] {
        let n = statuses.iter().filter(|s| *s == status).count() as u64;
        assert_eq!(row_total("pending-status", status), n, "{status}");
    }
    // The oversized task's main reason is CPU: every machine is too small.
    assert!(row_total("pending-reason", "insufficient_cpu") >= 1);
    // The censored waits: a pending task never evicted never started (a
    // task returns to pending only by eviction), so summary.json's
    // never_started is pending.csv's rows of no eviction, by band.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("o/summary.json")).unwrap()).unwrap();
    let mut r = csv::Reader::from_path(d.join("o/pending.csv")).unwrap();
    let mut never: BTreeMap<String, u64> = BTreeMap::new();
    for row in r.records() {
        let row = row.unwrap();
        if &row[evictions_col] == "0" && &row[status_col] != "held" {
            *never.entry(row[band_col].to_string()).or_default() += 1;
        }
    }
    assert!(never["batch"] > 0);
    for band in ["best_effort", "batch", "production", "monitoring"] {
        let want = never.get(band).copied().unwrap_or(0);
        let got = summary["by_band"][band]["wait_us"]["never_started"].as_u64();
        assert_eq!(got, Some(want), "{band}");
    }
}
