//! A workload's typical pods, and a machine's GPU fragmentation measured
//! against them: what the `fgd` policy ([`super::plugins::fgd`]) descends.
//!
//! Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation",
//! ATC 2023) does not judge a free GPU by itself but by the pods the
//! workload is made of: idle GPU milli that the workload's common pods
//! could not use — on a device too small for them, on a machine without
//! the CPU they need, of a model they may not run on — is fragmented. So
//! the measure needs the workload's *typical pods*, computed once from the
//! workload's own pod list (CPU pods included):
//!
//! 1. count the pods by (CPU request, GPU request, constraints);
//! 2. sort the keys by count, descending (ties: CPU, per-GPU milli, GPU
//!    count descending, then the constraints);
//! 3. take keys until they cover at least 95 % of all pods (the key that
//!    crosses the line is included); each key's weight is its count over
//!    the counts taken.
//!
//! A machine's fragmentation F is Σ over typical pods t of w_t × the GPU
//! milli t could not use there: all of the machine's free GPU milli L if t
//! is a CPU pod, if t's constraints exclude the machine (a GPU model it may
//! not run on), if t's GPUs do not fit or its CPU does not; otherwise the
//! free milli of the devices too small for t. Memory plays no part. To stay
//! in integers, F is kept multiplied by the counts' total: Σ count_t × frag_t.
//!
//! Which workload ([`TypicalSource`]): a trace replayed one by one gives
//! its pod list (before shuffling and topping up). A synthetic workload
//! gives the first `sim::feed::TYPICAL_SAMPLE_TASKS` (10,000) tasks its job
//! classes will submit, drawn by a copy of the generator: a sample rather
//! than the classes' distributions weighted by expected task counts,
//! because the sample is exactly the run's own tasks — the classes'
//! arrival processes, job limits and horizon weigh them as they really do —
//! and continuous request distributions need no quantizing. A trace
//! replayed at its times gives the first 10,000 tasks it submits (each
//! task once, whatever its resubmissions), read ahead by a second reader
//! over the same files, which stops there (a streamed trace is not read
//! twice in full). Only a feed that can do none of these falls back on the
//! tasks submitted by the first scheduling pass (see
//! `sim::feed::Feed::typical_pods`). Which it was, how many tasks it rests
//! on, how many keys and what share of those tasks they cover is
//! [`TypicalPods::report`] (`summary.json`'s `typical_pods`).

mod measure;

use crate::cell::attrs::{Attributes, Constraint};
use crate::cell::resources::{GpuRequest, Request, GPU_MILLI_PER_DEVICE};
use measure::FragMeasure;
use std::sync::{Arc, OnceLock};

/// The share of the pod list the typical pods cover, in percent.
pub const COVERAGE_PCT: u64 = 95;

/// Fewer tasks than this under the typical pods and a run warns: the
/// fragmentation they measure stands for little of the workload.
pub const FEW_TASKS: u64 = 100;

/// Where a workload's typical pods were counted (`summary.json`'s
/// `typical_pods.source`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypicalSource {
    /// A one-by-one replay's pod list, before shuffling and topping up.
    PodList,
    /// A synthetic workload's first tasks, sampled ahead.
    WorkloadAhead,
    /// A trace replayed at its times: its first tasks, read ahead.
    TraceAhead,
    /// The tasks submitted by the first scheduling pass (a feed that
    /// cannot look ahead).
    FirstPass,
}

impl TypicalSource {
    /// As `summary.json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            TypicalSource::PodList => "pod_list",
            TypicalSource::WorkloadAhead => "workload_ahead",
            TypicalSource::TraceAhead => "trace_ahead",
            TypicalSource::FirstPass => "first_pass",
        }
    }
}

/// What the typical pods rest on, for `summary.json` and the run page.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TypicalReport {
    pub source: TypicalSource,
    /// Tasks counted (the pod list, the sample, or those submitted).
    pub tasks_counted: u64,
    /// Typical pods (request shapes) kept.
    pub keys: usize,
    /// The tasks of the kept shapes, % of `tasks_counted`, 2 decimals (at
    /// least [`COVERAGE_PCT`] unless nothing was counted).
    pub coverage_pct: f64,
}

/// One typical pod: a request shape and how many pods of the list have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypicalPod {
    /// CPU request, milli-cores.
    pub cpu_milli: u64,
    pub gpu: GpuRequest,
    /// Where it may run (for the openb traces: its `gpu_spec`); empty for
    /// CPU pods, which ignore GPU models.
    pub constraints: Vec<Constraint>,
    /// Pods of the list with this shape.
    pub count: u64,
}

