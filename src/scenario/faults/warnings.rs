//! `validate`'s warnings of faults that can do nothing: the scenario is
//! valid, but a rule of its `[faults]` will never act — a one-off fault
//! after the run's end, a crash rule that no job class gets. Silent
//! no-ops are what a student would not notice in the results.

use super::FaultsConfig;
use crate::workload::Band;

impl crate::scenario::Scenario {
    /// Faults that can do nothing, each naming its key: an outage or a
    /// drain that starts at or after the run's end, a crash rule that no
    /// job class of a synthetic workload matches (or whose every match an
    /// earlier rule takes: a task's rule is the first that matches it).
    /// Warnings, not errors: the run is valid, it just has no such fault.
    pub fn fault_warnings(&self) -> Vec<String> {
        let Some(f) = &self.faults else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(end) = self.duration_s {
            let late = |key: String, at: u64, what: &str| {
                (at >= end).then(|| {
                    format!(
                        "{key}: {at} s is at or after the run's end (duration_s = {end}): \
                         the {what} never happens"
                    )
                })
            };
            for (i, o) in f.outages.iter().enumerate() {
                let at = o
                    .at_s
                    .and_then(|t| late(format!("faults.outages[{i}].at_s"), t, "outage"));
                out.extend(at);
            }
            if let Some(m) = &f.maintenance {
                out.extend(late(
                    "faults.maintenance.start_s".into(),
                    m.start_s,
                    "drain",
                ));
            }
        }
        if self.trace.is_none() {
            out.extend(self.idle_crash_rules(f));
        }
        out
    }

    /// The crash rules of `f` that no job class of the synthetic workload
    /// gets (first match wins), with why.
    fn idle_crash_rules(&self, f: &FaultsConfig) -> Vec<String> {
        let jobs = &self.workload.jobs;
        let rule_of =
            |band: Band, name: &str| f.task_crashes.iter().position(|r| r.matches(band, name));
        let mut out = Vec::new();
        for (i, r) in f.task_crashes.iter().enumerate() {
            if jobs.iter().any(|j| rule_of(j.band, &j.name) == Some(i)) {
                continue;
            }
            let mut filter = Vec::new();
            if let Some(b) = r.band {
                filter.push(format!("band = {:?}", b.name()));
            }
            if let Some(c) = &r.job_class {
                filter.push(format!("job_class = {c:?}"));
            }
            let why = match jobs.iter().any(|j| r.matches(j.band, &j.name)) {
                true => "every job class it matches is an earlier rule's (a task's rule is the \
                         first that matches it)"
                    .to_string(),
                false => format!(
                    "no job class of workload.jobs matches {}",
                    filter.join(" and ")
                ),
            };
            out.push(format!(
                "faults.task_crashes[{i}]: {why}: it crashes no task"
            ));
        }
        out
    }
}
