//! Machines in the live cell: agents registering, heartbeats, silence,
//! drains — Borg's rules for a machine the master stops hearing.
//!
//! - Silent for 3 heartbeat intervals: **unreachable**. Its tasks run on
//!   and hold their resources; nothing new goes there
//!   (`CellState::set_unreachable`). Heard again: up, tasks kept.
//! - Silent past the grace period: **down**, unless no machine at all is
//!   heard (full disruption, as Kubernetes' node lifecycle controller
//!   rules: the master is then more likely cut off than every machine
//!   dead), in which case nothing goes down until one is heard again.
//!   Down, its tasks are declared lost
//!   (evicted, cause `machine_failure`) and wait in the reschedule queue,
//!   released at the configured rate. When its agent comes back it is told
//!   it is unknown, registers again, and is told to stop the old tasks
//!   (already replaced elsewhere).
//! - **One agent per name.** A registration for a name whose machine is
//!   up — registered with this master process and heard within 3
//!   heartbeat intervals — from a *different* address is refused (409)
//!   and changes nothing: two hosts sharing a name (`--name` defaults to
//!   the host name) must not take each other's machine and restart its
//!   tasks. The same address (an agent restarted on its fixed port), a
//!   machine unreachable or down, or one not yet registered with this
//!   process (after a master restart) is taken over as before; an agent
//!   restarted on another port waits until its old self falls silent.
//! - **Registration** reconciles: tasks the records have on the machine
//!   and the agent runs (same incarnation) are running — re-attached, not
//!   restarted; tasks the records have there that the agent does not run
//!   are lost and pending again; tasks the agent runs that the records do
//!   not place there are told to stop. After a master restart that is the
//!   only kill: what the store knows keeps running.
//! - A task the records have **running** on a machine whose heartbeats
//!   leave it out three times in a row, with no exit reported, has
//!   **vanished**: lost, scheduled again, and not put back on that machine
//!   next (as after a crash).
//! - **Drained**: down to the scheduler (cause `maintenance`): its tasks
//!   are stopped there and pending again at once; undrained, it takes
//!   tasks again.

use super::core::{Command, Contact, CoreError, LiveCell, LiveMachine, Now};
use super::records::MachineRecord;
use crate::cell::resources::Resources;
use crate::cell::state::EvictionCause;
use crate::live::proto::{
    AgentRegistration, Heartbeat, HeartbeatReply, RegistrationReply, RunningTask, TaskRef,
    TaskState,
};
use crate::time::SimTime;
use std::collections::BTreeSet;

/// Longest machine name, in bytes (a DNS name).
const MAX_MACHINE_NAME: usize = 253;

/// Heartbeats in a row that must leave out a running task before it is
/// declared vanished (`LiveCell::vanished`).
const MISSED_BEATS_LOST: u8 = 3;

impl LiveCell {
    /// An agent registers (first time, or again). Returns the reply (what
    /// to stop) and the kills also to be sent.
    ///
    /// # Errors
    /// [`CoreError::Invalid`] for a bad name or address,
    /// [`CoreError::Conflict`] if a live agent at another address holds
    /// the name (module doc), [`CoreError::Full`] if the cell has
    /// `max_machines` already. Nothing changes on an error.
    pub fn register(
        &mut self,
        now: Now,
        mut reg: AgentRegistration,
    ) -> Result<(RegistrationReply, Vec<Command>), CoreError> {
        check_registration(&reg).map_err(CoreError::Invalid)?;
        let t = now.sim.max(self.st.now());
        self.check_not_held(t, &reg)?;
        let running = std::mem::take(&mut reg.running);
        let exits = std::mem::take(&mut reg.exits);
        let (m, mut kills) = match self.machine_ids.get(&reg.name) {
            Some(&m) => (m, self.returning(now, m, reg)),
            None => self.add_machine(now, reg)?,
        };
        let lm = &mut self.machines[m as usize];
        lm.last_heard = t;
        lm.last_heartbeat_ms = Some(now.wall_ms);
        lm.registered = true;
        let _ = self.exits_on(now, m, &exits);
        let mut reply_kill = Vec::new();
        self.reconcile(now, m, &running, &mut reply_kill);
        self.settle();
        kills.retain(|c| !matches!(c, Command::Kill { machine, .. } if *machine == m));
        let reply = RegistrationReply {
            heartbeat_interval_ms: self.cfg.heartbeat.as_us() / 1000,
            kill: reply_kill,
        };
        Ok((reply, kills))
    }

