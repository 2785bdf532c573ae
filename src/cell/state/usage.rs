//! Usage, reservations and reclaimed capacity (Borg paper §5.5).
//!
//! A task's **limit** is its request; its **usage** is what it uses now; its
//! **reservation** is the scheduler's estimate of what it will use: the
//! limit for the first `delay` of a run, then decaying toward usage plus a
//! safety margin, and rising at once when usage does. Prod is admitted
//! against the limits of the tasks on a machine ([`Basis::Limit`]),
//! non-prod — with reclamation `on` — against their reservations
//! ([`Basis::Reservation`]), so the gap between the two is capacity the
//! cell *reclaims* for non-prod work.
//!
//! These books exist only when a scenario asks for reclamation
//! (`[reclamation] mode` `measure` or `on`); with it off the cell state
//! holds `None` and every hot path pays one branch at most.
//!
//! Each basis has a **headroom** per resource that may be negative
//! ([`Headroom`]: `free` and `excess`, never both non-zero in a
//! dimension): under `on`, the limits on a machine may exceed its capacity
//! (the non-prod work running on reclaimed resources), and the
//! reservations may exceed their basis after usage rose. The limit basis
//! keeps `MachineState::free` exactly as without reclamation and the
//! excess here ([`MachineUsage::excess`]).
//!
//! When usage exceeds what a machine has, it is **settled**
//! (`usage/settle.rs`): memory is not compressible, so tasks are killed
//! lowest priority first until it fits (`out_of_memory`); CPU is, so the
//! lowest priorities are throttled. Prod is never either: its usage is at
//! most its limits, which fit the machine.
//!
//! The cell state's side of it — where tasks are placed, usage set, ticks
//! run — is in `usage/apply.rs`.

mod apply;
pub use apply::ReservationRoom;
pub mod backoff;
mod settle;
#[cfg(test)]
mod tests;

use crate::cell::resources::Resources;
use crate::cell::MachineId;
use crate::time::SimDuration;
use crate::workload::usage::{ModelId, TaskMemo, UsageSource};
use crate::workload::{Band, Priority};
use serde::{Deserialize, Serialize};

/// How far reclamation goes (`[reclamation] mode`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReclamationMode {
    /// Nothing of it is kept: scheduling by limits, as without the table.
    #[default]
    Off,
    /// Usage and reservations are kept and reported; scheduling stays by
    /// limits (the baseline to compare utilisation against): no throttling
    /// and no out-of-memory kill can happen.
    Measure,
    /// Non-prod is admitted against reservations; usage beyond a machine
    /// throttles CPU and kills for memory.
    On,
}

/// What a task is admitted against (`TaskView::basis`; see the module
/// doc).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Basis {
    /// The limits of the machine's tasks, against its capacity: prod, and
    /// every task unless reclamation is `on`.
    #[default]
    Limit,
    /// Their reservations, against the capacity times the overcommit
    /// factor: non-prod under reclamation `on`.
    Reservation,
}

/// The rules of reclamation, from `[reclamation]` (the tick's interval is
/// the driver's).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `Measure` or `On` (`Off` builds no books).
    pub mode: ReclamationMode,
    /// A reservation stays at the limit this long after its run starts.
    pub delay: SimDuration,
    /// The margin over usage a reservation aims at, in permille of usage.
    pub margin_permille: u32,
    /// The share of the gap to its target a reservation closes per tick,
    /// in permille.
    pub decay_permille: u32,
    /// The reservation basis: capacity × this / 1000, per resource
    /// (milli-cores, MiB); at least 1000.
    pub overcommit_permille: [u32; 2],
}

/// Headroom on one basis, per resource: `free` when what is held is within
/// the basis, `excess` by how much it is beyond; never both non-zero in a
/// dimension, so a task that asks for some of a dimension with an excess
/// never fits it ([`Headroom::admits`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Headroom {
    pub free: Resources,
    pub excess: Resources,
}

/// `(free, excess)` of `have − want`, one dimension.
#[inline]
fn signed(have: u64, want: u64) -> (u64, u64) {
    (have.saturating_sub(want), want.saturating_sub(have))
}

