//! The usage books' invariants (`cell::state::usage`), recomputed from the
//! task records and each task's usage and reservation:
//! - a running task's usage ≤ its reservation ≤ its limit, and its
//!   reservation is its limit within `delay` of its start; a task not
//!   running holds neither;
//! - each machine's Σ usage, Σ reservations and per-priority entries are
//!   its running tasks'; its reservation basis is its current capacity
//!   times the overcommit factor;
//! - Σ prod limits and Σ memory usage fit the current capacity (after
//!   every event: settling killed what did not fit);
//! - the throttled milli-cores per band are the excess of CPU usage over
//!   the capacity taken from the lowest priorities, never prod's;
//! - each machine's current capacity is its capacity less what is
//!   withheld;
//! - the ledger's sums per band, of the limits' excess and of the current
//!   capacities are the machines'.

use crate::cell::resources::Resources;
use crate::cell::state::usage::{MachineUsage, PriorityUse, ReclamationMode, UsageBooks};
use crate::cell::state::{CellState, TaskState};
use crate::workload::Band;

/// Checks the usage books, if there are any.
pub(super) fn check(st: &CellState) -> Result<(), String> {
    let Some(b) = st.usage_books() else {
        return Ok(());
    };
    let want = recompute(st, b)?;
    let mut excess = Resources::ZERO;
    let mut capacity = Resources::ZERO;
    let mut throttled = [0u64; 4];
    for (m, w) in want.iter().enumerate() {
        let have = b.machine(m as u32);
        check_machine(st, b, m, w, have)?;
        excess = excess.add(&have.excess);
        capacity = capacity.add(&st.current_capacity(m as u32));
        for (t, h) in throttled.iter_mut().zip(have.throttled) {
            *t += h;
        }
    }
    let l = b.ledger();
    let (mut usage, mut reserved) = ([Resources::ZERO; 4], [Resources::ZERO; 4]);
    for w in &want {
        for e in &w.by_priority {
            let i = Band::of(e.priority).index();
            usage[i] = usage[i].add(&e.usage);
            reserved[i] = reserved[i].add(&e.reserved);
        }
    }
    if (usage, reserved) != (l.usage_by_band, l.reserved_by_band) {
        return Err("usage or reservations by band disagree with the tasks".into());
    }
    if excess != l.excess || throttled != l.throttled_by_band || capacity != l.capacity {
        return Err(format!(
            "ledger excess {:?} / throttled {:?} / capacity {:?}, machines say {excess:?} / \
             {throttled:?} / {capacity:?}",
            l.excess, l.throttled_by_band, l.capacity
        ));
    }
    Ok(())
}

/// Each machine's books as its running tasks' say they should be (the
/// sums, the per-priority entries; the bases left for the caller).
fn recompute(st: &CellState, b: &UsageBooks) -> Result<Vec<MachineUsage>, String> {
    let mut want = vec![MachineUsage::default(); st.machines().len()];
    for (t, rec) in st.live_tasks() {
        let u = b.task(t);
        let TaskState::Running { machine, since, .. } = rec.state else {
            if (u.usage, u.reservation) != (Resources::ZERO, Resources::ZERO) {
                return Err(format!(
                    "task {t} holds usage or a reservation but is not running"
                ));
            }
            continue;
        };
        let shape = st.shape_of(rec);
        let limit = shape.request.res;
        if !(u.usage.fits_in(&u.reservation) && u.reservation.fits_in(&limit)) {
            return Err(format!(
                "task {t}: usage {:?} ≤ reservation {:?} ≤ limit {limit:?} does not hold",
                u.usage, u.reservation
            ));
        }
        if st.now() - since < b.settings().delay && u.reservation != limit {
            return Err(format!(
                "task {t}: reservation below its limit within the delay"
            ));
        }
        let w = &mut want[machine as usize];
        w.usage = w.usage.add(&u.usage);
        w.reserved = w.reserved.add(&u.reservation);
        let e = match w
            .by_priority
            .binary_search_by_key(&shape.priority, |e| e.priority)
        {
            Ok(i) => &mut w.by_priority[i],
            Err(i) => {
                let e = PriorityUse {
                    priority: shape.priority,
                    usage: Resources::ZERO,
                    reserved: Resources::ZERO,
                    tasks: 0,
                };
                w.by_priority.insert(i, e);
                &mut w.by_priority[i]
            }
        };
        e.usage = e.usage.add(&u.usage);
        e.reserved = e.reserved.add(&u.reservation);
        e.tasks += 1;
    }
    Ok(want)
}

/// Machine `m`'s books against what its tasks say.
fn check_machine(
    st: &CellState,
    b: &UsageBooks,
    m: usize,
    want: &MachineUsage,
    have: &MachineUsage,
) -> Result<(), String> {
    if (want.usage, want.reserved) != (have.usage, have.reserved)
        || want.by_priority != have.by_priority()
    {
        return Err(format!(
            "machine {m}: usage {:?} / reserved {:?} / per priority {:?}, its tasks say {:?} / {:?} / {:?}",
            have.usage, have.reserved, have.by_priority(), want.usage, want.reserved, want.by_priority
        ));
    }
    let cap = st.current_capacity(m as u32);
    let [oc_cpu, oc_mem] = b.settings().overcommit_permille;
    let scale = |v: u64, p: u32| v * u64::from(p) / 1000;
    let reservable = Resources::new(scale(cap.cpu_milli, oc_cpu), scale(cap.mem_mib, oc_mem));
    if (have.capacity, have.reservable) != (cap, reservable) {
        return Err(format!(
            "machine {m}: capacity {:?} / reservation basis {:?}, its capacity {cap:?} × \
             overcommit says {reservable:?}",
            have.capacity, have.reservable
        ));
    }
    let prod = st
        .machine(m as u32)
        .by_priority()
        .iter()
        .filter(|e| Band::of(e.priority).is_prod())
        .fold(Resources::ZERO, |acc, e| acc.add(&e.res));
    if !prod.fits_in(&cap) || have.usage.mem_mib > cap.mem_mib {
        return Err(format!(
            "machine {m}: prod limits {prod:?} or memory usage {} MiB beyond its capacity {cap:?}",
            have.usage.mem_mib
        ));
    }
    let mut left = have.usage.cpu_milli.saturating_sub(cap.cpu_milli);
    let mut throttled = [0u64; 4];
    for e in &want.by_priority {
        let take = left.min(e.usage.cpu_milli);
        throttled[Band::of(e.priority).index()] += take;
        left -= take;
    }
    let prod_throttled = Band::ALL
        .iter()
        .filter(|b| b.is_prod())
        .any(|b| throttled[b.index()] > 0);
    if throttled != have.throttled || prod_throttled {
        return Err(format!(
            "machine {m}: throttled {:?}, its usage says {throttled:?} (prod never)",
            have.throttled
        ));
    }
    if b.settings().mode != ReclamationMode::On && have.excess != Resources::ZERO {
        return Err(format!(
            "machine {m}: limits beyond capacity while scheduling by limits"
        ));
    }
    Ok(())
}
