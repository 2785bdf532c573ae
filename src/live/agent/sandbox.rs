//! A task's sandbox: the directory it runs in, and the checks that keep a
//! launch request inside it.
//!
//! Every name and path in a launch comes from the network. The task's
//! name becomes a directory name, its `workdir` a path below the sandbox,
//! its `env` the process's environment: each is checked here *before*
//! anything is created, so a refused launch changes nothing. The rules:
//! - a task name is one plain path component (`[A-Za-z0-9._-]`, not `.`
//!   or `..`, at most 255 bytes): Borg's `index.job.user.cell` fits;
//! - `workdir` is relative, has no `..` (nor `.`-only) component, and
//!   after it is created and resolved (symbolic links followed) it still
//!   lies inside the sandbox;
//! - the command is not empty and no argument or variable holds a NUL
//!   byte; a variable's name is not empty, holds no `=` and does not
//!   start with `BORGSIM_` (the agent's own variables) — the master's
//!   check, shared (`crate::live::spec_check`).
//!
//! Layout: `WORK/tasks/<task>/<incarnation>/` holds `stdout`, `stderr`
//! (which also gets the agent's reason when the command could not be
//! started) and the task's working directory (the sandbox itself
//! unless `workdir` names a directory below it).

use crate::live::proto::{TaskLaunch, TaskRef};
use std::path::{Component, Path, PathBuf};

/// Longest task name, in bytes: a file name's limit on Linux.
pub const MAX_TASK_NAME_BYTES: usize = 255;

/// `name` if it can be one directory name, else why not.
///
/// # Errors
/// Empty, longer than [`MAX_TASK_NAME_BYTES`], `.` or `..`, or holding a
/// character other than ASCII letters, digits, `.`, `_` and `-`.
pub fn task_component(name: &str) -> Result<&str, String> {
    if name.is_empty() || name.len() > MAX_TASK_NAME_BYTES {
        return Err(format!(
            "task: a name of 1 to {MAX_TASK_NAME_BYTES} bytes is expected, got {} bytes",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("task: {name:?} cannot name a task"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "task: only ASCII letters, digits, '.', '_' and '-' may appear in a task name, not {c:?}"
        ));
    }
    Ok(name)
}

/// The working directory `workdir` names, relative to the sandbox.
///
/// # Errors
/// Absolute, or with a `..` component (or a prefix, on systems with
/// them): the spec's paths may not leave the sandbox.
pub fn relative_workdir(workdir: Option<&str>) -> Result<PathBuf, String> {
    let Some(w) = workdir else {
        return Ok(PathBuf::new());
    };
    if w.contains('\0') {
        return Err("workdir: a NUL byte cannot appear in a path".into());
    }
    let mut out = PathBuf::new();
    for part in Path::new(w).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "workdir: {w:?} has a `..` component; a path inside the sandbox is expected"
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "workdir: {w:?} is absolute; a path relative to the sandbox is expected"
                ))
            }
        }
    }
    Ok(out)
}

/// Checks the parts of a launch that are not paths: a command, arguments
/// and variables the kernel can take, and requests of at least 1.
///
/// # Errors
/// The first field that is wrong, named.
pub fn check_launch(launch: &TaskLaunch) -> Result<(), String> {
    task_component(&launch.task.task)?;
    if launch.task.incarnation == 0 {
        return Err("task.incarnation: 1 or more is expected (the first start is 1)".into());
    }
    crate::live::spec_check::check_command_env(&launch.command, &launch.env)?;
    if launch.cpu_milli == 0 || launch.mem_mib == 0 {
        return Err("cpu_milli, mem_mib: 1 or more is expected".into());
    }
    relative_workdir(launch.workdir.as_deref()).map(|_| ())
}

/// The sandbox of one task run: `work/tasks/<task>/<incarnation>`.
pub fn sandbox_dir(work: &Path, task: &TaskRef) -> PathBuf {
    work.join("tasks")
        .join(&task.task)
        .join(task.incarnation.to_string())
}

