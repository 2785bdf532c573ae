//! "Waits": the distribution of waits from entering the cell to the first
//! start, prod and non-prod, as CDFs over every task that entered the
//! cell — including those that never started. Their waits are censored:
//! each had waited (the run's end − when it entered) and would wait
//! longer, so the curve stops short of 1 by their share, and a tick on
//! the curve marks how long each had waited (at most 200 ticks a curve,
//! spread over them). Also the run's `wait_cdf.png`.
//!
//! The wait axis is logarithmic, ticked at powers of ten, from just under
//! 1 ms (waits under 1 ms are drawn at 1 ms, so a jump there stands clear
//! of the axis) to past the longest wait. A degenerate distribution —
//! every wait the same (all 0: every task started at once), or every wait
//! under 1 ms — leaves a log scale nothing to spread and would hide against
//! its edge: it is drawn on a linear axis from 0 that puts the step in
//! view, and the axis label and the notes say what makes it so. Each curve
//! runs from the axis's start to its end at its last share, so one that
//! stops short of 1 shows it across the plot. A group with no task (no
//! prod work) is left out; with none at all, a line says so.

use super::band_color;
use crate::cell::state::TaskState;
use crate::error::Result;
use crate::metrics::waits::Waits;
use crate::report::chart::{
    envelope, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks, MAX_POINTS,
};
use crate::report::html::{count, seconds_of_us};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::html;

/// On the log axis, waits shorter than this are drawn at it.
const MIN_WAIT_S: f64 = 1e-3;
/// Where the log axis starts: half a millisecond, left of [`MIN_WAIT_S`].
const LOG_AXIS_MIN_S: f64 = MIN_WAIT_S / 2.0;
/// The share axis runs a little past 1, so a curve at 1 is not drawn on
/// the plot's edge.
const SHARE_AXIS_MAX: f64 = 1.05;
/// The colour of the censoring ticks' legend entry.
const CENSORED: Rgb = Rgb(60, 60, 60);
/// At most this many censoring ticks a curve.
const MAX_MARKS: usize = 200;

/// One group's curve: started waits as (µs, rank) and censored waits (µs).
struct Curve {
    cdf: Vec<(u64, u64)>,
    censored: Vec<u64>,
}

impl Curve {
    fn of(v: &RunView, prod: bool) -> Curve {
        let st = v.sim.state();
        let l = st.ledger();
        let parts: Vec<&Waits> = Band::ALL
            .iter()
            .filter(|b| b.is_prod() == prod)
            .map(|b| &l.wait_us[b.index()])
            .collect();
        let end = v.sim.end_time();
        let mut censored: Vec<u64> = st
            .live_tasks()
            .filter(|(_, r)| r.state == TaskState::Pending && r.first_start().is_none())
            .filter(|(_, r)| st.job(r.job).band().is_prod() == prod)
            .map(|(_, r)| end.as_us().saturating_sub(r.pending_since.as_us()))
            .collect();
        censored.sort_unstable();
        Curve {
            cdf: Waits::merged(&parts).cdf_points(),
            censored,
        }
    }

    fn started(&self) -> u64 {
        self.cdf.last().map_or(0, |p| p.1)
    }

    fn entered(&self) -> u64 {
        self.started() + self.censored.len() as u64
    }

    /// The share of tasks that entered and started within `wait_us`.
    fn at(&self, wait_us: u64) -> f64 {
        let i = self.cdf.partition_point(|p| p.0 <= wait_us);
        let rank = if i == 0 { 0 } else { self.cdf[i - 1].1 };
        rank as f64 / self.entered().max(1) as f64
    }

    /// Every wait of the curve, started or censored, in µs.
    fn waits(&self) -> impl Iterator<Item = u64> + '_ {
        self.cdf
            .iter()
            .map(|p| p.0)
            .chain(self.censored.iter().copied())
    }
}

/// A curve with its name and colour.
struct Group {
    name: &'static str,
    curve: Curve,
    color: Rgb,
}

/// The groups with tasks in them (prod, then non-prod), and the groups
/// with none, by name.
fn groups(v: &RunView) -> (Vec<Group>, Vec<&'static str>) {
    let all = [
        ("prod", true, band_color(Band::Production)),
        ("non-prod", false, band_color(Band::Batch)),
    ];
    let mut shown = Vec::new();
    let mut empty = Vec::new();
    for (name, prod, color) in all {
        let curve = Curve::of(v, prod);
        if curve.entered() == 0 {
            empty.push(name);
        } else {
            shown.push(Group { name, curve, color });
        }
    }
    (shown, empty)
}

/// How waits are laid along the x axis.
enum Scale {
    /// Logarithmic, up to `max_s`; waits under [`MIN_WAIT_S`] drawn at it.
    Log { max_s: f64 },
    /// Linear from 0 to `max_s`, for a degenerate distribution; `note`
    /// says what makes it so (`every task waited exactly 5 s`).
    Linear { max_s: f64, note: String },
}

