//! Before a run: job classes that no machine class of the cell can host.
//!
//! A task that no machine could host even empty stays pending for the whole
//! run (`never_schedulable` in `pending.csv`). For a synthetic scenario that
//! can be known from the file alone: each job class is judged against each
//! machine class — an empty machine of the class at full capacity — by the
//! same check the run uses ([`crate::cell::Machine::empty_misfit`]), so
//! `borgsim validate` can say, before anything runs, which classes will
//! leave tasks stuck and why (the constraint that fails, the resource that
//! is short and by how much).
//!
//! Sizes are distributions, drawn and rounded to integers of at least 1, so
//! there are three kinds of finding ([`HostWarningKind`]):
//! - **never**: even the class's smallest draw fits no machine class —
//!   every task of the class will be pending;
//! - **largest draw**: the distribution is bounded (`constant`, `uniform`,
//!   `choice`, `weighted`, or `lognormal`/`pareto` with `max`) and its
//!   largest draw fits no machine class — some tasks will be pending;
//! - **tail**: the distribution is unbounded (`exponential`, or
//!   `lognormal`/`pareto` without `max`) and a draw exceeds every machine
//!   that satisfies the constraints with probability at least
//!   [`TAIL_WARN_PROBABILITY`] per task.
//!
//! Each machine class is judged by one machine standing for it
//! (`build::Prototypes`): the cell itself, which may hold billions of
//! machines, is never built here. The estimate (`estimate`) reads the same
//! judgement as a number, [`unhostable_share`]: the share of a class's
//! jobs no machine class can ever host, from [`exceed_probability`].
//!
//! Trace scenarios are not judged here: their tasks are known only by
//! reading the whole trace (a run reports them in `pending.csv`).

use super::model::Scenario;
use crate::cell::attrs::{AttrTable, Constraint};
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::cell::{EmptyMisfit, Machine};
use crate::sched::reason::Reason;
use crate::workload::dist::{to_u64, Dist};
use crate::workload::synthetic::JobClass;
use std::fmt;

/// An unbounded size distribution is reported when a draw exceeds every
/// machine with at least this probability per task (one in a billion).
pub const TAIL_WARN_PROBABILITY: f64 = 1e-9;

/// A job class whose tasks some or all of the cell can never host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostWarning {
    /// The class's index in `workload.jobs`, and its name.
    pub job: usize,
    pub name: String,
    pub kind: HostWarningKind,
    /// Per machine class (`cell.machines[i]`, in order), why an empty
    /// machine of it cannot host the draw the finding is about (empty for
    /// the tail kind).
    pub machine_classes: Vec<(usize, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HostWarningKind {
    /// Even the smallest draw fits no machine class.
    Never,
    /// The largest draw fits no machine class. A size is `None` when its
    /// distribution is unbounded (it is then taken at its smallest draw,
    /// and judged by the tail kind). Per bounded size that alone exceeds
    /// every machine, a note like "cpu_milli lognormal max 120000 exceeds
    /// the largest machine that satisfies its constraints (96000)".
    LargestDraw {
        cpu_milli: Option<u64>,
        mem_mib: Option<u64>,
        notes: Vec<String>,
    },
    /// An unbounded distribution's draws exceed every machine that
    /// satisfies the constraints (`largest`) with this probability per task.
    Tail {
        dimension: &'static str,
        dist: &'static str,
        largest: u64,
        probability: f64,
    },
}

impl fmt::Display for HostWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "workload.jobs[{}] ({:?}): ", self.job, self.name)?;
        match &self.kind {
            HostWarningKind::Never => write!(
                f,
                "no machine class can host any of its tasks; every one will stay pending (never schedulable)"
            )?,
            HostWarningKind::LargestDraw {
                cpu_milli,
                mem_mib,
                notes,
            } => {
                let size = |v: &Option<u64>, unit: &str| match v {
                    Some(v) => format!("{v} {unit}"),
                    None => format!("{unit} at its smallest (unbounded)"),
                };
                write!(
                    f,
                    "its largest draw ({}, {}) fits no machine class; tasks drawn that large will stay pending (never schedulable)",
                    size(cpu_milli, "cpu_milli"),
                    size(mem_mib, "mem_mib")
                )?;
                for n in notes {
                    write!(f, "\n  {n}")?;
                }
            }
            HostWarningKind::Tail {
                dimension,
                dist,
                largest,
                probability,
            } => write!(
                f,
                "{dimension} {dist} is unbounded: a draw exceeds the largest machine that satisfies its constraints ({largest}) with probability {probability:.2e} per task; such tasks stay pending (never schedulable) — give the distribution a max to bound it"
            )?,
        }
        for (i, why) in &self.machine_classes {
            write!(f, "\n  cell.machines[{i}]: {why}")?;
        }
        Ok(())
    }
}

