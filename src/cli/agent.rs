//! `borgsim agent` (the Borglet): flags, the token, the machine's defaults — the parts that
//! read the environment and the machine — handed to
//! [`borgsim::live::agent`], which documents what the agent does.

use borgsim::live::agent::{self as live_agent, AgentConfig};
use borgsim::live::auth::Token;
use borgsim::live::proto::{Capacity, RunAs};
use clap::Args;
use rustix::process::DumpableBehavior;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable holding the token when no file is given.
pub(crate) const TOKEN_ENV: &str = "BORGSIM_TOKEN";

/// `PATH` for tasks when the agent has none.
const DEFAULT_TASK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The master's URL, e.g. http://127.0.0.1:7070 (the master's default address)
    #[arg(long, value_name = "URL")]
    pub master: String,
    /// Where the agent's API listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The address given to the master (host:port) [default: the one bound]
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// The machine's name in the cell [default: the host name]
    #[arg(long)]
    pub name: Option<String>,
    /// CPU capacity, milli-cores [default: logical CPUs × 1000]
    #[arg(long, value_name = "N")]
    pub cpu_milli: Option<u64>,
    /// Memory capacity, MiB [default: the machine's, or its container's limit]
    #[arg(long, value_name = "N")]
    pub mem_mib: Option<u64>,
    /// GPU devices.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpus: u32,
    /// A machine attribute for placement constraints (repeatable).
    #[arg(long = "attr", value_name = "K=V", value_parser = parse_attr)]
    pub attrs: Vec<(String, String)>,
    /// The machine's rack (a failure domain).
    #[arg(long)]
    pub rack: Option<String>,
    /// Where task sandboxes go (WORK/tasks/<task>/<incarnation>/).
    #[arg(long, value_name = "DIR")]
    pub work_dir: PathBuf,
    /// A file holding the cell's token [default: the BORGSIM_TOKEN variable]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// From SIGTERM to SIGKILL when a task is killed, ms.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub kill_grace_ms: u64,
    /// Run tasks as this numeric user, with no supplementary groups (the
    /// agent must run as root) [default: the agent's own user]
    #[arg(long, value_name = "UID", requires = "run_as_group")]
    pub run_as_user: Option<u32>,
    /// Run tasks as this numeric group (with --run-as-user).
    #[arg(long, value_name = "GID", requires = "run_as_user")]
    pub run_as_group: Option<u32>,
    /// The largest file a task may write, its stdout and stderr included,
    /// MiB (RLIMIT_FSIZE: beyond it the task gets SIGXFSZ) [default: no
    /// limit]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=(1u64 << 40)))]
    pub max_file_mib: Option<u64>,
}

/// `--attr rack=r1`: a key and a value.
fn parse_attr(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected K=V with a non-empty K, got {s:?}")),
    }
}

/// The cell's token: from `file`, else from `BORGSIM_TOKEN`.
///
/// # Errors
/// Neither given, the file unreadable, or the token too short or not
/// printable: the message says which.
#[expect(
    clippy::disallowed_methods,
    reason = "the live cell's token may come from the environment (never a flag)"
)]
pub(crate) fn read_token(file: Option<&Path>) -> Result<Token, String> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| format!("--token-file {}: cannot read: {e}", f.display()))?,
        None => std::env::var(TOKEN_ENV)
            .map_err(|_| format!("no token: give --token-file FILE or set {TOKEN_ENV}"))?,
    };
    let origin = file.map_or(TOKEN_ENV.to_string(), |f| {
        format!("--token-file {}", f.display())
    });
    Token::parse(&text).map_err(|e| format!("{origin}: {e}"))
}

/// Warns when the token file can be read by its group or by others
/// (tasks of another user among them).
fn warn_if_shared(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(m) = std::fs::metadata(file) else {
        return;
    };
    let mode = m.permissions().mode() & 0o777;
    if mode & 0o044 != 0 {
        eprintln!(
            "agent: warning: --token-file {} is readable by its group or others (mode {mode:03o}); \
             chmod 600 it",
            file.display()
        );
    }
}

/// `--run-as-user` and `--run-as-group`, which need root.
fn run_as(user: Option<u32>, group: Option<u32>) -> Result<Option<RunAs>, String> {
    let (Some(uid), Some(gid)) = (user, group) else {
        return Ok(None);
    };
    // The kernel reads -1 as "leave unchanged": every start would fail.
    if uid == u32::MAX || gid == u32::MAX {
        return Err(format!(
            "--run-as-user {uid} --run-as-group {gid}: 4294967295 (-1) is not an id"
        ));
    }
    if uid == 0 {
        eprintln!("agent: warning: --run-as-user 0: tasks run as root");
    }
    if !rustix::process::geteuid().is_root() {
        return Err(format!(
            "--run-as-user {uid} --run-as-group {gid}: changing the user tasks run as needs an \
             agent running as root (this one runs as uid {})",
            rustix::process::geteuid().as_raw()
        ));
    }
    Ok(Some(RunAs { uid, gid }))
}

