//! The FGD paper's six GPU policies on cells small enough to work every
//! placement out by hand (the scores' arithmetic is in each scorer's unit
//! tests; here the whole run: filters, scores, the seeded tie order and
//! each policy's choice of device). Don't change an expected value without
//! redoing the arithmetic.

use borgsim::cell::resources::{GpuAlloc, GpuRequest};
use borgsim::cell::state::TaskState;
use borgsim::rng::{RngStreams, Stream};
use borgsim::sched::plugin::MAX_SCORE;
use borgsim::sched::plugins::tie_order::rank_digits;
use borgsim::sched::{Policy, SchedConfig};
use borgsim::testkit::{options, simulation, CellBuilder, SpecBuilder};
use borgsim::time::SimTime;

/// The seed `options` runs with.
const SEED: u64 = 1;

/// Runs `tasks` (milli-cores, GPU request), one job each submitted at the
/// given second, on machines of (milli-cores, GPUs), 256 GiB each; returns
/// each task's (machine, devices).
fn placements(
    policy: Policy,
    machines: &[(u64, u32)],
    tasks: &[(u64, u64, GpuRequest)],
) -> Vec<(u32, GpuAlloc)> {
    let st = machines
        .iter()
        .fold(CellBuilder::new(), |b, &(cpu, gpus)| {
            b.machines(1, cpu, 262_144, gpus)
        })
        .build();
    let jobs = tasks
        .iter()
        .map(|&(at, cpu, gpu)| {
            (
                SimTime::from_secs(at),
                SpecBuilder::new(cpu, 1024).gpu(gpu).build(),
            )
        })
        .collect();
    let mut sim = simulation(st, jobs, options(10, 1000, SchedConfig::new(policy, false)));
    sim.run(&mut |_| {}).unwrap();
    let st = sim.state();
    (0..tasks.len())
        .map(|j| {
            let t = st.job(j as u32).tasks[0];
            (t, st.task(t).state)
        })
        .map(|(t, state)| match state {
            TaskState::Running { machine, .. } => (machine, st.gpu_alloc(t)),
            other => panic!("{}: task {t} is {other:?}", policy.name()),
        })
        .collect()
}

/// Of `machines`, the one the seeded tie order puts first.
fn tie_winner(machines: &[u32]) -> u32 {
    let s = RngStreams::new(SEED);
    *machines
        .iter()
        .max_by_key(|&&m| rank_digits(&s, m))
        .unwrap()
}

/// Machines: m0 32 cores + 1 GPU, m1 32 cores + 2 GPUs, m2 128 cores + 8
/// GPUs (so the cell's node scale is the paper's, 128 cores and 8 GPUs).
/// Tasks at 0, 1, 2 s: T1 4 cores + 500 milli, T2 8 cores + 1 GPU,
/// T3 2 cores + 300 milli.
const MACHINES: [(u64, u32); 3] = [(32_000, 1), (32_000, 2), (128_000, 8)];
const TASKS: [(u64, u64, GpuRequest); 3] = [
    (0, 4000, GpuRequest::Share(500)),
    (1, 8000, GpuRequest::Whole(1)),
    (2, 2000, GpuRequest::Share(300)),
];

fn machines_of(policy: Policy) -> Vec<u32> {
    let p = placements(policy, &MACHINES, &TASKS);
    p.iter().map(|&(m, _)| m).collect()
}

#[test]
fn gpu_packing_fills_partly_used_devices_then_the_smallest_idle_machine() {
    // T1: every machine idle, max(33 − G, G): 32, 31, 25 → m0.
    // T2: m0's device has 500 free (no idle GPU): m1 31, m2 25 → m1.
    // T3: m0 [500]: k = 0, s = 50, 100 − 5 = 95; m1 [0, 1000]: k = 1, 49;
    //     m2 25 → m0.
    assert_eq!(machines_of(Policy::GpuPacking), [0, 1, 0]);
}

#[test]
fn gpu_clustering_keeps_shares_together() {
    // part = ⌊25 · (8000 − L) / 8000⌋.
    // T1: m0 25 + 21, m1 25 + 18, m2 25 + 0 → m0.
    // T2: m1 25 + 18 = 43, m2 25 → m1.
    // T3: m0 holds shares only: 75 + ⌊25 · 7500 / 8000⌋ = 98 → m0.
    assert_eq!(machines_of(Policy::GpuClustering), [0, 1, 0]);
}

