//! The headline numbers: the figures of `summary.json` a person compares
//! first, in one list, so that a run's page, the compare page and
//! `compare.csv` show the same figures under the same names. Each is named
//! by its dotted key in `summary.json` (`utilization.cpu.total`) and shown
//! with exactly its value there.

use super::html::{at, Unit};
use serde_json::Value;

/// One headline figure.
#[derive(Copy, Clone, Debug)]
pub struct Metric {
    /// Its dotted key in summary.json.
    pub key: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    /// The heading it is listed under.
    pub group: &'static str,
    pub when: When,
}

/// When a figure is shown.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only for cells with GPUs.
    Gpus,
    /// Only where summary.json has it (trace replays, one-by-one replays, a
    /// steady-state window).
    Present,
}

const fn m(group: &'static str, key: &'static str, label: &'static str, unit: Unit) -> Metric {
    Metric {
        key,
        label,
        unit,
        group,
        when: When::Always,
    }
}

const fn only(when: When, metric: Metric) -> Metric {
    Metric { when, ..metric }
}

const TASKS: &str = "Tasks";
const ALLOC: &str = "Allocated, whole run";
const STEADY: &str = "Allocated, steady state";
const WAITS: &str = "Waits (entering the cell → first start)";
const EVICTIONS: &str = "Evictions";
const FAILURES: &str = "Failures and prod availability";
const GPU: &str = "GPU packing (one-by-one arrivals)";
const PACKING: &str = "Packing at the end (by the hole unit)";
const RUN: &str = "The run";
const RECLAIM: &str = "Usage and reclamation";

