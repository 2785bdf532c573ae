//! What each run of a sweep is: a simulation (`run`, the default) or one
//! of the capacity-planning commands over the run's scenario — a cell
//! compaction (`compact`), a capacity experiment (`experiment`), a
//! workload inflation (`inflate`). A planner's questions ("how many
//! machines, per policy × cell shape × seed") are grids of compactions as
//! much as grids of runs, and a sweep gives them the same ids, resume,
//! shards and merge.
//!
//! The command's own settings come from each run's scenario — its
//! `[compaction]` table (trials, percentile, the fit rule), so they are
//! swept by key path like any other key; an inflation takes the fit rule
//! only, and `borgsim inflate`'s own trials and percentile, so sweeping
//! `[compaction]`'s is refused (`resolve::check_parameters`) — and, for
//! what a scenario does not say, from the sweep file: the experiment's name and its `parts` or
//! `policies`, the inflation's `mode`, the compaction's `search`. A key of
//! the sweep file that the command does not take is refused, naming it.
//!
//! This module also says what a run of each command leaves to read (its
//! result file) and which of its figures `runs.csv` and the page show.

use crate::compact::search::Search;
use crate::experiment::{self, Experiment, DEFAULT_PARTS};
use crate::inflate::Mode;
use crate::sched::Policy;
use serde_json::Value;

/// What each run of a sweep does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Command {
    /// A simulation, as `borgsim run` does it (`summary.json`).
    #[default]
    Run,
    /// A cell compaction, as `borgsim compact` (`compaction.json`).
    Compact { search: Search },
    /// A capacity experiment, as `borgsim experiment` (`experiment.json`).
    Experiment {
        experiment: Experiment,
        search: Search,
        /// `subcells`: the numbers of sub-cells (each 2..=1000).
        parts: Vec<u32>,
        /// `policies`: the policies compared; empty for every policy
        /// that applies to the run's cell.
        policies: Vec<Policy>,
    },
    /// A workload inflation, as `borgsim inflate` with its defaults for
    /// trials, percentile, resolution and cap (`inflation.json`).
    Inflate { mode: Mode },
}

/// The sweep file's keys about the command, as written.
#[derive(Clone, Debug, Default)]
pub struct CommandKeys {
    pub command: Option<String>,
    pub experiment: Option<String>,
    pub parts: Option<Vec<u32>>,
    pub policies: Option<Vec<String>>,
    pub mode: Option<String>,
    pub search: Option<String>,
}

/// A mistake in the command's keys: the key, and what is wrong.
pub type Invalid = (String, String);

/// The commands a sweep runs, by their names in the sweep file.
pub const NAMES: [&str; 4] = ["run", "compact", "experiment", "inflate"];

