//! `borgsim trace inspect`: what a trace holds, in one streaming pass.
//!
//! Counts are exact. Request percentiles come from a log-bucketed histogram
//! (64 buckets per power of two: within 1.6 % of the exact value) so memory
//! stays fixed however long the trace; minimum, maximum and mean are exact.
//! Distinct jobs and machines are counted with sets of their keys; a
//! machine's GPUs are counted at its last add or update.

use super::{EndKind, TraceEvent, TraceFormat, TraceReader};
use crate::error::Result;
use crate::time::SimTime;
use crate::workload::Band;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `trace inspect` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub format: &'static str,
    pub rows: u64,
    pub records: u64,
    pub first_time_us: Option<u64>,
    pub last_time_us: Option<u64>,
    pub span_s: f64,
    pub machines: u64,
    /// GPUs over the distinct machines, each at its last add or update.
    pub machine_gpus: u64,
    pub machine_events: BTreeMap<&'static str, u64>,
    pub jobs: u64,
    /// SUBMIT records (a task resubmitted counts again).
    pub task_submissions: u64,
    pub task_schedules: u64,
    /// Ends by kind: End records, and ends known at submission
    /// ([`TraceTask::end_kind`](crate::trace::TraceTask::end_kind)).
    pub task_ends: BTreeMap<EndKind, u64>,
    /// Usage records: a task's usage over a measurement window (a row of
    /// Google's `task_usage` / `instance_usage`, Alibaba's
    /// `container_usage`) or its whole run (Alibaba's `batch_instance`
    /// averages).
    pub usage_records: u64,
    /// Submissions by the trace's own priority (or class: openb's qos).
    pub by_trace_priority: BTreeMap<String, u64>,
    /// Submissions by borgsim band, after the reader's mapping.
    pub by_band: BTreeMap<&'static str, u64>,
    /// Submissions asking for GPUs.
    pub gpu_tasks: u64,
    /// GPU milli asked for by all submissions (a whole device is 1000).
    pub gpu_milli_requested: u64,
    pub with_constraints: u64,
    pub cpu_milli: Summary,
    pub mem_mib: Summary,
    pub gpu_milli: Summary,
    /// Run lengths known at submission, in seconds.
    pub duration_s: Summary,
    pub rows_skipped: u64,
    pub rows_skipped_by_reason: BTreeMap<String, u64>,
    pub rows_repaired: BTreeMap<String, u64>,
}

impl Inspection {
    /// Nothing read yet.
    fn empty(format: TraceFormat) -> Inspection {
        Inspection {
            format: format.name(),
            rows: 0,
            records: 0,
            first_time_us: None,
            last_time_us: None,
            span_s: 0.0,
            machines: 0,
            machine_gpus: 0,
            machine_events: BTreeMap::new(),
            jobs: 0,
            task_submissions: 0,
            task_schedules: 0,
            task_ends: BTreeMap::new(),
            usage_records: 0,
            by_trace_priority: BTreeMap::new(),
            by_band: Band::ALL.iter().map(|b| (b.name(), 0)).collect(),
            gpu_tasks: 0,
            gpu_milli_requested: 0,
            with_constraints: 0,
            cpu_milli: Summary::default(),
            mem_mib: Summary::default(),
            gpu_milli: Summary::default(),
            duration_s: Summary::default(),
            rows_skipped: 0,
            rows_skipped_by_reason: BTreeMap::new(),
            rows_repaired: BTreeMap::new(),
        }
    }
}

