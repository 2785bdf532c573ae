//! `borgsim inflate`'s page, `report.html` beside `inflation.json`: the
//! scenario (its whole cell), the inflation section
//! (`sections/inflation.rs`) and the files. Deterministic like every page:
//! the same scenario, seed and options give the same bytes, whatever the
//! thread count.

use super::sections;
use super::{Page, Plots, Section};
use crate::cell::Cell;
use crate::error::Result;
use crate::inflate::Inflation;
use crate::scenario::Scenario;
use maud::html;
use std::path::Path;

/// The page of inflation `c` of scenario `sc`, whose whole cell is `cell`;
/// `path` names the page in errors.
///
/// # Errors
/// A plot cannot be rendered.
pub fn page(sc: &Scenario, cell: &Cell, c: &Inflation, plots: Plots, path: &Path) -> Result<Page> {
    let files = Section {
        id: "files",
        title: "Files".into(),
        body: html! {
            ul {
                li { a href="inflation.json" { code { "inflation.json" } } " — every trial and every probe, the fit rule as applied; deterministic" }
                li { a href="run.json" { code { "run.json" } } " — what is not deterministic: wall time, CPU time, peak memory" }
            }
            @if let Some(why) = plots.missing() { p.note { (why) } }
        },
    };
    Ok(Page {
        title: format!("borgsim inflate: {}", sc.name),
        lede: html! {
            "Seed " (sc.seed) " · policy " (sc.scheduler.policy.name())
            " · preemption " (if sc.scheduler.preemption { "on" } else { "off" })
            " · " (c.mode.name()) " inflation · " (c.trials) " trial" (if c.trials == 1 { "" } else { "s" })
            " · the cell takes +" (sections::inflation::percent_of_permille(c.answer.permille))
        },
        sections: vec![
            sections::scenario::of(sc, cell),
            sections::inflation::section(c, plots, path)?,
            files,
        ],
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
pub fn write(dir: &Path, sc: &Scenario, cell: &Cell, c: &Inflation, plots: Plots) -> Result<()> {
    let path = dir.join("report.html");
    page(sc, cell, c, plots, &path)?.write(&path)
}
