//! How long each fault takes to recover: from the fault until every task
//! it evicted runs again (or was withdrawn: finished for good, killed),
//! one row per fault in `failures.csv`, percentiles per kind in
//! `summary.json`.
//!
//! A task evicted by a fault is pending until it runs again, and a pending
//! task's slot is never reclaimed (only finished tasks' are), so its task
//! id names it until it is placed or withdrawn — the moment the record
//! lets it go. Each task is outstanding for at most one fault: only a
//! running task can be evicted.

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::{JobId, TaskId};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of fault. Its names (`failures.csv`'s `kind`, the keys of
/// `summary.json`'s `faults.by_kind`) are derived.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum FaultKind {
    /// A machine failed and was repaired.
    MachineFailure,
    /// A rack, row or power domain went out, all its machines together.
    Outage,
    /// A machine stopped reporting (its tasks lost if past the grace).
    Unreachable,
    /// One machine's step of a maintenance drain.
    Maintenance,
    /// A trace's machine REMOVE.
    Remove,
}

impl FaultKind {
    pub const ALL: &'static [FaultKind] = <FaultKind as strum::VariantArray>::VARIANTS;
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Where a fault struck: a failure-domain level and the domain's index.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub level: &'static str,
    pub domain: u32,
}

impl Place {
    pub fn machine(m: MachineId) -> Place {
        Place {
            level: "machine",
            domain: m,
        }
    }
}

/// One fault.
#[derive(Clone, Debug)]
struct Fault {
    time: SimTime,
    kind: FaultKind,
    place: Place,
    machines: u32,
    tasks: u32,
    /// Tasks evicted per job (the jobs live when it struck), whether the
    /// job is prod, and the job's task count.
    per_job: BTreeMap<JobId, (u32, bool, u32)>,
    outstanding: u32,
    recovered: Option<SimTime>,
}

/// Every fault so far, and the tasks they wait for.
#[derive(Default)]
pub struct Records {
    faults: Vec<Fault>,
    /// Task → (fault, its job), while the task is pending. Looked up,
    /// never iterated.
    waiting: FxHashMap<TaskId, (u32, JobId)>,
}

/// `failures.csv`'s row: one fault.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Row {
    /// When the fault struck (µs).
    pub time_us: u64,
    /// `machine_failure`, `outage`, `unreachable`, `maintenance`, `remove`.
    pub kind: &'static str,
    /// `machine`, `rack`, `row` or `power_domain`.
    pub level: &'static str,
    /// The machine's or domain's index at `level`.
    pub domain: u32,
    /// Machines it took down (or out of contact).
    pub machines: u32,
    /// Tasks it evicted.
    pub tasks_evicted: u32,
    /// The most tasks of one job it evicted (what spreading bounds).
    pub max_job_tasks: u32,
    /// The same over prod jobs only.
    pub max_prod_job_tasks: u32,
    /// The largest share of one prod job's tasks it evicted, in basis
    /// points of the job's task count (a trace job's part counts as its
    /// own job): what spreading bounds whatever the job's size.
    pub max_prod_job_share_bp: u32,
    /// When the last of them ran again; empty if some never did.
    pub recovered_at_us: Option<u64>,
    /// `recovered_at_us − time_us`; empty if not recovered.
    pub recover_us: Option<u64>,
}

/// One kind's figures (or all faults'), in `summary.json`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct KindSummary {
    pub count: u64,
    /// Faults that evicted at least one task: the recover-time
    /// percentiles are over those that recovered.
    pub with_evictions: u64,
    pub tasks_evicted: u64,
    /// Faults with evictions whose tasks all ran again.
    pub recovered: u64,
    /// Faults with evictions some of whose tasks had not run again when
    /// the run ended.
    pub unrecovered: u64,
    pub recover_us_p50: Option<u64>,
    pub recover_us_p90: Option<u64>,
    pub recover_us_p99: Option<u64>,
    pub recover_us_max: Option<u64>,
}

/// `summary.json`'s `faults`.
#[derive(Clone, Debug, Serialize)]
pub struct FaultsSummary {
    /// Faults that struck (one per machine for failures, unreachability
    /// and maintenance steps; one per domain outage; one per REMOVE).
    pub faults: u64,
    pub by_kind: BTreeMap<&'static str, KindSummary>,
    pub all: KindSummary,
    pub reschedule_queue: super::limit::QueueSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<super::maintenance::MaintenanceSummary>,
    /// Tasks that crashed (each restarted by its job).
    pub task_crashes: u64,
}