/// Reads the whole trace and summarises it.
pub fn inspect(format: TraceFormat, reader: &mut dyn TraceReader) -> Result<Inspection> {
    let mut jobs = FxHashSet::default();
    // Machine → its GPUs (for the sum only: no order reaches the output).
    let mut machines: FxHashMap<u64, u32> = FxHashMap::default();
    let mut ins = Inspection::empty(format);
    let (mut cpu, mut mem, mut gpu, mut dur) = (Hist::new(), Hist::new(), Hist::new(), Hist::new());
    while let Some(rec) = reader.next_record()? {
        ins.records += 1;
        ins.first_time_us.get_or_insert(rec.time.as_us());
        ins.last_time_us = Some(rec.time.as_us());
        let bump = |m: &mut BTreeMap<&'static str, u64>, k| *m.entry(k).or_default() += 1;
        match rec.event {
            TraceEvent::MachineAdd(m) => {
                machines.insert(m.key, m.capacity.gpus);
                bump(&mut ins.machine_events, "add");
            }
            TraceEvent::MachineUpdate(m) => {
                if let Some(g) = machines.get_mut(&m.key) {
                    *g = m.capacity.gpus;
                }
                bump(&mut ins.machine_events, "update");
            }
            TraceEvent::MachineRemove { .. } => bump(&mut ins.machine_events, "remove"),
            TraceEvent::Submit(t) => {
                ins.task_submissions += 1;
                jobs.insert(t.key.job);
                let label = match format {
                    TraceFormat::Openb => super::openb::qos_name(t.trace_priority).to_string(),
                    _ => t.trace_priority.to_string(),
                };
                *ins.by_trace_priority.entry(label).or_default() += 1;
                *ins.by_band.entry(Band::of(t.priority).name()).or_default() += 1;
                ins.gpu_tasks += u64::from(t.request.gpu.milli() > 0);
                ins.gpu_milli_requested += t.request.gpu.milli();
                ins.with_constraints += u64::from(!t.constraints.is_empty());
                cpu.add(t.request.res.cpu_milli);
                mem.add(t.request.res.mem_mib);
                gpu.add(t.request.gpu.milli());
                if let Some(d) = t.duration {
                    dur.add(d.as_us() / 1_000_000);
                }
                // An end known at submission: no End record follows.
                if let Some(kind) = t.end_kind {
                    *ins.task_ends.entry(kind).or_default() += 1;
                }
            }
            TraceEvent::Schedule { .. } => ins.task_schedules += 1,
            TraceEvent::End { kind, .. } => *ins.task_ends.entry(kind).or_default() += 1,
            TraceEvent::Usage { .. } => ins.usage_records += 1,
        }
    }
    let stats = reader.stats();
    ins.rows = stats.rows;
    ins.machines = machines.len() as u64;
    ins.machine_gpus = machines.values().map(|&g| u64::from(g)).sum();
    ins.jobs = jobs.len() as u64;
    ins.span_s = match (ins.first_time_us, ins.last_time_us) {
        (Some(a), Some(b)) => (SimTime(b) - SimTime(a)).as_us() as f64 / 1e6,
        _ => 0.0,
    };
    ins.cpu_milli = cpu.summary();
    ins.mem_mib = mem.summary();
    ins.gpu_milli = gpu.summary();
    ins.duration_s = dur.summary();
    ins.rows_skipped = stats.rows_skipped();
    ins.rows_skipped_by_reason = stats.skipped.clone();
    ins.rows_repaired = stats.repaired.clone();
    Ok(ins)
}

/// Count, exact min/max/mean, approximate percentiles.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub count: u64,
    pub min: Option<u64>,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
    pub mean: Option<f64>,
}

