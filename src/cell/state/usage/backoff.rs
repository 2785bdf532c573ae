//! Back-off after out-of-memory kills: a task killed for memory waits
//! before it is placed again, longer each time it is killed again soon.
//!
//! Without it a non-prod task admitted against reservations on an
//! overcommitted cell (`overcommit_permille` above 1000) can be killed, placed
//! at once on another machine whose usage cannot hold it either, and killed
//! again, forever. Borg reschedules tasks evicted for resources, and avoids
//! task::machine pairings that failed (the failure history, which
//! remembers `out_of_memory` kills); Kubernetes restarts a container
//! killed for memory with an exponential back-off (CrashLoopBackOff: 10 s,
//! doubling, at most 5 minutes, reset after 10 minutes of running). borgsim
//! does the same: the k-th kill in a row holds the task back for
//! `min(10 s × 2^(k−1), 300 s)` (10, 20, 40, 80, 160, 300, 300 … s), and a
//! run of [`RESET`] or longer before a kill makes it the first again. The
//! task stays pending (in its queue, counted pending in every output);
//! scheduling passes pass it by until its time, and the driver asks for a
//! pass then.
//!
//! Memory: one entry per task killed for memory, dropped when its slot
//! takes a new task. Looked up by task, never iterated.

use crate::time::{SimDuration, SimTime};
use crate::workload::TaskId;
use rustc_hash::FxHashMap;

/// The hold after a first kill.
pub const FIRST: SimDuration = SimDuration(10_000_000);
/// The longest hold.
pub const MAX: SimDuration = SimDuration(300_000_000);
/// A run at least this long before a kill starts the count again.
pub const RESET: SimDuration = SimDuration(600_000_000);

/// The hold after the `kills`-th kill in a row (≥ 1):
/// `min(FIRST × 2^(kills−1), MAX)`.
pub fn hold(kills: u32) -> SimDuration {
    let doublings = kills.saturating_sub(1).min(16);
    let us = FIRST.as_us().saturating_mul(1 << doublings);
    SimDuration(us.min(MAX.as_us()))
}

/// A task held back after out-of-memory kills: what `pending.csv`
/// (status `backing_off`) and `explain` say of it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OomHold {
    /// Kills for memory in a row (the k of the hold's formula).
    pub kills: u32,
    /// When the hold ends and the task may be placed again.
    pub until: SimTime,
}

impl OomHold {
    /// One sentence: `killed for memory 3 times in a row; held back until
    /// 1270.000000s (out-of-memory back-off)`.
    pub fn describe(&self) -> String {
        let times = if self.kills == 1 { "once" } else { "times" };
        let count = if self.kills == 1 {
            String::new()
        } else {
            format!("{} ", self.kills)
        };
        format!(
            "killed for memory {count}{times} in a row; held back until {} \
             (out-of-memory back-off)",
            self.until
        )
    }
}

/// The tasks killed for memory: kills in a row, and until when each is
/// held back.
#[derive(Clone, Debug, Default)]
pub(crate) struct OomBackoff {
    by_task: FxHashMap<TaskId, (u32, SimTime)>,
    /// The ends of holds since the driver last took them.
    wakeups: Vec<SimTime>,
}

impl OomBackoff {
    /// Task `t`, running since `since`, killed for memory at `now`: held
    /// back until the returned time.
    pub fn killed(&mut self, t: TaskId, since: SimTime, now: SimTime) -> SimTime {
        let e = self.by_task.entry(t).or_insert((0, SimTime::ZERO));
        e.0 = match now - since >= RESET {
            true => 1,
            false => e.0.saturating_add(1),
        };
        e.1 = now + hold(e.0);
        self.wakeups.push(e.1);
        e.1
    }

    /// True if task `t` is held back at `now`.
    #[inline]
    pub fn holds(&self, t: TaskId, now: SimTime) -> bool {
        !self.by_task.is_empty() && self.by_task.get(&t).is_some_and(|&(_, until)| until > now)
    }

    /// Task `t`'s hold if it is held back at `now`: kills in a row and
    /// until when.
    pub fn hold_of(&self, t: TaskId, now: SimTime) -> Option<OomHold> {
        let &(kills, until) = self.by_task.get(&t)?;
        (until > now).then_some(OomHold { kills, until })
    }

    /// Task slot `t` takes a new task: the old one's kills forgotten.
    pub fn forget(&mut self, t: TaskId) {
        if !self.by_task.is_empty() {
            self.by_task.remove(&t);
        }
    }

    /// Moves the ends of holds since the last call into `out`.
    pub fn take_wakeups(&mut self, out: &mut Vec<SimTime>) {
        out.append(&mut self.wakeups);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_seen_until_it_ends_and_says_so() {
        let mut b = OomBackoff::default();
        // Killed at 100 s after 5 s of running, twice: holds of 10 then 20 s.
        let at = |s| SimTime::from_secs(s);
        assert_eq!(b.killed(3, at(95), at(100)), at(110));
        assert_eq!(b.killed(3, at(115), at(120)), at(140));
        let h = b.hold_of(3, at(139)).unwrap();
        assert_eq!(
            h,
            OomHold {
                kills: 2,
                until: at(140)
            }
        );
        assert_eq!(
            h.describe(),
            "killed for memory 2 times in a row; held back until 140.000000s (out-of-memory back-off)"
        );
        assert_eq!(b.hold_of(3, at(140)), None);
        assert_eq!(b.hold_of(4, at(0)), None);
        let once = OomHold {
            kills: 1,
            until: at(10),
        };
        assert!(once
            .describe()
            .starts_with("killed for memory once in a row;"));
    }

    #[test]
    fn holds_double_from_10_s_to_at_most_300_s() {
        let s = |k| hold(k).as_us() / 1_000_000;
        // 10 × 2^(k−1): 10, 20, 40, 80, 160, then 320 capped at 300.
        let got: Vec<u64> = (1..=7).map(s).collect();
        assert_eq!(got, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(s(u32::MAX), 300);
    }

    #[test]
    fn kills_in_a_row_back_off_and_a_long_run_starts_again() {
        let at = SimTime::from_secs;
        let mut b = OomBackoff::default();
        // Killed at 5 s after 5 s of running: held to 15 s.
        assert_eq!(b.killed(7, at(0), at(5)), at(15));
        assert!(b.holds(7, at(14)) && !b.holds(7, at(15)) && !b.holds(8, at(14)));
        // Placed at 15 s, killed at 16 s: the second in a row, 20 s.
        assert_eq!(b.killed(7, at(15), at(16)), at(36));
        // Placed at 36 s, ran 600 s: the count starts again, 10 s.
        assert_eq!(b.killed(7, at(36), at(636)), at(646));
        let mut w = Vec::new();
        b.take_wakeups(&mut w);
        assert_eq!(w, [at(15), at(36), at(646)]);
        b.forget(7);
        assert!(!b.holds(7, at(640)));
    }
}
