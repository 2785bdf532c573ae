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
    let labels = load::labels(dirs);
    dirs.iter()
        .zip(labels)
        .map(|(d, label)| load::load(d, label))
        .collect()
}

/// Writes `compare.csv` and `report.html` for `runs` into `dir`.
pub fn write(dir: &Path, runs: &[Loaded], plots: Plots) -> Result<()> {
    let csv = dir.join("compare.csv");
    std::fs::write(&csv, table::csv_bytes(runs))
        .map_err(|source| Error::Write { path: csv, source })?;
    let page_path = dir.join("report.html");
    page::page(runs, plots, &page_path)?.write(&page_path)
}
