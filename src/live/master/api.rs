//! The master's HTTP+JSON API (routes and bodies: [`crate::live::proto`]).
//!
//! Every route sits behind the bearer token ([`require_token`], the
//! outermost layer, so not even a 404 is given without it). Bodies are
//! limited to [`MAX_BODY_BYTES`] (413). A body that is not the expected
//! JSON — a syntax error, a missing or unknown field — is a 400 whose
//! [`ApiError`] names the field (axum's own rejection is a 422 without a
//! JSON body). No 4xx changes anything: bodies are parsed and checked
//! before the core is called, and the core checks before it changes.
//!
//! | code | when |
//! |---|---|
//! | 200 | read, or changed as asked; `GET /` the cell's page (HTML) |
//! | 201 | a job, or a list of jobs, admitted (`POST /v1/jobs`) |
//! | 400 | malformed JSON, a field missing, unknown or out of range |
//! | 401 | no token, or not this cell's |
//! | 404 | no such route, job or machine |
//! | 409 | a job of that name has tasks not ended; a registration for a machine a live agent at another address holds |
//! | 413 | a body over 1 MiB |
//! | 500 | the store could not write (the change is not durable) |
//! | 503 | the cell has `--max-machines` machines (registration) |

use super::core::CoreError;
use super::server::{Shared, StoreFailed};
use crate::live::auth::{require_token, Token};
use crate::live::proto::{
    self, AgentRegistration, ApiError, ExitsAck, Heartbeat, HeartbeatReply, JobStatus,
    JobSubmission, MachineStatus, RegistrationReply, TaskExits, TaskStatus, MAX_BODY_BYTES,
};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A refusal: its status and why.
pub(super) struct Fail(StatusCode, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let too_large = self.0 == StatusCode::PAYLOAD_TOO_LARGE;
        let mut r = (self.0, Json(ApiError { error: self.1 })).into_response();
        if too_large {
            crate::live::auth::close_connection(&mut r);
        }
        r
    }
}

impl From<CoreError> for Fail {
    fn from(e: CoreError) -> Fail {
        let code = match &e {
            CoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Fail(code, e.to_string())
    }
}

impl From<StoreFailed> for Fail {
    fn from(e: StoreFailed) -> Fail {
        Fail(StatusCode::INTERNAL_SERVER_ERROR, e.0)
    }
}

/// A JSON body, refused as 400 (413 if too large) with the parser's
/// message, which names the field.
pub(super) struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Fail;

    async fn from_request(req: Request, state: &S) -> Result<Self, Fail> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(r) => Err(rejection(&r)),
        }
    }
}

fn rejection(r: &JsonRejection) -> Fail {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let why = format!("the body is larger than {MAX_BODY_BYTES} bytes");
        return Fail(StatusCode::PAYLOAD_TOO_LARGE, why);
    }
    Fail(StatusCode::BAD_REQUEST, r.body_text())
}

type Reply<T> = Result<Json<T>, Fail>;

/// The router of every master route, behind `token`.
pub fn router(shared: Arc<Shared>, token: Token) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/v1/jobs", post(submit).get(list_jobs))
        .route("/v1/jobs/{name}", get(get_job).delete(kill_job))
        .route("/v1/tasks", get(list_tasks))
        .route("/v1/machines", get(list_machines))
        .route("/v1/machines/{name}/drain", post(drain))
        .route("/v1/machines/{name}/undrain", post(undrain))
        .route("/v1/agent/register", post(register))
        .route("/v1/agent/heartbeat", post(heartbeat))
        .route("/v1/agent/exits", post(exits))
        .fallback(not_found)
        .with_state(shared)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(token, require_token))
}

/// The cell's page ([`crate::live::page`]): machines, jobs and tasks in
/// the run report's look. A browser sends the token as a Basic password.
async fn page(State(s): State<Arc<Shared>>) -> axum::response::Html<String> {
    axum::response::Html(s.read(|c| {
        let (machines, jobs, tasks) = (
            c.machine_statuses(),
            c.job_statuses(),
            c.task_statuses(None),
        );
        crate::live::page::render(&crate::live::page::CellView {
            cell: &c.config().cell,
            machines: &machines,
            jobs: &jobs,
            tasks: &tasks,
        })
    }))
}

async fn not_found() -> Fail {
    Fail(StatusCode::NOT_FOUND, "no such route".into())
}

