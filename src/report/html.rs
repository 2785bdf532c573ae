//! The pieces every page shares: its style sheet and the way numbers are
//! written in tables. A value taken from `summary.json` is shown for
//! people (`46.3012 %`, `12.5 s`, `14,085`) and carried exactly in the
//! cell's `data-value`, with its key in `data-key`, so a reader — or a
//! test, or a script — can check the page against the file.

use maud::{html, Markup};
use serde_json::Value;

/// The page's styles: readable without them, printable with them. A table
/// wider than its column (the page at ~700 px) scrolls inside its own box,
/// shaded at an edge with more beyond it, and never widens the page;
/// narrow windows get tighter cells so that most tables fit.
pub const STYLE: &str = "
:root { color-scheme: light; --ink: #1d2328; --muted: #5b6670; --rule: #d7dde2; --band: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem 1.25rem 3rem;
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; color: var(--ink); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.25rem 0 .75rem; padding-top: .5rem; border-top: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.lede { color: var(--muted); }
nav ol { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0; margin: 1rem 0 0; }
nav a, a { color: #0b5cad; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums;
  display: block; max-width: 100%; overflow-x: auto;
  background: linear-gradient(to right, #fff 40%, rgba(255,255,255,0)) left / 2rem 100% no-repeat local,
    linear-gradient(to left, #fff 40%, rgba(255,255,255,0)) right / 2rem 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.2), rgba(0,0,0,0)) left / .75rem 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.2), rgba(0,0,0,0)) right / .75rem 100% no-repeat scroll; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
td.num, td.id { white-space: nowrap; }
.groups { display: flex; flex-wrap: wrap; gap: 0 2.5rem; align-items: flex-start; }
.groups > * { min-width: 0; max-width: 100%; }
.groups table caption { text-align: left; font-weight: 600; padding: .25rem 0; }
thead th { border-bottom: 2px solid var(--ink); }
tr.group th { background: var(--band); }
.delta { color: var(--muted); font-size: .9em; }
.differs { font-weight: 600; }
figure.plot { margin: 1rem 0 1.5rem; }
figure.plot svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; }
figcaption strong { color: var(--ink); font-weight: 600; }
p.no-plot { padding: 1rem; background: var(--band); border: 1px dashed var(--rule); }
p.empty-plot { padding: .5rem .75rem; background: var(--band); border-left: 3px solid var(--rule); }
.note { color: var(--muted); font-size: .9rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .9rem; }
code { font-size: .92em; }
@media (max-width: 820px) {
  body { padding: 1rem .75rem 2rem; font-size: 14px; }
  table { font-size: .93em; }
  th, td { padding: .2rem .35rem; }
  .groups { gap: 0 1.25rem; }
}
";

/// How a value is shown.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count of things (`14,085`).
    Count,
    /// A fraction of capacity, shown as a percentage (`46.3012 %`).
    Fraction,
    /// A percentage already (`87.5 %`).
    Percent,
    /// Microseconds, shown as seconds (`12.5 s`).
    Micros,
    /// Seconds (`7200 s`).
    Seconds,
    /// A rate per unit the column names (`0.0123`; `1.23e-5` when small):
    /// four significant digits at least.
    Rate,
    /// Text or a switch, shown as it is.
    Text,
}

impl Unit {
    /// The unit's name for a CSV column: what the value is measured in.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Fraction => "fraction",
            Unit::Percent => "percent",
            Unit::Micros => "us",
            Unit::Seconds => "s",
            Unit::Rate => "rate",
            Unit::Text => "",
        }
    }
}

