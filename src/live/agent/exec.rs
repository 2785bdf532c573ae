//! Starting a task's program with its limits in force from its first
//! instruction.
//!
//! The task must lead its own session (so one signal to its process group
//! reaches everything it starts, and a terminal signal to the agent's
//! group does not), and its limits must hold before it runs. Both are
//! done in the child between `fork` and `exec`, in std's `pre_exec` hook,
//! with nothing there but raw system calls — `setsid`, `write` (the pid
//! into the cgroup's `cgroup.procs`), `setrlimit`, `setpriority`, and for
//! an agent told `--run-as-user`/`--run-as-group`, `setgroups([])`,
//! `setgid` and `setuid` last (once the limits are set: raising nothing
//! afterwards needs privilege), through rustix's libc backend — all
//! async-signal-safe: no allocation, no lock another thread of the agent
//! could have held at the fork. (rustix's `set_thread_*` make the raw
//! system calls, which change only the calling thread: the child has one.
//! libc's `setuid` would signal the agent's other threads, which the
//! child does not have.) What needs either (opening the cgroup's file,
//! the byte count) is done before, in the agent.
//!
//! The agent is not dumpable (its `/proc` files are root's, no process
//! of its user may trace it): that flag is the agent's memory's, and
//! `exec` gives the task a fresh one, dumpable as usual — a task's own
//! `/proc/PID` files are its user's.
//!
//! The agent used to start a trampoline (its own binary, which applied
//! the limits to itself and then `exec`d the task): two `exec`s per task,
//! the first of an 80 MB program, were most of a launch's CPU
//! (reports/BENCHMARKS.md, "Live cell").
//!
//! A start that fails in the child — no such program, a limit or a cgroup
//! refused — is returned by `spawn` (std sends the child's `errno` back
//! through a close-on-exec pipe); the agent records the run as ended
//! `start_failed`, with the reason.

use super::limits;
use crate::live::proto::RunAs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

/// The limits a task starts under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartPlan {
    /// Memory limit, MiB (`RLIMIT_AS` unless a cgroup is given).
    pub mem_mib: u64,
    /// Nice value, 0..=19 (unless a cgroup is given).
    pub nice: i32,
    /// The task's cgroup v2 directory, joined instead of the rlimits.
    pub cgroup: Option<PathBuf>,
    /// The user and group it runs as, with no supplementary groups
    /// (`None`: the agent's own).
    pub run_as: Option<RunAs>,
    /// The largest file it may write, MiB (`RLIMIT_FSIZE`: its `stdout`
    /// and `stderr` included; beyond, the kernel sends it SIGXFSZ);
    /// `None`: no limit.
    pub max_file_mib: Option<u64>,
}

/// Makes `cmd` start its program as a session leader under `plan`.
///
/// # Errors
/// The cgroup's `cgroup.procs` cannot be opened for writing, or
/// `mem_mib` overflows a byte count: the message says which.
pub fn install(cmd: &mut tokio::process::Command, plan: &StartPlan) -> Result<(), String> {
    let step = ChildStep::prepare(plan)?;
    // SAFETY: the hook runs in the forked child, where only
    // async-signal-safe calls are sound. `ChildStep::run` makes raw
    // system calls only (setsid, getpid, write, setrlimit, setpriority,
    // setgroups, setgid, setuid)
    // on values prepared before the fork and a stack buffer: it
    // allocates nothing and takes no lock. Its errors are plain `errno`s.
    unsafe {
        cmd.pre_exec(move || step.run());
    }
    Ok(())
}

/// What the child does before `exec`, prepared by the agent.
struct ChildStep {
    /// `cgroup.procs` of the task's cgroup, open for writing
    /// (close-on-exec: the task never holds it).
    procs: Option<OwnedFd>,
    /// `RLIMIT_AS`, bytes (used without a cgroup).
    mem_bytes: u64,
    /// Used without a cgroup; 0 leaves it alone.
    nice: i32,
    run_as: Option<RunAs>,
    /// `RLIMIT_FSIZE`, bytes.
    max_file_bytes: Option<u64>,
}

impl ChildStep {
    fn prepare(plan: &StartPlan) -> Result<ChildStep, String> {
        let mem_bytes = limits::mem_bytes(plan.mem_mib)
            .ok_or_else(|| format!("mem_mib {} overflows a byte count", plan.mem_mib))?;
        let procs = match &plan.cgroup {
            None => None,
            Some(dir) => {
                let path = dir.join("cgroup.procs");
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| format!("cannot join cgroup {}: {e}", dir.display()))?;
                Some(OwnedFd::from(f))
            }
        };
        let max_file_bytes = match plan.max_file_mib {
            None => None,
            Some(mib) => Some(
                limits::mem_bytes(mib)
                    .ok_or_else(|| format!("max_file_mib {mib} overflows a byte count"))?,
            ),
        };
        Ok(ChildStep {
            procs,
            mem_bytes,
            nice: plan.nice,
            run_as: plan.run_as,
            max_file_bytes,
        })
    }

    /// In the child: a new session, then the cgroup or the rlimits, then
    /// the task's user and group.
    fn run(&self) -> io::Result<()> {
        rustix::process::setsid()?;
        if let Some(fd) = &self.procs {
            let mut buf = [0u8; 10];
            let pid = rustix::process::getpid().as_raw_nonzero().get();
            rustix::io::write(fd.as_fd(), decimal(pid.unsigned_abs(), &mut buf))?;
        } else {
            let limit = rustix::process::Rlimit {
                current: Some(self.mem_bytes),
                maximum: Some(self.mem_bytes),
            };
            rustix::process::setrlimit(rustix::process::Resource::As, limit)?;
            if self.nice != 0 {
                rustix::process::setpriority_process(None, self.nice)?;
            }
        }
        if let Some(bytes) = self.max_file_bytes {
            let limit = rustix::process::Rlimit {
                current: Some(bytes),
                maximum: Some(bytes),
            };
            rustix::process::setrlimit(rustix::process::Resource::Fsize, limit)?;
        }
        if let Some(id) = self.run_as {
            // Groups first: once the user changes, the privilege to
            // change them is gone.
            rustix::thread::set_thread_groups(&[])?;
            rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(id.gid))?;
            rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(id.uid))?;
        }
        Ok(())
    }
}

