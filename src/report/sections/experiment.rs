//! "Capacity experiment": the variants of one experiment beside the Borg
//! paper's figure — a plot of each variant's extra machines over the
//! baseline (every paired trial a tick, the percentile answer a bar, the
//! paper's range a band), a table of the variants (for `policies`, the
//! four views of packing side by side), and what the paper reports and
//! why borgsim's figures may differ.
//!
//! A function of an [`ExperimentResult`] alone (`experiment.json`).

use crate::error::Result;
use crate::experiment::{Experiment, ExperimentResult, Variant};
use crate::report::chart::{Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks};
use crate::report::html::{count, decimal, num};
use crate::report::sections::compaction::ordinal;
use crate::report::{Plots, Section};
use maud::{html, Markup};
use std::path::Path;

const ANSWER: Rgb = Rgb(214, 39, 40);
const TRIALS: Rgb = Rgb(31, 119, 180);
const PAPER: Rgb = Rgb(188, 189, 34);
const BASE: Rgb = Rgb(127, 127, 127);

/// The section; `page` names the page in a rendering error.
pub fn section(r: &ExperimentResult, plots: Plots, page: &Path) -> Result<Section> {
    let figure = plots.figure(&chart(r), notes(r), page)?;
    let body = html! {
        p { (intro(r.experiment)) }
        p {
            "Every cell is compacted with seed " (r.seed) ", " (r.trials) " trials and the same fit rule, "
            "so trial t takes the machines in the same order in every cell (paired trials). A variant needs "
            "the sum of its cells' answers (each the " (ordinal(r.percentile)) " percentile of its trials); "
            "extra is (variant − baseline) / baseline. The baseline is " strong { (r.baseline) } "."
        }
        (figure)
        (table(r))
        h3 { "Beside the paper" }
        p { "The paper (" (r.paper.source) "): " (r.paper.says) }
        p { (ours(r)) }
        p { (r.caveats) }
    };
    Ok(Section {
        id: "experiment",
        title: format!("Capacity experiment: {}", r.experiment.name()),
        body,
    })
}

fn intro(e: Experiment) -> &'static str {
    match e {
        Experiment::Segregation => {
            "Prod and non-prod work in separate cells (a prod cell and a non-prod cell, each compacted \
             on its own) against one shared cell."
        }
        Experiment::Subcells => {
            "The workload split at random, job by job, into k sub-cells (each compacted on its own) \
             against one cell."
        }
        Experiment::Bucketing => {
            "Every task's CPU and memory request rounded up to the next power of two, from 0.5 cores \
             and 1 GiB, against the original requests: the extra requested, and the extra machines."
        }
        Experiment::Policies => {
            "The same workload placed by each policy: machines needed (compaction) beside the other \
             views of packing — aggregate utilisation, stranded resources and hole filling from one \
             run on the whole cell, and the growth of every request the whole cell still takes \
             (vertical workload inflation)."
        }
        Experiment::Reclamation => {
            "Reclamation on — non-prod admitted against other tasks' reservations, which decay from \
             the limit toward usage plus a margin after a delay — against off, every task admitted \
             against limits (compacted under mode measure, whose decisions are off's, so that its usage \
             shows). A probe of a static workload runs until the reservations of the tasks placed at \
             t = 0 have settled; a probe fits only if it kills no more tasks for memory than \
             oom_kill_share allows. Beside the machines: the used share of the compacted cell's \
             capacity (usage over capacity, over the probe's run), the tasks killed for memory and \
             the CPU throttled in the probe that gave the answer."
        }
    }
}

/// Our figures in a sentence, for the variants the paper's range is about.
fn ours(r: &ExperimentResult) -> String {
    let parts: Vec<String> = r
        .variants
        .iter()
        .filter(|v| !v.baseline)
        .map(|v| {
            let mut s = format!(
                "{}: {:+.1} % machines (median paired trial {:+.1} %)",
                v.name, v.extra_pct, v.median_trial_extra_pct
            );
            if r.experiment == Experiment::Bucketing {
                if let (Some(c), Some(m)) = (v.requested_extra_cpu_pct, v.requested_extra_mem_pct) {
                    s += &format!(", {c:+.1} % CPU and {m:+.1} % memory requested");
                }
            }
            s
        })
        .collect();
    let range = match (r.paper.extra_pct_low, r.paper.extra_pct_high) {
        (Some(lo), Some(hi)) => {
            format!(" The paper's range, {lo:+} to {hi:+} %, is the band in the plot.")
        }
        _ => " The paper gives no number in its text.".into(),
    };
    format!("Here, on {}: {}.{range}", r.scenario, parts.join("; "))
}

