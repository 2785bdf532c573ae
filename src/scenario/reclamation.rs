//! `[reclamation]`: whether the cell keeps tasks' usage apart from their
//! requests, and reclaims the difference for non-prod work (Borg paper
//! §5.5; `cell::state::usage` for the model). Its own file, as
//! `[compaction]`, so the scenario model stays short.
//!
//! Absent, or `mode = "off"`: nothing of it is built, and a run is byte for
//! byte what it was without the table.

use super::model::{Invalid, MAX_TIME_S};
pub use crate::cell::state::usage::ReclamationMode;
use crate::cell::state::usage::Settings;
use crate::time::SimDuration;
use serde::Deserialize;

/// `[reclamation]`; every key optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReclamationConfig {
    /// `off`, `measure` (usage and reservations kept and reported,
    /// scheduling by limits) or `on` (non-prod admitted against
    /// reservations; throttling and out-of-memory kills).
    #[serde(default)]
    pub mode: ReclamationMode,
    /// The reclamation tick, in seconds: usage drawn anew, reservations
    /// decayed, machines settled. Also the window of synthetic usage.
    #[serde(default = "default_interval_s")]
    pub interval_s: u64,
    /// A reservation stays at the limit this long after its task starts,
    /// in seconds (Borg: 300).
    #[serde(default = "default_delay_s")]
    pub delay_s: u64,
    /// The safety margin a reservation keeps over usage, in permille of
    /// usage: target = min(limit, usage + ⌈usage × margin / 1000⌉).
    #[serde(default = "default_margin_permille")]
    pub margin_permille: u32,
    /// The share of the gap to its target a reservation closes per tick
    /// after the delay, in permille (1000: at once).
    #[serde(default = "default_decay_permille")]
    pub decay_permille: u32,
    /// Non-prod's basis: capacity × overcommit / 1000, per resource.
    #[serde(default)]
    pub overcommit_permille: Overcommit,
    /// The usage model of synthetic job classes that have none of their
    /// own (`workload.jobs[i].usage`'s keys); absent: such tasks use their
    /// whole limit. A trace replay's usage comes from its usage tables.
    #[serde(default)]
    pub usage: Option<super::usage::UsageModelConfig>,
}

/// `overcommit_permille = { cpu = …, mem = … }`: at least 1000 (none).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overcommit {
    #[serde(default = "no_overcommit")]
    pub cpu: u32,
    #[serde(default = "no_overcommit")]
    pub mem: u32,
}

impl Default for Overcommit {
    fn default() -> Self {
        Overcommit {
            cpu: no_overcommit(),
            mem: no_overcommit(),
        }
    }
}

impl Default for ReclamationConfig {
    fn default() -> Self {
        ReclamationConfig {
            mode: ReclamationMode::Off,
            interval_s: default_interval_s(),
            delay_s: default_delay_s(),
            margin_permille: default_margin_permille(),
            decay_permille: default_decay_permille(),
            overcommit_permille: Overcommit::default(),
            usage: None,
        }
    }
}

fn default_interval_s() -> u64 {
    300
}
fn default_delay_s() -> u64 {
    300
}
fn default_margin_permille() -> u32 {
    100
}
fn default_decay_permille() -> u32 {
    250
}
fn no_overcommit() -> u32 {
    1000
}

/// The largest safety margin: 100 × usage.
pub const MAX_MARGIN_PERMILLE: u32 = 100_000;
/// The largest overcommit factor: 10 × capacity.
pub const MAX_OVERCOMMIT_PERMILLE: u32 = 10_000;

