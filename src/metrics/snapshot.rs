//! Snapshots (`borgsim run --snapshot-at T`, repeatable): at simulated time
//! T, each machine's capacity, what its tasks hold and which tasks they
//! are, as `snapshot-<T>.csv` in the run's directory — what a student
//! checking "worst fit spreads, best fit packs" looks at.
//!
//! One row per machine, in id order, so a machine's load is one line and
//! "tasks per machine" one column; the tasks are listed in the row, in
//! submission order, each as `job_id/task`: the same names as the event
//! log's `job_id` and `task` columns (see [`super::events`]).
//!
//! A snapshot at T shows the cell after every event at T (arrivals,
//! completions, the scheduling pass at T and what it placed): the driver
//! writes it when the next event is later than T, or when the run ends
//! ([`Snapshots::write_due`]). A time series row at T (`timeseries.csv`)
//! is taken among the events at T, in the order they were scheduled, so
//! the two agree whenever nothing else happens at exactly T. A T the run
//! does not reach is left unwritten ([`Snapshots::missed`]).

use super::stream::CsvStream;
use crate::cell::resources::GPU_MILLI_PER_DEVICE;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::error::Result;
use crate::sim::feed::Feed;
use crate::time::{SimTime, US_PER_S};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One row of a snapshot: a machine.
#[derive(Debug, Default, Serialize)]
pub struct Row {
    pub machine: MachineId,
    /// False while the machine is down (or not yet in the cell), and
    /// while it is unreachable (nothing new is placed there).
    pub up: bool,
    /// True while it has stopped reporting (an injected unreachability):
    /// not up, yet its tasks run on and hold what they held.
    pub unreachable: bool,
    /// What the machine offers now: its capacity, less what a trace's
    /// resize withholds; 0 while down.
    pub capacity_cpu_milli: u64,
    pub capacity_mem_mib: u64,
    pub capacity_gpu_milli: u64,
    /// What its running tasks hold.
    pub allocated_cpu_milli: u64,
    pub allocated_mem_mib: u64,
    pub allocated_gpu_milli: u64,
    /// Its running tasks.
    pub tasks: u32,
    /// `job_id/task` of each, in submission order, separated by spaces.
    pub task_list: String,
}

/// The snapshots a run takes, and where.
#[derive(Debug)]
pub struct Snapshots {
    dir: PathBuf,
    /// Times still to take, latest first (the next is the last).
    due: Vec<SimTime>,
    written: Vec<PathBuf>,
}

impl Snapshots {
    /// Snapshots at `times` (in any order; repeats are one), written into `dir`.
    pub fn new(dir: &Path, times: &[SimTime]) -> Snapshots {
        let mut due = times.to_vec();
        due.sort_unstable_by(|a, b| b.cmp(a));
        due.dedup();
        Snapshots {
            dir: dir.to_path_buf(),
            due,
            written: Vec::new(),
        }
    }

    /// The next snapshot's time; [`SimTime::NEVER`] when none is left.
    pub fn next(&self) -> SimTime {
        self.due.last().copied().unwrap_or(SimTime::NEVER)
    }

    /// Writes every snapshot due at or before `t`, of the cell as it is.
    pub fn write_due(&mut self, t: SimTime, st: &CellState, feed: &dyn Feed) -> Result<()> {
        while self.next() <= t {
            let at = self.due.pop().expect("a snapshot is due");
            let path = self.dir.join(file_name(at));
            let mut out = CsvStream::create(&path)?;
            for row in rows(st, feed) {
                out.put(&row)?;
            }
            out.finish()?;
            self.written.push(path);
        }
        Ok(())
    }

    /// Times the run did not reach, earliest first.
    pub fn missed(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.due.iter().rev().copied()
    }

    /// The files written, in time order.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }
}

/// `snapshot-<T>.csv`, T in seconds: `snapshot-3600.csv`, `snapshot-0.5.csv`.
pub fn file_name(t: SimTime) -> String {
    format!("snapshot-{}.csv", seconds_text(t))
}

/// T in seconds, without trailing zeros: `3600`, `0.25`, `1.000001`.
pub fn seconds_text(t: SimTime) -> String {
    let (s, us) = (t.as_us() / US_PER_S, t.as_us() % US_PER_S);
    if us == 0 {
        return s.to_string();
    }
    let frac = format!("{us:06}");
    format!("{s}.{}", frac.trim_end_matches('0'))
}

