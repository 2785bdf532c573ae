//! Property tests: on random small cells and workloads, after every event,
//! the independent checker finds the cell consistent, and the preemption
//! rules hold.

use borgsim::cell::invariants;
use borgsim::cell::resources::GpuRequest;
use borgsim::cell::state::CellState;
use borgsim::sched::{Policy, SchedConfig, Techniques};
use borgsim::sim::Simulation;
use borgsim::testkit::{options, simulation, CellBuilder, SpecBuilder};
use borgsim::time::SimTime;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct MachineArb {
    cpu: u64,
    mem: u64,
    gpus: u32,
    tagged: bool,
}

#[derive(Debug, Clone)]
struct JobArb {
    at_s: u64,
    prio: u32,
    tasks: usize,
    cpu: u64,
    mem: u64,
    gpu: GpuRequest,
    secs: Option<u64>,
    max_per_machine: Option<u32>,
    needs_tag: bool,
}

fn machine() -> impl Strategy<Value = MachineArb> {
    (1u64..=16, 1u64..=32, 0u32..=2, any::<bool>()).prop_map(|(c, m, g, tagged)| MachineArb {
        cpu: c * 1000,
        mem: m * 1024,
        gpus: g,
        tagged,
    })
}

fn gpu() -> impl Strategy<Value = GpuRequest> {
    prop_oneof![
        6 => Just(GpuRequest::None),
        1 => (1u32..=2).prop_map(GpuRequest::Whole),
        1 => (1u32..=999).prop_map(GpuRequest::Share),
    ]
}

fn job() -> impl Strategy<Value = JobArb> {
    (
        (
            0u64..600,
            prop_oneof![
                Just(0u32),
                Just(50),
                Just(100),
                Just(110),
                Just(200),
                Just(250),
                Just(400)
            ],
        ),
        (1usize..=6, 1u64..=20_000, 1u64..=40_000, gpu()),
        (
            prop::option::weighted(0.8, 1u64..400),
            prop::option::of(1u32..=2),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((at_s, prio), (tasks, cpu, mem, gpu), (secs, max_per_machine, needs_tag))| JobArb {
                at_s,
                prio,
                tasks,
                cpu,
                mem,
                gpu,
                secs,
                max_per_machine,
                needs_tag,
            },
        )
}

fn build(machines: &[MachineArb], jobs: &[JobArb], policy: Policy, preemption: bool) -> Simulation {
    build_with(machines, jobs, SchedConfig::new(policy, preemption))
}

fn build_with(machines: &[MachineArb], jobs: &[JobArb], sched: SchedConfig) -> Simulation {
    let mut b = CellBuilder::new();
    for m in machines {
        b = b.machines(1, m.cpu, m.mem, m.gpus);
        if m.tagged {
            b = b.attr("tag", "yes");
        }
    }
    let mut cell = b.cell();
    let list = jobs
        .iter()
        .map(|j| {
            let mut spec = SpecBuilder::new(j.cpu, j.mem)
                .name("j")
                .priority(j.prio)
                .gpu(j.gpu)
                .tasks(j.tasks, j.secs);
            if j.needs_tag {
                spec = spec.requires(&mut cell.attr_table, "tag", "yes");
            }
            if let Some(k) = j.max_per_machine {
                spec = spec.max_per_machine(k);
            }
            (SimTime::from_secs(j.at_s), spec.build())
        })
        .collect();
    let mut opts = options(900, 500, sched);
    opts.check_invariants = false;
    simulation(CellState::new(cell), list, opts)
}

/// Every policy, the FGD paper's six included.
fn policy() -> impl Strategy<Value = Policy> {
    prop::sample::select(Policy::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_event(
        machines in prop::collection::vec(machine(), 1..=6),
        jobs in prop::collection::vec(job(), 1..=25),
        policy in policy(),
        preemption in any::<bool>(),
    ) {
        let mut sim = build(&machines, &jobs, policy, preemption);
        let mut last = SimTime::ZERO;
        while sim.step() {
            prop_assert!(sim.now() >= last, "time went back");
            last = sim.now();
            if let Err(e) = invariants::check(sim.state()) {
                return Err(TestCaseError::fail(format!("at {}: {e}", sim.now())));
            }
        }
        invariants::check(sim.state()).map_err(TestCaseError::fail)?;
        let st = sim.state();
        let l = st.ledger();
        for band in borgsim::workload::Band::ALL {
            // Prod never preempts prod and nothing outranks prod: no prod
            // task is ever evicted; without preemption, no task is.
            if band.is_prod() || !preemption {
                prop_assert_eq!(l.evicted_tasks_by_band[band.index()], 0);
            }
        }
        let stats = sim.scheduler().stats();
        prop_assert_eq!(stats.placements, l.placements);
        let evicted: u64 = l.evictions.iter().sum();
        prop_assert_eq!(stats.victims_evicted, evicted);
    }

    #[test]
    fn the_same_inputs_give_the_same_run(
        machines in prop::collection::vec(machine(), 1..=4),
        jobs in prop::collection::vec(job(), 1..=12),
        policy in policy(),
    ) {
        let digest = |mut sim: Simulation| {
            sim.run(&mut |_| {}).unwrap();
            let st = sim.state();
            let placed: Vec<_> = st.live_tasks().map(|(t, r)| (t, format!("{:?}", r.state), r.evictions)).collect();
            (placed, sim.scheduler().stats().clone())
        };
        let a = digest(build(&machines, &jobs, policy, true));
        let b = digest(build(&machines, &jobs, policy, true));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn caches_decide_like_the_exhaustive_pipeline(
        machines in prop::collection::vec(machine(), 1..=6),
        jobs in prop::collection::vec(job(), 1..=25),
        policy in policy(),
        preemption in any::<bool>(),
    ) {
        let run = |t: Techniques| {
            let mut cfg = SchedConfig::new(policy, preemption);
            cfg.techniques = t;
            let mut sim = build_with(&machines, &jobs, cfg);
            sim.run(&mut |_| {}).unwrap();
            let st = sim.state();
            let tasks: Vec<_> = st
                .live_tasks()
                .map(|(t, r)| format!("{t}: {:?} {} {}", r.state, r.incarnation, r.evictions))
                .collect();
            let why: Vec<_> = st.live_jobs().map(|j| format!("{:?}", sim.scheduler().why_pending(j.id))).collect();
            (tasks, why)
        };
        let exhaustive = run(Techniques::NONE);
        prop_assert_eq!(&run(Techniques::EXACT), &exhaustive);
        let per_job = Techniques { equivalence_classes: false, ..Techniques::EXACT };
        prop_assert_eq!(&run(per_job), &exhaustive);
    }
}
