//! The sweep's plots: for each parameter with two or more values, one
//! chart with a panel per headline figure — the figure's mean over the
//! seeds (bars: ± one sample standard deviation) against the parameter's
//! values, one series per combination of the other parameters' values. A
//! sweep of seeds alone plots each figure against the seed.
//!
//! Values that are all numbers sit on a numeric axis at their values;
//! others (policies, switches, tables) are categories, evenly spaced in
//! the order the sweep file lists them, each series set slightly apart so
//! that bars do not hide each other.

use crate::report::chart::{
    color, count_axis, percent_axis, Axis, Chart, Layer, LegendEntry, Panel, Swatch, Ticks, PALETTE,
};
use crate::report::html::Unit;
use crate::sweep::command::variant_names;
use crate::sweep::spec::value_text;
use crate::sweep::stats::{group_by, stat_of};
use crate::sweep::Command;
use crate::sweep::{Outcome, Run, Sweep};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How a plotted figure is scaled and read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A fraction (of capacity, of the cell), plotted in percent.
    Percent,
    /// A percentage already (an experiment's extra machines).
    PercentPoints,
    /// Per mille (an inflation's growth), plotted in percent.
    Permille,
    Count,
    /// Microseconds, plotted in seconds.
    Seconds,
}

impl Kind {
    /// The unit a table cell shows it in.
    pub fn unit(self) -> Unit {
        match self {
            Kind::Percent => Unit::Fraction,
            Kind::PercentPoints => Unit::Percent,
            Kind::Permille | Kind::Count => Unit::Count,
            Kind::Seconds => Unit::Micros,
        }
    }
}

/// A figure the page plots and tabulates.
#[derive(Clone, Debug)]
pub struct Plotted {
    /// Its dotted key in the runs' results (summary.json, or the
    /// command's result file as `sweep::command::headline` reads it).
    pub key: Cow<'static, str>,
    /// The panel's caption and the table's heading.
    pub caption: Cow<'static, str>,
    /// The y axis, with its unit.
    pub y_label: Cow<'static, str>,
    pub kind: Kind,
}

impl Plotted {
    /// The factor from the result's unit to the plot's.
    pub fn scale(&self) -> f64 {
        match self.kind {
            Kind::Percent => 100.0,
            Kind::PercentPoints | Kind::Count => 1.0,
            Kind::Permille => 0.1,
            Kind::Seconds => 1e-6,
        }
    }

    /// The y axis for data from `low` to `top`: counts and times from 0,
    /// percentages fitted to the data (differences of a point or two are
    /// what a sweep is run to see).
    fn axis(&self, low: f64, top: f64) -> Axis {
        match self.kind {
            Kind::Percent | Kind::PercentPoints | Kind::Permille if low <= top => {
                let pad = ((top - low) * 0.1).max(1.0);
                Axis {
                    label: self.y_label.to_string(),
                    min: (low - pad).max(0.0),
                    max: top + pad,
                    log: false,
                    ticks: Ticks::Number,
                }
            }
            Kind::Percent | Kind::PercentPoints | Kind::Permille => {
                percent_axis(&self.y_label, top)
            }
            Kind::Count => count_axis(&self.y_label, top),
            Kind::Seconds => Axis {
                label: self.y_label.to_string(),
                min: 0.0,
                max: if top > 0.0 { top * 1.08 } else { 1.0 },
                log: false,
                ticks: Ticks::Number,
            },
        }
    }
}

const fn p(key: &'static str, caption: &'static str, y_label: &'static str, kind: Kind) -> Plotted {
    Plotted {
        key: Cow::Borrowed(key),
        caption: Cow::Borrowed(caption),
        y_label: Cow::Borrowed(y_label),
        kind,
    }
}

/// The figures plotted, in panel order.
pub const PLOTTED: &[Plotted] = &[
    p(
        "utilization.cpu.total",
        "CPU allocated, whole run",
        "CPU allocated (% of the cell)",
        Kind::Percent,
    ),
    p(
        "utilization.mem.total",
        "Memory allocated, whole run",
        "memory allocated (% of the cell)",
        Kind::Percent,
    ),
    p(
        "tasks.pending_at_end",
        "Tasks pending at the end",
        "tasks pending at the end",
        Kind::Count,
    ),
    p(
        "wait_us.prod.p99",
        "Prod wait, p99",
        "p99 wait, prod (s)",
        Kind::Seconds,
    ),
    p(
        "wait_us.nonprod.p99",
        "Non-prod wait, p99",
        "p99 wait, non-prod (s)",
        Kind::Seconds,
    ),
    p(
        "evictions.preemption",
        "Evictions by preemption",
        "evictions by preemption",
        Kind::Count,
    ),
];

