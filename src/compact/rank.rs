//! Order statistics of the trials' answers: the percentile Borg reports
//! (the 90th of 11 trials), the median, by the nearest-rank rule — the
//! `⌈p·n/100⌉`-th smallest value — so that the answer is always one a
//! trial gave (a number of machines, and the trial that needed it), never
//! an interpolation between two.

/// The 1-based rank of the `p`th percentile of `n` values by nearest rank:
/// `⌈p·n/100⌉`, at least 1. For Borg's 90th of 11: ⌈9.9⌉ = 10, the 10th
/// smallest (the second largest).
///
/// # Panics
/// If `n` is 0 or `p` is not in `1..=100`.
pub fn nearest_rank(p: u32, n: usize) -> usize {
    assert!(n > 0 && (1..=100).contains(&p), "nearest_rank({p}, {n})");
    (p as usize * n).div_ceil(100).max(1)
}

/// The `p`th percentile of `values` by nearest rank, and its index in
/// `values`: the values are ranked by (value, index), so equal values keep
/// their order.
pub fn percentile(values: &[u32], p: u32) -> (u32, usize) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| (values[i], i));
    let i = order[nearest_rank(p, values.len()) - 1];
    (values[i], i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borgs_90th_of_11_is_the_10th_smallest() {
        // ⌈90 × 11 / 100⌉ = ⌈9.9⌉ = 10.
        assert_eq!(nearest_rank(90, 11), 10);
        // The median of 11: ⌈5.5⌉ = 6; of 10: ⌈5⌉ = 5 (the lower middle).
        assert_eq!(nearest_rank(50, 11), 6);
        assert_eq!(nearest_rank(50, 10), 5);
        // The 100th is the largest; the 1st of 11 is ⌈0.11⌉ = 1.
        assert_eq!(nearest_rank(100, 11), 11);
        assert_eq!(nearest_rank(1, 11), 1);
        // One trial: every percentile is it.
        assert_eq!(nearest_rank(90, 1), 1);
    }

    #[test]
    fn the_percentile_names_the_trial_that_gave_it() {
        // Sorted: 90 (t4), 91 (t0), 92 (t7), 93 (t1), 94 (t9), 95 (t2),
        // 96 (t5), 97 (t8), 98 (t3), 99 (t10), 100 (t6).
        let answers = [91, 93, 95, 98, 90, 96, 100, 92, 97, 94, 99];
        // 10th smallest: 99, trial 10.
        assert_eq!(percentile(&answers, 90), (99, 10));
        // 6th smallest: 95, trial 2.
        assert_eq!(percentile(&answers, 50), (95, 2));
        assert_eq!(percentile(&answers, 100), (100, 6));
        // Equal values keep their order: 7 (0), 7 (1), 5 (2), 7 (3) rank as
        // 5 (2), 7 (0), 7 (1), 7 (3). The 90th is the ⌈3.6⌉ = 4th: index
        // 3; the 50th the 2nd: index 0.
        assert_eq!(percentile(&[7, 7, 5, 7], 90), (7, 3));
        assert_eq!(percentile(&[7, 7, 5, 7], 50), (7, 0));
    }
}
