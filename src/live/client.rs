//! The client side of the master's API: what `borgsim submit`, `status`,
//! `kill` and `drain` call, and what tests and benches drive a live cell
//! with.
//!
//! One [`Client`] per master: a base URL and the cell's token, which every
//! request presents. Replies are the [`super::proto`] types; a reply that
//! is not 2xx becomes a [`ClientError::Api`] carrying the status and the
//! master's own reason ([`super::proto::ApiError`]), so the user reads
//! what the master objected to, not a bare status code.

use super::auth::Token;
use super::proto::{ApiError, JobStatus, JobSubmission, MachineStatus, TaskStatus};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// How long one request may take before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong talking to the master.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The master could not be reached, or the connection broke.
    #[error("cannot reach the master at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The master answered with an error status.
    #[error("the master refused ({status}): {reason}")]
    Api { status: StatusCode, reason: String },
    /// The master's reply was not what this version of borgsim expects.
    #[error("unexpected reply from the master at {url}: {message}")]
    Reply { url: String, message: String },
}

impl ClientError {
    /// The HTTP status, for an error reply.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A connection to one master.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Token,
    http: reqwest::Client,
}

impl Client {
    /// A client of the master at `base` (`http://host:port`).
    ///
    /// # Errors
    /// `base` is not an `http://` URL, or the HTTP client cannot be built.
    pub fn new(base: &str, token: Token) -> Result<Client, String> {
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            return Err(format!(
                "the master's address must start with http://, found {base:?}"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client { base, token, http })
    }

    /// The master's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Submits a job (`POST /v1/jobs`).
    ///
    /// # Errors
    /// See [`ClientError`]; 400 names what is wrong with the job, 409 a
    /// live job of that name.
    pub async fn submit(&self, job: &JobSubmission) -> Result<JobStatus, ClientError> {
        self.call(Method::POST, "/v1/jobs", Some(job)).await
    }

    /// Submits several jobs at once (`POST /v1/jobs` with a list): all are
    /// admitted, in order, before the master's next scheduling pass, or
    /// none is.
    ///
    /// # Errors
    /// As [`Client::submit`]; the reason names the job's place in the
    /// list (`job 2: …`).
    pub async fn submit_all(&self, jobs: &[JobSubmission]) -> Result<Vec<JobStatus>, ClientError> {
        self.call(Method::POST, "/v1/jobs", Some(&jobs)).await
    }

    /// Every job (`GET /v1/jobs`).
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn jobs(&self) -> Result<Vec<JobStatus>, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/jobs", None).await
    }

    /// One job with its tasks (`GET /v1/jobs/{name}`).
    ///
    /// # Errors
    /// See [`ClientError`]; 404 when there is no such job.
    pub async fn job(&self, name: &str) -> Result<JobStatus, ClientError> {
        let path = format!("/v1/jobs/{}", encode(name));
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// Tasks, all or one job's (`GET /v1/tasks`).
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn tasks(&self, job: Option<&str>) -> Result<Vec<TaskStatus>, ClientError> {
        let path = match job {
            Some(j) => format!("/v1/tasks?job={}", encode(j)),
            None => "/v1/tasks".to_string(),
        };
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// Every machine (`GET /v1/machines`).
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn machines(&self) -> Result<Vec<MachineStatus>, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/machines", None).await
    }

    /// Kills a job (`DELETE /v1/jobs/{name}`).
    ///
    /// # Errors
    /// See [`ClientError`]; 404 when there is no such job.
    pub async fn kill(&self, name: &str) -> Result<JobStatus, ClientError> {
        let path = format!("/v1/jobs/{}", encode(name));
        self.call::<(), _>(Method::DELETE, &path, None).await
    }

    /// Drains a machine, or with `undo` lets it take tasks again.
    ///
    /// # Errors
    /// See [`ClientError`]; 404 when there is no such machine.
    pub async fn drain(&self, machine: &str, undo: bool) -> Result<MachineStatus, ClientError> {
        let verb = if undo { "undrain" } else { "drain" };
        let path = format!("/v1/machines/{}/{verb}", encode(machine));
        self.call::<(), _>(Method::POST, &path, None).await
    }

    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .header(reqwest::header::AUTHORIZATION, self.token.header_value());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            message: error_chain(&e),
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            message: error_chain(&e),
        })?;
        if !status.is_success() {
            let reason = serde_json::from_slice::<ApiError>(&bytes)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ClientError::Api { status, reason });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Reply {
            url,
            message: e.to_string(),
        })
    }
}

/// An error with its causes, `a: b: c` (reqwest's own message is only
/// "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A path segment percent-encoded (job and machine names are plain, but
/// a user may type anything).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode("web-1_a.b"), "web-1_a.b");
        // '/' (0x2F) and ' ' (0x20) cannot reach another route.
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn only_http_urls_are_taken_and_a_trailing_slash_is_dropped() {
        let t = Token::parse("0123456789abcdef").unwrap();
        assert!(Client::new("127.0.0.1:7070", t.clone()).is_err());
        let c = Client::new("http://127.0.0.1:7070/", t).unwrap();
        assert_eq!(c.base(), "http://127.0.0.1:7070");
    }
}
