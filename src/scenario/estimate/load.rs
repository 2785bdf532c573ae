//! Whether the cell keeps up with what its job classes offer it, and with
//! which share of each class it does not (see the module doc of
//! `estimate`, *Load* and *Live tasks*): per resource, the tasks that want
//! to run at once, each taking its mean request rounded up to whole slots
//! of the machines that admit it, against what the machines hold.

use super::super::build::Prototypes;
use super::super::hosts::unhostable_share;
use crate::cell::domain::DomainLevel;
use crate::cell::resources::{GpuRequest, Request, Resources, GPU_MILLI_PER_DEVICE};
use crate::cell::Machine;
use crate::sched::preempt;
use crate::workload::synthetic::JobClass;
use crate::workload::Priority;

/// The resources compared, in messages: CPU (milli-cores), memory (MiB),
/// GPUs (milli-devices).
pub(super) const RESOURCES: [&str; 3] = ["CPU", "memory", "GPUs"];

/// What a job class asks of the cell.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ClassLoad {
    /// The share of its jobs no machine class can ever host
    /// ([`unhostable_share`]): their tasks stay pending.
    pub stuck: f64,
    /// Per resource, what a running task takes: the capacity of the
    /// machines that admit the class over the tasks of its mean request
    /// they hold, `Σ count × capacity / Σ count × slots`, where a
    /// machine's slots are `⌊capacity / mean request⌋` (infinite when no
    /// machine holds one; 0 for a resource the class does not ask for).
    pub take: [f64; 3],
    /// The tasks of its mean request the machines that admit the class
    /// hold at once, the class alone: per machine, its slots in the
    /// scarcest resource.
    pub holds: f64,
    /// The same for one job, whose tasks `max_per_machine` spreads: at most
    /// that many a machine; and the tasks of a job (mean).
    pub job_holds: f64,
    pub per_job: f64,
    /// The tasks of its mean request (not rounded to slots) the machines
    /// that admit the class hold at once, in the scarcest resource: a
    /// bound on how many it runs at once.
    pub at_once: f64,
    priority: Priority,
    /// Services: tasks that, once placed, never give their room back.
    services: bool,
    /// Tasks below this priority are evicted to make room for the class's
    /// (0: preemption off, none are).
    evicts_below: Priority,
}

/// The cell's capacity and its job classes' loads.
#[derive(Clone, Debug)]
pub(super) struct CellLoad {
    pub capacity: [f64; 3],
    pub classes: Vec<ClassLoad>,
}

/// The judgement for given demands (tasks of each class that want to run
/// at once).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Verdict {
    /// Per resource, the load offered over the cell's capacity.
    pub offered: [f64; 3],
    /// Per class, the share of its (hostable) tasks that wait rather than
    /// run: 0 when the cell keeps up with it (see [`CellLoad::verdict`]).
    pub waiting: Vec<f64>,
}

impl Verdict {
    /// The resource most over capacity and its ratio, if any is over.
    pub fn overloaded(&self) -> Option<(&'static str, f64)> {
        let (i, ratio) = self
            .offered
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("three resources");
        (ratio > 1.0).then_some((RESOURCES[i], ratio))
    }
}

/// `a × b` with 0 × ∞ = 0 (no tasks of an unplaceable size take nothing).
fn mul(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        0.0
    } else {
        a * b
    }
}

/// Per resource: a class's mean request, and the slots of it a machine
/// holds.
fn slots(class: &JobClass, m: &Machine) -> [(f64, f64); 3] {
    let per = |cap: u64, mean: f64| {
        let mean = mean.max(1.0);
        (mean, (cap as f64 / mean).floor())
    };
    let cap = &m.capacity;
    let gpus = f64::from(cap.gpus);
    let device = f64::from(GPU_MILLI_PER_DEVICE);
    let gpu = match class.gpu {
        GpuRequest::None => (0.0, 0.0),
        GpuRequest::Whole(n) => {
            let n = f64::from(n.max(1));
            (n * device, (gpus / n).floor())
        }
        GpuRequest::Share(s) => {
            let s = f64::from(s.max(1));
            (s, gpus * (device / s).floor())
        }
    };
    [
        per(cap.res.cpu_milli, class.cpu_milli.mean_bound()),
        per(cap.res.mem_mib, class.mem_mib.mean_bound()),
        gpu,
    ]
}

/// A machine's capacity per resource.
fn capacity(m: &Machine) -> [f64; 3] {
    let c = &m.capacity;
    [
        c.res.cpu_milli as f64,
        c.res.mem_mib as f64,
        c.gpu_milli() as f64,
    ]
}

