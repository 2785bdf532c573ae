//! Trace replays end to end: the hand-written fixtures in both modes, the
//! shipped openb excerpt under the paper's protocol.

use super::{borgsim, root, text};
use borgsim::cell::state::TaskState;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::time::SimTime;

fn load(name: &str) -> Scenario {
    Scenario::load(&root().join("tests/fixtures/scenarios").join(name)).unwrap()
}

/// Runs a scenario, checking every invariant after every event if `check`
/// (else once, at the end).
fn run(sc: &Scenario, check: bool) -> (borgsim::sim::Simulation, Summary) {
    let mut sim = borgsim::build_simulation(sc, check).unwrap();
    sim.run(&mut |_| {}).unwrap();
    borgsim::cell::invariants::check(sim.state()).unwrap();
    let s = Summary::of(sc, &sim);
    (sim, s)
}

#[test]
fn trace_placement_follows_the_trace() {
    let (_, s) = run(&load("google2011-placement.toml"), true);
    let t = &s.tasks;
    // Tasks 100/0, 100/1 (one job of two: same time and shape) and 200/0.
    assert_eq!((t.submitted, s.jobs_submitted), (3, 2));
    // 100/0 on m1, 100/1 on m2, 200/0 on m3; m2 goes down at 5 s and
    // evicts 100/1, which the trace places again on m3 at 8 s.
    assert_eq!(t.placements, 4);
    assert_eq!(s.evictions["machine_down"], 1);
    // Two FINISHes and one KILL.
    assert_eq!((t.finished, t.killed, t.running_at_end), (2, 1, 0));
    let tr = s.trace.as_ref().unwrap();
    assert_eq!(tr.mode, borgsim::sim::feed::ReplayKind::TracePlacement);
    // The resubmission at 7 s is for a task still live (pending since the eviction).
    assert_eq!(tr.replay["submit_for_live_task"], 1);
    assert_eq!(tr.trace_rows_repaired["task_events.update_ignored"], 1);
    // The scheduler never ran.
    assert_eq!(s.scheduler.passes, 0);
}

#[test]
fn reschedule_places_by_borgsims_rules_and_trace_run_lengths() {
    let sc = load("google2011-reschedule.toml");
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    while sim.now() < SimTime::from_secs(2) && sim.step() {}
    // Job 200's task must not run on platform platB (machine key 3 = id 2),
    // though the trace put it there; nor two of its tasks on one machine.
    let st = sim.state();
    let j200 = st
        .live_jobs()
        .find(|j| &*j.spec.name.base == "jobB")
        .unwrap();
    let TaskState::Running { machine, .. } = st.task(j200.tasks[0]).state else {
        panic!("jobB's task should be running");
    };
    assert_ne!(machine, 2);
    sim.run(&mut |_| {}).unwrap();
    let s = Summary::of(&sc, &sim);
    // The resubmission after the EVICT is a new run: 4 tasks.
    assert_eq!(s.tasks.submitted, 4);
    assert_eq!(s.tasks.running_at_end + s.tasks.pending_at_end, 0);
    assert!(s.scheduler.passes > 0);
    let tr = s.trace.unwrap();
    // borgsim started tasks at 1 s, the trace at 2–3 s: three ends came
    // later than borgsim's start plus the trace's run length.
    assert!(tr.replay["end_late"] >= 1, "{:?}", tr.replay);
}

