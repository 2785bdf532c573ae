//! The live cell's page: its machines, jobs and tasks, served by the
//! master at `GET /` in the run report's look.
//!
//! It is a [`crate::report::Page`] — the same style sheet, header, table
//! of contents and number formats as `report.html` — so a cell watched
//! live reads like a simulated one. It refreshes itself every few seconds
//! (a `<meta http-equiv="refresh">`; the page stays script-free), and
//! every value is escaped by maud: a job or machine name cannot break it.
//!
//! Tasks: every one not yet ended, then the most recently ended ones up to
//! [`ENDED_SHOWN`], so the page stays small in a long-lived cell (`borgsim
//! status tasks` lists all).

use super::proto::{JobStatus, MachineStatus, TaskState, TaskStatus};
use crate::report::html::{count, num};
use crate::report::{Page, Section};
use maud::{html, Markup};

/// Ended tasks shown, most recent first.
pub const ENDED_SHOWN: usize = 200;

/// Seconds between the page's own reloads.
pub const REFRESH_S: u32 = 5;

/// What the page shows: the master's view at one instant.
pub struct CellView<'a> {
    pub cell: &'a str,
    pub machines: &'a [MachineStatus],
    pub jobs: &'a [JobStatus],
    pub tasks: &'a [TaskStatus],
}

/// The HTML document.
pub fn render(v: &CellView) -> String {
    let page = Page {
        title: format!("Live cell: {}", v.cell),
        lede: lede(v),
        sections: vec![machines(v), jobs(v), tasks(v)],
        footer: html! {
            "Served by the borgsim master; reloads every " (REFRESH_S) " s. "
            "The same lists as JSON: " code { "borgsim status machines|jobs|tasks --json" } "."
        },
    };
    let refresh = format!("<head><meta http-equiv=\"refresh\" content=\"{REFRESH_S}\">");
    page.render().replacen("<head>", &refresh, 1)
}

fn lede(v: &CellView) -> Markup {
    let running = v
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .count();
    let pending = v
        .tasks
        .iter()
        .filter(|t| matches!(t.state, TaskState::Pending | TaskState::Lost))
        .count();
    html! {
        p {
            (count(v.machines.len() as u64)) " machines, "
            (count(v.jobs.len() as u64)) " jobs; "
            (count(running as u64)) " tasks running, "
            (count(pending as u64)) " pending."
        }
    }
}

/// A wire enum's name (`running`).
fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn machines(v: &CellView) -> Section {
    let body = html! {
        table id="machines" {
            thead { tr {
                th { "machine" } th { "state" } th.num { "CPU allocated / capacity (m)" }
                th.num { "memory allocated / capacity (MiB)" } th.num { "GPUs" }
                th.num { "CPU used (m)" } th.num { "memory used (MiB)" }
                th.num { "tasks" } th { "limits" }
            } }
            tbody {
                @for m in v.machines {
                    tr {
                        td.id { (m.name) } td { (name_of(&m.state)) }
                        (num(format!("{} / {}", count(m.allocated.cpu_milli), count(m.capacity.cpu_milli))))
                        (num(format!("{} / {}", count(m.allocated.mem_mib), count(m.capacity.mem_mib))))
                        (num(format!("{} / {}", m.allocated.gpus, m.capacity.gpus)))
                        (num(count(m.usage.cpu_milli)))
                        (num(count(m.usage.mem_mib)))
                        (num(count(u64::from(m.tasks_running))))
                        td { (name_of(&m.limits)) }
                    }
                }
            }
        }
    };
    Section {
        id: "machines",
        title: "Machines".into(),
        body,
    }
}

fn jobs(v: &CellView) -> Section {
    let body = html! {
        table id="jobs" {
            thead { tr {
                th { "job" } th { "user" } th.num { "priority" } th.num { "tasks" } th { "tasks by state" }
            } }
            tbody {
                @for j in v.jobs {
                    tr {
                        td.id { (j.name) @if j.killed { " (killed)" } }
                        td { (j.user) }
                        (num(j.priority.to_string()))
                        (num(count(u64::from(j.task_states.values().sum::<u32>()))))
                        td { @for (i, (s, n)) in j.task_states.iter().enumerate() {
                            @if i > 0 { ", " } (s) " " (n)
                        } }
                    }
                }
            }
        }
    };
    Section {
        id: "jobs",
        title: "Jobs".into(),
        body,
    }
}

