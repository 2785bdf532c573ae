//! Machine failures: each machine of a rule fails on its own clock (time
//! to failure drawn from an exponential or Weibull lifetime, from the
//! machine's own stream), stays down for a drawn repair time, and comes
//! back; its tasks are evicted with cause `machine_failure` and
//! rescheduled (through the rate limit).
//!
//! The next failure is drawn when one strikes, from the repair's end (a
//! lifetime counts up time); a machine that another fault holds when its
//! clock runs out is left alone and its clock starts again from now.

use super::clocks::{self, RuleClocks};
use super::recovery::{FaultKind, Place};
use super::{after, draw_lifetime, draw_secs, queue, FaultEvent, Faults, Out};
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::{Cell, MachineId};
use crate::error::Result;
use crate::rng::RngStreams;
use crate::scenario::faults::MachineFailures as Rule;
use crate::time::SimTime;

/// Every rule's machines and their clocks' streams.
pub struct MachineFailures {
    rules: Vec<RuleClocks<Rule>>,
}

impl MachineFailures {
    pub fn new(rules: &[Rule], cell: &Cell, streams: &RngStreams) -> Result<Self> {
        let kind = FaultKind::MachineFailure;
        let table = "faults.machine_failures";
        let rules = RuleClocks::compile(rules, |r| r.class, cell, streams, kind, table)?;
        Ok(MachineFailures { rules })
    }

    /// Every machine's first failure.
    pub fn start(&mut self, out: &mut Vec<(SimTime, FaultEvent)>) {
        let fail = |rule, machine| FaultEvent::Fail { rule, machine };
        clocks::start(&mut self.rules, |r| &r.time_to_failure, fail, out);
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
        let (c, rng) = self.machine.rules[rule as usize].rule_and_rng(m);
        if !free {
            let next = draw_lifetime(&c.time_to_failure, rng);
            queue(
                out,
                self.horizon,
                after(now, next),
                FaultEvent::Fail { rule, machine: m },
            );
            return false;
        }
        let repair = draw_secs(&c.repair_s, rng);
        let next = draw_lifetime(&c.time_to_failure, rng);
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
