//! Planned maintenance: a drain of a set of machines (a kernel upgrade
//! across the cell), a few at a time, each down for a drawn duration and
//! then back, its tasks evicted with cause `maintenance`.
//!
//! Two limits hold after every event: at most `max_down` machines down
//! for maintenance at once, and a **disruption budget** per job — a
//! machine is taken only if, for every job with tasks on it, the job's
//! tasks already evicted by maintenance and not running again, plus those
//! on the machine, stay within `max(1, ⌊tasks × max_job_share_pct / 100⌋)`
//! (every job may lose one task, or a one-task job would block the drain
//! for ever). Machines are tried in id order; one that does not fit the
//! budget now (or that another fault holds) is passed over and tried again
//! when a maintained machine comes back or, while the drain waits, every
//! [`RETRY_US`]. The drain is finished when every machine of the set has
//! been down and is back.
//!
//! The set: every machine (of `class`, if given), or a seeded share of
//! them (`machines_pct`: ⌈n × pct / 100⌉ machines, picked by a partial
//! Fisher–Yates shuffle from the maintenance stream).

use super::recovery::{FaultKind, Place};
use super::{after, draw_secs, machines_of, stream, FaultEvent, Faults, Out};
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::{Cell, MachineId};
use crate::error::Result;
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::Maintenance as Config;
use crate::time::SimTime;
use crate::workload::JobId;
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// While the drain waits for its budget, it looks again this often (10 s).
pub const RETRY_US: u64 = 10_000_000;

pub struct Maintenance {
    cfg: Config,
    rng: SimRng,
    /// Machines still to take, in id order.
    todo: Vec<MachineId>,
    total: u32,
    drained: u32,
    down: u32,
    /// Per job: its tasks evicted by maintenance and not running again.
    out: BTreeMap<JobId, u32>,
    retry_queued: bool,
    finished: Option<SimTime>,
}

/// `summary.json`'s `faults.maintenance`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MaintenanceSummary {
    /// Machines in the drain's set.
    pub machines: u32,
    /// Machines that were down for maintenance and are back.
    pub drained: u32,
    /// When the drain finished (s); `null` if it had not by the end.
    pub finished_s: Option<f64>,
    /// From the drain's start to its end (or to the run's end) (s).
    pub drain_s: f64,
}

impl Maintenance {
    pub fn new(cfg: &Config, cell: &Cell, streams: &RngStreams) -> Result<Self> {
        let mut todo = machines_of(cell, cfg.class, "faults.maintenance.class")?;
        let mut rng = stream(streams, FaultKind::Maintenance, 0, 0);
        let keep = (todo.len() * cfg.machines_pct as usize).div_ceil(100);
        if keep < todo.len() {
            for i in 0..keep {
                let j = rng.random_range(i..todo.len());
                todo.swap(i, j);
            }
            todo.truncate(keep);
            todo.sort_unstable();
        }
        Ok(Maintenance {
            cfg: cfg.clone(),
            rng,
            total: todo.len() as u32,
            todo,
            drained: 0,
            down: 0,
            out: BTreeMap::new(),
            retry_queued: false,
            finished: None,
        })
    }

    pub fn start(&self) -> SimTime {
        SimTime::from_secs(self.cfg.start_s)
    }

    pub fn down(&self) -> u32 {
        self.down
    }

    /// A task of `job` evicted by maintenance runs again (or was withdrawn).
    pub fn recovered(&mut self, job: JobId) {
        let n = self.out.get_mut(&job).expect("a job counted out");
        *n -= 1;
        if *n == 0 {
            self.out.remove(&job);
        }
    }

    /// The most tasks of job `j` that may be out at once.
    fn allowance(&self, st: &CellState, j: JobId) -> u64 {
        let n = st.job(j).task_count() as u64;
        (n * u64::from(self.cfg.max_job_share_pct) / 100).max(1)
    }

    /// Taking `m` keeps every job within its budget.
    fn fits_budget(&self, st: &CellState, m: MachineId) -> bool {
        let mut on: BTreeMap<JobId, u64> = BTreeMap::new();
        for &t in &st.machine(m).tasks {
            *on.entry(st.task(t).job).or_default() += 1;
        }
        on.iter().all(|(&j, &k)| {
            let out = u64::from(self.out.get(&j).copied().unwrap_or(0));
            out + k <= self.allowance(st, j)
        })
    }

    pub fn summary(&self, end: SimTime) -> MaintenanceSummary {
        let start = self.start().min(end);
        let stop = self.finished.unwrap_or(end).max(start);
        MaintenanceSummary {
            machines: self.total,
            drained: self.drained,
            finished_s: self.finished.map(|t| t.as_us() as f64 / 1e6),
            drain_s: (stop - start).as_us() as f64 / 1e6,
        }
    }
}

impl Faults {
    /// Takes machines while the limits allow; waits (retrying) if blocked.
    pub(super) fn on_drain(&mut self, now: SimTime, st: &mut CellState, out: &mut Out) -> bool {
        let Some(mut mt) = self.maintenance.take() else {
            return false;
        };
        mt.retry_queued = false;
        let mut changed = false;
        while mt.down < mt.cfg.max_down {
            let pick = mt
                .todo
                .iter()
                .position(|&m| self.available(m, st) && mt.fits_budget(st, m));
            let Some(i) = pick else { break };
            let m = mt.todo.remove(i);
            let f = self
                .records
                .open(FaultKind::Maintenance, now, Place::machine(m), 1);
            let evicted = self.take_down(m, f, EvictionCause::Maintenance, now, st);
            for &t in &evicted {
                *mt.out.entry(st.task(t).job).or_default() += 1;
            }
            mt.down += 1;
            let back = after(now, draw_secs(&mt.cfg.duration_s, &mut mt.rng));
            self.push(
                out,
                back,
                FaultEvent::Repair {
                    machine: m,
                    fault: f,
                },
            );
            changed = true;
        }
        if mt.todo.is_empty() && mt.down == 0 && mt.finished.is_none() {
            mt.finished = Some(now);
        }
        if !mt.todo.is_empty() && mt.down < mt.cfg.max_down && !mt.retry_queued {
            mt.retry_queued = true;
            self.push(out, after(now, RETRY_US), FaultEvent::Drain);
        }
        self.maintenance = Some(mt);
        changed
    }

    /// A maintained machine is back: one fewer down, and the drain goes on.
    pub(super) fn maintenance_back(
        &mut self,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let Some(mt) = self.maintenance.as_mut() else {
            return false;
        };
        mt.down -= 1;
        mt.drained += 1;
        if mt.retry_queued {
            // A retry is due anyway; the drain goes on then, or now if the
            // set is done (to note its end).
            if !mt.todo.is_empty() {
                return false;
            }
        }
        self.on_drain(now, st, out)
    }
}
