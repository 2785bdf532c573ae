//! What keeps tasks and the agent apart, end to end: the token out of a
//! task's reach (a non-dumpable agent, tasks run as another user), the
//! agent's own variables over a spec's, orphans of a killed agent killed
//! by the next one, and a registration refused for good ending the agent.

use super::common::{poll_until, token_file, Agent, Client, Proc, DEADLINE, TOKEN};
use super::fake_master::FakeMaster;
use borgsim::live::proto::ExitOutcome;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user tests run tasks (or agents) as when they run as root.
const NOBODY: u32 = 65_534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn launch(task: &str, script: &str) -> Value {
    json!({
        "task": {"task": task, "incarnation": 1},
        "command": ["sh", "-c", script],
        "cpu_milli": 100,
        "mem_mib": 256,
    })
}

fn output(work: &Path, task: &str, file: &str) -> String {
    std::fs::read_to_string(work.join("tasks").join(task).join("1").join(file))
        .unwrap_or_else(|e| panic!("{task}/{file}: {e}"))
}

/// `agent --master URL --name NAME --work-dir WORK --cpu-milli 4000
/// --mem-mib 8192`, then `extra`.
fn agent_args<'a>(
    url: &'a str,
    name: &'a str,
    work: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = ["agent", "--master", url, "--name", name]
        .into_iter()
        .map(OsStr::new)
        .collect();
    args.extend([OsStr::new("--work-dir"), work.as_os_str()]);
    args.extend(["--cpu-milli", "4000", "--mem-mib", "8192"].map(OsStr::new));
    args.extend(extra.iter().map(|s| OsStr::new(*s)));
    args
}

/// The owner of `/proc/PID/environ`: root's when the process is not
/// dumpable.
fn proc_owner(pid: u32) -> u32 {
    std::fs::metadata(format!("/proc/{pid}/environ"))
        .expect("the process lives")
        .uid()
}

#[test]
fn a_task_cannot_read_its_agents_environment() {
    let master = FakeMaster::start(0);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgsim"));
    // The token in the agent's environment, where /proc/PID/environ
    // shows it. As root (which reads any process's files), the agent
    // runs as nobody: a task of the same user is what must be kept out.
    cmd.env("BORGSIM_TOKEN", TOKEN);
    let user = if is_root() {
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
        cmd.uid(NOBODY).gid(NOBODY);
        NOBODY
    } else {
        rustix::process::geteuid().as_raw()
    };
    let url = master.url();
    let args = agent_args(&url, "guarded", &work, &[]);
    let agent = Proc::start_command("the agent", cmd, &args);
    let api = Client::new(agent.addr);
    // Its /proc files are root's, not its user's.
    assert_eq!(proc_owner(agent.pid()), 0, "the agent is dumpable");
    let script = "cat /proc/$PPID/environ && echo READ; stat -c %u /proc/$$/environ";
    let (status, reply) = api.post("/v1/tasks", &launch("0.peek.u.c", script));
    assert_eq!(status, 201, "{reply}");
    assert_eq!(master.exit_of("0.peek.u.c").outcome, ExitOutcome::Exited(0));
    let seen = output(&work, "0.peek.u.c", "stdout");
    assert!(!seen.contains(TOKEN), "the task read the token: {seen}");
    // Refused; and the task itself is dumpable again after its exec
    // (its own /proc files are its user's).
    assert_eq!(seen, format!("{user}\n"), "{seen}");
    assert!(output(&work, "0.peek.u.c", "stderr").contains("environ"));
}

