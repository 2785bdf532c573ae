//! The synthetic usage model: a task's usage, window by window, from its
//! job class's `usage` table (`scenario::usage`).
//!
//! A synthetic workload has requests (limits) but no record of what its
//! tasks use; reclamation needs one. Per job class, the model is:
//!
//! - a **mean share** of the limit per task and resource, ‰, drawn once
//!   from the class's `cpu_permille` / `mem_permille` distribution and
//!   clamped to 0..=1000;
//! - per **window** w = ⌊now / window⌋ (the reclamation tick), starting at
//!   t_w = w × window, with h = the hour of day of t_w (fractional;
//!   simulated time 0 is midnight):
//!
//! ```text
//! cpu = limit × mean/1000 × (1 + diurnal × cos(2π (h − peak_hour) / 24)) × (1 + noise × z_cpu)
//! mem = limit × mean/1000 × (1 + noise × z_mem)
//! ```
//!
//!   with diurnal and noise the ‰ keys over 1000, z uniform in [−1, 1),
//!   drawn per (task, window, resource); each result rounded to the
//!   nearest integer once and clamped to 0..=limit. Memory has no daily
//!   cycle: it follows load slowly (caches and heaps stay), CPU at once.
//!
//! Every draw is keyed ([`RngStreams::keyed`] on [`Stream::Usage`]), never
//! taken from a running stream: a task's usage is a fixed function of the
//! seed, its key (job serial, task index) and the window, whatever else
//! runs and in whatever order or how often the driver asks. A mean share
//! needs a distribution's sampler, which takes a generator: the keyed 64
//! bits seed a PCG64 (`SeedableRng::seed_from_u64`, specified by
//! `rand_core`) that makes that one draw. A window's z is the keyed 64
//! bits' top 53 as a fraction, exactly.

use super::{ModelId, UsageKey, UsageSource};
use crate::cell::resources::Resources;
use crate::error::{Error, Result};
use crate::rng::{RngStreams, SimRng, Stream};
use crate::scenario::{Invalid, Scenario, UsageModelConfig};
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::dist::{to_u64, Dist};
use crate::workload::job::JobInfo;
use rand::SeedableRng;
use std::collections::BTreeMap;

const HOUR_US: u64 = 3_600 * US_PER_S;
const DAY_US: u64 = 24 * HOUR_US;

/// The first word of a draw's key: a task's mean shares and its windows'
/// noise never share a key.
const MEAN_DRAW: u64 = 0;
const NOISE_DRAW: u64 = 1;

/// The resource a draw is for: the last word of its key.
#[derive(Copy, Clone, Debug)]
enum Resource {
    Cpu = 0,
    Mem = 1,
}

/// One model, compiled: the ‰ keys as fractions.
#[derive(Clone, Debug)]
struct Model {
    cpu_permille: Dist,
    mem_permille: Dist,
    /// `noise_permille` / 1000.
    noise: f64,
    /// `diurnal_permille` / 1000.
    diurnal: f64,
    peak_hour: f64,
}

impl Model {
    /// Validated (`UsageModelConfig::validate`), so sampling cannot fail.
    fn new(c: &UsageModelConfig) -> Self {
        Model {
            cpu_permille: c.cpu_permille.clone(),
            mem_permille: c.mem_permille.clone(),
            noise: f64::from(c.noise_permille) / 1000.0,
            diurnal: f64::from(c.diurnal_permille) / 1000.0,
            peak_hour: f64::from(c.peak_hour),
        }
    }

    /// CPU's daily factor for the window starting at `start_us`:
    /// 1 + diurnal × cos(2π (h − peak) / 24), h its hour of day.
    fn diurnal_factor(&self, start_us: u64) -> f64 {
        let hour = (start_us % DAY_US) as f64 / HOUR_US as f64;
        let angle = std::f64::consts::TAU * (hour - self.peak_hour) / 24.0;
        1.0 + self.diurnal * angle.cos()
    }
}

/// Synthetic tasks' usage from the scenario's usage models (see the module
/// doc for the formula). Built once per run; a pure function after that.
#[derive(Clone, Debug)]
pub struct SyntheticUsage {
    streams: RngStreams,
    /// The window's length, µs (> 0): usage changes only at its multiples.
    window_us: u64,
    /// By [`ModelId`]: the job classes' own models in class order, then the
    /// default, if any.
    models: Vec<Model>,
    /// Job class name → its own model.
    by_class: BTreeMap<Box<str>, ModelId>,
    /// The model of a job whose class has none ([`ModelId::LIMIT`]: none).
    default: ModelId,
}

