//! Inputs the openb paper's one-by-one protocol cannot replay are refused
//! with exit code 2, naming the file and key, by `run` and `experiment fgd`
//! alike (they are checked where the one-by-one feed is built): a pod list
//! without pods, one that asks for no GPU (its demand can never reach the
//! target), a cell without GPUs (tuning down to a share of 0 would remove
//! every pod), and an inflation target beyond the key's bound.

use super::{borgsim, root, text};
use std::path::Path;

const HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

/// A one-by-one scenario in `dir` over `nodes` and `pods` (file names in
/// `dir`), to `pct` %.
fn scenario(dir: &Path, nodes: &str, pods: &str, pct: u64) -> String {
    let text = format!(
        "name = \"refused\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\npreemption = false\n\
         [trace]\nformat = \"openb\"\nfiles = [\"{nodes}\", \"{pods}\"]\n\
         arrivals = \"one_by_one\"\ninflate_gpu_demand_pct = {pct}\n"
    );
    let path = dir.join(format!("{pods}.{pct}.toml"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `borgsim run` and `borgsim experiment fgd` of `sc`: both exit 2 with
/// `expected` in their error.
fn both_refuse(dir: &Path, sc: &str, pods: &str, expected: &str) {
    let out = dir.join("out");
    let run = borgsim(
        &root(),
        &[
            "run",
            sc,
            "-q",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(2), "run: {}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains(expected),
        "run: {}",
        text(&run.stderr)
    );
    let list = dir.join(pods);
    let args = [
        "experiment",
        "fgd",
        sc,
        "--traces",
        list.to_str().unwrap(),
        "--seeds",
        "1",
        "--policies",
        "best_fit",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    let exp = borgsim(&root(), &args);
    assert_eq!(
        exp.status.code(),
        Some(2),
        "experiment: {}",
        text(&exp.stderr)
    );
    assert!(
        text(&exp.stderr).contains(expected),
        "experiment: {}",
        text(&exp.stderr)
    );
}

#[test]
fn degenerate_pod_lists_and_cells_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        root().join("tests/fixtures/fgd/nodes.csv"),
        d.join("nodes.csv"),
    )
    .unwrap();
    std::fs::write(
        d.join("nogpunodes.csv"),
        "sn,cpu_milli,memory_mib,gpu,model\nn,32000,131072,0,\n",
    )
    .unwrap();
    std::fs::write(d.join("empty.csv"), HEADER).unwrap();
    std::fs::write(
        d.join("cpu.csv"),
        format!("{HEADER}a,1000,2048,0,0,,BE,Running,0,100,0\n"),
    )
    .unwrap();
    let gpu = format!("{HEADER}a,1000,2048,1,500,,BE,Running,0,100,0\n");
    std::fs::write(d.join("gpu.csv"), gpu).unwrap();
    let sc = scenario(d, "nodes.csv", "empty.csv", 130);
    both_refuse(
        d,
        &sc,
        "empty.csv",
        "empty.csv: trace.files: the pod list has no pods",
    );
    let sc = scenario(d, "nodes.csv", "cpu.csv", 130);
    let no_gpu = "cpu.csv: trace.inflate_gpu_demand_pct: the pod list asks for no GPU";
    both_refuse(d, &sc, "cpu.csv", no_gpu);
    let sc = scenario(d, "nogpunodes.csv", "gpu.csv", 130);
    both_refuse(
        d,
        &sc,
        "gpu.csv",
        "nogpunodes.csv: trace.files: the cell has no GPUs",
    );
}

#[test]
fn an_inflation_beyond_its_bound_is_refused_before_anything_is_drawn() {
    // 1e6 % used to draw pods until memory ran out; the key's bound is
    // 1000 %.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        root().join("tests/fixtures/fgd/nodes.csv"),
        d.join("nodes.csv"),
    )
    .unwrap();
    let gpu = format!("{HEADER}a,1000,2048,1,500,,BE,Running,0,100,0\n");
    std::fs::write(d.join("gpu.csv"), gpu).unwrap();
    let sc = scenario(d, "nodes.csv", "gpu.csv", 1_000_000);
    let o = borgsim(&root(), &["validate", &sc]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("trace.inflate_gpu_demand_pct: 1000000 is above 1000"),
        "{}",
        text(&o.stderr)
    );
    // At the bound the 5 GPUs (5000 milli) take 10 × 5000 / 500 = 100
    // arrivals: it runs.
    let sc = scenario(d, "nodes.csv", "gpu.csv", 1000);
    let out = d.join("out");
    let o = borgsim(
        &root(),
        &[
            "run",
            &sc,
            "-q",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}
