//! The one check of a task's command and environment, shared by the
//! master (a submission, before its 201) and the agent (a launch, before
//! anything is made).
//!
//! What the master admits the agent must be able to start: a job the
//! master took in and every agent refuses would fail each of its tasks
//! with no reason the submitter sees. So both sides call
//! [`check_command_env`], and what one accepts the other does. The rules
//! are the kernel's and the agent's:
//! - the command names a program (a non-empty first element);
//! - no argument, variable name or value holds a NUL byte (`execve`
//!   takes C strings);
//! - a variable's name is not empty and holds no `=`;
//! - no variable's name starts with [`AGENT_ENV_PREFIX`]: the agent sets
//!   those (`BORGSIM_TASK`, `BORGSIM_INCARNATION`, `BORGSIM_SANDBOX`).

use std::collections::BTreeMap;

/// The prefix of the variables the agent sets in every task.
pub const AGENT_ENV_PREFIX: &str = "BORGSIM_";

/// Checks a task's command and environment (module doc).
///
/// # Errors
/// The first field that breaks a rule, named as the JSON has it
/// (`command`, `command[2]`, `env`, `env.A`), with what is expected.
pub fn check_command_env(command: &[String], env: &BTreeMap<String, String>) -> Result<(), String> {
    match command.first() {
        None => return Err("command: a program to run is expected, got []".into()),
        Some(p) if p.is_empty() => return Err("command[0]: the program's name is empty".into()),
        Some(_) => {}
    }
    if let Some(i) = command.iter().position(|a| a.contains('\0')) {
        return Err(format!(
            "command[{i}]: a NUL byte cannot appear in an argument"
        ));
    }
    for (k, v) in env {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(format!(
                "env: {k:?} cannot name a variable (not empty, no '=' or NUL)"
            ));
        }
        if k.starts_with(AGENT_ENV_PREFIX) {
            return Err(format!(
                "env.{k}: names starting with {AGENT_ENV_PREFIX} are reserved (the agent sets these)"
            ));
        }
        if v.contains('\0') {
            return Err(format!("env.{k}: a NUL byte cannot appear in a value"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::live::agent::sandbox::check_launch;
    use crate::live::proto::{TaskLaunch, TaskRef};

    fn launch(command: &[&str], env: &[(&str, &str)]) -> TaskLaunch {
        TaskLaunch {
            task: TaskRef {
                task: "0.web.alice.cell".into(),
                incarnation: 1,
            },
            command: command.iter().map(|s| s.to_string()).collect(),
            env: (env.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            workdir: None,
            cpu_milli: 100,
            mem_mib: 64,
        }
    }

    /// A command, its variables, and the start of the refusal (`None`: accepted).
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], Option<&'a str>);

    /// The rules, as the agent applies them to a launch.
    #[test]
    fn the_agent_refuses_what_the_rules_refuse() {
        let cases: [Case; 8] = [
            (&["sleep", "1"], &[("A", "1")], None),
            (&[], &[], Some("command: a program")),
            (&[""], &[], Some("command[0]: the program's name is empty")),
            (&["sh", "-c", "a\0b"], &[], Some("command[2]: a NUL byte")),
            (&["sh"], &[("A", "x\0y")], Some("env.A: a NUL byte")),
            (&["sh"], &[("A=B", "1")], Some("env: \"A=B\" cannot name")),
            (&["sh"], &[("", "1")], Some("env: \"\" cannot name")),
            (
                &["sh"],
                &[("BORGSIM_TASK", "x")],
                Some("env.BORGSIM_TASK: names starting with BORGSIM_"),
            ),
        ];
        for (command, env, want) in cases {
            let got = check_launch(&launch(command, env));
            match want {
                None => assert_eq!(got, Ok(()), "{command:?} {env:?}"),
                Some(w) => {
                    let e = got.expect_err(w);
                    assert!(e.starts_with(w), "{e} (wanted {w})");
                }
            }
        }
    }
}
