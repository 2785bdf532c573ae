//! Machine attributes and task constraints, interned to small integers.
//!
//! Scenarios and traces name attributes with strings (`arch = "arm"`); the
//! filter compares integers. Interning happens once, when the cell and the
//! workload are built.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type AttrName = u32;
pub type AttrValue = u32;

/// String ↔ integer tables for attribute names and values.
#[derive(Clone, Debug, Default)]
pub struct AttrTable {
    names: BTreeMap<String, AttrName>,
    values: BTreeMap<String, AttrValue>,
    name_list: Vec<String>,
    value_list: Vec<String>,
}

impl AttrTable {
    pub fn name_id(&mut self, name: &str) -> AttrName {
        intern(&mut self.names, &mut self.name_list, name)
    }

    pub fn value_id(&mut self, value: &str) -> AttrValue {
        intern(&mut self.values, &mut self.value_list, value)
    }

    /// The id of a name already interned; `None` if no machine has it.
    pub fn find_name(&self, name: &str) -> Option<AttrName> {
        self.names.get(name).copied()
    }

    /// The id of a value already interned; `None` if no machine has it.
    pub fn find_value(&self, value: &str) -> Option<AttrValue> {
        self.values.get(value).copied()
    }

    pub fn name(&self, id: AttrName) -> &str {
        &self.name_list[id as usize]
    }

    pub fn value(&self, id: AttrValue) -> &str {
        &self.value_list[id as usize]
    }

    /// A name for output: the interned string, or a note that no machine
    /// has it ([`UNKNOWN_ATTR`]).
    fn show_name(&self, id: AttrName) -> &str {
        self.name_list
            .get(id as usize)
            .map_or("(an attribute no machine has)", String::as_str)
    }

    fn show_value(&self, id: AttrValue) -> &str {
        self.value_list
            .get(id as usize)
            .map_or("(a value no machine has)", String::as_str)
    }
}

fn intern(map: &mut BTreeMap<String, u32>, list: &mut Vec<String>, s: &str) -> u32 {
    if let Some(&id) = map.get(s) {
        return id;
    }
    let id = list.len() as u32;
    list.push(s.to_string());
    map.insert(s.to_string(), id);
    id
}

/// A machine's attributes, sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attributes(Vec<(AttrName, AttrValue)>);

impl Attributes {
    pub fn new(mut pairs: Vec<(AttrName, AttrValue)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        Attributes(pairs)
    }

    pub fn get(&self, name: AttrName) -> Option<AttrValue> {
        self.0
            .binary_search_by_key(&name, |p| p.0)
            .ok()
            .map(|i| self.0[i].1)
    }
}

/// How a constraint compares a machine's attribute.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintOp {
    /// The attribute is present and equal to the value.
    Eq,
    /// The attribute is absent or different from the value.
    Ne,
    /// The attribute is present, whatever its value.
    Present,
    /// The attribute is absent.
    Absent,
}

/// An attribute name or value that no machine has: a constraint on it is
/// judged as if the attribute were absent.
pub const UNKNOWN_ATTR: u32 = u32::MAX;

/// A hard constraint on the machines a task may run on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Constraint {
    pub name: AttrName,
    pub op: ConstraintOp,
    pub value: AttrValue,
}

impl Constraint {
    /// The constraint as people write it: `zone=b`, `zone!=b`,
    /// `zone present`, `zone absent`.
    pub fn describe(&self, table: &AttrTable) -> String {
        let name = table.show_name(self.name);
        match self.op {
            ConstraintOp::Eq => format!("{name}={}", table.show_value(self.value)),
            ConstraintOp::Ne => format!("{name}!={}", table.show_value(self.value)),
            ConstraintOp::Present => format!("{name} present"),
            ConstraintOp::Absent => format!("{name} absent"),
        }
    }

    /// What a machine with `attrs` has instead, for a constraint it fails:
    /// `zone=a`, `no zone`.
    pub fn found(&self, attrs: &Attributes, table: &AttrTable) -> String {
        let name = table.show_name(self.name);
        match attrs.get(self.name) {
            Some(v) => format!("{name}={}", table.show_value(v)),
            None => format!("no {name}"),
        }
    }

    pub fn admits(&self, attrs: &Attributes) -> bool {
        let v = attrs.get(self.name);
        match self.op {
            ConstraintOp::Eq => v == Some(self.value),
            ConstraintOp::Ne => v != Some(self.value),
            ConstraintOp::Present => v.is_some(),
            ConstraintOp::Absent => v.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_compare_interned_values() {
        let mut t = AttrTable::default();
        let (arch, arm, x86, ssd) = (
            t.name_id("arch"),
            t.value_id("arm"),
            t.value_id("x86"),
            t.name_id("ssd"),
        );
        assert_eq!(t.name_id("arch"), arch);
        assert_eq!(t.value(x86), "x86");
        let m = Attributes::new(vec![(arch, arm)]);
        let c = |op, value| Constraint {
            name: arch,
            op,
            value,
        };
        assert!(c(ConstraintOp::Eq, arm).admits(&m));
        assert!(!c(ConstraintOp::Eq, x86).admits(&m));
        assert!(c(ConstraintOp::Ne, x86).admits(&m));
        assert!(c(ConstraintOp::Present, 0).admits(&m));
        let no_ssd = Constraint {
            name: ssd,
            op: ConstraintOp::Absent,
            value: 0,
        };
        assert!(no_ssd.admits(&m));
    }

    #[test]
    fn constraints_describe_themselves_as_written() {
        let mut t = AttrTable::default();
        let (zone, a, b) = (t.name_id("zone"), t.value_id("a"), t.value_id("b"));
        let c = |op, value| Constraint {
            name: zone,
            op,
            value,
        };
        assert_eq!(c(ConstraintOp::Eq, b).describe(&t), "zone=b");
        assert_eq!(c(ConstraintOp::Ne, a).describe(&t), "zone!=a");
        assert_eq!(c(ConstraintOp::Present, 0).describe(&t), "zone present");
        assert_eq!(c(ConstraintOp::Absent, 0).describe(&t), "zone absent");
        // A trace's value that no machine has was never interned.
        assert_eq!(
            c(ConstraintOp::Eq, UNKNOWN_ATTR).describe(&t),
            "zone=(a value no machine has)"
        );
        let on_a = Attributes::new(vec![(zone, a)]);
        assert_eq!(c(ConstraintOp::Eq, b).found(&on_a, &t), "zone=a");
        assert_eq!(
            c(ConstraintOp::Eq, b).found(&Attributes::default(), &t),
            "no zone"
        );
    }
}
