//! What a plot shows, as data: panels, axes with their units, layers of
//! points, and a legend. Sections build [`Chart`]s; `draw.rs` renders them
//! (feature `plots`) as inline SVG for the page and as the run's PNGs, from
//! the same code, so every picture of a run follows the same rules:
//!
//! - the title names what is shown and the run: [`title`] gives
//!   `"<what> — <scenario>, <placed by>, seed <n>"`, where what placed the
//!   tasks is the policy, or [`TRACE_PLACEMENTS`] in a replay that follows
//!   the trace's own placements (its policy decided nothing);
//! - every axis label carries its unit;
//! - the legend sits below the plot area, never on the data.
//!
//! Keeping the description apart from the drawing lets a page built
//! without the `plots` feature still name each plot, and lets tests check
//! titles and units without rendering anything.

/// A colour, as 8-bit RGB.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A categorical palette (Tableau 10): runs, causes, machine classes.
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// Colour `i` of [`PALETTE`], cycling.
pub fn color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// One figure: panels stacked vertically, a title above, a legend below.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Names the figure in the page (`fig-<id>`) and its PNG, if any.
    pub id: &'static str,
    pub title: String,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendEntry>,
}

impl Chart {
    /// True when the chart has nothing to show: every line and area lies
    /// at 0 throughout (a series of zeros, or none at all) and no mark is
    /// drawn. A page shows a one-line note in its place (see
    /// [`super::Plots::figure_or_note`]) rather than an empty plot.
    pub fn is_empty(&self) -> bool {
        let zero = |points: &[(f64, f64)]| points.iter().all(|p| p.1 == 0.0);
        self.panels.iter().flat_map(|p| &p.layers).all(|l| match l {
            Layer::Line { points, .. } => zero(points),
            Layer::Area { top, .. } => zero(top),
            Layer::Marks { points, .. } | Layer::Dots { points, .. } => points.is_empty(),
        })
    }
}

/// One plot area with its axes.
#[derive(Clone, Debug)]
pub struct Panel {
    /// A caption above the panel when a chart has several (`CPU`).
    pub caption: String,
    pub x: Axis,
    pub y: Axis,
    pub layers: Vec<Layer>,
}

/// An axis: its label (with the unit), range, scale and tick format.
#[derive(Clone, Debug)]
pub struct Axis {
    pub label: String,
    pub min: f64,
    pub max: f64,
    /// Logarithmic axes take values in the data's units; the drawing
    /// takes their logarithm.
    pub log: bool,
    pub ticks: Ticks,
}

/// How tick values are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ticks {
    /// Plain numbers (`0.5`, `120`).
    Number,
    /// Whole numbers only (task counts): fractional ticks are left blank.
    Count,
    /// Seconds, written as durations (`1 ms`, `10 s`, `1,000 s`).
    Duration,
    /// Categories: value `i` is the `i`-th name (a sweep's policies), every
    /// one ticked; other values are left blank.
    Labels(Vec<String>),
}

/// What is drawn in a panel, in order (later layers on top).
#[derive(Clone, Debug)]
pub enum Layer {
    /// A polyline.
    Line {
        color: Rgb,
        points: Vec<(f64, f64)>,
        dashed: bool,
    },
    /// The region between two polylines over the same x values (a band of
    /// a stacked area).
    Area {
        color: Rgb,
        top: Vec<(f64, f64)>,
        bottom: Vec<(f64, f64)>,
    },
    /// Small vertical ticks at points (censored observations).
    Marks { color: Rgb, points: Vec<(f64, f64)> },
    /// Open circles at points (published figures beside a curve).
    Dots { color: Rgb, points: Vec<(f64, f64)> },
}

/// How an entry of the legend is drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Swatch {
    Line,
    Dashed,
    Area,
    Mark,
    Dot,
}

#[derive(Clone, Debug)]
pub struct LegendEntry {
    pub label: String,
    pub color: Rgb,
    pub swatch: Swatch,
}

impl LegendEntry {
    pub fn new(label: impl Into<String>, color: Rgb, swatch: Swatch) -> Self {
        LegendEntry {
            label: label.into(),
            color,
            swatch,
        }
    }
}

/// A figure's title: `<what> — <scenario>, <placed by>, seed <n>`;
/// `placed_by` is the policy, or [`TRACE_PLACEMENTS`].
pub fn title(what: &str, scenario: &str, placed_by: &str, seed: u64) -> String {
    format!("{what} — {scenario}, {placed_by}, seed {seed}")
}

/// What placed the tasks of a replay that follows the trace's own
/// placements, where a policy would be named.
pub const TRACE_PLACEMENTS: &str = "trace placements";

/// What placed a run's tasks, for titles and ledes: the policy's name, or
/// [`TRACE_PLACEMENTS`].
pub fn placed_by(sc: &crate::scenario::Scenario) -> &'static str {
    if sc.follows_trace_placements() {
        TRACE_PLACEMENTS
    } else {
        sc.scheduler.policy.name()
    }
}

/// The unit a time axis uses, chosen from the span it covers so that ticks
/// read as small numbers: seconds up to 10 minutes, minutes up to 10
/// hours, hours up to 10 days, days beyond.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TimeUnit {
    pub name: &'static str,
    pub seconds: f64,
}

