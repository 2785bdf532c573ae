//! Scenarios: TOML files that say what to simulate.
//!
//! A scenario names the cell (machine classes and the failure-domain shape),
//! the workload (job classes), the scheduler (policy, preemption) and the run
//! (seed, duration, sample interval). Unknown keys are errors
//! (`deny_unknown_fields`), modes are enums, and [`Scenario::validate`]
//! checks every value before anything runs, naming the offending key.
//! [`Scenario::host_warnings`] goes further for `borgsim validate`: job
//! classes that no machine class could ever host (`hosts.rs`), and
//! [`Scenario::estimate`] what a run would take — memory, events — so a
//! run beyond the machine is refused before it starts (`estimate.rs`).
//! `scenarios/quickstart.toml` is compiled into the binary as the default,
//! and every shipped scenario as a built-in ([`BUILTIN`]), with the trace
//! files they replay (`embedded.rs`), so built-ins run from any directory.

mod build;
pub mod cell_trace;
pub mod compaction;
pub mod domains;
pub mod embedded;
pub mod estimate;
pub mod faults;
mod hosts;
pub mod metrics;
mod model;
pub mod reclamation;
pub mod usage;

pub use compaction::CompactionConfig;
pub use estimate::{Estimate, Limits};
pub use faults::FaultsConfig;
pub use hosts::{
    draw_range, exceed_probability, tail_probability, HostWarning, HostWarningKind,
    TAIL_WARN_PROBABILITY,
};
pub use metrics::MetricsConfig;
pub use model::*;
pub use reclamation::ReclamationConfig;
pub use usage::UsageModelConfig;

use crate::error::{Error, Result};
use crate::trace::Source;
use std::path::{Path, PathBuf};

/// The embedded default scenario.
pub const QUICKSTART_TOML: &str = include_str!("../../scenarios/quickstart.toml");

/// Every scenario shipped in `scenarios/`, compiled in, by name: the
/// benchmark suite runs these, so it works from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("quickstart", QUICKSTART_TOML),
    (
        "fragmentation",
        include_str!("../../scenarios/fragmentation.toml"),
    ),
    ("churn-1k", include_str!("../../scenarios/churn-1k.toml")),
    ("churn-10k", include_str!("../../scenarios/churn-10k.toml")),
    (
        "churn-10k-faults",
        include_str!("../../scenarios/churn-10k-faults.toml"),
    ),
    (
        "churn-100k",
        include_str!("../../scenarios/churn-100k.toml"),
    ),
    (
        "borg-cell-pack",
        include_str!("../../scenarios/borg-cell-pack.toml"),
    ),
    ("openb", include_str!("../../scenarios/openb.toml")),
    (
        "colocation",
        include_str!("../../scenarios/colocation.toml"),
    ),
    (
        "colocation-small",
        include_str!("../../scenarios/colocation-small.toml"),
    ),
    (
        "alibaba-domains",
        include_str!("../../scenarios/alibaba-domains.toml"),
    ),
    ("failures", include_str!("../../scenarios/failures.toml")),
    (
        "failures-packed",
        include_str!("../../scenarios/failures-packed.toml"),
    ),
    (
        "reclamation",
        include_str!("../../scenarios/reclamation.toml"),
    ),
    (
        "google2011-usage",
        include_str!("../../scenarios/google2011-usage.toml"),
    ),
];

/// The text of a built-in scenario.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The name under which the embedded scenario is reported.
pub const QUICKSTART_ORIGIN: &str = "<embedded>/quickstart.toml";

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut sc = Scenario::parse(&text, path)?;
        sc.base = Base::Dir(path.parent().map(Path::to_path_buf).unwrap_or_default());
        sc.resolve_cell()?;
        Ok(sc)
    }

    /// A built-in scenario by name. Its relative paths (trace files) name
    /// the files embedded with it, as if from the source tree's
    /// `scenarios/` directory: it never reads the disk, wherever it runs.
    pub fn builtin(name: &str) -> Option<Result<Scenario>> {
        let text = builtin(name)?;
        let origin = PathBuf::from(format!("<embedded>/{name}.toml"));
        Some(Scenario::parse(text, &origin).and_then(|mut sc| {
            sc.base = Base::Builtin(origin);
            sc.resolve_cell()?;
            Ok(sc)
        }))
    }

    /// The files of the scenario's trace `tc`: on disk relative to the
    /// scenario file, or embedded for a built-in scenario.
    pub fn trace_files(&self, tc: &TraceConfig) -> Result<Vec<Source>> {
        match &self.base {
            Base::Dir(dir) => crate::trace::replay::resolve_files(dir, &tc.files),
            Base::Builtin(origin) => embedded::resolve(origin, &tc.files),
        }
    }

    /// The embedded quickstart scenario.
    pub fn quickstart() -> Scenario {
        Scenario::parse(QUICKSTART_TOML, Path::new(QUICKSTART_ORIGIN))
            .expect("the embedded quickstart scenario is valid")
    }

    /// Parses and validates scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Scenario> {
        let mut sc: Scenario = toml::from_str(text).map_err(|e| Error::Parse {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        sc.origin = origin.to_path_buf();
        sc.validate().map_err(|(key, message)| Error::Invalid {
            path: origin.to_path_buf(),
            key,
            message,
        })?;
        Ok(sc)
    }
}

/// The default output directory for a scenario: `reports/<name>/`.
pub fn default_out_dir(sc: &Scenario) -> PathBuf {
    Path::new("reports").join(&sc.name)
}
