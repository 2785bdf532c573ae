//! Benchmarks of scheduling decisions.
//!
//! - `evaluate/<policy>/<machines>`: one `Pipeline::evaluate` (filter and score
//!   every machine for one task, preemption on) on a cell of 1,000 or 10,000
//!   machines of 16,000 mcpu / 65,536 MiB, pre-filled deterministically to
//!   ~60 % CPU (each machine to a target drawn between 40 % and 80 %) with a
//!   mix of batch tasks (priority 110) and production tasks (priority 200).
//!   The task placed is a production task of 6,000 mcpu / 12,288 MiB: it fits
//!   as is on about two thirds of the machines (which are scored) and would
//!   need preemption on the others, so the run takes the `Place` branch.
//!   Throughput is in machines evaluated per second.
//! - `evaluate_preempt/<policy>/<machines>`: the same on a cell filled to
//!   ~100 % CPU, placing a production task of 2,000 mcpu / 4,096 MiB. No
//!   machine has room as is, so every machine goes through the preemption
//!   check and the pipeline computes a victim plan for each candidate (the
//!   `Preempt` branch). Throughput: machines evaluated per second.
//! - `pass/100_pending/1000`: one whole `Scheduler::pass` over 100 pending
//!   tasks (10 jobs of 10 tasks, mixed shapes and priorities) on the ~60 %
//!   cell of 1,000 machines, with the hybrid policy and preemption on; all
//!   100 tasks are placed. Throughput: tasks attempted per second.
//!
//! `evaluate` does not change the cell, so those benches reuse one state. A
//! pass does change it, and `CellState` is not `Clone`, so the pass bench
//! rebuilds the state in criterion's `iter_batched` setup
//! (`BatchSize::LargeInput`); the rebuild (submitting and placing ~7,100
//! tasks) is *not* timed, only the pass is, and the state is dropped outside
//! the timing too.
//!
//! Everything is deterministic (a constant-seeded xorshift draws the fill);
//! the only clock is criterion's.
// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

use borgsim::cell::state::CellState;
use borgsim::rng::{RngStreams, Stream};
use borgsim::sched::pipeline::{Outcome, Pipeline};
use borgsim::sched::{Action, Policy, SchedConfig, SchedStats, Scheduler};
use borgsim::testkit::{CellBuilder, SpecBuilder};
use borgsim::time::SimTime;
use borgsim::workload::{JobId, JobSpec, Priority};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

const MACHINE_CPU: u64 = 16_000;
const MACHINE_MEM: u64 = 65_536;
const MACHINES_PER_RACK: u32 = 40;
const RACKS_PER_POWER: u32 = 10;
const BATCH: Priority = 110;
const PROD: Priority = 200;
/// Jobs per task shape in the fill, so that machines hold tasks of many jobs.
const JOBS_PER_SHAPE: usize = 8;

/// A task shape: (mcpu, MiB, priority).
type Shape = (u64, u64, Priority);

/// The shapes of the fill: two batch, two production.
const FILL_SHAPES: [Shape; 4] = [
    (500, 1_024, BATCH),
    (1_000, 3_072, BATCH),
    (2_000, 4_096, PROD),
    (4_000, 16_384, PROD),
];

mod common;
use common::XorShift;

fn spec(name: String, (cpu, mem, priority): Shape, tasks: usize) -> JobSpec {
    SpecBuilder::new(cpu, mem)
        .name(&name)
        .user("bench")
        .priority(priority)
        .tasks(tasks, None)
        .build()
}

fn empty_cell(n: usize) -> CellState {
    CellBuilder::new()
        .machines(n, MACHINE_CPU, MACHINE_MEM, 0)
        .domains(MACHINES_PER_RACK, RACKS_PER_POWER)
        .build()
}

