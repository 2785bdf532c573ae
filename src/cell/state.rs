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

use super::pending::PendingQueue;
use super::resources::{GpuAlloc, Resources};
use super::{Cell, MachineId};
use crate::time::{SimDuration, SimTime};
use crate::workload::{Band, Job, JobId, JobSpec, Priority, TaskId};
use rustc_hash::FxHashMap;

/// Where a task is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Running {
        machine: MachineId,
        since: SimTime,
        gpu: GpuAlloc,
    },
    Finished,
}

/// The `job` of a task slot that belongs to no job (its job was retired
/// and the slot waits for reuse).
pub const FREE_SLOT: JobId = JobId::MAX;

/// One task's record.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub job: JobId,
    pub index: u32,
    /// The task's [`Shape`] (index into [`CellState::shape`]).
    pub shape: u32,
    pub state: TaskState,
    /// How long the task runs once started; `None` = until the run ends.
    pub duration: Option<SimDuration>,
    /// When the task last entered the pending queue.
    pub pending_since: SimTime,
    /// When the task first started, if ever.
    pub first_start: Option<SimTime>,
    /// Bumped at every start, so a completion scheduled for an earlier start
    /// (before an eviction) is recognised as stale.
    pub incarnation: u32,
    pub evictions: u32,
}

/// What placing, evicting and completing a task needs to know of its job,
/// interned per distinct value so that these hot paths read one small,
/// cache-resident table instead of the (large, cold) job record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub request: super::resources::Request,
    pub priority: Priority,
    /// The job has spread limits (its domain counters must be kept).
    pub spread: bool,
}

impl Shape {
    pub fn band(&self) -> Band {
        Band::of(self.priority)
    }
}

/// Why a running task was stopped before it finished.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvictionCause {
    /// A higher-priority task needed its resources.
    Preemption,
    /// Its machine went down or was removed from the cell.
    MachineDown,
    /// Its machine's capacity shrank below what its tasks hold.
    MachineShrunk,
    /// A replayed trace says so (trace-placement mode).
    Trace,
}

impl EvictionCause {
    pub const ALL: [EvictionCause; 4] = [
        EvictionCause::Preemption,
        EvictionCause::MachineDown,
        EvictionCause::MachineShrunk,
        EvictionCause::Trace,
    ];
    pub fn name(self) -> &'static str {
        match self {
            EvictionCause::Preemption => "preemption",
            EvictionCause::MachineDown => "machine_down",
            EvictionCause::MachineShrunk => "machine_shrunk",
            EvictionCause::Trace => "trace",
        }
    }
}

/// A machine's changing state.
#[derive(Clone, Debug)]
pub struct MachineState {
    pub free: Resources,
    /// Free milli-units per GPU device (1000 = idle device).
    pub gpu_free_milli: Vec<u32>,
    /// Running tasks, in no particular order.
    pub tasks: Vec<TaskId>,
    /// Resources allocated to running tasks, per priority, sorted by priority.
    by_priority: Vec<(Priority, Resources)>,
    /// Bumped at every change of this machine (for score caches).
    pub seq: u64,
}

impl MachineState {
    /// CPU and memory held by running tasks with priority below `threshold`.
    pub fn allocated_below(&self, threshold: Priority) -> Resources {
        self.by_priority
            .iter()
            .take_while(|(p, _)| *p < threshold)
            .fold(Resources::ZERO, |acc, (_, r)| acc.add(r))
    }

    fn add_priority(&mut self, p: Priority, r: &Resources) {
        match self.by_priority.binary_search_by_key(&p, |e| e.0) {
            Ok(i) => self.by_priority[i].1 = self.by_priority[i].1.add(r),
            Err(i) => self.by_priority.insert(i, (p, *r)),
        }
    }

    fn sub_priority(&mut self, p: Priority, r: &Resources) {
        let i = self
            .by_priority
            .binary_search_by_key(&p, |e| e.0)
            .expect("priority entry of a running task");
        let left = self.by_priority[i]
            .1
            .checked_sub(r)
            .expect("per-priority allocation underflow");
        if left == Resources::ZERO {
            self.by_priority.remove(i);
        } else {
            self.by_priority[i].1 = left;
        }
    }

