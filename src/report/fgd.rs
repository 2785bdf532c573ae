//! `borgsim experiment fgd`'s outputs beside `fgd.json`: `fgd.csv`, a row
//! per policy × pod list × arrived %, and the page, `report.html` — the
//! paper's Figure 9a-style curves (GPU allocation against arrived GPU
//! demand, a line per policy; per pod list the whole range, and a panel
//! zoomed on the plateau, where the policies differ by a point or two,
//! with the published means as circles), the unallocated GPU share at
//! 100 % beside the published bars, and the table at 100 % and 130 %
//! (the published figure on a second line in each cell, so that six
//! policies fit the page's width). Deterministic like every page: the same options give the same
//! bytes, whatever the thread count.

use super::chart::{color, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks};
use super::{Page, Plots, Section};
use crate::error::{Error, Result};
use crate::experiment::fgd::{FgdResult, Row};
use maud::{html, Markup};
use serde::Serialize;
use std::path::Path;

/// The published figures' colour in the bars.
const PUBLISHED: Rgb = Rgb(127, 127, 127);

/// One row of `fgd.csv` (see reports/README.md, *Columns and keys*).
#[derive(Serialize)]
struct CsvRow<'a> {
    policy: &'static str,
    trace: &'a str,
    demand_pct: u32,
    gpu_alloc_pct_mean: Option<f64>,
    gpu_alloc_pct_sd: Option<f64>,
    frag_amount_pct_mean: Option<f64>,
    frag_amount_pct_sd: Option<f64>,
    frag_ratio_pct_mean: Option<f64>,
    frag_ratio_pct_sd: Option<f64>,
    runs: usize,
    published_gpu_alloc_pct_mean: Option<f64>,
    published_gpu_alloc_pct_sd: Option<f64>,
}

impl<'a> CsvRow<'a> {
    fn of(r: &'a Row) -> Self {
        CsvRow {
            policy: r.policy.name(),
            trace: &r.trace,
            demand_pct: r.demand_pct,
            gpu_alloc_pct_mean: r.gpu_alloc_pct.map(|s| s.mean),
            gpu_alloc_pct_sd: r.gpu_alloc_pct.and_then(|s| s.sd),
            frag_amount_pct_mean: r.frag_amount_pct.map(|s| s.mean),
            frag_amount_pct_sd: r.frag_amount_pct.and_then(|s| s.sd),
            frag_ratio_pct_mean: r.frag_ratio_pct.map(|s| s.mean),
            frag_ratio_pct_sd: r.frag_ratio_pct.and_then(|s| s.sd),
            runs: r.gpu_alloc_pct.map_or(0, |s| s.runs),
            published_gpu_alloc_pct_mean: r.published_gpu_alloc_pct_mean,
            published_gpu_alloc_pct_sd: r.published_gpu_alloc_pct_sd,
        }
    }
}

/// Writes `fgd.csv` into `dir`.
///
/// # Errors
/// The file cannot be written.
pub fn write_csv(dir: &Path, r: &FgdResult) -> Result<()> {
    let path = dir.join("fgd.csv");
    let err = |e: csv::Error| Error::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_path(&path).map_err(err)?;
    for row in &r.table {
        w.serialize(CsvRow::of(row)).map_err(err)?;
    }
    w.flush().map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })
}

/// The row of `policy` on `trace` at `x` %.
fn row<'a>(r: &'a FgdResult, policy_i: usize, trace: &str, x: u32) -> Option<&'a Row> {
    let p = r.policies[policy_i];
    r.table
        .iter()
        .find(|w| w.policy == p && w.trace == trace && w.demand_pct == x)
}

fn pct_axis(label: &str, min: f64, max: f64) -> Axis {
    Axis {
        label: label.into(),
        min,
        max,
        log: false,
        ticks: Ticks::Number,
    }
}

/// The zoomed panel's arrived demand: from here to the grid's end.
const ZOOM_FROM_PCT: u32 = 80;

/// Policy `i`'s mean curve on `trace` over the grid from `from` %.
fn curve(r: &FgdResult, i: usize, trace: &str, from: u32) -> Vec<(f64, f64)> {
    (r.demand_pct.iter().filter(|&&x| x >= from))
        .filter_map(|&x| {
            let s = row(r, i, trace, x)?.gpu_alloc_pct?;
            Some((f64::from(x), s.mean))
        })
        .collect()
}

