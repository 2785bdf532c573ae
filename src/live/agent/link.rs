//! The agent's link to its master: registration, heartbeats, exits.
//!
//! One loop owns it, so registration, heartbeats and exit reports never
//! overlap: register (retrying with a capped back-off while the master
//! is away), then alternate between the heartbeat timer and "a task
//! ended" until the master says it does not know this agent — then
//! register again, with the running tasks and unacknowledged exits, which
//! is how a restarted master re-attaches them. A failed request changes
//! nothing but whether the master counts as reachable: exits stay queued and
//! go out with the next heartbeat or report; no task is touched.
//!
//! A registration the master refuses for good — 400 (a name or field it
//! will never take) or 401 (a wrong token) — ends the loop with the
//! master's reason, and the agent stops (exit code 2): retrying could
//! not help. Connection errors, 5xx and 409 (the name is held by another
//! live agent, which may yet go away) are retried with the back-off.

use super::{runner, AgentError, Shared};
use crate::live::auth::Token;
use crate::live::proto::{
    AgentRegistration, ExitsAck, Heartbeat, HeartbeatReply, RegistrationReply, TaskExits,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The first retry's wait; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The heartbeat interval is the master's, within these bounds.
const INTERVAL_MIN: Duration = Duration::from_millis(50);
const INTERVAL_MAX: Duration = Duration::from_secs(60);
/// How long the last report, when stopping, may take.
const LAST_REPORT: Duration = Duration::from_secs(2);

/// The HTTP client, with the token on every request and short timeouts
/// (a master that does not answer within them is unreachable this time).
///
/// # Errors
/// The client cannot be built (the TLS-less stack should not fail).
pub(super) fn client(token: &Token) -> Result<reqwest::Client, AgentError> {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&token.header_value())
        .map_err(|e| AgentError::Client(e.to_string()))?;
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        // The token goes to the master's address and nowhere else.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| AgentError::Client(e.to_string()))
}

/// What a request to the master came to.
enum Reply<T> {
    Ok(T),
    /// Not reached (no status), or an error reply; logged once per change.
    Failed(Option<reqwest::StatusCode>, String),
}

async fn post<B: Serialize, T: DeserializeOwned>(
    shared: &Shared,
    client: &reqwest::Client,
    path: &str,
    body: &B,
) -> Reply<T> {
    let url = match shared.cfg.master.join(path) {
        Ok(u) => u,
        Err(e) => return Reply::Failed(None, format!("{path}: {e}")),
    };
    let sent = client.post(url).json(body).send().await;
    let r = match sent {
        Ok(r) => r,
        Err(e) => return Reply::Failed(None, format!("{path}: {e}")),
    };
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        // The master's reason, from its JSON error, else the body.
        let reason = serde_json::from_str::<crate::live::proto::ApiError>(&text)
            .map_or_else(|_| text.trim().to_string(), |e| e.error);
        return Reply::Failed(Some(status), format!("{path}: {status} {reason}"));
    }
    match r.json::<T>().await {
        Ok(t) => Reply::Ok(t),
        Err(e) => Reply::Failed(None, format!("{path}: unreadable reply: {e}")),
    }
}

/// Notes whether the master answered, logging changes only: reached
/// again, or a new reason it is not (unreachable, then refusing this
/// agent's token, say), each once.
fn reached(shared: &Shared, ok: bool, why: &str) {
    let was = shared.master_reachable.swap(ok, Ordering::Relaxed);
    let mut last = shared
        .master_trouble
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if ok {
        if !was {
            eprintln!("agent: master reached");
        }
        last.clear();
    } else if *last != why {
        eprintln!("agent: master unreachable or refusing ({why}); tasks keep running");
        *last = why.to_string();
    }
}

/// The link's loop; runs until the agent stops, or returns the master's
/// reason for refusing this agent for good.
pub(super) async fn run(shared: Arc<Shared>, client: reqwest::Client) -> String {
    loop {
        let interval = match register(&shared, &client).await {
            Ok(interval) => interval,
            Err(refused) => return refused,
        };
        serve_master(&shared, &client, interval).await;
        eprintln!("agent: the master does not know this agent: registering again");
    }
}

/// Whether a refused registration is refused for good: 400 (the master
/// will never take it) or 401 (the token is wrong).
fn permanent(status: Option<reqwest::StatusCode>) -> bool {
    status.is_some_and(|s| {
        s == reqwest::StatusCode::BAD_REQUEST || s == reqwest::StatusCode::UNAUTHORIZED
    })
}