/// The typical pods of a workload, with the thresholds that turn a change
/// of fragmentation into the `fgd` score.
#[derive(Clone, Debug)]
pub struct TypicalPods {
    pods: Vec<TypicalPod>,
    /// Σ count over `pods`: the weights' denominator.
    total: u64,
    /// `thresholds[k − 1]`: the least ΔF (in count × milli) whose score is
    /// at least k, for k = 1..=100 (see [`TypicalPods::score_of_delta`]).
    thresholds: Vec<i64>,
    /// The pods arranged for [`TypicalPods::fragmentation`].
    measure: FragMeasure,
    /// Tasks counted, kept or not (≥ `total`).
    counted: u64,
    source: TypicalSource,
}

/// The typical pods, shared between the scorer and the device choice of a
/// profile and filled in once the workload is known (the first pass).
pub type TypicalSlot = Arc<OnceLock<TypicalPods>>;

/// Per-GPU milli and GPU count of a request (0, 0 for CPU pods).
pub fn milli_and_count(gpu: GpuRequest) -> (u32, u32) {
    match gpu {
        GpuRequest::None => (0, 0),
        GpuRequest::Share(m) => (m, 1),
        GpuRequest::Whole(n) => (GPU_MILLI_PER_DEVICE, n),
    }
}

impl TypicalPods {
    /// The typical pods of a pod list from `source`: each task's request
    /// and constraints.
    pub fn from_tasks<'a>(
        source: TypicalSource,
        tasks: impl IntoIterator<Item = (Request, &'a [Constraint])>,
    ) -> Self {
        let mut keys: Vec<TypicalPod> = Vec::new();
        let mut all = 0u64;
        for (req, constraints) in tasks {
            all += 1;
            let constraints = if req.gpu == GpuRequest::None {
                Vec::new()
            } else {
                constraints.to_vec()
            };
            let (cpu_milli, gpu) = (req.res.cpu_milli, req.gpu);
            match keys
                .iter_mut()
                .find(|k| k.cpu_milli == cpu_milli && k.gpu == gpu && k.constraints == constraints)
            {
                Some(k) => k.count += 1,
                None => keys.push(TypicalPod {
                    cpu_milli,
                    gpu,
                    constraints,
                    count: 1,
                }),
            }
        }
        keys.sort_by_cached_key(|k| {
            let (milli, num) = milli_and_count(k.gpu);
            std::cmp::Reverse((
                k.count,
                k.cpu_milli,
                milli,
                num,
                format!("{:?}", k.constraints),
            ))
        });
        let mut taken = 0u64;
        let mut pods = Vec::new();
        for k in keys {
            if taken * 100 >= all * COVERAGE_PCT {
                break;
            }
            taken += k.count;
            pods.push(k);
        }
        TypicalPods {
            counted: all,
            source,
            ..TypicalPods::new(pods)
        }
    }

    /// Typical pods as given (their counts are their weights; reported as
    /// a pod list of just these).
    pub fn new(pods: Vec<TypicalPod>) -> Self {
        let total = pods.iter().map(|p| p.count).sum();
        TypicalPods {
            thresholds: thresholds(total),
            measure: FragMeasure::new(&pods),
            pods,
            total,
            counted: total,
            source: TypicalSource::PodList,
        }
    }

    /// Where they were counted, on how many tasks, and what they cover.
    pub fn report(&self) -> TypicalReport {
        // Exact to 2 decimals: half basis points, rounded half up; 0 when
        // nothing was counted.
        let coverage = (self.total * 20_000)
            .checked_div(self.counted)
            .map_or(0.0, |half_bp| half_bp.div_ceil(2) as f64 / 100.0);
        TypicalReport {
            source: self.source,
            tasks_counted: self.counted,
            keys: self.pods.len(),
            coverage_pct: coverage,
        }
    }

    pub fn pods(&self) -> &[TypicalPod] {
        &self.pods
    }

    /// Σ count: F is this many times the weighted fragmentation.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// F × total of a machine with `attrs`, `cpu_left` milli-cores free and
    /// devices with `gpu_free` milli free (see the module doc; computed as
    /// `measure.rs` says, the same integer as summed pod by pod).
    pub fn fragmentation(&self, attrs: &Attributes, cpu_left: u64, gpu_free: &[u32]) -> u64 {
        self.measure.fragmentation(attrs, cpu_left, gpu_free)
    }

    /// The `fgd` score of a fall of fragmentation by `delta` (F × total,
    /// before minus after): ⌊100 · σ(ΔF / 1000)⌋ with σ(x) = 1/(1 + e^−x),
    /// read off integer thresholds, so 50 when nothing changes.
    pub fn score_of_delta(&self, delta: i64) -> u64 {
        self.thresholds.partition_point(|&t| t <= delta) as u64
    }
}

