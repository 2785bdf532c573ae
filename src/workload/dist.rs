//! Distributions that scenarios name for sizes, counts and durations.
//!
//! Each is sampled as an `f64` and converted once, by the caller, to an
//! integer quantity (milli-cores, MiB, tasks, µs) by rounding to the nearest
//! integer; nothing downstream sees a float. A task count or size whose
//! smallest draw rounds to 0 is refused when the scenario is validated
//! ([`Dist::min_rounded`]); exponential and log-normal draws, which come
//! arbitrarily close to 0, are refused when more than 1 % of them would
//! round to 0 ([`Dist::zero_probability`]), and otherwise count as 1 when
//! they do. Heavy-tailed choices (log-normal,
//! Pareto) take an optional `max` so a single draw cannot exceed what the
//! scenario deems plausible.
//!
//! In TOML a distribution is a one-key table: `{ constant = 4 }`,
//! `{ uniform = { min = 1, max = 8 } }`, `{ choice = [1, 2, 4, 8] }`,
//! `{ weighted = { values = [1, 2], weights = [3, 1] } }`,
//! `{ exponential = { mean = 600 } }`,
//! `{ lognormal = { median = 500, sigma = 1.0, max = 16000 } }`,
//! `{ pareto = { scale = 100, shape = 1.5, max = 1e6 } }`.

use crate::rng::SimRng;
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto};
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    Constant(f64),
    Uniform {
        min: f64,
        max: f64,
    },
    /// One of the values, each equally likely.
    Choice(Vec<f64>),
    /// One of the values, with the given relative weights.
    Weighted {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
    Exponential {
        mean: f64,
    },
    /// Log-normal with the given median (= e^μ) and σ of the underlying normal.
    Lognormal {
        median: f64,
        sigma: f64,
        max: Option<f64>,
    },
    /// Pareto with minimum `scale` and tail index `shape` (α).
    Pareto {
        scale: f64,
        shape: f64,
        max: Option<f64>,
    },
}

