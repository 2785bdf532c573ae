//! The sections of a run's page, one file each (see `report::run`); the
//! sections other pages embed (`compaction`, on `borgsim compact`'s page
//! and on later experiments'); and what several of them share: the band
//! colours and the run's sampled series, thinned for drawing.

pub mod allocation;
pub mod bands;
pub mod classes;
pub mod compaction;
pub mod evictions;
pub mod experiment;
pub mod failures;
pub mod faults;
pub mod files;
pub mod gpu;
pub mod headline;
pub mod inflation;
pub mod pending;
pub mod reclamation;
pub mod scenario;
pub mod waits;

use super::chart::{envelope, Rgb, MAX_POINTS};
use super::run::RunView;
use crate::metrics::timeseries::Sample;
use crate::workload::Band;

/// Each band's colour, in every plot.
pub fn band_color(b: Band) -> Rgb {
    match b {
        Band::Monitoring => Rgb(148, 103, 189),
        Band::Production => Rgb(31, 119, 180),
        Band::Batch => Rgb(255, 127, 14),
        Band::BestEffort => Rgb(44, 160, 44),
    }
}

/// The run's samples to draw for a series whose size at each sample is
/// `key`: every sample kept in memory (every one of a series of up to
/// 16,384), thinned to [`MAX_POINTS`] keeping the envelope of `key`.
/// A run of one instant gives its one sample twice, so that it shows as a
/// flat line rather than nothing.
pub fn samples<'a>(v: &RunView<'a>, key: impl Fn(&Sample) -> u64) -> Vec<&'a Sample> {
    let all: Vec<&Sample> = v.sim.series().samples().collect();
    let mut kept: Vec<&Sample> = envelope(all.len(), MAX_POINTS, |i| key(all[i]) as f64)
        .into_iter()
        .map(|i| all[i])
        .collect();
    if kept.len() == 1 {
        kept.push(kept[0]);
    }
    kept
}

/// The x of each drawn sample, in the run's time unit; a repeated last
/// sample (a run of one instant) is drawn at the axis's end.
pub fn xs(v: &RunView, s: &[&Sample]) -> Vec<f64> {
    let unit = v.time_unit();
    let end = unit.axis(v.end_s()).max;
    s.iter()
        .enumerate()
        .map(|(i, x)| {
            let t = unit.of_us(x.time_us);
            if i > 0 && i + 1 == s.len() && x.time_us == s[i - 1].time_us {
                end.max(t)
            } else {
                t
            }
        })
        .collect()
}

/// A note for plots of a run of no length.
pub fn instant_note(v: &RunView) -> &'static str {
    if v.sim.end_time().as_us() == 0 {
        "The run has no length (everything happened at t = 0): the plot shows that instant."
    } else {
        ""
    }
}
