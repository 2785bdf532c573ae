//! Parsing a row of each table into what the reader uses, checking each
//! value against the schema.

use super::rows::{coll, inst, mach, mattr, Fields, RawConstraint, Table};
use super::usage::{self, UsageRow};
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

/// A machine attribute set or deleted.
pub(super) struct AttributeRow {
    pub machine: u64,
    pub name: String,
    pub value: String,
    pub deleted: bool,
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
    /// `start_after_collection_ids` names other collections.
    pub starts_after_others: bool,
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
    Attribute(AttributeRow),
    Machine(MachineRow),
    Collection(CollectionRow),
    Instance(Box<InstanceRow>),
    Usage(UsageRow),
}

/// A table's next row, parsed.
pub(super) struct Head {
    pub time: SimTime,
    pub body: Body,
}

// `time` (`start_time` for usage windows) is the first column of every table.
const _: () = assert!(
    mach::TIME == 0
        && coll::TIME == 0
        && inst::TIME == 0
        && mattr::TIME == 0
        && usage::cols::START_TIME == 0
);

/// Parses a row of `table`; `None` as the time if it is after the end.
#[expect(
    clippy::too_many_lines,
    reason = "one match arm per published table, each reading that table's columns by name: the function is the four tables' schema"
)]
pub(super) fn parse(table: Table, f: Fields<'_>) -> Result<(Option<i64>, Body)> {
    f.check()?;
    // `time` is column 0 of every table.
    let time = f.int_in(mach::TIME, 0, AFTER_END)?;
    let time = (time != AFTER_END).then_some(time);
    let id = |c: usize| f.int_in(c, 0, i64::MAX).map(|v| v as u64);
    let nonzero = |c: usize| -> Result<Option<u64>> {
        Ok(f.opt_int_in(c, 0, i64::MAX)?
            .filter(|&v| v != 0)
            .map(|v| v as u64))
    };
    let priority = |c: usize| -> Result<Option<Priority>> {
        Ok(f.opt_int_in(c, 0, i64::from(Priority::MAX))?
            .map(|p| p as Priority))
    };
    let owned =
        |c: usize| -> Result<Option<String>> { Ok(f.text(c)?.map(std::borrow::Cow::into_owned)) };
    let limit = |c: usize| -> Result<Option<u32>> {
        Ok(f.opt_int_in(c, 0, i64::from(u32::MAX))?
            .filter(|&v| v != 0)
            .map(|v| v as u32))
    };
    let body = match table {
        Table::Attributes => {
            let deleted = match f.text(mattr::DELETED)?.as_deref() {
                None | Some("false" | "0") => false,
                Some("true" | "1") => true,
                Some(other) => {
                    let msg = format!("expected true or false, found {other:?}");
                    return Err(f.error(mattr::DELETED, msg));
                }
            };
            Body::Attribute(AttributeRow {
                machine: id(mattr::MACHINE_ID)?,
                name: owned(mattr::NAME)?.unwrap_or_default(),
                value: owned(mattr::VALUE)?.unwrap_or_default(),
                deleted,
            })
        }
        Table::Machines => {
            let row = MachineRow {
                id: id(mach::MACHINE_ID)?,
                kind: f.int_in(mach::TYPE, 0, 3)?,
                switch: owned(mach::SWITCH_ID)?,
                cpus: f.decimal(mach::CAPACITY_CPUS)?,
                memory: f.decimal(mach::CAPACITY_MEMORY)?,
                platform: owned(mach::PLATFORM_ID)?,
            };
            if row.kind == ADD {
                for (v, c) in [
                    (row.cpus, mach::CAPACITY_CPUS),
                    (row.memory, mach::CAPACITY_MEMORY),
                ] {
                    if v.is_none() {
                        let msg = "a machine is added without capacity".to_string();
                        return Err(f.error(c, msg));
                    }
                }
            }
            Body::Machine(row)
        }
        Table::Collections => Body::Collection(CollectionRow {
            id: id(coll::COLLECTION_ID)?,
            kind: f.int_in(coll::TYPE, 0, 10)?,
            priority: priority(coll::PRIORITY)?,
            user: owned(coll::USER)?,
            name: owned(coll::COLLECTION_NAME)?,
            max_per_machine: limit(coll::MAX_PER_MACHINE)?,
            max_per_switch: limit(coll::MAX_PER_SWITCH)?,
            in_alloc: nonzero(coll::ALLOC_COLLECTION_ID)?.is_some(),
            starts_after_others: !f.list(coll::START_AFTER_COLLECTION_IDS)?.is_empty(),
        }),
        Table::Instances => {
            let kind = f.int_in(inst::TYPE, 0, 10)?;
            let submit = kind == SUBMIT;
            Body::Instance(Box::new(InstanceRow {
                key: TaskKey {
                    job: id(inst::COLLECTION_ID)?,
                    stage: 0,
                    index: f.int_in(inst::INSTANCE_INDEX, 0, i64::from(u32::MAX))? as u32,
                },
                kind,
                machine: (kind == SCHEDULE)
                    .then(|| f.opt_int_in(inst::MACHINE_ID, -1, i64::MAX))
                    .transpose()?
                    .flatten()
                    .filter(|&m| m > 0)
                    .map(|m| m as u64),
                priority: priority(inst::PRIORITY)?,
                in_alloc: nonzero(inst::ALLOC_COLLECTION_ID)?.is_some(),
                cpus: submit
                    .then(|| f.decimal(inst::RESOURCE_REQUEST_CPUS))
                    .transpose()?
                    .flatten(),
                memory: submit
                    .then(|| f.decimal(inst::RESOURCE_REQUEST_MEMORY))
                    .transpose()?
                    .flatten(),
                constraints: if submit {
                    f.constraints(inst::CONSTRAINT)?
                } else {
                    Vec::new()
                },
            }))
        }
        Table::Usage => Body::Usage(usage::row(&f)?),
    };
    Ok((time, body))
}
