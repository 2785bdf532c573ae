//! The master's imperative shell: the clock, the lock around the core
//! and the store, the scheduling loop, and the requests to agents.
//!
//! Every change goes the same way (`Shared::apply`): lock, read the
//! clock, call the core, write what it changed to the store, unlock —
//! and only then send what the core asked for (launches, kills), so a
//! launch never leaves before its placement is on disk. The scheduling
//! loop is one tokio task, woken by a submission, an exit, a
//! registration or a drain (`Shared::wake`) and by a tick every
//! heartbeat interval (which also notices silent machines).
//!
//! Live time is the time since the master started, from tokio's
//! monotonic clock, in µs (a [`SimTime`]); the wall clock only stamps the
//! records people read.

use super::core::{Command, LiveCell, Now};
use super::exits::LaunchFailure;
use super::store::{Store, StoreError};
use crate::live::auth::Token;
use crate::live::proto::{ApiError, RunningTask, TaskRef};
use crate::time::SimTime;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a launch request may take (the agent answers once the
/// process is spawned).
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kill request may take (the agent answers once the task is
/// dead: SIGTERM, its grace, SIGKILL).
const KILL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection to an agent may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The core and its store, under one lock.
pub(super) struct Inner {
    pub(super) cell: LiveCell,
    store: Store,
}

/// What every request handler and the loop share.
pub struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the scheduling loop.
    pub(super) wake: tokio::sync::Notify,
    start: tokio::time::Instant,
    client: reqwest::Client,
    token: Token,
}

/// The store failed: the change is in memory but not on disk (500).
#[derive(Debug)]
pub(super) struct StoreFailed(pub(super) String);

impl Shared {
    /// The shell around `cell` (restored from `store`), talking to agents
    /// with `token`.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS stack is asked for: only a
    /// broken system resolver configuration).
    pub fn new(cell: LiveCell, store: Store, token: Token) -> Result<Arc<Shared>, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Arc::new(Shared {
            inner: Mutex::new(Inner { cell, store }),
            wake: tokio::sync::Notify::new(),
            start: tokio::time::Instant::now(),
            client,
            token,
        }))
    }

    /// The time now: since the master started (monotonic) and on the wall.
    pub(super) fn now(&self) -> Now {
        let us = self.start.elapsed().as_micros();
        Now {
            sim: SimTime(u64::try_from(us).unwrap_or(u64::MAX)),
            wall_ms: wall_ms(),
        }
    }

    /// Runs `f` on the core at the time now, writes what it changed, and
    /// returns its result.
    ///
    /// # Errors
    /// The store could not write the changes.
    pub(super) fn apply<T>(
        &self,
        f: impl FnOnce(&mut LiveCell, Now) -> T,
    ) -> Result<T, StoreFailed> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.now();
        let out = f(&mut g.cell, now);
        let changes = g.cell.take_changes();
        let inner = &mut *g;
        inner.store.write(&changes).map_err(|e: StoreError| {
            eprintln!("error: {e}");
            StoreFailed(e.to_string())
        })?;
        Ok(out)
    }

    /// Reads the core (no change).
    pub(super) fn read<T>(&self, f: impl FnOnce(&LiveCell) -> T) -> T {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&g.cell)
    }

    /// Sends each command to its agent, concurrently, and records the
    /// launches' outcomes.
    pub(super) fn dispatch(self: &Arc<Self>, cmds: Vec<Command>) {
        for cmd in cmds {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                match cmd {
                    Command::Launch {
                        machine,
                        addr,
                        launch,
                    } => me.launch(machine, &addr, &launch).await,
                    Command::Kill { addr, task, .. } => me.kill(&addr, &task).await,
                }
            });
        }
    }

    async fn launch(&self, m: u32, addr: &str, launch: &crate::live::proto::TaskLaunch) {
        let url = format!("http://{addr}/v1/tasks");
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.token.header_value())
            .timeout(LAUNCH_TIMEOUT)
            .json(launch)
            .send()
            .await;
        let outcome = match sent {
            Err(e) => Err(LaunchFailure::Unreachable(format!("agent {addr}: {e}"))),
            Ok(r) if r.status().is_success() => match r.json::<RunningTask>().await {
                Ok(rt) => Ok(rt),
                Err(e) => Err(LaunchFailure::Unreachable(format!("agent {addr}: {e}"))),
            },
            Ok(r) => {
                let status = r.status();
                let why = r.json::<ApiError>().await.map(|e| e.error);
                let why = format!("agent {addr}: {status}: {}", why.unwrap_or_default());
                Err(LaunchFailure::Refused(why))
            }
        };
        let task = launch.task.clone();
        let recorded = self.apply(|c, now| match outcome {
            Ok(rt) => c.launched(now, m, &rt),
            Err(why) => {
                eprintln!("launch of {} failed: {why:?}", task.task);
                c.launch_failed(now, m, &task, why);
            }
        });
        if recorded.is_ok() {
            self.wake.notify_one();
        }
    }

    async fn kill(&self, addr: &str, task: &TaskRef) {
        let url = format!("http://{addr}/v1/tasks/{}", task.task);
        let sent = self
            .client
            .delete(url)
            .query(&[("incarnation", task.incarnation)])
            .header(reqwest::header::AUTHORIZATION, self.token.header_value())
            .timeout(KILL_TIMEOUT)
            .send()
            .await;
        // A kill that does not arrive is sent again: the agent's next
        // heartbeat lists the task, and the reply tells it to stop.
        match sent {
            Ok(r) if r.status().is_success() || r.status() == 404 => {}
            Ok(r) => eprintln!("kill of {} on {addr}: {}", task.task, r.status()),
            Err(e) => eprintln!("kill of {} on {addr}: {e}", task.task),
        }
    }
}

/// The scheduling loop: a pass whenever woken and every `interval`
/// (which also marks silent machines unreachable, then down).
pub async fn schedule_loop(shared: Arc<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.wake.notified() => {}
            _ = tick.tick() => {}
        }
        let cmds = shared.apply(|c, now| {
            c.tick(now);
            c.pass(now)
        });
        if let Ok(cmds) = cmds {
            shared.dispatch(cmds);
        }
    }
}

/// The wall clock, ms since the Unix epoch (0 if the clock is before it).
#[expect(
    clippy::disallowed_methods,
    reason = "the live master stamps its records people read with the wall clock"
)]
fn wall_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