    /// Refuses a registration for a name a live agent at another address
    /// holds: registered with this process and heard within 3 heartbeat
    /// intervals.
    fn check_not_held(&self, t: SimTime, reg: &AgentRegistration) -> Result<(), CoreError> {
        let Some(&m) = self.machine_ids.get(&reg.name) else {
            return Ok(());
        };
        let lm = &self.machines[m as usize];
        let silent = t.as_us().saturating_sub(lm.last_heard.as_us());
        let live = lm.registered
            && lm.contact == Contact::Up
            && silent <= self.cfg.heartbeat.as_us().saturating_mul(3);
        let held_by = &lm.rec.registration.addr;
        if live && *held_by != reg.addr {
            return Err(CoreError::Conflict(format!(
                "machine {} is held by a live agent at {held_by}; a second agent cannot take \
                 its name until that one falls silent",
                reg.name
            )));
        }
        Ok(())
    }

    /// A new machine: the next id, and the cell rebuilt with it.
    fn add_machine(
        &mut self,
        now: Now,
        reg: AgentRegistration,
    ) -> Result<(u32, Vec<Command>), CoreError> {
        if self.machines.len() >= self.cfg.max_machines {
            return Err(CoreError::Full(format!(
                "the cell has its {} machines (`--max-machines`)",
                self.cfg.max_machines
            )));
        }
        let m = self.machines.len() as u32;
        self.machine_ids.insert(reg.name.clone(), m);
        self.machines.push(LiveMachine {
            rec: MachineRecord {
                registration: reg,
                drained: false,
            },
            contact: Contact::Up,
            last_heard: now.sim,
            last_heartbeat_ms: None,
            usage: Default::default(),
            registered: true,
        });
        self.touch_machine(m);
        Ok((m, self.rebuild(now)))
    }

    /// A known machine registers again: up, with what it says of itself
    /// now (a different size or place rebuilds the cell).
    fn returning(&mut self, now: Now, m: u32, reg: AgentRegistration) -> Vec<Command> {
        let t = now.sim.max(self.st.now());
        let lm = &mut self.machines[m as usize];
        let old = &lm.rec.registration;
        let reshaped =
            old.capacity != reg.capacity || old.attrs != reg.attrs || old.rack != reg.rack;
        let was = lm.contact;
        lm.rec.registration = reg;
        lm.contact = Contact::Up;
        self.touch_machine(m);
        if reshaped {
            return self.rebuild(now);
        }
        if self.machines[m as usize].rec.drained {
            return Vec::new();
        }
        match was {
            Contact::Down => {
                let cap = self.capacity_of(m);
                self.st.set_machine(t, m, Some(cap));
            }
            Contact::Unreachable => {
                self.st.set_unreachable(t, m, false);
            }
            Contact::Up => {}
        }
        Vec::new()
    }

    fn capacity_of(&self, m: u32) -> Resources {
        self.machines[m as usize].rec.registration.capacity.into()
    }

    /// Matches what agent `m` runs against the records (module doc).
    fn reconcile(&mut self, now: Now, m: u32, running: &[RunningTask], kill: &mut Vec<TaskRef>) {
        let mut seen = std::collections::BTreeSet::new();
        for r in running {
            match self.on_machine(m, &r.task) {
                Some((j, k)) => {
                    seen.insert((j, k));
                    self.confirm_running(now, j, k, r.started_ms);
                }
                None => kill.push(r.task.clone()),
            }
        }
        for j in 0..self.jobs.len() {
            for k in 0..self.jobs[j].tasks.len() as u32 {
                let row = &self.jobs[j].tasks[k as usize];
                if row.is_on_machine() && row.machine == Some(m) && !seen.contains(&(j, k)) {
                    self.lose(now, j, k, EvictionCause::MachineDown, false);
                }
            }
        }
    }

    /// (job, task) if `task` is the current incarnation the records have
    /// starting or running on machine `m`.
    pub(super) fn on_machine(&self, m: u32, task: &TaskRef) -> Option<(usize, u32)> {
        let (j, k) = self.find_task(&task.task)?;
        let row = &self.jobs[j].tasks[k as usize];
        let here = row.is_on_machine() && row.machine == Some(m);
        (here && row.incarnation == task.incarnation).then_some((j, k))
    }

    /// The agent runs task `k` of job `j`: running. The first time, the
    /// time since its job was taken in is its submit-to-running latency.
    pub(super) fn confirm_running(&mut self, now: Now, j: usize, k: u32, started_ms: u64) {
        let row = &mut self.jobs[j].tasks[k as usize];
        if row.state == TaskState::Starting || row.started_ms.is_none() {
            row.state = TaskState::Running;
            row.started_ms = Some(started_ms);
            self.note_running(now, j, k);
            self.touch(j, k);
        }
    }

