//! An independent checker of the cell's invariants.
//!
//! [`super::state::CellState`] asserts what each change could break; this
//! module recomputes everything from the task records alone and compares, so
//! a bug in the incremental bookkeeping cannot hide itself. Tests and the
//! `--check-invariants` run option call it after every event.

use super::classes::MAX_GROUPS;
use super::domain::DomainLevel;
use super::resources::{Resources, GPU_MILLI_PER_DEVICE};
use super::state::usage::{Basis, Headroom, ReclamationMode};
use super::state::{level_of, CellState, Owner, TaskState};
use crate::workload::Band;
use std::collections::BTreeMap;

mod usage;

/// Checks every invariant; returns the first violation found.
pub fn check(st: &CellState) -> Result<(), String> {
    check_machines(st)?;
    check_tasks(st)?;
    check_spread(st)?;
    check_classes(st)?;
    check_availability(st)?;
    usage::check(st)?;
    check_ledger(st)
}

/// Every live prod job with a task still to run is tracked, with its
/// running and required (not finished) tasks as the task records say; the
/// counts of jobs all running and within k now follow.
fn check_availability(st: &CellState) -> Result<(), String> {
    let a = st.availability();
    let k = u64::from(a.k());
    let (mut live, mut all, mut within) = (0u64, 0u64, 0u64);
    for job in st.live_jobs() {
        let (mut running, mut required) = (0u32, 0u32);
        for &t in job.tasks.iter() {
            let rec = st.task(t);
            if rec.job != job.id {
                continue; // a slot reclaimed and reused by another job
            }
            running += u32::from(matches!(rec.state, TaskState::Running { .. }));
            required += u32::from(rec.state != TaskState::Finished);
        }
        let want = (job.band().is_prod() && required > 0).then_some((running, required));
        if a.counts_of(job.id) != want {
            return Err(format!(
                "job {}: availability tracks {:?}, the tasks say {want:?}",
                job.id,
                a.counts_of(job.id)
            ));
        }
        if want.is_some() {
            live += 1;
            all += u64::from(running == required);
            within += u64::from(u64::from(running) + k >= u64::from(required));
        }
    }
    if a.now_counts() != (live, all, within) {
        return Err(format!(
            "prod jobs (live, all running, within k) {:?}, recounted {:?}",
            a.now_counts(),
            (live, all, within)
        ));
    }
    Ok(())
}

/// Each machine class group's allocation is what its machines' running
/// tasks hold.
fn check_classes(st: &CellState) -> Result<(), String> {
    let mut want = [[0u64; 3]; MAX_GROUPS];
    for (_, rec) in st.live_tasks() {
        let TaskState::Running { machine, .. } = rec.state else {
            continue;
        };
        let req = st.job(rec.job).spec.request;
        let g = &mut want[st.cell().classes().group_of(machine)];
        g[0] += req.res.cpu_milli;
        g[1] += req.res.mem_mib;
        g[2] += req.gpu.milli();
    }
    if want != st.ledger().alloc_by_class {
        return Err(format!(
            "machine class allocation disagrees with the ledger: {want:?} vs {:?}",
            st.ledger().alloc_by_class
        ));
    }
    Ok(())
}

/// The spread counters equal the running tasks of counted jobs, per owner
/// and domain (a trace job's parts counted together).
fn check_spread(st: &CellState) -> Result<(), String> {
    let mut want: BTreeMap<(Owner, u8, u32), u32> = BTreeMap::new();
    for (_, rec) in st.live_tasks() {
        let TaskState::Running { machine, .. } = rec.state else {
            continue;
        };
        if !st.spread_counted(rec.job) {
            continue;
        }
        for level in 0..DomainLevel::ALL.len() as u8 {
            let domain = st
                .cell()
                .domains
                .domain_of(machine as usize, level_of(level));
            *want.entry((st.owner(rec.job), level, domain)).or_default() += 1;
        }
    }
    let have: BTreeMap<(Owner, u8, u32), u32> = st.spread_counters().collect();
    if have != want {
        return Err(format!(
            "spread counters {have:?} disagree with the running tasks {want:?}"
        ));
    }
    Ok(())
}

