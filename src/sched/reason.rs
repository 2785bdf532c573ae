//! Why a machine was rejected, and the per-task tallies behind "why pending".
//!
//! Like Kubernetes' "0/5000 nodes are available: 3000 Insufficient cpu, …",
//! each failed attempt keeps, per reason, how many machines the first failing
//! filter rejected for it.

use serde::Serialize;

/// Why a filter rejected a machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Reason {
    /// The machine is down or not part of the cell yet.
    MachineDown,
    InsufficientCpu,
    InsufficientMemory,
    InsufficientGpu,
    ConstraintMismatch,
    MaxPerMachine,
    MaxPerRack,
    MaxPerPowerDomain,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::MachineDown,
        Reason::InsufficientCpu,
        Reason::InsufficientMemory,
        Reason::InsufficientGpu,
        Reason::ConstraintMismatch,
        Reason::MaxPerMachine,
        Reason::MaxPerRack,
        Reason::MaxPerPowerDomain,
    ];

    /// The column/key name used in outputs.
    pub fn key(self) -> &'static str {
        match self {
            Reason::MachineDown => "machine_down",
            Reason::InsufficientCpu => "insufficient_cpu",
            Reason::InsufficientMemory => "insufficient_memory",
            Reason::InsufficientGpu => "insufficient_gpu",
            Reason::ConstraintMismatch => "constraint_mismatch",
            Reason::MaxPerMachine => "max_per_machine",
            Reason::MaxPerRack => "max_per_rack",
            Reason::MaxPerPowerDomain => "max_per_power_domain",
        }
    }

    /// Could evicting lower-priority tasks ever make this machine feasible?
    /// (Kubernetes' Unschedulable vs UnschedulableAndUnresolvable.)
    pub fn resolvable_by_preemption(self) -> bool {
        matches!(
            self,
            Reason::InsufficientCpu | Reason::InsufficientMemory | Reason::InsufficientGpu
        )
    }
}

/// Machines rejected per reason in one scheduling attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReasonCounts(pub [u32; Reason::ALL.len()]);

impl ReasonCounts {
    pub fn add(&mut self, r: Reason) {
        self.0[r as usize] += 1;
    }

    /// Takes one back; false if there was none.
    pub fn sub(&mut self, r: Reason) -> bool {
        let c = &mut self.0[r as usize];
        let had = *c > 0;
        *c = c.saturating_sub(1);
        had
    }

    pub fn get(&self, r: Reason) -> u32 {
        self.0[r as usize]
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }

    /// "0/300 machines are available: 200 insufficient_cpu, 100 max_per_machine".
    pub fn describe(&self, machines: usize) -> String {
        let parts: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| self.get(**r) > 0)
            .map(|r| format!("{} {}", self.get(*r), r.key()))
            .collect();
        format!("0/{machines} machines are available: {}", parts.join(", "))
    }
}

/// What the scheduler last learned about a pending job's tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WhyPending {
    /// Simulated time of the last attempt, in µs.
    pub attempt_us: u64,
    pub counts: ReasonCounts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_like_kubernetes() {
        let mut c = ReasonCounts::default();
        c.add(Reason::InsufficientCpu);
        c.add(Reason::InsufficientCpu);
        c.add(Reason::MaxPerMachine);
        assert_eq!(c.total(), 3);
        assert_eq!(
            c.describe(3),
            "0/3 machines are available: 2 insufficient_cpu, 1 max_per_machine"
        );
        assert!(Reason::InsufficientGpu.resolvable_by_preemption());
        assert!(!Reason::ConstraintMismatch.resolvable_by_preemption());
    }
}
