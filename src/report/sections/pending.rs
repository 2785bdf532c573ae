//! "Pending tasks": how many tasks of each band waited for a machine over
//! time (bands never pending left out; a line saying so in place of the
//! plot when no task was), and, for those still pending at the end, where
//! they stand and why — `pending.csv` counted by status and by main
//! reason. Also the run's `pending.png`.

use super::{band_color, instant_note, samples, xs};
use crate::error::Result;
use crate::report::chart::{count_axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch};
use crate::report::html::{at, count, num};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::{html, Markup};

const HELD: Rgb = Rgb(110, 110, 110);

/// Whether band `i` had tasks pending at some sample.
fn ever_pending(v: &RunView, i: usize) -> bool {
    v.sim.series().samples().any(|x| x.pending[i] > 0)
}

/// Bands pending at some sample, high to low; all of them (flat) when
/// none was, so that the PNG still shows each band at 0.
fn shown(v: &RunView) -> Vec<Band> {
    let all = Band::ALL.iter().rev().copied();
    let pending: Vec<Band> = all.clone().filter(|b| ever_pending(v, b.index())).collect();
    if pending.is_empty() {
        all.collect()
    } else {
        pending
    }
}

pub fn chart(v: &RunView) -> Chart {
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    let mut peak = 0u64;
    for band in shown(v) {
        let i = band.index();
        let s = samples(v, |x| x.pending[i]);
        peak = s.iter().map(|x| x.pending[i]).fold(peak, u64::max);
        let points = xs(v, &s)
            .into_iter()
            .zip(s.iter().map(|x| x.pending[i] as f64))
            .collect();
        layers.push(Layer::Line {
            color: band_color(band),
            points,
            dashed: false,
        });
        legend.push(LegendEntry::new(
            band.name(),
            band_color(band),
            Swatch::Line,
        ));
    }
    if v.sim.series().samples().any(|x| x.held > 0) {
        let s = samples(v, |x| x.held);
        peak = s.iter().map(|x| x.held).fold(peak, u64::max);
        let points = xs(v, &s)
            .into_iter()
            .zip(s.iter().map(|x| x.held as f64))
            .collect();
        layers.push(Layer::Line {
            color: HELD,
            points,
            dashed: true,
        });
        legend.push(LegendEntry::new(
            "held outside the cell",
            HELD,
            Swatch::Dashed,
        ));
    }
    Chart {
        id: "pending",
        title: v.title("Pending tasks by band"),
        panels: vec![Panel {
            caption: String::new(),
            x: v.time_unit().axis(v.end_s()),
            y: count_axis("pending tasks", peak as f64),
            layers,
        }],
        legend,
    }
}

/// A table of (name, count per band) rows, bands high to low, with totals.
fn by_band(id: &str, what: &str, rows: &[(&'static str, [u64; 4])]) -> Markup {
    html! {
        table id=(id) {
            thead { tr {
                th { (what) }
                @for b in Band::ALL.iter().rev() { th.num { (b.name()) } }
                th.num { "total" }
            } }
            tbody {
                @for (name, n) in rows {
                    tr {
                        td { code { (name) } }
                        @for b in Band::ALL.iter().rev() { (num(count(n[b.index()]))) }
                        (num(count(n.iter().sum())))
                    }
                }
            }
        }
    }
}

/// The line in place of a plot of zeros: exact when no task waited at
/// all (no wait above 0, none left waiting, no eviction putting a task
/// back in the queue); otherwise all that is known is the samples.
fn nothing_pending(v: &RunView) -> String {
    let s = &v.summary;
    let waited = Band::ALL.iter().any(|b| {
        let w =
            |k: &str| at(s, &format!("by_band.{}.wait_us.{k}", b.name())).and_then(|x| x.as_u64());
        w("max").unwrap_or(0) > 0 || w("never_started").unwrap_or(0) > 0
    });
    let evicted = at(s, "tasks.evicted").and_then(|x| x.as_u64()).unwrap_or(0) > 0;
    if waited || evicted {
        format!(
            "No task was pending at any sample (one every {} s of simulated time), so there is \
             nothing to plot; Waits below has how long tasks waited.",
            v.scenario.sample_interval_s
        )
    } else {
        "No task was ever pending: none waited for a machine.".into()
    }
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let t = v.pending;
    let never: Vec<&str> = Band::ALL
        .iter()
        .rev()
        .filter(|b| !ever_pending(v, b.index()))
        .map(|b| b.name())
        .collect();
    let notes = html! {
        "Tasks waiting in the cell's queue, by band"
        @if v.sim.series().samples().any(|x| x.held > 0) { "; dashed: tasks a trace replay holds outside the cell (waiting for a DAG parent)" }
        ". "
        @if !never.is_empty() { "Never pending at a sample, so left out: " (never.join(", ")) ". " }
        (instant_note(v))
    };
    let body = html! {
        (v.figure_or_note(&chart(v), notes, &nothing_pending(v))?)
        h3 { "Still pending at the end" }
        @if t.by_status.is_empty() {
            p { "No task was pending at the end." }
        } @else {
            (by_band("pending-status", "status", &t.by_status))
            p.note {
                "By main reason: the reason that turned away the most machines at the task's last attempt "
                "(for a task no machine could ever host, the check most machines fail); a task without reasons "
                "(never attempted, or held back by the reschedule rate limit) is listed under its status. " a href="pending.csv" { "pending.csv" }
                " has every task with every reason and a sentence saying why."
            }
            (by_band("pending-reason", "main reason", &t.by_reason))
        }
    };
    Ok(Some(Section {
        id: "pending",
        title: "Pending tasks".into(),
        body,
    }))
}