impl Headroom {
    /// The headroom of a basis of `cap` holding `held`.
    #[inline]
    pub fn between(cap: &Resources, held: &Resources) -> Headroom {
        let (fc, ec) = signed(cap.cpu_milli, held.cpu_milli);
        let (fm, em) = signed(cap.mem_mib, held.mem_mib);
        Headroom {
            free: Resources::new(fc, fm),
            excess: Resources::new(ec, em),
        }
    }

    /// True if `r` fits the free headroom of every dimension it asks for.
    /// A dimension it does not ask for is not judged: an excess there is
    /// other tasks' limits on reclaimed resources, which `r` does not add
    /// to (prod's limits, what the limit basis protects, still fit).
    #[inline]
    pub fn admits(&self, r: &Resources) -> bool {
        r.fits_in(&self.free)
    }

    /// The headroom with `r` released.
    #[inline]
    pub fn give(&mut self, r: &Resources) {
        let dim = |free: &mut u64, excess: &mut u64, by: u64| {
            let back = by.min(*excess);
            *excess -= back;
            *free += by - back;
        };
        dim(
            &mut self.free.cpu_milli,
            &mut self.excess.cpu_milli,
            r.cpu_milli,
        );
        dim(&mut self.free.mem_mib, &mut self.excess.mem_mib, r.mem_mib);
    }

    /// The headroom with `r` more held.
    #[inline]
    pub fn take(&mut self, r: &Resources) {
        let dim = |free: &mut u64, excess: &mut u64, by: u64| {
            let from_free = by.min(*free);
            *free -= from_free;
            *excess += by - from_free;
        };
        dim(
            &mut self.free.cpu_milli,
            &mut self.excess.cpu_milli,
            r.cpu_milli,
        );
        dim(&mut self.free.mem_mib, &mut self.excess.mem_mib, r.mem_mib);
    }
}

/// One task slot's usage books.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TaskUsage {
    /// What it uses now (zero while not running); at most its limit.
    pub usage: Resources,
    /// Its reservation (zero while not running); between its usage and its
    /// limit.
    pub reservation: Resources,
    /// The usage model its job follows (looked up at submission).
    pub model: ModelId,
    /// The usage a trace last gave the task (clamped to its limit), kept
    /// while the task is live: ticks keep it while it runs (step
    /// interpolation) rather than draw it, and a placement starts from it
    /// rather than from a draw — a task pending when its row came (a
    /// re-schedule replay starts tasks at its own times), or evicted and
    /// placed again (the usage is the task's, not its machine's). `None`:
    /// the usage model draws it.
    pub external: Option<Resources>,
    /// What its usage source keeps of it between draws
    /// ([`UsageSource::memo`]), taken where it is placed with its usage to
    /// draw (no `external`); default otherwise.
    pub memo: TaskMemo,
    /// Its job's serial (the draws' key), taken at submission: the
    /// reclamation tick, which visits every running task, reads it here
    /// rather than from the (large, cold) job record.
    pub job_serial: u64,
}

impl Default for TaskUsage {
    fn default() -> Self {
        TaskUsage {
            usage: Resources::ZERO,
            reservation: Resources::ZERO,
            model: ModelId::LIMIT,
            external: None,
            memo: TaskMemo::default(),
            job_serial: 0,
        }
    }
}

/// The running tasks of one priority on a machine: their usage and
/// reservations (throttling and preemption on the reservation basis walk
/// them, lowest first).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PriorityUse {
    pub priority: Priority,
    pub usage: Resources,
    pub reserved: Resources,
    pub tasks: u32,
}

