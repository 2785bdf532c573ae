//! Where a trace file's bytes come from: a file on disk, or a file compiled
//! into the binary.
//!
//! A user's scenario names trace files on disk, relative to itself. A
//! built-in scenario (`borgsim run openb`, the bench suite) names the small
//! traces shipped with borgsim, which are compiled in
//! ([`crate::scenario::embedded`]) so that a binary copied away from its
//! checkout still replays them, from any directory. Readers see one type for
//! both: they tell tables apart by [`Source::path`] (an embedded file keeps
//! its source-tree path under `<embedded>/`, which also names it in errors)
//! and read bytes through [`Source::open`], so gzip and the byte-order mark
//! ([`super::input::open_file`]) are handled the same way for both.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One trace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// A file compiled into the binary.
    Embedded(&'static Embedded),
}

/// A file compiled into the binary.
#[derive(Debug, PartialEq, Eq)]
pub struct Embedded {
    /// `<embedded>/` and the file's path in the source tree: what readers
    /// match table names against and errors show.
    pub path: &'static str,
    pub bytes: &'static [u8],
}

impl Source {
    /// The file's name: its path on disk, or `<embedded>/<path in the
    /// source tree>`.
    pub fn path(&self) -> &Path {
        match self {
            Source::File(p) => p,
            Source::Embedded(e) => Path::new(e.path),
        }
    }

    /// The file's raw bytes (no decompression: see
    /// [`super::input::open_file`]).
    pub fn open(&self) -> Result<Box<dyn Read>> {
        match self {
            Source::File(p) => {
                let f = File::open(p).map_err(|source| Error::Read {
                    path: p.clone(),
                    source,
                })?;
                Ok(Box::new(f))
            }
            Source::Embedded(e) => Ok(Box::new(e.bytes)),
        }
    }

    /// The path of a file on disk; `None` for an embedded file (for readers
    /// that can read only from disk, such as SQLite's).
    pub fn on_disk(&self) -> Option<&Path> {
        match self {
            Source::File(p) => Some(p),
            Source::Embedded(_) => None,
        }
    }

    /// Files on disk.
    pub fn files<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Vec<Source> {
        paths.into_iter().map(|p| Source::File(p.into())).collect()
    }
}

impl From<PathBuf> for Source {
    fn from(p: PathBuf) -> Self {
        Source::File(p)
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Self {
        Source::File(p.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEMO: Embedded = Embedded {
        path: "<embedded>/traces/demo.csv",
        bytes: b"a,b\n1,2\n",
    };

    #[test]
    fn an_embedded_file_reads_its_bytes_under_its_name() {
        let s = Source::Embedded(&DEMO);
        assert_eq!(s.path(), Path::new("<embedded>/traces/demo.csv"));
        assert_eq!(s.on_disk(), None);
        let mut text = String::new();
        s.open().unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let s = Source::from(Path::new("/nonexistent/borgsim/x.csv"));
        let e = s.open().err().expect("missing");
        assert!(e.to_string().contains("/nonexistent/borgsim/x.csv"), "{e}");
    }
}
