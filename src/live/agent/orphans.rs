//! Tasks a previous agent left running, found and killed at start.
//!
//! An agent killed with SIGKILL cannot stop its tasks: they run on,
//! reparented to init, next to the replacements the master starts once
//! it declares them lost. So each run has a file `WORK/run/<task>.<incarnation>`
//! while its process lives: `PID STARTTIME`, the start time in clock ticks
//! since boot (field 22 of `/proc/PID/stat`), so that a pid the kernel
//! has since given to another process is never mistaken for the task.
//! The agent writes it once the process started, and removes it when the
//! task's supervisor sees it end. At start, before registering, the
//! agent reads every file of `WORK/run/`: a live process with that pid
//! and start time, leading its session, is an orphan of a previous agent
//! — its session is sent SIGKILL, each process of it started since the
//! task (and its cgroup killed, in cgroup v2 mode), the kill logged, the
//! file removed. A leader that is gone (an init reaped it) may leave its
//! session's other processes: they are killed the same way (while one
//! lives, the kernel gives the session's id to no other process). A file
//! whose pid is now another process's (another start time) is stale:
//! removed, nothing killed.
//! The files live outside the sandboxes, in a directory only the agent's
//! user may enter (mode 0700): a task run as another user owns its
//! sandbox and could rename or forge anything there, so nothing in a
//! sandbox is trusted. A file the agent's user does not own, or that is
//! not a regular file, is ignored.

use super::limits::Enforcement;
use rustix::process::Signal;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The directory of the pid files, below the work directory.
pub const RUN_DIR: &str = "run";

/// `work/run`, made (mode 0700) if missing.
///
/// # Errors
/// It cannot be made.
pub fn run_dir(work: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = work.join(RUN_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The pid file's name for a run: `<task>.<incarnation>` (a task name is
/// one plain path component, `super::sandbox`), also its cgroup leaf.
pub fn leaf(task: &crate::live::proto::TaskRef) -> String {
    format!("{}.{}", task.task, task.incarnation)
}

/// What `/proc/PID/stat` says of a process, as far as the check needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Field 5, its process group.
    pub pgrp: u32,
    /// Field 6, its session.
    pub session: u32,
    /// Field 22, clock ticks after boot.
    pub start_ticks: u64,
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2, in
/// parentheses) may hold spaces and parentheses: fields are counted
/// after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // After the name: field 3 (state) is index 0, so field N is N - 3.
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Stat {
        pgrp: f.get(2)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

/// The process `pid`'s stat, if it lives.
pub fn stat_of(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The processes of session `sid` started at or after `since` (clock
/// ticks after boot), from `/proc`: a task's session outlives its leader,
/// and while any member lives the kernel does not give the session's id
/// to another process, so its members are the task's (started after it).
pub fn session_members(sid: u32, since: u64) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| stat_of(p).is_some_and(|s| s.session == sid && s.start_ticks >= since))
        .collect();
    pids.sort_unstable();
    pids
}

/// Sends `sig` to every process of session `sid` started at or after
/// `since`, and to the process group `sid` leads; returns how many
/// processes were signalled. Never pid 0 or 1.
pub fn signal_session(sid: u32, since: u64, sig: Signal) -> usize {
    if sid <= 1 {
        return 0; // no task's: kernel threads, init
    }
    let members = session_members(sid, since);
    for &p in &members {
        if let Some(pid) = i32::try_from(p)
            .ok()
            .filter(|&p| p > 1)
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, sig);
        }
    }
    if let Some(g) = i32::try_from(sid)
        .ok()
        .filter(|&p| p > 1)
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(g, sig);
    }
    members.len()
}

/// Parses a `pid` file: `PID STARTTIME`.
pub fn parse_pid_file(text: &str) -> Option<(u32, u64)> {
    let mut parts = text.split_ascii_whitespace();
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    (parts.next().is_none() && pid > 1).then_some((pid, start))
}

/// Whether `stat` (the process's now, if it lives) is the task that
/// `pid` started at `start_ticks`: same start, and leading its session
/// and group as every task does.
pub fn is_the_task(pid: u32, start_ticks: u64, stat: Option<Stat>) -> bool {
    stat.is_some_and(|s| s.start_ticks == start_ticks && s.session == pid && s.pgrp == pid)
}