#[test]
fn openb_replays_under_the_paper_protocol() {
    let sc = Scenario::builtin("openb").unwrap().unwrap();
    let (sim, s) = run(&sc, false);
    let g = s.gpu_packing.as_ref().unwrap();
    // The default list (8,152 pods) topped up to 130 % of the 6,212 GPUs.
    assert_eq!(s.tasks.submitted, g.tasks_arrived);
    assert!(g.tasks_arrived > 8152);
    let cap = 6212 * 1000u64;
    assert!(sim.state().ledger().gpu_milli_submitted * 100 >= 130 * cap);
    // No pod waits: each fits in the pass after its arrival or is dropped.
    assert_eq!(s.tasks.pending_at_end, 0);
    assert_eq!(s.tasks.dropped, g.tasks_dropped);
    assert_eq!(s.tasks.killed, 0);
    assert_eq!(s.tasks.running_at_end + g.tasks_dropped, g.tasks_arrived);
    // Allocation never exceeds demand (a point is taken when demand first
    // reaches its whole percentage, so it may overshoot by one pod: at most
    // 8 GPUs = 0.13 % of 6,212), and the curve reaches 130 %.
    for (pct, alloc) in &g.gpu_alloc_pct_at_demand_pct {
        assert!(*alloc <= f64::from(*pct) + 0.13, "{pct}: {alloc}");
    }
    assert!(g.gpu_alloc_pct_at_demand_pct.contains_key(&130));
}

