//! A trace's job is one job (issue 8, kind 3) and held tasks are pending
//! (kind 4): DAG children never start before their parents end, whatever
//! the order or timestamps of their rows, in both replay modes; spread
//! limits count a job's tasks from every instant; jobs are counted once.
//!
//! The field case `alibaba-dag-same-instant` (R2_1 depends on M1, both rows
//! at t=100) is in `tests/fixtures/alibaba-dag-same-instant/`, with its
//! control (R2_1 one second later) and a trace-placement variant.

use super::{borgsim, root, text};
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::sim::Simulation;
use std::path::Path;

fn case(rel: &str) -> Scenario {
    Scenario::load(
        &root()
            .join("tests/fixtures/alibaba-dag-same-instant")
            .join(rel),
    )
    .unwrap()
}

/// A scenario written into `dir` with these trace files.
fn scenario(dir: &Path, body: &str) -> Scenario {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, body).unwrap();
    Scenario::load(&path).unwrap()
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

/// What a run showed: when the ledger's count of started tasks and of
/// finished tasks reached each value (seconds), the held tasks seen (time,
/// label, reason), and the summary.
struct Seen {
    started: Vec<u64>,
    finished: Vec<u64>,
    held: Vec<(u64, String, String)>,
    summary: Summary,
    sim: Simulation,
}

fn run(sc: &Scenario) -> Seen {
    let mut sim = borgsim::build_simulation(sc, true).unwrap();
    let (mut started, mut finished, mut held) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let more = sim.step();
        let now = sim.now().as_us() / 1_000_000;
        let l = sim.state().ledger();
        while (started.len() as u64) < l.tasks_started {
            started.push(now);
        }
        while (finished.len() as u64) < l.tasks_finished {
            finished.push(now);
        }
        for h in sim.feed().held_tasks() {
            held.push((now, h.task, h.reason));
        }
        if !more {
            break;
        }
    }
    borgsim::cell::invariants::check(sim.state()).unwrap();
    let summary = Summary::of(sc, &sim);
    Seen {
        started,
        finished,
        held,
        summary,
        sim,
    }
}

/// M1 runs 100–200; R2_1 starts when M1 ends (200) and ends 50 s later;
/// one trace job of two tasks.
fn assert_the_dag(s: &Seen, what: &str) {
    assert_eq!(s.started, [100, 200], "{what}: starts");
    assert_eq!(s.finished, [200, 250], "{what}: ends");
    assert_eq!(s.summary.jobs_submitted, 1, "{what}");
    assert_eq!(s.summary.tasks.submitted, 2, "{what}");
}

/// The case's right value: the DAG as above, and the run lasts 250 s.
fn assert_the_case(s: &Seen, what: &str) {
    assert_the_dag(s, what);
    assert_eq!(s.summary.duration_s, 250.0, "{what}");
}

#[test]
fn r2_1_starts_when_m1_ends_though_both_rows_say_t100() {
    let s = run(&case("scenario.toml"));
    assert_the_case(&s, "re-schedule");
    // Meanwhile R2_1 is held, pending for its parent by name.
    let held: Vec<_> = s
        .held
        .iter()
        .map(|(t, l, r)| (*t, l.as_str(), r.as_str()))
        .collect();
    assert!(
        held.contains(&(100, "R2_1.0", "waiting_for_dependency M1")),
        "{held:?}"
    );
    assert!(
        held.iter().all(|(t, _, _)| (100..200).contains(t)),
        "{held:?}"
    );
    let tr = s.summary.trace.as_ref().unwrap();
    assert_eq!(tr.replay["held_for_dependencies"], 1);
}

#[test]
fn the_control_one_second_later_starts_r2_1_at_the_same_time() {
    // R2_1 registered at 101 with its end at 150: a 49 s run, from 200.
    let s = run(&case("control/scenario.toml"));
    assert_eq!((s.started, s.finished), (vec![100, 200], vec![200, 249]));
    assert_eq!(s.summary.jobs_submitted, 1);
}

#[test]
fn trace_placement_applies_r2_1s_placement_when_m1_ends() {
    // The trace placed both on m_1 at 100, R2_1's instance running 50 s
    // (known at its submission): R2_1 is placed there at 200 and runs its
    // 50 s.
    let s = run(&case("placement/scenario.toml"));
    assert_the_case(&s, "trace placement");
    let tr = s.summary.trace.as_ref().unwrap();
    assert_eq!(tr.replay["schedule_while_held"], 1);
    assert_eq!(s.summary.scheduler.passes, 0);
}

