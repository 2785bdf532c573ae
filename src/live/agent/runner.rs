//! Starting, watching and stopping task processes.
//!
//! A launch is checked whole before anything is made ([`super::sandbox`]);
//! then the sandbox is created (its directory's atomic creation is what
//! makes a repeated launch of the same run harmless: 200 with the running
//! task, or 409 if that run already ended here), the output files opened,
//! the cgroup made (cgroup v2 mode), the task's program started under
//! its limits ([`super::exec`]), and its `pid` file written
//! ([`super::orphans`]). Each
//! process gets a supervisor, a tokio task that waits for it — so every
//! process the agent starts is reaped — and turns its end into a
//! [`TaskExit`], kept until the master acknowledges it.

use super::api::Failure;
use super::exec::{self, StartPlan};
use super::limits::{self, Enforcement};
use super::{now_ms, Shared, Slot};
use super::{orphans, sandbox};
use crate::live::proto::{ExitOutcome, RunningTask, TaskExit, TaskLaunch, TaskRef};
use axum::http::StatusCode;
use rustix::process::Signal;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::watch;

/// How long a task may take to die after SIGKILL before the kill is
/// reported as failed (a process stuck in the kernel).
const AFTER_SIGKILL: Duration = Duration::from_secs(10);

/// A launch that was taken.
pub(super) struct Launched {
    /// 201 (started, or ended at once: see `start_failure`) or 200
    /// (it already runs).
    pub status: StatusCode,
    pub running: RunningTask,
    /// Why its program could not start (then `running.pid` is 0).
    pub start_failure: Option<String>,
}

impl Launched {
    fn new(status: StatusCode, running: RunningTask) -> Launched {
        Launched {
            status,
            running,
            start_failure: None,
        }
    }
}

/// Starts a task run; 201 and the run when started, 200 and the run if
/// it already runs.
///
/// # Errors
/// 400 for a launch that fails [`sandbox::check_launch`], 409 for a run
/// that already ended here, 500 when the sandbox or the process cannot
/// be made.
pub(super) fn launch(shared: &Arc<Shared>, l: &TaskLaunch) -> Result<Launched, Failure> {
    sandbox::check_launch(l).map_err(Failure::bad_request)?;
    let rel = sandbox::relative_workdir(l.workdir.as_deref()).map_err(Failure::bad_request)?;
    if let Some(known) = existing(shared, &l.task) {
        return known;
    }
    let dir = sandbox::sandbox_dir(&shared.cfg.work_dir, &l.task);
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Failure::io(parent, &e))?;
    }
    match std::fs::create_dir(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return existing(shared, &l.task).unwrap_or_else(|| Err(already_ran(&l.task)));
        }
        Err(e) => return Err(Failure::io(&dir, &e)),
        Ok(()) => {}
    }
    let started = sandbox::make_workdir(&dir, &rel)
        .map_err(Failure::internal)
        .and_then(|workdir| {
            hand_over(shared, &dir, &rel)?;
            spawn(shared, l, &dir, &workdir)
        });
    let (child, cgroup) = match started {
        Ok(Spawned::Running(child, cgroup)) => (child, cgroup),
        Ok(Spawned::StartFailed(why)) => return Ok(start_failed(shared, &l.task, why)),
        Err(f) => {
            // Nothing started: no trace, so the master may try again.
            let _ = std::fs::remove_dir_all(&dir);
            return Err(f);
        }
    };
    // A child not yet waited for always has its pid.
    let pid = child.id().unwrap_or(0);
    let run_dir = shared.cfg.work_dir.join(orphans::RUN_DIR);
    if let Err(e) = orphans::record(&run_dir, &orphans::leaf(&l.task), pid) {
        eprintln!(
            "agent: warning: {} #{}: no pid file ({e}): a new agent would not find it \
             if this one were killed",
            l.task.task, l.task.incarnation
        );
    }
    let running = RunningTask {
        task: l.task.clone(),
        pid,
        started_ms: now_ms(),
    };
    let (tx, rx) = watch::channel(None);
    shared.lock().slots.insert(
        l.task.clone(),
        Slot {
            running: running.clone(),
            kill_requested: false,
            done: rx,
            cgroup: cgroup.clone(),
        },
    );
    let watch = Supervised {
        task: l.task.clone(),
        pid,
        cgroup,
        run_dir,
    };
    tokio::spawn(supervise(Arc::clone(shared), watch, child, tx));
    Ok(Launched::new(StatusCode::CREATED, running))
}

