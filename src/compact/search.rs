//! The search for the smallest cell that fits, over one random order of
//! the machines: pure functions of a *fit oracle* (prefix length → fits?),
//! so that they are tested with fake oracles and reused by any experiment
//! that shrinks a cell.
//!
//! A trial's order is a permutation of the whole cell's machine ids drawn
//! from its own random stream ([`permutation`]); the candidate cells are
//! its prefixes, and the answer is the shortest prefix that fits. Two ways
//! to find it:
//!
//! - [`Search::Bisect`]: bisection between a prefix known not to fit (one
//!   shorter than the capacity lower bound, `bound.rs`, which needs no
//!   simulation) and the whole cell, which fits (checked first). It takes
//!   about log₂(whole − bound) probes, and it *assumes* that fitting is
//!   monotone in the prefix length — that a prefix fits whenever a shorter
//!   one does. Schedulers are heuristics, so this may fail: a longer prefix
//!   might leave more tasks pending than a shorter one. Bisection then
//!   finds *a* boundary (a prefix that fits whose one-shorter neighbour
//!   does not), not necessarily the one removal would stop at.
//! - [`Search::Linear`]: Borg's own description, taken literally — remove
//!   machines in the order, one at a time from the whole cell, until the
//!   workload no longer fits; the answer is the last prefix that did. No
//!   bound, no assumption; one probe per machine removed. The brute force
//!   the tests compare bisection with.
//!
//! Every probe is recorded, and [`contradictions`] lists pairs of probes
//! that no monotone fit could give (a prefix that fits, shorter than one
//! that does not). Neither search ever probes such a pair by itself — each
//! probes only between its known failure and its known fit — so a
//! contradiction appears only in probes gathered otherwise (a caller's
//! extra checks); the list is computed and reported for every trial all
//! the same, so the assumption is checked wherever the evidence exists.

use crate::cell::MachineId;
use crate::rng::SimRng;
use rand::Rng;
use serde::Serialize;

/// How a trial searches its order (see the module doc).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Bisection between the capacity bound and the whole cell.
    #[default]
    Bisect,
    /// Machines removed one at a time from the whole cell.
    Linear,
}

impl Search {
    pub const ALL: [Search; 2] = [Search::Bisect, Search::Linear];

    pub fn name(self) -> &'static str {
        match self {
            Search::Bisect => "bisect",
            Search::Linear => "linear",
        }
    }
}

impl std::str::FromStr for Search {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Search::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown search {s:?}; expected bisect or linear"))
    }
}

/// A random order of machine ids `0..n`: Fisher–Yates with `rng`, each
/// step's index drawn from `0..=i`.
pub fn permutation(n: u32, rng: &mut SimRng) -> Vec<MachineId> {
    let mut order: Vec<MachineId> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}

