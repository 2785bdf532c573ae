//! Task usage, as distinct from the request (Borg's *limit*).
//!
//! A task asks for a limit and uses less; Borg admits non-prod work against
//! the *reservations* that track usage, so the difference is capacity the
//! cell reclaims (Borg paper §5.5). The cell state keeps each running task's
//! usage and reservation (`cell::state::usage`); this module says where a
//! synthetic task's usage comes from. A trace replay's usage comes from the
//! trace's usage table instead, through its feed (`sim::feed`).
//!
//! [`SyntheticUsage`] (`model.rs`) is the source of synthetic workloads:
//! per job class, a mean share of the limit drawn per task, with noise and
//! a daily cycle per window (the scenario's `usage` tables).
//!
//! A [`UsageSource`] is a pure function of (model, task key, limit, time):
//! the usage of a task does not depend on what else ran, on the order in
//! which the driver asks, or on how often it asks. So the same workload
//! under reclamation off and on uses the same resources task for task, and
//! a run is reproduced by its seed whatever the thread count.

pub mod model;

pub use model::SyntheticUsage;

use crate::cell::resources::Resources;
use crate::time::SimTime;
use crate::workload::job::JobInfo;

/// Which of a source's usage models a job's tasks follow; looked up once
/// per job, at submission.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId(pub u16);

impl ModelId {
    /// A task that uses its whole limit (nothing to reclaim): a job class
    /// without a usage model.
    pub const LIMIT: ModelId = ModelId(u16::MAX);
}

/// A task as usage draws name it: its job's submission serial and its
/// index in the job. Stable across evictions and slot reuse.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageKey {
    pub job_serial: u64,
    pub index: u32,
}

/// What a source keeps of a task between its draws (for the synthetic
/// model: its mean shares and its key's hash), taken once where the task
/// is placed ([`UsageSource::memo`]) and handed back at each of its draws
/// ([`UsageSource::usage_memo`]); opaque to the books. Words, not floats,
/// so that the books stay `Eq`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskMemo(pub [u64; 3]);

/// Where synthetic tasks' usage comes from. `Send`: a cell state moves
/// between threads (a sweep's worker, the live master's runtime).
pub trait UsageSource: Send {
    /// The model a job's tasks follow ([`ModelId::LIMIT`]: none).
    fn model_of(&self, job: &JobInfo) -> ModelId;

    /// The usage of task `key` at `now`, at most `limit` in each resource
    /// (milli-cores, MiB). A fixed function of its arguments and the run's
    /// seed.
    fn usage(&self, model: ModelId, key: UsageKey, limit: &Resources, now: SimTime) -> Resources;

    /// What the source keeps of task `key` of `model` between its draws
    /// (by default nothing): a fixed function of its arguments.
    fn memo(&self, _model: ModelId, _key: UsageKey) -> TaskMemo {
        TaskMemo::default()
    }

    /// [`Self::usage`], given `memo` = [`Self::memo`] of the same model and
    /// key: the same value, drawn without what the memo keeps.
    fn usage_memo(
        &self,
        model: ModelId,
        key: UsageKey,
        _memo: &TaskMemo,
        limit: &Resources,
        now: SimTime,
    ) -> Resources {
        self.usage(model, key, limit, now)
    }
}

/// Every task uses a fixed share of its limit, in permille (rounded down):
/// the simplest source, for tests and as a reference.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FixedShare {
    pub cpu_permille: u32,
    pub mem_permille: u32,
}

impl UsageSource for FixedShare {
    fn model_of(&self, _job: &JobInfo) -> ModelId {
        ModelId(0)
    }

    fn usage(&self, model: ModelId, _key: UsageKey, limit: &Resources, _now: SimTime) -> Resources {
        if model == ModelId::LIMIT {
            return *limit;
        }
        let share = |v: u64, p: u32| v.saturating_mul(u64::from(p.min(1000))) / 1000;
        Resources {
            cpu_milli: share(limit.cpu_milli, self.cpu_permille),
            mem_mib: share(limit.mem_mib, self.mem_permille),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_share_rounds_down_and_never_exceeds_the_limit() {
        let src = FixedShare {
            cpu_permille: 333,
            mem_permille: 1500,
        };
        let limit = Resources {
            cpu_milli: 1000,
            mem_mib: 4096,
        };
        let key = UsageKey {
            job_serial: 0,
            index: 0,
        };
        // 1000 × 333 / 1000 = 333; a share above 1000‰ is capped at the limit.
        let u = src.usage(ModelId(0), key, &limit, SimTime::ZERO);
        assert_eq!(u.cpu_milli, 333);
        assert_eq!(u.mem_mib, 4096);
        assert_eq!(src.usage(ModelId::LIMIT, key, &limit, SimTime::ZERO), limit);
    }
}