    /// The first time task `k` of job `j` is known to have started: its
    /// submit-to-running latency.
    pub(super) fn note_running(&mut self, now: Now, j: usize, k: u32) {
        let job = &mut self.jobs[j];
        if let (Some(at), Some(slot @ None)) = (
            job.submitted_at,
            job.submit_to_running_us.get_mut(k as usize),
        ) {
            *slot = Some(now.sim.as_us().saturating_sub(at.as_us()));
        }
    }

    /// Task `k` of job `j` is no longer on its machine: evicted with
    /// `cause`, lost, pending again (`delayed`: behind the rate limit).
    pub(super) fn lose(&mut self, now: Now, j: usize, k: u32, cause: EvictionCause, delayed: bool) {
        let t = now.sim.max(self.st.now());
        if let Some(task) = self.cell_task(j, k) {
            if matches!(
                self.st.task(task).state,
                crate::cell::state::TaskState::Running { .. }
            ) {
                self.st.evict(t, task, cause);
            }
            if delayed {
                self.st.delay(t, task);
            }
        }
        let row = &mut self.jobs[j].tasks[k as usize];
        row.state = TaskState::Lost;
        row.started_ms = None;
        self.touch(j, k);
    }

    /// A heartbeat: the machine heard (up again if it was unreachable),
    /// its exits recorded, its tasks checked against the records.
    pub fn heartbeat(&mut self, now: Now, hb: &Heartbeat) -> HeartbeatReply {
        let unknown = HeartbeatReply {
            known: false,
            acked: Vec::new(),
            kill: Vec::new(),
        };
        let Some(&m) = self.machine_ids.get(&hb.name) else {
            return unknown;
        };
        let t = now.sim.max(self.st.now());
        let lm = &mut self.machines[m as usize];
        if lm.contact == Contact::Down || !lm.registered {
            return unknown;
        }
        lm.last_heard = t;
        lm.last_heartbeat_ms = Some(now.wall_ms);
        lm.usage = hb.usage;
        if lm.contact == Contact::Unreachable {
            lm.contact = Contact::Up;
            if !lm.rec.drained {
                self.st.set_unreachable(t, m, false);
            }
        }
        let acked = self.exits_on(now, m, &hb.exits);
        let mut kill = Vec::new();
        let mut listed = BTreeSet::new();
        for r in &hb.running {
            match self.on_machine(m, &r.task) {
                Some((j, k)) => {
                    listed.insert((j, k));
                    self.confirm_running(now, j, k, r.started_ms);
                }
                None => kill.push(r.task.clone()),
            }
        }
        self.vanished(now, m, &listed);
        self.settle();
        HeartbeatReply {
            known: true,
            acked,
            kill,
        }
    }

    /// Counts, for each task the records have running on machine `m`,
    /// the heartbeats in a row that did not list it (`listed` are those
    /// this one did); a task missing from [`MISSED_BEATS_LOST`] of them
    /// with no exit reported has vanished: lost, and scheduled again,
    /// not on `m` next (as after a crash). One or two misses are not
    /// enough: a heartbeat the agent built before a launch's reply does
    /// not list that task yet.
    fn vanished(&mut self, now: Now, m: u32, listed: &BTreeSet<(usize, u32)>) {
        for j in 0..self.jobs.len() {
            if self.jobs[j].is_done() {
                continue;
            }
            for k in 0..self.jobs[j].tasks.len() as u32 {
                let row = &self.jobs[j].tasks[k as usize];
                if row.state != TaskState::Running || row.machine != Some(m) {
                    continue;
                }
                let missed = &mut self.jobs[j].missed_beats[k as usize];
                *missed = if listed.contains(&(j, k)) {
                    0
                } else {
                    missed.saturating_add(1)
                };
                if *missed >= MISSED_BEATS_LOST {
                    *missed = 0;
                    let row = &mut self.jobs[j].tasks[k as usize];
                    row.detail = Some("vanished: its agent's heartbeats stopped listing it".into());
                    row.note_failed_on(m);
                    self.lose(now, j, k, EvictionCause::TaskCrash, false);
                }
            }
        }
    }

