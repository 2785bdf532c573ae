//! Reclamation (issue 13): usage apart from requests, non-prod admitted
//! against reservations, CPU throttled and memory overruns killed.
//!
//! Hand-worked cells show a non-prod task that fits only thanks to
//! reclaimed capacity (under `on`, not under `off` or `measure`) and
//! memory overruns killing the lowest priority first; runs of the tiny
//! scenario with usage that changes every minute decide the same with and
//! without the caches, reproduce, keep every task accounted for and pass
//! the invariant checker after every event; `mode = "off"` is byte for
//! byte a run without the table.

use super::techniques::{decisions, EXACT_VARIANTS};
use super::{borgsim, root, text};
use borgsim::cell::resources::Resources;
use borgsim::cell::state::usage::{ReclamationMode, Settings};
use borgsim::cell::state::{CellState, EvictionCause, TaskState};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sched::{Policy, SchedConfig, SchedStats, Techniques};
use borgsim::sim::Simulation;
use borgsim::testkit::{cell, job, options, simulation};
use borgsim::time::{SimDuration, SimTime};
use borgsim::workload::job::JobInfo;
use borgsim::workload::usage::{FixedShare, ModelId, UsageKey, UsageSource};
use borgsim::workload::Band;

/// Borg's defaults (300 s delay, a 10 % margin, a quarter of the gap per
/// tick, no overcommit) in `mode`.
fn borg(mode: ReclamationMode) -> Settings {
    Settings {
        mode,
        delay: SimDuration::from_secs(300),
        margin_permille: 100,
        decay_permille: 250,
        overcommit_permille: [1000, 1000],
    }
}

/// A usage that changes every minute: a share of the limit drawn from a
/// hash of (salt, job serial, task index, minute): CPU 200–1000 ‰, memory
/// 300–1000 ‰. A pure function of its arguments, as the trait requires.
struct Wavy {
    salt: u64,
}

impl UsageSource for Wavy {
    fn model_of(&self, _job: &JobInfo) -> ModelId {
        ModelId(0)
    }

