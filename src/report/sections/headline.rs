//! "Headline numbers": the figures of `summary.json` a reader looks at
//! first (`report::headline::METRICS`), each shown with its exact value
//! in the cell's `data-value` — the same values as the file, by
//! construction: the page is written from the summary that is written.

use crate::error::Result;
use crate::report::headline::{shown, Metric};
use crate::report::html::value_cell;
use crate::report::run::RunView;
use crate::report::Section;
use maud::html;

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let metrics = shown(&[&v.summary]);
    // The metrics, cut into their groups, in order.
    let mut groups: Vec<Vec<&Metric>> = Vec::new();
    for m in metrics {
        match groups.last_mut() {
            Some(g) if g[0].group == m.group => g.push(m),
            _ => groups.push(vec![m]),
        }
    }
    let body = html! {
        p.note { "From " a href="summary.json" { "summary.json" } " (its keys are in each cell's "
            code { "data-key" } "). Allocation is the time-weighted share of the cell's capacity held by running tasks." }
        div.groups id="headline-table" {
            @for g in &groups {
                table {
                    caption { (g[0].group) }
                    tbody {
                        @for m in g {
                            tr { th scope="row" { (m.label) } (value_cell(&v.summary, m.key, m.unit)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Some(Section {
        id: "headline",
        title: "Headline numbers".into(),
        body,
    }))
}