impl Dist {
    /// Checks the parameters; the error says which one and why.
    pub fn validate(&self) -> Result<(), String> {
        let finite_nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number >= 0, got {v}"))
            }
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number > 0, got {v}"))
            }
        };
        match self {
            Dist::Constant(v) => finite_nonneg("constant", *v),
            Dist::Uniform { min, max } => {
                finite_nonneg("min", *min)?;
                finite_nonneg("max", *max)?;
                if min > max {
                    return Err(format!("min ({min}) must not exceed max ({max})"));
                }
                Ok(())
            }
            Dist::Choice(vs) => {
                if vs.is_empty() {
                    return Err("choice needs at least one value".into());
                }
                vs.iter().try_for_each(|v| finite_nonneg("value", *v))
            }
            Dist::Weighted { values, weights } => {
                if values.is_empty() || values.len() != weights.len() {
                    return Err("weighted needs as many weights as values, at least one".into());
                }
                values.iter().try_for_each(|v| finite_nonneg("value", *v))?;
                weights
                    .iter()
                    .try_for_each(|w| finite_nonneg("weight", *w))?;
                if weights.iter().sum::<f64>() <= 0.0 {
                    return Err("weights must not all be zero".into());
                }
                Ok(())
            }
            Dist::Exponential { mean } => positive("mean", *mean),
            Dist::Lognormal { median, sigma, max } => {
                positive("median", *median)?;
                finite_nonneg("sigma", *sigma)?;
                match *max {
                    Some(m) if m < *median => Err(format!(
                        "max ({m}) is below the median ({median}): half the draws would be cut to it"
                    )),
                    Some(m) => positive("max", m),
                    None => Ok(()),
                }
            }
            Dist::Pareto { scale, shape, max } => {
                positive("scale", *scale)?;
                positive("shape", *shape)?;
                match *max {
                    Some(m) if m < *scale => Err(format!(
                        "max ({m}) is below the scale ({scale}), the smallest draw"
                    )),
                    Some(m) => positive("max", m),
                    None => Ok(()),
                }
            }
        }
    }

    /// The smallest draw once rounded, where the distribution bounds it from
    /// below (`None` for exponential and log-normal, whose draws come
    /// arbitrarily close to 0).
    pub fn min_rounded(&self) -> Option<u64> {
        let lowest = match self {
            Dist::Constant(v) => *v,
            Dist::Uniform { min, .. } => *min,
            Dist::Choice(vs) => vs.iter().copied().fold(f64::INFINITY, f64::min),
            Dist::Weighted { values, weights } => values
                .iter()
                .zip(weights)
                .filter(|(_, w)| **w > 0.0)
                .map(|(v, _)| *v)
                .fold(f64::INFINITY, f64::min),
            Dist::Pareto { scale, .. } => *scale,
            Dist::Exponential { .. } | Dist::Lognormal { .. } => return None,
        };
        Some(to_u64(lowest))
    }

    /// The probability that a draw rounds to 0 (falls below 0.5), for the
    /// distributions whose draws come arbitrarily close to 0: exponential,
    /// `1 - e^(-0.5/mean)`; log-normal, `Φ((ln 0.5 - ln median) / σ)` (a
    /// `max` cuts only the top). `None` for the others, whose smallest draw
    /// [`Dist::min_rounded`] gives exactly.
    pub fn zero_probability(&self) -> Option<f64> {
        match self {
            Dist::Exponential { mean } => Some(1.0 - (-0.5 / mean).exp()),
            Dist::Lognormal { median, sigma, .. } if *sigma == 0.0 => {
                Some(if *median < 0.5 { 1.0 } else { 0.0 })
            }
            Dist::Lognormal { median, sigma, .. } => {
                Some(std_normal_cdf((0.5f64.ln() - median.ln()) / sigma))
            }
            _ => None,
        }
    }

    /// The largest draw, where the distribution bounds it from above
    /// (`None` for an exponential, and a log-normal or Pareto without `max`).
    pub fn max_value(&self) -> Option<f64> {
        let top = |vs: &mut dyn Iterator<Item = f64>| vs.fold(f64::NEG_INFINITY, f64::max);
        match self {
            Dist::Constant(v) => Some(*v),
            Dist::Uniform { max, .. } => Some(*max),
            Dist::Choice(vs) => Some(top(&mut vs.iter().copied())),
            Dist::Weighted { values, weights } => Some(top(&mut values
                .iter()
                .zip(weights)
                .filter(|(_, w)| **w > 0.0)
                .map(|(v, _)| *v))),
            Dist::Lognormal { max, .. } | Dist::Pareto { max, .. } => *max,
            Dist::Exponential { .. } => None,
        }
    }

    /// An upper bound of the mean draw, for estimates before a run
    /// (`scenario::estimate`): the exact mean where the draw is not capped,
    /// `min(uncapped mean, max)` where a `max` caps it (capping only lowers
    /// the mean), and infinite for a Pareto of `shape <= 1` without `max`.
    /// Rounding to integers is ignored (it moves a mean by at most 0.5).
    pub fn mean_bound(&self) -> f64 {
        let cap = |mean: f64, max: Option<f64>| max.map_or(mean, |m| mean.min(m));
        match self {
            Dist::Constant(v) => *v,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Choice(vs) => vs.iter().sum::<f64>() / vs.len() as f64,
            Dist::Weighted { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
            Dist::Exponential { mean } => *mean,
            Dist::Lognormal { median, sigma, max } => {
                cap(median * (sigma * sigma / 2.0).exp(), *max)
            }
            Dist::Pareto { scale, shape, max } => {
                let mean = if *shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                };
                cap(mean, *max)
            }
        }
    }

    /// One draw. Parameters must have passed [`Dist::validate`].
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    rng.random_range(*min..=*max)
                }
            }
            Dist::Choice(vs) => vs[rng.random_range(0..vs.len())],
            Dist::Weighted { values, weights } => {
                let total: f64 = weights.iter().sum();
                let mut x = rng.random::<f64>() * total;
                for (v, w) in values.iter().zip(weights) {
                    if x < *w {
                        return *v;
                    }
                    x -= w;
                }
                *values.last().expect("validated non-empty")
            }
            Dist::Exponential { mean } => Exp::new(1.0 / mean).expect("validated").sample(rng),
            Dist::Lognormal { median, sigma, max } => {
                let v = LogNormal::new(median.ln(), *sigma)
                    .expect("validated")
                    .sample(rng);
                max.map_or(v, |m| v.min(m))
            }
            Dist::Pareto { scale, shape, max } => {
                let v = Pareto::new(*scale, *shape).expect("validated").sample(rng);
                max.map_or(v, |m| v.min(m))
            }
        }
    }

    /// One draw, rounded to the nearest integer (negative draws become 0).
    pub fn sample_u64(&self, rng: &mut SimRng) -> u64 {
        to_u64(self.sample(rng))
    }
}

/// Φ(x), the standard normal CDF, through erfc's rational approximation of
/// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7: enough to
/// judge a share of draws, never used for a draw itself).
fn std_normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