/// The shortest prefix length in `(known_unfit, whole]` that fits, by
/// bisection, given that `known_unfit` does not fit (it is not probed; 0
/// for none) and `whole` does (not probed either: the caller checked it).
/// `fits` is probed only strictly between the two.
///
/// # Errors
/// The first error `fits` returns.
///
/// # Panics
/// If `known_unfit >= whole`.
pub fn bisect<E>(
    known_unfit: u32,
    whole: u32,
    fits: &mut dyn FnMut(u32) -> Result<bool, E>,
) -> Result<u32, E> {
    assert!(known_unfit < whole, "bisect({known_unfit}, {whole})");
    let (mut lo, mut hi) = (known_unfit, whole);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// [`bisect`], then the `window` prefixes just above the boundary it found
/// are probed, longest first (the whole cell, known to fit, aside): a
/// failure there is a fitting prefix below a failing one — fitting is not
/// monotone, as queueing makes it for workloads with time — and bisection
/// starts again between that failure and the whole cell. The answer is a
/// boundary with `window` fitting prefixes above it: removal one machine
/// at a time ([`linear`]) stops there whenever fitting is monotone above
/// the boundary's window. `window` 0 is [`bisect`].
///
/// # Errors
/// The first error `fits` returns.
pub fn bisect_checked<E>(
    known_unfit: u32,
    whole: u32,
    window: u32,
    fits: &mut dyn FnMut(u32) -> Result<bool, E>,
) -> Result<u32, E> {
    // Each prefix is simulated once, however often the searches ask.
    let mut seen = std::collections::BTreeMap::new();
    let mut fits = |p: u32| -> Result<bool, E> {
        if let Some(&v) = seen.get(&p) {
            return Ok(v);
        }
        let v = fits(p)?;
        seen.insert(p, v);
        Ok(v)
    };
    let mut unfit = known_unfit;
    loop {
        let b = bisect(unfit, whole, &mut fits)?;
        let top = b.saturating_add(window).min(whole - 1);
        let mut failed = None;
        for p in (b + 1..=top).rev() {
            if !fits(p)? {
                failed = Some(p);
                break;
            }
        }
        match failed {
            None => return Ok(b),
            Some(f) => unfit = f,
        }
    }
}

/// Removes machines one at a time from the whole prefix `whole` (which
/// fits: not probed) until a prefix does not fit; returns the last that
/// did. Probes `whole − 1`, `whole − 2`, … down to 1 at most: a workload
/// that fits one machine gets 1.
///
/// # Errors
/// The first error `fits` returns.
pub fn linear<E>(whole: u32, fits: &mut dyn FnMut(u32) -> Result<bool, E>) -> Result<u32, E> {
    let mut last_fit = whole;
    while last_fit > 1 && fits(last_fit - 1)? {
        last_fit -= 1;
    }
    Ok(last_fit)
}

/// Pairs `(a, b)` of probed prefix lengths where `a < b`, `a` fits and `b`
/// does not: evidence against monotonicity. For each failing `b`, `a` is
/// the shortest fitting prefix below it; sorted by `b`.
pub fn contradictions(probes: &[(u32, bool)]) -> Vec<(u32, u32)> {
    let shortest_fit = |below: u32| {
        probes
            .iter()
            .filter(|(n, fits)| *fits && *n < below)
            .map(|(n, _)| *n)
            .min()
    };
    let mut out: Vec<(u32, u32)> = probes
        .iter()
        .filter(|(_, fits)| !fits)
        .filter_map(|&(b, _)| shortest_fit(b).map(|a| (a, b)))
        .collect();
    out.sort_unstable_by_key(|&(a, b)| (b, a));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RngStreams, Stream};
    use std::convert::Infallible;

    /// Runs `search` on a table of answers (`fits[p]` for prefix `p`,
    /// the whole cell being the last), returning the answer and the
    /// prefixes probed, in order.
    fn run(fits: &[bool], search: Search, known_unfit: u32) -> (u32, Vec<u32>) {
        let mut probes = Vec::new();
        let whole = (fits.len() - 1) as u32;
        let mut oracle = |p: u32| -> Result<bool, Infallible> {
            probes.push(p);
            Ok(fits[p as usize])
        };
        let answer = match search {
            Search::Bisect => bisect(known_unfit, whole, &mut oracle),
            Search::Linear => linear(whole, &mut oracle),
        };
        let Ok(answer) = answer;
        (answer, probes)
    }

    #[test]
    fn bisection_finds_the_boundary_of_a_monotone_fit() {
        // Prefixes 0..=16; those of 11 or more fit.
        let fits: Vec<bool> = (0..=16).map(|p| p >= 11).collect();
        // From (0, 16]: probes 8 (no), 12 (yes), 10 (no), 11 (yes) → 11.
        let (a, probes) = run(&fits, Search::Bisect, 0);
        assert_eq!((a, probes), (11, vec![8, 12, 10, 11]));
        // With a bound of 10 (9 known not to fit): (9, 16] → 12, 10, 11.
        let (a, probes) = run(&fits, Search::Bisect, 9);
        assert_eq!((a, probes), (11, vec![12, 10, 11]));
        // Linear: 15, 14, 13, 12, 11 fit, 10 does not → 11, six probes.
        let (a, probes) = run(&fits, Search::Linear, 0);
        assert_eq!((a, probes), (11, vec![15, 14, 13, 12, 11, 10]));
        // The whole cell is the answer when one machine fewer fails.
        let tight: Vec<bool> = (0..=16).map(|p| p == 16).collect();
        assert_eq!(run(&tight, Search::Bisect, 0).0, 16);
        assert_eq!(run(&tight, Search::Linear, 0), (16, vec![15]));
        // Everything fits one machine: 1, never 0.
        let all = vec![true; 17];
        assert_eq!(run(&all, Search::Bisect, 0).0, 1);
        assert_eq!(run(&all, Search::Linear, 0).0, 1);
    }

    #[test]
    fn without_monotonicity_bisection_finds_a_boundary_not_the_first_failure() {
        // Fits at 4..=5 and 9..=16, not at 6..=8: removing machines from 16
        // stops at 8 (linear: 9); bisection from (0, 16] probes 8 (no),
        // 12 (yes), 10 (yes), 9 (yes) → 9, the same boundary here…
        let mut fits: Vec<bool> = (0..=16).map(|p| p >= 9 || (4..=5).contains(&p)).collect();
        assert_eq!(run(&fits, Search::Linear, 0).0, 9);
        assert_eq!(run(&fits, Search::Bisect, 0), (9, vec![8, 12, 10, 9]));
        // …but if 8 fits and 6..=7 do not, bisection's first probe (8)
        // fits and it goes down: 4 (yes), 2 (no), 3 (no) → 4, a boundary
        // removal never reaches (it stops at 7: answer 8).
        fits[8] = true;
        assert_eq!(run(&fits, Search::Linear, 0).0, 8);
        let (a, probes) = run(&fits, Search::Bisect, 0);
        assert_eq!((a, probes.clone()), (4, vec![8, 4, 2, 3]));
        // Its own probes never contradict each other…
        let seen: Vec<(u32, bool)> = probes.iter().map(|&p| (p, fits[p as usize])).collect();
        assert!(contradictions(&seen).is_empty());
        // …but a check of the prefixes between the answer and the first
        // fit above it shows 6 and 7 failing above the fitting 4.
        let mut checked = seen.clone();
        checked.extend((5..8).map(|p| (p, fits[p as usize])));
        assert_eq!(contradictions(&checked), vec![(4, 6), (4, 7)]);
    }

    #[test]
    fn contradictions_pair_each_failure_with_the_shortest_fit_below() {
        // 10 fits, 12 fails, 14 fits, 15 fails, 8 fits: 12 and 15 each sit
        // above the fitting 8.
        let p = [(10, true), (12, false), (14, true), (15, false), (8, true)];
        assert_eq!(contradictions(&p), vec![(8, 12), (8, 15)]);
        // Monotone probes: none.
        assert!(contradictions(&[(5, false), (9, true), (7, false), (8, true)]).is_empty());
    }

    #[test]
    fn a_permutation_is_every_machine_once_and_seeded() {
        let streams = RngStreams::new(7);
        let a = permutation(100, &mut streams.substream(Stream::Compaction, 0));
        let b = permutation(100, &mut streams.substream(Stream::Compaction, 0));
        let c = permutation(100, &mut streams.substream(Stream::Compaction, 1));
        assert_eq!(a, b, "the same stream, the same order");
        assert_ne!(a, c, "another trial, another order");
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, sorted, "shuffled");
        assert_eq!(
            permutation(1, &mut streams.substream(Stream::Compaction, 0)),
            [0]
        );
        assert!(permutation(0, &mut streams.substream(Stream::Compaction, 0)).is_empty());
    }

    #[test]
    fn search_names_parse_back() {
        for s in Search::ALL {
            assert_eq!(s.name().parse::<Search>(), Ok(s));
        }
        assert!("binary".parse::<Search>().is_err());
    }

    #[test]
    fn checked_bisection_climbs_past_a_failure_above_its_boundary() {
        // Fits at 246 and at 248..=250, not at 247 nor at ≤ 245: removal
        // one machine at a time stops at 248 (247 fails).
        let fit = |p: u32| p == 246 || p >= 248;
        assert_eq!(linear(250, &mut |p| Ok::<_, ()>(fit(p))).unwrap(), 248);
        // Plain bisection from (244, 249): mid 246 fits → (244, 246); mid
        // 245 fails → (245, 246): 246, a boundary, not removal's answer.
        assert_eq!(bisect(244, 249, &mut |p| Ok::<_, ()>(fit(p))).unwrap(), 246);
        // Checked with a window of 2: 248 fits, 247 fails → bisect again
        // from (247, 249): mid 248 fits → 248; above it 249 fits (250, the
        // whole cell, is not probed) → 248.
        let mut probes = Vec::new();
        let mut oracle = |p: u32| -> Result<bool, ()> {
            probes.push(p);
            Ok(fit(p))
        };
        assert_eq!(bisect_checked(244, 249, 2, &mut oracle).unwrap(), 248);
        assert_eq!(probes, [246, 245, 248, 247]); // 248 simulated once
                                                  // Window 0 is plain bisection.
        let plain = bisect_checked(244, 249, 0, &mut |p| Ok::<_, ()>(fit(p)));
        assert_eq!(plain.unwrap(), 246);
    }
}
