//! The staging directories of this process's unfinished outputs, so that
//! an interrupted command can remove them.
//!
//! Every output directory is written under a hidden temporary name beside
//! its target and renamed into place when complete
//! ([`super::report::RunDir`]); dropped unfinished, it removes itself. A
//! process stopped by a signal (Ctrl-C, `kill`, a `timeout`) runs no
//! destructor, and left `.tmp.<out>.*` directories behind, some of
//! hundreds of MB. So each staging directory is listed here while it
//! lives, and the command line's signal handler ([`remove_all`]) removes
//! those listed before the process exits. After [`remove_all`] no new one
//! may be made ([`Staged::new`] refuses), so a worker thread cannot leave
//! one made in between.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The directories listed, and whether [`remove_all`] has run.
static LISTED: Mutex<(Vec<PathBuf>, bool)> = Mutex::new((Vec::new(), false));

/// A staging directory's place in the list, for as long as it lives.
#[derive(Debug)]
pub struct Staged(PathBuf);

impl Staged {
    /// Lists `dir`; `None` once the process is being interrupted (the
    /// caller then removes `dir` itself, by dropping it).
    pub fn new(dir: &Path) -> Option<Staged> {
        let mut listed = LISTED.lock().unwrap_or_else(|e| e.into_inner());
        if listed.1 {
            return None;
        }
        listed.0.push(dir.to_path_buf());
        Some(Staged(dir.to_path_buf()))
    }
}

impl Drop for Staged {
    /// The directory was published (renamed away) or removed.
    fn drop(&mut self) {
        let mut listed = LISTED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = listed.0.iter().position(|d| *d == self.0) {
            listed.0.swap_remove(i);
        }
    }
}

/// Removes every staging directory listed, and refuses new ones from now
/// on: for a handler about to end the process on a signal. Returns how
/// many it removed (a listed directory already renamed into place is
/// gone from its staging name, and counts for none).
pub fn remove_all() -> usize {
    let mut listed = LISTED.lock().unwrap_or_else(|e| e.into_inner());
    listed.1 = true;
    let dirs = std::mem::take(&mut listed.0);
    dirs.iter()
        .filter(|d| std::fs::remove_dir_all(d).is_ok())
        .count()
}
