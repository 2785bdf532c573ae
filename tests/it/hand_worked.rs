//! Small cells whose every number is worked out by hand in the comments.
//! Don't change an expected value here without redoing the arithmetic.

use borgsim::cell::resources::{GpuRequest, Resources};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sched::reason::Reason;
use borgsim::sched::{Policy, SchedConfig};
use borgsim::sim::Simulation;
use borgsim::testkit::{options, simulation, CellBuilder, SpecBuilder};
use borgsim::time::{SimDuration, SimTime};
use borgsim::workload::JobSpec;

/// (name, priority, tasks, milli-cores each, seconds each): 1000 MiB each.
fn spec(name: &str, prio: u32, tasks: usize, cpu: u64, secs: Option<u64>) -> JobSpec {
    SpecBuilder::new(cpu, 1000)
        .name(name)
        .priority(prio)
        .tasks(tasks, secs)
        .build()
}

/// Two machines of 4000 milli-cores and 8000 MiB in one rack, 100 s, a
/// pass every second, hybrid scoring with preemption.
fn simulate(jobs: Vec<(SimTime, JobSpec)>) -> Simulation {
    let st = CellBuilder::new()
        .machines(2, 4000, 8000, 0)
        .domains(2, 1)
        .build();
    let mut opts = options(100, 1000, SchedConfig::new(Policy::Hybrid, true));
    opts.sample_interval = SimDuration::from_secs(10);
    let mut sim = simulation(st, jobs, opts);
    sim.run(&mut |_| {}).unwrap();
    sim
}

#[test]
fn prod_preempts_batch_and_the_victims_come_back() {
    // Two machines of 4000 mcpu / 8000 MiB.
    // t=0: batch job, 4 tasks of 2000 mcpu for 50 s: two per machine (hybrid
    //      ties on stranding, best fit packs machine 0 first), cell CPU full.
    // t=10: a prod task of 3000 mcpu. Nothing is free; both machines offer
    //      2 batch victims at cost (110, 2, 220); the tie goes to machine 0.
    //      Evict both (reprieving either leaves 2000 < 3000 free).
    // t=11: the victims find no room (machine 0 has 1000 free).
    // t=50: the batch tasks on machine 1 finish; the victims restart there,
    //      for 50 s, so they are still running at the end (t=100).
    let sim = simulate(vec![
        (SimTime::ZERO, spec("batch", 110, 4, 2000, Some(50))),
        (SimTime::from_secs(10), spec("prod", 200, 1, 3000, None)),
    ]);
    let sc = Scenario::quickstart(); // only names the summary
    let s = Summary::of(&sc, &sim);
    assert_eq!(s.tasks.submitted, 5);
    assert_eq!(s.tasks.scheduled, 5);
    assert_eq!(s.tasks.placements, 7); // 5 first starts + 2 restarts
    assert_eq!(s.tasks.finished, 2);
    assert_eq!(s.tasks.running_at_end, 3);
    assert_eq!(s.tasks.pending_at_end, 0);
    assert_eq!(s.tasks.evicted, 2);
    assert_eq!(s.evictions["preemption"], 2);
    assert_eq!(s.scheduler.preemption_placements, 1);
    // CPU·s: prod 3000 × 90 s = 270,000 of 8000 × 100 = 800,000 -> 0.3375.
    assert_eq!(s.utilization.cpu.prod, 0.3375);
    // Batch: 8000 × 10 + 4000 × 40 + 4000 × 50 = 440,000 -> 0.55.
    assert_eq!(s.utilization.cpu.nonprod, 0.55);
    // Every first start happened in the pass at its arrival time.
    assert_eq!(s.wait_us.prod.max, Some(0));
    assert_eq!(s.wait_us.nonprod.max, Some(0));
    // The prod task sits on machine 0, with the two restarted victims on 1.
    assert_eq!(sim.state().machine(0).free, Resources::new(1000, 7000));
    assert_eq!(sim.state().machine(1).free, Resources::new(0, 6000));
}