impl Command {
    /// Its name in the sweep file.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Compact { .. } => "compact",
            Command::Experiment { .. } => "experiment",
            Command::Inflate { .. } => "inflate",
        }
    }

    /// The file a run's directory holds its result in: what makes a run
    /// done (with `run.json`), and what `runs.csv` reads.
    pub fn result_file(&self) -> &'static str {
        match self {
            Command::Run => "summary.json",
            Command::Compact { .. } => "compaction.json",
            Command::Experiment { .. } => "experiment.json",
            Command::Inflate { .. } => "inflation.json",
        }
    }

    /// Its settings as the sweep file's keys write them
    /// (`command = "compact", search = "bisect"`), every one that changes
    /// a result; `None` for a simulation, which has none. A run's
    /// scenario text says them, so a run done with other settings is not
    /// done (`resolve::scenario_text`).
    pub fn settings(&self) -> Option<String> {
        let list = |names: Vec<&str>| {
            let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut keys = vec![format!("command = {:?}", self.name())];
        match self {
            Command::Run => return None,
            Command::Compact { search } => keys.push(format!("search = {:?}", search.name())),
            Command::Experiment {
                experiment,
                search,
                parts,
                policies,
            } => {
                keys.push(format!("experiment = {:?}", experiment.name()));
                if *experiment == Experiment::Subcells {
                    let parts: Vec<String> = parts.iter().map(u32::to_string).collect();
                    keys.push(format!("parts = [{}]", parts.join(", ")));
                }
                if !policies.is_empty() {
                    keys.push(format!(
                        "policies = {}",
                        list(policies.iter().map(|p| p.name()).collect())
                    ));
                }
                keys.push(format!("search = {:?}", search.name()));
            }
            Command::Inflate { mode } => keys.push(format!("mode = {:?}", mode.name())),
        }
        Some(keys.join(", "))
    }

    /// The command from the sweep file's keys, checked: a bad name or
    /// value, and a key the command does not take, name the key.
    ///
    /// # Errors
    /// The key and what is wrong.
    pub fn parse(k: &CommandKeys) -> Result<Command, Invalid> {
        let name = k.command.as_deref().unwrap_or("run");
        let given = [
            ("experiment", k.experiment.is_some()),
            ("parts", k.parts.is_some()),
            ("policies", k.policies.is_some()),
            ("mode", k.mode.is_some()),
            ("search", k.search.is_some()),
        ];
        let takes: &[&str] = match name {
            "run" => &[],
            "compact" => &["search"],
            "experiment" => &["experiment", "parts", "policies", "search"],
            "inflate" => &["mode"],
            other => {
                return Err((
                    "command".into(),
                    format!(
                        "unknown command {other:?}; expected one of {}",
                        NAMES.join(", ")
                    ),
                ))
            }
        };
        if let Some((key, _)) = given.iter().find(|(key, g)| *g && !takes.contains(key)) {
            return Err((
                (*key).into(),
                format!(
                    "does not apply to command = {name:?} (it applies to {})",
                    users(key)
                ),
            ));
        }
        let search = parse_value::<Search>("search", k.search.as_deref())?.unwrap_or_default();
        match name {
            "run" => Ok(Command::Run),
            "compact" => Ok(Command::Compact { search }),
            "inflate" => {
                let mode = parse_value::<Mode>("mode", k.mode.as_deref())?.ok_or_else(|| {
                    (
                        "mode".to_string(),
                        "command = \"inflate\" needs mode = \"horizontal\" or \"vertical\"".into(),
                    )
                })?;
                Ok(Command::Inflate { mode })
            }
            _ => experiment(k, search),
        }
    }
}

/// The commands that take `key`, for an error.
fn users(key: &str) -> &'static str {
    match key {
        "search" => "command = \"compact\" and \"experiment\"",
        "mode" => "command = \"inflate\"",
        "parts" => "command = \"experiment\" with experiment = \"subcells\"",
        "policies" => "command = \"experiment\" with experiment = \"policies\"",
        _ => "command = \"experiment\"",
    }
}

fn parse_value<T: std::str::FromStr>(key: &str, v: Option<&str>) -> Result<Option<T>, Invalid>
where
    T::Err: std::fmt::Display,
{
    v.map(|s| s.parse::<T>().map_err(|e| (key.to_string(), e.to_string())))
        .transpose()
}

/// `command = "experiment"`: the experiment's name, and its `parts` or
/// `policies` where they apply.
fn experiment(k: &CommandKeys, search: Search) -> Result<Command, Invalid> {
    let experiment =
        parse_value::<Experiment>("experiment", k.experiment.as_deref())?.ok_or_else(|| {
            (
                "experiment".to_string(),
                "command = \"experiment\" needs the experiment's name: segregation, subcells, \
                 bucketing, policies or reclamation"
                    .into(),
            )
        })?;
    if k.parts.is_some() && experiment != Experiment::Subcells {
        return Err((
            "parts".into(),
            "applies to experiment = \"subcells\" only".into(),
        ));
    }
    if k.policies.is_some() && experiment != Experiment::Policies {
        return Err((
            "policies".into(),
            "applies to experiment = \"policies\" only".into(),
        ));
    }
    let parts = k.parts.clone().unwrap_or_else(|| DEFAULT_PARTS.to_vec());
    if let Some(m) = experiment::parts_problem(&parts) {
        return Err(("parts".into(), m));
    }
    let mut policies = Vec::new();
    for p in k.policies.iter().flatten() {
        policies.push(
            p.parse::<Policy>()
                .map_err(|e| ("policies".to_string(), e.to_string()))?,
        );
    }
    if k.policies.as_ref().is_some_and(Vec::is_empty) {
        return Err((
            "policies".into(),
            "list at least one policy (or leave the key out)".into(),
        ));
    }
    if let Some(m) = experiment::policies_problem(&policies) {
        return Err(("policies".into(), m));
    }
    Ok(Command::Experiment {
        experiment,
        search,
        parts,
        policies,
    })
}

