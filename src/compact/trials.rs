//! Trials in parallel, shared by compaction and workload inflation: each
//! trial a pure function of its index, run on a rayon pool of a chosen
//! size, the results collected in trial order (so no output depends on the
//! thread count or on which trial finished first), and the progress told
//! after every probe.

use crate::error::Error;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// How far the trials have got, told after every probe.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub trials_done: u32,
    pub trials: u32,
    /// Simulations run so far, the first (whole or uninflated) one included.
    pub probes: u64,
}

/// What a trial calls after each probe it runs.
pub type Probed<'a> = &'a (dyn Fn() + Sync);

/// Runs `trial(t, probed)` for every `t` in `0..trials` on `threads`
/// threads (1 or 0: one after another on the calling thread, stopping at
/// the first error); `probed` is to be called after each probe.
/// `what` names the work in the error if the pool cannot start.
///
/// # Errors
/// The first trial's error, in trial order; [`Error::Internal`] if the
/// thread pool cannot start.
pub fn run<T, E>(
    what: &str,
    threads: usize,
    trials: u32,
    progress: &(dyn Fn(Progress) + Sync),
    trial: &(dyn Fn(u32, Probed) -> Result<T, E> + Sync),
) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send + From<Error>,
{
    let probes = AtomicU64::new(1);
    let done = AtomicU32::new(0);
    let tell = || {
        progress(Progress {
            trials_done: done.load(Ordering::Relaxed),
            trials,
            probes: probes.load(Ordering::Relaxed),
        });
    };
    tell();
    let one = |t: u32| {
        let r = trial(t, &|| {
            probes.fetch_add(1, Ordering::Relaxed);
            tell();
        });
        done.fetch_add(1, Ordering::Relaxed);
        tell();
        r
    };
    if threads <= 1 {
        // On the calling thread, no pool: a sweep runs its compactions so,
        // one thread each, its own pool's threads the only ones at work
        // (and each run's thread CPU time its own).
        return (0..trials).map(one).collect();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the {what} threads: {e}")))?;
    let results: Vec<Result<T, E>> =
        pool.install(|| (0..trials).into_par_iter().map(one).collect());
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn results_come_in_trial_order_whatever_the_threads() {
        // Trial t makes t probes and answers t²; the last progress told
        // counts every probe (1 before the trials + 0 + 1 + … + 7 = 29).
        for threads in [1, 2, 4] {
            let last = Mutex::new(None);
            let got: Result<Vec<u32>, Error> = run(
                "test",
                threads,
                8,
                &|p| *last.lock().unwrap() = Some(p),
                &|t, probed| {
                    (0..t).for_each(|_| probed());
                    Ok(t * t)
                },
            );
            assert_eq!(got.unwrap(), [0, 1, 4, 9, 16, 25, 36, 49]);
            let p = last.lock().unwrap().unwrap();
            assert_eq!((p.trials_done, p.trials, p.probes), (8, 8, 29));
        }
    }

    #[test]
    fn the_first_error_in_trial_order_is_returned() {
        let got: Result<Vec<u32>, Error> = run("test", 2, 6, &|_| {}, &|t, _| {
            if t >= 3 {
                Err(Error::Internal(format!("trial {t}")))
            } else {
                Ok(t)
            }
        });
        assert!(matches!(got, Err(Error::Internal(m)) if m == "trial 3"));
    }
}
