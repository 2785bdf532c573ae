//! Parsing a row of each table into what the reader uses, checking each
//! value against the schema.

use super::rows::{Fields, RawConstraint, Table};
use crate::error::Result;
use crate::time::SimTime;
use crate::trace::input::Decimal;
use crate::trace::TaskKey;
use crate::workload::Priority;

// Event types of collection_events and instance_events.
pub(super) const SUBMIT: i64 = 0;
pub(super) const QUEUE: i64 = 1;
pub(super) const ENABLE: i64 = 2;
pub(super) const SCHEDULE: i64 = 3;
pub(super) const EVICT: i64 = 4;
pub(super) const FAIL: i64 = 5;
pub(super) const FINISH: i64 = 6;
pub(super) const KILL: i64 = 7;
pub(super) const LOST: i64 = 8;
pub(super) const UPDATE_PENDING: i64 = 9;
pub(super) const UPDATE_RUNNING: i64 = 10;

// Event types of machine_events.
pub(super) const MACHINE_UNKNOWN: i64 = 0;
pub(super) const ADD: i64 = 1;
pub(super) const REMOVE: i64 = 2;

/// A time of 2^63−1: after the trace ended.
pub(super) const AFTER_END: i64 = i64::MAX;

pub(super) struct MachineRow {
    pub id: u64,
    pub kind: i64,
    pub switch: Option<String>,
    pub cpus: Option<Decimal>,
    pub memory: Option<Decimal>,
    pub platform: Option<String>,
}

pub(super) struct CollectionRow {
    pub id: u64,
    pub kind: i64,
    pub priority: Option<Priority>,
    pub user: Option<String>,
    pub name: Option<String>,
    pub max_per_machine: Option<u32>,
    pub max_per_switch: Option<u32>,
    pub in_alloc: bool,
}

pub(super) struct InstanceRow {
    pub key: TaskKey,
    pub kind: i64,
    pub machine: Option<u64>,
    pub priority: Option<Priority>,
    pub in_alloc: bool,
    pub cpus: Option<Decimal>,
    pub memory: Option<Decimal>,
    pub constraints: Vec<RawConstraint>,
}

pub(super) enum Body {
    Machine(MachineRow),
    Collection(CollectionRow),
    Instance(Box<InstanceRow>),
}

/// A table's next row, parsed.
pub(super) struct Head {
    pub time: SimTime,
    pub body: Body,
}

/// Parses a row of `table`; `None` as the time if it is after the end.
pub(super) fn parse(table: Table, f: Fields<'_>) -> Result<(Option<i64>, Body)> {
    let time = f.int_in("time", 0, AFTER_END)?;
    let time = (time != AFTER_END).then_some(time);
    let id = |name: &str| f.int_in(name, 0, i64::MAX).map(|v| v as u64);
    let nonzero = |name: &str| -> Result<Option<u64>> {
        Ok(f.opt_int_in(name, 0, i64::MAX)?
            .filter(|&v| v != 0)
            .map(|v| v as u64))
    };
    let priority = || -> Result<Option<Priority>> {
        Ok(f.opt_int_in("priority", 0, i64::from(Priority::MAX))?
            .map(|p| p as Priority))
    };
    let owned = |name: &str| -> Result<Option<String>> {
        Ok(f.text(name)?.map(std::borrow::Cow::into_owned))
    };
    let body = match table {
        Table::Machines => {
            let row = MachineRow {
                id: id("machine_id")?,
                kind: f.int_in("type", 0, 3)?,
                switch: owned("switch_id")?,
                cpus: f.decimal("capacity.cpus")?,
                memory: f.decimal("capacity.memory")?,
                platform: owned("platform_id")?,
            };
            if row.kind == ADD {
                for (v, name) in [(row.cpus, "capacity.cpus"), (row.memory, "capacity.memory")] {
                    if v.is_none() {
                        let msg = "a machine is added without capacity".to_string();
                        return Err(f.error(name, msg));
                    }
                }
            }
            Body::Machine(row)
        }
        Table::Collections => Body::Collection(CollectionRow {
            id: id("collection_id")?,
            kind: f.int_in("type", 0, 10)?,
            priority: priority()?,
            user: owned("user")?,
            name: owned("collection_name")?,
            max_per_machine: f
                .opt_int_in("max_per_machine", 0, i64::from(u32::MAX))?
                .filter(|&v| v != 0)
                .map(|v| v as u32),
            max_per_switch: f
                .opt_int_in("max_per_switch", 0, i64::from(u32::MAX))?
                .filter(|&v| v != 0)
                .map(|v| v as u32),
            in_alloc: nonzero("alloc_collection_id")?.is_some(),
        }),
        Table::Instances => {
            let kind = f.int_in("type", 0, 10)?;
            let submit = kind == SUBMIT;
            Body::Instance(Box::new(InstanceRow {
                key: TaskKey {
                    job: id("collection_id")?,
                    stage: 0,
                    index: f.int_in("instance_index", 0, i64::from(u32::MAX))? as u32,
                },
                kind,
                machine: (kind == SCHEDULE)
                    .then(|| f.opt_int_in("machine_id", -1, i64::MAX))
                    .transpose()?
                    .flatten()
                    .filter(|&m| m > 0)
                    .map(|m| m as u64),
                priority: priority()?,
                in_alloc: nonzero("alloc_collection_id")?.is_some(),
                cpus: submit
                    .then(|| f.decimal("resource_request.cpus"))
                    .transpose()?
                    .flatten(),
                memory: submit
                    .then(|| f.decimal("resource_request.memory"))
                    .transpose()?
                    .flatten(),
                constraints: if submit {
                    f.constraints("constraint")?
                } else {
                    Vec::new()
                },
            }))
        }
    };
    Ok((time, body))
}
