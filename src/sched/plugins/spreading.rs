//! Score: prefer machines in failure domains holding fewer of the job's
//! tasks (Borg spreads a job's tasks across machines, racks and power
//! domains so that one failure takes out few of them).
//!
//! Where the spread *filter* ([`super::spread`]) forbids more than `k`
//! tasks per domain, this scorer only prefers the emptier domain, at every
//! level the profile weights (`[scheduler] spreading = { rack = 2, power =
//! 1 }`). Integer arithmetic only:
//!
//! - at each level `L` with weight `w_L > 0`, `c_L` is the number of the
//!   job's running tasks (the whole trace job's, for a job submitted in
//!   parts) in the machine's domain at `L`, before the placement; the
//!   level's score is `s_L = ⌊MAX_SCORE / (c_L + 1)⌋`: 10,000 for an empty
//!   domain, 5,000 with one task, 3,333 with two, 2,500 with three;
//! - the score is the weighted mean, rounded down:
//!   `⌊Σ w_L × s_L / Σ w_L⌋`, within `0..=MAX_SCORE` since each `s_L` is.
//!
//! In a profile ([`crate::sched::Profile::for_config`]) it comes first,
//! lexicographically: its weight exceeds the most the policy's scorers can
//! add, so the policy only breaks ties among equally spread machines.
//!
//! It reads how many of the job's tasks run in a whole domain, which a
//! machine's `seq` does not follow: a task landing on one machine of a rack
//! changes the score of every machine in it. Invalidating every machine of
//! the rack (and of the power domain) in the change log on each placement
//! would cost more than it saves, so the scorer declares its tasks
//! [`Signed::Unsignable`] and they are placed by a full (or sampled) scan,
//! exactly. The counts it reads are kept for every job only when the cell
//! is told to ([`CellState::count_spread_for_all`], which the simulation
//! does when the scenario sets `spreading`); otherwise only jobs with spread
//! limits are counted and every other job's counts read 0.

use crate::cell::domain::DomainLevel;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};
use serde::Deserialize;

/// The spreading score's weight per level (`{ rack = 2, power = 1 }`; a
/// level left out weighs 0).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelWeights {
    #[serde(default)]
    pub machine: u32,
    #[serde(default)]
    pub rack: u32,
    #[serde(default)]
    pub row: u32,
    #[serde(default)]
    pub power: u32,
}

/// The largest weight of one level (so that Σ w × MAX_SCORE stays far
/// from overflow, and a weight stays a weight).
pub const MAX_LEVEL_WEIGHT: u32 = 1000;

impl LevelWeights {
    /// The levels with a weight above 0, and their weights, in level order.
    pub fn levels(&self) -> impl Iterator<Item = (DomainLevel, u64)> + '_ {
        [
            (DomainLevel::Machine, self.machine),
            (DomainLevel::Rack, self.rack),
            (DomainLevel::Row, self.row),
            (DomainLevel::Power, self.power),
        ]
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .map(|(l, w)| (l, u64::from(w)))
    }

    /// The error for weights no run can use: (key, message).
    ///
    /// # Errors
    /// Every weight 0, or one above [`MAX_LEVEL_WEIGHT`].
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, w) in [
            ("machine", self.machine),
            ("rack", self.rack),
            ("row", self.row),
            ("power", self.power),
        ] {
            if w > MAX_LEVEL_WEIGHT {
                return Err((
                    format!("scheduler.spreading.{name}"),
                    format!("at most {MAX_LEVEL_WEIGHT}, got {w}"),
                ));
            }
        }
        if self.levels().next().is_none() {
            return Err((
                "scheduler.spreading".into(),
                "needs a weight above 0 at one level at least (machine, rack, row, power)".into(),
            ));
        }
        Ok(())
    }
}

/// The scorer; build it with [`Spreading::new`].
pub struct Spreading {
    /// The levels weighed, and their weights (each > 0).
    levels: Vec<(DomainLevel, u64)>,
    total: u64,
}