    fn usage(&self, _m: ModelId, key: UsageKey, limit: &Resources, now: SimTime) -> Resources {
        let minute = now.as_us() / 60_000_000;
        let mut x = self.salt ^ key.job_serial.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= u64::from(key.index).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ minute.rotate_left(17);
        x = (x ^ (x >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 29;
        let share = |v: u64, p: u64| v * p / 1000;
        Resources::new(
            share(limit.cpu_milli, 200 + x % 801),
            share(limit.mem_mib, 300 + (x >> 20) % 701),
        )
    }
}

/// Every task uses `before` ‰ of its limit until `at`, then all of it.
struct Step {
    before: u32,
    at: SimTime,
}

impl UsageSource for Step {
    fn model_of(&self, _job: &JobInfo) -> ModelId {
        ModelId(0)
    }

    fn usage(&self, m: ModelId, key: UsageKey, limit: &Resources, now: SimTime) -> Resources {
        let p = if now < self.at { self.before } else { 1000 };
        let share = FixedShare {
            cpu_permille: p,
            mem_permille: p,
        };
        share.usage(m, key, limit, now)
    }
}

/// One machine of 4000 milli-cores / 8000 MiB; prod asks 3000 / 6000 at
/// 0 s, batch 2000 / 4000 at 100 s; both use half their limit; 1800 s.
pub(super) fn reclaimed_cell(mode: ReclamationMode) -> Simulation {
    let jobs = vec![
        (SimTime::ZERO, job(3000, 6000, 200, 1)),
        (SimTime::from_secs(100), job(2000, 4000, 100, 1)),
    ];
    let sched = SchedConfig::new(Policy::WorstFit, false);
    let mut sim = simulation(cell(&[(4000, 8000, 0)]), jobs, options(1800, 1000, sched));
    if mode != ReclamationMode::Off {
        let half = FixedShare {
            cpu_permille: 500,
            mem_permille: 500,
        };
        sim.reclaim(borg(mode), SimDuration::from_secs(300), Box::new(half));
    }
    sim.run(&mut |_| {}).unwrap();
    sim
}

/// The first start of the only task of priority `p`.
fn started(st: &CellState, p: u32) -> Option<SimTime> {
    let (_, rec) = st
        .live_tasks()
        .find(|(_, r)| st.shape_of(r).priority == p)
        .expect("a task of that priority");
    rec.first_start()
}

#[test]
fn a_batch_task_fits_only_in_reclaimed_capacity() {
    // By limits 1000 / 2000 is left: the batch task never fits.
    for mode in [ReclamationMode::Off, ReclamationMode::Measure] {
        let sim = reclaimed_cell(mode);
        assert_eq!(started(sim.state(), 100), None, "{mode:?}");
        assert_eq!(started(sim.state(), 200), Some(SimTime::ZERO));
    }
    // On: prod uses 1500 / 3000; from 300 s its reservation decays toward
    // 1650 / 3300 (10 % margin), a quarter of the gap per 300 s tick:
    //   cpu 3000 → 2662 → 2409 → 2219 → 2076 → 1969 (1650 + ⌊426 × 0.75⌋)
    //   mem 6000 → 5325 → 4818 → 4438 → 4153 → 3939
    // At 1500 s 4000 − 1969 = 2031 and 8000 − 3939 = 4061 are left for the
    // batch task's 2000 / 4000: it starts then, on reclaimed resources.
    let sim = reclaimed_cell(ReclamationMode::On);
    let st = sim.state();
    assert_eq!(started(st, 100), Some(SimTime::from_secs(1500)));
    let b = st.usage_books().unwrap();
    assert_eq!(
        b.machine(0).reserved,
        Resources::new(1969 + 2000, 3939 + 4000)
    );
    // Limits 5000 / 10000 on a 4000 / 8000 machine for the last 300 s (the
    // run ends at 1800 s): 1000 milli-cores × 300 s and 2000 MiB × 300 s ran
    // on reclaimed capacity.
    let l = b.ledger();
    assert_eq!(l.excess_integral, [1000 * 300_000_000, 2000 * 300_000_000]);
    // Usage 2500 / 5000 fits: nothing throttled or killed.
    assert_eq!(l.throttled_integral, [0; 4]);
    assert_eq!(
        st.ledger().evictions[EvictionCause::OutOfMemory as usize],
        0
    );
}

#[test]
fn the_summary_gives_the_reclaimed_share_and_the_used_share_of_the_cell() {
    // reclaimed_cell under `on`, 1800 s: prod 3000 / 6000 all the run,
    // batch 2000 / 4000 from 1500 s, each using half its limit.
    let sim = reclaimed_cell(ReclamationMode::On);
    let r =
        borgsim::metrics::reclamation::ReclamationSummary::of(sim.state(), sim.end_time()).unwrap();
    // Reclaimed: 1000 × 300 over limits 3000 × 1800 + 2000 × 300 = 6.0e6
    // → 0.05; memory 2000 × 300 over 6000 × 1800 + 4000 × 300 = 1.2e7
    // → 0.05.
    assert_eq!((r.reclaimed_share.cpu, r.reclaimed_share.mem), (0.05, 0.05));
    // Used: prod 1500 × 1800 = 2.7e6, batch 1000 × 300 = 3e5, over
    // capacity 4000 × 1800 = 7.2e6: 0.375 and 0.041667, 0.416667 in all;
    // memory the same shares (3000 and 2000 on 8000).
    let u = &r.usage_utilization;
    assert_eq!(
        (u.cpu.prod, u.cpu.nonprod, u.cpu.total),
        (0.375, 0.041667, 0.416667)
    );
    assert_eq!(
        (u.mem.prod, u.mem.nonprod, u.mem.total),
        (0.375, 0.041667, 0.416667)
    );
    assert_eq!(r.by_band["production"].usage_cpu_utilization, 0.375);
    assert_eq!(r.by_band["batch"].usage_mem_utilization, 0.041667);
    assert_eq!((r.throttled_cpu_core_s, r.oom_kills), (0.0, 0));
}

/// One machine of 4000 / 8000 at 0 s: prod P and batch B of 2000 / 4000
/// (they fill the limits), and a best-effort job of two such tasks; all use
/// a quarter of their limit until 3000 s, then all of it. Reservations
/// reach their target in one tick (decay 1000 ‰).
fn rising_usage(mode: ReclamationMode) -> Simulation {
    let jobs = vec![
        (SimTime::ZERO, job(2000, 4000, 200, 1)),
        (SimTime::ZERO, job(2000, 4000, 100, 1)),
        (SimTime::ZERO, job(2000, 4000, 0, 2)),
    ];
    let sched = SchedConfig::new(Policy::BestFit, false);
    let mut sim = simulation(cell(&[(4000, 8000, 0)]), jobs, options(4000, 1000, sched));
    let settings = Settings {
        decay_permille: 1000,
        ..borg(mode)
    };
    let step = Step {
        before: 250,
        at: SimTime::from_secs(3000),
    };
    sim.reclaim(settings, SimDuration::from_secs(300), Box::new(step));
    sim.run(&mut |_| {}).unwrap();
    sim
}

#[test]
fn memory_overruns_kill_the_lowest_priority_first() {
    // At 300 s P's and B's reservations fall to 550 / 1100 (500 + 10 %):
    // the first best-effort task fits by reservations; at 600 s its own
    // does, and the second fits too. At 3000 s every task uses its limit:
    // 16000 MiB on 8000. The best-effort tasks are killed — the second
    // (started later) first, then the first — and 8000 fits: batch and
    // prod run on. Their reservations are their limits again: the
    // best-effort tasks wait, pending.
    let sim = rising_usage(ReclamationMode::On);
    let st = sim.state();
    let l = st.ledger();
    let oom = l.evictions_by_band[EvictionCause::OutOfMemory as usize];
    assert_eq!(
        oom,
        [2, 0, 0, 0],
        "two best-effort kills, no batch, no prod"
    );
    let be = Band::BestEffort.index();
    // The work lost: 3000 − 300 and 3000 − 600 seconds.
    let lost = l.lost_work_us[EvictionCause::OutOfMemory as usize][be];
    assert_eq!(lost, (2700 + 2400) * 1_000_000);
    for (_, rec) in st.live_tasks() {
        let running = matches!(rec.state, TaskState::Running { .. });
        assert_eq!(running, st.shape_of(rec).band() != Band::BestEffort);
    }
    // Scheduling by limits, the best-effort tasks never start: no kill.
    let sim = rising_usage(ReclamationMode::Measure);
    let l = sim.state().ledger();
    assert_eq!(l.evictions[EvictionCause::OutOfMemory as usize], 0);
    assert_eq!(l.tasks_started, 2);
}

/// The tiny scenario (prod, batch, best effort, GPUs, preemption) under
/// `policy`, with techniques `t`, memory overcommitted by half: usage
/// changes every minute and the tick runs every minute.
fn tiny_reclaiming(policy: Policy, t: Techniques, mode: ReclamationMode) -> (Scenario, Simulation) {
    let mut sc = Scenario::load(&root().join("tests/golden/tiny.toml")).unwrap();
    sc.scheduler.policy = policy;
    sc.scheduler.score_cache = t.score_cache;
    sc.scheduler.equivalence_classes = t.equivalence_classes;
    sc.scheduler.relaxed_randomization = t.relaxed_randomization;
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    let settings = Settings {
        delay: SimDuration::from_secs(120),
        overcommit_permille: [1200, 1500],
        ..borg(mode)
    };
    let wavy = Wavy { salt: 11 };
    sim.reclaim(settings, SimDuration::from_secs(60), Box::new(wavy));
    sim.run(&mut |_| {}).unwrap();
    (sc, sim)
}

/// [`tiny_reclaiming`]'s decisions (see `techniques::decisions`) and work.
fn tiny_decisions(policy: Policy, t: Techniques) -> (String, SchedStats) {
    let (sc, sim) = tiny_reclaiming(policy, t, ReclamationMode::On);
    (decisions(&sc, &sim), sim.scheduler().stats().clone())
}

#[test]
fn caches_decide_like_the_exhaustive_pipeline_with_usage_changing() {
    for policy in [Policy::Hybrid, Policy::BestFit, Policy::WorstFit] {
        let (exhaustive, base) = tiny_decisions(policy, Techniques::NONE);
        for t in EXACT_VARIANTS {
            let (got, stats) = tiny_decisions(policy, t);
            assert!(got == exhaustive, "{policy:?}: decisions differ with {t:?}");
            assert_eq!(stats.placements, base.placements);
        }
    }
    // Not vacuous: work ran on reclaimed capacity, CPU was throttled and
    // memory overruns killed tasks, none of them prod.
    let (sc, sim) = tiny_reclaiming(Policy::Hybrid, Techniques::EXACT, ReclamationMode::On);
    let s = Summary::of(&sc, &sim);
    let r = s.reclamation.as_ref().unwrap();
    assert!(
        r.reclaimed_cpu_core_s > 0.0 && r.reclaimed_mem_mib_s > 0.0,
        "{r:?}"
    );
    let throttled: f64 = r.by_band.values().map(|b| b.throttled_cpu_core_s).sum();
    let kills: u64 = r.by_band.values().map(|b| b.oom_kills).sum();
    assert!(throttled > 0.0 && kills > 0, "{r:?}");
    for band in Band::ALL.iter().filter(|b| b.is_prod()) {
        let b = &r.by_band[band.name()];
        assert_eq!((b.throttled_cpu_core_s, b.oom_kills), (0.0, 0), "{band:?}");
    }
    assert_eq!(s.evictions["out_of_memory"], kills);
    assert!(s.tasks.conservation.holds, "{:?}", s.tasks);
}

#[test]
fn runs_with_reclamation_reproduce() {
    // Relaxed randomization too: its draws come from the seed.
    for t in [Techniques::ALL, Techniques::NONE] {
        let (a, _) = tiny_decisions(Policy::Hybrid, t);
        let (b, _) = tiny_decisions(Policy::Hybrid, t);
        assert!(a == b, "{t:?}");
    }
}

#[test]
fn measuring_decides_as_scheduling_without_reclamation() {
    let tasks = |sim: &Simulation| -> Vec<String> {
        let st = sim.state();
        st.live_tasks()
            .map(|(t, r)| format!("{t}: {:?} {} {:?}", r.state, r.evictions, r.first_start()))
            .collect()
    };
    let (_, measured) = tiny_reclaiming(Policy::Hybrid, Techniques::ALL, ReclamationMode::Measure);
    let sc = Scenario::load(&root().join("tests/golden/tiny.toml")).unwrap();
    let mut off = borgsim::build_simulation(&sc, true).unwrap();
    off.run(&mut |_| {}).unwrap();
    assert_eq!(tasks(&measured), tasks(&off));
    assert_eq!(measured.scheduler().stats(), off.scheduler().stats());
    let b = measured.state().usage_books().unwrap().ledger();
    assert_eq!(b.excess_integral, [0, 0], "nothing on reclaimed capacity");
    assert!(b.usage_integral.iter().any(|u| u[0] > 0));
}

/// Runs `scenario` (a path) with the binary into a new directory.
pub(super) fn run_binary(scenario: &std::path::Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let o = borgsim(
        &root(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    out
}

/// Every file of a run's directory but run.json (wall time), by name.
fn outputs(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "run.json")
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn mode_off_is_byte_for_byte_a_run_without_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = borgsim::scenario::QUICKSTART_TOML;
    let plain = dir.path().join("plain.toml");
    let off = dir.path().join("off.toml");
    std::fs::write(&plain, quickstart).unwrap();
    std::fs::write(
        &off,
        format!("{quickstart}\n[reclamation]\nmode = \"off\"\n"),
    )
    .unwrap();
    let (a, b) = (
        outputs(run_binary(&plain).path()),
        outputs(run_binary(&off).path()),
    );
    assert!(a.contains_key("summary.json") && a.contains_key("timeseries.csv"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(*bytes == b[name], "{name} differs with mode = \"off\"");
    }
    let summary = String::from_utf8(a["summary.json"].clone()).unwrap();
    assert!(!summary.contains("reclamation") && !summary.contains("out_of_memory"));
    // Nor has timeseries.csv any usage column.
    let series = String::from_utf8(a["timeseries.csv"].clone()).unwrap();
    let header = series.lines().next().unwrap();
    for column in [
        "usage_",
        "reservation_",
        "throttled_",
        "out_of_memory",
        "capacity_",
    ] {
        assert!(!header.contains(column), "{column} in {header}");
    }
}

#[test]
fn the_binary_runs_reclamation_alike_twice_and_refuses_bad_keys() {
    let on = root().join("tests/fixtures/reclamation/on.toml");
    let (a, b) = (
        outputs(run_binary(&on).path()),
        outputs(run_binary(&on).path()),
    );
    assert!(a == b, "two runs differ");
    let summary: serde_json::Value = serde_json::from_slice(&a["summary.json"]).unwrap();
    assert_eq!(summary["reclamation"]["mode"], "on");
    assert!(summary["evictions"]["out_of_memory"].is_u64());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text_on = std::fs::read_to_string(&on).unwrap();
    std::fs::write(&bad, text_on.replace("interval_s = 60", "interval_s = 0")).unwrap();
    let o = borgsim(&root(), &["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("reclamation.interval_s"),
        "{}",
        text(&o.stderr)
    );
}

mod properties {
    //! On random small cells and workloads with reclamation on (random
    //! rules, usage changing every minute, ticks at a random interval),
    //! the checker finds the cell — the usage books included — consistent
    //! after every event, prod is never killed or throttled, and every
    //! task is accounted for.

    use super::Wavy;
    use borgsim::cell::invariants;
    use borgsim::cell::state::usage::{ReclamationMode, Settings};
    use borgsim::cell::state::{CellState, EvictionCause};
    use borgsim::sched::{Policy, SchedConfig};
    use borgsim::testkit::{options, simulation, CellBuilder, SpecBuilder};
    use borgsim::time::{SimDuration, SimTime};
    use proptest::prelude::*;

    /// (cores, GiB) per machine.
    fn machines() -> impl Strategy<Value = Vec<(u64, u64)>> {
        prop::collection::vec((1u64..=16, 1u64..=32), 1..=4)
    }

    /// (arrival s, priority, tasks, milli-cores, MiB, run s).
    type JobArb = (u64, u32, usize, u64, u64, Option<u64>);

    fn jobs() -> impl Strategy<Value = Vec<JobArb>> {
        let prio = prop_oneof![Just(0u32), Just(100), Just(110), Just(200), Just(360)];
        let job = (
            0u64..600,
            prio,
            1usize..=5,
            1u64..=12_000,
            1u64..=24_000,
            prop::option::weighted(0.7, 1u64..500),
        );
        prop::collection::vec(job, 1..=12)
    }

    /// (delay s, margin ‰, decay ‰, overcommit cpu ‰, mem ‰, tick s).
    fn rules() -> impl Strategy<Value = (u64, u32, u32, u32, u32, u64)> {
        (
            0u64..=120,
            0u32..=300,
            0u32..=1000,
            1000u32..=2000,
            1000u32..=2000,
            1u64..=90,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn the_books_hold_after_every_event(
            machines in machines(),
            jobs in jobs(),
            rules in rules(),
            salt in any::<u64>(),
            preemption in any::<bool>(),
            hybrid in any::<bool>(),
        ) {
            let cell = machines
                .iter()
                .fold(CellBuilder::new(), |b, &(c, g)| b.machines(1, c * 1000, g * 1024, 0))
                .build();
            let list = jobs
                .iter()
                .map(|&(at, p, n, cpu, mem, secs)| {
                    let spec = SpecBuilder::new(cpu, mem).priority(p).tasks(n, secs).build();
                    (SimTime::from_secs(at), spec)
                })
                .collect();
            let policy = if hybrid { Policy::Hybrid } else { Policy::WorstFit };
            let mut opts = options(900, 500, SchedConfig::new(policy, preemption));
            opts.check_invariants = false;
            let mut sim = simulation(cell, list, opts);
            let (delay, margin, decay, oc_cpu, oc_mem, tick) = rules;
            let settings = Settings {
                mode: ReclamationMode::On,
                delay: SimDuration::from_secs(delay),
                margin_permille: margin,
                decay_permille: decay,
                overcommit_permille: [oc_cpu, oc_mem],
            };
            sim.reclaim(settings, SimDuration::from_secs(tick), Box::new(Wavy { salt }));
            while sim.step() {
                if let Err(e) = invariants::check(sim.state()) {
                    return Err(TestCaseError::fail(format!("at {}: {e}", sim.now())));
                }
            }
            invariants::check(sim.state()).map_err(TestCaseError::fail)?;
            let st: &CellState = sim.state();
            let oom = st.ledger().evictions_by_band[EvictionCause::OutOfMemory as usize];
            let l = st.usage_books().unwrap().ledger();
            for band in borgsim::workload::Band::ALL.iter().filter(|b| b.is_prod()) {
                prop_assert_eq!(oom[band.index()], 0);
                prop_assert_eq!(l.throttled_integral[band.index()], 0);
            }
            let t = st.ledger();
            let (mut running, mut pending) = (0, 0);
            for (_, r) in st.live_tasks() {
                match r.state {
                    borgsim::cell::state::TaskState::Running { .. } => running += 1,
                    borgsim::cell::state::TaskState::Pending => pending += 1,
                    borgsim::cell::state::TaskState::Finished => {}
                }
            }
            prop_assert_eq!(t.tasks_submitted, t.tasks_finished + running + pending);
        }
    }
}
