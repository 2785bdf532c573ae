//! The agent end to end: a real `borgsim agent` process, a fake master
//! on loopback, tasks launched and killed through the agent's API, and
//! what reaches the master — exits, re-registration, nothing killed when
//! the master is gone.

use super::common::{poll_until, Agent, Client, Proc, TOKEN};
use super::fake_master::FakeMaster;
use borgsim::live::proto::{ExitOutcome, TaskExit};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

/// Starts an agent `node-1` of `master` (4000 milli-cores, 8192 MiB,
/// `zone=a`) with a 300 ms kill grace.
fn agent(master: &FakeMaster) -> Agent {
    let extra = ["--attr", "zone=a", "--kill-grace-ms", "300"];
    Agent::start(&master.url(), "node-1", &extra)
}

fn launch(task: &str, command: &[&str]) -> Value {
    json!({
        "task": {"task": task, "incarnation": 1},
        "command": command,
        "cpu_milli": 100,
        "mem_mib": 256,
    })
}

fn outcome(exit: &TaskExit) -> ExitOutcome {
    exit.outcome
}

/// Waits until agent `a` holds no exit unacknowledged (`seen` says what
/// there was, if it times out).
fn exits_acknowledged(a: &Agent, seen: impl Fn() -> String) {
    poll_until(
        "the exits acknowledged",
        || {
            let (_, t) = a.api.get("/v1/tasks");
            t["exits"]
                .as_array()
                .is_some_and(Vec::is_empty)
                .then_some(())
        },
        seen,
    );
}

/// What a task run wrote to `file` (stdout, stderr) in its sandbox.
fn output(work: &Path, task: &str, file: &str) -> String {
    std::fs::read_to_string(work.join("tasks").join(task).join("1").join(file))
        .unwrap_or_else(|e| panic!("{task}/{file}: {e}"))
}

#[test]
fn tasks_run_to_their_ends_and_their_output_is_kept() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let reg = poll_until(
        "a registration",
        || master.with(|l| l.registrations.first().cloned()),
        || a.proc.stderr(),
    );
    assert_eq!(reg.name, "node-1");
    assert_eq!((reg.capacity.cpu_milli, reg.capacity.mem_mib), (4000, 8192));
    assert_eq!(reg.attrs.get("zone").map(String::as_str), Some("a"));
    assert_eq!(reg.addr, a.proc.addr.to_string());
    let (_, health) = a.api.get("/v1/health");
    assert_eq!(health["limits"], serde_json::to_value(reg.limits).unwrap());

    for (task, cmd) in [
        ("0.ok.u.c", &["sleep", "0.2"][..]),
        ("1.three.u.c", &["sh", "-c", "exit 3"]),
        ("2.echo.u.c", &["sh", "-c", "echo hi; echo err >&2"]),
        ("3.nope.u.c", &["no-such-program-borgsim"]),
        ("4.own127.u.c", &["sh", "-c", "exit 127"]),
    ] {
        let (status, body) = a.api.post("/v1/tasks", &launch(task, cmd));
        assert_eq!(status, 201, "{task}: {body}");
        // No process for a program that cannot start: pid 0.
        let want_process = task != "3.nope.u.c";
        assert_eq!(
            body["pid"].as_u64().is_some_and(|p| p > 1),
            want_process,
            "{body}"
        );
    }
    assert_eq!(outcome(&master.exit_of("0.ok.u.c")), ExitOutcome::Exited(0));
    assert_eq!(
        outcome(&master.exit_of("1.three.u.c")),
        ExitOutcome::Exited(3)
    );
    assert_eq!(
        outcome(&master.exit_of("2.echo.u.c")),
        ExitOutcome::Exited(0)
    );
    let failed = master.exit_of("3.nope.u.c");
    assert_eq!(outcome(&failed), ExitOutcome::StartFailed);
    assert!(failed
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("no-such-program")));
    // A task's own 127 is its exit, not a start failure.
    assert_eq!(
        outcome(&master.exit_of("4.own127.u.c")),
        ExitOutcome::Exited(127)
    );
    assert_eq!(output(&a.work, "2.echo.u.c", "stdout"), "hi\n");
    assert_eq!(output(&a.work, "2.echo.u.c", "stderr"), "err\n");
    assert!(output(&a.work, "3.nope.u.c", "stderr").contains("cannot run"));
    // Logged as a start that failed, with the reason, not as a start.
    let log = a
        .proc
        .wait_for_log("agent: could not start 3.nope.u.c #1: cannot run");
    assert!(!log.contains("started 3.nope.u.c"), "{log}");

    // Acknowledged exits are forgotten; the run cannot start again here.
    exits_acknowledged(&a, || a.api.get("/v1/tasks").1.to_string());
    let (status, body) = a.api.post("/v1/tasks", &launch("1.three.u.c", &["true"]));
    assert_eq!(status, 409, "{body}");
}

