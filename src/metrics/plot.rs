//! PNG plots of a run, rendered with plotters and an embedded font (DejaVu
//! Sans, via the `dejavu` crate), so they render on a machine without any
//! system fonts.
//!
//! - `utilization.png`: CPU and memory allocated, stacked by band, over time;
//! - `pending.png`: pending tasks by band over time;
//! - `wait_cdf.png`: CDF of submission → first start, prod vs non-prod.
//!
//! The series plots draw the samples the run kept in memory: every one of
//! a series of up to `timeseries::KEPT_SAMPLES_MAX`, else an evenly
//! thinned copy, so plotting a run of 10⁹ samples costs what 16,384 do;
//! the wait CDF draws a point per bucket of the wait histogram once there
//! are more waits than `waits::EXACT_LIMIT` (`Waits::cdf_points`).

use super::report::temp_path;
use crate::error::{Error, Result};
use crate::metrics::timeseries::Sample;
use crate::sim::Simulation;
use crate::workload::Band;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 560);
/// The wait CDF's log axis starts here (1 ms); shorter waits are drawn at it.
const MIN_WAIT_S: f64 = 1e-3;

fn band_color(b: Band) -> RGBColor {
    match b {
        Band::Monitoring => RGBColor(148, 103, 189),
        Band::Production => RGBColor(31, 119, 180),
        Band::Batch => RGBColor(255, 127, 14),
        Band::BestEffort => RGBColor(44, 160, 44),
    }
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu font is valid"));
    });
}

/// Renders every plot into `out`; returns the files written.
pub fn render_all(out: &Path, sim: &Simulation) -> Result<Vec<PathBuf>> {
    register_font();
    let mut files = Vec::new();
    for (name, draw) in [
        (
            "utilization.png",
            utilization as fn(&Path, &Simulation) -> std::result::Result<(), String>,
        ),
        ("pending.png", pending),
        ("wait_cdf.png", wait_cdf),
    ] {
        let path = out.join(name);
        let tmp = temp_path(&path);
        draw(&tmp, sim).map_err(|message| Error::Plot {
            path: path.clone(),
            message,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        files.push(path);
    }
    Ok(files)
}

/// Draws the series legend in a white box at `pos`.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    pos: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(pos)
        .draw()
        .map_err(|e| e.to_string())
}

fn hours(us: u64) -> f64 {
    us as f64 / 3.6e9
}

fn utilization(path: &Path, sim: &Simulation) -> std::result::Result<(), String> {
    // Every sample, or an evenly thinned copy of a long series (bounded).
    let s: Vec<&Sample> = sim.series().samples().collect();
    let cap = sim.state().cell().total_capacity().res;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((2, 1));
    let t_max = hours(s.last().map_or(1, |x| x.time_us)).max(1e-6);
    for (panel, (label, capacity, pick)) in panels.iter().zip([
        ("CPU allocated", cap.cpu_milli, 0usize),
        ("Memory allocated", cap.mem_mib, 1usize),
    ]) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{label} by band (fraction of cell)"), (FONT, 18))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..t_max, 0.0..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("simulated hours")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        // Stack from the highest band down, so prod sits at the bottom.
        let mut below = vec![0.0f64; s.len()];
        for band in Band::ALL.iter().rev() {
            let top: Vec<f64> = s
                .iter()
                .zip(&below)
                .map(|(x, b)| {
                    let v = if pick == 0 {
                        x.cpu_milli[band.index()]
                    } else {
                        x.mem_mib[band.index()]
                    };
                    b + v as f64 / capacity.max(1) as f64
                })
                .collect();
            let poly: Vec<(f64, f64)> = s
                .iter()
                .zip(&top)
                .map(|(x, y)| (hours(x.time_us), *y))
                .chain(
                    s.iter()
                        .zip(&below)
                        .rev()
                        .map(|(x, y)| (hours(x.time_us), *y)),
                )
                .collect();
            let color = band_color(*band);
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    color.mix(0.75).filled(),
                )))
                .map_err(|e| e.to_string())?
                .label(band.name())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            below = top;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn pending(path: &Path, sim: &Simulation) -> std::result::Result<(), String> {
    // Every sample, or an evenly thinned copy of a long series (bounded).
    let s: Vec<&Sample> = sim.series().samples().collect();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let t_max = hours(s.last().map_or(1, |x| x.time_us)).max(1e-6);
    let y_max = s
        .iter()
        .flat_map(|x| x.pending.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("Pending tasks by band", (FONT, 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("simulated hours")
        .y_desc("tasks")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 12))
        .draw()
        .map_err(|e| e.to_string())?;
    for band in Band::ALL.iter().rev() {
        let color = band_color(*band);
        let pts = s
            .iter()
            .map(|x| (hours(x.time_us), x.pending[band.index()] as f64));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(band.name())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(|e| e.to_string())
}

fn wait_cdf(path: &Path, sim: &Simulation) -> std::result::Result<(), String> {
    let l = sim.state().ledger();
    let collect = |prod: bool| {
        let parts: Vec<_> = Band::ALL
            .iter()
            .filter(|b| b.is_prod() == prod)
            .map(|b| &l.wait_us[b.index()])
            .collect();
        // (wait, rank) points: bounded however many tasks waited.
        crate::metrics::waits::Waits::merged(&parts).cdf_points()
    };
    let series = [
        ("prod", collect(true), band_color(Band::Production)),
        ("non-prod", collect(false), band_color(Band::Batch)),
    ];
    let x_max = series
        .iter()
        .filter_map(|(_, v, _)| v.last().map(|(w, _)| *w))
        .max()
        .map_or(1.0, |m| (m as f64 / 1e6).max(MIN_WAIT_S * 10.0));
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Wait from submission to first start (CDF)", (FONT, 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d((MIN_WAIT_S..x_max).log_scale(), 0.0..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("wait (simulated seconds, log scale; waits under 1 ms drawn at 1 ms)")
        .y_desc("fraction of started tasks")
        .label_style((FONT, 12))
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, v, color) in series {
        if v.is_empty() {
            continue;
        }
        let n = v.last().map_or(0, |(_, rank)| *rank);
        let pts = v
            .iter()
            .map(|(w, rank)| (*w as f64 / 1e6, *rank as f64 / n as f64));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("{name} (n={n})"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().map_err(|e| e.to_string())
}