/// Every headline figure, in the order shown.
pub const METRICS: &[Metric] = &[
    m(TASKS, "jobs_submitted", "jobs submitted", Unit::Count),
    m(TASKS, "tasks.submitted", "tasks submitted", Unit::Count),
    m(
        TASKS,
        "tasks.scheduled",
        "started at least once",
        Unit::Count,
    ),
    m(TASKS, "tasks.finished", "finished", Unit::Count),
    m(TASKS, "tasks.killed", "killed", Unit::Count),
    m(TASKS, "tasks.dropped", "dropped", Unit::Count),
    m(
        TASKS,
        "tasks.running_at_end",
        "running at the end",
        Unit::Count,
    ),
    m(
        TASKS,
        "tasks.pending_at_end",
        "pending at the end",
        Unit::Count,
    ),
    m(
        TASKS,
        "tasks.never_schedulable",
        "never schedulable",
        Unit::Count,
    ),
    m(TASKS, "tasks.evicted", "evicted at least once", Unit::Count),
    m(ALLOC, "utilization.cpu.prod", "CPU, prod", Unit::Fraction),
    m(
        ALLOC,
        "utilization.cpu.nonprod",
        "CPU, non-prod",
        Unit::Fraction,
    ),
    m(ALLOC, "utilization.cpu.total", "CPU, total", Unit::Fraction),
    m(
        ALLOC,
        "utilization.mem.prod",
        "memory, prod",
        Unit::Fraction,
    ),
    m(
        ALLOC,
        "utilization.mem.nonprod",
        "memory, non-prod",
        Unit::Fraction,
    ),
    m(
        ALLOC,
        "utilization.mem.total",
        "memory, total",
        Unit::Fraction,
    ),
    only(
        When::Gpus,
        m(ALLOC, "utilization.gpu.prod", "GPU, prod", Unit::Fraction),
    ),
    only(
        When::Gpus,
        m(
            ALLOC,
            "utilization.gpu.nonprod",
            "GPU, non-prod",
            Unit::Fraction,
        ),
    ),
    only(
        When::Gpus,
        m(ALLOC, "utilization.gpu.total", "GPU, total", Unit::Fraction),
    ),
    only(
        When::Present,
        m(
            STEADY,
            "steady_state.start_s",
            "window start",
            Unit::Seconds,
        ),
    ),
    only(
        When::Present,
        m(STEADY, "steady_state.end_s", "window end", Unit::Seconds),
    ),
    only(
        When::Present,
        m(
            STEADY,
            "steady_state.utilization.cpu.total",
            "CPU, total",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            STEADY,
            "steady_state.utilization.mem.total",
            "memory, total",
            Unit::Fraction,
        ),
    ),
    only(
        When::Gpus,
        m(
            STEADY,
            "steady_state.utilization.gpu.total",
            "GPU, total",
            Unit::Fraction,
        ),
    ),
    m(WAITS, "wait_us.prod.count", "prod: started", Unit::Count),
    m(
        WAITS,
        "wait_us.prod.never_started",
        "prod: never started",
        Unit::Count,
    ),
    m(WAITS, "wait_us.prod.p50", "prod: p50", Unit::Micros),
    m(WAITS, "wait_us.prod.p90", "prod: p90", Unit::Micros),
    m(WAITS, "wait_us.prod.p99", "prod: p99", Unit::Micros),
    m(WAITS, "wait_us.prod.max", "prod: max", Unit::Micros),
    m(
        WAITS,
        "wait_us.nonprod.count",
        "non-prod: started",
        Unit::Count,
    ),
    m(
        WAITS,
        "wait_us.nonprod.never_started",
        "non-prod: never started",
        Unit::Count,
    ),
    m(WAITS, "wait_us.nonprod.p50", "non-prod: p50", Unit::Micros),
    m(WAITS, "wait_us.nonprod.p90", "non-prod: p90", Unit::Micros),
    m(WAITS, "wait_us.nonprod.p99", "non-prod: p99", Unit::Micros),
    m(WAITS, "wait_us.nonprod.max", "non-prod: max", Unit::Micros),
    m(EVICTIONS, "evictions.preemption", "preemption", Unit::Count),
    m(
        EVICTIONS,
        "evictions.machine_down",
        "machine down",
        Unit::Count,
    ),
    m(
        EVICTIONS,
        "evictions.machine_shrunk",
        "machine shrunk",
        Unit::Count,
    ),
    m(EVICTIONS, "evictions.trace", "by the trace", Unit::Count),
    m(
        EVICTIONS,
        "evictions.machine_failure",
        "machine failure",
        Unit::Count,
    ),
    m(
        EVICTIONS,
        "evictions.maintenance",
        "maintenance",
        Unit::Count,
    ),
    m(EVICTIONS, "evictions.task_crash", "task crash", Unit::Count),
    only(
        When::Present,
        m(
            EVICTIONS,
            "evictions.out_of_memory",
            "out of memory",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.reclaimed_share.cpu",
            "CPU allocation on reclaimed resources",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.reclaimed_share.mem",
            "memory allocation on reclaimed resources",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.usage_utilization.cpu.total",
            "CPU used, total",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.usage_utilization.mem.total",
            "memory used, total",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.throttled_cpu_core_s",
            "CPU throttled, core-seconds",
            Unit::Rate,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.oom_kills",
            "killed for memory",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            RECLAIM,
            "reclamation.oom_kills_per_task_week",
            "killed for memory per task-week",
            Unit::Rate,
        ),
    ),
    m(
        FAILURES,
        "evictions_per_task_week.prod.per_task_week.machine_failure",
        "prod: machine failures per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "evictions_per_task_week.prod.per_task_week.maintenance",
        "prod: maintenance per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "evictions_per_task_week.nonprod.per_task_week.preemption",
        "non-prod: preemptions per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "evictions_per_task_week.nonprod.per_task_week.machine_failure",
        "non-prod: machine failures per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "evictions_per_task_week.nonprod.per_task_week.maintenance",
        "non-prod: maintenance per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "evictions_per_task_week.nonprod.per_task_week.other",
        "non-prod: other (crashes) per task-week",
        Unit::Rate,
    ),
    m(
        FAILURES,
        "availability.all_running.time_weighted",
        "all tasks running: prod jobs, time-weighted",
        Unit::Fraction,
    ),
    only(
        When::Present,
        m(FAILURES, "faults.faults", "faults struck", Unit::Count),
    ),
    only(
        When::Present,
        m(
            FAILURES,
            "faults.all.recover_us_p90",
            "time to recover, 90th percentile",
            Unit::Micros,
        ),
    ),
    only(
        When::Present,
        m(FAILURES, "faults.task_crashes", "task crashes", Unit::Count),
    ),
    only(
        When::Present,
        m(
            FAILURES,
            "faults.reschedule_queue.max_queued",
            "most tasks in the reschedule queue",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            FAILURES,
            "faults.maintenance.finished_s",
            "maintenance drain finished at",
            Unit::Seconds,
        ),
    ),
    m(
        FAILURES,
        "availability.all_running.min",
        "all tasks running: worst prod job",
        Unit::Fraction,
    ),
    m(
        FAILURES,
        "availability.all_running.p10",
        "all tasks running: 10th percentile",
        Unit::Fraction,
    ),
    m(
        FAILURES,
        "availability.n_minus_k_running.min",
        "at least n − k running: worst prod job",
        Unit::Fraction,
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.gpu_alloc_pct_at_demand_pct.50",
            "allocated at 50 % demand",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.gpu_alloc_pct_at_demand_pct.80",
            "allocated at 80 % demand",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.gpu_alloc_pct_at_demand_pct.100",
            "allocated at 100 % demand",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.gpu_alloc_pct_at_demand_pct.130",
            "allocated at 130 % demand",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.tasks_dropped_pct",
            "tasks dropped",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            GPU,
            "gpu_packing.gpu_milli_dropped_pct",
            "GPU demand dropped",
            Unit::Percent,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.unit.cpu_milli",
            "hole unit: CPU (milli-cores)",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.unit.mem_mib",
            "hole unit: memory (MiB)",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.stranded.cpu_share",
            "CPU stranded (no memory beside it)",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.stranded.mem_share",
            "memory stranded (no CPU beside it)",
            Unit::Fraction,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.holes.units_free",
            "units that fit in the free space",
            Unit::Count,
        ),
    ),
    only(
        When::Present,
        m(
            PACKING,
            "packing.holes.free_share",
            "free room, share of the empty cell's",
            Unit::Fraction,
        ),
    ),
    m(RUN, "duration_s", "simulated", Unit::Seconds),
    m(RUN, "machines", "machines", Unit::Count),
    m(RUN, "events_processed", "events processed", Unit::Count),
    m(
        RUN,
        "scheduler.feasibility_checks",
        "feasibility checks",
        Unit::Count,
    ),
    m(
        RUN,
        "scheduler.scores_computed",
        "scores computed",
        Unit::Count,
    ),
];

