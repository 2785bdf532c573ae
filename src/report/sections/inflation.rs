//! "Workload inflation": how much growth the cell takes — the trials'
//! answers as a distribution (their empirical CDF, the reported percentile
//! marked), the answer with what it adds to the workload, the fit rule,
//! and a table of the trials.
//!
//! A function of an [`Inflation`] alone (`inflation.json`, as written), so
//! that a page putting a cell's packing views side by side can embed it.

use super::compaction::{ecdf, ordinal, rule_kind_rows, rule_wait_rows};
use crate::compact::fit::WorkloadKind;
use crate::error::Result;
use crate::inflate::{Inflation, Mode};
use crate::report::chart::{self, Axis, Chart, Layer, LegendEntry, Panel, Rgb, Swatch, Ticks};
use crate::report::html::{count, value_cell, Unit};
use crate::report::{Plots, Section};
use maud::{html, Markup};
use serde_json::Value;
use std::path::Path;

const TRIALS: Rgb = Rgb(44, 160, 44);
const ANSWER: Rgb = Rgb(214, 39, 40);

/// A factor in per mille as growth in %: 340 → `34 %`, 345 → `34.5 %`,
/// 12,000 → `1,200 %`.
pub fn percent_of_permille(p: u32) -> String {
    let whole = count(u64::from(p / 10));
    match p % 10 {
        0 => format!("{whole} %"),
        d => format!("{whole}.{d} %"),
    }
}

/// The section: `page` names the page in a rendering error.
///
/// # Errors
/// A plot cannot be rendered.
pub fn section(c: &Inflation, plots: Plots, page: &Path) -> Result<Section> {
    let v = serde_json::to_value(c).expect("an inflation serialises");
    let figure = plots.figure(&chart(c), notes(c), page)?;
    let how = match c.mode {
        Mode::Horizontal => {
            "Each trial grows the workload horizontally: every job gains copies of its own tasks, \
             a Monte-Carlo draw of its own per trial (a factor of 250 ‰ adds a quarter as many \
             tasks, on average)"
        }
        Mode::Vertical => {
            "The workload grows vertically: every task's CPU and memory request is multiplied by \
             1 + the factor, rounded up (GPUs unchanged); nothing is drawn, so one trial is all \
             there is"
        }
    };
    let body = html! {
        p {
            (how) ". A trial finds the largest factor, in steps of "
            (percent_of_permille(c.resolution_permille)) ", at which the whole cell still fits the "
            "workload, re-packing it from scratch at every probe: doubling until a factor does not "
            "fit, then bisection. The answer is the " (ordinal(c.percentile)) " percentile of the "
            (c.trials) " trials' answers by nearest rank — the cautious tail: growth at least "
            (100 - c.percentile) " % of the trials took."
        }
        (headline(&v))
        (figure)
        h3 { "Fit rule" }
        (rule(c, &v))
        h3 { "Trials" }
        (trials(c))
    };
    Ok(Section {
        id: "inflation",
        title: "Workload inflation".into(),
        body,
    })
}

fn headline(v: &Value) -> Markup {
    let rows: [(&str, &str, Unit); 12] = [
        ("mode", "mode", Unit::Text),
        ("machines", "uninflated.machines", Unit::Count),
        ("answer (‰ growth)", "answer.permille", Unit::Count),
        ("trial giving the answer", "answer.trial", Unit::Count),
        ("fewest (‰)", "min_permille", Unit::Count),
        ("median (‰)", "median_permille", Unit::Count),
        ("most (‰)", "max_permille", Unit::Count),
        (
            "tasks, uninflated",
            "uninflated.submitted.tasks",
            Unit::Count,
        ),
        ("tasks at the answer", "answer.submitted.tasks", Unit::Count),
        ("tasks added", "answer.added.tasks", Unit::Count),
        (
            "CPU requested added (milli-cores)",
            "answer.added.cpu_milli",
            Unit::Count,
        ),
        (
            "memory requested added (MiB)",
            "answer.added.mem_mib",
            Unit::Count,
        ),
    ];
    html! {
        table id="inflation-headline" {
            tbody {
                @for (what, key, unit) in rows {
                    tr { th scope="row" { (what) } (value_cell(v, key, unit)) }
                }
            }
        }
    }
}