impl Spreading {
    /// A scorer over `weights`' levels. Panics if every weight is 0.
    pub fn new(weights: LevelWeights) -> Self {
        let levels: Vec<_> = weights.levels().collect();
        let total = levels.iter().map(|(_, w)| w).sum();
        assert!(total > 0, "spreading needs a weight above 0");
        Spreading { levels, total }
    }
}

impl Plugin for Spreading {
    fn name(&self) -> &'static str {
        "spreading"
    }

    /// Unsignable: the score depends on where the job's other tasks run,
    /// in the whole domain (see the module docs).
    fn sign(&self, _task: &TaskView, _key: &mut ClassKeyBuilder) -> Signed {
        Signed::Unsignable
    }
}

impl Score for Spreading {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let domains = &st.cell().domains;
        let weighted: u64 = self
            .levels
            .iter()
            .map(|&(level, w)| {
                let d = domains.domain_of(m as usize, level);
                let c = u64::from(st.job_tasks_in_domain(task.job.id, level, d));
                w * (MAX_SCORE / (c + 1))
            })
            .sum();
        weighted / self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};

    #[test]
    fn the_emptier_domain_scores_higher() {
        // Four machines, two per rack (testkit: rack 0 = {0,1}, rack 1 =
        // {2,3}; one power domain). Weights rack 2, machine 1.
        let mut st = cell(&[(1000, 1000, 0); 4]);
        st.count_spread_for_all(true);
        let j = submit(&mut st, job(10, 10, 100, 3));
        let first = st.job(j).tasks[0];
        let now = st.now();
        st.place(now, first, 0);
        let job = st.job(j).clone();
        let view = TaskView::of_job(&job, None);
        let s = Spreading::new(LevelWeights {
            machine: 1,
            rack: 2,
            ..LevelWeights::default()
        });
        // Machine 0: 1 task on it, 1 in rack 0:
        //   (1 × ⌊10000/2⌋ + 2 × ⌊10000/2⌋) / 3 = 15000 / 3 = 5000.
        assert_eq!(s.score(&st, &view, 0), 5000);
        // Machine 1: 0 on it, 1 in its rack:
        //   (1 × 10000 + 2 × 5000) / 3 = 20000 / 3 = 6666 (rounded down).
        assert_eq!(s.score(&st, &view, 1), 6666);
        // Machine 2: nothing of the job in rack 1: (10000 + 20000) / 3.
        assert_eq!(s.score(&st, &view, 2), MAX_SCORE);
        st.place(now, first + 1, 1);
        // Rack 0 now holds 2: machine 1 gets (1 × 5000 + 2 × 3333) / 3
        // = 11666 / 3 = 3888.
        assert_eq!(s.score(&st, &view, 1), 3888);
    }

    #[test]
    fn without_counting_every_job_reads_zero() {
        // The cell counts only jobs with limits unless told: a job without
        // any reads 0 tasks everywhere, so every machine scores MAX_SCORE.
        let mut st = cell(&[(1000, 1000, 0); 2]);
        let j = submit(&mut st, job(10, 10, 100, 2));
        let first = st.job(j).tasks[0];
        let now = st.now();
        st.place(now, first, 0);
        let job = st.job(j).clone();
        let view = TaskView::of_job(&job, None);
        let s = Spreading::new(LevelWeights {
            machine: 1,
            ..LevelWeights::default()
        });
        assert_eq!(s.score(&st, &view, 0), MAX_SCORE);
    }

    #[test]
    fn weights_are_checked_naming_the_key() {
        let none = LevelWeights::default().validate().unwrap_err();
        assert_eq!(none.0, "scheduler.spreading");
        let big = LevelWeights {
            row: 1001,
            ..LevelWeights::default()
        };
        assert_eq!(big.validate().unwrap_err().0, "scheduler.spreading.row");
    }
}
