//! Bearer tokens: nothing in the live cell answers without one.
//!
//! Borg's and Kubernetes' lesson (the kubelet's read-only port 10255
//! served pod and node details to anyone who could reach it): there is no
//! unauthenticated port, not even read-only. Every route of the master and
//! of the agent sits behind [`require_token`]; a request without
//! `Authorization: Bearer <token>`, or with another token, gets 401 and is
//! not looked at further.
//!
//! A browser cannot send a bearer header, so the same token is also taken
//! as the password of HTTP Basic authentication (any user name): the
//! master's page (`GET /`) opens in a browser, which asks for it once.
//!
//! The token is compared in constant time ([`subtle`]): how long a
//! refusal takes says nothing about how much of a guess was right. One
//! token per cell, shared by the master, its agents and its clients; the
//! command line reads it from a file or an environment variable (never
//! from a flag, which other users could read in the process list).

use super::proto::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Fewest bytes a token may have: 16 (128 bits if random).
pub const MIN_TOKEN_BYTES: usize = 16;

/// A cell's shared secret.
#[derive(Clone)]
pub struct Token(Arc<[u8]>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// The token in `text`, surrounding white space (a file's trailing
    /// newline) removed.
    ///
    /// # Errors
    /// Shorter than [`MIN_TOKEN_BYTES`], or containing a byte that cannot
    /// go in an HTTP header (controls, spaces inside, non-ASCII).
    pub fn parse(text: &str) -> Result<Token, String> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_BYTES {
            return Err(format!(
                "the token has {} bytes; at least {MIN_TOKEN_BYTES} are needed",
                t.len()
            ));
        }
        if let Some(c) = t.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!(
                "the token may hold only visible ASCII characters, not {c:?}"
            ));
        }
        Ok(Token(Arc::from(t.as_bytes())))
    }

    /// Whether `candidate` is this token, in time independent of where
    /// they differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        // ct_eq on slices of different lengths is false without looking
        // at the bytes: the length is not the secret.
        bool::from(self.0.as_ref().ct_eq(candidate))
    }

    /// The `Authorization` header's value for this token.
    pub fn header_value(&self) -> String {
        // parse() admitted only visible ASCII.
        format!("Bearer {}", String::from_utf8_lossy(&self.0))
    }
}

/// The token a request presents: `Authorization: Bearer <token>`, or
/// `Basic` with the token as the password.
fn presented(req: &Request) -> Option<Vec<u8>> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    if let Some(t) = value.strip_prefix(b"Bearer ") {
        return Some(t.to_vec());
    }
    let encoded = value.strip_prefix(b"Basic ")?;
    let pair = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = pair.iter().position(|&b| b == b':')?;
    Some(pair[colon + 1..].to_vec())
}

/// Middleware: 401 unless the request presents the token.
pub async fn require_token(State(token): State<Token>, req: Request, next: Next) -> Response {
    match presented(&req) {
        Some(t) if token.matches(&t) => next.run(req).await,
        Some(_) => unauthorized("the token is not this cell's"),
        None => unauthorized(
            "missing `Authorization: Bearer <token>` (or Basic, the token as password)",
        ),
    }
}

fn unauthorized(why: &str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(ApiError {
            error: why.to_string(),
        }),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"borgsim\", Basic realm=\"borgsim\""),
    );
    close_connection(&mut r);
    r
}

/// Marks a reply sent before its request's body was read (401, 413):
/// the connection closes after it, and the client is told so — else it
/// may send its next request on a connection the server is closing.
pub fn close_connection(r: &mut Response) {
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_unprintable_tokens_are_refused() {
        assert!(Token::parse("short").unwrap_err().contains("at least 16"));
        assert!(Token::parse("0123456789abcdef ghij").is_err());
        assert!(Token::parse("0123456789abcdéf").is_err());
        // A file's trailing newline is not part of the token.
        let t = Token::parse("0123456789abcdef\n").unwrap();
        assert!(t.matches(b"0123456789abcdef"));
    }

    #[test]
    fn only_the_same_bytes_match() {
        let t = Token::parse("0123456789abcdef").unwrap();
        assert!(!t.matches(b"0123456789abcdeF"));
        assert!(!t.matches(b"0123456789abcde"));
        assert!(!t.matches(b"0123456789abcdef0"));
        assert!(!t.matches(b""));
        assert_eq!(t.header_value(), "Bearer 0123456789abcdef");
        assert_eq!(format!("{t:?}"), "Token(…)");
    }

    fn request(auth: &str) -> Request {
        Request::builder()
            .header(header::AUTHORIZATION, auth)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn bearer_and_basic_present_the_token() {
        assert_eq!(presented(&request("Bearer abc")).unwrap(), b"abc");
        // base64("ann:0123456789abcdef") = YW5uOjAxMjM0NTY3ODlhYmNkZWY=
        let basic = request("Basic YW5uOjAxMjM0NTY3ODlhYmNkZWY=");
        assert_eq!(presented(&basic).unwrap(), b"0123456789abcdef");
        assert!(presented(&request("Basic !!!")).is_none());
        assert!(presented(&request("Token abc")).is_none());
    }

    #[test]
    fn a_refusal_before_the_body_is_read_closes_the_connection() {
        // Its body unread, the server closes the connection after a 401:
        // the client must be told, or it reuses a closing connection.
        let r = unauthorized("no token");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::CONNECTION], "close");
    }
}
