//! The synthetic workload: job classes, each an arrival process and
//! distributions of tasks per job, task sizes and durations.
//!
//! Every class draws from its own RNG sub-stream (workload stream, class
//! index), so adding or changing one class leaves the jobs of the others
//! exactly as they were. Classes are merged lazily by submission time (ties:
//! lower class index first), so memory does not grow with the run's length.

use super::dist::{to_u64, Dist};
use super::job::JobName;
use super::{JobSource, JobSpec, Priority, SpreadLimit};
use crate::cell::attrs::Constraint;
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::rng::{RngStreams, SimRng, Stream};
use crate::time::{SimDuration, SimTime, US_PER_S};
use rand::Rng;
use std::sync::Arc;

/// How jobs of a class arrive after the initial batch.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ArrivalProcess {
    /// No arrivals beyond the initial jobs.
    None,
    /// A Poisson process: exponential gaps with this mean, in µs.
    Poisson { mean_gap_us: f64 },
    /// Exactly `count` jobs at independent uniform times in `[0, end]`,
    /// generated in order (see [`next_uniform_order_statistic`]).
    Uniform { count: u64, end: SimTime },
}

/// The next of `n` remaining sorted uniform draws on `[prev, end]`: the
/// minimum of `n` uniforms there, `prev + (end − prev)·(1 − V^(1/n))` for
/// `V ~ U(0,1)`. Drawing the order statistics one by one this way yields
/// exactly the distribution of `n` sorted uniform times, without holding them.
pub fn next_uniform_order_statistic(
    rng: &mut SimRng,
    prev: SimTime,
    end: SimTime,
    n: u64,
) -> SimTime {
    let v: f64 = rng.random();
    let frac = 1.0 - v.powf(1.0 / n as f64);
    let span_us = end.as_us().saturating_sub(prev.as_us());
    prev + SimDuration(to_u64(span_us as f64 * frac).min(span_us))
}

/// A validated job class, ready to generate from.
#[derive(Clone, Debug)]
pub struct JobClass {
    pub name: String,
    pub priority: Priority,
    pub users: u32,
    pub initial_jobs: u64,
    pub arrival: ArrivalProcess,
    pub max_jobs: Option<u64>,
    pub tasks: Dist,
    pub cpu_milli: Dist,
    pub mem_mib: Dist,
    pub gpu: GpuRequest,
    /// Seconds a task runs; `None` = long-running service.
    pub duration_s: Option<Dist>,
    pub spread: Vec<SpreadLimit>,
    pub constraints: Vec<Constraint>,
}

#[derive(Clone)]
struct ClassState {
    class: JobClass,
    /// The class name and its users' names, shared by every job.
    name: Arc<str>,
    users: Vec<Arc<str>>,
    rng: SimRng,
    next: Option<SimTime>,
    emitted: u64,
}

/// A lazy, deterministic merge of job classes up to a horizon.
#[derive(Clone)]
pub struct SyntheticSource {
    classes: Vec<ClassState>,
    horizon: SimTime,
}

impl SyntheticSource {
    pub fn new(classes: Vec<JobClass>, streams: &RngStreams, horizon: SimTime) -> Self {
        let classes = classes
            .into_iter()
            .enumerate()
            .map(|(i, class)| {
                let mut s = ClassState {
                    rng: streams.substream(Stream::Workload, i as u64),
                    name: class.name.as_str().into(),
                    users: (0..class.users.max(1))
                        .map(|u| format!("{}-user{u}", class.name).into())
                        .collect(),
                    class,
                    next: None,
                    emitted: 0,
                };
                s.next = s.next_time(SimTime::ZERO);
                s
            })
            .collect();
        SyntheticSource { classes, horizon }
    }
}

impl ClassState {
    /// The submission time of the next job after one at `prev`, if any.
    fn next_time(&mut self, prev: SimTime) -> Option<SimTime> {
        if self.class.max_jobs.is_some_and(|m| self.emitted >= m) {
            return None;
        }
        if self.emitted < self.class.initial_jobs {
            return Some(SimTime::ZERO);
        }
        match self.class.arrival {
            ArrivalProcess::None => None,
            ArrivalProcess::Poisson { mean_gap_us } => {
                let gap = Dist::Exponential { mean: mean_gap_us }.sample(&mut self.rng);
                Some(prev + SimDuration(to_u64(gap)))
            }
            ArrivalProcess::Uniform { count, end } => {
                let done = self.emitted - self.class.initial_jobs;
                (done < count)
                    .then(|| next_uniform_order_statistic(&mut self.rng, prev, end, count - done))
            }
        }
    }

