//! A scenario key named by its TOML path — `scheduler.policy`,
//! `cell.machines[0].count`, `workload.jobs[1].arrival.poisson.per_hour` —
//! and setting it in a scenario's parsed TOML. A sweep names what it varies
//! this way, so any key of a scenario can be swept without the sweep
//! knowing the scenario's model: the edited table is parsed again as a
//! scenario, which checks the value (`sweep::resolve`).
//!
//! Grammar: bare keys (letters, digits, `_`, `-`) separated by `.`, each
//! optionally followed by array indices `[n]`. Setting a key creates the
//! tables on its way that the scenario leaves out
//! (`steady_state.start_s` in a scenario without `steady_state`); an index
//! must name an existing element of an existing array.

use std::fmt;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array, 0-based.
    Index(usize),
}

/// A parsed key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPath {
    segments: Vec<Segment>,
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl KeyPath {
    /// Parses `text`.
    ///
    /// # Errors
    /// A message saying what is wrong, for an empty key, a character other
    /// than a bare key's, or an index that is not a whole number.
    pub fn parse(text: &str) -> Result<KeyPath, String> {
        let expected = "expected a key path such as scheduler.policy or cell.machines[0].count \
                        (bare keys of letters, digits, _ and -, separated by dots, with [n] for \
                        an element of an array)";
        if text.is_empty() {
            return Err(format!("empty: {expected}"));
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            if key.is_empty() || !key.chars().all(bare) {
                return Err(format!("{part:?} is not a bare key: {expected}"));
            }
            segments.push(Segment::Key(key.to_string()));
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("{part:?}: an unclosed [: {expected}"))?;
                let n = rest[1..close].parse::<usize>().map_err(|_| {
                    format!(
                        "{part:?}: {:?} is not an index: {expected}",
                        &rest[1..close]
                    )
                })?;
                segments.push(Segment::Index(n));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("{part:?}: text after ]: {expected}"));
                }
            }
        }
        Ok(KeyPath { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True if `self` is `other` or leads to it (`workload.jobs[1]` leads
    /// to `workload.jobs[1].tasks`): setting both would set one twice.
    pub fn overlaps(&self, other: &KeyPath) -> bool {
        let n = self.segments.len().min(other.segments.len());
        self.segments[..n] == other.segments[..n]
    }

    /// Sets the key in `root` to `value`, creating missing tables on the
    /// way.
    ///
    /// # Errors
    /// A message naming the part of the path that does not exist in
    /// `root`: an index beyond its array, or a step into a value that is
    /// not a table (or not an array, for an index).
    pub fn set(&self, root: &mut toml::Table, value: toml::Value) -> Result<(), String> {
        let Some((Segment::Key(first), rest)) = self.segments.split_first() else {
            unreachable!("a parsed path starts with a key");
        };
        let mut here = root
            .entry(first.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let mut walked = first.clone();
        for seg in rest {
            here = match (seg, here) {
                (Segment::Key(k), toml::Value::Table(t)) => {
                    walked = format!("{walked}.{k}");
                    t.entry(k.clone())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                }
                (Segment::Index(n), toml::Value::Array(a)) => {
                    let len = a.len();
                    let at = format!("{walked}[{n}]");
                    let element = a.get_mut(*n).ok_or_else(|| {
                        format!(
                            "{at}: the base scenario's {walked} has {len} element{} \
                             (indices from 0)",
                            if len == 1 { "" } else { "s" }
                        )
                    })?;
                    walked = at;
                    element
                }
                (seg, v) => {
                    let wanted = match seg {
                        Segment::Key(_) => "a table",
                        Segment::Index(_) => "an array",
                    };
                    return Err(format!(
                        "{walked} is {} in the base scenario, not {wanted}: {self} does not exist",
                        kind(v)
                    ));
                }
            };
        }
        *here = value;
        Ok(())
    }
}

/// A TOML value's kind, for messages.
fn kind(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn paths_parse_and_print_back() {
        for text in [
            "scheduler.policy",
            "cell.machines[0].count",
            "workload.jobs[1].arrival.poisson.per_hour",
            "a[0][2].b-c_d",
        ] {
            assert_eq!(KeyPath::parse(text).unwrap().to_string(), text);
        }
        let p = KeyPath::parse("cell.machines[1].count").unwrap();
        assert_eq!(
            p.segments(),
            [
                Segment::Key("cell".into()),
                Segment::Key("machines".into()),
                Segment::Index(1),
                Segment::Key("count".into())
            ]
        );
        for bad in [
            "", "a..b", ".a", "a.", "a b", "a[x]", "a[1", "a[1]b", "[0]", "a.\"b\"",
        ] {
            assert!(KeyPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn setting_a_key_edits_tables_and_array_elements() {
        let mut t = table(
            "[scheduler]\npolicy = \"hybrid\"\n[[cell.machines]]\ncount = 2\n[[cell.machines]]\ncount = 3\n",
        );
        KeyPath::parse("scheduler.policy")
            .unwrap()
            .set(&mut t, "best_fit".into())
            .unwrap();
        KeyPath::parse("cell.machines[1].count")
            .unwrap()
            .set(&mut t, 7.into())
            .unwrap();
        // A table the scenario leaves out is made.
        KeyPath::parse("steady_state.start_s")
            .unwrap()
            .set(&mut t, 60.into())
            .unwrap();
        assert_eq!(t["scheduler"]["policy"].as_str(), Some("best_fit"));
        assert_eq!(t["cell"]["machines"][0]["count"].as_integer(), Some(2));
        assert_eq!(t["cell"]["machines"][1]["count"].as_integer(), Some(7));
        assert_eq!(t["steady_state"]["start_s"].as_integer(), Some(60));
    }

    #[test]
    fn a_path_that_does_not_exist_is_named() {
        let base = table("[scheduler]\npolicy = \"hybrid\"\n[[cell.machines]]\ncount = 2\n");
        let err = |path: &str| {
            KeyPath::parse(path)
                .unwrap()
                .set(&mut base.clone(), 1.into())
                .unwrap_err()
        };
        assert_eq!(
            err("cell.machines[3].count"),
            "cell.machines[3]: the base scenario's cell.machines has 1 element (indices from 0)"
        );
        assert_eq!(
            err("scheduler.policy.x"),
            "scheduler.policy is a string in the base scenario, not a table: \
             scheduler.policy.x does not exist"
        );
        assert_eq!(
            err("scheduler[0]"),
            "scheduler is a table in the base scenario, not an array: scheduler[0] does not exist"
        );
    }

    #[test]
    fn overlapping_paths_are_found() {
        let p = |s: &str| KeyPath::parse(s).unwrap();
        assert!(p("workload.jobs[1]").overlaps(&p("workload.jobs[1].tasks")));
        assert!(p("a.b").overlaps(&p("a.b")));
        assert!(!p("workload.jobs[1].tasks").overlaps(&p("workload.jobs[0].tasks")));
        assert!(!p("a.bc").overlaps(&p("a.b")));
    }
}
