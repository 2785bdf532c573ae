//! The compare page: the runs' parameters (a value that differs from the
//! first run's is in bold, but for the label and directory, which always
//! differ), the headline figures with each later run's
//! difference from the first, and the runs' time series overlaid — CPU,
//! memory and GPU allocated as a share of each run's own cell, pending
//! tasks, evictions so far — on shared axes, a colour per run (a line in
//! place of a plot that would be zeros in every run).

use super::load::{Loaded, Point};
use super::table::{delta, metrics, params, placed_by, show_delta};
use crate::error::Result;
use crate::report::chart::{
    color, count_axis, percent_axis, Chart, Layer, LegendEntry, Panel, Swatch, TimeUnit,
};
use crate::report::html::{at, raw, show, Unit};
use crate::report::{Page, Plots, Section};
use maud::{html, Markup};
use serde_json::Value;
use std::path::Path;

pub fn page(runs: &[Loaded], plots: Plots, path: &Path) -> Result<Page> {
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    let sections = vec![
        Section {
            id: "runs",
            title: "Runs".into(),
            body: runs_table(runs),
        },
        Section {
            id: "headline",
            title: "Headline numbers".into(),
            body: headline(runs),
        },
        Section {
            id: "over-time",
            title: "Over time".into(),
            body: over_time(runs, plots, path)?,
        },
        Section {
            id: "files",
            title: "Files".into(),
            body: files(runs, plots),
        },
    ];
    Ok(Page {
        title: format!("borgsim compare: {}", labels.join(" vs ")),
        lede: html! {
            (runs.len()) " runs side by side; differences are against the first, " strong { (labels[0]) } "."
        },
        sections,
        footer: html! {
            p { "Written by borgsim " (env!("CARGO_PKG_VERSION")) " from the runs' summary.json, run.json and timeseries.csv; "
                "nothing was simulated. The same runs give this page byte for byte." }
        },
    })
}

fn runs_table(runs: &[Loaded]) -> Markup {
    html! {
        table id="runs-table" {
            thead { tr { th { "" } @for r in runs { th { (r.label) } } } }
            tbody {
                @for p in params(runs) {
                    tr {
                        th scope="row" { (p.name) }
                        @for v in &p.values {
                            td class=(if p.marks_differences && *v != p.values[0] { "differs" } else { "" }) { (if v.is_empty() { "—" } else { v.as_str() }) }
                        }
                    }
                }
            }
        }
    }
}

fn headline(runs: &[Loaded]) -> Markup {
    let ms = metrics(runs);
    html! {
        p.note { "Values from each run's summary.json (exact in each cell's " code { "data-value" } "); "
            "under each later run's value, its difference from the first run's, and that difference in percent of it. "
            a href="compare.csv" { "compare.csv" } " has the same table." }
        table id="headline-table" {
            thead { tr { th { "" } @for r in runs { th.num { (r.label) } } } }
            tbody {
                @for (i, m) in ms.iter().enumerate() {
                    @if i == 0 || ms[i - 1].group != m.group {
                        tr.group { th colspan=(runs.len() + 1) scope="colgroup" { (m.group) } }
                    }
                    tr {
                        th scope="row" { (m.label) }
                        @for (j, r) in runs.iter().enumerate() {
                            (cell(&runs[0].summary, &r.summary, m.key, m.unit, j > 0))
                        }
                    }
                }
            }
        }
    }
}

fn cell(first: &Value, this: &Value, key: &str, unit: Unit, with_delta: bool) -> Markup {
    let v = at(this, key);
    let d = if with_delta {
        delta(at(first, key), v)
    } else {
        None
    };
    html! {
        td.num data-key=(key) data-value=(raw(v)) {
            (show(v, unit))
            @if let Some(d) = &d { br; span.delta { (show_delta(d, unit)) } }
        }
    }
}

