//! "Cell compaction": how many machines the workload needs — the trials'
//! answers as a distribution (their empirical CDF, the reported percentile
//! marked), the answer and the rule it was judged by, and a table of the
//! trials with their machines per class.
//!
//! A function of a [`Compaction`] alone (`compaction.json`, as written), so
//! that any page about an experiment built on compaction — segregation,
//! sub-cells, bucketing — embeds the same section for each of its cells.

use crate::compact::fit::WorkloadKind;
use crate::compact::Compaction;
use crate::error::Result;
use crate::report::chart::{self, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks};
use crate::report::html::{count, value_cell, Unit};
use crate::report::{Plots, Section};
use maud::{html, Markup};
use serde_json::Value;
use std::path::Path;

const TRIALS: Rgb = Rgb(31, 119, 180);
const ANSWER: Rgb = Rgb(214, 39, 40);

/// The section: `page` names the page in a rendering error.
pub fn section(c: &Compaction, plots: Plots, page: &Path) -> Result<Section> {
    let v = serde_json::to_value(c).expect("a compaction serialises");
    let figure = plots.figure(&chart(c), notes(c), page)?;
    let body = html! {
        p {
            "Each trial removes the cell's machines in a random order of its own and finds the fewest "
            "on which the workload still fits, re-packing it from scratch at every probe "
            "(Borg's cell compaction). The answer is the " (ordinal(c.percentile)) " percentile of the "
            (c.trials) " trials' answers, by nearest rank: the " (ordinal_rank(c.answer.rank))
            " smallest."
        }
        (grown(c))
        (headline(&v))
        (figure)
        h3 { "Fit rule" }
        (rule(c, &v))
        h3 { "Trials" }
        (trials(c))
    };
    Ok(Section {
        id: "compaction",
        title: "Cell compaction".into(),
        body,
    })
}

/// When the cell was grown before it was compacted (`[compaction] grow`):
/// what was compacted, and each grown cell simulated.
fn grown(c: &Compaction) -> Markup {
    let Some(g) = &c.grown else {
        return html! {};
    };
    let n = |x: u32| count(u64::from(x));
    html! {
        p {
            "The workload did not fit the cell as written (" (n(g.from_machines)) " machines), so "
            "the cell was grown by its own machine mix — every machine class's count × "
            (g.factor) ", the first 12.5 % step on which it fits — to " (n(g.to_machines))
            " machines, and that cell was compacted. The answer assumes more machines like "
            "those the cell has."
        }
        table {
            tr { th { "grown cell (machines)" } th { "fits" } th { "unplaced tasks" } }
            @for p in &g.probes {
                tr {
                    td.num data-value=(p.machines) { (n(p.machines)) }
                    td { (if p.fits { "yes" } else { "no" }) }
                    td.num data-value=(p.unplaced_tasks) {
                        (count(p.unplaced_tasks))
                    }
                }
            }
        }
    }
}

/// `90th`, `1st`, `22nd`, `13th`.
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn ordinal_rank(r: usize) -> String {
    ordinal(u32::try_from(r).unwrap_or(u32::MAX))
}

fn headline(v: &Value) -> Markup {
    let rows: [(&str, &str, Unit); 7] = [
        ("whole cell (machines)", "whole_cell.machines", Unit::Count),
        ("answer (machines)", "answer.machines", Unit::Count),
        (
            "answer, share of the whole cell",
            "answer.share_of_cell",
            Unit::Fraction,
        ),
        ("trial giving the answer", "answer.trial", Unit::Count),
        ("fewest (machines)", "min_machines", Unit::Count),
        ("median (machines)", "median_machines", Unit::Count),
        ("most (machines)", "max_machines", Unit::Count),
    ];
    html! {
        table id="compaction-headline" {
            tbody {
                @for (what, key, unit) in rows {
                    tr { th scope="row" { (what) } (value_cell(v, key, unit)) }
                }
            }
        }
    }
}

/// The trials' answers as an empirical CDF, and the answer.
pub fn chart(c: &Compaction) -> Chart {
    let mut answers: Vec<u32> = c.per_trial.iter().map(|t| t.answer_machines).collect();
    answers.sort_unstable();
    let x = machines_axis(&answers);
    let (steps, marks) = ecdf(&answers, &x);
    let at = f64::from(c.answer.machines);
    let panel = Panel {
        caption: String::new(),
        x,
        y: chart::percent_axis("trials needing at most x machines (%)", 100.0),
        layers: vec![
            Layer::Line {
                color: TRIALS,
                points: steps,
                dashed: false,
            },
            Layer::Marks {
                color: TRIALS,
                points: marks,
            },
            Layer::Line {
                color: ANSWER,
                points: vec![(at, 0.0), (at, 100.0)],
                dashed: true,
            },
        ],
    };
    Chart {
        id: "compaction",
        title: chart::title(
            &format!("Machines needed, {} trials", c.trials),
            &c.scenario,
            c.policy,
            c.seed,
        ),
        panels: vec![panel],
        legend: vec![
            LegendEntry::new("trials' answers (empirical CDF)", TRIALS, Swatch::Line),
            LegendEntry::new("a trial's answer", TRIALS, Swatch::Mark),
            LegendEntry::new(
                format!(
                    "{} percentile: {} machines (trial {})",
                    ordinal(c.percentile),
                    count(u64::from(c.answer.machines)),
                    c.answer.trial
                ),
                ANSWER,
                Swatch::Dashed,
            ),
        ],
    }
}

