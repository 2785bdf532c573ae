//! The comparison as a table, for `compare.csv` and the page: one row per
//! parameter (what each run was) and per headline figure, one column per
//! run, and each later run's difference from the first — absolute, in the
//! figure's unit, and relative, in percent of the first's value. Values
//! are summary.json's, as written.
//!
//! `compare.csv` is wide, as a spreadsheet reader compares: `metric`,
//! `unit`, `run_1` … `run_N`, `delta_2` … `delta_N`, `delta_pct_2` …
//! `delta_pct_N`. Its first rows are the parameters (`label`, `dir`,
//! `scenario`, `seed`, …), so the file says which column is which run.

use super::load::Loaded;
use crate::metrics::round6;
use crate::report::chart::TRACE_PLACEMENTS;
use crate::report::headline::{shown, Metric};
use crate::report::html::{at, raw, Unit};
use serde_json::Value;

/// A parameter row: its name and each run's value.
pub struct Param {
    pub name: &'static str,
    pub values: Vec<String>,
    /// Whether the page marks a value that differs from the first run's:
    /// not for what names a run (its label and directory), which always
    /// differs and so marks nothing.
    pub marks_differences: bool,
}

/// What each run was: label, directory, scenario, seed, policy (or trace
/// placements, see [`placed_by`]), switches, version.
pub fn params(runs: &[Loaded]) -> Vec<Param> {
    let from_summary = |name: &'static str, key: &str| Param {
        name,
        values: runs.iter().map(|r| raw(at(&r.summary, key))).collect(),
        marks_differences: true,
    };
    vec![
        Param {
            name: "label",
            values: runs.iter().map(|r| r.label.clone()).collect(),
            marks_differences: false,
        },
        Param {
            name: "dir",
            values: runs.iter().map(|r| r.dir.display().to_string()).collect(),
            marks_differences: false,
        },
        from_summary("scenario", "scenario"),
        from_summary("seed", "seed"),
        Param {
            name: "policy",
            values: runs.iter().map(|r| placed_by(&r.summary)).collect(),
            marks_differences: true,
        },
        from_summary("preemption", "preemption"),
        from_summary("score_cache", "techniques.score_cache"),
        from_summary("equivalence_classes", "techniques.equivalence_classes"),
        from_summary("relaxed_randomization", "techniques.relaxed_randomization"),
        Param {
            name: "version",
            values: runs.iter().map(|r| r.version.clone()).collect(),
            marks_differences: true,
        },
    ]
}

/// What placed a run's tasks, from its summary.json: its `policy`, or
/// `trace placements` for a replay that followed the trace's own
/// placements (`trace.mode`), where the policy decided nothing.
pub fn placed_by(summary: &Value) -> String {
    if at(summary, "trace.mode").and_then(Value::as_str) == Some("trace_placement") {
        TRACE_PLACEMENTS.to_string()
    } else {
        raw(at(summary, "policy"))
    }
}

/// The difference of `b` from `a`, and the relative difference in percent
/// of `a` (absent when `a` is 0 and `b` is not); `None` unless both are
/// numbers. Whole numbers subtract exactly.
pub fn delta(a: Option<&Value>, b: Option<&Value>) -> Option<(Value, Option<f64>)> {
    let (a, b) = (a?, b?);
    let (fa, fb) = (a.as_f64()?, b.as_f64()?);
    let d = match (a.as_u64(), b.as_u64()) {
        (Some(x), Some(y)) => match i64::try_from(i128::from(y) - i128::from(x)) {
            Ok(d) => Value::from(d),
            Err(_) => Value::from(fb - fa),
        },
        _ => Value::from(round6(fb - fa)),
    };
    let pct = if fa == 0.0 {
        (fb == 0.0).then_some(0.0)
    } else {
        Some((100.0 * (fb - fa) / fa.abs() * 1e4).round() / 1e4)
    };
    Some((d, pct))
}

/// The headline figures shown for these runs.
pub fn metrics(runs: &[Loaded]) -> Vec<&'static Metric> {
    let summaries: Vec<&Value> = runs.iter().map(|r| &r.summary).collect();
    shown(&summaries)
}

