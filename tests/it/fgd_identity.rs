//! The `fgd` policy's placements on the default openb pod list, pinned: a
//! digest of every pod's machine and devices, and the allocation curve, as
//! the straightforward implementation (the fragmentation of each state
//! recomputed pod by typical pod) produced them. A faster fragmentation
//! measure must leave every decision as it was.

use borgsim::cell::resources::GpuAlloc;
use borgsim::cell::state::TaskState;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sched::Policy;

/// FNV-1a over the words given.
fn fnv(words: impl Iterator<Item = u64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for w in words {
        for b in w.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Per task, in job order: the machine + 1 (0 if not running) and its
/// devices (the whole-device mask, or the share's device and milli).
fn placement_words(st: &borgsim::cell::state::CellState) -> Vec<u64> {
    let mut words = Vec::new();
    for job in st.jobs() {
        for &t in job.tasks.iter() {
            let (m, g) = match st.task(t).state {
                TaskState::Running { machine, .. } => {
                    let g = match st.gpu_alloc(t) {
                        GpuAlloc::None => 0,
                        GpuAlloc::Whole(mask) => mask,
                        GpuAlloc::Share { device, milli } => {
                            (1 << 63) | u64::from(device) << 32 | u64::from(milli)
                        }
                    };
                    (u64::from(machine) + 1, g)
                }
                _ => (0, 0),
            };
            words.extend([m, g]);
        }
    }
    words
}

#[test]
fn fgd_placements_on_openb_are_as_pinned() {
    let mut sc = Scenario::builtin("openb").unwrap().unwrap();
    sc.scheduler.policy = Policy::Fgd;
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let s = Summary::of(&sc, &sim);
    let g = s.gpu_packing.as_ref().unwrap();
    let words = placement_words(sim.state());
    let curve: Vec<(u32, f64)> = [50, 80, 90, 100, 130]
        .iter()
        .map(|p| (*p, g.gpu_alloc_pct_at_demand_pct[p]))
        .collect();
    println!(
        "digest {:#x} over {} words; arrived {} dropped {}; curve {curve:?}",
        fnv(words.iter().copied()),
        words.len(),
        g.tasks_arrived,
        g.tasks_dropped
    );
    assert_eq!(
        (g.tasks_arrived, g.tasks_dropped),
        PINNED_COUNTS,
        "{curve:?}"
    );
    assert_eq!(fnv(words.iter().copied()), PINNED_DIGEST, "{curve:?}");
    assert_eq!(curve, PINNED_CURVE);
}

/// Pods arrived and dropped (seed 42, the scenario's own).
const PINNED_COUNTS: (u64, u64) = (10_815, 2_419);
/// The digest of [`placement_words`].
const PINNED_DIGEST: u64 = 0x82b8_191d_da14_831a;
/// GPU allocated (%) at 50, 80, 90, 100 and 130 % of GPU demand.
const PINNED_CURVE: [(u32, f64); 5] = [
    (50, 50.003542),
    (80, 80.014971),
    (90, 90.0066),
    (100, 95.40792),
    (130, 95.528815),
];