#[test]
fn openb_outputs_are_byte_identical_and_written_with_the_curve() {
    let dir = tempfile::tempdir().unwrap();
    for out in ["a", "b"] {
        let o = borgsim(
            dir.path(),
            &["run", "openb", "--quiet", "--no-plots", "--out", out],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    for f in ["summary.json", "timeseries.csv", "gpu_alloc.csv"] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}

#[test]
fn a_bad_trace_row_stops_the_run_with_exit_2_or_is_skipped_when_lenient() {
    let dir = tempfile::tempdir().unwrap();
    let pods = dir.path().join("pods.csv");
    std::fs::write(
        &pods,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
         a,1000,1024,1,500,,LS,Running,0,10,0\nb,1000,lots,0,0,,BE,Running,1,10,1\n",
    )
    .unwrap();
    let nodes = root().join("tests/fixtures/traces/openb/nodes.csv");
    let scen = dir.path().join("s.toml");
    std::fs::write(
        &scen,
        format!(
            "name = \"bad\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"openb\"\nfiles = [{:?}, \"pods.csv\"]\n",
            nodes.to_str().unwrap()
        ),
    )
    .unwrap();
    let o = borgsim(
        dir.path(),
        &["run", "s.toml", "--quiet", "--no-plots", "--out", "o"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("pods.csv:3: memory_mib: expected an integer ≥ 0, found \"lots\""),
        "{err}"
    );
    let o = borgsim(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--quiet",
            "--no-plots",
            "--lenient",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(s["trace"]["trace_rows_skipped"]["pods.memory_mib"], 1);
    assert_eq!(s["tasks"]["submitted"], 1);
}

#[test]
fn gpu_keep_whole_strands_fewer_gpus_than_best_fit_on_openb() {
    let alloc_at = |policy: borgsim::sched::Policy| {
        let mut sc = Scenario::builtin("openb").unwrap().unwrap();
        sc.scheduler.policy = policy;
        let (_, s) = run(&sc, false);
        s.gpu_packing.unwrap().gpu_alloc_pct_at_demand_pct
    };
    use borgsim::sched::Policy;
    let (packing, best, hybrid) = (
        alloc_at(Policy::GpuKeepWhole),
        alloc_at(Policy::BestFit),
        alloc_at(Policy::Hybrid),
    );
    // Past full demand, the fragmentation-aware policy keeps more of the
    // GPUs allocatable (measured: 93.5 % against 92.2 and 87.9 at 100 %).
    for pct in [100, 130] {
        assert!(packing[&pct] > best[&pct], "{pct}: {packing:?} vs {best:?}");
        assert!(
            packing[&pct] > hybrid[&pct],
            "{pct}: {packing:?} vs {hybrid:?}"
        );
    }
}

#[test]
fn alibaba_dag_stages_wait_for_their_dependencies() {
    // One 2-core machine. Stage 1 takes 1.5 cores for 100 s; stage 2 needs
    // 1 core, so it waits for stage 1 although the trace ran it at 0–50;
    // stage 3 depends on 1 and 2 and needs only 0.5 core: it fits at 50 s,
    // when the trace started it, but must wait until stage 2 is done (150 s).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("batch_task.csv"),
        "M1,1,j_9,1,Terminated,0,100,150,1\nM2,1,j_9,1,Terminated,0,50,100,1\nR3_1_2,1,j_9,1,Terminated,50,80,50,1\n",
    )
    .unwrap();
    let text = "name = \"dag\"\nseed = 1\n[cell]\n[[cell.machines]]\ncount = 1\ncpu_milli = 2000\nmem_mib = 262144\n\
                [scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"alibaba2018\"\nfiles = [\"batch_task.csv\"]\nmachines = \"scenario\"\n";
    let mut sc = Scenario::parse(text, std::path::Path::new("dag.toml")).unwrap();
    sc.base = borgsim::scenario::Base::Dir(dir.path().to_path_buf());
    let mut sim = borgsim::build_simulation(&sc, true).unwrap();
    let mut stage3_started = None;
    while sim.step() {
        let st = sim.state();
        let live = |cpu: u64| {
            st.live_tasks().any(|(t, r)| {
                st.shape(t).request.res.cpu_milli == cpu && r.state != TaskState::Finished
            })
        };
        let running = |cpu: u64| {
            st.live_tasks().any(|(t, r)| {
                st.shape(t).request.res.cpu_milli == cpu
                    && matches!(r.state, TaskState::Running { .. })
            })
        };
        if running(500) {
            assert!(
                !live(1000),
                "stage 3 runs while stage 2 is not done, at {}",
                sim.now()
            );
            stage3_started.get_or_insert(sim.now());
        }
    }
    assert_eq!(stage3_started, Some(SimTime::from_secs(150)));
    let s = Summary::of(&sc, &sim);
    assert_eq!((s.tasks.submitted, s.tasks.finished), (3, 3));
    assert_eq!(s.trace.unwrap().replay["held_for_dependencies"], 1);
}

/// Every format's fixture replays end to end (re-schedule mode) and keeps
/// every invariant; formats without machines use the scenario's cell.
#[test]
fn every_format_replays_its_fixture() {
    let f = root().join("tests/fixtures/traces");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("packing.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&std::fs::read_to_string(f.join("azure/tiny.sql")).unwrap())
        .unwrap();
    drop(conn);
    let g19 = f.join("google2019");
    let cases: Vec<(&str, Vec<std::path::PathBuf>, bool)> = vec![
        ("google2011", vec![f.join("google2011")], true),
        (
            "google2019",
            [
                "collection_events.json",
                "instance_events.json",
                "machine_events.json",
            ]
            .iter()
            .map(|n| g19.join(n))
            .collect(),
            true,
        ),
        ("alibaba2018", vec![f.join("alibaba2018")], true),
        ("openb", vec![f.join("openb")], true),
        ("swf", vec![f.join("swf/tiny.swf")], false),
        ("azure", vec![db.clone()], false),
    ];
    for (format, files, own_machines) in cases {
        let files: Vec<String> = files
            .iter()
            .map(|p| format!("{:?}", p.to_str().unwrap()))
            .collect();
        let cell = if own_machines {
            String::new()
        } else {
            "[cell]\n[[cell.machines]]\ncount = 4\ncpu_milli = 64000\nmem_mib = 524288\n".into()
        };
        let machines = if own_machines { "trace" } else { "scenario" };
        let text = format!(
            "name = \"{format}\"\nseed = 1\n{cell}[scheduler]\npolicy = \"hybrid\"\n\
             [trace]\nformat = \"{format}\"\nfiles = [{}]\nmachines = \"{machines}\"\n",
            files.join(", ")
        );
        let sc = Scenario::parse(&text, std::path::Path::new("x.toml")).unwrap();
        let (_, s) = run(&sc, true);
        assert!(s.tasks.submitted > 0, "{format}");
        assert_eq!(s.trace.as_ref().unwrap().format, format);
        assert!(s.trace.unwrap().trace_rows_skipped.is_empty(), "{format}");
    }
}

/// A machine UPDATE that changes attributes reaches the cell: the task that
/// asks for platform platC, which no machine has when it arrives at 1 s
/// (never schedulable then), starts at 5 s when m2 becomes platC, beside the
/// platA task m2 already runs (which stays). Waits: 0, 0 and 4 s.
#[test]
fn machine_attribute_changes_reach_the_cell() {
    let sc =
        Scenario::load(&root().join("tests/fixtures/machine-attributes/scenario.toml")).unwrap();
    let (_, s) = run(&sc, true);
    assert_eq!(
        s.trace.as_ref().unwrap().replay["machine_attributes_changed"],
        1
    );
    assert_eq!(s.wait_us.nonprod.max, Some(4_000_000));
    assert_eq!((s.tasks.finished, s.tasks.pending_at_end), (3, 0));
    // The platA tasks run 1 s → 21 s; the platC task 5 s → 15 s.
    assert_eq!(s.duration_s, 21.0);
    assert_eq!(s.evictions.values().sum::<u64>(), 0);
}

/// How a trace ends a run reaches the summary in both modes: a KILL is
/// killed, a FINISH finished (re-schedule mode used to count both
/// finished); and a run length given at submission ends a run the trace
/// places, though no END row comes (trace-placement mode used to leave
/// them running, and the third task then did not fit).
#[test]
fn trace_ends_and_run_lengths_reach_the_summary_in_both_modes() {
    use borgsim::scenario::ReplayMode;
    let dir = root().join("tests/fixtures/trace-ends");
    for mode in [ReplayMode::Reschedule, ReplayMode::TracePlacement] {
        let mut sc = Scenario::load(&dir.join("kill.toml")).unwrap();
        sc.trace.as_mut().unwrap().mode = mode;
        // Usage is read when the run keeps it (measuring: decisions as
        // without).
        sc.reclamation = Some(borgsim::scenario::ReclamationConfig {
            mode: borgsim::scenario::reclamation::ReclamationMode::Measure,
            ..Default::default()
        });
        let (_, s) = run(&sc, true);
        let t = &s.tasks;
        assert_eq!(
            (t.finished, t.killed, t.running_at_end),
            (1, 1, 0),
            "{mode:?}"
        );

        // The status of an Alibaba instance, known at its submission.
        let mut sc = Scenario::load(&dir.join("alibaba-status.toml")).unwrap();
        sc.trace.as_mut().unwrap().mode = mode;
        // Usage is read when the run keeps it (measuring: decisions as
        // without).
        sc.reclamation = Some(borgsim::scenario::ReclamationConfig {
            mode: borgsim::scenario::reclamation::ReclamationMode::Measure,
            ..Default::default()
        });
        let (_, s) = run(&sc, true);
        let t = &s.tasks;
        assert_eq!(
            (t.finished, t.killed, t.running_at_end),
            (1, 1, 0),
            "{mode:?}"
        );
        // Each instance's usage (cpu_avg, mem_avg) comes at its start: the
        // trace's placement runs it then; borgsim's scheduler places it
        // after the instant's records, so in re-schedule mode both are
        // kept as the usage the instances start from.
        let replay = s.trace.unwrap().replay;
        match mode {
            ReplayMode::Reschedule => assert_eq!(
                replay.into_iter().collect::<Vec<_>>(),
                [("usage_kept_until_start", 2)]
            ),
            ReplayMode::TracePlacement => assert!(replay.is_empty(), "{replay:?}"),
        }

        let mut sc = Scenario::load(&dir.join("lengths.toml")).unwrap();
        sc.trace.as_mut().unwrap().mode = mode;
        let (_, s) = run(&sc, true);
        let t = &s.tasks;
        assert_eq!(
            (t.finished, t.running_at_end, t.pending_at_end),
            (3, 0, 0),
            "{mode:?}"
        );
        assert_eq!(s.duration_s, 40.0, "{mode:?}");
        assert!(s.trace.unwrap().replay.is_empty(), "{mode:?}");
    }
}

/// Trace placement follows the trace, and counts placements that break a
/// job's spread limit (two here; see the fixture's comment).
#[test]
fn trace_placements_that_break_spread_limits_are_counted() {
    let sc =
        Scenario::load(&root().join("tests/fixtures/placement-breaches/scenario.toml")).unwrap();
    let (_, s) = run(&sc, true);
    assert_eq!(s.tasks.running_at_end, 4);
    let replay = &s.trace.as_ref().unwrap().replay;
    assert_eq!(replay.get("schedule_breaks_spread_limit"), Some(&2));
    assert_eq!(replay.get("schedule_breaks_constraint"), None);
}

/// Trace placement needs placements: a format that records none is refused
/// with the key named, not replayed with every task pending.
#[test]
fn trace_placement_of_a_format_without_placements_is_refused() {
    for format in ["openb", "swf", "azure"] {
        let text = format!(
            "name = \"x\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\n\
             format = \"{format}\"\nfiles = [\"t\"]\nmode = \"trace_placement\"\n"
        );
        let err = Scenario::parse(&text, std::path::Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("trace.mode"), "{format}: {err}");
        assert!(err.contains("records none"), "{format}: {err}");
    }
}

/// A shipped trace folder can be named whole: its README is documentation,
/// not a table.
#[test]
fn a_trace_folder_stands_for_its_data_files() {
    let files = borgsim::trace::replay::resolve_files(
        &root(),
        &[std::path::PathBuf::from("traces/alibaba-2018")],
    )
    .unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.path().file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["machine_meta.csv"]);
}

/// Google 2019's machine_attributes reach the machines as they change.
#[test]
fn google2019_machine_attributes_reach_the_cell() {
    let sc =
        Scenario::load(&root().join("tests/fixtures/google2019-attributes/scenario.toml")).unwrap();
    let (_, s) = run(&sc, true);
    assert_eq!(s.tasks.running_at_end, 2);
    assert_eq!(s.wait_us.prod.max, Some(9_000_000));
    let tr = s.trace.as_ref().unwrap();
    // 102 gains kernel=5 at 10 s, 101 loses it at 20 s.
    assert_eq!(tr.replay["machine_attributes_changed"], 2);
    assert!(!tr.replay.contains_key("constraint_on_unknown_attribute"));
    assert_eq!(s.evictions.values().sum::<u64>(), 0);
}

/// pending.csv names a replayed task as the trace does: Google 2011 job
/// 100's task 1 is `trace_task` 1 under `job_id` 100, whatever borgsim
/// numbered it.
#[test]
fn pending_rows_carry_the_traces_own_task_label() {
    let dir = tempfile::tempdir().unwrap();
    let f = root().join("tests/fixtures/machine-attributes");
    // The platC task (job 100, index 0) waits for m2; with a horizon of 3 s
    // it is still pending.
    let scenario = format!(
        "name = \"labels\"\nseed = 1\nduration_s = 3\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"native\"\nfiles = [{:?}, {:?}]\n",
        f.join("machines.csv").to_str().unwrap(),
        f.join("tasks.csv").to_str().unwrap()
    );
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    let o = borgsim(
        dir.path(),
        &["run", "s.toml", "--out", "o", "--no-plots", "-q"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(dir.path().join("o/pending.csv")).unwrap();
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        (row[at("job_id")], row[at("trace_task")]),
        ("100", "0"),
        "{csv}"
    );
}

/// Resources beyond what borgsim accepts (normalised 1e20 NCU) are refused
/// with the machine named, exit 2: no saturated request "fits" a saturated
/// machine, and no sum overflows.
#[test]
fn trace_resources_beyond_the_bound_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("tr/machine_events");
    std::fs::create_dir_all(&tr).unwrap();
    std::fs::write(tr.join("part-00000-of-00001.csv"), "0,1,0,platA,1e20,0.5\n").unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "name = \"big\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\n\
         format = \"google2011\"\nfiles = [\"tr\"]\n",
    )
    .unwrap();
    let o = borgsim(
        dir.path(),
        &["run", "s.toml", "--out", "o", "--no-plots", "-q"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("machine 1:") && err.contains("milli-cores is beyond"),
        "{err}"
    );
}