impl Scale {
    fn of(groups: &[Group]) -> Scale {
        let waits = groups.iter().flat_map(|g| g.curve.waits());
        let (lo, hi) = waits.fold((u64::MAX, 0), |(lo, hi), w| (lo.min(w), hi.max(w)));
        let started: u64 = groups.iter().map(|g| g.curve.started()).sum();
        let censored: usize = groups.iter().map(|g| g.curve.censored.len()).sum();
        let hi_s = hi as f64 / 1e6;
        if lo == hi {
            let w = seconds_of_us(hi);
            let (who, started_at_once) = if censored > 0 {
                (
                    "every task that started",
                    "every task that started did so at once",
                )
            } else {
                ("every task", "every task started at once")
            };
            let mut note = if hi == 0 {
                format!("{started_at_once}: all {} waits were 0 s", count(started))
            } else {
                format!("{who} waited exactly {w}")
            };
            if censored > 0 {
                note = format!(
                    "{note}; the {} that never started had waited {w} when the run ended",
                    count(censored as u64)
                );
            }
            let max_s = if hi == 0 { 1.0 } else { 2.0 * hi_s };
            Scale::Linear { max_s, note }
        } else if lo < hi && hi_s < MIN_WAIT_S {
            Scale::Linear {
                max_s: 2.0 * hi_s,
                note: "every wait was under 1 ms".into(),
            }
        } else {
            Scale::Log {
                max_s: (hi_s * 1.5).max(MIN_WAIT_S * 10.0),
            }
        }
    }

    /// Where a wait of `us` is drawn, in seconds.
    fn x(&self, us: u64) -> f64 {
        let s = us as f64 / 1e6;
        match self {
            Scale::Log { .. } => s.max(MIN_WAIT_S),
            Scale::Linear { .. } => s,
        }
    }

    fn axis(&self) -> Axis {
        let (label, min, max, log) = match self {
            Scale::Log { max_s } => (
                "wait (simulated time, log scale; under 1 ms drawn at 1 ms)".to_string(),
                LOG_AXIS_MIN_S,
                *max_s,
                true,
            ),
            Scale::Linear { max_s, note } => (
                format!("wait (simulated time) — {note}"),
                0.0,
                *max_s,
                false,
            ),
        };
        Axis {
            label,
            min,
            max,
            log,
            ticks: Ticks::Duration,
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            Scale::Log { .. } => None,
            Scale::Linear { note, .. } => Some(note),
        }
    }
}

/// A group's curve, from the axis's start at 0 to its end at its last
/// share, and its censoring ticks.
fn layers_of(g: &Group, scale: &Scale, axis: &Axis) -> [Layer; 2] {
    let c = &g.curve;
    let n = c.entered().max(1) as f64;
    let mut points = vec![(axis.min, 0.0)];
    if let Some(first) = c.cdf.first() {
        points.push((scale.x(first.0), 0.0));
    }
    let kept = envelope(c.cdf.len(), MAX_POINTS, |i| c.cdf[i].1 as f64);
    points.extend(
        kept.iter()
            .map(|&i| (scale.x(c.cdf[i].0), c.cdf[i].1 as f64 / n)),
    );
    points.push((axis.max, c.started() as f64 / n));
    let marks = envelope(c.censored.len(), MAX_MARKS, |i| c.censored[i] as f64)
        .into_iter()
        .map(|i| (scale.x(c.censored[i]), c.at(c.censored[i])))
        .collect();
    [
        Layer::Line {
            color: g.color,
            points,
            dashed: false,
        },
        Layer::Marks {
            color: g.color,
            points: marks,
        },
    ]
}

fn chart_of(v: &RunView, groups: &[Group], scale: &Scale) -> Chart {
    let x = scale.axis();
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    for g in groups {
        layers.extend(layers_of(g, scale, &x));
        let label = format!(
            "{}: {} started, {} never started",
            g.name,
            count(g.curve.started()),
            count(g.curve.censored.len() as u64)
        );
        legend.push(LegendEntry::new(label, g.color, Swatch::Line));
    }
    if groups.iter().any(|g| !g.curve.censored.is_empty()) {
        legend.push(LegendEntry::new(
            "never started: waited this long by the end (censored)",
            CENSORED,
            Swatch::Mark,
        ));
    }
    Chart {
        id: "waits",
        title: v.title("Wait from entering the cell to first start (CDF)"),
        panels: vec![Panel {
            caption: String::new(),
            x,
            y: Axis {
                label: "share of tasks that entered the cell".into(),
                min: 0.0,
                max: SHARE_AXIS_MAX,
                log: false,
                ticks: Ticks::Number,
            },
            layers,
        }],
        legend,
    }
}

