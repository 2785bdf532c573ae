//! "GPU packing": for one-by-one replays on a cell with GPUs (the openb
//! protocol), the GPU capacity allocated as the arrived demand grows, from
//! `gpu_alloc.csv` (read back, thinned to what a plot can show), against
//! the diagonal every placed arrival would follow; and `summary.json`'s
//! `gpu_packing` figures. Wherever `fgd` or the frag metric measured
//! against the workload's typical pods (a trace at its times too), a line
//! says what those rest on (`summary.json`'s `typical_pods`).

use crate::error::{Error, Result};
use crate::metrics::gpu_packing::SUMMARY_DEMAND_PCT;
use crate::metrics::thin::Thinned;
use crate::report::chart::{
    placed_by, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks, MAX_POINTS,
};
use crate::report::html::{value_cell, Unit};
use crate::report::run::RunView;
use crate::report::Section;
use maud::html;
use std::path::Path;

const CURVE: Rgb = Rgb(214, 39, 40);
const IDEAL: Rgb = Rgb(120, 120, 120);

#[derive(serde::Deserialize)]
struct Point {
    demand_pct: u32,
    gpu_alloc_pct: f64,
}

/// (demand %, allocated %) points of `gpu_alloc.csv`, thinned.
pub fn read_curve(path: &Path) -> Result<Vec<(f64, f64)>> {
    let bad = |message: String| Error::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let mut kept = Thinned::new(MAX_POINTS);
    for row in r.deserialize::<Point>() {
        let p = row.map_err(|e| bad(e.to_string()))?;
        kept.push((f64::from(p.demand_pct), p.gpu_alloc_pct));
    }
    Ok(kept.into_vec())
}

pub fn chart(v: &RunView, curve: Vec<(f64, f64)>) -> Chart {
    let demand_max = curve.last().map_or(100.0, |p| p.0).max(1.0);
    let peak = curve.iter().map(|p| p.1).fold(100.0, f64::max);
    let ideal = vec![
        (0.0, 0.0),
        (100.0f64.min(demand_max), 100.0f64.min(demand_max)),
        (demand_max, 100.0f64.min(demand_max)),
    ];
    let pct = |label: &str, max: f64| Axis {
        label: label.into(),
        min: 0.0,
        max,
        log: false,
        ticks: Ticks::Number,
    };
    Chart {
        id: "gpu-packing",
        title: v.title("GPU allocation as demand arrives"),
        panels: vec![Panel {
            caption: String::new(),
            x: pct("GPU demand arrived (% of GPU capacity)", demand_max),
            y: pct("GPU allocated (% of GPU capacity)", peak * 1.02),
            layers: vec![
                Layer::Line {
                    color: IDEAL,
                    points: ideal,
                    dashed: true,
                },
                Layer::Line {
                    color: CURVE,
                    points: curve,
                    dashed: false,
                },
            ],
        }],
        legend: vec![
            LegendEntry::new(placed_by(v.scenario), CURVE, Swatch::Line),
            LegendEntry::new(
                "every arrival placed, up to capacity",
                IDEAL,
                Swatch::Dashed,
            ),
        ],
    }
}

/// The paper's figure `key` at `d` %, or a dash where no arrival came
/// within 1 % of it (summary.json then has no such key).
fn paper_cell(v: &RunView, key: &str, d: u32) -> maud::Markup {
    let key = format!("gpu_packing.{key}.{d}");
    if crate::report::html::at(&v.summary, &key).is_some() {
        value_cell(&v.summary, &key, Unit::Percent)
    } else {
        html! { td.num { "—" } }
    }
}

/// The line on what the typical pods rest on, if the run counted them.
fn typical_line(v: &RunView) -> Option<maud::Markup> {
    let t = v.summary.get("typical_pods")?;
    let source = match t["source"].as_str()? {
        "pod_list" => "the pod list (before shuffling and topping up)",
        "workload_ahead" => "the workload's first tasks, sampled ahead",
        "trace_ahead" => "the trace's first tasks, read ahead",
        _ => "the tasks submitted by the first scheduling pass",
    };
    let counted = t["tasks_counted"].as_u64()?;
    let few = counted < crate::sched::typical::FEW_TASKS;
    Some(html! {
        p id="typical-pods" {
            "Typical pods (what " code { "fgd" } " and the frag figures measure fragmentation against): counted on "
            (counted) " tasks from " (source) "; " (t["keys"]) " request shapes, covering "
            (t["coverage_pct"]) " % of them."
            @if few { strong { " Fewer than " (crate::sched::typical::FEW_TASKS) " tasks: the figures stand for little of the workload." } }
        }
    })
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let path = v.dir.join("gpu_alloc.csv");
    let typical = typical_line(v);
    if !path.exists() {
        return Ok(typical.map(|line| Section {
            id: "gpu",
            title: "GPU".into(),
            body: line,
        }));
    }
    let chart = chart(v, read_curve(&path)?);
    let notes = html! {
        "Each point: the share of GPU capacity allocated when the GPU demand that had arrived first reached that share of capacity ("
        a href="gpu_alloc.csv" { "gpu_alloc.csv" } "). A policy that fragments GPUs falls below the diagonal early. "
        "In the table, the FGD paper's reading beside it: the mean over every arrival whose arrived demand rounds to that percentage (or to one beside it); "
        "the frag amount, the GPU capacity the workload's typical pods could not use (% of capacity), and the frag ratio, that as a share of the unallocated GPUs."
    };
    let body = html! {
        (v.figure(&chart, notes)?)
        @if let Some(line) = typical { (line) }
        table id="gpu-packing" {
            thead { tr { th { "GPU demand arrived" } th.num { "GPU allocated" } th.num { "the paper's reading" } th.num { "frag amount" } th.num { "frag ratio" } } }
            tbody {
                @for d in SUMMARY_DEMAND_PCT {
                    tr {
                        td { (d) " % of capacity" }
                        (value_cell(&v.summary, &format!("gpu_packing.gpu_alloc_pct_at_demand_pct.{d}"), Unit::Percent))
                        (paper_cell(v, "gpu_alloc_pct_paper_at_demand_pct", d))
                        (paper_cell(v, "frag_amount_pct_paper_at_demand_pct", d))
                        (paper_cell(v, "frag_ratio_pct_paper_at_demand_pct", d))
                    }
                }
                tr { td { "tasks dropped (fitted nowhere)" } (value_cell(&v.summary, "gpu_packing.tasks_dropped_pct", Unit::Percent)) }
                tr { td { "GPU demand dropped" } (value_cell(&v.summary, "gpu_packing.gpu_milli_dropped_pct", Unit::Percent)) }
            }
        }
    };
    Ok(Some(Section {
        id: "gpu",
        title: "GPU packing".into(),
        body,
    }))
}
