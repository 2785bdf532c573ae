//! A whole live cell end to end: a real `borgsim master`, real agents,
//! the real client (`borgsim submit`, `borgsim status`), real tasks —
//! the issue's failure rules checked on processes, not on fakes.

use super::common::{poll_until, token_file, Agent, Client, Proc, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A master process, its store and token in a temporary directory.
struct Cell {
    master: Proc,
    api: Client,
    url: String,
    token: PathBuf,
    store: PathBuf,
    /// The master's flags after its address and store.
    timing: Vec<std::ffi::OsString>,
    dir: tempfile::TempDir,
}

impl Cell {
    /// Starts a master on a random loopback port, heartbeats every
    /// `heartbeat_ms`, machines down after `grace_ms` of silence.
    fn start(heartbeat_ms: u64, grace_ms: u64) -> Cell {
        Cell::start_with(heartbeat_ms, grace_ms, &[])
    }

    /// [`Cell::start`] with `extra` flags for the master.
    fn start_with(heartbeat_ms: u64, grace_ms: u64, extra: &[&OsStr]) -> Cell {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let token = token_file(dir.path());
        let store = dir.path().join("master.db");
        let mut timing: Vec<std::ffi::OsString> = vec![
            "--heartbeat-ms".into(),
            heartbeat_ms.to_string().into(),
            "--grace-ms".into(),
            grace_ms.to_string().into(),
        ];
        timing.extend(extra.iter().map(|&f| f.to_os_string()));
        let master = master(&token, &store, "127.0.0.1:0", &timing);
        Cell {
            api: Client::new(master.addr),
            url: format!("http://{}", master.addr),
            master,
            token,
            store,
            timing,
            dir,
        }
    }

    /// Kills the master with SIGKILL (a crash) and starts it again on the
    /// same address and store.
    fn crash_and_restart(&mut self) {
        let token = self.token.clone();
        self.crash_and_restart_with(&token);
    }

    /// [`Cell::crash_and_restart`] with the token in `token` (a file).
    fn crash_and_restart_with(&mut self, token: &Path) {
        self.master.kill();
        let addr = self.master.addr.to_string();
        self.master = master(token, &self.store, &addr, &self.timing);
        self.api = Client::new(self.master.addr);
    }

    /// Runs the real client, `borgsim COMMAND --master URL --token-file F
    /// REST…` (`args` = COMMAND, REST…).
    fn client(&self, args: &[&str]) -> Output {
        self.client_with_token(args, &self.token)
    }

    fn client_with_token(&self, args: &[&str], token: &Path) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
            .args(&args[..1])
            .args(["--master", &self.url, "--token-file"])
            .arg(token)
            .args(&args[1..])
            .env_remove("BORGSIM_TOKEN")
            .env_remove("BORGSIM_MASTER")
            .output()
            .expect("borgsim runs")
    }

    /// Writes `text` to `name` in the cell's directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write a file");
        p
    }

    /// Every task, as `borgsim status tasks --json` prints it.
    fn tasks(&self) -> Vec<Value> {
        let out = self.client(&["status", "--json", "tasks"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "status: {}", stderr(&out));
        let v: Value = serde_json::from_str(&text).expect("status prints JSON");
        v.as_array().cloned().expect("a list of tasks")
    }

    /// Starts agent `name` (4000 milli-cores, 8192 MiB) and waits until
    /// the master has it up.
    fn agent(&self, name: &str) -> Agent {
        self.agent_with(name, &[])
    }

    /// [`Cell::agent`] with `extra` flags.
    fn agent_with(&self, name: &str, extra: &[&str]) -> Agent {
        let mut flags = vec!["--kill-grace-ms", "300"];
        flags.extend(extra);
        let a = Agent::start(&self.url, name, &flags);
        poll_until(
            &format!("{name} to be up"),
            || {
                let (_, ms) = self.api.get("/v1/machines");
                let up = ms.as_array().is_some_and(|ms| {
                    ms.iter()
                        .any(|m| m["name"] == json!(name) && m["state"] == json!("up"))
                });
                up.then_some(())
            },
            || format!("{}\n{}", self.api.get("/v1/machines").1, a.proc.stderr()),
        );
        a
    }
}

