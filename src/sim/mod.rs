//! The simulation driver: turns events into calls on the cell and the
//! scheduler, and the scheduler's actions back into events.
//!
//! Events:
//! - `JobArrival`: apply the workload feed's events due now (submissions;
//!   for trace replays also machine changes and the trace's placements);
//! - `TaskEnd`: a task's run is over (ignored if the task was evicted since);
//! - `SchedPass`: run one scheduling pass;
//! - `Sample`: record a time-series row;
//! - `Reclaim`: the reclamation tick (only with `[reclamation]` on or
//!   measuring: [`Simulation::reclaim`]): every running task's usage drawn
//!   anew, reservations decayed, machines settled;
//! - `BackoffOver`: a task killed for memory may be placed again (see
//!   `cell::state::usage::backoff`): a pass is asked for;
//! - `End`: the horizon; the run stops. Without a horizon (run until
//!   drained) the run stops at its last real event: when only the sampler's
//!   next `Sample` (and the next reclamation tick) is left, the run ends at
//!   the current time, so no reporting parameter moves the end (or any
//!   figure computed over it), and the tick keeps no drained run alive.
//!
//! The time series and the GPU curve stream to their files as the run goes
//! when a caller attaches them ([`Simulation::stream_series`],
//! [`Simulation::stream_gpu_curve`]); memory keeps a bounded thinned copy
//! for plots (see [`crate::metrics::timeseries`]). So does the event log
//! ([`Simulation::log_events`]): the cell records its changes during an
//! event, and they are written after it, before finished tasks' slots are
//! reclaimed. Snapshots ([`Simulation::take_snapshots`]) at T are written
//! once every event at T has run: before the first later event, or at the
//! end. A write that fails stops the run with that error, as a bad trace
//! row does. With neither attached, each costs the driver one comparison
//! per event.
//!
//! Scheduling passes are driven by change: an arrival, a completion or an
//! eviction asks for a pass, which runs at the same time or, if a pass ran
//! less than `pass_interval` ago, when the interval is up. With nothing
//! changed, no pass runs, so a cell with stuck pending tasks costs nothing.

pub mod feed;
pub mod queued;
mod reclaim;

use crate::cell::invariants;
use crate::cell::state::{CellState, TaskState};
use crate::engine::{next_event, Clock, EventQueue};
use crate::error::{Error, Result};
use crate::faults::{FaultEvent, Faults};
use crate::metrics::events::EventLog;
use crate::metrics::gpu_packing::GpuCurve;
use crate::metrics::gpu_packing::Point;
use crate::metrics::snapshot::Snapshots;
use crate::metrics::stream::CsvStream;
use crate::metrics::timeseries::{self, Sample, TimeSeries};
use crate::rng::{RngStreams, SimRng, Stream};
use crate::sched::explain::Watch;
use crate::sched::typical::{TypicalPods, TypicalSource};
use crate::sched::{Action, Profile, SchedConfig, Scheduler};
use crate::time::{SimDuration, SimTime};
use crate::workload::{JobSource, TaskId};
use feed::{Effects, Feed, JobFeed};
use queued::{RescheduleQueue, RescheduleRule};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    JobArrival,
    TaskEnd {
        task: TaskId,
        incarnation: u32,
    },
    SchedPass,
    Sample,
    End,
    /// A fault's step (`crate::faults`); only with a `[faults]` table.
    Fault(FaultEvent),
    /// The reclamation tick; only with reclamation on or measuring.
    Reclaim,
    /// A task's hold after an out-of-memory kill ends: a pass may place it.
    BackoffOver,
}

