//! "Failures and availability": what evictions cost, the way the Borg
//! paper measures it — evictions per task-week by cause group, prod vs
//! non-prod, as grouped bars beside a note on the paper's Figure 3; the
//! evictions by cause group over time (from the time series); the work
//! they lost; and prod job availability, its figures and its CDF across
//! jobs. Read from summary.json's `evictions_per_task_week` and
//! `availability` (the table cells carry their keys), the CDF from the
//! cell's exact per-job histograms. A run where nothing was evicted and no
//! prod job ran gets one line saying so; each empty plot, a line in its
//! place. A run that injected faults also gets their recoveries, before
//! the availability (`super::faults`).

use super::{band_color, instant_note, samples, xs};
use crate::cell::state::availability::SHARE_BP;
use crate::cell::state::{EvictionCause, EvictionGroup};
use crate::error::Result;
use crate::metrics::timeseries::Sample;
use crate::report::chart::{
    color, count_axis, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks,
};
use crate::report::html::{at, value_cell, Unit};
use crate::report::run::RunView;
use crate::report::Section;
use crate::workload::Band;
use maud::{html, Markup};

/// The two sides of the paper's figure: (summary.json key, label, colour).
fn sides() -> [(&'static str, &'static str, Rgb); 2] {
    [
        ("prod", "prod", band_color(Band::Production)),
        ("nonprod", "non-prod", band_color(Band::Batch)),
    ]
}

pub fn section(v: &RunView) -> Result<Option<Section>> {
    let evicted = v.sim.state().ledger().evictions.iter().sum::<u64>();
    let prod_jobs = at(&v.summary, "availability.prod_jobs").and_then(|x| x.as_u64());
    let body = if evicted == 0 && prod_jobs == Some(0) {
        html! { p.empty-plot { "Nothing was evicted and no prod job ran: no failure to measure." } }
    } else {
        html! {
            h3 { "Evictions per task-week" }
            (rates(v)?)
            h3 { "Evictions over time" }
            (v.figure_or_note(&over_time(v), html! {
                "Evictions since the start, by cause group, all bands (the causes one by one are under Evictions). " (instant_note(v))
            }, "No task was evicted.")?)
            h3 { "Lost work" }
            (lost_work(v))
            @if let Some(f) = super::faults::faults(v) { (f) }
            h3 { "Prod job availability" }
            (availability(v)?)
        }
    };
    Ok(Some(Section {
        id: "failures",
        title: "Failures and availability".into(),
        body,
    }))
}

/// The grouped bars, the note on the paper and the table of rates.
fn rates(v: &RunView) -> Result<Markup> {
    let notes = html! {
        "Evictions of the band over its running tasks' task-weeks (∫ running tasks dt), by cause group. "
        "The Borg paper's Figure 3 draws the same measure by cause, prod vs non-prod, over 15 cells on 1 August 2013; "
        "its values exist only in the chart, so none is quoted here. "
        "A trace's machine removal (" code { "machine_down" } ") cannot tell a failure from maintenance: it counts as a machine failure."
    };
    let key = |side: &str, what: &str, g: EvictionGroup| {
        format!("evictions_per_task_week.{side}.{what}.{}", g.name())
    };
    Ok(html! {
        (v.figure_or_note(&rates_chart(v), notes, "No task was evicted: every rate is 0.")?)
        table id="evictions-per-task-week" {
            thead { tr {
                th { "cause group" }
                th.num { "prod evictions" } th.num { "prod per task-week" }
                th.num { "non-prod evictions" } th.num { "non-prod per task-week" }
            } }
            tbody {
                @for g in EvictionGroup::ALL {
                    tr {
                        td { (g.paper_label()) }
                        @for (side, _, _) in sides() {
                            (value_cell(&v.summary, &key(side, "evictions", *g), Unit::Count))
                            (value_cell(&v.summary, &key(side, "per_task_week", *g), Unit::Rate))
                        }
                    }
                }
                tr {
                    td { "task-weeks" }
                    @for (side, _, _) in sides() {
                        td {}
                        (value_cell(&v.summary, &format!("evictions_per_task_week.{side}.task_weeks"), Unit::Rate))
                    }
                }
            }
        }
    })
}