/// Where policy `i`'s published marker sits at `x` %: a little apart
/// from the others' (±1.5 points of x over six policies), so that all
/// six marks and whiskers can be seen.
fn marker_x(r: &FgdResult, i: usize, x: u32) -> f64 {
    let n = r.policies.len().max(1) as f64;
    f64::from(x) + (i as f64 - (n - 1.0) / 2.0) * 3.0 / n
}

/// Policy `i`'s published figures on `trace` as open circles at 100 % and
/// 130 % (the means) with the sd at 100 % as a whisker; none when the
/// paper has none (or they are withheld).
fn published_marks(r: &FgdResult, i: usize, trace: &str, layers: &mut Vec<Layer>) {
    let mut dots = Vec::new();
    for x in [100, 130] {
        let Some(w) = row(r, i, trace, x) else {
            continue;
        };
        let Some(m) = w.published_gpu_alloc_pct_mean else {
            continue;
        };
        let at = marker_x(r, i, x);
        if let Some(sd) = w.published_gpu_alloc_pct_sd {
            layers.push(Layer::Line {
                color: color(i),
                points: vec![(at, m - sd), (at, m + sd)],
                dashed: false,
            });
        }
        dots.push((at, m));
    }
    if !dots.is_empty() {
        layers.push(Layer::Dots {
            color: color(i),
            points: dots,
        });
    }
}

/// The zoomed panel's y range: whole multiples of 5 around every mean
/// from [`ZOOM_FROM_PCT`] on and every published mean ± sd, at most
/// 0–100.
fn zoom_range(layers: &[Layer]) -> (f64, f64) {
    let ys = layers.iter().flat_map(|l| match l {
        Layer::Line { points, .. } | Layer::Dots { points, .. } => points.as_slice(),
        _ => &[],
    });
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    if lo > hi {
        return (0.0, 100.0);
    }
    let lo = ((lo - 0.5) / 5.0).floor() * 5.0;
    let hi = ((hi + 0.5) / 5.0).ceil() * 5.0;
    (lo.max(0.0), hi.min(100.0).max(lo + 5.0))
}

/// Figure 9a: mean GPU allocation against arrived demand, a line per
/// policy; per pod list a panel of the whole range and one zoomed on the
/// plateau ([`ZOOM_FROM_PCT`] % on, y fitted to the data) with the
/// published means as circles.
fn curves(r: &FgdResult) -> Chart {
    let top = f64::from(r.demand_pct.last().copied().unwrap_or(100));
    let line = |i: usize, points| Layer::Line {
        color: color(i),
        points,
        dashed: false,
    };
    let mut panels = Vec::new();
    for t in &r.traces {
        let n = r.policies.len();
        panels.push(Panel {
            caption: format!("pod list {t}"),
            x: pct_axis("GPU demand arrived (% of GPU capacity)", 0.0, top),
            y: pct_axis("GPU allocated (% of GPU capacity)", 0.0, 100.0),
            layers: (0..n).map(|i| line(i, curve(r, i, t, 0))).collect(),
        });
        let mut layers: Vec<Layer> = (0..n)
            .map(|i| line(i, curve(r, i, t, ZOOM_FROM_PCT)))
            .collect();
        for i in 0..n {
            published_marks(r, i, t, &mut layers);
        }
        let (lo, hi) = zoom_range(&layers);
        // Room right of 130 % for its circles, when there are any.
        let room = if r.published_withheld.is_none() {
            3.0
        } else {
            0.0
        };
        panels.push(Panel {
            caption: format!("pod list {t}, zoomed: {ZOOM_FROM_PCT} % arrived on"),
            x: pct_axis(
                "GPU demand arrived (% of GPU capacity)",
                f64::from(ZOOM_FROM_PCT),
                top + room,
            ),
            y: pct_axis("GPU allocated (% of GPU capacity)", lo, hi),
            layers,
        });
    }
    let mut legend = policy_legend(r, Swatch::Line);
    if r.published_withheld.is_none() {
        legend.push(LegendEntry::new(
            "published mean (whisker: sd at 100 %)",
            Rgb(0, 0, 0),
            Swatch::Dot,
        ));
    }
    Chart {
        id: "fgd-curves",
        title: format!(
            "GPU allocation as demand arrives, mean over {} — {}",
            seeds(r),
            r.scenario
        ),
        panels,
        legend,
    }
}