/// Live tasks first (in the master's order), then the latest ended.
fn shown(tasks: &[TaskStatus]) -> Vec<&TaskStatus> {
    let mut live: Vec<&TaskStatus> = tasks.iter().filter(|t| !t.state.is_terminal()).collect();
    let mut ended: Vec<&TaskStatus> = tasks.iter().filter(|t| t.state.is_terminal()).collect();
    ended.sort_by(|a, b| {
        b.ended_ms
            .cmp(&a.ended_ms)
            .then_with(|| a.name.cmp(&b.name))
    });
    ended.truncate(ENDED_SHOWN);
    live.extend(ended);
    live
}

fn tasks(v: &CellView) -> Section {
    let rows = shown(v.tasks);
    let hidden = v.tasks.len() - rows.len();
    let body = html! {
        table id="tasks" {
            thead { tr {
                th { "task" } th { "state" } th { "machine" } th.num { "incarnation" }
                th.num { "exit" } th { "reason" }
            } }
            tbody {
                @for t in &rows {
                    tr {
                        td.id { (t.name) } td { (name_of(&t.state)) }
                        td { (t.machine.as_deref().unwrap_or("")) }
                        (num(t.incarnation.to_string()))
                        (num(exit(t)))
                        td { (t.reason()) }
                    }
                }
            }
        }
        @if hidden > 0 {
            p.note { (count(hidden as u64)) " older ended tasks are not shown." }
        }
    };
    Section {
        id: "tasks",
        title: "Tasks".into(),
        body,
    }
}

fn exit(t: &TaskStatus) -> String {
    match (t.exit_code, t.signal) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => format!("signal {s}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::proto::{Capacity, LimitsMode, MachineState, Usage};

    fn task(name: &str, state: TaskState, ended_ms: Option<u64>) -> TaskStatus {
        TaskStatus {
            name: name.into(),
            job: "j".into(),
            index: 0,
            state,
            machine: Some("<m1>".into()),
            incarnation: 1,
            exit_code: None,
            signal: None,
            pending_reason: None,
            detail: None,
            submitted_ms: 0,
            started_ms: None,
            ended_ms,
            submit_to_running_us: None,
        }
    }

    #[test]
    fn names_are_escaped_and_the_page_refreshes() {
        let m = MachineStatus {
            name: "<script>".into(),
            addr: "127.0.0.1:1".into(),
            state: MachineState::Up,
            capacity: Capacity::default(),
            allocated: Capacity::default(),
            usage: Usage::default(),
            tasks_running: 0,
            limits: LimitsMode::Rlimit,
            last_heartbeat_ms: None,
        };
        let tasks = [task("0.j.u.c", TaskState::Running, None)];
        let html = render(&CellView {
            cell: "c",
            machines: std::slice::from_ref(&m),
            jobs: &[],
            tasks: &tasks,
        });
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains("&lt;m1&gt;"));
        assert!(html.contains("http-equiv=\"refresh\" content=\"5\""));
        assert!(html.contains("1 tasks running, 0 pending"));
    }

    #[test]
    fn live_tasks_come_first_and_only_the_latest_ended_are_kept() {
        let mut tasks = vec![task("live", TaskState::Pending, None)];
        for i in 0..(ENDED_SHOWN as u64 + 5) {
            tasks.push(task(&format!("{i}.j"), TaskState::Finished, Some(i)));
        }
        let s = shown(&tasks);
        assert_eq!(s.len(), 1 + ENDED_SHOWN);
        assert_eq!(s[0].name, "live");
        // Ended at 204 (the last pushed) is the most recent, shown first.
        assert_eq!(s[1].name, format!("{}.j", ENDED_SHOWN + 4));
    }
}