/// GPU allocation, plotted for sweeps whose cells have GPUs.
pub const GPU: Plotted = p(
    "utilization.gpu.total",
    "GPU allocated, whole run",
    "GPU allocated (% of the cell)",
    Kind::Percent,
);

/// A compaction's figures plotted, in panel order.
pub const COMPACT_PLOTTED: &[Plotted] = &[
    p(
        "answer.machines",
        "Machines needed (the trials' percentile)",
        "machines needed",
        Kind::Count,
    ),
    p(
        "min_machines",
        "Machines needed, fewest of the trials",
        "machines needed, fewest",
        Kind::Count,
    ),
    p(
        "max_machines",
        "Machines needed, most of the trials",
        "machines needed, most",
        Kind::Count,
    ),
    p(
        "saved_share",
        "Share of the cell saved",
        "machines saved (% of the cell)",
        Kind::Percent,
    ),
];

/// An inflation's figures plotted, in panel order.
pub const INFLATE_PLOTTED: &[Plotted] = &[
    p(
        "answer.permille",
        "Growth that still fits (the trials' percentile)",
        "growth that fits (%)",
        Kind::Permille,
    ),
    p(
        "answer.added.tasks",
        "Tasks added at that growth",
        "tasks added",
        Kind::Count,
    ),
];

/// The figures shown for these runs of `command`: for simulations
/// [`PLOTTED`], and [`GPU`] when some run's cell has GPUs; a compaction's
/// [`COMPACT_PLOTTED`]; an inflation's [`INFLATE_PLOTTED`]; an
/// experiment's machines per variant, then each variant's extra machines
/// over the baseline.
pub fn plotted(command: &Command, rows: &[(&Run, &Outcome)]) -> Vec<Plotted> {
    match command {
        Command::Run => plotted_runs(rows),
        Command::Compact { .. } => COMPACT_PLOTTED.to_vec(),
        Command::Inflate { .. } => INFLATE_PLOTTED.to_vec(),
        Command::Experiment { .. } => {
            let done = rows.iter().filter_map(|(_, o)| match o {
                Outcome::Done(v) => Some(v),
                Outcome::Failed(_) => None,
            });
            let names = variant_names(done);
            let machines = names.iter().map(|n| Plotted {
                key: format!("variants.{n}.machines").into(),
                caption: format!("Machines, {n}").into(),
                y_label: format!("machines, {n}").into(),
                kind: Kind::Count,
            });
            let extra = names.iter().map(|n| Plotted {
                key: format!("variants.{n}.extra_pct").into(),
                caption: format!("Extra machines, {n}").into(),
                y_label: format!("extra machines, {n} (%)").into(),
                kind: Kind::PercentPoints,
            });
            machines.chain(extra).collect()
        }
    }
}

fn plotted_runs(rows: &[(&Run, &Outcome)]) -> Vec<Plotted> {
    let gpus = rows.iter().any(|(_, o)| {
        matches!(o, Outcome::Done(s) if crate::report::html::at(s, "capacity.gpus")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) > 0)
    });
    let mut out = PLOTTED.to_vec();
    if gpus {
        out.push(GPU);
    }
    out
}

/// What the x axis shows: a name per position, and each position's value
/// when they are numbers.
struct XAxis {
    label: String,
    names: Vec<String>,
    numbers: Option<Vec<f64>>,
}

impl XAxis {
    fn of_values(label: String, values: &[toml::Value]) -> XAxis {
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| match v {
                toml::Value::Integer(i) => Some(*i as f64),
                toml::Value::Float(f) => Some(*f),
                _ => None,
            })
            .collect();
        XAxis {
            label,
            names: values.iter().map(value_text).collect(),
            numbers,
        }
    }

    fn position(&self, i: usize) -> f64 {
        self.numbers.as_ref().map_or(i as f64, |n| n[i])
    }

    /// How far series `s` of `n` is set apart from the position.
    fn dodge(&self, s: usize, n: usize) -> f64 {
        if self.numbers.is_some() || n < 2 {
            return 0.0;
        }
        let step = (0.6 / n as f64).min(0.12);
        (s as f64 - (n - 1) as f64 / 2.0) * step
    }

    fn axis(&self) -> Axis {
        match &self.numbers {
            Some(n) => {
                let lo = n.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = n.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let pad = ((hi - lo) * 0.05).max(1e-9);
                Axis {
                    label: self.label.clone(),
                    min: lo - pad,
                    max: hi + pad,
                    log: false,
                    ticks: Ticks::Number,
                }
            }
            None => Axis {
                label: self.label.clone(),
                min: -0.5,
                max: self.names.len() as f64 - 0.5,
                log: false,
                ticks: Ticks::Labels(self.names.clone()),
            },
        }
    }
}

