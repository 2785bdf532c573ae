//! One integration-test binary (fewer link steps, one place to look): real
//! scenarios run end to end, through the library and through the real binary.

mod alibaba_lifecycle;
mod bench;
mod cli;
mod conservation;
mod determinism;
mod golden;
mod hand_worked;
mod policies;
mod properties;
mod streaming;
mod techniques;
mod trace_cli;
mod trace_formats;
mod trace_fuzz;
mod trace_jobs;
mod trace_replay;
mod why_pending;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real `borgsim` binary with `args`, in `cwd`.
pub fn borgsim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the borgsim binary runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
