//! `borgsim submit`, `status`, `kill` and `drain`: the live cell's small
//! client (feature `agent`).
//!
//! Each command is one or two requests to the master
//! ([`borgsim::live::client::Client`]), printed as a table for a person or,
//! with `--json`, as the master's own JSON for a script. The master's
//! address comes from `--master` or `BORGSIM_MASTER`, the cell's token from
//! `--token-file` or `BORGSIM_TOKEN` (never from a flag holding the token,
//! which the process list would show).
//!
//! A job file is TOML (or JSON, by its `.json` extension): one job's keys
//! at the top level, or several jobs as `[[job]]` tables (in JSON, a
//! list), submitted
//! together (all admitted, in order, before the master's next scheduling
//! pass, or none). The keys are the native trace format's (`cpu_milli`, `mem_mib`,
//! `priority`, `gpu`, `constraints`, …) plus `tasks`, `command`, `env`,
//! `workdir`, `restart` and `max_restarts`
//! ([`borgsim::live::proto::JobSubmission`]); an unknown key is an error
//! naming it, with its line.

use borgsim::error::Error;
use borgsim::live::auth::Token;
use borgsim::live::client::{Client, ClientError};
use borgsim::live::proto::{JobStatus, JobSubmission, MachineStatus, TaskStatus};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the master is and how to prove we belong to its cell.
#[derive(Args, Debug, Clone)]
pub struct Connect {
    /// The master's address (default: `BORGSIM_MASTER`, else
    /// http://127.0.0.1:7070).
    #[arg(long, value_name = "URL", global = true)]
    pub master: Option<String>,
    /// A file holding the cell's token (default: the `BORGSIM_TOKEN`
    /// environment variable).
    #[arg(long, value_name = "FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Print the master's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `borgsim submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The job file: TOML (one job, or several as `[[job]]` tables) or, by
    /// its `.json` extension, JSON (one job, or a list of jobs).
    pub job: PathBuf,
    #[command(flatten)]
    pub connect: Connect,
}

/// `borgsim status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(subcommand)]
    pub what: Option<StatusWhat>,
    #[command(flatten)]
    pub connect: Connect,
}

/// What `borgsim status` lists.
#[derive(Subcommand, Debug, Clone)]
pub enum StatusWhat {
    /// Every job, with its tasks per state (the default).
    Jobs,
    /// One job and each of its tasks.
    Job { name: String },
    /// Tasks: every one, or one job's (`--job NAME`).
    Tasks {
        /// Only this job's tasks.
        #[arg(long, value_name = "NAME")]
        job: Option<String>,
    },
    /// Every machine: state, allocation and usage against capacity.
    Machines,
}

/// `borgsim kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// The job to kill.
    pub job: String,
    #[command(flatten)]
    pub connect: Connect,
}

/// `borgsim drain`.
#[derive(Args, Debug)]
pub struct DrainArgs {
    /// The machine (agent name) to drain.
    pub machine: String,
    /// Let the machine take tasks again.
    #[arg(long)]
    pub undo: bool,
    #[command(flatten)]
    pub connect: Connect,
}

/// Several jobs in one file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobList {
    job: Vec<JobSubmission>,
}

/// The jobs of a job file, in file order.
///
/// # Errors
/// The file cannot be read, or is not a job (the message names the key
/// and line).
pub fn read_jobs(path: &Path) -> Result<Vec<JobSubmission>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse = |message: String| Error::Parse {
        path: path.to_path_buf(),
        message,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return read_json_jobs(&text).map_err(parse);
    }
    let table: toml::Table = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
    if table.contains_key("job") {
        let list: JobList = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        if list.job.is_empty() {
            return Err(parse("`job` lists no jobs".into()));
        }
        Ok(list.job)
    } else {
        toml::from_str::<JobSubmission>(&text)
            .map(|j| vec![j])
            .map_err(|e| parse(e.to_string()))
    }
}