#[test]
fn the_case_through_the_binary_ends_at_250_s() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("tests/fixtures/alibaba-dag-same-instant");
    for f in ["scenario.toml", "machine_meta.csv", "batch_task.csv"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let o = borgsim(
        dir.path(),
        &["run", "scenario.toml", "--out", "out", "--no-plots", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["duration_s"], 250.0);
    assert_eq!(s["jobs_submitted"], 1);
    // Never two tasks running at once: R2_1 did not run beside M1.
    let ts = std::fs::read_to_string(dir.path().join("out/timeseries.csv")).unwrap();
    let mut lines = ts.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = head.iter().position(|h| *h == "running_batch").unwrap();
    let running: Vec<u32> = lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(running.iter().max(), Some(&1), "{running:?}");
}

const ONE_MACHINE: &str = "m_1,0,10,1,96,100,USING\n";

fn alibaba(dir: &Path, batch_task: &str) -> Scenario {
    write(dir, "machine_meta.csv", ONE_MACHINE);
    write(dir, "batch_task.csv", batch_task);
    scenario(
        dir,
        "name = \"dag\"\nseed = 1\nsample_interval_s = 7\n[scheduler]\npolicy = \"best_fit\"\n\
         [trace]\nformat = \"alibaba2018\"\nfiles = [\"machine_meta.csv\", \"batch_task.csv\"]\n",
    )
}

#[test]
fn a_child_row_before_its_parents_row_still_waits() {
    let dir = tempfile::tempdir().unwrap();
    // Same instant, child first.
    let s = run(&alibaba(
        dir.path(),
        "R2_1,1,j_7,1,Terminated,100,150,100,1\nM1,1,j_7,1,Terminated,100,200,100,1\n",
    ));
    assert_the_dag(&s, "child row first");
    // The child's row at an earlier time (50–150: a 100 s run): it waits
    // for M1 to appear at 100 and end at 200, then runs 200–300.
    let s = run(&alibaba(
        dir.path(),
        "R2_1,1,j_7,1,Terminated,50,150,100,1\nM1,1,j_7,1,Terminated,100,200,100,1\n",
    ));
    assert_eq!((s.started, s.finished), (vec![100, 200], vec![200, 300]));
    let first = &s.held[0];
    assert_eq!(
        (first.0, first.2.as_str()),
        (
            50,
            "waiting_for_dependency stage 1 (not in the trace so far)"
        )
    );
    // And a parent that never appears: released when the trace ends (the
    // last row, at 80 s), counted.
    let s = run(&alibaba(
        dir.path(),
        "R2_1,1,j_7,1,Terminated,50,60,100,1\nM3,1,j_7,1,Terminated,80,90,100,1\n",
    ));
    assert_eq!((s.started, s.finished), (vec![80, 80], vec![90, 90]));
    let tr = s.summary.trace.unwrap();
    assert_eq!(tr.replay["dependency_never_submitted"], 1);
}

#[test]
fn a_task_held_at_the_end_is_listed_in_pending_csv_with_its_reason() {
    // M1 never ends (no end time: it runs to the end of the replay), so
    // R2_1 and its 3 instances stay held; one trace job of 4 tasks.
    let dir = tempfile::tempdir().unwrap();
    alibaba(
        dir.path(),
        "M1,1,j_7,1,Running,100,,100,1\nR2_1,3,j_7,1,Terminated,100,150,200,2\n",
    );
    let o = borgsim(
        dir.path(),
        &["run", "scenario.toml", "--out", "out", "--no-plots", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(dir.path().join("out/pending.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = |name: &str| head.iter().position(|h| *h == name).unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[at("task_id")], "");
        assert_eq!(r[at("trace_task")], format!("R2_1.{i}"));
        assert_eq!(
            (r[at("job_id")], r[at("job_name")], r[at("status")]),
            ("7", "j_7", "held")
        );
        // plan_cpu 200 = 2 cores; submitted at 100 s.
        assert_eq!(
            (r[at("cpu_milli")], r[at("pending_since_s")]),
            ("2000", "100.000000")
        );
        assert_eq!(r[at("why")], "waiting_for_dependency M1");
    }
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["jobs_submitted"], 1);
}

/// Google 2011: job 300's two tasks may not share a machine
/// (`different_machines_restriction` = 1); task 0 is submitted at 1 s and
/// task 1 at 2 s, on one machine with room for both.
const G11_TASKS: &str = "1000000,,300,0,,0,u,0,0,0.125,0.0625,0,1\n\
                         2000000,,300,1,,0,u,0,0,0.125,0.0625,0,1\n";

fn google2011(dir: &Path, machines: usize) -> Scenario {
    let m: String = (1..=machines)
        .map(|k| format!("0,{k},0,p,0.5,0.5\n"))
        .collect();
    write(dir, "machine_events.csv", &m);
    write(dir, "job_events.csv", "0,,300,0,u,0,spreadjob,l\n");
    write(dir, "task_events.csv", G11_TASKS);
    scenario(
        dir,
        "name = \"spread\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\nrelaxed_randomization = false\n\
         [trace]\nformat = \"google2011\"\nfiles = [\"machine_events.csv\", \"job_events.csv\", \"task_events.csv\"]\n",
    )
}

#[test]
fn a_google2011_job_keeps_one_task_per_machine_across_instants() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&google2011(dir.path(), 1));
    // Task 0 runs from 1 s; task 1 (arrived at 2 s) may not join it.
    assert_eq!(s.started, [1]);
    assert_eq!(
        (s.summary.jobs_submitted, s.summary.tasks.submitted),
        (1, 2)
    );
    assert_eq!(s.summary.tasks.pending_at_end, 1);
    let st = s.sim.state();
    let (_, order) = &st.pending().scan_order()[0];
    let job = st.job_of(order[0].1);
    assert_eq!(
        (job.trace_job, &*job.spec.name.base),
        (Some(300), "spreadjob")
    );
    let why = s.sim.scheduler().why_pending(job.id).unwrap();
    assert_eq!(
        why.counts
            .get(borgsim::sched::reason::Reason::MaxPerMachine),
        1
    );
    // With a second machine, one task on each.
    let dir = tempfile::tempdir().unwrap();
    let s = run(&google2011(dir.path(), 2));
    assert_eq!(s.started, [1, 2]);
    let per_machine: Vec<usize> = s
        .sim
        .state()
        .machines()
        .iter()
        .map(|m| m.tasks.len())
        .collect();
    assert_eq!(per_machine, [1, 1]);
}

#[test]
fn a_google2019_collections_max_per_machine_counts_every_instant() {
    // Collection 5, max_per_machine 1: instances 0 (at 1 s) and 1 (at 2 s)
    // on one machine with room for both.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "machine_events.json",
        "{\"time\":\"0\",\"machine_id\":\"1\",\"type\":\"1\",\"switch_id\":\"s\",\"capacity\":{\"cpus\":1,\"memory\":1}}\n",
    );
    write(
        dir.path(),
        "collection_events.json",
        "{\"time\":\"0\",\"type\":\"0\",\"collection_id\":\"5\",\"priority\":\"200\",\"user\":\"a\",\"collection_name\":\"web\",\"max_per_machine\":\"1\",\"alloc_collection_id\":\"0\"}\n",
    );
    let inst = |t: u64, i: u32| {
        format!("{{\"time\":\"{t}\",\"type\":\"0\",\"collection_id\":\"5\",\"instance_index\":\"{i}\",\"priority\":\"200\",\"alloc_collection_id\":\"0\",\"resource_request\":{{\"cpus\":0.1,\"memory\":0.1}}}}\n")
    };
    write(
        dir.path(),
        "instance_events.json",
        &(inst(1_000_000, 0) + &inst(2_000_000, 1)),
    );
    let sc = scenario(
        dir.path(),
        "name = \"g19\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"google2019\"\n\
         files = [\"machine_events.json\", \"collection_events.json\", \"instance_events.json\"]\n",
    );
    let s = run(&sc);
    assert_eq!(s.started, [1]);
    assert_eq!(
        (s.summary.jobs_submitted, s.summary.tasks.pending_at_end),
        (1, 1)
    );
}

