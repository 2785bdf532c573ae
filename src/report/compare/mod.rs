//! `borgsim compare DIR… [--out DIR]`: two or more runs side by side, for
//! the questions people bring — policy A against B, preemption on against
//! off, this commit against the last. It reads each run's directory
//! ([`load`]: `summary.json`, `run.json`, `timeseries.csv`) and writes a
//! directory of its own, whole (through `RunDir`, as `run` does), with
//!
//! - `compare.csv` ([`table`]): the parameters and the headline figures,
//!   a column per run, and each later run's difference from the first;
//! - `report.html` (`page.rs`): the same as tables, with each run's time
//!   series overlaid on shared axes.
//!
//! Nothing is simulated: compare reads what the runs wrote, so runs made
//! by different builds of borgsim compare as they are (a figure one of
//! them lacks shows as `—`).

pub mod load;
mod page;
pub mod table;

pub use load::Loaded;

use crate::error::{Error, Result};
use crate::report::Plots;
use std::path::{Path, PathBuf};

/// Reads the runs in `dirs`, in order; at least two.
pub fn load_all(dirs: &[PathBuf]) -> Result<Vec<Loaded>> {
    if dirs.len() < 2 {
        return Err(Error::Invalid {
            path: dirs
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("compare")),
            key: "DIR".into(),
            message: format!(
                "compare needs at least two run directories, got {}",
                dirs.len()
            ),
        });
    }
    for (i, d) in dirs.iter().enumerate() {
        let same = |e: &PathBuf| match (d.canonicalize(), e.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => d == e,
        };
        if let Some(j) = dirs[..i].iter().position(same) {
            return Err(Error::Invalid {
                path: d.clone(),
                key: "DIR".into(),
                message: format!(
                    "run {} is the same directory as run {}: compare each run once",
                    i + 1,
                    j + 1
                ),
            });
        }
    }
    let labels = load::labels(dirs);
    dirs.iter()
        .zip(labels)
        .map(|(d, label)| load::load(d, label))
        .collect()
}

/// The scenarios of `runs`, in order of first appearance, when they are
/// not all one: differences between them then mix workload and cell with
/// the parameters, which a person should be told.
pub fn mixed_scenarios(runs: &[Loaded]) -> Option<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        let n = r.summary["scenario"].as_str().unwrap_or("").to_string();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    (names.len() > 1).then_some(names)
}

/// Writes `compare.csv` and `report.html` for `runs` into `dir`.
pub fn write(dir: &Path, runs: &[Loaded], plots: Plots) -> Result<()> {
    let csv = dir.join("compare.csv");
    std::fs::write(&csv, table::csv_bytes(runs))
        .map_err(|source| Error::Write { path: csv, source })?;
    let page_path = dir.join("report.html");
    page::page(runs, plots, &page_path)?.write(&page_path)
}
