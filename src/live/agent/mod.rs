//! The agent (`borgsim agent`, Borg's Borglet): runs on a machine, starts
//! the master's tasks as real processes, enforces their limits, captures
//! their output, and reports their ends.
//!
//! # Running it
//! ```text
//! borgsim agent --master http://127.0.0.1:7070 --work-dir /var/lib/borgsim \
//!     --token-file /etc/borgsim/token [--listen 127.0.0.1:0] [--advertise HOST:PORT]
//!     [--name NAME] [--cpu-milli N] [--mem-mib N] [--gpus N]
//!     [--attr K=V]… [--rack R] [--kill-grace-ms 5000]
//!     [--run-as-user UID --run-as-group GID] [--max-file-mib N]
//! ```
//! The token comes from `--token-file` or `BORGSIM_TOKEN`, never a flag.
//! Capacity defaults to the machine's: the CPUs this process may use
//! (logical CPUs, fewer under an affinity mask or a CPU quota) × 1000
//! milli-cores, and its memory (or its container's limit, when lower);
//! GPUs to 0. The name defaults to the host name. It listens on
//! `127.0.0.1:0` unless told otherwise, prints one line `listening on
//! ADDR` on stdout, then logs to stderr; `--advertise` is the address the
//! master is given (default: the one bound, which must then be reachable
//! from it). The mode of limits in force (`cgroup_v2` or `rlimit`, and
//! why) is its first log line, and is in its registration and
//! `GET /v1/health`.
//!
//! # The master's link (`link`)
//! The agent serves its API at once and registers meanwhile, retrying
//! with a capped back-off (0.2 s doubling to 5 s) until the master
//! answers. It then sends a heartbeat every interval the master set —
//! its tasks' usage, the runs it has, exits not yet acknowledged — and
//! reports each exit at once as well. A master that answers `known:
//! false` (it restarted, or declared this machine down) gets a new
//! registration carrying the running tasks and the unacknowledged exits:
//! re-attachment, nothing restarted. **When the master is gone, nothing
//! stops**: tasks run on, exits queue until acknowledged, retries go on
//! (connection errors, 5xx, and 409: the name is held by another live
//! agent). A registration the master refuses for good — 400 (a name or
//! field it will never take) or 401 (a wrong token) — stops an agent that
//! runs no task: it exits with code 2 and the master's reason. One that
//! runs tasks keeps them and retries, logging the refusal: a master
//! restarted with a wrong token must not stop a cell's tasks.
//! While it runs, the agent never kills one of its tasks on its own; it
//! kills what the master lists in a reply or asks for by `DELETE`.
//!
//! # Tasks (`runner`, [`sandbox`], [`limits`], [`exec`], [`orphans`])
//! A launch's names and paths are checked before anything is made (400
//! otherwise, see [`sandbox`]). Each run gets `WORK/tasks/<task>/<incarnation>/`
//! with its `stdout` and `stderr` files; the process starts as a session
//! leader with its limits in force from its first instruction (cgroup v2
//! or rlimits, [`limits`], applied between `fork` and `exec`, [`exec`]),
//! in the working directory, with a clean environment: `PATH` (the
//! agent's), `HOME` (the sandbox), the spec's `env`, then `BORGSIM_TASK`,
//! `BORGSIM_INCARNATION` and `BORGSIM_SANDBOX`, which a spec cannot
//! override — the agent's own variables, its token among them, never
//! reach a task. While the process lives, `WORK/run/<task>.<incarnation>`
//! (a directory only the agent's user enters) holds `PID STARTTIME`
//! ([`orphans`]), removed when the task ends. A kill sends
//! SIGTERM to the task's process group, SIGKILL after
//! `--kill-grace-ms`, and answers once the task is dead (a repeated
//! launch of a running run is 200 with it, of an ended one 409). When a
//! task's main process ends, what it left behind in its group (or
//! cgroup) is killed too. A task is the session it leads: heartbeats sum
//! the CPU and resident memory of that session's processes. Sandboxes stay on disk
//! after the run (the task's logs); removing old ones is the operator's.
//!
//! # Security
//! Every route needs the cell's bearer token (401 otherwise, nothing
//! done); bodies over [`crate::live::proto::MAX_BODY_BYTES`] get 413;
//! malformed ones 400 naming the field. No field of a launch names a
//! user (unknown fields are refused) and a spec cannot name a path
//! outside its sandbox.
//!
//! The agent makes itself non-dumpable at start (`prctl(PR_SET_DUMPABLE,
//! 0)`; `borgsim master` does too): its `/proc/PID` files — its
//! environment, with `BORGSIM_TOKEN` — become root's, and no process of
//! its user may trace it. Tasks are unaffected: `exec` makes them
//! dumpable again ([`exec`]).
//!
//! By default a task runs as the agent's user, and can read what that
//! user can — the token file included; the agent says so at start, and
//! warns when the token file is readable by its group or others. Given
//! `--run-as-user UID --run-as-group GID` (numeric, like a pod's
//! `runAsUser`/`runAsGroup`), the agent must run as root (it refuses to
//! start otherwise, exit code 2): each task drops to that user and group
//! with no supplementary groups before its program runs ([`exec`]), its
//! sandbox and working directory are given to them (the output files
//! stay the agent's, open for the task), and `GET /v1/health` says who
//! tasks run as (`tasks_run_as`). A task starts in its sandbox whatever
//! the work directory's mode; to use the absolute paths it is given
//! (`HOME`, `BORGSIM_SANDBOX`) that user needs search permission on the
//! work directory and its parents. Tasks all run as that one user, so
//! each can reach the others' sandboxes.
//!
//! # Stopping
//! On SIGTERM or SIGINT the agent stops serving, kills its tasks (with
//! the grace), tries once to report their exits, and exits. Killed with
//! SIGKILL, it leaves its tasks running, unmanaged; the master declares
//! them lost after its grace period, and the next agent started on the
//! same work directory kills them before it registers ([`orphans`]).
//! One agent per work directory: each holds `WORK/agent.lock` (`flock`)
//! while it runs, and a second one refuses to start (exit code 2).
//! Linux only (sessions, rlimits, cgroups, `/proc`).

