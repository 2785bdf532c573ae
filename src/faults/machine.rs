//! Machine failures: each machine of a rule fails on its own clock (time
//! to failure drawn from an exponential or Weibull lifetime, from the
//! machine's own stream), stays down for a drawn repair time, and comes
//! back; its tasks are evicted with cause `machine_failure` and
//! rescheduled (through the rate limit).
//!
//! The next failure is drawn when one strikes, from the repair's end (a
//! lifetime counts up time); a machine that another fault holds when its
//! clock runs out is left alone and its clock starts again from now.

use super::recovery::{FaultKind, Place};
use super::{after, draw_lifetime, draw_secs, machines_of, queue, stream, FaultEvent, Faults, Out};
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::{Cell, MachineId};
use crate::error::Result;
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::MachineFailures as Rule;
use crate::time::SimTime;

/// Every rule's machines and their clocks' streams.
pub struct MachineFailures {
    rules: Vec<Compiled>,
}

struct Compiled {
    rule: Rule,
    machines: Vec<MachineId>,
    /// One stream per machine of the rule, by its position in `machines`.
    rngs: Vec<SimRng>,
    /// Position of each machine of the cell in `machines` (`u32::MAX`: not
    /// the rule's).
    slot: Vec<u32>,
}

impl MachineFailures {
    pub fn new(rules: &[Rule], cell: &Cell, streams: &RngStreams) -> Result<Self> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let key = format!("faults.machine_failures[{i}].class");
            let machines = machines_of(cell, r.class, &key)?;
            let mut slot = vec![u32::MAX; cell.len()];
            for (k, &m) in machines.iter().enumerate() {
                slot[m as usize] = k as u32;
            }
            let rngs = machines
                .iter()
                .map(|&m| stream(streams, FaultKind::MachineFailure, i, u64::from(m)))
                .collect();
            out.push(Compiled {
                rule: r.clone(),
                machines,
                rngs,
                slot,
            });
        }
        Ok(MachineFailures { rules: out })
    }

    /// Every machine's first failure.
    pub fn start(&mut self, out: &mut Vec<(SimTime, FaultEvent)>) {
        for (i, c) in self.rules.iter_mut().enumerate() {
            for (k, &m) in c.machines.iter().enumerate() {
                let t = draw_lifetime(&c.rule.time_to_failure, &mut c.rngs[k]);
                let ev = FaultEvent::Fail {
                    rule: i as u16,
                    machine: m,
                };
                out.push((after(SimTime::ZERO, t), ev));
            }
        }
    }
}

impl Faults {
    /// Rule `rule`'s clock for machine `m` ran out: it fails if free.
    pub(super) fn on_fail(
        &mut self,
        rule: u16,
        m: MachineId,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let free = self.available(m, st);
        let c = &mut self.machine.rules[rule as usize];
        let rng = &mut c.rngs[c.slot[m as usize] as usize];
        if !free {
            let next = draw_lifetime(&c.rule.time_to_failure, rng);
            queue(
                out,
                self.horizon,
                after(now, next),
                FaultEvent::Fail { rule, machine: m },
            );
            return false;
        }
        let repair = draw_secs(&c.rule.repair_s, rng);
        let next = draw_lifetime(&c.rule.time_to_failure, rng);
        let back = after(now, repair);
        let f = self
            .records
            .open(FaultKind::MachineFailure, now, Place::machine(m), 1);
        let evicted = self.take_down(m, f, EvictionCause::MachineFailure, now, st);
        self.reschedule(&evicted, now, st, out);
        self.push(
            out,
            back,
            FaultEvent::Repair {
                machine: m,
                fault: f,
            },
        );
        self.push(
            out,
            after(back, next),
            FaultEvent::Fail { rule, machine: m },
        );
        true
    }
}