impl ReclamationConfig {
    /// Checks every value; the error names the key (`reclamation.…`).
    ///
    /// # Errors
    /// A value out of its range, naming the key.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |k: &str, m: String| Err((format!("reclamation.{k}"), m));
        if self.interval_s == 0 || self.interval_s > MAX_TIME_S {
            let got = self.interval_s;
            return bad(
                "interval_s",
                format!("must be in 1..={MAX_TIME_S} s, got {got}"),
            );
        }
        if self.delay_s > MAX_TIME_S {
            return bad("delay_s", super::model::beyond_time(self.delay_s));
        }
        if self.margin_permille > MAX_MARGIN_PERMILLE {
            return bad(
                "margin_permille",
                format!(
                    "must be at most {MAX_MARGIN_PERMILLE} (100 times the usage), got {}",
                    self.margin_permille
                ),
            );
        }
        if self.decay_permille > 1000 {
            return bad(
                "decay_permille",
                format!(
                    "is the share of the gap closed per tick: at most 1000, got {}",
                    self.decay_permille
                ),
            );
        }
        for (key, v) in [
            ("cpu", self.overcommit_permille.cpu),
            ("mem", self.overcommit_permille.mem),
        ] {
            if !(1000..=MAX_OVERCOMMIT_PERMILLE).contains(&v) {
                return bad(
                    &format!("overcommit_permille.{key}"),
                    format!(
                        "must be in 1000..={MAX_OVERCOMMIT_PERMILLE} (1000: the capacity, no overcommit), got {v}"
                    ),
                );
            }
        }
        if let Some(u) = &self.usage {
            u.validate("reclamation.usage")?;
        }
        Ok(())
    }

    /// The cell's rules (`None` when off: nothing is built).
    pub fn settings(&self) -> Option<Settings> {
        (self.mode != ReclamationMode::Off).then(|| Settings {
            mode: self.mode,
            delay: SimDuration::from_secs(self.delay_s),
            margin_permille: self.margin_permille,
            decay_permille: self.decay_permille,
            overcommit_permille: [self.overcommit_permille.cpu, self.overcommit_permille.mem],
        })
    }

    /// The reclamation tick's interval.
    pub fn interval(&self) -> SimDuration {
        SimDuration::from_secs(self.interval_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ReclamationConfig, String> {
        let c: ReclamationConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map_err(|(k, m)| format!("{k}: {m}"))?;
        Ok(c)
    }

    #[test]
    fn defaults_are_borgs_and_off() {
        let c = parse("").unwrap();
        assert_eq!(c, ReclamationConfig::default());
        assert_eq!(c.mode, ReclamationMode::Off);
        assert_eq!((c.interval_s, c.delay_s), (300, 300));
        assert_eq!((c.margin_permille, c.decay_permille), (100, 250));
        assert_eq!(
            c.overcommit_permille,
            Overcommit {
                cpu: 1000,
                mem: 1000
            }
        );
        assert!(c.settings().is_none(), "off builds nothing");
        let on = parse("mode = \"on\"\novercommit_permille = { cpu = 1500 }").unwrap();
        let s = on.settings().unwrap();
        assert_eq!(s.mode, ReclamationMode::On);
        assert_eq!(s.overcommit_permille, [1500, 1000]);
        assert_eq!(s.delay, SimDuration::from_secs(300));
        assert_eq!(
            parse("mode = \"measure\"").unwrap().mode,
            ReclamationMode::Measure
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = |t: &str| parse(t).unwrap_err();
        assert!(err("interval_s = 0").starts_with("reclamation.interval_s:"));
        assert!(err("decay_permille = 1001").starts_with("reclamation.decay_permille:"));
        assert!(err("margin_permille = 100001").starts_with("reclamation.margin_permille:"));
        let e = err("overcommit_permille = { mem = 999 }");
        assert!(e.starts_with("reclamation.overcommit_permille.mem:"), "{e}");
        let e = err("overcommit_permille = { cpu = 10001 }");
        assert!(e.starts_with("reclamation.overcommit_permille.cpu:"), "{e}");
        assert!(err("delay_s = 18446744073709551615").starts_with("reclamation.delay_s:"));
        // Unknown keys and modes are refused by name.
        assert!(
            err("mode = \"maybe\"").contains("off"),
            "{}",
            err("mode = \"maybe\"")
        );
        assert!(err("interval = 5").contains("interval_s"));
        assert!(err("overcommit_permille = { gpu = 1000 }").contains("cpu"));
    }
}
