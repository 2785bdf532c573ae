//! The sweep file, `SWEEP.toml`: a base scenario, the seeds, and the
//! parameters to vary, each a scenario key by its TOML path with the
//! values it takes. Unknown keys are errors, and every check names the
//! key of the sweep file it is about (`parameters[1].values`), as a
//! scenario's do.
//!
//! ```toml
//! name = "policies"              # default: the file's name without .toml
//! base = "quickstart"            # a scenario file, relative to this one, or a built-in
//! seeds = [1, 2, 3]              # and/or seed_range = { start = 1, count = 3 }
//! outputs = "no_plots"           # what each run keeps: summary | no_plots | all
//!
//! [[parameters]]
//! key = "scheduler.policy"
//! values = ["worst_fit", "best_fit", "hybrid"]
//!
//! [[parameters]]
//! key = "scheduler.preemption"
//! values = [true, false]
//! labels = ["preempt", "no-preempt"]   # optional: names in run ids
//! ```
//!
//! Each run is a simulation unless `command` says otherwise (see
//! `sweep::command`): `command = "compact"` (and `search`),
//! `command = "experiment"` with `experiment = "segregation"` (and
//! `parts`, `policies`, `search` where they apply), `command = "inflate"`
//! with `mode = "horizontal"`.
//!
//! Parameters are an array of tables, not a table, because their order is
//! the order of the expansion (`sweep::expand`), and a TOML table's keys
//! have none.

use super::command::{Command, CommandKeys};
use super::path::KeyPath;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// The most runs one sweep may expand to: beyond it a typo in a list
/// (or one list too many) is far likelier than intent.
pub const MAX_RUNS: u64 = 1_000_000;

/// The longest label of a value in a run's id, in characters.
pub const MAX_LABEL: usize = 40;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    #[serde(default)]
    description: String,
    base: String,
    #[serde(default)]
    seeds: Vec<u64>,
    seed_range: Option<SeedRange>,
    #[serde(default)]
    outputs: Outputs,
    #[serde(default)]
    parameters: Vec<ParameterFile>,
    command: Option<String>,
    experiment: Option<String>,
    parts: Option<Vec<u32>>,
    policies: Option<Vec<String>>,
    mode: Option<String>,
    search: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRange {
    start: u64,
    count: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterFile {
    key: String,
    values: Vec<toml::Value>,
    labels: Option<Vec<String>>,
}

/// What each run's directory keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Outputs {
    /// `summary.json`, `run.json` and `scenario.toml` only.
    Summary,
    /// Everything a run writes, without plots: no PNGs, and `report.html`
    /// with its tables only (a page with plots is ~10× larger).
    #[default]
    NoPlots,
    /// Everything a run writes, plots included.
    All,
}

impl Outputs {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One varied key and its values, in order.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub key: KeyPath,
    pub values: Vec<toml::Value>,
    /// Each value's name in run ids: the `labels` given, or the value's
    /// text with characters other than letters, digits, `.`, `_` and `-`
    /// made `_`.
    pub labels: Vec<String>,
}

/// A checked sweep file.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub description: String,
    /// The base scenario as written: a path relative to the sweep file, or
    /// a built-in's name.
    pub base: String,
    /// `seeds`, then `seed_range`'s, in order.
    pub seeds: Vec<u64>,
    pub outputs: Outputs,
    pub parameters: Vec<Parameter>,
    /// What each run does: a simulation, or a capacity-planning command.
    pub command: Command,
}