mod api;
pub mod exec;
pub mod limits;
mod link;
pub mod orphans;
mod runner;
pub mod sandbox;
mod usage;

use super::auth::Token;
use super::proto::{AgentInfo, Capacity, RunAs, RunningTask, TaskExit, TaskRef};
use limits::Enforcement;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Everything the agent is told at start.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The master's base URL (`http://host:port`).
    pub master: reqwest::Url,
    /// Where the API listens.
    pub listen: SocketAddr,
    /// The address given to the master (default: the one bound).
    pub advertise: Option<String>,
    /// The machine's name in the cell.
    pub name: String,
    pub capacity: Capacity,
    pub attrs: BTreeMap<String, String>,
    pub rack: Option<String>,
    /// Holds `tasks/`, the sandboxes.
    pub work_dir: PathBuf,
    pub token: Token,
    /// SIGTERM to SIGKILL.
    pub kill_grace: Duration,
    /// `PATH` as tasks get it.
    pub task_path: String,
    /// The user and group tasks run as (`--run-as-user`,
    /// `--run-as-group`; the agent must then be root); `None`: the
    /// agent's own.
    pub run_as: Option<RunAs>,
    /// The largest file a task may write, MiB (`--max-file-mib`,
    /// `RLIMIT_FSIZE`); `None`: no limit.
    pub max_file_mib: Option<u64>,
}

/// Why the agent could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{path}: cannot create the work directory: {source}")]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("the API server failed: {0}")]
    Serve(std::io::Error),
    #[error("the master refused this agent: {0}")]
    Refused(String),
    #[error(
        "{0}: another agent uses this work directory (it holds agent.lock); \
         give each agent its own"
    )]
    WorkDirTaken(PathBuf),
}

impl AgentError {
    /// The process's exit code for it: 2 when the master refused the
    /// agent for good (its input is wrong), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            AgentError::Refused(_) | AgentError::WorkDirTaken(_) => 2,
            _ => 1,
        }
    }
}

