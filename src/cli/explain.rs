//! `borgsim explain SCENARIO --task JOB/INDEX [--at T]`: what every filter
//! and scorer said about one task on every machine, the machine chosen and
//! why, and what preemption considered.
//!
//! It simulates as `run` does — the same scenario, seed and overrides — but
//! watches the task ([`borgsim::sim::Simulation::watch`]): the first pass
//! that decides for it (or, with `--at`, the last at or before T) is
//! explained on the cell as it stood just before the decision, by the
//! scheduler's own pipeline ([`borgsim::sched::explain`]). The pass's real
//! decision is recorded beside the explanation; if the two ever differed
//! that would be a bug in borgsim, reported as such (exit code 1), never
//! shown as an explanation. Nothing is written to disk.
//!
//! A task is named as outputs name it: job ids are reused once a job is
//! reclaimed, so `JOB` is the job's name (`pending.csv`'s `job_name`) with
//! the task's index in it (`task_index`), or in a trace replay the trace
//! job's key (`job_id`) with the trace's label of the task (`trace_task`).

mod render;

use super::{check_estimate, run_scenario, LimitArgs, RunArgs};
use borgsim::cell::resources::Request;
use borgsim::cell::state::usage::backoff::OomHold;
use borgsim::error::Error;
use borgsim::scenario::Scenario;
use borgsim::sched::explain::{of_job, Attempt, Explanation, Keep, TaskRef, Watch};
use borgsim::sched::reason::NeverFit;
use borgsim::sched::Policy;
use borgsim::sim::queued::Queued;
use borgsim::sim::Simulation;
use borgsim::time::SimTime;
use borgsim::workload::{Band, Priority, TaskId};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The scenario TOML file, or a built-in scenario's name.
    pub scenario: PathBuf,
    /// The task, JOB/INDEX: a job's name and the task's index in it, as
    /// pending.csv's job_name and task_index show them (batch-17/0), or the
    /// job's submission serial, the event log's job_id (85/0); in a trace replay, the trace job's key and the trace's label of the task
    /// (pending.csv's job_id and trace_task: 6252/0).
    #[arg(long, value_name = "JOB/INDEX")]
    pub task: String,
    /// Explain the task's last attempt at or before T simulated seconds
    /// (seconds, or with a unit: 90s, 30m, 1.5h, 2d; or `end`) instead of its first; with
    /// no attempt by then, how the pipeline sees it on the cell at T.
    #[arg(long, value_name = "T", value_parser = parse_at)]
    pub at: Option<SimTime>,
    /// List every machine (default: the top machines by score, and the
    /// rejected ones grouped by filter and reason).
    #[arg(long)]
    pub all: bool,
    /// How many machines that fit to list by score (at least 1).
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = parse_top)]
    pub top: usize,
    /// Print JSON (every machine) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Override the scenario's root seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's placement policy (worst_fit, best_fit, hybrid, gpu_keep_whole, random, dot_product, gpu_clustering, gpu_packing, gpu_best_fit, fgd; see README, GPU policies).
    #[arg(long)]
    pub policy: Option<Policy>,
    /// Override the scenario's preemption switch.
    #[arg(long, value_name = "on|off", value_parser = super::parse_switch)]
    pub preemption: Option<bool>,
    /// Override the scenario's score caching switch.
    #[arg(long, value_name = "on|off", value_parser = super::parse_switch)]
    pub score_cache: Option<bool>,
    /// Override the scenario's equivalence classes switch.
    #[arg(long, value_name = "on|off", value_parser = super::parse_switch)]
    pub equivalence_classes: Option<bool>,
    /// Override the scenario's relaxed randomization switch.
    #[arg(long, value_name = "on|off", value_parser = super::parse_switch)]
    pub relaxed_randomization: Option<bool>,
    /// Trace replays: skip bad trace rows instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--top K`: a whole number, at least 1.
fn parse_top(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&k| k >= 1)
        .ok_or_else(|| format!("expected a whole number of machines, at least 1, got {s:?}"))
}

/// `--at`: `end`, or a time as `--snapshot-at` takes it (seconds, or
/// with a unit: `600`, `12.5`, `90s`, `30m`, `1.5h`, `2d`), exactly.
fn parse_at(s: &str) -> Result<SimTime, String> {
    if s == "end" {
        return Ok(SimTime::NEVER);
    }
    super::observe::parse_sim_time(s).map_err(|e| format!("{e}, or end"))
}

