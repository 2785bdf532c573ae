//! Periodic samples of the cell: allocation, running and pending tasks by band.

use crate::cell::state::{CellState, EvictionCause};
use crate::time::SimTime;
use crate::workload::Band;

/// One row of `timeseries.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time_us: u64,
    /// Indexed by [`Band::index`].
    pub cpu_milli: [u64; 4],
    pub mem_mib: [u64; 4],
    pub gpu_milli: [u64; 4],
    pub running: [u64; 4],
    pub pending: [u64; 4],
    pub evictions_total: u64,
    /// GPU milli-units asked for by every task submitted so far.
    pub gpu_milli_submitted: u64,
    /// Tasks withdrawn so far (dropped arrivals, trace kills).
    pub tasks_killed: u64,
    /// Tasks the workload submitted but holds outside the cell (waiting for
    /// a DAG parent): pending too, but in no band's `pending` count.
    pub held: u64,
}

impl Sample {
    /// The cell at `now`, with `held` tasks held outside it.
    pub fn of(st: &CellState, now: SimTime, held: u64) -> Sample {
        let l = st.ledger();
        Sample {
            time_us: now.as_us(),
            cpu_milli: l.alloc_by_band.map(|r| r.cpu_milli),
            mem_mib: l.alloc_by_band.map(|r| r.mem_mib),
            gpu_milli: l.gpu_milli_by_band,
            running: l.running_by_band,
            pending: l.pending_by_band,
            evictions_total: EvictionCause::ALL
                .iter()
                .map(|c| l.evictions[*c as usize])
                .sum(),
            gpu_milli_submitted: l.gpu_milli_submitted,
            tasks_killed: l.tasks_killed,
            held,
        }
    }
}

impl Sample {
    /// True if everything but the time is the same.
    pub fn same_state(&self, other: &Sample) -> bool {
        Sample {
            time_us: other.time_us,
            ..self.clone()
        } == *other
    }
}

/// All samples of a run, in time order.
#[derive(Clone, Debug, Default)]
pub struct TimeSeries {
    pub samples: Vec<Sample>,
}

impl TimeSeries {
    pub fn push(&mut self, s: Sample) {
        if let Some(last) = self.samples.last() {
            assert!(s.time_us >= last.time_us, "samples out of order");
            if s.time_us == last.time_us {
                *self.samples.last_mut().expect("non-empty") = s;
                return;
            }
        }
        self.samples.push(s);
    }

    /// The CSV header: `time_s`, then per band cpu/mem/gpu/running/pending,
    /// then `evictions_total`, `gpu_milli_submitted`, `tasks_killed`,
    /// `held` (pending outside the cell).
    pub fn header() -> Vec<String> {
        let mut h = vec!["time_s".to_string()];
        for what in ["cpu_milli", "mem_mib", "gpu_milli", "running", "pending"] {
            for b in Band::ALL {
                h.push(format!("{what}_{}", b.name()));
            }
        }
        h.push("evictions_total".into());
        h.push("gpu_milli_submitted".into());
        h.push("tasks_killed".into());
        h.push("held".into());
        h
    }

    /// A sample as CSV fields, in header order. Time is in seconds with
    /// microsecond precision.
    pub fn row(s: &Sample) -> Vec<String> {
        let mut r = vec![format!("{}", SimTime(s.time_us))
            .trim_end_matches('s')
            .to_string()];
        for arr in [
            &s.cpu_milli,
            &s.mem_mib,
            &s.gpu_milli,
            &s.running,
            &s.pending,
        ] {
            r.extend(arr.iter().map(|v| v.to_string()));
        }
        r.push(s.evictions_total.to_string());
        r.push(s.gpu_milli_submitted.to_string());
        r.push(s.tasks_killed.to_string());
        r.push(s.held.to_string());
        r
    }
}
