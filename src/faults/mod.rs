//! Fault injection: machines that fail, racks and power domains that go
//! out, machines that stop reporting, planned maintenance, tasks that
//! crash, and the reschedule rate limit that Borg applies when many
//! machines vanish at once — with the time each fault takes to recover.
//!
//! A scenario's `[faults]` table ([`crate::scenario::faults`]) is compiled
//! into [`Faults`], which the driver (`sim`) holds only when the table is
//! there: without it the driver pays one branch per event. Each kind has a
//! file of its own (`machine.rs`, `outage.rs`, `unreachable.rs`,
//! `maintenance.rs`, `crash.rs`), dispatched on [`FaultEvent`]; what they
//! share is here: which fault holds each machine down, taking machines
//! down and bringing them back through
//! [`CellState::set_machine_as`] (the cell's one way to do it), the rate
//! limit (`limit.rs`) and the recovery records (`recovery.rs`,
//! `failures.csv`).
//!
//! Every kind draws from its own substreams of [`Stream::Failures`]: one per
//! (kind, rule, machine or domain), so adding a rule or a kind changes no
//! other's draws. Times are drawn as seconds and converted once to integer
//! µs ([`secs_to_us`]).
//!
//! A machine is held by at most one fault at a time (`Holder`): a fault
//! that finds its machine already down (or out of contact, for all but an
//! outage) lets it be, and draws its next time from now. In a trace
//! replay the trace's own machine events win: a REMOVE, ADD or UPDATE of
//! a machine a fault holds ends the hold, and the fault gives nothing back
//! at its end; a REMOVE is a `remove` fault whatever the machine's state.
//! The cell records no change for a REMOVE of a machine already down, so
//! that one is seen in its change log ([`Faults::observe`]).

mod clocks;
mod crash;
mod limit;
mod machine;
mod maintenance;
mod outage;
pub mod recovery;
mod unreachable;

use crate::cell::resources::Resources;
use crate::cell::state::{CellEvent, CellState, EventKind, EvictionCause, TaskChange};
use crate::cell::{Cell, MachineId};
use crate::error::{Error, Result};
use crate::rng::{RngStreams, SimRng, Stream};
use crate::scenario::faults::{FaultsConfig, Lifetime};
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use crate::workload::dist::Dist;
use crate::workload::TaskId;
pub use recovery::{FaultKind, FaultsSummary, Row};
use std::path::PathBuf;

/// A fault's scheduled step. Small and `Copy`: the driver queues it as
/// one of its events.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// Machine failure rule `rule`'s clock for `machine` runs out.
    Fail { rule: u16, machine: MachineId },
    /// Fault `fault` gives its machine back (repair, end of maintenance,
    /// a lost unreachable machine reporting again).
    Repair { machine: MachineId, fault: u32 },
    /// Outage rule `rule` takes out `domain`.
    Outage { rule: u16, domain: u32 },
    /// Outage `fault` ends: its machines come back together.
    OutageEnd { fault: u32 },
    /// Unreachability rule `rule`: `machine` stops reporting.
    LoseContact { rule: u16, machine: MachineId },
    /// `machine`, out of contact since fault `fault`, reports again.
    Regain { machine: MachineId, fault: u32 },
    /// Fault `fault`'s grace period is over: `machine`'s tasks are lost.
    GraceOver { machine: MachineId, fault: u32 },
    /// Maintenance takes the next machines it may.
    Drain,
    /// The rate limit's next window: queued tasks are released.
    Release,
    /// A task's crash clock (for its `incarnation`) runs out.
    Crash { task: TaskId, incarnation: u32 },
}

/// Which fault holds a machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Holder {
    Free,
    Down(u32),
    OutOfContact(u32),
}

/// Where handlers put the events they schedule.
pub type Out = Vec<(SimTime, FaultEvent)>;

