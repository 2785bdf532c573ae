//! What the sweep's page summarises: a figure's mean and spread over the
//! seeds of one point of the grid (one value of every parameter), and the
//! runs grouped by what a plot puts on its x axis and in its series.
//! Groups are kept in index order (value indices compared in order), so the
//! page is the same whatever order runs finished in.

use super::dir::Outcome;
use super::expand::Run;
use std::collections::BTreeMap;

/// The mean of `n` values, and their sample standard deviation (n − 1 in
/// the denominator) when there are two or more.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Stat {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
}

/// The statistics of `values`; `None` for none.
pub fn stat(values: &[f64]) -> Option<Stat> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (n > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    Some(Stat { n, mean, sd })
}

/// A figure of a run that is done: the number at `key` of its result.
pub fn figure(outcome: &Outcome, key: &str) -> Option<f64> {
    match outcome {
        Outcome::Done(s) => super::table::value_at(s, key).and_then(serde_json::Value::as_f64),
        Outcome::Failed(_) => None,
    }
}

/// Runs grouped by a key, groups in key order, runs in index order.
pub fn group_by<'a, K: Ord>(
    rows: &[(&'a Run, &'a Outcome)],
    key: impl Fn(&Run) -> K,
) -> BTreeMap<K, Vec<(&'a Run, &'a Outcome)>> {
    let mut groups: BTreeMap<K, Vec<(&Run, &Outcome)>> = BTreeMap::new();
    for &(run, outcome) in rows {
        groups.entry(key(run)).or_default().push((run, outcome));
    }
    groups
}

/// The statistics of `key` over `rows` (runs that failed, or lack it, left
/// out).
pub fn stat_of(rows: &[(&Run, &Outcome)], key: &str) -> Option<Stat> {
    let values: Vec<f64> = rows.iter().filter_map(|(_, o)| figure(o, key)).collect();
    stat(&values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mean_and_sample_sd() {
        // 2, 4, 6: mean 4; squared deviations 4 + 0 + 4 = 8, / (3 − 1) = 4, sd 2.
        assert_eq!(
            stat(&[2.0, 4.0, 6.0]),
            Some(Stat {
                n: 3,
                mean: 4.0,
                sd: Some(2.0)
            })
        );
        assert_eq!(stat(&[5.0]).unwrap().sd, None, "one value has no spread");
        assert_eq!(stat(&[]), None);
    }

    #[test]
    fn groups_follow_the_key_and_skip_failures() {
        let run = |index: usize, values: Vec<usize>| Run {
            index,
            id: format!("r{index}"),
            values,
            seed: index as u64,
        };
        let runs = [run(0, vec![0, 1]), run(1, vec![1, 0]), run(2, vec![0, 0])];
        let done = |v: u64| Outcome::Done(json!({ "tasks": { "submitted": v } }));
        let outcomes = [done(10), done(20), Outcome::Failed("x".into())];
        let rows: Vec<(&Run, &Outcome)> = runs.iter().zip(&outcomes).collect();
        let by_first = group_by(&rows, |r| r.values[0]);
        let firsts: Vec<Vec<usize>> = by_first
            .values()
            .map(|g| g.iter().map(|(r, _)| r.index).collect())
            .collect();
        assert_eq!(firsts, [vec![0, 2], vec![1]]);
        assert_eq!(
            stat_of(&by_first[&0], "tasks.submitted").unwrap().n,
            1,
            "the failed run is left out"
        );
        assert_eq!(stat_of(&rows, "tasks.submitted").unwrap().mean, 15.0);
    }
}
