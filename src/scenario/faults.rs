//! The scenario's `[faults]` table: what fails, when, and how the cell
//! copes (see [`crate::faults`] for what each fault does).
//!
//! Kept apart from `model.rs` since it is a table of its own with its own
//! checks. Every time is simulated seconds in the file and converted once
//! to integer µs when the faults are built; distributions (`repair_s`,
//! `duration_s`) are the workload's ([`Dist`]), in seconds.
//!
//! ```toml
//! [faults.reschedule_limit]
//! tasks = 50          # at most 50 fault-evicted tasks released …
//! interval_s = 60     # … per 60 s window
//!
//! [[faults.machine_failures]]
//! class = 0           # cell.machines[0]'s machines; absent: every machine
//! time_to_failure = { weibull = { shape = 0.8, scale_s = 864000 } }
//! repair_s = { uniform = { min = 600, max = 3600 } }
//!
//! [[faults.outages]]
//! level = "rack"      # or "row", "power_domain"
//! at_s = 7200         # one outage at a fixed time …
//! domain = 3          # … of this rack
//! # time_between = { exponential = { mean_s = 2592000 } }  # or per domain
//! duration_s = { constant = 1800 }
//!
//! [[faults.unreachable]]
//! time_between = { exponential = { mean_s = 864000 } }
//! duration_s = { constant = 120 }
//! grace_s = 300
//!
//! [faults.maintenance]   # one table: one drain
//! start_s = 3600
//! machines_pct = 100  # a seeded share of the machines (of `class`, if given)
//! max_down = 4
//! max_job_share_pct = 10
//! duration_s = { constant = 600 }
//!
//! [[faults.task_crashes]]
//! per_task_hour = 0.01
//! band = "batch"      # and/or job_class = "name"; neither: every task
//! ```

use super::model::{Invalid, MAX_TIME_S};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::workload::dist::Dist;
use crate::workload::Band;
use serde::{Deserialize, Deserializer};

/// The `[faults]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    #[serde(default)]
    pub machine_failures: Vec<MachineFailures>,
    #[serde(default)]
    pub outages: Vec<Outages>,
    #[serde(default)]
    pub unreachable: Vec<Unreachability>,
    #[serde(default, deserialize_with = "one_drain")]
    pub maintenance: Option<Maintenance>,
    #[serde(default)]
    pub task_crashes: Vec<TaskCrashes>,
    pub reschedule_limit: Option<RescheduleLimit>,
}

/// A time between events, in seconds, as a lifetime distribution.
#[derive(Copy, Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Lifetime {
    /// Memoryless: failures at a constant rate, 1 / `mean_s`.
    Exponential { mean_s: f64 },
    /// Weibull with `shape` k and `scale_s` λ: k < 1 infant mortality,
    /// k > 1 wear-out (mean λ·Γ(1 + 1/k)).
    Weibull { shape: f64, scale_s: f64 },
}

/// Machines failing one at a time, each on its own clock.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineFailures {
    /// The machine class (index of a `[[cell.machines]]` entry; a trace's
    /// classes — a `[trace]` replay's or `cell.from_trace`'s — by
    /// capacity, smallest first); absent: every machine.
    pub class: Option<u32>,
    /// Time from a machine's repair (or the start) to its next failure.
    pub time_to_failure: Lifetime,
    /// How long a failed machine stays down, in seconds.
    pub repair_s: Dist,
}

/// The failure-domain level an outage takes out.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OutageLevel {
    Rack,
    Row,
    PowerDomain,
}

impl OutageLevel {
    /// The cell's failure-domain level of that name.
    pub fn domain_level(self) -> DomainLevel {
        match self {
            OutageLevel::Rack => DomainLevel::Rack,
            OutageLevel::Row => DomainLevel::Row,
            OutageLevel::PowerDomain => DomainLevel::Power,
        }
    }

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The message of an outage's `domain` beyond the cell's: the level and
/// the valid range.
pub fn no_such_domain(count: usize, level: OutageLevel, domain: u32) -> String {
    format!(
        "the cell has {count} domains at level {} (0 to {}), got {domain}",
        level.name(),
        count.max(1) - 1
    )
}

/// Correlated outages: every machine of a rack, row or power domain down
/// at once, back together.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outages {
    pub level: OutageLevel,
    /// Time between outages of each domain (each on its own clock).
    pub time_between: Option<Lifetime>,
    /// One outage at this time (with `domain`), instead of `time_between`.
    pub at_s: Option<u64>,
    /// The domain (index at `level`) of the outage at `at_s`.
    pub domain: Option<u32>,
    /// How long an outage lasts, in seconds.
    pub duration_s: Dist,
}