/// The smallest and (for a bounded distribution) the largest integer draw,
/// converted as the workload converts them: rounded, at least 1.
pub fn draw_range(d: &Dist) -> (u64, Option<u64>) {
    let conv = |x: f64| to_u64(x).max(1);
    let span = |vs: &mut dyn Iterator<Item = f64>| {
        let vs: Vec<u64> = vs.map(conv).collect();
        let lo = vs.iter().copied().min().unwrap_or(1);
        (lo, vs.iter().copied().max())
    };
    match d {
        Dist::Constant(v) => (conv(*v), Some(conv(*v))),
        Dist::Uniform { min, max } => (conv(*min), Some(conv(*max))),
        Dist::Choice(vs) => span(&mut vs.iter().copied()),
        Dist::Weighted { values, weights } => span(
            &mut values
                .iter()
                .zip(weights)
                .filter(|(_, w)| **w > 0.0)
                .map(|(v, _)| *v),
        ),
        Dist::Exponential { .. } => (1, None),
        Dist::Lognormal { max, .. } => (1, max.map(conv)),
        Dist::Pareto { scale, max, .. } => {
            (conv(max.map_or(*scale, |m| scale.min(m))), max.map(conv))
        }
    }
}

/// The distribution's name as written in a scenario.
fn dist_name(d: &Dist) -> &'static str {
    match d {
        Dist::Constant(_) => "constant",
        Dist::Uniform { .. } => "uniform",
        Dist::Choice(_) => "choice",
        Dist::Weighted { .. } => "weighted",
        Dist::Exponential { .. } => "exponential",
        Dist::Lognormal { .. } => "lognormal",
        Dist::Pareto { .. } => "pareto",
    }
}

/// For an unbounded distribution: the probability that a draw, rounded,
/// exceeds `limit` (that is, the draw is at least `limit + 0.5`); 0 for a
/// bounded one.
pub fn tail_probability(d: &Dist, limit: u64) -> f64 {
    match d {
        Dist::Exponential { .. }
        | Dist::Lognormal { max: None, .. }
        | Dist::Pareto { max: None, .. } => uncapped_tail(d, limit),
        _ => 0.0,
    }
}

/// The probability that an exponential, lognormal or Pareto draw, without
/// its `max`, is at least `limit + 0.5`; 0 for the other distributions.
fn uncapped_tail(d: &Dist, limit: u64) -> f64 {
    let x = limit as f64 + 0.5;
    match *d {
        Dist::Exponential { mean } => (-x / mean).exp(),
        Dist::Lognormal { median, sigma, .. } => {
            if sigma == 0.0 {
                f64::from(u8::from(median >= x))
            } else {
                0.5 * erfc((x.ln() - median.ln()) / (sigma * std::f64::consts::SQRT_2))
            }
        }
        Dist::Pareto { scale, shape, .. } => {
            if x <= scale {
                1.0
            } else {
                (scale / x).powf(shape)
            }
        }
        _ => 0.0,
    }
}