/// `part` of `whole` in basis points, rounded down (10,000 = all).
fn share_bp(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        return 0;
    }
    u32::try_from(u64::from(part) * 10_000 / u64::from(whole)).expect("a share is at most 10,000")
}

impl Records {
    /// Opens a fault with no task evicted yet (recovered at once until
    /// some are); returns its index.
    pub fn open(&mut self, kind: FaultKind, now: SimTime, place: Place, machines: u32) -> u32 {
        self.faults.push(Fault {
            time: now,
            kind,
            place,
            machines,
            tasks: 0,
            per_job: BTreeMap::new(),
            outstanding: 0,
            recovered: Some(now),
        });
        (self.faults.len() - 1) as u32
    }

    /// Counts one more machine in fault `f` (an outage).
    pub fn add_machine(&mut self, f: u32) {
        self.faults[f as usize].machines += 1;
    }

    /// Records `tasks` (just evicted) as fault `f`'s: it recovers when
    /// they all run again.
    pub fn add_tasks(&mut self, f: u32, tasks: &[TaskId], st: &CellState) {
        if tasks.is_empty() {
            return;
        }
        let fault = &mut self.faults[f as usize];
        fault.tasks += tasks.len() as u32;
        fault.outstanding += tasks.len() as u32;
        fault.recovered = None;
        for &t in tasks {
            let job = st.task(t).job;
            let j = st.job(job);
            let size = u32::try_from(j.tasks.len()).expect("a job's task count fits 32 bits");
            let prod = j.band().is_prod();
            fault.per_job.entry(job).or_insert((0, prod, size)).0 += 1;
            let old = self.waiting.insert(t, (f, job));
            assert!(old.is_none(), "task {t} evicted by a fault while pending");
        }
    }

    /// Task `t` runs again or was withdrawn: its fault (if any) has one
    /// task fewer to wait for. Returns the task's job and its fault's kind.
    pub fn recover(&mut self, t: TaskId, now: SimTime) -> Option<(JobId, FaultKind)> {
        let (f, job) = self.waiting.remove(&t)?;
        let fault = &mut self.faults[f as usize];
        fault.outstanding -= 1;
        if fault.outstanding == 0 {
            fault.recovered = Some(now);
        }
        Some((job, fault.kind))
    }

    pub fn kind(&self, f: u32) -> FaultKind {
        self.faults[f as usize].kind
    }

    pub fn len(&self) -> usize {
        self.faults.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn rows(&self) -> Vec<Row> {
        self.faults
            .iter()
            .map(|f| Row {
                time_us: f.time.as_us(),
                kind: f.kind.name(),
                level: f.place.level,
                domain: f.place.domain,
                machines: f.machines,
                tasks_evicted: f.tasks,
                max_job_tasks: f.per_job.values().map(|v| v.0).max().unwrap_or(0),
                max_prod_job_tasks: f
                    .per_job
                    .values()
                    .filter(|v| v.1)
                    .map(|v| v.0)
                    .max()
                    .unwrap_or(0),
                max_prod_job_share_bp: f
                    .per_job
                    .values()
                    .filter(|v| v.1)
                    .map(|v| share_bp(v.0, v.2))
                    .max()
                    .unwrap_or(0),
                recovered_at_us: f.recovered.map(SimTime::as_us),
                recover_us: f.recovered.map(|r| (r - f.time).as_us()),
            })
            .collect()
    }

    /// Each kind's figures (every kind listed, zero if none struck).
    pub fn by_kind(&self) -> BTreeMap<&'static str, KindSummary> {
        FaultKind::ALL
            .iter()
            .map(|&k| {
                (
                    k.name(),
                    summarize(self.faults.iter().filter(|f| f.kind == k)),
                )
            })
            .collect()
    }

    pub fn overall(&self) -> KindSummary {
        summarize(self.faults.iter())
    }
}