#[test]
fn gpu_clustering_puts_a_share_with_shares_before_a_fuller_machine_of_another_type() {
    // Two machines of 32 cores + 8 GPUs (g = 8000). At 0 s T1 6 GPUs, at
    // 1 s T2 200 milli, at 2 s T3 300 milli; part = ⌊25 · (8000 − L) /
    // 8000⌋.
    // T1: both idle, 25 + 0 each: the tie order's winner w.
    // T2: w (6 GPUs, another type only, L 2000): 0 + ⌊25 · 6000 / 8000⌋ =
    //     18; the other o (no GPU task): 25 + 0 = 25 → o, though w is
    //     fuller (gpu_packing would take w, its fewer idle GPUs).
    // T3: w 0 + 18 = 18; o (shares only, L 7800): 75 + ⌊25 · 200 / 8000⌋
    //     = 75 → o: the type's base overrides part.
    let tasks = [
        (0, 1000, GpuRequest::Whole(6)),
        (1, 1000, GpuRequest::Share(200)),
        (2, 1000, GpuRequest::Share(300)),
    ];
    let machines = [(32_000, 8), (32_000, 8)];
    let p = placements(Policy::GpuClustering, &machines, &tasks);
    let w = tie_winner(&[0, 1]);
    let m: Vec<u32> = p.iter().map(|&(m, _)| m).collect();
    assert_eq!(m, [w, 1 - w, 1 - w]);
}

#[test]
fn gpu_best_fit_packs_cpu_and_gpu_against_the_largest_node() {
    // 100 − ⌈50 · (cpu left / 128 cores + GPU left / 8 GPUs)⌉, after.
    // T1: m0 28/128 + 0.5/8 → 85; m1 28/128 + 1.5/8 → 79; m2 124/128 +
    //     7.5/8 → 100 − ⌈95.3⌉ = 4: m0.
    // T2: m1 24/128 + 1/8 → 84; m2 120/128 + 7/8 → 100 − ⌈90.6⌉ = 9: m1.
    // T3: m0 26/128 + 0.2/8 → 88; m1 22/128 + 0.7/8 → 87: m0.
    assert_eq!(machines_of(Policy::GpuBestFit), [0, 1, 0]);
}

#[test]
fn dot_product_ties_go_to_the_seeded_order() {
    // 100 − ⌈50 · (cpu left · cpu / 128² + L · R / 8²)⌉ (cores, GPUs),
    // before placement.
    // T1: m0 ⌈0.78⌉ → 99; m1 ⌈1.17⌉ → 98; m2 ⌈4.69⌉ → 95: m0.
    // T2: m1 ⌈2.34⌉ → 97; m2 ⌈9.38⌉ → 90: m1.
    // T3: m0 ⌈0.29⌉ → 99; m1 ⌈0.38⌉ → 99; m2 ⌈2.66⌉ → 97: m0 and m1
    //     tie, the seeded order decides.
    let m = machines_of(Policy::DotProduct);
    assert_eq!(m[..2], [0, 1]);
    assert_eq!(m[2], tie_winner(&[0, 1]));
}

#[test]
fn fgd_fills_the_fragment_its_typical_pods_cannot_use() {
    // Two machines of 32 cores + 1 GPU; at 0 s, T1 600 milli, T2 and T3
    // 400 milli, 1 core each. Typical pods (the three, one pass): 400 ×2,
    // 600 ×1 (total 3).
    // F counts each typical pod's weight (its count), Δ is divided by the
    // total (3) × 1000.
    // T1: the machines are alike: a device [1000] → [400] leaves the 600
    //     pod lacking GPU, F 0 → 400 (its count 1 × 400), Δ = −400,
    //     ⌊100 σ(−400 / 3000)⌋ = ⌊100 × 0.4667⌋ = 46 on both: the tie
    //     order.
    // T2: on T1's machine [400] → [0]: F before = 400 (the 600 pod lacks
    //     GPU), after 0: Δ = 400, ⌊100 σ(400 / 3000)⌋ = 53; on the other
    //     [1000] → [600]: F 0 → 0, 50. T1's machine.
    // T3: only the other machine has room.
    let tasks = [
        (0, 1000, GpuRequest::Share(600)),
        (0, 1000, GpuRequest::Share(400)),
        (0, 1000, GpuRequest::Share(400)),
    ];
    let p = placements(Policy::Fgd, &[(32_000, 1), (32_000, 1)], &tasks);
    let first = tie_winner(&[0, 1]);
    let m: Vec<u32> = p.iter().map(|&(m, _)| m).collect();
    assert_eq!(m, [first, first, 1 - first]);
}