#[test]
fn a_second_launch_of_a_running_task_starts_nothing() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let body = launch("0.twice.u.c", &["sleep", "30"]);
    let (first, one) = a.api.post("/v1/tasks", &body);
    let (second, two) = a.api.post("/v1/tasks", &body);
    assert_eq!((first, second), (201, 200), "{one} {two}");
    assert_eq!(one["pid"], two["pid"]);
    let (_, tasks) = a.api.get("/v1/tasks");
    assert_eq!(
        tasks["running"].as_array().map(Vec::len),
        Some(1),
        "{tasks}"
    );
    // Heartbeats carry it, with its pid.
    let beat = poll_until(
        "a heartbeat with the task",
        || master.with(|l| l.heartbeats.iter().find(|h| !h.running.is_empty()).cloned()),
        || master.seen(),
    );
    assert_eq!(beat.running.len(), 1);
    assert_eq!(Some(u64::from(beat.running[0].pid)), one["pid"].as_u64());
}

#[test]
fn a_list_of_launches_answers_each_in_order() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let running = launch("0.list.u.c", &["sleep", "30"]);
    let (status, first) = a.api.post("/v1/tasks", &running);
    assert_eq!(status, 201, "{first}");
    let mut outside = launch("2.list.u.c", &["true"]);
    outside["workdir"] = json!("../x");
    let list = json!([
        running,
        launch("1.list.u.c", &["sh", "-c", "exit 4"]),
        outside,
        launch("3.list.u.c", &["no-such-program-borgsim"]),
    ]);
    let (status, replies) = a.api.post("/v1/tasks", &list);
    assert_eq!(status, 200, "{replies}");
    let statuses: Vec<u64> = (replies.as_array().unwrap().iter())
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    // Already running; started; refused alone (its workdir); started
    // with no process (its exit reports the start failure).
    assert_eq!(statuses, [200, 201, 400, 201], "{replies}");
    assert_eq!(replies[0]["running"]["pid"], first["pid"]);
    assert!(replies[2]["error"].as_str().unwrap().contains("workdir"));
    assert_eq!(replies[3]["running"]["pid"], 0);
    assert_eq!(
        outcome(&master.exit_of("1.list.u.c")),
        ExitOutcome::Exited(4)
    );
    assert_eq!(
        outcome(&master.exit_of("3.list.u.c")),
        ExitOutcome::StartFailed
    );
    // A list with one malformed launch starts none, and names it.
    let bad = json!([launch("4.list.u.c", &["true"]), {"task": 1}]);
    let (status, reply) = a.api.post("/v1/tasks", &bad);
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("launch 1"),
        "{reply}"
    );
    assert!(!a.work.join("tasks").join("4.list.u.c").exists());
}

/// Whether a process has its working directory below `dir`.
fn runs_in(dir: &Path) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs
        .flatten()
        .any(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(dir)))
}

#[test]
fn a_kill_stops_the_whole_task_and_reports_it_killed() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let (_, polite) = a
        .api
        .post("/v1/tasks", &launch("0.polite.u.c", &["sleep", "30"]));
    // Ignores SIGTERM: SIGKILL after the 300 ms grace. Its child sleep is
    // in the same process group and goes too.
    let stubborn = launch(
        "1.stubborn.u.c",
        &["sh", "-c", "trap '' TERM; sleep 30 & wait"],
    );
    let (_, stub) = a.api.post("/v1/tasks", &stubborn);
    // Its child moves to a process group of its own (the same session):
    // the kill reaches it too.
    let grouped = launch(
        "2.grouped.u.c",
        &["sh", "-c", "perl -e 'setpgrp(0, 0); sleep 30' & wait"],
    );
    let (_, group) = a.api.post("/v1/tasks", &grouped);
    for (task, started) in [
        ("0.polite.u.c", &polite),
        ("1.stubborn.u.c", &stub),
        ("2.grouped.u.c", &group),
    ] {
        let (status, exit) = a.api.delete(&format!("/v1/tasks/{task}?incarnation=1"));
        assert_eq!(status, 200, "{exit}");
        assert_eq!(exit["outcome"], "killed", "{exit}");
        let pid = started["pid"].as_u64().expect("a pid");
        // Reaped, not a zombie: the agent waited for it.
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{task} pid {pid} left"
        );
    }
    // Nothing runs in a sandbox any more (the stubborn one's child was in
    // its group, the grouped one's in its session).
    let work = a.work.canonicalize().expect("the work directory");
    poll_until(
        "every process in the sandboxes gone",
        || (!runs_in(&work)).then_some(()),
        || "a process still runs in a sandbox".into(),
    );
    assert_eq!(
        outcome(&master.exit_of("1.stubborn.u.c")),
        ExitOutcome::Killed
    );
    // Unknown runs and missing incarnations.
    assert_eq!(a.api.delete("/v1/tasks/9.none.u.c?incarnation=1").0, 404);
    assert_eq!(a.api.delete("/v1/tasks/0.polite.u.c?incarnation=7").0, 404);
    assert_eq!(a.api.delete("/v1/tasks/0.polite.u.c").0, 400);
}