/// One machine's usage books.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineUsage {
    /// Σ usage of its running tasks.
    pub usage: Resources,
    /// Σ reservations of its running tasks.
    pub reserved: Resources,
    /// Its current capacity: capacity − withheld (0 while down).
    pub capacity: Resources,
    /// The reservation basis: ⌊(capacity − withheld) × overcommit / 1000⌋.
    pub reservable: Resources,
    /// The reservation basis of its full capacity, ⌊capacity × overcommit /
    /// 1000⌋: what scorers measure the basis's free fraction against
    /// (`CellState::basis_capacity`); fixed for the run.
    pub basis_capacity: Resources,
    /// The limit basis's excess: Σ limits beyond capacity − withheld (only
    /// under `on`; `MachineState::free` is then 0 in that dimension).
    pub excess: Resources,
    /// Milli-cores throttled now, per band ([`Band::index`]).
    pub throttled: [u64; 4],
    /// Per priority, ascending; an entry lives while it has tasks.
    pub(crate) by_priority: Vec<PriorityUse>,
}

impl MachineUsage {
    /// Σ reservations of the tasks with a priority below `threshold`.
    pub fn reserved_below(&self, threshold: Priority) -> Resources {
        self.by_priority
            .iter()
            .take_while(|e| e.priority < threshold)
            .fold(Resources::ZERO, |acc, e| acc.add(&e.reserved))
    }

    /// The per-priority entries, ascending.
    pub fn by_priority(&self) -> &[PriorityUse] {
        &self.by_priority
    }

    /// Adds a task's usage and reservation to its priority's entry
    /// (`tasks`: 1 for a task arriving, 0 for a change).
    fn add(&mut self, p: Priority, usage: &Resources, reserved: &Resources, tasks: u32) {
        self.usage = self.usage.add(usage);
        self.reserved = self.reserved.add(reserved);
        let i = match self.by_priority.binary_search_by_key(&p, |e| e.priority) {
            Ok(i) => i,
            Err(i) => {
                assert_eq!(tasks, 1, "priority {p}: a change to a task not counted");
                let e = PriorityUse {
                    priority: p,
                    usage: Resources::ZERO,
                    reserved: Resources::ZERO,
                    tasks: 0,
                };
                self.by_priority.insert(i, e);
                i
            }
        };
        let e = &mut self.by_priority[i];
        e.usage = e.usage.add(usage);
        e.reserved = e.reserved.add(reserved);
        e.tasks += tasks;
    }

    /// A running task's (usage, reservation) changed from `old` to `new`:
    /// [`Self::sub`] of `old` then [`Self::add`] of `new` (`tasks` 0), with
    /// one search for the priority's entry.
    fn change(&mut self, p: Priority, old: &[Resources; 2], new: &[Resources; 2]) {
        let swap = |total: Resources, from: &Resources, to: &Resources| {
            (total.checked_sub(from))
                .unwrap_or_else(|| panic!("machine usage or reserved would go below zero"))
                .add(to)
        };
        self.usage = swap(self.usage, &old[0], &new[0]);
        self.reserved = swap(self.reserved, &old[1], &new[1]);
        let i = self
            .by_priority
            .binary_search_by_key(&p, |e| e.priority)
            .expect("usage entry of a running task's priority");
        let e = &mut self.by_priority[i];
        e.usage = swap(e.usage, &old[0], &new[0]);
        e.reserved = swap(e.reserved, &old[1], &new[1]);
    }

    /// Takes a task's usage and reservation from its priority's entry
    /// (`tasks`: 1 for a task leaving, 0 for a change).
    fn sub(&mut self, p: Priority, usage: &Resources, reserved: &Resources, tasks: u32) {
        let below = |what: &str| panic!("machine {what} would go below zero");
        self.usage = self
            .usage
            .checked_sub(usage)
            .unwrap_or_else(|| below("usage"));
        self.reserved = (self.reserved.checked_sub(reserved)).unwrap_or_else(|| below("reserved"));
        let i = self
            .by_priority
            .binary_search_by_key(&p, |e| e.priority)
            .expect("usage entry of a running task's priority");
        let e = &mut self.by_priority[i];
        e.usage = e.usage.checked_sub(usage).unwrap_or_else(|| below("usage"));
        e.reserved = (e.reserved.checked_sub(reserved)).unwrap_or_else(|| below("reserved"));
        super::records::lower(&mut e.tasks, tasks, "per-priority usage tasks");
        if e.tasks == 0 {
            assert!(
                e.usage == Resources::ZERO && e.reserved == Resources::ZERO,
                "priority {p}: no tasks left but usage or reservations held"
            );
            self.by_priority.remove(i);
        }
    }
}