/// The compiled `[faults]` table and everything it keeps during a run.
pub struct Faults {
    horizon: SimTime,
    holder: Vec<Holder>,
    /// The capacity a machine offered when a fault took it (given back).
    restore: Vec<Resources>,
    /// The machine's `seq` just after a fault took it down: a trace's
    /// REMOVE of a machine already down changes nothing else in the cell.
    down_seq: Vec<u64>,
    /// The cell's change log position after the faults' last look: what
    /// the next event changes is logged from here.
    cursor: u64,
    machine: machine::MachineFailures,
    outage: outage::Outages,
    unreachable: unreachable::Unreachability,
    maintenance: Option<maintenance::Maintenance>,
    crash: crash::Crashes,
    limit: limit::RateLimit,
    pub(crate) records: recovery::Records,
}

/// One draw of a lifetime, in µs (at least 1).
fn draw_lifetime(l: &Lifetime, rng: &mut SimRng) -> u64 {
    use rand_distr::Distribution;
    let secs = match *l {
        Lifetime::Exponential { mean_s } => rand_distr::Exp::new(1.0 / mean_s)
            .expect("validated")
            .sample(rng),
        Lifetime::Weibull { shape, scale_s } => rand_distr::Weibull::new(scale_s, shape)
            .expect("validated")
            .sample(rng),
    };
    secs_to_us(secs).max(1)
}

/// One draw of a duration in seconds, in µs.
fn draw_secs(d: &Dist, rng: &mut SimRng) -> u64 {
    secs_to_us(d.sample(rng))
}

/// Seconds as integer µs, rounded to the nearest; negative or NaN is 0,
/// beyond the clock is the clock's end (`SimTime::NEVER` − 1).
pub fn secs_to_us(s: f64) -> u64 {
    let us = (s * 1e6).round();
    if us.is_nan() || us <= 0.0 {
        0
    } else if us >= (SimTime::NEVER.as_us() - 1) as f64 {
        SimTime::NEVER.as_us() - 1
    } else {
        us as u64
    }
}

/// The substream of fault `kind`'s rule `rule` for `unit` (a machine, a
/// domain, or 0): kinds, rules and units never share a stream.
fn stream(streams: &RngStreams, kind: FaultKind, rule: usize, unit: u64) -> SimRng {
    let index = ((kind as u64 + 1) << 56) | ((rule as u64) << 40) | unit;
    streams.substream(Stream::Failures, index)
}

/// The machines of a rule: those of machine class `class` (see
/// [`crate::scenario::faults::MachineFailures::class`]), or all.
fn machines_of(cell: &Cell, class: Option<u32>, key: &str) -> Result<Vec<MachineId>> {
    let classes = cell.classes();
    if let Some(c) = class.filter(|&c| c as usize >= classes.class_count()) {
        return Err(Error::Invalid {
            path: PathBuf::from("faults"),
            key: key.into(),
            message: format!(
                "no such machine class: the cell has {} machine classes (0 to {}; a trace's \
                 by capacity, smallest first), got {c}",
                classes.class_count(),
                classes.class_count().max(1) - 1
            ),
        });
    }
    let n = cell.len() as MachineId;
    Ok((0..n)
        .filter(|&m| class.is_none_or(|c| classes.class_of(m) == c))
        .collect())
}

