//! The cell state's side of usage: the books switched on, a task's usage
//! set where it is placed and where a trace says so, the reclamation tick,
//! and what the scheduler reads of the two bases.
//!
//! Every change goes through the cell's mutators, as every other change
//! does: `place`, `release` (evict, finish, kill) and a machine's resize
//! call in here when the books exist, and nowhere else.

use super::{
    next_reservation, Basis, Headroom, MachineUsage, ReclamationMode, Settings, TaskUsage,
    UsageBooks, UsageLedger,
};
use crate::cell::resources::Resources;
use crate::cell::state::{CellState, TaskState};
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::usage::{UsageKey, UsageSource};
use crate::workload::{Band, Job, Priority, TaskId};

impl UsageBooks {
    /// Adds `dt` µs of the current rates to the ledger's integrals.
    pub(in crate::cell::state) fn advance(&mut self, dt: u128) {
        self.ledger.integrate(dt);
    }

    /// Looks up the usage model of a job's tasks, at its admission.
    fn admit(&mut self, job: &Job) {
        let model = self.source.model_of(&job.spec);
        for &t in job.tasks.iter() {
            let i = t as usize;
            if self.tasks.len() <= i {
                self.tasks.resize(i + 1, TaskUsage::default());
            }
            self.tasks[i] = TaskUsage {
                model,
                job_serial: job.serial,
                ..TaskUsage::default()
            };
            self.backoff.forget(t);
        }
    }
}

/// A machine's reservation basis as the scheduler reads it
/// ([`CellState::reservation_room`]), milli-cores and MiB.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReservationRoom {
    /// Its current capacity (capacity − withheld): a task admitted on the
    /// basis must fit it by its limit.
    pub capacity: Resources,
    /// The basis's free headroom.
    pub free: Resources,
    /// The basis's capacity: full capacity × overcommit / 1000.
    pub basis_capacity: Resources,
}

/// `usage` capped at `limit` in each resource; a usage above it counted.
fn clamped(ledger: &mut UsageLedger, usage: Resources, limit: &Resources) -> Resources {
    if usage.fits_in(limit) {
        return usage;
    }
    ledger.usage_clamped += 1;
    Resources::new(
        usage.cpu_milli.min(limit.cpu_milli),
        usage.mem_mib.min(limit.mem_mib),
    )
}

impl CellState {
    /// Keeps usage and reservation books from now on (`[reclamation]`
    /// `measure` or `on`), with usage drawn from `source`.
    ///
    /// # Panics
    /// If a job was admitted already, or `settings.mode` is `Off`.
    pub fn enable_usage(&mut self, settings: Settings, source: Box<dyn UsageSource>) {
        assert_eq!(
            self.ledger.tasks_submitted, 0,
            "usage books start before the first submission"
        );
        assert_ne!(settings.mode, ReclamationMode::Off, "no books when off");
        let mut books = UsageBooks {
            settings,
            source,
            tasks: Vec::new(),
            machines: vec![MachineUsage::default(); self.machines.len()],
            ledger: UsageLedger::default(),
            dirty: vec![0; self.machines.len()],
            backoff: Default::default(),
        };
        for m in 0..self.machines.len() as MachineId {
            books.set_capacity(m, self.current_capacity(m));
            let full = self.cell.machines[m as usize].capacity.res;
            books.machines[m as usize].basis_capacity = books.reservable_of(&full);
        }
        self.usage = Some(Box::new(books));
    }

    /// Job `j` admitted: its tasks' usage model looked up.
    pub(in crate::cell::state) fn admit_usage(&mut self, j: crate::workload::JobId) {
        let b = self.usage.as_deref_mut().expect("usage books");
        b.admit(&self.jobs[j as usize]);
    }

    /// The usage books (`None`: reclamation off).
    pub fn usage_books(&self) -> Option<&UsageBooks> {
        self.usage.as_deref()
    }

    /// `[reclamation] mode`.
    pub fn reclamation_mode(&self) -> ReclamationMode {
        self.usage
            .as_ref()
            .map_or(ReclamationMode::Off, |b| b.settings.mode)
    }

    /// What a task of priority `p` is admitted against: its reservation
    /// basis only for non-prod with reclamation `on`.
    #[inline]
    pub fn basis_for(&self, p: Priority) -> Basis {
        match &self.usage {
            Some(b) if b.settings.mode == ReclamationMode::On && !Band::of(p).is_prod() => {
                Basis::Reservation
            }
            _ => Basis::Limit,
        }
    }