/// A mark per paired trial, spread across the variant's slot at `x` in
/// trial order, so eleven trials read as eleven marks, not as one error bar.
fn trial_marks(x: f64, extra_pct: &[f64]) -> Layer {
    let n = extra_pct.len();
    let at = |t: usize| {
        if n < 2 {
            x
        } else {
            x - 0.25 + 0.5 * t as f64 / (n - 1) as f64
        }
    };
    Layer::Marks {
        color: TRIALS,
        points: extra_pct
            .iter()
            .enumerate()
            .map(|(t, &y)| (at(t), y))
            .collect(),
    }
}

/// Each variant's extra machines over the baseline: a mark per paired
/// trial (spread across the variant's slot in trial order), a bar at the
/// percentile answer, the paper's range as a band.
pub fn chart(r: &ExperimentResult) -> Chart {
    let names: Vec<String> = r.variants.iter().map(|v| v.name.clone()).collect();
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    let mut take = |y: f64| {
        lo = lo.min(y);
        hi = hi.max(y);
    };
    for v in &r.variants {
        take(v.extra_pct);
        v.per_trial_extra_pct.iter().for_each(|&y| take(y));
    }
    let band = r.paper.extra_pct_low.zip(r.paper.extra_pct_high);
    if let Some((a, b)) = band {
        take(a);
        take(b);
    }
    let pad = ((hi - lo) * 0.1).max(1.0);
    let mut layers = vec![Layer::Line {
        color: BASE,
        points: vec![(-0.5, 0.0), (names.len() as f64 - 0.5, 0.0)],
        dashed: true,
    }];
    for (i, v) in r.variants.iter().enumerate() {
        let x = i as f64;
        if let Some((a, b)) = band.filter(|_| r.paper.applies_to.contains(&v.name)) {
            layers.push(Layer::Area {
                color: PAPER,
                top: vec![(x - 0.35, b), (x + 0.35, b)],
                bottom: vec![(x - 0.35, a), (x + 0.35, a)],
            });
        }
        layers.push(bar(x, v));
        layers.push(trial_marks(x, &v.per_trial_extra_pct));
    }
    let legend = legend(r, band.is_some());
    Chart {
        id: "experiment",
        title: crate::report::chart::title(
            &format!("Extra machines, {}", r.experiment.name()),
            &r.scenario,
            match r.experiment {
                Experiment::Policies => "each policy",
                _ => r.policy,
            },
            r.seed,
        ),
        panels: vec![Panel {
            caption: String::new(),
            x: Axis {
                label: "variant".into(),
                min: -0.5,
                max: names.len() as f64 - 0.5,
                log: false,
                ticks: Ticks::Labels(names),
            },
            y: Axis {
                label: "extra machines over the baseline (%)".into(),
                min: lo - pad,
                max: hi + pad,
                log: false,
                ticks: Ticks::Number,
            },
            layers,
        }],
        legend,
    }
}

fn legend(r: &ExperimentResult, band: bool) -> Vec<LegendEntry> {
    let mut legend = vec![
        LegendEntry::new(
            format!("{} percentile, cells summed", ordinal(r.percentile)),
            ANSWER,
            Swatch::Line,
        ),
        LegendEntry::new("a paired trial", TRIALS, Swatch::Mark),
        LegendEntry::new(format!("baseline: {}", r.baseline), BASE, Swatch::Dashed),
    ];
    if band {
        legend.push(LegendEntry::new("the paper's range", PAPER, Swatch::Area));
    }
    legend
}

/// A short horizontal bar at the variant's extra.
fn bar(x: f64, v: &Variant) -> Layer {
    Layer::Line {
        color: ANSWER,
        points: vec![(x - 0.3, v.extra_pct), (x + 0.3, v.extra_pct)],
        dashed: false,
    }
}

fn notes(r: &ExperimentResult) -> Markup {
    html! {
        "Each bar is a variant's machines (its cells' answers summed) over the baseline's; each tick, one "
        "paired trial's sum over the baseline's in the same trial. "
        @if r.paper.extra_pct_low.is_some() { "The band is the paper's range (" (r.paper.measure) ")." }
    }
}

fn pct(v: Option<f64>) -> Markup {
    num(v.map_or("—".into(), |x| format!("{x:+.2} %")))
}