impl Faults {
    /// Compiles `cfg` for `cell`, its draws split from `seed`, and puts
    /// its first events in `out` (for the driver's queue); events after
    /// `horizon` are never scheduled.
    ///
    /// # Errors
    /// A rule names a machine class or domain the cell does not have (a
    /// trace's cell, known only now), naming the key (the path is
    /// `faults`: [`Faults::for_scenario`] names the scenario's file).
    pub fn new(
        cfg: &FaultsConfig,
        cell: &Cell,
        seed: u64,
        horizon: SimTime,
        out: &mut Out,
    ) -> Result<Faults> {
        let streams = RngStreams::new(seed);
        let n = cell.len();
        let mut f = Faults {
            horizon,
            holder: vec![Holder::Free; n],
            restore: vec![Resources::ZERO; n],
            down_seq: vec![0; n],
            cursor: 0,
            machine: machine::MachineFailures::new(&cfg.machine_failures, cell, &streams)?,
            outage: outage::Outages::new(&cfg.outages, cell, &streams)?,
            unreachable: unreachable::Unreachability::new(&cfg.unreachable, cell, &streams)?,
            maintenance: match &cfg.maintenance {
                Some(m) => Some(maintenance::Maintenance::new(m, cell, &streams)?),
                None => None,
            },
            crash: crash::Crashes::new(&cfg.task_crashes, &streams),
            limit: limit::RateLimit::new(cfg.reschedule_limit),
            records: recovery::Records::default(),
        };
        let mut first = Vec::new();
        f.machine.start(&mut first);
        f.outage.start(&mut first);
        f.unreachable.start(&mut first);
        if let Some(m) = &f.maintenance {
            first.push((m.start(), FaultEvent::Drain));
        }
        for (t, ev) in first {
            f.push(out, t, ev);
        }
        Ok(f)
    }

    /// [`Faults::new`] for scenario `sc`'s `[faults]` (`None` without
    /// one) on `cell`, its seed and horizon.
    ///
    /// # Errors
    /// As [`Faults::new`], naming the scenario's file ([`Scenario::origin`];
    /// its name if it has none) and the key.
    pub fn for_scenario(sc: &Scenario, cell: &Cell, out: &mut Out) -> Result<Option<Faults>> {
        let Some(cfg) = &sc.faults else {
            return Ok(None);
        };
        let path = match sc.origin.as_os_str().is_empty() {
            true => PathBuf::from(&sc.name),
            false => sc.origin.clone(),
        };
        Faults::new(cfg, cell, sc.seed, sc.horizon(), out)
            .map(Some)
            .map_err(|e| match e {
                Error::Invalid { key, message, .. } => Error::Invalid { path, key, message },
                other => other,
            })
    }

    /// Queues `ev` at `t` unless it falls after the horizon.
    fn push(&self, out: &mut Out, t: SimTime, ev: FaultEvent) {
        queue(out, self.horizon, t, ev);
    }

    /// Runs a fault event. Returns true if the cell changed so that a
    /// scheduling pass may place something.
    pub fn handle(
        &mut self,
        ev: FaultEvent,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let changed = self.dispatch(ev, now, st, out);
        // What this event changed is the faults' own doing.
        self.cursor = st.change_cursor();
        changed
    }

    fn dispatch(
        &mut self,
        ev: FaultEvent,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        match ev {
            FaultEvent::Fail { rule, machine } => self.on_fail(rule, machine, now, st, out),
            FaultEvent::Repair { machine, fault } => self.on_repair(machine, fault, now, st, out),
            FaultEvent::Outage { rule, domain } => self.on_outage(rule, domain, now, st, out),
            FaultEvent::OutageEnd { fault } => self.on_outage_end(fault, now, st),
            FaultEvent::LoseContact { rule, machine } => {
                self.on_lose_contact(rule, machine, now, st, out)
            }
            FaultEvent::Regain { machine, fault } => self.on_regain(machine, fault, now, st, out),
            FaultEvent::GraceOver { machine, fault } => {
                self.on_grace_over(machine, fault, now, st, out)
            }
            FaultEvent::Drain => self.on_drain(now, st, out),
            FaultEvent::Release => self.limit.release(now, st, out, self.horizon),
            FaultEvent::Crash { task, incarnation } => {
                self.crash.on_crash(task, incarnation, now, st)
            }
        }
    }

    /// True if a fault may take `m` now: no fault holds it and it is up.
    fn available(&self, m: MachineId, st: &CellState) -> bool {
        self.holder[m as usize] == Holder::Free && st.machine_up(m)
    }

