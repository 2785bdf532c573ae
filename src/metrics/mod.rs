//! What a run reports: the summary, the time series, the pending tasks;
//! on request, the event log and snapshots. Results are data first; the
//! run's page and its plots (`crate::report`) are drawn from the same data.
//! Outputs with a row per sample (or per change) stream to disk as the run
//! goes (`stream.rs`), so memory follows the run's live state, not its
//! length.

pub mod availability;
pub mod events;
pub mod gpu_packing;
pub mod gpu_paper;
pub mod packing;
pub mod pending;
pub mod reclamation;
pub mod report;
pub mod snapshot;
pub mod staging;
pub mod stream;
pub mod summary;
pub mod thin;
pub mod timeseries;
pub mod waits;

/// Nearest-rank percentile of sorted values: the smallest value such that at
/// least `pct` % of the values are at or below it. `None` if empty.
pub fn percentile(sorted: &[u64], pct: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[percentile_index(sorted.len(), pct)])
}

/// The index of the nearest-rank `pct`th percentile among `n > 0` sorted values.
pub fn percentile_index(n: usize, pct: u32) -> usize {
    let rank = (u64::from(pct) * n as u64).div_ceil(100).max(1);
    (rank - 1) as usize
}

/// Rounds a fraction to 6 decimals, so summaries read cleanly.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Rounds to 9 significant digits: for rates and sums that may be tiny
/// or huge (evictions per task-week), where a fixed number of decimals
/// would lose them. The shortest decimal of the result has at most 9
/// digits, so a reader's parser gets the same number back.
pub fn round_sig9(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.8e}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        // p50 of 10 values: rank ceil(5.0) = 5 -> 5; p90: rank 9 -> 9; p99: rank ceil(9.9) = 10.
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 99), Some(10));
        assert_eq!(percentile(&[7], 1), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn nine_significant_digits_whatever_the_magnitude() {
        assert_eq!(round_sig9(92.22316068075541), 92.2231607);
        assert_eq!(round_sig9(5.9523809523809524e-5), 5.95238095e-5);
        assert_eq!(round_sig9(16_800.0), 16_800.0);
        assert_eq!(round_sig9(0.0), 0.0);
    }
}