/// Registers, retrying until the master answers; returns its interval.
///
/// # Errors
/// The master's reason when it refuses the registration for good
/// ([`permanent`]) while the agent runs no task; with tasks running it
/// logs the refusal and retries.
async fn register(shared: &Arc<Shared>, client: &reqwest::Client) -> Result<Duration, String> {
    let mut wait = BACKOFF_FIRST;
    // Each new reason is logged once (a wrong token or URL is visible;
    // a master that is merely down does not fill the log).
    let mut last_why = String::new();
    loop {
        let reg = AgentRegistration {
            name: shared.cfg.name.clone(),
            addr: shared.addr.clone(),
            capacity: shared.cfg.capacity,
            attrs: shared.cfg.attrs.clone(),
            rack: shared.cfg.rack.clone(),
            limits: shared.enforcement.mode(),
            running: shared.running(),
            exits: shared.unacked(),
        };
        match post::<_, RegistrationReply>(shared, client, "/v1/agent/register", &reg).await {
            Reply::Ok(reply) => {
                reached(shared, true, "");
                eprintln!(
                    "agent: registered as {} ({} running, heartbeat every {} ms)",
                    reg.name,
                    reg.running.len(),
                    reply.heartbeat_interval_ms
                );
                runner::kill_listed(shared, reply.kill);
                let ms = Duration::from_millis(reply.heartbeat_interval_ms);
                return Ok(ms.clamp(INTERVAL_MIN, INTERVAL_MAX));
            }
            // Tasks outlive any trouble of the master's: an agent that
            // runs some keeps them, and keeps asking, even refused for
            // good (a master restarted with the wrong token must not stop
            // a cell's tasks).
            Reply::Failed(status, why) if permanent(status) && reg.running.is_empty() => {
                reached(shared, false, &why);
                return Err(why);
            }
            Reply::Failed(status, why) => {
                reached(shared, false, &why);
                if why != last_why {
                    if status == Some(reqwest::StatusCode::CONFLICT) {
                        eprintln!(
                            "agent: cannot register yet: the name {} is held by another live \
                             agent ({why}); retrying",
                            reg.name
                        );
                    } else {
                        eprintln!("agent: cannot register yet ({why}); retrying");
                    }
                    last_why = why;
                }
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(BACKOFF_MAX);
    }
}

/// Heartbeats and exit reports until the master forgets this agent.
async fn serve_master(shared: &Arc<Shared>, client: &reqwest::Client, interval: Duration) {
    let mut next = Instant::now() + interval;
    loop {
        let known = tokio::select! {
            () = tokio::time::sleep_until(next) => {
                next = Instant::now() + interval;
                heartbeat(shared, client).await
            }
            () = shared.exit_ready.notified() => report_exits(shared, client).await,
        };
        if !known {
            return;
        }
    }
}

/// One heartbeat; false when the master does not know this agent.
async fn heartbeat(shared: &Arc<Shared>, client: &reqwest::Client) -> bool {
    let running = shared.running();
    let pids: Vec<u32> = running.iter().map(|r| r.pid).collect();
    let meter = Arc::clone(&shared.meter);
    let usage = tokio::task::spawn_blocking(move || {
        let mut m = meter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.measure(&pids)
    })
    .await
    .unwrap_or_default();
    let hb = Heartbeat {
        name: shared.cfg.name.clone(),
        usage,
        running,
        exits: shared.unacked(),
    };
    match post::<_, HeartbeatReply>(shared, client, "/v1/agent/heartbeat", &hb).await {
        Reply::Ok(reply) => {
            reached(shared, true, "");
            shared.ack(&reply.acked);
            runner::kill_listed(shared, reply.kill);
            reply.known
        }
        Reply::Failed(_, why) => {
            reached(shared, false, &why);
            true
        }
    }
}

/// Reports the unacknowledged exits; false when the master does not
/// know this agent.
async fn report_exits(shared: &Shared, client: &reqwest::Client) -> bool {
    let exits = shared.unacked();
    if exits.is_empty() {
        return true;
    }
    let body = TaskExits {
        name: shared.cfg.name.clone(),
        exits,
    };
    match post::<_, ExitsAck>(shared, client, "/v1/agent/exits", &body).await {
        Reply::Ok(ack) => {
            reached(shared, true, "");
            shared.ack(&ack.acked);
            ack.known
        }
        Reply::Failed(_, why) => {
            reached(shared, false, &why);
            true
        }
    }
}

/// One bounded try to report the last exits (the agent is stopping).
pub(super) async fn last_report(shared: &Shared, client: &reqwest::Client) {
    if tokio::time::timeout(LAST_REPORT, report_exits(shared, client))
        .await
        .is_err()
    {
        eprintln!("agent: the last exits could not be reported");
    }
}