/// The probability that a draw, converted as the workload converts it
/// (rounded, at least 1), exceeds `limit` (at least 1): exact for the
/// discrete and uniform distributions, the closed-form tail for the others,
/// and 0 when a `max` at or below `limit` caps them.
pub fn exceed_probability(d: &Dist, limit: u64) -> f64 {
    let conv = |x: f64| to_u64(x).max(1);
    let over = |v: f64| f64::from(u8::from(conv(v) > limit));
    match d {
        Dist::Constant(v) => over(*v),
        Dist::Choice(vs) => vs.iter().map(|v| over(*v)).sum::<f64>() / vs.len() as f64,
        Dist::Weighted { values, weights } => {
            let total: f64 = weights.iter().sum();
            let hit: f64 = values.iter().zip(weights).map(|(v, w)| over(*v) * w).sum();
            hit / total
        }
        Dist::Uniform { min, max } if min == max => over(*min),
        // Uniform on [min, max]; a draw rounds above `limit` from limit + 0.5.
        Dist::Uniform { min, max } => ((max - (limit as f64 + 0.5)) / (max - min)).clamp(0.0, 1.0),
        Dist::Lognormal { max: Some(m), .. } | Dist::Pareto { max: Some(m), .. }
            if conv(*m) <= limit =>
        {
            0.0
        }
        _ => uncapped_tail(d, limit),
    }
}

/// The share of a job class's jobs that no machine class can ever host (a
/// job's tasks share one size): 1 when no machine class admits its
/// constraints and GPUs or even its smallest draw fits none; else the
/// chance that a draw exceeds the largest admitting machine in CPU or in
/// memory (the sum of the two: an upper bound).
pub(crate) fn unhostable_share(class: &JobClass, machines: &[(&Machine, u32)]) -> f64 {
    let (cpu_lo, _) = draw_range(&class.cpu_milli);
    let (mem_lo, _) = draw_range(&class.mem_mib);
    let request = |cpu, mem| Request {
        res: Resources::new(cpu, mem),
        gpu: class.gpu,
    };
    let admits = |m: &Machine, req: &Request| m.empty_misfit(req, &class.constraints).is_none();
    let admitting: Vec<&Machine> = machines
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| admits(m, &request(1, 1)))
        .collect();
    let smallest = request(cpu_lo, mem_lo);
    if !admitting.iter().any(|m| admits(m, &smallest)) {
        return 1.0;
    }
    let most = |f: fn(&Machine) -> u64| admitting.iter().map(|m| f(m)).max().unwrap_or(0);
    let cpu = exceed_probability(&class.cpu_milli, most(|m| m.capacity.res.cpu_milli));
    let mem = exceed_probability(&class.mem_mib, most(|m| m.capacity.res.mem_mib));
    (cpu + mem).min(1.0)
}

/// The complementary error function (Numerical Recipes' `erfcc`: a Chebyshev
/// fit with fractional error below 1.2e-7 everywhere). Reports only, never
/// placement.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Why an empty machine of a class cannot host `req`, in words; `None` if
/// it can. `at_least` marks a request that is the smallest of several draws.
fn misfit_text(
    m: &Machine,
    count: u32,
    req: &Request,
    constraints: &[Constraint],
    table: &AttrTable,
    at_least: [bool; 2],
) -> Option<String> {
    let misfit = m.empty_misfit(req, constraints)?;
    let reason = Reason::of_misfit(misfit);
    let what = match misfit {
        EmptyMisfit::Constraint(i) => {
            let c = &constraints[i];
            format!(
                "{} {} (its machines have {})",
                reason.key(),
                c.describe(table),
                c.found(&m.attrs, table)
            )
        }
        EmptyMisfit::Cpu | EmptyMisfit::Memory | EmptyMisfit::Gpu => {
            let need = reason.requested(req).expect("a resource");
            let have = reason.capacity(&m.capacity).expect("a resource");
            let lower = match misfit {
                EmptyMisfit::Cpu => at_least[0],
                EmptyMisfit::Memory => at_least[1],
                _ => false,
            };
            let asked = match misfit {
                EmptyMisfit::Cpu => req.res.cpu_milli,
                EmptyMisfit::Memory => req.res.mem_mib,
                _ => match req.gpu {
                    GpuRequest::Whole(n) => u64::from(n),
                    _ => 1,
                },
            };
            format!(
                "{}: needs {}{need}, has {have} (short by {})",
                reason.key(),
                if lower { "at least " } else { "" },
                asked - have
            )
        }
    };
    let cap = &m.capacity;
    let gpus = if cap.gpus > 0 {
        format!(", {} GPUs", cap.gpus)
    } else {
        String::new()
    };
    Some(format!(
        "{count} × ({} cpu_milli, {} mem_mib{gpus}): {what}",
        cap.res.cpu_milli, cap.res.mem_mib
    ))
}

