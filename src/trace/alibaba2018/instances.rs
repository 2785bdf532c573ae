//! batch_instance: the instances of batch tasks as they actually ran.
//!
//! With batch_instance given, batch_task is read whole first (one row per
//! task: its request, stage, dependencies and `instance_num` — bounded by
//! the number of tasks, not instances) and batch_instance is streamed: each
//! row is one run of an instance — a Submit at its `start_time` with the
//! task's request, its own run length (`end_time − start_time`) and how
//! that run ends ([`TraceTask::end_kind`](crate::trace::TraceTask::end_kind)),
//! then a Schedule on its `machine_id` at the same time — so the trace can be
//! replayed in either mode — then, when the row has `cpu_avg` and
//! `mem_avg`, a [`TraceEvent::Usage`] at the same time: one value for the
//! whole run, from its start. The end is known at submission, so no End
//! record follows: the replay ends the run after its length, as the kind
//! says, in both modes. Instance names are random ids; an instance's index
//! is its order of appearance within its task.
//!
//! The row's `status` decides its end: `Terminated` ends with FINISH;
//! `Failed`, `Cancelled` and `Interrupted` with KILL — the run is over and
//! nothing in the trace resumes it under the same row (a FAIL would send
//! it back to pending, to wait for a re-placement the trace never
//! records); `Running` has no end: it runs to the end of the trace
//! (`no_end_time`); `Waiting` and `Ready` never started and are skipped
//! (`not_started`); any other value ends with KILL (`status_unrecognised`).
//!
//! Rules, counted under `batch_instance.<rule>`: an instance of a task that
//! batch_task does not list is skipped (`task_unknown`); one without a
//! start time is skipped (`no_start`); one with no end (0, empty or before
//! the start) runs to the end of the trace (`no_end_time`); one without a
//! machine is submitted but has no placement (`no_machine`: in
//! trace-placement mode it stays pending). When the table ends, each task's
//! rows are compared with its `instance_num`: instances batch_task lists
//! but batch_instance has no row for never run (`instances_missing`, one
//! per instance), and rows beyond `instance_num` run like the others
//! (`instances_beyond_instance_num`). A row without `cpu_avg` or
//! `mem_avg` (empty, or the trailing columns left out) has no usage
//! (`usage_missing`). The published table is not sorted by
//! start time: a row earlier than the one before is held at that time
//! (`time_went_back`; held past its own end, it ends when it starts) — sort
//! it first for a faithful replay.

use super::names::{numbered, task_name};
use super::tables::{percent, run_status, Ctx, RunStatus, Table};
use super::{Phase, CONTAINER_JOB_BIT};
use crate::cell::resources::Resources;
use crate::error::Result;
use crate::time::{SimTime, US_PER_S};
use crate::trace::input::{CsvLayout, CsvRows, Row};
use crate::trace::Source as TraceFile;
use crate::trace::{lenient, EndKind, Monotone, TraceEvent, TraceRecord, TraceTask};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// One parsed instance row.
pub(super) struct InstanceRow {
    job: u64,
    stage: u32,
    start: SimTime,
    end: Option<SimTime>,
    machine: Option<u64>,
    kind: EndKind,
    /// `cpu_avg` and `mem_avg`, converted: the run's usage from its start.
    usage: Option<Resources>,
}

/// The instance stream.
pub(super) struct Instances {
    rows: CsvRows,
    /// batch_task's rows: the task and its `instance_num`.
    tasks: FxHashMap<(u64, u32), (TraceTask, u32)>,
    next_index: FxHashMap<(u64, u32), u32>,
    head: Option<InstanceRow>,
    ready: VecDeque<TraceRecord>,
    monotone: Monotone,
    done: bool,
    /// Whether `cpu_avg` and `mem_avg` are read (not with
    /// [`Select::WithoutUsage`](crate::trace::Select::WithoutUsage)).
    usage: bool,
}

