//! The injected faults, inside "Failures and availability": per kind how
//! many struck, the tasks they evicted and how long the cell took to run
//! them all again (summary.json's `faults`, each cell carrying its key);
//! the reschedule queue the rate limit kept; the maintenance drain; and
//! from the faults' own rows (what failures.csv writes, kept in memory by
//! the run) the slowest recoveries and the largest losses of one prod job.
//! A run without a `[faults]` table shows nothing here.

use crate::faults::recovery::{FaultKind, Row};
use crate::report::html::{at, count, decimal, value_cell, Unit};
use crate::report::run::RunView;
use maud::{html, Markup};
use std::cmp::Reverse;

/// Rows of each of the two lists of single faults.
const TOP: usize = 5;

/// The faults' tables, or `None` when the run injected none.
pub fn faults(v: &RunView) -> Option<Markup> {
    let f = v.sim.faults()?;
    at(&v.summary, "faults")?;
    let rows = f.rows();
    Some(html! {
        h3 { "Fault recoveries" }
        p {
            "Each fault of the scenario's " code { "[faults]" } " table, by kind (each maintenance step is one fault; "
            "an unreachable machine is one, evicting tasks only if it stayed out of contact past the grace period). "
            "A fault's time to recover runs from when it struck until all the tasks it evicted run again "
            "(or ended otherwise); faults that evicted nothing recover at once and are left out of the percentiles "
            "(nearest rank). Unrecovered: some of its tasks were still not running at the end. "
            "Every fault, one row each, is in " a href="failures.csv" { "failures.csv" } "."
        }
        (by_kind(v))
        (queue(v))
        (maintenance(v))
        (slowest(&rows))
        (largest(&rows))
    })
}

/// summary.json's `faults.by_kind` and `faults.all`.
fn by_kind(v: &RunView) -> Markup {
    let row = |key: &str, label: &str| {
        let cell = |what: &str, unit| value_cell(&v.summary, &format!("{key}.{what}"), unit);
        html! { tr {
            td { (label) }
            (cell("count", Unit::Count)) (cell("with_evictions", Unit::Count)) (cell("tasks_evicted", Unit::Count))
            (cell("recover_us_p50", Unit::Micros)) (cell("recover_us_p90", Unit::Micros)) (cell("recover_us_max", Unit::Micros))
            (cell("unrecovered", Unit::Count))
        } }
    };
    html! {
        table id="faults-by-kind" {
            thead { tr {
                th { "kind" } th.num { "faults" } th.num { "that evicted" } th.num { "tasks evicted" }
                th.num { "recover, median" } th.num { "recover, 90th pct" } th.num { "recover, longest" } th.num { "unrecovered" }
            } }
            tbody {
                @for k in FaultKind::ALL {
                    (row(&format!("faults.by_kind.{}", k.name()), k.name()))
                }
                (row("faults.all", "all"))
            }
        }
    }
}

/// summary.json's `faults.reschedule_queue` and `faults.task_crashes`.
fn queue(v: &RunView) -> Markup {
    let cell = |key: &str, unit| value_cell(&v.summary, &format!("faults.{key}"), unit);
    html! {
        p {
            "The reschedule queue: tasks a fault evicted beyond the rate limit wait there, pending but not yet offered "
            "to the scheduler, and are released at the start of the next windows, oldest first."
        }
        table id="faults-queue" { tbody {
            tr { td { "most tasks queued at once" } (cell("reschedule_queue.max_queued", Unit::Count)) }
            tr { td { "tasks that waited in the queue" } (cell("reschedule_queue.tasks_delayed", Unit::Count)) }
            tr { td { "their waits, summed" } (cell("reschedule_queue.delay_us_total", Unit::Micros)) }
            tr { td { "still queued at the end" } (cell("reschedule_queue.queued_at_end", Unit::Count)) }
            tr { td { "task crashes (restarted by their job)" } (cell("task_crashes", Unit::Count)) }
        } }
    }
}