/// A JSON job file: one job (an object) or several (a list, submitted
/// together). Errors name the field's path and the line and column.
fn read_json_jobs(text: &str) -> Result<Vec<JobSubmission>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let jobs = match value {
        serde_json::Value::Array(items) => (items.into_iter().enumerate())
            .map(|(i, v)| {
                let name = v.get("name").and_then(|n| n.as_str()).map(str::to_string);
                borgsim::live::proto::from_value::<JobSubmission>(v).map_err(|e| match name {
                    Some(n) => format!("jobs[{i}] (`{n}`): {e}"),
                    None => format!("jobs[{i}]: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        one => vec![borgsim::live::proto::from_value(one)?],
    };
    if jobs.is_empty() {
        return Err("the list holds no jobs".into());
    }
    Ok(jobs)
}

/// The master's address and a client of it.
#[expect(
    clippy::disallowed_methods,
    reason = "the shell reads the environment: the master's address and the token"
)]
fn connect(c: &Connect) -> Result<Client, Error> {
    let base = c
        .master
        .clone()
        .or_else(|| std::env::var("BORGSIM_MASTER").ok())
        .unwrap_or_else(|| "http://127.0.0.1:7070".to_string());
    let token = load_token(c.token_file.as_deref())?;
    Client::new(&base, token).map_err(|message| Error::Invalid {
        path: PathBuf::from("--master"),
        key: "master".into(),
        message,
    })
}

/// The cell's token ([`super::agent::read_token`]: `--token-file`, else
/// `BORGSIM_TOKEN`), as bad input when missing or malformed.
///
/// # Errors
/// Neither is given, the file cannot be read, or the token is too short
/// or holds characters a header cannot carry.
pub fn load_token(file: Option<&Path>) -> Result<Token, Error> {
    super::agent::read_token(file).map_err(Error::Usage)
}

/// Runs `fut` on a one-thread runtime: a client command makes a request
/// or two, nothing to spread over threads.
fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(fut))
}

/// A refusal by the master is the user's input (exit 2), said as
/// `WHAT: HTTP 404: REASON` (`what`: the job file, or the master); anything
/// else a failure (exit 1).
fn refused(what: &str) -> impl Fn(ClientError) -> Error + '_ {
    move |e| match &e {
        ClientError::Api { status, reason } if status.is_client_error() => {
            Error::Usage(format!("{what}: HTTP {}: {reason}", status.as_u16()))
        }
        _ => Error::Remote(e.to_string()),
    }
}

/// One line (or block) on stdout. A reader that stops early (`| head`)
/// is not an error: the rest is dropped and the command succeeds.
fn emit(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Internal(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Internal(e.to_string()))?;
    emit(&s)
}

/// `borgsim submit`.
pub fn submit(args: SubmitArgs) -> Result<(), Error> {
    let jobs = read_jobs(&args.job)?;
    let client = connect(&args.connect)?;
    let at = args.job.display().to_string();
    let done = block_on(async {
        match jobs.as_slice() {
            [one] => client.submit(one).await.map(|j| vec![j]),
            many => client.submit_all(many).await,
        }
    })?
    .map_err(refused(&at))?;
    if args.connect.json {
        return print_json(&done);
    }
    for j in &done {
        emit(&format!(
            "submitted {}: {} tasks, priority {}",
            j.name,
            j.task_states.values().sum::<u32>(),
            j.priority
        ))?;
    }
    Ok(())
}

/// `borgsim status`.
pub fn status(args: StatusArgs) -> Result<(), Error> {
    let client = connect(&args.connect)?;
    let at = client.base().to_string();
    let json = args.connect.json;
    match args.what.unwrap_or(StatusWhat::Jobs) {
        StatusWhat::Jobs => {
            let jobs = block_on(client.jobs())?.map_err(refused(&at))?;
            if json {
                return print_json(&jobs);
            }
            emit(&jobs_table(&jobs).to_string())?;
        }
        StatusWhat::Job { name } => {
            let job = block_on(client.job(&name))?.map_err(refused(&at))?;
            if json {
                return print_json(&job);
            }
            emit(&jobs_table(std::slice::from_ref(&job)).to_string())?;
            emit(&tasks_table(&job.tasks).to_string())?;
        }
        StatusWhat::Tasks { job } => {
            let tasks = block_on(client.tasks(job.as_deref()))?.map_err(refused(&at))?;
            if json {
                return print_json(&tasks);
            }
            emit(&tasks_table(&tasks).to_string())?;
        }
        StatusWhat::Machines => {
            let ms = block_on(client.machines())?.map_err(refused(&at))?;
            if json {
                return print_json(&ms);
            }
            emit(&machines_table(&ms).to_string())?;
        }
    }
    Ok(())
}

/// `borgsim kill`.
pub fn kill(args: KillArgs) -> Result<(), Error> {
    let client = connect(&args.connect)?;
    let at = client.base().to_string();
    let job = block_on(client.kill(&args.job))?.map_err(refused(&at))?;
    if args.connect.json {
        return print_json(&job);
    }
    emit(&format!("killed {}", job.name))?;
    Ok(())
}

/// `borgsim drain`.
pub fn drain(args: DrainArgs) -> Result<(), Error> {
    let client = connect(&args.connect)?;
    let at = client.base().to_string();
    let m = block_on(client.drain(&args.machine, args.undo))?.map_err(refused(&at))?;
    if args.connect.json {
        return print_json(&m);
    }
    emit(&format!("{}: {}", m.name, snake(&m.state)))?;
    Ok(())
}

/// An enum's wire name (`running`, `drained`).
fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