/// The figures runs.csv gives a compaction, by dotted key of
/// `compaction.json` (the last two computed, see [`headline`]).
pub const COMPACT_FIGURES: &[&str] = &[
    "trials",
    "percentile",
    "answer.machines",
    "answer.share_of_cell",
    "min_machines",
    "median_machines",
    "max_machines",
    "whole_cell.machines",
    "whole_cell.relaxed_jobs",
    "contradictions",
    "grown.factor",
    "cell_machines",
    "saved_machines",
    "saved_share",
];

/// The figures runs.csv gives an inflation, by dotted key of
/// `inflation.json`.
pub const INFLATE_FIGURES: &[&str] = &[
    "trials",
    "percentile",
    "uninflated.machines",
    "answer.permille",
    "answer.added.tasks",
    "answer.added.cpu_milli",
    "answer.added.mem_mib",
    "min_permille",
    "median_permille",
    "max_permille",
    "contradictions",
];

/// The figures runs.csv gives an experiment before its variants'.
pub const EXPERIMENT_FIGURES: &[&str] = &["trials", "percentile", "baseline"];

/// Each variant's figures in runs.csv, after `variants.<name>.`.
pub const VARIANT_FIGURES: &[&str] = &["machines", "extra_pct"];

/// A run's result as runs.csv and the page read it: the result file as
/// written, plus what is computed from it — a compaction's
/// `cell_machines` (the cell as the scenario writes it, before any
/// growth), `saved_machines` (that less the answer's: negative when a
/// grown cell's answer needs more) and `saved_share` (that over
/// `cell_machines`, to 6 decimals as `answer.share_of_cell`); an experiment's `variants`
/// as an object by variant name (each variant's fields as written), so
/// that a dotted key names one, and their names in order under
/// [`VARIANT_ORDER`].
pub fn headline(command: &Command, mut v: Value) -> Value {
    match command {
        Command::Compact { .. } => {
            // The cell as the scenario writes it: the grown cell's origin
            // when `[compaction] grow` grew it.
            let cell = v
                .pointer("/grown/from_machines")
                .or_else(|| v.pointer("/whole_cell/machines"))
                .and_then(Value::as_i64);
            let answer = v.pointer("/answer/machines").and_then(Value::as_i64);
            if let (Some(cell), Some(answer), Some(o)) = (cell, answer, v.as_object_mut()) {
                let saved = cell - answer;
                o.insert("cell_machines".into(), cell.into());
                o.insert("saved_machines".into(), saved.into());
                let share = if cell == 0 {
                    0.0
                } else {
                    crate::metrics::round6(saved as f64 / cell as f64)
                };
                o.insert("saved_share".into(), share.into());
            }
            v
        }
        Command::Experiment { .. } => {
            let by_name: serde_json::Map<String, Value> = v
                .get("variants")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| Some((x.get("name")?.as_str()?.to_string(), x.clone())))
                .collect();
            let names: Vec<Value> = v
                .get("variants")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.get("name").cloned())
                .collect();
            if let Some(o) = v.as_object_mut() {
                o.insert("variants".into(), Value::Object(by_name));
                o.insert(VARIANT_ORDER.into(), Value::Array(names));
            }
            v
        }
        Command::Run | Command::Inflate { .. } => v,
    }
}

/// Where [`headline`] keeps an experiment's variant names in order.
pub const VARIANT_ORDER: &str = "variant_order";

