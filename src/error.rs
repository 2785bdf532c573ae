//! Errors that reach the user. Bad input is never a panic: each error names
//! the file and the line:column or key, and says what was expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file is not valid TOML or does not match the schema. The message
    /// carries the line and column.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value is well-formed but not acceptable.
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A row of a trace file is malformed. `line` is 1-based; `column` is the
    /// field's name in the format's schema.
    #[error("{path}:{line}: {column}: {message}")]
    Row {
        path: PathBuf,
        line: u64,
        column: String,
        message: String,
    },
    /// Input refused where no file holds it — a flag, an environment
    /// variable, a live cell's master refusing a request; the message
    /// names which.
    #[error("{0}")]
    Usage(String),
    /// An output could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A plot could not be rendered.
    #[error("{path}: cannot render plot: {message}")]
    Plot { path: PathBuf, message: String },
    /// A live cell's master or agent could not be reached or failed
    /// (feature `agent`).
    #[error("{0}")]
    Remote(String),
    /// borgsim found itself wrong: a check of one part against another
    /// failed (a bug to report, not bad input).
    #[error("internal error (a bug): {0}")]
    Internal(String),
}

impl Error {
    /// Exit code: 2 for bad input, 1 for failures while producing output.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Read { .. }
            | Error::Parse { .. }
            | Error::Invalid { .. }
            | Error::Row { .. }
            | Error::Usage(_) => 2,
            Error::Write { .. } | Error::Plot { .. } | Error::Remote(_) | Error::Internal(_) => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