/// `POST /v1/jobs`: one job (an object) or several (a list), admitted
/// together or not at all, before one scheduling pass.
async fn submit(
    State(s): State<Arc<Shared>>,
    Body(body): Body<serde_json::Value>,
) -> Result<(StatusCode, Json<serde_json::Value>), Fail> {
    let reply = if let serde_json::Value::Array(list) = body {
        let subs = (list.into_iter().enumerate())
            .map(|(i, v)| {
                let name = v.get("name").and_then(|n| n.as_str()).map(str::to_string);
                proto::from_value::<JobSubmission>(v).map_err(|e| {
                    let place = super::jobs::list_place(i, name.as_deref());
                    Fail(StatusCode::BAD_REQUEST, format!("{place}: {e}"))
                })
            })
            .collect::<Result<Vec<_>, Fail>>()?;
        let statuses = s.apply(|c, now| {
            let js = c.submit_all(now, subs)?;
            Ok::<_, CoreError>(js.into_iter().map(|j| c.job_status(j, false)).collect())
        })??;
        json_of::<Vec<JobStatus>>(&statuses)
    } else {
        let sub: JobSubmission =
            proto::from_value(body).map_err(|e| Fail(StatusCode::BAD_REQUEST, e))?;
        let status = s.apply(|c, now| {
            let j = c.submit(now, sub)?;
            Ok::<_, CoreError>(c.job_status(j, false))
        })??;
        json_of(&status)
    };
    s.wake.notify_one();
    Ok((StatusCode::CREATED, Json(reply)))
}

fn json_of<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

async fn list_jobs(State(s): State<Arc<Shared>>) -> Json<Vec<JobStatus>> {
    Json(s.read(|c| c.job_statuses()))
}

async fn get_job(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Reply<JobStatus> {
    s.read(|c| match c.job_index(&name) {
        Some(j) => Ok(Json(c.job_status(j, true))),
        None => Err(Fail(StatusCode::NOT_FOUND, format!("no job `{name}`"))),
    })
}

async fn kill_job(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Reply<JobStatus> {
    let (status, kills) = s.apply(|c, now| {
        let (j, kills) = c.kill_job(now, &name)?;
        Ok::<_, CoreError>((c.job_status(j, false), kills))
    })??;
    s.dispatch(kills);
    s.wake.notify_one();
    Ok(Json(status))
}

/// `GET /v1/tasks`'s query.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskQuery {
    job: Option<String>,
}

async fn list_tasks(
    State(s): State<Arc<Shared>>,
    q: Result<Query<TaskQuery>, axum::extract::rejection::QueryRejection>,
) -> Reply<Vec<TaskStatus>> {
    let Query(q) = q.map_err(|e| Fail(StatusCode::BAD_REQUEST, e.body_text()))?;
    s.read(|c| match q.job.as_deref() {
        Some(name) if c.job_index(name).is_none() => {
            Err(Fail(StatusCode::NOT_FOUND, format!("no job `{name}`")))
        }
        job => Ok(Json(c.task_statuses(job))),
    })
}

async fn list_machines(State(s): State<Arc<Shared>>) -> Json<Vec<MachineStatus>> {
    Json(s.read(|c| c.machine_statuses()))
}

async fn drain(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Reply<MachineStatus> {
    let kills = s.apply(|c, now| c.drain(now, &name))??.1;
    s.dispatch(kills);
    s.wake.notify_one();
    machine(&s, &name)
}

async fn undrain(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Reply<MachineStatus> {
    s.apply(|c, now| c.undrain(now, &name))??;
    s.wake.notify_one();
    machine(&s, &name)
}

fn machine(s: &Shared, name: &str) -> Reply<MachineStatus> {
    s.read(|c| c.machine_status_named(name))
        .map(Json)
        .ok_or_else(|| Fail(StatusCode::NOT_FOUND, format!("no machine `{name}`")))
}

async fn register(
    State(s): State<Arc<Shared>>,
    Body(reg): Body<AgentRegistration>,
) -> Reply<RegistrationReply> {
    let (name, addr) = (reg.name.clone(), reg.addr.clone());
    let (reply, kills) = s.apply(|c, now| c.register(now, reg))?.inspect_err(|e| {
        if let CoreError::Conflict(why) = e {
            eprintln!("agent {name} at {addr} refused: {why}");
        }
    })?;
    eprintln!(
        "agent {name} registered; {} task(s) to stop",
        reply.kill.len()
    );
    s.dispatch(kills);
    s.wake.notify_one();
    Ok(Json(reply))
}

async fn heartbeat(
    State(s): State<Arc<Shared>>,
    Body(hb): Body<Heartbeat>,
) -> Reply<HeartbeatReply> {
    let reply = s.apply(|c, now| c.heartbeat(now, &hb))?;
    if !reply.acked.is_empty() {
        s.wake.notify_one();
    }
    Ok(Json(reply))
}

async fn exits(State(s): State<Arc<Shared>>, Body(report): Body<TaskExits>) -> Reply<ExitsAck> {
    let ack = s.apply(|c, now| c.exits(now, &report))?;
    s.wake.notify_one();
    Ok(Json(ack))
}