/// From a little below the fewest machines to a little above the most
/// (at least one machine either side, never below 0).
fn machines_axis(sorted: &[u32]) -> Axis {
    let lo = f64::from(sorted.first().copied().unwrap_or(0));
    let hi = f64::from(sorted.last().copied().unwrap_or(0));
    let pad = ((hi - lo) * 0.08).max(1.0);
    Axis {
        label: "machines needed (count)".into(),
        min: (lo - pad).max(0.0),
        max: hi + pad,
        log: false,
        ticks: Ticks::Count,
    }
}

/// Points of a chart layer.
pub(crate) type Points = Vec<(f64, f64)>;

/// The empirical CDF of `sorted` answers, in % of trials, as a step line
/// across axis `x`, and a point at each answer's top.
pub(crate) fn ecdf(sorted: &[u32], x: &Axis) -> (Points, Points) {
    let n = sorted.len().max(1) as f64;
    let pct = |i: usize| i as f64 * 100.0 / n;
    let mut steps = vec![(x.min, 0.0)];
    let mut marks = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        let a = f64::from(*a);
        steps.extend([(a, pct(i)), (a, pct(i + 1))]);
        marks.push((a, pct(i + 1)));
    }
    steps.push((x.max, 100.0));
    (steps, marks)
}

fn notes(c: &Compaction) -> Markup {
    html! {
        "Each step is a trial's answer; the dashed line is the reported "
        (ordinal(c.percentile)) " percentile. The whole cell has "
        (count(u64::from(c.whole_cell.machines))) " machines."
    }
}

fn rule(c: &Compaction, v: &Value) -> Markup {
    let r = &c.fit_rule;
    let timed = r.workload == WorkloadKind::WithTime;
    html! {
        p {
            @if timed {
                "The workload has time (arrivals, tasks that end, or a trace): a cell fits if at most "
                "picky_share of the submitted tasks are unplaced at the end of the run and the 90th-percentile "
                "waits of prod and non-prod tasks stay within their limits."
            } @else {
                "The workload is static (everything submitted at t = 0, nothing ends): a cell fits if at most "
                "picky_share of the submitted tasks are unplaced (pending or dropped) once it is packed."
            }
            " Jobs of more tasks than relax_above_share of the whole cell's machines lose their constraints "
            "and spread limits in every probe (borgsim has no soft constraints: relaxed means dropped)."
        }
        table id="compaction-rule" {
            tbody {
                (rule_kind_rows(v))
                tr { th scope="row" { "picky tasks allowed (whole cell)" } (value_cell(v, "whole_cell.verdict.picky_allowed_tasks", Unit::Count)) }
                tr { th scope="row" { "unplaced on the whole cell" } (value_cell(v, "whole_cell.verdict.unplaced_tasks", Unit::Count)) }
                tr { th scope="row" { "relax_large_jobs" } (value_cell(v, "fit_rule.relax_large_jobs", Unit::Text)) }
                tr { th scope="row" { "relaxed above (tasks)" } (value_cell(v, "fit_rule.relax_above_tasks", Unit::Count)) }
                tr { th scope="row" { "jobs relaxed" } (value_cell(v, "whole_cell.relaxed_jobs", Unit::Count)) }
                (rule_wait_rows(v, timed))
                tr { th scope="row" { "search" } (value_cell(v, "search", Unit::Text)) }
                tr { th scope="row" { "probes contradicting monotonicity" } (value_cell(v, "contradictions", Unit::Count)) }
            }
        }
    }
}

/// The fit rule's kind and picky share, as rows of a table of a result
/// with a `fit_rule` (compaction's, inflation's).
pub(crate) fn rule_kind_rows(v: &Value) -> Markup {
    html! {
        tr { th scope="row" { "workload" } (value_cell(v, "fit_rule.workload", Unit::Text)) }
        tr { th scope="row" { "picky_share" } (value_cell(v, "fit_rule.picky_share", Unit::Fraction)) }
    }
}

/// The fit rule's wait limits, as rows, for a workload with time.
pub(crate) fn rule_wait_rows(v: &Value, timed: bool) -> Markup {
    html! {
        @if timed {
            tr { th scope="row" { "prod_wait_p90_s" } (value_cell(v, "fit_rule.prod_wait_p90_s", Unit::Seconds)) }
            tr { th scope="row" { "nonprod_wait_p90_s" } (value_cell(v, "fit_rule.nonprod_wait_p90_s", Unit::Seconds)) }
        }
    }
}

fn trials(c: &Compaction) -> Markup {
    let classes: Vec<&str> = c
        .whole_cell
        .machines_by_class
        .iter()
        .map(|k| k.class.as_str())
        .collect();
    html! {
        p.note { "Machines per class at each trial's answer (the whole cell's in the last row). "
            "Every probe is in " a href="compaction.json" { "compaction.json" } "." }
        table id="compaction-trials" {
            thead { tr {
                th.num { "trial" } th.num { "machines" } th.num { "share of the cell" }
                th.num { "lower bound" } th.num { "probes" }
                @for k in &classes { th.num { (k) } }
            } }
            tbody {
                @for t in &c.per_trial {
                    tr class=(if t.trial == c.answer.trial { "differs" } else { "" }) {
                        td.num { (t.trial) }
                        td.num { (count(u64::from(t.answer_machines))) }
                        td.num { (crate::report::html::percent_of_fraction(t.share_of_cell)) }
                        td.num { (count(u64::from(t.lower_bound_machines))) }
                        td.num { (t.probes.len()) }
                        @for k in &t.machines_by_class { td.num { (count(u64::from(k.machines))) } }
                    }
                }
                tr.group {
                    th scope="row" colspan="5" { "whole cell" }
                    @for k in &c.whole_cell.machines_by_class { td.num { (count(u64::from(k.whole_cell_machines))) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_as_english() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 90, 100, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "90th",
                "100th", "101st", "111th"
            ]
        );
    }
}
