//! The mutable state of a cell: where every task is, and what every machine
//! has left. This is the only place that changes it.
//!
//! Each mutator takes `now`, integrates the time-weighted allocation up to
//! `now` before changing anything (so utilisation is exact, not sampled), and
//! asserts the invariants that the change could break:
//! - time never goes back;
//! - a machine's free resources never go negative (no machine over capacity);
//! - a task moves only along Pending → Running → (Pending | Finished), and is
//!   in exactly one of: the pending queue, one machine's task list, finished.
//!
//! The independent whole-state checker is in [`super::invariants`].
//! Machines coming and going are in `machines.rs`; reclaiming finished work
//! (so memory follows live jobs) is in `reclaim.rs`; the spread counters,
//! kept per workload job (a trace job submitted in parts included), in
//! `spread.rs`; where tasks failed, in `failures.rs`; usage, reservations
//! and what reclamation does with them, in `usage.rs` (only when a scenario
//! asks for it: one branch otherwise).

pub mod availability;
mod events;
pub mod failures;
mod held;
pub mod history;
mod machines;
mod reclaim;
mod records;
mod relax;
mod spread;
pub mod usage;

pub use events::{CellEvent, EventKind, MachineChange, TaskChange};
use records::lower;
pub use records::{EvictionCause, EvictionGroup, Ledger, Shape, TaskRecord, TaskState, FREE_SLOT};
pub use relax::Relaxation;
pub use spread::{level_index, level_of, Owner};

use super::pending::PendingQueue;
use super::resources::{GpuAlloc, GpuRequest, Resources};
use super::{Cell, MachineId};
use crate::time::{SimDuration, SimTime};
use crate::workload::{Band, Job, JobId, JobSpec, Priority, TaskId};
use rustc_hash::FxHashMap;

/// A machine's changing state.
#[derive(Clone, Debug)]
pub struct MachineState {
    pub free: Resources,
    /// Free milli-units per GPU device (1000 = idle device).
    pub gpu_free_milli: Vec<u32>,
    /// Running tasks, in no particular order.
    pub tasks: Vec<TaskId>,
    /// Resources allocated to running tasks, per priority, sorted by priority.
    by_priority: Vec<PriorityAlloc>,
}

/// The running tasks of one priority on a machine: how many, and what they
/// hold. The entry lives while it has tasks, whatever they hold: tasks that
/// request nothing (common in the Google traces) keep it too.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PriorityAlloc {
    pub priority: Priority,
    pub res: Resources,
    pub tasks: u32,
}

impl MachineState {
    /// GPU milli-units free over all the machine's devices.
    #[inline]
    pub fn gpu_free_total_milli(&self) -> u64 {
        self.gpu_free_milli.iter().map(|&f| u64::from(f)).sum()
    }

    /// CPU and memory held by running tasks with priority below `threshold`.
    pub fn allocated_below(&self, threshold: Priority) -> Resources {
        self.by_priority
            .iter()
            .take_while(|e| e.priority < threshold)
            .fold(Resources::ZERO, |acc, e| acc.add(&e.res))
    }

    fn add_priority(&mut self, p: Priority, r: &Resources) {
        match self.by_priority.binary_search_by_key(&p, |e| e.priority) {
            Ok(i) => {
                let e = &mut self.by_priority[i];
                e.res = e.res.add(r);
                e.tasks += 1;
            }
            Err(i) => self.by_priority.insert(
                i,
                PriorityAlloc {
                    priority: p,
                    res: *r,
                    tasks: 1,
                },
            ),
        }
    }

    fn sub_priority(&mut self, p: Priority, r: &Resources) {
        let i = self
            .by_priority
            .binary_search_by_key(&p, |e| e.priority)
            .expect("priority entry of a running task");
        let e = &mut self.by_priority[i];
        e.res = e.res.checked_sub(r).unwrap_or_else(|| {
            panic!(
                "count per-priority allocation would go below zero ({:?} - {r:?})",
                e.res
            )
        });
        lower(&mut e.tasks, 1, "per-priority running tasks");
        if e.tasks == 0 {
            assert_eq!(
                e.res,
                Resources::ZERO,
                "priority {p}: no tasks left but resources held"
            );
            self.by_priority.remove(i);
        }
    }