/// Running totals of usage, kept exact at every change and integrated
/// exactly at [`super::CellState::advance`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageLedger {
    /// Σ usage of running tasks, per band.
    pub usage_by_band: [Resources; 4],
    /// Σ reservations of running tasks, per band.
    pub reserved_by_band: [Resources; 4],
    /// ∫ usage dt per band, as (milli-core·µs, MiB·µs).
    pub usage_integral: [[u128; 2]; 4],
    /// ∫ reservations dt per band, likewise.
    pub reserved_integral: [[u128; 2]; 4],
    /// Σ over machines of the limits beyond capacity: the work running on
    /// reclaimed resources (0 unless `on`).
    pub excess: Resources,
    /// ∫ `excess` dt, as (milli-core·µs, MiB·µs).
    pub excess_integral: [u128; 2],
    /// Milli-cores throttled now, per band (prod's always 0).
    pub throttled_by_band: [u64; 4],
    /// Σ over machines of their current capacity (capacity − withheld:
    /// nothing of a machine down), kept at every resize.
    pub capacity: Resources,
    /// ∫ throttled dt per band, in milli-core·µs.
    pub throttled_integral: [u128; 4],
    /// Usages above their task's limit, clamped to it (a trace's usage row
    /// above the request).
    pub usage_clamped: u64,
    /// Usages given for tasks not running, dropped.
    pub usage_not_running: u64,
}

impl UsageLedger {
    /// Adds `dt` µs of the current rates to the integrals (a band with
    /// nothing running adds nothing, so it is passed by).
    fn integrate(&mut self, dt: u128) {
        for b in 0..4 {
            let (u, r) = (&self.usage_by_band[b], &self.reserved_by_band[b]);
            if *u == Resources::ZERO && *r == Resources::ZERO && self.throttled_by_band[b] == 0 {
                continue;
            }
            self.usage_integral[b][0] += u128::from(u.cpu_milli) * dt;
            self.usage_integral[b][1] += u128::from(u.mem_mib) * dt;
            self.reserved_integral[b][0] += u128::from(r.cpu_milli) * dt;
            self.reserved_integral[b][1] += u128::from(r.mem_mib) * dt;
            self.throttled_integral[b] += u128::from(self.throttled_by_band[b]) * dt;
        }
        self.excess_integral[0] += u128::from(self.excess.cpu_milli) * dt;
        self.excess_integral[1] += u128::from(self.excess.mem_mib) * dt;
    }
}

/// The cell's usage books (see the module doc): per task slot and per
/// machine, and the ledger.
pub struct UsageBooks {
    settings: Settings,
    source: Box<dyn UsageSource>,
    tasks: Vec<TaskUsage>,
    machines: Vec<MachineUsage>,
    ledger: UsageLedger,
    /// Per machine, during a tick: bit 0 its usage changed, bit 1 its
    /// reservations.
    dirty: Vec<u8>,
    /// Tasks killed for memory, held back before they are placed again.
    backoff: backoff::OomBackoff,
}

impl UsageBooks {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn ledger(&self) -> &UsageLedger {
        &self.ledger
    }
    /// A task slot's books (default for a slot never used).
    pub fn task(&self, t: crate::workload::TaskId) -> TaskUsage {
        self.tasks.get(t as usize).copied().unwrap_or_default()
    }
    pub fn machine(&self, m: MachineId) -> &MachineUsage {
        &self.machines[m as usize]
    }

    /// Adds a task's usage and reservation on machine `m` (`tasks` as
    /// [`MachineUsage::add`]) and to its band.
    fn add(&mut self, m: MachineId, p: Priority, u: &Resources, r: &Resources, tasks: u32) {
        self.machines[m as usize].add(p, u, r, tasks);
        let b = Band::of(p).index();
        let l = &mut self.ledger;
        l.usage_by_band[b] = l.usage_by_band[b].add(u);
        l.reserved_by_band[b] = l.reserved_by_band[b].add(r);
    }

