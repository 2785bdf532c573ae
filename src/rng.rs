//! Named random-number streams split from one root seed.
//!
//! Each subsystem (workload, scheduler, preemption, failures…) draws from its
//! own stream, derived from the root seed and the stream's name. Adding draws
//! to one subsystem therefore never perturbs another, and a run is reproduced
//! exactly by its seed (the idea of TigerBeetle's VOPR). The generator is
//! PCG64 (`rand_pcg`), whose output is specified and stable across releases,
//! unlike `StdRng`.

use rand::SeedableRng;
use rand_pcg::Pcg64;

/// The generator every stream uses.
pub type SimRng = Pcg64;

/// The subsystems that draw random numbers. An enum, so a typo cannot create
/// a fresh, silently different stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    Workload,
    Scheduler,
    Preemption,
    Failures,
    /// Cell compaction's machine orders, one substream per trial.
    Compaction,
    /// Workload edits' draws (sub-cell parts, inflation), one substream
    /// per job of the source.
    WorkloadEdit,
    /// Synthetic task usage (`workload::usage`): keyed draws
    /// ([`RngStreams::keyed`]) per (job serial, task index, window), so a
    /// task's usage is the same whatever else runs.
    Usage,
    /// The paper GPU policies' random order of the machines for ties
    /// (`sched::plugins::tie_order`): keyed draws per machine.
    TieOrder,
    /// The `random` policy's draws (`sched::plugins::random`): keyed per
    /// (job serial, machine), and per device choice.
    RandomPolicy,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Workload => "workload",
            Stream::Scheduler => "scheduler",
            Stream::Preemption => "preemption",
            Stream::Failures => "failures",
            Stream::Compaction => "compaction",
            Stream::WorkloadEdit => "workload_edit",
            Stream::Usage => "usage",
            Stream::TieOrder => "tie_order",
            Stream::RandomPolicy => "random_policy",
        }
    }
}

/// The root seed of a run; hands out independent streams.
#[derive(Copy, Clone, Debug)]
pub struct RngStreams {
    root_seed: u64,
}

impl RngStreams {
    pub fn new(root_seed: u64) -> Self {
        RngStreams { root_seed }
    }

    pub fn root_seed(&self) -> u64 {
        self.root_seed
    }

    /// The stream for a subsystem.
    pub fn stream(&self, stream: Stream) -> SimRng {
        self.substream(stream, 0)
    }