    pub(crate) fn by_priority(&self) -> &[(Priority, Resources)] {
        &self.by_priority
    }
}

/// Running totals kept exact at every change.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub tasks_submitted: u64,
    pub placements: u64,
    pub tasks_finished: u64,
    /// Tasks withdrawn before finishing (pending or running): part of
    /// `tasks_finished`.
    pub tasks_killed: u64,
    /// GPU milli-units asked for by all tasks submitted so far.
    pub gpu_milli_submitted: u64,
    pub evictions: [u64; EvictionCause::ALL.len()],
    pub running_by_band: [u64; 4],
    pub pending_by_band: [u64; 4],
    pub alloc_by_band: [Resources; 4],
    pub gpu_milli_by_band: [u64; 4],
    /// ∫ allocation dt per band, in (milli-core·µs, MiB·µs, GPU-milli·µs).
    pub alloc_integral: [[u128; 3]; 4],
    /// Submission → first start, per band, in µs.
    pub wait_us: [crate::metrics::waits::Waits; 4],
    pub jobs_submitted: u64,
    /// Tasks whose slots were reclaimed (all finished).
    pub tasks_reclaimed: u64,
    /// Tasks submitted per band.
    pub submitted_by_band: [u64; 4],
    /// Tasks that started at least once.
    pub tasks_started: u64,
    /// Tasks evicted at least once, per band.
    pub evicted_tasks_by_band: [u64; 4],
    /// GPU milli-units of tasks withdrawn before they ever started.
    pub gpu_milli_never_started: u64,
}

/// Everything about a cell that changes during a run.
pub struct CellState {
    cell: Cell,
    machines: Vec<MachineState>,
    jobs: Vec<Job>,
    tasks: Vec<TaskRecord>,
    pending: PendingQueue,
    /// Tasks of a job per failure domain, for jobs with spread limits only.
    /// Looked up, never iterated.
    spread_counts: FxHashMap<(JobId, u8, u32), u32>,
    ledger: Ledger,
    now: SimTime,
    /// Machines in the order they changed, from position `changes_base` on:
    /// what score caches replay to catch up (see `sched::equiv`).
    changes: Vec<MachineId>,
    changes_base: u64,
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
    /// Per job id: tasks not finished yet; at 0 the job is retired. Apart
    /// from the (large, cold) job records, so completions touch 4 bytes.
    unfinished: Vec<u32>,
}