/// The chart alone, for `wait_cdf.png`.
pub fn chart(v: &RunView) -> Chart {
    let (groups, _) = groups(v);
    chart_of(v, &groups, &Scale::of(&groups))
}

/// A sentence's first letter in capitals.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let (groups, empty) = groups(v);
    let scale = Scale::of(&groups);
    let notes = html! {
        @if let Some(note) = scale.note() {
            (capitalised(note)) ", so the axis is linear from 0: a log scale would have nothing to spread. "
        }
        @for name in &empty { "No " (name) " task entered the cell, so its curve is left out. " }
        "Each curve counts the tasks that started and those still waiting at the end (tasks withdrawn before they started are left out): "
        "a curve ending below 1 has tasks that never started, whose waits are censored at the end of the run "
        "(ticks on the curve: how long each had waited). "
        "Tasks a trace replay holds outside the cell have not entered it. Percentiles per band are under "
        a href="#bands" { "Per band" } "."
    };
    let chart = chart_of(v, &groups, &scale);
    let body = v.figure_or_note(
        &chart,
        notes,
        "No task entered the cell, so there are no waits.",
    )?;
    Ok(Some(Section {
        id: "waits",
        title: "Waits".into(),
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group of `started` waits (µs, sorted) and `censored` ones.
    fn group(started: &[u64], censored: &[u64]) -> Group {
        Group {
            name: "g",
            curve: Curve {
                cdf: started.iter().copied().zip(1..).collect(),
                censored: censored.to_vec(),
            },
            color: Rgb(0, 0, 0),
        }
    }

    fn linear(scale: &Scale) -> (f64, &str) {
        match scale {
            Scale::Linear { max_s, note } => (*max_s, note),
            Scale::Log { .. } => panic!("a log scale"),
        }
    }

    #[test]
    fn a_degenerate_distribution_gets_a_linear_axis_and_a_note() {
        // All zero, in both groups: 0 to 1 s.
        let zero = [group(&[0, 0, 0], &[]), group(&[0], &[])];
        let s = Scale::of(&zero);
        assert_eq!(
            linear(&s),
            (1.0, "every task started at once: all 4 waits were 0 s")
        );
        assert_eq!(s.x(0), 0.0, "drawn at 0, not at 1 ms");
        // All 2.5 s: 0 to 5 s, the step in the middle.
        let equal = [group(&[2_500_000; 3], &[])];
        assert_eq!(
            linear(&Scale::of(&equal)),
            (5.0, "every task waited exactly 2.5 s")
        );
        // All under 1 ms: 0 to twice the longest (0.8 ms).
        let short = [group(&[0, 100, 400], &[])];
        assert_eq!(
            linear(&Scale::of(&short)),
            (0.0008, "every wait was under 1 ms")
        );
        // Censored at the same wait (a run of one instant): degenerate.
        let instant = [group(&[0, 0], &[]), group(&[0], &[0, 0])];
        assert_eq!(
            linear(&Scale::of(&instant)).1,
            "every task that started did so at once: all 3 waits were 0 s; \
             the 2 that never started had waited 0 s when the run ended"
        );
        // A censored wait unlike the others: not degenerate.
        let censored = [group(&[0, 0], &[30_000_000])];
        let s = Scale::of(&censored);
        assert!(
            matches!(s, Scale::Log { max_s } if max_s == 45.0),
            "1.5 × 30 s"
        );
        assert_eq!(s.x(0), MIN_WAIT_S, "0 drawn at 1 ms");
        assert_eq!(s.axis().min, LOG_AXIS_MIN_S, "left of it");
        // Spread waits: log, at least to 10 ms.
        assert!(matches!(
            Scale::of(&[group(&[0, 2_000], &[])]),
            Scale::Log { max_s } if max_s == 0.01
        ));
    }

    #[test]
    fn each_curve_spans_the_axis_and_steps_at_its_first_wait() {
        // 4 tasks entered: waits 1 s and 3 s, two never started (10 s).
        let g = group(&[1_000_000, 3_000_000], &[10_000_000, 10_000_000]);
        let scale = Scale::of(std::slice::from_ref(&g));
        let axis = scale.axis();
        let [Layer::Line { points, .. }, Layer::Marks { points: marks, .. }] =
            layers_of(&g, &scale, &axis)
        else {
            panic!("a line and marks")
        };
        // From the axis's start at 0, flat to 1 s, up a quarter at each
        // start, flat at a half (2 of 4) to the axis's end (15 s).
        assert_eq!(
            points,
            [
                (LOG_AXIS_MIN_S, 0.0),
                (1.0, 0.0),
                (1.0, 0.25),
                (3.0, 0.5),
                (15.0, 0.5)
            ]
        );
        // The censored ticks at 10 s, on the curve at a half.
        assert_eq!(marks, [(10.0, 0.5), (10.0, 0.5)]);
    }
}
