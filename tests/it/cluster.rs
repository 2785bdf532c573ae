//! The cluster files under `scenarios/sweeps/cluster/`, checked as the
//! engines would read them and then run, on a small sweep, as the engines
//! would run them: the Kubernetes Indexed Job (YAML parsed: an Indexed Job
//! whose pod I runs `--shard I/N` with N its completions, on a shared
//! volume; its merge Job listing the N shards) and the Slurm job array
//! (`bash -n`; `#SBATCH --array=0-(N-1)` against the N of `--shard`; the
//! merge submitted with `--dependency=afterok` on the array).

use super::{borgsim, csv_rows, root, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn cluster(name: &str) -> PathBuf {
    root().join("scenarios/sweeps/cluster").join(name)
}

fn yaml(name: &str) -> Vec<Yaml> {
    let text = fs::read_to_string(cluster(name)).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .expect("a list")
        .iter()
        .map(|a| a.as_str().expect("a string").to_string())
        .collect()
}

/// A job's only container.
fn container(job: &Yaml) -> &Yaml {
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

/// The job's volume claim and where it is mounted.
fn claim(job: &Yaml) -> (String, String) {
    let pod = &job["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| !v["persistentVolumeClaim"].is_badvalue())
        .expect("a persistent volume claim");
    let name = volume["name"].as_str().unwrap();
    let mount = container(job)["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str() == Some(name))
        .expect("the claim mounted");
    (
        volume["persistentVolumeClaim"]["claimName"]
            .as_str()
            .unwrap()
            .to_string(),
        mount["mountPath"].as_str().unwrap().to_string(),
    )
}

/// A scratch directory with a sweep of 6 tiny runs, `sweep.toml`.
fn tiny_sweep() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("tests/golden/tiny.toml"),
        tmp.path().join("tiny.toml"),
    )
    .unwrap();
    fs::write(
        tmp.path().join("sweep.toml"),
        "base = \"tiny.toml\"\nseeds = [1, 2, 3]\n[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"best_fit\", \"hybrid\"]\n",
    )
    .unwrap();
    tmp
}

fn merged_rows(dir: &Path) -> usize {
    csv_rows(&fs::read(dir.join("runs.csv")).unwrap()).len()
}

/// What running the manifests takes: the shards N, a pod's args, where
/// the shared volume is mounted, the merge Job's args.
struct Manifests {
    n: i64,
    args: Vec<String>,
    mount: String,
    merge_args: Vec<String>,
}

/// The Indexed Job and its claim, checked.
fn indexed_job() -> (i64, Vec<String>, String, String) {
    let docs = yaml("kubernetes.yaml");
    let pvc = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("PersistentVolumeClaim"))
        .expect("a claim");
    assert!(
        strings(&pvc["spec"]["accessModes"]).contains(&"ReadWriteMany".to_string()),
        "shared by every pod"
    );
    let job = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Job"))
        .expect("a Job");
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().expect("completions");
    let parallelism = spec["parallelism"].as_i64().expect("parallelism");
    assert!((1..=n).contains(&parallelism));
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never")
    );
    let c = container(job);
    let args = strings(&c["args"]);
    let after = |flag: &str| {
        args[args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag}"))
            + 1]
        .clone()
    };
    assert_eq!(strings(&c["command"]), ["borgsim"]);
    assert_eq!(args[0], "sweep");
    assert_eq!(
        after("--shard"),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "shard I of completions"
    );
    let out = after("--out");
    assert!(
        out.contains("$(JOB_COMPLETION_INDEX)"),
        "a directory per shard"
    );
    let (claim_name, mount) = claim(job);
    assert_eq!(pvc["metadata"]["name"].as_str(), Some(claim_name.as_str()));
    assert!(
        out.starts_with(&format!("{mount}/")),
        "the shards on the shared volume"
    );
    (n, args, mount, claim_name)
}

/// Both manifests, checked: the Indexed Job, and the merge Job taking
/// every shard from the same volume.
fn manifests() -> Manifests {
    let (n, args, mount, claim_name) = indexed_job();
    let out = &args[args.iter().position(|a| a == "--out").unwrap() + 1];
    let merge_docs = yaml("kubernetes-merge.yaml");
    let merge = &merge_docs[0];
    assert_eq!(
        (merge["kind"].as_str(), merge["apiVersion"].as_str()),
        (Some("Job"), Some("batch/v1"))
    );
    assert_eq!(claim(merge).0, claim_name, "the same volume");
    let margs = strings(&container(merge)["args"]);
    let shards: Vec<String> = (0..n)
        .map(|i| out.replace("$(JOB_COMPLETION_INDEX)", &i.to_string()))
        .collect();
    assert_eq!(margs[0], "merge");
    assert_eq!(margs[1..=n as usize], shards[..], "every shard once");
    assert_eq!(margs[n as usize + 1], "--out");
    Manifests {
        n,
        args,
        mount,
        merge_args: margs,
    }
}

#[test]
fn the_kubernetes_manifests_are_an_indexed_job_of_a_shard_per_pod_and_a_merge_of_all() {
    manifests();
}