    pub(crate) fn by_priority(&self) -> &[PriorityAlloc] {
        &self.by_priority
    }
}

/// What completions and reclaiming read of a job (see `CellState::job_hot`).
#[derive(Copy, Clone, Debug)]
struct JobHot {
    /// Tasks not finished yet; at 0 the job is retired; `RECLAIMED` once
    /// its id is free (`reclaim.rs`).
    unfinished: u32,
    /// The job's shape, for reclaiming it.
    shape: u32,
    /// Its running tasks are kept in `spread_counts` (`spread.rs`).
    spread_counted: bool,
}

/// Everything about a cell that changes during a run.
pub struct CellState {
    cell: Cell,
    machines: Vec<MachineState>,
    jobs: Vec<Job>,
    tasks: Vec<TaskRecord>,
    pending: PendingQueue,
    /// Running tasks per (owner, level, domain), for counted jobs only (see
    /// `spread.rs`). Looked up, never iterated where order matters.
    spread_counts: FxHashMap<(Owner, u8, u32), u32>,
    /// Count every job's running tasks, not only those with limits (the
    /// spreading score reads them).
    spread_all: bool,
    /// Where tasks failed, while the scheduler avoids such machines
    /// (`failures.rs`).
    failures: failures::FailureHistory,
    /// Jobs (parts included) submitted so far: the next job's serial.
    serials: u64,
    ledger: Ledger,
    now: SimTime,
    /// Machines in the order they changed, from position `changes_base` on:
    /// what score caches replay to catch up (see `sched::equiv`).
    changes: Vec<MachineId>,
    changes_base: u64,
    /// Per machine: bumped at every change of it (what score caches and
    /// other per-machine memos compare). A compact array apart from the
    /// machine states: caches read it for every logged change.
    seqs: Vec<u64>,
    shapes: Vec<Shape>,
    shape_ids: FxHashMap<Shape, u32>,
    /// Jobs using each shape; a shape no live job uses is forgotten and its
    /// id reused (traces give most jobs a shape of their own).
    shape_jobs: Vec<u32>,
    free_shapes: Vec<u32>,
    /// Jobs whose tasks are all finished, waiting for [`CellState::reclaim`].
    retired: Vec<JobId>,
    /// Reusable job ids, and reusable task-id ranges by length. A run's
    /// records then follow its live jobs, not its length.
    free_jobs: Vec<JobId>,
    /// Free task ids; a job takes the lowest ones, in index order, so a
    /// job's task ids ascend with their index (the pending queue's order).
    free_tasks: Vec<TaskId>,
    /// Tasks finished since the last [`CellState::reclaim`].
    done_tasks: Vec<TaskId>,
    /// The jobs the last [`CellState::reclaim`] freed.
    reclaimed: Vec<JobId>,
    /// Per machine: false while it is down or not (yet) part of the cell (it
    /// then holds no task and offers nothing). A compact array apart from
    /// the machine states, since every feasibility check reads it.
    up: Vec<bool>,
    /// Per machine: capacity held back from tasks — all of it while down,
    /// the difference to the current capacity while a trace says the machine
    /// is smaller than its largest size. `free = capacity − allocated − withheld`.
    withheld: Vec<Resources>,
    /// Per machine: it stopped reporting (`held.rs`): `up` is false, so
    /// nothing new goes there, but its tasks run on.
    unreachable: Vec<bool>,
    /// Pending tasks held back by the reschedule rate limit, outside the
    /// pending queue, oldest first, with when each was held (`held.rs`).
    delayed: std::collections::VecDeque<(TaskId, SimTime)>,
    /// The GPU devices of running tasks that hold some, by task (kept
    /// apart from the task records, which they would grow by 16 bytes).
    /// Looked up, never iterated.
    gpu_allocs: FxHashMap<TaskId, GpuAlloc>,
    /// Per job id: what completions and reclaiming read of a job, in one
    /// compact array apart from the (large, cold) job records, so that a
    /// finishing task touches one cache line of its job, not three.
    job_hot: Vec<JobHot>,
    /// Allocation levels over time, for the steady-state window.
    history: history::AllocHistory,
    /// Whether a task shape could ever run here, decided once per shape.
    hostable: super::HostableCache,
    /// Jobs judged never schedulable when admitted (some may be gone since):
    /// judged again when a machine's attributes change.
    never_hostable: Vec<JobId>,
    /// Changes recorded for the event log since the driver last took them;
    /// `None` (one branch per change) unless asked for (`events.rs`).
    events: Option<Vec<events::CellEvent>>,
    /// Large jobs admitted without constraints and spread limits, if
    /// asked (`relax.rs`).
    relax: Relaxation,
    /// Prod jobs' running counts and availability (`availability.rs`).
    avail: availability::Availability,
    /// Usage and reservation books (`usage.rs`); `None` with reclamation
    /// off.
    usage: Option<Box<usage::UsageBooks>>,
}

