//! The live cell's launch path, end to end on loopback: a real master
//! and 8 real agents (this build's `borgsim`, release), random ports.
//! Run with `cargo bench --features agent --bench live_launch`; it takes
//! under a minute and prints one table.
//!
//! What is measured, and by which clock:
//! - **submit → running** (latency): one-task jobs of `true`, submitted
//!   one after another, [`GAP`] apart (longer than any latency seen, so
//!   each job has the cell to itself). Each task's figure is the master's
//!   own `submit_to_running_us` (its monotonic clock, µs): from taking the
//!   submission in — body parsed, the master's lock held — to recording
//!   the agent's launch reply. That reply leaves the agent once the task's
//!   program is exec'd (its session and limits set between `fork` and
//!   `exec`), so the spawn is counted and only what the issue excludes,
//!   the program's own run, is not. The in-between is all counted: the store's write-ahead commits
//!   (submission, placement, running), the scheduling pass, the launch
//!   request and its reply. The client's own round trip of the submission
//!   (request sent → 201 read, this program's clock) is shown beside it.
//! - **launch throughput**: jobs of [`BIG_TASKS`] tasks of `true`,
//!   `max_per_machine` = 1/8 of them, so every agent takes the same
//!   share. launches/s = tasks ÷ (the largest `submit_to_running_us` of
//!   the job): from the master taking the submission in to the last
//!   launch reply recorded. The master sends each agent its launches of
//!   a pass as one list.
//!
//! Each agent advertises 64 cores and 1 TiB (nothing waits for room:
//! the tasks' requests are small) and the tasks end at once, so the
//! agents also report exits while launches go on, as a real cell would.
//!
//! The cell's files — the master's store, the agents' sandboxes (two
//! files and a directory per task) — go in a temporary directory under
//! `$TMPDIR` (else `/tmp`), printed with the file system it is on:
//! `TMPDIR=/dev/shm` puts them on tmpfs, which takes the disk's inode
//! allocator out of the figure (reports/BENCHMARKS.md, "Live cell").
// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Agents in the cell.
const AGENTS: usize = 8;
/// One-task jobs timed for latency.
const LATENCY_JOBS: usize = 300;
/// Between two of them.
const GAP: Duration = Duration::from_millis(20);
/// Tasks of each throughput job.
const BIG_TASKS: u32 = 4000;
/// Throughput jobs.
const BIG_JOBS: usize = 3;
/// Every wait ends within this.
const DEADLINE: Duration = Duration::from_secs(60);
const TOKEN: &str = "live-launch-bench-token-0123456789";

/// A `borgsim` process, stopped (SIGTERM, then SIGKILL) and reaped on drop.
struct Proc {
    child: Child,
    /// `127.0.0.1:PORT`, from its `listening on` line.
    addr: String,
}

impl Proc {
    fn start(args: &[&std::ffi::OsStr]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_borgsim"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start borgsim");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut p = Proc {
            child,
            addr: String::new(),
        };
        let line = rx.recv_timeout(DEADLINE).unwrap_or_default();
        p.addr = match line.strip_prefix("listening on ") {
            Some(a) => a.trim().to_string(),
            None => panic!("borgsim {args:?} printed {line:?}"),
        };
        p
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = i32::try_from(self.child.id()).ok();
        if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        for _ in 0..500 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking JSON client of the master.
struct Api {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(addr: &str) -> Api {
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            http: reqwest::Client::builder()
                .timeout(DEADLINE)
                .build()
                .expect("a client"),
            base: format!("http://{addr}"),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("the master answers");
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        })
    }

    fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    fn submit(&self, job: &Value) {
        let (status, v) = self.call(reqwest::Method::POST, "/v1/jobs", Some(job));
        assert_eq!(status, 201, "submit: {v}");
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "a benchmark of real processes reads the wall clock"
)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Calls `f` every `every` until it returns `Some`, for at most [`DEADLINE`].
fn poll<T>(what: &str, every: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(start.elapsed() < DEADLINE, "waited {DEADLINE:?} for {what}");
        std::thread::sleep(every);
    }
}

/// A job of `tasks` tasks of `true`, at most `per_machine` on a machine.
fn job(name: &str, tasks: u32, per_machine: Option<u32>) -> Value {
    json!({
        "name": name, "user": "bench", "priority": 200, "tasks": tasks,
        "cpu_milli": 10, "mem_mib": 64, "command": ["true"],
        "max_per_machine": per_machine,
    })
}

/// The master and its agents, up and registered.
struct Cell {
    api: Api,
    _agents: Vec<Proc>,
    _master: Proc,
}

