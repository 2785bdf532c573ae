//! Benchmarks of the engine's event queue (`EventQueue`), with the
//! simulator's own event type as payload.
//!
//! - `event_queue/hold_100k`: the classic "hold" model. The queue is pre-filled
//!   once with 100,000 events at pseudo-random times; each iteration pops the
//!   earliest event and pushes a new one at (popped time + a pseudo-random
//!   delta), so the queue stays at 100,000 pending events, as in a long run.
//!   One iteration = one event processed (pop + push), reported as elements/s.
//!   The xorshift draw (a few shifts) is inside the timed loop.
//! - `event_queue/push_drain_100k`: pushes 100,000 pre-drawn events into an
//!   empty queue (growing it from empty), then pops them all. The queue is
//!   built and dropped inside the timed routine; the times are drawn once,
//!   outside it.
//!
//! Everything is deterministic: the times come from a constant-seeded
//! xorshift; the only clock is criterion's.
// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

use borgsim::engine::EventQueue;
use borgsim::sim::Event;
use borgsim::time::{SimDuration, SimTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// Pending events in the steady state.
const PENDING: usize = 100_000;
/// Event times are spread over this many microseconds (one simulated hour).
const SPAN_US: u64 = 3_600_000_000;
/// Mean hold delta is half of this: the next event of a task is up to ~2 s away.
const MAX_DELTA_US: u64 = 4_000_000;

mod common;
use common::XorShift;

/// An event payload like the ones the simulation schedules most: task ends.
fn task_end(n: u64) -> Event {
    Event::TaskEnd {
        task: n as u32,
        incarnation: 1,
    }
}

fn hold(c: &mut Criterion) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut q = EventQueue::with_capacity(PENDING + 1);
    for i in 0..PENDING as u64 {
        q.push(SimTime(rng.next() % SPAN_US), task_end(i));
    }
    let mut g = c.benchmark_group("event_queue");
    g.throughput(Throughput::Elements(1));
    g.bench_function("hold_100k", |b| {
        b.iter(|| {
            let (t, ev) = q.pop().expect("queue never empties in the hold model");
            let delta = SimDuration(1 + rng.next() % MAX_DELTA_US);
            q.push(t + delta, black_box(ev));
        })
    });
    g.finish();
    assert_eq!(q.len(), PENDING);
}

fn push_drain(c: &mut Criterion) {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let times: Vec<SimTime> = (0..PENDING)
        .map(|_| SimTime(rng.next() % SPAN_US))
        .collect();
    let mut g = c.benchmark_group("event_queue");
    g.throughput(Throughput::Elements(PENDING as u64));
    g.bench_function("push_drain_100k", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            for (i, &t) in times.iter().enumerate() {
                q.push(t, task_end(i as u64));
            }
            let mut last = SimTime::ZERO;
            while let Some((t, ev)) = q.pop() {
                debug_assert!(t >= last);
                last = t;
                black_box(ev);
            }
            last
        })
    });
    g.finish();
}

criterion_group!(benches, hold, push_drain);
criterion_main!(benches);