/// An experiment's variant names in the order the results give them
/// (their first appearance over `results`, in run order).
pub fn variant_names<'a>(results: impl Iterator<Item = &'a Value>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in results {
        let order = r.get(VARIANT_ORDER).and_then(Value::as_array);
        for n in order.into_iter().flatten().filter_map(Value::as_str) {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(command: &str) -> CommandKeys {
        CommandKeys {
            command: Some(command.into()),
            ..CommandKeys::default()
        }
    }

    #[test]
    fn each_command_takes_its_own_keys_only() {
        assert_eq!(Command::parse(&CommandKeys::default()), Ok(Command::Run));
        assert_eq!(
            Command::parse(&keys("compact")),
            Ok(Command::Compact {
                search: Search::Bisect
            })
        );
        let bad = |k: CommandKeys| Command::parse(&k).unwrap_err().0;
        assert_eq!(bad(keys("compat")), "command");
        assert_eq!(
            bad(CommandKeys {
                experiment: Some("segregation".into()),
                ..keys("compact")
            }),
            "experiment"
        );
        assert_eq!(bad(keys("inflate")), "mode", "inflate needs a mode");
        assert_eq!(
            bad(keys("experiment")),
            "experiment",
            "and an experiment its name"
        );
        assert_eq!(
            bad(CommandKeys {
                experiment: Some("segregation".into()),
                parts: Some(vec![2]),
                ..keys("experiment")
            }),
            "parts"
        );
        assert_eq!(
            bad(CommandKeys {
                experiment: Some("subcells".into()),
                parts: Some(vec![2, 1]),
                ..keys("experiment")
            }),
            "parts"
        );
        assert_eq!(
            bad(CommandKeys {
                mode: Some("sideways".into()),
                ..keys("inflate")
            }),
            "mode"
        );
        assert_eq!(
            bad(CommandKeys {
                search: Some("linear".into()),
                ..keys("run")
            }),
            "search"
        );
    }

    #[test]
    fn settings_say_every_key_that_changes_a_result_and_a_simulation_has_none() {
        assert_eq!(Command::Run.settings(), None);
        let subcells = Command::parse(&CommandKeys {
            experiment: Some("subcells".into()),
            parts: Some(vec![2, 4]),
            ..keys("experiment")
        })
        .unwrap();
        assert_eq!(
            subcells.settings().unwrap(),
            "command = \"experiment\", experiment = \"subcells\", parts = [2, 4], search = \"bisect\""
        );
        let policies = Command::parse(&CommandKeys {
            experiment: Some("policies".into()),
            policies: Some(vec!["best_fit".into(), "hybrid".into()]),
            ..keys("experiment")
        })
        .unwrap();
        assert!(policies
            .settings()
            .unwrap()
            .contains("policies = [\"best_fit\", \"hybrid\"]"));
        let vertical = Command::Inflate {
            mode: Mode::Vertical,
        };
        let horizontal = Command::Inflate {
            mode: Mode::Horizontal,
        };
        assert_ne!(vertical.settings(), horizontal.settings());
    }

    #[test]
    fn a_compaction_headline_adds_what_it_saved() {
        // 10 machines, 7 needed: 3 saved, 3 / 10 = 0.3 of the cell.
        let v = json!({"whole_cell": {"machines": 10}, "answer": {"machines": 7}});
        let h = headline(&keys_compact(), v);
        assert_eq!(h["saved_machines"], 3);
        assert_eq!(h["saved_share"], 0.3);
        // Grown from 10 to 15 machines, 12 needed: 2 short of the cell
        // as written, -2 / 10 = -0.2.
        let v = json!({"grown": {"from_machines": 10}, "whole_cell": {"machines": 15},
                       "answer": {"machines": 12}});
        let h = headline(&keys_compact(), v);
        assert_eq!(h["cell_machines"], 10);
        assert_eq!(h["saved_machines"], -2);
        assert_eq!(h["saved_share"], -0.2);
    }

    fn keys_compact() -> Command {
        Command::Compact {
            search: Search::Bisect,
        }
    }

    #[test]
    fn an_experiment_headline_names_its_variants() {
        let e = Command::Experiment {
            experiment: Experiment::Segregation,
            search: Search::Bisect,
            parts: DEFAULT_PARTS.to_vec(),
            policies: Vec::new(),
        };
        let a = headline(
            &e,
            json!({"variants": [{"name": "shared", "machines": 5}, {"name": "split", "machines": 6}]}),
        );
        assert_eq!(a["variants"]["split"]["machines"], 6);
        let b = headline(&e, json!({"variants": [{"name": "other", "machines": 1}]}));
        assert_eq!(
            variant_names([&a, &b].into_iter()),
            ["shared", "split", "other"]
        );
    }
}