/// The trials' answers as an empirical CDF, and the answer, in % growth.
pub fn chart(c: &Inflation) -> Chart {
    let mut answers: Vec<u32> = c.per_trial.iter().map(|t| t.answer_permille).collect();
    answers.sort_unstable();
    // The axis in per mille, labelled in % (ticks are the axis' numbers
    // over 10): the steps stay the answers' exact values.
    let lo = f64::from(answers.first().copied().unwrap_or(0)) / 10.0;
    let hi = f64::from(answers.last().copied().unwrap_or(0)) / 10.0;
    let pad = ((hi - lo) * 0.08).max(f64::from(c.resolution_permille) / 10.0);
    let x = Axis {
        label: "growth the cell takes (%)".into(),
        min: (lo - pad).max(0.0),
        max: hi + pad,
        log: false,
        ticks: Ticks::Number,
    };
    let (steps, marks) = ecdf(&answers, &x_in_permille(&x));
    let to_pct = |pts: Vec<(f64, f64)>| pts.into_iter().map(|(a, y)| (a / 10.0, y)).collect();
    let at = f64::from(c.answer.permille) / 10.0;
    let panel = Panel {
        caption: String::new(),
        x,
        y: chart::percent_axis("trials taking at most x (%)", 100.0),
        layers: vec![
            Layer::Line {
                color: TRIALS,
                points: to_pct(steps),
                dashed: false,
            },
            Layer::Marks {
                color: TRIALS,
                points: to_pct(marks),
            },
            Layer::Line {
                color: ANSWER,
                points: vec![(at, 0.0), (at, 100.0)],
                dashed: true,
            },
        ],
    };
    Chart {
        id: "inflation",
        title: chart::title(
            &format!(
                "Growth the cell takes, {} inflation, {} trial{}",
                c.mode.name(),
                c.trials,
                if c.trials == 1 { "" } else { "s" }
            ),
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
                    "{} percentile: +{} (trial {})",
                    ordinal(c.percentile),
                    percent_of_permille(c.answer.permille),
                    c.answer.trial
                ),
                ANSWER,
                Swatch::Dashed,
            ),
        ],
    }
}

/// Axis `x` (in %) in per mille, for the CDF's steps.
fn x_in_permille(x: &Axis) -> Axis {
    Axis {
        min: x.min * 10.0,
        max: x.max * 10.0,
        ..x.clone()
    }
}

fn notes(c: &Inflation) -> Markup {
    html! {
        "Each step is a trial's answer (the largest growth at which the workload still fits); the "
        "dashed line is the reported " (ordinal(c.percentile)) " percentile. The cell has "
        (count(u64::from(c.uninflated.machines))) " machines."
    }
}

fn rule(c: &Inflation, v: &Value) -> Markup {
    let timed = c.fit_rule.workload == WorkloadKind::WithTime;
    html! {
        p {
            "The rule of cell compaction (" code { "[compaction]" } "), on the whole cell: "
            @if timed {
                "the workload has time, so at most picky_share of the submitted tasks may be unplaced "
                "at the end and the 90th-percentile waits of prod and non-prod tasks must stay within "
                "their limits."
            } @else {
                "the workload is static, so at most picky_share of the submitted tasks may be unplaced "
                "(pending or dropped) once it is packed."
            }
        }
        table id="inflation-rule" {
            tbody {
                (rule_kind_rows(v))
                tr { th scope="row" { "unplaced, uninflated" } (value_cell(v, "uninflated.verdict.unplaced_tasks", Unit::Count)) }
                tr { th scope="row" { "relaxed above (tasks)" } (value_cell(v, "fit_rule.relax_above_tasks", Unit::Count)) }
                (rule_wait_rows(v, timed))
                tr { th scope="row" { "resolution (‰)" } (value_cell(v, "resolution_permille", Unit::Count)) }
                tr { th scope="row" { "cap (‰)" } (value_cell(v, "cap_permille", Unit::Count)) }
                tr { th scope="row" { "probes contradicting monotonicity" } (value_cell(v, "contradictions", Unit::Count)) }
            }
        }
    }
}

fn trials(c: &Inflation) -> Markup {
    html! {
        p.note { "Every probe is in " a href="inflation.json" { code { "inflation.json" } } "." }
        table id="inflation-trials" {
            thead { tr {
                th.num { "trial" } th.num { "fits at (‰)" } th.num { "does not at (‰)" }
                th.num { "growth" } th.num { "tasks at the answer" } th.num { "probes" }
            } }
            tbody {
                @for t in &c.per_trial {
                    tr class=(if t.trial == c.answer.trial { "differs" } else { "" }) {
                        td.num { (t.trial) }
                        td.num { (count(u64::from(t.answer_permille))) }
                        td.num { (count(u64::from(t.first_unfit_permille))) }
                        td.num { "+" (percent_of_permille(t.answer_permille)) }
                        td.num { (count(t.submitted.tasks)) }
                        td.num { (t.probes.len()) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_mille_reads_as_percent() {
        let got: Vec<String> = [0, 10, 340, 345, 12_000]
            .into_iter()
            .map(percent_of_permille)
            .collect();
        assert_eq!(got, ["0 %", "1 %", "34 %", "34.5 %", "1,200 %"]);
    }
}