#[test]
fn why_pending_counts_each_machine_under_its_first_failing_filter() {
    // A prod job of 3 tasks, at most 1 per machine, on 2 machines: 2 run, and
    // the third is rejected by both machines for max_per_machine.
    let spread = SpecBuilder::new(1000, 1000)
        .name("svc")
        .priority(200)
        .tasks(3, None)
        .max_per_machine(1)
        .build();
    // A batch task of 5000 mcpu: bigger than any machine (4000): never schedulable.
    let huge = spec("huge", 110, 1, 5000, None);
    // A batch task of 3500: fits an empty machine, but 3000 is free on each.
    let tight = spec("tight", 110, 1, 3500, None);
    let sim = simulate(vec![
        (SimTime::ZERO, spread),
        (SimTime::ZERO, huge),
        (SimTime::ZERO, tight),
    ]);
    let s = Summary::of(&Scenario::quickstart(), &sim);
    assert_eq!(s.tasks.pending_at_end, 3);
    assert_eq!(s.tasks.never_schedulable, 1);
    let why = sim.scheduler().why_pending(0).expect("svc attempted");
    assert_eq!(why.counts.get(Reason::MaxPerMachine), 2);
    assert_eq!(why.counts.total(), 2);
    // The tight task: 1000 of 4000 used on each machine, 3000 < 3500 free,
    // and no lower-priority task to evict: 2 × insufficient cpu.
    let why = sim.scheduler().why_pending(2).expect("tight attempted");
    assert_eq!(why.counts.get(Reason::InsufficientCpu), 2);
    assert_eq!(
        why.counts.describe(2),
        "0/2 machines are available: 2 insufficient_cpu"
    );
    // The never-schedulable job is not even attempted.
    assert!(sim.scheduler().why_pending(1).is_none());
}

#[test]
fn gpu_allocation_per_band_is_time_weighted() {
    // One machine of 4 GPUs (and room for everything else), 100 s.
    // t=0: a prod task of 2 whole GPUs, running to the end: 2/4 of the
    //      GPUs for 100 of 100 s = 0.5.
    // t=0: a batch task of 1 whole GPU for 50 s: 1/4 for 50/100 = 0.125.
    // t=0: a best-effort task of half a GPU (500 milli) for 20 s:
    //      0.5/4 for 20/100 = 0.025.
    // Monitoring: nothing, 0. The bands add up to the cell's total:
    // 0.5 + 0.125 + 0.025 = 0.65; prod 0.5, non-prod 0.15.
    let st = CellBuilder::new().machines(1, 16000, 64000, 4).build();
    let opts = options(100, 1000, SchedConfig::new(Policy::BestFit, false));
    let gpu = |name: &str, prio, g, secs| {
        SpecBuilder::new(1000, 1000)
            .name(name)
            .priority(prio)
            .gpu(g)
            .tasks(1, secs)
            .build()
    };
    let mut sim = simulation(
        st,
        vec![
            (SimTime::ZERO, gpu("prod", 200, GpuRequest::Whole(2), None)),
            (
                SimTime::ZERO,
                gpu("batch", 110, GpuRequest::Whole(1), Some(50)),
            ),
            (
                SimTime::ZERO,
                gpu("be", 10, GpuRequest::Share(500), Some(20)),
            ),
        ],
        opts,
    );
    sim.run(&mut |_| {}).unwrap();
    let s = Summary::of(&Scenario::quickstart(), &sim);
    let gpu_of = |band: &str| s.by_band[band].gpu_utilization;
    assert_eq!(gpu_of("production"), 0.5);
    assert_eq!(gpu_of("batch"), 0.125);
    assert_eq!(gpu_of("best_effort"), 0.025);
    assert_eq!(gpu_of("monitoring"), 0.0);
    assert_eq!(s.utilization.gpu.total, 0.65);
    assert_eq!(s.utilization.gpu.prod, 0.5);
    assert_eq!(s.utilization.gpu.nonprod, 0.15);
    // A cell without GPUs: 0 in every band, not a division by zero.
    let sim = simulate(vec![(SimTime::ZERO, spec("batch", 110, 1, 1000, None))]);
    let s = Summary::of(&Scenario::quickstart(), &sim);
    assert!(s.by_band.values().all(|b| b.gpu_utilization == 0.0));
}
