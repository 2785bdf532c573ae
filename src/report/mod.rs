//! The pages people look at: `report.html`, written by every `run`
//! ([`run`]), by `compare` ([`compare`]) and by `compact` ([`compaction`]). A page is one self-contained
//! file — styles and plots inlined as SVG, no script, nothing fetched — so
//! it opens from disk, attaches to a ticket and survives being copied
//! away from its directory.
//!
//! A page is a [`Page`]: a title, a lede, and an ordered list of
//! [`Section`]s, each an id (its anchor), a title and its HTML. The table of
//! contents is made from the sections. **A later feature adds a section**
//! by writing a file under `sections/` with a function
//! `section(&RunView) -> Result<Section>` and putting it in the list in
//! [`run::SECTIONS`] — nothing else changes.
//!
//! What a plot shows is data ([`chart::Chart`]: panels, axes with units,
//! layers, a legend) built by the sections whether or not plots are drawn;
//! `draw.rs` (feature `plots`) renders charts, as inline SVG for pages and
//! as the run's PNGs, from the same code. HTML is written with `maud`,
//! which escapes every value put into it.
//!
//! Pages are deterministic: a run's page depends on its scenario and seed
//! (and on whether plots were drawn), never on the wall clock, so two runs
//! of one scenario give the same bytes. Wall time and memory stay in
//! `run.json`.

pub mod chart;
pub mod compaction;
pub mod compare;
#[cfg(feature = "plots")]
mod draw;
pub mod experiment;
pub mod fgd;
pub mod headline;
pub mod html;
pub mod inflation;
pub mod run;
pub mod sections;
pub mod sweep;

use crate::error::{Error, Result};
use chart::Chart;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::path::Path;

/// One part of a page.
pub struct Section {
    /// The anchor (`#waits`); unique in the page.
    pub id: &'static str,
    pub title: String,
    pub body: Markup,
}

/// A whole page.
pub struct Page {
    /// The document's title, and the heading.
    pub title: String,
    /// What the page is about, under the heading.
    pub lede: Markup,
    pub sections: Vec<Section>,
    /// The closing note.
    pub footer: Markup,
}

impl Page {
    /// The HTML document.
    pub fn render(&self) -> String {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="generator" content={ "borgsim " (env!("CARGO_PKG_VERSION")) };
                    title { (self.title) }
                    style { (PreEscaped(html::STYLE)) }
                }
                body {
                    header {
                        h1 { (self.title) }
                        div.lede { (self.lede) }
                        nav aria-label="Sections" {
                            ol {
                                @for s in &self.sections {
                                    li { a href={ "#" (s.id) } { (s.title) } }
                                }
                            }
                        }
                    }
                    main {
                        @for s in &self.sections {
                            section id=(s.id) {
                                h2 { (s.title) }
                                (s.body)
                            }
                        }
                    }
                    footer { (self.footer) }
                }
            }
        }
        .into_string()
    }

    /// Writes the page to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.render()).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Whether a page's plots are drawn, and if not, why.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Plots {
    Drawn,
    /// `--no-plots`.
    NotRequested,
    /// borgsim was built without the `plots` feature.
    NotBuilt,
}

impl Plots {
    /// What the command line asked for, given how borgsim was built.
    pub fn wanted(draw: bool) -> Plots {
        if !cfg!(feature = "plots") {
            Plots::NotBuilt
        } else if draw {
            Plots::Drawn
        } else {
            Plots::NotRequested
        }
    }

    /// Why plots are missing, as a sentence; `None` when they are drawn.
    pub fn missing(self) -> Option<&'static str> {
        match self {
            Plots::Drawn => None,
            Plots::NotRequested => Some("Plots were not drawn: the run was given --no-plots."),
            Plots::NotBuilt => {
                Some("Plots were not built: this borgsim was compiled without the `plots` feature.")
            }
        }
    }

    /// The chart as a figure: the plot inline as SVG, or its title and why
    /// it is not drawn. `path` names the page in a rendering error.
    pub fn figure(self, chart: &Chart, notes: Markup, path: &Path) -> Result<Markup> {
        self.figure_as(chart.id, chart, notes, path)
    }

    /// [`Plots::figure`], or, for a chart with nothing to show
    /// ([`Chart::is_empty`]: a series of zeros), the one line `empty` in
    /// its place (`no evictions`), whether or not plots are drawn.
    pub fn figure_or_note(
        self,
        chart: &Chart,
        notes: Markup,
        empty: &str,
        path: &Path,
    ) -> Result<Markup> {
        if chart.is_empty() {
            return Ok(html! { p.empty-plot id={ "fig-" (chart.id) } { (empty) } });
        }
        self.figure(chart, notes, path)
    }

    /// [`Plots::figure`] with the figure's anchor `fig-<id>` given: for
    /// pages whose charts are made per item of their data (a sweep's
    /// parameters), so their ids are not known when borgsim is compiled.
    pub fn figure_as(self, id: &str, chart: &Chart, notes: Markup, path: &Path) -> Result<Markup> {
        let picture = match self.missing() {
            None => PreEscaped(svg(chart, path)?),
            Some(why) => html! { p.no-plot { (why) } },
        };
        Ok(html! {
            figure.plot id={ "fig-" (id) } {
                (picture)
                figcaption { strong { (chart.title) } " " (notes) }
            }
        })
    }
}

#[cfg(feature = "plots")]
fn svg(chart: &Chart, path: &Path) -> Result<String> {
    let svg = draw::svg(chart).map_err(|message| Error::Plot {
        path: path.to_path_buf(),
        message,
    })?;
    // Inline SVG needs no XML prolog or namespace; a page carries no URL.
    let svg = svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1);
    Ok(svg)
}

#[cfg(not(feature = "plots"))]
fn svg(_: &Chart, _: &Path) -> Result<String> {
    unreachable!("plots are never Drawn without the plots feature")
}

/// Writes `chart` as a PNG file (feature `plots`).
#[cfg(feature = "plots")]
pub fn png(chart: &Chart, path: &Path) -> Result<()> {
    let tmp = crate::metrics::report::temp_path(path);
    draw::png(chart, &tmp).map_err(|message| Error::Plot {
        path: path.to_path_buf(),
        message,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