/// summary.json's `faults.maintenance`, if the scenario drains.
fn maintenance(v: &RunView) -> Markup {
    if at(&v.summary, "faults.maintenance").is_none_or(serde_json::Value::is_null) {
        return html! {};
    }
    let cell = |key: &str, unit| value_cell(&v.summary, &format!("faults.maintenance.{key}"), unit);
    let finished = at(&v.summary, "faults.maintenance.finished_s").is_some_and(|x| !x.is_null());
    html! {
        table id="faults-maintenance" { tbody {
            tr { td { "machines in the drain" } (cell("machines", Unit::Count)) }
            tr { td { "drained and back" } (cell("drained", Unit::Count)) }
            tr { td { "finished at" } (cell("finished_s", Unit::Seconds)) }
            tr { td { @if finished { "took" } @else { "ran, unfinished at the end, for" } } (cell("drain_s", Unit::Seconds)) }
        } }
    }
}

/// A fault's place as people read it.
fn place(r: &Row) -> String {
    format!("{} {}", r.level, r.domain)
}

/// A time in µs as seconds.
fn secs(us: u64) -> String {
    format!("{} s", decimal(us as f64 / 1e6, 3))
}

/// The faults whose tasks took longest to run again, unrecovered first.
fn slowest(rows: &[Row]) -> Markup {
    let mut r: Vec<&Row> = rows.iter().filter(|r| r.tasks_evicted > 0).collect();
    r.sort_by_key(|r| (Reverse(r.recover_us.unwrap_or(u64::MAX)), r.time_us));
    r.truncate(TOP);
    if r.is_empty() {
        return html! { p.empty-plot { "No fault evicted a task." } };
    }
    html! {
        h4 { "Slowest recoveries" }
        table id="faults-slowest" {
            thead { tr { th.num { "at" } th { "kind" } th { "where" } th.num { "tasks evicted" } th.num { "time to recover" } } }
            tbody { @for x in r { tr {
                td.num { (secs(x.time_us)) } td { (x.kind) } td { (place(x)) }
                td.num { (count(u64::from(x.tasks_evicted))) }
                td.num { @match x.recover_us { Some(us) => (secs(us)), None => "not by the end" } }
            } } }
        }
    }
}

/// The faults that took the most tasks of one prod job.
fn largest(rows: &[Row]) -> Markup {
    let mut r: Vec<&Row> = rows.iter().filter(|r| r.max_prod_job_tasks > 0).collect();
    // Most of one prod job first; among equals, the fault that evicted
    // most in all (a rack outage taking one task of each job before a
    // machine failure taking one).
    r.sort_by_key(|r| {
        (
            Reverse(r.max_prod_job_tasks),
            Reverse(r.tasks_evicted),
            r.time_us,
        )
    });
    r.truncate(TOP);
    if r.is_empty() {
        return html! { p.empty-plot { "No fault evicted a prod task." } };
    }
    html! {
        h4 { "Largest losses of one prod job" }
        p { "The most tasks of a single prod job one fault evicted (" code { "max_prod_job_tasks" } "), and the largest share of one prod job's tasks (" code { "max_prod_job_share_bp" } "): what spreading a job across failure domains bounds." }
        table id="faults-largest" {
            thead { tr { th.num { "at" } th { "kind" } th { "where" } th.num { "machines" } th.num { "tasks of one prod job" } th.num { "largest share of a prod job" } th.num { "of any job" } th.num { "tasks evicted" } } }
            tbody { @for x in r { tr {
                td.num { (secs(x.time_us)) } td { (x.kind) } td { (place(x)) }
                td.num { (count(u64::from(x.machines))) }
                td.num { (count(u64::from(x.max_prod_job_tasks))) }
                td.num { (format!("{:.1} %", f64::from(x.max_prod_job_share_bp) / 100.0)) }
                td.num { (count(u64::from(x.max_job_tasks))) }
                td.num { (count(u64::from(x.tasks_evicted))) }
            } } }
        }
    }
}