#[test]
fn a_native_job_spread_over_instants_and_shapes_is_one_job() {
    // Job 4: task 0 (1 core) at 1 s without a limit, task 1 (2 cores) at
    // 2 s with max_per_machine 1: task 1 must not join task 0's machine.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    std::fs::create_dir(&trace).unwrap();
    write(
        &trace,
        "machines.csv",
        "time_us,event,machine,name,cpu_milli,mem_mib,gpus,rack,power,attrs\n0,add,1,m1,8000,8192,0,,,\n",
    );
    let head = "time_us,event,job,stage,index,machine,kind,job_name,user,priority,trace_priority,cpu_milli,mem_mib,gpu,max_per_machine,max_per_rack,duration_us,after,constraints\n";
    write(
        &trace,
        "tasks.csv",
        &format!(
            "{head}1000000,submit,4,0,0,,,four,u,100,0,1000,100,,,,,,\n\
             2000000,submit,4,0,1,,,four,u,100,0,2000,100,,1,,,,\n"
        ),
    );
    let sc = scenario(
        dir.path(),
        "name = \"native\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"native\"\nfiles = [\"trace\"]\n",
    );
    let s = run(&sc);
    assert_eq!(s.started, [1]);
    assert_eq!(
        (s.summary.jobs_submitted, s.summary.tasks.pending_at_end),
        (1, 1)
    );
    let tr = s.summary.trace.unwrap();
    assert_eq!(tr.replay["spread_parts_counted_late"], 1);
}

