//! `pending.csv`: every task still pending at the end, and why.
//!
//! The reasons are those of the last failed attempt for the task's job (all
//! tasks of a job are identical, so they share it): per filter reason, how
//! many machines were rejected for it. A task that no machine could host even
//! empty (`never_schedulable`) is never attempted; its reasons are every
//! machine, empty and at full capacity, under the first check it fails
//! ([`NeverFit`]; machines down at the end count as `machine_down`), and its
//! `why` names the constraint or the resource. That is evaluated once per
//! (request, constraints), however many tasks share them, and once per group
//! of identical machines ([`MachineGroups`]).
//!
//! A trace replay's rows name the trace's job: `job_id` is its key in the
//! trace (a trace job may reach the cell as several borgsim jobs). Tasks the
//! workload submitted but holds outside the cell (waiting for a DAG parent)
//! are pending too: they follow the cell's rows, with status `held`, no
//! `task_id` (they have no borgsim id yet), the trace's label of the task
//! as `trace_task` (`R2_1.0`) and the reason as `why`
//! (`waiting_for_dependency M1`). A replay's cell rows also carry the
//! trace's label (`trace_task`: the instance index, after the stage if any).

use crate::cell::attrs::Constraint;
use crate::cell::resources::Request;
use crate::cell::state::TaskState;
use crate::sched::reason::{MachineGroups, NeverFit, Reason, ReasonCounts};
use crate::sim::Simulation;
use rustc_hash::FxHashMap;

pub fn header() -> Vec<String> {
    let mut h: Vec<String> = [
        "task_id",
        "trace_task",
        "job_id",
        "job_name",
        "band",
        "priority",
        "cpu_milli",
        "mem_mib",
        "gpu_milli",
        "pending_since_s",
        "evictions",
        "status",
        "last_attempt_s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(Reason::ALL.iter().map(|r| r.key().to_string()));
    h.push("why".into());
    h
}

/// Rows for the still-pending tasks, in task-id order, then the held ones
/// in the order they were held.
pub fn rows(sim: &Simulation) -> Vec<Vec<String>> {
    let mut rows = cell_rows(sim);
    rows.extend(held_rows(sim));
    rows
}

fn held_rows(sim: &Simulation) -> Vec<Vec<String>> {
    sim.feed()
        .held_tasks()
        .into_iter()
        .map(|h| {
            let req = h.request;
            let mut row = vec![
                String::new(),
                h.task,
                h.job_id.to_string(),
                h.job_name,
                crate::workload::Band::of(h.priority).name().to_string(),
                h.priority.to_string(),
                req.res.cpu_milli.to_string(),
                req.res.mem_mib.to_string(),
                req.gpu.milli().to_string(),
                format!("{}", h.since).trim_end_matches('s').to_string(),
                "0".into(),
                "held".into(),
                String::new(),
            ];
            row.extend(Reason::ALL.iter().map(|_| "0".to_string()));
            row.push(h.reason);
            row
        })
        .collect()
}

fn cell_rows(sim: &Simulation) -> Vec<Vec<String>> {
    let st = sim.state();
    let machines = st.cell().len();
    let secs = |us: u64| {
        format!("{}", crate::time::SimTime(us))
            .trim_end_matches('s')
            .to_string()
    };
    // Looked up, never iterated; the groups are built at the first
    // never-schedulable task.
    let mut never: FxHashMap<(Request, &[Constraint]), (ReasonCounts, String)> =
        FxHashMap::default();
    let mut groups: Option<MachineGroups> = None;
    st.live_tasks()
        .filter(|(_, r)| r.state == TaskState::Pending)
        .map(|(t, r)| {
            let job = st.job(r.job);
            let req = job.spec.request;
            let why = sim.scheduler().why_pending(job.id);
            let (status, attempt, counts, text) = match (job.ever_schedulable, why) {
                (false, _) => {
                    let (counts, text) =
                        never
                            .entry((req, &job.spec.constraints))
                            .or_insert_with(|| {
                                let groups = groups.get_or_insert_with(|| MachineGroups::of(st));
                                let nf =
                                    NeverFit::of(st.cell(), groups, &req, &job.spec.constraints);
                                (nf.counts.clone(), nf.describe(&st.cell().attr_table))
                            });
                    (
                        "never_schedulable",
                        String::new(),
                        Some(&*counts),
                        text.clone(),
                    )
                }
                (true, None) if !sim.options().passes => (
                    "awaiting_trace_placement",
                    String::new(),
                    None,
                    "trace-placement mode: no SCHEDULE of the trace has placed it since it \
                     became pending (one that did not fit is counted in summary.json as \
                     trace.replay.schedule_does_not_fit)"
                        .into(),
                ),
                (true, None) => (
                    "not_attempted",
                    String::new(),
                    None,
                    "no scheduling pass since it became pending".into(),
                ),
                (true, Some(w)) => (
                    "unschedulable",
                    secs(w.attempt_us),
                    Some(&w.counts),
                    w.counts.describe(machines),
                ),
            };
            let mut row = vec![
                t.to_string(),
                sim.feed().trace_task(t).unwrap_or_default(),
                job.trace_job.map_or(u64::from(job.id), |k| k).to_string(),
                job.spec.name.to_string(),
                job.band().name().to_string(),
                job.priority().to_string(),
                req.res.cpu_milli.to_string(),
                req.res.mem_mib.to_string(),
                req.gpu.milli().to_string(),
                secs(r.pending_since.as_us()),
                r.evictions.to_string(),
                status.to_string(),
                attempt,
            ];
            row.extend(
                Reason::ALL
                    .iter()
                    .map(|x| counts.map_or(0, |c| c.get(*x)).to_string()),
            );
            row.push(text);
            row
        })
        .collect()
}