impl ClassLoad {
    fn of(class: &JobClass, machines: &[(&Machine, u32)], preemption: bool) -> ClassLoad {
        let per_machine = class
            .spread
            .iter()
            .find(|s| s.level == DomainLevel::Machine)
            .map_or(f64::INFINITY, |s| f64::from(s.max_tasks));
        let (mut room, mut held, mut asked) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        let (mut holds, mut job_holds) = (0.0, 0.0);
        // Constraints and GPUs admit the class at some size.
        let any = Request {
            res: Resources::new(1, 1),
            gpu: class.gpu,
        };
        for (m, n) in machines {
            if m.empty_misfit(&any, &class.constraints).is_some() {
                continue;
            }
            let (n, cap) = (f64::from(*n), capacity(m));
            let mut fewest = f64::INFINITY;
            for (r, (mean, slots)) in slots(class, m).into_iter().enumerate() {
                room[r] += n * cap[r];
                held[r] += n * slots;
                asked[r] = mean;
                if mean > 0.0 {
                    fewest = fewest.min(slots);
                }
            }
            holds += n * fewest;
            job_holds += n * fewest.min(per_machine);
        }
        let take = std::array::from_fn(|r| match (asked[r], held[r]) {
            (0.0, _) => 0.0,
            (_, 0.0) => f64::INFINITY,
            _ => room[r] / held[r],
        });
        let at_once = (0..3)
            .filter(|&r| asked[r] > 0.0)
            .map(|r| room[r] / asked[r])
            .fold(f64::INFINITY, f64::min);
        ClassLoad {
            stuck: unhostable_share(class, machines),
            at_once,
            take,
            holds,
            job_holds,
            per_job: class.tasks.mean_bound().max(1.0),
            priority: class.priority,
            services: class.duration_s.is_none(),
            evicts_below: if preemption {
                preempt::threshold(class.priority)
            } else {
                0
            },
        }
    }

    /// Whether `other`'s tasks get the cell's room before this class's:
    /// they have a higher priority (every pass tries them first, and
    /// preemption evicts for them), or they are services this class may
    /// not evict (once placed, they keep their room).
    fn yields_to(&self, other: &ClassLoad) -> bool {
        other.priority > self.priority || (other.services && other.priority >= self.evicts_below)
    }
}

impl CellLoad {
    /// The loads of a scenario's job classes, from one machine per machine
    /// class (the cell is not built).
    pub fn of(protos: &Prototypes, preemption: bool) -> CellLoad {
        let machines: Vec<(&Machine, u32)> = protos.machines.iter().map(|(m, n)| (m, *n)).collect();
        let mut total = [0.0; 3];
        for (m, n) in &machines {
            for (t, c) in total.iter_mut().zip(capacity(m)) {
                *t += f64::from(*n) * c;
            }
        }
        CellLoad {
            capacity: total,
            classes: (protos.classes.iter())
                .map(|c| ClassLoad::of(c, &machines, preemption))
                .collect(),
        }
    }

    /// What `tasks[j]` running tasks of each class (hostable ones: its
    /// stuck share aside) take of each resource.
    pub fn demand(&self, tasks: &[f64]) -> [f64; 3] {
        let mut d = [0.0; 3];
        for (c, &n) in self.classes.iter().zip(tasks) {
            for (dr, take) in d.iter_mut().zip(c.take) {
                *dr += mul(n, take);
            }
        }
        d
    }

    /// The judgement when `wanted[j]` hostable tasks of class `j` want to
    /// run at once. Per resource, a class gets what is left by the classes
    /// it yields to ([`ClassLoad::yields_to`]), shared with the others of
    /// its priority in proportion to their demand; the share of its tasks
    /// it gets no room for — in the scarcest resource, on the machines that
    /// admit it (the class alone), or for a job's tasks spread by
    /// `max_per_machine` (a job alone) — waits.
    pub fn verdict(&self, wanted: &[f64]) -> Verdict {
        let asked: Vec<[f64; 3]> = (self.classes.iter().zip(wanted))
            .map(|(c, &n)| c.take.map(|t| mul(n, t)))
            .collect();
        let total = self.demand(wanted);
        let offered = std::array::from_fn(|r| match total[r] {
            0.0 => 0.0,
            t => t / self.capacity[r],
        });
        let waiting = (self.classes.iter().enumerate())
            .map(|(j, c)| {
                let alone = |holds: f64, n: f64| if n > holds { holds / n } else { 1.0 };
                let mut served = alone(c.holds, wanted[j]).min(alone(c.job_holds, c.per_job));
                for r in (0..3).filter(|&r| asked[j][r] > 0.0) {
                    let (mut before, mut same) = (0.0, 0.0);
                    for (k, other) in self.classes.iter().enumerate() {
                        if k != j && c.yields_to(other) {
                            before += asked[k][r];
                        } else if k == j || other.priority == c.priority {
                            same += asked[k][r];
                        }
                    }
                    let left = self.capacity[r] - before;
                    served = served.min(if left <= 0.0 { 0.0 } else { left / same });
                }
                1.0 - served.min(1.0)
            })
            .collect();
        Verdict { offered, waiting }
    }

    /// Seconds the cell needs to run `work[j]` hostable task-seconds of
    /// each class beside `standing[j]` hostable tasks that never end
    /// (services): per resource, the work over the capacity the services
    /// leave, the largest of them; `None` when the services leave nothing
    /// for work that needs it.
    pub fn drain_s(&self, work: &[f64], standing: &[f64]) -> Option<f64> {
        let (w, s) = (self.demand(work), self.demand(standing));
        let mut most = 0.0f64;
        for r in 0..3 {
            let left = self.capacity[r] - s[r];
            match w[r] {
                0.0 => {}
                _ if left <= 0.0 => return None,
                w => most = most.max(w / left),
            }
        }
        Some(most)
    }
}

#[cfg(test)]
mod tests;
