//! Prod job availability, the way an SRE reads it: for each prod job
//! (bands production and monitoring), the share of time all its tasks were
//! running, and the share with at most `k` of them down.
//!
//! **What counts.** A job's *required* tasks are those not finished for
//! good (a task that ran to its end, or was killed, no longer has to run):
//! the job is *all running* while every required task runs, and *within k*
//! while at most `k` required tasks are not running (pending after an
//! eviction, or not yet placed). A job is measured from the first instant
//! all its tasks were running — so the initial scheduling wait is not
//! unavailability; it is reported apart as the time to all running
//! (submission → that instant) — until its last task finishes for good, or
//! the run ends. A job that never had all its tasks running at once has no
//! interval: it is counted (`jobs_never_all_running`), not measured. A
//! trace job submitted in parts (`CellState::submit_part`) counts per part.
//!
//! **Cost.** Kept incrementally: every start, stop and end of a *prod*
//! task updates its job's entry in O(1) (integrating the stretch since the
//! entry last changed, exactly, in µs); a non-prod task costs the one
//! branch on its band the caller already has. When a job's last task ends,
//! its shares are folded into two histograms of 10,001 buckets (the share
//! in basis points, rounded down: a percentile never overstates
//! availability), and the entry is free for the job id's reuse. Memory:
//! one entry per job id (live jobs) plus ~160 KiB of histograms.

use super::records::lower;
use crate::metrics::waits::Waits;
use crate::time::SimTime;
use crate::workload::JobId;

/// Basis points in a whole share (100 %).
pub const SHARE_BP: u64 = 10_000;

/// One prod job's running counts and measured times.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// A live prod job holds this slot.
    tracked: bool,
    /// Tasks not finished for good.
    required: u32,
    running: u32,
    submitted: SimTime,
    /// The first instant all tasks were running (the measured interval's
    /// start), if reached.
    since: Option<SimTime>,
    /// When the counts last changed (or the interval started).
    last: SimTime,
    /// Time all running, and within k, since `since`, up to `last`, in µs.
    all_us: u64,
    within_k_us: u64,
}

impl Entry {
    /// (all running, within k) now; a job with nothing left is neither.
    fn state(&self, k: u32) -> (bool, bool) {
        if self.required == 0 {
            return (false, false);
        }
        (
            self.running == self.required,
            u64::from(self.running) + u64::from(k) >= u64::from(self.required),
        )
    }

    /// Integrates the stretch from `last` to `now` at the current state.
    fn integrate(&mut self, now: SimTime, k: u32) {
        if self.since.is_some() {
            let dt = (now - self.last).as_us();
            let (all, within) = self.state(k);
            self.all_us += if all { dt } else { 0 };
            self.within_k_us += if within { dt } else { 0 };
        }
        self.last = now;
    }
}

/// The distribution across jobs whose interval has ended (retired jobs;
/// at the end of a run, with the live ones folded in).
#[derive(Clone, Debug)]
pub struct JobShares {
    /// Prod jobs of at least one task admitted (retired, or live at the
    /// end once folded).
    pub jobs: u64,
    /// Jobs whose measured interval has some length.
    pub jobs_measured: u64,
    /// Jobs that never had all their tasks running at once.
    pub jobs_never_all_running: u64,
    /// Per basis point of share (0..=10,000, rounded down): measured jobs
    /// with that share of their interval all running.
    pub all_running_bp: Vec<u64>,
    /// The same for within k.
    pub within_k_bp: Vec<u64>,
    /// Σ over measured jobs: time all running, within k, and the
    /// intervals, in µs.
    pub all_running_us: u128,
    pub within_k_us: u128,
    pub interval_us: u128,
    /// Submission → first instant all tasks were running, per job that
    /// reached it, in µs.
    pub to_all_running_us: Waits,
}

impl Default for JobShares {
    fn default() -> Self {
        JobShares {
            jobs: 0,
            jobs_measured: 0,
            jobs_never_all_running: 0,
            all_running_bp: vec![0; SHARE_BP as usize + 1],
            within_k_bp: vec![0; SHARE_BP as usize + 1],
            all_running_us: 0,
            within_k_us: 0,
            interval_us: 0,
            to_all_running_us: Waits::default(),
        }
    }
}