fn master(token: &Path, store: &Path, listen: &str, timing: &[std::ffi::OsString]) -> Proc {
    let mut args: Vec<&OsStr> = vec!["master".as_ref(), "--token-file".as_ref()];
    args.extend([token.as_os_str(), "--store".as_ref(), store.as_os_str()]);
    args.extend(["--listen", listen].map(OsStr::new));
    args.extend(timing.iter().map(std::ffi::OsString::as_os_str));
    Proc::start("master", &args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The tasks of `job`, by index.
fn of_job(tasks: &[Value], job: &str) -> Vec<Value> {
    let mut v: Vec<Value> = tasks
        .iter()
        .filter(|t| t["job"] == json!(job))
        .cloned()
        .collect();
    v.sort_by_key(|t| t["index"].as_u64());
    v
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

const JOBS: &str = r#"
[[job]]
name = "naps"
user = "alice"
priority = 200
tasks = 30
cpu_milli = 100
mem_mib = 128
command = ["sleep", "0.2"]

[[job]]
name = "threes"
user = "alice"
priority = 110
tasks = 20
cpu_milli = 100
mem_mib = 128
command = ["sh", "-c", "echo out; echo err >&2; exit 3"]
"#;

#[test]
fn fifty_short_tasks_on_three_agents_all_reach_their_end_states() {
    let cell = Cell::start(200, 60_000);
    let agents = [cell.agent("n0"), cell.agent("n1"), cell.agent("n2")];
    let jobs = cell.file("jobs.toml", JOBS);
    let out = cell.client(&["submit", jobs.to_str().unwrap()]);
    assert!(out.status.success(), "submit: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("submitted naps: 30 tasks"), "{said}");
    let tasks = poll_until(
        "the 50 tasks to end",
        || {
            let t = cell.tasks();
            let ended = t
                .iter()
                .filter(|t| matches!(t["state"].as_str(), Some("finished" | "failed" | "killed")))
                .count();
            (t.len() == 50 && ended == 50).then_some(t)
        },
        || format!("{:#?}", cell.tasks()),
    );
    for (job, state, code, n) in [("naps", "finished", 0, 30), ("threes", "failed", 3, 20)] {
        let ts = of_job(&tasks, job);
        assert_eq!(ts.len(), n);
        for (i, t) in ts.iter().enumerate() {
            let name = format!("{i}.{job}.alice.cell");
            assert_eq!(t["name"], json!(name), "{t}");
            assert_eq!(
                (t["state"].as_str(), t["exit_code"].as_i64()),
                (Some(state), Some(code)),
                "{t}"
            );
            assert_eq!(t["incarnation"], json!(1), "{t}");
            let machine = text(&t["machine"]);
            let k: usize = machine
                .strip_prefix('n')
                .and_then(|k| k.parse().ok())
                .unwrap_or_else(|| panic!("{t}"));
            let sandbox = agents[k].work.join("tasks").join(&name).join("1");
            let read = |f: &str| {
                std::fs::read_to_string(sandbox.join(f))
                    .unwrap_or_else(|e| panic!("{name} on {machine}: {f}: {e}"))
            };
            let want = if job == "naps" {
                ("", "")
            } else {
                ("out\n", "err\n")
            };
            assert_eq!(
                (read("stdout").as_str(), read("stderr").as_str()),
                want,
                "{name}"
            );
        }
    }
}

/// A job of `tasks` × `sleep 30`, 1000 milli-cores each.
fn sleepers(name: &str, tasks: u32) -> Value {
    json!({
        "name": name, "user": "alice", "priority": 200, "tasks": tasks,
        "cpu_milli": 1000, "mem_mib": 128, "command": ["sleep", "30"],
    })
}

/// Waits until every task of `job` runs; returns them by index.
fn all_running(cell: &Cell, job: &str, n: usize) -> Vec<Value> {
    poll_until(
        &format!("{job}'s {n} tasks to run"),
        || {
            let ts = of_job(&cell.tasks(), job);
            let running = ts.iter().all(|t| t["state"] == json!("running"));
            (ts.len() == n && running).then_some(ts)
        },
        || format!("{:#?}", of_job(&cell.tasks(), job)),
    )
}

/// What an agent runs: (task, incarnation) → pid.
type Runs = std::collections::BTreeMap<(String, u64), u64>;

/// What `agent` runs now.
fn runs(agent: &Agent) -> Runs {
    let (code, body) = agent.api.get("/v1/tasks");
    assert_eq!(code, 200, "{body}");
    let running = body["running"].as_array().cloned().unwrap_or_default();
    (running.iter())
        .map(|r| {
            let key = (
                text(&r["task"]["task"]),
                r["task"]["incarnation"].as_u64().unwrap_or(0),
            );
            (key, r["pid"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// SIGKILLs the sessions an agent killed by SIGKILL left behind.
struct Orphans(Vec<u64>);

impl Drop for Orphans {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let pid = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

#[test]
fn a_killed_agent_s_tasks_are_rescheduled_elsewhere_after_the_grace_period() {
    let cell = Cell::start(100, 1000);
    let mut agents = vec![cell.agent("n0"), cell.agent("n1"), cell.agent("n2")];
    assert_eq!(cell.api.post("/v1/jobs", &sleepers("long", 4)).0, 201);
    let before = all_running(&cell, "long", 4);
    // The agent with the most of them dies, its `sleep`s left running.
    let count = |m: &str| before.iter().filter(|t| t["machine"] == json!(m)).count();
    let dead = (0..3).max_by_key(|k| count(&format!("n{k}"))).unwrap();
    let dead_name = format!("n{dead}");
    let moved: Vec<usize> = (0..4)
        .filter(|&i| before[i]["machine"] == json!(dead_name))
        .collect();
    let orphans = Orphans(runs(&agents[dead]).values().copied().collect());
    assert_eq!(orphans.0.len(), moved.len());
    agents[dead].proc.kill();
    let after = poll_until(
        "the dead machine's tasks to run elsewhere",
        || {
            let ts = of_job(&cell.tasks(), "long");
            let ok = moved.iter().all(|&i| {
                ts[i]["state"] == json!("running") && ts[i]["machine"] != json!(dead_name)
            });
            ok.then_some(ts)
        },
        || format!("{:#?}", of_job(&cell.tasks(), "long")),
    );
    let (_, machines) = cell.api.get("/v1/machines");
    assert_eq!(machines[dead]["state"], json!("down"), "{machines}");
    for i in 0..4 {
        let (b, a) = (&before[i], &after[i]);
        if moved.contains(&i) {
            assert_eq!(a["incarnation"], json!(2), "{a}");
        } else {
            assert_eq!(
                (&a["machine"], &a["incarnation"]),
                (&b["machine"], &json!(1)),
                "{a}"
            );
        }
        // The agent it is on runs it, that incarnation.
        let on: usize = text(&a["machine"])[1..].parse().unwrap();
        let key = (text(&a["name"]), a["incarnation"].as_u64().unwrap());
        assert!(runs(&agents[on]).contains_key(&key), "{key:?} not on n{on}");
    }
    drop(agents);
    drop(orphans);
}

/// Two agents running a job of four sleepers, as seen before a restart:
/// the tasks' statuses and each agent's runs.
fn four_sleepers(cell: &Cell) -> ([Agent; 2], Vec<Value>, Vec<Runs>) {
    let agents = [cell.agent("n0"), cell.agent("n1")];
    assert_eq!(cell.api.post("/v1/jobs", &sleepers("svc", 4)).0, 201);
    let before = all_running(cell, "svc", 4);
    let runs_before: Vec<_> = agents.iter().map(runs).collect();
    assert_eq!(runs_before.iter().map(|r| r.len()).sum::<usize>(), 4);
    (agents, before, runs_before)
}

/// After a restart: both agents back, the same tasks running where they
/// ran, started when they started, and the same processes: none ended,
/// none started.
fn assert_reattached(cell: &Cell, agents: &[Agent; 2], before: &[Value], runs_before: &[Runs]) {
    let after = poll_until(
        "both agents back and the tasks running",
        || {
            let (_, ms) = cell.api.get("/v1/machines");
            let up = ms
                .as_array()
                .is_some_and(|ms| ms.len() == 2 && ms.iter().all(|m| m["state"] == json!("up")));
            let ts = all_running_now(cell, "svc");
            (up && ts.len() == 4).then_some(ts)
        },
        || format!("{}\n{:#?}", cell.api.get("/v1/machines").1, cell.tasks()),
    );
    for (b, a) in before.iter().zip(&after) {
        for key in ["name", "machine", "incarnation", "started_ms"] {
            assert_eq!(a[key], b[key], "{key}: {b} then {a}");
        }
    }
    for (agent, before) in agents.iter().zip(runs_before) {
        assert_eq!(&runs(agent), before);
        let (_, tasks) = agent.api.get("/v1/tasks");
        assert_eq!(tasks["exits"], json!([]), "{tasks}");
    }
}

#[test]
fn a_restarted_master_reattaches_the_running_tasks_and_kills_nothing() {
    let mut cell = Cell::start(100, 60_000);
    let (agents, before, runs_before) = four_sleepers(&cell);
    cell.crash_and_restart();
    assert_reattached(&cell, &agents, &before, &runs_before);
}

#[test]
fn a_master_restarted_with_a_wrong_token_stops_nothing() {
    // Heartbeats every 100 ms, machines down after 1 s of silence.
    let mut cell = Cell::start(100, 1000);
    let (agents, before, runs_before) = four_sleepers(&cell);
    // Restarted with a token no agent has: it hears none, well past the
    // grace, and declares none down (its tasks would be lost, then killed).
    let wrong = cell.file("wrong-token", "a-token-no-agent-of-this-cell-has\n");
    cell.crash_and_restart_with(&wrong);
    cell.master.wait_for_log("no machine is heard");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    for agent in &agents {
        agent.proc.wait_for_log("401");
    }
    // The right token again: every task re-attached, nothing restarted.
    cell.crash_and_restart();
    assert_reattached(&cell, &agents, &before, &runs_before);
}

/// The tasks of `job` if every one is running now, else none.
fn all_running_now(cell: &Cell, job: &str) -> Vec<Value> {
    let ts = of_job(&cell.tasks(), job);
    if ts.iter().all(|t| t["state"] == json!("running")) {
        ts
    } else {
        Vec::new()
    }
}

#[test]
fn without_the_token_nothing_changes_and_a_malformed_job_is_refused() {
    let cell = Cell::start(100, 60_000);
    let agent = cell.agent("n0");
    assert_eq!(cell.api.post("/v1/jobs", &sleepers("svc", 1)).0, 201);
    let running = all_running(&cell, "svc", 1);
    let snapshot = || {
        let (_, jobs) = cell.api.get("/v1/jobs");
        let (_, ms) = cell.api.get("/v1/machines");
        let ms: Vec<_> = (ms.as_array().cloned().unwrap_or_default().iter())
            .map(|m| (text(&m["name"]), text(&m["state"]), m["allocated"].clone()))
            .collect();
        (jobs, of_job(&cell.tasks(), "svc"), ms, runs(&agent))
    };
    let seen = snapshot();
    let launch = json!({"task": {"task": "0.evil.mallory.cell", "incarnation": 1},
        "command": ["sleep", "30"], "cpu_milli": 100, "mem_mib": 64})
    .to_string();
    let task = text(&running[0]["name"]);
    let kill = format!("/v1/tasks/{task}?incarnation=1");
    let reg = json!({"name": "intruder", "addr": "127.0.0.1:9", "limits": "rlimit",
        "capacity": {"cpu_milli": 1000, "mem_mib": 1024}})
    .to_string();
    let job = sleepers("sneaky", 1).to_string();
    for token in [None, Some("not-the-cell-token-0123456789")] {
        for (api, method, path, body) in [
            (&cell.api, Method::POST, "/v1/jobs", Some(&job)),
            (&cell.api, Method::GET, "/v1/tasks", None),
            (&cell.api, Method::DELETE, "/v1/jobs/svc", None),
            (&cell.api, Method::POST, "/v1/machines/n0/drain", None),
            (&cell.api, Method::POST, "/v1/agent/register", Some(&reg)),
            (&agent.api, Method::POST, "/v1/tasks", Some(&launch)),
            (&agent.api, Method::DELETE, kill.as_str(), None),
            (&agent.api, Method::GET, "/v1/tasks", None),
        ] {
            let body = body.map(|b| b.clone().into_bytes());
            let (code, err) = api.send(method.clone(), path, token, body);
            assert_eq!(code, 401, "{method} {path} with {token:?}: {err}");
        }
    }
    // The real client with a wrong token: refused, exit 2.
    let wrong = cell.file("wrong-token", "not-the-cell-token-0123456789\n");
    let out = cell.client_with_token(&["kill", "svc"], &wrong);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    // Malformed: 400 with the field named, through the API and the client.
    let bad = r#"{"name": "j", "user": "u", "priority": 200}"#.to_string();
    let (code, err) = cell.api.send(
        Method::POST,
        "/v1/jobs",
        Some(TOKEN),
        Some(bad.into_bytes()),
    );
    assert_eq!(code, 400, "{err}");
    assert!(text(&err["error"]).contains("missing field"), "{err}");
    let zero = JOBS
        .split("[[job]]")
        .nth(1)
        .unwrap()
        .replace("tasks = 30", "tasks = 0");
    let file = cell.file("zero.toml", &zero);
    let out = cell.client(&["submit", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Said as FILE: HTTP 400: REASON (the master's reason names the key).
    let said = stderr(&out);
    assert!(
        said.contains(&format!("{}: HTTP 400: ", file.display())) && said.contains("`tasks`"),
        "{said}"
    );
    assert_eq!(snapshot(), seen);
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let cell = Cell::start(200, 60_000);
    // `status … | head`: the pipe closes before the output is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args([
            "status",
            "--json",
            "tasks",
            "--master",
            &cell.url,
            "--token-file",
        ])
        .arg(&cell.token)
        .env_remove("BORGSIM_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("borgsim runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// The parity cell: four unequal machines (milli-cores, MiB).
const MACHINES: [(u64, u64); 4] = [(4000, 8192), (8000, 16384), (2000, 4096), (6000, 8192)];

/// Job `i` of the parity workload: (tasks, priority, milli-cores, MiB).
fn parity_job(i: u64) -> (u64, u64, u64, u64) {
    (1 + i % 3, 100 + 40 * i, 300 + 250 * i, 500 + 300 * i)
}

/// The parity scenario: the machines and six jobs at time 0 as a native
/// trace, the hybrid policy with preemption, seed 7.
fn parity_scenario(dir: &Path) -> PathBuf {
    let trace = dir.join("trace");
    std::fs::create_dir_all(&trace).unwrap();
    let mut machines = String::from("time_us,event,machine,name,cpu_milli,mem_mib\n");
    for (k, (cpu, mem)) in MACHINES.iter().enumerate() {
        machines += &format!("0,add,{k},m{k},{cpu},{mem}\n");
    }
    std::fs::write(trace.join("machines.csv"), machines).unwrap();
    let mut tasks =
        String::from("time_us,event,job,index,job_name,user,priority,cpu_milli,mem_mib\n");
    for i in 0..6 {
        let (n, prio, cpu, mem) = parity_job(i);
        for k in 0..n {
            tasks += &format!("0,submit,{i},{k},j{i},alice,{prio},{cpu},{mem}\n");
        }
    }
    std::fs::write(trace.join("tasks.csv"), tasks).unwrap();
    let scenario = dir.join("parity.toml");
    let text = "name = \"parity\"\nseed = 7\nduration_s = 10\nsample_interval_s = 1\n\n\
        [scheduler]\npolicy = \"hybrid\"\npreemption = true\n\n\
        [trace]\nformat = \"native\"\nfiles = [\"trace\"]\n";
    std::fs::write(&scenario, text).unwrap();
    scenario
}

/// Where the simulator places each task: (task's Borg name, machine).
fn simulated_placements(dir: &Path, scenario: &Path) -> Vec<(String, String)> {
    let events = dir.join("events.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--events")
        .arg(&events)
        .output()
        .expect("borgsim runs");
    assert!(out.status.success(), "run: {}", stderr(&out));
    let mut rd = csv::Reader::from_path(&events).expect("the event log");
    let mut placed = Vec::new();
    for row in rd.deserialize::<std::collections::BTreeMap<String, String>>() {
        let row = row.expect("a row");
        if row["event"] == "place" {
            let name = format!("{}.j{}.alice.cell", row["task"], row["job_id"]);
            placed.push((name, format!("m{}", row["machine"])));
        }
    }
    placed.sort();
    placed
}

#[test]
fn the_live_cell_places_a_scenario_as_the_simulator_does() {
    let sim_dir = tempfile::tempdir().unwrap();
    let scenario = parity_scenario(sim_dir.path());
    let simulated = simulated_placements(sim_dir.path(), &scenario);
    let cell = Cell::start_with(1000, 60_000, &["--scenario".as_ref(), scenario.as_os_str()]);
    // Registered one at a time, in the trace's machine order: the same ids.
    let _agents: Vec<Agent> = (MACHINES.iter().enumerate())
        .map(|(k, (cpu, mem))| {
            let (cpu, mem) = (cpu.to_string(), mem.to_string());
            let flags = ["--cpu-milli", &cpu, "--mem-mib", &mem];
            cell.agent_with(&format!("m{k}"), &flags)
        })
        .collect();
    let mut jobs = String::new();
    for i in 0..6 {
        let (n, prio, cpu, mem) = parity_job(i);
        jobs += &format!(
            "[[job]]\nname = \"j{i}\"\nuser = \"alice\"\npriority = {prio}\ntasks = {n}\n\
             cpu_milli = {cpu}\nmem_mib = {mem}\ncommand = [\"true\"]\n\n"
        );
    }
    let file = cell.file("jobs.toml", &jobs);
    let out = cell.client(&["submit", file.to_str().unwrap()]);
    assert!(out.status.success(), "submit: {}", stderr(&out));
    let tasks = poll_until(
        "every task to finish",
        || {
            let t = cell.tasks();
            let done = t.iter().all(|t| t["state"] == json!("finished"));
            (t.len() == simulated.len() && done).then_some(t)
        },
        || format!("{:#?}", cell.tasks()),
    );
    let mut live: Vec<(String, String)> = (tasks.iter())
        .map(|t| (text(&t["name"]), text(&t["machine"])))
        .collect();
    live.sort();
    assert_eq!(live.len(), 12, "{live:?}");
    assert_eq!(live, simulated);
}