    /// Machine `m`'s current capacity: its capacity less what is withheld.
    #[inline]
    pub fn current_capacity(&self, m: MachineId) -> Resources {
        let full = self.cell.machines[m as usize].capacity.res;
        (full.checked_sub(&self.withheld[m as usize])).expect("withheld within capacity")
    }

    /// Machine `m`'s headroom on `basis`: on the limit basis its `free`
    /// (and, under `on`, the excess of its limits over its capacity); on
    /// the reservation basis ⌊current capacity × overcommit / 1000⌋ less
    /// its tasks' reservations.
    #[inline]
    pub fn headroom(&self, m: MachineId, basis: Basis) -> Headroom {
        let free = self.machines[m as usize].free;
        match (&self.usage, basis) {
            (None, _) => Headroom {
                free,
                excess: Resources::ZERO,
            },
            (Some(b), Basis::Limit) => Headroom {
                free,
                excess: b.machines[m as usize].excess,
            },
            (Some(b), Basis::Reservation) => {
                let mu = &b.machines[m as usize];
                Headroom::between(&mu.reservable, &mu.reserved)
            }
        }
    }

    /// Machine `m`'s reservation basis in one read, for the scheduler's
    /// paths on that basis: its current capacity, the basis's free
    /// headroom ([`Self::headroom`]) and its full capacity times the
    /// overcommit factor ([`Self::basis_capacity`]).
    ///
    /// # Panics
    /// Without usage books (reclamation off: no task is on that basis).
    #[inline]
    pub fn reservation_room(&self, m: MachineId) -> ReservationRoom {
        let b = self.usage.as_deref().expect("usage books");
        let mu = &b.machines[m as usize];
        ReservationRoom {
            capacity: mu.capacity,
            free: Headroom::between(&mu.reservable, &mu.reserved).free,
            basis_capacity: mu.basis_capacity,
        }
    }

    /// What scorers measure `basis`'s free fraction against: machine `m`'s
    /// capacity, times the overcommit factor on the reservation basis.
    #[inline]
    pub fn basis_capacity(&self, m: MachineId, basis: Basis) -> Resources {
        let full = self.cell.machines[m as usize].capacity.res;
        match (&self.usage, basis) {
            (Some(b), Basis::Reservation) => b.machines[m as usize].basis_capacity,
            _ => full,
        }
    }

    /// What the tasks on `m` with a priority below `threshold` hold on
    /// `basis` (what evicting them all would give back).
    #[inline]
    pub fn held_below(&self, m: MachineId, threshold: Priority, basis: Basis) -> Resources {
        match (&self.usage, basis) {
            (Some(b), Basis::Reservation) => b.machines[m as usize].reserved_below(threshold),
            _ => self.machines[m as usize].allocated_below(threshold),
        }
    }

    /// What running task `t` holds on `basis`: its limit or its reservation.
    #[inline]
    pub fn held_by(&self, t: TaskId, basis: Basis) -> Resources {
        match (&self.usage, basis) {
            (Some(b), Basis::Reservation) => b.tasks[t as usize].reservation,
            _ => self.shape(t).request.res,
        }
    }

    /// Sets task `task`'s usage (a trace's usage row, from `now` until its
    /// next): clamped to its limit (counted) and kept as the task's usage
    /// from outside ([`TaskUsage::external`]). A running task's
    /// reservation is raised at once if the usage needs it and its machine
    /// settled (which may kill for memory, this task included); a pending
    /// one (in the pending or the reschedule queue) starts from it when it
    /// is placed. Returns false, changing nothing, if the task is done
    /// (finished or killed) or reclamation is off.
    pub fn set_usage(&mut self, now: SimTime, task: TaskId, usage: Resources) -> bool {
        if self.usage.is_none() {
            return false;
        }
        self.advance(now);
        let shape = *self.shape(task);
        let (machine, since) = match self.tasks[task as usize].state {
            TaskState::Running { machine, since, .. } => (machine, since),
            TaskState::Pending => {
                let b = self.usage.as_deref_mut().expect("usage books");
                let usage = clamped(&mut b.ledger, usage, &shape.request.res);
                b.tasks[task as usize].external = Some(usage);
                return true;
            }
            TaskState::Finished => return false,
        };
        let b = self.usage.as_deref_mut().expect("usage books");
        let usage = clamped(&mut b.ledger, usage, &shape.request.res);
        let old = b.tasks[task as usize];
        let s = b.settings;
        let r = next_reservation(
            &s,
            &shape.request.res,
            &usage,
            &old.reservation,
            now - since,
            false,
        );
        b.sub(machine, shape.priority, &old.usage, &old.reservation, 0);
        b.add(machine, shape.priority, &usage, &r, 0);
        b.tasks[task as usize] = TaskUsage {
            usage,
            reservation: r,
            external: Some(usage),
            ..old
        };
        if r != old.reservation {
            self.reservations_changed(machine);
        }
        self.settle(now, machine);
        true
    }