/// What is known of the explained task's job (kept when first seen: the
/// job may be reclaimed before the run stops).
pub(crate) struct JobFacts {
    pub serial: u64,
    pub task: TaskId,
    pub band: Band,
    pub priority: Priority,
    pub request: Request,
    pub tasks: u32,
    /// Why no machine could ever host it, if none could: on the cell as
    /// it stands when the run stops (machines down then count as
    /// `machine_down`, as in `pending.csv`).
    pub never: Option<String>,
}

/// Where the task stood when the run stopped.
pub(crate) enum Standing {
    Pending {
        since: SimTime,
        evictions: u32,
        /// Held back by the reschedule rate limit: where it stands in the
        /// queue no pass scans.
        queued: Option<Queued>,
        /// Held back after out-of-memory kills (reclamation on).
        oom_hold: Option<OomHold>,
    },
    Running {
        machine: u32,
        since: SimTime,
    },
    /// Finished or withdrawn (its slot may be reclaimed since).
    Ended,
    /// Held outside the cell by a trace replay, with the reason.
    Held(String),
}

/// Everything the output shows.
pub(crate) struct Report<'a> {
    pub sc: &'a Scenario,
    pub wanted: &'a TaskRef,
    pub at: Option<SimTime>,
    /// When the run stopped.
    pub now: SimTime,
    /// The run is over (else it stopped at `--at`, at its last event by then).
    pub done: bool,
    pub facts: Option<JobFacts>,
    pub standing: Standing,
    pub attempt: Option<&'a Attempt>,
    pub attempts: u64,
    /// With no attempt to show: the pipeline's view of the cell at T.
    pub hypothetical: Option<Explanation>,
    pub all: bool,
    pub top: usize,
}

pub fn main(args: ExplainArgs) -> Result<(), Error> {
    let run_args = RunArgs {
        scenario: Some(args.scenario.clone()),
        seed: args.seed,
        policy: args.policy,
        preemption: args.preemption,
        score_cache: args.score_cache,
        equivalence_classes: args.equivalence_classes,
        relaxed_randomization: args.relaxed_randomization,
        lenient: args.lenient,
        limits: args.limits,
        ..RunArgs::default()
    };
    let (sc, _) = run_scenario(&run_args)?;
    check_estimate(&sc, &args.scenario, &args.limits.resolve())?;
    if let Some(t) = args.at.filter(|&t| t != SimTime::NEVER && t > sc.horizon()) {
        return Err(Error::Invalid {
            path: args.scenario.clone(),
            key: "--at".into(),
            message: format!(
                "{} s is after the run's end at duration_s = {} s (--at end explains the \
                 last attempt)",
                seconds(t),
                seconds(sc.horizon())
            ),
        });
    }
    let invalid = |message: String| Error::Invalid {
        path: args.scenario.clone(),
        key: "--task".into(),
        message,
    };
    let wanted = TaskRef::parse(&args.task, sc.trace.is_some()).map_err(invalid)?;
    precheck(&sc, &wanted).map_err(invalid)?;
    let mut sim = borgsim::build_simulation(&sc, false)
        .map_err(|e| super::policy_from_flag(e, args.policy))?;
    let keep = if args.at.is_some() {
        Keep::Last
    } else {
        Keep::First
    };
    sim.watch(Watch::new(wanted.clone(), keep));
    let facts = simulate(&mut sim, args.at)?;
    let report = report(&sc, &sim, &wanted, facts, &args).map_err(invalid)?;
    if let Some(a) = report.attempt.filter(|a| !a.agrees()) {
        return Err(Error::Internal(format!(
            "the explained decision ({:?}) is not the pass's ({:?})",
            a.explanation.outcome, a.decided
        )));
    }
    let text = if args.json {
        render::json(&report)
    } else {
        render::text(&report)
    };
    super::say(text.trim_end());
    Ok(())
}

