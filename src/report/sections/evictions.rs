//! "Evictions": evictions so far by cause over time (from the time
//! series' per-cause counts) — a line saying so in place of the plot when
//! nothing was evicted — and the totals by cause and by band.

use super::{instant_note, samples, xs};
use crate::cell::state::EvictionCause;
use crate::error::Result;
use crate::metrics::reclamation;
use crate::report::chart::{color, count_axis, Chart, Layer, LegendEntry, Panel, Swatch};
use crate::report::html::{value_cell, Unit};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::html;

pub fn chart(v: &RunView) -> Chart {
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    let mut peak = 0u64;
    // Causes that evicted anything (none: the page says so instead).
    let last = v
        .sim
        .series()
        .samples()
        .last()
        .map(|x| x.evictions)
        .unwrap_or_default();
    for (i, cause) in EvictionCause::ALL.iter().enumerate() {
        let c = *cause as usize;
        if last[c] == 0 {
            continue;
        }
        let s = samples(v, |x| x.evictions[c]);
        peak = s.iter().map(|x| x.evictions[c]).fold(peak, u64::max);
        let points = xs(v, &s)
            .into_iter()
            .zip(s.iter().map(|x| x.evictions[c] as f64))
            .collect();
        layers.push(Layer::Line {
            color: color(i),
            points,
            dashed: false,
        });
        let label = format!("{}: {}", cause.name(), crate::report::html::count(last[c]));
        legend.push(LegendEntry::new(label, color(i), Swatch::Line));
    }
    Chart {
        id: "evictions",
        title: v.title("Evictions by cause, cumulative"),
        panels: vec![Panel {
            caption: String::new(),
            x: v.time_unit().axis(v.end_s()),
            y: count_axis("evictions so far", peak as f64),
            layers,
        }],
        legend,
    }
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let notes = html! {
        "Evictions since the start, by cause (a task evicted twice counts twice); causes that evicted nothing are left out. " (instant_note(v))
    };
    let body = html! {
        (v.figure_or_note(&chart(v), notes, "No task was evicted.")?)
        table id="evictions-by-cause" {
            thead { tr { th { "cause" } th.num { "evictions" } } }
            tbody {
                @for c in EvictionCause::ALL.iter().filter(|c| reclamation::cause_reported(v.sim.state(), **c)) {
                    tr { td { code { (c.name()) } } (value_cell(&v.summary, &format!("evictions.{}", c.name()), Unit::Count)) }
                }
            }
        }
        table id="evicted-by-band" {
            thead { tr { th { "band" } th.num { "tasks evicted at least once" } } }
            tbody {
                @for b in Band::ALL.iter().rev() {
                    tr { td { (b.name()) } (value_cell(&v.summary, &format!("by_band.{}.tasks_evicted", b.name()), Unit::Count)) }
                }
            }
        }
    };
    Ok(Some(Section {
        id: "evictions",
        title: "Evictions".into(),
        body,
    }))
}