/// Writes `run/<leaf>` for the task process `pid` (just started, not
/// yet waited for, so its `/proc` entry is there even if it ended). The
/// file is created, never opened if something is there already.
///
/// # Errors
/// Its stat cannot be read, or the file cannot be created.
pub fn record(run: &Path, leaf: &str, pid: u32) -> Result<(), String> {
    use std::io::Write;
    let stat = stat_of(pid).ok_or_else(|| format!("/proc/{pid}/stat: unreadable"))?;
    let path = run.join(leaf);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{pid} {}\n", stat.start_ticks).as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The `pid` file's text, if it is a regular file of the agent's user
/// (opened without following a link, its owner checked on the open file).
fn read_own(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Nor blocking on a FIFO put there.
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(flags.bits()).ok()?)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.uid() != rustix::process::geteuid().as_raw() {
        return None;
    }
    let mut text = String::new();
    f.take(64).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Removes `run/<leaf>` (the task ended); a file already gone is fine.
pub fn forget(run: &Path, leaf: &str) {
    let _ = std::fs::remove_file(run.join(leaf));
}

/// Kills what a previous agent left running, from `work/run`; returns
/// how many orphans were killed.
pub fn kill_orphans(work: &Path, enforcement: &Enforcement) -> usize {
    let run = work.join(RUN_DIR);
    let Ok(files) = std::fs::read_dir(&run) else {
        return 0;
    };
    let mut leaves: Vec<String> = files
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    leaves.sort();
    (leaves.iter())
        .map(|leaf| usize::from(check_one(&run, leaf, enforcement)))
        .sum()
}

/// Checks one pid file; true when an orphan was killed.
fn check_one(run: &Path, cgroup_leaf: &str, enforcement: &Enforcement) -> bool {
    let path = run.join(cgroup_leaf);
    let Some(text) = read_own(&path) else {
        eprintln!(
            "agent: ignoring {}: not a file of this agent's user",
            path.display()
        );
        return false;
    };
    let Some((pid, start)) = parse_pid_file(&text) else {
        forget(run, cgroup_leaf);
        return false;
    };
    // The leader itself (its start time checked), or what is left of its
    // session once it is gone (an init that reaped it).
    let leader = is_the_task(pid, start, stat_of(pid));
    let left = if leader || stat_of(pid).is_none() {
        signal_session(pid, start, Signal::KILL)
    } else {
        0 // the pid is another process's now
    };
    if let Enforcement::CgroupV2(tree) = enforcement {
        super::limits::kill_all(&tree.task_dir(cgroup_leaf));
    }
    if left > 0 {
        eprintln!(
            "agent: killed {left} process(es) of {cgroup_leaf} (session {pid}), left running by \
             a previous agent"
        );
    }
    forget(run, cgroup_leaf);
    left > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        // A name with a space and a parenthesis; pgrp 40 (field 5),
        // session 40 (field 6), start time 9876 (field 22).
        let text = "40 (a b) c) S 1 40 40 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    9876 2000000 100 18446744073709551615";
        let s = parse_stat(text).unwrap();
        assert_eq!((s.pgrp, s.session, s.start_ticks), (40, 40, 9876));
        assert_eq!(parse_stat("40 (x) S 1"), None);
    }

    #[test]
    fn pid_files_hold_a_pid_and_a_start_time() {
        assert_eq!(parse_pid_file("123 456\n"), Some((123, 456)));
        for bad in ["", "123", "x 456", "123 456 7", "1 456", "0 1"] {
            assert_eq!(parse_pid_file(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_gone_process_or_another_start_time_is_not_the_task() {
        let leader = Stat {
            pgrp: 50,
            session: 50,
            start_ticks: 777,
        };
        assert!(is_the_task(50, 777, Some(leader)));
        // Gone.
        assert!(!is_the_task(50, 777, None));
        // The pid reused by a process started later.
        assert!(!is_the_task(50, 776, Some(leader)));
        // Not a task: no session of its own.
        let member = Stat {
            session: 1,
            ..leader
        };
        assert!(!is_the_task(50, 777, Some(member)));
    }

    #[test]
    fn only_a_live_recorded_task_is_killed_and_stale_files_go() {
        let work = tempfile::tempdir().unwrap();
        // This test's own process, alive, with another start time; and
        // a pid that cannot be alive (above the kernel's pid limit).
        let me = std::process::id();
        let start = stat_of(me).unwrap().start_ticks;
        let files = [
            ("b", format!("{me} {}\n", start + 1)),
            ("c", "4194305 1\n".to_string()),
        ];
        let run = run_dir(work.path()).unwrap();
        for (task, text) in &files {
            std::fs::write(run.join(format!("{task}.1")), text).unwrap();
        }
        assert_eq!(kill_orphans(work.path(), &Enforcement::Rlimit), 0);
        for (task, _) in &files {
            assert!(
                !run.join(format!("{task}.1")).exists(),
                "{task}'s stale file kept"
            );
        }
    }

    /// A `sleep 30` leading its own session, as a task does, once its
    /// stat shows it (after `setsid`'s exec).
    fn session_leader() -> (std::process::Child, u32, u64) {
        let mut child = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .spawn()
            .expect("setsid sleep");
        let pid = child.id();
        for _ in 0..500 {
            if let Some(s) = stat_of(pid).filter(|s| s.session == pid) {
                return (child, pid, s.start_ticks);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("sleep {pid} never led its session");
    }

    #[test]
    fn a_recorded_live_task_is_killed_and_a_link_is_not_followed() {
        let work = tempfile::tempdir().unwrap();
        let run = run_dir(work.path()).unwrap();
        let (mut child, pid, start) = session_leader();
        // A link to a file naming it: ignored, left alone.
        let target = work.path().join("elsewhere");
        std::fs::write(&target, format!("{pid} {start}\n")).unwrap();
        std::os::unix::fs::symlink(&target, run.join("linked.1")).unwrap();
        assert_eq!(kill_orphans(work.path(), &Enforcement::Rlimit), 0);
        assert!(stat_of(pid).is_some_and(|s| s.start_ticks == start));
        // A file in a sandbox (where a task could forge one) is never read.
        let sandbox = work.path().join("tasks/forged/1");
        std::fs::create_dir_all(&sandbox).unwrap();
        std::fs::write(sandbox.join("pid"), format!("{pid} {start}\n")).unwrap();
        assert_eq!(kill_orphans(work.path(), &Enforcement::Rlimit), 0);
        assert!(stat_of(pid).is_some_and(|s| s.start_ticks == start));
        // Its own file: killed (SIGKILL, seen by its parent), file gone.
        record(&run, "orphan.1", pid).unwrap();
        assert_eq!(kill_orphans(work.path(), &Enforcement::Rlimit), 1);
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert!(!run.join("orphan.1").exists());
        // Recording never opens what is there already.
        // (This process lives: only the link can stop it.)
        assert!(run.join("linked.1").is_symlink(), "an ignored link is left");
        assert!(record(&run, "linked.1", std::process::id()).is_err());
        let kept = std::fs::read_to_string(&target).unwrap();
        assert_eq!(kept, format!("{pid} {start}\n"));
    }

    #[test]
    fn what_is_left_of_a_session_whose_leader_is_gone_is_killed() {
        use std::io::BufRead;
        let work = tempfile::tempdir().unwrap();
        let run = run_dir(work.path()).unwrap();
        // A leader that starts a member, says its pid, and exits.
        let mut leader = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 30 & echo $!; read x"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lpid = leader.id();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(leader.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        let member: u32 = line.trim().parse().unwrap();
        let start = stat_of(lpid).unwrap().start_ticks;
        std::fs::write(run.join("gone.1"), format!("{lpid} {start}\n")).unwrap();
        drop(leader.stdin.take());
        leader.wait().unwrap(); // reaped: gone from /proc
        assert!(stat_of(member).is_some_and(|s| s.session == lpid));
        assert_eq!(kill_orphans(work.path(), &Enforcement::Rlimit), 1);
        // Killed (its parent is gone: init reaps it; wait until it has).
        let gone = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_to_string(format!("/proc/{member}/stat"))
                .map_or(true, |t| t.contains(") Z "))
        });
        assert!(gone, "member {member} still runs");
    }
}
