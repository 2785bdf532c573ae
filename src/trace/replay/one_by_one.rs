//! The openb paper's arrival protocol (Weng et al., ATC 2023, and its
//! public simulator): the trace's tasks, shuffled with the run's seed, then
//! tasks drawn from them uniformly with replacement until the total GPU
//! demand of everything that arrived reaches `pct` % of the cell's GPU
//! capacity — or, if the list alone exceeds it, tasks drawn uniformly
//! removed until it does not (the paper's tuning down) (the whole cell's, when the replay runs on some of its
//! machines: the workload does not depend on the machines simulated). One task arrives per simulated second (machines at time 0,
//! tasks from 1 s on), none ever leaves, and one that fits nowhere in the
//! pass after its arrival is dropped (the driver's `drop_unplaced`).
//!
//! The trace's times, durations, qos and phases are not used, as in the
//! paper; nor is its usage, which is measured at the trace's times
//! (counted as `usage_ignored`). Unlike [`super::StreamFeed`] this keeps the whole task list in
//! memory: the protocol shuffles it, and the lists it is meant for are small
//! (the default openb list has 8,152 pods).
//!
//! Each arrival is a job of its own (drawn copies are new pods), counted in
//! `jobs_submitted` when it arrives and named in outputs by its trace key.
//! DAG dependencies (`after`, for traces that have them) hold as in
//! `replay/dag.rs`: a task whose stage's parents have arrived and not all
//! ended — here, since tasks never leave, not all been dropped — is held
//! outside the cell and listed as pending; the trace ends with the last
//! arrival, releasing the tasks held for stages that never arrived.

use super::dag::Dag;
use super::{job_spec, Context};
use crate::cell::state::CellState;
use crate::error::{Error, Result};
use crate::rng::SimRng;
use crate::sim::feed::{Effects, Feed, FeedReport, HeldTask, ReplayKind};
use crate::time::SimTime;
use crate::trace::{ReadStats, TaskKey, TraceEvent, TraceReader, TraceTask};
use crate::workload::TaskId;
use rand::Rng;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::path::Path;

/// The paper's tuning down, for a list whose GPU demand already exceeds
/// the target: remove uniformly drawn tasks of the (shuffled) list until
/// the demand is at most `target` milli-GPU. True if it removed any.
fn tune_down(tasks: &mut Vec<TraceTask>, demand: &mut u64, target: u64, rng: &mut SimRng) -> bool {
    let above = *demand > target;
    while *demand > target && !tasks.is_empty() {
        let t = tasks.remove(rng.random_range(0..tasks.len()));
        *demand -= t.request.gpu.milli();
    }
    above
}

/// The most arrivals a one-by-one replay holds (the list and its drawn
/// copies are kept in memory; the paper's 130 % on openb's default list is
/// about 11,000).
pub const MAX_ARRIVALS: u64 = 5_000_000;

/// Refuses a top-up that would draw more than [`MAX_ARRIVALS`] pods in
/// all: `(target − demand)` milli-GPU more, at the list's mean GPU request
/// (Σ milli / pods), before anything is drawn (u128: no product of
/// unchecked values can wrap).
fn check_draws(base: &[TraceTask], demand: u64, target: u64, pct: u32, list: &Path) -> Result<()> {
    let milli: u128 = base.iter().map(|t| u128::from(t.request.gpu.milli())).sum();
    let missing = u128::from(target.saturating_sub(demand));
    let n = base.len() as u128;
    let draws = (missing * n).div_ceil(milli.max(1));
    if n + draws > u128::from(MAX_ARRIVALS) {
        return Err(Error::Invalid {
            path: list.to_path_buf(),
            key: "trace.inflate_gpu_demand_pct".into(),
            message: format!(
                "reaching {pct} % of the cell's GPU capacity would draw about {draws} pods \
                 (their mean GPU request is {} milli), more than the {MAX_ARRIVALS} arrivals \
                 a one-by-one replay holds",
                milli / n.max(1)
            ),
        });
    }
    Ok(())
}

/// Tasks arriving one by one, never leaving.
pub struct OneByOneFeed {
    machines: Vec<TraceEvent>,
    tasks: Vec<TraceTask>,
    /// The trace's own pods (shuffled, before tuning down): what the
    /// typical pods are counted on.
    listed: Vec<TraceTask>,
    next: usize,
    machines_applied: bool,
    ctx: Context,
    stats: ReadStats,
    counts: BTreeMap<&'static str, u64>,
    dag: Dag<()>,
    key_of: FxHashMap<TaskId, TaskKey>,
    /// Tasks done since the driver last reclaimed slots
    /// ([`Feed::forget_done`]): the event log names them after the event
    /// that ended them.
    done_keys: FxHashMap<TaskId, TaskKey>,
}

