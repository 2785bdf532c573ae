//! The agent's HTTP API (see [`crate::live::proto`] for the routes).
//!
//! The token check wraps the whole router, the unknown-route fallback
//! included, and runs before any body is read. Bodies are capped at
//! [`MAX_BODY_BYTES`] (413); a body or query that does not parse is 400
//! with the parser's message, which names the field (axum's default for a
//! well-formed body of the wrong shape is 422: the wire's rule is 400).

use super::runner::{self, Launched};
use super::Shared;
use crate::live::auth::require_token;
use crate::live::proto::{
    self, AgentTasks, ApiError, LaunchReply, TaskLaunch, TaskRef, MAX_BODY_BYTES,
};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

/// An error reply: a status and an [`ApiError`] body.
#[derive(Debug)]
pub(super) struct Failure {
    pub status: StatusCode,
    pub error: String,
}

impl Failure {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Failure {
        Failure {
            status,
            error: error.into(),
        }
    }

    pub fn bad_request(error: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn internal(error: impl Into<String>) -> Failure {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, error)
    }

    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Failure {
        Failure::internal(format!("{}: {e}", path.display()))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let too_large = self.status == StatusCode::PAYLOAD_TOO_LARGE;
        let body = Json(ApiError { error: self.error });
        let mut r = (self.status, body).into_response();
        if too_large {
            crate::live::auth::close_connection(&mut r);
        }
        r
    }
}

/// A body rejection as the wire wants it: 413 stays, the rest is 400.
fn body_failure(r: &JsonRejection) -> Failure {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        _ => Failure::bad_request(r.body_text()),
    }
}

/// The agent's router, every route behind the token.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    let token = shared.cfg.token.clone();
    Router::new()
        .route("/v1/tasks", get(list).post(launch))
        .route("/v1/tasks/{task}", delete(kill))
        .route("/v1/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(shared)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(token, require_token))
}

/// `POST /v1/tasks`: one launch (an object, answered with its own
/// status) or several (a list, answered 200 with each one's
/// [`LaunchReply`], in order). A list is parsed whole before anything
/// starts (400 naming the launch and field); its launches then start one
/// by one, off the async workers (a spawn blocks).
async fn launch(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(r) => return body_failure(&r).into_response(),
    };
    let list = matches!(body, serde_json::Value::Array(_));
    let launches: Vec<TaskLaunch> = match body {
        serde_json::Value::Array(items) => {
            let parsed = (items.into_iter().enumerate())
                .map(|(i, v)| proto::from_value(v).map_err(|e| format!("launch {i}: {e}")))
                .collect::<Result<Vec<TaskLaunch>, String>>();
            match parsed {
                Ok(ls) => ls,
                Err(e) => return Failure::bad_request(e).into_response(),
            }
        }
        one => match proto::from_value(one) {
            Ok(l) => vec![l],
            Err(e) => return Failure::bad_request(e).into_response(),
        },
    };
    let started = tokio::task::spawn_blocking(move || {
        launches
            .iter()
            .map(|l| launch_one(&shared, l))
            .collect::<Vec<_>>()
    })
    .await;
    let Ok(mut replies) = started else {
        return Failure::internal("the launch was interrupted").into_response();
    };
    if list {
        let body: Vec<LaunchReply> = replies.into_iter().map(reply_of).collect();
        return Json(body).into_response();
    }
    match replies.pop() {
        Some(Ok(done)) => (done.status, Json(done.running)).into_response(),
        Some(Err(f)) => f.into_response(),
        None => Failure::internal("no launch").into_response(),
    }
}

/// Starts one launch and logs what happened.
fn launch_one(shared: &Arc<Shared>, l: &TaskLaunch) -> Result<Launched, Failure> {
    let r = runner::launch(shared, l);
    match &r {
        Ok(Launched {
            start_failure: Some(why),
            ..
        }) => eprintln!(
            "agent: could not start {} #{}: {why}",
            l.task.task, l.task.incarnation
        ),
        Ok(done) if done.status == StatusCode::CREATED => eprintln!(
            "agent: started {} #{} (pid {})",
            l.task.task, l.task.incarnation, done.running.pid
        ),
        Ok(_) => {}
        Err(f) => eprintln!(
            "agent: refused {} #{}: {} {}",
            l.task.task, l.task.incarnation, f.status, f.error
        ),
    }
    r
}

fn reply_of(r: Result<Launched, Failure>) -> LaunchReply {
    match r {
        Ok(done) => LaunchReply {
            status: done.status.as_u16(),
            running: Some(done.running),
            error: None,
        },
        Err(f) => LaunchReply {
            status: f.status.as_u16(),
            running: None,
            error: Some(f.error),
        },
    }
}

/// `?incarnation=N`, required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillQuery {
    incarnation: u32,
}

async fn kill(
    State(shared): State<Arc<Shared>>,
    Path(task): Path<String>,
    query: Result<Query<KillQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(r) => return Failure::bad_request(r.body_text()).into_response(),
    };
    let task = TaskRef {
        task,
        incarnation: q.incarnation,
    };
    match runner::kill(&shared, &task).await {
        Ok(exit) => Json(exit).into_response(),
        Err(f) => f.into_response(),
    }
}

async fn list(State(shared): State<Arc<Shared>>) -> Json<AgentTasks> {
    Json(AgentTasks {
        running: shared.running(),
        exits: shared.unacked(),
    })
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.info()).into_response()
}

async fn not_found() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "no such route")
}

async fn not_allowed() -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method",
    )
}