/// Counts and nearest-rank percentiles (the ⌈p·n/100⌉-th smallest) of
/// the recover times of `faults` that evicted tasks.
fn summarize<'a>(faults: impl Iterator<Item = &'a Fault>) -> KindSummary {
    let mut s = KindSummary::default();
    let mut times = Vec::new();
    for f in faults {
        s.count += 1;
        s.tasks_evicted += u64::from(f.tasks);
        if f.tasks == 0 {
            continue;
        }
        s.with_evictions += 1;
        match f.recovered {
            Some(r) => {
                s.recovered += 1;
                times.push((r - f.time).as_us());
            }
            None => s.unrecovered += 1,
        }
    }
    times.sort_unstable();
    let pick = |p: usize| -> Option<u64> {
        let n = times.len();
        (n > 0).then(|| times[(p * n).div_ceil(100).max(1) - 1])
    };
    s.recover_us_p50 = pick(50);
    s.recover_us_p90 = pick(90);
    s.recover_us_p99 = pick(99);
    s.recover_us_max = times.last().copied();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};

    #[test]
    fn a_fault_recovers_when_its_last_task_runs_again() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        let (a, b) = (st.job_tasks(j)[0], st.job_tasks(j)[1]);
        let mut r = Records::default();
        let f = r.open(
            FaultKind::MachineFailure,
            SimTime(100),
            Place::machine(0),
            1,
        );
        r.add_tasks(f, &[a, b], &st);
        assert_eq!(
            r.recover(a, SimTime(150)),
            Some((j, FaultKind::MachineFailure))
        );
        assert_eq!(r.rows()[0].recovered_at_us, None, "b still pending");
        r.recover(b, SimTime(400));
        assert_eq!(r.recover(b, SimTime(500)), None, "counted once");
        // Recovered at 400 µs, 400 − 100 = 300 µs after the fault.
        let row = &r.rows()[0];
        assert_eq!(
            (row.recovered_at_us, row.recover_us),
            (Some(400), Some(300))
        );
        assert_eq!((row.tasks_evicted, row.machines), (2, 1));
        assert_eq!(row.max_job_tasks, 2, "both of job j");
        assert_eq!(row.max_prod_job_share_bp, 0, "j is batch");
    }

    #[test]
    fn prod_share_is_of_each_jobs_own_size() {
        // Prod job p of 8 tasks loses 2 (2/8 = 2,500 bp); prod job q of 3
        // tasks loses 1 (1/3 = 3,333 bp, rounded down): q's share is the
        // larger although p lost more tasks.
        let mut st = cell(&[(64_000, 64_000, 0)]);
        let p = submit(&mut st, job(10, 10, 200, 8));
        let q = submit(&mut st, job(10, 10, 200, 3));
        let mut r = Records::default();
        let f = r.open(FaultKind::Outage, SimTime(0), Place::machine(0), 1);
        let lost = [st.job_tasks(p)[0], st.job_tasks(p)[1], st.job_tasks(q)[2]];
        r.add_tasks(f, &lost, &st);
        let row = &r.rows()[0];
        assert_eq!(
            (row.max_prod_job_tasks, row.max_prod_job_share_bp),
            (2, 3333)
        );
    }

    #[test]
    fn percentiles_are_nearest_rank_over_faults_with_evictions() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(10, 10, 100, 4));
        let tasks: Vec<TaskId> = st.job_tasks(j).to_vec();
        let mut r = Records::default();
        // Four faults recovering in 10, 20, 30, 40 µs, and one that
        // evicted nothing (not in the percentiles).
        for (i, &t) in tasks.iter().enumerate() {
            let f = r.open(FaultKind::Outage, SimTime(0), Place::machine(0), 1);
            r.add_tasks(f, &[t], &st);
            r.recover(t, SimTime(10 * (i as u64 + 1)));
        }
        r.open(FaultKind::Outage, SimTime(0), Place::machine(0), 1);
        let s = &r.by_kind()["outage"];
        assert_eq!((s.count, s.with_evictions, s.recovered), (5, 4, 4));
        // p50: ⌈0.5·4⌉ = 2nd smallest = 20; p90: ⌈3.6⌉ = 4th = 40.
        assert_eq!((s.recover_us_p50, s.recover_us_p90), (Some(20), Some(40)));
        assert_eq!(s.recover_us_max, Some(40));
        assert_eq!(r.by_kind()["remove"], KindSummary::default());
    }
}