/// Refuses a pod list the protocol cannot replay: no pods at all, or no
/// GPU demand (no draws could ever bring it to `pct` % of GPU capacity).
/// `list` names the pod list in the error.
fn check_pods(base: &[TraceTask], pct: u32, list: &Path) -> Result<()> {
    let bad = |key: &str, message: String| {
        Err(Error::Invalid {
            path: list.to_path_buf(),
            key: key.into(),
            message,
        })
    };
    if base.is_empty() {
        return bad(
            "trace.files",
            "the pod list has no pods: the one-by-one protocol replays a pod list".into(),
        );
    }
    if base.iter().all(|t| t.request.gpu.milli() == 0) {
        return bad(
            "trace.inflate_gpu_demand_pct",
            format!(
                "the pod list asks for no GPU: its GPU demand can never reach {pct} % of the cell's GPU capacity"
            ),
        );
    }
    Ok(())
}

impl OneByOneFeed {
    /// The protocol over the pods `reader` gives (`list` names them in
    /// errors), on a cell of `gpu_capacity_milli` (> 0) to `pct` % of it.
    ///
    /// # Errors
    /// The trace cannot be read; it has no pods, or none asks for a GPU.
    pub(crate) fn new(
        mut reader: Box<dyn TraceReader>,
        gpu_capacity_milli: u64,
        pct: u32,
        mut rng: SimRng,
        ctx: Context,
        list: &Path,
    ) -> Result<Self> {
        let mut machines = Vec::new();
        let mut base = Vec::new();
        let mut counts = BTreeMap::new();
        while let Some(rec) = reader.next_record()? {
            match rec.event {
                TraceEvent::Submit(t) => base.push(*t),
                ev @ (TraceEvent::MachineAdd(_) | TraceEvent::MachineUpdate(_))
                    if rec.time == SimTime::ZERO =>
                {
                    machines.push(ev)
                }
                TraceEvent::Usage { .. } => *counts.entry("usage_ignored").or_default() += 1,
                _ => *counts.entry("event_ignored").or_default() += 1,
            }
        }
        check_pods(&base, pct, list)?;
        // Fisher–Yates with the workload stream.
        for i in (1..base.len()).rev() {
            let j = rng.random_range(0..=i);
            base.swap(i, j);
        }
        let target = gpu_capacity_milli * u64::from(pct) / 100;
        let mut demand: u64 = base.iter().map(|t| t.request.gpu.milli()).sum();
        let listed = base.clone();
        let tuned_down = tune_down(&mut base, &mut demand, target, &mut rng);
        if !tuned_down {
            check_draws(&base, demand, target, pct, list)?;
        }
        let mut tasks = base.clone();
        // Either tuned down or topped up, never both (as the paper).
        let gpu_tasks = !tuned_down && base.iter().any(|t| t.request.gpu.milli() > 0);
        while demand < target && gpu_tasks {
            let t = &base[rng.random_range(0..base.len())];
            demand += t.request.gpu.milli();
            tasks.push(t.clone());
        }
        counts.insert("tasks_from_trace", base.len() as u64);
        counts.insert("tasks_drawn", (tasks.len() - base.len()) as u64);
        Ok(OneByOneFeed {
            machines,
            listed,
            tasks,
            next: 0,
            machines_applied: false,
            ctx,
            stats: reader.stats().clone(),
            counts,
            dag: Dag::default(),
            key_of: FxHashMap::default(),
            done_keys: FxHashMap::default(),
        })
    }

    /// Admits an arrival to the cell.
    fn submit(&mut self, now: SimTime, t: &TraceTask, st: &mut CellState, fx: &mut Effects) {
        let spec = job_spec(t, vec![None], st.attr_table_mut(), &mut self.counts);
        let job = st.submit_part(now, spec, t.key.job, false);
        self.key_of.insert(st.job(job).tasks[0], t.key);
        fx.changed = true;
    }

    /// When task `i` arrives: 1 s, 2 s, …
    fn time_of(i: usize) -> SimTime {
        SimTime::from_secs(i as u64 + 1)
    }
}

