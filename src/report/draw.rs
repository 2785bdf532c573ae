//! Renders a [`Chart`] with plotters (feature `plots`): as an SVG string
//! for the page, or as a PNG file for the run directory, by one function
//! generic over the backend, so both pictures are the same.
//!
//! Layout, top to bottom: the title; the panels, sharing the width; the
//! legend, laid out in rows below the plot areas so that it never covers
//! data. Text is measured with the embedded DejaVu Sans (the `dejavu`
//! crate), so the layout and the PNGs do not depend on the machine's fonts;
//! the SVG names a sans-serif font and lets the browser draw it.

use super::chart::{Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
const TITLE_H: u32 = 40;
const PANEL_H: u32 = 280;
const LEGEND_ROW_H: u32 = 22;
const LEGEND_FONT: u32 = 14;
/// Swatch, gap after it, gap after an entry; and the legend's side margin.
const SWATCH_W: u32 = 26;
const ENTRY_GAP: u32 = 26;
const LEGEND_MARGIN: u32 = 80;

type Res<T> = std::result::Result<T, String>;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu font is valid"));
    });
}

/// The chart as an SVG document (`<svg …>…</svg>`).
pub fn svg(chart: &Chart) -> Res<String> {
    register_font();
    let rows = legend_rows(&chart.legend)?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(chart, rows.len())).into_drawing_area();
        draw(&root, chart, &rows)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The chart as a PNG file at `path`.
pub fn png(chart: &Chart, path: &Path) -> Res<()> {
    register_font();
    let rows = legend_rows(&chart.legend)?;
    let root = BitMapBackend::new(path, size(chart, rows.len())).into_drawing_area();
    draw(&root, chart, &rows)?;
    root.present().map_err(|e| e.to_string())
}

fn size(chart: &Chart, legend_rows: usize) -> (u32, u32) {
    let panels = chart.panels.len().max(1) as u32;
    let legend = legend_rows as u32 * LEGEND_ROW_H + 12;
    (WIDTH, TITLE_H + panels * PANEL_H + legend)
}

/// The legend's entries, in rows that fit the width (an entry wider than
/// a row gets a row of its own).
fn legend_rows(legend: &[LegendEntry]) -> Res<Vec<Vec<&LegendEntry>>> {
    let font = (FONT, LEGEND_FONT).into_font();
    let room = WIDTH - 2 * LEGEND_MARGIN;
    let mut rows: Vec<Vec<&LegendEntry>> = Vec::new();
    let mut used = room;
    for e in legend {
        let (w, _) = font.box_size(&e.label).map_err(|e| e.to_string())?;
        let w = SWATCH_W + w + ENTRY_GAP;
        if used + w > room {
            rows.push(Vec::new());
            used = 0;
        }
        used += w;
        rows.last_mut().expect("a row").push(e);
    }
    Ok(rows)
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    rows: &[Vec<&LegendEntry>],
) -> Res<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (title, body) = root.split_vertically(TITLE_H);
    title
        .draw_text(
            &chart.title,
            &(FONT, 20)
                .into_text_style(&title)
                .pos(Pos::new(HPos::Center, VPos::Center)),
            (WIDTH as i32 / 2, TITLE_H as i32 / 2 + 2),
        )
        .map_err(e)?;
    let panels_h = chart.panels.len().max(1) as u32 * PANEL_H;
    let (plots, legend) = body.split_vertically(panels_h);
    let areas = plots.split_evenly((chart.panels.len().max(1), 1));
    let captions = chart.panels.len() > 1;
    for (area, panel) in areas.iter().zip(&chart.panels) {
        draw_panel(area, panel, captions)?;
    }
    draw_legend(&legend, rows).map_err(e)
}

/// The value drawn for `v` on `axis`: its logarithm on a log axis (values
/// below the axis's minimum are drawn at it).
fn place(axis: &Axis, v: f64) -> f64 {
    if axis.log {
        v.max(axis.min).log10()
    } else {
        v
    }
}

