//! Placement across failure domains and after failures: the spreading
//! score and the failure-history filter decide the same with and without
//! the caches (every decision of a run with failures compared), the
//! spreading score spreads, and the filter keeps a task off the machine it
//! failed on.
//!
//! Faults are made here by evicting running tasks through `CellState` with
//! cause `machine_failure` or `task_crash`, between scheduling passes, as
//! an injector would.

use super::techniques::{assert_identical_with, EXACT_VARIANTS};
use borgsim::cell::state::{CellState, EvictionCause, TaskState};
use borgsim::rng::{RngStreams, Stream};
use borgsim::scenario::Scenario;
use borgsim::sched::plugins::spreading::LevelWeights;
use borgsim::sched::reason::Reason;
use borgsim::sched::{Action, Policy, SchedConfig, Scheduler, Techniques};
use borgsim::testkit::{CellBuilder, SpecBuilder};
use borgsim::time::{SimDuration, SimTime};

/// 12 machines of 3 sizes, two per rack, three racks per power domain.
fn cell() -> CellState {
    CellBuilder::new()
        .machines(4, 4000, 8192, 0)
        .machines(4, 8000, 16384, 0)
        .machines(4, 16000, 32768, 0)
        .domains(2, 3)
        .build()
}

/// A run of 240 one-second steps: jobs arrive (several of one shape, so
/// that classes are shared), a scheduling pass runs each second, and every
/// 3rd second a running task fails (machine failure or crash, by turns),
/// every 7th one finishes; returns every action and why-pending record, in
/// order, and the scheduler's counters.
fn transcript(config: SchedConfig) -> (String, borgsim::sched::SchedStats) {
    let (out, stats, _) = transcript_counting(config);
    (out, stats)
}

/// [`transcript`], and the machines rejected as `task_failed_here` over
/// every failed attempt recorded.
fn transcript_counting(config: SchedConfig) -> (String, borgsim::sched::SchedStats, u64) {
    let mut failed_here = 0u64;
    let mut st = cell();
    st.count_spread_for_all(config.spreading.is_some());
    st.remember_failures(config.avoid_failed);
    let mut sched = Scheduler::new(config, RngStreams::new(7).stream(Stream::Scheduler));
    let mut out = String::new();
    let mut actions = Vec::new();
    for step in 0..240u64 {
        let now = SimTime::from_secs(step);
        if step.is_multiple_of(10) {
            let (cpu, mem) = [(1000, 2048), (2000, 1024), (1000, 2048)][(step / 10) as usize % 3];
            let spec = SpecBuilder::new(cpu, mem)
                .priority([100, 200, 0][(step / 10) as usize % 3])
                .tasks(3 + (step / 10) as usize % 4, None)
                .build();
            st.submit_job(now, spec);
        }
        st.advance(now);
        actions.clear();
        sched.pass(&mut st, now, &mut actions);
        out += &format!("{step}: {actions:?}\n");
        for j in st.live_jobs().map(|j| j.id).collect::<Vec<_>>() {
            let why = sched.why_pending(j);
            out += &format!("  {j}: {why:?}\n");
            if let Some(w) = why.filter(|w| w.attempt_us == now.as_us()) {
                failed_here += u64::from(w.counts.0[Reason::TaskFailedHere as usize]);
            }
        }
        fault(&mut st, step, now);
        st.reclaim();
    }
    (out, sched.stats().clone(), failed_here)
}

/// Every 3rd second the running task with the lowest id on the machine
/// `step / 3 mod 12` (or the next machine holding one) fails; every 7th
/// second the running task with the highest id finishes.
fn fault(st: &mut CellState, step: u64, now: SimTime) {
    let running: Vec<(u32, u32, u32)> = st
        .live_tasks()
        .filter_map(|(t, r)| match r.state {
            TaskState::Running { machine, .. } => Some((t, machine, r.incarnation)),
            _ => None,
        })
        .collect();
    if step.is_multiple_of(3) {
        let first = (step / 3 % 12) as u32;
        let victim = (0..12)
            .map(|k| (first + k) % 12)
            .find_map(|m| running.iter().find(|r| r.1 == m));
        if let Some(&(t, _, _)) = victim {
            let cause = if step.is_multiple_of(2) {
                EvictionCause::MachineFailure
            } else {
                EvictionCause::TaskCrash
            };
            st.evict(now, t, cause);
        }
    } else if step.is_multiple_of(7) {
        if let Some(&(t, _, inc)) = running.iter().max_by_key(|r| r.0) {
            assert!(st.finish(now, t, inc));
        }
    }
}

