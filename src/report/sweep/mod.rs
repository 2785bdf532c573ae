//! A sweep's page, `report.html` in the sweep's directory: what was swept
//! (the base scenario, each parameter and its values, the seeds), the
//! headline figures plotted against each parameter ([`plots`]), their
//! means over the seeds at every point of the grid, and every run with its
//! figures (or its error) and a link to its own page.
//!
//! Like runs.csv it is made from the runs' directories in index order, so
//! it is the same whatever the thread count, and a merged sweep's page is
//! the unsharded one's, byte for byte.

pub mod plots;

use super::html::{self, value_cell, Unit};
use super::{Page, Plots, Section};
use crate::error::Result;
use crate::report::headline::METRICS;
use crate::sweep::spec::value_text;
use crate::sweep::stats::{group_by, stat_of, Stat};
use crate::sweep::table::one_line;
use crate::sweep::{Command, Outcome, Outputs, Run, Shard, Sweep};
use maud::{html, Markup};
use plots::{Kind, Plotted};
use std::path::Path;

/// The figures of the runs table, by summary.json key.
const RUN_FIGURES: [&str; 5] = [
    "utilization.cpu.total",
    "tasks.pending_at_end",
    "wait_us.prod.p99",
    "wait_us.nonprod.p99",
    "evictions.preemption",
];

/// The page of `shard` of `sweep`, whose runs are `rows` (in index order).
/// `path` names the page in a rendering error.
///
/// # Errors
/// [`crate::error::Error::Plot`] when a plot cannot be drawn.
pub fn page(
    sweep: &Sweep,
    rows: &[(&Run, &Outcome)],
    shard: Shard,
    plots: Plots,
    path: &Path,
) -> Result<Page> {
    let spec = &sweep.spec;
    let failed = rows
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .count();
    let sections = vec![
        Section {
            id: "sweep",
            title: "The sweep".into(),
            body: about(sweep, shard),
        },
        Section {
            id: "plots",
            title: "Figures by parameter".into(),
            body: figures(sweep, rows, plots, path)?,
        },
        Section {
            id: "means",
            title: "Means over seeds".into(),
            body: means(sweep, rows),
        },
        Section {
            id: "runs",
            title: "Runs".into(),
            body: runs(sweep, rows),
        },
        Section {
            id: "files",
            title: "Files".into(),
            body: files(plots),
        },
    ];
    let shard_note = if shard.is_all() {
        String::new()
    } else {
        format!(
            " This directory is shard {shard}: {} of the {} runs.",
            rows.len(),
            sweep.runs.len()
        )
    };
    Ok(Page {
        title: format!("borgsim sweep: {}", spec.name),
        lede: html! {
            (spec.base) " × " (plural(spec.parameters.len(), "parameter")) " × " (plural(spec.seeds.len(), "seed")) ": "
            (sweep.runs.len()) " runs; " (rows.len() - failed) " done, " (failed) " failed." (shard_note)
            @if !spec.description.is_empty() { br; (spec.description) }
        },
        sections,
        footer: html! {
            p { "Written by borgsim " (env!("CARGO_PKG_VERSION")) " from the runs' " (spec.command.result_file()) ", in run order: "
                "the same sweep gives this page byte for byte, whatever the threads or shards that ran it." }
        },
    })
}

fn about(sweep: &Sweep, shard: Shard) -> Markup {
    let spec = &sweep.spec;
    html! {
        table id="sweep-table" {
            tbody {
                tr { th scope="row" { "base scenario" } td { code { (spec.base) } } }
                @if spec.command != Command::Run {
                    tr { th scope="row" { "command" } td { code { (command_text(&spec.command)) } " — each run is " code { "borgsim " (spec.command.name()) } " of its scenario, its settings the scenario's " code { "[compaction]" } } }
                }
                @for p in &spec.parameters {
                    tr {
                        th scope="row" { code { (p.key.to_string()) } }
                        td { @for (j, v) in p.values.iter().enumerate() {
                            @if j > 0 { ", " } code { (value_text(v)) }
                        } }
                    }
                }
                tr { th scope="row" { "seeds" } td { (spec.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) } }
                tr { th scope="row" { "runs" } td { (sweep.runs.len()) " (each parameter's values, the first parameter outermost, × the seeds innermost)" } }
                tr { th scope="row" { "outputs each run keeps" } td { code { (spec.outputs.name()) } } }
                @if !shard.is_all() { tr { th scope="row" { "shard" } td { (shard.to_string()) " (runs whose index is " (shard.index) " modulo " (shard.count) ")" } } }
            }
        }
    }
}

fn figures(sweep: &Sweep, rows: &[(&Run, &Outcome)], plots: Plots, path: &Path) -> Result<Markup> {
    let charts = plots::charts(sweep, rows);
    let notes = html! {
        "Each point is a figure's mean over the seeds of the runs with those values (failed runs left out); "
        "a bar spans ± one sample standard deviation (clipped at 0). One series per combination of the other parameters' values; "
        "on a categorical axis the series are set slightly apart so that their bars do not overlap. "
        a href="runs.csv" { "runs.csv" } " has every run's figures."
    };
    let figures = charts
        .iter()
        .map(|(id, c)| plots.figure_as(id, c, notes.clone(), path))
        .collect::<Result<Vec<_>>>()?;
    Ok(html! {
        @if figures.is_empty() {
            p.note { "Nothing to plot: no parameter takes two values, and there is one seed." }
        }
        @for f in &figures { (f) }
    })
}

