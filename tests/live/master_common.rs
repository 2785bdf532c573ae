//! Helpers for the master's live tests: a master process killed on drop,
//! an async HTTP client that carries the token, bounded polling, and a fake
//! agent (a tiny axum server) that accepts launches and kills as an agent
//! would and records them. The token and deadline are `common`'s.

use borgsim::live::proto::{LaunchReply, RunningTask, TaskLaunch, TaskRef};
use serde_json::Value;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::common::{token_file, DEADLINE, TOKEN};

/// A `borgsim master` process, killed (SIGKILL: a crash) on drop.
pub struct MasterProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl MasterProcess {
    /// Kills the process at once, as a crash would.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MasterProcess {
    fn drop(&mut self) {
        self.crash();
    }
}

/// Starts `borgsim master` on a random loopback port with its store in
/// `dir` (the same store when called again: a restart), heartbeats of 5 s
/// (no machine goes silent during a test) and `extra` flags; waits for its
/// `listening on` line.
pub fn start_master(dir: &Path, extra: &[&str]) -> MasterProcess {
    start_master_with(
        dir,
        &["--heartbeat-ms", "5000", "--grace-ms", "60000"],
        extra,
    )
}

/// [`start_master`] with these timing flags.
pub fn start_master_with(dir: &Path, timing: &[&str], extra: &[&str]) -> MasterProcess {
    let token = token_file(dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .arg("master")
        .arg("--token-file")
        .arg(&token)
        .arg("--store")
        .arg(dir.join("master.db"))
        .args(["--listen", "127.0.0.1:0"])
        .args(timing)
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("borgsim runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut master = MasterProcess {
        child,
        url: String::new(),
    };
    let line = rx.recv_timeout(DEADLINE).unwrap_or_default();
    let addr = line.trim().strip_prefix("listening on ");
    let addr = addr.unwrap_or_else(|| panic!("the master printed {line:?}"));
    master.url = format!("http://{addr}");
    master
}

/// A client of one master, with or without a token.
#[derive(Clone)]
pub struct Api {
    pub url: String,
    client: reqwest::Client,
    auth: Option<String>,
}

impl Api {
    /// A client presenting the cell's token.
    pub fn new(url: &str) -> Api {
        Api::with_token(url, Some(TOKEN))
    }

    /// A client presenting `token` (`None`: no header at all).
    pub fn with_token(url: &str, token: Option<&str>) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Api {
            url: url.to_string(),
            client,
            auth: token.map(|t| format!("Bearer {t}")),
        }
    }

    /// Sends `method path` with a raw body (JSON if `Some`); returns the
    /// status and the body as JSON (`Null` if it is not).
    pub async fn call(&self, method: &str, path: &str, body: Option<String>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("the master answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(body.to_string())).await
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most
/// [`DEADLINE`]; fails with `what` and the last value seen.
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let end = tokio::time::Instant::now() + DEADLINE;
    let mut last = String::new();
    while tokio::time::Instant::now() < end {
        match probe().await {
            Ok(v) => return v,
            Err(seen) => last = seen,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}; last seen: {last}");
}

/// What a fake agent was asked to do.
#[derive(Debug, Default)]
pub struct FakeAgentLog {
    pub launched: Vec<TaskLaunch>,
    pub killed: Vec<TaskRef>,
}

/// A fake agent: answers launches 201 (the task "runs") and kills 200,
/// recording both. Its server stops when the test's runtime ends.
pub struct FakeAgent {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<FakeAgentLog>>,
}

impl FakeAgent {
    /// Starts one on a random loopback port.
    pub async fn start() -> FakeAgent {
        use axum::routing::{delete, post};
        let log = Arc::new(Mutex::new(FakeAgentLog::default()));
        let app = axum::Router::new()
            .route("/v1/tasks", post(fake_launch))
            .route("/v1/tasks/{task}", delete(fake_kill))
            .with_state(Arc::clone(&log));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeAgent { addr, log }
    }

    /// The tasks it was asked to start, so far.
    pub fn launched(&self) -> Vec<TaskRef> {
        let log = self.log.lock().unwrap();
        log.launched.iter().map(|l| l.task.clone()).collect()
    }

    /// The tasks it was asked to stop, so far.
    pub fn killed(&self) -> Vec<TaskRef> {
        self.log.lock().unwrap().killed.clone()
    }

    /// Sends heartbeats as machine `name` to `api` every 100 ms, listing
    /// the tasks launched and not killed, until the handle is aborted.
    pub fn heartbeat(&self, api: Api, name: &str) -> tokio::task::JoinHandle<()> {
        let (log, name) = (Arc::clone(&self.log), name.to_string());
        tokio::spawn(async move {
            loop {
                let running: Vec<RunningTask> = {
                    let log = log.lock().unwrap();
                    (log.launched.iter())
                        .filter(|l| !log.killed.contains(&l.task))
                        .map(|l| RunningTask {
                            task: l.task.clone(),
                            pid: 1,
                            started_ms: 1,
                        })
                        .collect()
                };
                let hb = serde_json::json!({"name": name, "running": running,
                    "usage": {"cpu_milli": 0, "mem_mib": 0}});
                api.post("/v1/agent/heartbeat", &hb).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    /// Its registration body: `name`, 4 cores, 8 GiB, running `running`.
    pub fn registration(&self, name: &str, running: &[TaskRef]) -> Value {
        let running: Vec<RunningTask> = (running.iter())
            .map(|t| RunningTask {
                task: t.clone(),
                pid: 1,
                started_ms: 1,
            })
            .collect();
        serde_json::json!({
            "name": name,
            "addr": self.addr.to_string(),
            "capacity": {"cpu_milli": 4000, "mem_mib": 8192},
            "limits": "rlimit",
            "running": running,
        })
    }
}

type Log = Arc<Mutex<FakeAgentLog>>;

/// The master sends each agent its launches as a list.
async fn fake_launch(
    axum::extract::State(log): axum::extract::State<Log>,
    axum::Json(launches): axum::Json<Vec<TaskLaunch>>,
) -> axum::Json<Vec<LaunchReply>> {
    let replies = (launches.iter())
        .map(|l| LaunchReply {
            status: 201,
            running: Some(RunningTask {
                task: l.task.clone(),
                pid: 4242,
                started_ms: 1,
            }),
            error: None,
        })
        .collect();
    log.lock().unwrap().launched.extend(launches);
    axum::Json(replies)
}

#[derive(serde::Deserialize)]
struct KillQuery {
    incarnation: u32,
}

async fn fake_kill(
    axum::extract::State(log): axum::extract::State<Log>,
    axum::extract::Path(task): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<KillQuery>,
) -> axum::http::StatusCode {
    log.lock().unwrap().killed.push(TaskRef {
        task,
        incarnation: q.incarnation,
    });
    axum::http::StatusCode::OK
}
