//! "Files": what else the run's directory holds, linked, so the page leads
//! to the data behind it.

use crate::error::Result;
use crate::report::run::RunView;
use crate::report::{Plots, Section};
use maud::html;

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let mut files: Vec<(&str, &str)> = vec![
        (
            "summary.json",
            "every figure of the run: the headline numbers and more, deterministic",
        ),
        (
            "timeseries.csv",
            "every sample: allocation, running and pending tasks by band, evictions by cause",
        ),
        ("pending.csv", "each task still pending at the end, and why"),
    ];
    if v.dir.join("gpu_alloc.csv").exists() {
        files.push((
            "gpu_alloc.csv",
            "GPU allocation at each whole percent of arrived GPU demand",
        ));
    }
    files.push((
        "run.json",
        "what is not deterministic: wall time, CPU time, events/s, peak memory",
    ));
    if v.plots == Plots::Drawn {
        files.extend([
            ("utilization.png", "the allocation plot above, as a picture"),
            ("pending.png", "the pending tasks plot, as a picture"),
            ("wait_cdf.png", "the wait plot, as a picture"),
        ]);
    }
    let body = html! {
        ul {
            @for (name, what) in &files {
                li { a href=(name) { code { (name) } } " — " (what) }
            }
        }
        @if let Some(why) = v.plots.missing() { p.note { (why) } }
    };
    Ok(Some(Section {
        id: "files",
        title: "Files".into(),
        body,
    }))
}