/// `46.31 % ± 0.52` and the like: a mean (and its spread) in the plot's unit.
fn show_stat(f: &Plotted, st: Option<Stat>) -> String {
    let Some(st) = st else { return "—".into() };
    let (decimals, unit) = match f.kind {
        Kind::Percent | Kind::PercentPoints | Kind::Permille => (2, " %"),
        Kind::Count => (1, ""),
        Kind::Seconds => (3, " s"),
    };
    let d = |v: f64| html::decimal(v * f.scale(), decimals);
    match st.sd {
        Some(sd) => format!("{}{unit} ± {}", d(st.mean), d(sd)),
        None => format!("{}{unit}", d(st.mean)),
    }
}

fn means(sweep: &Sweep, rows: &[(&Run, &Outcome)]) -> Markup {
    let spec = &sweep.spec;
    let figures = plots::plotted(&spec.command, rows);
    let points = group_by(rows, |r| r.values.clone());
    html! {
        p.note { "At each point of the grid (one value of every parameter): each figure's mean over the seeds that ran, ± the sample standard deviation." }
        table id="means-table" {
            thead { tr {
                @for p in &spec.parameters { th { code { (p.key.to_string()) } } }
                th.num { "runs done" }
                @for f in &figures { th.num { (f.caption) } }
            } }
            tbody {
                @for (values, at) in &points {
                    tr {
                        @for (p, &v) in spec.parameters.iter().zip(values) { td { (value_text(&p.values[v])) } }
                        td.num { (at.iter().filter(|(_, o)| matches!(o, Outcome::Done(_))).count()) " of " (at.len()) }
                        @for f in &figures {
                            @let st = stat_of(at, &f.key);
                            td.num data-key=(&*f.key)
                                data-mean=(st.map_or(String::new(), |s| s.mean.to_string()))
                                data-n=(st.map_or(0, |s| s.n)) { (show_stat(f, st)) }
                        }
                    }
                }
            }
        }
    }
}

fn unit_of(key: &str) -> Unit {
    METRICS
        .iter()
        .find(|m| m.key == key)
        .map_or(Unit::Text, |m| m.unit)
}

/// The runs table's figures: key, heading, unit. A simulation's are
/// [`RUN_FIGURES`], named as its page names them; another command's, the
/// figures its plots show.
fn run_columns(sweep: &Sweep, rows: &[(&Run, &Outcome)]) -> Vec<(String, String, Unit)> {
    if sweep.spec.command != Command::Run {
        return plots::plotted(&sweep.spec.command, rows)
            .into_iter()
            .map(|f| (f.key.to_string(), f.caption.to_string(), f.kind.unit()))
            .collect();
    }
    let label = |key: &'static str| {
        METRICS
            .iter()
            .find(|m| m.key == key)
            .map_or(key, |m| m.label)
    };
    RUN_FIGURES
        .iter()
        .map(|&k| (k.to_string(), label(k).to_string(), unit_of(k)))
        .collect()
}

fn runs(sweep: &Sweep, rows: &[(&Run, &Outcome)]) -> Markup {
    let spec = &sweep.spec;
    let columns = run_columns(sweep, rows);
    let null = serde_json::Value::Null;
    let result = spec.command.result_file();
    html! {
        p.note { "Every run in index order, with some of its figures (" a href="runs.csv" { "runs.csv" } " has them all, as " (result) " writes them). "
            @if spec.outputs != Outputs::Summary { "A run's id links to its own page." } }
        table id="runs-table" {
            thead { tr {
                th.num { "index" } th { "id" } th { "status" }
                @for p in &spec.parameters { th { code { (p.key.to_string()) } } }
                th.num { "seed" }
                @for (_, label, _) in &columns { th.num { (label) } }
                th { "error" }
            } }
            tbody {
                @for (run, outcome) in rows {
                    @let (status, summary, error) = match outcome {
                        Outcome::Done(s) => ("ok", s, String::new()),
                        Outcome::Failed(e) => ("failed", &null, one_line(e)),
                    };
                    tr {
                        td.num { (run.index) }
                        td.id { @if status == "ok" && spec.outputs != Outputs::Summary {
                            a href={ "runs/" (run.id) "/report.html" } { (run.id) }
                        } @else { (run.id) } }
                        td { (status) }
                        @for v in crate::sweep::resolve::value_texts(spec, run) { td { (v) } }
                        td.num { (run.seed) }
                        @for (k, _, unit) in &columns { (value_cell(summary, k, *unit)) }
                        td { (error) }
                    }
                }
            }
        }
    }
}

fn files(plots: Plots) -> Markup {
    html! {
        ul {
            li { a href="runs.csv" { code { "runs.csv" } } " — a row per run: its parameters, seed, headline figures, or error" }
            li { code { "sweep.json" } " — the sweep, the shard this directory is for, runs done and failed" }
            li { code { "sweep.toml" } ", " code { "base.toml" } " — the sweep file and the base scenario, as run" }
            li { code { "runs/<id>/" } " — each run's own directory, with the " code { "scenario.toml" } " it ran (and " code { "error.txt" } " if it failed)" }
        }
        @if let Some(why) = plots.missing() { p.note { (why) } }
    }
}

/// The command as the sweep file gives it, with its own keys.
fn command_text(c: &Command) -> String {
    match c {
        Command::Run => "run".into(),
        Command::Compact { search } => format!("compact, search = {}", search.name()),
        Command::Experiment {
            experiment,
            search,
            parts,
            policies,
        } => {
            let mut s = format!(
                "experiment {}, search = {}",
                experiment.name(),
                search.name()
            );
            if *experiment == crate::experiment::Experiment::Subcells {
                let parts: Vec<String> = parts.iter().map(u32::to_string).collect();
                s += &format!(", parts = {}", parts.join(", "));
            }
            if !policies.is_empty() {
                let names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
                s += &format!(", policies = {}", names.join(", "));
            }
            s
        }
        Command::Inflate { mode } => format!("inflate, mode = {}", mode.name()),
    }
}

/// `1 parameter`, `2 parameters`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
