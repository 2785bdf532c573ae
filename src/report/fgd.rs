//! `borgsim experiment fgd`'s outputs beside `fgd.json`: `fgd.csv`, a row
//! per policy × pod list × arrived %, and the page, `report.html` — the
//! paper's Figure 9a-style curves (GPU allocation against arrived GPU
//! demand, a line per policy, a panel per pod list), the unallocated GPU
//! share at 100 % beside the published bars, and the table at 100 % and
//! 130 %. Deterministic like every page: the same options give the same
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

/// Figure 9a: mean GPU allocation against arrived demand, a line per
/// policy, a panel per pod list.
fn curves(r: &FgdResult) -> Chart {
    let top = f64::from(r.demand_pct.last().copied().unwrap_or(100));
    let panels = r
        .traces
        .iter()
        .map(|t| {
            let layers = (0..r.policies.len())
                .map(|i| Layer::Line {
                    color: color(i),
                    points: r
                        .demand_pct
                        .iter()
                        .filter_map(|&x| {
                            let s = row(r, i, t, x)?.gpu_alloc_pct?;
                            Some((f64::from(x), s.mean))
                        })
                        .collect(),
                    dashed: false,
                })
                .collect();
            Panel {
                caption: format!("pod list {t}"),
                x: pct_axis("GPU demand arrived (% of GPU capacity)", 0.0, top),
                y: pct_axis("GPU allocated (% of GPU capacity)", 0.0, 100.0),
                layers,
            }
        })
        .collect();
    Chart {
        id: "fgd-curves",
        title: format!(
            "GPU allocation as demand arrives, mean over {} — {}",
            seeds(r),
            r.scenario
        ),
        panels,
        legend: policy_legend(r, Swatch::Line),
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

/// "95.22 ± 0.12 (95.23)": borgsim's figure with the published one.
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
        .map(|m| format!(" ({m:.2})"))
        .unwrap_or_default();
    html! { td.num { (ours) (theirs) } }
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
        Some(why) => html! { "borgsim, mean ± sd over seeds. No published figures: " (why) "." },
    };
    let brackets = if r.published_withheld.is_none() {
        " (published in brackets)"
    } else {
        ""
    };
    Ok(Section {
        id: "fgd",
        title: "The FGD paper's experiment".into(),
        body: html! {
            (plots.figure(&curves(r), notes, path)?)
            (plots.figure(&bars(r), bar_notes, path)?)
            @if let Some(why) = &r.published_withheld {
                p.note { "The paper's published figures are left out: " (why) "." }
            }
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
