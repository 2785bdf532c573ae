//! A monotone priority queue of events ordered by `(time, sequence)`.
//!
//! The sequence number is assigned at push time and strictly increases, so
//! two events at the same time pop in insertion order. This is the whole of
//! the engine's tie-breaking rule, and it is what makes runs reproducible.
//!
//! The structure is a *radix heap* with byte digits: simulated time never
//! goes back, so every pushed event is due at or after the last popped one
//! (`last`). An event due at `last` waits in `now`, in sequence order.
//! Any other lives in bucket `(d, v)`: `d` is the highest byte in which its
//! time differs from `last`, `v` its time's value in that byte. Popping
//! takes from `now`; when it is empty, the first non-empty bucket — lowest
//! `d`, then lowest `v` — holds the earliest events: its minimum becomes
//! `last`, and its events move to `now` or to buckets of lower `d`
//! (bucket `(d, v)`'s events share every byte above `d` with the new
//! `last`, and byte `d` too). Each event moves at most once per byte, and
//! in practice about three times (event times lie up to ~2³⁰ µs ahead:
//! bytes 0–3), where a radix heap of single bits moved each event up to
//! thirty times. Buckets are plain vectors and a bitmap per digit finds the
//! first non-empty one. Events that land in `now` together are put in
//! sequence order, so same-time events pop first-in-first-out.

use crate::time::SimTime;
use std::collections::VecDeque;

/// Bytes of a time: digits of the radix heap.
const DIGITS: usize = 8;
const RADIX: usize = 256;
/// The largest bucket buffer kept for reuse, in entries. Each of the
/// `DIGITS × RADIX` buckets may keep one empty buffer this large, so it
/// bounds what an idle queue holds: 2,048 × 256 entries (16 MiB at 32
/// bytes an entry), where 4,096 allowed 256 MiB. churn-1k's instructions
/// did not move (1,188,093,552 → 1,188,115,793).
const SPARE_MAX: usize = 256;

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// The most entries [`EventQueue::peek_cheap`] scans in a bucket.
const PEEK_SCAN: usize = 4;

