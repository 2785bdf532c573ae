//! The live cell's wire protocol: every body the master, its agents and
//! the client exchange, as JSON over HTTP/1.1 (version 1, paths under
//! `/v1/`).
//!
//! One module holds both directions so the three programs cannot drift
//! apart: the master and the agent (de)serialise the same structs. Every
//! struct that arrives from the network refuses unknown keys
//! (`deny_unknown_fields`): a misspelt field is a 400 naming it, not a
//! default silently taken — and a job description cannot smuggle in a
//! field (`user_id`, `chroot`, …) that some later version would honour.
//!
//! Units are borgsim's everywhere: milli-cores, MiB, GPUs as
//! [`GpuSpec`], times in milliseconds since the Unix epoch (`*_ms`, wall
//! clock: the live side's own; the scheduling core only ever sees a
//! [`crate::time::SimTime`] derived from it).
//!
//! # Routes
//!
//! Master (`borgsim master`):
//! | method, path | body → reply |
//! |---|---|
//! | `POST /v1/jobs` | [`JobSubmission`] → 201 [`JobStatus`] (409 if a live job has the name) |
//! | `POST /v1/jobs` | `[`[`JobSubmission`]`]` → 201 `[`[`JobStatus`]`]`: all admitted before one pass, or none |
//! | `GET /v1/jobs` | → `[`[`JobStatus`]`]` |
//! | `GET /v1/jobs/{name}` | → [`JobStatus`] with its tasks |
//! | `DELETE /v1/jobs/{name}` | → [`JobStatus`] (its tasks killed) |
//! | `GET /v1/tasks` (`?job=NAME`) | → `[`[`TaskStatus`]`]` |
//! | `GET /v1/machines` | → `[`[`MachineStatus`]`]` |
//! | `POST /v1/machines/{name}/drain` | → [`MachineStatus`] (tasks moved off, no new ones) |
//! | `POST /v1/machines/{name}/undrain` | → [`MachineStatus`] |
//! | `POST /v1/agent/register` | [`AgentRegistration`] → [`RegistrationReply`] |
//! | `POST /v1/agent/heartbeat` | [`Heartbeat`] → [`HeartbeatReply`] |
//! | `POST /v1/agent/exits` | [`TaskExits`] → [`ExitsAck`] |
//!
//! Agent (`borgsim agent`):
//! | method, path | body → reply |
//! |---|---|
//! | `POST /v1/tasks` | [`TaskLaunch`] → 201 [`RunningTask`] (200 if that incarnation already runs) |
//! | `POST /v1/tasks` | `[`[`TaskLaunch`]`]` → 200 `[`[`LaunchReply`]`]`: each launch's own answer, in order |
//! | `DELETE /v1/tasks/{task}?incarnation=N` | → 200 [`TaskExit`] once it is dead, 404 if unknown |
//! | `GET /v1/tasks` | → [`AgentTasks`] |
//! | `GET /v1/health` | → [`AgentInfo`] |
//!
//! Every request carries `Authorization: Bearer <token>` (`super::auth`);
//! without it, or with a wrong one, the reply is 401 and nothing changes.
//! An error reply's body is [`ApiError`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version, the first segment of every path.
pub const VERSION_PATH: &str = "/v1";

/// Largest request body either server accepts, in bytes (a job of
/// thousands of tasks fits in a few KiB; a heartbeat of a full machine in
/// tens). Larger bodies get 413 and change nothing.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// `value` read as a `T`; the error names the path of the field at
/// fault (`task.incarnation: invalid type: …`), as the servers' body
/// errors do.
///
/// # Errors
/// `value` is not a `T`.
pub fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })
}

/// The body of every 4xx and 5xx reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    /// What was wrong, for a person: the field, what was expected.
    pub error: String,
}

/// A GPU request, as in the native trace format: nothing, whole devices,
/// or a share of one device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GpuSpec {
    #[default]
    None,
    /// This many whole devices (1..=64).
    Whole(u32),
    /// Milli of one device (1..1000).
    Share(u32),
}

/// A placement constraint on a machine attribute, as the simulator's
/// (`name op value`; `op` one of `eq`, `ne`, `present`, `absent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    pub name: String,
    pub op: ConstraintOpSpec,
    #[serde(default)]
    pub value: String,
}

/// [`ConstraintSpec`]'s operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintOpSpec {
    Eq,
    Ne,
    Present,
    Absent,
}

/// What happens when a task exits with a non-zero status or a signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    /// The task stays `failed`.
    #[default]
    Never,
    /// The task is pending again, up to `max_restarts` times, kept off
    /// the machines it failed on for the scheduler's `avoid_failed` window
    /// (Borg's rule).
    OnFailure,
}