#[test]
fn fgd_chooses_the_device_not_the_fullest() {
    // One machine, 32 cores + 2 GPUs; at 0 s A 300 milli, B and C 500
    // milli, 1 core each. Typical pods: 500 ×2, 300 ×1 (total 3).
    // A: [1000, 1000] → either device leaves F = 0: 50, the first: 0.
    // B: on device 0 → [200, 1000]: 200 is too small for both typical
    //    pods, F = 2·200 + 200 = 600, Δ = −600, ⌊100 σ(−0.2)⌋ = 45; on
    //    device 1 → [700, 500]: F = 0, 50. Device 1 (the fullest that
    //    fits, borgsim's own choice, would be device 0).
    // C: on device 0 → [200, 500]: F = 600 again, 45; device 1 → [700, 0]:
    //    F = 0, 50. Device 1.
    let tasks = [
        (0, 1000, GpuRequest::Share(300)),
        (0, 1000, GpuRequest::Share(500)),
        (0, 1000, GpuRequest::Share(500)),
    ];
    let dev = |a: GpuAlloc| match a {
        GpuAlloc::Share { device, .. } => device,
        other => panic!("{other:?}"),
    };
    let devices = |policy| -> Vec<u16> {
        let p = placements(policy, &[(32_000, 2)], &tasks);
        p.iter().map(|&(_, a)| dev(a)).collect()
    };
    assert_eq!(devices(Policy::Fgd), [0, 1, 1]);
    // The same run under gpu_best_fit takes the fullest device.
    assert_eq!(devices(Policy::GpuBestFit), [0, 0, 1]);
}

#[test]
fn random_is_the_same_run_after_run() {
    let a = placements(Policy::Random, &MACHINES, &TASKS);
    assert_eq!(a, placements(Policy::Random, &MACHINES, &TASKS));
}

/// The random policy's score of job `serial` (its submission order) on
/// machine `m`: the documented draw, `keyed(random_policy, [serial, m])
/// mod 10,001`, for the seed `options` runs with.
fn random_draw(serial: u64, m: u64) -> u64 {
    let s = RngStreams::new(SEED);
    s.keyed(Stream::RandomPolicy, &[serial, m]) % (MAX_SCORE + 1)
}

#[test]
fn random_takes_the_highest_draw_among_the_machines_that_fit() {
    // Four machines of 32 cores + 1 GPU; jobs J0..J3 of 1 GPU at 0..3 s,
    // so each machine takes one and the feasible set shrinks. Draws (seed
    // 1; serial, machine), worked from SplitMix64 over the stream's FNV-1a:
    //   J0: m0 4760, m1 9862, m2 445, m3 1596 → m1;
    //   J1: m0 6074, m2 5597, m3 5849 (m1 full) → m0;
    //   J2: m2 3601, m3 5297 → m3;
    //   J3: m2 alone → m2.
    // Lowest id would give [0, 1, 2, 3]; the tie order alone (its high
    // digits m0 178, m1 6916, m2 3021, m3 2297) [1, 2, 3, 0].
    let want = [
        [4760, 9862, 445, 1596],
        [6074, 8425, 5597, 5849],
        [2676, 6280, 3601, 5297],
    ];
    for (j, row) in want.iter().enumerate() {
        for (m, &d) in row.iter().enumerate() {
            assert_eq!(random_draw(j as u64, m as u64), d, "J{j} on m{m}");
        }
    }
    let tasks: Vec<(u64, u64, GpuRequest)> =
        (0..4).map(|at| (at, 1000, GpuRequest::Whole(1))).collect();
    let p = placements(Policy::Random, &[(32_000, 1); 4], &tasks);
    let m: Vec<u32> = p.iter().map(|&(m, _)| m).collect();
    assert_eq!(m, [1, 0, 3, 2]);
}

#[test]
fn random_spreads_jobs_evenly_over_alike_machines() {
    // 800 small one-task jobs at 0 s on 8 alike machines that each hold
    // them all (a job's draw is its own, whatever was placed before):
    // each machine is drawn with chance 1/8, 100 expected. The seed's
    // counts are 107, 102, 107, 107, 107, 73, 95, 102: χ² = Σ (n − 100)² /
    // 100 = 9.58, under 24.3 (7 degrees of freedom, p = 0.001). A policy
    // that took the lowest id, or the tie order's winner, puts all 800 on
    // one machine (χ² 5,600).
    let tasks: Vec<(u64, u64, GpuRequest)> = (0..800).map(|_| (0, 10, GpuRequest::None)).collect();
    let p = placements(Policy::Random, &[(128_000, 8); 8], &tasks);
    let mut counts = [0u32; 8];
    for &(m, _) in &p {
        counts[m as usize] += 1;
    }
    let chi2: f64 = counts
        .iter()
        .map(|&n| (f64::from(n) - 100.0).powi(2) / 100.0)
        .sum();
    assert!(chi2 < 24.3, "counts {counts:?}: χ² {chi2:.1}");
    assert_eq!(counts, [107, 102, 107, 107, 107, 73, 95, 102]);
}
