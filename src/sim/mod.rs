//! The simulation driver: turns events into calls on the cell and the
//! scheduler, and the scheduler's actions back into events.
//!
//! Events:
//! - `JobArrival`: submit the jobs of the workload source due now;
//! - `TaskEnd`: a task's run is over (ignored if the task was evicted since);
//! - `SchedPass`: run one scheduling pass;
//! - `Sample`: record a time-series row;
//! - `End`: the horizon; the run stops. Without a horizon (run until
//!   drained) the run stops when no event is left.
//!
//! Scheduling passes are driven by change: an arrival, a completion or an
//! eviction asks for a pass, which runs at the same time or, if a pass ran
//! less than `pass_interval` ago, when the interval is up. With nothing
//! changed, no pass runs, so a cell with stuck pending tasks costs nothing.

use crate::cell::invariants;
use crate::cell::state::CellState;
use crate::engine::{next_event, Clock, EventQueue};
use crate::metrics::timeseries::{Sample, TimeSeries};
use crate::rng::{RngStreams, Stream};
use crate::sched::{Action, SchedConfig, Scheduler};
use crate::time::{SimDuration, SimTime};
use crate::workload::{JobSource, JobSpec, TaskId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    JobArrival,
    TaskEnd { task: TaskId, incarnation: u32 },
    SchedPass,
    Sample,
    End,
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
}

/// A simulation in progress.
pub struct Simulation {
    opts: SimOptions,
    clock: Clock,
    queue: EventQueue<Event>,
    state: CellState,
    sched: Scheduler,
    source: Box<dyn JobSource>,
    next_job: Option<(SimTime, JobSpec)>,
    pass_pending: bool,
    last_pass: Option<SimTime>,
    series: TimeSeries,
    actions: Vec<Action>,
    events: u64,
    done: bool,
}

impl Simulation {
    pub fn new(state: CellState, source: Box<dyn JobSource>, opts: SimOptions) -> Self {
        let mut sim = Simulation {
            opts,
            clock: Clock::default(),
            queue: EventQueue::with_capacity(1024),
            state,
            sched: Scheduler::new(
                opts.sched,
                RngStreams::new(opts.seed).stream(Stream::Scheduler),
            ),
            source,
            next_job: None,
            pass_pending: false,
            last_pass: None,
            series: TimeSeries::default(),
            actions: Vec::new(),
            events: 0,
            done: false,
        };
        if opts.horizon != SimTime::NEVER {
            sim.queue.push(opts.horizon, Event::End);
        }
        sim.queue.push(SimTime::ZERO, Event::Sample);
        sim.fetch_next_job();
        sim
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
    pub fn events_processed(&self) -> u64 {
        self.events
    }
    pub fn options(&self) -> &SimOptions {
        &self.opts
    }
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Processes one event. Returns false once the run has ended.
    pub fn step(&mut self) -> bool {
        if self.done {
            return false;
        }
        let Some(ev) = next_event(&mut self.clock, &mut self.queue) else {
            // Drained: nothing more can happen.
            self.finish();
            return false;
        };
        self.events += 1;
        let now = self.clock.now();
        match ev {
            Event::JobArrival => self.on_arrival(now),
            Event::TaskEnd { task, incarnation } => {
                if self.state.finish(now, task, incarnation) {
                    self.request_pass(now);
                }
            }
            Event::SchedPass => self.on_pass(now),
            Event::Sample => self.on_sample(now),
            Event::End => self.finish(),
        }
        if self.opts.check_invariants {
            if let Err(e) = invariants::check(&self.state) {
                panic!("invariant violated at {now} after {ev:?}: {e}");
            }
        }
        !self.done
    }

    /// Runs to the horizon, calling `progress` every 64k events.
    pub fn run(&mut self, progress: &mut dyn FnMut(SimTime)) {
        while self.step() {
            if self.events % 65_536 == 0 {
                progress(self.clock.now());
            }
        }
        progress(self.clock.now());
    }

    /// Ends the run at the current time, with a last sample.
    fn finish(&mut self) {
        let now = self.clock.now();
        self.state.advance(now);
        self.series.push(Sample::of(&self.state, now));
        self.done = true;
    }

    fn fetch_next_job(&mut self) {
        self.next_job = self.source.next_job();
        if let Some((t, _)) = &self.next_job {
            if *t <= self.opts.horizon {
                self.queue.push(*t, Event::JobArrival);
            }
        }
    }

    /// Submits every job due now (one event for all of them, so that a
    /// scheduling pass at this time sees them all), then asks for a pass.
    fn on_arrival(&mut self, now: SimTime) {
        while let Some((t, _)) = &self.next_job {
            if *t != now {
                break;
            }
            let (_, spec) = self.next_job.take().expect("checked");
            self.state.submit_job(now, spec);
            self.next_job = self.source.next_job();
        }
        if let Some((t, _)) = &self.next_job {
            assert!(*t >= now, "the job source went back in time");
            if *t <= self.opts.horizon {
                self.queue.push(*t, Event::JobArrival);
            }
        }
        self.request_pass(now);
    }

    fn request_pass(&mut self, now: SimTime) {
        if self.pass_pending || self.state.pending().is_empty() {
            return;
        }
        let at = match self.last_pass {
            Some(last) => now.max(last + self.opts.pass_interval),
            None => now,
        };
        self.pass_pending = true;
        self.queue.push(at, Event::SchedPass);
    }

    fn on_pass(&mut self, now: SimTime) {
        self.pass_pending = false;
        self.last_pass = Some(now);
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        self.sched.pass(&mut self.state, now, &mut actions);
        let mut evicted = false;
        for a in &actions {
            match *a {
                Action::Place { task, .. } => {
                    let rec = self.state.task(task);
                    if let Some(d) = rec.duration {
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
        if evicted {
            // Victims are pending again; another pass may place them elsewhere.
            self.request_pass(now);
        }
    }

    fn on_sample(&mut self, now: SimTime) {
        self.state.advance(now);
        self.series.push(Sample::of(&self.state, now));
        let next = now + self.opts.sample_interval;
        // Until drained, sampling stops when nothing else is left to happen.
        let drained = self.opts.horizon == SimTime::NEVER && self.queue.is_empty();
        if next < self.opts.horizon && !drained {
            self.queue.push(next, Event::Sample);
        }
    }
}
