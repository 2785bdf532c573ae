//! `borgsim master`'s intake end to end: who may hold a machine's name,
//! which store a master may open, and what it says of where it listens.

use crate::master_common::{
    start_master, start_master_with, token_file, wait_for, Api, FakeAgent, DEADLINE,
};
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `borgsim master` on `store` (a port of its own), run to its end —
/// killed, and the test failed, if it is still running (serving) after
/// [`DEADLINE`].
fn master_on(dir: &Path, store: &Path, cell: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .arg("master")
        .arg("--token-file")
        .arg(token_file(dir))
        .arg("--store")
        .arg(store)
        .args(["--cell", cell, "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("borgsim runs");
    let step = Duration::from_millis(20);
    for _ in 0..DEADLINE.as_millis() / step.as_millis() {
        if child.try_wait().expect("its status").is_some() {
            return child.wait_with_output().expect("its output");
        }
        std::thread::sleep(step);
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("its output");
    panic!(
        "a master on {} kept running: {}",
        store.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_master_on_a_store_in_use_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start_master(dir.path(), &[]);
    let store = dir.path().join("master.db");
    let second = master_on(dir.path(), &store, "cell");
    let text = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{text}");
    let want = format!("store {} is in use by another master", store.display());
    assert!(text.contains(&want), "{text}");
    assert!(second.stdout.is_empty(), "it never listened");
    // The first gone, the store is free: a restart takes it.
    first.crash();
    let again = start_master(dir.path(), &[]);
    assert!(again.url.starts_with("http://127.0.0.1:"));
}

#[test]
fn a_store_that_cannot_be_this_cell_s_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("master.db");
    drop(start_master(dir.path(), &[]));
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        "not a database, but long enough to be read as one: ".repeat(200),
    )
    .unwrap();
    let missing = dir.path().join("no-such-dir").join("master.db");
    for (path, cell, why) in [
        (&store, "other", "its `cell` is \"cell\", not \"other\""),
        (&junk, "cell", "not a database"),
        (&missing, "cell", "No such file or directory"),
    ] {
        let out = master_on(dir.path(), path, cell);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(why), "{text}");
    }
}

#[test]
fn listening_beyond_loopback_warns_that_the_token_crosses_in_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_borgsim"))
        .arg("master")
        .arg("--token-file")
        .arg(token_file(dir.path()))
        .args(["--listen", "0.0.0.0:0"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("borgsim runs");
    let mut line = String::new();
    let stderr = child.stderr.take().expect("piped stderr");
    let _ = std::io::BufReader::new(stderr).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("warning: listening on 0.0.0.0:0, not loopback")
            && line.contains("plain HTTP (no TLS)"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_machine_s_name_is_not_taken_by_a_second_agent() {
    let dir = tempfile::tempdir().unwrap();
    // Heartbeats every second: held while heard within 3 s.
    let timing = ["--heartbeat-ms", "1000", "--grace-ms", "60000"];
    let master = start_master_with(dir.path(), &timing, &[]);
    let api = Api::new(&master.url);
    let (first, second) = (FakeAgent::start().await, FakeAgent::start().await);
    let (code, body) = api
        .post("/v1/agent/register", &first.registration("n0", &[]))
        .await;
    assert_eq!(code, 200, "{body}");
    let beats = first.heartbeat(api.clone(), "n0");
    let (code, body) = api
        .post("/v1/agent/register", &second.registration("n0", &[]))
        .await;
    assert_eq!(code, 409, "{body}");
    let want = format!(
        "machine n0 is held by a live agent at {}; a second agent cannot take its name \
         until that one falls silent",
        first.addr
    );
    assert_eq!(body["error"], json!(want));
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[0]["addr"], json!(first.addr.to_string()));
    // The first falls silent: past 3 heartbeats, the second is taken.
    beats.abort();
    let reg = second.registration("n0", &[]);
    wait_for("the second agent to be taken", || async {
        match api.post("/v1/agent/register", &reg).await {
            (200, _) => Ok(()),
            (code, body) => Err(format!("{code} {body}")),
        }
    })
    .await;
    let (_, machines) = api.get("/v1/machines").await;
    assert_eq!(machines[0]["addr"], json!(second.addr.to_string()));
    assert_eq!(machines.as_array().map(Vec::len), Some(1));
}