#[test]
fn tasks_run_as_the_user_and_group_given() {
    if !is_root() {
        eprintln!("skipped: --run-as-user needs an agent running as root");
        return;
    }
    let master = FakeMaster::start(0);
    let extra = ["--run-as-user", "65534", "--run-as-group", "65533"];
    let a = Agent::start(&master.url(), "separated", &extra);
    let (_, health) = a.api.get("/v1/health");
    assert_eq!(
        health["tasks_run_as"],
        json!({"uid": 65_534, "gid": 65_533}),
        "{health}"
    );
    // Its ids; a file made in its working directory, below the sandbox;
    // its agent's environment out of reach.
    let script = "id -u; id -g; id -G; echo made > here && cat here; \
                  cat /proc/$PPID/environ || echo refused";
    let mut body = launch("0.nobody.u.c", script);
    body["workdir"] = json!("sub/dir");
    let (status, reply) = a.api.post("/v1/tasks", &body);
    assert_eq!(status, 201, "{reply}");
    assert_eq!(
        master.exit_of("0.nobody.u.c").outcome,
        ExitOutcome::Exited(0)
    );
    let out = output(&a.work, "0.nobody.u.c", "stdout");
    assert_eq!(out, "65534\n65533\n65533\nmade\nrefused\n", "{out}");
    let sandbox = a.work.join("tasks/0.nobody.u.c/1");
    for d in [
        sandbox.clone(),
        sandbox.join("sub"),
        sandbox.join("sub/dir"),
    ] {
        let m = std::fs::metadata(&d).expect("the directory");
        assert_eq!((m.uid(), m.gid()), (NOBODY, 65_533), "{}", d.display());
    }
    a.proc.wait_for_log("tasks run as uid 65534 gid 65533");
}

#[test]
fn an_agent_not_running_as_root_cannot_change_its_tasks_user() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgsim"));
    cmd.env("BORGSIM_TOKEN", TOKEN);
    if is_root() {
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let extra = ["--run-as-user", "1", "--run-as-group", "1"];
    let out = cmd
        .args(agent_args("http://127.0.0.1:9", "n", &work, &extra))
        .output()
        .expect("run borgsim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs an agent running as root"), "{err}");
    // One without the other is refused too.
    let out = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(agent_args("http://127.0.0.1:9", "n", &work, &extra[..2]))
        .output()
        .expect("run borgsim");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_spec_cannot_override_the_agents_variables() {
    let master = FakeMaster::start(0);
    let a = Agent::start(&master.url(), "node-env", &[]);
    let script = "echo $BORGSIM_TASK $BORGSIM_INCARNATION $BORGSIM_SANDBOX $MINE";
    // A spec naming one of the agent's variables is refused, naming it.
    let mut spoof = launch("0.spoof.u.c", script);
    spoof["env"] = json!({"BORGSIM_TASK": "spoof", "MINE": "kept"});
    let (status, reply) = a.api.post("/v1/tasks", &spoof);
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("env.BORGSIM_TASK"),
        "{reply}"
    );
    // The task sees the agent's values and the spec's own.
    let mut body = launch("1.env.u.c", script);
    body["env"] = json!({"MINE": "kept"});
    let (status, reply) = a.api.post("/v1/tasks", &body);
    assert_eq!(status, 201, "{reply}");
    assert_eq!(master.exit_of("1.env.u.c").outcome, ExitOutcome::Exited(0));
    let sandbox = a.work.canonicalize().unwrap().join("tasks/1.env.u.c/1");
    assert_eq!(
        output(&a.work, "1.env.u.c", "stdout"),
        format!("1.env.u.c 1 {} kept\n", sandbox.display())
    );
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaps).
fn ended(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn a_new_agent_kills_the_tasks_a_killed_one_left_running() {
    let master = FakeMaster::start(0);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    let token = token_file(dir.path());
    let url = master.url();
    let extra = ["--token-file", token.to_str().expect("a UTF-8 path")];
    let args = agent_args(&url, "crashing", &work, &extra);
    let mut first = Proc::start("the first agent", &args);
    // The token file is written with the usual umask (0644).
    first.wait_for_log("chmod 600");
    let api = Client::new(first.addr);
    let (status, t) = api.post("/v1/tasks", &launch("0.left.u.c", "sleep 60"));
    assert_eq!(status, 201, "{t}");
    let pid = t["pid"].as_u64().expect("a pid");
    // Its pid file: the pid and its start time.
    let pid_file: PathBuf = work.join("run/0.left.u.c.1");
    let recorded = std::fs::read_to_string(&pid_file).expect("a pid file");
    assert!(recorded.starts_with(&format!("{pid} ")), "{recorded}");
    // A task that ends has its file removed.
    let (status, _) = api.post("/v1/tasks", &launch("1.short.u.c", "true"));
    assert_eq!(status, 201);
    master.exit_of("1.short.u.c");
    assert!(!work.join("run/1.short.u.c.1").exists());

    // One agent per work directory: a second one refuses to start.
    let out = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(&args)
        .output()
        .expect("run borgsim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another agent uses this work directory"),
        "{err}"
    );
    assert!(!ended(pid), "a second agent killed the first one's task");

    first.kill();
    assert!(!ended(pid), "the task died with its agent: nothing to test");
    let second = Proc::start("the second agent", &args);
    poll_until(
        "the orphan killed",
        || ended(pid).then_some(()),
        || second.stderr(),
    );
    second.wait_for_log("left running by a previous agent");
    assert!(!pid_file.exists());
}

