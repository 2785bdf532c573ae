//! The entry point of the fuzz targets (`fuzz/`): any bytes, read as one
//! table of a format, must give records or an error — never a panic.

use super::{open, ReadOptions, Source, TraceFormat};
use std::path::PathBuf;

/// Writes `bytes` to a scratch file called `name` and reads it whole with
/// `format`, strictly and then leniently. Returns the records read each way
/// (`None` for an error).
pub fn read_bytes(format: TraceFormat, name: &str, bytes: &[u8]) -> [Option<usize>; 2] {
    let dir = scratch_dir();
    let path = dir.join(name);
    if std::fs::write(&path, bytes).is_err() {
        return [None, None];
    }
    let read = |lenient: bool| {
        let opts = ReadOptions {
            lenient,
            ..ReadOptions::default()
        };
        let mut r = open(format, &[Source::File(path.clone())], &opts).ok()?;
        let mut n = 0;
        while r.next_record().ok()?.is_some() {
            n += 1;
        }
        Some(n)
    };
    let out = [read(false), read(true)];
    let _ = std::fs::remove_file(&path);
    out
}

/// A directory of this process's own under the system's temporary directory.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("borgsim-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
