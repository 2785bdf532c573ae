//! How a task's request becomes a limit the kernel enforces.
//!
//! Two mechanisms, chosen once at start and reported (log line,
//! [`crate::live::proto::AgentInfo::limits`], the registration):
//!
//! - **cgroup v2**, when the unified hierarchy is mounted and the agent's
//!   own cgroup is writable (delegated to its user, as systemd's
//!   `Delegate=yes` does). The agent moves itself into `<own>/agent/`
//!   (a cgroup with processes cannot enable controllers for children),
//!   enables `memory` and `cpu` below `<own>/`, and gives each task run a
//!   cgroup `<own>/tasks/<task>.<incarnation>/` with
//!   `memory.max` = `mem_mib` × 1 MiB (the kernel kills the task when it
//!   goes beyond; `memory.events` `oom_kill` tells the agent so) and
//!   `cpu.weight` = `cpu_milli` / 10 clamped to 1..=10000 (one core asks
//!   for the default weight, 100).
//! - **rlimits** otherwise (cgroup v1 machines, undelegated cgroups):
//!   `RLIMIT_AS` = `mem_mib` × 1 MiB (address space, not resident memory:
//!   a program that reserves more than it touches, such as a JVM or a Go
//!   runtime, needs a request to match; an allocation beyond fails inside
//!   the task, which usually exits or aborts — reported as such, not as
//!   out of memory) and a nice value for CPU weight: the nice level whose
//!   CFS weight (the kernel's `sched_prio_to_weight` table) is nearest to
//!   1024 × `cpu_milli` / 1000, and 0 for a core or more (an unprivileged
//!   process cannot lower its nice value, so requests above one core are
//!   not favoured).
//!
//! Both are applied in the task's process between `fork` and `exec` (see
//! [`super::exec`]): no window in which the task runs unlimited.

use std::io;
use std::path::{Path, PathBuf};

/// One MiB in bytes.
const MIB: u64 = 1 << 20;

/// The kernel's CFS weights for nice 0..=19 (`sched_prio_to_weight`).
const NICE_WEIGHTS: [u64; 20] = [
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/// The nice value (0..=19) standing for a request of `cpu_milli`.
///
/// ```text
/// target weight = 1024 × cpu_milli / 1000
/// 1000 m → 1024 → nice 0;  500 m → 512 → 526, nice 3;
/// 100 m → 102 → 110, nice 10;  1 m → 1 → 15, nice 19
/// ```
pub fn nice_for(cpu_milli: u64) -> i32 {
    let target = cpu_milli.saturating_mul(1024) / 1000;
    let nearest = NICE_WEIGHTS
        .iter()
        .enumerate()
        .min_by_key(|&(_, &w)| w.abs_diff(target))
        .map_or(0, |(nice, _)| nice);
    i32::try_from(nearest).unwrap_or(0)
}

/// cgroup v2 `cpu.weight` for a request of `cpu_milli`: one core is the
/// default weight 100; clamped to the kernel's 1..=10000.
pub fn cpu_weight_for(cpu_milli: u64) -> u64 {
    (cpu_milli / 10).clamp(1, 10_000)
}

/// `mem_mib` in bytes, `None` if that overflows.
pub fn mem_bytes(mem_mib: u64) -> Option<u64> {
    mem_mib.checked_mul(MIB)
}

/// The directory of this process's cgroup in the unified (v2)
/// hierarchy, from the texts of `/proc/self/cgroup` and
/// `/proc/self/mountinfo`; `None` when no cgroup2 file system is mounted
/// or the process has no v2 cgroup (a v1-only machine).
pub fn unified_cgroup_dir(proc_cgroup: &str, mountinfo: &str) -> Option<PathBuf> {
    // The v2 line is `0::/path`; v1 lines have a controller list.
    let path = proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .trim();
    let (root, mount) = cgroup2_mount(mountinfo)?;
    // Inside a cgroup namespace the path is relative to the mount's root.
    let rel = path.strip_prefix(root.as_str()).unwrap_or(path);
    let rel = rel.trim_start_matches('/');
    let dir = if rel.is_empty() {
        mount
    } else {
        mount.join(rel)
    };
    Some(dir)
}

/// The (root, mount point) of the first cgroup2 mount in a mountinfo
/// text: fields `id parent dev root mountpoint opts… - fstype src opts`.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut f = left.split_whitespace().skip(3);
        let root = unescape(f.next()?);
        let mount = unescape(f.next()?);
        Some((root, PathBuf::from(mount)))
    })
}

