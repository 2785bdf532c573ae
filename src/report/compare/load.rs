//! Reading a run's directory for `compare`: its `summary.json` (what the
//! run was and its figures), `run.json` (that it completed, and the
//! version that made it) and `timeseries.csv` (read as it streams, by
//! column name, into a thinned copy of the totals to overlay). Anything
//! missing or malformed is bad input naming the directory or the file.

use crate::error::{Error, Result};
use crate::metrics::thin::Thinned;
use crate::report::chart::MAX_POINTS;
use crate::workload::Band;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One run, as `compare` sees it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The directory, as given.
    pub dir: PathBuf,
    /// Names the run in tables and legends; unique among the runs compared.
    pub label: String,
    /// summary.json.
    pub summary: Value,
    /// run.json's `version`.
    pub version: String,
    /// The time series' totals, thinned to what a plot can show.
    pub series: Vec<Point>,
}

/// A sample of the time series, summed over bands.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Point {
    pub time_s: f64,
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpu_milli: u64,
    /// Pending in the cell, plus held outside it.
    pub pending: u64,
    pub evictions: u64,
}

/// The summary.json keys every run must have, and what each must be.
const REQUIRED: [(&str, Kind); 8] = [
    ("scenario", Kind::Text),
    ("seed", Kind::Integer),
    ("policy", Kind::Text),
    ("preemption", Kind::Switch),
    ("capacity.cpu_milli", Kind::Integer),
    ("capacity.mem_mib", Kind::Integer),
    ("capacity.gpus", Kind::Integer),
    ("duration_s", Kind::Number),
];

/// What a required summary value must be.
#[derive(Copy, Clone, Debug)]
enum Kind {
    Text,
    Integer,
    Number,
    Switch,
}

impl Kind {
    fn holds(self, v: &Value) -> bool {
        match self {
            Kind::Text => v.is_string(),
            Kind::Integer => v.is_u64(),
            Kind::Number => v.as_f64().is_some_and(|x| x.is_finite() && x >= 0.0),
            Kind::Switch => v.is_boolean(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Integer => "a whole number",
            Kind::Number => "a number of seconds",
            Kind::Switch => "true or false",
        }
    }
}

fn parse_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| parse_error(path, format!("not valid JSON: {e}")))
}

/// Reads the run in `dir`, labelled `label`.
pub fn load(dir: &Path, label: String) -> Result<Loaded> {
    if !dir.is_dir() {
        return Err(parse_error(
            dir,
            "not a directory: give the output directories of borgsim runs",
        ));
    }
    let summary_path = dir.join("summary.json");
    if !summary_path.exists() {
        return Err(parse_error(
            dir,
            "not a borgsim run directory: it has no summary.json",
        ));
    }
    let summary = read_json(&summary_path)?;
    for (key, kind) in REQUIRED {
        match crate::report::html::at(&summary, key) {
            None | Some(Value::Null) => {
                return Err(parse_error(
                    &summary_path,
                    format!("no \"{key}\": not a borgsim summary"),
                ))
            }
            Some(v) if !kind.holds(v) => {
                return Err(parse_error(
                    &summary_path,
                    format!("\"{key}\" is {v}, expected {}", kind.name()),
                ))
            }
            Some(_) => {}
        }
    }
    let run_path = dir.join("run.json");
    let run = read_json(&run_path)?;
    if run.get("completed") != Some(&Value::Bool(true)) {
        return Err(parse_error(
            &run_path,
            "the run did not complete (\"completed\" is not true)",
        ));
    }
    let version = run
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let series = read_series(&dir.join("timeseries.csv"))?;
    Ok(Loaded {
        dir: dir.to_path_buf(),
        label,
        summary,
        version,
        series,
    })
}

/// Where each needed column is in the header: the time, then the band
/// columns of each total, then evictions and held.
struct Columns {
    time: usize,
    /// cpu_milli, mem_mib, gpu_milli, pending: a column per band each.
    banded: [[usize; 4]; 4],
    evictions: usize,
    held: usize,
}

impl Columns {
    fn of(header: &csv::StringRecord, path: &Path) -> Result<Columns> {
        let find = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                parse_error(
                    path,
                    format!("no column \"{name}\": not a borgsim time series"),
                )
            })
        };
        let mut banded = [[0; 4]; 4];
        for (what, cols) in ["cpu_milli", "mem_mib", "gpu_milli", "pending"]
            .iter()
            .zip(&mut banded)
        {
            for b in Band::ALL {
                cols[b.index()] = find(&format!("{what}_{}", b.name()))?;
            }
        }
        Ok(Columns {
            time: find("time_s")?,
            banded,
            evictions: find("evictions_total")?,
            held: find("held")?,
        })
    }

    fn point(&self, row: &csv::StringRecord, path: &Path, line: u64) -> Result<Point> {
        let bad = |col: usize| {
            parse_error(
                path,
                format!(
                    "line {line}: column {}: not a number: {:?}",
                    col + 1,
                    row.get(col).unwrap_or("")
                ),
            )
        };
        let int = |col: usize| {
            row.get(col)
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| bad(col))
        };
        let sum = |cols: &[usize; 4]| {
            cols.iter().try_fold(0u64, |acc, c| {
                Ok::<u64, Error>(acc.saturating_add(int(*c)?))
            })
        };
        let time_s = row
            .get(self.time)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| bad(self.time))?;
        Ok(Point {
            time_s,
            cpu_milli: sum(&self.banded[0])?,
            mem_mib: sum(&self.banded[1])?,
            gpu_milli: sum(&self.banded[2])?,
            pending: sum(&self.banded[3])?.saturating_add(int(self.held)?),
            evictions: int(self.evictions)?,
        })
    }
}

/// The series of `timeseries.csv`, thinned as it is read.
fn read_series(path: &Path) -> Result<Vec<Point>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut r = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = r
        .headers()
        .map_err(|e| parse_error(path, e.to_string()))?
        .clone();
    let cols = Columns::of(&header, path)?;
    let mut kept = Thinned::new(MAX_POINTS);
    let mut row = csv::StringRecord::new();
    let mut line = 1;
    while r
        .read_record(&mut row)
        .map_err(|e| parse_error(path, e.to_string()))?
    {
        line += 1;
        kept.push(cols.point(&row, path, line)?);
    }
    Ok(kept.into_vec())
}

/// The runs' labels: each directory's name, made unique by a `#2`, `#3`…
/// suffix on repeats.
pub fn labels(dirs: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in dirs {
        let base = d
            .file_name()
            .map(ToOwned::to_owned)
            .or_else(|| d.canonicalize().ok()?.file_name().map(ToOwned::to_owned))
            .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
        let mut label = base.clone();
        let mut n = 1;
        while out.contains(&label) {
            n += 1;
            label = format!("{base}#{n}");
        }
        out.push(label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_directory_names_made_unique() {
        let dirs = ["a/quickstart", "b/quickstart", "c/openb", "quickstart"].map(PathBuf::from);
        assert_eq!(
            labels(&dirs),
            ["quickstart", "quickstart#2", "openb", "quickstart#3"]
        );
    }
}