/// Machines that stop reporting while their tasks run on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unreachability {
    /// As in [`MachineFailures::class`].
    pub class: Option<u32>,
    /// Time from a machine's return to its next loss of contact.
    pub time_between: Lifetime,
    /// How long it stays out of contact, in seconds.
    pub duration_s: Dist,
    /// After this long out of contact, its tasks are declared lost and
    /// rescheduled elsewhere; it comes back empty.
    pub grace_s: u64,
}

/// A planned drain (a kernel upgrade across the cell).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// When the drain starts, in seconds.
    pub start_s: u64,
    /// Only this class's machines (as in [`MachineFailures::class`]).
    pub class: Option<u32>,
    /// The share of those machines maintained, in percent (a seeded pick).
    #[serde(default = "hundred")]
    pub machines_pct: u32,
    /// At most this many machines down for maintenance at once.
    pub max_down: u32,
    /// A machine is taken only if no job then has more than this share of
    /// its tasks evicted by maintenance and not yet running again (every
    /// job may lose one task).
    pub max_job_share_pct: u32,
    /// How long each machine is down, in seconds.
    pub duration_s: Dist,
}

fn hundred() -> u32 {
    100
}

/// Tasks crashing by themselves; their job restarts them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskCrashes {
    /// Crashes per running task-hour (the rate of an exponential clock
    /// started at each placement).
    pub per_task_hour: f64,
    /// Only tasks of this band.
    pub band: Option<Band>,
    /// Only tasks of this job class (`[[workload.jobs]]` name).
    pub job_class: Option<String>,
}

/// At most `tasks` fault-evicted tasks rescheduled per `interval_s`.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleLimit {
    pub tasks: u32,
    pub interval_s: u64,
}

fn bad(key: impl Into<String>, msg: impl Into<String>) -> Invalid {
    (key.into(), msg.into())
}

impl Lifetime {
    fn validate(&self, key: &str) -> Result<(), Invalid> {
        let positive = |k: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= MAX_TIME_S as f64 {
                Ok(())
            } else {
                Err(bad(
                    format!("{key}.{k}"),
                    format!("must be a finite number > 0 and at most {MAX_TIME_S}, got {v}"),
                ))
            }
        };
        match *self {
            Lifetime::Exponential { mean_s } => positive("exponential.mean_s", mean_s),
            Lifetime::Weibull { shape, scale_s } => {
                positive("weibull.shape", shape)?;
                positive("weibull.scale_s", scale_s)
            }
        }
    }
}

/// What the checks need to know of the rest of the scenario.
pub struct Context<'a> {
    /// Machine classes: `[[cell.machines]]` entries, or those read from a
    /// trace (`cell.from_trace`). `None`: not known yet (a replay's, or a
    /// `from_trace` cell not read yet: checked once read).
    pub classes: Option<usize>,
    /// The classes are a trace's (by capacity, smallest first).
    pub classes_from_trace: bool,
    /// The cell's domains at each level an outage may name, if known.
    pub domains: Option<DomainCounts>,
    /// The run has a horizon (`duration_s`).
    pub bounded: bool,
    /// The job class names of a synthetic workload.
    pub job_classes: &'a [String],
}

/// How many domains a cell has at each level an outage may name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DomainCounts {
    pub racks: usize,
    pub rows: usize,
    pub power_domains: usize,
}

impl DomainCounts {
    pub fn of(tree: &DomainTree) -> DomainCounts {
        DomainCounts {
            racks: tree.racks(),
            rows: tree.domains(DomainLevel::Row),
            power_domains: tree.power_domains(),
        }
    }

    pub fn at(self, level: OutageLevel) -> usize {
        match level {
            OutageLevel::Rack => self.racks,
            OutageLevel::Row => self.rows,
            OutageLevel::PowerDomain => self.power_domains,
        }
    }
}