impl CellState {
    pub fn new(cell: Cell) -> Self {
        let n = cell.machines.len();
        let history = history::AllocHistory::new(cell.total_capacity().res.cpu_milli);
        let machines = cell
            .machines
            .iter()
            .map(|m| MachineState {
                free: m.capacity.res,
                gpu_free_milli: vec![
                    super::resources::GPU_MILLI_PER_DEVICE;
                    m.capacity.gpus as usize
                ],
                tasks: Vec::new(),
                by_priority: Vec::new(),
            })
            .collect();
        CellState {
            cell,
            machines,
            jobs: Vec::new(),
            tasks: Vec::new(),
            pending: PendingQueue::default(),
            spread_counts: FxHashMap::default(),
            spread_all: false,
            failures: failures::FailureHistory::default(),
            serials: 0,
            changes: Vec::new(),
            changes_base: 0,
            seqs: vec![0; n],
            shapes: Vec::new(),
            shape_ids: FxHashMap::default(),
            shape_jobs: Vec::new(),
            free_shapes: Vec::new(),
            retired: Vec::new(),
            free_jobs: Vec::new(),
            free_tasks: Vec::new(),
            reclaimed: Vec::new(),
            gpu_allocs: FxHashMap::default(),
            job_hot: Vec::new(),
            history,
            hostable: Default::default(),
            never_hostable: Vec::new(),
            events: None,
            relax: Relaxation::default(),
            avail: availability::Availability::default(),
            usage: None,
            up: vec![true; n],
            withheld: vec![Resources::ZERO; n],
            unreachable: vec![false; n],
            delayed: std::collections::VecDeque::new(),
            done_tasks: Vec::new(),
            ledger: Ledger::default(),
            now: SimTime::ZERO,
        }
    }

