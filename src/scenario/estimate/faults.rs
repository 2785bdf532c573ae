//! The events a `[faults]` table adds to a run (see the parent module):
//! each fault kind's clocks over the horizon, so that `--max-events`
//! judges a run with faults as it will be.
//!
//! Per rule, with H the horizon and L the lifetime's mean (an exponential's
//! `mean_s`; a Weibull's `scale_s`, which is its mean at shape 1, 0.89–1 ×
//! it above, and less than the mean below, so the count errs high there):
//! machine failures, per machine, 1 + 2·H/L (a failure and its repair);
//! recurring outages, per domain, 1 + 2·H/L, a one-off 2; unreachability,
//! per machine, 1 + 3·H/L (loss, grace, return); maintenance, 2 per
//! machine of its set plus a retry every 10 s while it waits (at most
//! H/10); task crashes, one clock per start of a task some rule matches
//! (its job class's task ends), plus the restarts of crashes, per job
//! class its live tasks × H / 3600 × the `per_task_hour` of the first
//! rule matching its band and name, as a run picks a task's rule (each
//! crash a restart, and its clock; classes no rule matches add nothing);
//! the rate limit, one release per interval. A fault's evictions bring
//! scheduling passes, counted with the other changes.

use super::super::faults::{FaultsConfig, Lifetime};
use super::super::model::Scenario;
use super::{key, sat, Part};

fn mean_s(l: &Lifetime) -> f64 {
    match *l {
        Lifetime::Exponential { mean_s } => mean_s,
        Lifetime::Weibull { scale_s, .. } => scale_s,
    }
}

/// Machines of class `class` (all: `None`) of a synthetic cell.
fn machines(sc: &Scenario, class: Option<u32>) -> f64 {
    let m = sc.cell.machines.iter().enumerate();
    m.filter(|(i, _)| class.is_none_or(|c| c as usize == *i))
        .map(|(_, m)| f64::from(m.count))
        .sum()
}

/// The events of `f` over `horizon_s`; `classes`: per job class of
/// `workload.jobs`, in order, its task ends and its live tasks at the
/// peak (what crash clocks follow). Returns the parts, each naming its key.
pub(super) fn fault_events(
    sc: &Scenario,
    f: &FaultsConfig,
    horizon_s: f64,
    classes: &[(f64, f64)],
) -> Vec<Part> {
    let mut parts = Vec::new();
    let per = |n: f64, l: &Lifetime, events: f64| n * (1.0 + events * horizon_s / mean_s(l));
    for (i, r) in f.machine_failures.iter().enumerate() {
        let n = per(machines(sc, r.class), &r.time_to_failure, 2.0);
        let at = format!("faults.machine_failures[{i}].time_to_failure");
        parts.push(Part::new(
            format!("machine failures and repairs of {at}"),
            sat(n),
            vec![key(at, n)],
        ));
    }
    for (i, r) in f.outages.iter().enumerate() {
        let at = format!("faults.outages[{i}]");
        let n = match &r.time_between {
            // At most one domain per machine.
            Some(l) => per(machines(sc, None), l, 2.0),
            None => 2.0,
        };
        parts.push(Part::new(
            format!("outages of {at}"),
            sat(n),
            vec![key(at, n)],
        ));
    }
    for (i, r) in f.unreachable.iter().enumerate() {
        let n = per(machines(sc, r.class), &r.time_between, 3.0);
        let at = format!("faults.unreachable[{i}].time_between");
        parts.push(Part::new(
            format!("machines out of contact, {at}"),
            sat(n),
            vec![key(at, n)],
        ));
    }
    if let Some(m) = &f.maintenance {
        let set = machines(sc, m.class) * f64::from(m.machines_pct) / 100.0;
        let n = 2.0 * set.ceil() + horizon_s / 10.0;
        let at = "faults.maintenance.machines_pct";
        parts.push(Part::new("the maintenance drain", sat(n), vec![key(at, n)]));
    }
    if !f.task_crashes.is_empty() {
        let n = crash_events(sc, f, horizon_s, classes);
        let at = "faults.task_crashes";
        parts.push(Part::new(
            "task crash clocks and restarts",
            sat(n),
            vec![key(at, n)],
        ));
    }
    if let Some(l) = f.reschedule_limit {
        let n = horizon_s / l.interval_s as f64 + 1.0;
        let at = "faults.reschedule_limit.interval_s";
        parts.push(Part::new("rate limit releases", sat(n), vec![key(at, n)]));
    }
    parts
}

/// Crash clocks and restarts: per job class, the rate of the first rule
/// that matches it (none: no clock).
fn crash_events(sc: &Scenario, f: &FaultsConfig, horizon_s: f64, classes: &[(f64, f64)]) -> f64 {
    let rate = |band, name: &str| {
        let rule = f.task_crashes.iter().find(|r| r.matches(band, name));
        rule.map(|r| r.per_task_hour)
    };
    sc.workload
        .jobs
        .iter()
        .zip(classes)
        .filter_map(|(j, &(ends, live))| {
            let r = rate(j.band, &j.name)?;
            Some(ends + 2.0 * live * horizon_s / 3600.0 * r)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_counts_its_clocks_over_the_horizon() {
        let sc = crate::scenario::Scenario::builtin("failures")
            .unwrap()
            .unwrap();
        let f = sc.faults.as_ref().unwrap();
        // The crash rule (band batch) matches batch, not web: web's 700
        // ends and 900 live tasks add nothing (they would add 700 + 2 ×
        // 900 × 4 h × 0.05 = 1060).
        let jobs: Vec<&str> = sc.workload.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(jobs, ["web", "batch"]);
        let classes = [(700.0, 900.0), (1000.0, 500.0)];
        let parts = fault_events(&sc, f, 14_400.0, &classes);
        let amounts: Vec<u64> = parts.iter().map(|p| p.amount).collect();
        // Failures: 160 × (1 + 2 × 14400 / 432000) = 170.67 → 171.
        // The one-off outage: 2. Unreachability: 160 × (1 + 3 × 14400 /
        // 86400) = 240. Maintenance: 2 × ⌈160 × 25 %⌉ + 14400 / 10 =
        // 1520. Crash clocks: the 1000 ends + 2 × 500 live × 4 h × 0.05
        // = 1200. Releases: 14400 / 60 + 1 = 241.
        assert_eq!(amounts, vec![171, 2, 240, 1520, 1200, 241]);
    }
}