    /// An indexed sub-stream (e.g. one per workload generator), so that adding
    /// a generator does not shift the draws of the others.
    pub fn substream(&self, stream: Stream, index: u64) -> SimRng {
        let mut h = fnv1a(stream.name().as_bytes());
        h = splitmix64(h ^ self.root_seed);
        h = splitmix64(h ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Pcg64::seed_from_u64(h)
    }

    /// [`Self::substream`] salted by a second index: salt 0 is the plain
    /// substream, draw for draw, and every other salt an independent one
    /// (workload inflation's trials: the same job, other draws).
    pub fn salted_substream(&self, stream: Stream, index: u64, salt: u64) -> SimRng {
        if salt == 0 {
            return self.substream(stream, index);
        }
        let mut h = fnv1a(stream.name().as_bytes());
        h = splitmix64(h ^ self.root_seed);
        h = splitmix64(h ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        h = splitmix64(h ^ salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
        Pcg64::seed_from_u64(h)
    }

    /// A counter-based draw: 64 uniform bits that are a fixed function of
    /// the root seed, the stream and `key`, whatever was drawn before
    /// (for draws made per item in no fixed order, or many times over, such
    /// as a task's usage in each window). SplitMix64 over the words.
    pub fn keyed(&self, stream: Stream, key: &[u64]) -> u64 {
        self.keyed_prefix(stream, key).value()
    }

    /// [`Self::keyed`] of a key's first words, to be continued with
    /// [`KeyedPrefix::then`]: draws whose keys share a prefix (a task's
    /// draws in every window) hash it once.
    pub fn keyed_prefix(&self, stream: Stream, key: &[u64]) -> KeyedPrefix {
        KeyedPrefix(splitmix64(fnv1a(stream.name().as_bytes()) ^ self.root_seed)).then(key)
    }
}

/// A keyed draw's key hashed up to some word: `keyed(s, a ++ b)` is
/// `keyed_prefix(s, a).then(b).value()`, bit for bit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct KeyedPrefix(u64);

impl KeyedPrefix {
    /// The prefix whose [`Self::value`] is `v` (one kept as its value).
    #[inline]
    pub fn from_value(v: u64) -> KeyedPrefix {
        KeyedPrefix(v)
    }

    /// The key continued with `key`'s words.
    #[inline]
    #[must_use]
    pub fn then(self, key: &[u64]) -> KeyedPrefix {
        let mut h = self.0;
        for &k in key {
            h = splitmix64(h ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        KeyedPrefix(h)
    }

    /// The draw of the key so far: 64 uniform bits.
    #[inline]
    pub fn value(self) -> u64 {
        self.0
    }
}

/// FNV-1a, 64-bit: a fixed, documented hash of a stream's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: spreads nearby seeds far apart.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a = RngStreams::new(7);
        let x: Vec<u64> = (0..4)
            .map(|_| a.stream(Stream::Workload).random())
            .collect();
        // A fresh stream of the same name restarts the same sequence.
        assert!(x.windows(2).all(|w| w[0] == w[1]));
        let w: u64 = a.stream(Stream::Workload).random();
        let s: u64 = a.stream(Stream::Scheduler).random();
        let w2: u64 = RngStreams::new(8).stream(Stream::Workload).random();
        assert_ne!(w, s);
        assert_ne!(w, w2);
        let sub0: u64 = a.substream(Stream::Workload, 1).random();
        assert_ne!(sub0, w);
    }

    #[test]
    fn keyed_draws_depend_on_the_key_alone() {
        let a = RngStreams::new(7);
        let x = a.keyed(Stream::Usage, &[1, 2, 3]);
        assert_eq!(x, a.keyed(Stream::Usage, &[1, 2, 3]));
        assert_ne!(x, a.keyed(Stream::Usage, &[1, 2, 4]));
        assert_ne!(x, a.keyed(Stream::Usage, &[2, 1, 3]), "order matters");
        assert_ne!(x, a.keyed(Stream::Workload, &[1, 2, 3]));
        assert_ne!(x, RngStreams::new(8).keyed(Stream::Usage, &[1, 2, 3]));
    }

    #[test]
    fn a_keyed_prefix_continued_is_the_whole_key() {
        // keyed(s, [1, 2, 3]) hashes 1, then 2, then 3: split anywhere, the
        // same three steps.
        let a = RngStreams::new(7);
        let x = a.keyed(Stream::Usage, &[1, 2, 3]);
        assert_eq!(
            a.keyed_prefix(Stream::Usage, &[]).then(&[1, 2, 3]).value(),
            x
        );
        assert_eq!(a.keyed_prefix(Stream::Usage, &[1]).then(&[2, 3]).value(), x);
        let p = a.keyed_prefix(Stream::Usage, &[1, 2]);
        assert_eq!(p.then(&[3]).value(), x);
        assert_eq!(p.value(), a.keyed(Stream::Usage, &[1, 2]));
    }

    #[test]
    fn salt_0_is_the_plain_substream_and_other_salts_differ() {
        let a = RngStreams::new(7);
        let draw = |salt| -> u64 { a.salted_substream(Stream::WorkloadEdit, 3, salt).random() };
        let plain: u64 = a.substream(Stream::WorkloadEdit, 3).random();
        assert_eq!(draw(0), plain);
        assert_ne!(draw(1), plain);
        assert_ne!(draw(1), draw(2));
        assert_eq!(draw(2), draw(2), "a salt is a stream: reproducible");
    }
}
