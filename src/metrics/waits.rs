//! Distributions of µs values (scheduling waits) in bounded memory.
//!
//! [`Waits`] keeps every value while there are at most [`EXACT_LIMIT`] of
//! them, so small runs report exact nearest-rank percentiles; past that it
//! folds them into a [`LogHist`] of 1,024 buckets per power of two, whose
//! percentiles are within 0.1 % of the exact ones. Memory then stays fixed
//! however long the run.

use std::collections::BTreeMap;

/// Values kept exactly before switching to the histogram.
pub const EXACT_LIMIT: usize = 1 << 20;

/// A log-bucketed histogram: values below `2^bits` have their own bucket;
/// above, each power of two is split into `2^bits` buckets, so a bucket
/// spans less than `2^-bits` of its lower bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHist {
    bits: u32,
    counts: BTreeMap<u32, u64>,
    n: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl LogHist {
    pub fn new(bits: u32) -> Self {
        assert!((1..=20).contains(&bits));
        LogHist {
            bits,
            counts: BTreeMap::new(),
            n: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    fn bucket(&self, v: u64) -> u32 {
        let b = self.bits;
        if v < 1 << b {
            return v as u32;
        }
        let exp = 63 - v.leading_zeros(); // ≥ b
        let mantissa = (v >> (exp - b)) as u32 & ((1 << b) - 1);
        (1 << b) + (exp - b) * (1 << b) + mantissa
    }

    /// The smallest value of a bucket.
    fn lower(&self, k: u32) -> u64 {
        let b = self.bits;
        if k < 1 << b {
            return u64::from(k);
        }
        let exp = (k - (1 << b)) / (1 << b) + b;
        let mantissa = u64::from((k - (1 << b)) % (1 << b));
        ((1u64 << b) + mantissa) << (exp - b)
    }

    pub fn add(&mut self, v: u64) {
        self.add_n(v, 1);
    }

    fn add_n(&mut self, v: u64, n: u64) {
        *self.counts.entry(self.bucket(v)).or_default() += n;
        self.n += n;
        self.sum += u128::from(v) * u128::from(n);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.n
    }
    pub fn min(&self) -> Option<u64> {
        (self.n > 0).then_some(self.min)
    }
    pub fn max(&self) -> Option<u64> {
        (self.n > 0).then_some(self.max)
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64)
    }

    /// Nearest-rank percentile, as its bucket's lower bound clamped to the
    /// exact min and max.
    pub fn percentile(&self, pct: u32) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let rank = (u64::from(pct) * self.n).div_ceil(100).max(1);
        let mut seen = 0;
        for (&k, &c) in &self.counts {
            seen += c;
            if seen >= rank {
                return Some(self.lower(k).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    fn merge(&mut self, other: &LogHist) {
        for (&k, &c) in &other.counts {
            *self.counts.entry(k).or_default() += c;
        }
        self.n += other.n;
        self.sum += other.sum;
        if other.n > 0 {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
    }
}

/// Waits in µs: exact while small, a histogram past [`EXACT_LIMIT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waits {
    Exact(Vec<u64>),
    Hist(LogHist),
}

impl Default for Waits {
    fn default() -> Self {
        Waits::Exact(Vec::new())
    }
}

const WAIT_BITS: u32 = 10;

impl Waits {
    pub fn push(&mut self, v: u64) {
        match self {
            Waits::Exact(vals) if vals.len() < EXACT_LIMIT => vals.push(v),
            Waits::Exact(vals) => {
                let mut h = LogHist::new(WAIT_BITS);
                for &x in vals.iter() {
                    h.add(x);
                }
                h.add(v);
                *self = Waits::Hist(h);
            }
            Waits::Hist(h) => h.add(v),
        }
    }

    pub fn count(&self) -> u64 {
        match self {
            Waits::Exact(v) => v.len() as u64,
            Waits::Hist(h) => h.count(),
        }
    }

    /// All of `parts` in one: exact if they are all exact and few enough.
    pub fn merged(parts: &[&Waits]) -> Waits {
        let total: u64 = parts.iter().map(|p| p.count()).sum();
        let all_exact = parts.iter().all(|p| matches!(p, Waits::Exact(_)));
        if all_exact && total as usize <= EXACT_LIMIT {
            let mut v = Vec::with_capacity(total as usize);
            for p in parts {
                if let Waits::Exact(x) = p {
                    v.extend_from_slice(x);
                }
            }
            return Waits::Exact(v);
        }
        let mut h = LogHist::new(WAIT_BITS);
        for p in parts {
            match p {
                Waits::Exact(x) => x.iter().for_each(|&v| h.add_n(v, 1)),
                Waits::Hist(o) => h.merge(o),
            }
        }
        Waits::Hist(h)
    }

    /// (p50, p90, p99, max): nearest rank; exact or within 0.1 %.
    pub fn quantiles(&self) -> [Option<u64>; 4] {
        match self {
            Waits::Exact(v) if v.is_empty() => [None; 4],
            Waits::Exact(v) => {
                // Selection, not a sort: each rank in linear time, the later
                // ones within what is above the earlier (the same values a
                // sorted copy gives at those indices).
                let mut v = v.clone();
                let n = v.len();
                let mut out = [None; 4];
                let mut from = 0;
                for (i, pct) in [50, 90, 99].into_iter().enumerate() {
                    let at = super::percentile_index(n, pct);
                    let (_, x, _) = v[from..].select_nth_unstable(at - from);
                    out[i] = Some(*x);
                    from = at;
                }
                out[3] = v[from..].iter().max().copied();
                out
            }
            Waits::Hist(h) => [
                h.percentile(50),
                h.percentile(90),
                h.percentile(99),
                h.max(),
            ],
        }
    }

    /// The CDF as (value, rank) points, ranks from 1, in order: every
    /// value (exact mode); for a histogram, each bucket's lower bound
    /// (clamped to the range seen) at its first and last rank — the line
    /// through every value's point, with the points between (same value)
    /// left out, so a plot of 10⁹ waits costs its buckets, not 10⁹ points.
    pub fn cdf_points(&self) -> Vec<(u64, u64)> {
        match self {
            Waits::Exact(v) => {
                let mut v = v.clone();
                v.sort_unstable();
                v.into_iter().zip(1..).collect()
            }
            Waits::Hist(h) => {
                let mut points = Vec::new();
                let mut below = 0u64;
                for (&k, &c) in &h.counts {
                    let x = h.lower(k).clamp(h.min, h.max);
                    points.push((x, below + 1));
                    if c > 1 {
                        points.push((x, below + c));
                    }
                    below += c;
                }
                points
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_the_relative_error() {
        for bits in [6, 10] {
            let h = LogHist::new(bits);
            for v in [
                0u64,
                1,
                63,
                64,
                65,
                1023,
                1024,
                1025,
                12_345,
                1 << 40,
                u64::MAX,
            ] {
                let lo = h.lower(h.bucket(v));
                assert!(lo <= v && v - lo <= v >> bits, "bits {bits}, {v}: {lo}");
            }
        }
        // 1000 = 125 << 3: with 6 bits (exponent 9, mantissa 125 & 63 = 61)
        // its bucket starts at (64 + 61) << 3 = 1000 exactly.
        let h = LogHist::new(6);
        assert_eq!(h.lower(h.bucket(1000)), 1000);
    }

    #[test]
    fn exact_until_the_limit_then_close() {
        let mut w = Waits::default();
        for v in 1..=100u64 {
            w.push(v);
        }
        // Nearest rank over 1..=100: p50 = 50, p90 = 90, p99 = 99.
        assert_eq!(w.quantiles(), [Some(50), Some(90), Some(99), Some(100)]);
        let mut big = Waits::default();
        for i in 0..(EXACT_LIMIT as u64 + 10) {
            big.push(1_000_000 + i % 1000);
        }
        assert!(matches!(big, Waits::Hist(_)));
        let [p50, _, _, max] = big.quantiles();
        // Exact p50 is 1,000,499; the histogram's is within 0.1 % below it.
        let p50 = p50.unwrap();
        assert!(
            p50 <= 1_000_499 && 1_000_499 - p50 <= 1_000_499 / 1024,
            "{p50}"
        );
        assert_eq!(max, Some(1_000_999));
        // Its CDF: the values 1,000,000..=1,000,999 lie in [2^19, 2^20),
        // where 10 bits make buckets 2^9 = 512 wide: ⌊v / 512⌋ = 1953, 1954,
        // 1955, three buckets of 2 points each; the last starts at
        // 1955 × 512 = 1,000,960 and ends at rank n.
        let cdf = big.cdf_points();
        assert_eq!(cdf.len(), 6);
        assert_eq!(cdf[0], (1_000_000, 1), "clamped to the smallest value");
        assert_eq!(cdf.last(), Some(&(1_000_960, EXACT_LIMIT as u64 + 10)));
    }

    #[test]
    fn exact_quantiles_equal_a_sorted_copys() {
        // Selection must give what indexing a sorted copy gives, for every
        // size (n = 1 puts all ranks at index 0) and with many repeats.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 1..=300u64 {
            let mut w = Waits::default();
            let mut vals = Vec::new();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = x % (n / 3 + 2);
                w.push(v);
                vals.push(v);
            }
            vals.sort_unstable();
            let want = [
                crate::metrics::percentile(&vals, 50),
                crate::metrics::percentile(&vals, 90),
                crate::metrics::percentile(&vals, 99),
                vals.last().copied(),
            ];
            assert_eq!(w.quantiles(), want, "n = {n}");
        }
        assert_eq!(Waits::default().quantiles(), [None; 4]);
    }

    #[test]
    fn exact_cdf_points_are_every_value_ranked() {
        let mut w = Waits::default();
        for v in [30u64, 10, 20, 10] {
            w.push(v);
        }
        assert_eq!(w.cdf_points(), vec![(10, 1), (10, 2), (20, 3), (30, 4)]);
    }
}