fn range(axis: &Axis) -> std::ops::Range<f64> {
    let (lo, hi) = (place(axis, axis.min), place(axis, axis.max));
    lo..hi.max(lo + 1e-9)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    caption: bool,
) -> Res<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut builder = ChartBuilder::on(area);
    if caption {
        builder.caption(&panel.caption, (FONT, 16));
    }
    let mut chart = builder
        .margin(10)
        .margin_right(30)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(range(&panel.x), range(&panel.y))
        .map_err(e)?;
    let (x, y) = (&panel.x, &panel.y);
    let mut mesh = chart.configure_mesh();
    if let Ticks::Labels(names) = &x.ticks {
        // Room for a tick at every half: each whole value (a category) is
        // one of them, whatever step plotters picks.
        mesh.x_labels(2 * names.len() + 2);
    }
    // A log axis is ticked at its powers of ten: asked for as many ticks
    // as there are, plotters steps by one decade.
    if let Some(n) = decades(x) {
        mesh.x_labels(n);
    }
    if let Some(n) = decades(y) {
        mesh.y_labels(n);
    }
    mesh.x_desc(&x.label)
        .y_desc(&y.label)
        .x_label_formatter(&|v| tick(x, *v))
        .y_label_formatter(&|v| tick(y, *v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(e)?;
    let at = |p: &(f64, f64)| (place(x, p.0), place(y, p.1));
    for layer in &panel.layers {
        match layer {
            Layer::Area { color, top, bottom } => {
                let poly: Vec<(f64, f64)> = top.iter().chain(bottom.iter().rev()).map(at).collect();
                let style = rgb(*color).mix(0.75).filled();
                chart.draw_series(std::iter::once(Polygon::new(poly, style)))
            }
            Layer::Line {
                color,
                points,
                dashed: false,
            } => chart.draw_series(LineSeries::new(
                points.iter().map(at),
                rgb(*color).stroke_width(2),
            )),
            Layer::Line { color, points, .. } => chart.draw_series(DashedLineSeries::new(
                points.iter().map(at),
                6,
                4,
                rgb(*color).stroke_width(2),
            )),
            Layer::Marks { color, points } => chart.draw_series(points.iter().map(|p| {
                EmptyElement::at(at(p))
                    + PathElement::new(vec![(0, -6), (0, 6)], rgb(*color).stroke_width(2))
            })),
            Layer::Dots { color, points } => chart.draw_series(points.iter().map(|p| {
                EmptyElement::at(at(p))
                    + Circle::new((0, 0), 4, WHITE.filled())
                    + Circle::new((0, 0), 4, rgb(*color).stroke_width(2))
            })),
        }
        .map_err(e)?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[Vec<&LegendEntry>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = (FONT, LEGEND_FONT).into_font();
    let text = font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y = 6 + r as i32 * LEGEND_ROW_H as i32 + LEGEND_ROW_H as i32 / 2;
        let mut x = LEGEND_MARGIN as i32;
        for entry in row {
            let c = rgb(entry.color);
            let sw = SWATCH_W as i32 - 6;
            match entry.swatch {
                Swatch::Area => area.draw(&Rectangle::new(
                    [(x, y - 6), (x + sw, y + 6)],
                    c.mix(0.75).filled(),
                ))?,
                Swatch::Line => area.draw(&PathElement::new(
                    vec![(x, y), (x + sw, y)],
                    c.stroke_width(3),
                ))?,
                Swatch::Dashed => {
                    for d in [0, 8, 16] {
                        area.draw(&PathElement::new(
                            vec![(x + d, y), (x + d + 5, y)],
                            c.stroke_width(3),
                        ))?;
                    }
                }
                Swatch::Dot => area.draw(&Circle::new((x + sw / 2, y), 4, c.stroke_width(2)))?,
                Swatch::Mark => area.draw(&PathElement::new(
                    vec![(x + sw / 2, y - 6), (x + sw / 2, y + 6)],
                    c.stroke_width(2),
                ))?,
            }
            area.draw_text(&entry.label, &text, (x + SWATCH_W as i32, y))?;
            let (w, _) = font.box_size(&entry.label).unwrap_or((0, 0));
            x += (SWATCH_W + w + ENTRY_GAP) as i32;
        }
    }
    Ok(())
}

/// How many powers of ten a log axis spans, when at least two (fewer
/// leave plotters its own ticks); `None` for a linear axis.
fn decades(axis: &Axis) -> Option<usize> {
    if !axis.log {
        return None;
    }
    let r = range(axis);
    let n = (r.end + 1e-9).floor() - (r.start - 1e-9).ceil() + 1.0;
    (n >= 2.0).then_some(n as usize)
}

/// A tick label: the axis's format, of the value in the data's units. A
/// log axis of at least two decades labels its powers of ten only.
fn tick(axis: &Axis, v: f64) -> String {
    if decades(axis).is_some() && (v - v.round()).abs() > 1e-6 {
        return String::new();
    }
    let v = if axis.log { 10f64.powf(v) } else { v };
    let whole = (v - v.round()).abs() < 1e-6;
    match &axis.ticks {
        Ticks::Number => number(v),
        Ticks::Count if whole => format!("{:.0}", v.round()),
        Ticks::Count => String::new(),
        Ticks::Duration => duration(v),
        Ticks::Labels(names) if whole && v >= -0.5 => {
            names.get(v.round() as usize).cloned().unwrap_or_default()
        }
        Ticks::Labels(_) => String::new(),
    }
}

/// `0.25`, `12.5`, `1200`: up to three significant decimals, no trailing zeros.
pub(crate) fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Seconds as a tick of a duration axis: `0`, `5 µs`, `1 ms`, `250 ms`,
/// `1 s`, `30 s`, `1,000 s` — powers of ten stay round, unlike minutes or
/// hours.
pub(crate) fn duration(s: f64) -> String {
    if s.abs() < 1e-12 {
        "0".into()
    } else if (s * 1e8).round() < 1e5 {
        format!("{} µs", number((s * 1e8).round() / 100.0))
    } else if (s * 1e5).round() < 1e5 {
        format!("{} ms", number((s * 1e5).round() / 100.0))
    } else if s < 1000.0 {
        format!("{} s", number((s * 100.0).round() / 100.0))
    } else {
        format!("{} s", super::html::count(s.round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::chart::{title, Axis, LegendEntry, Panel, Swatch, Ticks};

    #[test]
    fn ticks_read_as_numbers_and_durations() {
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(1234.4), "1234");
        assert_eq!(duration(0.0), "0");
        assert_eq!(duration(0.000_005), "5 µs");
        assert_eq!(duration(0.000_25), "250 µs");
        assert_eq!(duration(0.001), "1 ms");
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(0.999_999_9), "1 s", "not 1000 ms");
        assert_eq!(duration(90.0), "90 s");
        assert_eq!(duration(10_000.0), "10,000 s");
        let count = Axis {
            label: "tasks".into(),
            min: 0.0,
            max: 3.0,
            log: false,
            ticks: Ticks::Count,
        };
        assert_eq!(
            (tick(&count, 2.0), tick(&count, 2.5)),
            ("2".into(), String::new())
        );
        let log = Axis {
            ticks: Ticks::Duration,
            log: true,
            ..count
        };
        assert_eq!(tick(&log, 1.0), "10 s", "10^1 s");
        // 0.5 ms to 4.2 s: the powers of ten from 1 ms to 1 s, four of
        // them, labelled; 10^0.5 between them (3.16 ms) is not.
        let waits = Axis {
            min: 0.0005,
            max: 4.2,
            ..log
        };
        assert_eq!(decades(&waits), Some(4));
        assert_eq!(tick(&waits, -3.0), "1 ms");
        assert_eq!(tick(&waits, -2.5), "");
        assert_eq!(tick(&waits, 0.0), "1 s");
        let linear = Axis {
            log: false,
            ..waits
        };
        assert_eq!(decades(&linear), None);
    }

    #[test]
    fn the_svg_has_the_title_axis_labels_and_legend_below_the_plot() {
        let axis = |label: &str| Axis {
            label: label.into(),
            min: 0.0,
            max: 10.0,
            log: false,
            ticks: Ticks::Number,
        };
        let chart = Chart {
            id: "t",
            title: title("Things", "s<1>", "hybrid", 7),
            panels: vec![Panel {
                caption: String::new(),
                x: axis("time (min)"),
                y: axis("tasks"),
                layers: vec![Layer::Line {
                    color: Rgb(1, 2, 3),
                    points: vec![(0.0, 0.0), (10.0, 10.0)],
                    dashed: false,
                }],
            }],
            legend: vec![LegendEntry::new("a series", Rgb(1, 2, 3), Swatch::Line)],
        };
        let svg = svg(&chart).unwrap();
        assert!(
            svg.contains("Things — s&lt;1&gt;, hybrid, seed 7"),
            "escaped title"
        );
        for text in ["time (min)", "tasks", "a series"] {
            assert!(svg.contains(text), "{text}");
        }
        // The legend's text is below every panel: its y is past the panel's.
        let y_of = |needle: &str| -> i32 {
            let at = svg.find(needle).unwrap();
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let y = tag.split(" y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(y_of(">\na series\n") > (TITLE_H + PANEL_H) as i32);
        assert_eq!(svg, super::svg(&chart).unwrap(), "the same bytes twice");
    }
}