impl JobShares {
    /// Adds a job whose interval ends at `end` (its entry integrated up to
    /// `end`).
    fn fold(&mut self, e: &Entry, end: SimTime) {
        self.jobs += 1;
        let Some(since) = e.since else {
            self.jobs_never_all_running += 1;
            return;
        };
        let interval = (end - since).as_us();
        if interval == 0 {
            return;
        }
        let bp = |us: u64| (u128::from(us) * u128::from(SHARE_BP) / u128::from(interval)) as usize;
        self.jobs_measured += 1;
        self.all_running_bp[bp(e.all_us)] += 1;
        self.within_k_bp[bp(e.within_k_us)] += 1;
        self.all_running_us += u128::from(e.all_us);
        self.within_k_us += u128::from(e.within_k_us);
        self.interval_us += u128::from(interval);
    }
}

/// Every prod job's availability (see the module doc).
#[derive(Clone, Debug)]
pub struct Availability {
    /// Tasks a job may have down and still count as available (`n − k`).
    k: u32,
    /// By job id; `tracked` marks the live prod jobs.
    jobs: Vec<Entry>,
    /// Live prod jobs with a task still to run; of them, all running now,
    /// and within k now.
    live: u64,
    all_now: u64,
    within_k_now: u64,
    retired: JobShares,
}

impl Default for Availability {
    fn default() -> Self {
        Availability {
            k: 1,
            jobs: Vec::new(),
            live: 0,
            all_now: 0,
            within_k_now: 0,
            retired: JobShares::default(),
        }
    }
}

impl Availability {
    /// `k` (default 1): set before the first job is admitted.
    pub fn set_k(&mut self, k: u32) {
        assert_eq!(self.live + self.retired.jobs, 0, "k is set before any job");
        self.k = k;
    }

    pub fn k(&self) -> u32 {
        self.k
    }

    /// A prod job of `n` ≥ 1 tasks, all pending, admitted at `now`.
    pub(super) fn admit(&mut self, job: JobId, n: u32, now: SimTime) {
        let j = job as usize;
        if self.jobs.len() <= j {
            self.jobs.resize(j + 1, Entry::default());
        }
        assert!(!self.jobs[j].tracked, "job {job} admitted twice");
        self.jobs[j] = Entry {
            tracked: true,
            required: n,
            running: 0,
            submitted: now,
            since: None,
            last: now,
            all_us: 0,
            within_k_us: 0,
        };
        self.live += 1;
        // With k ≥ n, a job is within k even with nothing running.
        let (all, within) = self.jobs[j].state(self.k);
        self.all_now += u64::from(all);
        self.within_k_now += u64::from(within);
    }

    /// A task of prod job `job` changed at `now`: `running` +1 (started),
    /// −1 (stopped) or 0; `ended`: it is finished for good.
    pub(super) fn change(&mut self, job: JobId, now: SimTime, running: i8, ended: bool) {
        let k = self.k;
        let e = &mut self.jobs[job as usize];
        assert!(e.tracked, "availability of job {job}, which is not tracked");
        e.integrate(now, k);
        let before = e.state(k);
        match running {
            1 => e.running += 1,
            -1 => lower(&mut e.running, 1, "running tasks of a prod job"),
            _ => {}
        }
        if ended {
            lower(&mut e.required, 1, "required tasks of a prod job");
        }
        assert!(e.running <= e.required, "job {job} runs more than it has");
        let after = e.state(k);
        if e.since.is_none() && after.0 {
            e.since = Some(now);
            self.retired
                .to_all_running_us
                .push((now - e.submitted).as_us());
        }
        self.all_now = self.all_now + u64::from(after.0) - u64::from(before.0);
        self.within_k_now = self.within_k_now + u64::from(after.1) - u64::from(before.1);
        if e.required == 0 {
            let e = std::mem::take(e);
            self.retired.fold(&e, now);
            lower(&mut self.live, 1, "live prod jobs");
        }
    }

    /// (live prod jobs with a task to run, of them all running, within k).
    pub fn now_counts(&self) -> (u64, u64, u64) {
        (self.live, self.all_now, self.within_k_now)
    }

    /// A live prod job's (running, required) tasks; `None` if `job` is not
    /// one (for the invariant checker).
    pub fn counts_of(&self, job: JobId) -> Option<(u32, u32)> {
        self.jobs
            .get(job as usize)
            .filter(|e| e.tracked)
            .map(|e| (e.running, e.required))
    }