/// The job count of a replay is the trace's, as `trace inspect` counts it,
/// for every format's fixture (each with tasks at several instants).
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "a table with one case per format's fixture, and the one loop over it"
)]
fn jobs_submitted_is_the_number_of_trace_jobs() {
    let f = root().join("tests/fixtures");
    let cases = [
        (
            "google2011",
            "scenarios/google2011-reschedule.toml",
            "traces/google2011",
        ),
        (
            "google2011",
            "scenarios/google2011-placement.toml",
            "traces/google2011",
        ),
        (
            "alibaba2018",
            "alibaba-dag-same-instant/scenario.toml",
            "alibaba-dag-same-instant/batch_task.csv",
        ),
    ];
    for (format, scen, trace) in cases {
        let sc = Scenario::load(&f.join(scen)).unwrap();
        let s = run(&sc);
        let o = borgsim(
            &root(),
            &[
                "trace",
                "inspect",
                "--format",
                format,
                "--json",
                f.join(trace).to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            s.summary.jobs_submitted as u64,
            v["jobs"].as_u64().unwrap(),
            "{scen}"
        );
    }
    // The Alibaba fixture: containers by app and batch jobs, in a trace
    // where a job's stages arrive at 100, 220 and 300 s.
    let dir = tempfile::tempdir().unwrap();
    let files = ["machine_meta.csv", "container_meta.csv", "batch_task.csv"];
    let listed: Vec<String> = files
        .iter()
        .map(|n| {
            format!(
                "{:?}",
                f.join("traces/alibaba2018").join(n).to_str().unwrap()
            )
        })
        .collect();
    let sc = scenario(
        dir.path(),
        &format!(
            "name = \"a\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"alibaba2018\"\nfiles = [{}]\n",
            listed.join(", ")
        ),
    );
    let s = run(&sc);
    let mut args = vec!["trace", "inspect", "--format", "alibaba2018", "--json"];
    let paths: Vec<String> = files
        .iter()
        .map(|n| {
            f.join("traces/alibaba2018")
                .join(n)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    args.extend(paths.iter().map(String::as_str));
    let o = borgsim(&root(), &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s.summary.jobs_submitted as u64, v["jobs"].as_u64().unwrap());
    // Every task the trace submitted is in the cell's books or held.
    let held = s.sim.feed().held_tasks().len() as u64;
    assert_eq!(
        s.sim.state().ledger().tasks_submitted + held,
        v["task_submissions"].as_u64().unwrap()
    );
}

/// batch_instance submits a task's instances at their own times: M1 has
/// two (instance_num 2), at 100–150 and 200–300, and R2_1's row also says
/// 100. R2_1 waits for both (M1's stage has 2 tasks), so it runs 300–350,
/// not 150–200 after the first instance; in both modes.
#[test]
fn a_child_waits_for_every_instance_of_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "machine_meta.csv", ONE_MACHINE);
    write(
        d,
        "batch_task.csv",
        "M1,2,j_7,1,Terminated,100,300,100,1\nR2_1,1,j_7,1,Terminated,100,350,100,1\n",
    );
    write(
        d,
        "batch_instance.csv",
        "i1,M1,j_7,1,Terminated,100,150,m_1,1,1,100,100,1,1\n\
         i3,R2_1,j_7,1,Terminated,100,150,m_1,1,1,100,100,1,1\n\
         i2,M1,j_7,1,Terminated,200,300,m_1,1,1,100,100,1,1\n",
    );
    for mode in ["reschedule", "trace_placement"] {
        let sc = scenario(
            d,
            &format!(
                "name = \"dag\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\n\
                 format = \"alibaba2018\"\nmode = \"{mode}\"\nfiles = [\"machine_meta.csv\", \
                 \"batch_task.csv\", \"batch_instance.csv\"]\n"
            ),
        );
        let s = run(&sc);
        assert_eq!(s.started, [100, 200, 300], "{mode}: starts");
        assert_eq!(s.finished, [150, 300, 350], "{mode}: ends");
        assert_eq!(s.summary.jobs_submitted, 1, "{mode}");
    }
}
