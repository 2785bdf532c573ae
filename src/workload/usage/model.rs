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
//!
//! What never changes for a task is kept, not drawn again: its mean shares
//! and its key's hash up to the window ([`TaskMemo`], taken where it is
//! placed), and each model's daily factor per window of the day (a table
//! when the windows repeat within [`MAX_DAY_TABLE`] of them). Same values,
//! bit for bit: the same operations on the same operands.

use super::{ModelId, TaskMemo, UsageKey, UsageSource};
use crate::cell::resources::Resources;
use crate::error::{Error, Result};
use crate::rng::{KeyedPrefix, RngStreams, SimRng, Stream};
use crate::scenario::{Invalid, Scenario, UsageModelConfig};
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::dist::Dist;
use crate::workload::job::JobInfo;
use rand::SeedableRng;
use std::collections::BTreeMap;

const HOUR_US: u64 = 3_600 * US_PER_S;
const DAY_US: u64 = 24 * HOUR_US;

/// The first word of a draw's key: a task's mean shares and its windows'
/// noise never share a key.
const MEAN_DRAW: u64 = 0;
const NOISE_DRAW: u64 = 1;

/// The most windows a model's table of daily factors holds (a day of
/// 5-minute windows is 288); windows that repeat less often than this
/// compute the factor each time.
pub const MAX_DAY_TABLE: u64 = 4096;

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
    /// [`Model::diurnal_factor`] by window: see [`Diurnal`].
    by_window: Diurnal,
}

