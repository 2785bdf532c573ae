//! Shared by the benches: deterministic, dependency-free input generation.

/// A tiny xorshift64 generator; enough for benchmark inputs.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