/// mountinfo's octal escapes (`\040` for a space) decoded.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (b[i], octal) {
            (b'\\', Some(v)) => {
                out.push(v);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why the cgroup directory `own` cannot hold task cgroups, or `None`
/// when it can: it must list the `memory` and `cpu` controllers and be
/// writable by this process.
pub fn unusable_reason(own: &Path) -> Option<String> {
    let controllers = match std::fs::read_to_string(own.join("cgroup.controllers")) {
        Ok(c) => c,
        Err(e) => return Some(format!("{}: {e}", own.join("cgroup.controllers").display())),
    };
    let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
    if !(has("memory") && has("cpu")) {
        return Some(format!(
            "{}: the memory and cpu controllers are not both available (have: {})",
            own.display(),
            controllers.trim()
        ));
    }
    for p in [own.to_path_buf(), own.join("cgroup.subtree_control")] {
        if let Err(e) = rustix::fs::access(&p, access_for(&p)) {
            return Some(format!("{}: not writable: {e}", p.display()));
        }
    }
    None
}

/// Directories need search permission too; files only write.
fn access_for(p: &Path) -> rustix::fs::Access {
    if p.is_dir() {
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK
    } else {
        rustix::fs::Access::WRITE_OK
    }
}

/// The mechanism in force on this agent.
#[derive(Clone, Debug)]
pub enum Enforcement {
    /// Per-task cgroups below this tree.
    CgroupV2(CgroupTree),
    /// `RLIMIT_AS` and nice values.
    Rlimit,
}

impl Enforcement {
    /// The mode as the wire reports it.
    pub fn mode(&self) -> crate::live::proto::LimitsMode {
        match self {
            Enforcement::CgroupV2(_) => crate::live::proto::LimitsMode::CgroupV2,
            Enforcement::Rlimit => crate::live::proto::LimitsMode::Rlimit,
        }
    }
}

/// Chooses the mechanism for the agent (process `pid`) and says why, for
/// the log: cgroup v2 when its cgroup is usable and taking it over
/// succeeds, rlimits otherwise.
pub fn detect(pid: u32) -> (Enforcement, String) {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let Some(own) = unified_cgroup_dir(&read("/proc/self/cgroup"), &read("/proc/self/mountinfo"))
    else {
        let why = "no cgroup v2 (unified) hierarchy for this process".to_string();
        return (Enforcement::Rlimit, why);
    };
    if let Some(why) = unusable_reason(&own) {
        return (Enforcement::Rlimit, why);
    }
    match CgroupTree::delegate(&own, pid) {
        Ok(tree) => {
            let why = format!("task cgroups under {}", tree.tasks.display());
            (Enforcement::CgroupV2(tree), why)
        }
        Err(e) => (
            Enforcement::Rlimit,
            format!("{}: cannot take over the cgroup: {e}", own.display()),
        ),
    }
}

/// The cgroups of one agent's tasks: `<own>/tasks/<leaf>/`.
#[derive(Clone, Debug)]
pub struct CgroupTree {
    tasks: PathBuf,
}

impl CgroupTree {
    /// Takes over the delegated cgroup `own`: moves the process `pid`
    /// (the agent) into `own/agent`, enables `memory` and `cpu` for
    /// `own`'s children and for `own/tasks`, the parent of the tasks'
    /// cgroups.
    ///
    /// # Errors
    /// A directory or control file that cannot be created or written.
    pub fn delegate(own: &Path, pid: u32) -> io::Result<CgroupTree> {
        let agent = own.join("agent");
        mkdir_ok_if_exists(&agent)?;
        std::fs::write(agent.join("cgroup.procs"), pid.to_string())?;
        std::fs::write(own.join("cgroup.subtree_control"), "+memory +cpu")?;
        let tasks = own.join("tasks");
        mkdir_ok_if_exists(&tasks)?;
        std::fs::write(tasks.join("cgroup.subtree_control"), "+memory +cpu")?;
        Ok(CgroupTree { tasks })
    }

    /// Where the cgroup of the task run `leaf` is (made or not).
    pub fn task_dir(&self, leaf: &str) -> PathBuf {
        self.tasks.join(leaf)
    }

    /// The cgroup of one task run, created with its limits.
    ///
    /// # Errors
    /// The directory or a limit file cannot be written, or `mem_mib` MiB
    /// overflows a byte count.
    pub fn create_task(&self, leaf: &str, mem_mib: u64, cpu_milli: u64) -> io::Result<PathBuf> {
        let dir = self.tasks.join(leaf);
        mkdir_ok_if_exists(&dir)?;
        let bytes = mem_bytes(mem_mib).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "mem_mib overflows bytes")
        })?;
        std::fs::write(dir.join("memory.max"), bytes.to_string())?;
        std::fs::write(
            dir.join("cpu.weight"),
            cpu_weight_for(cpu_milli).to_string(),
        )?;
        Ok(dir)
    }
}

