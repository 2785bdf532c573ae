//! A run's page, `report.html`: what was run, the headline numbers (the
//! values of `summary.json`), and a section per question — allocation by
//! band and by machine class, pending tasks and why, waits, evictions,
//! usage and reclamation, failures and availability, GPU packing — with tables and plots. The
//! sections are [`SECTIONS`], in page order; each is a function of the
//! run ([`RunView`]) in its own file under `sections/`, and returns `None`
//! when it has nothing to say (no GPU curve without GPUs).
//!
//! Written by [`crate::metrics::report::RunDir::finish`] into the run's
//! directory with the other outputs; the three PNG plots of the directory
//! (`utilization.png`, `pending.png`, `wait_cdf.png`) are the page's
//! allocation, pending and wait charts, drawn by the same code.

use super::chart::{self, Chart, TimeUnit};
use super::sections;
use super::{Page, Plots, Section};
use crate::error::Result;
use crate::metrics::pending::Tally;
use crate::metrics::summary::Summary;
use crate::scenario::Scenario;
use crate::sim::Simulation;
use maud::html;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Everything a section may draw on.
pub struct RunView<'a> {
    pub scenario: &'a Scenario,
    pub sim: &'a Simulation,
    /// summary.json, as written.
    pub summary: Value,
    /// pending.csv, counted by status and reason.
    pub pending: &'a Tally,
    /// The run's directory (being written): the page reads the streamed
    /// `gpu_alloc.csv` back from it.
    pub dir: &'a Path,
    pub plots: Plots,
}

/// Builds a section, or says there is none for this run.
pub type Build = fn(&RunView) -> Result<Option<Section>>;

/// The page's sections, in order. A later feature adds its own here.
pub const SECTIONS: &[Build] = &[
    sections::scenario::section,
    sections::headline::section,
    sections::bands::section,
    sections::allocation::section,
    sections::classes::section,
    sections::pending::section,
    sections::waits::section,
    sections::evictions::section,
    sections::reclamation::section,
    sections::failures::section,
    sections::gpu::section,
    sections::files::section,
];

impl<'a> RunView<'a> {
    pub fn new(
        scenario: &'a Scenario,
        sim: &'a Simulation,
        summary: &Summary,
        pending: &'a Tally,
        dir: &'a Path,
        plots: Plots,
    ) -> RunView<'a> {
        RunView {
            scenario,
            sim,
            summary: serde_json::to_value(summary).expect("a summary serialises"),
            pending,
            dir,
            plots,
        }
    }

    /// A figure's title: `<what> — <scenario>, <placed by>, seed <n>`
    /// (see [`chart::placed_by`]).
    pub fn title(&self, what: &str) -> String {
        let sc = self.scenario;
        chart::title(what, &sc.name, chart::placed_by(sc), sc.seed)
    }

    /// The unit of the run's time axes.
    pub fn time_unit(&self) -> TimeUnit {
        TimeUnit::for_span_s(self.end_s())
    }

    /// When the run ended, in simulated seconds.
    pub fn end_s(&self) -> f64 {
        self.sim.end_time().as_secs_f64()
    }

    /// The page's path, naming it in errors.
    pub fn page_path(&self) -> PathBuf {
        self.dir.join("report.html")
    }

    /// The chart as a figure of this page (see [`Plots::figure`]).
    pub fn figure(&self, chart: &Chart, notes: maud::Markup) -> Result<maud::Markup> {
        self.plots.figure(chart, notes, &self.page_path())
    }

    /// The chart as a figure, or the line `empty` in its place when it has
    /// nothing to show (see [`Plots::figure_or_note`]).
    pub fn figure_or_note(
        &self,
        chart: &Chart,
        notes: maud::Markup,
        empty: &str,
    ) -> Result<maud::Markup> {
        self.plots
            .figure_or_note(chart, notes, empty, &self.page_path())
    }
}

/// The page.
pub fn page(v: &RunView) -> Result<Page> {
    let mut built = Vec::new();
    for build in SECTIONS {
        built.extend(build(v)?);
    }
    let sc = v.scenario;
    let s = &v.summary;
    let lede = html! {
        "Seed " (sc.seed)
        @if sc.follows_trace_placements() {
            " · " (chart::TRACE_PLACEMENTS) " (no scheduling pass ran)"
        } @else {
            " · policy " (sc.scheduler.policy.name())
            " · preemption " (if sc.scheduler.preemption { "on" } else { "off" })
        }
        " · " (super::html::show(s.get("machines"), super::html::Unit::Count)) " machines"
        " · " (super::html::show(s.get("duration_s"), super::html::Unit::Seconds)) " simulated"
    };
    let footer = html! {
        p {
            "Written by borgsim " (env!("CARGO_PKG_VERSION")) ". Every figure is a function of the scenario and seed: "
            "two runs of them give this page byte for byte. Wall time, CPU time and peak memory are in "
            a href="run.json" { "run.json" } ", not here."
        }
    };
    Ok(Page {
        title: format!("borgsim run: {}", sc.name),
        lede,
        sections: built,
        footer,
    })
}

/// Writes `report.html` and, when plots are drawn, the run's PNGs.
pub fn write(v: &RunView) -> Result<()> {
    page(v)?.write(&v.page_path())?;
    #[cfg(feature = "plots")]
    if v.plots == Plots::Drawn {
        for (name, chart) in [
            ("utilization.png", sections::allocation::chart(v)),
            ("pending.png", sections::pending::chart(v)),
            ("wait_cdf.png", sections::waits::chart(v)),
        ] {
            super::png(&chart, &v.dir.join(name))?;
        }
    }
    Ok(())
}
