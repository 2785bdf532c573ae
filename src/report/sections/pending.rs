//! "Pending tasks": how many tasks of each band waited for a machine over
//! time, and, for those still pending at the end, where they stand and
//! why — `pending.csv` counted by status and by main reason. Also the
//! run's `pending.png`.

use super::{band_color, instant_note, samples, xs};
use crate::error::Result;
use crate::report::chart::{count_axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch};
use crate::report::html::{count, num};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::{html, Markup};

const HELD: Rgb = Rgb(110, 110, 110);

pub fn chart(v: &RunView) -> Chart {
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    let mut peak = 0u64;
    for band in Band::ALL.iter().rev() {
        let i = band.index();
        let s = samples(v, |x| x.pending[i]);
        peak = s.iter().map(|x| x.pending[i]).fold(peak, u64::max);
        let points = xs(v, &s)
            .into_iter()
            .zip(s.iter().map(|x| x.pending[i] as f64))
            .collect();
        layers.push(Layer::Line {
            color: band_color(*band),
            points,
            dashed: false,
        });
        legend.push(LegendEntry::new(
            band.name(),
            band_color(*band),
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

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let t = v.pending;
    let notes = html! {
        "Tasks waiting in the cell's queue, by band"
        @if v.sim.series().samples().any(|x| x.held > 0) { "; dashed: tasks a trace replay holds outside the cell (waiting for a DAG parent)" }
        ". " (instant_note(v))
    };
    let body = html! {
        (v.figure(&chart(v), notes)?)
        h3 { "Still pending at the end" }
        @if t.by_status.is_empty() {
            p { "No task was pending at the end." }
        } @else {
            (by_band("pending-status", "status", &t.by_status))
            p.note {
                "By main reason: the reason that turned away the most machines at the task's last attempt "
                "(for a task no machine could ever host, the check most machines fail); a task never attempted "
                "is listed under its status. " a href="pending.csv" { "pending.csv" }
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