    /// The reclamation tick at `now`: every running task's usage drawn
    /// anew from the source (in task id order; a usage set from outside
    /// is kept), its reservation updated with decay, then every machine
    /// whose usage or reservations changed settled, in id order. Returns
    /// true if a machine's reservations changed under `on` (pending
    /// non-prod tasks may fit now).
    pub fn reclamation_tick(&mut self, now: SimTime) -> bool {
        self.advance(now);
        let Some(mut b) = self.usage.take() else {
            return false;
        };
        for (t, rec) in self.tasks.iter().enumerate() {
            let TaskState::Running { machine, since, .. } = rec.state else {
                continue;
            };
            let shape = self.shapes[rec.shape as usize];
            let limit = shape.request.res;
            let old = b.tasks[t];
            let usage = match old.external {
                Some(u) => u,
                None => {
                    let key = UsageKey {
                        job_serial: old.job_serial,
                        index: rec.index,
                    };
                    let drawn = (b.source).usage_memo(old.model, key, &old.memo, &limit, now);
                    clamped(&mut b.ledger, drawn, &limit)
                }
            };
            let r = next_reservation(
                &b.settings,
                &limit,
                &usage,
                &old.reservation,
                now - since,
                true,
            );
            if (usage, r) == (old.usage, old.reservation) {
                continue;
            }
            b.change(
                machine,
                shape.priority,
                &[old.usage, old.reservation],
                &[usage, r],
            );
            b.tasks[t].usage = usage;
            b.tasks[t].reservation = r;
            b.dirty[machine as usize] |= 1 | (u8::from(r != old.reservation) << 1);
        }
        let dirty = std::mem::take(&mut b.dirty);
        self.usage = Some(b);
        let mut changed = false;
        for (m, &d) in dirty.iter().enumerate() {
            if d & 2 != 0 {
                changed |= self.reservations_changed(m as MachineId);
            }
            if d != 0 {
                self.settle(now, m as MachineId);
            }
        }
        let b = self.usage.as_deref_mut().expect("usage books");
        b.dirty = dirty;
        b.dirty.iter_mut().for_each(|d| *d = 0);
        changed
    }

    /// Machine `m`'s reservations changed: under `on` the scheduler reads
    /// them, so its `seq` moves and the change log records it (score
    /// caches judge it again). Returns whether it did.
    fn reservations_changed(&mut self, m: MachineId) -> bool {
        let on = self.reclamation_mode() == ReclamationMode::On;
        if on {
            self.log_change(m);
        }
        on
    }

    /// A task placed on `m`: its limit taken beyond the limit basis if
    /// `over` (it did not fit `free`), its usage the one a trace last gave
    /// it or else drawn from the source, its reservation its limit; the
    /// machine settled.
    #[cold]
    #[inline(never)]
    pub(in crate::cell::state) fn place_usage(
        &mut self,
        now: SimTime,
        task: TaskId,
        m: MachineId,
        over: bool,
    ) {
        if over {
            let limit = self.shape(task).request.res;
            self.take_beyond_limits(m, task, &limit);
        }
        let rec = &self.tasks[task as usize];
        let key = UsageKey {
            job_serial: self
                .usage_books()
                .expect("usage books")
                .task(task)
                .job_serial,
            index: rec.index,
        };
        let shape = self.shapes[rec.shape as usize];
        let limit = shape.request.res;
        let b = self.usage.as_deref_mut().expect("usage books");
        let t = &mut b.tasks[task as usize];
        assert_eq!(t.usage, Resources::ZERO, "task {task} placed with usage");
        let usage = match t.external {
            Some(u) => u,
            None => {
                t.memo = b.source.memo(t.model, key);
                let drawn = (b.source).usage_memo(t.model, key, &t.memo, &limit, now);
                clamped(&mut b.ledger, drawn, &limit)
            }
        };
        b.tasks[task as usize] = TaskUsage {
            usage,
            reservation: limit,
            ..b.tasks[task as usize]
        };
        b.add(m, shape.priority, &usage, &limit, 1);
        self.settle(now, m);
    }

