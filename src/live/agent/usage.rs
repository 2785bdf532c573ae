//! What the agent's tasks use, for heartbeats.
//!
//! A task is the session it leads (its session id is the
//! task's pid), so everything it forks counts — a `sh -c` and its
//! children alike — and nothing else on the machine does. CPU is the
//! share of one core since the previous measurement (sysinfo's
//! `cpu_usage`, percent of a core, ×10 = milli-cores); memory is resident
//! memory. The first measurement after a task starts reads its CPU as 0.

use crate::live::proto::Usage;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Keeps the previous sample, which CPU shares are measured against.
pub struct Meter {
    sys: System,
}

impl Meter {
    pub fn new() -> Meter {
        // sysinfo keeps a `/proc/PID/stat` file open per process it has
        // seen (up to half the descriptor limit): thousands of
        // descriptors that every task's `fork` copies and `exec` closes.
        // Reading them anew each heartbeat is cheaper than that.
        sysinfo::set_open_files_limit(0);
        Meter { sys: System::new() }
    }

    /// The summed usage of the sessions led by `sessions` (task pids).
    pub fn measure(&mut self, sessions: &[u32]) -> Usage {
        if sessions.is_empty() {
            return Usage::default();
        }
        let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
        self.sys
            .refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        let mut leaders: Vec<Pid> = sessions.iter().map(|&p| Pid::from_u32(p)).collect();
        leaders.sort_unstable();
        let mut cpu_percent = 0.0f64;
        let mut mem_bytes = 0u64;
        for p in self.sys.processes().values() {
            if p.session_id()
                .is_some_and(|s| leaders.binary_search(&s).is_ok())
            {
                cpu_percent += f64::from(p.cpu_usage());
                mem_bytes = mem_bytes.saturating_add(p.memory());
            }
        }
        Usage {
            // Percent of one core × 10 = milli-cores; never negative.
            cpu_milli: (cpu_percent * 10.0).round().max(0.0) as u64,
            mem_mib: mem_bytes >> 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sessions_use_nothing_and_foreign_ones_are_not_counted() {
        let mut m = Meter::new();
        assert_eq!(m.measure(&[]), Usage::default());
        // A session no process is in counts nothing.
        let u = m.measure(&[u32::MAX]);
        assert_eq!(u, Usage::default());
    }
}