fn check_machines(st: &CellState) -> Result<(), String> {
    let (used, gpu_used) = use_by_machine(st)?;
    for m in 0..st.machines().len() {
        check_machine(st, m, &used[m], &gpu_used[m])?;
    }
    Ok(())
}

/// Each machine's use recomputed from the task records: resources, and GPU
/// milli-units per device.
fn use_by_machine(st: &CellState) -> Result<(Vec<Resources>, Vec<Vec<u32>>), String> {
    let n = st.cell().len();
    let mut used = vec![Resources::ZERO; n];
    let mut gpu_used: Vec<Vec<u32>> = st
        .cell()
        .machines
        .iter()
        .map(|m| vec![0; m.capacity.gpus as usize])
        .collect();
    for (t, rec) in st.live_tasks() {
        if let TaskState::Running { machine, .. } = &rec.state {
            let gpu = st.gpu_alloc(t);
            let m = *machine as usize;
            used[m] = used[m].add(&st.job(rec.job).spec.request.res);
            let mut taken = vec![GPU_MILLI_PER_DEVICE; gpu_used[m].len()];
            gpu.take_from(&mut taken);
            for (d, left) in taken.iter().enumerate() {
                gpu_used[m][d] += GPU_MILLI_PER_DEVICE - left;
            }
            if !st.machine(*machine).tasks.contains(&t) {
                return Err(format!("task {t} running on {m} but not in its list"));
            }
        }
    }
    Ok((used, gpu_used))
}

/// Whether machine `m` keeps the books of an up machine: up, or
/// unreachable (its tasks run on); never both.
fn books_up(st: &CellState, m: usize) -> Result<bool, String> {
    let (up, unreachable) = (st.machine_up(m as u32), st.machine_unreachable(m as u32));
    if up && unreachable {
        return Err(format!("machine {m} is both up and unreachable"));
    }
    Ok(up || unreachable)
}

/// Machine `m`'s books against its recomputed use.
fn check_machine(
    st: &CellState,
    m: usize,
    used: &Resources,
    gpu_used: &[u32],
) -> Result<(), String> {
    let ms = &st.machines()[m];
    let cap = st.cell().machines[m].capacity;
    // Under reclamation `on`, non-prod may hold limits beyond capacity
    // (reclaimed resources: the limit basis's excess, `invariants/usage.rs`).
    let on = st.reclamation_mode() == ReclamationMode::On;
    if !on && !used.fits_in(&cap.res) {
        return Err(format!(
            "machine {m} over capacity: {used:?} > {:?}",
            cap.res
        ));
    }
    let current = st.current_capacity(m as u32);
    let room = st.headroom(m as u32, Basis::Limit);
    if room != Headroom::between(&current, used) {
        return Err(format!(
            "machine {m} free {:?} (excess {:?}) != capacity - used - withheld",
            ms.free, room.excess
        ));
    }
    let up = books_up(st, m)?;
    if !up && (!ms.tasks.is_empty() || ms.gpu_free_milli.iter().any(|&g| g != 0)) {
        return Err(format!(
            "machine {m} is down but holds tasks or offers GPUs"
        ));
    }
    for (d, u) in gpu_used.iter().enumerate() {
        let expect = if up {
            GPU_MILLI_PER_DEVICE - u.min(&GPU_MILLI_PER_DEVICE)
        } else {
            0
        };
        if *u > GPU_MILLI_PER_DEVICE || ms.gpu_free_milli[d] != expect {
            return Err(format!(
                "machine {m} gpu {d}: used {u}, free {}",
                ms.gpu_free_milli[d]
            ));
        }
    }
    let by_prio_total = ms
        .by_priority()
        .iter()
        .fold(Resources::ZERO, |a, e| a.add(&e.res));
    if by_prio_total != *used {
        return Err(format!("machine {m} per-priority totals disagree"));
    }
    for e in ms.by_priority() {
        let n = ms
            .tasks
            .iter()
            .filter(|&&t| st.shape(t).priority == e.priority)
            .count();
        if n != e.tasks as usize || n == 0 {
            return Err(format!(
                "machine {m} priority {}: {} tasks counted, {n} running",
                e.priority, e.tasks
            ));
        }
    }
    for &t in &ms.tasks {
        match st.task(t).state {
            TaskState::Running { machine, .. } if machine as usize == m => {}
            _ => {
                return Err(format!(
                    "machine {m} lists task {t}, which is not running there"
                ))
            }
        }
    }
    Ok(())
}

