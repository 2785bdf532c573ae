//! "Per band": each priority band's tasks, allocation (GPU too, in a cell
//! with GPUs) and waits, from `summary.json`'s `by_band`, highest band
//! first.

use crate::error::Result;
use crate::report::html::{value_cell, Unit};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::{html, Markup};

/// (column heading, key under `by_band.<band>`, unit): tasks and
/// allocation, then waits.
type Column = (&'static str, &'static str, Unit);

const TASKS: [Column; 6] = [
    ("submitted", "tasks_submitted", Unit::Count),
    ("pending at the end", "tasks_pending_at_end", Unit::Count),
    ("evicted at least once", "tasks_evicted", Unit::Count),
    ("CPU allocated", "cpu_utilization", Unit::Fraction),
    ("memory allocated", "mem_utilization", Unit::Fraction),
    ("GPU allocated", "gpu_utilization", Unit::Fraction),
];

const WAITS: [Column; 6] = [
    ("started", "wait_us.count", Unit::Count),
    ("never started", "wait_us.never_started", Unit::Count),
    ("wait p50", "wait_us.p50", Unit::Micros),
    ("wait p90", "wait_us.p90", Unit::Micros),
    ("wait p99", "wait_us.p99", Unit::Micros),
    ("wait max", "wait_us.max", Unit::Micros),
];

fn table(v: &RunView, id: &str, columns: &[Column]) -> Markup {
    html! {
        table id=(id) {
            thead { tr {
                th { "band" }
                @for (h, _, _) in columns { th.num { (h) } }
            } }
            tbody {
                @for b in Band::ALL.iter().rev() {
                    tr {
                        th scope="row" { (b.name()) }
                        @for (_, key, unit) in columns {
                            (value_cell(&v.summary, &format!("by_band.{}.{key}", b.name()), *unit))
                        }
                    }
                }
            }
        }
    }
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    // The GPU column only where there are GPUs to allocate.
    let gpus = v.sim.state().cell().total_capacity().gpus > 0;
    let tasks = &TASKS[..if gpus { TASKS.len() } else { TASKS.len() - 1 }];
    let body = html! {
        p.note { "Allocation: time-weighted share of the cell's capacity, whole run. Waits: from entering the cell to the first start, over tasks that started; those that never did are counted apart." }
        div.groups {
            (table(v, "by-band", tasks))
            (table(v, "waits-by-band", &WAITS))
        }
    };
    Ok(Some(Section {
        id: "bands",
        title: "Per band".into(),
        body,
    }))
}
