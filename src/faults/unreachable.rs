//! Unreachability: a machine stops reporting while its tasks run on.
//! Borg never kills running tasks because the master lost contact, so
//! nothing happens to them at first: they keep their resources and may
//! finish, and only new placements avoid the machine
//! ([`CellState::set_unreachable`]). If the machine reports again within
//! the grace period, nothing was lost. Otherwise, when the grace period
//! ends, the scheduler declares its tasks lost: they are evicted (cause
//! `machine_failure`) and rescheduled elsewhere (through the rate limit),
//! and the machine, down from then on, comes back empty when it reports.

use super::clocks::{self, RuleClocks};
use super::recovery::{FaultKind, Place};
use super::{after, draw_lifetime, draw_secs, queue, FaultEvent, Faults, Holder, Out};
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::{Cell, MachineId};
use crate::error::Result;
use crate::rng::RngStreams;
use crate::scenario::faults::Unreachability as Rule;
use crate::time::SimTime;

/// Every rule's machines and their clocks' streams.
pub struct Unreachability {
    rules: Vec<RuleClocks<Rule>>,
}

impl Unreachability {
    pub fn new(rules: &[Rule], cell: &Cell, streams: &RngStreams) -> Result<Self> {
        let kind = FaultKind::Unreachable;
        let table = "faults.unreachable";
        let rules = RuleClocks::compile(rules, |r| r.class, cell, streams, kind, table)?;
        Ok(Unreachability { rules })
    }

    /// Every machine's first loss of contact.
    pub fn start(&mut self, out: &mut Vec<(SimTime, FaultEvent)>) {
        let lose = |rule, machine| FaultEvent::LoseContact { rule, machine };
        clocks::start(&mut self.rules, |r| &r.time_between, lose, out);
    }
}

impl Faults {
    pub(super) fn on_lose_contact(
        &mut self,
        rule: u16,
        m: MachineId,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let free = self.available(m, st);
        let (c, rng) = self.unreachable.rules[rule as usize].rule_and_rng(m);
        if !free {
            let next = draw_lifetime(&c.time_between, rng);
            let ev = FaultEvent::LoseContact { rule, machine: m };
            queue(out, self.horizon, after(now, next), ev);
            return false;
        }
        let duration = draw_secs(&c.duration_s, rng);
        let next = draw_lifetime(&c.time_between, rng);
        let grace = after(now, c.grace_s.saturating_mul(1_000_000));
        let back = after(now, duration);
        let f = self
            .records
            .open(FaultKind::Unreachable, now, Place::machine(m), 1);
        self.holder[m as usize] = Holder::OutOfContact(f);
        let changed = st.set_unreachable(now, m, true);
        assert!(changed, "machine {m} was up and reachable");
        // Back at the grace period's end exactly counts as in time.
        if back > grace {
            self.push(
                out,
                grace,
                FaultEvent::GraceOver {
                    machine: m,
                    fault: f,
                },
            );
        }
        self.push(
            out,
            back,
            FaultEvent::Regain {
                machine: m,
                fault: f,
            },
        );
        let ev = FaultEvent::LoseContact { rule, machine: m };
        self.push(out, after(back, next), ev);
        false
    }

    pub(super) fn on_regain(
        &mut self,
        m: MachineId,
        f: u32,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        match self.holder[m as usize] {
            Holder::OutOfContact(x) if x == f => {
                self.holder[m as usize] = Holder::Free;
                self.crash.contact_back(m, now, out);
                st.set_unreachable(now, m, false)
            }
            Holder::Down(x) if x == f => self.bring_up(m, f, now, st),
            _ => false,
        }
    }

    pub(super) fn on_grace_over(
        &mut self,
        m: MachineId,
        f: u32,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        if self.holder[m as usize] != Holder::OutOfContact(f) {
            return false;
        }
        let lost = self.take_down(m, f, EvictionCause::MachineFailure, now, st);
        self.reschedule(&lost, now, st, out);
        true
    }
}
