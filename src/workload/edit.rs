//! Workload edits: the changes capacity-planning experiments make to a
//! workload while keeping it, job for job, the same workload.
//!
//! The Borg paper's §5.1 asks what a cell would need if its workload were
//! split (prod and non-prod in separate cells; 2, 5 or 10 sub-cells), if
//! requests were rounded up to powers of two, and Verma et al.'s workload
//! inflation how much more of it a cell would take. Each is an edit of the
//! jobs a source yields, applied here, between the source and the cell, so
//! that every variant sees the same jobs drawn from the same streams: a
//! part of the workload is exactly the jobs of the whole that belong to
//! it, never a new draw. [`Edited`] wraps a [`JobSource`]; the identity
//! edit ([`WorkloadEdit::default`]) changes nothing, byte for byte.
//!
//! Jobs are numbered by the order the source yields them (`k`, from 0),
//! which is the same in every variant, and every random choice is a pure
//! function of (root seed, `k`): a part and an inflation draw never depend
//! on the jobs around it.

use super::{Band, JobSource, JobSpec};
use crate::cell::resources::{Request, Resources};
use crate::rng::{RngStreams, SimRng, Stream};
use crate::time::SimTime;
use rand::Rng;

/// Which jobs of the workload are submitted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Keep {
    /// Every job.
    #[default]
    All,
    /// Prod jobs only (monitoring and production bands): a prod-only cell.
    Prod,
    /// Non-prod jobs only (batch and best effort).
    NonProd,
    /// Sub-cell `index` of `parts`: the jobs a seeded hash of their number
    /// assigns to it; every job belongs to exactly one part.
    Part { parts: u32, index: u32 },
}

/// Requests rounded up to a power of two times a base (Borg §5.1: from
/// 0.5 core and 1 GiB): 0.7 cores becomes 1, 1.1 becomes 2, 3 becomes 4,
/// and anything at or below the base becomes the base. A request of 0
/// stays 0 (nothing to round).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RoundUp {
    pub cpu_milli: u64,
    pub mem_mib: u64,
}

impl RoundUp {
    /// Borg's buckets: 500 milli-cores and 1024 MiB.
    pub const BORG: RoundUp = RoundUp {
        cpu_milli: 500,
        mem_mib: 1024,
    };
}

/// How a workload is edited. The default is the identity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadEdit {
    pub keep: Keep,
    pub round_up: Option<RoundUp>,
    /// Vertical inflation: every task's CPU and memory request grown by
    /// this many per mille (rounded up); 0: unchanged.
    pub grow_permille: u32,
    /// Horizontal inflation: each task of a job gains, on average, this
    /// many per mille copies of itself in the job (a job of n tasks gets
    /// n × ⌊f⌋ plus a Binomial(n, f − ⌊f⌋) draw more), Monte-Carlo
    /// sampling of the workload's own tasks; 0: unchanged.
    pub more_tasks_permille: u32,
    /// Which Monte-Carlo draw of the added tasks: 0 is the plain edit's,
    /// any other an independent draw of the same distribution (workload
    /// inflation's trials). The parts' draws never depend on it.
    pub inflation_trial: u32,
}

impl WorkloadEdit {
    /// True when the edit changes nothing (an inflation trial without
    /// tasks to add changes nothing either).
    pub fn is_identity(&self) -> bool {
        WorkloadEdit {
            inflation_trial: 0,
            ..*self
        } == WorkloadEdit::default()
    }

    /// Whether job number `k` (a trace replay: the trace job's key) of
    /// band `band` is submitted.
    pub fn keeps_job(&self, k: u64, band: Band, streams: &RngStreams) -> bool {
        match self.keep {
            Keep::All => true,
            Keep::Prod => band.is_prod(),
            Keep::NonProd => !band.is_prod(),
            Keep::Part { parts, index } => {
                let draw: u32 = streams
                    .substream(Stream::WorkloadEdit, k)
                    .random_range(0..parts.max(1));
                draw == index
            }
        }
    }

    /// `spec` edited (requests rounded and grown, tasks added).
    fn apply(&self, mut spec: JobSpec, k: u64, streams: &RngStreams) -> JobSpec {
        spec.request = self.request(spec.request);
        if self.more_tasks_permille > 0 {
            // Its own stream, apart from the partition's draw: adding tasks
            // never moves a job between parts; salted by the inflation
            // trial (salt 0: the plain substream).
            let mut rng = streams.salted_substream(
                Stream::WorkloadEdit,
                k ^ (1 << 63),
                u64::from(self.inflation_trial),
            );
            let n = spec.task_count();
            let extra = extra_tasks(n, self.more_tasks_permille, &mut rng);
            // The copies are tasks like the job's own: the durations of
            // tasks drawn from the job, in order (a service stays a service).
            let copies: Vec<_> = (0..extra)
                .map(|i| spec.task_durations[i % n.max(1)])
                .collect();
            spec.task_durations.extend(copies);
        }
        spec
    }