/// `[faults.maintenance]` is one table (one drain): an array of tables
/// `[[faults.maintenance]]` is refused saying so, where serde would say
/// what a struct's first field expected.
fn one_drain<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Maintenance>, D::Error> {
    struct OneTable;
    impl<'de> serde::de::Visitor<'de> for OneTable {
        type Value = Option<Maintenance>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("one table [faults.maintenance]")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let d = serde::de::value::MapAccessDeserializer::new(map);
            Maintenance::deserialize(d).map(Some)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(serde::de::Error::custom(
                "expected one table [faults.maintenance] (one drain, single brackets), \
                 not an array of tables [[faults.maintenance]]",
            ))
        }
    }
    d.deserialize_any(OneTable)
}

/// The message of a rule's `class` beyond the cell's classes (`count`;
/// `from_trace`: a trace's, by capacity, smallest first).
pub fn no_such_class(count: usize, from_trace: bool, class: u32) -> String {
    let what = match from_trace {
        true => "machine classes (the trace's, by capacity, smallest first",
        false => "machine classes (cell.machines entries",
    };
    format!(
        "no such machine class: the cell has {count} {what}: 0 to {}), got {class}",
        count.max(1) - 1
    )
}

fn check_dist(key: &str, d: &Dist) -> Result<(), Invalid> {
    d.validate().map_err(|m| bad(key, m))?;
    if d.mean_bound() > MAX_TIME_S as f64 {
        return Err(bad(key, format!("a mean beyond {MAX_TIME_S} s")));
    }
    Ok(())
}

fn check_class(key: &str, class: Option<u32>, cx: &Context) -> Result<(), Invalid> {
    match (class, cx.classes) {
        (Some(c), Some(n)) if c as usize >= n => {
            Err(bad(key, no_such_class(n, cx.classes_from_trace, c)))
        }
        _ => Ok(()),
    }
}

/// A recurring fault needs a horizon: it would never let the run drain.
fn check_bounded(key: &str, cx: &Context) -> Result<(), Invalid> {
    match cx.bounded {
        true => Ok(()),
        false => Err(bad(
            key,
            "recurs for ever, so the run needs duration_s (it would never drain)",
        )),
    }
}

impl FaultsConfig {
    /// Checks every value, naming the key (`faults.…`).
    pub fn validate(&self, cx: &Context) -> Result<(), Invalid> {
        for (i, f) in self.machine_failures.iter().enumerate() {
            let at = format!("faults.machine_failures[{i}]");
            check_bounded(&at, cx)?;
            check_class(&format!("{at}.class"), f.class, cx)?;
            f.time_to_failure
                .validate(&format!("{at}.time_to_failure"))?;
            check_dist(&format!("{at}.repair_s"), &f.repair_s)?;
        }
        for (i, o) in self.outages.iter().enumerate() {
            o.validate(&format!("faults.outages[{i}]"), cx)?;
        }
        for (i, u) in self.unreachable.iter().enumerate() {
            let at = format!("faults.unreachable[{i}]");
            check_bounded(&at, cx)?;
            check_class(&format!("{at}.class"), u.class, cx)?;
            u.time_between.validate(&format!("{at}.time_between"))?;
            check_dist(&format!("{at}.duration_s"), &u.duration_s)?;
            if u.grace_s > MAX_TIME_S {
                return Err(bad(
                    format!("{at}.grace_s"),
                    format!("beyond {MAX_TIME_S} s"),
                ));
            }
        }
        if let Some(m) = &self.maintenance {
            m.validate(cx)?;
        }
        for (i, c) in self.task_crashes.iter().enumerate() {
            c.validate(&format!("faults.task_crashes[{i}]"), cx)?;
        }
        if let Some(l) = self.reschedule_limit {
            let at = "faults.reschedule_limit";
            if l.tasks == 0 {
                return Err(bad(
                    format!("{at}.tasks"),
                    "must be > 0 (0 would never reschedule)",
                ));
            }
            if l.interval_s == 0 || l.interval_s > MAX_TIME_S {
                return Err(bad(
                    format!("{at}.interval_s"),
                    format!("must be > 0 and at most {MAX_TIME_S}, got {}", l.interval_s),
                ));
            }
        }
        Ok(())
    }
}