/// The agent's configuration from its flags and the machine.
fn config(args: AgentArgs) -> Result<AgentConfig, String> {
    let run_as = run_as(args.run_as_user, args.run_as_group)?;
    let token = read_token(args.token_file.as_deref())?;
    if let Some(f) = &args.token_file {
        warn_if_shared(f);
    }
    let master =
        reqwest::Url::parse(&args.master).map_err(|e| format!("--master {}: {e}", args.master))?;
    if master.scheme() != "http" || master.host().is_none() {
        return Err(format!(
            "--master {}: expected http://HOST:PORT",
            args.master
        ));
    }
    let name = match args.name {
        Some(n) => n,
        None => sysinfo::System::host_name()
            .ok_or("--name: the host name cannot be read; give a name")?,
    };
    if name.is_empty() {
        return Err("--name: a machine name cannot be empty".into());
    }
    Ok(AgentConfig {
        master,
        listen: args.listen,
        advertise: args.advertise,
        name,
        capacity: capacity(args.cpu_milli, args.mem_mib, args.gpus)?,
        attrs: args.attrs.into_iter().collect::<BTreeMap<_, _>>(),
        rack: args.rack,
        work_dir: args.work_dir,
        token,
        kill_grace: Duration::from_millis(args.kill_grace_ms),
        task_path: task_path(),
        run_as,
        max_file_mib: args.max_file_mib,
    })
}

/// The flags' capacity, the machine's where a flag is missing.
fn capacity(cpu_milli: Option<u64>, mem_mib: Option<u64>, gpus: u32) -> Result<Capacity, String> {
    let cpu_milli = match cpu_milli {
        Some(c) => c,
        None => {
            let n = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            u64::try_from(n).unwrap_or(1).saturating_mul(1000)
        }
    };
    let mem_mib = match mem_mib {
        Some(m) => m,
        None => {
            super::physical_memory_bytes()
                .ok_or("--mem-mib: the machine's memory cannot be read; give it")?
                >> 20
        }
    };
    if cpu_milli == 0 || mem_mib == 0 {
        return Err("--cpu-milli, --mem-mib: a machine needs some of each".into());
    }
    Ok(Capacity {
        cpu_milli,
        mem_mib,
        gpus,
    })
}

/// The agent's own `PATH`, which tasks get.
#[expect(
    clippy::disallowed_methods,
    reason = "tasks inherit the agent's PATH, and nothing else of its environment"
)]
fn task_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| DEFAULT_TASK_PATH.to_string())
}

/// `borgsim agent`: runs until SIGTERM/SIGINT. Exit code 2 for bad flags
/// or token, or a registration the master refuses for good; 1 when it
/// cannot run.
pub fn main(args: AgentArgs) -> i32 {
    // Not dumpable: its /proc files (its environment, with the token)
    // become root's and no process of its user may trace it. Tasks are
    // dumpable again after their exec.
    if let Err(e) = rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        eprintln!("agent: warning: cannot make the agent non-dumpable: {e}");
    }
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let announce = |addr: SocketAddr| super::say(&format!("listening on {addr}"));
    run_live_coded(
        Some(2),
        live_agent::run(cfg, announce),
        live_agent::AgentError::exit_code,
    )
}

/// Runs a live program (agent or master) on a multi-threaded runtime of
/// `workers` threads (tokio's default, one per core, if `None`): exit code
/// 0 when it ends well, 1 with the error printed otherwise.
pub(crate) fn run_live<E: std::fmt::Display>(
    workers: Option<usize>,
    program: impl std::future::Future<Output = Result<(), E>>,
) -> i32 {
    run_live_coded(workers, program, |_| 1)
}

/// [`run_live`], with the exit code of an error given by `code`.
fn run_live_coded<E: std::fmt::Display>(
    workers: Option<usize>,
    program: impl std::future::Future<Output = Result<(), E>>,
    code: impl Fn(&E) -> i32,
) -> i32 {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(program) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_refuses_the_id_that_means_unchanged() {
        let e = run_as(Some(u32::MAX), Some(10)).unwrap_err();
        assert!(e.contains("not an id"), "{e}");
        assert!(run_as(Some(10), Some(u32::MAX)).is_err());
        assert_eq!(run_as(None, None).unwrap(), None);
    }

    #[test]
    fn attributes_need_a_key() {
        assert_eq!(parse_attr("rack=r1").unwrap(), ("rack".into(), "r1".into()));
        assert_eq!(parse_attr("k=").unwrap(), ("k".into(), String::new()));
        assert!(parse_attr("=v").is_err() && parse_attr("kv").is_err());
    }
}