fn policy_legend(r: &FgdResult, swatch: Swatch) -> Vec<LegendEntry> {
    let mut l: Vec<LegendEntry> = (r.policies.iter().enumerate())
        .map(|(i, p)| LegendEntry::new(p.name(), color(i), swatch))
        .collect();
    if swatch == Swatch::Area && r.published_withheld.is_none() {
        l.push(LegendEntry::new("published", PUBLISHED, Swatch::Area));
    }
    l
}

/// "seeds 42–51" or "seed 7".
fn seeds(r: &FgdResult) -> String {
    match (r.seeds.first(), r.seeds.last()) {
        (Some(a), Some(b)) if r.seeds.len() > 1 => format!("{} seeds ({a}…{b})", r.seeds.len()),
        (Some(a), _) => format!("seed {a}"),
        _ => "no seed".into(),
    }
}

/// A bar from `x0` to `x1`, `h` high, as an area; and its sd whisker.
fn bar(layers: &mut Vec<Layer>, c: Rgb, (x0, x1): (f64, f64), h: f64, sd: Option<f64>) {
    layers.push(Layer::Area {
        color: c,
        top: vec![(x0, h), (x1, h)],
        bottom: vec![(x0, 0.0), (x1, 0.0)],
    });
    if let Some(sd) = sd {
        let mid = (x0 + x1) / 2.0;
        layers.push(Layer::Line {
            color: Rgb(0, 0, 0),
            points: vec![(mid, (h - sd).max(0.0)), (mid, h + sd)],
            dashed: false,
        });
    }
}