/// `compare.csv`'s bytes.
pub fn csv_bytes(runs: &[Loaded]) -> Vec<u8> {
    let n = runs.len();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["metric".to_string(), "unit".to_string()];
    header.extend((1..=n).map(|i| format!("run_{i}")));
    header.extend((2..=n).map(|i| format!("delta_{i}")));
    header.extend((2..=n).map(|i| format!("delta_pct_{i}")));
    w.write_record(&header).expect("writing to memory");
    for p in params(runs) {
        let mut row = vec![p.name.to_string(), String::new()];
        row.extend(p.values);
        row.resize(header.len(), String::new());
        w.write_record(&row).expect("writing to memory");
    }
    for m in metrics(runs) {
        let first = at(&runs[0].summary, m.key);
        let mut row = vec![m.key.to_string(), m.unit.name().to_string()];
        row.extend(runs.iter().map(|r| raw(at(&r.summary, m.key))));
        let deltas: Vec<_> = runs[1..]
            .iter()
            .map(|r| delta(first, at(&r.summary, m.key)))
            .collect();
        row.extend(
            deltas
                .iter()
                .map(|d| d.as_ref().map_or(String::new(), |d| plain(&d.0))),
        );
        row.extend(deltas.iter().map(|d| match d {
            Some((_, Some(p))) => crate::report::html::decimal(*p, 4),
            _ => String::new(),
        }));
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

/// A delta as compare.csv writes it: a whole number as it is, a fraction
/// to six decimals in plain notation (`0.000002`, never `2e-6`).
fn plain(v: &Value) -> String {
    match (v.as_i64(), v.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) => crate::report::html::decimal(f, 6),
        _ => v.to_string(),
    }
}

/// A delta for people, in the figure's unit: `+2.1 pp`, `−1.5 s`, `+12`,
/// with the relative change: `+12 (+4.5 %)`.
pub fn show_delta(d: &(Value, Option<f64>), unit: Unit) -> String {
    let v = d.0.as_f64().unwrap_or(0.0);
    let sign = if v > 0.0 {
        "+"
    } else if v < 0.0 {
        "−"
    } else {
        "±"
    };
    let mag = v.abs();
    let dec = crate::report::html::decimal;
    let abs = match unit {
        Unit::Fraction => format!("{} pp", dec(mag * 100.0, 4)),
        Unit::Percent => format!("{} pp", dec(mag, 4)),
        Unit::Micros => format!("{} s", dec(mag / 1e6, 6)),
        Unit::Seconds => format!("{} s", dec(mag, 6)),
        Unit::Count => crate::report::html::count(mag as u64),
        Unit::Rate => crate::report::html::rate(mag),
        Unit::Text => dec(mag, 6),
    };
    match d.1 {
        Some(p) if v != 0.0 => format!(
            "{sign}{abs} ({}{} %)",
            if p > 0.0 { "+" } else { "−" },
            dec(p.abs(), 1)
        ),
        _ => format!("{sign}{abs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_deltas_are_plain_decimals() {
        // 0.500002 - 0.5 = 2e-6 as a float; written 0.000002.
        let (d, _) = delta(Some(&json!(0.5)), Some(&json!(0.500002))).unwrap();
        assert_eq!(plain(&d), "0.000002");
        let (d, _) = delta(Some(&json!(0.000009)), Some(&json!(0.0))).unwrap();
        assert_eq!(plain(&d), "-0.000009");
        let (d, _) = delta(Some(&json!(7)), Some(&json!(3))).unwrap();
        assert_eq!(plain(&d), "-4");
    }

    #[test]
    fn deltas_are_exact_for_counts_and_rounded_for_fractions() {
        let (d, pct) = delta(Some(&json!(200)), Some(&json!(150))).unwrap();
        assert_eq!((d, pct), (json!(-50), Some(-25.0)));
        // 0.3 − 0.1 is 0.19999999999999998 in floats; summary.json's six
        // decimals make it 0.2.
        let (d, pct) = delta(Some(&json!(0.1)), Some(&json!(0.3))).unwrap();
        assert_eq!((d, pct), (json!(0.2), Some(200.0)));
        assert_eq!(delta(Some(&json!(0)), Some(&json!(5))).unwrap().1, None);
        assert_eq!(
            delta(Some(&json!(0)), Some(&json!(0))).unwrap().1,
            Some(0.0)
        );
        assert_eq!(delta(Some(&json!(null)), Some(&json!(5))), None);
        assert_eq!(delta(None, Some(&json!(5))), None);
    }

    #[test]
    fn deltas_read_in_the_figure_unit() {
        assert_eq!(
            show_delta(&(json!(0.021), Some(4.5)), Unit::Fraction),
            "+2.1 pp (+4.5 %)"
        );
        assert_eq!(
            show_delta(&(json!(-1_500_000), Some(-10.0)), Unit::Micros),
            "−1.5 s (−10 %)"
        );
        assert_eq!(show_delta(&(json!(0), Some(0.0)), Unit::Count), "±0");
    }
}