/// `n` in decimal ASCII, written at the end of `buf` (ten digits hold
/// any `u32`), without allocating.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `sh -c script` under `plan`: (status, stdout) or the spawn's error.
    async fn run(plan: &StartPlan, script: &str) -> io::Result<(Option<i32>, String)> {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", script]);
        install(&mut cmd, plan).map_err(io::Error::other)?;
        let out = cmd.output().await?;
        Ok((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    }

    /// `ulimit -v`, then the shell's pid, session and nice from
    /// `/proc/self/stat` (fields 1, 6 and 19).
    const SHOW: &str = "ulimit -v; read -r s < /proc/$$/stat; set -- $s; echo $$ $6 ${19}";

    fn plan(nice: i32, cgroup: Option<PathBuf>) -> StartPlan {
        StartPlan {
            mem_mib: 64,
            nice,
            cgroup,
            run_as: None,
            max_file_mib: None,
        }
    }

    #[tokio::test]
    async fn a_file_beyond_the_limit_ends_the_task_with_sigxfsz() {
        let p = StartPlan {
            max_file_mib: Some(1),
            ..plan(0, None)
        };
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        // 1 MiB is allowed (1 × 1,048,576 bytes); one byte more is not.
        let script = format!(
            "head -c 1048576 /dev/zero > {0} && echo fits; head -c 1048577 /dev/zero > {0}",
            f.display()
        );
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", &script]);
        install(&mut cmd, &p).unwrap();
        let out = cmd.output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "fits\n");
        // `head` is killed by SIGXFSZ (25); the shell reports 128 + 25.
        assert_eq!(out.status.code(), Some(153), "{:?}", out.status);
        assert_eq!(std::fs::metadata(&f).unwrap().len(), 1 << 20);
    }

    #[tokio::test]
    async fn a_task_runs_as_the_user_and_group_it_is_given_with_no_other_group() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: changing a task's user needs root");
            return;
        }
        let p = StartPlan {
            run_as: Some(RunAs {
                uid: 65_534,
                gid: 65_533,
            }),
            ..plan(10, None)
        };
        // Its ids, its groups, and the owner of its own /proc directory:
        // dumpable again after the exec (a non-dumpable process's /proc
        // files are root's).
        let script = "id -u; id -g; id -G; ulimit -v; stat -c %u /proc/$$/environ";
        let (code, out) = run(&p, script).await.unwrap();
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(out, "65534\n65533\n65533\n65536\n65534\n");
    }

    #[tokio::test]
    async fn rlimits_and_a_session_are_in_force_before_the_task_runs() {
        let (code, out) = run(&plan(10, None), SHOW).await.unwrap();
        assert_eq!(code, Some(0));
        let lines: Vec<&str> = out.lines().collect();
        // 64 MiB of address space, shown by the shell in KiB: 64 × 1024.
        assert_eq!(lines[0], "65536", "{out}");
        let f: Vec<&str> = lines[1].split(' ').collect();
        // It leads its session (session id = its pid) at nice 10.
        assert_eq!(f[0], f[1], "{out}");
        assert_eq!(f[2], "10", "{out}");
    }

    #[tokio::test]
    async fn with_a_cgroup_it_writes_its_own_pid_and_sets_no_rlimit() {
        // A plain directory stands for the cgroup: what matters is what
        // the child writes to `cgroup.procs` (the kernel moves the pid).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "").unwrap();
        let p = plan(10, Some(dir.path().to_path_buf()));
        let (code, out) = run(&p, SHOW).await.unwrap();
        assert_eq!(code, Some(0));
        let lines: Vec<&str> = out.lines().collect();
        // The cgroup's memory.max limits it: no RLIMIT_AS, no nice.
        assert_eq!(lines[0], "unlimited", "{out}");
        let f: Vec<&str> = lines[1].split(' ').collect();
        let joined = std::fs::read_to_string(dir.path().join("cgroup.procs")).unwrap();
        assert_eq!(joined, f[0], "the task's own pid");
        assert_eq!((f[1], f[2]), (f[0], "0"), "{out}");
    }

    #[tokio::test]
    async fn starts_that_cannot_happen_are_errors_of_the_spawn() {
        let mut cmd = tokio::process::Command::new("/no/such/program");
        install(&mut cmd, &plan(0, None)).unwrap();
        let e = cmd.spawn().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        // A cgroup that is not there is refused before the fork.
        let e = install(&mut cmd, &plan(0, Some("/no/such/cgroup".into()))).unwrap_err();
        assert!(e.contains("cannot join cgroup /no/such/cgroup"), "{e}");
        // A byte count that overflows is refused too.
        let huge = StartPlan {
            mem_mib: u64::MAX,
            ..plan(0, None)
        };
        assert!(install(&mut cmd, &huge).unwrap_err().contains("overflows"));
    }

    #[test]
    fn pids_are_written_in_decimal() {
        let mut buf = [0u8; 10];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(40_912, &mut buf), b"40912");
        assert_eq!(decimal(u32::MAX, &mut buf), b"4294967295");
    }
}