/// Run-time options of a simulation.
#[derive(Copy, Clone, Debug)]
pub struct SimOptions {
    pub horizon: SimTime,
    pub pass_interval: SimDuration,
    pub sample_interval: SimDuration,
    pub sched: SchedConfig,
    /// The run's root seed; the scheduler's random stream is split from it.
    pub seed: u64,
    /// Run the independent invariant checker after every event (slow).
    pub check_invariants: bool,
    /// Run scheduling passes (off when replaying a trace's own placements).
    pub passes: bool,
    /// After each pass, withdraw every task still pending (arrivals that fit
    /// nowhere are dropped, as in the openb paper's protocol).
    pub drop_unplaced: bool,
    /// Fixed ends of the steady-state window (see
    /// [`crate::cell::state::history`]); `None` follows the default rule.
    pub steady_window: (Option<SimTime>, Option<SimTime>),
    /// The `k` of prod job availability's "at least n − k tasks running"
    /// (see [`crate::cell::state::availability`]).
    pub availability_k: u32,
}

impl SimOptions {
    /// Options with the defaults for everything a scenario does not set.
    pub fn new(horizon: SimTime, sched: SchedConfig, seed: u64) -> Self {
        SimOptions {
            horizon,
            pass_interval: SimDuration::from_secs(1),
            sample_interval: SimDuration::from_secs(60),
            sched,
            seed,
            check_invariants: false,
            passes: true,
            drop_unplaced: false,
            steady_window: (None, None),
            availability_k: 1,
        }
    }
}

/// The scheduler's random stream of a run with this root seed.
fn scheduler_rng(seed: u64) -> SimRng {
    RngStreams::new(seed).stream(Stream::Scheduler)
}

/// What [`Simulation::load_ahead`] asks for.
#[derive(Copy, Clone)]
enum Ahead {
    Record,
    Release,
}

/// A simulation in progress.
pub struct Simulation {
    opts: SimOptions,
    clock: Clock,
    queue: EventQueue<Event>,
    state: CellState,
    sched: Scheduler,
    feed: Box<dyn Feed>,
    fx: Effects,
    error: Option<Error>,
    pass_pending: bool,
    last_pass: Option<SimTime>,
    series: TimeSeries,
    actions: Vec<Action>,
    /// Events processed, not counting the sampler's (a reporting
    /// parameter must not change a figure of `summary.json`).
    events: u64,
    /// GPU allocation as arrived demand grows (one-by-one replays).
    gpu_curve: GpuCurve,
    /// The workload's typical pods, once counted (for `fgd` or the frag
    /// metric; see [`Simulation::typical_pods`]).
    typical: Option<TypicalPods>,
    /// A `Sample` event is in the queue (there is at most one).
    sample_queued: bool,
    /// The last instant a task was submitted, placed, evicted or ended, and
    /// the ledger's counts that tell it (see [`Simulation::end_time`]).
    last_task_change: SimTime,
    task_counts: [u64; 4],
    done: bool,
    /// A task being explained (`borgsim explain`): its passes are watched.
    watch: Option<Box<Watch>>,
    /// Where the cell's recorded changes go, if anywhere.
    event_log: Option<EventLog>,
    /// Snapshots still to take, and the next one's time (`NEVER`: none).
    snapshots: Option<Snapshots>,
    next_snapshot: SimTime,
    /// Injected faults, if the scenario has any (one branch per event
    /// otherwise), and a buffer for the events they schedule.
    faults: Option<Box<Faults>>,
    fault_events: Vec<(SimTime, FaultEvent)>,
    /// The faults' reschedule rate limit, if any (what
    /// [`Simulation::reschedule_queue`] reckons turns with).
    reschedule_rule: Option<RescheduleRule>,
    /// The reschedule queue as it stood when the run ended, before the
    /// faults flushed it into the pending queue (see [`queued`]).
    queued_at_end: Vec<(TaskId, SimTime)>,
    /// The reclamation tick's interval (`None`: reclamation off), whether
    /// a tick is in the queue (there is at most one), and the
    /// out-of-memory kills seen so far (new ones ask for a pass).
    reclaim_interval: Option<SimDuration>,
    /// A trace's usage rows taken from the feed (reused buffer).
    usage_rows: Vec<(TaskId, crate::cell::resources::Resources)>,
    tick_queued: bool,
    oom_kills_seen: u64,
    /// The ends of holds after out-of-memory kills (reused buffer).
    backoff_ends: Vec<SimTime>,
}