/// Refuses, before any simulating, a job that cannot exist: a synthetic
/// job whose name is not `<class>-<n>` for a class of the scenario, and a
/// replay that follows the trace's placements (it runs no passes).
fn precheck(sc: &Scenario, wanted: &TaskRef) -> Result<(), String> {
    if let Some(t) = &sc.trace {
        if t.mode == borgsim::scenario::ReplayMode::TracePlacement {
            return Err("this scenario replays the trace's own placements \
                 (trace.mode = \"trace_placement\"): no scheduling pass decides for any \
                 task, so there is nothing to explain"
                .into());
        }
        return Ok(());
    }
    let classes: Vec<&str> = sc.workload.jobs.iter().map(|c| c.name.as_str()).collect();
    let known = match wanted {
        TaskRef::Named {
            submission: Some(_),
            ..
        } => true,
        TaskRef::Named {
            split: Some((base, _)),
            ..
        } => classes.contains(&base.as_str()),
        _ => false,
    };
    if known {
        return Ok(());
    }
    Err(format!(
        "no job {}; jobs are named like {} (a job class of the scenario and the job's \
         serial in its class, from 0: pending.csv's job_name), or by their submission \
         serial (the event log's and snapshots' job_id, e.g. 0/0)",
        wanted.job(),
        names_like(&classes)
    ))
}

/// `web-0, db-0, batch-0`: the first job of each class (at most 4).
fn names_like(classes: &[&str]) -> String {
    let mut names: Vec<String> = classes.iter().take(4).map(|c| format!("{c}-0")).collect();
    if classes.len() > 4 {
        names.push("…".into());
    }
    names.join(", ")
}

/// Steps `sim` to the watched task's first attempt, or to `at`; returns
/// the task's job as it was first seen.
fn simulate(sim: &mut Simulation, at: Option<SimTime>) -> Result<Option<JobFacts>, Error> {
    let mut facts: Option<JobFacts> = None;
    loop {
        let watch = sim.watched().expect("watching");
        if facts.is_none() {
            facts = watch
                .target()
                .zip(watch.target_job())
                .map(|((_, t), job)| facts_of(sim, job, t));
        }
        let stop = match at {
            None => {
                watch.done()
                    || facts.as_ref().is_some_and(|f| f.never.is_some())
                    || no_such_index(watch).is_some()
            }
            Some(t) => sim.next_event_time().is_none_or(|next| next > t),
        };
        if stop || !sim.step() {
            break;
        }
    }
    sim.take_error()?;
    Ok(facts)
}

/// What explain says of task `t`'s job (as it was when found: its slot may
/// be another's by the time the run stops).
fn facts_of(sim: &Simulation, job: &borgsim::workload::Job, t: TaskId) -> JobFacts {
    let never = (!job.ever_schedulable).then(|| never_fit(sim, job));
    JobFacts {
        serial: job.serial,
        task: t,
        band: job.band(),
        priority: job.priority(),
        request: job.spec.request,
        tasks: job.task_count(),
        never,
    }
}

/// Why no machine of the cell as it stands could ever host `job`'s tasks.
fn never_fit(sim: &Simulation, job: &borgsim::workload::Job) -> String {
    let st = sim.state();
    let c = &job.spec.constraints;
    NeverFit::of_cell(st.cell(), |m| st.machine_up(m), &job.spec.request, c)
        .describe(&st.cell().attr_table)
}

/// What to show, once the run has stopped; an error naming what is wrong
/// with `--task` if the task was never found.
fn report<'a>(
    sc: &'a Scenario,
    sim: &'a Simulation,
    wanted: &'a TaskRef,
    facts: Option<JobFacts>,
    args: &ExplainArgs,
) -> Result<Report<'a>, String> {
    let st = sim.state();
    let watch = sim.watched().expect("watching");
    if let Some(e) = no_such_index(watch) {
        return Err(e);
    }
    let mut facts = match facts {
        Some(f) => Some(f),
        None => find_late(sim, wanted, args.at)?,
    };
    if let Some(f) = facts.as_mut().filter(|f| f.never.is_some()) {
        if of_job(st, f.serial, f.task) {
            f.never = Some(never_fit(sim, st.job_of(f.task)));
        }
    }
    let standing = match &facts {
        Some(f) => standing(sim, f),
        None => {
            Standing::Held(held_reason(sim, wanted).ok_or_else(|| not_found(sim, wanted, args.at))?)
        }
    };
    let attempt = watch.attempt();
    let hypothetical = match (&facts, attempt, &standing) {
        (Some(f), None, Standing::Pending { .. }) if f.never.is_none() => {
            Some(sim.scheduler().explain_every_machine(st, f.task))
        }
        _ => None,
    };
    Ok(Report {
        sc,
        wanted,
        at: args.at,
        now: sim.now(),
        done: sim.is_done(),
        facts,
        standing,
        attempt,
        attempts: watch.attempts(),
        hypothetical,
        all: args.all,
        top: args.top,
    })
}