/// Gives the sandbox, and the working directories made below it, to the
/// user and group tasks run as (when the agent was given them), so the
/// task can write there. The output files stay the agent's: the task
/// gets them open.
///
/// # Errors
/// A directory whose owner cannot be changed (500).
fn hand_over(shared: &Shared, dir: &Path, rel: &Path) -> Result<(), Failure> {
    let Some(id) = shared.cfg.run_as else {
        return Ok(());
    };
    let mut path = dir.to_path_buf();
    let give = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(id.uid), Some(id.gid)).map_err(|e| Failure::io(p, &e))
    };
    give(&path)?;
    for part in rel.components() {
        path.push(part);
        give(&path)?;
    }
    Ok(())
}

/// Records a run whose program could not be started as ended
/// `start_failed` (reported, like any end, until acknowledged); the
/// launch's answer is 201 with pid 0: no process.
fn start_failed(shared: &Shared, task: &TaskRef, why: String) -> Launched {
    let ended_ms = now_ms();
    let exit = TaskExit {
        task: task.clone(),
        outcome: ExitOutcome::StartFailed,
        ended_ms,
        detail: Some(why.clone()),
    };
    let running = RunningTask {
        task: task.clone(),
        pid: 0,
        started_ms: ended_ms,
    };
    let (_, done) = watch::channel(Some(exit.clone()));
    let mut t = shared.lock();
    t.slots.insert(
        task.clone(),
        Slot {
            running: running.clone(),
            kill_requested: false,
            done,
            cgroup: None,
        },
    );
    t.exits.insert(task.clone(), exit);
    drop(t);
    shared.exit_ready.notify_one();
    Launched {
        start_failure: Some(why),
        ..Launched::new(StatusCode::CREATED, running)
    }
}

/// The answer for a run the agent already has.
fn existing(shared: &Shared, task: &TaskRef) -> Option<Result<Launched, Failure>> {
    let t = shared.lock();
    let slot = t.slots.get(task)?;
    let ended = slot.done.borrow().is_some();
    let answer = if ended {
        Err(already_ran(task))
    } else {
        Ok(Launched::new(StatusCode::OK, slot.running.clone()))
    };
    Some(answer)
}

fn already_ran(task: &TaskRef) -> Failure {
    Failure::new(
        StatusCode::CONFLICT,
        format!(
            "task: incarnation {} of {} already ran on this agent",
            task.incarnation, task.task
        ),
    )
}

/// How a spawn went.
enum Spawned {
    /// The process runs.
    Running(Child, Option<PathBuf>),
    /// The task's program could not be started (no such program, a limit
    /// refused): the run ended before it began, with this reason.
    StartFailed(String),
}