/// Events due at simulated times; earliest first, FIFO among equals.
pub struct EventQueue<E> {
    /// Events due at `last`, ascending by sequence.
    now: VecDeque<(u64, E)>,
    /// Bucket `(d, v)` at index `d * RADIX + v`; unordered.
    buckets: Vec<Vec<Entry<E>>>,
    /// Per digit, one bit per value: the bucket is non-empty.
    nonempty: [[u64; RADIX / 64]; DIGITS],
    last: u64,
    len: usize,
    next_seq: u64,
    /// Scratch buffers reused by `refill`, so that steady state allocates nothing.
    spare: Vec<Entry<E>>,
    due: Vec<(u64, E)>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: (0..DIGITS * RADIX).map(|_| Vec::new()).collect(),
            nonempty: [[0; RADIX / 64]; DIGITS],
            last: 0,
            len: 0,
            next_seq: 0,
            spare: Vec::new(),
            due: Vec::new(),
        }
    }

    /// A queue with room for about `n` events due at once.
    pub fn with_capacity(n: usize) -> Self {
        let mut q = Self::new();
        q.now.reserve(n.min(1024));
        q
    }

    /// The bucket of an event due at `t > last`, as its index.
    fn bucket_of(&self, t: u64) -> usize {
        let d = (63 - (t ^ self.last).leading_zeros()) as usize / 8;
        d * RADIX + ((t >> (8 * d)) as usize & (RADIX - 1))
    }

    fn file(&mut self, e: Entry<E>) {
        let b = self.bucket_of(e.time);
        self.nonempty[b / RADIX][(b % RADIX) / 64] |= 1 << (b % 64);
        self.buckets[b].push(e);
    }

    /// Schedules `event` at `time`.
    ///
    /// # Panics
    /// If `time` is before the last popped event's time: time never goes back.
    pub fn push(&mut self, time: SimTime, event: E) {
        let t = time.as_us();
        assert!(
            t >= self.last,
            "event at {t} µs pushed after {} µs was popped",
            self.last
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        if t == self.last {
            // Every queued event at `last` has a smaller sequence number.
            self.now.push_back((seq, event));
        } else {
            self.file(Entry {
                time: t,
                seq,
                event,
            });
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.now.is_empty() && !self.refill() {
            return None;
        }
        let (_, event) = self.now.pop_front()?;
        self.len -= 1;
        Some((SimTime(self.last), event))
    }

    /// The first non-empty bucket (lowest digit, then lowest value).
    fn first_bucket(&self) -> Option<usize> {
        for (d, words) in self.nonempty.iter().enumerate() {
            for (w, &bits) in words.iter().enumerate() {
                if bits != 0 {
                    return Some(d * RADIX + w * 64 + bits.trailing_zeros() as usize);
                }
            }
        }
        None
    }

    /// Empties the first non-empty bucket into `now` and lower buckets
    /// around its minimum time. False if the queue is empty.
    fn refill(&mut self) -> bool {
        let Some(b) = self.first_bucket() else {
            return false;
        };
        self.nonempty[b / RADIX][(b % RADIX) / 64] &= !(1 << (b % 64));
        // Swap the bucket with the (empty) spare buffer, so that a small
        // buffer is reused rather than freed and grown again. A large one is
        // freed: buckets can briefly hold most of the queue, and keeping
        // every bucket's high-water capacity would hold megabytes for nothing.
        let mut moving = std::mem::take(&mut self.spare);
        std::mem::swap(&mut moving, &mut self.buckets[b]);
        self.last = moving
            .iter()
            .map(|e| e.time)
            .min()
            .expect("non-empty bucket");
        let mut due = std::mem::take(&mut self.due);
        for e in moving.drain(..) {
            if e.time == self.last {
                due.push((e.seq, e.event));
            } else {
                debug_assert!(self.bucket_of(e.time) / RADIX < b / RADIX);
                self.file(e);
            }
        }
        if moving.capacity() <= SPARE_MAX {
            self.spare = moving;
        }
        if due.len() > 1 {
            due.sort_unstable_by_key(|(seq, _)| *seq);
        }
        self.now.extend(due.drain(..));
        self.due = due;
        true
    }

    /// The time of the earliest event, if any (without moving anything).
    pub fn peek_time(&self) -> Option<SimTime> {
        if !self.now.is_empty() {
            return Some(SimTime(self.last));
        }
        let b = self.first_bucket()?;
        self.buckets[b].iter().map(|e| e.time).min().map(SimTime)
    }

    /// The event the next [`EventQueue::pop`] returns, if the queue can
    /// tell without moving anything and by looking at a few entries at
    /// most (`None` otherwise). A hint, for loading ahead what that event
    /// will touch: events pushed before that pop may come first.
    pub fn peek_cheap(&self) -> Option<&E> {
        if let Some((_, e)) = self.now.front() {
            return Some(e);
        }
        let bucket = &self.buckets[self.first_bucket()?];
        if bucket.len() > PEEK_SCAN {
            return None;
        }
        let first = bucket.iter().min_by_key(|e| (e.time, e.seq))?;
        Some(&first.event)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many events were ever pushed.
    pub fn pushed_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (SimTime(1), "a"),
                (SimTime(1), "b"),
                (SimTime(5), "c"),
                (SimTime(5), "d")
            ]
        );
        assert_eq!(q.pushed_total(), 4);
    }

    #[test]
    fn matches_a_binary_heap_on_a_hold_workload() {
        // Reference: a max-heap of Reverse((time, seq)). Both see the same
        // pushes (each at the popped time plus 0..=40 µs, often equal).
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut draw = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seq = 0u64;
        for _ in 0..500 {
            let t = draw() % 100;
            q.push(SimTime(t), seq);
            reference.push(std::cmp::Reverse((t, seq)));
            seq += 1;
        }
        for _ in 0..20_000 {
            let (t, s) = q.pop().unwrap();
            let std::cmp::Reverse((rt, rs)) = reference.pop().unwrap();
            assert_eq!((t.as_us(), s), (rt, rs));
            for _ in 0..(draw() % 3) {
                let nt = t.as_us() + draw() % 41;
                q.push(SimTime(nt), seq);
                reference.push(std::cmp::Reverse((nt, seq)));
                seq += 1;
            }
            if q.is_empty() {
                break;
            }
        }
        assert_eq!(q.len(), reference.len());
    }

    #[test]
    fn matches_a_binary_heap_across_every_digit() {
        // Gaps of every scale (a random number shifted right by 0..64 bits:
        // every byte of the time is exercised, up to near u64::MAX), and
        // a third of the pushes at the popped time itself.
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 0xD1B5_4A32_D192_ED03;
        let mut draw = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seq = 0u64;
        let mut now = 0u64;
        let mut cheap_peeks = 0;
        for round in 0..30_000 {
            for _ in 0..(draw() % 4) {
                let gap = match draw() % 3 {
                    0 => 0,
                    _ => (draw() >> (draw() % 64)) / 4,
                };
                let t = now.saturating_add(gap);
                q.push(SimTime(t), seq);
                reference.push(std::cmp::Reverse((t, seq)));
                seq += 1;
            }
            let want = reference.peek().map(|r| SimTime(r.0 .0));
            assert_eq!(q.peek_time(), want, "round {round}");
            if let Some(&s) = q.peek_cheap() {
                // A cheap answer is always the event popped next.
                assert_eq!(Some(s), reference.peek().map(|r| r.0 .1), "round {round}");
                cheap_peeks += 1;
            }
            match (q.pop(), reference.pop()) {
                (Some((t, s)), Some(std::cmp::Reverse((rt, rs)))) => {
                    assert_eq!((t.as_us(), s), (rt, rs), "round {round}");
                    now = rt;
                }
                (None, None) => {}
                (a, b) => panic!("round {round}: {a:?} vs {b:?}"),
            }
            assert_eq!(q.len(), reference.len());
        }
        // Most next events wait in `now` or in a small bucket.
        assert!(cheap_peeks > 15_000, "{cheap_peeks} cheap peeks");
    }

    #[test]
    #[should_panic(expected = "pushed after")]
    fn refuses_to_go_back_in_time() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), ());
        q.pop();
        q.push(SimTime(9), ());
    }
}