/// The error for a named job seen with fewer tasks than the index asked.
fn no_such_index(watch: &Watch) -> Option<String> {
    let (Some(TaskRef::Named { index, .. }), Some(n)) = (watch.wanted(), watch.job_tasks()) else {
        return None;
    };
    (*index >= n).then(|| {
        format!(
            "job {} has {n} tasks (task_index 0 to {}), not {index}",
            watch.wanted().map(TaskRef::job).unwrap_or_default(),
            n.saturating_sub(1)
        )
    })
}

/// The task, if the run stopped before a pass found it pending (no pass
/// since it was submitted): among the live jobs. An error if its job has
/// no such index.
fn find_late(
    sim: &Simulation,
    wanted: &TaskRef,
    at: Option<SimTime>,
) -> Result<Option<JobFacts>, String> {
    let st = sim.state();
    let Some(job) = st.live_jobs().find(|j| wanted.job_matches(j)) else {
        return Ok(None);
    };
    let found = st
        .job_tasks(job.id)
        .iter()
        .copied()
        .find(|&t| wanted.matches(st, t, || sim.feed().trace_task(t)));
    match (found, wanted) {
        (Some(t), _) => Ok(Some(facts_of(sim, job, t))),
        (None, TaskRef::Named { index, .. }) => Err(format!(
            "job {} has {} tasks (task_index 0 to {}), not {index}",
            wanted.job(),
            job.task_count(),
            job.task_count().saturating_sub(1)
        )),
        (None, TaskRef::Trace { .. }) => Err(not_found(sim, wanted, at)),
    }
}

/// A trace task held outside the cell (waiting for a DAG parent), by
/// the feed's label of it: its reason.
fn held_reason(sim: &Simulation, wanted: &TaskRef) -> Option<String> {
    let TaskRef::Trace { job, task } = wanted else {
        return None;
    };
    sim.feed()
        .held_tasks()
        .into_iter()
        .find(|h| h.job_id == *job && h.task == *task)
        .map(|h| h.reason)
}

fn not_found(sim: &Simulation, wanted: &TaskRef, at: Option<SimTime>) -> String {
    let by = match at {
        Some(t) if t != SimTime::NEVER => format!(" by {} s", seconds(t)),
        _ => String::new(),
    };
    match wanted {
        TaskRef::Named { .. } if !by.is_empty() => format!(
            "no task {wanted} was submitted{by} (job {} comes later, or never: a job's serial \
             in its class counts from 0; pending.csv's job_name)",
            wanted.job()
        ),
        TaskRef::Named { .. } => format!(
            "no task {wanted} was submitted: job {} does not exist (a job's serial in its \
             class counts from 0; pending.csv's job_name)",
            wanted.job()
        ),
        TaskRef::Trace { .. } => {
            let keys: Vec<String> = sim
                .state()
                .live_jobs()
                .filter_map(|j| j.trace_job)
                .take(3)
                .map(|k| k.to_string())
                .collect();
            format!(
                "no task {wanted} was submitted{by}: no such trace job, or no task of it \
                 labelled so (trace jobs are named by their key, tasks by their label: \
                 pending.csv's job_id and trace_task; keys in this run: {}, …)",
                keys.join(", ")
            )
        }
    }
}

/// Where the task stands now: its slot, if still its job's.
fn standing(sim: &Simulation, f: &JobFacts) -> Standing {
    let st = sim.state();
    if !of_job(st, f.serial, f.task) {
        return Standing::Ended;
    }
    let rec = st.task(f.task);
    match rec.state {
        borgsim::cell::state::TaskState::Pending => Standing::Pending {
            since: rec.pending_since,
            evictions: rec.evictions,
            queued: sim.reschedule_queue().get(f.task),
            oom_hold: st.oom_hold(f.task, sim.now()),
        },
        borgsim::cell::state::TaskState::Running { machine, since, .. } => {
            Standing::Running { machine, since }
        }
        borgsim::cell::state::TaskState::Finished => Standing::Ended,
    }
}

/// A time as outputs show it: seconds to the microsecond (`12.000500`).
pub(crate) fn seconds(t: SimTime) -> String {
    format!("{t}").trim_end_matches('s').to_string()
}