fn mkdir_ok_if_exists(dir: &Path) -> io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Whether the kernel killed a process of the cgroup `dir` for memory
/// (`memory.events`: `oom_kill N`, N > 0).
pub fn oom_killed(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("memory.events")).is_ok_and(|t| oom_kills(&t) > 0)
}

/// The `oom_kill` count of a `memory.events` text (0 if absent).
fn oom_kills(events: &str) -> u64 {
    events
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Kills every process of the cgroup `dir` (`cgroup.kill`, Linux 5.14+;
/// without it the process-group kill is all there is).
pub fn kill_all(dir: &Path) {
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
}

/// Removes the (empty) cgroup `dir`; a cgroup whose last process is
/// still exiting cannot be removed yet, so a few tries are made.
pub async fn remove(dir: &Path) {
    for _ in 0..20 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    eprintln!("agent: cannot remove cgroup {}", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_values_follow_the_kernel_weights() {
        assert_eq!(nice_for(1000), 0);
        assert_eq!(nice_for(4000), 0, "above a core: not favoured");
        assert_eq!(nice_for(500), 3); // 512: 526 (3) beats 423 (4)
        assert_eq!(nice_for(100), 10); // 102: 110 (10) beats 87 (11)
        assert_eq!(nice_for(1), 19); // 1: nearest is 15
        assert_eq!(nice_for(u64::MAX), 0, "saturates, no overflow");
    }

    #[test]
    fn cpu_weights_and_memory_bytes() {
        assert_eq!(cpu_weight_for(1000), 100);
        assert_eq!(cpu_weight_for(5), 1);
        assert_eq!(cpu_weight_for(250), 25);
        assert_eq!(cpu_weight_for(500_000), 10_000);
        assert_eq!(mem_bytes(64), Some(64 << 20));
        assert_eq!(mem_bytes(u64::MAX), None);
    }

    const V1_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
";

    #[test]
    fn a_v1_only_machine_has_no_unified_dir() {
        let cg = "9:name=systemd:/\n8:pids:/\n4:memory:/user.slice\n";
        assert_eq!(unified_cgroup_dir(cg, V1_MOUNTS), None);
    }

    #[test]
    fn the_unified_dir_joins_mount_and_path() {
        let cg = "0::/user.slice/user-1000.slice/borgsim.service\n";
        let mounts = format!(
            "{V1_MOUNTS}35 24 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        );
        assert_eq!(
            unified_cgroup_dir(cg, &mounts),
            Some(PathBuf::from(
                "/sys/fs/cgroup/user.slice/user-1000.slice/borgsim.service"
            ))
        );
        // Hybrid: v1 lines and a unified mount elsewhere, with a space.
        let hybrid = "1:name=systemd:/x\n0::/x\n";
        let m = "40 31 0:33 / /sys/fs/cgroup/uni\\040fied rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            unified_cgroup_dir(hybrid, m),
            Some(PathBuf::from("/sys/fs/cgroup/uni fied/x"))
        );
        // A cgroup namespace: the path is relative to the mount's root.
        let ns = "50 1 0:40 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            unified_cgroup_dir("0::/kubepods/pod1/c\n", ns),
            Some(PathBuf::from("/sys/fs/cgroup/c"))
        );
        assert_eq!(
            unified_cgroup_dir("0::/\n", ns),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
    }

    #[test]
    fn delegation_and_task_cgroups_write_their_files() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path();
        std::fs::write(
            own.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        std::fs::write(own.join("cgroup.subtree_control"), "").unwrap();
        assert_eq!(unusable_reason(own), None);
        let tree = CgroupTree::delegate(own, 4242).unwrap();
        let read = |p: &str| std::fs::read_to_string(own.join(p)).unwrap();
        assert_eq!(read("agent/cgroup.procs"), "4242");
        assert_eq!(read("cgroup.subtree_control"), "+memory +cpu");
        assert_eq!(read("tasks/cgroup.subtree_control"), "+memory +cpu");
        let dir = tree.create_task("0.j.u.c.1", 64, 500).unwrap();
        assert_eq!(dir, own.join("tasks/0.j.u.c.1"));
        assert_eq!(
            read("tasks/0.j.u.c.1/memory.max"),
            (64u64 << 20).to_string()
        );
        assert_eq!(read("tasks/0.j.u.c.1/cpu.weight"), "50");
        assert!(!oom_killed(&dir));
        std::fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert!(oom_killed(&dir));
    }

    #[test]
    fn a_cgroup_without_the_controllers_is_unusable() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("cgroup.controllers"), "pids io\n").unwrap();
        let why = unusable_reason(tmp.path()).unwrap();
        assert!(why.contains("memory and cpu"), "{why}");
        let none = unusable_reason(&tmp.path().join("missing")).unwrap();
        assert!(none.contains("cgroup.controllers"), "{none}");
    }
}
