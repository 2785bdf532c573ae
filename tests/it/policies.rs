//! The policies differ where they should: the fragmentation scenario.

use super::root;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sched::Policy;

fn run(policy: Policy) -> Summary {
    let mut sc = Scenario::load(&root().join("scenarios/fragmentation.toml")).unwrap();
    sc.scheduler.policy = policy;
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    sim.run(&mut |_| {}).unwrap();
    Summary::of(&sc, &sim)
}

#[test]
fn spreading_strands_every_machine_packing_does_not() {
    // 400 small tasks (2 of 16 cores each) then 60 large ones (12 cores).
    // Worst fit: 4 small per machine, 8 cores free everywhere: 0 large fit.
    let w = run(Policy::WorstFit);
    assert_eq!(w.tasks.scheduled, 400);
    assert_eq!(w.tasks.pending_at_end, 60);
    // Best fit: 8 small per machine on 50 machines, 50 empty: 50 large fit.
    let b = run(Policy::BestFit);
    assert_eq!(b.tasks.scheduled, 450);
    assert_eq!(b.tasks.pending_at_end, 10);
    // Hybrid: one shape strands the same everywhere, so best fit decides.
    let h = run(Policy::Hybrid);
    assert_eq!(h.tasks.pending_at_end, 10);
    // No preemption: one priority.
    assert_eq!(w.evictions["preemption"] + b.evictions["preemption"], 0);
}