/// A share as a percentage to one decimal, as a table comparing variants
/// reads it; the exact fraction in `data-value`.
fn share(v: Option<f64>) -> Markup {
    match v {
        None => num("—"),
        Some(f) => html! { td.num data-value=(f) { (decimal(f * 100.0, 1)) " %" } },
    }
}

fn table(r: &ExperimentResult) -> Markup {
    let bucketing = r.experiment == Experiment::Bucketing;
    let views = r.experiment == Experiment::Policies;
    let usage = r.experiment == Experiment::Reclamation;
    html! {
        table id="experiment-variants" {
            thead { tr {
                th { "variant" } th.num { "cells" } th.num { "tasks" }
                th.num { "machines" } th.num { "extra" } th.num { "paired " (ordinal(r.percentile)) }
                th.num { "median paired extra" }
                @if bucketing { th.num { "CPU requested, extra" } th.num { "memory requested, extra" } }
                @if views {
                    th.num { "CPU allocated" } th.num { "memory allocated" }
                    th.num { "CPU stranded" } th.num { "memory stranded" } th.num { "hole units free" }
                    th.num { "growth that fits (vertical inflation)" }
                }
                @if usage {
                    th.num { "CPU used" } th.num { "memory used" } th.num { "killed for memory" }
                    th.num { "CPU throttled (core-s)" }
                }
            } }
            tbody {
                @for v in &r.variants {
                    tr class=(if v.baseline { "group" } else { "" }) {
                        td { (v.name) }
                        (num(v.cells.len().to_string()))
                        (num(count(v.cells.iter().map(|c| c.submitted_tasks).sum())))
                        (num(count(u64::from(v.machines))))
                        (pct(Some(v.extra_pct)))
                        (num(count(u64::from(v.paired_machines))))
                        (pct(Some(v.median_trial_extra_pct)))
                        @if bucketing { (pct(v.requested_extra_cpu_pct)) (pct(v.requested_extra_mem_pct)) }
                        @if views {
                            @let w = v.views.as_ref();
                            (share(w.map(|w| w.cpu_utilization)))
                            (share(w.map(|w| w.mem_utilization)))
                            (share(w.and_then(|w| w.stranded_cpu_share)))
                            (share(w.and_then(|w| w.stranded_mem_share)))
                            (num(w.and_then(|w| w.holes_units_free).map_or("—".into(), count)))
                            (pct(w.and_then(|w| w.inflation_vertical_permille).map(|p| f64::from(p) / 10.0)))
                        }
                        @if usage {
                            @let u = v.cells.first().and_then(|c| c.usage.as_ref());
                            (share(u.map(|u| u.usage_cpu_utilization)))
                            (share(u.map(|u| u.usage_mem_utilization)))
                            (num(u.map_or("—".into(), |u| count(u.oom_kills))))
                            (num(u.map_or("—".into(), |u| decimal(u.throttled_cpu_core_s, 1))))
                        }
                    }
                }
            }
        }
        (cells(r))
    }
}

/// Every cell's answer and its trials' range.
fn cells(r: &ExperimentResult) -> Markup {
    html! {
        p.note { "Each cell's compaction: its " (ordinal(r.percentile)) " percentile, fewest, median and most "
            "machines over the trials (a cell with no tasks needs none). Every figure is in "
            a href="experiment.json" { code { "experiment.json" } } "." }
        table id="experiment-cells" {
            thead { tr {
                th { "variant" } th { "cell" } th.num { "tasks" } th.num { "answer" }
                th.num { "fewest" } th.num { "median" } th.num { "most" }
            } }
            tbody {
                @for v in &r.variants { @for c in &v.cells {
                    tr {
                        td { (v.name) } td { (c.cell) }
                        (num(count(c.submitted_tasks)))
                        (num(count(u64::from(c.answer_machines))))
                        (num(count(u64::from(c.min_machines))))
                        (num(count(u64::from(c.median_machines))))
                        (num(count(u64::from(c.max_machines))))
                    }
                } }
            }
        }
        @if r.variants.iter().any(|v| v.requested.is_some()) {
            p.note { "Requested: every submitted task's request summed, in whole cores and GiB (rounded up) — "
                @for (i, v) in r.variants.iter().enumerate() {
                    @if let Some(q) = v.requested {
                        @if i > 0 { "; " }
                        (v.name) ": " (count(q.cpu_milli.div_ceil(1000))) " cores, "
                        (count(q.mem_mib.div_ceil(1024))) " GiB"
                    }
                }
                "." }
        }
    }
}