/// A row per machine, in id order.
pub fn rows(st: &CellState, feed: &dyn Feed) -> Vec<Row> {
    (0..st.cell().len() as MachineId)
        .map(|m| row(st, feed, m))
        .collect()
}

fn row(st: &CellState, feed: &dyn Feed, m: MachineId) -> Row {
    let ms = st.machine(m);
    let up = st.machine_up(m);
    let unreachable = st.machine_unreachable(m);
    // An unreachable machine's books are an up machine's: its tasks hold
    // their resources and GPU devices.
    let holds = up || unreachable;
    let full = st.cell().machines[m as usize].capacity;
    let capacity = full
        .res
        .checked_sub(&st.withheld(m))
        .expect("withheld within capacity");
    // Σ limits: beyond the capacity under reclamation `on` (non-prod on
    // reclaimed resources), `capacity − free` otherwise.
    let allocated = st.limits_held(m);
    let gpu_allocated_milli: u64 = match holds {
        true => ms
            .gpu_free_milli
            .iter()
            .map(|&f| u64::from(GPU_MILLI_PER_DEVICE - f))
            .sum(),
        false => 0,
    };
    let mut tasks = ms.tasks.clone();
    tasks.sort_unstable_by_key(|&t| st.submission_order(t));
    let mut task_list = String::new();
    for (i, &t) in tasks.iter().enumerate() {
        let rec = st.task(t);
        let job = st.job(rec.job);
        let sep = if i == 0 { "" } else { " " };
        let id = job.trace_job.unwrap_or(job.serial);
        let written = match feed.trace_task(t) {
            Some(label) => write!(task_list, "{sep}{id}/{label}"),
            None => write!(task_list, "{sep}{id}/{}", rec.index),
        };
        written.expect("writing to a String");
    }
    Row {
        machine: m,
        up,
        unreachable,
        capacity_cpu_milli: capacity.cpu_milli,
        capacity_mem_mib: capacity.mem_mib,
        capacity_gpu_milli: if holds {
            u64::from(full.gpus) * u64::from(GPU_MILLI_PER_DEVICE)
        } else {
            0
        },
        allocated_cpu_milli: allocated.cpu_milli,
        allocated_mem_mib: allocated.mem_mib,
        allocated_gpu_milli: gpu_allocated_milli,
        tasks: tasks.len() as u32,
        task_list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::feed::JobFeed;
    use crate::testkit::{cell, job, submit};
    use crate::workload::ListSource;

    #[test]
    fn file_names_give_t_in_seconds_without_trailing_zeros() {
        assert_eq!(file_name(SimTime::from_secs(3600)), "snapshot-3600.csv");
        assert_eq!(file_name(SimTime(500_000)), "snapshot-0.5.csv");
        assert_eq!(file_name(SimTime(1_000_001)), "snapshot-1.000001.csv");
        assert_eq!(file_name(SimTime::ZERO), "snapshot-0.csv");
    }

    #[test]
    fn a_row_per_machine_with_its_tasks_in_submission_order() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 2)]);
        let j = submit(&mut st, job(1000, 2000, 100, 3));
        let ts = st.job(j).tasks.to_vec();
        // Placed out of order: the list is in submission order all the same.
        for &t in ts.iter().rev() {
            st.place(SimTime(1), t, 1);
        }
        let feed = JobFeed::new(Box::new(ListSource::new(Vec::new())));
        let rows = rows(&st, &feed);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].tasks, rows[0].allocated_cpu_milli), (0, 0));
        let r = &rows[1];
        // 3 × 1000 milli-cores, 3 × 2000 MiB; the job is the first submitted.
        assert_eq!(
            (r.tasks, r.allocated_cpu_milli, r.allocated_mem_mib),
            (3, 3000, 6000)
        );
        assert_eq!((r.capacity_cpu_milli, r.capacity_gpu_milli), (4000, 2000));
        assert_eq!(r.task_list, "0/0 0/1 0/2");
        // Down: nothing offered, nothing held.
        st.set_machine(SimTime(2), 1, None);
        let r = &super::rows(&st, &feed)[1];
        assert!(!r.up);
        assert_eq!(
            (r.capacity_cpu_milli, r.tasks, r.task_list.as_str()),
            (0, 0, "")
        );
    }
}
