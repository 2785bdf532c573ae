//! Borg names and the checks on what a client names.
//!
//! A task is named `index.job.user.cell` (Borg's BNS path, reversed: the
//! most specific part first), the name the agent, the logs and the
//! client all use. The name must read back unambiguously, so job, user
//! and cell names are limited to `[A-Za-z0-9_-]` (no dot), 1..=64
//! characters: what is submitted is checked here, before anything
//! changes, and a task name an agent reports is parsed here.

/// Longest job, user or cell name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a job, user or cell name; `what` names the field in the error.
///
/// # Errors
/// Empty, longer than [`MAX_NAME_CHARS`], or holding a character other
/// than ASCII letters, digits, `_` and `-`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_CHARS {
        return Err(format!(
            "`{what}` must have 1 to {MAX_NAME_CHARS} characters, not {}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "`{what}` may hold only letters, digits, `_` and `-`, not {c:?}"
        ));
    }
    Ok(())
}

/// The Borg name of task `index` of `job`, run by `user` in `cell`.
pub fn task_name(index: u32, job: &str, user: &str, cell: &str) -> String {
    format!("{index}.{job}.{user}.{cell}")
}

/// A task name read back: (index, job, user, cell); `None` if it is not
/// of the form [`task_name`] writes.
pub fn parse_task_name(name: &str) -> Option<(u32, &str, &str, &str)> {
    let mut parts = name.split('.');
    let index = parts.next()?.parse().ok()?;
    let job = parts.next()?;
    let user = parts.next()?;
    let cell = parts.next()?;
    if parts.next().is_some() || job.is_empty() || user.is_empty() || cell.is_empty() {
        return None;
    }
    Some((index, job, user, cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_written() {
        let n = task_name(7, "web-1", "alice", "cell");
        assert_eq!(n, "7.web-1.alice.cell");
        assert_eq!(parse_task_name(&n), Some((7, "web-1", "alice", "cell")));
        assert_eq!(parse_task_name("x.web.alice.cell"), None);
        assert_eq!(parse_task_name("1.web.alice"), None);
        assert_eq!(parse_task_name("1.web.alice.cell.more"), None);
    }

    #[test]
    fn only_plain_names_are_admitted() {
        assert!(check_name("name", "web_1-a").is_ok());
        assert!(check_name("name", "").unwrap_err().contains("1 to 64"));
        assert!(check_name("name", "a.b").unwrap_err().contains("'.'"));
        assert!(check_name("user", "../root").is_err());
        assert!(check_name("name", &"x".repeat(65)).is_err());
    }
}