#[test]
fn the_master_can_list_tasks_to_kill() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let (status, _) = a
        .api
        .post("/v1/tasks", &launch("0.orphan.u.c", &["sleep", "30"]));
    assert_eq!(status, 201);
    master
        .log
        .lock()
        .expect("the log")
        .kill_next
        .push(borgsim::live::proto::TaskRef {
            task: "0.orphan.u.c".into(),
            incarnation: 1,
        });
    assert_eq!(
        outcome(&master.exit_of("0.orphan.u.c")),
        ExitOutcome::Killed
    );
}

#[test]
fn without_the_token_nothing_is_done() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let body = serde_json::to_vec(&launch("0.intruder.u.c", &["true"])).unwrap();
    for token in [None, Some("wrong-token-but-long-enough"), Some(&TOKEN[1..])] {
        let (status, reply) = a
            .api
            .send(Method::POST, "/v1/tasks", token, Some(body.clone()));
        assert_eq!(status, 401, "{token:?}: {reply}");
        assert!(reply["error"].is_string(), "{reply}");
        for path in ["/v1/tasks", "/v1/health", "/v1/nowhere"] {
            assert_eq!(a.api.send(Method::GET, path, token, None).0, 401, "{path}");
        }
        let del = "/v1/tasks/0.intruder.u.c?incarnation=1";
        assert_eq!(a.api.send(Method::DELETE, del, token, None).0, 401);
    }
    let (_, tasks) = a.api.get("/v1/tasks");
    assert_eq!(tasks, json!({"running": [], "exits": []}));
    assert!(!a.work.join("tasks/0.intruder.u.c").exists());
}

#[test]
fn bad_launches_are_refused_by_field_and_change_nothing() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut with = |key: &str, value: Value, names: &'static str| {
        let mut l = launch("0.bad.u.c", &["true"]);
        l[key] = value;
        cases.push((l, names));
    };
    with("workdir", json!("../x"), "workdir");
    with("workdir", json!("a/../../x"), "workdir");
    with("workdir", json!("/etc"), "workdir");
    with("command", json!([]), "command");
    with("run_as", json!("root"), "run_as");
    with(
        "task",
        json!({"task": "../../evil", "incarnation": 1}),
        "task",
    );
    with("cpu_milli", json!("lots"), "cpu_milli");
    for (body, names) in &cases {
        let (status, reply) = a.api.post("/v1/tasks", body);
        assert_eq!(status, 400, "{body}: {reply}");
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(names),
            "{body}: {error:?} does not name {names}"
        );
    }
    let malformed = b"{\"task\": ".to_vec();
    let (status, _) = a
        .api
        .send(Method::POST, "/v1/tasks", Some(TOKEN), Some(malformed));
    assert_eq!(status, 400);
    let huge = vec![b' '; borgsim::live::proto::MAX_BODY_BYTES + 1];
    let (status, _) = a
        .api
        .send(Method::POST, "/v1/tasks", Some(TOKEN), Some(huge));
    assert_eq!(status, 413);
    let sandboxes = std::fs::read_dir(a.work.join("tasks")).map_or(0, Iterator::count);
    assert_eq!(sandboxes, 0, "a refused launch made a sandbox");
    assert!(!a.work.parent().unwrap().join("x").exists());
}