/// A cell of `n` machines, each filled to a CPU target drawn uniformly in
/// `lo_pct..=hi_pct` % of its capacity: random shapes while they fit, then
/// the smallest shape to top up. All tasks start at time zero.
fn filled_cell(n: usize, lo_pct: u64, hi_pct: u64, seed: u64) -> CellState {
    let mut rng = XorShift(seed);
    // The plan: which shape goes on which machine, in placement order.
    let mut plan: Vec<(u32, usize)> = Vec::new();
    for m in 0..n as u32 {
        let pct = lo_pct + rng.next() % (hi_pct - lo_pct + 1);
        let target = MACHINE_CPU * pct / 100;
        let (mut cpu, mut mem) = (0, 0);
        let fits = |s: usize, cpu: u64, mem: u64| {
            cpu + FILL_SHAPES[s].0 <= target && mem + FILL_SHAPES[s].1 <= MACHINE_MEM
        };
        loop {
            let s = (rng.next() % FILL_SHAPES.len() as u64) as usize;
            if !fits(s, cpu, mem) {
                break;
            }
            plan.push((m, s));
            cpu += FILL_SHAPES[s].0;
            mem += FILL_SHAPES[s].1;
        }
        while fits(0, cpu, mem) {
            plan.push((m, 0));
            cpu += FILL_SHAPES[0].0;
            mem += FILL_SHAPES[0].1;
        }
    }
    // Tasks of one shape are dealt round-robin to JOBS_PER_SHAPE jobs.
    let mut counts = [[0usize; JOBS_PER_SHAPE]; FILL_SHAPES.len()];
    let mut seen = [0usize; FILL_SHAPES.len()];
    for &(_, s) in &plan {
        counts[s][seen[s] % JOBS_PER_SHAPE] += 1;
        seen[s] += 1;
    }
    let mut st = empty_cell(n);
    let now = SimTime::ZERO;
    let mut jobs = [[0 as JobId; JOBS_PER_SHAPE]; FILL_SHAPES.len()];
    for (s, shape) in FILL_SHAPES.iter().enumerate() {
        for (j, &count) in counts[s].iter().enumerate() {
            if count > 0 {
                jobs[s][j] = st.submit_job(now, spec(format!("fill-{s}-{j}"), *shape, count));
            }
        }
    }
    let mut next = [[0u32; JOBS_PER_SHAPE]; FILL_SHAPES.len()];
    let mut dealt = [0usize; FILL_SHAPES.len()];
    for &(m, s) in &plan {
        let j = dealt[s] % JOBS_PER_SHAPE;
        dealt[s] += 1;
        let task = st.job(jobs[s][j]).tasks[next[s][j] as usize];
        next[s][j] += 1;
        st.place(now, task, m);
    }
    assert!(st.pending().is_empty());
    st
}

/// CPU allocated over CPU capacity, in percent.
fn cpu_used_pct(st: &CellState) -> f64 {
    let free: u64 = st.machines().iter().map(|m| m.free.cpu_milli).sum();
    let cap = st.cell().total_capacity().res.cpu_milli;
    100.0 * (cap - free) as f64 / cap as f64
}

/// Runs one evaluation outside the timing, checks it takes the expected
/// branch, and prints the deterministic work it does.
fn check_once(label: &str, st: &CellState, p: &Pipeline, job: JobId, want_preempt: bool) {
    let mut stats = SchedStats::default();
    let out = p.evaluate(st, job, true, &mut stats);
    match (&out, want_preempt) {
        (Outcome::Place(_), false) | (Outcome::Preempt(_), true) => {}
        _ => panic!("{label}: unexpected outcome {out:?}"),
    }
    eprintln!(
        "{label}: cpu {:.1} %, {} tasks running; per evaluate: {} feasibility checks, \
         {} scores, {} preemption plans",
        cpu_used_pct(st),
        st.ledger().running_by_band.iter().sum::<u64>(),
        stats.feasibility_checks,
        stats.scores_computed,
        stats.preemption_plans_computed
    );
}