impl Simulation {
    /// A simulation of a synthetic (or listed) workload.
    pub fn new(state: CellState, source: Box<dyn JobSource>, opts: SimOptions) -> Self {
        Self::with_feed(state, Box::new(JobFeed::new(source)), opts)
    }

    /// A simulation driven by any feed (a trace replay).
    pub fn with_feed(mut state: CellState, feed: Box<dyn Feed>, opts: SimOptions) -> Self {
        state.set_steady_window(opts.steady_window.0, opts.steady_window.1);
        state.set_availability_k(opts.availability_k);
        state.count_spread_for_all(opts.sched.spreading.is_some());
        state.remember_failures_of(opts.sched.avoid_failed, opts.sched.failure_scope);
        let mut sim = Simulation {
            opts,
            clock: Clock::default(),
            queue: EventQueue::with_capacity(1024),
            state,
            sched: Scheduler::with_profile(
                opts.sched,
                Profile::for_config_seeded(&opts.sched, RngStreams::new(opts.seed)),
                scheduler_rng(opts.seed),
            ),
            feed,
            fx: Effects::default(),
            error: None,
            pass_pending: false,
            last_pass: None,
            series: TimeSeries::default(),
            actions: Vec::new(),
            events: 0,
            gpu_curve: GpuCurve::default(),
            typical: None,
            sample_queued: true,
            last_task_change: SimTime::ZERO,
            task_counts: [0; 4],
            done: false,
            watch: None,
            event_log: None,
            snapshots: None,
            next_snapshot: SimTime::NEVER,
            faults: None,
            fault_events: Vec::new(),
            reschedule_rule: None,
            queued_at_end: Vec::new(),
            reclaim_interval: None,
            usage_rows: Vec::new(),
            tick_queued: false,
            oom_kills_seen: 0,
            backoff_ends: Vec::new(),
        };
        if opts.horizon != SimTime::NEVER {
            sim.queue.push(opts.horizon, Event::End);
        }
        sim.queue.push(SimTime::ZERO, Event::Sample);
        sim.schedule_next_arrival(SimTime::ZERO);
        sim
    }

