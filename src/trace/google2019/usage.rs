//! `instance_usage`: what each instance used in each measurement window, as
//! [`TraceEvent::Usage`] records at the window's start (the rules are in
//! the module docs of `google2019.rs`, under *Usage*).

use super::rows::Fields;
use super::Reader;
use crate::cell::resources::Resources;
use crate::error::Result;
use crate::trace::input::{table_schema, Decimal};
use crate::trace::{TaskKey, TraceEvent};

table_schema! {
    /// `instance_usage` (proto `InstanceUsage`).
    pub(super) mod cols = "instance_usage" {
        START_TIME: "start_time" => Required,
        END_TIME: "end_time" => Unused,
        COLLECTION_ID: "collection_id" => Required,
        INSTANCE_INDEX: "instance_index" => Required,
        MACHINE_ID: "machine_id" => Unused,
        ALLOC_COLLECTION_ID: "alloc_collection_id" => Optional(""),
        ALLOC_INSTANCE_INDEX: "alloc_instance_index" => Unused,
        COLLECTION_TYPE: "collection_type" => Unused,
        AVERAGE_USAGE_CPUS: "average_usage.cpus" => Optional(""),
        AVERAGE_USAGE_MEMORY: "average_usage.memory" => Optional(""),
        MAXIMUM_USAGE_CPUS: "maximum_usage.cpus" => Unused,
        MAXIMUM_USAGE_MEMORY: "maximum_usage.memory" => Unused,
        RANDOM_SAMPLE_USAGE_CPUS: "random_sample_usage.cpus" => Unused,
        RANDOM_SAMPLE_USAGE_MEMORY: "random_sample_usage.memory" => Unused,
        ASSIGNED_MEMORY: "assigned_memory" => Unused,
        PAGE_CACHE_MEMORY: "page_cache_memory" => Unused,
        CYCLES_PER_INSTRUCTION: "cycles_per_instruction" => Unused,
        MEMORY_ACCESSES_PER_INSTRUCTION: "memory_accesses_per_instruction" => Unused,
        SAMPLE_RATE: "sample_rate" => Unused,
        CPU_USAGE_DISTRIBUTION: "cpu_usage_distribution" => Unused,
        TAIL_CPU_USAGE_DISTRIBUTION: "tail_cpu_usage_distribution" => Unused,
    }
}

/// One `instance_usage` row, parsed.
pub(super) struct UsageRow {
    pub key: TaskKey,
    /// The instance runs inside an alloc set (`alloc_collection_id` not 0).
    pub in_alloc: bool,
    /// `average_usage.cpus` (NCU) and `.memory` (NMU), if given.
    pub cpus: Option<Decimal>,
    pub memory: Option<Decimal>,
}

/// Parses a row of `instance_usage` (its time is read by the caller, as
/// every table's).
pub(super) fn row(f: &Fields<'_>) -> Result<UsageRow> {
    let alloc = f.opt_int_in(cols::ALLOC_COLLECTION_ID, 0, i64::MAX)?;
    Ok(UsageRow {
        key: TaskKey {
            job: f.int_in(cols::COLLECTION_ID, 0, i64::MAX)? as u64,
            stage: 0,
            index: f.int_in(cols::INSTANCE_INDEX, 0, i64::from(u32::MAX))? as u32,
        },
        in_alloc: alloc.is_some_and(|a| a != 0),
        cpus: f.decimal(cols::AVERAGE_USAGE_CPUS)?,
        memory: f.decimal(cols::AVERAGE_USAGE_MEMORY)?,
    })
}

impl Reader {
    /// A usage row as it is merged: the instance's mean usage × the
    /// reference machine, or nothing (counted) for an instance in an alloc
    /// set or a row without both means.
    pub(super) fn usage_event(&mut self, row: UsageRow) -> Option<TraceEvent> {
        let coll = self.collections.get(&row.key.job);
        if row.in_alloc || coll.is_some_and(|c| c.in_alloc) {
            self.stats.repair("instance_usage.in_alloc_set");
            return None;
        }
        let (Some(cpus), Some(memory)) = (row.cpus, row.memory) else {
            self.stats.repair("instance_usage.usage_missing");
            return None;
        };
        let usage = Resources::new(
            cpus.scale(self.reference.cpu_milli),
            memory.scale(self.reference.mem_mib),
        );
        Some(TraceEvent::Usage {
            task: row.key,
            usage,
        })
    }
}

#[cfg(test)]
mod tests;
