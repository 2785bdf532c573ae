//! Machines: `machine_events` (added, removed, updated; fields an UPDATE
//! leaves out keep their last value) and `machine_attributes`.
//!
//! Each `machine_attributes` row sets an attribute of a machine to a value, or deletes it. The
//! reader keeps each machine's current attributes (bounded by the cell, not
//! the trace) and gives every machine record all of them, after its
//! platform: a machine added later carries what was set before its ADD, and
//! a change to a machine in the cell is a `MachineUpdate` with the whole new
//! set (the replay then judges constraints against it; see
//! `trace::replay::stream`). A change to a machine not in the cell waits for
//! its ADD. Rows are merged with the machine events by time, attributes
//! first at equal times.

use super::parse::{AttributeRow, MachineRow, ADD, MACHINE_UNKNOWN, REMOVE};
use super::{Known, Reader};
use crate::cell::resources::{Capacity, Resources};
use crate::trace::{TraceEvent, TraceMachine};
use std::sync::Arc;

impl Reader {
    pub(super) fn machine_event(&mut self, row: MachineRow) -> Option<TraceEvent> {
        if row.kind == MACHINE_UNKNOWN {
            self.stats.repair("machine_events.type_unknown");
            return None;
        }
        let prev = self.machines.remove(&row.id);
        let was_present = prev.as_ref().is_some_and(|k| k.present);
        if row.kind == REMOVE {
            let Some(mut known) = prev.filter(|k| k.present) else {
                self.stats.repair("machine_events.remove_unknown");
                return None;
            };
            known.present = false;
            self.machines.insert(row.id, known);
            return Some(TraceEvent::MachineRemove { machine: row.id });
        }
        let Some(machine) = self.describe(&row, prev.as_ref().map(|k| &k.machine)) else {
            self.stats.repair("machine_events.update_without_capacity");
            if let Some(k) = prev {
                self.machines.insert(row.id, k);
            }
            return None;
        };
        let event = match (row.kind == ADD, was_present) {
            (true, false) => TraceEvent::MachineAdd(machine.clone()),
            (true, true) => {
                self.stats.repair("machine_events.add_while_present");
                TraceEvent::MachineUpdate(machine.clone())
            }
            (false, true) => TraceEvent::MachineUpdate(machine.clone()),
            (false, false) => {
                self.stats.repair("machine_events.update_before_add");
                TraceEvent::MachineAdd(machine.clone())
            }
        };
        self.machines.insert(
            row.id,
            Known {
                machine,
                present: true,
            },
        );
        Some(event)
    }

    /// A machine as this row describes it, fields it leaves out kept from
    /// `prev`; `None` if its capacity is not known.
    fn describe(&mut self, row: &MachineRow, prev: Option<&TraceMachine>) -> Option<TraceMachine> {
        let res = prev.map(|m| m.capacity.res);
        let cpu_milli = match row.cpus {
            Some(d) => d.scale(self.reference.cpu_milli),
            None => res?.cpu_milli,
        };
        let mem_mib = match row.memory {
            Some(d) => d.scale(self.reference.mem_mib),
            None => res?.mem_mib,
        };
        let rack = match &row.switch {
            Some(s) => Some(self.intern(s)),
            None => prev.and_then(|m| m.rack.clone()),
        };
        let platform = match &row.platform {
            Some(p) => Some(self.intern(p)),
            None => prev.and_then(|m| self.platform_of(m)),
        };
        let attrs = self.machine_attrs(row.id, platform);
        Some(TraceMachine {
            key: row.id,
            name: prev.map_or_else(|| Arc::from(row.id.to_string()), |m| m.name.clone()),
            capacity: Capacity {
                res: Resources::new(cpu_milli, mem_mib),
                gpus: 0,
            },
            attrs,
            rack,
            power: None,
        })
    }

    /// Applies an attribute row; an update of the machine if it is in the
    /// cell.
    pub(super) fn attribute_event(&mut self, row: AttributeRow) -> Option<TraceEvent> {
        let name = self.intern(&row.name);
        let value = self.intern(&row.value);
        let set = self.attributes.entry(row.machine).or_default();
        let changed = if row.deleted {
            set.remove(&name).is_some()
        } else {
            set.insert(name, value.clone()) != Some(value)
        };
        if !changed {
            return None;
        }
        let known = self.machines.get(&row.machine)?;
        if !known.present {
            return None;
        }
        let platform = self.platform_of(&known.machine);
        let mut machine = known.machine.clone();
        machine.attrs = self.machine_attrs(row.machine, platform);
        if let Some(k) = self.machines.get_mut(&row.machine) {
            k.machine = machine.clone();
        }
        Some(TraceEvent::MachineUpdate(machine))
    }

    /// The machine's `platform_id`, if it has one.
    pub(super) fn platform_of(&self, m: &crate::trace::TraceMachine) -> Option<Arc<str>> {
        m.attrs
            .iter()
            .find(|(k, _)| **k == *self.platform)
            .map(|(_, v)| v.clone())
    }

    /// A machine's attributes: its platform (under `platform`), then what
    /// `machine_attributes` set, by name.
    pub(super) fn machine_attrs(
        &self,
        machine: u64,
        platform: Option<Arc<str>>,
    ) -> Vec<(Arc<str>, Arc<str>)> {
        let mut attrs: Vec<(Arc<str>, Arc<str>)> = platform
            .map(|p| (self.platform.clone(), p))
            .into_iter()
            .collect();
        if let Some(set) = self.attributes.get(&machine) {
            attrs.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        attrs
    }
}