/// A value as runs.csv and the report show it: a string as it is, any
/// other value as TOML writes it (`true`, `200`, `{ constant = 4 }`).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A value's label in run ids (see [`Parameter::labels`]), at most
/// [`MAX_LABEL`] characters, runs of other characters made one `_`.
pub fn label_of(v: &toml::Value) -> String {
    let mut out = String::new();
    for c in value_text(v).chars() {
        if c.is_ascii_alphanumeric() || "._-".contains(c) {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    out.chars().take(MAX_LABEL).collect()
}

fn label_ok(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= MAX_LABEL
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !l.starts_with('.')
}

impl Spec {
    /// Parses and checks a sweep file's text; `origin` names it in errors,
    /// and its file name is the sweep's name when the file gives none.
    ///
    /// # Errors
    /// [`Error::Parse`] for text that is not TOML or has an unknown key,
    /// [`Error::Invalid`] naming the key for a value that is wrong.
    pub fn parse(text: &str, origin: &Path) -> Result<Spec> {
        let f: File = toml::from_str(text).map_err(|e| Error::Parse {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let bad = |key: String, message: String| Error::Invalid {
            path: origin.to_path_buf(),
            key,
            message,
        };
        let name = match f.name {
            Some(n) => n,
            None => origin
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned()),
        };
        if !label_ok(&name) {
            return Err(bad(
                "name".into(),
                format!("must be letters, digits, '-', '_' or '.' (a sweep file's name is the default), got {name:?}"),
            ));
        }
        if f.base.is_empty() {
            return Err(bad(
                "base".into(),
                "must name a scenario file or a built-in scenario".into(),
            ));
        }
        let command = Command::parse(&CommandKeys {
            command: f.command,
            experiment: f.experiment,
            parts: f.parts,
            policies: f.policies,
            mode: f.mode,
            search: f.search,
        })
        .map_err(|(k, m)| bad(k, m))?;
        let seeds = seeds(&f.seeds, f.seed_range.as_ref()).map_err(|(k, m)| bad(k, m))?;
        let mut parameters = Vec::with_capacity(f.parameters.len());
        for (i, p) in f.parameters.into_iter().enumerate() {
            let p = parameter(p, i, &parameters).map_err(|(k, m)| bad(k, m))?;
            parameters.push(p);
        }
        let runs = parameters
            .iter()
            .try_fold(seeds.len() as u64, |n, p| {
                n.checked_mul(p.values.len() as u64)
            })
            .filter(|&n| n <= MAX_RUNS);
        if runs.is_none() {
            return Err(bad(
                "parameters".into(),
                format!("the sweep expands to more than {MAX_RUNS} runs (the product of the lists' lengths and the seeds)"),
            ));
        }
        Ok(Spec {
            name,
            description: f.description,
            base: f.base,
            seeds,
            outputs: f.outputs,
            parameters,
            command,
        })
    }

    /// How many runs the sweep expands to.
    pub fn run_count(&self) -> usize {
        self.parameters
            .iter()
            .map(|p| p.values.len())
            .product::<usize>()
            * self.seeds.len()
    }
}

type Invalid = (String, String);

/// `seeds` then `seed_range`'s seeds; at least one, none twice, each one
/// a TOML integer (at most 2⁶³ − 1) so a run's scenario can say it.
fn seeds(list: &[u64], range: Option<&SeedRange>) -> std::result::Result<Vec<u64>, Invalid> {
    let max = i64::MAX as u64;
    let mut out = list.to_vec();
    if let Some(&s) = list.iter().find(|&&s| s > max) {
        return Err((
            "seeds".into(),
            format!("{s} is beyond a TOML integer (at most {max})"),
        ));
    }
    if let Some(r) = range {
        let last = r
            .start
            .checked_add(r.count.saturating_sub(1))
            .filter(|&l| l <= max);
        if r.count == 0 || last.is_none() {
            return Err((
                "seed_range".into(),
                format!(
                    "must hold 1 or more seeds, each at most {max}: got start = {}, count = {}",
                    r.start, r.count
                ),
            ));
        }
        if r.count > MAX_RUNS {
            return Err((
                "seed_range.count".into(),
                format!("more than {MAX_RUNS} seeds"),
            ));
        }
        out.extend(r.start..r.start + r.count);
    }
    if out.is_empty() {
        return Err((
            "seeds".into(),
            "give the seeds to run: a list (seeds = [1, 2, 3]) and/or a range \
             (seed_range = { start = 1, count = 3 })"
                .into(),
        ));
    }
    let mut sorted = out.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err((
            "seeds".into(),
            format!(
                "seed {} is given twice (seeds and seed_range together)",
                w[0]
            ),
        ));
    }
    Ok(out)
}

/// Checks parameter `i` against itself and the ones before it.
fn parameter(
    p: ParameterFile,
    i: usize,
    before: &[Parameter],
) -> std::result::Result<Parameter, Invalid> {
    let at = |k: &str| format!("parameters[{i}].{k}");
    let key = KeyPath::parse(&p.key).map_err(|m| (at("key"), m))?;
    if p.key == "seed" {
        return Err((
            at("key"),
            "the seed is swept by seeds and seed_range, not as a parameter".into(),
        ));
    }
    if let Some((j, _)) = before
        .iter()
        .enumerate()
        .find(|(_, q)| q.key.overlaps(&key))
    {
        return Err((
            at("key"),
            format!(
                "{} overlaps parameters[{j}].key ({}): a key may be set by one parameter only",
                key, before[j].key
            ),
        ));
    }
    if p.values.is_empty() {
        return Err((at("values"), "must list at least one value".into()));
    }
    let texts: Vec<String> = p.values.iter().map(toml::Value::to_string).collect();
    if let Some((a, b)) = first_repeat(&texts) {
        return Err((
            at("values"),
            format!("values[{a}] and values[{b}] are the same ({})", texts[a]),
        ));
    }
    let labels = labels(p.labels, &p.values, i)?;
    Ok(Parameter {
        key,
        values: p.values,
        labels,
    })
}

/// Parameter `i`'s labels: `given`, checked, or made from its `values`.
fn labels(
    given: Option<Vec<String>>,
    values: &[toml::Value],
    i: usize,
) -> std::result::Result<Vec<String>, Invalid> {
    let at = |k: &str| format!("parameters[{i}].{k}");
    let explicit = given.is_some();
    let labels = match given {
        Some(l) if l.len() != values.len() => {
            return Err((
                at("labels"),
                format!(
                    "{} labels for {} values: give one per value",
                    l.len(),
                    values.len()
                ),
            ));
        }
        Some(l) => {
            if let Some(bad) = l.iter().find(|l| !label_ok(l)) {
                return Err((
                    at("labels"),
                    format!("{bad:?}: a label is 1 to {MAX_LABEL} letters, digits, '.', '_' or '-' (not starting with '.')"),
                ));
            }
            l
        }
        None => values.iter().map(label_of).collect(),
    };
    if let Some(j) = labels.iter().position(String::is_empty) {
        return Err((
            at("values"),
            format!(
                "values[{j}] gives an empty label in run ids: give labels = [...], one per value"
            ),
        ));
    }
    if let Some((a, b)) = first_repeat(&labels) {
        return Err((
            at(if explicit { "labels" } else { "values" }),
            format!(
                "values[{a}] and values[{b}] have the same label in run ids ({:?}): give labels = [...], one per value",
                labels[a]
            ),
        ));
    }
    Ok(labels)
}

/// The first two positions holding the same text.
fn first_repeat(texts: &[String]) -> Option<(usize, usize)> {
    (1..texts.len()).find_map(|b| (0..b).find(|&a| texts[a] == texts[b]).map(|a| (a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Spec> {
        Spec::parse(text, Path::new("sweeps/policies.toml"))
    }

    fn invalid_key(text: &str) -> String {
        match parse(text) {
            Err(Error::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn a_sweep_file_reads_with_its_defaults() {
        let s = parse(
            "base = \"quickstart\"\nseeds = [5, 6]\nseed_range = { start = 1, count = 3 }\n\
             [[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"worst_fit\", \"best_fit\"]\n\
             [[parameters]]\nkey = \"workload.jobs[0].tasks\"\nvalues = [{ constant = 4 }, 7]\n",
        )
        .unwrap();
        assert_eq!(s.name, "policies", "the file's name");
        assert_eq!(s.seeds, [5, 6, 1, 2, 3], "the list, then the range");
        assert_eq!(s.outputs, Outputs::NoPlots);
        assert_eq!(s.parameters[0].labels, ["worst_fit", "best_fit"]);
        assert_eq!(s.parameters[1].labels, ["constant_4", "7"]);
        assert_eq!(value_text(&s.parameters[1].values[0]), "{ constant = 4 }");
        // 2 × 2 values × 5 seeds.
        assert_eq!(s.run_count(), 20);
    }

    #[test]
    fn mistakes_name_their_key() {
        let base = "base = \"quickstart\"\nseeds = [1]\n";
        let with = |p: &str| format!("{base}[[parameters]]\n{p}\n");
        assert_eq!(invalid_key("base = \"q\"\n"), "seeds");
        assert_eq!(
            invalid_key("base = \"q\"\nseed_range = { start = 1, count = 0 }\n"),
            "seed_range"
        );
        assert_eq!(
            invalid_key("base = \"q\"\nseeds = [1, 2]\nseed_range = { start = 2, count = 2 }\n"),
            "seeds"
        );
        assert_eq!(
            invalid_key(&with("key = \"a..b\"\nvalues = [1]")),
            "parameters[0].key"
        );
        assert_eq!(
            invalid_key(&with("key = \"seed\"\nvalues = [1]")),
            "parameters[0].key"
        );
        assert_eq!(
            invalid_key(&with("key = \"a\"\nvalues = []")),
            "parameters[0].values"
        );
        assert_eq!(
            invalid_key(&with("key = \"a\"\nvalues = [1, 1]")),
            "parameters[0].values"
        );
        assert_eq!(
            invalid_key(&with("key = \"a\"\nvalues = [\"x y\", \"x_y\"]")),
            "parameters[0].values"
        );
        assert_eq!(
            invalid_key(&with("key = \"a\"\nvalues = [1, 2]\nlabels = [\"one\"]")),
            "parameters[0].labels"
        );
        assert_eq!(
            invalid_key(&with("key = \"a\"\nvalues = [1]\nlabels = [\"o/ne\"]")),
            "parameters[0].labels"
        );
        let twice = format!(
            "{}[[parameters]]\nkey = \"a.b\"\nvalues = [2]\n",
            with("key = \"a\"\nvalues = [1]")
        );
        assert_eq!(invalid_key(&twice), "parameters[1].key");
        assert_eq!(
            invalid_key("name = \"a b\"\nbase = \"q\"\nseeds = [1]\n"),
            "name"
        );
        assert_eq!(
            invalid_key("base = \"q\"\nseeds = [9223372036854775808]\n"),
            "seeds"
        );
        assert!(matches!(
            parse("base = \"q\"\nseeds = [1]\nthreads = 4\n"),
            Err(Error::Parse { .. })
        ));
        // 1,000 × 1,001 × 1 runs: over the limit.
        let big = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let many = format!(
            "{base}[[parameters]]\nkey = \"a\"\nvalues = [{}]\n[[parameters]]\nkey = \"b\"\nvalues = [{}]\n",
            big(1000),
            big(1001)
        );
        assert_eq!(invalid_key(&many), "parameters");
    }

    #[test]
    fn labels_keep_ids_readable() {
        assert_eq!(label_of(&"best_fit".into()), "best_fit");
        assert_eq!(label_of(&true.into()), "true");
        assert_eq!(label_of(&1.5.into()), "1.5");
        let t: toml::Value = "v = { poisson = { per_hour = 10 } }"
            .parse::<toml::Table>()
            .unwrap()["v"]
            .clone();
        assert_eq!(label_of(&t), "poisson_per_hour_10");
        assert_eq!(label_of(&"x".repeat(99).into()).len(), MAX_LABEL);
    }
}