/// The paper's bars: unallocated GPU share (100 − allocation) at 100 %
/// arrived, borgsim's mean ± sd beside the published, per pod list.
fn bars(r: &FgdResult) -> Chart {
    let names: Vec<String> = r.policies.iter().map(|p| p.name().to_string()).collect();
    let mut high: f64 = 1.0;
    let panels = r
        .traces
        .iter()
        .map(|t| {
            let mut layers = Vec::new();
            for i in 0..r.policies.len() {
                let Some(w) = row(r, i, t, 100) else { continue };
                let x = i as f64;
                if let Some(s) = w.gpu_alloc_pct {
                    high = high.max(100.0 - s.mean);
                    bar(&mut layers, color(i), (x - 0.4, x), 100.0 - s.mean, s.sd);
                }
                if let Some(m) = w.published_gpu_alloc_pct_mean {
                    high = high.max(100.0 - m);
                    let sd = w.published_gpu_alloc_pct_sd;
                    bar(&mut layers, PUBLISHED, (x, x + 0.4), 100.0 - m, sd);
                }
            }
            (t, layers)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(t, layers)| Panel {
            caption: format!("pod list {t}"),
            x: Axis {
                label: "policy".into(),
                min: -0.6,
                max: names.len() as f64 - 0.4,
                log: false,
                ticks: Ticks::Labels(names.clone()),
            },
            y: pct_axis("GPU unallocated (% of GPU capacity)", 0.0, high * 1.1),
            layers,
        })
        .collect();
    Chart {
        id: "fgd-bars",
        title: format!(
            "Unallocated GPU at 100 % demand arrived, mean ± sd over {} — {}",
            seeds(r),
            r.scenario
        ),
        panels,
        legend: policy_legend(r, Swatch::Area),
    }
}

/// "95.22 ± 0.12", and the published figure on a second line ("paper
/// 95.23 ± 0.11"), so that six policies' columns fit the page.
fn cell(w: Option<&Row>) -> Markup {
    let Some(w) = w else { return html! { td {} } };
    let ours = match w.gpu_alloc_pct {
        Some(s) => match s.sd {
            Some(sd) => format!("{:.2} ± {sd:.2}", s.mean),
            None => format!("{:.2}", s.mean),
        },
        None => "—".into(),
    };
    let theirs = w
        .published_gpu_alloc_pct_mean
        .map(|m| match w.published_gpu_alloc_pct_sd {
            Some(sd) => format!("paper {m:.2} ± {sd:.2}"),
            None => format!("paper {m:.2}"),
        });
    html! {
        td.num {
            (ours)
            @if let Some(t) = theirs { br; span.delta { (t) } }
        }
    }
}

/// The table at `x` %: a row per pod list, a column per policy.
fn table(r: &FgdResult, x: u32) -> Markup {
    html! {
        table id={ "fgd-at-" (x) } {
            thead { tr { th { "pod list" } @for p in &r.policies { th.num { (p.name()) } } } }
            tbody {
                @for t in &r.traces {
                    tr { td { (t) } @for i in 0..r.policies.len() { (cell(row(r, i, t, x))) } }
                }
            }
        }
    }
}

fn section(r: &FgdResult, plots: Plots, path: &Path) -> Result<Section> {
    let notes = html! {
        "The paper's metric: every arrival (placed or dropped) is bucketed by its arrived GPU demand rounded to a whole percent of capacity; "
        "each point is the mean allocation over the arrivals in its bucket (or the buckets beside it when it has none), then the mean over seeds ("
        a href="fgd.csv" { "fgd.csv" } ")."
    };
    let bar_notes = match &r.published_withheld {
        None => html! {
            "Coloured: borgsim, mean ± sd over seeds; grey: the paper's published figures (Weng et al., ATC 2023), where it has them."
        },
        Some(_) => html! { "borgsim, mean ± sd over seeds (no published figures: see above)." },
    };
    let brackets = if r.published_withheld.is_none() {
        " (the paper's published figure below each)"
    } else {
        ""
    };
    Ok(Section {
        id: "fgd",
        title: "The FGD paper's experiment".into(),
        body: html! {
            @if let Some(why) = &r.published_withheld {
                p.note { "The paper's published figures are left out: " (why) "." }
            }
            (plots.figure(&curves(r), notes, path)?)
            (plots.figure(&bars(r), bar_notes, path)?)
            h3 { "GPU allocated at 100 % of GPU demand arrived, %" (brackets) }
            (table(r, 100))
            h3 { "At 130 %" }
            (table(r, 130))
        },
    })
}

/// Writes `report.html` into `dir`.
///
/// # Errors
/// A plot cannot be rendered or the page written.
pub fn write(dir: &Path, r: &FgdResult, plots: Plots) -> Result<()> {
    let path = dir.join("report.html");
    let files = Section {
        id: "files",
        title: "Files".into(),
        body: html! {
            ul {
                li { a href="fgd.json" { code { "fgd.json" } } " — every run's figures at every arrived %, and the table; deterministic" }
                li { a href="fgd.csv" { code { "fgd.csv" } } " — mean and sd over seeds per policy, pod list and arrived %, the published mean beside" }
                li { a href="run.json" { code { "run.json" } } " — what is not deterministic: wall time, CPU time, peak memory" }
            }
            @if let Some(why) = plots.missing() { p.note { (why) } }
        },
    };
    let page = Page {
        title: format!("borgsim experiment fgd: {}", r.scenario),
        lede: html! {
            (r.policies.len()) " policies · " (r.traces.len()) " pod lists · " (seeds(r)) " · "
            (r.runs.len()) " runs, one by one, nothing compacted"
        },
        sections: vec![section(r, plots, &path)?, files],
        footer: html! {
            p { "Written by borgsim " (env!("CARGO_PKG_VERSION")) ". Every figure is a function of the scenario, "
                "the pod lists, the seeds and the policies: the same give this page byte for byte, whatever the number of threads. "
                "Wall time and memory are in " a href="run.json" { "run.json" } ", not here." }
        },
    };
    page.write(&path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fgd::Stat;
    use crate::sched::Policy;

    /// Two policies on one list, grid 0..=130: random's curve y = 0.8 x up
    /// to 100 then 80 + (x − 100)/10, fgd's min(x, 95); the published
    /// means at 100 % (sd 0.3) and 130 %, as on the paper's cell.
    fn result() -> FgdResult {
        let stat = |mean| {
            Some(Stat {
                mean,
                sd: Some(0.1),
                runs: 2,
            })
        };
        let policies = vec![Policy::Random, Policy::Fgd];
        let mut table = Vec::new();
        for p in &policies {
            for x in 0..=130u32 {
                let xf = f64::from(x);
                let y = match p {
                    Policy::Random if x <= 100 => 0.8 * xf,
                    Policy::Random => 80.0 + (xf - 100.0) / 10.0,
                    _ => xf.min(95.0),
                };
                let published = match (p, x) {
                    (Policy::Random, 100) => (Some(79.5), Some(0.3)),
                    (Policy::Random, 130) => (Some(82.5), None),
                    (_, 100) => (Some(95.2), Some(0.3)),
                    (_, 130) => (Some(95.4), None),
                    _ => (None, None),
                };
                table.push(Row {
                    policy: *p,
                    trace: "default".into(),
                    demand_pct: x,
                    gpu_alloc_pct: stat(y),
                    frag_amount_pct: None,
                    frag_ratio_pct: None,
                    published_gpu_alloc_pct_mean: published.0,
                    published_gpu_alloc_pct_sd: published.1,
                });
            }
        }
        FgdResult {
            scenario: "openb".into(),
            policies,
            traces: vec!["default".into()],
            seeds: vec![1, 2],
            demand_pct: (0..=130).collect(),
            published_withheld: None,
            table,
            runs: Vec::new(),
            events_processed: 0,
        }
    }

    #[test]
    fn each_list_gets_a_zoomed_panel_with_the_published_means_as_circles() {
        let c = curves(&result());
        assert_eq!(c.panels.len(), 2);
        let (full, zoom) = (&c.panels[0], &c.panels[1]);
        assert_eq!((full.y.min, full.y.max), (0.0, 100.0));
        // Zoomed: x 80..133 (room for the 130 % circles); y fitted to the
        // data from 80 %: random's lowest 0.8 × 80 = 64 → 60, fgd's
        // highest published 95.4 → 100.
        assert_eq!((zoom.x.min, zoom.x.max), (80.0, 133.0));
        assert_eq!((zoom.y.min, zoom.y.max), (60.0, 100.0));
        let dots: Vec<&Vec<(f64, f64)>> = (zoom.layers.iter())
            .filter_map(|l| match l {
                Layer::Dots { points, .. } => Some(points),
                _ => None,
            })
            .collect();
        // Two policies set ±0.75 points of x apart (3 / 2 each side of
        // the middle, halved): random at 99.25 and 129.25, fgd at 100.75
        // and 130.75.
        assert_eq!(
            dots,
            [
                &vec![(99.25, 79.5), (129.25, 82.5)],
                &vec![(100.75, 95.2), (130.75, 95.4)]
            ]
        );
        // The sd at 100 % as a whisker in the policy's colour.
        assert!(zoom.layers.iter().any(|l| matches!(l,
            Layer::Line { color: c, points, .. }
                if *c == color(0) && *points == vec![(99.25, 79.2), (99.25, 79.8)])));
        assert!(c.legend.iter().any(|e| e.swatch == Swatch::Dot));
    }

    #[test]
    fn withheld_figures_draw_no_circles_and_no_published_legend() {
        let mut r = result();
        r.published_withheld = Some("the cell is not the paper's".into());
        for w in &mut r.table {
            w.published_gpu_alloc_pct_mean = None;
            w.published_gpu_alloc_pct_sd = None;
        }
        let c = curves(&r);
        assert!(!c.panels[1]
            .layers
            .iter()
            .any(|l| matches!(l, Layer::Dots { .. })));
        assert!(c.legend.iter().all(|e| e.swatch == Swatch::Line));
        assert_eq!(c.panels[1].x.max, 130.0);
        assert!(bars(&r).legend.iter().all(|e| e.label != "published"));
    }

    #[test]
    fn a_cell_gives_the_published_figure_on_a_second_line() {
        let r = result();
        let at100 = cell(row(&r, 1, "default", 100)).into_string();
        assert_eq!(
            at100,
            r#"<td class="num">95.00 ± 0.10<br><span class="delta">paper 95.20 ± 0.30</span></td>"#
        );
        let at130 = cell(row(&r, 1, "default", 130)).into_string();
        assert!(
            at130.ends_with(r#"<span class="delta">paper 95.40</span></td>"#),
            "{at130}"
        );
    }
}