/// A job as the client submits it: the simulator's job description
/// (the native trace format's `tasks.csv` fields) plus what to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSubmission {
    /// The job's name: `[A-Za-z0-9_-]`, 1..=64 characters.
    pub name: String,
    /// The user the job is accounted to (a name in the task's Borg name;
    /// the agent runs every task as its own user, never as this one).
    pub user: String,
    /// borgsim's priority: best effort 0–99, batch 100–119, production
    /// 120–359, monitoring 360+.
    pub priority: u32,
    /// How many tasks (1..=10,000).
    pub tasks: u32,
    /// Each task's request, milli-cores (≥ 1).
    pub cpu_milli: u64,
    /// Each task's request, MiB (≥ 1).
    pub mem_mib: u64,
    #[serde(default)]
    pub gpu: GpuSpec,
    #[serde(default)]
    pub constraints: Vec<ConstraintSpec>,
    #[serde(default)]
    pub max_per_machine: Option<u32>,
    #[serde(default)]
    pub max_per_rack: Option<u32>,
    /// The program and its arguments (`argv`; no shell unless it is
    /// `["sh", "-c", "…"]`). Not empty.
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The task's working directory, relative to its sandbox on the agent
    /// (no `..`, not absolute); default the sandbox itself.
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub restart: RestartPolicy,
    /// With [`RestartPolicy::OnFailure`]: restarts per task before it
    /// stays `failed`.
    #[serde(default)]
    pub max_restarts: u32,
}

/// A task's state as the master keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for a machine.
    Pending,
    /// Placed; the agent was asked to start it.
    Starting,
    /// The agent reports its process running.
    Running,
    /// Exited with status 0.
    Finished,
    /// Exited non-zero or by a signal, and not restarted.
    Failed,
    /// Killed by the user (its job killed).
    Killed,
    /// Its machine was lost; it is pending again (shown until re-placed).
    Lost,
}

impl TaskState {
    /// No further change can come.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished | TaskState::Failed | TaskState::Killed
        )
    }
}

/// One task, as the master reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskStatus {
    /// Borg's name: `index.job.user.cell`.
    pub name: String,
    pub job: String,
    pub index: u32,
    pub state: TaskState,
    /// The machine it runs (or last ran) on.
    pub machine: Option<String>,
    /// Starts so far (1 once first started).
    pub incarnation: u32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it is pending, when it is (the scheduler's reason).
    pub pending_reason: Option<String>,
    /// What the master knows of its last end, when it says more than the
    /// state: why its start failed (the agent's reason), why its launch
    /// was refused or did not arrive, that it vanished from its agent.
    #[serde(default)]
    pub detail: Option<String>,
    pub submitted_ms: u64,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// Its submit-to-running latency, µs on the master's monotonic clock:
    /// from the master taking its job's submission in (the body parsed,
    /// the master's lock held) to the master recording its first start
    /// as spawned: the agent's reply to the launch (sent once the task's
    /// program is exec'd, before it runs), a heartbeat listing it, or its
    /// exit report,
    /// whichever came first. `None` until then, and for jobs submitted to an earlier
    /// master process.
    #[serde(default)]
    pub submit_to_running_us: Option<u64>,
}

impl TaskStatus {
    /// Its pending reason and its detail, as one text for a table cell
    /// (either alone, both joined by `; `, or empty).
    pub fn reason(&self) -> String {
        let parts: Vec<&str> = [self.detail.as_deref(), self.pending_reason.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        parts.join("; ")
    }
}

/// One job, as the master reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobStatus {
    pub name: String,
    pub user: String,
    pub priority: u32,
    /// Tasks per state (states with none left out).
    pub task_states: BTreeMap<String, u32>,
    /// Set when killed by the user.
    pub killed: bool,
    /// Its tasks (in `GET /v1/jobs/{name}` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskStatus>,
}

/// A machine's state as the master keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    /// Heartbeats arrive; takes tasks.
    Up,
    /// Heartbeats arrive; takes no new tasks (drained).
    Drained,
    /// No heartbeat for longer than the interval; its tasks still count
    /// as running until the grace period ends.
    Unreachable,
    /// Past the grace period: its tasks were declared lost.
    Down,
}

/// One machine (an agent), as the master reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineStatus {
    pub name: String,
    /// The agent's API address (`host:port`).
    pub addr: String,
    pub state: MachineState,
    pub capacity: Capacity,
    /// What the master's tasks on it request, summed.
    pub allocated: Capacity,
    /// What the agent last measured its tasks using.
    pub usage: Usage,
    pub tasks_running: u32,
    pub limits: LimitsMode,
    pub last_heartbeat_ms: Option<u64>,
}

/// A machine's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub cpu_milli: u64,
    pub mem_mib: u64,
    #[serde(default)]
    pub gpus: u32,
}

/// Resources in use, as measured on the agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub cpu_milli: u64,
    pub mem_mib: u64,
}

/// How an agent enforces its tasks' limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsMode {
    /// cgroup v2: `memory.max` and `cpu.weight` per task.
    CgroupV2,
    /// No writable cgroup v2: `RLIMIT_AS` for memory and a nice value for
    /// CPU weight.
    Rlimit,
}

/// An agent announcing itself (at start, and again whenever the master
/// says it does not know it: after a master restart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRegistration {
    /// The machine's name, unique in the cell.
    pub name: String,
    /// Where the agent's API listens (`host:port`).
    pub addr: String,
    pub capacity: Capacity,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
    #[serde(default)]
    pub rack: Option<String>,
    pub limits: LimitsMode,
    /// Tasks it runs now (for re-attachment after a master restart).
    #[serde(default)]
    pub running: Vec<RunningTask>,
    /// Exits the master has not acknowledged yet.
    #[serde(default)]
    pub exits: Vec<TaskExit>,
}