    /// Takes machine `m` down for fault `fault`: its tasks are evicted
    /// with `cause` and recorded as the fault's.
    fn take_down(
        &mut self,
        m: MachineId,
        fault: u32,
        cause: EvictionCause,
        now: SimTime,
        st: &mut CellState,
    ) -> Vec<TaskId> {
        let i = m as usize;
        let full = st.cell().machines[i].capacity.res;
        self.restore[i] = match st.machine_unreachable(m) || st.machine_up(m) {
            true => full.checked_sub(&st.withheld(m)).unwrap_or(full),
            false => full,
        };
        self.holder[i] = Holder::Down(fault);
        self.crash.forget(m);
        let evicted = st.set_machine_as(now, m, None, cause);
        self.down_seq[i] = st.machine_seq(m);
        self.records.add_tasks(fault, &evicted, st);
        evicted
    }

    /// Gives machine `m` back if fault `fault` still holds it down.
    fn bring_up(&mut self, m: MachineId, fault: u32, now: SimTime, st: &mut CellState) -> bool {
        if self.holder[m as usize] != Holder::Down(fault) {
            return false;
        }
        self.holder[m as usize] = Holder::Free;
        st.set_machine(now, m, Some(self.restore[m as usize]));
        true
    }

    fn on_repair(
        &mut self,
        m: MachineId,
        fault: u32,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let back = self.bring_up(m, fault, now, st);
        // A maintenance step ends here even if a trace took the machine
        // over meanwhile: it is no longer down for maintenance.
        if self.records.kind(fault) == FaultKind::Maintenance {
            return self.maintenance_back(now, st, out) || back;
        }
        back
    }

    /// Tasks evicted by a fault that the rate limit applies to (not
    /// maintenance's, which has its budget): released now or queued.
    fn reschedule(&mut self, tasks: &[TaskId], now: SimTime, st: &mut CellState, out: &mut Out) {
        self.limit.admit(tasks, now, st, out, self.horizon);
    }

    /// Looks at what the cell recorded during the driver's last event:
    /// tasks running again (or withdrawn) recover their faults; placed
    /// tasks start their crash clocks; a trace's machine event (from the
    /// workload feed: `from_feed`) on a machine a fault holds ends the
    /// hold, and a REMOVE becomes a fault of kind `remove` whatever the
    /// machine's state (one of a machine already down, which the cell
    /// records no change for, is found in its change log). Returns true
    /// if tasks were queued or released.
    pub fn observe(
        &mut self,
        events: &[CellEvent],
        from_feed: bool,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let mut removed: Vec<(MachineId, Vec<TaskId>)> = Vec::new();
        for e in events {
            match *e {
                CellEvent::Task(c) => self.observe_task(c, from_feed, &mut removed, now, st, out),
                CellEvent::Machine(c) if from_feed => {
                    // The trace's word on a machine ends a fault's hold:
                    // the fault will not bring back what the trace removed.
                    self.holder[c.machine as usize] = Holder::Free;
                    let new = removed.last().is_none_or(|(x, _)| *x != c.machine);
                    match c.kind {
                        EventKind::MachineDown => {
                            self.crash.forget(c.machine);
                            if new {
                                removed.push((c.machine, Vec::new()));
                            }
                        }
                        // Up again, so in contact again.
                        EventKind::MachineUp => self.crash.contact_back(c.machine, now, out),
                        _ => {}
                    }
                }
                CellEvent::Machine(_) => {}
            }
        }
        if from_feed {
            for m in self.silent_removes(st) {
                self.holder[m as usize] = Holder::Free;
                removed.push((m, Vec::new()));
            }
        }
        self.cursor = st.change_cursor();
        let queued = !removed.is_empty();
        for (m, tasks) in removed {
            let f = self
                .records
                .open(FaultKind::Remove, now, recovery::Place::machine(m), 1);
            self.records.add_tasks(f, &tasks, st);
            self.reschedule(&tasks, now, st, out);
        }
        queued
    }

