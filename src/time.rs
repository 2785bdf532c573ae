//! Simulated time: integer microseconds, as in the Google cluster traces.
//!
//! Nothing in the simulator core reads a wall clock. Time is a value that the
//! engine advances and hands to everything else as an argument, so a run is a
//! pure function of its scenario and seed. Integer microseconds avoid the
//! epsilon comparisons that floating-point simulators need to order events.

use serde::Serialize;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Microseconds per second.
pub const US_PER_S: u64 = 1_000_000;

/// A point in simulated time, in microseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimTime(pub u64);

/// A span of simulated time, in microseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    /// "Never": a time after any run ends (the traces' 2^63-1 sentinel fits below it).
    pub const NEVER: SimTime = SimTime(u64::MAX);

    pub fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(US_PER_S))
    }
    pub fn as_us(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / US_PER_S as f64
    }
    /// Time elapsed since `earlier`; zero if `earlier` is later (never negative).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(US_PER_S))
    }
    pub fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000))
    }
    pub fn as_us(self) -> u64 {
        self.0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at [`SimTime::NEVER`] rather than wrapping.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, other: SimTime) -> SimDuration {
        self.since(other)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / US_PER_S;
        let us = self.0 % US_PER_S;
        write!(f, "{s}.{us:06}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_never_goes_negative() {
        let t = SimTime::from_secs(2); // 2_000_000 µs
        assert_eq!(t + SimDuration::from_millis(5), SimTime(2_005_000));
        assert_eq!(SimTime::NEVER + SimDuration(1), SimTime::NEVER);
        assert_eq!(SimTime(5) - SimTime(9), SimDuration::ZERO);
        assert_eq!(format!("{}", SimTime(1_000_042)), "1.000042s");
    }
}