impl SyntheticUsage {
    /// The models of `sc`'s job classes (`workload.jobs[i].usage`), and
    /// `default` (the `[reclamation] usage` table) for jobs whose class
    /// has none; without a default those use their whole limit. Usage
    /// changes every `window` (the reclamation tick, `interval_s`), drawn
    /// from `sc.seed`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key (the run named by `sc.name`): a
    /// model that fails validation (`workload.jobs[i].usage.…`, or
    /// `reclamation.usage.…` for the default), a zero `window`
    /// (`reclamation.interval_s`), or more than 65,535 models.
    pub fn from_scenario(
        sc: &Scenario,
        default: Option<&UsageModelConfig>,
        window: SimDuration,
    ) -> Result<Self> {
        let classes: Vec<(String, &str, &UsageModelConfig)> = sc
            .workload
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(i, j)| {
                let key = format!("workload.jobs[{i}].usage");
                j.usage.as_ref().map(|u| (key, j.name.as_str(), u))
            })
            .collect();
        Self::build(RngStreams::new(sc.seed), window, &classes, default).map_err(
            |(key, message)| Error::Invalid {
                path: std::path::PathBuf::from(&sc.name),
                key,
                message,
            },
        )
    }

    /// [`Self::from_scenario`] from its parts: (key, class name, model)
    /// per class with a model.
    fn build(
        streams: RngStreams,
        window: SimDuration,
        classes: &[(String, &str, &UsageModelConfig)],
        default: Option<&UsageModelConfig>,
    ) -> std::result::Result<Self, Invalid> {
        if window.as_us() == 0 {
            return Err(("reclamation.interval_s".into(), "must be > 0".into()));
        }
        let count = classes.len() + usize::from(default.is_some());
        if count > usize::from(ModelId::LIMIT.0) {
            return Err((
                "workload.jobs".into(),
                format!(
                    "{count} usage models, more than {} (model ids are 16-bit)",
                    ModelId::LIMIT.0
                ),
            ));
        }
        let mut models = Vec::with_capacity(count);
        let mut by_class = BTreeMap::new();
        for (key, name, c) in classes {
            c.validate(key)?;
            let id = ModelId(models.len() as u16);
            models.push(Model::new(c));
            by_class.entry(Box::from(*name)).or_insert(id);
        }
        let default = match default {
            Some(c) => {
                c.validate("reclamation.usage")?;
                models.push(Model::new(c));
                ModelId((models.len() - 1) as u16)
            }
            None => ModelId::LIMIT,
        };
        Ok(SyntheticUsage {
            streams,
            window_us: window.as_us(),
            models,
            by_class,
            default,
        })
    }

    /// Whether any job can have a model: without one, every task uses its
    /// limit and nothing is left to reclaim.
    pub fn has_models(&self) -> bool {
        !self.models.is_empty()
    }

    /// The window: usage changes only at its multiples of simulated time.
    pub fn window(&self) -> SimDuration {
        SimDuration(self.window_us)
    }

    /// The window `now` falls in, ⌊now / window⌋.
    pub fn window_index(&self, now: SimTime) -> u64 {
        now.as_us() / self.window_us
    }

    /// A task's mean share of its limit, ‰ in 0..=1000, drawn once from
    /// `dist` (keyed by the task and the resource; a constant draws nothing).
    fn mean_permille(&self, dist: &Dist, key: UsageKey, r: Resource) -> f64 {
        let draw = match dist {
            Dist::Constant(v) => *v,
            _ => {
                let bits = self.streams.keyed(
                    Stream::Usage,
                    &[MEAN_DRAW, key.job_serial, u64::from(key.index), r as u64],
                );
                dist.sample(&mut SimRng::seed_from_u64(bits))
            }
        };
        // A NaN (no validated distribution draws one) stays NaN, and
        // `share_of` rounds it to 0: never a panic.
        draw.clamp(0.0, 1000.0)
    }

    /// Window `w`'s z for a task's resource, uniform in [−1, 1): the keyed
    /// bits' top 53 over 2^53 is in [0, 1), exactly; × 2 − 1.
    fn noise_z(&self, key: UsageKey, w: u64, r: Resource) -> f64 {
        let bits = self.streams.keyed(
            Stream::Usage,
            &[
                NOISE_DRAW,
                key.job_serial,
                u64::from(key.index),
                w,
                r as u64,
            ],
        );
        (bits >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }
}

/// `permille` ‰ of `limit`, rounded to the nearest integer once, clamped
/// to 0..=limit.
fn share_of(limit: u64, permille: f64) -> u64 {
    to_u64(limit as f64 * permille / 1000.0).min(limit)
}

impl UsageSource for SyntheticUsage {
    /// By the job's class name (a synthetic job's `name.base`); a class
    /// without a model, or a job of no class (a trace's), gets the default.
    fn model_of(&self, job: &JobInfo) -> ModelId {
        self.by_class
            .get(&*job.name.base)
            .copied()
            .unwrap_or(self.default)
    }

    fn usage(&self, model: ModelId, key: UsageKey, limit: &Resources, now: SimTime) -> Resources {
        let Some(m) = self.models.get(usize::from(model.0)) else {
            debug_assert_eq!(model, ModelId::LIMIT, "a model of another source");
            return *limit;
        };
        let w = self.window_index(now);
        let cpu = self.mean_permille(&m.cpu_permille, key, Resource::Cpu)
            * m.diurnal_factor(w * self.window_us)
            * (1.0 + m.noise * self.noise_z(key, w, Resource::Cpu));
        let mem = self.mean_permille(&m.mem_permille, key, Resource::Mem)
            * (1.0 + m.noise * self.noise_z(key, w, Resource::Mem));
        Resources {
            cpu_milli: share_of(limit.cpu_milli, cpu),
            mem_mib: share_of(limit.mem_mib, mem),
        }
    }
}

#[cfg(test)]
mod tests;