fn config(techniques: Techniques, spreading: bool, avoid: bool) -> SchedConfig {
    let mut c = SchedConfig::new(Policy::BestFit, true);
    c.techniques = techniques;
    c.spreading = spreading.then_some(LevelWeights {
        rack: 2,
        power: 1,
        ..LevelWeights::default()
    });
    c.avoid_failed = avoid.then(|| SimDuration::from_secs(60));
    c
}

#[test]
fn failure_history_decides_the_same_with_every_cache() {
    let (exhaustive, base, failed_here) =
        transcript_counting(config(Techniques::NONE, false, true));
    assert!(failed_here > 0, "some attempt met the filter");
    for t in EXACT_VARIANTS {
        let (got, stats) = transcript(config(t, false, true));
        assert!(got == exhaustive, "decisions differ with {t:?}");
        assert_eq!(stats.placements, base.placements);
        assert!(stats.feasibility_checks < base.feasibility_checks, "{t:?}");
        assert!(stats.class_cache_uses > 0, "{t:?}: the caches served tasks");
    }
}

#[test]
fn spreading_decides_the_same_with_every_cache() {
    let (exhaustive, base) = transcript(config(Techniques::NONE, true, true));
    for t in EXACT_VARIANTS {
        let (got, stats) = transcript(config(t, true, true));
        assert!(got == exhaustive, "decisions differ with {t:?}");
        assert_eq!(stats.placements, base.placements);
    }
}

#[test]
fn a_task_does_not_go_back_to_the_machine_it_failed_on() {
    // One job of one task on two equal machines, best fit: it lands on
    // machine 0 (ties go to the lower id). It fails there; with the filter
    // on it is placed on machine 1, without it back on machine 0.
    for (avoid, back_on) in [(true, 1), (false, 0)] {
        let mut st = CellBuilder::new().machines(2, 1000, 1000, 0).build();
        let c = config(Techniques::EXACT, false, avoid);
        st.remember_failures(c.avoid_failed);
        let mut sched = Scheduler::new(c, RngStreams::new(1).stream(Stream::Scheduler));
        let j = st.submit_job(SimTime::ZERO, SpecBuilder::new(100, 100).build());
        let t = st.job(j).tasks[0];
        let mut actions = Vec::new();
        sched.pass(&mut st, SimTime::ZERO, &mut actions);
        assert_eq!(
            actions,
            [Action::Place {
                task: t,
                machine: 0
            }]
        );
        st.evict(SimTime::from_secs(1), t, EvictionCause::MachineFailure);
        actions.clear();
        sched.pass(&mut st, SimTime::from_secs(1), &mut actions);
        assert_eq!(
            actions,
            [Action::Place {
                task: t,
                machine: back_on
            }],
            "avoid {avoid}"
        );
    }
}

#[test]
fn spreading_puts_a_jobs_tasks_in_different_racks() {
    // Eight equal machines, two per rack (racks {0,1} {2,3} {4,5} {6,7}).
    // Best fit alone stacks the 4 small tasks of a job on machine 0; with
    // the spreading score on racks each task lands in another rack.
    for (spreading, racks) in [(false, vec![0, 0, 0, 0]), (true, vec![0, 1, 2, 3])] {
        let mut st = CellBuilder::new()
            .machines(8, 4000, 4000, 0)
            .domains(2, 4)
            .build();
        let c = config(Techniques::EXACT, spreading, false);
        st.count_spread_for_all(spreading);
        let mut sched = Scheduler::new(c, RngStreams::new(1).stream(Stream::Scheduler));
        st.submit_job(
            SimTime::ZERO,
            SpecBuilder::new(100, 100).tasks(4, None).build(),
        );
        let mut actions = Vec::new();
        sched.pass(&mut st, SimTime::ZERO, &mut actions);
        let got: Vec<u32> = actions
            .iter()
            .map(|a| match a {
                Action::Place { machine, .. } => st.cell().domains.rack_of(*machine as usize),
                Action::Evict { .. } => panic!("nothing to evict"),
            })
            .collect();
        assert_eq!(got, racks, "spreading {spreading}");
    }
}

#[test]
fn quickstart_with_spreading_and_history_decides_the_same() {
    let mut sc = Scenario::quickstart();
    sc.scheduler.spreading = Some(LevelWeights {
        machine: 1,
        rack: 1,
        ..LevelWeights::default()
    });
    sc.scheduler.avoid_failed_s = Some(600);
    assert_identical_with(sc, &|| None);
}
