//! Per-machine fault clocks: the fault kinds that strike machines one at a
//! time (machine failures, unreachability) give each machine of a rule its
//! own random stream, so that a machine's draws depend on nothing but the
//! seed, the rule and the machine — adding a machine, a rule or another
//! kind changes no other machine's clock.

use super::recovery::FaultKind;
use super::{after, draw_lifetime, machines_of, stream, FaultEvent};
use crate::cell::{Cell, MachineId};
use crate::error::Result;
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::Lifetime;
use crate::time::SimTime;

/// One rule's machines and their streams.
pub(super) struct RuleClocks<R> {
    pub rule: R,
    machines: Vec<MachineId>,
    /// One stream per machine of the rule, by its position in `machines`.
    rngs: Vec<SimRng>,
    /// Position of each machine of the cell in `machines` (`u32::MAX`: not
    /// the rule's).
    slot: Vec<u32>,
}

impl<R: Clone> RuleClocks<R> {
    /// Each rule of `rules` (the scenario's `table`, e.g.
    /// `faults.machine_failures`) with its machines — those of its machine
    /// class (`class`), or all — and their streams.
    ///
    /// # Errors
    /// A class the cell does not have, naming `<table>[i].class`.
    pub fn compile(
        rules: &[R],
        class: impl Fn(&R) -> Option<u32>,
        cell: &Cell,
        streams: &RngStreams,
        kind: FaultKind,
        table: &str,
    ) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let machines = machines_of(cell, class(r), &format!("{table}[{i}].class"))?;
            let mut slot = vec![u32::MAX; cell.len()];
            for (k, &m) in machines.iter().enumerate() {
                slot[m as usize] = k as u32;
            }
            let rngs = machines
                .iter()
                .map(|&m| stream(streams, kind, i, u64::from(m)))
                .collect();
            out.push(RuleClocks {
                rule: r.clone(),
                machines,
                rngs,
                slot,
            });
        }
        Ok(out)
    }
}

impl<R> RuleClocks<R> {
    /// The rule and machine `m`'s stream (`m` one of the rule's).
    pub fn rule_and_rng(&mut self, m: MachineId) -> (&R, &mut SimRng) {
        let k = self.slot[m as usize] as usize;
        (&self.rule, &mut self.rngs[k])
    }
}

/// Every machine's first event of every rule: after a `lifetime` drawn
/// from its stream, `event(rule index, machine)`.
pub(super) fn start<R>(
    rules: &mut [RuleClocks<R>],
    lifetime: impl Fn(&R) -> &Lifetime,
    event: impl Fn(u16, MachineId) -> FaultEvent,
    out: &mut Vec<(SimTime, FaultEvent)>,
) {
    for (i, c) in rules.iter_mut().enumerate() {
        for (k, &m) in c.machines.iter().enumerate() {
            let t = draw_lifetime(lifetime(&c.rule), &mut c.rngs[k]);
            out.push((after(SimTime::ZERO, t), event(i as u16, m)));
        }
    }
}