fn start_cell(dir: &Path) -> Cell {
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).expect("write the token");
    let store = dir.join("master.db");
    let master = Proc::start(&[
        "master".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--token-file".as_ref(),
        token.as_os_str(),
        "--grace-ms".as_ref(),
        "60000".as_ref(),
    ]);
    let url = format!("http://{}", master.addr);
    let agents: Vec<Proc> = (0..AGENTS)
        .map(|i| {
            let (name, work) = (format!("a{i}"), dir.join(format!("a{i}")));
            Proc::start(&[
                "agent".as_ref(),
                "--master".as_ref(),
                url.as_ref(),
                "--name".as_ref(),
                name.as_ref(),
                "--work-dir".as_ref(),
                work.as_os_str(),
                "--token-file".as_ref(),
                token.as_os_str(),
                "--cpu-milli".as_ref(),
                "64000".as_ref(),
                "--mem-mib".as_ref(),
                "1048576".as_ref(),
            ])
        })
        .collect();
    let api = Api::new(&master.addr);
    poll("the agents to register", Duration::from_millis(20), || {
        let m = api.get("/v1/machines");
        let up = m.as_array()?.iter().filter(|m| m["state"] == "up").count();
        (up == AGENTS).then_some(())
    });
    Cell {
        api,
        _agents: agents,
        _master: master,
    }
}

/// How many of job `name`'s tasks have ended (finished or failed).
fn ended(api: &Api, name: &str) -> Option<u64> {
    let jobs = api.get("/v1/jobs");
    let j = jobs.as_array()?.iter().find(|j| j["name"] == name)?;
    let states = &j["task_states"];
    Some(states["finished"].as_u64().unwrap_or(0) + states["failed"].as_u64().unwrap_or(0))
}

/// Waits until every task of `name` has ended; returns each task's
/// `submit_to_running_us` and how many did not finish.
fn settle(api: &Api, name: &str, tasks: u64) -> (Vec<u64>, usize) {
    poll(name, Duration::from_millis(50), || {
        (ended(api, name)? == tasks).then_some(())
    });
    let v = api.get(&format!("/v1/tasks?job={name}"));
    let list = v.as_array().expect("a task list");
    let failed = list.iter().filter(|t| t["state"] != "finished").count();
    let lat = list
        .iter()
        .filter_map(|t| t["submit_to_running_us"].as_u64())
        .collect();
    (lat, failed)
}

/// The `q`-quantile of sorted `v` (nearest rank).
fn quantile(v: &[u64], q: f64) -> u64 {
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// Submit → running of [`LATENCY_JOBS`] one-task jobs: (the master's
/// figures, the client's submission round trips), µs, sorted.
fn latency(api: &Api) -> (Vec<u64>, Vec<u64>, usize) {
    let mut rtt = Vec::with_capacity(LATENCY_JOBS);
    for i in 0..LATENCY_JOBS {
        let body = job(&format!("lat-{i}"), 1, None);
        let t0 = now();
        api.submit(&body);
        rtt.push(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
        std::thread::sleep(GAP.saturating_sub(t0.elapsed()));
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    for i in 0..LATENCY_JOBS {
        let (l, f) = settle(api, &format!("lat-{i}"), 1);
        lat.extend(l);
        failed += f;
    }
    lat.sort_unstable();
    rtt.sort_unstable();
    (lat, rtt, failed)
}

/// Launches per second of each of [`BIG_JOBS`] jobs of [`BIG_TASKS`]:
/// (tasks measured, µs to the last launch, tasks not finished).
fn throughput(api: &Api) -> Vec<(usize, u64, usize)> {
    let per_machine = BIG_TASKS / AGENTS as u32;
    (0..BIG_JOBS)
        .map(|i| {
            let name = format!("big-{i}");
            api.submit(&job(&name, BIG_TASKS, Some(per_machine)));
            let (lat, failed) = settle(api, &name, u64::from(BIG_TASKS));
            (lat.len(), lat.iter().copied().max().unwrap_or(0), failed)
        })
        .collect()
}

fn load_average() -> String {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The type of the file system `path` is on: the longest mount point
/// of `/proc/mounts` it is below.
fn file_system(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let best = (mounts.lines())
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (mount, kind) = (f.get(1)?, f.get(2)?);
            path.starts_with(mount)
                .then(|| (mount.len(), (*kind).to_string()))
        })
        .max();
    best.map_or_else(|| "unknown".into(), |(_, kind)| kind)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not supported.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("live_launch: master + {AGENTS} agents on loopback, {cpus} CPUs");
    println!(
        "cell files in {} ({})",
        dir.path().display(),
        file_system(dir.path())
    );
    println!("load average before: {}", load_average());
    let cell = start_cell(dir.path());
    let started = now();
    let (lat, rtt, lat_failed) = latency(&cell.api);
    let big = throughput(&cell.api);
    let took = started.elapsed();
    println!("load average after:  {}", load_average());
    println!();
    println!("| measure | n | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    let row = |what: &str, v: &[u64]| {
        let (p50, p99) = (quantile(v, 0.5), quantile(v, 0.99));
        let max = v.last().copied().unwrap_or(0);
        let n = v.len();
        println!("| {what} | {n} | {} | {} | {} |", ms(p50), ms(p99), ms(max));
    };
    row("submit → running (master's clock)", &lat);
    row("submission round trip (client's clock)", &rtt);
    println!();
    println!("| throughput job | tasks | submit → last launch | launches/s | not finished |");
    println!("|---|---|---|---|---|");
    for (i, (n, us, failed)) in big.iter().enumerate() {
        let rate = *n as f64 / (*us).max(1) as f64 * 1e6;
        println!("| big-{i} | {n} | {} | {rate:.0} | {failed} |", ms(*us));
    }
    println!();
    println!(
        "latency jobs not finished: {lat_failed}; measured in {:.1} s",
        took.as_secs_f64()
    );
}