#[test]
fn a_registration_refused_for_good_stops_the_agent() {
    let master = FakeMaster::start(0);
    let reason = "name: \"bad name\" must be 1 to 253 visible ASCII characters";
    master.log.lock().expect("the log").refuse_registration = Some((400, reason.to_string()));
    let mut a = Agent::start(&master.url(), "bad-name", &[]);
    let status = a.proc.wait_for_exit(DEADLINE).expect("the agent exits");
    assert_eq!(status.code(), Some(2), "{}", a.proc.stderr());
    a.proc.wait_for_log(reason);

    // A wrong token: 401 from the master's token check.
    let other = FakeMaster::start(0);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    let url = other.url();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgsim"));
    cmd.env("BORGSIM_TOKEN", "another-token-of-the-right-length");
    let mut p = Proc::start_command("the agent", cmd, &agent_args(&url, "n", &work, &[]));
    let status = p.wait_for_exit(DEADLINE).expect("the agent exits");
    assert_eq!(status.code(), Some(2), "{}", p.stderr());
    p.wait_for_log("401");
}

#[test]
fn an_agent_running_tasks_keeps_them_when_refused_for_good() {
    let master = FakeMaster::start(0);
    let a = Agent::start(&master.url(), "keeper", &[]);
    poll_until(
        "the registration",
        || master.with(|l| (!l.registrations.is_empty()).then_some(())),
        || a.proc.stderr(),
    );
    let (status, body) = a.api.post("/v1/tasks", &launch("0.keep.u.c", "sleep 30"));
    assert_eq!(status, 201, "{body}");
    // The master forgets the agent and now refuses it (a restart with
    // the wrong configuration): the agent registers again, is refused…
    {
        let mut l = master.log.lock().expect("the log");
        l.refuse_registration = Some((401, "wrong token".to_string()));
        l.known.clear();
    }
    a.proc.wait_for_log("wrong token");
    // …and keeps its task and itself running, asking again.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (_, tasks) = a.api.get("/v1/tasks");
    assert_eq!(
        tasks["running"].as_array().map(Vec::len),
        Some(1),
        "{tasks}"
    );
    assert!(
        a.proc.stderr().matches("wrong token").count() >= 1,
        "{}",
        a.proc.stderr()
    );
}

#[test]
fn a_name_held_by_another_agent_is_retried() {
    let master = FakeMaster::start(0);
    let held = "machine \"twin\": registered from another address";
    master.log.lock().expect("the log").refuse_registration = Some((409, held.to_string()));
    let a = Agent::start(&master.url(), "twin", &[]);
    a.proc
        .wait_for_log("the name twin is held by another live agent");
    master.log.lock().expect("the log").refuse_registration = None;
    poll_until(
        "a registration once the name is free",
        || master.with(|l| (!l.registrations.is_empty()).then_some(())),
        || a.proc.stderr(),
    );
}