/// `14,085`: a whole number with thousands separated.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float with at most `decimals` decimals, trailing zeros dropped.
pub fn decimal(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// A fraction as a percentage: `0.463012` → `46.3012 %` (summary.json's
/// six decimals are four of a percentage, so nothing is lost).
pub fn percent_of_fraction(f: f64) -> String {
    format!("{} %", decimal(f * 100.0, 4))
}

/// A rate for people: 4 decimals from 0.01 up (`237.6912`), 4
/// significant digits below (`0.001234`, `1.234e-7` below 10⁻⁶), 0 as `0`.
pub fn rate(v: f64) -> String {
    if v == 0.0 || v.abs() >= 0.01 {
        decimal(v, 4)
    } else if v.abs() >= 1e-6 {
        let digits = (3.0 - v.abs().log10().floor()) as usize;
        decimal(v, digits)
    } else {
        format!("{v:.3e}")
    }
}

/// Microseconds as seconds, exactly: `12500000` → `12.5 s`.
pub fn seconds_of_us(us: u64) -> String {
    let frac = format!("{:06}", us % 1_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{} s", us / 1_000_000)
    } else {
        format!("{}.{frac} s", us / 1_000_000)
    }
}

/// A value of summary.json for people; `—` when absent or null.
pub fn show(v: Option<&Value>, unit: Unit) -> String {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return "—".into();
    };
    match (unit, v) {
        (Unit::Count, Value::Number(n)) if n.is_u64() => count(n.as_u64().unwrap_or(0)),
        (Unit::Micros, Value::Number(n)) if n.is_u64() => seconds_of_us(n.as_u64().unwrap_or(0)),
        (Unit::Fraction, Value::Number(n)) => percent_of_fraction(n.as_f64().unwrap_or(0.0)),
        (Unit::Percent, Value::Number(n)) => format!("{} %", decimal(n.as_f64().unwrap_or(0.0), 4)),
        (Unit::Seconds, Value::Number(n)) => format!("{} s", decimal(n.as_f64().unwrap_or(0.0), 6)),
        (Unit::Rate, Value::Number(n)) => rate(n.as_f64().unwrap_or(0.0)),
        (_, Value::Bool(b)) => if *b { "on" } else { "off" }.into(),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

/// The value's exact text for `data-value`: as summary.json writes it.
pub fn raw(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The value at a dotted path of summary.json (`utilization.cpu.total`).
pub fn at<'a>(summary: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(summary, |v, k| v.get(k))
}

/// A table cell for a value of summary.json: shown for people, exact in
/// `data-value`, its key in `data-key`.
pub fn value_cell(summary: &Value, key: &str, unit: Unit) -> Markup {
    let v = at(summary, key);
    let class = if unit == Unit::Text { "" } else { "num" };
    html! {
        td class=(class) data-key=(key) data-value=(raw(v)) { (show(v, unit)) }
    }
}

/// A plain numeric cell.
pub fn num(text: impl AsRef<str>) -> Markup {
    html! { td.num { (text.as_ref()) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_well_and_lose_nothing() {
        assert_eq!(count(14_085), "14,085");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(percent_of_fraction(0.463012), "46.3012 %");
        assert_eq!(percent_of_fraction(1.0), "100 %");
        assert_eq!(seconds_of_us(12_500_000), "12.5 s");
        assert_eq!(seconds_of_us(3), "0.000003 s");
        assert_eq!(seconds_of_us(0), "0 s");
        assert_eq!(decimal(-0.00001, 3), "0");
        assert_eq!(rate(237.691236265759), "237.6912");
        // 0.001234: log10 floor −3, so 3 + 3 = 6 decimals.
        assert_eq!(rate(0.0012345), "0.001234");
        assert_eq!(rate(1.2344e-7), "1.234e-7");
        assert_eq!(rate(0.0), "0");
    }

    #[test]
    fn cells_carry_the_summary_value_exactly() {
        let s = json!({"utilization": {"cpu": {"total": 0.463012}}, "wait_us": {"p50": null}});
        let cell = value_cell(&s, "utilization.cpu.total", Unit::Fraction).into_string();
        assert_eq!(
            cell,
            r#"<td class="num" data-key="utilization.cpu.total" data-value="0.463012">46.3012 %</td>"#
        );
        assert_eq!(show(at(&s, "wait_us.p50"), Unit::Micros), "—");
        assert_eq!(show(at(&s, "missing.key"), Unit::Count), "—");
    }
}