/// Opens the output files, makes the cgroup and starts the task's
/// program under its limits ([`super::exec`]).
///
/// # Errors
/// What the agent itself could not make: the output files, the cgroup.
fn spawn(shared: &Shared, l: &TaskLaunch, dir: &Path, workdir: &Path) -> Result<Spawned, Failure> {
    let create = |name: &str| {
        let p = dir.join(name);
        std::fs::File::create_new(&p).map_err(|e| Failure::io(&p, &e))
    };
    let (stdout, stderr) = (create("stdout")?, create("stderr")?);
    let cgroup = match &shared.enforcement {
        Enforcement::CgroupV2(tree) => {
            let leaf = format!("{}.{}", l.task.task, l.task.incarnation);
            let made = tree.create_task(&leaf, l.mem_mib, l.cpu_milli);
            Some(made.map_err(|e| Failure::internal(format!("cgroup {leaf}: {e}")))?)
        }
        Enforcement::Rlimit => None,
    };
    let plan = StartPlan {
        mem_mib: l.mem_mib,
        nice: limits::nice_for(l.cpu_milli),
        cgroup: cgroup.clone(),
        run_as: shared.cfg.run_as,
        max_file_mib: shared.cfg.max_file_mib,
    };
    let Some((program, args)) = l.command.split_first() else {
        return Err(Failure::bad_request("command: empty".to_string()));
    };
    let mut cmd = tokio::process::Command::new(program);
    // The agent's own BORGSIM_ variables come after the spec's: a spec
    // cannot make a task believe it is another.
    cmd.args(args)
        .env_clear()
        .env("PATH", &shared.cfg.task_path)
        .env("HOME", dir)
        .envs(&l.env)
        .env("BORGSIM_TASK", &l.task.task)
        .env("BORGSIM_INCARNATION", l.task.incarnation.to_string())
        .env("BORGSIM_SANDBOX", dir)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let started = exec::install(&mut cmd, &plan).and_then(|()| {
        cmd.spawn()
            .map_err(|e| format!("cannot run {program:?}: {e}"))
    });
    match started {
        Ok(child) => Ok(Spawned::Running(child, cgroup)),
        Err(why) => {
            if let Some(cg) = &cgroup {
                let _ = std::fs::remove_dir(cg);
            }
            // Where the task's own errors go, for whoever reads its logs.
            let line = format!("borgsim agent: {why}\n");
            let _ = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("stderr"))
                .and_then(|mut f| f.write_all(line.as_bytes()));
            Ok(Spawned::StartFailed(why))
        }
    }
}

/// What a supervisor needs to know of its run.
struct Supervised {
    task: TaskRef,
    pid: u32,
    cgroup: Option<PathBuf>,
    /// Holds its pid file ([`orphans`]).
    run_dir: PathBuf,
}

/// Waits for the process, clears what it left, records its end.
async fn supervise(
    shared: Arc<Shared>,
    run: Supervised,
    mut child: Child,
    tx: watch::Sender<Option<TaskExit>>,
) {
    let end = match child.wait().await {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(c), _) => End::Code(c),
            (None, Some(s)) => End::Signal(s),
            (None, None) => End::Unknown(format!("{status}")),
        },
        Err(e) => End::Unknown(format!("the agent could not wait for it: {e}")),
    };
    // The session's other processes (and the cgroup's) end with it.
    signal_group(run.pid, Signal::KILL);
    if let Some(cg) = &run.cgroup {
        limits::kill_all(cg);
    }
    orphans::forget(&run.run_dir, &orphans::leaf(&run.task));
    let oom = run.cgroup.as_deref().is_some_and(limits::oom_killed);
    let kill_requested = shared
        .lock()
        .slots
        .get(&run.task)
        .is_some_and(|s| s.kill_requested);
    let (outcome, detail) = classify(end, kill_requested, oom);
    let exit = TaskExit {
        task: run.task.clone(),
        outcome,
        ended_ms: now_ms(),
        detail,
    };
    shared.lock().exits.insert(run.task.clone(), exit.clone());
    tx.send_replace(Some(exit));
    shared.exit_ready.notify_one();
    if let Some(cg) = &run.cgroup {
        limits::remove(cg).await;
    }
}

/// How a process ended, as `wait` told.
#[derive(Debug)]
pub(super) enum End {
    Code(i32),
    Signal(i32),
    Unknown(String),
}

/// The reported outcome: the kernel's memory kill first, then the
/// master's kill, then what the process itself did. (A start failure
/// never reaches here: no process ran, see [`start_failed`].)
pub(super) fn classify(end: End, kill_requested: bool, oom: bool) -> (ExitOutcome, Option<String>) {
    match end {
        _ if oom => (ExitOutcome::OutOfMemory, None),
        _ if kill_requested => (ExitOutcome::Killed, None),
        End::Signal(s) => (ExitOutcome::Signaled(s), None),
        End::Code(c) => (ExitOutcome::Exited(c), None),
        End::Unknown(why) => (ExitOutcome::Exited(-1), Some(why)),
    }
}

