//! The trampoline: `borgsim agent-exec`, the process between the agent
//! and a task.
//!
//! Limits must be in force before the task's first instruction, and the
//! task must be the leader of its own session (so one signal to its
//! process group reaches everything it starts, and a terminal signal to
//! the agent's group does not). Doing that between `fork` and `exec`
//! takes an `unsafe` `pre_exec` hook restricted to async-signal-safe
//! calls; instead the agent starts this same binary, which — an ordinary
//! single-threaded program — starts a session, applies the limits to
//! itself and then `exec`s the task in its place: same pid, same open
//! files (the sandbox's `stdout` and `stderr`), same working directory
//! and environment (both set by the agent).
//!
//! When it cannot (no such program, a limit refused), it writes why to
//! the task's stderr and to the failure file, and exits with 127; the
//! agent reads the file and reports the run as `start_failed` (a task
//! that itself exits 127 leaves no file, and is reported as `exited`).

use super::limits;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// The exit status when the task could not be started (the shell's
/// "command not found").
pub const START_FAILED_STATUS: i32 = 127;

/// What the trampoline does, from its command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan {
    /// Memory limit, MiB (`RLIMIT_AS` unless a cgroup is given).
    pub mem_mib: u64,
    /// Nice value, 0..=19 (unless a cgroup is given).
    pub nice: i32,
    /// The task's cgroup v2 directory, to join instead of the rlimits.
    pub cgroup: Option<PathBuf>,
    /// Where to write why the start failed.
    pub failure_file: Option<PathBuf>,
    /// The task's program and arguments.
    pub argv: Vec<OsString>,
}

impl ExecPlan {
    /// The trampoline's arguments for this plan (after the binary's
    /// path): `agent-exec --mem-mib N --nice K [--cgroup P]
    /// [--failure-file F] -- argv…`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "agent-exec".into(),
            "--mem-mib".into(),
            self.mem_mib.to_string().into(),
            "--nice".into(),
            self.nice.to_string().into(),
        ];
        if let Some(c) = &self.cgroup {
            a.push("--cgroup".into());
            a.push(c.into());
        }
        if let Some(f) = &self.failure_file {
            a.push("--failure-file".into());
            a.push(f.into());
        }
        a.push("--".into());
        a.extend(self.argv.iter().cloned());
        a
    }
}

/// Applies the plan to this process and replaces it with the task.
/// Returns only when that failed, with the exit status to use, having
/// said why on stderr and in the failure file.
pub fn exec(plan: &ExecPlan) -> i32 {
    let err = match prepare(plan) {
        Ok(()) => {
            let Some((program, args)) = plan.argv.split_first() else {
                return fail(plan, "no command to run");
            };
            let e = std::process::Command::new(program).args(args).exec();
            format!("cannot run {:?}: {e}", program)
        }
        Err(e) => e,
    };
    fail(plan, &err)
}

/// A new session, then the limits.
fn prepare(plan: &ExecPlan) -> Result<(), String> {
    rustix::process::setsid().map_err(|e| format!("cannot start a session: {e}"))?;
    if let Some(dir) = &plan.cgroup {
        let pid = std::process::id();
        return std::fs::write(dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("cannot join cgroup {}: {e}", dir.display()));
    }
    let bytes = limits::mem_bytes(plan.mem_mib)
        .ok_or_else(|| format!("--mem-mib {} overflows a byte count", plan.mem_mib))?;
    let limit = rustix::process::Rlimit {
        current: Some(bytes),
        maximum: Some(bytes),
    };
    rustix::process::setrlimit(rustix::process::Resource::As, limit)
        .map_err(|e| format!("cannot set RLIMIT_AS to {bytes} bytes: {e}"))?;
    if plan.nice != 0 {
        rustix::process::setpriority_process(None, plan.nice)
            .map_err(|e| format!("cannot set nice {}: {e}", plan.nice))?;
    }
    Ok(())
}

fn fail(plan: &ExecPlan, why: &str) -> i32 {
    let line = format!("borgsim agent-exec: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(f) = &plan.failure_file {
        let _ = std::fs::write(f, why);
    }
    START_FAILED_STATUS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_carry_every_part_of_the_plan() {
        let plan = ExecPlan {
            mem_mib: 64,
            nice: 3,
            cgroup: Some("/cg/t".into()),
            failure_file: Some("/w/f".into()),
            argv: vec!["sh".into(), "-c".into(), "--mem-mib 1".into()],
        };
        let args: Vec<String> = plan
            .to_args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "agent-exec",
                "--mem-mib",
                "64",
                "--nice",
                "3",
                "--cgroup",
                "/cg/t",
                "--failure-file",
                "/w/f",
                "--",
                "sh",
                "-c",
                "--mem-mib 1"
            ]
        );
    }
}