    pub fn cell(&self) -> &Cell {
        &self.cell
    }
    pub fn machine(&self, m: MachineId) -> &MachineState {
        &self.machines[m as usize]
    }
    pub fn machines(&self) -> &[MachineState] {
        &self.machines
    }
    /// False while machine `m` is down (see [`CellState::set_machine`]).
    pub fn machine_up(&self, m: MachineId) -> bool {
        self.up[m as usize]
    }
    /// Capacity of `m` held back from tasks (all of it while down).
    pub fn withheld(&self, m: MachineId) -> Resources {
        self.withheld[m as usize]
    }
    /// The cell's attribute table, to intern a value a trace's constraint
    /// names that no machine has (interning changes no machine).
    pub fn attr_table_mut(&mut self) -> &mut super::attrs::AttrTable {
        &mut self.cell.attr_table
    }
    pub fn job(&self, j: JobId) -> &Job {
        &self.jobs[j as usize]
    }
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }
    pub fn task(&self, t: TaskId) -> &TaskRecord {
        &self.tasks[t as usize]
    }

    /// The GPU devices running task `t` holds (none if it holds none or
    /// does not run).
    pub fn gpu_alloc(&self, t: TaskId) -> GpuAlloc {
        self.gpu_allocs.get(&t).copied().unwrap_or_default()
    }
    /// Starts loading task `t`'s record into the cache, for an event
    /// about to read it (a hint; nothing if `t` has no slot).
    pub(crate) fn prefetch_task(&self, t: TaskId) {
        if let Some(rec) = self.tasks.get(t as usize) {
            crate::prefetch::prefetch(rec);
        }
    }
    /// Starts loading what the release of running task `t` reads beyond
    /// its record: its job's counters and its machine's task lists (a
    /// hint; nothing if `t` does not run).
    pub(crate) fn prefetch_release(&self, t: TaskId) {
        let Some(rec) = self.tasks.get(t as usize) else {
            return;
        };
        if let TaskState::Running { machine, .. } = rec.state {
            if let Some(hot) = self.job_hot.get(rec.job as usize) {
                crate::prefetch::prefetch(hot);
            }
            let ms = &self.machines[machine as usize];
            crate::prefetch::prefetch_slice(&ms.tasks);
            crate::prefetch::prefetch_slice(&ms.by_priority);
        }
    }
    pub fn tasks(&self) -> &[TaskRecord] {
        &self.tasks
    }
    pub fn job_of(&self, t: TaskId) -> &Job {
        self.job(self.task(t).job)
    }
    pub fn pending(&self) -> &PendingQueue {
        &self.pending
    }
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Prod jobs' availability (see [`availability`]).
    pub fn availability(&self) -> &availability::Availability {
        &self.avail
    }
    /// Sets the `k` of availability's "at least n − k tasks running"
    /// (default 1), before the first job is admitted.
    pub fn set_availability_k(&mut self, k: u32) {
        self.avail.set_k(k);
    }

    /// The position after the latest machine change.
    pub fn change_cursor(&self) -> u64 {
        self.changes_base + self.changes.len() as u64
    }

    /// Machines changed since `cursor` (repeats included), oldest first;
    /// `None` if the log no longer reaches back that far.
    pub fn changes_since(&self, cursor: u64) -> Option<&[MachineId]> {
        let at = cursor.checked_sub(self.changes_base)?;
        self.changes.get(at as usize..)
    }

    /// Machine `m`'s change count: it moves at every change of the machine
    /// (tasks, capacity, attributes, reachability, reservations read by the
    /// scheduler).
    pub fn machine_seq(&self, m: MachineId) -> u64 {
        self.seqs[m as usize]
    }

    /// Records a change of `machine`: bumps its `seq` and appends it to the
    /// change log, dropping the log's older half when it outgrows a few
    /// times the cell's size (a reader that far behind re-reads the cell).
    fn log_change(&mut self, machine: MachineId) {
        self.seqs[machine as usize] += 1;
        let cap = (4 * self.machines.len()).max(4096);
        if self.changes.len() >= cap {
            let drop = cap / 2;
            self.changes.drain(..drop);
            self.changes_base += drop as u64;
        }
        self.changes.push(machine);
    }

    /// Forgets changes before `cursor`: no reader needs them any more.
    pub fn trim_changes(&mut self, cursor: u64) {
        let drop = cursor.saturating_sub(self.changes_base) as usize;
        let drop = drop.min(self.changes.len());
        self.changes.drain(..drop);
        self.changes_base += drop as u64;
    }

    /// Brings the clock and the allocation integral up to `now`.
    pub fn advance(&mut self, now: SimTime) {
        assert!(now >= self.now, "time went back: {} -> {}", self.now, now);
        let dt = u128::from((now - self.now).as_us());
        if dt > 0 {
            let rates = self.alloc_rates();
            let (ledger, start) = (&self.ledger, self.now);
            self.history.observe_with(
                start,
                || history::snapshot_of(ledger, start),
                &rates,
                (now - start).as_us(),
            );
            // Bands with nothing allocated or running (most runs use one
            // or two of the four) add nothing.
            let l = &mut self.ledger;
            for b in 0..4 {
                let r = &l.alloc_by_band[b];
                let gpu = l.gpu_milli_by_band[b];
                if r.cpu_milli | r.mem_mib | gpu != 0 {
                    let acc = &mut l.alloc_integral[b];
                    acc[0] += u128::from(r.cpu_milli) * dt;
                    acc[1] += u128::from(r.mem_mib) * dt;
                    acc[2] += u128::from(gpu) * dt;
                }
            }
            for (acc, &n) in l.running_integral_us.iter_mut().zip(&l.running_by_band) {
                if n != 0 {
                    *acc += u128::from(n) * dt;
                }
            }
            let groups = self.cell.classes().groups().len();
            for (acc, a) in l
                .class_integral
                .iter_mut()
                .zip(&l.alloc_by_class)
                .take(groups)
            {
                for (x, &v) in acc.iter_mut().zip(a) {
                    if v != 0 {
                        *x += u128::from(v) * dt;
                    }
                }
            }
            if let Some(b) = self.usage.as_deref_mut() {
                b.advance(dt);
            }
        }
        self.now = now;
    }

    /// Admits a job: all its tasks become pending. The job and its tasks
    /// take retired slots if [`CellState::reclaim`] freed some of the right
    /// size, else new ones. It counts as one job in the ledger. A large job
    /// loses its constraints and spread limits first if a relaxation rule
    /// is in force ([`CellState::relax_jobs_above`]).
    pub fn submit_job(&mut self, now: SimTime, spec: JobSpec) -> JobId {
        self.ledger.jobs_submitted += 1;
        let id = self.admit(now, spec, None, false);
        if self.usage.is_some() {
            self.admit_usage(id);
        }
        id
    }

    /// Admits a part of trace job `trace_job`: a set of its identical tasks
    /// submitted together, as [`CellState::submit_job`] does, sharing the
    /// trace job's identity with its other parts (spread counters, the id
    /// outputs show). `counted`: keep its running tasks in the spread
    /// counters although it has no limit of its own (another task of its
    /// trace job has one). Not counted in `jobs_submitted`: the feed counts
    /// the trace job once ([`CellState::count_workload_job`]).
    pub fn submit_part(
        &mut self,
        now: SimTime,
        spec: JobSpec,
        trace_job: u64,
        counted: bool,
    ) -> JobId {
        let id = self.admit(now, spec, Some(trace_job), counted);
        if self.usage.is_some() {
            self.admit_usage(id);
        }
        id
    }

    /// Counts one workload job submitted in parts (a trace job, when the
    /// trace first submits any of its tasks, held outside the cell or not).
    pub fn count_workload_job(&mut self) {
        self.ledger.jobs_submitted += 1;
    }

    fn admit(
        &mut self,
        now: SimTime,
        mut spec: JobSpec,
        trace_job: Option<u64>,
        counted: bool,
    ) -> JobId {
        self.advance(now);
        self.relax.apply(&mut spec);
        let arrival = self.snapshot();
        self.history.arrival(arrival);
        let n = spec.task_count() as u32;
        let ever_schedulable =
            self.hostable
                .could_ever_host(&self.cell, &spec.request, &spec.constraints);
        let band = spec.band();
        let counted = counted || self.spread_all || !spec.spread.is_empty();
        let shape = self.intern_shape(Shape {
            request: spec.request,
            priority: spec.priority,
        });
        let id = self.free_jobs.pop().unwrap_or(self.jobs.len() as JobId);
        let ids = self.take_task_ids(n);
        for (index, duration) in spec.task_durations.iter().enumerate() {
            let rec = TaskRecord::new(id, index as u32, shape, *duration, now);
            self.add_pending_task(ids[index], rec, spec.priority);
        }
        self.note_submitted(&ids);
        let l = &mut self.ledger;
        l.tasks_submitted += u64::from(n);
        l.submitted_by_band[band.index()] += u64::from(n);
        l.gpu_milli_submitted += u64::from(n) * spec.request.gpu.milli();
        l.pending_by_band[band.index()] += u64::from(n);
        let job = Job {
            id,
            shape,
            spec: spec.into_info(),
            submit_time: now,
            tasks: ids,
            ever_schedulable,
            serial: self.serials,
            trace_job,
        };
        self.serials += 1;
        if !ever_schedulable {
            self.never_hostable.push(id);
        }
        self.store_job(
            job,
            JobHot {
                unfinished: n,
                shape,
                spread_counted: counted,
            },
        );
        if n == 0 {
            self.retired.push(id);
        } else if band.is_prod() {
            self.avail.admit(id, n, now);
        }
        id
    }

    /// Stores a new job's record, in its id's slot (reused, or a new one
    /// at the end).
    fn store_job(&mut self, job: Job, hot: JobHot) {
        let id = job.id as usize;
        match self.jobs.get_mut(id) {
            Some(slot) => {
                *slot = job;
                self.job_hot[id] = hot;
            }
            None => {
                self.jobs.push(job);
                self.job_hot.push(hot);
            }
        }
    }

    /// Records a new task, `t`, in its slot (reused, or a new one at the
    /// end) and queues it at `priority`.
    fn add_pending_task(&mut self, t: TaskId, rec: TaskRecord, priority: Priority) {
        let job = rec.job;
        match self.tasks.get_mut(t as usize) {
            Some(slot) => {
                assert_eq!(slot.job, FREE_SLOT, "reusing task slot {t}");
                // Incarnations continue across reuse, so a completion
                // scheduled for the slot's previous task stays stale.
                *slot = TaskRecord {
                    incarnation: slot.incarnation,
                    ..rec
                };
            }
            None => self.tasks.push(rec),
        }
        let added = self.pending.push(priority, job, t);
        assert!(added);
    }

    /// Starts a pending task on a machine. The caller (the scheduler) has
    /// checked that it fits on its basis (its limit in the machine's free
    /// resources; for non-prod under reclamation `on`, its reservation in
    /// the reservation basis: `usage.rs`); this asserts it.
    pub fn place(&mut self, now: SimTime, task: TaskId, machine: MachineId) {
        let req = self.shapes[self.tasks[task as usize].shape as usize].request;
        let gpu = req
            .gpu
            .choose_devices(&self.machines[machine as usize].gpu_free_milli)
            .unwrap_or_else(|| panic!("machine {machine} has no GPU for task {task}"));
        self.place_on(now, task, machine, gpu);
    }

    /// [`CellState::place`] on the devices `gpu` chose (a policy's own
    /// choice of GPUs inside the machine, `sched::devices`): panics if they
    /// are not free or do not match the task's request.
    pub fn place_on(&mut self, now: SimTime, task: TaskId, machine: MachineId, gpu: GpuAlloc) {
        self.advance(now);
        let rec = &mut self.tasks[task as usize];
        let shape = self.shapes[rec.shape as usize];
        let (job_id, prio, band, req) = (rec.job, shape.priority, shape.band(), shape.request);
        assert!(
            self.up[machine as usize],
            "placing task {task} on machine {machine}, which is down"
        );
        let ms = &mut self.machines[machine as usize];
        assert_eq!(rec.state, TaskState::Pending, "placing task {task}");
        // Beyond the limits (`None`): only non-prod under reclamation `on`,
        // taken with its usage below.
        let within = ms.free.checked_sub(&req.res);
        if let Some(left) = within {
            ms.free = left;
        }
        assert!(
            gpu.matches(req.gpu, &ms.gpu_free_milli),
            "devices {gpu:?} on machine {machine} are not free for task {task}'s {:?}",
            req.gpu
        );
        gpu.take_from(&mut ms.gpu_free_milli);
        ms.tasks.push(task);
        ms.add_priority(prio, &req.res);
        if rec.first_start_us == records::NO_TIME {
            rec.first_start_us = records::us_or_none(Some(now.as_us()));
            // Never started, so never evicted: pending since submission.
            let wait = (now - rec.pending_since).as_us();
            self.ledger.wait_us[band.index()].push(wait);
            self.ledger.tasks_started += 1;
        }
        rec.incarnation += 1;
        rec.state = TaskState::Running {
            machine,
            since: now,
        };
        if gpu != GpuAlloc::None {
            self.gpu_allocs.insert(task, gpu);
        }
        let removed = self.pending.remove(prio, job_id, task);
        assert!(removed, "task {task} was not in the pending queue");
        let l = &mut self.ledger;
        l.placements += 1;
        lower(&mut l.pending_by_band[band.index()], 1, "pending_by_band");
        l.running_by_band[band.index()] += 1;
        l.alloc_by_band[band.index()] = l.alloc_by_band[band.index()].add(&req.res);
        l.gpu_milli_by_band[band.index()] += req.gpu.milli();
        let class = &mut l.alloc_by_class[self.cell.classes().group_of(machine)];
        class[0] += req.res.cpu_milli;
        class[1] += req.res.mem_mib;
        class[2] += req.gpu.milli();
        self.bump_spread(job_id, machine, true);
        self.log_change(machine);
        if band.is_prod() {
            self.avail.change(job_id, now, 1, false);
        }
        self.note_task(EventKind::Place, task, Some(machine), None);
        if self.usage.is_some() || within.is_none() {
            self.place_usage(now, task, machine, within.is_none());
        }
    }

    /// Stops a running task and returns it to the pending queue.
    pub fn evict(&mut self, now: SimTime, task: TaskId, cause: EvictionCause) {
        self.advance(now);
        let TaskState::Running { since, .. } = self.tasks[task as usize].state else {
            panic!("evicting task {task}, which is not running");
        };
        let machine = self.release(task);
        let rec = &mut self.tasks[task as usize];
        rec.state = TaskState::Pending;
        rec.pending_since = now;
        rec.evictions += 1;
        let shape = self.shapes[rec.shape as usize];
        if rec.evictions == 1 {
            self.ledger.evicted_tasks_by_band[shape.band().index()] += 1;
        }
        let added = self.pending.push(shape.priority, rec.job, task);
        assert!(added, "evicted task {task} already pending");
        let (b, c) = (shape.band().index(), cause as usize);
        let job = rec.job;
        let l = &mut self.ledger;
        l.pending_by_band[b] += 1;
        l.evictions[c] += 1;
        l.evictions_by_band[c][b] += 1;
        l.lost_work_us[c][b] += u128::from((now - since).as_us());
        if shape.band().is_prod() {
            self.avail.change(job, now, -1, false);
        }
        if self.failures.scope.keeps(cause) {
            self.failures.record(task, machine, now);
        }
        self.note_task(EventKind::Evict, task, Some(machine), Some(cause));
    }

    /// Completes a running task if `incarnation` is its current one. Returns
    /// false (and changes nothing but the clock) for a stale completion.
    pub fn finish(&mut self, now: SimTime, task: TaskId, incarnation: u32) -> bool {
        self.advance(now);
        let rec = &self.tasks[task as usize];
        if rec.incarnation != incarnation || !matches!(rec.state, TaskState::Running { .. }) {
            return false;
        }
        let machine = self.release(task);
        self.tasks[task as usize].state = TaskState::Finished;
        self.ledger.tasks_finished += 1;
        let job = self.tasks[task as usize].job;
        if self.shape(task).band().is_prod() {
            self.avail.change(job, now, -1, true);
        }
        self.task_done(job, task);
        self.note_task(EventKind::Finish, task, Some(machine), None);
        true
    }

    /// Takes a running task off its machine (state is left to the caller);
    /// returns the machine.
    fn release(&mut self, task: TaskId) -> MachineId {
        let rec = &self.tasks[task as usize];
        let TaskState::Running { machine, .. } = rec.state else {
            panic!("task {task} is not running");
        };
        let shape = self.shapes[rec.shape as usize];
        let (job_id, prio, band, req) = (rec.job, shape.priority, shape.band(), shape.request);
        let cap = self.cell.machines[machine as usize].capacity.res;
        match self.usage.is_some() {
            false => {
                let ms = &mut self.machines[machine as usize];
                ms.free = ms.free.add(&req.res);
            }
            true => self.release_usage(task, machine, &req.res),
        }
        let ms = &mut self.machines[machine as usize];
        assert!(
            ms.free.add(&self.withheld[machine as usize]).fits_in(&cap),
            "machine {machine} free above capacity"
        );
        if req.gpu != GpuRequest::None {
            let gpu = self.gpu_allocs.remove(&task).unwrap_or_default();
            gpu.release_into(&mut ms.gpu_free_milli);
        }
        let pos = ms
            .tasks
            .iter()
            .position(|&t| t == task)
            .expect("on machine");
        ms.tasks.swap_remove(pos);
        ms.sub_priority(prio, &req.res);
        self.log_change(machine);
        let l = &mut self.ledger;
        lower(&mut l.running_by_band[band.index()], 1, "running_by_band");
        let alloc = &mut l.alloc_by_band[band.index()];
        *alloc = alloc.checked_sub(&req.res).unwrap_or_else(|| {
            panic!(
                "count alloc_by_band would go below zero ({alloc:?} - {:?})",
                req.res
            )
        });
        lower(
            &mut l.gpu_milli_by_band[band.index()],
            req.gpu.milli(),
            "gpu_milli_by_band",
        );
        let class = &mut l.alloc_by_class[self.cell.classes().group_of(machine)];
        let held = [req.res.cpu_milli, req.res.mem_mib, req.gpu.milli()];
        for (a, by) in class.iter_mut().zip(held) {
            lower(a, by, "alloc_by_class");
        }
        self.bump_spread(job_id, machine, false);
        machine
    }

    /// Withdraws a pending or running task for good (a trace's KILL).
    /// Returns false if it had already finished.
    pub fn kill(&mut self, now: SimTime, task: TaskId) -> bool {
        self.withdraw(now, task, EventKind::Kill)
    }

    /// Withdraws a pending task that nothing fitted (a dropped arrival,
    /// counted apart from kills). Returns false if it was not pending.
    pub fn drop_unplaced(&mut self, now: SimTime, task: TaskId) -> bool {
        if self.tasks[task as usize].state != TaskState::Pending {
            return false;
        }
        self.ledger.tasks_dropped += 1;
        self.withdraw(now, task, EventKind::Drop)
    }

    /// Withdraws a task for good; `kind` (kill or drop) says why, for the
    /// event log.
    fn withdraw(&mut self, now: SimTime, task: TaskId, kind: EventKind) -> bool {
        self.advance(now);
        let rec = &self.tasks[task as usize];
        let machine = match rec.state {
            TaskState::Finished => return false,
            TaskState::Running { .. } => Some(self.release(task)),
            TaskState::Pending => {
                let shape = self.shapes[rec.shape as usize];
                self.unqueue(task);
                lower(
                    &mut self.ledger.pending_by_band[shape.band().index()],
                    1,
                    "pending_by_band",
                );
                None
            }
        };
        if self.shape(task).band().is_prod() {
            let job = self.tasks[task as usize].job;
            self.avail
                .change(job, now, -i8::from(machine.is_some()), true);
        }
        let rec = &mut self.tasks[task as usize];
        rec.state = TaskState::Finished;
        if rec.first_start().is_none() {
            self.ledger.gpu_milli_never_started +=
                self.shapes[rec.shape as usize].request.gpu.milli();
        }
        self.ledger.tasks_finished += 1;
        self.ledger.tasks_killed += 1;
        self.task_done(self.tasks[task as usize].job, task);
        self.note_task(kind, task, machine, None);
        true
    }

    /// Sets how long a task runs once started (a trace's end event tells it
    /// after submission). The caller schedules the end of a running task.
    pub fn set_duration(&mut self, task: TaskId, duration: SimDuration) {
        self.tasks[task as usize].duration_us = records::us_or_none(Some(duration.as_us()));
    }

    /// The id of `shape`, counting one more job using it.
    fn intern_shape(&mut self, shape: Shape) -> u32 {
        if let Some(&id) = self.shape_ids.get(&shape) {
            self.shape_jobs[id as usize] += 1;
            return id;
        }
        let id = match self.free_shapes.pop() {
            Some(id) => {
                self.shapes[id as usize] = shape;
                self.shape_jobs[id as usize] = 1;
                id
            }
            None => {
                self.shapes.push(shape);
                self.shape_jobs.push(1);
                (self.shapes.len() - 1) as u32
            }
        };
        self.shape_ids.insert(shape, id);
        id
    }

    /// The shape of a task record.
    pub fn shape_of(&self, rec: &TaskRecord) -> &Shape {
        &self.shapes[rec.shape as usize]
    }

    /// A task's shape (request, priority, spread flag).
    pub fn shape(&self, task: TaskId) -> &Shape {
        &self.shapes[self.tasks[task as usize].shape as usize]
    }

    /// All tasks of a job, by index.
    pub fn job_tasks(&self, j: JobId) -> &[TaskId] {
        &self.job(j).tasks
    }

    /// Band of a task.
    pub fn band_of(&self, t: TaskId) -> Band {
        self.job_of(t).band()
    }
}

#[cfg(test)]
mod tests;