impl Scenario {
    /// Every job class that some or all of its tasks no machine class can
    /// host, and why. Empty for trace scenarios (see the module doc). Works
    /// per machine class: the cell is not built.
    pub fn host_warnings(&self) -> Vec<HostWarning> {
        if self.trace.is_some() {
            return Vec::new();
        }
        // One machine stands for each machine class: the cell, which may
        // hold billions, is never built here.
        let protos = self.prototypes();
        let machine_classes: Vec<(&Machine, u32)> =
            protos.machines.iter().map(|(m, n)| (m, *n)).collect();
        let (classes, table) = (&protos.classes, &protos.table);
        let mut out = Vec::new();
        for (j, class) in classes.iter().enumerate() {
            out.extend(judge(j, class, &machine_classes, table));
        }
        out
    }
}

/// The findings for one job class.
#[expect(
    clippy::too_many_lines,
    reason = "the three judgments of a class (smallest draw, largest draw, unbounded tail) share its draw ranges, its largest admitting machine and the misfit closure"
)]
fn judge(
    j: usize,
    class: &JobClass,
    machines: &[(&Machine, u32)],
    table: &AttrTable,
) -> Vec<HostWarning> {
    let (cpu_lo, cpu_hi) = draw_range(&class.cpu_milli);
    let (mem_lo, mem_hi) = draw_range(&class.mem_mib);
    let request = |cpu, mem| Request {
        res: Resources::new(cpu, mem),
        gpu: class.gpu,
    };
    let misfits = |req: &Request, at_least: [bool; 2]| -> Vec<(usize, String)> {
        machines
            .iter()
            .enumerate()
            .filter_map(|(i, (m, n))| {
                misfit_text(m, *n, req, &class.constraints, table, at_least).map(|w| (i, w))
            })
            .collect()
    };
    let warning = |kind, machine_classes| HostWarning {
        job: j,
        name: class.name.clone(),
        kind,
        machine_classes,
    };
    let smallest = request(cpu_lo, mem_lo);
    let varies = [cpu_hi != Some(cpu_lo), mem_hi != Some(mem_lo)];
    let why = misfits(&smallest, varies);
    if why.len() == machines.len() {
        return vec![warning(HostWarningKind::Never, why)];
    }
    // The machine classes a task of this class could use at some size: the
    // constraints hold and the GPUs suffice.
    let admitting: Vec<&Machine> = machines
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| m.empty_misfit(&request(1, 1), &class.constraints).is_none())
        .collect();
    let largest_cpu = admitting.iter().map(|m| m.capacity.res.cpu_milli).max();
    let largest_mem = admitting.iter().map(|m| m.capacity.res.mem_mib).max();
    let largest_cpu = largest_cpu.expect("the smallest draw fits some machine");
    let largest_mem = largest_mem.expect("the smallest draw fits some machine");
    let dims = [
        ("cpu_milli", &class.cpu_milli, cpu_hi, largest_cpu),
        ("mem_mib", &class.mem_mib, mem_hi, largest_mem),
    ];
    let mut out = Vec::new();
    if cpu_hi.is_some() || mem_hi.is_some() {
        let largest = request(cpu_hi.unwrap_or(cpu_lo), mem_hi.unwrap_or(mem_lo));
        let why = misfits(&largest, [cpu_hi.is_none(), mem_hi.is_none()]);
        if why.len() == machines.len() {
            let notes = dims
                .iter()
                .filter_map(|(name, d, hi, most)| {
                    let hi = (*hi)?;
                    (hi > *most).then(|| {
                        format!(
                            "{name} {} max {hi} exceeds the largest machine that satisfies its constraints ({most})",
                            dist_name(d)
                        )
                    })
                })
                .collect();
            out.push(warning(
                HostWarningKind::LargestDraw {
                    cpu_milli: cpu_hi,
                    mem_mib: mem_hi,
                    notes,
                },
                why,
            ));
        }
    }
    for (name, d, hi, most) in dims {
        if hi.is_some() {
            continue;
        }
        let p = tail_probability(d, most);
        if p >= TAIL_WARN_PROBABILITY {
            out.push(warning(
                HostWarningKind::Tail {
                    dimension: name,
                    dist: dist_name(d),
                    largest: most,
                    probability: p,
                },
                Vec::new(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