fn evaluate(c: &mut Criterion) {
    let mut g = c.benchmark_group("evaluate");
    for n in [1_000, 10_000] {
        let mut st = filled_cell(n, 40, 80, 0x5EED_0001);
        let job = st.submit_job(
            SimTime::ZERO,
            spec("probe".into(), (6_000, 12_288, PROD), 1),
        );
        g.throughput(Throughput::Elements(n as u64));
        for &policy in Policy::ALL {
            let p = Pipeline::new(policy);
            check_once(
                &format!("evaluate/{}/{n}", policy.name()),
                &st,
                &p,
                job,
                false,
            );
            let mut stats = SchedStats::default();
            g.bench_with_input(BenchmarkId::new(policy.name(), n), &st, |b, st| {
                b.iter(|| p.evaluate(black_box(st), job, true, &mut stats))
            });
        }
    }
    g.finish();
}

fn evaluate_preempt(c: &mut Criterion) {
    let mut g = c.benchmark_group("evaluate_preempt");
    for n in [1_000, 10_000] {
        let mut st = filled_cell(n, 100, 100, 0x5EED_0002);
        let job = st.submit_job(SimTime::ZERO, spec("probe".into(), (2_000, 4_096, PROD), 1));
        g.throughput(Throughput::Elements(n as u64));
        for &policy in Policy::ALL {
            let p = Pipeline::new(policy);
            let label = format!("evaluate_preempt/{}/{n}", policy.name());
            check_once(&label, &st, &p, job, true);
            let mut stats = SchedStats::default();
            g.bench_with_input(BenchmarkId::new(policy.name(), n), &st, |b, st| {
                b.iter(|| p.evaluate(black_box(st), job, true, &mut stats))
            });
        }
    }
    g.finish();
}

/// The ~60 % cell of 1,000 machines plus 100 pending tasks in 10 jobs.
fn pass_state() -> CellState {
    const PENDING_SHAPES: [Shape; 5] = [
        (1_000, 4_096, BATCH),
        (2_000, 4_096, PROD),
        (4_000, 16_384, PROD),
        (6_000, 12_288, PROD),
        (500, 1_024, BATCH),
    ];
    let mut st = filled_cell(1_000, 40, 80, 0x5EED_0001);
    for j in 0..10 {
        let shape = PENDING_SHAPES[j % PENDING_SHAPES.len()];
        st.submit_job(SimTime::ZERO, spec(format!("pending-{j}"), shape, 10));
    }
    assert_eq!(st.pending().len(), 100);
    st
}

fn pass(c: &mut Criterion) {
    let config = SchedConfig::new(Policy::Hybrid, true);
    {
        let mut st = pass_state();
        let mut sched = Scheduler::new(config, RngStreams::new(1).stream(Stream::Scheduler));
        let mut actions = Vec::new();
        sched.pass(&mut st, SimTime::ZERO, &mut actions);
        let s = sched.stats();
        eprintln!(
            "pass/100_pending/1000 (hybrid): {} attempted, {} placed ({} with preemption), \
             {} feasibility checks, {} scores",
            s.tasks_attempted,
            s.placements,
            s.preemption_placements,
            s.feasibility_checks,
            s.scores_computed
        );
    }
    let mut g = c.benchmark_group("pass");
    // Fewer samples: each iteration also needs a fresh state (untimed).
    g.sample_size(30);
    g.throughput(Throughput::Elements(100));
    g.bench_function("100_pending/1000", |b| {
        b.iter_batched(
            || {
                (
                    pass_state(),
                    Scheduler::new(config, RngStreams::new(1).stream(Stream::Scheduler)),
                    Vec::<Action>::new(),
                )
            },
            |(mut st, mut sched, mut actions)| {
                sched.pass(&mut st, SimTime::ZERO, &mut actions);
                // Returned, so that dropping the state is not timed.
                (st, sched, actions)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, evaluate, evaluate_preempt, pass);
criterion_main!(benches);