/// One task run the agent knows: running, or ended and not acknowledged.
struct Slot {
    running: RunningTask,
    /// The master asked for it to stop (its end is then `killed`).
    kill_requested: bool,
    /// `Some` once it has ended.
    done: watch::Receiver<Option<TaskExit>>,
    /// Its cgroup (cgroup v2 mode).
    cgroup: Option<PathBuf>,
}

#[derive(Default)]
struct Tasks {
    slots: BTreeMap<TaskRef, Slot>,
    /// Ends the master has not acknowledged yet.
    exits: BTreeMap<TaskRef, TaskExit>,
}

/// The agent's state, shared by its API, its tasks' supervisors and its
/// link to the master. The lock is never held across an `await`.
struct Shared {
    cfg: AgentConfig,
    enforcement: Enforcement,
    /// The address the master is given.
    addr: String,
    tasks: Mutex<Tasks>,
    /// A task ended: report it.
    exit_ready: Notify,
    master_reachable: AtomicBool,
    /// The last reason the master could not be reached or refused, as
    /// logged (each new one is logged once).
    master_trouble: Mutex<String>,
    meter: Arc<Mutex<usage::Meter>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Tasks> {
        // A panic elsewhere while holding the lock leaves consistent maps
        // (each change is one insert or remove): keep serving.
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The runs not ended yet.
    fn running(&self) -> Vec<RunningTask> {
        let t = self.lock();
        t.slots
            .values()
            .filter(|s| !ended(s))
            .map(|s| s.running.clone())
            .collect()
    }

    fn unacked(&self) -> Vec<TaskExit> {
        self.lock().exits.values().cloned().collect()
    }

    /// Forgets acknowledged exits, and their runs.
    fn ack(&self, refs: &[TaskRef]) {
        let mut t = self.lock();
        for r in refs {
            if t.exits.remove(r).is_some() {
                t.slots.remove(r);
            }
        }
    }

    fn info(&self) -> AgentInfo {
        AgentInfo {
            name: self.cfg.name.clone(),
            capacity: self.cfg.capacity,
            limits: self.enforcement.mode(),
            tasks_running: u32::try_from(self.running().len()).unwrap_or(u32::MAX),
            master_reachable: self.master_reachable.load(Ordering::Relaxed),
            tasks_run_as: tasks_run_as(&self.cfg),
        }
    }
}

/// Who tasks run as: the configured user and group, else the agent's.
fn tasks_run_as(cfg: &AgentConfig) -> RunAs {
    cfg.run_as.unwrap_or_else(|| RunAs {
        uid: rustix::process::geteuid().as_raw(),
        gid: rustix::process::getegid().as_raw(),
    })
}

fn ended(slot: &Slot) -> bool {
    slot.done.borrow().is_some()
}

/// Milliseconds since the Unix epoch, the wire's wall-clock unit.
#[expect(
    clippy::disallowed_methods,
    reason = "the live agent reports wall-clock times of its tasks' starts and ends"
)]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs the agent until SIGTERM or SIGINT; `on_listening` is called with
/// the bound address once the API accepts connections. Before it
/// registers, it kills the tasks a previous agent left running in the
/// same work directory ([`orphans`]).
///
/// # Errors
/// The work directory cannot be made, the address cannot be bound, the
/// server fails, or the master refuses this agent for good while it runs
/// no task ([`AgentError::Refused`]).
pub async fn run(
    mut cfg: AgentConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), AgentError> {
    let tasks_dir = cfg.work_dir.join("tasks");
    let work_dir_error = |source| AgentError::WorkDir {
        path: cfg.work_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&tasks_dir).map_err(work_dir_error)?;
    // Tasks run elsewhere: every path handed to them is absolute.
    cfg.work_dir = cfg.work_dir.canonicalize().map_err(work_dir_error)?;
    // Held until the agent ends (the kernel drops it even at SIGKILL).
    let _lock = lock_work_dir(&cfg.work_dir)?;
    let (enforcement, why) = limits::detect(std::process::id());
    eprintln!("agent: limits: {} ({why})", mode_name(&enforcement));
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| AgentError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let bound = listener.local_addr().map_err(AgentError::Serve)?;
    warn_about(&cfg, bound);
    orphans::run_dir(&cfg.work_dir).map_err(|e| AgentError::WorkDir {
        path: cfg.work_dir.join(orphans::RUN_DIR),
        source: std::io::Error::other(e),
    })?;
    let orphans = orphans::kill_orphans(&cfg.work_dir, &enforcement);
    if orphans > 0 {
        eprintln!("agent: killed {orphans} task(s) a previous agent left running");
    }
    let shared = Arc::new(Shared {
        addr: cfg.advertise.clone().unwrap_or_else(|| bound.to_string()),
        cfg,
        enforcement,
        tasks: Mutex::new(Tasks::default()),
        exit_ready: Notify::new(),
        master_reachable: AtomicBool::new(false),
        master_trouble: Mutex::new(String::new()),
        meter: Arc::new(Mutex::new(usage::Meter::new())),
    });
    let client = link::client(&shared.cfg.token)?;
    on_listening(bound);
    // The link's end is a refusal for good: it stops the agent too.
    let (refused_tx, refused) = watch::channel(None);
    let link_task = tokio::spawn({
        let (shared, client) = (Arc::clone(&shared), client.clone());
        async move {
            let why = link::run(shared, client).await;
            refused_tx.send_replace(Some(why));
        }
    });
    let stop = {
        let mut refused = refused.clone();
        async move {
            tokio::select! {
                () = stop_signal() => {}
                _ = refused.wait_for(Option::is_some) => {}
            }
        }
    };
    let served = axum::serve(listener, api::router(Arc::clone(&shared)))
        .with_graceful_shutdown(stop)
        .await;
    link_task.abort();
    let refusal = refused.borrow().clone();
    eprintln!("agent: stopping: killing its tasks");
    runner::kill_everything(&shared).await;
    if let Some(why) = refusal {
        return Err(AgentError::Refused(why));
    }
    link::last_report(&shared, &client).await;
    served.map_err(AgentError::Serve)
}

