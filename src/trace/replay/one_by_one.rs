//! The openb paper's arrival protocol (Weng et al., ATC 2023, and its
//! public simulator): the trace's tasks, shuffled with the run's seed, then
//! tasks drawn from them uniformly with replacement until the total GPU
//! demand of everything that arrived reaches `pct` % of the cell's GPU
//! capacity. One task arrives per simulated second (machines at time 0,
//! tasks from 1 s on), none ever leaves, and one that fits nowhere in the
//! pass after its arrival is dropped (the driver's `drop_unplaced`).
//!
//! The trace's times, durations, qos and phases are not used, as in the
//! paper. Unlike [`super::StreamFeed`] this keeps the whole task list in
//! memory: the protocol shuffles it, and the lists it is meant for are small
//! (the default openb list has 8,152 pods).

use super::{job_spec, Context};
use crate::cell::state::CellState;
use crate::error::Result;
use crate::rng::SimRng;
use crate::sim::feed::{Effects, Feed, FeedReport, ReplayKind};
use crate::time::SimTime;
use crate::trace::{ReadStats, TraceEvent, TraceReader, TraceTask};
use rand::Rng;
use std::collections::BTreeMap;

/// Tasks arriving one by one, never leaving.
pub struct OneByOneFeed {
    machines: Vec<TraceEvent>,
    tasks: Vec<TraceTask>,
    next: usize,
    machines_applied: bool,
    ctx: Context,
    stats: ReadStats,
    counts: BTreeMap<&'static str, u64>,
}

impl OneByOneFeed {
    pub(crate) fn new(
        mut reader: Box<dyn TraceReader>,
        st: &CellState,
        pct: u32,
        mut rng: SimRng,
        ctx: Context,
    ) -> Result<Self> {
        let mut machines = Vec::new();
        let mut base = Vec::new();
        let mut counts = BTreeMap::new();
        while let Some(rec) = reader.next_record()? {
            match rec.event {
                TraceEvent::Submit(t) => base.push(*t),
                ev @ (TraceEvent::MachineAdd(_) | TraceEvent::MachineUpdate(_))
                    if rec.time == SimTime::ZERO =>
                {
                    machines.push(ev)
                }
                _ => *counts.entry("event_ignored").or_default() += 1,
            }
        }
        // Fisher–Yates with the workload stream.
        for i in (1..base.len()).rev() {
            let j = rng.random_range(0..=i);
            base.swap(i, j);
        }
        let capacity = st.cell().total_capacity().gpu_milli();
        let target = capacity * u64::from(pct) / 100;
        let mut demand: u64 = base.iter().map(|t| t.request.gpu.milli()).sum();
        let mut tasks = base.clone();
        let gpu_tasks = base.iter().any(|t| t.request.gpu.milli() > 0);
        while demand < target && gpu_tasks {
            let t = &base[rng.random_range(0..base.len())];
            demand += t.request.gpu.milli();
            tasks.push(t.clone());
        }
        counts.insert("tasks_from_trace", base.len() as u64);
        counts.insert("tasks_drawn", (tasks.len() - base.len()) as u64);
        Ok(OneByOneFeed {
            machines,
            tasks,
            next: 0,
            machines_applied: false,
            ctx,
            stats: reader.stats().clone(),
            counts,
        })
    }

    /// When task `i` arrives: 1 s, 2 s, …
    fn time_of(i: usize) -> SimTime {
        SimTime::from_secs(i as u64 + 1)
    }
}

impl Feed for OneByOneFeed {
    fn next_time(&mut self) -> Result<Option<SimTime>> {
        if !self.machines_applied {
            return Ok(Some(SimTime::ZERO));
        }
        Ok((self.next < self.tasks.len()).then(|| Self::time_of(self.next)))
    }

    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()> {
        if !self.machines_applied {
            for ev in &self.machines {
                self.ctx.apply_machine(now, st, ev);
            }
            self.machines_applied = true;
        }
        while self.next < self.tasks.len() && Self::time_of(self.next) == now {
            let t = &self.tasks[self.next];
            let spec = job_spec(t, vec![None], &st.cell().attr_table, &mut self.counts);
            st.submit_job(now, spec);
            self.next += 1;
            fx.changed = true;
        }
        Ok(())
    }

    fn report(&self) -> Option<FeedReport> {
        Some(FeedReport {
            format: self.ctx.format,
            mode: ReplayKind::OneByOne,
            trace_rows: self.stats.rows,
            trace_rows_skipped: self.stats.skipped.clone(),
            trace_rows_repaired: self.stats.repaired.clone(),
            replay: self.counts.clone(),
        })
    }
}
