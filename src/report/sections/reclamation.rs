//! "Usage and reclamation" (only when the run kept usage books:
//! `[reclamation]` measuring or on): per resource, the usage, reservations
//! and allocation (limits) of the running tasks against the cell's
//! current capacity over time — all bands and prod alone — and the
//! figures of summary.json's `reclamation`, each with what it means.
//!
//! Grouped by prod and non-prod rather than stacked per band: reclamation
//! is a prod/non-prod matter (prod is admitted against limits, non-prod
//! against reservations), and three measures stacked over four bands
//! would hide the comparison the plot is for — usage below reservation
//! below allocation, against capacity. All bands are solid lines, prod
//! alone dashed, so non-prod is the gap between the two.

use super::{instant_note, samples, xs};
use crate::error::Result;
use crate::metrics::timeseries::{Sample, UsageSample};
use crate::report::chart::{color, percent_axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch};
use crate::report::html::{value_cell, Unit};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::html;

/// What a line measures, per band.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Measure {
    /// The running tasks' limits (the `cpu_milli_<band>` columns).
    Allocation,
    Reservation,
    Usage,
}

impl Measure {
    const ALL: [Measure; 3] = [Measure::Allocation, Measure::Reservation, Measure::Usage];

    fn label(self) -> &'static str {
        match self {
            Measure::Allocation => "allocation (limits)",
            Measure::Reservation => "reservation",
            Measure::Usage => "usage",
        }
    }

    fn color(self) -> Rgb {
        color(self as usize)
    }

    /// Resource `d` (0 CPU in milli-cores, 1 memory in MiB) per band.
    fn by_band(self, s: &Sample, u: &UsageSample, d: usize) -> [u64; 4] {
        let dim =
            |r: [crate::cell::resources::Resources; 4]| r.map(|x| [x.cpu_milli, x.mem_mib][d]);
        match self {
            Measure::Allocation => [s.cpu_milli, s.mem_mib][d],
            Measure::Reservation => dim(u.reserved),
            Measure::Usage => dim(u.usage),
        }
    }
}

/// The capacity line's colour.
const CAPACITY: Rgb = Rgb(127, 127, 127);

/// A line of each panel: the capacity, or a measure summed over all
/// bands or over prod's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Line {
    Capacity,
    All(Measure),
    Prod(Measure),
}

impl Line {
    /// Capacity, then each measure for all bands and for prod alone.
    fn all() -> Vec<Line> {
        let mut out = vec![Line::Capacity];
        for m in Measure::ALL {
            out.extend([Line::All(m), Line::Prod(m)]);
        }
        out
    }

    fn legend(self) -> LegendEntry {
        match self {
            Line::Capacity => LegendEntry::new("capacity (machines up)", CAPACITY, Swatch::Line),
            Line::All(m) => {
                LegendEntry::new(format!("{}, all bands", m.label()), m.color(), Swatch::Line)
            }
            Line::Prod(m) => {
                LegendEntry::new(format!("{}, prod", m.label()), m.color(), Swatch::Dashed)
            }
        }
    }

    /// Its value at sample `s` in resource `d`'s unit.
    fn value(self, s: &Sample, u: &UsageSample, d: usize) -> u64 {
        match self {
            Line::Capacity => [u.capacity.cpu_milli, u.capacity.mem_mib][d],
            Line::All(m) => m.by_band(s, u, d).iter().sum(),
            Line::Prod(m) => {
                let v = m.by_band(s, u, d);
                Band::ALL
                    .iter()
                    .filter(|b| b.is_prod())
                    .map(|b| v[b.index()])
                    .sum()
            }
        }
    }
}

/// The usage sample of a run that kept usage books.
fn usage_of(s: &Sample) -> &UsageSample {
    s.usage
        .as_ref()
        .expect("every sample of a run with usage books has them")
}

