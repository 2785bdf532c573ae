//! "Waits": the distribution of waits from entering the cell to the first
//! start, prod and non-prod, as CDFs over every task that entered the
//! cell — including those that never started. Their waits are censored:
//! each had waited (the run's end − when it entered) and would wait
//! longer, so the curve stops short of 1 by their share, and a tick on
//! the curve marks how long each had waited (at most 200 ticks a curve,
//! spread over them). Also the run's `wait_cdf.png`.

use super::band_color;
use crate::cell::state::TaskState;
use crate::error::Result;
use crate::metrics::waits::Waits;
use crate::report::chart::{
    envelope, Axis, Chart, Layer, LegendEntry, Panel, Swatch, Ticks, MAX_POINTS,
};
use crate::report::html::count;
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::html;

/// The wait axis starts at 1 ms; shorter waits are drawn there.
const MIN_WAIT_S: f64 = 1e-3;
/// At most this many censoring ticks a curve.
const MAX_MARKS: usize = 200;

/// One group's curve: started waits as (µs, rank) and censored waits (µs).
struct Curve {
    cdf: Vec<(u64, u64)>,
    censored: Vec<u64>,
}

impl Curve {
    fn of(v: &RunView, prod: bool) -> Curve {
        let st = v.sim.state();
        let l = st.ledger();
        let parts: Vec<&Waits> = Band::ALL
            .iter()
            .filter(|b| b.is_prod() == prod)
            .map(|b| &l.wait_us[b.index()])
            .collect();
        let end = v.sim.end_time();
        let mut censored: Vec<u64> = st
            .live_tasks()
            .filter(|(_, r)| r.state == TaskState::Pending && r.first_start.is_none())
            .filter(|(_, r)| st.job(r.job).band().is_prod() == prod)
            .map(|(_, r)| end.as_us().saturating_sub(r.pending_since.as_us()))
            .collect();
        censored.sort_unstable();
        Curve {
            cdf: Waits::merged(&parts).cdf_points(),
            censored,
        }
    }

    fn started(&self) -> u64 {
        self.cdf.last().map_or(0, |p| p.1)
    }

    fn entered(&self) -> u64 {
        self.started() + self.censored.len() as u64
    }

    /// The share of tasks that entered and started within `wait_us`.
    fn at(&self, wait_us: u64) -> f64 {
        let i = self.cdf.partition_point(|p| p.0 <= wait_us);
        let rank = if i == 0 { 0 } else { self.cdf[i - 1].1 };
        rank as f64 / self.entered().max(1) as f64
    }

    fn longest_s(&self) -> f64 {
        let a = self.cdf.last().map_or(0, |p| p.0);
        let b = self.censored.last().copied().unwrap_or(0);
        a.max(b) as f64 / 1e6
    }
}

pub fn chart(v: &RunView) -> Chart {
    let groups = [
        ("prod", Curve::of(v, true), band_color(Band::Production)),
        ("non-prod", Curve::of(v, false), band_color(Band::Batch)),
    ];
    let longest = groups.iter().map(|g| g.1.longest_s()).fold(0.0, f64::max);
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    for (name, c, color) in &groups {
        let n = c.entered().max(1) as f64;
        let kept = envelope(c.cdf.len(), MAX_POINTS, |i| c.cdf[i].1 as f64);
        let points = kept
            .iter()
            .map(|&i| (c.cdf[i].0 as f64 / 1e6, c.cdf[i].1 as f64 / n))
            .collect();
        layers.push(Layer::Line {
            color: *color,
            points,
            dashed: false,
        });
        let marks = envelope(c.censored.len(), MAX_MARKS, |i| c.censored[i] as f64)
            .into_iter()
            .map(|i| (c.censored[i] as f64 / 1e6, c.at(c.censored[i])))
            .collect();
        layers.push(Layer::Marks {
            color: *color,
            points: marks,
        });
        let label = format!(
            "{name}: {} started, {} never started",
            count(c.started()),
            count(c.censored.len() as u64)
        );
        legend.push(LegendEntry::new(label, *color, Swatch::Line));
    }
    legend.push(LegendEntry::new(
        "never started: waited this long by the end (censored)",
        crate::report::chart::Rgb(60, 60, 60),
        Swatch::Mark,
    ));
    Chart {
        id: "waits",
        title: v.title("Wait from entering the cell to first start (CDF)"),
        panels: vec![Panel {
            caption: String::new(),
            x: Axis {
                label: "wait (simulated time, log scale; under 1 ms drawn at 1 ms)".into(),
                min: MIN_WAIT_S,
                max: (longest * 1.5).max(MIN_WAIT_S * 10.0),
                log: true,
                ticks: Ticks::Duration,
            },
            y: Axis {
                label: "share of tasks that entered the cell".into(),
                min: 0.0,
                max: 1.0,
                log: false,
                ticks: Ticks::Number,
            },
            layers,
        }],
        legend,
    }
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let notes = html! {
        "Each curve counts the tasks that started and those still waiting at the end (tasks withdrawn before they started are left out): "
        "a curve ending below 1 has tasks that never started, whose waits are censored at the end of the run "
        "(ticks on the curve: how long each had waited). "
        "Tasks a trace replay holds outside the cell have not entered it. Percentiles per band are under "
        a href="#bands" { "Per band" } "."
    };
    let body = v.figure(&chart(v), notes)?;
    Ok(Some(Section {
        id: "waits",
        title: "Waits".into(),
        body,
    }))
}