impl Feed for OneByOneFeed {
    /// The trace's own pods, not the copies drawn to top them up.
    fn typical_pods(
        &mut self,
        st: &mut CellState,
    ) -> Result<Option<crate::sched::typical::TypicalPods>> {
        let mut scratch = BTreeMap::new();
        let specs: Vec<_> = self
            .listed
            .iter()
            .map(|t| job_spec(t, vec![None], st.attr_table_mut(), &mut scratch))
            .collect();
        let shapes = specs.iter().map(|s| (s.request, &s.constraints[..]));
        Ok(Some(crate::sched::typical::TypicalPods::from_tasks(
            crate::sched::typical::TypicalSource::PodList,
            shapes,
        )))
    }

    fn next_time(&mut self) -> Result<Option<SimTime>> {
        if !self.machines_applied {
            return Ok(Some(SimTime::ZERO));
        }
        Ok((self.next < self.tasks.len()).then(|| Self::time_of(self.next)))
    }

    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()> {
        if !self.machines_applied {
            for ev in &self.machines {
                self.ctx.apply_machine(now, st, ev);
            }
            self.machines_applied = true;
        }
        while self.next < self.tasks.len() && Self::time_of(self.next) == now {
            let t = self.tasks[self.next].clone();
            self.next += 1;
            st.count_workload_job();
            self.dag.submitted(&t);
            match self.dag.unmet(&t) {
                Some(on) => {
                    *self.counts.entry("held_for_dependencies").or_default() += 1;
                    self.dag.hold(t, now, on, ());
                }
                None => self.submit(now, &t, st, fx),
            }
        }
        if self.next == self.tasks.len() && !self.dag.is_over() {
            for h in self.dag.trace_over() {
                self.submit(now, &h.task, st, fx);
            }
        }
        Ok(())
    }

    fn task_done(&mut self, now: SimTime, task: TaskId, st: &mut CellState, fx: &mut Effects) {
        let Some(key) = self.key_of.remove(&task) else {
            return;
        };
        self.done_keys.insert(task, key);
        for h in self.dag.done(key) {
            self.submit(now, &h.task, st, fx);
        }
    }

    fn held_tasks(&self) -> Vec<HeldTask> {
        self.dag.held_tasks()
    }

    fn trace_task(&self, task: TaskId) -> Option<String> {
        let key = self.key_of.get(&task);
        key.or_else(|| self.done_keys.get(&task))
            .map(super::dag::key_label)
    }

    fn forget_done(&mut self) {
        if !self.done_keys.is_empty() {
            self.done_keys.clear();
        }
    }

    fn held_count(&self) -> u64 {
        self.dag.held_count()
    }