/// `<what> — <scenarios>, <policies>, seed <seeds>`, each part listing
/// the runs' distinct values; a run that followed its trace's placements
/// counts as `trace placements`, not as its policy ([`placed_by`]).
fn title(runs: &[Loaded], what: &str) -> String {
    let distinct = |value: &dyn Fn(&Value) -> String| {
        let mut seen: Vec<String> = Vec::new();
        for r in runs {
            let v = value(&r.summary);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen.join(" / ")
    };
    let key = |key: &'static str| move |s: &Value| raw(at(s, key));
    format!(
        "{what} — {}, {}, seed {}",
        distinct(&key("scenario")),
        distinct(&placed_by),
        distinct(&key("seed"))
    )
}

/// A panel with a line per run of `y` (skipping runs where it is `None`).
fn panel(
    runs: &[Loaded],
    unit: TimeUnit,
    end_s: f64,
    caption: &str,
    y_label: &str,
    percent: bool,
    y: impl Fn(&Loaded, &Point) -> Option<f64>,
) -> Panel {
    let mut peak = 0.0f64;
    let mut layers = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let points: Option<Vec<(f64, f64)>> = r
            .series
            .iter()
            .map(|p| Some((p.time_s / unit.seconds, y(r, p)?)))
            .collect();
        let Some(points) = points else { continue };
        peak = points.iter().map(|p| p.1).fold(peak, f64::max);
        layers.push(Layer::Line {
            color: color(i),
            points,
            dashed: false,
        });
    }
    Panel {
        caption: caption.into(),
        x: unit.axis(end_s),
        y: if percent {
            percent_axis(y_label, peak)
        } else {
            count_axis(y_label, peak)
        },
        layers,
    }
}

fn capacity(r: &Loaded, key: &str) -> Option<f64> {
    at(&r.summary, &format!("capacity.{key}"))
        .and_then(Value::as_f64)
        .filter(|c| *c > 0.0)
}

fn charts(runs: &[Loaded]) -> Vec<Chart> {
    let end_s = runs
        .iter()
        .filter_map(|r| r.summary.get("duration_s")?.as_f64())
        .fold(0.0, f64::max);
    let unit = TimeUnit::for_span_s(end_s);
    let legend: Vec<LegendEntry> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| LegendEntry::new(r.label.clone(), color(i), Swatch::Line))
        .collect();
    let mut alloc = vec![
        panel(
            runs,
            unit,
            end_s,
            "CPU",
            "CPU allocated (% of the run's cell)",
            true,
            |r, p| Some(p.cpu_milli as f64 * 100.0 / capacity(r, "cpu_milli")?),
        ),
        panel(
            runs,
            unit,
            end_s,
            "memory",
            "memory allocated (% of the run's cell)",
            true,
            |r, p| Some(p.mem_mib as f64 * 100.0 / capacity(r, "mem_mib")?),
        ),
    ];
    if runs.iter().any(|r| capacity(r, "gpus").is_some()) {
        alloc.push(panel(
            runs,
            unit,
            end_s,
            "GPU",
            "GPU allocated (% of the run's cell)",
            true,
            |r, p| Some(p.gpu_milli as f64 / 10.0 / capacity(r, "gpus")?),
        ));
    }
    let one = |id, what: &str, y_label: &str, y: fn(&Loaded, &Point) -> Option<f64>| Chart {
        id,
        title: title(runs, what),
        panels: vec![panel(runs, unit, end_s, "", y_label, false, y)],
        legend: legend.clone(),
    };
    vec![
        Chart {
            id: "allocation",
            title: title(runs, "Allocation"),
            panels: alloc,
            legend: legend.clone(),
        },
        one(
            "pending",
            "Pending tasks",
            "pending tasks (all bands)",
            |_, p| Some(p.pending as f64),
        ),
        one(
            "evictions",
            "Evictions, cumulative",
            "evictions so far (all causes)",
            |_, p| Some(p.evictions as f64),
        ),
    ]
}

fn over_time(runs: &[Loaded], plots: Plots, path: &Path) -> Result<Markup> {
    let notes = |c: &Chart| match c.id {
        "allocation" => {
            html! { "Each run's allocation as a share of its own cell's capacity, all bands." }
        }
        "pending" => {
            html! { "Tasks pending in the cell, all bands, and tasks a trace replay holds outside it." }
        }
        _ => html! { "Evictions since the start, all causes." },
    };
    // A chart of zeros in every run is a line instead.
    let empty = |c: &Chart| match c.id {
        "allocation" => "No run had a task running at any sample: nothing to plot.",
        "pending" => "No run had a task pending at any sample: nothing to plot.",
        _ => "No run evicted a task.",
    };
    let figures = charts(runs)
        .iter()
        .map(|c| plots.figure_or_note(c, notes(c), empty(c), path))
        .collect::<Result<Vec<_>>>()?;
    Ok(html! { @for f in &figures { (f) } })
}

fn files(runs: &[Loaded], plots: Plots) -> Markup {
    html! {
        ul {
            li { a href="compare.csv" { code { "compare.csv" } } " — the parameters and headline figures, a column per run, with differences from the first" }
            @for r in runs { li { code { (r.dir.display()) } " — " (r.label) "'s own outputs and report.html" } }
        }
        @if let Some(why) = plots.missing() { p.note { (why) } }
    }
}
