//! From a sweep's runs to scenarios: each run's values (and its seed) set
//! in the base scenario's parsed TOML, which is written out as the run's
//! `scenario.toml` and parsed again as any scenario is — so a value is
//! checked, and an error names its key, exactly as in a scenario file, and
//! the file in the run's directory is what ran.
//!
//! Two kinds of mistakes are told apart. A key path the base scenario does
//! not have, or a value that can never be one of its key (a string for a
//! count, an unknown policy), is the sweep file's error, found before
//! anything runs ([`check_parameters`]: each value set alone in the base).
//! A value that is well-formed but refused by the scenario's checks, which
//! may depend on the other values (a priority outside the band another
//! parameter sets), fails that run only.

use super::expand::Run;
use super::spec::{value_text, Spec};
use crate::error::{Error, Result};
use crate::scenario::{self, Base, Scenario};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The scenario a sweep varies.
#[derive(Clone, Debug)]
pub struct BaseScenario {
    /// Its text, as read (saved as the sweep directory's `base.toml`).
    pub text: String,
    table: toml::Table,
    /// What its relative paths (a trace's files) are relative to.
    pub base: Base,
}

impl BaseScenario {
    /// The sweep's `base`: a scenario file relative to the sweep file
    /// `sweep_path` if there is one, otherwise a built-in scenario of that
    /// name.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `base` when it is neither; the scenario's
    /// own errors when it is not a valid scenario.
    pub fn load(spec: &Spec, sweep_path: &Path) -> Result<BaseScenario> {
        let dir = sweep_path.parent().unwrap_or(Path::new(""));
        let path = dir.join(&spec.base);
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let base = Base::Dir(path.parent().map(Path::to_path_buf).unwrap_or_default());
            return BaseScenario::new(text, &path, base);
        }
        match scenario::builtin(&spec.base) {
            Some(text) => {
                let origin = PathBuf::from(format!("<embedded>/{}.toml", spec.base));
                BaseScenario::new(text.to_string(), &origin, Base::Builtin(origin.clone()))
            }
            None => Err(Error::Invalid {
                path: sweep_path.to_path_buf(),
                key: "base".into(),
                message: format!(
                    "{:?} is neither a scenario file (looked for {}) nor a built-in scenario ({})",
                    spec.base,
                    path.display(),
                    scenario::BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// A base scenario from its text; `origin` names it in errors.
    ///
    /// # Errors
    /// The scenario's own errors, when the text is not a valid scenario.
    pub fn new(text: String, origin: &Path, base: Base) -> Result<BaseScenario> {
        Scenario::parse(&text, origin)?;
        let table = text.parse::<toml::Table>().map_err(|e| Error::Parse {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Ok(BaseScenario { text, table, base })
    }
}

/// Sets each value of each parameter, alone, in the base scenario, and
/// reads the result as a scenario's fields (without the checks of values
/// that the other parameters may change).
///
/// # Errors
/// [`Error::Invalid`] naming `parameters[i].key` for a path the base
/// scenario does not have, and `parameters[i].values[j]` for a value that
/// cannot be that key's (its type, an unknown name, a key the scenario
/// does not know).
pub fn check_parameters(spec: &Spec, base: &BaseScenario, sweep_path: &Path) -> Result<()> {
    let bad = |key: String, message: String| Error::Invalid {
        path: sweep_path.to_path_buf(),
        key,
        message,
    };
    for (i, p) in spec.parameters.iter().enumerate() {
        if let Some(m) = no_effect(&spec.command, &p.key.to_string()) {
            return Err(bad(format!("parameters[{i}].key"), m));
        }
        for (j, v) in p.values.iter().enumerate() {
            let mut t = base.table.clone();
            p.key
                .set(&mut t, v.clone())
                .map_err(|m| bad(format!("parameters[{i}].key"), m))?;
            if let Err(e) = Scenario::deserialize(t) {
                // A field the scenario does not know is the path's fault
                // (a misspelt key), whatever the value.
                let at = if e.message().contains("unknown field") {
                    format!("parameters[{i}].key")
                } else {
                    format!("parameters[{i}].values[{j}]")
                };
                return Err(bad(
                    at,
                    format!("{} = {v}: {}", p.key, e.message().trim_end()),
                ));
            }
        }
    }
    Ok(())
}

/// Why sweeping `key` would change nothing `command` does, if so: an
/// inflation takes `borgsim inflate`'s own trials and percentile, not
/// `[compaction]`'s, so a column of runs.csv would vary while every
/// result stayed the same.
fn no_effect(command: &super::Command, key: &str) -> Option<String> {
    let ignored = ["compaction.trials", "compaction.percentile"];
    (matches!(command, super::Command::Inflate { .. }) && ignored.contains(&key)).then(|| {
        format!(
            "{key} has no effect on command = \"inflate\": an inflation takes borgsim \
             inflate's own trials and percentile (11 horizontal or 1 vertical, the 10th \
             percentile), not [compaction]'s; sweep it with command = \"compact\" or \
             \"experiment\", or leave it out"
        )
    })
}

/// The text of run `run`'s scenario: a comment saying which run it is, then
/// the base scenario with the run's values and seed set (keys in order, as
/// TOML writes a table). The same sweep file and base give the same text,
/// byte for byte: a run whose directory holds it need not run again.
///
/// # Errors
/// A message naming the key, for a path the base scenario does not have
/// (found before by [`check_parameters`]).
pub fn scenario_text(
    spec: &Spec,
    base: &BaseScenario,
    run: &Run,
) -> std::result::Result<String, String> {
    let mut t = base.table.clone();
    // What the run is, and nothing else (not the sweep's name, nor how it
    // names its base): the text is the run's identity, and a run is done
    // again whenever it changes.
    let mut header = format!(
        "# Run {} of a borgsim sweep (outputs kept: {}):\n",
        run.id,
        spec.outputs.name()
    );
    // The command's settings change its result as the scenario does (a
    // simulation has none, and its header stays as it was).
    if let Some(settings) = spec.command.settings() {
        header.push_str(&format!("#   {settings}\n"));
    }
    for (p, &v) in spec.parameters.iter().zip(&run.values) {
        let value = &p.values[v];
        p.key.set(&mut t, value.clone())?;
        header.push_str(&format!("#   {} = {value}\n", p.key));
    }
    let seed = i64::try_from(run.seed)
        .map_err(|_| format!("seed {} is beyond a TOML integer", run.seed))?;
    t.insert("seed".into(), seed.into());
    header.push_str(&format!("#   seed = {seed}\n"));
    header.push_str(
        "# The rest is the base scenario's; relative paths (a trace's files) are relative to it.\n\n",
    );
    let body = toml::to_string(&t).map_err(|e| e.to_string())?;
    Ok(header + &body)
}

/// Where a run's scenario is named in errors: its file in the sweep
/// directory, `runs/<id>/scenario.toml`.
pub fn origin(run: &Run) -> PathBuf {
    Path::new("runs").join(&run.id).join("scenario.toml")
}

/// Parses and checks a run's scenario `text`; its relative paths resolve
/// as the base scenario's.
///
/// # Errors
/// The scenario's errors, naming [`origin`] and the key.
pub fn parse(text: &str, base: &BaseScenario, run: &Run) -> Result<Scenario> {
    let mut sc = Scenario::parse(text, &origin(run))?;
    sc.base = base.base.clone();
    sc.resolve_cell()?;
    Ok(sc)
}

/// A run's parameter values as runs.csv writes them, in order.
pub fn value_texts(spec: &Spec, run: &Run) -> Vec<String> {
    spec.parameters
        .iter()
        .zip(&run.values)
        .map(|(p, &v)| value_text(&p.values[v]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::expand::expand;
    use super::*;

    fn sweep(params: &str) -> (Spec, BaseScenario) {
        let text = format!("base = \"quickstart\"\nseeds = [1, 2]\n{params}");
        let spec = Spec::parse(&text, Path::new("s.toml")).unwrap();
        let base = BaseScenario::load(&spec, Path::new("no-such-dir/s.toml")).unwrap();
        (spec, base)
    }

    fn key_of(r: Result<()>) -> String {
        match r {
            Err(Error::Invalid { key, message, .. }) => format!("{key}: {message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_run_is_the_base_with_its_values_and_seed() {
        let (spec, base) = sweep(
            "[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"worst_fit\", \"best_fit\"]\n\
             [[parameters]]\nkey = \"cell.machines[1].count\"\nvalues = [10, 20]\n",
        );
        check_parameters(&spec, &base, Path::new("s.toml")).unwrap();
        let runs = expand(&spec, Path::new("s.toml")).unwrap();
        // Index 5 = (best_fit: 1 × 2 + count 10: 0) × 2 seeds + seed 2: 1.
        let run = &runs[5];
        assert_eq!(run.id, "best_fit-10-s2");
        let text = scenario_text(&spec, &base, run).unwrap();
        assert!(
            text.starts_with("# Run best_fit-10-s2 of a borgsim sweep (outputs kept: no_plots):\n"),
            "{text}"
        );
        assert!(
            text.contains("#   cell.machines[1].count = 10\n#   seed = 2\n"),
            "{text}"
        );
        let sc = parse(&text, &base, run).unwrap();
        assert_eq!(sc.seed, 2);
        assert_eq!(sc.scheduler.policy, crate::sched::Policy::BestFit);
        assert_eq!(sc.cell.machines[1].count, 10);
        assert_eq!(sc.cell.machines[0].count, 200, "the rest is the base's");
        assert_eq!(sc.name, "quickstart");
        assert!(matches!(sc.base, Base::Builtin(_)));
        assert_eq!(
            scenario_text(&spec, &base, run).unwrap(),
            text,
            "the same text every time"
        );
        assert_eq!(value_texts(&spec, run), ["best_fit", "10"]);
    }

    #[test]
    fn keys_and_values_the_base_cannot_take_are_the_sweep_files_errors() {
        let check = |p: &str| {
            let (spec, base) = sweep(p);
            check_parameters(&spec, &base, Path::new("s.toml"))
        };
        let unknown = key_of(check(
            "[[parameters]]\nkey = \"scheduler.polcy\"\nvalues = [\"hybrid\"]\n",
        ));
        assert!(
            unknown.starts_with(
                "parameters[0].key: scheduler.polcy = \"hybrid\": unknown field `polcy`"
            ),
            "{unknown}"
        );
        let variant = key_of(check(
            "[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"hybrid\", \"worst-fit\"]\n",
        ));
        assert!(
            variant.starts_with(
                "parameters[0].values[1]: scheduler.policy = \"worst-fit\": unknown variant"
            ),
            "{variant}"
        );
        let beyond = key_of(check(
            "[[parameters]]\nkey = \"cell.machines[2].count\"\nvalues = [1]\n",
        ));
        assert!(beyond.starts_with("parameters[0].key: cell.machines[2]: the base scenario's cell.machines has 2 elements"), "{beyond}");
        let typed = key_of(check(
            "[[parameters]]\nkey = \"cell.machines[0].count\"\nvalues = [\"many\"]\n",
        ));
        assert!(
            typed.starts_with("parameters[0].values[0]: cell.machines[0].count = \"many\": "),
            "{typed}"
        );
        // Well-formed but refused by the scenario's checks: that run fails, not the sweep.
        let (spec, base) =
            sweep("[[parameters]]\nkey = \"cell.machines[0].count\"\nvalues = [0]\n");
        check_parameters(&spec, &base, Path::new("s.toml")).unwrap();
        let run = &expand(&spec, Path::new("s.toml")).unwrap()[0];
        let err = parse(&scenario_text(&spec, &base, run).unwrap(), &base, run).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("runs/0-s1/scenario.toml: cell.machines[0].count: "),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_base_names_the_key() {
        let spec = Spec::parse("base = \"nowhere\"\nseeds = [1]\n", Path::new("s.toml")).unwrap();
        match BaseScenario::load(&spec, Path::new("s.toml")) {
            Err(Error::Invalid { key, message, .. }) => {
                assert_eq!(key, "base");
                assert!(
                    message.contains("quickstart"),
                    "lists the built-ins: {message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