impl CellState {
    pub fn new(cell: Cell) -> Self {
        let n = cell.machines.len();
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
                seq: 0,
            })
            .collect();
        CellState {
            cell,
            machines,
            jobs: Vec::new(),
            tasks: Vec::new(),
            pending: PendingQueue::default(),
            spread_counts: FxHashMap::default(),
            changes: Vec::new(),
            changes_base: 0,
            shapes: Vec::new(),
            shape_ids: FxHashMap::default(),
            shape_jobs: Vec::new(),
            free_shapes: Vec::new(),
            retired: Vec::new(),
            free_jobs: Vec::new(),
            free_tasks: Vec::new(),
            reclaimed: Vec::new(),
            unfinished: Vec::new(),
            up: vec![true; n],
            withheld: vec![Resources::ZERO; n],
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
    pub fn job(&self, j: JobId) -> &Job {
        &self.jobs[j as usize]
    }
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }
    pub fn task(&self, t: TaskId) -> &TaskRecord {
        &self.tasks[t as usize]
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

    /// Tasks of `job` running in domain `domain` of `level` (jobs with spread limits only).
    pub fn job_tasks_in_domain(
        &self,
        job: JobId,
        level: super::domain::DomainLevel,
        domain: u32,
    ) -> u32 {
        self.spread_counts
            .get(&(job, level_index(level), domain))
            .copied()
            .unwrap_or(0)
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

    /// Appends to the change log, dropping its older half when it outgrows a
    /// few times the cell's size: a reader that far behind re-reads the cell.
    fn log_change(&mut self, machine: MachineId) {
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
            for b in 0..4 {
                let r = &self.ledger.alloc_by_band[b];
                let acc = &mut self.ledger.alloc_integral[b];
                acc[0] += u128::from(r.cpu_milli) * dt;
                acc[1] += u128::from(r.mem_mib) * dt;
                acc[2] += u128::from(self.ledger.gpu_milli_by_band[b]) * dt;
            }
        }
        self.now = now;
    }

    /// Admits a job: all its tasks become pending. The job and its tasks
    /// take retired slots if [`CellState::reclaim`] freed some of the right
    /// size, else new ones.
    pub fn submit_job(&mut self, now: SimTime, spec: JobSpec) -> JobId {
        self.advance(now);
        let n = spec.task_count() as u32;
        let ever_schedulable = self.cell.could_ever_host(&spec.request, &spec.constraints);
        let band = spec.band();
        let shape = self.intern_shape(Shape {
            request: spec.request,
            priority: spec.priority,
            spread: !spec.spread.is_empty(),
        });
        let id = self.free_jobs.pop().unwrap_or(self.jobs.len() as JobId);
        let ids = self.take_task_ids(n);
        for (index, duration) in spec.task_durations.iter().enumerate() {
            let t = ids[index];
            let rec = TaskRecord {
                job: id,
                index: index as u32,
                shape,
                state: TaskState::Pending,
                duration: *duration,
                pending_since: now,
                first_start: None,
                incarnation: 0,
                evictions: 0,
            };
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
            let added = self.pending.push(spec.priority, id, t);
            assert!(added);
        }
        let l = &mut self.ledger;
        l.tasks_submitted += u64::from(n);
        l.jobs_submitted += 1;
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
            serial: l.jobs_submitted - 1,
            live: true,
        };
        match self.jobs.get_mut(id as usize) {
            Some(slot) => {
                *slot = job;
                self.unfinished[id as usize] = n;
            }
            None => {
                self.jobs.push(job);
                self.unfinished.push(n);
            }
        }
        if n == 0 {
            self.retired.push(id);
        }
        id
    }

    /// Ids for a job's `n` tasks: freed ones (most recently freed first,
    /// still warm in cache), then new ones past the end; ascending, so a
    /// job's ids follow its task indices (the pending queue's order).
    fn take_task_ids(&mut self, n: u32) -> crate::workload::job::TaskIds {
        if n == 1 {
            let t = self.free_tasks.pop().unwrap_or(self.tasks.len() as TaskId);
            return crate::workload::job::TaskIds::One(t);
        }
        let reused = (n as usize).min(self.free_tasks.len());
        let mut ids: Vec<TaskId> = self
            .free_tasks
            .drain(self.free_tasks.len() - reused..)
            .collect();
        ids.sort_unstable();
        let next = self.tasks.len() as TaskId;
        ids.extend(next..next + (n - reused as u32));
        crate::workload::job::TaskIds::from(ids)
    }

    /// Frees the slots of tasks finished since the last call and of jobs
    /// whose tasks have all finished, for reuse by later submissions;
    /// returns the retired jobs' ids (the scheduler forgets them). The
    /// driver calls it between events, so a task id stays valid for the
    /// whole event in which its task finishes.
    pub fn reclaim(&mut self) -> &[JobId] {
        for t in self.done_tasks.drain(..) {
            self.tasks[t as usize].job = FREE_SLOT;
            self.free_tasks.push(t);
            self.ledger.tasks_reclaimed += 1;
        }
        self.reclaimed.clear();
        for j in self.retired.drain(..) {
            let job = &mut self.jobs[j as usize];
            job.live = false;
            job.tasks = Default::default();
            let shape = job.shape;
            let n = &mut self.shape_jobs[shape as usize];
            *n -= 1;
            if *n == 0 {
                self.shape_ids.remove(&self.shapes[shape as usize]);
                self.free_shapes.push(shape);
            }
            self.free_jobs.push(j);
            self.reclaimed.push(j);
        }
        &self.reclaimed
    }

    /// True if `j` names a job that has not been reclaimed.
    pub fn is_live_job(&self, j: JobId) -> bool {
        self.jobs.get(j as usize).is_some_and(|job| job.live)
    }

    /// Task slots that belong to a job (finished tasks of live jobs included).
    pub fn live_tasks(&self) -> impl Iterator<Item = (TaskId, &TaskRecord)> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, r)| r.job != FREE_SLOT)
            .map(|(t, r)| (t as TaskId, r))
    }

    /// Jobs not reclaimed yet.
    pub fn live_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().filter(|j| self.is_live_job(j.id))
    }

    /// Task `task` of `job` is done for good.
    fn task_done(&mut self, job: JobId, task: TaskId) {
        self.done_tasks.push(task);
        let left = &mut self.unfinished[job as usize];
        *left -= 1;
        if *left == 0 {
            self.retired.push(job);
        }
    }

    /// Starts a pending task on a machine. The caller (the scheduler) has
    /// checked that it fits; this asserts it.
    pub fn place(&mut self, now: SimTime, task: TaskId, machine: MachineId) {
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
        ms.free = ms
            .free
            .checked_sub(&req.res)
            .unwrap_or_else(|| panic!("machine {machine} over capacity placing task {task}"));
        let gpu = req
            .gpu
            .choose_devices(&ms.gpu_free_milli)
            .unwrap_or_else(|| panic!("machine {machine} has no GPU for task {task}"));
        gpu.take_from(&mut ms.gpu_free_milli);
        ms.tasks.push(task);
        ms.add_priority(prio, &req.res);
        ms.seq += 1;
        if rec.first_start.is_none() {
            rec.first_start = Some(now);
            // Never started, so never evicted: pending since submission.
            let wait = (now - rec.pending_since).as_us();
            self.ledger.wait_us[band.index()].push(wait);
            self.ledger.tasks_started += 1;
        }
        rec.incarnation += 1;
        rec.state = TaskState::Running {
            machine,
            since: now,
            gpu,
        };
        let removed = self.pending.remove(prio, job_id, task);
        assert!(removed, "task {task} was not in the pending queue");
        let l = &mut self.ledger;
        l.placements += 1;
        l.pending_by_band[band.index()] -= 1;
        l.running_by_band[band.index()] += 1;
        l.alloc_by_band[band.index()] = l.alloc_by_band[band.index()].add(&req.res);
        l.gpu_milli_by_band[band.index()] += req.gpu.milli();
        if shape.spread {
            self.bump_spread(job_id, machine, true);
        }
        self.log_change(machine);
    }

    /// Stops a running task and returns it to the pending queue.
    pub fn evict(&mut self, now: SimTime, task: TaskId, cause: EvictionCause) {
        self.advance(now);
        self.release(task);
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
        self.ledger.pending_by_band[shape.band().index()] += 1;
        self.ledger.evictions[cause as usize] += 1;
    }

    /// Completes a running task if `incarnation` is its current one. Returns
    /// false (and changes nothing but the clock) for a stale completion.
    pub fn finish(&mut self, now: SimTime, task: TaskId, incarnation: u32) -> bool {
        self.advance(now);
        let rec = &self.tasks[task as usize];
        if rec.incarnation != incarnation || !matches!(rec.state, TaskState::Running { .. }) {
            return false;
        }
        self.release(task);
        self.tasks[task as usize].state = TaskState::Finished;
        self.ledger.tasks_finished += 1;
        self.task_done(self.tasks[task as usize].job, task);
        true
    }

    /// Takes a running task off its machine (state is left to the caller).
    fn release(&mut self, task: TaskId) {
        let rec = &self.tasks[task as usize];
        let TaskState::Running { machine, gpu, .. } = &rec.state else {
            panic!("task {task} is not running");
        };
        let machine = *machine;
        let shape = self.shapes[rec.shape as usize];
        let (job_id, prio, band, req) = (rec.job, shape.priority, shape.band(), shape.request);
        let cap = self.cell.machines[machine as usize].capacity.res;
        let ms = &mut self.machines[machine as usize];
        ms.free = ms.free.add(&req.res);
        assert!(
            ms.free.add(&self.withheld[machine as usize]).fits_in(&cap),
            "machine {machine} free above capacity"
        );
        gpu.release_into(&mut ms.gpu_free_milli);
        let pos = ms
            .tasks
            .iter()
            .position(|&t| t == task)
            .expect("on machine");
        ms.tasks.swap_remove(pos);
        ms.sub_priority(prio, &req.res);
        ms.seq += 1;
        self.log_change(machine);
        let l = &mut self.ledger;
        l.running_by_band[band.index()] -= 1;
        l.alloc_by_band[band.index()] = l.alloc_by_band[band.index()].saturating_sub(&req.res);
        l.gpu_milli_by_band[band.index()] -= req.gpu.milli();
        if shape.spread {
            self.bump_spread(job_id, machine, false);
        }
    }

    /// Withdraws a pending or running task for good (a trace's KILL, a
    /// dropped arrival). Returns false if it had already finished.
    pub fn kill(&mut self, now: SimTime, task: TaskId) -> bool {
        self.advance(now);
        let rec = &self.tasks[task as usize];
        match rec.state {
            TaskState::Finished => return false,
            TaskState::Running { .. } => self.release(task),
            TaskState::Pending => {
                let shape = self.shapes[rec.shape as usize];
                let removed = self.pending.remove(shape.priority, rec.job, task);
                assert!(removed, "pending task {task} not queued");
                self.ledger.pending_by_band[shape.band().index()] -= 1;
            }
        }
        let rec = &mut self.tasks[task as usize];
        rec.state = TaskState::Finished;
        if rec.first_start.is_none() {
            self.ledger.gpu_milli_never_started +=
                self.shapes[rec.shape as usize].request.gpu.milli();
        }
        self.ledger.tasks_finished += 1;
        self.ledger.tasks_killed += 1;
        self.task_done(self.tasks[task as usize].job, task);
        true
    }

    /// Sets how long a task runs once started (a trace's end event tells it
    /// after submission). The caller schedules the end of a running task.
    pub fn set_duration(&mut self, task: TaskId, duration: SimDuration) {
        self.tasks[task as usize].duration = Some(duration);
    }

    /// Takes a machine down (`None`: every task on it is evicted and it
    /// offers nothing) or sets its current capacity (at most its capacity
    /// in the cell; if its tasks no longer fit, the lowest-priority ones,
    /// latest id first, are evicted until they do). Returns the evicted
    /// tasks.
    pub fn set_machine(
        &mut self,
        now: SimTime,
        m: MachineId,
        cap: Option<Resources>,
    ) -> Vec<TaskId> {
        self.advance(now);
        let full = self.cell.machines[m as usize].capacity;
        let mut evicted = Vec::new();
        let (target, cause) = match cap {
            None => (Resources::ZERO, EvictionCause::MachineDown),
            Some(r) => (
                Resources::new(
                    r.cpu_milli.min(full.res.cpu_milli),
                    r.mem_mib.min(full.res.mem_mib),
                ),
                EvictionCause::MachineShrunk,
            ),
        };
        loop {
            let ms = &self.machines[m as usize];
            let used = full
                .res
                .checked_sub(&ms.free)
                .and_then(|x| x.checked_sub(&self.withheld[m as usize]));
            let used = used.expect("free + withheld within capacity");
            let must_go = cap.is_none() && !ms.tasks.is_empty();
            if !must_go && used.fits_in(&target) {
                break;
            }
            let victim = self.lowest_task_on(m);
            self.evict(now, victim, cause);
            evicted.push(victim);
        }
        let ms = &mut self.machines[m as usize];
        let withheld = &mut self.withheld[m as usize];
        let used = full
            .res
            .checked_sub(&ms.free)
            .and_then(|x| x.checked_sub(withheld));
        let used = used.expect("free + withheld within capacity");
        *withheld = full
            .res
            .checked_sub(&target)
            .expect("target within capacity");
        ms.free = target.checked_sub(&used).expect("tasks fit the target");
        let was_up = self.up[m as usize];
        self.up[m as usize] = cap.is_some();
        if cap.is_none() {
            ms.gpu_free_milli.iter_mut().for_each(|g| *g = 0);
        } else if !was_up {
            let n = ms.gpu_free_milli.len();
            ms.gpu_free_milli = vec![super::resources::GPU_MILLI_PER_DEVICE; n];
        }
        ms.seq += 1;
        self.log_change(m);
        evicted
    }

    /// The running task on `m` to evict first: lowest priority, then the
    /// latest submitted.
    fn lowest_task_on(&self, m: MachineId) -> TaskId {
        let ms = &self.machines[m as usize];
        *ms.tasks
            .iter()
            .min_by_key(|&&t| {
                let prio = self.shapes[self.tasks[t as usize].shape as usize].priority;
                (prio, std::cmp::Reverse(self.submission_order(t)))
            })
            .expect("a task to evict")
    }

    /// A task's place in submission order, (job serial, index): task ids
    /// are reused, so they do not tell which task came first.
    pub fn submission_order(&self, t: TaskId) -> (u64, u32) {
        let rec = &self.tasks[t as usize];
        (self.jobs[rec.job as usize].serial, rec.index)
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

    fn bump_spread(&mut self, job: JobId, machine: MachineId, up: bool) {
        for level in 0..3u8 {
            let domain = self
                .cell
                .domains
                .domain_of(machine as usize, level_of(level));
            let key = (job, level, domain);
            let c = self.spread_counts.entry(key).or_insert(0);
            if up {
                *c += 1;
            } else {
                *c -= 1;
                if *c == 0 {
                    // Only live counts are kept (and a reused job id starts at 0).
                    self.spread_counts.remove(&key);
                }
            }
        }
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

/// Domain levels by index, as stored in the spread counters.
pub fn level_of(i: u8) -> super::domain::DomainLevel {
    use super::domain::DomainLevel;
    match i {
        0 => DomainLevel::Machine,
        1 => DomainLevel::Rack,
        _ => DomainLevel::Power,
    }
}

/// Index of a domain level in the spread counters.
pub fn level_index(l: super::domain::DomainLevel) -> u8 {
    use super::domain::DomainLevel;
    match l {
        DomainLevel::Machine => 0,
        DomainLevel::Rack => 1,
        DomainLevel::Power => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::invariants::check;
    use crate::testkit::{cell, job, occupy, submit};

    #[test]
    fn place_evict_finish_keep_the_books() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 2000, 100, 2));
        let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
        st.place(SimTime(10), a, 0);
        st.place(SimTime(10), b, 0);
        // 4000 - 2*1000 = 2000 mcpu, 8000 - 2*2000 = 4000 MiB left.
        assert_eq!(st.machine(0).free, Resources::new(2000, 4000));
        check(&st).unwrap();
        st.evict(SimTime(20), a, EvictionCause::Preemption);
        assert_eq!(st.task(a).state, TaskState::Pending);
        assert_eq!(st.ledger().evictions[0], 1);
        // A completion for the evicted incarnation is stale and ignored.
        assert!(!st.finish(SimTime(30), a, 1));
        assert!(st.finish(SimTime(30), b, 1));
        assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
        check(&st).unwrap();
        // Batch allocation 2000 mcpu for 10 µs then 1000 for 10 µs = 30000 mcpu·µs.
        assert_eq!(st.ledger().alloc_integral[Band::Batch.index()][0], 30_000);
    }

    #[test]
    #[should_panic(expected = "over capacity")]
    fn placing_over_capacity_is_refused() {
        let mut st = cell(&[(4000, 8000, 0)]);
        occupy(&mut st, 0, 3000, 10, 0);
        occupy(&mut st, 0, 3000, 10, 0);
    }

    #[test]
    #[should_panic(expected = "time went back")]
    fn time_never_goes_back() {
        let mut st = cell(&[(4000, 8000, 0)]);
        st.advance(SimTime(5));
        st.advance(SimTime(4));
    }

    #[test]
    fn the_checker_sees_what_the_books_hide() {
        let mut st = cell(&[(4000, 8000, 0)]);
        occupy(&mut st, 0, 1000, 1000, 0);
        check(&st).unwrap();
        // Corrupt the incremental state behind the mutators' back.
        st.machines[0].free.cpu_milli += 1;
        assert!(check(&st).unwrap_err().contains("free"));
        st.machines[0].free.cpu_milli -= 1;
        st.machines[0].tasks.push(0);
        assert!(check(&st).is_err());
    }

    #[test]
    fn machines_go_down_and_shrink_evicting_lowest_priority_first() {
        let mut st = cell(&[(4000, 8000, 2), (4000, 8000, 0)]);
        let low = occupy(&mut st, 0, 1000, 1000, 0);
        let high = occupy(&mut st, 0, 2000, 2000, 200);
        // Shrink machine 0 to 2500 mcpu: the 3000 held no longer fit; the
        // priority-0 task goes first, then 2000 ≤ 2500 fits.
        let gone = st.set_machine(SimTime(1), 0, Some(Resources::new(2500, 8000)));
        assert_eq!(gone, vec![low]);
        // Free = 2500 − 2000 = 500 mcpu; withheld = 4000 − 2500 = 1500.
        assert_eq!(st.machine(0).free, Resources::new(500, 6000));
        assert_eq!(st.withheld(0), Resources::new(1500, 0));
        assert_eq!(
            st.ledger().evictions[EvictionCause::MachineShrunk as usize],
            1
        );
        check(&st).unwrap();
        // Down: everything goes, nothing is offered, GPUs included.
        assert_eq!(st.set_machine(SimTime(2), 0, None), vec![high]);
        assert!(!st.machine_up(0));
        assert_eq!(st.machine(0).free, Resources::ZERO);
        assert_eq!(st.machine(0).gpu_free_milli, vec![0, 0]);
        check(&st).unwrap();
        // Back up at full size: all of it free again.
        assert!(st
            .set_machine(SimTime(3), 0, Some(Resources::new(9999, 9999)))
            .is_empty());
        assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
        assert_eq!(st.machine(0).gpu_free_milli, vec![1000, 1000]);
        check(&st).unwrap();
    }

    #[test]
    #[should_panic(expected = "which is down")]
    fn nothing_is_placed_on_a_down_machine() {
        let mut st = cell(&[(4000, 8000, 0)]);
        st.set_machine(SimTime(1), 0, None);
        occupy(&mut st, 0, 0, 0, 0);
    }

    #[test]
    fn killing_withdraws_pending_and_running_tasks() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
        st.place(SimTime(1), a, 0);
        assert!(st.kill(SimTime(2), a));
        assert!(st.kill(SimTime(2), b));
        assert!(!st.kill(SimTime(3), b), "already gone");
        assert_eq!(st.pending().len(), 0);
        assert_eq!(st.machine(0).free, Resources::new(4000, 8000));
        assert_eq!(
            (st.ledger().tasks_killed, st.ledger().tasks_finished),
            (2, 2)
        );
        check(&st).unwrap();
    }

    #[test]
    fn finished_jobs_are_reclaimed_and_their_slots_reused() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let a = submit(&mut st, job(1000, 1000, 100, 2));
        let (t0, t1) = (st.job(a).tasks[0], st.job(a).tasks[1]);
        st.place(SimTime(1), t0, 0);
        st.place(SimTime(1), t1, 0);
        assert!(st.finish(SimTime(2), t0, 1));
        // The finished task's slot is freed; the job lives on.
        assert!(st.reclaim().is_empty(), "one task still runs");
        assert!(st.is_live_job(a));
        check(&st).unwrap();
        assert!(st.finish(SimTime(3), t1, 1));
        assert_eq!(st.reclaim(), &[a]);
        assert!(!st.is_live_job(a));
        check(&st).unwrap();
        // The next job takes the freed ids (ascending) and job id; a
        // completion scheduled for an old task (incarnation 1) is stale.
        let b = submit(&mut st, job(500, 500, 100, 3));
        assert_eq!(b, a);
        assert_eq!(&st.job(b).tasks[..], &[t0, t1, 2]);
        assert_eq!(st.job(b).serial, 1);
        st.place(SimTime(4), t0, 0);
        assert!(!st.finish(SimTime(5), t0, 1));
        assert!(st.finish(SimTime(5), t0, 2));
        check(&st).unwrap();
        assert_eq!(st.ledger().tasks_reclaimed, 2);
        assert_eq!(st.tasks().len(), 3);
    }
}
