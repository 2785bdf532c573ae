//! "Allocation by band": CPU, memory and — for cells with GPUs — GPU
//! allocated to running tasks over time, stacked by band, as a share of
//! the cell's capacity (a line saying so in place of the plot when nothing
//! was). Also the run's `utilization.png`.

use super::{band_color, instant_note, samples, xs};
use crate::error::Result;
use crate::metrics::timeseries::Sample;
use crate::report::chart::{percent_axis, Chart, Layer, LegendEntry, Panel, Swatch};
use crate::report::html::at;
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::html;

/// A resource: its name, the cell's capacity of it, and a sample's
/// allocation of it per band.
type Dim = (&'static str, u64, fn(&Sample) -> [u64; 4]);

pub fn chart(v: &RunView) -> Chart {
    let cap = v.sim.state().cell().total_capacity();
    let mut dims: Vec<Dim> = vec![
        ("CPU", cap.res.cpu_milli, |s| s.cpu_milli),
        ("memory", cap.res.mem_mib, |s| s.mem_mib),
    ];
    if cap.gpus > 0 {
        dims.push(("GPU", cap.gpu_milli(), |s| s.gpu_milli));
    }
    let allocated = |b: &Band| {
        v.sim
            .series()
            .samples()
            .any(|s| dims.iter().any(|(_, _, pick)| pick(s)[b.index()] > 0))
    };
    // Bands with an allocation to show; all of them when none has one.
    let mut shown: Vec<Band> = Band::ALL.iter().rev().copied().filter(allocated).collect();
    if shown.is_empty() {
        shown = Band::ALL.iter().rev().copied().collect();
    }
    Chart {
        id: "allocation",
        title: v.title("Allocation by band"),
        panels: dims.iter().map(|d| panel(v, *d)).collect(),
        legend: shown
            .into_iter()
            .map(|b| LegendEntry::new(b.name(), band_color(b), Swatch::Area))
            .collect(),
    }
}

/// The line in place of a plot of zeros.
pub fn nothing_allocated(v: &RunView) -> String {
    let ran = at(&v.summary, "tasks.scheduled")
        .and_then(|x| x.as_u64())
        .unwrap_or(0)
        > 0;
    if ran {
        format!(
            "No task was running at any sample (one every {} s of simulated time), so there is \
             nothing to plot.",
            v.scenario.sample_interval_s
        )
    } else {
        "No task ever ran, so nothing was allocated.".into()
    }
}

fn panel(v: &RunView, (name, capacity, pick): Dim) -> Panel {
    let s = samples(v, |x| pick(x).iter().sum());
    let x = xs(v, &s);
    let pct = |n: u64| n as f64 * 100.0 / capacity.max(1) as f64;
    let mut below = vec![0.0; s.len()];
    let mut layers = Vec::new();
    // Stacked from the highest band up, so prod sits at the bottom.
    for band in Band::ALL.iter().rev() {
        let top: Vec<f64> = s
            .iter()
            .zip(&below)
            .map(|(x, b)| b + pct(pick(x)[band.index()]))
            .collect();
        layers.push(Layer::Area {
            color: band_color(*band),
            top: x.iter().copied().zip(top.iter().copied()).collect(),
            bottom: x.iter().copied().zip(below.iter().copied()).collect(),
        });
        below = top;
    }
    let peak = below.iter().copied().fold(0.0, f64::max);
    Panel {
        caption: name.to_string(),
        x: v.time_unit().axis(v.end_s()),
        y: percent_axis(&format!("{name} allocated (% of cell)"), peak),
        layers,
    }
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let chart = chart(v);
    let notes = html! {
        "Stacked by band, the highest at the bottom: the top of a colour is that band plus those below it; "
        "bands with nothing allocated are left out of the legend. "
        "Sampled every " (v.scenario.sample_interval_s) " s of simulated time; "
        a href="timeseries.csv" { "timeseries.csv" } " has every sample. " (instant_note(v))
    };
    let body = v.figure_or_note(&chart, notes, &nothing_allocated(v))?;
    Ok(Some(Section {
        id: "allocation",
        title: "Allocation by band".into(),
        body,
    }))
}