/// Rounds a non-negative float to the nearest integer, saturating.
pub fn to_u64(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else {
        x.round() as u64 // `as` saturates at u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> SimRng {
        SimRng::seed_from_u64(1)
    }

    #[test]
    fn validation_names_the_parameter() {
        let e = Dist::Uniform { min: 5.0, max: 1.0 }.validate().unwrap_err();
        assert!(e.contains("min (5) must not exceed max (1)"), "{e}");
        let e = Dist::Exponential { mean: 0.0 }.validate().unwrap_err();
        assert!(e.starts_with("mean"), "{e}");
        assert!(Dist::Choice(vec![]).validate().is_err());
        let e = Dist::Lognormal {
            median: 25.0,
            sigma: 0.5,
            max: Some(20.0),
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("max (20) is below the median (25)"), "{e}");
    }

    #[test]
    fn the_smallest_rounded_draw_is_known_where_bounded() {
        // 0.4 rounds to 0; 0.5 rounds up to 1; min of a choice; Pareto's scale.
        assert_eq!(Dist::Constant(0.4).min_rounded(), Some(0));
        assert_eq!(Dist::Uniform { min: 0.5, max: 3.0 }.min_rounded(), Some(1));
        assert_eq!(Dist::Choice(vec![4.0, 2.0]).min_rounded(), Some(2));
        let w = Dist::Weighted {
            values: vec![0.0, 3.0],
            weights: vec![0.0, 1.0],
        };
        assert_eq!(
            w.min_rounded(),
            Some(3),
            "a value of weight 0 is never drawn"
        );
        assert_eq!(Dist::Exponential { mean: 5.0 }.min_rounded(), None);
    }

    #[test]
    fn mean_bounds_are_the_mean_or_above_it() {
        // (2 + 6) / 2 = 4; (1 + 2 + 6) / 3 = 3; (1·3 + 5·1) / 4 = 2.
        assert_eq!(Dist::Uniform { min: 2.0, max: 6.0 }.mean_bound(), 4.0);
        assert_eq!(Dist::Choice(vec![1.0, 2.0, 6.0]).mean_bound(), 3.0);
        let w = Dist::Weighted {
            values: vec![1.0, 5.0],
            weights: vec![3.0, 1.0],
        };
        assert_eq!(w.mean_bound(), 2.0);
        // Log-normal: 100 · e^(2²/2) = 100 · e² ≈ 738.9; a max of 500 caps it.
        let ln = |max| Dist::Lognormal {
            median: 100.0,
            sigma: 2.0,
            max,
        };
        assert!((ln(None).mean_bound() - 738.9).abs() < 0.1);
        assert_eq!(ln(Some(500.0)).mean_bound(), 500.0);
        // Pareto: 1.5 · 10 / 0.5 = 30; shape 1 has no finite mean unless capped.
        let p = |shape, max| Dist::Pareto {
            scale: 10.0,
            shape,
            max,
        };
        assert_eq!(p(1.5, None).mean_bound(), 30.0);
        assert_eq!(p(1.0, None).mean_bound(), f64::INFINITY);
        assert_eq!(p(1.0, Some(1e6)).mean_bound(), 1e6);
        // The empirical mean of capped draws stays below the bound:
        // 20,000 draws of the 1.5-shape Pareto capped at 100.
        let capped = p(1.5, Some(100.0));
        let mut r = rng();
        let mean = (0..20_000).map(|_| capped.sample(&mut r)).sum::<f64>() / 20_000.0;
        assert!(mean <= capped.mean_bound(), "{mean}");
    }

    #[test]
    fn draws_stay_in_range_and_caps_apply() {
        let mut r = rng();
        for _ in 0..1000 {
            let u = Dist::Uniform { min: 2.0, max: 3.0 }.sample(&mut r);
            assert!((2.0..=3.0).contains(&u));
            let p = Dist::Pareto {
                scale: 10.0,
                shape: 0.5,
                max: Some(100.0),
            }
            .sample(&mut r);
            assert!((10.0..=100.0).contains(&p));
            let c = Dist::Choice(vec![1.0, 2.0, 4.0, 8.0]).sample_u64(&mut r);
            assert!([1, 2, 4, 8].contains(&c));
        }
        // Weighted 3:1 over 4000 draws: expect ~3000 of value 1 (±5 sigma ~ 140).
        let w = Dist::Weighted {
            values: vec![1.0, 2.0],
            weights: vec![3.0, 1.0],
        };
        let ones = (0..4000).filter(|_| w.sample_u64(&mut r) == 1).count();
        assert!((2860..=3140).contains(&ones), "{ones}");
    }

    #[test]
    fn lognormal_median_is_its_parameter() {
        let mut r = rng();
        let d = Dist::Lognormal {
            median: 500.0,
            sigma: 1.0,
            max: None,
        };
        let mut v: Vec<f64> = (0..4001).map(|_| d.sample(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[2000];
        assert!((440.0..=560.0).contains(&median), "{median}");
        assert_eq!(to_u64(2.5), 3);
        assert_eq!(to_u64(-1.0), 0);
    }

    #[test]
    fn the_share_of_draws_rounding_to_zero() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        // Exponential of mean 1: P(X < 0.5) = 1 - e^-0.5 = 0.393469.
        let p = Dist::Exponential { mean: 1.0 }.zero_probability().unwrap();
        assert!(close(p, 0.393_469), "{p}");
        // Log-normal of median 0.5: half its draws are below 0.5.
        let ln = |median: f64, sigma: f64| Dist::Lognormal {
            median,
            sigma,
            max: None,
        };
        assert!(close(ln(0.5, 1.0).zero_probability().unwrap(), 0.5));
        // Median 0.5·e (σ = 1): P = Φ(-1) = 0.158655.
        let p = ln(0.5 * std::f64::consts::E, 1.0)
            .zero_probability()
            .unwrap();
        assert!(close(p, 0.158_655), "{p}");
        // Φ(1.96) = 0.975002; σ = 0 is a point mass at the median.
        assert!(close(std_normal_cdf(1.96), 0.975_002));
        assert_eq!(ln(600.0, 0.0).zero_probability(), Some(0.0));
        assert_eq!(Dist::Constant(3.0).zero_probability(), None);
    }
}