fn jobs_table(jobs: &[JobStatus]) -> Table {
    let mut t = table(&["job", "user", "priority", "tasks", "states"]);
    for j in jobs {
        let states: Vec<String> = j
            .task_states
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        let killed = if j.killed { " (killed)" } else { "" };
        t.add_row(vec![
            format!("{}{killed}", j.name),
            j.user.clone(),
            j.priority.to_string(),
            j.task_states.values().sum::<u32>().to_string(),
            states.join(", "),
        ]);
    }
    t
}

fn tasks_table(tasks: &[TaskStatus]) -> Table {
    let mut t = table(&["task", "state", "machine", "incarnation", "exit", "reason"]);
    for k in tasks {
        let exit = match (k.exit_code, k.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => String::new(),
        };
        t.add_row(vec![
            k.name.clone(),
            snake(&k.state),
            k.machine.clone().unwrap_or_default(),
            k.incarnation.to_string(),
            exit,
            k.reason(),
        ]);
    }
    t
}

fn machines_table(ms: &[MachineStatus]) -> Table {
    let mut t = table(&[
        "machine",
        "address",
        "state",
        "cpu (m) alloc / used / cap",
        "mem (MiB) alloc / used / cap",
        "gpus alloc / cap",
        "tasks",
        "limits",
    ]);
    for m in ms {
        t.add_row(vec![
            m.name.clone(),
            m.addr.clone(),
            snake(&m.state),
            format!(
                "{} / {} / {}",
                m.allocated.cpu_milli, m.usage.cpu_milli, m.capacity.cpu_milli
            ),
            format!(
                "{} / {} / {}",
                m.allocated.mem_mib, m.usage.mem_mib, m.capacity.mem_mib
            ),
            format!("{} / {}", m.allocated.gpus, m.capacity.gpus),
            m.tasks_running.to_string(),
            snake(&m.limits),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    const ONE: &str = "name = \"web\"\nuser = \"ann\"\npriority = 200\ntasks = 3\n\
        cpu_milli = 500\nmem_mib = 256\ncommand = [\"sleep\", \"5\"]\n";

    #[test]
    fn a_single_job_and_a_list_of_jobs_both_read() {
        let (_d, p) = write("web.toml", ONE);
        let jobs = read_jobs(&p).unwrap();
        assert_eq!((jobs.len(), jobs[0].tasks), (1, 3));
        let two = format!("[[job]]\n{ONE}\n[[job]]\n{}", ONE.replace("web", "db"));
        let (_d, p) = write("two.toml", &two);
        let names: Vec<_> = read_jobs(&p).unwrap().into_iter().map(|j| j.name).collect();
        assert_eq!(names, ["web", "db"]);
    }

    #[test]
    fn connection_flags_go_before_or_after_what_status_lists() {
        use clap::Parser;
        for argv in [
            &[
                "borgsim",
                "status",
                "tasks",
                "--job",
                "j",
                "--master",
                "http://m:1",
                "--json",
            ][..],
            &["borgsim", "status", "--master", "http://m:1", "machines"][..],
        ] {
            let cli = super::super::Cli::try_parse_from(argv).expect("parses");
            let Some(super::super::Command::Status(s)) = cli.command else {
                panic!("not status")
            };
            assert_eq!(s.connect.master.as_deref(), Some("http://m:1"));
        }
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let (_d, p) = write("bad.toml", &format!("{ONE}run_as = \"root\"\n"));
        let e = read_jobs(&p).unwrap_err().to_string();
        assert!(e.contains("run_as") && e.contains("line 8"), "{e}");
        assert_eq!(read_jobs(&p).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn json_files_hold_one_job_or_a_list_whatever_the_extension_s_case() {
        let one = r#"{"name": "web", "user": "ann", "priority": 200, "tasks": 3,
            "cpu_milli": 500, "mem_mib": 256, "command": ["true"]}"#;
        let (_d, p) = write("web.JSON", one);
        assert_eq!(read_jobs(&p).unwrap()[0].name, "web");
        let (_d, p) = write(
            "two.json",
            &format!("[{one}, {}]", one.replace("web", "db")),
        );
        let names: Vec<_> = read_jobs(&p).unwrap().into_iter().map(|j| j.name).collect();
        assert_eq!(names, ["web", "db"]);
        // A bad item is named by its index and field.
        let bad = format!(
            "[{one}, {}]",
            one.replace("\"tasks\": 3", "\"tasks\": \"x\"")
        );
        let (_d, p) = write("bad.json", &bad);
        let e = read_jobs(&p).unwrap_err().to_string();
        assert!(e.contains("jobs[1] (`web`): tasks: invalid type"), "{e}");
        let (_d, p) = write("none.json", "[]");
        assert!(read_jobs(&p).unwrap_err().to_string().contains("no jobs"));
    }
}