    /// A request edited: rounded up, then grown.
    pub fn request(&self, r: Request) -> Request {
        let mut res = r.res;
        if let Some(b) = self.round_up {
            res = Resources::new(
                round_up(res.cpu_milli, b.cpu_milli),
                round_up(res.mem_mib, b.mem_mib),
            );
        }
        if self.grow_permille > 0 {
            let grow = |v: u64| {
                let x = u128::from(v) * (1000 + u128::from(self.grow_permille));
                u64::try_from(x.div_ceil(1000)).unwrap_or(u64::MAX)
            };
            res = Resources::new(grow(res.cpu_milli), grow(res.mem_mib));
        }
        Request { res, gpu: r.gpu }
    }
}

/// What a workload submits, summed over its jobs (every task's request
/// counted once, whenever it runs).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Submitted {
    pub jobs: u64,
    pub tasks: u64,
    /// Requests summed over the tasks: milli-cores, MiB, GPU milli.
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpu_milli: u64,
}

impl Submitted {
    /// Counts one job.
    pub fn add(&mut self, spec: &JobSpec) {
        let n = spec.task_count() as u64;
        let r = spec.request;
        self.jobs += 1;
        self.tasks += n;
        self.cpu_milli = self
            .cpu_milli
            .saturating_add(n.saturating_mul(r.res.cpu_milli));
        self.mem_mib = self.mem_mib.saturating_add(n.saturating_mul(r.res.mem_mib));
        self.gpu_milli = self
            .gpu_milli
            .saturating_add(n.saturating_mul(r.gpu.milli()));
    }
}

/// The smallest `base × 2^i` at or above `v` (`v` = 0 stays 0).
fn round_up(v: u64, base: u64) -> u64 {
    if v == 0 || base == 0 {
        return v;
    }
    let mut b = base;
    while b < v {
        match b.checked_mul(2) {
            Some(next) => b = next,
            None => return v,
        }
    }
    b
}

/// Extra tasks for a job of `n`: `n × ⌊f⌋` and one more for each of its
/// tasks with probability `f − ⌊f⌋` (f in per mille).
fn extra_tasks(n: usize, permille: u32, rng: &mut SimRng) -> usize {
    let whole = (permille / 1000) as usize;
    let frac = permille % 1000;
    let sampled = (0..n).filter(|_| rng.random_range(0..1000) < frac).count();
    n * whole + sampled
}

/// A job source edited by a [`WorkloadEdit`].
pub struct Edited {
    inner: Box<dyn JobSource>,
    edit: WorkloadEdit,
    streams: RngStreams,
    /// The number of the next job the inner source yields.
    k: u64,
}

impl Edited {
    /// `inner` edited by `edit`, its draws from `root_seed`'s streams.
    pub fn new(inner: Box<dyn JobSource>, edit: WorkloadEdit, root_seed: u64) -> Self {
        Edited {
            inner,
            edit,
            streams: RngStreams::new(root_seed),
            k: 0,
        }
    }
}

