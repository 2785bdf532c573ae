//! `borgsim master` end to end: a real master process, fake agents in the
//! test (tiny axum servers that accept launches), its API, its token, its
//! store across a crash.

use crate::master_common::{start_master, start_master_with, wait_for, Api, FakeAgent};
use borgsim::live::proto::TaskRef;
use serde_json::{json, Value};

fn job(name: &str, tasks: u32) -> Value {
    json!({
        "name": name, "user": "alice", "priority": 200, "tasks": tasks,
        "cpu_milli": 1000, "mem_mib": 256, "command": ["sleep", "600"],
    })
}

/// The job's tasks' states, by index.
async fn states(api: &Api, job: &str) -> Vec<String> {
    let (code, body) = api.get(&format!("/v1/jobs/{job}")).await;
    assert_eq!(code, 200, "{body}");
    let tasks = body["tasks"].as_array().cloned().unwrap_or_default();
    (tasks.iter())
        .map(|t| t["state"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Waits until every task of `job` is in `want`.
async fn wait_states(api: &Api, job: &str, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    wait_for(&format!("{job} to be {want:?}"), || async {
        let mut seen = states(api, job).await;
        seen.sort();
        let mut w = want.clone();
        w.sort();
        if seen == w {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_tasks_are_launched_on_agents_and_end_as_reported() {
    let dir = tempfile::tempdir().unwrap();
    let master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    let agent = FakeAgent::start().await;
    let (code, reply) = api
        .post("/v1/agent/register", &agent.registration("n0", &[]))
        .await;
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["kill"], json!([]));
    let (code, status) = api.post("/v1/jobs", &job("web", 3)).await;
    assert_eq!(
        (code, &status["task_states"]),
        (201, &json!({"pending": 3}))
    );
    wait_states(&api, "web", &["running", "running", "running"]).await;
    let launched = agent.launched();
    assert_eq!(launched.len(), 3);
    assert!(launched.iter().all(|t| t.incarnation == 1));
    // Exit 0 finishes a task; exit 3 fails one (no restart asked for).
    let exit = |k: u32, outcome: Value| {
        json!({"task": {"task": format!("{k}.web.alice.cell"), "incarnation": 1},
               "outcome": outcome, "ended_ms": 5})
    };
    let report = json!({"name": "n0", "exits": [exit(0, json!({"exited": 0})),
                                                exit(1, json!({"exited": 3}))]});
    let (code, ack) = api.post("/v1/agent/exits", &report).await;
    assert_eq!(code, 200);
    assert_eq!(ack["acked"].as_array().map(Vec::len), Some(2));
    assert_eq!(states(&api, "web").await, ["finished", "failed", "running"]);
    let (_, tasks) = api.get("/v1/tasks?job=web").await;
    assert_eq!(tasks[1]["exit_code"], json!(3));
    assert_eq!(tasks[0]["machine"], json!("n0"));
    // Each start's latency, as the master measured it (µs).
    let measured = tasks.as_array().unwrap();
    assert!(measured.iter().all(|t| t["submit_to_running_us"].is_u64()));
    // Killing the job stops the running task on its agent.
    let (code, killed) = api.call("DELETE", "/v1/jobs/web", None).await;
    assert_eq!((code, &killed["killed"]), (200, &json!(true)));
    let killed = wait_for("the kill to reach the agent", || async {
        let k = agent.killed();
        match k.len() {
            1 => Ok(k),
            _ => Err(format!("{k:?}")),
        }
    })
    .await;
    assert_eq!(killed[0].task, "2.web.alice.cell");
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[0]["state"], json!("up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_token_is_401_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    api.post("/v1/jobs", &job("before", 1)).await;
    let (_, jobs_before) = api.get("/v1/jobs").await;
    for token in [None, Some("not-the-token-0123456789")] {
        let other = Api::with_token(&master.url, token);
        for (method, path) in [
            ("POST", "/v1/jobs"),
            ("GET", "/v1/jobs"),
            ("DELETE", "/v1/jobs/before"),
            ("GET", "/v1/machines"),
            ("GET", "/v1/no-such-route"),
        ] {
            let body = (method == "POST").then(|| job("sneaky", 1).to_string());
            let (code, err) = other.call(method, path, body).await;
            assert_eq!(code, 401, "{method} {path} with {token:?}: {err}");
            assert!(err["error"].as_str().is_some(), "{err}");
        }
        let reg = FakeAgent::start().await.registration("intruder", &[]);
        assert_eq!(other.post("/v1/agent/register", &reg).await.0, 401);
    }
    assert_eq!(api.get("/v1/jobs").await.1, jobs_before);
    assert_eq!(api.get("/v1/machines").await.1, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_field_and_oversize_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    let cases = [
        ("{\"name\": \"j\",".to_string(), "EOF"),
        (json!({"name": "j"}).to_string(), "missing field"),
        (
            {
                let mut j = job("j", 1);
                j["run_as"] = json!("root");
                j.to_string()
            },
            "run_as",
        ),
        (
            {
                let mut j = job("j", 1);
                j["workdir"] = json!("../../etc");
                j.to_string()
            },
            "workdir",
        ),
        (job("bad.name", 1).to_string(), "`name`"),
        (job("j", 0).to_string(), "`tasks`"),
    ];
    for (body, names) in cases {
        let (code, err) = api.call("POST", "/v1/jobs", Some(body.clone())).await;
        assert_eq!(code, 400, "{body}: {err}");
        let text = err["error"].as_str().unwrap_or_default();
        assert!(text.contains(names), "{body}: {text}");
    }
    // One byte over the limit (as the agent's test): far over it, the
    // master's early 413 races the client still writing, which may see
    // the connection reset instead of the reply.
    let pad = borgsim::live::proto::MAX_BODY_BYTES + 1 - "{\"name\": \"\"}".len();
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(pad));
    let (code, err) = api.call("POST", "/v1/jobs", Some(huge)).await;
    assert_eq!(code, 413, "{err}");
    let (code, err) = api.get("/v1/nothing-here").await;
    assert_eq!((code, err["error"].is_string()), (404, true));
    assert_eq!(api.get("/v1/jobs").await.1, json!([]));
    api.post("/v1/jobs", &job("dup", 1)).await;
    assert_eq!(api.post("/v1/jobs", &job("dup", 1)).await.0, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_recovers_its_store_and_reattaches_running_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let mut master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    let agent = FakeAgent::start().await;
    api.post("/v1/agent/register", &agent.registration("n0", &[]))
        .await;
    api.post("/v1/jobs", &job("svc", 2)).await;
    wait_states(&api, "svc", &["running", "running"]).await;
    master.crash();
    let master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    // Recovered from the store; the machine unreachable until its agent
    // registers again (a heartbeat alone is told to register).
    assert_eq!(states(&api, "svc").await, ["running", "running"]);
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[0]["state"], json!("unreachable"));
    let hb = json!({"name": "n0", "usage": {"cpu_milli": 0, "mem_mib": 0}, "running": []});
    assert_eq!(
        api.post("/v1/agent/heartbeat", &hb).await.1["known"],
        json!(false)
    );
    let running: Vec<TaskRef> = agent.launched();
    let (code, reply) = api
        .post("/v1/agent/register", &agent.registration("n0", &running))
        .await;
    assert_eq!((code, &reply["kill"]), (200, &json!([])), "{reply}");
    assert_eq!(states(&api, "svc").await, ["running", "running"]);
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[0]["state"], json!("up"));
    assert_eq!(machines[0]["tasks_running"], json!(2));
    // Nothing was started again or stopped.
    assert_eq!(agent.launched().len(), 2);
    assert!(agent.killed().is_empty());
    // A task the agent runs that the store does not know is told to stop.
    let stray = TaskRef {
        task: "0.other.bob.cell".into(),
        incarnation: 1,
    };
    let mut all = running.clone();
    all.push(stray.clone());
    let (_, reply) = api
        .post("/v1/agent/register", &agent.registration("n0", &all))
        .await;
    assert_eq!(reply["kill"], json!([stray]));
}

/// The machine each task of `job` is on, by index.
async fn machines_of(api: &Api, job: &str) -> Vec<String> {
    let (_, tasks) = api.get(&format!("/v1/tasks?job={job}")).await;
    let tasks = tasks.as_array().cloned().unwrap_or_default();
    (tasks.iter())
        .map(|t| t["machine"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_machine_s_tasks_move_and_a_silent_one_s_are_rescheduled() {
    let dir = tempfile::tempdir().unwrap();
    let timing = ["--heartbeat-ms", "100", "--grace-ms", "1000"];
    let master = start_master_with(dir.path(), &timing, &[]);
    let api = Api::new(&master.url);
    let agents = [
        FakeAgent::start().await,
        FakeAgent::start().await,
        FakeAgent::start().await,
    ];
    let mut beats = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        let name = format!("n{i}");
        api.post("/v1/agent/register", &a.registration(&name, &[]))
            .await;
        beats.push(a.heartbeat(api.clone(), &name));
    }
    // One task per machine on n0 and n1 (4 cores each, 3 asked).
    let mut big = job("svc", 2);
    big["cpu_milli"] = json!(3000);
    api.post("/v1/jobs", &big).await;
    wait_states(&api, "svc", &["running", "running"]).await;
    let first = machines_of(&api, "svc").await;
    // Drain the first task's machine: stopped there, started elsewhere.
    let drained = first[0].clone();
    let (code, m) = api
        .post(&format!("/v1/machines/{drained}/drain"), &json!({}))
        .await;
    assert_eq!((code, &m["state"]), (200, &json!("drained")), "{m}");
    let moved = wait_for("task 0 to move", || async {
        let now = machines_of(&api, "svc").await;
        let states = states(&api, "svc").await;
        match now[0] != drained && states[0] == "running" {
            true => Ok(now),
            false => Err(format!("{now:?} {states:?}")),
        }
    })
    .await;
    let d: usize = drained[1..].parse().unwrap();
    assert_eq!(agents[d].killed().len(), 1);
    let (code, m) = api
        .post(&format!("/v1/machines/{drained}/undrain"), &json!({}))
        .await;
    assert_eq!((code, &m["state"]), (200, &json!("up")), "{m}");
    // Silence the machine task 1 runs on: past the grace period its task
    // is lost and placed on the one machine with room, the undrained one.
    let silent: usize = moved[1][1..].parse().unwrap();
    beats[silent].abort();
    wait_for("task 1 to be rescheduled", || async {
        let now = machines_of(&api, "svc").await;
        let states = states(&api, "svc").await;
        match now[1] != moved[1] && states[1] == "running" {
            true => Ok(()),
            false => Err(format!("{now:?} {states:?}")),
        }
    })
    .await;
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[silent]["state"], json!("down"), "{machines}");
}

#[test]
fn a_master_without_a_usable_token_exits_2_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tooshort\n").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
            .arg("master")
            .args(args)
            .env_remove("BORGSIM_TOKEN")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let none = run(&[]);
    let text = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--token-file") && text.contains("BORGSIM_TOKEN"),
        "{text}"
    );
    let short = run(&["--token-file", short.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&short.stderr);
    assert_eq!(short.status.code(), Some(2), "{text}");
    assert!(text.contains("at least 16"), "{text}");
    assert!(none.stdout.is_empty() && short.stdout.is_empty());
    assert!(
        !dir.path().join("borgsim-master.db").exists(),
        "nothing opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_jobs_is_admitted_whole_or_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let master = start_master(dir.path(), &[]);
    let api = Api::new(&master.url);
    let mut unknown = job("b", 1);
    unknown["run_as"] = json!("root");
    for (list, why) in [
        (
            json!([job("a", 1), unknown]),
            "jobs[1] (`b`): run_as: unknown field `run_as`",
        ),
        (json!([job("a", 1), job("c", 0)]), "jobs[1] (`c`): `tasks`"),
        (
            json!([job("a", 1), {"name": "d", "tasks": "lots"}]),
            "jobs[1] (`d`): tasks: invalid type",
        ),
        (json!([job("a", 1), job("a", 1)]), "given twice"),
        (json!([]), "empty"),
    ] {
        let (code, err) = api.post("/v1/jobs", &list).await;
        assert_eq!(code, 400, "{list}: {err}");
        let text = err["error"].as_str().unwrap_or_default();
        assert!(text.contains(why), "{list}: {text}");
    }
    assert_eq!(api.get("/v1/jobs").await.1, json!([]));
    let (code, done) = api
        .post("/v1/jobs", &json!([job("a", 1), job("b", 2)]))
        .await;
    assert_eq!(code, 201, "{done}");
    assert_eq!(
        (&done[0]["name"], &done[1]["name"]),
        (&json!("a"), &json!("b"))
    );
    assert_eq!(done[1]["task_states"], json!({"pending": 2}));
    let (_, jobs) = api.get("/v1/jobs").await;
    assert_eq!(jobs.as_array().map(Vec::len), Some(2));
}
