//! A sweep's runs, in their one order: the cartesian product of the
//! parameters' values, the first parameter outermost, in the order the
//! sweep file declares them, with the seeds innermost. A run's *index* is
//! its place in that order (from 0); its *id* names its directory,
//! `runs/<id>/`: the labels of its values and its seed joined by `-`
//! (`best_fit-true-s2`). An id depends on the run's values and seed only,
//! so adding a value to a list keeps every other run's id, and a sweep run
//! again finds their directories.
//!
//! A shard `I/N` is the runs whose index is `I` modulo `N`: every run in
//! exactly one of the `N` shards, each shard's runs spread over the whole
//! product (rather than a block of it) so shards take about as long.

use super::spec::Spec;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The longest run id, in bytes: a file name, with room for a
/// temporary name's prefix and suffix.
pub const MAX_ID: usize = 200;

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// Its place in the expansion, from 0.
    pub index: usize,
    /// Its directory's name under `runs/`.
    pub id: String,
    /// For each parameter, the index of its value.
    pub values: Vec<usize>,
    pub seed: u64,
}

/// Every run of `spec`, in index order. `origin` names the sweep file in
/// errors.
///
/// # Errors
/// [`Error::Invalid`] naming `parameters` when two runs would get the same
/// id (labels that join ambiguously) or an id is too long.
pub fn expand(spec: &Spec, origin: &Path) -> Result<Vec<Run>> {
    let n = spec.run_count();
    let mut runs = Vec::with_capacity(n);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for index in 0..n {
        let seed = spec.seeds[index % spec.seeds.len()];
        let mut rest = index / spec.seeds.len();
        let mut values = vec![0; spec.parameters.len()];
        for (v, p) in values.iter_mut().zip(&spec.parameters).rev() {
            *v = rest % p.values.len();
            rest /= p.values.len();
        }
        let mut parts: Vec<&str> = values
            .iter()
            .zip(&spec.parameters)
            .map(|(&v, p)| p.labels[v].as_str())
            .collect();
        let seed_part = format!("s{seed}");
        parts.push(&seed_part);
        let id = parts.join("-");
        let bad = |message: String| Error::Invalid {
            path: origin.to_path_buf(),
            key: "parameters".into(),
            message,
        };
        if id.len() > MAX_ID {
            return Err(bad(format!(
                "run {index}'s id is {} characters, more than {MAX_ID}: give shorter labels = [...]",
                id.len()
            )));
        }
        if let Some(first) = seen.insert(id.clone(), index) {
            return Err(bad(format!(
                "runs {first} and {index} would both be named {id:?}: give labels = [...] that tell them apart"
            )));
        }
        runs.push(Run {
            index,
            id,
            values,
            seed,
        });
    }
    Ok(runs)
}

/// `--shard I/N`: the runs whose index is `I` modulo `N`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole sweep: shard 0/1.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// True if run `index` belongs to this shard.
    pub fn contains(self, index: usize) -> bool {
        index % self.count == self.index
    }

    pub fn is_all(self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 ≤ I < N`.
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let expected =
            format!("expected I/N with 0 <= I < N (0/4 is the first of 4 shards), got {s:?}");
        let (i, n) = s.split_once('/').ok_or_else(|| expected.clone())?;
        let (Ok(index), Ok(count)) = (i.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(expected);
        };
        if count == 0 || index >= count {
            return Err(expected);
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        Spec::parse(text, Path::new("s.toml")).unwrap()
    }

    #[test]
    fn runs_are_the_product_in_declared_order_seeds_innermost() {
        let s = spec(
            "base = \"q\"\nseeds = [7, 8]\n\
             [[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"worst_fit\", \"best_fit\", \"hybrid\"]\n\
             [[parameters]]\nkey = \"scheduler.preemption\"\nvalues = [true, false]\nlabels = [\"p\", \"np\"]\n",
        );
        let runs = expand(&s, Path::new("s.toml")).unwrap();
        // 3 policies × 2 preemption × 2 seeds; index = ((policy × 2) + preemption) × 2 + seed.
        assert_eq!(runs.len(), 12);
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids[..6],
            [
                "worst_fit-p-s7",
                "worst_fit-p-s8",
                "worst_fit-np-s7",
                "worst_fit-np-s8",
                "best_fit-p-s7",
                "best_fit-p-s8"
            ]
        );
        assert_eq!(ids[11], "hybrid-np-s8");
        assert_eq!(runs[9].values, [2, 0]);
        assert_eq!(runs[9].seed, 8);
        assert!(runs.iter().enumerate().all(|(i, r)| r.index == i));
    }

    #[test]
    fn ids_do_not_move_when_a_value_is_added() {
        let two = spec("base = \"q\"\nseeds = [1]\n[[parameters]]\nkey = \"a\"\nvalues = [1, 2]\n");
        let three =
            spec("base = \"q\"\nseeds = [1]\n[[parameters]]\nkey = \"a\"\nvalues = [1, 2, 3]\n");
        let ids = |s: &Spec| -> Vec<String> {
            expand(s, Path::new("s.toml"))
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(ids(&two), ["1-s1", "2-s1"]);
        assert_eq!(ids(&three)[..2], ids(&two)[..]);
        let seeds_only = spec("base = \"q\"\nseed_range = { start = 3, count = 2 }\n");
        assert_eq!(ids(&seeds_only), ["s3", "s4"]);
    }

    #[test]
    fn ids_that_collide_are_refused() {
        // "a-b" + "c" and "a" + "b-c" both join to "a-b-c".
        let s = spec(
            "base = \"q\"\nseeds = [1]\n[[parameters]]\nkey = \"x\"\nvalues = [\"a-b\", \"a\"]\n\
             [[parameters]]\nkey = \"y\"\nvalues = [\"c\", \"b-c\"]\n",
        );
        match expand(&s, Path::new("s.toml")) {
            Err(Error::Invalid { key, message, .. }) => {
                assert_eq!(key, "parameters");
                assert!(message.contains("\"a-b-c-s1\""), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shards_split_by_index_modulo_their_count() {
        let s: Shard = "1/3".parse().unwrap();
        let mine: Vec<usize> = (0..10).filter(|&i| s.contains(i)).collect();
        assert_eq!(mine, [1, 4, 7]);
        assert_eq!(s.to_string(), "1/3");
        for bad in ["3/3", "1/0", "1", "a/2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(Shard::ALL.contains(5) && Shard::ALL.is_all());
    }
}
