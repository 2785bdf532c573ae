//! A job class's `usage` table: how much of its limit (its request) a
//! synthetic task uses, window by window.
//!
//! A task asks for a limit and uses less; the gap is what reclamation
//! reclaims (Borg paper §5.5). Traces record usage; a synthetic workload
//! needs a model of it, and this is the model's scenario side: the keys,
//! their defaults and their validation, naming the key. The arithmetic is
//! `workload::usage::model` (`SyntheticUsage`). Its own file, as
//! `[compaction]` and `[metrics]`, so the scenario model stays short.
//!
//! ```toml
//! usage = { cpu_permille = { uniform = { min = 300, max = 700 } },
//!           mem_permille = { constant = 600 },
//!           noise_permille = 100, diurnal_permille = 0, peak_hour = 14 }
//! ```

use super::model::{Invalid, Scenario};
use crate::workload::dist::Dist;
use serde::Deserialize;

/// The largest `noise_permille` and `diurnal_permille`: ±100 % of the
/// mean. More would make the factor negative, a usage below nothing.
pub const MAX_SWING_PERMILLE: u32 = 1000;

/// A usage model: a job class's `usage`, or the default for classes
/// without one. Shares are in permille of the task's limit.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageModelConfig {
    /// The task's mean CPU usage, ‰ of its CPU limit: a distribution drawn
    /// once per task, clamped to 0..=1000.
    pub cpu_permille: Dist,
    /// The task's mean memory usage, ‰ of its memory limit, likewise.
    pub mem_permille: Dist,
    /// Each window's usage varies around the mean by up to ± this, ‰ of
    /// the mean (uniform); 0..=1000, default 100.
    #[serde(default = "default_noise_permille")]
    pub noise_permille: u32,
    /// CPU's daily cycle: its amplitude, ‰ of the mean (0..=1000, default
    /// 0: none). Memory has none.
    #[serde(default)]
    pub diurnal_permille: u32,
    /// The hour of the day (0..=23, simulated time 0 is midnight) at which
    /// the daily cycle peaks; default 14.
    #[serde(default = "default_peak_hour")]
    pub peak_hour: u32,
}

fn default_noise_permille() -> u32 {
    100
}

fn default_peak_hour() -> u32 {
    14
}

impl UsageModelConfig {
    /// Checks every key; `at` is the table's own key
    /// (`workload.jobs[2].usage`), prefixed to the key named in the error.
    ///
    /// # Errors
    /// (key, message) for the first bad key: a distribution with bad
    /// parameters (negative, non-finite, `min > max`…), `noise_permille` or
    /// `diurnal_permille` above 1000, `peak_hour` above 23. A mean share
    /// drawn above 1000 is not an error: it is clamped to the limit.
    pub fn validate(&self, at: &str) -> Result<(), Invalid> {
        let key = |k: &str| format!("{at}.{k}");
        for (k, d) in [
            ("cpu_permille", &self.cpu_permille),
            ("mem_permille", &self.mem_permille),
        ] {
            d.validate().map_err(|m| (key(k), m))?;
        }
        for (k, v) in [
            ("noise_permille", self.noise_permille),
            ("diurnal_permille", self.diurnal_permille),
        ] {
            if v > MAX_SWING_PERMILLE {
                return Err((
                    key(k),
                    format!(
                        "at most {MAX_SWING_PERMILLE} (‰ of the mean: ±100 %; more would make \
                         usage negative), got {v}"
                    ),
                ));
            }
        }
        if self.peak_hour > 23 {
            return Err((
                key("peak_hour"),
                format!("an hour of the day, 0..=23, got {}", self.peak_hour),
            ));
        }
        Ok(())
    }
}

impl Scenario {
    /// Whether a run tracks tasks' usage: only reclamation reads it
    /// (`[reclamation]` mode `measure` or `on`), and without it a run
    /// schedules limits alone.
    pub fn usage_tracked(&self) -> bool {
        self.reclamation
            .as_ref()
            .is_some_and(|r| r.mode != super::reclamation::ReclamationMode::Off)
    }

