//! The `fgd` policy on a cell and workload other than the paper's: a
//! synthetic GPU workload gives its typical pods from its job classes (the
//! tasks the generator will submit), and the paper policies' node scale is
//! the cell's own, the paper's constants on the openb cluster.

use borgsim::cell::resources::GpuRequest;
use borgsim::scenario::Scenario;
use borgsim::sched::plugins::NodeScale;

/// Four machines of 32 cores and 4 GPUs; 12 jobs of 2 tasks (4 cores,
/// half a GPU) at 0 s, and 20 jobs of 1 task (8 cores, 1 GPU) arriving at
/// 60 an hour.
const SYNTHETIC: &str = r#"
name = "fgd-synthetic"
seed = 3
duration_s = 3600
[cell]
[[cell.machines]]
count = 4
cpu_milli = 32000
mem_mib = 262144
gpus = 4
[scheduler]
policy = "fgd"
preemption = false
[[workload.jobs]]
name = "share"
band = "batch"
initial_jobs = 12
tasks = { constant = 2 }
cpu_milli = { constant = 4000 }
mem_mib = { constant = 1024 }
gpu = { share = 500 }
duration_s = { constant = 600 }
[[workload.jobs]]
name = "whole"
band = "batch"
arrival = { poisson = { per_hour = 60 } }
max_jobs = 20
tasks = { constant = 1 }
cpu_milli = { constant = 8000 }
mem_mib = { constant = 1024 }
gpu = { whole = 1 }
duration_s = { constant = 600 }
"#;

#[test]
fn a_synthetic_workload_counts_typical_pods_on_its_job_classes() {
    let sc = Scenario::parse(SYNTHETIC, std::path::Path::new("fgd-synthetic.toml")).unwrap();
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    let slot = sim
        .scheduler()
        .typical_slot()
        .expect("fgd has typical pods");
    let tp = slot.get().expect("filled at the first pass");
    let pods: Vec<(u64, GpuRequest, u64)> = tp
        .pods()
        .iter()
        .map(|p| (p.cpu_milli, p.gpu, p.count))
        .collect();
    // 44 tasks in all (under the 10,000 sampled): 24 shares, then 20
    // whole GPUs. 24 < 95 % of 44 = 41.8, so the whole-GPU key is taken
    // too. Only the 24 shares were submitted by the first pass (at 0 s):
    // the later class counts because the generator is sampled ahead.
    assert_eq!(
        pods,
        [
            (4000, GpuRequest::Share(500), 24),
            (8000, GpuRequest::Whole(1), 20)
        ]
    );
    assert_eq!(tp.total(), 44);
    // Every task ran (10-minute tasks, the last arrivals within the hour).
    let s = borgsim::metrics::summary::Summary::of(&sc, &sim);
    assert_eq!(s.tasks.submitted, 44);
    assert_eq!(s.tasks.pending_at_end + s.tasks.dropped, 0, "{:?}", s.tasks);
    // The cell's node scale: 32 cores, 4 GPUs.
    assert_eq!(
        NodeScale::of(sim.state()),
        NodeScale {
            cpu_milli: 32_000,
            gpu_milli: 4_000
        }
    );
}

#[test]
fn the_openb_cluster_gives_the_papers_node_scale() {
    let sc = Scenario::builtin("openb").unwrap().unwrap();
    let mut sim = borgsim::build_simulation(&sc, false).unwrap();
    sim.run(&mut |_| {}).unwrap();
    assert_eq!(NodeScale::of(sim.state()), NodeScale::OPENB);
}

/// A trace replayed at its times: the first pass sees one whole-GPU pod,
/// but the typical pods are the trace's first tasks read ahead — all six
/// (one whole GPU, five half GPUs) — and the run says so: summary.json's
/// `typical_pods`, a line on the page, and a warning (6 < 100 tasks).
#[test]
fn a_trace_at_its_times_counts_typical_pods_on_its_tasks_read_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = crate::borgsim(
        &crate::root(),
        &[
            "run",
            "tests/fixtures/fgd-at-times/scenario.toml",
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
        ],
    );
    assert!(o.status.success(), "{}", crate::text(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    // 5 half-GPU pods, then 1 whole: 5 < 95 % of 6 = 5.7, both kept,
    // covering 6 of 6.
    assert_eq!(
        s["typical_pods"],
        serde_json::json!({
            "source": "trace_ahead", "tasks_counted": 6, "keys": 2, "coverage_pct": 100.0
        })
    );
    assert!(
        crate::text(&o.stderr)
            .contains("typical_pods: counted on 6 task(s) (trace_ahead), fewer than 100"),
        "{}",
        crate::text(&o.stderr)
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains(r#"<p id="typical-pods">"#));
    assert!(page.contains("counted on 6 tasks from the trace's first tasks, read ahead"));
}