/// The least ΔF × total giving each score k = 1..=100: ⌊100σ(x)⌋ ≥ k iff
/// x ≥ ln(k / (100 − k)), with x = ΔF / (1000 × total); σ rounds to 1.0 in
/// doubles from x ≈ 36.7 on, so 100 needs x ≥ 37. Computed once, in
/// doubles; the scores compare integers.
fn thresholds(total: u64) -> Vec<i64> {
    let scale = 1000.0 * total as f64;
    (1..=100u32)
        .map(|k| {
            let x = if k == 100 {
                37.0
            } else {
                (f64::from(k) / f64::from(100 - k)).ln()
            };
            (scale * x).ceil() as i64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::resources::Resources;

    fn req(cpu: u64, gpu: GpuRequest) -> Request {
        Request {
            res: Resources {
                cpu_milli: cpu,
                mem_mib: 0,
            },
            gpu,
        }
    }

    #[test]
    fn typical_pods_cover_95_percent_of_the_list() {
        // 20 pods: 10 × share 500, 6 × 1 GPU, 3 × CPU, 1 × 2 GPUs.
        // Cumulative 10, 16, 19 (95 % of 20 = 19 reached): the 2-GPU
        // pod is left out; weights 10/19, 6/19, 3/19.
        let mut list = vec![req(4000, GpuRequest::Share(500)); 10];
        list.extend(vec![req(8000, GpuRequest::Whole(1)); 6]);
        list.extend(vec![req(2000, GpuRequest::None); 3]);
        list.push(req(16000, GpuRequest::Whole(2)));
        let tp =
            TypicalPods::from_tasks(TypicalSource::PodList, list.iter().map(|r| (*r, &[][..])));
        let counts: Vec<_> = tp.pods().iter().map(|p| (p.gpu, p.count)).collect();
        assert_eq!(
            counts,
            [
                (GpuRequest::Share(500), 10),
                (GpuRequest::Whole(1), 6),
                (GpuRequest::None, 3)
            ]
        );
        assert_eq!(tp.total(), 19);
        // 19 of the 20 tasks counted: 95.00 %.
        let r = tp.report();
        assert_eq!((r.tasks_counted, r.keys, r.coverage_pct), (20, 3, 95.0));
    }

    #[test]
    fn equal_counts_go_larger_cpu_first() {
        let list = [req(1000, GpuRequest::None), req(3000, GpuRequest::None)];
        let tp =
            TypicalPods::from_tasks(TypicalSource::PodList, list.iter().map(|r| (*r, &[][..])));
        assert_eq!(tp.pods()[0].cpu_milli, 3000);
    }

    #[test]
    fn fragmentation_counts_what_each_typical_pod_cannot_use() {
        // Typical: 2 × (1000 m, share 500), 1 × (1000 m, 1 GPU), 1 × CPU.
        let tp = TypicalPods::new(vec![
            pod(1000, GpuRequest::Share(500), 2),
            pod(1000, GpuRequest::Whole(1), 1),
            pod(1000, GpuRequest::None, 1),
        ]);
        let attrs = Attributes::default();
        // Devices free [1000, 300]: L = 1300. Share 500 fits on device 0,
        // device 1 (300 < 500) is fragment: 300. 1 GPU fits, device 1
        // (< 1000): 300. CPU pod: L = 1300. F × 4 = 2·300 + 300 + 1300.
        assert_eq!(tp.fragmentation(&attrs, 4000, &[1000, 300]), 2200);
        // No CPU left for any: every pod sees L: 4 × 1300.
        assert_eq!(tp.fragmentation(&attrs, 500, &[1000, 300]), 5200);
    }

    #[test]
    fn the_score_is_the_sigmoid_of_the_fall_in_thousands() {
        let tp = TypicalPods::new(vec![pod(0, GpuRequest::None, 2)]);
        // ΔF = 0: σ(0) = 0.5, score 50. Per pod of weight (total 2),
        // ΔF × total = 2000 is x = 1: ⌊100 · 0.7311⌋ = 73; x = −1: 26.
        assert_eq!(tp.score_of_delta(0), 50);
        assert_eq!(tp.score_of_delta(2000), 73);
        assert_eq!(tp.score_of_delta(-2000), 26);
        // x = 40 → σ = 1.0 in doubles: 100; x = −40: 0.
        assert_eq!(tp.score_of_delta(80_000), 100);
        assert_eq!(tp.score_of_delta(-80_000), 0);
    }

    fn pod(cpu_milli: u64, gpu: GpuRequest, count: u64) -> TypicalPod {
        TypicalPod {
            cpu_milli,
            gpu,
            constraints: Vec::new(),
            count,
        }
    }
}