    /// The same simulation with its scheduler running `profile` — plugins
    /// of one's own, see [`crate::sched::profile`] — instead of the pipeline
    /// of the scenario's policy, which then only names the run in reports.
    /// Panics if the scheduler has run a pass: until then it holds nothing
    /// but its untouched random stream, so the run is exactly one built with
    /// the profile from the start.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        assert_eq!(
            self.sched.stats().passes,
            0,
            "a profile is set before the first scheduling pass"
        );
        self.sched =
            Scheduler::with_profile(self.opts.sched, profile, scheduler_rng(self.opts.seed));
        self
    }

    /// Injects `faults` (see [`crate::faults`]), whose first events are
    /// `first`; the cell records its changes from now on, for the faults
    /// to follow their tasks. Panics if the run has started.
    pub fn inject_faults(&mut self, faults: Faults, first: Vec<(SimTime, FaultEvent)>) {
        assert_eq!(self.events, 0, "faults are injected before the first event");
        self.state.record_events(true);
        for (t, ev) in first {
            self.queue.push(t, Event::Fault(ev));
        }
        self.faults = Some(Box::new(faults));
    }

    /// The injected faults, if any.
    pub fn faults(&self) -> Option<&Faults> {
        self.faults.as_deref()
    }

    /// The injected faults' reschedule rate limit, for
    /// [`Simulation::reschedule_queue`] to tell when a queued task's turn
    /// comes (without it, only its place in the queue).
    pub fn set_reschedule_rule(&mut self, rule: Option<RescheduleRule>) {
        self.reschedule_rule = rule;
    }

    /// The reschedule queue: now, or once the run is over as it stood when
    /// the run ended (see [`queued`]).
    pub fn reschedule_queue(&self) -> RescheduleQueue {
        let now = self.now();
        match self.done {
            false => RescheduleQueue::of(&self.state, self.reschedule_rule, now),
            // The end's own instant ran no other event: the limit last
            // counted in the window before it.
            true => RescheduleQueue::new(
                self.queued_at_end.iter().copied(),
                self.reschedule_rule,
                SimTime(now.as_us().saturating_sub(1)),
            ),
        }
    }

    /// Admits every job of more than `tasks` tasks without its constraints
    /// and spread limits (see [`crate::cell::state::Relaxation`]). Panics
    /// if a job was submitted already: the rule holds for the whole run.
    pub fn relax_jobs_above(&mut self, tasks: u64) {
        assert_eq!(
            self.state.ledger().tasks_submitted,
            0,
            "the relaxation rule is set before the first submission"
        );
        self.state.relax_jobs_above(tasks);
    }

    pub fn now(&self) -> SimTime {
        self.clock.now()
    }
    pub fn state(&self) -> &CellState {
        &self.state
    }
    pub fn scheduler(&self) -> &Scheduler {
        &self.sched
    }
    pub fn series(&self) -> &TimeSeries {
        &self.series
    }
    /// Writes every sample of the time series to `out` as the run goes
    /// (call before the first step). A run that already ended — its feed
    /// failed as it was built — has nothing to write; `run` returns its error.
    pub fn stream_series(&mut self, out: timeseries::SeriesStream) {
        if !self.done {
            self.series.stream_to(out);
        }
    }
    /// Writes every point of the GPU curve to `out` as the run goes (call
    /// before the first step; see [`Simulation::stream_series`]).
    pub fn stream_gpu_curve(&mut self, out: CsvStream<Point>) {
        if !self.done {
            self.gpu_curve.stream_to(out);
        }
    }
    /// Writes a row to `log` for every change of a task or a machine from
    /// now on (call before the first step; see [`crate::metrics::events`]).
    pub fn log_events(&mut self, log: EventLog) {
        self.state.record_events(true);
        self.event_log = Some(log);
    }
    /// The event log, to finish it once the run is over.
    pub fn take_event_log(&mut self) -> Option<EventLog> {
        if self.faults.is_none() {
            self.state.record_events(false);
        }
        self.event_log.take()
    }
    /// Takes `snaps` as the run reaches their times (call before the first
    /// step; see [`crate::metrics::snapshot`]).
    pub fn take_snapshots(&mut self, snaps: Snapshots) {
        self.next_snapshot = snaps.next();
        self.snapshots = Some(snaps);
    }
    /// The snapshots: those written, those the run did not reach.
    pub fn snapshots(&self) -> Option<&Snapshots> {
        self.snapshots.as_ref()
    }
    /// GPU allocation as arrived demand grew (runs that drop unplaced
    /// arrivals: the openb protocol).
    pub fn gpu_curve(&self) -> &GpuCurve {
        &self.gpu_curve
    }
    pub fn events_processed(&self) -> u64 {
        self.events
    }
    pub fn options(&self) -> &SimOptions {
        &self.opts
    }
    pub fn is_done(&self) -> bool {
        self.done
    }
    /// The workload feed (trace replays report their counts through it).
    pub fn feed(&self) -> &dyn Feed {
        self.feed.as_ref()
    }

    /// The typical pods the run measured fragmentation against (`fgd`'s
    /// scores, the paper's frag metric), once counted; `None` for a run
    /// that needed none.
    pub fn typical_pods(&self) -> Option<&TypicalPods> {
        self.typical.as_ref()
    }

    /// Watches a task through the run (`borgsim explain`): every pass is
    /// then a watched one ([`Scheduler::pass_watched`]), after the driver
    /// has looked for the task among the pending ones if it has not found
    /// it yet (once per pass; a trace's task by the feed's label of it).
    pub fn watch(&mut self, watch: Watch) {
        self.watch = Some(Box::new(watch));
    }

    /// The watch set by [`Simulation::watch`].
    pub fn watched(&self) -> Option<&Watch> {
        self.watch.as_deref()
    }

    /// The error that stopped the run early (a bad trace row), once:
    /// what [`Simulation::run`] returns, for a caller that steps.
    pub fn take_error(&mut self) -> Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// When the next event is due (`None`: nothing is left to happen).
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Processes one event. Returns false once the run has ended.
    pub fn step(&mut self) -> bool {
        if self.done {
            return false;
        }
        if self.drained() {
            // Nothing more can happen: the run ends at its last real event.
            self.finish();
            return false;
        }
        let Some(ev) = next_event(&mut self.clock, &mut self.queue) else {
            self.finish();
            return false;
        };
        self.load_ahead(Ahead::Record);
        if ev == Event::Sample {
            self.sample_queued = false;
        } else {
            self.events += 1;
        }
        let now = self.clock.now();
        if now > self.next_snapshot {
            // Every event before `now` has run: snapshots before it are due.
            self.write_snapshots(SimTime(now.as_us() - 1));
        }
        match ev {
            Event::JobArrival => self.on_arrival(now),
            Event::TaskEnd { task, incarnation } => {
                let rec = self.state.task(task);
                let current = rec.incarnation == incarnation
                    && matches!(rec.state, TaskState::Running { .. });
                let ended = match current && self.feed.ends_killed(task) {
                    true => self.state.kill(now, task),
                    false => self.state.finish(now, task, incarnation),
                };
                if ended {
                    self.feed
                        .task_done(now, task, &mut self.state, &mut self.fx);
                    self.fx.changed = true;
                    self.apply_effects(now);
                }
            }
            Event::SchedPass => self.on_pass(now),
            Event::Sample => self.on_sample(now),
            Event::End => self.finish(),
            Event::Fault(f) => self.on_fault(f, now),
            Event::Reclaim => self.on_tick(now),
            Event::BackoffOver => self.request_pass(now),
        }
        if self.reclaim_interval.is_some() {
            self.follow_oom_kills(now);
        }
        self.note_task_changes(now);
        if self.faults.is_some() {
            self.follow_faults(now, ev == Event::JobArrival);
        }
        if self.event_log.is_some() {
            self.write_events();
        }
        let reclaimed = self.state.reclaim();
        if !reclaimed.is_empty() {
            self.sched.forget_jobs(reclaimed);
            self.feed.forget_done();
        }
        if self.opts.check_invariants {
            if let Err(e) = invariants::check(&self.state) {
                panic!("invariant violated at {now} after {ev:?}: {e}");
            }
        }
        self.load_ahead(Ahead::Release);
        !self.done
    }

    /// If the next event ends a task, asks the processor to load what it
    /// will read (see `crate::prefetch`): a task that ends started long
    /// ago, so its records are cold. At an event's start, the task's
    /// record; at its end (the record has most likely arrived by then),
    /// what the release reads beyond it.
    fn load_ahead(&self, what: Ahead) {
        if let Some(Event::TaskEnd { task, .. }) = self.queue.peek_cheap() {
            match what {
                Ahead::Record => self.state.prefetch_task(*task),
                Ahead::Release => self.state.prefetch_release(*task),
            }
        }
    }

    /// Runs to the horizon, calling `progress` every 64k events. Fails if
    /// the workload feed does (a bad trace row).
    pub fn run(&mut self, progress: &mut dyn FnMut(SimTime)) -> Result<()> {
        while self.step() {
            if self.events.is_multiple_of(65_536) {
                progress(self.clock.now());
            }
        }
        progress(self.clock.now());
        self.take_error()
    }

    /// Remembers `now` if a task changed state in the event just processed.
    fn note_task_changes(&mut self, now: SimTime) {
        let l = self.state.ledger();
        let counts = [
            l.tasks_submitted,
            l.placements,
            l.tasks_finished,
            l.evictions.iter().sum(),
        ];
        if counts != self.task_counts {
            self.task_counts = counts;
            self.last_task_change = now;
        }
    }

    /// When the run ended, for its figures: the horizon, or for a drained
    /// run its last event — except that events after the last task's end
    /// that change no task (a trace's later machine rows, rows it ignores)
    /// do not stretch a run with no task left in it (running, pending or
    /// held): it then ends at its last task change.
    pub fn end_time(&self) -> SimTime {
        let st = &self.state;
        let idle = st.pending().is_empty()
            && st.delayed_len() == 0
            && st.ledger().running_by_band.iter().all(|&n| n == 0)
            && self.feed.held_count() == 0;
        if self.opts.horizon == SimTime::NEVER && idle {
            self.last_task_change.min(self.now())
        } else {
            self.now()
        }
    }

    /// A run without a horizon is drained when the sampler's next `Sample`
    /// (and the next reclamation tick) is all that is left to happen.
    fn drained(&self) -> bool {
        self.opts.horizon == SimTime::NEVER
            && self.queue.len() <= usize::from(self.sample_queued) + usize::from(self.tick_queued)
    }

    /// Runs a fault's step; asks for a pass if the cell changed.
    #[cold]
    #[inline(never)]
    fn on_fault(&mut self, ev: FaultEvent, now: SimTime) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let changed = f.handle(ev, now, &mut self.state, &mut self.fault_events);
        self.queue_fault_events();
        if changed {
            self.request_pass(now);
        }
    }

    fn queue_fault_events(&mut self) {
        for (t, ev) in self.fault_events.drain(..) {
            self.queue.push(t, Event::Fault(ev));
        }
    }

    /// Shows the faults what the cell recorded in the event just run
    /// (before the event log takes the same records, and before slots are
    /// reclaimed). `from_feed`: the workload feed made the changes (a
    /// trace's machine REMOVE is a fault then).
    #[cold]
    #[inline(never)]
    fn follow_faults(&mut self, now: SimTime, from_feed: bool) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let events = self.state.take_events();
        let changed = f.observe(
            &events,
            from_feed,
            now,
            &mut self.state,
            &mut self.fault_events,
        );
        if self.event_log.is_some() {
            self.write_events_of(&events);
        }
        self.state.return_events(events);
        self.queue_fault_events();
        if changed {
            self.request_pass(now);
        }
    }

    /// Writes the changes the cell recorded in the event just run (out of
    /// line: `step` stays as it is without a log).
    #[cold]
    #[inline(never)]
    fn write_events(&mut self) {
        let Some(log) = self.event_log.as_mut() else {
            return;
        };
        let events = self.state.take_events();
        let written = log.write(&events, &self.state, self.feed.as_ref());
        self.state.return_events(events);
        if let Err(e) = written {
            self.fail(e);
        }
    }

    /// Writes `events` (taken already) to the event log.
    fn write_events_of(&mut self, events: &[crate::cell::state::CellEvent]) {
        let Some(log) = self.event_log.as_mut() else {
            return;
        };
        if let Err(e) = log.write(events, &self.state, self.feed.as_ref()) {
            self.fail(e);
        }
    }

    /// Writes the snapshots due at or before `t` (out of line, as
    /// [`Simulation::write_events`]).
    #[cold]
    #[inline(never)]
    fn write_snapshots(&mut self, t: SimTime) {
        let Some(snaps) = self.snapshots.as_mut() else {
            return;
        };
        match snaps.write_due(t, &self.state, self.feed.as_ref()) {
            Ok(()) => self.next_snapshot = snaps.next(),
            Err(e) => {
                // No further attempt, not even as the failed run ends.
                self.next_snapshot = SimTime::NEVER;
                self.fail(e);
            }
        }
    }

    /// Ends the run at the current time, with a last sample; the streamed
    /// outputs are complete.
    fn finish(&mut self) {
        let now = self.clock.now();
        let first = !self.done;
        self.state.advance(now);
        if now >= self.next_snapshot && !self.done && self.error.is_none() {
            self.write_snapshots(now);
        }
        self.done = true;
        let last = Sample::of(&self.state, now, self.feed.held_count());
        let written = self
            .series
            .push(last)
            .and_then(|()| self.series.close())
            .and_then(|()| self.gpu_curve.close());
        if let Err(e) = written {
            self.note_error(e);
        }
        if let Some(f) = self.faults.as_deref_mut().filter(|_| first) {
            self.queued_at_end = self.state.delayed().collect();
            f.finish(now, &mut self.state);
        }
    }

    /// Queues the feed's next arrival, or stops the run on a feed error.
    fn schedule_next_arrival(&mut self, now: SimTime) {
        match self.feed.next_time() {
            Ok(Some(t)) => {
                assert!(t >= now, "the workload feed went back in time");
                if t <= self.opts.horizon {
                    self.queue.push(t, Event::JobArrival);
                }
            }
            Ok(None) => {}
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: Error) {
        self.note_error(e);
        self.finish();
    }

    /// Keeps the first error: the one that stopped the run.
    fn note_error(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// Applies the feed's events due now (one event for all of them, so that
    /// a scheduling pass at this time sees them all).
    fn on_arrival(&mut self, now: SimTime) {
        if let Err(e) = self.feed.apply(now, &mut self.state, &mut self.fx) {
            return self.fail(e);
        }
        if self.reclaim_interval.is_some() {
            self.apply_trace_usage(now);
        }
        self.apply_effects(now);
        self.schedule_next_arrival(now);
    }

    /// Schedules the task ends a feed made known and asks for a pass if the
    /// cell changed.
    fn apply_effects(&mut self, now: SimTime) {
        for (at, task) in self.fx.ends.drain(..) {
            let rec = self.state.task(task);
            if matches!(rec.state, TaskState::Running { .. }) {
                let ev = Event::TaskEnd {
                    task,
                    incarnation: rec.incarnation,
                };
                self.queue.push(at.max(now), ev);
            }
        }
        if std::mem::take(&mut self.fx.changed) {
            self.request_pass(now);
        }
    }

    fn request_pass(&mut self, now: SimTime) {
        if !self.opts.passes || self.pass_pending || self.state.pending().is_empty() {
            return;
        }
        let at = match self.last_pass {
            Some(last) => now.max(last + self.opts.pass_interval),
            None => now,
        };
        self.pass_pending = true;
        self.queue.push(at, Event::SchedPass);
    }

    /// Before the first pass of a profile with FGD parts: its typical pods,
    /// from the feed's pod list or else from the tasks submitted so far
    /// (each job's request and constraints, once per task).
    fn fill_typical_pods(&mut self) {
        let Some(slot) = self.sched.typical_slot() else {
            return;
        };
        if slot.get().is_some() {
            return;
        }
        let typical = self.workload_typical_pods();
        if let Some(slot) = self.sched.typical_slot() {
            let _ = slot.set(typical);
        }
    }

    /// The workload's typical pods: the feed's (its pod list, or its first
    /// tasks read ahead), or else those of the tasks submitted so far (each
    /// job's request and constraints, once per task). Counted once; a
    /// feed's error reading ahead stops the run.
    fn workload_typical_pods(&mut self) -> TypicalPods {
        if let Some(tp) = &self.typical {
            return tp.clone();
        }
        let given = match self.feed.typical_pods(&mut self.state) {
            Ok(given) => given,
            Err(e) => {
                self.fail(e);
                None
            }
        };
        let tp = given.unwrap_or_else(|| {
            let jobs = self.state.jobs().iter();
            TypicalPods::from_tasks(
                TypicalSource::FirstPass,
                jobs.flat_map(|j| {
                    let n = j.tasks.len();
                    std::iter::repeat_n((j.spec.request, &j.spec.constraints[..]), n)
                }),
            )
        });
        self.typical = Some(tp.clone());
        tp
    }

    fn on_pass(&mut self, now: SimTime) {
        self.pass_pending = false;
        self.last_pass = Some(now);
        self.fill_typical_pods();
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        match self.watch.as_deref_mut() {
            None => self.sched.pass(&mut self.state, now, &mut actions),
            Some(w) => {
                find_watched(w, &self.state, self.feed.as_ref());
                self.sched
                    .pass_watched(&mut self.state, now, &mut actions, w);
            }
        }
        let mut evicted = false;
        for a in &actions {
            match *a {
                Action::Place { task, .. } => {
                    let rec = self.state.task(task);
                    if let Some(d) = rec.duration() {
                        let ev = Event::TaskEnd {
                            task,
                            incarnation: rec.incarnation,
                        };
                        self.queue.push(now + d, ev);
                    }
                }
                Action::Evict { .. } => evicted = true,
            }
        }
        self.actions = actions;
        if self.opts.drop_unplaced {
            self.drop_pending(now);
        }
        if evicted {
            // Victims are pending again; another pass may place them elsewhere.
            self.request_pass(now);
        }
    }

    /// Withdraws every pending task (see [`SimOptions::drop_unplaced`]).
    fn drop_pending(&mut self, now: SimTime) {
        let pending: Vec<TaskId> = self
            .state
            .pending()
            .scan_order()
            .into_iter()
            .flat_map(|(_, tasks)| tasks.into_iter().map(|(_, t)| t))
            .collect();
        for t in pending {
            self.state.drop_unplaced(now, t);
            self.feed.task_done(now, t, &mut self.state, &mut self.fx);
        }
        // Withdrawing frees nothing; a pass is asked for only if the feed
        // submitted something in response (a DAG stage released).
        self.apply_effects(now);
        if self.gpu_curve.wants_typical(&self.state) {
            let typical = self.workload_typical_pods();
            self.gpu_curve.measure_frag(typical);
        }
        if let Err(e) = self.gpu_curve.observe(&self.state, now) {
            self.fail(e);
        }
    }

    fn on_sample(&mut self, now: SimTime) {
        self.state.advance(now);
        let sample = Sample::of(&self.state, now, self.feed.held_count());
        // A sample that repeats the previous one (nothing happened in
        // between) lets the sampler skip ahead to the interval in which the
        // next event falls: a trace with a far-off event (or a long idle
        // stretch) costs a few samples, not one per interval.
        let idle = self
            .series
            .last()
            .is_some_and(|last| last.same_state(&sample));
        if let Err(e) = self.series.push(sample) {
            return self.fail(e);
        }
        let step = self.opts.sample_interval;
        let mut next = now + step;
        if idle {
            if let Some(t) = self.queue.peek_time() {
                if t > next {
                    let skip = (t - now).as_us() / step.as_us();
                    next = now + SimDuration(skip * step.as_us());
                }
            }
        }
        if next < self.opts.horizon {
            self.queue.push(next, Event::Sample);
            self.sample_queued = true;
        }
    }
}

/// Pins `w` to its task if the task is pending now and it has no task yet
/// (noting the job's task count if only the job is found).
fn find_watched(w: &mut Watch, st: &CellState, feed: &dyn Feed) {
    let Some(wanted) = w.wanted().filter(|_| w.target().is_none()) else {
        return;
    };
    let mut job_tasks = None;
    let mut found = None;
    for t in st.pending().iter_tasks() {
        let job = st.job_of(t);
        if wanted.job_matches(job) {
            job_tasks = Some(job.task_count());
            if wanted.matches(st, t, || feed.trace_task(t)) {
                found = Some((job, t));
                break;
            }
        }
    }
    if let Some(n) = job_tasks {
        w.note_job(n);
    }
    if let Some((job, t)) = found {
        w.set_target(job, t);
    }
}

#[cfg(test)]
mod tests {
    use super::Event;

    #[test]
    fn a_fault_event_does_not_grow_the_queues_entries() {
        // TaskEnd's two u32 and a tag: 12 bytes; a fault's step fits the
        // same (its own tag shares Event's).
        assert_eq!(std::mem::size_of::<Event>(), 12);
    }
}