pub fn chart(v: &RunView) -> Chart {
    let cap = v.sim.state().cell().total_capacity().res;
    let lines = Line::all();
    let dims = [("CPU", cap.cpu_milli), ("memory", cap.mem_mib)];
    let s = samples(v, |x| usage_of(x).usage.iter().map(|r| r.cpu_milli).sum());
    let x = xs(v, &s);
    let mut shown = vec![false; lines.len()];
    let mut panels = Vec::new();
    for (d, (name, full)) in dims.into_iter().enumerate() {
        let pct = |n: u64| n as f64 * 100.0 / full.max(1) as f64;
        let mut layers = Vec::new();
        let mut peak = 0.0f64;
        for (i, l) in lines.iter().enumerate() {
            let ys: Vec<f64> = s.iter().map(|p| pct(l.value(p, usage_of(p), d))).collect();
            shown[i] |= ys.iter().any(|y| *y > 0.0);
            peak = ys.iter().copied().fold(peak, f64::max);
            let e = l.legend();
            layers.push(Layer::Line {
                color: e.color,
                points: x.iter().copied().zip(ys).collect(),
                dashed: e.swatch == Swatch::Dashed,
            });
        }
        panels.push(Panel {
            caption: name.to_string(),
            x: v.time_unit().axis(v.end_s()),
            y: percent_axis(&format!("{name} (% of full cell capacity)"), peak),
            layers,
        });
    }
    let legend = lines
        .iter()
        .zip(shown)
        .filter(|(_, s)| *s)
        .map(|(l, _)| l.legend())
        .collect();
    Chart {
        id: "usage",
        title: v.title("Usage, reservation, allocation and capacity"),
        panels,
        legend,
    }
}

/// summary.json's `reclamation` figures the table shows: key, unit, label
/// and what it means.
const FIGURES: &[(&str, Unit, &str, &str)] = &[
    ("reclamation.mode", Unit::Text, "mode",
     "measure: usage and reservations kept, scheduling by limits; on: non-prod admitted against reservations."),
    ("reclamation.reclaimed_share.cpu", Unit::Fraction, "CPU allocation on reclaimed resources",
     "Of the CPU held by running tasks' limits over the run, the share held beyond machines' capacity: \
      non-prod work running in what prod reserved but did not use (0 unless on)."),
    ("reclamation.reclaimed_share.mem", Unit::Fraction, "memory allocation on reclaimed resources",
     "The same for memory."),
    ("reclamation.usage_utilization.cpu.total", Unit::Fraction, "CPU used",
     "CPU actually used, time-weighted, as a share of the cell's capacity: what reclamation raises."),
    ("reclamation.usage_utilization.mem.total", Unit::Fraction, "memory used",
     "The same for memory."),
    ("reclamation.throttled_cpu_core_s", Unit::Rate, "CPU throttled, core-seconds",
     "CPU tasks would have used but did not get because their machine's usage exceeded its capacity \
      (lowest priority first, never prod): what reclamation costs in speed."),
    ("reclamation.oom_kills", Unit::Count, "killed for memory",
     "Tasks killed because their machine's memory usage outgrew its capacity, lowest priority first \
      (never prod), then queued again: what reclamation costs in lost work."),
    ("reclamation.oom_kills_per_task_week", Unit::Rate, "killed for memory per task-week",
     "Those kills over the task-weeks that ran: ∫ running tasks dt (all bands) / 7 days; one task \
      running a week is one task-week."),
];

pub fn section(v: &RunView) -> Result<Option<Section>> {
    if v.sim.state().usage_books().is_none() {
        return Ok(None);
    }
    let notes = html! {
        "Per resource, as a share of the cell's full capacity: the running tasks' usage, their reservations "
        "(the limit for a while after each start, then decaying toward usage plus a margin) and their "
        "allocation (limits), all bands as solid lines and prod alone dashed — non-prod is the gap between "
        "them — against the capacity of the machines up. Grouped by prod and non-prod rather than per band: "
        "prod is admitted against limits and non-prod against reservations, which is what reclamation turns on. "
        "Sampled every " (v.scenario.sample_interval_s) " s of simulated time; "
        a href="timeseries.csv" { "timeseries.csv" } " has every sample, per band. " (instant_note(v))
    };
    let body = html! {
        (v.figure_or_note(&chart(v), notes, "No task ran, so nothing was used or reserved.")?)
        table id="reclamation-figures" {
            thead { tr { th { "figure" } th.num { "value" } th { "what it means" } } }
            tbody {
                @for (key, unit, label, meaning) in FIGURES {
                    tr { th scope="row" { (label) } (value_cell(&v.summary, key, *unit)) td { (meaning) } }
                }
            }
        }
        p.note { "From " a href="summary.json" { "summary.json" } "'s " code { "reclamation" }
            " (per band there too), computed from exact integrals, not from the samples above." }
    };
    Ok(Some(Section {
        id: "reclamation",
        title: "Usage and reclamation".into(),
        body,
    }))
}
