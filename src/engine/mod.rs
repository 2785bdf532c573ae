//! The discrete-event engine: a clock and a queue of timed events.
//!
//! The engine knows nothing of cells, jobs or policies. It orders events by
//! `(time, insertion sequence)`, so events due at the same microsecond run in
//! the order they were scheduled (FIFO), and it refuses to move time
//! backwards. What an event *means* is decided by the driver in [`crate::sim`].

mod queue;

pub use queue::EventQueue;

use crate::time::SimTime;

/// The simulated clock. It only moves forward.
#[derive(Debug, Default)]
pub struct Clock {
    now: SimTime,
}

impl Clock {
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Advances the clock to `t`.
    ///
    /// # Panics
    /// If `t` is earlier than the current time: that would be a bug in the
    /// engine, never a consequence of input.
    pub fn advance_to(&mut self, t: SimTime) {
        assert!(t >= self.now, "time went back: {} -> {}", self.now, t);
        self.now = t;
    }
}

/// Pops the next event and advances the clock to its time.
pub fn next_event<E>(clock: &mut Clock, queue: &mut EventQueue<E>) -> Option<E> {
    let (t, e) = queue.pop()?;
    clock.advance_to(t);
    Some(e)
}