/// Sends `sig` to the process group `pid` leads; a group already gone is
/// not an error. Never pid 0 or 1 (this agent's group, init).
fn signal_group(pid: u32, sig: Signal) {
    let target = i32::try_from(pid)
        .ok()
        .filter(|&p| p > 1)
        .and_then(rustix::process::Pid::from_raw);
    if let Some(p) = target {
        let _ = rustix::process::kill_process_group(p, sig);
    }
}

/// Stops a run: SIGTERM to its group, SIGKILL after the grace; returns
/// its end once it is dead (at once if it already ended).
///
/// # Errors
/// 404 for a run the agent does not know; 500 if it is still alive
/// [`AFTER_SIGKILL`] after SIGKILL.
pub(super) async fn kill(shared: &Shared, task: &TaskRef) -> Result<TaskExit, Failure> {
    let (pid, cgroup, mut done) = {
        let mut t = shared.lock();
        let Some(slot) = t.slots.get_mut(task) else {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!(
                    "task: no incarnation {} of {} on this agent",
                    task.incarnation, task.task
                ),
            ));
        };
        if let Some(exit) = slot.done.borrow().clone() {
            return Ok(exit);
        }
        slot.kill_requested = true;
        (slot.running.pid, slot.cgroup.clone(), slot.done.clone())
    };
    // The whole session: a process of it in a group of its own too.
    orphans::signal_session(pid, 0, Signal::TERM);
    if let Some(exit) = wait_done(&mut done, shared.cfg.kill_grace).await {
        return Ok(exit);
    }
    orphans::signal_session(pid, 0, Signal::KILL);
    if let Some(cg) = &cgroup {
        limits::kill_all(cg);
    }
    wait_done(&mut done, AFTER_SIGKILL)
        .await
        .ok_or_else(|| Failure::internal(format!("{} still runs after SIGKILL", task.task)))
}

async fn wait_done(
    done: &mut watch::Receiver<Option<TaskExit>>,
    limit: Duration,
) -> Option<TaskExit> {
    let seen = tokio::time::timeout(limit, done.wait_for(Option::is_some)).await;
    seen.ok()?.ok().and_then(|v| v.clone())
}

/// Kills the runs the master listed, in the background.
pub(super) fn kill_listed(shared: &Arc<Shared>, refs: Vec<TaskRef>) {
    for r in refs {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            match kill(&shared, &r).await {
                Ok(_) => eprintln!(
                    "agent: killed {} #{} (the master's list)",
                    r.task, r.incarnation
                ),
                Err(f) => eprintln!(
                    "agent: cannot kill {} #{}: {}",
                    r.task, r.incarnation, f.error
                ),
            }
        });
    }
}

/// Kills every running task at once (the agent is stopping).
pub(super) async fn kill_everything(shared: &Arc<Shared>) {
    let mut set = tokio::task::JoinSet::new();
    for r in shared.running() {
        let shared = Arc::clone(shared);
        set.spawn(async move { kill(&shared, &r.task).await });
    }
    while set.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_put_memory_kills_and_kills_first() {
        assert_eq!(
            classify(End::Signal(9), false, true).0,
            ExitOutcome::OutOfMemory
        );
        assert_eq!(
            classify(End::Signal(9), true, true).0,
            ExitOutcome::OutOfMemory
        );
        assert_eq!(
            classify(End::Signal(15), true, false).0,
            ExitOutcome::Killed
        );
        assert_eq!(
            classify(End::Signal(11), false, false).0,
            ExitOutcome::Signaled(11)
        );
        // A task's own 127 is its exit.
        assert_eq!(
            classify(End::Code(127), false, false).0,
            ExitOutcome::Exited(127)
        );
        let (o, d) = classify(End::Unknown("x".into()), false, false);
        assert_eq!((o, d.as_deref()), (ExitOutcome::Exited(-1), Some("x")));
    }
}
