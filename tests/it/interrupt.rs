//! An interrupted command (Ctrl-C, `kill`, `timeout`) leaves no hidden
//! staging directory beside its `--out`: the signal handler removes the
//! unfinished outputs' directories before the process exits.

use super::root;
use std::process::{Command, Stdio};

/// The hidden staging directories in `dir`.
fn staging(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp."))
        .collect()
}

#[test]
fn sigint_removes_the_staging_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fgd");
    // 300 one-by-one replays: far longer than it takes to interrupt.
    let mut child = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .args(["experiment", "fgd", "-q", "--out", out.to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the staging directory is made (the command has started
    // writing), or the command has ended.
    while staging(dir.path()).is_empty() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the experiment ended before it was interrupted"
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", super::text(&o.stderr));
    assert_eq!(staging(dir.path()), Vec::<String>::new());
    assert!(!out.exists(), "nothing is published");
}
