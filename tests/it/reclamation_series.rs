//! Reclamation in the time series (issue 13): with usage books each sample
//! holds the books' usage, reservations, throttled CPU and the cell's
//! current capacity — checked against a hand-worked cell at known ticks
//! and, through the binary, against the books' own rules on every row of
//! `timeseries.csv` (usage ≤ reservation ≤ allocation per band, prod never
//! throttled, the out-of-memory column the summary's).

use super::reclamation::{reclaimed_cell, run_binary};
use super::root;
use borgsim::cell::resources::Resources;
use borgsim::cell::state::usage::ReclamationMode;
use borgsim::metrics::timeseries::{Sample, UsageSample};
use borgsim::sim::Simulation;
use borgsim::workload::Band;
use std::collections::BTreeMap;

/// The cell as sampled at `s` seconds: the newest sample at or before it
/// (a sample repeating the previous one lets the sampler skip ahead to the
/// next event, so an idle stretch has none).
fn at(sim: &Simulation, s: u64) -> &Sample {
    sim.series()
        .samples()
        .take_while(|x| x.time_us <= s * 1_000_000)
        .last()
        .unwrap_or_else(|| panic!("no sample by {s} s"))
}

/// A sample's usage books.
fn books(s: &Sample) -> &UsageSample {
    s.usage
        .as_ref()
        .expect("a sample of a run with usage books")
}

#[test]
fn samples_hold_the_books_usage_and_decaying_reservations() {
    // reclaimed_cell: one machine of 4000 / 8000; prod asks 3000 / 6000 at
    // 0 s, batch 2000 / 4000 at 100 s, both using half their limit; ticks
    // every 300 s, samples every 60 s. Prod's reservation is its limit for
    // the first 300 s, then decays toward 1650 / 3300 (usage + 10 %) a
    // quarter of the gap per tick:
    //   cpu 3000 → 2662 (300 s) → 2409 → 2219 → 2076 (1200 s) → 1969 (1500 s)
    //   mem 6000 → 5325 (300 s) → 4818 → 4438 → 4153 (1200 s) → 3939 (1500 s)
    // The batch task starts at 1500 s on reclaimed capacity, its
    // reservation its limit (within its delay).
    let sim = reclaimed_cell(ReclamationMode::On);
    let (p, b) = (Band::Production.index(), Band::Batch.index());
    let half = |cpu: u64, mem: u64| Resources::new(cpu / 2, mem / 2);
    for (s, prod_reserved) in [
        (240, Resources::new(3000, 6000)),
        (360, Resources::new(2662, 5325)),
        (660, Resources::new(2409, 4818)),
        (1440, Resources::new(2076, 4153)),
        (1560, Resources::new(1969, 3939)),
    ] {
        let x = at(&sim, s);
        let u = books(x);
        assert_eq!(u.reserved[p], prod_reserved, "{s} s");
        assert_eq!(u.usage[p], half(3000, 6000), "{s} s");
        assert_eq!(u.capacity, Resources::new(4000, 8000), "{s} s");
        assert_eq!(u.throttled_cpu_milli, [0; 4], "{s} s");
        let batch = s > 1500;
        let (want_usage, want_reserved) = match batch {
            true => (half(2000, 4000), Resources::new(2000, 4000)),
            false => (Resources::ZERO, Resources::ZERO),
        };
        assert_eq!(
            (u.usage[b], u.reserved[b]),
            (want_usage, want_reserved),
            "{s} s"
        );
        // Allocation (limits) beside them: 5000 / 10000 on the machine
        // once the batch task runs.
        assert_eq!(
            x.cpu_milli[p] + x.cpu_milli[b],
            3000 + u64::from(batch) * 2000
        );
    }
    // The last sample is the books at the end.
    let last = sim.series().samples().last().unwrap();
    let l = sim.state().usage_books().unwrap().ledger();
    let u = books(last);
    assert_eq!((u.usage, u.reserved), (l.usage_by_band, l.reserved_by_band));
    // Without reclamation the samples hold no books.
    let off = reclaimed_cell(ReclamationMode::Off);
    assert!(off.series().samples().all(|x| x.usage.is_none()));
}

/// `timeseries.csv` of a run, by column name, one value per row.
fn columns(dir: &std::path::Path) -> BTreeMap<String, Vec<u64>> {
    let mut r = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let names: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in r.records() {
        let row = row.unwrap();
        for (name, v) in names.iter().zip(row.iter()).skip(1) {
            out.entry(name.clone())
                .or_default()
                .push(v.parse().unwrap());
        }
    }
    out
}

#[test]
fn every_row_keeps_usage_within_reservation_within_allocation() {
    // The fixture: four machines of 8000 / 16384, CPU overcommitted by a
    // fifth for non-prod, usage changing every minute.
    let dir = run_binary(&root().join("tests/fixtures/reclamation/on.toml"));
    let c = columns(dir.path());
    let rows = c["cpu_milli_batch"].len();
    assert!(rows > 2);
    for (r, u) in ["cpu_milli", "mem_mib"]
        .into_iter()
        .zip(["cpu_milli", "mem_mib"])
    {
        for band in Band::ALL {
            let n = band.name();
            let usage = &c[&format!("usage_{u}_{n}")];
            let reserved = &c[&format!("reservation_{u}_{n}")];
            let alloc = &c[&format!("{r}_{n}")];
            for i in 0..rows {
                assert!(
                    usage[i] <= reserved[i] && reserved[i] <= alloc[i],
                    "{n} {u} row {i}"
                );
            }
        }
    }
    assert!(c["throttled_cpu_milli_production"].iter().all(|v| *v == 0));
    assert!(c["throttled_cpu_milli_monitoring"].iter().all(|v| *v == 0));
    assert!(c["capacity_cpu_milli"].iter().all(|v| *v == 4 * 8000));
    assert!(c["capacity_mem_mib"].iter().all(|v| *v == 4 * 16384));
    // Not vacuous: the non-prod limits went beyond the capacity (CPU
    // overcommitted by a fifth) and their usage was throttled.
    let all = |column: &str, i: usize| -> u64 {
        Band::ALL
            .iter()
            .map(|b| c[&format!("{column}_{}", b.name())][i])
            .sum()
    };
    assert!((0..rows).any(|i| all("cpu_milli", i) > c["capacity_cpu_milli"][i]));
    assert!((0..rows).any(|i| all("throttled_cpu_milli", i) > 0));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    let oom = summary["evictions"]["out_of_memory"].as_u64().unwrap();
    assert_eq!(c["evictions_out_of_memory"].last(), Some(&oom));
}
