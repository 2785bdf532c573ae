//! A stand-in master for the agent's tests: the three agent routes,
//! behind the real token check, recording what arrives and answering as
//! the master would (an agent is known once it registered; exits are
//! acknowledged when known). It runs on its own runtime, so stopping it
//! drops its listener and every open connection at once — for the agent,
//! the master is gone — and it can come back on the same port.

use super::common::{poll_until, TOKEN};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use borgsim::live::auth::{require_token, Token};
use borgsim::live::proto::{
    AgentRegistration, ApiError, ExitsAck, Heartbeat, HeartbeatReply, RegistrationReply, TaskExit,
    TaskExits, TaskRef,
};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The heartbeat interval it asks for, ms.
pub const HEARTBEAT_MS: u64 = 100;

/// What the fake master received, and what it will say.
#[derive(Default)]
pub struct Log {
    pub registrations: Vec<AgentRegistration>,
    pub heartbeats: Vec<Heartbeat>,
    /// Every exit received, by any route, in order.
    pub exits: Vec<TaskExit>,
    /// Agents registered (a heartbeat from another is answered `known:
    /// false`, and the agent registers again).
    pub known: BTreeSet<String>,
    /// Sent, then emptied, in the next heartbeat reply.
    pub kill_next: Vec<TaskRef>,
    /// While set, registrations are answered with this status and
    /// error, and not recorded.
    pub refuse_registration: Option<(u16, String)>,
}

type Shared = Arc<Mutex<Log>>;

pub struct FakeMaster {
    rt: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    pub log: Shared,
}

impl FakeMaster {
    /// Starts on `port` (0: any free one), with an empty log.
    pub fn start(port: u16) -> FakeMaster {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let log: Shared = Arc::default();
        let want = SocketAddr::from(([127, 0, 0, 1], port));
        // The port of a master just stopped may take a moment to free.
        let listener = poll_until(
            "the fake master's port",
            || rt.block_on(tokio::net::TcpListener::bind(want)).ok(),
            || format!("{want} busy"),
        );
        let addr = listener.local_addr().expect("bound");
        let token = Token::parse(TOKEN).expect("a valid token");
        let app = Router::new()
            .route("/v1/agent/register", post(register))
            .route("/v1/agent/heartbeat", post(heartbeat))
            .route("/v1/agent/exits", post(exits))
            .with_state(Arc::clone(&log))
            .layer(axum::middleware::from_fn_with_state(token, require_token));
        rt.spawn(async move { axum::serve(listener, app).await });
        FakeMaster {
            rt: Some(rt),
            addr,
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Reads the log.
    pub fn with<T>(&self, f: impl FnOnce(&Log) -> T) -> T {
        f(&self.log.lock().expect("the log"))
    }

    /// The exits received so far, shown for a failed wait.
    pub fn seen(&self) -> String {
        self.with(|l| {
            format!(
                "{} registrations, {} heartbeats, exits {:?}",
                l.registrations.len(),
                l.heartbeats.len(),
                l.exits
            )
        })
    }

    /// The exit of `task` once received.
    pub fn exit_of(&self, task: &str) -> TaskExit {
        poll_until(
            &format!("the exit of {task}"),
            || self.with(|l| l.exits.iter().find(|e| e.task.task == task).cloned()),
            || self.seen(),
        )
    }

    /// Gone: listener and connections dropped.
    pub fn stop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn register(State(log): State<Shared>, Json(r): Json<AgentRegistration>) -> Response {
    let mut l = log.lock().expect("the log");
    if let Some((status, error)) = &l.refuse_registration {
        let status = StatusCode::from_u16(*status).expect("a status");
        let body = ApiError {
            error: error.clone(),
        };
        return (status, Json(body)).into_response();
    }
    l.known.insert(r.name.clone());
    l.exits.extend(r.exits.iter().cloned());
    l.registrations.push(r);
    Json(RegistrationReply {
        heartbeat_interval_ms: HEARTBEAT_MS,
        kill: Vec::new(),
    })
    .into_response()
}

async fn heartbeat(State(log): State<Shared>, Json(h): Json<Heartbeat>) -> Json<HeartbeatReply> {
    let mut l = log.lock().expect("the log");
    let known = l.known.contains(&h.name);
    let acked = if known {
        l.exits.extend(h.exits.iter().cloned());
        h.exits.iter().map(|e| e.task.clone()).collect()
    } else {
        Vec::new()
    };
    let kill = std::mem::take(&mut l.kill_next);
    l.heartbeats.push(h);
    Json(HeartbeatReply { known, acked, kill })
}

async fn exits(State(log): State<Shared>, Json(e): Json<TaskExits>) -> Json<ExitsAck> {
    let mut l = log.lock().expect("the log");
    let known = l.known.contains(&e.name);
    let acked = if known {
        l.exits.extend(e.exits.iter().cloned());
        e.exits.iter().map(|x| x.task.clone()).collect()
    } else {
        Vec::new()
    };
    Json(ExitsAck { acked, known })
}