    fn make_job(&mut self) -> JobSpec {
        let c = &self.class;
        let rng = &mut self.rng;
        let n = c.tasks.sample_u64(rng).max(1) as usize;
        let request = Request {
            res: Resources::new(
                c.cpu_milli.sample_u64(rng).max(1),
                c.mem_mib.sample_u64(rng).max(1),
            ),
            gpu: c.gpu,
        };
        let task_durations = (0..n)
            .map(|_| {
                c.duration_s
                    .as_ref()
                    .map(|d| SimDuration(to_u64(d.sample(rng) * US_PER_S as f64).max(1)))
            })
            .collect();
        let user = rng.random_range(0..c.users.max(1));
        JobSpec {
            name: JobName {
                base: self.name.clone(),
                serial: Some(self.emitted),
            },
            user: self.users[user as usize].clone(),
            priority: c.priority,
            request,
            constraints: c.constraints.clone(),
            spread: c.spread.clone(),
            task_durations,
        }
    }
}

impl JobSource for SyntheticSource {
    fn next_job(&mut self) -> Option<(SimTime, JobSpec)> {
        let (i, t) = self
            .classes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.next.map(|t| (i, t)))
            .min_by_key(|&(i, t)| (t, i))?;
        if t > self.horizon {
            return None;
        }
        let c = &mut self.classes[i];
        let spec = c.make_job();
        c.emitted += 1;
        c.next = c.next_time(t);
        Some((t, spec))
    }

    /// A copy of the generator, in its current state, draws the jobs: the
    /// very jobs the run will submit, whatever the classes' arrival
    /// processes, job limits and the horizon make of their weights.
    fn sample_ahead(&self, max_tasks: u64) -> Option<Vec<JobSpec>> {
        let mut copy = self.clone();
        let mut jobs = Vec::new();
        let mut tasks = 0u64;
        while tasks < max_tasks {
            let Some((_, spec)) = copy.next_job() else {
                break;
            };
            tasks += spec.task_durations.len() as u64;
            jobs.push(spec);
        }
        Some(jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, initial: u64, per_hour: f64) -> JobClass {
        JobClass {
            name: name.into(),
            priority: 100,
            users: 3,
            initial_jobs: initial,
            arrival: ArrivalProcess::Poisson {
                mean_gap_us: 3600.0 * 1e6 / per_hour,
            },
            max_jobs: None,
            tasks: Dist::Uniform { min: 1.0, max: 5.0 },
            cpu_milli: Dist::Constant(500.0),
            mem_mib: Dist::Constant(1024.0),
            gpu: GpuRequest::None,
            duration_s: Some(Dist::Exponential { mean: 60.0 }),
            spread: vec![],
            constraints: vec![],
        }
    }

    fn drain(classes: Vec<JobClass>, seed: u64) -> Vec<(SimTime, String, usize)> {
        let mut s = SyntheticSource::new(classes, &RngStreams::new(seed), SimTime::from_secs(3600));
        std::iter::from_fn(|| s.next_job())
            .map(|(t, j)| (t, j.task_count(), j.name.to_string()))
            .map(|(t, n, name)| (t, name, n))
            .collect()
    }

    #[test]
    fn initial_jobs_first_then_poisson_in_time_order() {
        let jobs = drain(vec![class("a", 2, 120.0)], 1);
        assert_eq!(jobs[0].0, SimTime::ZERO);
        assert_eq!(jobs[1].0, SimTime::ZERO);
        assert!(jobs.windows(2).all(|w| w[0].0 <= w[1].0));
        // 120 jobs/hour over an hour: expect ~120 (Poisson sd ~11).
        let n = jobs.len() - 2;
        assert!((80..=160).contains(&n), "{n}");
        assert!(jobs.iter().all(|j| (1..=5).contains(&j.2)));
    }

    #[test]
    fn uniform_arrivals_are_sorted_counted_and_uniform() {
        let mut c = class("u", 0, 1.0);
        c.arrival = ArrivalProcess::Uniform {
            count: 4000,
            end: SimTime::from_secs(3600),
        };
        c.tasks = Dist::Constant(1.0);
        let jobs = drain(vec![c], 3);
        assert_eq!(jobs.len(), 4000);
        assert!(jobs.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(jobs.last().unwrap().0 <= SimTime::from_secs(3600));
        // Uniform on [0, 3600 s]: about half before 1800 s (sd ~32 of 4000).
        let first_half = jobs
            .iter()
            .filter(|j| j.0 < SimTime::from_secs(1800))
            .count();
        assert!((1840..=2160).contains(&first_half), "{first_half}");
    }

    #[test]
    fn a_class_is_unchanged_by_adding_another() {
        let alone = drain(vec![class("a", 0, 60.0)], 9);
        let both = drain(vec![class("a", 0, 60.0), class("b", 1, 30.0)], 9);
        let a_in_both: Vec<_> = both.into_iter().filter(|j| j.1.starts_with("a-")).collect();
        assert_eq!(alone, a_in_both);
    }
}