    /// A task leaving `m`: its limit `limit` given back (the excess first),
    /// its usage and reservation taken off (a usage from outside kept for
    /// its next placement); the throttling of the machine follows.
    pub(in crate::cell::state) fn release_usage(
        &mut self,
        task: TaskId,
        m: MachineId,
        limit: &Resources,
    ) {
        let p = self.shape(task).priority;
        let b = self.usage.as_deref_mut().expect("usage books");
        let ms = &mut self.machines[m as usize];
        let mut room = Headroom {
            free: ms.free,
            excess: b.machines[m as usize].excess,
        };
        room.give(limit);
        ms.free = room.free;
        b.set_excess(m, room.excess);
        let t = &mut b.tasks[task as usize];
        let (u, r) = (t.usage, t.reservation);
        t.usage = Resources::ZERO;
        t.reservation = Resources::ZERO;
        b.sub(m, p, &u, &r, 1);
        self.throttle(m);
    }

    /// A non-prod task placed under `on` beyond machine `m`'s limit basis
    /// (its reservation fitted): the excess is kept. Panics otherwise: a
    /// placement the scheduler should not have made.
    fn take_beyond_limits(&mut self, m: MachineId, task: TaskId, limit: &Resources) {
        let p = self.shape(task).priority;
        assert!(
            self.basis_for(p) == Basis::Reservation,
            "machine {m} over capacity placing task {task}"
        );
        assert!(
            self.headroom(m, Basis::Reservation).admits(limit),
            "machine {m}: task {task}'s reservation does not fit its reservation basis"
        );
        let mut room = self.headroom(m, Basis::Limit);
        room.take(limit);
        self.machines[m as usize].free = room.free;
        let b = self.usage.as_deref_mut().expect("usage books");
        b.set_excess(m, room.excess);
    }

    /// Machine `m`'s current capacity changed (down, up, resized) after
    /// its tasks were fitted to it: its limit basis set anew, its
    /// reservation basis scaled, the machine settled.
    pub(in crate::cell::state) fn usage_resized(
        &mut self,
        now: SimTime,
        m: MachineId,
        limits: &Resources,
    ) {
        let cap = self.current_capacity(m);
        let room = Headroom::between(&cap, limits);
        self.machines[m as usize].free = room.free;
        let b = self.usage.as_deref_mut().expect("usage books");
        b.set_excess(m, room.excess);
        b.set_capacity(m, cap);
        self.settle(now, m);
    }

    /// True if the tasks on `m` may stay with its current capacity at
    /// `target`: their limits fit it; under `on`, prod's limits fit it and
    /// every task's reservation fits the reservation basis it would have
    /// (non-prod runs on reclaimed resources; settling then kills for
    /// memory if usage still does not fit).
    pub(in crate::cell::state) fn holds_within(&self, m: MachineId, target: &Resources) -> bool {
        let b = match self.usage.as_deref() {
            Some(b) if b.settings.mode == ReclamationMode::On => b,
            _ => return self.limits_held(m).fits_in(target),
        };
        let prod = self.machines[m as usize]
            .by_priority()
            .iter()
            .filter(|e| Band::of(e.priority).is_prod())
            .fold(Resources::ZERO, |acc, e| acc.add(&e.res));
        let reserved = b.machines[m as usize].reserved;
        prod.fits_in(target) && reserved.fits_in(&b.reservable_of(target))
    }

    /// Σ limits of the tasks on `m`: what its capacity less withheld less
    /// `free` says, plus the limit basis's excess.
    pub fn limits_held(&self, m: MachineId) -> Resources {
        let cap = self.current_capacity(m);
        let h = self.headroom(m, Basis::Limit);
        cap.checked_sub(&h.free)
            .expect("free within capacity")
            .add(&h.excess)
    }
}