/// A log-bucketed histogram of u64 values: bucket = (exponent, top 6 bits
/// of the mantissa), so a bucket spans at most 1/64 of its lower bound.
struct Hist {
    counts: BTreeMap<u32, u64>,
    n: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Hist {
    fn new() -> Self {
        Hist {
            counts: BTreeMap::new(),
            n: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Values below 64 get their own bucket; above, 64 per power of two.
    fn bucket(v: u64) -> u32 {
        if v < 64 {
            return v as u32;
        }
        let exp = 63 - v.leading_zeros(); // ≥ 6
        let mantissa = (v >> (exp - 6)) as u32 & 63;
        64 + (exp - 6) * 64 + mantissa
    }

    /// The smallest value of a bucket.
    fn lower(b: u32) -> u64 {
        if b < 64 {
            return u64::from(b);
        }
        let exp = (b - 64) / 64 + 6;
        let mantissa = u64::from((b - 64) % 64);
        (64 + mantissa) << (exp - 6)
    }

    fn add(&mut self, v: u64) {
        *self.counts.entry(Self::bucket(v)).or_default() += 1;
        self.n += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Nearest-rank percentile, reported as its bucket's lower bound
    /// (clamped to the exact min and max).
    fn percentile(&self, pct: u64) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let rank = (pct * self.n).div_ceil(100).max(1);
        let mut seen = 0;
        for (&b, &c) in &self.counts {
            seen += c;
            if seen >= rank {
                return Some(Self::lower(b).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    fn summary(&self) -> Summary {
        if self.n == 0 {
            return Summary::default();
        }
        Summary {
            count: self.n,
            min: Some(self.min),
            p50: self.percentile(50),
            p90: self.percentile(90),
            p99: self.percentile(99),
            max: Some(self.max),
            mean: Some(crate::metrics::round6(self.sum as f64 / self.n as f64)),
        }
    }
}

impl Inspection {
    /// A few lines for a person at a terminal.
    pub fn human(&self) -> String {
        let mut out = format!(
            "format {}: {} rows, {} records, span {:.0} s\n\
             machines: {}, {} GPUs ({:?})\n\
             jobs: {}, task submissions: {} ({} ask for GPUs, {} GPU milli in all; {} with constraints), schedules: {}\n",
            self.format,
            self.rows,
            self.records,
            self.span_s,
            self.machines,
            self.machine_gpus,
            self.machine_events,
            self.jobs,
            self.task_submissions,
            self.gpu_tasks,
            self.gpu_milli_requested,
            self.with_constraints,
            self.task_schedules,
        );
        out += &format!("ends: {:?}\n", self.task_ends);
        out += &format!("usage records: {}\n", self.usage_records);
        out += &format!("by trace priority: {:?}\n", self.by_trace_priority);
        out += &format!("by band: {:?}\n", self.by_band);
        for (name, s) in [
            ("cpu_milli", &self.cpu_milli),
            ("mem_mib", &self.mem_mib),
            ("gpu_milli", &self.gpu_milli),
            ("duration_s", &self.duration_s),
        ] {
            if s.count > 0 {
                out += &format!(
                    "{name}: min {} p50 {} p90 {} p99 {} max {} mean {:.1}\n",
                    s.min.unwrap_or(0),
                    s.p50.unwrap_or(0),
                    s.p90.unwrap_or(0),
                    s.p99.unwrap_or(0),
                    s.max.unwrap_or(0),
                    s.mean.unwrap_or(0.0)
                );
            }
        }
        out += &format!(
            "rows skipped: {} {:?}; repaired: {:?}",
            self.rows_skipped, self.rows_skipped_by_reason, self.rows_repaired
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_are_summed_over_machines_and_requests() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/openb");
        let files = crate::trace::Source::files([dir.join("nodes.csv"), dir.join("pods.csv")]);
        let mut r = crate::trace::open(TraceFormat::Openb, &files, &Default::default()).unwrap();
        let ins = inspect(TraceFormat::Openb, r.as_mut()).unwrap();
        // Nodes: 2 + 8 + 0 + 4 GPUs. Pods: a 460 share, one whole device,
        // eight whole devices, none: 460 + 1000 + 8000 = 9460 milli.
        assert_eq!((ins.machines, ins.machine_gpus), (4, 14));
        assert_eq!((ins.gpu_tasks, ins.gpu_milli_requested), (3, 9460));
    }

    #[test]
    fn buckets_bound_the_relative_error() {
        for v in [
            0u64,
            1,
            63,
            64,
            65,
            127,
            128,
            1000,
            12_345,
            1 << 40,
            u64::MAX,
        ] {
            let lo = Hist::lower(Hist::bucket(v));
            assert!(lo <= v, "{v}");
            // Within 1/64 of the value: v − lo < v/64 + 1.
            assert!(v - lo <= v / 64, "{v}: {lo}");
        }
        // 100 × 1000 and one 5000. 1000 = 125 << 3 (exponent 9, mantissa
        // 125 & 63 = 61), so its bucket starts at (64 + 61) << 3 = 1000 and
        // p50 = p99 = 1000 exactly.
        let mut h = Hist::new();
        for _ in 0..100 {
            h.add(1000);
        }
        h.add(5000);
        let s = h.summary();
        assert_eq!(
            (s.p50, s.p99, s.max, s.min),
            (Some(1000), Some(1000), Some(5000), Some(1000))
        );
    }
}