#[test]
fn tasks_outlive_the_master_and_their_exits_wait_for_its_return() {
    let mut master = FakeMaster::start(0);
    let port = master.addr.port();
    let a = agent(&master);
    poll_until(
        "a registration",
        || master.with(|l| (!l.registrations.is_empty()).then_some(())),
        || a.proc.stderr(),
    );
    master.stop();
    let reachable = || a.api.get("/v1/health").1["master_reachable"].clone();
    poll_until(
        "the master seen gone",
        || (reachable() == json!(false)).then_some(()),
        || a.proc.stderr(),
    );
    // Started while the master is away; it runs to its own end (below).
    let (status, _) = a
        .api
        .post("/v1/tasks", &launch("0.alone.u.c", &["sleep", "1"]));
    assert_eq!(status, 201);
    let (_, tasks) = a.api.get("/v1/tasks");
    assert_eq!(
        tasks["running"][0]["task"]["task"], "0.alone.u.c",
        "{tasks}"
    );
    poll_until(
        "the exit queued",
        || {
            let (_, t) = a.api.get("/v1/tasks");
            (t["exits"].as_array().map(Vec::len) == Some(1)).then_some(())
        },
        || a.api.get("/v1/tasks").1.to_string(),
    );
    // The master comes back knowing nothing: the agent registers again
    // with the exit, which the next heartbeat gets acknowledged.
    let back = FakeMaster::start(port);
    let exit = back.exit_of("0.alone.u.c");
    assert_eq!(exit.outcome, ExitOutcome::Exited(0), "not killed: it ended");
    exits_acknowledged(&a, || back.seen());
    // Re-attachment: the new registration carried the queued exit.
    let carried = back.with(|l| {
        l.registrations
            .first()
            .is_some_and(|r| r.exits.iter().any(|e| e.task.task == "0.alone.u.c"))
    });
    assert!(carried, "{}", back.seen());
}

#[test]
fn an_agent_without_a_token_refuses_to_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(["agent", "--master", "http://127.0.0.1:9", "--work-dir"])
        .arg(dir.path())
        .env_remove("BORGSIM_TOKEN")
        .output()
        .expect("run borgsim");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BORGSIM_TOKEN"), "{err}");
    let short = dir.path().join("short");
    std::fs::write(&short, "abc").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(["agent", "--master", "http://127.0.0.1:9", "--token-file"])
        .arg(&short)
        .arg("--work-dir")
        .arg(dir.path())
        .output()
        .expect("run borgsim");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn stopping_the_agent_kills_its_tasks() {
    let master = FakeMaster::start(0);
    let mut a = agent(&master);
    let (_, t) = a
        .api
        .post("/v1/tasks", &launch("0.last.u.c", &["sleep", "30"]));
    let pid = t["pid"].as_u64().expect("a pid");
    // Registered first: the master takes exits only from agents it knows.
    poll_until(
        "a registration",
        || master.with(|l| (!l.registrations.is_empty()).then_some(())),
        || a.proc.stderr(),
    );
    let status = a.proc.stop().expect("the agent exits on SIGTERM");
    assert!(status.success(), "{status}: {}", a.proc.stderr());
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(outcome(&master.exit_of("0.last.u.c")), ExitOutcome::Killed);
}

#[test]
fn heartbeats_report_what_the_tasks_use() {
    let master = FakeMaster::start(0);
    let a = agent(&master);
    // A shell holding 32 MiB in a variable, counted with its session.
    let hold = "x=$(head -c 33554432 /dev/zero | tr '\\0' a); sleep 30";
    let mut body = launch("0.hold.u.c", &["sh", "-c", hold]);
    body["mem_mib"] = json!(1024);
    let (status, reply) = a.api.post("/v1/tasks", &body);
    assert_eq!(status, 201, "{reply}");
    let used = poll_until(
        "a heartbeat counting 32 MiB",
        || {
            let most = master.with(|l| l.heartbeats.iter().map(|h| h.usage.mem_mib).max())?;
            (most >= 32).then_some(most)
        },
        || master.seen(),
    );
    // Less than its limit: the agent counts only this task's session.
    assert!(used < 1024, "{used} MiB");
}

#[test]
fn the_token_may_come_from_the_environment_and_never_reaches_a_task() {
    let master = FakeMaster::start(0);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    let url = master.url();
    let head = [
        "agent",
        "--master",
        &url,
        "--name",
        "env-node",
        "--work-dir",
    ];
    let mut args: Vec<&std::ffi::OsStr> = head.iter().map(std::ffi::OsStr::new).collect();
    args.push(work.as_os_str());
    let agent = Proc::start_with_env("the agent", &args, &[("BORGSIM_TOKEN", TOKEN)]);
    let api = Client::new(agent.addr);
    poll_until(
        "a registration with the token from the environment",
        || master.with(|l| (!l.registrations.is_empty()).then_some(())),
        || agent.stderr(),
    );
    let (status, _) = api.post("/v1/tasks", &launch("0.env.u.c", &["sh", "-c", "env"]));
    assert_eq!(status, 201);
    assert_eq!(
        outcome(&master.exit_of("0.env.u.c")),
        ExitOutcome::Exited(0)
    );
    let env = output(&work, "0.env.u.c", "stdout");
    assert!(!env.contains(TOKEN), "the task saw the token:\n{env}");
    assert!(env.contains("BORGSIM_TASK=0.env.u.c"), "{env}");
    // A wrong method is refused as JSON too.
    let (status, body) = api.send(Method::PUT, "/v1/tasks", Some(TOKEN), None);
    assert_eq!(status, 405, "{body}");
    assert!(body["error"].is_string(), "{body}");
}
