//! "Machine classes": how each kind of machine was used — the allocation
//! of each class (a scenario's `[[cell.machines]]` entry, or a trace's
//! machines of one capacity; `cell::classes`) over time as a share of that
//! class's capacity, and a table of the time-weighted figures, exact from
//! the cell's ledger.

use super::{instant_note, samples, xs};
use crate::cell::classes::ClassGroup;
use crate::error::Result;
use crate::metrics::round6;
use crate::report::chart::{color, percent_axis, Chart, Layer, LegendEntry, Panel, Swatch};
use crate::report::html::{count, num, percent_of_fraction};
use crate::report::run::RunView;
use crate::report::Section;
use maud::html;

/// A resource: its name, and a group's capacity of it.
type Dim = (&'static str, fn(&ClassGroup) -> u64);

const DIMS: [Dim; 3] = [
    ("CPU", |g| g.capacity.res.cpu_milli),
    ("memory", |g| g.capacity.res.mem_mib),
    ("GPU", |g| g.capacity.gpu_milli()),
];

fn dims(v: &RunView) -> usize {
    if v.sim.state().cell().total_capacity().gpus > 0 {
        3
    } else {
        2
    }
}

pub fn chart(v: &RunView) -> Chart {
    let groups = v.sim.state().cell().classes().groups();
    let panels = DIMS[..dims(v)]
        .iter()
        .enumerate()
        .map(|(d, (name, cap))| {
            let mut peak = 0.0f64;
            let layers = groups
                .iter()
                .enumerate()
                .filter(|(_, g)| cap(g) > 0)
                .map(|(i, g)| {
                    let s = samples(v, |x| x.class_alloc[i][d]);
                    let pct: Vec<f64> = s
                        .iter()
                        .map(|x| x.class_alloc[i][d] as f64 * 100.0 / cap(g) as f64)
                        .collect();
                    peak = pct.iter().copied().fold(peak, f64::max);
                    Layer::Line {
                        color: color(i),
                        points: xs(v, &s).into_iter().zip(pct).collect(),
                        dashed: false,
                    }
                })
                .collect();
            Panel {
                caption: name.to_string(),
                x: v.time_unit().axis(v.end_s()),
                y: percent_axis(&format!("{name} allocated (% of the class)"), peak),
                layers,
            }
        })
        .collect();
    Chart {
        id: "classes",
        title: v.title("Allocation by machine class"),
        panels,
        legend: groups
            .iter()
            .enumerate()
            .map(|(i, g)| LegendEntry::new(g.label.clone(), color(i), Swatch::Line))
            .collect(),
    }
}

/// Each group's time-weighted allocated share of its capacity per
/// resource (the allocation at the one instant of a run of no length).
fn utilization(v: &RunView) -> Vec<[Option<f64>; 3]> {
    let st = v.sim.state();
    let l = st.ledger();
    let elapsed_us = v.sim.end_time().as_us() as f64;
    st.cell()
        .classes()
        .groups()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut u = [None; 3];
            for (d, (_, cap)) in DIMS.iter().enumerate() {
                let c = cap(g) as f64;
                u[d] = (c > 0.0).then(|| {
                    round6(if elapsed_us == 0.0 {
                        l.alloc_by_class[i][d] as f64 / c
                    } else {
                        l.class_integral[i][d] as f64 / (c * elapsed_us)
                    })
                });
            }
            u
        })
        .collect()
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let groups = v.sim.state().cell().classes().groups();
    let util = utilization(v);
    let names = &DIMS[..dims(v)];
    let notes = html! {
        "Each line is a class's allocation as a share of that class's own capacity. " (instant_note(v))
    };
    let body = html! {
        (v.figure_or_note(&chart(v), notes, &super::allocation::nothing_allocated(v))?)
        table id="class-table" {
            thead { tr {
                th { "machine class" } th.num { "machines" }
                @for (name, _) in names { th.num { (name) " allocated" } }
            } }
            tbody {
                @for (g, u) in groups.iter().zip(&util) {
                    tr {
                        td { (g.label) }
                        (num(count(u64::from(g.machines))))
                        @for x in &u[..names.len()] {
                            (num(x.map_or("—".into(), percent_of_fraction)))
                        }
                    }
                }
            }
        }
        p.note { "Time-weighted share of each class's capacity allocated over the whole run." }
    };
    Ok(Some(Section {
        id: "classes",
        title: "Machine classes".into(),
        body,
    }))
}