    /// `borgsim validate`'s warnings about usage models that change
    /// nothing: a job class's `usage` when the run does not track usage
    /// ([`Self::usage_tracked`]) and the scenario has no `[reclamation]`
    /// table — one that says `mode = "off"` keeps its models for what
    /// turns it on (`borgsim experiment reclamation`, a sweep). One line
    /// per class, naming its key.
    /// A trace replay's `[reclamation] usage` is warned of too: a replay's
    /// usage comes from the trace's usage tables (a task with no row uses
    /// its limit), never from a model; and a synthetic workload tracking
    /// usage with no model at all, whose tasks all use their limits.
    pub fn usage_warnings(&self) -> Vec<String> {
        let default_model = self.reclamation.as_ref().and_then(|r| r.usage.as_ref());
        if self.trace.is_some() && default_model.is_some() {
            return vec![
                "reclamation.usage: has no effect in a trace replay (its tasks' usage comes \
                 from the trace's usage tables; a task with no usage row uses its limit)"
                    .to_string(),
            ];
        }
        let modelled =
            default_model.is_some() || self.workload.jobs.iter().any(|j| j.usage.is_some());
        if self.usage_tracked() && self.trace.is_none() && !modelled {
            return vec![
                "reclamation.mode: usage is tracked but no job class has a usage model (usage = \
                 { cpu_permille = ..., mem_permille = ... }) and [reclamation] usage gives no \
                 default: every task uses its whole limit, so nothing can be reclaimed"
                    .to_string(),
            ];
        }
        if self.usage_tracked() || self.reclamation.is_some() {
            return Vec::new();
        }
        self.workload
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.usage.is_some())
            .map(|(i, j)| {
                format!(
                    "workload.jobs[{i}].usage ({:?}): has no effect without reclamation \
                     (usage is tracked only with [reclamation] mode = \"measure\" or \"on\"; \
                     a [reclamation] table with mode = \"off\" keeps it for `experiment \
                     reclamation`)",
                    j.name
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(usage: &str) -> Result<UsageModelConfig, toml::de::Error> {
        toml::from_str(usage)
    }

    /// A scenario of two job classes, the second with `usage = {usage}`.
    fn scenario(usage: &str) -> crate::error::Result<Scenario> {
        let class = |name: &str| {
            format!(
                "[[workload.jobs]]\nname = \"{name}\"\nband = \"batch\"\ninitial_jobs = 1\n\
                 tasks = {{ constant = 1 }}\ncpu_milli = {{ constant = 1 }}\n\
                 mem_mib = {{ constant = 1 }}\n"
            )
        };
        let text = format!(
            "name = \"t\"\nseed = 1\nduration_s = 1\n[cell]\n[[cell.machines]]\ncount = 1\n\
             cpu_milli = 1\nmem_mib = 1\n[scheduler]\npolicy = \"best_fit\"\n{}{}usage = {usage}\n",
            class("a"),
            class("b")
        );
        Scenario::parse(&text, Path::new("t.toml"))
    }

    #[test]
    fn defaults_fill_the_optional_keys_and_unknown_keys_are_refused() {
        let c =
            parse("cpu_permille = { constant = 500 }\nmem_permille = { constant = 700 }").unwrap();
        assert_eq!(c.cpu_permille, Dist::Constant(500.0));
        assert_eq!(
            (c.noise_permille, c.diurnal_permille, c.peak_hour),
            (100, 0, 14)
        );
        let e =
            parse("cpu_permille = { constant = 1 }\nmem_permille = { constant = 1 }\nnoise = 5")
                .unwrap_err();
        assert!(e.to_string().contains("noise_permille"), "{e}");
        // Both means are required.
        assert!(parse("cpu_permille = { constant = 1 }").is_err());
    }

    #[test]
    fn bad_values_are_errors_naming_the_key() {
        let ok = "cpu_permille = { constant = 500 }, mem_permille = { constant = 500 }";
        assert!(scenario(&format!("{{ {ok} }}")).is_ok());
        // A mean above 1000 ‰ is clamped, not refused.
        assert!(scenario(
            "{ cpu_permille = { constant = 1500 }, mem_permille = { constant = 500 } }"
        )
        .is_ok());
        for (extra, key, says) in [
            (
                "noise_permille = 1001",
                "workload.jobs[1].usage.noise_permille",
                "at most 1000",
            ),
            (
                "diurnal_permille = 5000",
                "workload.jobs[1].usage.diurnal_permille",
                "at most 1000",
            ),
            (
                "peak_hour = 24",
                "workload.jobs[1].usage.peak_hour",
                "0..=23",
            ),
        ] {
            let e = scenario(&format!("{{ {ok}, {extra} }}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key) && e.contains(says), "{extra}: {e}");
        }
        let e = scenario(
            "{ cpu_permille = { uniform = { min = 600, max = 200 } }, \
             mem_permille = { constant = 500 } }",
        )
        .unwrap_err();
        assert!(matches!(e, crate::error::Error::Invalid { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.contains("workload.jobs[1].usage.cpu_permille") && e.contains("must not exceed"),
            "{e}"
        );
        // Negative values are refused by the parser, which names the key and line.
        let e = scenario(&format!("{{ {ok}, noise_permille = -1 }}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("noise_permille") && e.contains("line"), "{e}");
        let e = scenario("{ cpu_permille = { constant = -5 }, mem_permille = { constant = 1 } }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("workload.jobs[1].usage.cpu_permille"), "{e}");
    }

    #[test]
    fn a_usage_model_without_reclamation_is_accepted_with_a_warning() {
        let sc =
            scenario("{ cpu_permille = { constant = 500 }, mem_permille = { constant = 500 } }")
                .unwrap();
        let w = sc.usage_warnings();
        assert_eq!(w.len(), 1, "only the class with a model: {w:?}");
        assert!(w[0].starts_with("workload.jobs[1].usage (\"b\")"), "{w:?}");
        // An explicit [reclamation] table, off, keeps the model quietly.
        let mut kept = sc.clone();
        kept.reclamation = Some(crate::scenario::ReclamationConfig::default());
        assert!(kept.usage_warnings().is_empty());
    }
}