    /// Takes a task's usage and reservation off machine `m` and its band.
    fn sub(&mut self, m: MachineId, p: Priority, u: &Resources, r: &Resources, tasks: u32) {
        self.machines[m as usize].sub(p, u, r, tasks);
        let b = Band::of(p).index();
        let l = &mut self.ledger;
        let short = || panic!("band usage or reservations would go below zero");
        l.usage_by_band[b] = l.usage_by_band[b].checked_sub(u).unwrap_or_else(short);
        l.reserved_by_band[b] = l.reserved_by_band[b].checked_sub(r).unwrap_or_else(short);
    }

    /// A running task of priority `p` on `m` changed its (usage,
    /// reservation) from `old` to `new`: as [`Self::sub`] then
    /// [`Self::add`] (`tasks` 0), the machine's entry searched once.
    fn change(&mut self, m: MachineId, p: Priority, old: &[Resources; 2], new: &[Resources; 2]) {
        self.machines[m as usize].change(p, old, new);
        let b = Band::of(p).index();
        let l = &mut self.ledger;
        let swap = |total: Resources, from: &Resources, to: &Resources| {
            (total.checked_sub(from))
                .unwrap_or_else(|| panic!("band usage or reservations would go below zero"))
                .add(to)
        };
        l.usage_by_band[b] = swap(l.usage_by_band[b], &old[0], &new[0]);
        l.reserved_by_band[b] = swap(l.reserved_by_band[b], &old[1], &new[1]);
    }

    /// Sets machine `m`'s limit-basis excess, keeping the ledger's sum.
    fn set_excess(&mut self, m: MachineId, excess: Resources) {
        let old = std::mem::replace(&mut self.machines[m as usize].excess, excess);
        let l = &mut self.ledger;
        l.excess = l.excess.checked_sub(&old).expect("excess sum").add(&excess);
    }

    /// Sets machine `m`'s current capacity to `cap` and its reservation
    /// basis with it, keeping the ledger's sum.
    fn set_capacity(&mut self, m: MachineId, cap: Resources) {
        let reservable = self.reservable_of(&cap);
        let mu = &mut self.machines[m as usize];
        let old = std::mem::replace(&mut mu.capacity, cap);
        mu.reservable = reservable;
        let l = &mut self.ledger;
        l.capacity = l
            .capacity
            .checked_sub(&old)
            .expect("capacity sum")
            .add(&cap);
    }

    /// Machine `m`'s reservation basis for a current capacity of `cap`.
    fn reservable_of(&self, cap: &Resources) -> Resources {
        let [c, m] = self.settings.overcommit_permille;
        let scale = |v: u64, p: u32| v.saturating_mul(u64::from(p)) / 1000;
        Resources::new(scale(cap.cpu_milli, c), scale(cap.mem_mib, m))
    }
}

/// A reservation's next value, per resource (the formula of the module doc,
/// `[reclamation]`'s keys):
/// - within `delay` of the run's start (`age < delay`): the limit;
/// - else with `target = min(limit, usage + ⌈usage × margin / 1000⌉)`:
///   `target` if it is at least the reservation (it rises at once); else,
///   on a tick (`decay`), `target + ⌊(r − target) × (1000 − decay) / 1000⌋`,
///   and otherwise unchanged.
pub fn next_reservation(
    s: &Settings,
    limit: &Resources,
    usage: &Resources,
    r: &Resources,
    age: SimDuration,
    decay: bool,
) -> Resources {
    if age < s.delay {
        return *limit;
    }
    let dim = |limit: u64, usage: u64, r: u64| -> u64 {
        let margin = (usage * u64::from(s.margin_permille)).div_ceil(1000);
        let target = limit.min(usage + margin);
        if target >= r {
            target
        } else if decay {
            target + (r - target) * u64::from(1000 - s.decay_permille) / 1000
        } else {
            r
        }
    };
    Resources::new(
        dim(limit.cpu_milli, usage.cpu_milli, r.cpu_milli),
        dim(limit.mem_mib, usage.mem_mib, r.mem_mib),
    )
}