/// CPU's daily factor per window, kept or not.
#[derive(Clone, Debug)]
enum Diurnal {
    /// Computed for each window (the windows repeat only after more than
    /// [`MAX_DAY_TABLE`] of them).
    Each,
    /// Window w's factor is entry w mod the table's length: window w
    /// starts at w × window, whose time of day repeats every
    /// day / gcd(window, day) windows.
    Table(Box<[f64]>),
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
            by_window: Diurnal::Each,
        }
    }

    /// Tabulates the daily factor for windows of `window_us` (> 0) µs, if
    /// they repeat within [`MAX_DAY_TABLE`] windows: e.g. 300 s windows
    /// repeat every 86,400 / gcd(300, 86,400) = 288.
    fn tabulate(mut self, window_us: u64) -> Self {
        let period = DAY_US / gcd(window_us, DAY_US);
        if period <= MAX_DAY_TABLE {
            let table = (0..period).map(|i| self.diurnal_factor(i * window_us));
            self.by_window = Diurnal::Table(table.collect());
        }
        self
    }

    /// The daily factor of window `w` of `window_us` µs (the one this
    /// model was tabulated for).
    #[inline]
    fn diurnal_at(&self, w: u64, window_us: u64) -> f64 {
        match &self.by_window {
            Diurnal::Table(t) => t[(w % t.len() as u64) as usize],
            Diurnal::Each => self.diurnal_factor(w * window_us),
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

/// Greatest common divisor (Euclid).
fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Synthetic tasks' usage from the scenario's usage models (see the module
/// doc for the formula). Built once per run; a pure function after that.
#[derive(Clone, Debug)]
pub struct SyntheticUsage {
    /// The usage stream's keyed draws, before their key.
    draws: KeyedPrefix,
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
            models.push(Model::new(c).tabulate(window.as_us()));
            by_class.entry(Box::from(*name)).or_insert(id);
        }
        let default = match default {
            Some(c) => {
                c.validate("reclamation.usage")?;
                models.push(Model::new(c).tabulate(window.as_us()));
                ModelId((models.len() - 1) as u16)
            }
            None => ModelId::LIMIT,
        };
        Ok(SyntheticUsage {
            draws: streams.keyed_prefix(Stream::Usage, &[]),
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
                let bits = (self.draws)
                    .then(&[MEAN_DRAW, key.job_serial, u64::from(key.index), r as u64])
                    .value();
                dist.sample(&mut SimRng::seed_from_u64(bits))
            }
        };
        // A NaN (no validated distribution draws one) stays NaN, and
        // `share_of` rounds it to 0: never a panic.
        draw.clamp(0.0, 1000.0)
    }

    /// A task's noise draws' key up to the window: [NOISE_DRAW, job
    /// serial, index], continued with [w, resource] per draw.
    fn noise_key(&self, key: UsageKey) -> KeyedPrefix {
        (self.draws).then(&[NOISE_DRAW, key.job_serial, u64::from(key.index)])
    }
}

/// Window `w`'s z for a task's resource, from the task's
/// [`SyntheticUsage::noise_key`]: uniform in [−1, 1): the keyed bits' top 53
/// over 2^53 is in [0, 1), exactly; × 2 − 1.
#[inline]
fn noise_z(task: KeyedPrefix, w: u64, r: Resource) -> f64 {
    let bits = task.then(&[w, r as u64]).value();
    (bits >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
}

/// `permille` ‰ of `limit`, rounded to the nearest integer once, clamped
/// to 0..=limit.
fn share_of(limit: u64, permille: f64) -> u64 {
    // Below 2^63 a limit converts as a signed integer, one instruction, to
    // the same double as `limit as f64` (both round to nearest).
    let limit_f = match i64::try_from(limit) {
        Ok(l) => l as f64,
        Err(_) => limit as f64,
    };
    round_to_u64(limit_f * permille / 1000.0).min(limit)
}

/// [`to_u64`](crate::workload::dist::to_u64)'s rounding (half away from zero, saturating; NaN and ≤ 0 give
/// 0), without `f64::round`, which this target builds as a software
/// routine: the truncation `x as u64`, plus one if what it dropped is at
/// least a half. Exact: below 2^52, x − ⌊x⌋ is computed without error (0
/// below 1; else ⌊x⌋ ≤ x < 2⌊x⌋, Sterbenz); from 2^52 on, x is an integer.
#[inline]
fn round_to_u64(x: f64) -> u64 {
    const INTEGERS_FROM: f64 = 4_503_599_627_370_496.0; // 2^52
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= INTEGERS_FROM {
        x as u64 // an integer already; `as` saturates at u64::MAX
    } else {
        // Below 2^52 the signed conversions are exact and one instruction
        // each (the unsigned ones are not, on this target).
        let t = x as i64;
        (t + i64::from(x - t as f64 >= 0.5)) as u64
    }
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
        self.usage_memo(model, key, &self.memo(model, key), limit, now)
    }

    /// The task's mean shares (as `f64` bits) and its noise key; nothing
    /// for a task without a model.
    fn memo(&self, model: ModelId, key: UsageKey) -> TaskMemo {
        let Some(m) = self.models.get(usize::from(model.0)) else {
            return TaskMemo::default();
        };
        TaskMemo([
            self.mean_permille(&m.cpu_permille, key, Resource::Cpu)
                .to_bits(),
            self.mean_permille(&m.mem_permille, key, Resource::Mem)
                .to_bits(),
            self.noise_key(key).value(),
        ])
    }

    fn usage_memo(
        &self,
        model: ModelId,
        _key: UsageKey,
        memo: &TaskMemo,
        limit: &Resources,
        now: SimTime,
    ) -> Resources {
        let Some(m) = self.models.get(usize::from(model.0)) else {
            debug_assert_eq!(model, ModelId::LIMIT, "a model of another source");
            return *limit;
        };
        let [cpu_mean, mem_mean, noise] = memo.0;
        let noise = KeyedPrefix::from_value(noise);
        let w = self.window_index(now);
        let cpu = f64::from_bits(cpu_mean)
            * m.diurnal_at(w, self.window_us)
            * (1.0 + m.noise * noise_z(noise, w, Resource::Cpu));
        let mem = f64::from_bits(mem_mean) * (1.0 + m.noise * noise_z(noise, w, Resource::Mem));
        Resources {
            cpu_milli: share_of(limit.cpu_milli, cpu),
            mem_mib: share_of(limit.mem_mib, mem),
        }
    }
}

#[cfg(test)]
mod tests;
