//! What every live test needs: the real binary started as a guarded
//! process (stopped and reaped when the guard drops, whatever the test
//! did), its `listening on ADDR` line read with a deadline, bounded
//! polling, a token file, a small JSON client, and a real agent.

use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every wait of these tests ends within this (then fails, saying what
/// it saw).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The cell's token in these tests.
pub const TOKEN: &str = "live-test-token-0123456789";

/// Writes [`TOKEN`] to `dir/token` and returns its path.
pub fn token_file(dir: &Path) -> PathBuf {
    let p = dir.join("token");
    std::fs::write(&p, format!("{TOKEN}\n")).expect("write the token file");
    p
}

/// Calls `f` until it returns `Some`, every 20 ms, for at most
/// [`DEADLINE`]; then fails naming `what` and the last state `seen` shows.
#[expect(
    clippy::disallowed_methods,
    reason = "a test of real processes waits on the wall clock, bounded"
)]
pub fn poll_until<T>(what: &str, mut f: impl FnMut() -> Option<T>, seen: impl Fn() -> String) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        if start.elapsed() > DEADLINE {
            panic!("waited {DEADLINE:?} for {what}; last seen:\n{}", seen());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `borgsim` process: SIGTERM, then SIGKILL, and reaped on drop.
pub struct Proc {
    child: Child,
    what: String,
    stderr: Arc<Mutex<String>>,
    /// Where it listens (from its first stdout line).
    pub addr: SocketAddr,
}

impl Proc {
    /// Starts `borgsim args…` and waits for its `listening on ADDR` line.
    pub fn start(what: &str, args: &[&std::ffi::OsStr]) -> Proc {
        Proc::start_with_env(what, args, &[])
    }

    /// [`Proc::start`] with variables added to its environment.
    pub fn start_with_env(what: &str, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgsim"));
        cmd.envs(env.iter().copied());
        Proc::start_command(what, cmd, args)
    }

    /// [`Proc::start`] of a prepared command (its user, its variables).
    pub fn start_command(what: &str, mut cmd: Command, args: &[&std::ffi::OsStr]) -> Proc {
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start borgsim");
        let stderr = Arc::new(Mutex::new(String::new()));
        collect(
            child.stderr.take().expect("piped stderr"),
            Arc::clone(&stderr),
        );
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Drain the rest, so the process never blocks on a full pipe.
            for _ in lines {}
        });
        let mut p = Proc {
            child,
            what: what.to_string(),
            stderr,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            p.kill();
            panic!(
                "{what} printed no `listening on` line; stderr:\n{}",
                p.stderr()
            )
        });
        p.addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{what}: first line {line:?}"));
        p
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits up to `limit` for it to exit.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let steps = limit.as_millis() / 20 + 1;
        for _ in 0..steps {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGTERM, up to [`DEADLINE`] to exit, then SIGKILL.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let status = self.wait_for_exit(DEADLINE);
        if status.is_none() {
            eprintln!("{} ignored SIGTERM; killing it", self.what);
            self.kill();
        }
        status
    }

    /// Its stderr once it holds `needle` (read by a thread, it may lag
    /// behind what the process did).
    pub fn wait_for_log(&self, needle: &str) -> String {
        poll_until(
            &format!("{:?} in the log of {}", needle, self.what),
            || {
                let log = self.stderr();
                log.contains(needle).then_some(log)
            },
            || self.stderr(),
        )
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies `from` into `into` on a thread, until it closes.
fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = into.lock() {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
}

/// A JSON client of one server, blocking (its own small runtime).
pub struct Client {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

/// A reply: its status and body (JSON, or `Value::Null`).
pub type Reply = (u16, Value);

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
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

    /// Sends a request with `token` (`None`: no header) and `body`.
    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("the server answers");
            let status = r.status().as_u16();
            let bytes = r.bytes().await.expect("a body");
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(TOKEN), None)
    }

    pub fn post(&self, path: &str, body: &impl Serialize) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serialisable");
        self.send(reqwest::Method::POST, path, Some(TOKEN), Some(bytes))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, Some(TOKEN), None)
    }
}

/// A real `borgsim agent` process, its client and its work directory
/// (removed on drop, after the process is stopped).
pub struct Agent {
    pub proc: Proc,
    pub api: Client,
    /// Its `--work-dir` (sandboxes in `tasks/`).
    pub work: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// Starts an agent named `name` of the master at `master_url`, with
    /// 4000 milli-cores and 8192 MiB unless `extra` flags say otherwise.
    pub fn start(master_url: &str, name: &str, extra: &[&str]) -> Agent {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let token = token_file(dir.path());
        let work = dir.path().join("work");
        let head = ["agent", "--master", master_url, "--name", name];
        let mut args: Vec<&std::ffi::OsStr> = head.iter().map(std::ffi::OsStr::new).collect();
        args.extend([
            "--work-dir".as_ref(),
            work.as_os_str(),
            "--token-file".as_ref(),
            token.as_os_str(),
        ]);
        for (flag, default) in [("--cpu-milli", "4000"), ("--mem-mib", "8192")] {
            if !extra.contains(&flag) {
                args.extend([std::ffi::OsStr::new(flag), std::ffi::OsStr::new(default)]);
            }
        }
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let proc = Proc::start(&format!("agent {name}"), &args);
        let api = Client::new(proc.addr);
        Agent {
            proc,
            api,
            work,
            _dir: dir,
        }
    }
}