/// Creates `rel` below the (existing) sandbox, one component at a time
/// and never through a symbolic link (so nothing is created outside it),
/// and returns its resolved path, checked to lie inside the sandbox.
///
/// # Errors
/// A component is a symbolic link or not a directory, a directory cannot
/// be created, or the result resolves outside the sandbox: the message
/// says which.
pub fn make_workdir(sandbox: &Path, rel: &Path) -> Result<PathBuf, String> {
    let root = sandbox
        .canonicalize()
        .map_err(|e| format!("sandbox {}: {e}", sandbox.display()))?;
    let mut dir = root.clone();
    for part in rel.components() {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "workdir: {} passes through a symbolic link; it must stay inside the sandbox",
                    rel.display()
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("workdir: {} is not a directory", rel.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&dir)
                .map_err(|e| format!("workdir: cannot create {}: {e}", rel.display()))?,
            Err(e) => return Err(format!("workdir: {}: {e}", rel.display())),
        }
    }
    let resolved = dir
        .canonicalize()
        .map_err(|e| format!("workdir: cannot resolve: {e}"))?;
    if !resolved.starts_with(&root) {
        return Err(format!(
            "workdir: {} resolves outside the sandbox",
            rel.display()
        ));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn launch(command: &[&str], workdir: Option<&str>) -> TaskLaunch {
        TaskLaunch {
            task: TaskRef {
                task: "0.web.alice.cell".into(),
                incarnation: 1,
            },
            command: command.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            workdir: workdir.map(str::to_string),
            cpu_milli: 100,
            mem_mib: 64,
        }
    }

    #[test]
    fn task_names_are_one_plain_component() {
        assert!(task_component("0.web.alice.cell").is_ok());
        assert!(task_component("a_b-c").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "é", "a\0b"] {
            assert!(task_component(bad).is_err(), "{bad:?} accepted");
        }
        assert!(task_component(&"x".repeat(256)).is_err());
        assert!(task_component(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn workdirs_stay_relative_and_below() {
        assert_eq!(relative_workdir(None).unwrap(), PathBuf::new());
        assert_eq!(
            relative_workdir(Some("a/./b")).unwrap(),
            PathBuf::from("a/b")
        );
        assert_eq!(relative_workdir(Some(".")).unwrap(), PathBuf::new());
        let up = relative_workdir(Some("../x")).unwrap_err();
        assert!(up.contains("`..`"), "{up}");
        assert!(relative_workdir(Some("a/../../b")).is_err());
        let abs = relative_workdir(Some("/etc")).unwrap_err();
        assert!(abs.contains("absolute"), "{abs}");
        assert!(relative_workdir(Some("a\0b")).is_err());
    }

    #[test]
    fn launches_name_the_wrong_field() {
        assert!(check_launch(&launch(&["true"], None)).is_ok());
        assert!(check_launch(&launch(&[], None))
            .unwrap_err()
            .starts_with("command"));
        assert!(check_launch(&launch(&[""], None)).is_err());
        assert!(check_launch(&launch(&["echo", "a\0b"], None))
            .unwrap_err()
            .starts_with("command[1]"));
        assert!(check_launch(&launch(&["true"], Some("../x")))
            .unwrap_err()
            .starts_with("workdir"));
        let mut l = launch(&["true"], None);
        l.env.insert("A=B".into(), "1".into());
        assert!(check_launch(&l).unwrap_err().starts_with("env"));
        let mut l = launch(&["true"], None);
        l.task.task = "../../etc".into();
        assert!(check_launch(&l).unwrap_err().starts_with("task"));
        let mut l = launch(&["true"], None);
        l.mem_mib = 0;
        assert!(check_launch(&l).is_err());
    }

    #[test]
    fn a_symbolic_link_out_of_the_sandbox_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let sandbox = tmp.path().join("box");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&sandbox).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, sandbox.join("link")).unwrap();
        let err = make_workdir(&sandbox, Path::new("link/sub")).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        // Nothing was created through the link.
        assert!(!outside.join("sub").exists());
        let ok = make_workdir(&sandbox, Path::new("a/b")).unwrap();
        assert!(ok.ends_with("box/a/b") && ok.is_dir());
    }
}