    /// Marks machines silent too long unreachable, and those silent past
    /// the grace period down (their tasks lost). True if anything changed.
    pub fn tick(&mut self, now: Now) -> bool {
        let t = now.sim.max(self.st.now());
        let unreachable_after = self.cfg.heartbeat.as_us().saturating_mul(3);
        let mut changed = false;
        for m in 0..self.machines.len() as u32 {
            let lm = &self.machines[m as usize];
            let silent = t.as_us().saturating_sub(lm.last_heard.as_us());
            if lm.contact == Contact::Up && silent > unreachable_after {
                self.machines[m as usize].contact = Contact::Unreachable;
                if !self.machines[m as usize].rec.drained {
                    self.st.set_unreachable(t, m, true);
                }
                changed = true;
            }
        }
        // Full disruption (Kubernetes' node lifecycle rule): when no
        // machine at all is heard, the master is more likely cut off — a
        // network split, a restart with the wrong token — than every
        // machine dead, and declaring them all down would only stop tasks
        // that run on. Machines go down again once one is heard.
        self.disrupted =
            !self.machines.is_empty() && self.machines.iter().all(|lm| lm.contact != Contact::Up);
        if !self.disrupted {
            for m in 0..self.machines.len() as u32 {
                let lm = &self.machines[m as usize];
                let silent = t.as_us().saturating_sub(lm.last_heard.as_us());
                if lm.contact == Contact::Unreachable && silent > self.cfg.grace.as_us() {
                    self.machine_down(now, m);
                    changed = true;
                }
            }
        }
        self.settle();
        changed
    }

    /// Whether no machine is heard (see [`LiveCell::tick`]): nothing is
    /// declared down meanwhile.
    pub fn fully_disrupted(&self) -> bool {
        self.disrupted
    }

    /// Machine `m` is past its grace period: down, its tasks lost.
    fn machine_down(&mut self, now: Now, m: u32) {
        let t = now.sim.max(self.st.now());
        self.machines[m as usize].contact = Contact::Down;
        self.machines[m as usize].registered = false;
        if self.machines[m as usize].rec.drained {
            return;
        }
        let evicted = self
            .st
            .set_machine_as(t, m, None, EvictionCause::MachineFailure);
        for task in evicted {
            let (j, k) = self.locate(task);
            self.lose(now, j, k, EvictionCause::MachineFailure, true);
        }
    }

    /// Drains machine `m`: its tasks stopped there and pending again, no
    /// new ones. Returns its id and the kills.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] if no machine has the name.
    pub fn drain(&mut self, now: Now, name: &str) -> Result<(u32, Vec<Command>), CoreError> {
        let m = self.machine_named(name)?;
        let mut out = Vec::new();
        if self.machines[m as usize].rec.drained {
            return Ok((m, out));
        }
        let in_cell = self.machines[m as usize].in_cell();
        self.machines[m as usize].rec.drained = true;
        self.touch_machine(m);
        if in_cell {
            let t = now.sim.max(self.st.now());
            let evicted = self
                .st
                .set_machine_as(t, m, None, EvictionCause::Maintenance);
            for task in evicted {
                let (j, k) = self.locate(task);
                out.extend(self.kill_command(j, k));
                self.jobs[j].tasks[k as usize].state = TaskState::Pending;
                self.jobs[j].tasks[k as usize].started_ms = None;
                self.touch(j, k);
            }
        }
        Ok((m, out))
    }

    /// Takes machine `m` back into service after a drain.
    ///
    /// # Errors
    /// [`CoreError::NotFound`] if no machine has the name.
    pub fn undrain(&mut self, now: Now, name: &str) -> Result<u32, CoreError> {
        let m = self.machine_named(name)?;
        if !self.machines[m as usize].rec.drained {
            return Ok(m);
        }
        self.machines[m as usize].rec.drained = false;
        self.touch_machine(m);
        let t: SimTime = now.sim.max(self.st.now());
        let contact = self.machines[m as usize].contact;
        if contact != Contact::Down {
            let cap = self.capacity_of(m);
            self.st.set_machine(t, m, Some(cap));
            if contact == Contact::Unreachable {
                self.st.set_unreachable(t, m, true);
            }
        }
        Ok(m)
    }

    pub(super) fn machine_named(&self, name: &str) -> Result<u32, CoreError> {
        self.machine_ids
            .get(name)
            .copied()
            .ok_or_else(|| CoreError::NotFound(format!("no machine `{name}`")))
    }
}

/// Checks what an agent says of itself.
fn check_registration(reg: &AgentRegistration) -> Result<(), String> {
    super::spec::check_capacity(&reg.capacity)?;
    let n = &reg.name;
    if n.is_empty() || n.len() > MAX_MACHINE_NAME || n.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "`name` must be 1 to {MAX_MACHINE_NAME} visible ASCII characters: {n:?}"
        ));
    }
    let port = reg.addr.rsplit_once(':').map(|(host, port)| {
        let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_graphic());
        (host_ok, port.parse::<u16>().is_ok())
    });
    if port != Some((true, true)) {
        return Err(format!(
            "`addr` must be a host and port (`127.0.0.1:7001`): {:?}",
            reg.addr
        ));
    }
    Ok(())
}
