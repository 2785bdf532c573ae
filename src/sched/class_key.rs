//! Class keys: which tasks are interchangeable for placement, as the plugins
//! declare it.
//!
//! Equivalence classes and score caching ([`super::equiv`], Borg §3.4) serve
//! many tasks from one set of verdicts. That is sound only if those tasks get
//! the same answer from every filter and scorer on every machine, and only a
//! plugin knows what of a task it looks at. So each plugin declares it, as
//! Kubernetes' `SignPlugin` does (`SignPod`, KEP-5598: "two pods with the same
//! signature should get the same feasibility and scores"):
//! [`Plugin::sign`](super::plugin::Plugin::sign) writes the values of the
//! task it reads into a [`ClassKeyBuilder`] and answers
//! [`Signed::Shareable`], or answers [`Signed::Unsignable`] when its answers
//! depend on more than the task and the machine (the spread filter, for a job
//! with spread limits: on where the job's own tasks run).
//!
//! The pipeline assembles a task's key
//! ([`Pipeline::sign`](super::pipeline::Pipeline::sign)): first its own reads
//! (what preemption looks at), then each filter and each scorer in profile
//! order, every fragment closed by its length, so that different sequences
//! of fragments never make the same key. Nothing else decides which tasks
//! share a cache: a field no plugin reads (a job's name, its user under the
//! shipped policies) does not split classes, and a new plugin that reads one
//! splits them by declaring it. A task that one plugin cannot sign gets no
//! cache: it is placed by a full (or sampled) scan, as the exhaustive
//! pipeline would place it.
//!
//! A key is a sequence of words built into one buffer that the scheduler
//! reuses, and looked up by slice: signing a task allocates nothing, and a
//! key is copied only when a new class cache is built.

use crate::cell::attrs::Constraint;
use crate::cell::resources::{GpuRequest, Request, Resources};
use std::sync::Arc;

/// A plugin's answer to "may tasks with equal keys share your answers?".
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Signed {
    /// Its answers depend on the task only through what it wrote into the
    /// key, and on a machine only through state whose change moves the
    /// machine's `seq`: tasks with equal keys may share cached verdicts.
    Shareable,
    /// Its answers for this task depend on more (where the job's own tasks
    /// run, the state of other machines): no cache may serve the task.
    Unsignable,
}

/// A class key under construction: the words the plugins write.
#[derive(Clone, Debug, Default)]
pub struct ClassKeyBuilder {
    words: Vec<u64>,
}

/// An assembled class key, as the scheduler keeps it (one per class cache).
pub type ClassKey = Box<[u64]>;

impl ClassKeyBuilder {
    /// Appends a value the plugin reads (see [`KeyPart`] for the encodings).
    pub fn add<T: KeyPart + ?Sized>(&mut self, part: &T) {
        part.write_to(self);
    }

    /// Appends one word: the primitive every [`KeyPart`] is written with.
    pub fn word(&mut self, w: u64) {
        self.words.push(w);
    }

    /// The key so far.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Starts a new key, keeping the buffer's memory.
    pub(crate) fn clear(&mut self) {
        self.words.clear();
    }

    /// Runs one plugin's `sign` and closes its fragment with the fragment's
    /// length. Read from the end, the lengths split a key back into its
    /// fragments, so two plugins writing `[a, b]` and `[]` never make the
    /// key of two writing `[a]` and `[b]`.
    pub(crate) fn fragment(&mut self, sign: impl FnOnce(&mut Self) -> Signed) -> Signed {
        let start = self.words.len();
        let signed = sign(self);
        self.words.push((self.words.len() - start) as u64);
        signed
    }
}

/// A value a plugin can declare it reads. Every encoding is self-delimiting
/// (fixed width, or tagged, or prefixed by its length), so a fixed sequence
/// of parts never reads two ways — but for the basis, which is written
/// last in a fragment (see its impl).
pub trait KeyPart {
    fn write_to(&self, key: &mut ClassKeyBuilder);
}

impl KeyPart for u64 {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(*self);
    }
}

impl KeyPart for u32 {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(u64::from(*self));
    }
}

impl KeyPart for bool {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(u64::from(*self));
    }
}

/// `None` as `0`; `Some(v)` as `1` then `v`.
impl<T: KeyPart> KeyPart for Option<T> {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        match self {
            None => key.word(0),
            Some(v) => {
                key.word(1);
                v.write_to(key);
            }
        }
    }
}

