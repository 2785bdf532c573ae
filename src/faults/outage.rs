//! Correlated outages: a rack, a row or a power domain loses every
//! machine at once (a switch, a PDU) and gets them back together. Each domain of a
//! recurring rule runs its own clock (its own stream); a one-off outage
//! names its time and domain. The outage takes every machine of the
//! domain that is up or merely out of contact (its tasks really are gone
//! now); machines another fault holds down stay that fault's.

use super::recovery::{FaultKind, Place};
use super::{after, draw_lifetime, draw_secs, queue, stream, FaultEvent, Faults, Holder, Out};
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::{Cell, MachineId};
use crate::error::{Error, Result};
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::{no_such_domain, Outages as Rule};
use crate::time::SimTime;
use std::path::PathBuf;

pub struct Outages {
    rules: Vec<Compiled>,
    /// Each outage's machines, by fault index (outages only).
    taken: std::collections::BTreeMap<u32, Vec<MachineId>>,
}

struct Compiled {
    rule: Rule,
    /// The machines of each domain at the rule's level.
    domains: Vec<Vec<MachineId>>,
    /// One stream per domain (recurring rules).
    rngs: Vec<SimRng>,
}

impl Outages {
    pub fn new(rules: &[Rule], cell: &Cell, streams: &RngStreams) -> Result<Self> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let lv = r.level.domain_level();
            let count = cell.domains.domains(lv);
            let mut domains = vec![Vec::new(); count];
            for m in 0..cell.len() {
                domains[cell.domains.domain_of(m, lv) as usize].push(m as MachineId);
            }
            if let Some(d) = r.domain.filter(|&d| d as usize >= count) {
                return Err(Error::Invalid {
                    path: PathBuf::from("faults"),
                    key: format!("faults.outages[{i}].domain"),
                    message: no_such_domain(count, r.level, d),
                });
            }
            let rngs = (0..count as u64)
                .map(|d| stream(streams, FaultKind::Outage, i, d))
                .collect();
            out.push(Compiled {
                rule: r.clone(),
                domains,
                rngs,
            });
        }
        Ok(Outages {
            rules: out,
            taken: Default::default(),
        })
    }

    /// The first outage of every recurring domain, and the one-offs.
    pub fn start(&mut self, out: &mut Vec<(SimTime, FaultEvent)>) {
        for (i, c) in self.rules.iter_mut().enumerate() {
            let rule = i as u16;
            match (&c.rule.time_between, c.rule.at_s, c.rule.domain) {
                (Some(l), _, _) => {
                    for (d, rng) in c.rngs.iter_mut().enumerate() {
                        let t = draw_lifetime(l, rng);
                        let ev = FaultEvent::Outage {
                            rule,
                            domain: d as u32,
                        };
                        out.push((after(SimTime::ZERO, t), ev));
                    }
                }
                (None, Some(at), Some(domain)) => {
                    out.push((SimTime::from_secs(at), FaultEvent::Outage { rule, domain }));
                }
                _ => unreachable!("validated: time_between, or at_s and domain"),
            }
        }
    }
}

impl Faults {
    pub(super) fn on_outage(
        &mut self,
        rule: u16,
        domain: u32,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
    ) -> bool {
        let c = &mut self.outage.rules[rule as usize];
        let rng = &mut c.rngs[domain as usize];
        let duration = draw_secs(&c.rule.duration_s, rng);
        let end = after(now, duration);
        if let Some(l) = c.rule.time_between {
            let next = draw_lifetime(&l, rng);
            queue(
                out,
                self.horizon,
                after(end, next),
                FaultEvent::Outage { rule, domain },
            );
        }
        let place = Place {
            level: c.rule.level.into(),
            domain,
        };
        let members = c.domains[domain as usize].clone();
        let f = self.records.open(FaultKind::Outage, now, place, 0);
        let mut taken = Vec::new();
        let mut evicted = Vec::new();
        for m in members {
            let free = self.available(m, st);
            let unreachable = matches!(self.holder[m as usize], Holder::OutOfContact(_));
            if free || unreachable {
                self.records.add_machine(f);
                evicted.extend(self.take_down(m, f, EvictionCause::MachineFailure, now, st));
                taken.push(m);
            }
        }
        self.reschedule(&evicted, now, st, out);
        self.outage.taken.insert(f, taken);
        self.push(out, end, FaultEvent::OutageEnd { fault: f });
        true
    }

    pub(super) fn on_outage_end(&mut self, f: u32, now: SimTime, st: &mut CellState) -> bool {
        let taken = self.outage.taken.remove(&f).unwrap_or_default();
        let mut any = false;
        for m in taken {
            any |= self.bring_up(m, f, now, st);
        }
        any
    }
}