impl Metric {
    /// True if the figure is shown for these runs' summaries: always, when
    /// any cell has GPUs, or when any summary has it.
    pub fn applies(&self, summaries: &[&Value]) -> bool {
        match self.when {
            When::Always => true,
            When::Gpus => summaries
                .iter()
                .any(|s| at(s, "capacity.gpus").and_then(Value::as_u64).unwrap_or(0) > 0),
            When::Present => summaries
                .iter()
                .any(|s| at(s, self.key).is_some_and(|v| !v.is_null())),
        }
    }
}

/// The figures shown for these summaries, in order.
pub fn shown(summaries: &[&Value]) -> Vec<&'static Metric> {
    METRICS.iter().filter(|m| m.applies(summaries)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gpu_and_replay_figures_show_only_where_they_mean_something() {
        let cpu_only = json!({"capacity": {"gpus": 0}, "steady_state": null});
        let gpus = json!({"capacity": {"gpus": 8}, "gpu_packing": {"tasks_dropped_pct": 1.5}});
        let keys = |s: &[&Value]| -> Vec<&str> { shown(s).iter().map(|m| m.key).collect() };
        let plain = keys(&[&cpu_only]);
        assert!(plain.contains(&"utilization.cpu.total"));
        assert!(!plain.contains(&"utilization.gpu.total"));
        assert!(!plain.contains(&"steady_state.start_s"), "null window");
        assert!(!plain.contains(&"gpu_packing.tasks_dropped_pct"));
        // Side by side, a figure shows if any run has it.
        let both = keys(&[&cpu_only, &gpus]);
        assert!(both.contains(&"utilization.gpu.total"));
        assert!(both.contains(&"gpu_packing.tasks_dropped_pct"));
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}
