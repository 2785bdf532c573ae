//! Hints to the processor to load records that a later event will touch.
//!
//! Records touched once or twice in a task's life are out of every cache
//! by then, and at 10,000 machines these loads were most of the run's
//! stalls (reports/BENCHMARKS.md):
//! - a retired job's record, last touched at its submission long ago in
//!   simulated time: the next submission reuses its slot, reading the old
//!   contents (their drop) and writing the new ones. Asked for when the
//!   slot is freed (`reclaim.rs`);
//! - the record of a task that ends, started long before: asked for while
//!   the event before its end runs, and then what its release reads (its
//!   job's counters, its machine's task lists) as that event finishes
//!   (`Simulation::step`, from the event queue's cheap peek).
//!
//! Only hints: no result depends on them.

/// Asks for the cache lines of `r` to be loaded (no-op off x86_64).
#[inline]
pub(crate) fn prefetch<T>(r: &T) {
    lines((r as *const T).cast(), std::mem::size_of::<T>());
}

/// [`prefetch`] for the first line of a slice's elements (a machine's
/// task list is rarely longer).
#[inline]
pub(crate) fn prefetch_slice<T>(s: &[T]) {
    if !s.is_empty() {
        lines(s.as_ptr().cast(), std::mem::size_of::<T>().min(64));
    }
}

/// Asks for the lines holding the `len` bytes at `p`.
#[inline]
fn lines(p: *const i8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Every line the bytes touch: from the first byte's line to the
        // last byte's (an unaligned record spans one more).
        let skip = p as usize % 64;
        let first = p.wrapping_sub(skip);
        for off in (0..skip + len).step_by(64) {
            // SAFETY: a prefetch is a hint that never faults, whatever
            // the address (here a line of the bytes asked for); SSE,
            // which provides it, is part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(first.wrapping_add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}