impl Outages {
    fn validate(&self, at: &str, cx: &Context) -> Result<(), Invalid> {
        match (&self.time_between, self.at_s, self.domain) {
            (Some(t), None, None) => {
                check_bounded(&format!("{at}.time_between"), cx)?;
                t.validate(&format!("{at}.time_between"))?;
            }
            (None, Some(t), Some(d)) => {
                if t > MAX_TIME_S {
                    return Err(bad(format!("{at}.at_s"), format!("beyond {MAX_TIME_S} s")));
                }
                let count = cx.domains.map(|c| c.at(self.level));
                if let Some(n) = count.filter(|&n| d as usize >= n) {
                    return Err(bad(
                        format!("{at}.domain"),
                        no_such_domain(n, self.level, d),
                    ));
                }
            }
            (None, Some(_), None) => {
                return Err(bad(
                    format!("{at}.domain"),
                    "an outage at at_s needs the domain it takes out",
                ))
            }
            (None, None, Some(_)) => {
                return Err(bad(
                    format!("{at}.at_s"),
                    "an outage of a given domain needs its time",
                ))
            }
            (None, None, None) => {
                return Err(bad(
                    at,
                    "needs time_between (recurring outages) or at_s and domain (one outage)",
                ))
            }
            (Some(_), _, _) => {
                return Err(bad(
                    format!("{at}.time_between"),
                    "give either time_between or at_s and domain, not both",
                ))
            }
        }
        check_dist(&format!("{at}.duration_s"), &self.duration_s)
    }
}

impl Maintenance {
    fn validate(&self, cx: &Context) -> Result<(), Invalid> {
        let at = "faults.maintenance";
        // A drain ends once every machine of its set has been down and is
        // back; until then it retries every 10 s (`faults::maintenance`).
        // A machine of the set that never comes back (a trace's REMOVE), or
        // one holding more of a job's tasks than the budget allows while
        // the job runs (a service never ends), makes it retry for ever: a
        // run without a horizon would never end.
        if !cx.bounded {
            return Err(bad(
                at,
                "the drain retries every 10 s until it has taken every machine of its set, \
                 and may wait for ever (a machine that never comes back, or one holding more \
                 of a job's tasks than max_job_share_pct allows while the job runs), so the \
                 run needs duration_s",
            ));
        }
        if self.start_s > MAX_TIME_S {
            return Err(bad(
                format!("{at}.start_s"),
                format!("beyond {MAX_TIME_S} s"),
            ));
        }
        check_class(&format!("{at}.class"), self.class, cx)?;
        for (k, v) in [
            ("machines_pct", self.machines_pct),
            ("max_job_share_pct", self.max_job_share_pct),
        ] {
            if !(1..=100).contains(&v) {
                return Err(bad(
                    format!("{at}.{k}"),
                    format!("must be 1 to 100 (percent), got {v}"),
                ));
            }
        }
        if self.max_down == 0 {
            return Err(bad(
                format!("{at}.max_down"),
                "must be > 0 (0 would never drain)",
            ));
        }
        check_dist(&format!("{at}.duration_s"), &self.duration_s)
    }
}

impl TaskCrashes {
    /// The rule applies to the tasks of a job of `band` and job class
    /// `class` (a synthetic job's `[[workload.jobs]]` name).
    pub fn matches(&self, band: Band, class: &str) -> bool {
        self.band.is_none_or(|b| b == band) && self.job_class.as_deref().is_none_or(|c| c == class)
    }

    fn validate(&self, at: &str, cx: &Context) -> Result<(), Invalid> {
        check_bounded(at, cx)?;
        let r = self.per_task_hour;
        if !(r.is_finite() && r > 0.0) {
            return Err(bad(
                format!("{at}.per_task_hour"),
                format!("must be a finite number > 0, got {r}"),
            ));
        }
        // The mean time to a crash, 3600 / r s, must be a time the clock holds.
        if 3600.0 / r > MAX_TIME_S as f64 {
            return Err(bad(
                format!("{at}.per_task_hour"),
                format!("{r} is too small: a crash beyond {MAX_TIME_S} s"),
            ));
        }
        if let Some(name) = &self.job_class {
            if !cx.job_classes.is_empty() && !cx.job_classes.contains(name) {
                return Err(bad(
                    format!("{at}.job_class"),
                    format!(
                        "no job class is named {name:?} (workload.jobs: {})",
                        cx.job_classes.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

mod warnings;

#[cfg(test)]
mod tests;
