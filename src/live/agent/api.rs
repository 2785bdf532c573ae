//! The agent's HTTP API (see [`crate::live::proto`] for the routes).
//!
//! The token check wraps the whole router, the unknown-route fallback
//! included, and runs before any body is read. Bodies are capped at
//! [`MAX_BODY_BYTES`] (413); a body or query that does not parse is 400
//! with the parser's message, which names the field (axum's default for a
//! well-formed body of the wrong shape is 422: the wire's rule is 400).

use super::{runner, Shared};
use crate::live::auth::require_token;
use crate::live::proto::{AgentTasks, ApiError, TaskLaunch, TaskRef, MAX_BODY_BYTES};
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

async fn launch(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<TaskLaunch>, JsonRejection>,
) -> Response {
    let Json(l) = match body {
        Ok(b) => b,
        Err(r) => return body_failure(&r).into_response(),
    };
    match runner::launch(&shared, &l) {
        Ok((status, running)) => {
            if status == StatusCode::CREATED {
                eprintln!(
                    "agent: started {} #{} (pid {})",
                    l.task.task, l.task.incarnation, running.pid
                );
            }
            (status, Json(running)).into_response()
        }
        Err(f) => {
            eprintln!(
                "agent: refused {} #{}: {} {}",
                l.task.task, l.task.incarnation, f.status, f.error
            );
            f.into_response()
        }
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