    fn report(&self) -> Option<FeedReport> {
        Some(FeedReport {
            format: self.ctx.format,
            mode: ReplayKind::OneByOne,
            trace_rows: self.stats.rows,
            submissions_read: self.counts.get("tasks_from_trace").copied().unwrap_or(0),
            trace_rows_skipped: self.stats.skipped.clone(),
            trace_rows_repaired: self.stats.repaired.clone(),
            replay: {
                let mut replay = self.counts.clone();
                for (rule, n) in [
                    ("dependency_never_submitted", self.dag.never_submitted),
                    ("dependency_instances_missing", self.dag.instances_missing),
                    ("dependency_on_independent_stage", self.dag.on_independent),
                ] {
                    if n > 0 {
                        replay.insert(rule, n);
                    }
                }
                replay
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RngStreams, Stream};
    use crate::sched::{Policy, SchedConfig};
    use crate::sim::{SimOptions, Simulation};
    use crate::testkit::cell;
    use crate::trace::replay::testing::{task, Records};
    use crate::trace::TraceRecord;

    /// Job 7's M1 (`m1_cpu` milli-cores) and R2_1 (after stage 1), one by
    /// one on a 4-core machine, in the order the seed shuffles them.
    fn one_by_one(m1_cpu: u64, seed: u64) -> Simulation {
        let mut m1 = task(7, 1, 0, m1_cpu, &[], None);
        m1.task_name = Some("M1".into());
        // One GPU for the one GPU of the cell: demand 100 %, none drawn.
        m1.request.gpu = crate::cell::resources::GpuRequest::Whole(1);
        let r2 = task(7, 2, 0, 1000, &[1], None);
        let records = [m1, r2]
            .into_iter()
            .map(|t| TraceRecord {
                time: SimTime::ZERO,
                event: TraceEvent::Submit(Box::new(t)),
            })
            .collect();
        let st = cell(&[(4000, 65536, 1)]);
        let ctx = Context {
            machine_ids: Default::default(),
            excluded: Default::default(),
            racks: Vec::new(),
            use_trace_machines: false,
            format: "test",
        };
        let rng = RngStreams::new(seed).stream(Stream::Workload);
        let feed = OneByOneFeed::new(
            Box::new(Records::new(records)),
            st.cell().total_capacity().gpu_milli(),
            100,
            rng,
            ctx,
            Path::new("pods.csv"),
        )
        .unwrap();
        let mut opts = SimOptions::new(SimTime::NEVER, SchedConfig::new(Policy::BestFit, false), 1);
        opts.drop_unplaced = true;
        let mut sim = Simulation::with_feed(st, Box::new(feed), opts);
        while sim.step() {
            crate::cell::invariants::check(sim.state()).unwrap();
        }
        sim
    }

    #[test]
    fn a_list_above_the_target_is_tuned_down_by_random_removals() {
        // Five 1-GPU tasks (5000 milli) for a target of 3500: two are
        // removed (5000 → 4000 → 3000 ≤ 3500); a list at or below the
        // target loses none and draws nothing.
        let gpu = |i| {
            let mut t = task(i, 0, 0, 1000, &[], None);
            t.request.gpu = crate::cell::resources::GpuRequest::Whole(1);
            t
        };
        let mut tasks: Vec<_> = (0..5).map(gpu).collect();
        let mut demand = 5000;
        let mut rng = RngStreams::new(1).stream(Stream::Workload);
        assert!(tune_down(&mut tasks, &mut demand, 3500, &mut rng));
        assert_eq!((tasks.len(), demand), (3, 3000));
        assert!(!tune_down(&mut tasks, &mut demand, 3000, &mut rng));
        assert_eq!(tasks.len(), 3);
    }

    #[test]
    fn a_top_up_beyond_the_arrival_cap_is_refused_before_drawing() {
        // Two pods of 1 milli-GPU each (demand 2, mean 1): reaching
        // 6,000,000 milli draws (6,000,000 − 2) × 2 / 2 = 5,999,998 more,
        // 6,000,000 arrivals > 5,000,000: refused, naming the key. To
        // 4,000,000: 3,999,998 more, 4,000,000 in all: accepted.
        let share = |i| {
            let mut t = task(i, 0, 0, 1000, &[], None);
            t.request.gpu = crate::cell::resources::GpuRequest::Share(1);
            t
        };
        let base = [share(1), share(2)];
        let list = Path::new("pods.csv");
        let e = check_draws(&base, 2, 6_000_000, 1000, list).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("trace.inflate_gpu_demand_pct"), "{msg}");
        assert!(msg.contains("about 5999998 pods"), "{msg}");
        check_draws(&base, 2, 4_000_000, 1000, list).unwrap();
    }

    #[test]
    fn a_pod_list_without_pods_or_gpu_demand_is_refused() {
        let list = Path::new("pods.csv");
        let e = check_pods(&[], 130, list).unwrap_err().to_string();
        assert!(
            e.contains("pods.csv: trace.files: the pod list has no pods"),
            "{e}"
        );
        let cpu = [task(1, 0, 0, 1000, &[], None)];
        let e = check_pods(&cpu, 130, list).unwrap_err().to_string();
        assert!(
            e.contains("trace.inflate_gpu_demand_pct: the pod list asks for no GPU"),
            "{e}"
        );
    }

    #[test]
    fn a_child_waits_for_a_parent_that_never_leaves_in_either_order() {
        // Tasks never leave under this protocol, so R2_1 is held to the
        // end, listed as pending, whichever of the two arrives first.
        let mut orders = std::collections::BTreeSet::new();
        for seed in 1..=8 {
            let sim = one_by_one(1000, seed);
            let held = sim.feed().held_tasks();
            assert_eq!(held.len(), 1, "seed {seed}");
            assert_eq!(held[0].task, "2.0");
            assert_eq!(held[0].reason, "waiting_for_dependency M1");
            orders.insert(held[0].since);
            let l = sim.state().ledger();
            assert_eq!(
                (l.jobs_submitted, l.tasks_started),
                (2, 1),
                "two arrivals, one admitted"
            );
        }
        assert_eq!(orders.len(), 2, "both arrival orders were tried");
    }

    #[test]
    fn a_dropped_parent_releases_its_child() {
        // M1 asks for 5 cores of 4: dropped after its pass, which is done
        // for stage 1; R2_1 then runs.
        for seed in 1..=4 {
            let sim = one_by_one(5000, seed);
            assert!(sim.feed().held_tasks().is_empty());
            let l = sim.state().ledger();
            assert_eq!((l.tasks_killed, l.tasks_started), (1, 1), "seed {seed}");
        }
    }
}