impl Instances {
    /// `tasks`: batch_task's rows by (job, stage), with `instance_num`.
    pub fn new(
        files: Vec<TraceFile>,
        tasks: FxHashMap<(u64, u32), (TraceTask, u32)>,
        usage: bool,
    ) -> Self {
        Instances {
            rows: CsvRows::new(files, CsvLayout::HEADERLESS),
            tasks,
            next_index: FxHashMap::default(),
            head: None,
            ready: VecDeque::new(),
            monotone: Monotone::default(),
            done: false,
            usage,
        }
    }

    /// When the next record is due, and its phase: exactly what
    /// [`Instances::pop`] returns next.
    pub fn next_key(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<(SimTime, Phase)>> {
        self.fill(ctx)?;
        if let Some(r) = self.ready.front() {
            let phase = match r.event {
                TraceEvent::Usage { .. } => Phase::Usage,
                _ => Phase::Start,
            };
            return Ok(Some((r.time, phase)));
        }
        Ok(self.head.as_ref().map(|h| (h.start, Phase::Start)))
    }

    /// The next record (call after [`Instances::next_key`]).
    pub fn pop(&mut self) -> Option<TraceRecord> {
        if let Some(r) = self.ready.pop_front() {
            return Some(r);
        }
        let row = self.head.take()?;
        let (template, _) = self.tasks.get(&(row.job, row.stage))?;
        let index = self.next_index.entry((row.job, row.stage)).or_insert(0);
        let mut task = template.clone();
        task.key.index = *index;
        *index += 1;
        task.duration = row.end.map(|e| e - row.start);
        task.end_kind = row.end.map(|_| row.kind);
        let key = task.key;
        self.ready.push_back(TraceRecord {
            time: row.start,
            event: TraceEvent::Submit(Box::new(task)),
        });
        if let Some(machine) = row.machine {
            self.ready.push_back(TraceRecord {
                time: row.start,
                event: TraceEvent::Schedule { task: key, machine },
            });
        }
        if let Some(usage) = row.usage {
            self.ready.push_back(TraceRecord {
                time: row.start,
                event: TraceEvent::Usage { task: key, usage },
            });
        }
        self.ready.pop_front()
    }

    /// Reads rows until a usable one is the head (or the table ends).
    fn fill(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        let table = Table::BatchInstance.name();
        while self.head.is_none() && !self.done {
            let adv = self.rows.advance();
            if !matches!(adv, Ok(false)) {
                ctx.stats.rows += 1;
            }
            match lenient(adv, ctx.lenient, ctx.stats, table)? {
                Some(true) => {}
                Some(false) => {
                    self.done = true;
                    self.compare_instance_counts(ctx);
                    return Ok(());
                }
                None => continue,
            }
            let parsed = instance_row(self.rows.row(), ctx, self.usage);
            let Some(row) = lenient(parsed, ctx.lenient, ctx.stats, table)? else {
                continue;
            };
            let Some(mut row) = row else { continue };
            if !self.tasks.contains_key(&(row.job, row.stage)) {
                ctx.stats.repair("batch_instance.task_unknown");
                continue;
            }
            row.start = self.monotone.fix(row.start, ctx.stats, table);
            // Held past its own end: it ends when it starts (a run with no
            // end would hold its resources to the end of the trace).
            if let Some(e) = row.end.as_mut() {
                *e = (*e).max(row.start);
            }
            self.head = Some(row);
        }
        Ok(())
    }

    /// At the table's end: each task's rows against its `instance_num`.
    fn compare_instance_counts(&self, ctx: &mut Ctx<'_>) {
        let (mut missing, mut beyond) = (0u64, 0u64);
        for (key, (_, num)) in &self.tasks {
            let seen = self.next_index.get(key).copied().unwrap_or(0);
            missing += u64::from(num.saturating_sub(seen));
            beyond += u64::from(seen.saturating_sub(*num));
        }
        for (rule, n) in [
            ("batch_instance.instances_missing", missing),
            ("batch_instance.instances_beyond_instance_num", beyond),
        ] {
            if n > 0 {
                *ctx.stats.repaired.entry(rule.to_string()).or_default() += n;
            }
        }
    }
}

/// Parses an instance row; `None` for one the rules skip. `usage`: read
/// `cpu_avg` and `mem_avg`.
fn instance_row(row: Row<'_>, ctx: &mut Ctx<'_>, usage: bool) -> Result<Option<InstanceRow>> {
    row.expect_fields(8, "batch_instance")?;
    let name = row.str(1, "task_name")?;
    let dag = task_name(name).map_err(|m| row.error("task_name", m))?;
    let job_s = row.str(2, "job_name")?;
    let job = numbered(job_s, "j_")
        .filter(|&n| n < CONTAINER_JOB_BIT)
        .ok_or_else(|| row.error("job_name", format!("expected j_<number>, found {job_s:?}")))?;
    let (kind, ended) = match run_status(row.str(4, "status")?) {
        RunStatus::NotStarted => {
            ctx.stats.repair("batch_instance.not_started");
            return Ok(None);
        }
        RunStatus::Terminated => (EndKind::Finish, true),
        RunStatus::Ended(_) => (EndKind::Kill, true),
        RunStatus::Running => (EndKind::Kill, false),
        RunStatus::Unrecognised => {
            ctx.stats.repair("batch_instance.status_unrecognised");
            (EndKind::Kill, true)
        }
    };
    let start = match row.opt_int(5, "start_time")? {
        Some(s) if s > 0 => SimTime((s as u64).saturating_mul(US_PER_S)),
        Some(s) if s < 0 => {
            return Err(row.error("start_time", format!("expected a time ≥ 0, found {s}")))
        }
        _ => {
            ctx.stats.repair("batch_instance.no_start");
            return Ok(None);
        }
    };
    let end = match row.opt_int(6, "end_time")? {
        Some(e) if e < 0 => {
            return Err(row.error("end_time", format!("expected a time ≥ 0, found {e}")))
        }
        Some(e) if ended && e > 0 && (e as u64).saturating_mul(US_PER_S) >= start.as_us() => {
            Some(SimTime((e as u64).saturating_mul(US_PER_S)))
        }
        _ => {
            ctx.stats.repair("batch_instance.no_end_time");
            None
        }
    };
    let m = row.str(7, "machine_id")?;
    let machine =
        if m.is_empty() {
            ctx.stats.repair("batch_instance.no_machine");
            None
        } else {
            Some(numbered(m, "m_").ok_or_else(|| {
                row.error("machine_id", format!("expected m_<number>, found {m:?}"))
            })?)
        };
    Ok(Some(InstanceRow {
        job,
        stage: dag.stage,
        start,
        end,
        machine,
        kind,
        usage: if usage { averages(&row, ctx)? } else { None },
    }))
}

/// `cpu_avg` (100 = 1 core, × 10 → milli-cores, as `plan_cpu`) and
/// `mem_avg` (0–100 of the reference machine's memory, as `plan_mem`);
/// `None`, counted as `batch_instance.usage_missing`, if either is empty or
/// absent.
fn averages(row: &Row<'_>, ctx: &mut Ctx<'_>) -> Result<Option<Resources>> {
    let given = |i: usize| !row.raw(i).trim_ascii().is_empty();
    if !(given(10) && given(12)) {
        ctx.stats.repair("batch_instance.usage_missing");
        return Ok(None);
    }
    let cpu_milli = row.decimal(10, "cpu_avg")?.scale_ratio(1000, 100);
    let mem_mib = percent(row, 12, "mem_avg")?.scale_ratio(ctx.reference.mem_mib, 100);
    Ok(Some(Resources::new(cpu_milli, mem_mib)))
}