/// Takes `work/agent.lock` (`flock`, exclusive): one agent per work
/// directory, or the next one's orphan check would kill the tasks of a
/// live one.
///
/// # Errors
/// The lock file cannot be opened, or another agent holds it.
fn lock_work_dir(work: &std::path::Path) -> Result<std::fs::File, AgentError> {
    let path = work.join("agent.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| AgentError::WorkDir {
            path: path.clone(),
            source,
        })?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(f),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            Err(AgentError::WorkDirTaken(work.to_path_buf()))
        }
        Err(e) => Err(AgentError::WorkDir {
            path,
            source: e.into(),
        }),
    }
}

/// Start-up warnings: an address the master cannot reach, tasks as the
/// agent's user (root, or any); and who tasks run as.
fn warn_about(cfg: &AgentConfig, bound: SocketAddr) {
    if bound.ip().is_unspecified() && cfg.advertise.is_none() {
        eprintln!(
            "agent: warning: listening on {bound} without --advertise: the master is given \
             an address it cannot connect to"
        );
    }
    let id = tasks_run_as(cfg);
    if cfg.run_as.is_some() {
        eprintln!("agent: tasks run as uid {} gid {}", id.uid, id.gid);
    } else if rustix::process::geteuid().is_root() {
        eprintln!(
            "agent: warning: running as root, so are its tasks; give --run-as-user and \
             --run-as-group, or run it as an unprivileged user"
        );
    } else {
        eprintln!(
            "agent: warning: tasks run as this agent's user (uid {} gid {}) and can read what \
             it can, its token file included; run it as root with --run-as-user and \
             --run-as-group to run them as another user",
            id.uid, id.gid
        );
    }
}

fn mode_name(e: &Enforcement) -> &'static str {
    match e {
        Enforcement::CgroupV2(_) => "cgroup_v2",
        Enforcement::Rlimit => "rlimit",
    }
}

/// SIGTERM or SIGINT. If the handlers cannot be installed the agent runs
/// until killed.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("agent: cannot handle SIGTERM/SIGINT; stop it with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
