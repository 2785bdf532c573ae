//! The search for the largest inflation that still fits: a pure function
//! of a *fit oracle* (factor in per mille → fits?), so that it is tested
//! with fake oracles.
//!
//! The uninflated workload (factor 0) fits — the caller checked it. The
//! search then
//!
//! 1. **doubles** the factor from one step of the resolution — `r`, `2r`,
//!    `4r`, … — until a factor does not fit, stopping at the cap (rounded
//!    down to a multiple of `r`): if even the cap fits, there is no answer
//!    within it ([`search`] returns `None`);
//! 2. **bisects** between the last factor that fitted (0 if the first
//!    step failed) and the first that did not, in whole steps of `r`,
//!    until they are one step apart.
//!
//! Every probe is a multiple of `r`, so the answer is too: the largest
//! multiple of `r` that fits such that the next one does not. With the
//! first failure at `F`, it takes about log₂(F / r) doubling probes and as
//! many bisection probes. Like compaction's bisection it *assumes* that
//! fitting is monotone in the factor (a larger factor never fits when a
//! smaller one does not); a scheduler's heuristics need not honour that,
//! and the search then finds *a* boundary. [`contradictions`] lists the
//! pairs of probes that no monotone fit could give.

/// A search's answer: the largest factor found to fit and the smallest
/// found not to (one resolution step above it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub largest_fit_permille: u32,
    pub first_unfit_permille: u32,
}

/// The largest multiple of `resolution` in `[0, cap]` that fits, with the
/// first that does not (see the module doc); `None` if `cap` (rounded down
/// to a multiple of `resolution`) fits. Factor 0 is never probed (it
/// fits).
///
/// # Errors
/// The first error `fits` returns.
///
/// # Panics
/// If `resolution` is 0 or above `cap`.
pub fn search<E>(
    resolution: u32,
    cap: u32,
    fits: &mut dyn FnMut(u32) -> Result<bool, E>,
) -> Result<Option<Found>, E> {
    assert!(
        resolution > 0 && resolution <= cap,
        "search({resolution}, {cap})"
    );
    let cap = cap / resolution * resolution;
    let mut lo = 0;
    let mut hi = resolution;
    loop {
        if !fits(hi)? {
            break;
        }
        if hi == cap {
            return Ok(None);
        }
        lo = hi;
        hi = hi.saturating_mul(2).min(cap);
    }
    while hi - lo > resolution {
        let steps = (hi - lo) / resolution;
        let mid = lo + steps / 2 * resolution;
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(Found {
        largest_fit_permille: lo,
        first_unfit_permille: hi,
    }))
}

/// Pairs `[a, b]` of probed factors where `a < b`, `a` does not fit and
/// `b` does: evidence against monotonicity. Compaction's check
/// ([`crate::compact::search::contradictions`]) with the order reversed —
/// more machines there is less inflation here; for each failing `a`, `b`
/// is the largest fitting factor above it; sorted by `a`.
pub fn contradictions(probes: &[(u32, bool)]) -> Vec<[u32; 2]> {
    let mirrored: Vec<(u32, bool)> = probes.iter().map(|&(f, ok)| (u32::MAX - f, ok)).collect();
    let mut out: Vec<[u32; 2]> = crate::compact::search::contradictions(&mirrored)
        .into_iter()
        .map(|(fit, fail)| [u32::MAX - fail, u32::MAX - fit])
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// Runs the search on a monotone fit (factors up to `limit` fit),
    /// returning the answer and the factors probed, in order.
    fn run(limit: u32, resolution: u32, cap: u32) -> (Option<Found>, Vec<u32>) {
        let mut probes = Vec::new();
        let mut oracle = |f: u32| -> Result<bool, Infallible> {
            probes.push(f);
            Ok(f <= limit)
        };
        let Ok(found) = search(resolution, cap, &mut oracle);
        (found, probes)
    }

    fn found(fit: u32, unfit: u32) -> Option<Found> {
        Some(Found {
            largest_fit_permille: fit,
            first_unfit_permille: unfit,
        })
    }

    #[test]
    fn doubling_then_bisection_in_steps_of_the_resolution() {
        // Fits up to 347 ‰, resolution 10: doubling 10, 20, 40, 80, 160,
        // 320 fit, 640 does not; bisection between 320 and 640 (32 steps):
        // 480 (no), 400 (no), 360 (no), 340 (yes), 350 (no) → 340 / 350.
        let (f, probes) = run(347, 10, 10_000);
        assert_eq!(f, found(340, 350));
        assert_eq!(
            probes,
            [10, 20, 40, 80, 160, 320, 640, 480, 400, 360, 340, 350]
        );
    }

    #[test]
    fn the_first_step_failing_answers_zero() {
        // Nothing beyond 0 fits: one probe, 10 fails → 0 / 10.
        assert_eq!(run(5, 10, 10_000), (found(0, 10), vec![10]));
    }

    #[test]
    fn an_exact_boundary_is_found_and_its_next_step_fails() {
        // Fits up to exactly 250 ‰, resolution 50: 50, 100, 200 fit, 400
        // does not; (200, 400) is 4 steps: 300 (no), 250 (yes) → 250 / 300.
        assert_eq!(
            run(250, 50, 10_000),
            (found(250, 300), vec![50, 100, 200, 400, 300, 250])
        );
    }

    #[test]
    fn doubling_stops_at_the_cap_and_a_fitting_cap_is_no_answer() {
        // Cap 1,000 ‰ (rounded down from 1,005 at resolution 10): 10 … 640
        // fit, then 1,000 (not 1,280) is probed.
        let (f, probes) = run(700, 10, 1_005);
        assert_eq!(f, found(700, 710));
        assert_eq!(&probes[..8], [10, 20, 40, 80, 160, 320, 640, 1_000]);
        // Everything fits: the cap is the last probe and there is no answer.
        let (f, probes) = run(u32::MAX, 10, 1_005);
        assert_eq!(f, None);
        assert_eq!(probes.last(), Some(&1_000));
    }

    #[test]
    fn contradictions_pair_a_failure_with_a_larger_fit() {
        // 100 fits, 200 fails, 300 fits, 150 fails, 400 fails: 150 and 200
        // each sit below the fitting 300; 400 has no fit above it.
        let p = [
            (100, true),
            (200, false),
            (300, true),
            (150, false),
            (400, false),
        ];
        assert_eq!(contradictions(&p), vec![[150, 300], [200, 300]]);
        // 50 failing under both 100 and 300: paired with the largest fit.
        let p = [(50, false), (100, true), (300, true)];
        assert_eq!(contradictions(&p), vec![[50, 300]]);
        // A monotone search's own probes: none.
        assert!(contradictions(&[(10, true), (20, true), (40, false), (30, false)]).is_empty());
    }
}
