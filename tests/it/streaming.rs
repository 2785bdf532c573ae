//! Per-sample outputs stream to disk as the run goes; memory holds a
//! bounded, thinned copy for the plots (issue 9: memory follows live state,
//! not the run's length).

use super::{borgsim, text};
use borgsim::metrics::report::RunDir;
use borgsim::metrics::timeseries::KEPT_SAMPLES_MAX;
use borgsim::scenario::Scenario;
use std::fs;

/// 30,000 s sampled every second, with about one arrival and one end a
/// second (so few samples are idle): ~26,000 samples, more than memory keeps.
const LONG: &str = r#"
name = "long"
seed = 3
duration_s = 30000
sample_interval_s = 1
[cell]
[[cell.machines]]
count = 10
cpu_milli = 1000
mem_mib = 1000
[scheduler]
policy = "best_fit"
[[workload.jobs]]
name = "j"
band = "batch"
arrival = { poisson = { per_hour = 3600 } }
tasks = { constant = 1 }
cpu_milli = { constant = 100 }
mem_mib = { constant = 10 }
duration_s = { exponential = { mean = 5 } }
"#;

#[test]
fn a_long_series_streams_every_row_and_keeps_a_bounded_copy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("long.toml"), LONG).unwrap();
    let sc = Scenario::load(&d.join("long.toml")).unwrap();
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    let out = RunDir::create(&d.join("lib")).unwrap();
    out.stream(&mut sim).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let series = sim.series();
    let rows = series.rows();
    assert!(rows > KEPT_SAMPLES_MAX as u64 + 5_000, "{rows} samples");
    // Held in memory: at most KEPT_SAMPLES_MAX + 1 (thinning halves the
    // copy when it overflows, so at least half of that remains).
    let kept: Vec<String> = series.samples().map(|s| secs(s.time_us)).collect();
    assert!(kept.len() <= KEPT_SAMPLES_MAX + 1, "{}", kept.len());
    assert!(kept.len() > KEPT_SAMPLES_MAX / 2, "{}", kept.len());
    // On disk: every row, in time order; the kept ones are among them,
    // the first and the last included.
    let csv = fs::read_to_string(out.path().join("timeseries.csv")).unwrap();
    let times: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(times.len() as u64, rows);
    assert_eq!(
        (kept[0].as_str(), kept.last().unwrap().as_str()),
        (times[0], times[times.len() - 1])
    );
    let mut at = times.iter();
    assert!(
        kept.iter().all(|k| at.any(|t| t == k)),
        "kept samples are rows, in order"
    );
    // The binary writes the same bytes (and renders plots from the copy).
    let o = borgsim(d, &["run", "long.toml", "--quiet", "--out", "cli"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(fs::read(d.join("cli/timeseries.csv")).unwrap() == csv.as_bytes());
}

/// As `timeseries.csv` writes a time: seconds with six decimals.
fn secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}