    /// One task's change: its fault recovers if it runs again (or was
    /// withdrawn), its crash clock starts if placed, and a trace's REMOVE
    /// evicting it makes it the REMOVE's (`removed`, per machine).
    fn observe_task(
        &mut self,
        c: TaskChange,
        from_feed: bool,
        removed: &mut Vec<(MachineId, Vec<TaskId>)>,
        now: SimTime,
        st: &CellState,
        out: &mut Out,
    ) {
        let TaskChange {
            kind,
            task,
            cause,
            machine,
            ..
        } = c;
        match kind {
            EventKind::Place | EventKind::Kill | EventKind::Drop => {
                if kind != EventKind::Place {
                    self.limit.withdrawn(task, now);
                }
                if let Some(f) = self.records.recover(task, now) {
                    if f.1 == FaultKind::Maintenance {
                        if let Some(m) = &mut self.maintenance {
                            m.recovered(f.0);
                        }
                    }
                }
                if kind == EventKind::Place {
                    if let Some((t, ev)) = self.crash.on_place(task, now, st) {
                        self.push(out, t, ev);
                    }
                }
            }
            EventKind::Evict if from_feed && cause == Some(EvictionCause::MachineDown) => {
                let m = machine.expect("an evicted task ran on a machine");
                match removed.last_mut() {
                    Some((x, ts)) if *x == m => ts.push(task),
                    _ => removed.push((m, vec![task])),
                }
            }
            _ => {}
        }
    }

    /// Machines a fault holds down that the workload feed's event touched
    /// without the cell recording a change: a trace's REMOVE of a machine
    /// already down (an ADD or UPDATE brings it up, which the cell
    /// records). Nothing else touches a machine that is down, so any entry
    /// in the change log since the faults' last look is the trace's; if
    /// the log no longer reaches back that far, every machine held down is
    /// checked against its `seq` when taken. In id order, each once.
    fn silent_removes(&self, st: &CellState) -> Vec<MachineId> {
        let held_down = |m: MachineId| matches!(self.holder[m as usize], Holder::Down(_));
        let mut touched: Vec<MachineId> = match st.changes_since(self.cursor) {
            Some(changes) => changes.iter().copied().filter(|&m| held_down(m)).collect(),
            None => (0..self.holder.len() as MachineId)
                .filter(|&m| held_down(m) && st.machine_seq(m) != self.down_seq[m as usize])
                .collect(),
        };
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// At the end of the run: the reschedule queue's tasks go back to the
    /// pending queue (pending at the end, as `pending.csv` lists them).
    pub fn finish(&mut self, now: SimTime, st: &mut CellState) {
        self.limit.flush(now, st);
    }

    /// What `summary.json` says of the faults, for a run that ended at `end`.
    pub fn summary(&self, end: SimTime) -> FaultsSummary {
        FaultsSummary {
            faults: self.records.len() as u64,
            by_kind: self.records.by_kind(),
            all: self.records.overall(),
            reschedule_queue: self.limit.summary(),
            maintenance: self.maintenance.as_ref().map(|m| m.summary(end)),
            task_crashes: self.crash.crashes(),
        }
    }

    /// `failures.csv`'s rows, one per fault in the order they happened.
    pub fn rows(&self) -> Vec<Row> {
        self.records.rows()
    }

    /// Machines down for maintenance now.
    pub fn maintenance_down(&self) -> u32 {
        self.maintenance
            .as_ref()
            .map_or(0, maintenance::Maintenance::down)
    }
}

/// Queues `ev` at `t` unless it falls after `horizon`.
fn queue(out: &mut Out, horizon: SimTime, t: SimTime, ev: FaultEvent) {
    if t <= horizon {
        out.push((t, ev));
    }
}

/// `now` plus `us` µs, saturating at the clock's end.
fn after(now: SimTime, us: u64) -> SimTime {
    now + SimDuration(us)
}

#[cfg(test)]
mod tests;
