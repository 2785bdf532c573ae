//! "Files": every other file of the run's directory, linked, so the page
//! leads to the data behind it. The list is the directory as it stands
//! when the page is written — whatever the run wrote into it, snapshots
//! (`--snapshot-at`) and a sweep's `scenario.toml` included — and the
//! PNGs drawn after the page; a file this module has no sentence for is
//! still listed, by name.

use crate::error::{Error, Result};
use crate::report::html::seconds_of_us;
use crate::report::run::RunView;
use crate::report::{Plots, Section};
use maud::html;

/// The run's files, in the order listed, each with what it holds; a name
/// ending in `*` stands for every file of that prefix (`snapshot-*`).
const KNOWN: &[(&str, &str)] = &[
    (
        "summary.json",
        "every figure of the run: the headline numbers and more, deterministic",
    ),
    (
        "timeseries.csv",
        "every sample: allocation, running and pending tasks by band, evictions by cause",
    ),
    ("pending.csv", "each task still pending at the end, and why"),
    (
        "gpu_alloc.csv",
        "GPU allocation at each whole percent of arrived GPU demand",
    ),
    (
        "snapshot-*",
        "each machine's capacity, allocation and tasks at that time (--snapshot-at)",
    ),
    (
        "run.json",
        "what is not deterministic: wall time, CPU time, events/s, peak memory",
    ),
    (
        "scenario.toml",
        "the scenario this run ran, as its sweep wrote it (borgsim run takes it as it is)",
    ),
    ("utilization.png", "the allocation plot above, as a picture"),
    ("pending.png", "the pending tasks plot, as a picture"),
    ("wait_cdf.png", "the wait plot, as a picture"),
];

/// The PNGs, drawn after the page.
const PNGS: [&str; 3] = ["utilization.png", "pending.png", "wait_cdf.png"];

/// Where `name` goes in the list: its entry of [`KNOWN`] (the end for an
/// unknown file), then, among snapshots, by their time, then by name.
fn order(name: &str) -> (usize, u64, String) {
    let entry = KNOWN
        .iter()
        .position(|(k, _)| match k.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *k,
        })
        .unwrap_or(KNOWN.len());
    (entry, snapshot_us(name).unwrap_or(0), name.to_string())
}

/// A snapshot's time in µs, from its name (`snapshot-0.5.csv` → 500000).
fn snapshot_us(name: &str) -> Option<u64> {
    let t = name.strip_prefix("snapshot-")?.strip_suffix(".csv")?;
    let (s, frac) = t.split_once('.').unwrap_or((t, ""));
    let us: u64 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    s.parse::<u64>()
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(us)
}

/// What the file holds; a snapshot says its time.
fn describe(name: &str) -> Option<String> {
    let (_, what) = KNOWN.get(order(name).0)?;
    Some(match snapshot_us(name) {
        Some(us) => what.replace(
            "at that time",
            &format!("at {} of simulated time", seconds_of_us(us)),
        ),
        None => what.to_string(),
    })
}

/// The directory's files (the page aside) and the PNGs to come, in the
/// order listed.
fn names(v: &RunView) -> Result<Vec<String>> {
    let err = |source| Error::Read {
        path: v.dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(v.dir).map_err(err)? {
        let name = entry
            .map_err(err)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "report.html" {
            names.push(name);
        }
    }
    if v.plots == Plots::Drawn {
        names.extend(PNGS.iter().map(|p| p.to_string()));
    }
    names.sort_by_key(|n| order(n));
    names.dedup();
    Ok(names)
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let files = names(v)?;
    let body = html! {
        ul {
            @for name in &files {
                li {
                    a href=(name) { code { (name) } }
                    @if let Some(what) = describe(name) { " — " (what) }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_listed_by_time_and_unknown_files_last() {
        assert_eq!(snapshot_us("snapshot-3600.csv"), Some(3_600_000_000));
        assert_eq!(snapshot_us("snapshot-0.5.csv"), Some(500_000));
        assert_eq!(snapshot_us("snapshot-1.000001.csv"), Some(1_000_001));
        assert_eq!(snapshot_us("snapshot-x.csv"), None);
        let mut names = vec![
            "notes.txt",
            "snapshot-90.csv",
            "run.json",
            "snapshot-600.csv",
            "snapshot-0.5.csv",
            "summary.json",
        ];
        names.sort_by_key(|n| order(n));
        // By name, 600 would come before 90; by time it comes after.
        assert_eq!(
            names,
            [
                "summary.json",
                "snapshot-0.5.csv",
                "snapshot-90.csv",
                "snapshot-600.csv",
                "run.json",
                "notes.txt"
            ]
        );
        assert_eq!(describe("notes.txt"), None);
        assert_eq!(
            describe("snapshot-1.5.csv").unwrap(),
            "each machine's capacity, allocation and tasks at 1.5 s of simulated time (--snapshot-at)"
        );
    }
}
