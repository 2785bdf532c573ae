//! "Scenario": what was run — the parameters, the cell's machine classes,
//! and the workload's job classes (or the trace replayed), in brief, so
//! that a page read on its own says what its numbers are of. Any page
//! about a scenario uses it ([`of`]: a run's, compaction's).

use crate::cell::Cell;
use crate::error::Result;
use crate::report::html::{count, decimal};
use crate::report::run::RunView;
use crate::report::Section;
use crate::scenario::{Arrival, GpuConfig, JobClassConfig, Scenario, TraceConfig};
use crate::workload::dist::Dist;
use maud::{html, Markup};

pub fn section(v: &RunView) -> Result<Option<Section>> {
    Ok(Some(of(v.scenario, v.sim.state().cell())))
}

/// The section for scenario `sc` on `cell` (its whole cell, or the cell a
/// run simulated).
pub fn of(sc: &Scenario, cell: &Cell) -> Section {
    let body = html! {
        (parameters(sc))
        h3 { "Cell" }
        (cell_table(sc, cell))
        h3 { "Workload" }
        @match &sc.trace {
            Some(t) => (trace(t)),
            None => (jobs(sc)),
        }
    };
    Section {
        id: "scenario",
        title: "Scenario".into(),
        body,
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn parameters(sc: &Scenario) -> Markup {
    let duration = match sc.duration_s {
        Some(d) => format!("{d} s"),
        None => "until drained".into(),
    };
    let steady = match sc.steady_state {
        None => "default: median allocation → last arrival".to_string(),
        Some(w) => format!(
            "{} → {}",
            w.start_s.map_or("default".into(), |s| format!("{s} s")),
            w.end_s.map_or("default".into(), |s| format!("{s} s"))
        ),
    };
    let mut rows: Vec<(&str, String)> =
        vec![("scenario", sc.name.clone()), ("seed", sc.seed.to_string())];
    rows.extend(scheduler(sc));
    rows.extend([
        ("duration", duration),
        ("sample interval", format!("{} s", sc.sample_interval_s)),
        ("steady-state window", steady),
    ]);
    html! {
        @if !sc.description.trim().is_empty() { p { (sc.description.trim()) } }
        table.params {
            tbody {
                @for (k, val) in &rows { tr { th scope="row" { (k) } td { (val) } } }
            }
        }
    }
}

/// The scheduler's settings; for a replay that follows the trace's own
/// placements, one row saying they decided nothing.
fn scheduler(sc: &Scenario) -> Vec<(&'static str, String)> {
    let s = &sc.scheduler;
    if sc.follows_trace_placements() {
        return vec![(
            "placements",
            format!(
                "the trace's own: no scheduling pass ran, so the \
                 [scheduler] settings (policy {}, preemption {}) decided nothing",
                s.policy.name(),
                on_off(s.preemption)
            ),
        )];
    }
    let mut rows = vec![
        ("policy", s.policy.name().into()),
        ("preemption", on_off(s.preemption).into()),
        ("score caching", on_off(s.score_cache).into()),
        ("equivalence classes", on_off(s.equivalence_classes).into()),
        (
            "relaxed randomization",
            on_off(s.relaxed_randomization).into(),
        ),
        (
            "scheduling pass interval",
            format!("{} ms", s.pass_interval_ms),
        ),
    ];
    if let Some(w) = &s.spreading {
        let levels: Vec<String> = w
            .levels()
            .map(|(l, weight)| format!("{} × {weight}", l.name()))
            .collect();
        rows.push((
            "spreading score",
            format!("first, weighted per level: {}", levels.join(", ")),
        ));
    }
    if let Some(secs) = s.avoid_failed_s.filter(|&secs| secs > 0) {
        rows.push((
            "failure history",
            format!("a task avoids a machine it failed on for {secs} s"),
        ));
    }
    rows
}

fn cell_table(sc: &Scenario, cell: &Cell) -> Markup {
    let from_trace = sc
        .trace
        .as_ref()
        .is_some_and(|t| t.machines == crate::scenario::MachineSource::Trace);
    let groups = cell.classes().groups();
    html! {
        p {
            (count(cell.len() as u64)) " machines"
            @if from_trace { ", from the trace's machine table, grouped by identical capacity" }
            @if sc.cell.from_trace.is_some() {
                ", from the machine table of a " (sc.cell.from_trace.as_ref().map_or("", |f| f.format.name()))
                " trace (cell.from_trace), grouped by identical capacity, in "
                (count(cell.domains.racks() as u64)) " racks and "
                (count(cell.domains.power_domains() as u64)) " power domains as the trace names them"
            }
            "."
        }
        table {
            thead { tr {
                th { "machine class" } th.num { "machines" } th.num { "CPU each (milli)" }
                th.num { "memory each (MiB)" } th.num { "GPUs each" }
            } }
            tbody {
                @for g in groups {
                    tr {
                        td { (g.label) }
                        td.num { (count(u64::from(g.machines))) }
                        @match g.machine_capacity {
                            Some(c) => {
                                td.num { (count(c.res.cpu_milli)) }
                                td.num { (count(c.res.mem_mib)) }
                                td.num { (c.gpus) }
                            }
                            None => { td.num { "various" } td.num { "various" } td.num { "various" } }
                        }
                    }
                }
            }
        }
    }
}

fn trace(t: &TraceConfig) -> Markup {
    use crate::scenario::{ArrivalOrder, MachineSource, ReplayMode};
    let files: Vec<String> = t.files.iter().map(|f| f.display().to_string()).collect();
    let mode = match t.mode {
        ReplayMode::Reschedule => "reschedule: borgsim places the trace's tasks",
        ReplayMode::TracePlacement => {
            "trace_placement: the trace's own placements, evictions and ends; no scheduling"
        }
    };
    let machines = match t.machines {
        MachineSource::Trace => "trace",
        MachineSource::Scenario => "scenario: the scenario's [cell]",
    };
    let arrivals = match t.arrivals {
        ArrivalOrder::Trace => "at the trace's times",
        ArrivalOrder::OneByOne => "one_by_one: drawn from the trace, one a second, none leaves",
    };
    html! {
        table.params { tbody {
            tr { th scope="row" { "trace format" } td { (t.format.name()) } }
            tr { th scope="row" { "files" } td { (files.join(", ")) } }
            tr { th scope="row" { "mode" } td { (mode) } }
            tr { th scope="row" { "machines" } td { (machines) } }
            tr { th scope="row" { "arrivals" } td { (arrivals) } }
            @if let Some(p) = t.inflate_gpu_demand_pct {
                tr { th scope="row" { "GPU demand to reach" } td { (p) " % of capacity" } }
            }
            tr { th scope="row" { "bad rows" } td { (if t.lenient { "skipped and counted" } else { "stop the run" }) } }
        } }
    }
}

fn jobs(sc: &Scenario) -> Markup {
    html! {
        table {
            thead { tr {
                th { "job class" } th { "band" } th.num { "priority" } th.num { "initial jobs" }
                th { "arrivals" } th { "tasks per job" } th { "CPU per task (milli)" }
                th { "memory per task (MiB)" } th { "GPU" } th { "duration (s)" } th { "placement" }
            } }
            tbody {
                @for j in &sc.workload.jobs { (job(j)) }
            }
        }
    }
}

fn job(j: &JobClassConfig) -> Markup {
    let priority = j.priority.unwrap_or(j.band.default_priority());
    html! {
        tr {
            td { (j.name) }
            td { (j.band.name()) }
            td.num { (priority) }
            td.num { (count(j.initial_jobs)) }
            td { (arrival(j)) }
            td { (dist(&j.tasks)) }
            td { (dist(&j.cpu_milli)) }
            td { (dist(&j.mem_mib)) }
            td { (gpu(j.gpu)) }
            td { (j.duration_s.as_ref().map_or("until the end".into(), dist)) }
            td { (placement(j)) }
        }
    }
}

fn arrival(j: &JobClassConfig) -> String {
    let mut s = match j.arrival {
        None => "none after the initial jobs".to_string(),
        Some(Arrival::Poisson { per_hour }) => {
            format!("Poisson, {} per hour", decimal(per_hour, 3))
        }
        Some(Arrival::Uniform { count, over_s }) => {
            format!("{count} at uniform times over {} s", decimal(over_s, 3))
        }
    };
    if let Some(max) = j.max_jobs {
        s += &format!(" (at most {max} jobs)");
    }
    s
}

fn gpu(g: GpuConfig) -> String {
    match g {
        GpuConfig::None => "—".into(),
        GpuConfig::Whole(n) => format!("{n} whole"),
        GpuConfig::Share(m) => format!("{m} milli of one"),
    }
}

fn placement(j: &JobClassConfig) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (what, max) in [
        ("machine", j.max_per_machine),
        ("rack", j.max_per_rack),
        ("row", j.max_per_row),
        ("power domain", j.max_per_power_domain),
    ] {
        if let Some(m) = max {
            parts.push(format!("at most {m} per {what}"));
        }
    }
    for c in &j.constraints {
        let op = match serde_json::to_value(c.op) {
            Ok(serde_json::Value::String(op)) => op,
            _ => format!("{:?}", c.op),
        };
        parts.push(match &c.value {
            Some(v) => format!("{} {op} {v}", c.attr),
            None => format!("{} {op}", c.attr),
        });
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("; ")
    }
}

/// A distribution in brief: `log-normal, median 25, σ 0.6, max 120`.
pub fn dist(d: &Dist) -> String {
    let n = |v: f64| decimal(v, 3);
    let max = |m: Option<f64>| m.map_or(String::new(), |m| format!(", max {}", n(m)));
    let list = |v: &[f64]| v.iter().map(|x| n(*x)).collect::<Vec<_>>().join(", ");
    match d {
        Dist::Constant(x) => n(*x),
        Dist::Uniform { min, max } => format!("uniform {}–{}", n(*min), n(*max)),
        Dist::Choice(v) => format!("one of {}", list(v)),
        Dist::Weighted { values, weights } => {
            format!("one of {} (weights {})", list(values), list(weights))
        }
        Dist::Exponential { mean } => format!("exponential, mean {}", n(*mean)),
        Dist::Lognormal {
            median,
            sigma,
            max: m,
        } => {
            format!(
                "log-normal, median {}, σ {}{}",
                n(*median),
                n(*sigma),
                max(*m)
            )
        }
        Dist::Pareto {
            scale,
            shape,
            max: m,
        } => {
            format!(
                "Pareto, scale {}, shape {}{}",
                n(*scale),
                n(*shape),
                max(*m)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_read_in_brief() {
        let d = Dist::Lognormal {
            median: 25.0,
            sigma: 0.6,
            max: Some(120.0),
        };
        assert_eq!(dist(&d), "log-normal, median 25, σ 0.6, max 120");
        assert_eq!(dist(&Dist::Constant(4096.0)), "4096");
        assert_eq!(dist(&Dist::Choice(vec![1.0, 2.5])), "one of 1, 2.5");
    }
}