/// The length, then each element.
impl<T: KeyPart> KeyPart for [T] {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(self.len() as u64);
        self.iter().for_each(|v| v.write_to(key));
    }
}

/// The length in bytes, then the bytes, eight to a word.
impl KeyPart for str {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(self.len() as u64);
        for chunk in self.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            key.word(u64::from_le_bytes(word));
        }
    }
}

impl<T: KeyPart + ?Sized> KeyPart for Box<T> {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        (**self).write_to(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for Arc<T> {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        (**self).write_to(key);
    }
}

impl KeyPart for Resources {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(self.cpu_milli);
        key.word(self.mem_mib);
    }
}

/// A tag (0 none, 1 whole devices, 2 a share), then the amount.
impl KeyPart for GpuRequest {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        match *self {
            GpuRequest::None => key.word(0),
            GpuRequest::Whole(n) => {
                key.word(1);
                key.word(u64::from(n));
            }
            GpuRequest::Share(m) => {
                key.word(2);
                key.word(u64::from(m));
            }
        }
    }
}

/// Nothing for `Limit`, one word (`1`) for `Reservation`: a run without
/// reclamation `on` keeps the keys it had before there were bases. Not
/// self-delimiting by itself, so a basis is written last in its
/// fragment, where the fragment's closing length tells the two apart.
impl KeyPart for crate::cell::state::usage::Basis {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        if *self == crate::cell::state::usage::Basis::Reservation {
            key.word(1);
        }
    }
}

impl KeyPart for Request {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        self.res.write_to(key);
        self.gpu.write_to(key);
    }
}

impl KeyPart for Constraint {
    fn write_to(&self, key: &mut ClassKeyBuilder) {
        key.word(u64::from(self.name));
        key.word(self.op as u64);
        key.word(u64::from(self.value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::attrs::ConstraintOp;

    fn key_of(parts: impl FnOnce(&mut ClassKeyBuilder)) -> Vec<u64> {
        let mut key = ClassKeyBuilder::default();
        parts(&mut key);
        key.words().to_vec()
    }

    #[test]
    fn encodings_are_self_delimiting() {
        // Option: None = [0]; Some(120) = [1, 120].
        assert_eq!(key_of(|k| k.add(&None::<u32>)), vec![0]);
        assert_eq!(key_of(|k| k.add(&Some(120u32))), vec![1, 120]);
        // A slice: its length first. [7] then [] differs from [] then [7]:
        // [1, 7, 0] against [0, 1, 7].
        let ab = key_of(|k| {
            k.add(&[7u64][..]);
            k.add(&[] as &[u64]);
        });
        let ba = key_of(|k| {
            k.add(&[] as &[u64]);
            k.add(&[7u64][..]);
        });
        assert_eq!((ab.clone(), ba.clone()), (vec![1, 7, 0], vec![0, 1, 7]));
        // A string: 9 bytes = its length, then two words ("abcdefgh", "i").
        let s = key_of(|k| k.add("abcdefghi"));
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], 9);
        assert_eq!(s[2], u64::from(b'i'));
        // GPU requests are tagged: Whole(2) = [1, 2], Share(2) = [2, 2].
        assert_ne!(
            key_of(|k| k.add(&GpuRequest::Whole(2))),
            key_of(|k| k.add(&GpuRequest::Share(2)))
        );
    }

    #[test]
    fn fragments_end_with_their_length() {
        // Plugin A writes [5, 6] and plugin B nothing: [5, 6, 2, 0].
        // A writes [5] and B [6]: [5, 1, 6, 1]. Same words, different keys.
        let two_then_none = key_of(|k| {
            let _ = k.fragment(|k| {
                k.word(5);
                k.word(6);
                Signed::Shareable
            });
            let _ = k.fragment(|_| Signed::Shareable);
        });
        let one_then_one = key_of(|k| {
            let _ = k.fragment(|k| {
                k.word(5);
                Signed::Shareable
            });
            let _ = k.fragment(|k| {
                k.word(6);
                Signed::Shareable
            });
        });
        assert_eq!(two_then_none, vec![5, 6, 2, 0]);
        assert_eq!(one_then_one, vec![5, 1, 6, 1]);
    }

    #[test]
    fn constraints_write_name_op_and_value() {
        let c = Constraint {
            name: 3,
            op: ConstraintOp::Ne,
            value: 9,
        };
        // One constraint: length 1, then (3, Ne = 1, 9).
        assert_eq!(key_of(|k| k.add(&[c][..])), vec![1, 3, 1, 9]);
    }
}