#[test]
fn the_kubernetes_jobs_commands_run_a_sweep_and_merge_it() {
    let Manifests {
        n,
        args,
        mount,
        merge_args: margs,
    } = manifests();
    // As the engine runs them: each pod with its index, on a small sweep,
    // then the merge.
    let tmp = tiny_sweep();
    let results = tmp.path().join("results");
    let local = |a: &str, i: Option<i64>| -> String {
        let a = a.replace(&args[1], tmp.path().join("sweep.toml").to_str().unwrap());
        let a = a.replace(&mount, results.to_str().unwrap());
        match i {
            Some(i) => a.replace("$(JOB_COMPLETION_INDEX)", &i.to_string()),
            None => a,
        }
    };
    for i in 0..n {
        let pod: Vec<String> = args.iter().map(|a| local(a, Some(i))).collect();
        let o = borgsim(
            tmp.path(),
            &pod.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(o.status.code(), Some(0), "pod {i}: {}", text(&o.stderr));
    }
    let m: Vec<String> = margs.iter().map(|a| local(a, None)).collect();
    let o = borgsim(
        tmp.path(),
        &m.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(merged_rows(Path::new(m.last().unwrap())), 6);
}

/// `N=…` in a script.
fn shards_of(script: &str) -> usize {
    script
        .lines()
        .find_map(|l| l.strip_prefix("N="))
        .expect("N=")
        .trim()
        .parse()
        .unwrap()
}

fn bash(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new("bash");
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs")
}

fn slurm_files() -> (PathBuf, PathBuf, PathBuf) {
    (
        cluster("slurm-sweep.sbatch"),
        cluster("slurm-merge.sbatch"),
        cluster("slurm-submit.sh"),
    )
}

#[test]
fn the_slurm_scripts_are_an_array_of_a_task_per_shard_and_a_merge_after_all() {
    let (sweep, merge, submit) = slurm_files();
    for f in [&sweep, &merge, &submit] {
        let o = bash(&["-n", f.to_str().unwrap()], &[]);
        assert!(o.status.success(), "{}: {}", f.display(), text(&o.stderr));
    }
    let script = fs::read_to_string(&sweep).unwrap();
    let n = shards_of(&script);
    let sbatch: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("#SBATCH "))
        .collect();
    let array = sbatch
        .iter()
        .find_map(|l| l.strip_prefix("--array="))
        .expect("#SBATCH --array=");
    assert_eq!(*array, format!("0-{}", n - 1), "an array task per shard");
    assert!(sbatch.iter().any(|l| l.starts_with("--cpus-per-task=")));
    assert!(
        script.contains("--shard \"$SLURM_ARRAY_TASK_ID/$N\""),
        "{script}"
    );
    let merge_script = fs::read_to_string(&merge).unwrap();
    assert_eq!(shards_of(&merge_script), n, "the merge takes every shard");
    let submit_script = fs::read_to_string(&submit).unwrap();
    assert!(
        submit_script.contains("--dependency=afterok:"),
        "{submit_script}"
    );
}

#[test]
fn the_slurm_scripts_run_a_sweep_and_merge_it() {
    let (sweep, merge, _) = slurm_files();
    let n = shards_of(&fs::read_to_string(&sweep).unwrap());
    // As Slurm runs them: each array task with its id, then the merge.
    let tmp = tiny_sweep();
    let bin = Path::new(env!("CARGO_BIN_EXE_borgsim")).parent().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let results = tmp.path().join("results");
    let sweep_file = tmp.path().join("sweep.toml");
    let run = |script: &Path, task: String| {
        let env: [(&str, String); 5] = [
            ("PATH", path.clone()),
            ("SWEEP", sweep_file.display().to_string()),
            ("RESULTS", results.display().to_string()),
            ("SLURM_ARRAY_TASK_ID", task),
            ("SLURM_CPUS_PER_TASK", "2".into()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        bash(&[script.to_str().unwrap()], &env)
    };
    for i in 0..n {
        let o = run(&sweep, i.to_string());
        assert!(o.status.success(), "task {i}: {}", text(&o.stderr));
    }
    let o = run(&merge, String::new());
    assert!(o.status.success(), "merge: {}", text(&o.stderr));
    assert_eq!(merged_rows(&results.join("merged")), 6);
}

#[test]
fn the_slurm_submission_makes_the_merge_wait_for_the_array() {
    let (_, _, submit) = slurm_files();
    let tmp = tempfile::tempdir().unwrap();
    // An sbatch that records what it is asked.
    let fake = tmp.path().join("bin");
    fs::create_dir(&fake).unwrap();
    fs::write(
        fake.join("sbatch"),
        "#!/bin/bash\necho \"$*\" >> \"$SBATCH_LOG\"\necho '4242;cluster'\n",
    )
    .unwrap();
    let sbatch = fake.join("sbatch");
    let mut mode = fs::metadata(&sbatch).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    fs::set_permissions(&sbatch, mode).unwrap();
    let log = tmp.path().join("sbatch.log");
    let fake_path = format!("{}:/usr/bin:/bin", fake.display());
    let o = bash(
        &[submit.to_str().unwrap(), "--partition=x"],
        &[
            ("PATH", fake_path.as_str()),
            ("SBATCH_LOG", log.to_str().unwrap()),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let calls = fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[0].starts_with("--parsable --partition=x ")
            && calls[0].ends_with("/slurm-sweep.sbatch"),
        "{}",
        calls[0]
    );
    assert!(
        calls[1].starts_with("--partition=x --dependency=afterok:4242 ")
            && calls[1].ends_with("/slurm-merge.sbatch"),
        "{}",
        calls[1]
    );
}