fn check_tasks(st: &CellState) -> Result<(), String> {
    let mut pending = 0usize;
    let delayed = delayed_set(st)?;
    for (t, rec) in st.live_tasks() {
        let job = st.job(rec.job);
        if !st.is_live_job(rec.job) {
            return Err(format!("task {t} belongs to reclaimed job {}", rec.job));
        }
        let queued = st.pending().contains(job.priority(), job.id, t);
        let held = delayed.contains(&t);
        let is_pending = rec.state == TaskState::Pending;
        if queued && held {
            return Err(format!(
                "task {t} is in both the pending and the reschedule queue"
            ));
        }
        if (queued || held) != is_pending {
            return Err(format!(
                "task {t}: state {:?} but queued = {queued}, in the reschedule queue = {held}",
                rec.state
            ));
        }
        pending += usize::from(is_pending);
        if let TaskState::Running { machine, .. } = rec.state {
            let copies = st
                .machine(machine)
                .tasks
                .iter()
                .filter(|&&x| x == t)
                .count();
            if copies != 1 {
                return Err(format!(
                    "task {t} listed {copies} times on machine {machine}"
                ));
            }
        }
    }
    if pending != st.pending().len() + delayed.len() {
        return Err(format!(
            "{pending} pending tasks but the queue holds {} and the reschedule queue {}",
            st.pending().len(),
            delayed.len()
        ));
    }
    Ok(())
}

/// The reschedule queue's tasks, each once, each a live task.
fn delayed_set(st: &CellState) -> Result<std::collections::BTreeSet<u32>, String> {
    let mut set = std::collections::BTreeSet::new();
    for (t, _) in st.delayed() {
        if !set.insert(t) {
            return Err(format!("task {t} is twice in the reschedule queue"));
        }
        if (t as usize) >= st.tasks().len() || !st.is_live_job(st.task(t).job) {
            return Err(format!(
                "the reschedule queue holds task {t}, which is gone"
            ));
        }
    }
    Ok(set)
}

fn check_ledger(st: &CellState) -> Result<(), String> {
    let l = st.ledger();
    let mut running = [0u64; 4];
    let mut pending = [0u64; 4];
    let mut alloc = [Resources::ZERO; 4];
    let mut finished = 0u64;
    let mut records = 0u64;
    for (_, rec) in st.live_tasks() {
        records += 1;
        let job = st.job(rec.job);
        let b = job.band().index();
        match rec.state {
            TaskState::Pending => pending[b] += 1,
            TaskState::Running { .. } => {
                running[b] += 1;
                alloc[b] = alloc[b].add(&job.spec.request.res);
            }
            TaskState::Finished => finished += 1,
        }
    }
    for band in Band::ALL {
        let b = band.index();
        if running[b] != l.running_by_band[b] || pending[b] != l.pending_by_band[b] {
            return Err(format!(
                "{} task counts disagree with the ledger",
                band.name()
            ));
        }
        if alloc[b] != l.alloc_by_band[b] {
            return Err(format!(
                "{} allocation disagrees with the ledger",
                band.name()
            ));
        }
    }
    for (c, by_band) in l.evictions_by_band.iter().enumerate() {
        if by_band.iter().sum::<u64>() != l.evictions[c] {
            return Err(format!("evictions of cause {c} by band do not add up"));
        }
    }
    // Reclaimed slots held finished tasks only.
    if finished + l.tasks_reclaimed != l.tasks_finished
        || records + l.tasks_reclaimed != l.tasks_submitted
    {
        return Err("finished/submitted counts disagree with the ledger".into());
    }
    Ok(())
}
