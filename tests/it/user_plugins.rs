//! A plugin of one's own, in a profile of one's own: the caches stay exact
//! with it because it declares what it reads of a task, and the technique
//! identity check catches a plugin that does not.
//!
//! The plugin is a realistic rule that reads a field no shipped plugin reads:
//! dedicated machines (Kubernetes' `dedicated=<group>:NoSchedule` taints with
//! the group's tolerations): a machine with the attribute `dedicated = <user>`
//! runs only that user's jobs. The scenario's web jobs are identical but for
//! their user, so the shipped plugins put them all in one class, and only
//! the new plugin's declaration can keep them apart.

use super::techniques::{assert_identical_with, decisions, run_with};
use borgsim::cell::state::{CellState, TaskState};
use borgsim::cell::MachineId;
use borgsim::scenario::Scenario;
use borgsim::sched::class_key::{ClassKeyBuilder, Signed};
use borgsim::sched::plugin::{Filter, Fit, Plugin, TaskView};
use borgsim::sched::plugins::{
    constraints::AttributeConstraints, fits::ResourceFit, spread::SpreadLimits, worst_fit::WorstFit,
};
use borgsim::sched::reason::Reason;
use borgsim::sched::{Profile, Techniques};
use std::path::Path;

/// Machines with the attribute `dedicated = <user>` admit only that user's
/// jobs; other machines admit everyone.
struct DedicatedMachines {
    /// Whether `sign` declares the job's user, which the filter reads.
    declares_user: bool,
}

impl Plugin for DedicatedMachines {
    fn name(&self) -> &'static str {
        "dedicated_machines"
    }

    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        if self.declares_user {
            key.add(&task.job.spec.user);
        }
        Signed::Shareable
    }
}

impl Filter for DedicatedMachines {
    fn filter(&self, st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
        let cell = st.cell();
        let Some(dedicated) = cell.attr_table.find_name("dedicated") else {
            return Ok(Fit::Free);
        };
        match cell.machines[m as usize].attrs.get(dedicated) {
            Some(user) if cell.attr_table.value(user) != &*task.job.spec.user => {
                Err(Reason::ConstraintMismatch)
            }
            _ => Ok(Fit::Free),
        }
    }
}

/// The worst-fit policy's profile with dedicated machines after the
/// attribute constraints.
fn profile(declares_user: bool) -> Profile {
    Profile::new(
        vec![
            Box::new(AttributeConstraints),
            Box::new(DedicatedMachines { declares_user }),
            Box::new(SpreadLimits),
            Box::new(ResourceFit),
        ],
        vec![(Box::new(WorstFit), 1)],
    )
}

/// 12 shared machines of 8 cores and 4 dedicated to `web-user1` of 16 cores
/// (so worst fit prefers them when they are free). Web jobs of 3 users,
/// identical but for the user, arrive with batch jobs they may preempt.
const DEDICATED: &str = r#"
name = "dedicated"
seed = 11
duration_s = 7200
sample_interval_s = 600

[cell]
machines_per_rack = 4
racks_per_power_domain = 2

[[cell.machines]]
count = 12
cpu_milli = 8000
mem_mib = 16384

[[cell.machines]]
count = 4
cpu_milli = 16000
mem_mib = 32768
attributes = { dedicated = "web-user1" }

[scheduler]
policy = "worst_fit"
preemption = true

[[workload.jobs]]
name = "web"
band = "production"
users = 3
initial_jobs = 6
arrival = { poisson = { per_hour = 150 } }
tasks = { uniform = { min = 1, max = 4 } }
cpu_milli = { constant = 2000 }
mem_mib = { constant = 4096 }
duration_s = { exponential = { mean = 900 } }

[[workload.jobs]]
name = "batch"
band = "batch"
initial_jobs = 4
arrival = { poisson = { per_hour = 90 } }
tasks = { uniform = { min = 1, max = 6 } }
cpu_milli = { constant = 1000 }
mem_mib = { constant = 2048 }
duration_s = { exponential = { mean = 600 } }
"#;

fn scenario() -> Scenario {
    Scenario::parse(DEDICATED, Path::new("dedicated.toml")).unwrap()
}

#[test]
fn a_declared_user_plugin_keeps_the_caches_exact() {
    assert_identical_with(scenario(), &|| Some(profile(true)));
}

#[test]
fn the_user_plugin_is_in_effect() {
    // Without it the web jobs of other users take the large machines too.
    let (plain, _) = run_with(scenario(), Techniques::NONE, None);
    let (dedicated, _) = run_with(scenario(), Techniques::NONE, Some(profile(true)));
    assert!(plain != dedicated, "the plugin changed no decision");
    // With it, at the end, only web-user1 runs on the dedicated machines
    // (12 to 15), and it does run there.
    let sc = scenario();
    let mut sim = borgsim::build_simulation(&sc, false)
        .unwrap()
        .with_profile(profile(true));
    sim.run(&mut |_| {}).unwrap();
    let st = sim.state();
    let users_on_dedicated: Vec<&str> = st
        .live_tasks()
        .filter_map(|(_, r)| match r.state {
            TaskState::Running { machine, .. } if machine >= 12 => Some(&*st.job(r.job).spec.user),
            _ => None,
        })
        .collect();
    assert!(!users_on_dedicated.is_empty(), "{}", decisions(&sc, &sim));
    assert!(users_on_dedicated.iter().all(|&u| u == "web-user1"));
}

#[test]
fn an_undeclared_read_is_caught_by_the_identity_check() {
    // The same plugin, its read of the user left out of its declaration:
    // one class cache now serves every user's web tasks, built by whichever
    // user came first, and the cached run places tasks the exhaustive
    // pipeline would not. This is what the test above guards against.
    let (exhaustive, _) = run_with(scenario(), Techniques::NONE, Some(profile(false)));
    let (cached, _) = run_with(scenario(), Techniques::EXACT, Some(profile(false)));
    assert!(
        cached != exhaustive,
        "the identity check did not see the undeclared read"
    );
}