    /// The distribution across every prod job, the live ones measured up
    /// to `end` (the run's end; not before any change seen).
    pub fn shares_at(&self, end: SimTime) -> JobShares {
        let mut out = self.retired.clone();
        for e in self.jobs.iter().filter(|e| e.tracked) {
            let mut e = e.clone();
            e.integrate(end.max(e.last), self.k);
            out.fold(&e, end.max(e.last));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn a_job_of_three_with_one_task_out_for_thirty_seconds() {
        // 3 tasks submitted at 0, all running at 5 s; one evicted at 10 s,
        // back at 40 s; the run ends at 105 s. Interval 5..105 = 100 s:
        // all running 100 − 30 = 70 s (70 %), at least n − 1 = 2 running
        // throughout (100 %); time to all running 5 s.
        let mut a = Availability::default();
        a.admit(0, 3, t(0));
        assert_eq!(a.now_counts(), (1, 0, 0));
        for _ in 0..3 {
            a.change(0, t(5), 1, false);
        }
        assert_eq!(a.now_counts(), (1, 1, 1));
        a.change(0, t(10), -1, false);
        assert_eq!(a.now_counts(), (1, 0, 1));
        a.change(0, t(40), 1, false);
        let s = a.shares_at(t(105));
        assert_eq!((s.jobs, s.jobs_measured), (1, 1));
        assert_eq!(s.all_running_bp[7_000], 1);
        assert_eq!(s.within_k_bp[10_000], 1);
        assert_eq!(
            (s.all_running_us, s.within_k_us, s.interval_us),
            (70_000_000, 100_000_000, 100_000_000)
        );
        assert_eq!(s.to_all_running_us.quantiles()[3], Some(5_000_000));
        // Reading the shares at the end changes nothing.
        assert_eq!(a.now_counts(), (1, 1, 1));
    }

    #[test]
    fn two_tasks_out_breaks_within_one_and_finished_tasks_are_not_required() {
        // k = 1; 4 tasks all running at 0. At 20 s two are evicted (2 of 4
        // running: neither all nor within 1) until 30 s, when one is back
        // (3 of 4: within 1). At 50 s the missing one is killed while
        // pending: 3 required, 3 running, all running again. At 60 s the
        // three finish: the job retires. Interval 0..60: all running
        // 20 + 10 = 30 s (50 %); within 1: 60 − 10 = 50 s (8,333 bp,
        // 83.33…% rounded down).
        let mut a = Availability::default();
        a.admit(7, 4, t(0));
        for _ in 0..4 {
            a.change(7, t(0), 1, false);
        }
        a.change(7, t(20), -1, false);
        a.change(7, t(20), -1, false);
        assert_eq!(a.now_counts(), (1, 0, 0));
        a.change(7, t(30), 1, false);
        assert_eq!(a.now_counts(), (1, 0, 1));
        a.change(7, t(50), 0, true);
        assert_eq!(a.now_counts(), (1, 1, 1));
        for _ in 0..3 {
            a.change(7, t(60), -1, true);
        }
        assert_eq!(a.now_counts(), (0, 0, 0));
        assert_eq!(a.counts_of(7), None);
        let s = a.shares_at(t(1000));
        assert_eq!(s.all_running_bp[5_000], 1);
        assert_eq!(s.within_k_bp[8_333], 1);
        assert_eq!(s.interval_us, 60_000_000);
        // The slot is free for a new job of the same id.
        a.admit(7, 1, t(70));
        assert_eq!(a.counts_of(7), Some((0, 1)));
    }

    #[test]
    fn a_job_never_all_running_is_counted_not_measured() {
        // 2 tasks, one runs from 10 s, the other never: no interval.
        let mut a = Availability::default();
        a.set_k(2);
        a.admit(0, 2, t(0));
        // k = 2 ≥ n: within k with nothing running.
        assert_eq!(a.now_counts(), (1, 0, 1));
        a.change(0, t(10), 1, false);
        let s = a.shares_at(t(100));
        assert_eq!(
            (s.jobs, s.jobs_measured, s.jobs_never_all_running),
            (1, 0, 1)
        );
        assert_eq!(s.interval_us, 0);
        assert_eq!(s.to_all_running_us.count(), 0);
    }
}