impl JobSource for Edited {
    fn next_job(&mut self) -> Option<(SimTime, JobSpec)> {
        loop {
            let (t, spec) = self.inner.next_job()?;
            let k = self.k;
            self.k += 1;
            if self.edit.keeps_job(k, spec.band(), &self.streams) {
                return Some((t, self.edit.apply(spec, k, &self.streams)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::SpecBuilder;
    use crate::workload::ListSource;

    #[test]
    fn rounding_up_to_powers_of_two_from_the_base() {
        // Base 500: 1 -> 500, 500 -> 500, 501 -> 1000, 1100 -> 2000, 3000 -> 4000.
        let got: Vec<u64> = [1, 500, 501, 1100, 3000]
            .iter()
            .map(|&v| round_up(v, 500))
            .collect();
        assert_eq!(got, [500, 500, 1000, 2000, 4000]);
        // Base 1024 MiB: 1500 -> 2048; 0 stays 0.
        assert_eq!(round_up(1500, 1024), 2048);
        assert_eq!(round_up(0, 1024), 0);
    }

    #[test]
    fn growing_rounds_up() {
        // 1001 × 1.05 = 1051.05 -> 1052; 4096 × 1.05 = 4300.8 -> 4301.
        let e = WorkloadEdit {
            grow_permille: 50,
            ..WorkloadEdit::default()
        };
        let r = e.request(Request {
            res: Resources::new(1001, 4096),
            ..Request::default()
        });
        assert_eq!((r.res.cpu_milli, r.res.mem_mib), (1052, 4301));
    }

    fn jobs(n: usize) -> Box<dyn JobSource> {
        let specs = (0..n)
            .map(|i| {
                let p = if i % 3 == 0 { 200 } else { 100 };
                let spec = SpecBuilder::new(1000, 1024)
                    .priority(p)
                    .tasks(10, None)
                    .build();
                (SimTime::from_secs(i as u64), spec)
            })
            .collect();
        Box::new(ListSource::new(specs))
    }

    fn drain(mut s: Edited) -> Vec<(SimTime, JobSpec)> {
        std::iter::from_fn(|| s.next_job()).collect()
    }

    #[test]
    fn prod_and_nonprod_split_the_workload_and_parts_partition_it() {
        let all = drain(Edited::new(jobs(300), WorkloadEdit::default(), 7));
        let with = |keep| {
            let e = WorkloadEdit {
                keep,
                ..WorkloadEdit::default()
            };
            drain(Edited::new(jobs(300), e, 7))
        };
        // Jobs 0, 3, 6, ... are prod: 100 of 300.
        assert_eq!(with(Keep::Prod).len(), 100);
        assert_eq!(with(Keep::NonProd).len(), 200);
        // Five parts: every job in exactly one, each part some of them.
        let mut times: Vec<SimTime> = Vec::new();
        for index in 0..5 {
            let part = with(Keep::Part { parts: 5, index });
            assert!(part.len() > 30 && part.len() < 90, "{}", part.len());
            times.extend(part.iter().map(|(t, _)| *t));
        }
        times.sort();
        let whole: Vec<SimTime> = all.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, whole);
    }

    #[test]
    fn more_tasks_adds_about_the_share_asked_and_never_moves_a_job() {
        // 300 jobs of 10 tasks, 1.25 per task more: 3000 × 1 + ~3000 × 0.25.
        let e = WorkloadEdit {
            more_tasks_permille: 1250,
            ..WorkloadEdit::default()
        };
        let edited = drain(Edited::new(jobs(300), e, 7));
        let tasks: usize = edited.iter().map(|(_, s)| s.task_count()).sum();
        assert!(
            (3000 + 3000 + 600..=3000 + 3000 + 900).contains(&tasks),
            "{tasks}"
        );
        // The same jobs, at the same times, and the same parts with it.
        assert_eq!(edited.len(), 300);
        let part = |more| {
            let e = WorkloadEdit {
                keep: Keep::Part { parts: 3, index: 1 },
                more_tasks_permille: more,
                ..WorkloadEdit::default()
            };
            drain(Edited::new(jobs(300), e, 7))
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
        };
        assert_eq!(part(0), part(500));
    }

    #[test]
    fn inflation_trials_draw_other_tasks_and_keep_the_parts() {
        let with = |trial, keep| {
            let e = WorkloadEdit {
                keep,
                more_tasks_permille: 500,
                inflation_trial: trial,
                ..WorkloadEdit::default()
            };
            drain(Edited::new(jobs(300), e, 7))
                .iter()
                .map(|(t, s)| (*t, s.task_count()))
                .collect::<Vec<_>>()
        };
        // Trial 0 is the plain edit's draw, byte for byte.
        let plain = WorkloadEdit {
            more_tasks_permille: 500,
            ..WorkloadEdit::default()
        };
        let plain: Vec<_> = drain(Edited::new(jobs(300), plain, 7))
            .iter()
            .map(|(t, s)| (*t, s.task_count()))
            .collect();
        assert_eq!(with(0, Keep::All), plain);
        // Another trial: other counts (300 jobs of 10 tasks, each gaining
        // Binomial(10, 0.5): the same 300 draws twice has no chance)…
        assert_ne!(with(1, Keep::All), plain);
        assert_eq!(with(1, Keep::All), with(1, Keep::All));
        // …of the same jobs at the same times, and the same parts.
        let times = |v: Vec<(SimTime, usize)>| v.into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        let part = Keep::Part { parts: 3, index: 2 };
        assert_eq!(times(with(0, part)), times(with(5, part)));
        // A trial without tasks to add is the identity.
        let idle = WorkloadEdit {
            inflation_trial: 3,
            ..WorkloadEdit::default()
        };
        assert!(idle.is_identity());
    }

    #[test]
    fn the_identity_changes_nothing() {
        let a = drain(Edited::new(jobs(20), WorkloadEdit::default(), 1));
        assert!(WorkloadEdit::default().is_identity());
        assert_eq!(a.len(), 20);
        assert!(a
            .iter()
            .all(|(_, s)| s.request.res == Resources::new(1000, 1024)));
    }
}
