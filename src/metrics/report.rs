//! Writing a run's outputs. Every file is written under a temporary name in
//! the output directory and renamed when complete, so a reader never sees a
//! half-written file and an interrupted run never leaves a truncated one.

use super::summary::Summary;
use super::timeseries::TimeSeries;
use crate::error::{Error, Result};
use crate::sim::Simulation;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a run measured that is *not* deterministic; kept apart from
/// `summary.json` so that file stays byte-identical.
#[derive(Debug, Serialize)]
pub struct RunInfo {
    pub version: &'static str,
    pub wall_time_s: f64,
    pub events_processed: u64,
    pub events_per_s: f64,
    pub peak_rss_mib: Option<f64>,
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// The temporary name a file is written under before its rename. The
/// extension is kept, since some writers pick the format from it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".tmp.{name}"))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn csv_bytes(header: Vec<String>, rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).expect("writing to memory");
    for r in rows {
        w.write_record(&r).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).expect("serialisable");
    b.push(b'\n');
    b
}

/// Writes summary.json, run.json, timeseries.csv, pending.csv and (with the
/// `plots` feature, unless `plots` is false) the PNG plots into `out`.
/// Returns the files written.
pub fn write_all(
    out: &Path,
    sim: &Simulation,
    summary: &Summary,
    run: &RunInfo,
    plots: bool,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> Result<()> {
        let p = out.join(name);
        write_atomic(&p, &bytes)?;
        written.push(p);
        Ok(())
    };
    put("summary.json", json_bytes(summary))?;
    put("run.json", json_bytes(run))?;
    let series = sim.series();
    put(
        "timeseries.csv",
        csv_bytes(
            TimeSeries::header(),
            series.samples.iter().map(TimeSeries::row),
        ),
    )?;
    put(
        "pending.csv",
        csv_bytes(
            super::pending::header(),
            super::pending::rows(sim).into_iter(),
        ),
    )?;
    if let Some(curve) = super::gpu_packing::curve(sim) {
        put(
            "gpu_alloc.csv",
            csv_bytes(
                super::gpu_packing::header(),
                curve.iter().map(super::gpu_packing::row),
            ),
        )?;
    }
    #[cfg(feature = "plots")]
    if plots {
        written.extend(super::plot::render_all(out, sim)?);
    }
    #[cfg(not(feature = "plots"))]
    let _ = plots;
    Ok(written)
}
