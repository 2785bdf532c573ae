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
use crate::live::proto::{ApiError, LaunchReply, RunningTask, TaskLaunch, TaskRef, MAX_BODY_BYTES};
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a list of launches may take (the agent answers once every
/// process is spawned).
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most launches in one request: the agent starts them one by one
/// (about half a millisecond each on an idle machine), so a list answers
/// well within [`LAUNCH_TIMEOUT`].
const LAUNCHES_PER_REQUEST: usize = 256;
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

    /// Sends the commands to their agents, concurrently: each agent's
    /// launches as lists ([`launch_bodies`]), each kill alone; records the
    /// launches' outcomes.
    pub(super) fn dispatch(self: &Arc<Self>, cmds: Vec<Command>) {
        let mut launches: BTreeMap<(u32, String), Vec<TaskLaunch>> = BTreeMap::new();
        for cmd in cmds {
            match cmd {
                Command::Launch {
                    machine,
                    addr,
                    launch,
                } => launches.entry((machine, addr)).or_default().push(launch),
                Command::Kill { addr, task, .. } => {
                    let me = Arc::clone(self);
                    tokio::spawn(async move { me.kill(&addr, &task).await });
                }
            }
        }
        for ((machine, addr), list) in launches {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                for (body, chunk) in launch_bodies(&list) {
                    me.launch(machine, &addr, body, chunk).await;
                }
            });
        }
    }

    /// Sends one list of launches to the agent at `addr` and records
    /// every answer in one change.
    async fn launch(&self, m: u32, addr: &str, body: Vec<u8>, launches: &[TaskLaunch]) {
        let url = format!("http://{addr}/v1/tasks");
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.token.header_value())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(LAUNCH_TIMEOUT)
            .body(body)
            .send()
            .await;
        let outcomes = launch_outcomes(addr, launches.len(), sent).await;
        let recorded = self.apply(|c, now| {
            for (l, outcome) in launches.iter().zip(outcomes) {
                match outcome {
                    Ok(rt) => c.launched(now, m, &rt),
                    Err(why) => {
                        eprintln!("launch of {} failed: {why:?}", l.task.task);
                        c.launch_failed(now, m, &l.task, why);
                    }
                }
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

/// Each launch's outcome from the agent's answer to a list of `n`.
async fn launch_outcomes(
    addr: &str,
    n: usize,
    sent: reqwest::Result<reqwest::Response>,
) -> Vec<Result<RunningTask, LaunchFailure>> {
    let unreachable = |e: &dyn std::fmt::Display| {
        let why = format!("agent {addr}: {e}");
        (0..n)
            .map(|_| Err(LaunchFailure::Unreachable(why.clone())))
            .collect()
    };
    let r = match sent {
        Err(e) => return unreachable(&e),
        Ok(r) => r,
    };
    let status = r.status();
    if !status.is_success() {
        // The whole list refused (a malformed launch): each is refused.
        let why = r.json::<ApiError>().await.map(|e| e.error);
        let why = format!("agent {addr}: {status}: {}", why.unwrap_or_default());
        return (0..n)
            .map(|_| Err(LaunchFailure::Refused(why.clone())))
            .collect();
    }
    let replies = match r.json::<Vec<LaunchReply>>().await {
        Ok(v) if v.len() == n => v,
        Ok(v) => return unreachable(&format!("{} answers to {n} launches", v.len())),
        Err(e) => return unreachable(&e),
    };
    replies
        .into_iter()
        .map(|rep| match rep.running {
            Some(rt) if rep.status < 300 => Ok(rt),
            _ => Err(LaunchFailure::Refused(format!(
                "agent {addr}: {}: {}",
                rep.status,
                rep.error.unwrap_or_default()
            ))),
        })
        .collect()
}

/// The launches as JSON lists of at most [`LAUNCHES_PER_REQUEST`], each
/// under [`MAX_BODY_BYTES`] (a launch alone always is: its job's
/// submission fit), with the launches each carries.
fn launch_bodies(launches: &[TaskLaunch]) -> Vec<(Vec<u8>, &[TaskLaunch])> {
    let mut out = Vec::new();
    let (mut body, mut first) = (vec![b'['], 0);
    for (i, l) in launches.iter().enumerate() {
        let one = serde_json::to_vec(l).unwrap_or_default();
        let full = i - first == LAUNCHES_PER_REQUEST || body.len() + one.len() + 2 > MAX_BODY_BYTES;
        if i > first && full {
            body.push(b']');
            out.push((
                std::mem::replace(&mut body, vec![b'[']),
                &launches[first..i],
            ));
            first = i;
        }
        if i > first {
            body.push(b',');
        }
        body.extend_from_slice(&one);
    }
    if first < launches.len() {
        body.push(b']');
        out.push((body, &launches[first..]));
    }
    out
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
            let was = c.fully_disrupted();
            c.tick(now);
            match (was, c.fully_disrupted()) {
                (false, true) => eprintln!(
                    "master: no machine is heard: declaring none down until one is (the master \
                     is more likely cut off, or its token wrong, than every machine dead)"
                ),
                (true, false) => eprintln!("master: a machine is heard again"),
                _ => {}
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(i: u32, env_bytes: usize) -> TaskLaunch {
        TaskLaunch {
            task: TaskRef {
                task: format!("{i}.j.u.c"),
                incarnation: 0,
            },
            command: vec!["true".into()],
            env: [("PAD".to_string(), "x".repeat(env_bytes))].into(),
            workdir: None,
            cpu_milli: 100,
            mem_mib: 64,
        }
    }

    /// The lists carry every launch once, in order, each a JSON list of
    /// its own launches.
    fn check(launches: &[TaskLaunch], want_sizes: &[usize]) {
        let bodies = launch_bodies(launches);
        let sizes: Vec<usize> = bodies.iter().map(|(_, c)| c.len()).collect();
        assert_eq!(sizes, want_sizes);
        let mut seen = Vec::new();
        for (body, chunk) in &bodies {
            assert!(body.len() <= MAX_BODY_BYTES);
            let parsed: Vec<TaskLaunch> = serde_json::from_slice(body).unwrap();
            assert_eq!(parsed, *chunk);
            seen.extend(parsed);
        }
        assert_eq!(seen, launches);
    }

    #[test]
    fn launches_go_in_lists_of_at_most_256() {
        check(&[], &[]);
        check(&[launch(0, 1)], &[1]);
        let many: Vec<TaskLaunch> = (0..600).map(|i| launch(i, 1)).collect();
        // 600 = 256 + 256 + 88.
        check(&many, &[256, 256, 88]);
    }

    #[test]
    fn launches_go_in_lists_under_the_body_limit() {
        // 300 KiB of environment each: three make 900 KiB (< 1 MiB), a
        // fourth would not fit.
        let big: Vec<TaskLaunch> = (0..7).map(|i| launch(i, 300 << 10)).collect();
        check(&big, &[3, 3, 1]);
    }
}
