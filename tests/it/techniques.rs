//! Borg's scale techniques: score caching and equivalence classes change the
//! work, never the decisions (every placement, eviction and why-pending count
//! is what the exhaustive pipeline produces); relaxed randomization trades a
//! little quality for speed, reproducibly from the seed.

use super::root;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sched::{Profile, SchedStats, Techniques};
use borgsim::sim::Simulation;

/// Everything a run decided: each task's final state and history, the time
/// series, and the summary without the scheduler's work counters (and the
/// switches themselves).
pub(crate) fn decisions(sc: &Scenario, sim: &Simulation) -> String {
    let st = sim.state();
    let tasks: Vec<String> = st
        .live_tasks()
        .map(|(t, r)| {
            format!(
                "{t}: {:?} {} {} {:?}",
                r.state,
                r.incarnation,
                r.evictions,
                r.first_start()
            )
        })
        .collect();
    let mut summary = serde_json::to_value(Summary::of(sc, sim)).unwrap();
    // The work counters differ by design, and `techniques` names the switches.
    summary.as_object_mut().unwrap().remove("scheduler");
    summary.as_object_mut().unwrap().remove("techniques");
    // Every sample: these runs are far below the thinning threshold.
    let series = sim.series();
    assert!(series.rows() <= borgsim::metrics::timeseries::KEPT_SAMPLES_MAX as u64);
    let samples: Vec<String> = series.samples().map(|s| format!("{s:?}")).collect();
    let why: Vec<String> = st
        .live_jobs()
        .map(|j| format!("{:?}", sim.scheduler().why_pending(j.id)))
        .collect();
    format!("{tasks:?}\n{summary}\n{samples:?}\n{why:?}")
}

fn run(sc: Scenario, t: Techniques) -> (String, SchedStats) {
    run_with(sc, t, None)
}

/// Runs `sc` with the techniques `t` and, if given, the scheduler on
/// `profile` instead of the scenario policy's pipeline.
pub(crate) fn run_with(
    mut sc: Scenario,
    t: Techniques,
    profile: Option<Profile>,
) -> (String, SchedStats) {
    sc.scheduler.score_cache = t.score_cache;
    sc.scheduler.equivalence_classes = t.equivalence_classes;
    sc.scheduler.relaxed_randomization = t.relaxed_randomization;
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    if let Some(profile) = profile {
        sim = sim.with_profile(profile);
    }
    sim.run(&mut |_| {}).unwrap();
    (decisions(&sc, &sim), sim.scheduler().stats().clone())
}

/// The exact techniques, and each of the two caches alone: every one must
/// decide as the exhaustive pipeline does.
pub(crate) const EXACT_VARIANTS: [Techniques; 3] = [
    Techniques::EXACT,
    Techniques {
        equivalence_classes: false,
        ..Techniques::EXACT
    },
    Techniques {
        score_cache: false,
        ..Techniques::EXACT
    },
];

fn assert_identical(sc: Scenario) {
    assert_identical_with(sc, &|| None);
}

/// Runs `sc` exhaustively and under each of [`EXACT_VARIANTS`], the
/// scheduler on `profile()` if it gives one, and asserts the same decisions.
pub(crate) fn assert_identical_with(sc: Scenario, profile: &dyn Fn() -> Option<Profile>) {
    let (exhaustive, base) = run_with(sc.clone(), Techniques::NONE, profile());
    for t in EXACT_VARIANTS {
        let (got, stats) = run_with(sc.clone(), t, profile());
        assert!(
            got == exhaustive,
            "{}: decisions differ with {t:?}",
            sc.name
        );
        assert_eq!(stats.placements, base.placements);
        assert!(stats.feasibility_checks <= base.feasibility_checks, "{t:?}");
    }
}

#[test]
fn quickstart_decides_the_same_with_every_technique() {
    assert_identical(Scenario::quickstart());
}

#[test]
fn tiny_and_fragmentation_decide_the_same() {
    use borgsim::sched::Policy;
    for policy in Policy::ALL {
        let mut sc = Scenario::load(&root().join("tests/golden/tiny.toml")).unwrap();
        sc.scheduler.policy = *policy;
        assert_identical(sc);
        // fragmentation's cell has no GPUs: the GPU policies are refused on it.
        if !policy.needs_gpus() {
            let mut sc = Scenario::load(&root().join("scenarios/fragmentation.toml")).unwrap();
            sc.scheduler.policy = *policy;
            assert_identical(sc);
        }
    }
}

#[test]
fn caching_cuts_the_work_on_churn() {
    // 1000 machines, 100k one-task jobs of 12 shapes, trimmed to 10k jobs.
    let mut sc = Scenario::load(&root().join("scenarios/churn-1k.toml")).unwrap();
    if let Some(borgsim::scenario::Arrival::Uniform { count, .. }) =
        &mut sc.workload.jobs[0].arrival
    {
        *count = 10_000;
    }
    let (exhaustive, base) = run(sc.clone(), Techniques::NONE);
    let (cached, stats) = run(sc, Techniques::EXACT);
    assert!(cached == exhaustive);
    // Exhaustive: every task filters all 1000 machines.
    assert_eq!(base.feasibility_checks, 10_000 * 1000);
    // Cached: 12 shapes build 12 caches; the rest re-evaluates changed machines only.
    assert_eq!(stats.class_caches_built, 12);
    assert_eq!(stats.equivalence_reuses, 10_000 - 12);
    assert!(
        stats.feasibility_checks * 10 < base.feasibility_checks,
        "{stats:?}"
    );
}

#[test]
fn randomization_is_reproducible_and_seeded() {
    let at = |seed: u64, t: Techniques| {
        let mut sc = Scenario::quickstart();
        sc.seed = seed;
        run(sc, t)
    };
    let (a, sa) = at(42, Techniques::ALL);
    let (b, sb) = at(42, Techniques::ALL);
    assert!(a == b && sa == sb, "same seed, same run");
    // Without caches the sampled scan examines fewer machines than a full scan.
    let sampled_only = Techniques {
        relaxed_randomization: true,
        ..Techniques::NONE
    };
    let (_, sampled) = at(42, sampled_only);
    let (_, full) = at(42, Techniques::NONE);
    assert!(sampled.feasibility_checks < full.feasibility_checks);
    // The sampled order comes from the scheduler's stream: the seed matters
    // even to this part of the run.
    let (c, _) = at(43, Techniques::ALL);
    assert!(a != c);
}

#[test]
fn sampled_caches_keep_every_invariant() {
    // 250 machines: relaxed randomization examines 120 of them per class
    // (Kubernetes' rule), so the sampled paths run; check after every event.
    let mut sc = Scenario::quickstart();
    sc.duration_s = Some(1200);
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let s = Summary::of(&sc, &sim);
    assert!(s.tasks.scheduled > 0 && s.scheduler.cache_hits > 0);
    assert!(s.scheduler.feasibility_checks < s.scheduler.tasks_attempted * 250);
}
