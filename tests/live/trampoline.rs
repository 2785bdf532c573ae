//! The trampoline (`borgsim agent-exec`) on its own: it becomes the task
//! (same pid, a new session) under the limits it was given, joins a
//! cgroup by writing its pid where told, and a command that cannot start
//! leaves 127 and its reason.

use std::process::Command;

/// Runs `borgsim agent-exec ARGS…` and returns (status, stdout, stderr).
fn trampoline(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .arg("agent-exec")
        .args(args)
        .output()
        .expect("run the trampoline");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `/proc/self/stat` fields of the shell: its pid, session and nice.
const SHOW: &str = "ulimit -v; read -r s < /proc/$$/stat; set -- $s; echo $$ $6 ${19}";

#[test]
fn rlimits_and_a_session_are_in_force_before_the_task_runs() {
    let (code, out, err) = trampoline(&["--mem-mib", "64", "--nice", "10", "--", "sh", "-c", SHOW]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // 64 MiB of address space, shown by the shell in KiB.
    assert_eq!(lines[0], "65536", "{out}");
    let f: Vec<&str> = lines[1].split(' ').collect();
    // It leads its session (session id = its pid) at nice 10.
    assert_eq!(f[0], f[1], "{out}");
    assert_eq!(f[2], "10", "{out}");
}

#[test]
fn with_a_cgroup_it_joins_it_and_keeps_its_pid() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cg = dir.path().to_str().expect("a UTF-8 path");
    let (code, out, err) = trampoline(&[
        "--mem-mib",
        "64",
        "--nice",
        "0",
        "--cgroup",
        cg,
        "--",
        "sh",
        "-c",
        "echo $$",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let joined = std::fs::read_to_string(dir.path().join("cgroup.procs")).expect("written");
    // The pid written before exec is the task's own.
    assert_eq!(joined, out.trim());
}

#[test]
fn a_command_that_cannot_start_leaves_127_and_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let failure = dir.path().join("start-failure");
    let f = failure.to_str().expect("a UTF-8 path");
    let (code, _, err) = trampoline(&[
        "--mem-mib",
        "64",
        "--nice",
        "0",
        "--failure-file",
        f,
        "--",
        "/no/such/program",
    ]);
    assert_eq!(code, Some(127));
    assert!(err.contains("/no/such/program"), "{err}");
    let why = std::fs::read_to_string(&failure).expect("the failure file");
    assert!(why.contains("No such file"), "{why}");
    // A cgroup it cannot join is a start failure too.
    let (code, _, err) = trampoline(&[
        "--mem-mib",
        "64",
        "--nice",
        "0",
        "--cgroup",
        "/no/such/cgroup",
        "--",
        "true",
    ]);
    assert_eq!(code, Some(127));
    assert!(err.contains("cannot join cgroup"), "{err}");
}