/// A bar per side within each cause group's slot.
pub fn rates_chart(v: &RunView) -> Chart {
    let names: Vec<String> = EvictionGroup::ALL
        .iter()
        .map(|g| g.paper_label().to_string())
        .collect();
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    let mut top = 0.0f64;
    for (i, (side, label, col)) in sides().into_iter().enumerate() {
        let offset = if i == 0 { -0.2 } else { 0.2 };
        for (x, g) in EvictionGroup::ALL.iter().enumerate() {
            let key = format!("evictions_per_task_week.{side}.per_task_week.{}", g.name());
            let y = at(&v.summary, &key).and_then(|x| x.as_f64()).unwrap_or(0.0);
            top = top.max(y);
            let (l, r) = (x as f64 + offset - 0.18, x as f64 + offset + 0.18);
            layers.push(Layer::Area {
                color: col,
                top: vec![(l, y), (r, y)],
                bottom: vec![(l, 0.0), (r, 0.0)],
            });
        }
        let weeks = format!("evictions_per_task_week.{side}.task_weeks");
        if at(&v.summary, &weeks)
            .and_then(|x| x.as_f64())
            .unwrap_or(0.0)
            > 0.0
        {
            legend.push(LegendEntry::new(label, col, Swatch::Area));
        }
    }
    Chart {
        id: "failures-rates",
        title: v.title("Evictions per task-week by cause group"),
        panels: vec![Panel {
            caption: String::new(),
            x: Axis {
                label: "cause group".into(),
                min: -0.5,
                max: names.len() as f64 - 0.5,
                log: false,
                ticks: Ticks::Labels(names),
            },
            y: Axis {
                label: "evictions per task-week".into(),
                min: 0.0,
                max: (top * 1.08).max(1e-9),
                log: false,
                ticks: Ticks::Number,
            },
            layers,
        }],
        legend,
    }
}

/// Evictions so far of one group in a sample.
fn of_group(s: &Sample, g: EvictionGroup) -> u64 {
    EvictionCause::ALL
        .iter()
        .filter(|c| EvictionGroup::of(**c) == g)
        .map(|c| s.evictions[*c as usize])
        .sum()
}

/// Cumulative evictions by cause group over time; groups that evicted
/// nothing are left out.
pub fn over_time(v: &RunView) -> Chart {
    let last = v.sim.series().samples().last().cloned().unwrap_or_default();
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    let mut peak = 0u64;
    for (i, g) in EvictionGroup::ALL.iter().enumerate() {
        let total = of_group(&last, *g);
        if total == 0 {
            continue;
        }
        let s = samples(v, |x| of_group(x, *g));
        peak = peak.max(s.iter().map(|x| of_group(x, *g)).max().unwrap_or(0));
        let points = xs(v, &s)
            .into_iter()
            .zip(s.iter().map(|x| of_group(x, *g) as f64))
            .collect();
        layers.push(Layer::Line {
            color: color(i),
            points,
            dashed: false,
        });
        let label = format!("{}: {}", g.paper_label(), crate::report::html::count(total));
        legend.push(LegendEntry::new(label, color(i), Swatch::Line));
    }
    Chart {
        id: "failures-over-time",
        title: v.title("Evictions by cause group, cumulative"),
        panels: vec![Panel {
            caption: String::new(),
            x: v.time_unit().axis(v.end_s()),
            y: count_axis("evictions so far", peak as f64),
            layers,
        }],
        legend,
    }
}

/// Task-seconds lost, by cause group, prod and non-prod.
fn lost_work(v: &RunView) -> Markup {
    html! {
        p { "The work evictions threw away: a task restarts from scratch, so each eviction loses the time the task had run since its placement." }
        table id="lost-work" {
            thead { tr { th { "cause group" } th.num { "prod (task-seconds)" } th.num { "non-prod (task-seconds)" } } }
            tbody {
                @for g in EvictionGroup::ALL {
                    tr {
                        td { (g.paper_label()) }
                        @for (side, _, _) in sides() {
                            (value_cell(&v.summary, &format!("evictions_per_task_week.{side}.lost_work_task_s.{}", g.name()), Unit::Seconds))
                        }
                    }
                }
            }
        }
    }
}