/// The page's charts, each with its anchor id.
pub fn charts(sweep: &Sweep, rows: &[(&Run, &Outcome)]) -> Vec<(String, Chart)> {
    let spec = &sweep.spec;
    let figures = plotted(&spec.command, rows);
    let mut out = Vec::new();
    for (i, param) in spec.parameters.iter().enumerate() {
        if param.values.len() < 2 {
            continue;
        }
        // The key names its unit (`per_hour`, `cpu_milli`), as every
        // scenario key does.
        let x = XAxis::of_values(param.key.to_string(), &param.values);
        let others = |r: &Run| -> Vec<usize> {
            r.values
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, v)| *v)
                .collect()
        };
        let name = |key: &[usize]| -> String {
            let parts: Vec<String> = spec
                .parameters
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .zip(key)
                .map(|((_, q), &v)| format!("{} = {}", q.key, value_text(&q.values[v])))
                .collect();
            if parts.is_empty() {
                "mean ± sd over seeds".into()
            } else {
                parts.join(", ")
            }
        };
        let title = format!(
            "Headline figures by {} — sweep {} ({}), mean ± sd over {} seeds",
            param.key,
            spec.name,
            spec.base,
            spec.seeds.len()
        );
        let series = Series {
            x: &x,
            x_of: &|r: &Run| r.values[i],
            key_of: &others,
            name_of: &name,
        };
        out.push((format!("param-{i}"), chart(&title, rows, &figures, &series)));
    }
    if out.is_empty() && spec.seeds.len() > 1 {
        let x = XAxis {
            label: "seed".into(),
            names: spec.seeds.iter().map(u64::to_string).collect(),
            numbers: None,
        };
        let position = |r: &Run| spec.seeds.iter().position(|&s| s == r.seed).unwrap_or(0);
        let title = format!(
            "Headline figures by seed — sweep {} ({})",
            spec.name, spec.base
        );
        let series = Series {
            x: &x,
            x_of: &position,
            key_of: &|_: &Run| Vec::new(),
            name_of: &|_: &[usize]| "each run".to_string(),
        };
        out.push(("seeds".into(), chart(&title, rows, &figures, &series)));
    }
    out
}

/// How runs map onto a chart: a position on the x axis, and a series.
struct Series<'a> {
    x: &'a XAxis,
    x_of: &'a dyn Fn(&Run) -> usize,
    key_of: &'a dyn Fn(&Run) -> Vec<usize>,
    name_of: &'a dyn Fn(&[usize]) -> String,
}

fn chart(title: &str, rows: &[(&Run, &Outcome)], figures: &[Plotted], s: &Series) -> Chart {
    let groups = group_by(rows, |r| (s.key_of)(r));
    let style = |i: usize| (color(i), (i / PALETTE.len()) % 2 == 1);
    let panels = figures
        .iter()
        .map(|f| panel(f, &groups, s, &style))
        .collect();
    let legend = groups
        .keys()
        .enumerate()
        .map(|(i, k)| {
            let (c, dashed) = style(i);
            let swatch = if dashed { Swatch::Dashed } else { Swatch::Line };
            LegendEntry::new((s.name_of)(k), c, swatch)
        })
        .collect();
    Chart {
        id: "sweep",
        title: title.to_string(),
        panels,
        legend,
    }
}

type Groups<'a> = BTreeMap<Vec<usize>, Vec<(&'a Run, &'a Outcome)>>;

fn panel(
    f: &Plotted,
    groups: &Groups,
    s: &Series,
    style: &dyn Fn(usize) -> (crate::report::chart::Rgb, bool),
) -> Panel {
    let mut layers = Vec::new();
    let (mut low, mut top) = (f64::INFINITY, 0.0f64);
    for (si, rows) in groups.values().enumerate() {
        let (color, dashed) = style(si);
        let mut line = Vec::new();
        for (xi, at_x) in group_by(rows, |r| (s.x_of)(r)) {
            let Some(st) = stat_of(&at_x, &f.key) else {
                continue;
            };
            let x = s.x.position(xi) + s.x.dodge(si, groups.len());
            let (mean, sd) = (st.mean * f.scale(), st.sd.unwrap_or(0.0) * f.scale());
            if sd > 0.0 {
                layers.push(Layer::Line {
                    color,
                    points: vec![(x, (mean - sd).max(0.0)), (x, mean + sd)],
                    dashed: false,
                });
            }
            top = top.max(mean + sd);
            low = low.min((mean - sd).max(0.0));
            line.push((x, mean));
        }
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        layers.push(Layer::Marks {
            color,
            points: line.clone(),
        });
        layers.push(Layer::Line {
            color,
            points: line,
            dashed,
        });
    }
    Panel {
        caption: f.caption.to_string(),
        x: s.x.axis(),
        y: f.axis(low, top),
        layers,
    }
}
