//! `borgsim experiment`'s outputs beside `experiment.json`: the page,
//! `report.html` — the scenario, the experiment (`sections/experiment.rs`)
//! and the baseline's compaction (`sections/compaction.rs`) — and
//! `experiment.csv`, one row per variant. Deterministic like every page:
//! the same scenario, seed and options give the same bytes, whatever the
//! thread count.

use super::sections;
use super::{Page, Plots, Section};
use crate::cell::Cell;
use crate::error::{Error, Result};
use crate::experiment::{ExperimentResult, Variant};
use crate::scenario::Scenario;
use maud::html;
use serde::Serialize;
use std::path::Path;

/// The page of experiment `r` of scenario `sc`, whose whole cell is
/// `cell`; `path` names the page in errors.
///
/// # Errors
/// A plot cannot be rendered.
pub fn page(
    sc: &Scenario,
    cell: &Cell,
    r: &ExperimentResult,
    plots: Plots,
    path: &Path,
) -> Result<Page> {
    let files = Section {
        id: "files",
        title: "Files".into(),
        body: html! {
            ul {
                li { a href="experiment.json" { code { "experiment.json" } } " — every variant and cell, the paper's figure beside; deterministic" }
                li { a href="experiment.csv" { code { "experiment.csv" } } " — one row per variant" }
                li { a href="run.json" { code { "run.json" } } " — what is not deterministic: wall time, CPU time, peak memory" }
            }
            @if let Some(why) = plots.missing() { p.note { (why) } }
        },
    };
    let mut list = vec![
        sections::scenario::of(sc, cell),
        sections::experiment::section(r, plots, path)?,
    ];
    if let Some(c) = &r.baseline_compaction {
        let mut s = sections::compaction::section(c, plots, path)?;
        s.title = format!("Cell compaction of the baseline ({})", r.baseline);
        list.push(s);
    }
    list.push(files);
    Ok(Page {
        title: format!("borgsim experiment {}: {}", r.experiment.name(), sc.name),
        lede: html! {
            "Seed " (sc.seed) " · " (r.trials) " trials · " (r.variants.len()) " variants · baseline "
            (r.baseline) " · " (super::html::count(u64::from(r.variants.first().map_or(0, |v| v.machines))))
            " machines"
        },
        sections: list,
        footer: html! {
            p { "Written by borgsim " (env!("CARGO_PKG_VERSION")) ". Every figure is a function of the scenario, "
                "the seed and the options: the same give this page byte for byte, whatever the number of threads. "
                "Wall time and memory are in " a href="run.json" { "run.json" } ", not here." }
        },
    })
}

/// Writes `report.html` into `dir`.
///
/// # Errors
/// A plot cannot be rendered or the page written.
pub fn write(
    dir: &Path,
    sc: &Scenario,
    cell: &Cell,
    r: &ExperimentResult,
    plots: Plots,
) -> Result<()> {
    let path = dir.join("report.html");
    page(sc, cell, r, plots, &path)?.write(&path)
}

/// One row of `experiment.csv`: a variant (see reports/README.md, *Columns and keys*).
#[derive(Serialize)]
pub struct Row<'a> {
    pub experiment: &'static str,
    pub scenario: &'a str,
    pub seed: u64,
    pub variant: &'a str,
    pub baseline: bool,
    pub policy: &'static str,
    pub cells: usize,
    pub submitted_tasks: u64,
    pub machines: u32,
    pub extra_pct: f64,
    pub paired_machines: u32,
    pub median_trial_extra_pct: f64,
    pub requested_cpu_milli: Option<u64>,
    pub requested_mem_mib: Option<u64>,
    pub requested_extra_cpu_pct: Option<f64>,
    pub requested_extra_mem_pct: Option<f64>,
    pub cpu_utilization: Option<f64>,
    pub mem_utilization: Option<f64>,
    pub stranded_cpu_share: Option<f64>,
    pub stranded_mem_share: Option<f64>,
    pub holes_units_free: Option<u64>,
    pub inflation_vertical_pct: Option<f64>,
    pub oom_kills: Option<u64>,
    pub throttled_cpu_core_s: Option<f64>,
    pub usage_cpu_utilization: Option<f64>,
    pub usage_mem_utilization: Option<f64>,
    pub paper_extra_pct_low: Option<f64>,
    pub paper_extra_pct_high: Option<f64>,
}

impl<'a> Row<'a> {
    fn of(r: &'a ExperimentResult, v: &'a Variant) -> Self {
        let applies = r.paper.applies_to.contains(&v.name);
        let w = v.views.as_ref();
        // With usage tracked (`reclamation`): kills and throttling summed
        // over the cells, the used shares of a one-cell variant's cell.
        let usage: Option<Vec<_>> = v.cells.iter().map(|c| c.usage.as_ref()).collect();
        let usage = usage.filter(|u| !u.is_empty());
        let one = usage.as_ref().and_then(|u| (u.len() == 1).then(|| u[0]));
        Row {
            experiment: r.experiment.name(),
            scenario: &r.scenario,
            seed: r.seed,
            variant: &v.name,
            baseline: v.baseline,
            policy: v.policy,
            cells: v.cells.len(),
            submitted_tasks: v.cells.iter().map(|c| c.submitted_tasks).sum(),
            machines: v.machines,
            extra_pct: v.extra_pct,
            paired_machines: v.paired_machines,
            median_trial_extra_pct: v.median_trial_extra_pct,
            requested_cpu_milli: v.requested.map(|q| q.cpu_milli),
            requested_mem_mib: v.requested.map(|q| q.mem_mib),
            requested_extra_cpu_pct: v.requested_extra_cpu_pct,
            requested_extra_mem_pct: v.requested_extra_mem_pct,
            cpu_utilization: w.map(|w| w.cpu_utilization),
            mem_utilization: w.map(|w| w.mem_utilization),
            stranded_cpu_share: w.and_then(|w| w.stranded_cpu_share),
            stranded_mem_share: w.and_then(|w| w.stranded_mem_share),
            holes_units_free: w.and_then(|w| w.holes_units_free),
            inflation_vertical_pct: w
                .and_then(|w| w.inflation_vertical_permille)
                .map(|p| f64::from(p) / 10.0),
            oom_kills: usage.as_ref().map(|u| u.iter().map(|x| x.oom_kills).sum()),
            throttled_cpu_core_s: usage
                .as_ref()
                .map(|u| u.iter().map(|x| x.throttled_cpu_core_s).sum()),
            usage_cpu_utilization: one.map(|x| x.usage_cpu_utilization),
            usage_mem_utilization: one.map(|x| x.usage_mem_utilization),
            paper_extra_pct_low: r.paper.extra_pct_low.filter(|_| applies),
            paper_extra_pct_high: r.paper.extra_pct_high.filter(|_| applies),
        }
    }
}

/// Writes `experiment.csv` into `dir`.
///
/// # Errors
/// The file cannot be written.
pub fn write_csv(dir: &Path, r: &ExperimentResult) -> Result<()> {
    let path = dir.join("experiment.csv");
    let err = |e: csv::Error| Error::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_path(&path).map_err(err)?;
    for v in &r.variants {
        w.serialize(Row::of(r, v)).map_err(err)?;
    }
    w.flush().map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })
}
