//! `[metrics]`: reporting settings that shape what some figures of
//! `summary.json` measure, without changing the run itself. Its own file,
//! as `[compaction]`, so the scenario model stays short.

use serde::Deserialize;

/// `[metrics]`; every key optional.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Prod job availability also reports the share of time a job of n
    /// tasks has at least n − `availability_k` of them running (its
    /// required tasks: see `cell::state::availability`). 0 asks the same
    /// as "all running"; a k of n or more counts every instant.
    #[serde(default = "default_availability_k")]
    pub availability_k: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            availability_k: default_availability_k(),
        }
    }
}

/// One task down: a job spread so that it tolerates losing one task
/// (one machine, or one failure domain with a per-domain limit of 1).
fn default_availability_k() -> u32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_defaults_to_one_and_unknown_keys_are_refused() {
        let c: MetricsConfig = toml::from_str("").unwrap();
        assert_eq!(c.availability_k, 1);
        let c: MetricsConfig = toml::from_str("availability_k = 3").unwrap();
        assert_eq!(c.availability_k, 3);
        let e = toml::from_str::<MetricsConfig>("availability = 3").unwrap_err();
        assert!(e.to_string().contains("availability_k"), "{e}");
        assert!(toml::from_str::<MetricsConfig>("availability_k = -1").is_err());
    }
}