/// The availability table and the CDF across prod jobs.
fn availability(v: &RunView) -> Result<Markup> {
    if at(&v.summary, "availability.prod_jobs").and_then(|x| x.as_u64()) == Some(0) {
        return Ok(html! { p.empty-plot { "No prod job ran: no availability to measure." } });
    }
    let k = at(&v.summary, "availability.k")
        .and_then(|x| x.as_u64())
        .unwrap_or(0);
    let cell = |key: &str, unit| value_cell(&v.summary, &format!("availability.{key}"), unit);
    let notes = html! {
        "Each prod job (production and monitoring) is measured from the first instant all its tasks were running "
        "(the initial scheduling wait is not unavailability) until its last task ends or the run does; "
        "a task finished for good is no longer required. The share of that interval with all required tasks running, "
        "and with at least n − " (k) " running, across jobs (each job's share rounded down to 0.01 %)."
    };
    Ok(html! {
        table id="availability" {
            thead { tr { th { "share of time" } th.num { "all running" } th.num { "n − " (k) " running" } } }
            tbody {
                @for (stat, what) in [("time_weighted", "all jobs' time together"), ("min", "worst job"), ("p1", "1st percentile"), ("p10", "10th percentile"), ("p50", "median")] {
                    tr { td { (what) } (cell(&format!("all_running.{stat}"), Unit::Fraction)) (cell(&format!("n_minus_k_running.{stat}"), Unit::Fraction)) }
                }
                tr { td { "jobs always so" } (cell("all_running.jobs_always", Unit::Count)) (cell("n_minus_k_running.jobs_always", Unit::Count)) }
            }
        }
        table id="availability-jobs" {
            tbody {
                tr { td { "prod jobs" } (cell("prod_jobs", Unit::Count)) }
                tr { td { "measured (an interval of some length)" } (cell("jobs_measured", Unit::Count)) }
                tr { td { "never had all their tasks running" } (cell("jobs_never_all_running", Unit::Count)) }
                tr { td { "time to all running, median" } (cell("time_to_all_running_us.p50", Unit::Micros)) }
                tr { td { "time to all running, 90th percentile" } (cell("time_to_all_running_us.p90", Unit::Micros)) }
                tr { td { "time to all running, longest" } (cell("time_to_all_running_us.max", Unit::Micros)) }
            }
        }
        (v.figure_or_note(&cdf(v), notes, if v.sim.end_time().as_us() == 0 {
            "No prod job had all its tasks running for any length of time: the run has no length."
        } else {
            "No prod job had all its tasks running for any length of time."
        })?)
    })
}

/// The share of measured jobs at or below each availability, for all
/// running and for n − k; the x axis from below the lowest share (to a
/// whole 10 %) to 100 %, so the low tail is in view.
pub fn cdf(v: &RunView) -> Chart {
    let shares = v.sim.state().availability().shares_at(v.sim.end_time());
    let k = v.sim.state().availability().k();
    let curves = [
        ("all tasks running", &shares.all_running_bp, color(0)),
        (
            &*format!("at least n − {k} running"),
            &shares.within_k_bp,
            color(1),
        ),
    ]
    .map(|(l, h, c)| (l.to_string(), step_cdf(h), c));
    let lowest = curves
        .iter()
        .filter_map(|(_, p, _)| p.first().map(|x| x.0))
        .fold(100.0f64, f64::min);
    // At least 10 points left of the lowest share, so its rise stands
    // clear of the axis.
    let x_min = (((lowest - 1.0) / 10.0).floor() * 10.0).clamp(0.0, 90.0);
    let mut layers = Vec::new();
    let mut legend = Vec::new();
    for (label, points, col) in curves {
        if points.is_empty() {
            continue;
        }
        let mut line = vec![(x_min, 0.0)];
        line.extend(points);
        if line.last().is_some_and(|p| p.0 < 100.0) {
            line.push((100.0, 1.0));
        }
        layers.push(Layer::Line {
            color: col,
            points: line,
            dashed: false,
        });
        legend.push(LegendEntry::new(label, col, Swatch::Line));
    }
    Chart {
        id: "availability-cdf",
        title: v.title("Prod job availability across jobs"),
        panels: vec![Panel {
            caption: String::new(),
            x: Axis {
                label: "availability (% of the measured interval)".into(),
                min: x_min,
                max: 100.0,
                log: false,
                ticks: Ticks::Number,
            },
            y: Axis {
                label: "measured prod jobs at or below (share)".into(),
                min: 0.0,
                max: 1.05,
                log: false,
                ticks: Ticks::Number,
            },
            layers,
        }],
        legend,
    }
}

/// A histogram by basis point as CDF steps: (share %, fraction of jobs at
/// or below), each bucket a vertical rise.
fn step_cdf(hist: &[u64]) -> Vec<(f64, f64)> {
    let n: u64 = hist.iter().sum();
    let mut out = Vec::new();
    let mut seen = 0u64;
    for (bp, &c) in hist.iter().enumerate().filter(|(_, &c)| c > 0) {
        let x = bp as f64 * 100.0 / SHARE_BP as f64;
        out.push((x, seen as f64 / n as f64));
        seen += c;
        out.push((x, seen as f64 / n as f64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdf_rises_at_each_share() {
        // 1 job at 70 %, 3 at 100 %: a rise to 0.25 at 70, to 1 at 100.
        let mut h = vec![0u64; SHARE_BP as usize + 1];
        h[7_000] = 1;
        h[10_000] = 3;
        assert_eq!(
            step_cdf(&h),
            vec![(70.0, 0.0), (70.0, 0.25), (100.0, 0.25), (100.0, 1.0)]
        );
        assert!(step_cdf(&[0, 0]).is_empty());
    }
}
