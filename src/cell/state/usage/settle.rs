//! Settling a machine whose usage changed: memory beyond what the machine
//! has kills tasks, CPU beyond it throttles them, lowest priority first.
//!
//! Memory is not compressible: while Σ memory usage exceeds the machine's
//! current capacity, the running task with the lowest priority is killed
//! (ties: the latest started, then the highest task id), with cause
//! `out_of_memory`; it is pending again, as any evicted task. CPU is:
//! the excess of Σ CPU usage over the capacity is taken from the lowest
//! priorities first, each up to its usage, and kept per band (the ledger
//! integrates it). Prod is never a victim of either: prod is admitted
//! against limits, so Σ prod usage ≤ Σ prod limits ≤ the capacity, and the
//! excess is always covered by non-prod usage. Both are asserted.
//!
//! A task killed for memory is held back before it is placed again
//! (`backoff.rs`), and the failure history remembers the machine.

use super::ReclamationMode;
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::{Band, TaskId};

impl CellState {
    /// Kills for memory, then throttles CPU, on machine `m` (see the module
    /// doc); under `measure` asserts there is nothing to do.
    pub(in crate::cell::state) fn settle(&mut self, now: SimTime, m: MachineId) {
        loop {
            let cap = self.current_capacity(m);
            let b = self.usage.as_deref().expect("usage books");
            let used = b.machines[m as usize].usage.mem_mib;
            if used <= cap.mem_mib {
                break;
            }
            assert_eq!(
                b.settings.mode,
                ReclamationMode::On,
                "machine {m}: memory usage {used} MiB above its {} MiB with scheduling by limits",
                cap.mem_mib
            );
            let victim = self.oom_victim(m);
            assert!(
                !self.shape(victim).band().is_prod(),
                "machine {m}: out of memory with only prod tasks left to kill (task {victim})"
            );
            let TaskState::Running { since, .. } = self.tasks[victim as usize].state else {
                unreachable!("the victim runs on machine {m}")
            };
            let b = self.usage.as_deref_mut().expect("usage books");
            b.backoff.killed(victim, since, now);
            self.evict(now, victim, EvictionCause::OutOfMemory);
        }
        self.throttle(m);
    }

    /// True if task `t` is held back at `now` after being killed for
    /// memory (see `backoff.rs`): scheduling passes pass it by.
    #[inline]
    pub fn held_back(&self, t: TaskId, now: SimTime) -> bool {
        self.usage
            .as_deref()
            .is_some_and(|b| b.backoff.holds(t, now))
    }

    /// Task `t`'s out-of-memory hold if it is held back at `now`.
    pub fn oom_hold(&self, t: TaskId, now: SimTime) -> Option<super::backoff::OomHold> {
        self.usage.as_deref()?.backoff.hold_of(t, now)
    }

    /// Moves into `out` the times at which holds after out-of-memory kills
    /// since the last call end (the driver asks for a pass then).
    pub fn take_backoff_ends(&mut self, out: &mut Vec<SimTime>) {
        if let Some(b) = self.usage.as_deref_mut() {
            b.backoff.take_wakeups(out);
        }
    }

    /// The task to kill first on `m`: lowest priority, then the latest
    /// started, then the highest id.
    fn oom_victim(&self, m: MachineId) -> TaskId {
        let started = |t: TaskId| match self.tasks[t as usize].state {
            TaskState::Running { since, .. } => since,
            _ => unreachable!("task {t} listed on machine {m} but not running"),
        };
        let key = |t: &&TaskId| {
            let t = **t;
            let p = self.shapes[self.tasks[t as usize].shape as usize].priority;
            (p, std::cmp::Reverse(started(t)), std::cmp::Reverse(t))
        };
        *self.machines[m as usize]
            .tasks
            .iter()
            .min_by_key(key)
            .expect("a task to kill on a machine out of memory")
    }

    /// Sets machine `m`'s throttled milli-cores per band from its CPU usage
    /// and current capacity, and the ledger's sums with them.
    pub(in crate::cell::state) fn throttle(&mut self, m: MachineId) {
        let cap = self.current_capacity(m).cpu_milli;
        let b = self.usage.as_deref_mut().expect("usage books");
        let mu = &b.machines[m as usize];
        let mut left = mu.usage.cpu_milli.saturating_sub(cap);
        let mut now = [0u64; 4];
        for e in &mu.by_priority {
            if left == 0 {
                break;
            }
            let band = Band::of(e.priority);
            assert!(
                !band.is_prod(),
                "machine {m}: prod priority {} would be throttled ({left} milli-cores over)",
                e.priority
            );
            let take = left.min(e.usage.cpu_milli);
            now[band.index()] += take;
            left -= take;
        }
        assert_eq!(left, 0, "machine {m}: CPU usage beyond its tasks' usage");
        assert!(
            b.settings.mode == ReclamationMode::On || now == [0; 4],
            "machine {m}: CPU throttled with scheduling by limits"
        );
        let old = std::mem::replace(&mut b.machines[m as usize].throttled, now);
        let l = &mut b.ledger.throttled_by_band;
        for (i, (o, n)) in old.iter().zip(now).enumerate() {
            crate::cell::state::records::lower(&mut l[i], *o, "throttled_by_band");
            l[i] += n;
        }
    }
}
