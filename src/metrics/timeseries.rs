//! Periodic samples of the cell: allocation, running and pending tasks by band.
//!
//! A run may take 10⁹ samples, so the series is not kept: each sample
//! becomes a row of `timeseries.csv` ([`Row`], streamed through
//! [`CsvStream`]) once it is final — a later sample at the same instant
//! replaces it, so the newest waits — and memory holds only a thinned
//! copy for the plots: every sample while there are at most
//! [`KEPT_SAMPLES_MAX`] (so every built-in scenario's plots draw every
//! sample), then every 2nd, 4th, … (the copy is halved each time it
//! overflows), always with the first and the last. A line plot 1,000
//! pixels wide loses nothing it could show at that density, except spikes
//! narrower than the stride.
//!
//! A run that keeps usage books (`[reclamation]` measuring or on) samples
//! them too and writes their columns after every other
//! (`timeseries/usage.rs`); a run without them writes the file it always
//! did.

mod usage;

pub use usage::{UsageRow, UsageSample};

use super::stream::CsvStream;
use crate::cell::classes::MAX_GROUPS;
use crate::cell::state::{CellState, EvictionCause};
use crate::error::Result;
use crate::time::{SimTime, US_PER_S};
use serde::{Serialize, Serializer};

/// The cell at one instant; written as a [`Row`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub time_us: u64,
    /// Indexed by [`crate::workload::Band::index`].
    pub cpu_milli: [u64; 4],
    pub mem_mib: [u64; 4],
    pub gpu_milli: [u64; 4],
    pub running: [u64; 4],
    pub pending: [u64; 4],
    /// Evictions so far, by cause (indexed by `EvictionCause as usize`).
    pub evictions: [u64; EvictionCause::ALL.len()],
    /// GPU milli-units asked for by every task submitted so far.
    pub gpu_milli_submitted: u64,
    /// Tasks withdrawn so far (dropped arrivals, trace kills).
    pub tasks_killed: u64,
    /// Tasks the workload submitted but holds outside the cell (waiting for
    /// a DAG parent): pending too, but in no band's `pending` count.
    pub held: u64,
    /// Prod jobs with a task still to run, of them with all tasks running,
    /// and with at least n − k running (`cell::state::availability`).
    pub prod_jobs: [u64; 3],
    /// Tasks evicted by faults waiting for the reschedule rate limit
    /// (pending too, in their band's `pending` count).
    pub reschedule_queued: u64,
    /// Allocated per machine class group (`cell::classes`): (milli-cores,
    /// MiB, GPU milli). Kept for the report's plots; not a column of
    /// `timeseries.csv`, whose columns do not depend on the cell.
    pub class_alloc: [[u64; 3]; MAX_GROUPS],
    /// The usage books' sums, when the run keeps them (`None`: reclamation
    /// off; boxed, so a sample without them stays as small as before).
    pub usage: Option<Box<UsageSample>>,
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
            evictions: l.evictions,
            gpu_milli_submitted: l.gpu_milli_submitted,
            tasks_killed: l.tasks_killed,
            held,
            prod_jobs: {
                let (live, all, within) = st.availability().now_counts();
                [live, all, within]
            },
            reschedule_queued: st.delayed_len() as u64,
            class_alloc: l.alloc_by_class,
            usage: UsageSample::of(st).map(Box::new),
        }
    }

    /// Evictions so far, all causes.
    pub fn evictions_total(&self) -> u64 {
        self.evictions.iter().sum()
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

/// At most this many samples (plus the last) are kept in memory for the
/// plots (~7 MiB: ~400 B a sample; ~10 MiB with usage books, whose sums
/// take ~180 B more); see the module doc.
pub const KEPT_SAMPLES_MAX: usize = 16_384;

/// A run's time series: written as it goes, thinned in memory.
#[derive(Debug)]
pub struct TimeSeries {
    /// The newest sample, not yet written: a later one at the same instant
    /// replaces it.
    last: Option<Sample>,
    /// Samples written (final) so far.
    rows: u64,
    /// Every `stride`-th final sample, from the first.
    kept: Vec<Sample>,
    stride: u64,
    out: Option<SeriesStream>,
    closed: bool,
}

/// Where a series' rows go: `timeseries.csv`, with the usage columns when
/// the run keeps usage books.
#[derive(Debug)]
pub enum SeriesStream {
    /// A run without usage books: [`Row`]s.
    Plain(CsvStream<Row>),
    /// A run with them: each [`Row`] followed by its [`UsageRow`].
    WithUsage(CsvStream<(Row, UsageRow)>),
}

impl SeriesStream {
    /// Creates (or truncates) `path` and writes the header: the usage
    /// columns only `with_usage`.
    ///
    /// # Errors
    /// [`crate::error::Error::Write`] naming the file.
    pub fn create(path: &std::path::Path, with_usage: bool) -> Result<SeriesStream> {
        Ok(match with_usage {
            false => SeriesStream::Plain(CsvStream::create(path)?),
            true => SeriesStream::WithUsage(CsvStream::create(path)?),
        })
    }

    /// Appends the row of `s`.
    ///
    /// # Panics
    /// If the stream has the usage columns and `s` has no usage sample (or
    /// the other way round): the series is of one run.
    fn put(&mut self, s: &Sample) -> Result<()> {
        match (self, &s.usage) {
            (SeriesStream::Plain(out), None) => out.put(&Row::from(s)),
            (SeriesStream::WithUsage(out), Some(u)) => {
                out.put(&(Row::from(s), UsageRow::of(u, &s.evictions)))
            }
            _ => panic!("a sample with usage books iff the file has their columns"),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self {
            SeriesStream::Plain(out) => out.finish(),
            SeriesStream::WithUsage(out) => out.finish(),
        }
    }
}

impl Default for TimeSeries {
    fn default() -> Self {
        TimeSeries {
            last: None,
            rows: 0,
            kept: Vec::new(),
            stride: 1,
            out: None,
            closed: false,
        }
    }
}

impl TimeSeries {
    /// Writes every sample to `out` from now on (before the first sample).
    pub fn stream_to(&mut self, out: SeriesStream) {
        assert!(
            self.last.is_none() && self.rows == 0,
            "a series streams from its first sample"
        );
        self.out = Some(out);
    }

    /// Adds the sample at `s.time_us`, replacing one at the same instant.
    pub fn push(&mut self, s: Sample) -> Result<()> {
        assert!(!self.closed, "a closed series takes no sample");
        if let Some(last) = &mut self.last {
            assert!(s.time_us >= last.time_us, "samples out of order");
            if s.time_us == last.time_us {
                *last = s;
                return Ok(());
            }
        }
        match self.last.replace(s) {
            Some(prev) => self.commit(prev),
            None => Ok(()),
        }
    }

    /// The run is over: the newest sample is final; the file is complete.
    pub fn close(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        if let Some(last) = self.last.clone() {
            self.commit(last)?;
        }
        match &mut self.out {
            Some(out) => out.finish(),
            None => Ok(()),
        }
    }

    fn commit(&mut self, s: Sample) -> Result<()> {
        if let Some(out) = &mut self.out {
            out.put(&s)?;
        }
        if self.rows.is_multiple_of(self.stride) {
            self.kept.push(s);
            if self.kept.len() > KEPT_SAMPLES_MAX {
                // Keep the multiples of twice the stride: every other one.
                let mut i = 0;
                self.kept.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The newest sample.
    pub fn last(&self) -> Option<&Sample> {
        self.last.as_ref()
    }

    /// Samples final so far (rows of `timeseries.csv` once closed).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Samples held in memory (at most [`KEPT_SAMPLES_MAX`] + 1).
    pub fn kept_len(&self) -> usize {
        self.kept.len() + usize::from(self.last_not_kept())
    }

    /// The samples for plots, in time order: every sample of a series of
    /// at most [`KEPT_SAMPLES_MAX`], else evenly thinned; the last always.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        let tail = self.last.as_ref().filter(|_| self.last_not_kept());
        self.kept.iter().chain(tail)
    }

    /// True if the newest sample is not among the thinned ones (it is not
    /// final, or its index is not a multiple of the stride).
    fn last_not_kept(&self) -> bool {
        self.last.is_some() && !(self.closed && (self.rows - 1).is_multiple_of(self.stride))
    }
}

/// A time as `timeseries.csv` writes it: seconds with microsecond
/// precision (`60.000000`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // Digits written by hand, on the stack: the event log writes one
        // per change, and `format!` costs several times more.
        // u64::MAX µs is 18446744073709.551615: 21 bytes.
        let mut buf = [0u8; 24];
        let (mut secs, mut us) = (self.0 / US_PER_S, self.0 % US_PER_S);
        let mut at = buf.len();
        let mut put = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        for _ in 0..6 {
            put(b'0' + (us % 10) as u8);
            us /= 10;
        }
        put(b'.');
        loop {
            put(b'0' + (secs % 10) as u8);
            secs /= 10;
            if secs == 0 {
                break;
            }
        }
        s.serialize_str(std::str::from_utf8(&buf[at..]).expect("ASCII digits"))
    }
}

/// One row of `timeseries.csv`: the header is these names (per band, in
/// [`crate::workload::Band::ALL`] order), so rows and header cannot drift.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    pub time_s: Seconds,
    pub cpu_milli_best_effort: u64,
    pub cpu_milli_batch: u64,
    pub cpu_milli_production: u64,
    pub cpu_milli_monitoring: u64,
    pub mem_mib_best_effort: u64,
    pub mem_mib_batch: u64,
    pub mem_mib_production: u64,
    pub mem_mib_monitoring: u64,
    pub gpu_milli_best_effort: u64,
    pub gpu_milli_batch: u64,
    pub gpu_milli_production: u64,
    pub gpu_milli_monitoring: u64,
    pub running_best_effort: u64,
    pub running_batch: u64,
    pub running_production: u64,
    pub running_monitoring: u64,
    pub pending_best_effort: u64,
    pub pending_batch: u64,
    pub pending_production: u64,
    pub pending_monitoring: u64,
    pub evictions_total: u64,
    /// Evictions so far by cause: one column per [`EvictionCause`] but
    /// `out_of_memory`, in its order (a unit test holds the names to the
    /// enum's).
    pub evictions_preemption: u64,
    pub evictions_machine_down: u64,
    pub evictions_machine_shrunk: u64,
    pub evictions_trace: u64,
    pub evictions_machine_failure: u64,
    pub evictions_maintenance: u64,
    pub evictions_task_crash: u64,
    pub gpu_milli_submitted: u64,
    pub tasks_killed: u64,
    /// Pending outside the cell (held by a trace replay).
    pub held: u64,
    /// Prod jobs with a task still to run (submitted, not all finished).
    pub prod_jobs: u64,
    /// Of them, those with every such task running now.
    pub prod_jobs_all_running: u64,
    /// Of them, those with at most `[metrics] availability_k` not running.
    pub prod_jobs_n_minus_k_running: u64,
    /// Fault-evicted tasks waiting for the reschedule rate limit.
    pub reschedule_queued: u64,
}

impl From<&Sample> for Row {
    fn from(s: &Sample) -> Row {
        // Band::ALL order: best effort, batch, production, monitoring.
        let [cpu_be, cpu_b, cpu_p, cpu_m] = s.cpu_milli;
        let [mem_be, mem_b, mem_p, mem_m] = s.mem_mib;
        let [gpu_be, gpu_b, gpu_p, gpu_m] = s.gpu_milli;
        let [run_be, run_b, run_p, run_m] = s.running;
        let [pen_be, pen_b, pen_p, pen_m] = s.pending;
        // Out-of-memory kills (reclamation on) count in `evictions_total`
        // only: a column of their own would change the file of every run
        // without reclamation.
        let [preemption, machine_down, machine_shrunk, trace, machine_failure, maintenance, task_crash, _out_of_memory] =
            s.evictions;
        Row {
            time_s: Seconds(s.time_us),
            cpu_milli_best_effort: cpu_be,
            cpu_milli_batch: cpu_b,
            cpu_milli_production: cpu_p,
            cpu_milli_monitoring: cpu_m,
            mem_mib_best_effort: mem_be,
            mem_mib_batch: mem_b,
            mem_mib_production: mem_p,
            mem_mib_monitoring: mem_m,
            gpu_milli_best_effort: gpu_be,
            gpu_milli_batch: gpu_b,
            gpu_milli_production: gpu_p,
            gpu_milli_monitoring: gpu_m,
            running_best_effort: run_be,
            running_batch: run_b,
            running_production: run_p,
            running_monitoring: run_m,
            pending_best_effort: pen_be,
            pending_batch: pen_b,
            pending_production: pen_p,
            pending_monitoring: pen_m,
            evictions_total: s.evictions_total(),
            evictions_preemption: preemption,
            evictions_machine_down: machine_down,
            evictions_machine_shrunk: machine_shrunk,
            evictions_trace: trace,
            evictions_machine_failure: machine_failure,
            evictions_maintenance: maintenance,
            evictions_task_crash: task_crash,
            gpu_milli_submitted: s.gpu_milli_submitted,
            tasks_killed: s.tasks_killed,
            held: s.held,
            prod_jobs: s.prod_jobs[0],
            prod_jobs_all_running: s.prod_jobs[1],
            prod_jobs_n_minus_k_running: s.prod_jobs[2],
            reschedule_queued: s.reschedule_queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::stream::header_of;
    use crate::workload::Band;

    #[test]
    fn seconds_are_written_as_simulated_time_shows_them() {
        for us in [0, 1, 999_999, 60_500_000, u64::MAX] {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            w.serialize(Seconds(us)).unwrap();
            let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
            let shown = format!("{}", SimTime(us));
            assert_eq!(text.trim_end(), shown.trim_end_matches('s'), "{us} µs");
        }
    }

    fn at(time_us: u64, held: u64) -> Sample {
        Sample {
            time_us,
            held,
            ..Sample::default()
        }
    }

    #[test]
    fn the_header_names_each_band_in_band_order() {
        // The columns as they were written before rows became a struct.
        let mut want = vec!["time_s".to_string()];
        for what in ["cpu_milli", "mem_mib", "gpu_milli", "running", "pending"] {
            for b in Band::ALL {
                want.push(format!("{what}_{}", b.name()));
            }
        }
        want.push("evictions_total".to_string());
        for c in EvictionCause::ALL {
            if *c != EvictionCause::OutOfMemory {
                want.push(format!("evictions_{}", c.name()));
            }
        }
        want.extend(
            [
                "gpu_milli_submitted",
                "tasks_killed",
                "held",
                "prod_jobs",
                "prod_jobs_all_running",
                "prod_jobs_n_minus_k_running",
                "reschedule_queued",
            ]
            .map(String::from),
        );
        let got: Vec<String> = header_of::<Row>().iter().map(String::from).collect();
        assert_eq!(got, want);
        // Band::ALL[1] is batch: its CPU is the third column.
        let mut s = at(60_500_000, 0);
        s.cpu_milli[Band::Batch.index()] = 7;
        s.evictions[EvictionCause::MachineDown as usize] = 3;
        s.evictions[EvictionCause::Preemption as usize] = 2;
        let row = Row::from(&s);
        assert_eq!((row.time_s, row.cpu_milli_batch), (Seconds(60_500_000), 7));
        assert_eq!(
            (
                row.evictions_total,
                row.evictions_preemption,
                row.evictions_machine_down
            ),
            (5, 2, 3)
        );
    }

    #[test]
    fn a_sample_at_the_same_instant_replaces_the_newest() {
        let mut ts = TimeSeries::default();
        ts.push(at(0, 1)).unwrap();
        ts.push(at(0, 2)).unwrap();
        ts.push(at(5, 3)).unwrap();
        ts.close().unwrap();
        let held: Vec<u64> = ts.samples().map(|s| s.held).collect();
        assert_eq!(held, vec![2, 3]);
        assert_eq!(ts.rows(), 2);
    }

    #[test]
    fn memory_holds_a_thinned_copy_while_every_sample_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeseries.csv");
        let mut ts = TimeSeries::default();
        ts.stream_to(SeriesStream::create(&path, false).unwrap());
        // 3 × 16,384 + 6 = 49,158 samples: the copy overflows at index
        // 16,384 (every 2nd kept from then) and at 32,768 (every 4th), so it
        // holds indices 0, 4, …, 49,156 (12,290 samples) and the last, 49,157.
        let n = 3 * KEPT_SAMPLES_MAX as u64 + 6;
        for t in 0..n {
            ts.push(at(t, t)).unwrap();
            assert!(ts.kept_len() <= KEPT_SAMPLES_MAX + 1);
        }
        ts.close().unwrap();
        assert_eq!(ts.rows(), n);
        let kept: Vec<u64> = ts.samples().map(|s| s.time_us).collect();
        assert_eq!(kept.len(), 12_290 + 1);
        assert!(kept[..12_290]
            .iter()
            .enumerate()
            .all(|(i, t)| *t == 4 * i as u64));
        assert_eq!(kept.last(), Some(&(n - 1)));
        // The file has every one, after the header.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count() as u64, n + 1);
        assert!(
            // held, then prod_jobs (3 columns) and reschedule_queued.
            text.ends_with(&format!("0,0,{},0,0,0,0\n", n - 1)),
            "{}",
            &text[text.len() - 40..]
        );
    }
}