impl TimeUnit {
    pub fn for_span_s(span_s: f64) -> TimeUnit {
        let (name, seconds) = if span_s <= 600.0 {
            ("s", 1.0)
        } else if span_s <= 36_000.0 {
            ("min", 60.0)
        } else if span_s <= 864_000.0 {
            ("h", 3600.0)
        } else {
            ("days", 86_400.0)
        };
        TimeUnit { name, seconds }
    }

    /// The x axis of a time series ending at `end_s` (a run of no length
    /// gets an axis of one unit, its instant at the start).
    pub fn axis(self, end_s: f64) -> Axis {
        Axis {
            label: format!("simulated time ({})", self.name),
            min: 0.0,
            max: if end_s > 0.0 {
                end_s / self.seconds
            } else {
                1.0
            },
            log: false,
            ticks: Ticks::Number,
        }
    }

    pub fn of_us(self, us: u64) -> f64 {
        us as f64 / 1e6 / self.seconds
    }
}

/// A y axis from 0 to a little above `max` (at least 1), for counts.
pub fn count_axis(label: &str, max: f64) -> Axis {
    Axis {
        label: label.to_string(),
        min: 0.0,
        max: (max * 1.08).max(1.0),
        log: false,
        ticks: Ticks::Count,
    }
}

/// A y axis of percentages, 0 to 100 (or a little above the data's top).
pub fn percent_axis(label: &str, max: f64) -> Axis {
    Axis {
        label: label.to_string(),
        min: 0.0,
        max: if max <= 100.0 { 100.0 } else { max * 1.05 },
        log: false,
        ticks: Ticks::Number,
    }
}

/// The indices of at most about `max_points` of `n` points that keep the
/// envelope of `key`: the input cut into `max_points / 2` runs of
/// consecutive points, each giving its lowest and highest (first of
/// ties), with the first and last point always kept. A series of at most
/// `max_points` keeps every point. A spike narrower than a run still
/// shows, unlike a plain stride.
pub fn envelope(n: usize, max_points: usize, key: impl Fn(usize) -> f64) -> Vec<usize> {
    if n <= max_points.max(2) {
        return (0..n).collect();
    }
    let runs = (max_points / 2).max(1);
    let len = n.div_ceil(runs);
    let mut keep = vec![0, n - 1];
    for start in (0..n).step_by(len) {
        let range = start..(start + len).min(n);
        let (mut lo, mut hi) = (start, start);
        for i in range {
            if key(i) < key(lo) {
                lo = i;
            }
            if key(i) > key(hi) {
                hi = i;
            }
        }
        keep.extend([lo, hi]);
    }
    keep.sort_unstable();
    keep.dedup();
    keep
}

/// At most this many points per series are drawn (two per pixel of a
/// 1000-pixel plot); `timeseries.csv` has every sample.
pub const MAX_POINTS: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_the_run() {
        assert_eq!(
            title("Pending tasks by band", "quickstart", "hybrid", 42),
            "Pending tasks by band — quickstart, hybrid, seed 42"
        );
    }

    #[test]
    fn a_chart_of_zeros_or_of_nothing_is_empty() {
        let axis = count_axis("tasks", 0.0);
        let chart = |layers: Vec<Layer>| Chart {
            id: "t",
            title: String::new(),
            panels: vec![Panel {
                caption: String::new(),
                x: axis.clone(),
                y: axis.clone(),
                layers,
            }],
            legend: Vec::new(),
        };
        let line = |ys: &[f64]| Layer::Line {
            color: color(0),
            points: ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
            dashed: false,
        };
        assert!(chart(vec![]).is_empty());
        assert!(chart(vec![line(&[0.0, 0.0]), line(&[])]).is_empty());
        assert!(!chart(vec![line(&[0.0, 0.0]), line(&[0.0, 3.0])]).is_empty());
        // A mark is data even at 0 (a task censored at a wait of 0).
        let marks = |points| Layer::Marks {
            color: color(0),
            points,
        };
        assert!(chart(vec![line(&[0.0]), marks(vec![])]).is_empty());
        assert!(!chart(vec![line(&[0.0]), marks(vec![(0.0, 0.0)])]).is_empty());
    }

    #[test]
    fn time_units_follow_the_span() {
        assert_eq!(TimeUnit::for_span_s(600.0).name, "s");
        assert_eq!(TimeUnit::for_span_s(7200.0).name, "min");
        assert_eq!(TimeUnit::for_span_s(86_400.0).name, "h");
        assert_eq!(TimeUnit::for_span_s(30.0 * 86_400.0).name, "days");
        let min = TimeUnit::for_span_s(7200.0);
        assert_eq!(min.of_us(90_000_000), 1.5);
        assert_eq!(min.axis(7200.0).label, "simulated time (min)");
    }

    #[test]
    fn the_envelope_keeps_spikes_a_stride_would_drop() {
        // 1,000 zeros with a spike at 501 and a dip to -1 at 777: a stride
        // of 10 (0, 10, …) keeps neither; the envelope of 100 points keeps
        // both, the first and the last.
        let v: Vec<f64> = (0..1000)
            .map(|i| match i {
                501 => 9.0,
                777 => -1.0,
                _ => 0.0,
            })
            .collect();
        let kept = envelope(v.len(), 100, |i| v[i]);
        assert!(kept.len() <= 102, "{}", kept.len());
        for i in [0, 501, 777, 999] {
            assert!(kept.contains(&i), "{i} dropped");
        }
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "in order, once each");
        // Few points: all of them.
        assert_eq!(envelope(3, 100, |i| v[i]), vec![0, 1, 2]);
    }
}