/// The master's answer to a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationReply {
    /// How often to send a heartbeat.
    pub heartbeat_interval_ms: u64,
    /// Running tasks the master does not know of (or has killed): stop
    /// them. Empty after a master restart that recovered its store.
    #[serde(default)]
    pub kill: Vec<TaskRef>,
}

/// A periodic report from an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub name: String,
    pub usage: Usage,
    pub running: Vec<RunningTask>,
    /// Exits not acknowledged yet (each is sent until acknowledged).
    #[serde(default)]
    pub exits: Vec<TaskExit>,
}

/// The master's answer to a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatReply {
    /// False when the master does not know this agent (it restarted
    /// without it, or declared it down): register again.
    pub known: bool,
    /// Exits now recorded (the agent forgets them).
    #[serde(default)]
    pub acked: Vec<TaskRef>,
    /// Tasks to stop.
    #[serde(default)]
    pub kill: Vec<TaskRef>,
}

/// A task run: its Borg name and which start of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    pub task: String,
    pub incarnation: u32,
}

/// The master asking an agent to start a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskLaunch {
    pub task: TaskRef,
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub workdir: Option<String>,
    /// The limits to enforce (the task's request).
    pub cpu_milli: u64,
    pub mem_mib: u64,
}

/// A task the agent runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunningTask {
    pub task: TaskRef,
    pub pid: u32,
    pub started_ms: u64,
}

/// One launch's answer in a list of launches (`POST /v1/tasks` with a
/// list: the master sends each agent one list per scheduling pass, not
/// one request per task). Each launch stands alone: one refused does not
/// undo the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchReply {
    /// The status the launch alone would have had: 201 started, 200
    /// already running, 400, 409 or 500 refused.
    pub status: u16,
    /// The run, for 200 and 201.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<RunningTask>,
    /// Why not, otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a task's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExitOutcome {
    /// Exited with this status.
    Exited(i32),
    /// Ended by this signal (not one the agent sent).
    Signaled(i32),
    /// Stopped by the agent at the master's request.
    Killed,
    /// Could not be started (no such program, bad working directory…).
    StartFailed,
    /// Killed by the agent or the kernel for exceeding its memory limit.
    OutOfMemory,
}

/// A task's end, as the agent reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskExit {
    pub task: TaskRef,
    pub outcome: ExitOutcome,
    pub ended_ms: u64,
    /// For [`ExitOutcome::StartFailed`]: why.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Exits reported at once, outside the heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskExits {
    pub name: String,
    pub exits: Vec<TaskExit>,
}

/// Which of the reported exits the master recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitsAck {
    pub acked: Vec<TaskRef>,
    /// False when the master does not know this agent: register again.
    pub known: bool,
}

/// What an agent runs and has not yet had acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentTasks {
    pub running: Vec<RunningTask>,
    pub exits: Vec<TaskExit>,
}

/// An agent describing itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentInfo {
    pub name: String,
    pub capacity: Capacity,
    pub limits: LimitsMode,
    pub tasks_running: u32,
    /// Whether its last heartbeat reached the master.
    pub master_reachable: bool,
    /// The user and group its tasks run as: its `--run-as-user` and
    /// `--run-as-group`, else its own.
    pub tasks_run_as: RunAs,
}

/// A numeric user and group, as tasks run under them (a pod's
/// `runAsUser` and `runAsGroup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_submission_with_an_unknown_key_is_refused_by_name() {
        let body = r#"{"name":"j","user":"u","priority":200,"tasks":1,"cpu_milli":100,
            "mem_mib":64,"command":["true"],"run_as":"root"}"#;
        let err = serde_json::from_str::<JobSubmission>(body).unwrap_err();
        assert!(err.to_string().contains("run_as"), "{err}");
    }

    #[test]
    fn defaults_fill_the_optional_job_fields() {
        let body = r#"{"name":"j","user":"u","priority":200,"tasks":2,"cpu_milli":100,
            "mem_mib":64,"command":["sleep","1"]}"#;
        let job: JobSubmission = serde_json::from_str(body).unwrap();
        assert_eq!(job.gpu, GpuSpec::None);
        assert_eq!(job.restart, RestartPolicy::Never);
        assert!(job.env.is_empty() && job.workdir.is_none() && job.constraints.is_empty());
    }

    #[test]
    fn outcomes_and_gpus_read_as_written() {
        let e: ExitOutcome = serde_json::from_str(r#"{"exited":3}"#).unwrap();
        assert_eq!(e, ExitOutcome::Exited(3));
        let k: ExitOutcome = serde_json::from_str(r#""killed""#).unwrap();
        assert_eq!(k, ExitOutcome::Killed);
        let g: GpuSpec = serde_json::from_str(r#"{"whole":2}"#).unwrap();
        assert_eq!(g, GpuSpec::Whole(2));
    }
}
