//! `pending.csv`: every task still pending at the end, and why.
//!
//! The reasons are those of the last failed attempt for the task's job (all
//! tasks of a job are identical, so they share it): per filter reason, how
//! many machines were rejected for it. A task that no machine could host even
//! empty (`never_schedulable`) is never attempted; its reasons are every
//! machine, empty and at full capacity, under the first check it fails
//! ([`NeverFit`]; machines down at the end count as `machine_down`), and its
//! `why` names the constraint or the resource. That is evaluated once per
//! (request, constraints), however many tasks share them, and once per group
//! of identical machines ([`MachineGroups`]).
//!
//! A task is named as `borgsim explain --task` takes it: `job_name` and
//! `task_index` (the index in the job), or in a trace replay `job_id` and
//! `trace_task`; the `task_id` is borgsim's slot, reused once the job is
//! reclaimed. `job_id` is the job's submission serial (never reused, so the
//! event log names it the same way); a trace
//! replay's rows name the trace's job: `job_id` is its key in the trace (a
//! trace job may reach the cell as several borgsim jobs). Tasks the
//! workload submitted but holds outside the cell (waiting for a DAG parent)
//! are pending too: they follow the cell's rows, with status `held`, no
//! `task_id` (they have no borgsim id yet), the trace's label of the task
//! as `trace_task` (`R2_1.0`) and the reason as `why`
//! (`waiting_for_dependency M1`). A replay's cell rows also carry the
//! trace's label (`trace_task`: the instance index, after the stage if any).
//!
//! A task a fault evicted and the reschedule rate limit holds back
//! (`[faults.reschedule_limit]`) is pending but outside the queue the passes
//! scan: its status is `reschedule_queued` whatever its job's last attempt
//! said, with its place in the queue (`queue_position`, 1 = next), when its
//! turn comes at the limit's rate (`queue_release_s`, possibly after the
//! run's end) and, in `why`, since when it waits (see
//! [`crate::sim::queued`]).
//!
//! A task killed for memory and held back by the out-of-memory back-off
//! (reclamation on; see `cell::state::usage::backoff`) is pending but
//! passed by as well: its status is `backing_off`, and `why` says how many
//! kills in a row and until when.
//!
//! One source of truth for the columns: a row is a [`Row`], the task's
//! columns a derived struct, the reason columns [`Reason`]'s names, and
//! the header is what the csv crate writes for a row (field names, in
//! order), so the header and the rows cannot disagree.

use crate::cell::attrs::Constraint;
use crate::cell::resources::Request;
use crate::cell::state::usage::backoff::OomHold;
use crate::cell::state::TaskState;
use crate::sched::reason::{MachineGroups, NeverFit, Reason, ReasonCounts};
use crate::sim::queued::{Queued, RescheduleQueue};
use crate::sim::Simulation;
use crate::time::SimTime;
use crate::workload::{Band, JobId, Priority, TaskId};
use rustc_hash::FxHashMap;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// One row of `pending.csv`: the task's columns, one column per
/// [`Reason`], then `why`. The csv crate writes each part's fields in turn.
#[derive(Serialize)]
pub struct Row(Task, Reasons, Why);

/// A row's columns before the reasons.
#[derive(Serialize)]
struct Task {
    /// None for a task held outside the cell (it has no borgsim id yet).
    task_id: Option<TaskId>,
    trace_task: String,
    job_id: u64,
    job_name: String,
    /// The task's index in its job: with `job_name`, how `borgsim explain
    /// --task` names it. None in a trace replay, whose tasks are named by
    /// `job_id` and `trace_task`.
    task_index: Option<u32>,
    band: Band,
    priority: Priority,
    cpu_milli: u64,
    mem_mib: u64,
    gpu_milli: u64,
    pending_since_s: Seconds,
    evictions: u32,
    status: Status,
    last_attempt_s: Option<Seconds>,
    /// `reschedule_queued`: its place in the reschedule queue (1 = next).
    queue_position: Option<u32>,
    /// `reschedule_queued`: when its turn comes at the rate limit's pace.
    queue_release_s: Option<Seconds>,
}

/// Where a pending task stands (the `status` column); its names are
/// serde's, and strum derives the same for [`Status::name`].
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// Attempted, and no machine took it at its job's last attempt.
    Unschedulable,
    /// No machine could host it even empty: never attempted.
    NeverSchedulable,
    /// No scheduling pass since it became pending.
    NotAttempted,
    /// A trace-placement replay: no SCHEDULE of the trace has placed it.
    AwaitingTracePlacement,
    /// Held outside the cell by a trace replay (a DAG parent not done).
    Held,
    /// Evicted by a fault and held back by the reschedule rate limit, in
    /// the reschedule queue that no pass scans.
    RescheduleQueued,
    /// Killed for memory (reclamation on) and held back by the
    /// out-of-memory back-off: passes pass it by until the hold ends.
    BackingOff,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: &'static [Status] = <Status as strum::VariantArray>::VARIANTS;

    /// The `status` column's value (`reschedule_queued`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Machines rejected per reason: a column per [`Reason`], named by it, in
/// [`Reason::ALL`] order; all 0 for a task with no attempt.
struct Reasons(Option<ReasonCounts>);

impl Serialize for Reasons {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Reasons", Reason::ALL.len())?;
        for &r in Reason::ALL {
            st.serialize_field(r.key(), &self.0.as_ref().map_or(0, |c| c.get(r)))?;
        }
        st.end()
    }
}

/// The last column: the reasons as a sentence.
#[derive(Serialize)]
struct Why {
    why: String,
}

/// A time in seconds with microsecond precision (`12.000500`).
#[derive(Copy, Clone)]
struct Seconds(SimTime);

impl Serialize for Seconds {
    /// `SimTime`'s display without its unit (`12.000500`), written
    /// straight to the serializer: pending.csv can hold millions of rows.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let us = self.0.as_us();
        s.collect_str(&format_args!(
            "{}.{:06}",
            us / crate::time::US_PER_S,
            us % crate::time::US_PER_S
        ))
    }
}

/// The CSV header: what the csv crate writes for a row.
pub fn header() -> csv::StringRecord {
    let example = Row(
        Task {
            task_id: None,
            trace_task: String::new(),
            job_id: 0,
            job_name: String::new(),
            task_index: None,
            band: Band::BestEffort,
            priority: 0,
            cpu_milli: 0,
            mem_mib: 0,
            gpu_milli: 0,
            pending_since_s: Seconds(SimTime::ZERO),
            evictions: 0,
            status: Status::Held,
            last_attempt_s: None,
            queue_position: None,
            queue_release_s: None,
        },
        Reasons(None),
        Why { why: String::new() },
    );
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(&example).expect("writing to memory");
    let bytes = w.into_inner().expect("flushing to memory");
    csv::Reader::from_reader(bytes.as_slice())
        .headers()
        .expect("just written")
        .clone()
}

/// `pending.csv`: the header, then [`rows`].
pub fn csv_bytes(sim: &Simulation) -> Vec<u8> {
    csv_bytes_of(&rows(sim))
}

/// `pending.csv` of these rows: the header, then the rows.
pub fn csv_bytes_of(rows: &[Row]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(&header()).expect("writing to memory");
    let mut out = w.into_inner().expect("flushing to memory");
    let mut int = itoa::Buffer::new();
    for row in rows {
        row.write_to(&mut out, &mut int);
    }
    out
}

/// Appends one CSV field and its separator: `text` as the csv crate
/// writes it by default (quoted if it holds a comma, a quote, CR or LF,
/// with quotes doubled; the rule of `csv_core`'s `QuoteStyle::Necessary`
/// for the default delimiter, quote and terminator).
fn push_text(out: &mut Vec<u8>, text: &str) {
    let b = text.as_bytes();
    if b.iter().any(|c| matches!(c, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for &c in b {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b);
    }
    out.push(b',');
}

fn push_int(out: &mut Vec<u8>, buf: &mut itoa::Buffer, n: Option<impl itoa::Integer>) {
    if let Some(n) = n {
        out.extend_from_slice(buf.format(n).as_bytes());
    }
    out.push(b',');
}

fn push_seconds(out: &mut Vec<u8>, buf: &mut itoa::Buffer, t: Option<Seconds>) {
    if let Some(t) = t {
        let us = t.0.as_us();
        out.extend_from_slice(buf.format(us / crate::time::US_PER_S).as_bytes());
        let frac = buf.format(us % crate::time::US_PER_S + crate::time::US_PER_S);
        // 1_000_000 + the µs: the digits after its leading 1 are the
        // fraction padded to six places.
        out.push(b'.');
        out.extend_from_slice(&frac.as_bytes()[1..]);
    }
    out.push(b',');
}

impl Row {
    /// Appends the row: the bytes `csv::Writer::serialize` writes for it
    /// (the test `the_direct_writer_writes_what_serde_writes` holds them
    /// equal), without serde's and the csv writer's per-field dispatch,
    /// which cost 8,000 instructions a row (pending.csv can hold millions).
    fn write_to(&self, out: &mut Vec<u8>, int: &mut itoa::Buffer) {
        let Row(t, reasons, why) = self;
        push_int(out, int, t.task_id);
        push_text(out, &t.trace_task);
        push_int(out, int, Some(t.job_id));
        push_text(out, &t.job_name);
        push_int(out, int, t.task_index);
        push_text(out, t.band.name());
        push_int(out, int, Some(t.priority));
        push_int(out, int, Some(t.cpu_milli));
        push_int(out, int, Some(t.mem_mib));
        push_int(out, int, Some(t.gpu_milli));
        push_seconds(out, int, Some(t.pending_since_s));
        push_int(out, int, Some(t.evictions));
        push_text(out, t.status.name());
        push_seconds(out, int, t.last_attempt_s);
        push_int(out, int, t.queue_position);
        push_seconds(out, int, t.queue_release_s);
        for &r in Reason::ALL {
            push_int(out, int, Some(reasons.0.as_ref().map_or(0, |c| c.get(r))));
        }
        push_text(out, &why.why);
        // The last field's separator becomes the record's terminator.
        *out.last_mut().expect("a field was written") = b'\n';
    }
}

/// `pending.csv`'s rows counted, per band (indexed by [`Band::index`]), for
/// the run report: by status, and by main reason — the reason that rejected
/// the most machines at the task's last attempt (for a task no machine
/// could ever host, the check the most machines fail; the first in
/// [`Reason::ALL`] order on a tie), or, for a task with no reasons (not
/// attempted, held, awaiting the trace's placement), its status. Only
/// what occurs is listed, in the enums' order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub by_status: Vec<(&'static str, [u64; 4])>,
    pub by_reason: Vec<(&'static str, [u64; 4])>,
}

/// Counts `rows` (see [`Tally`]).
pub fn tally(rows: &[Row]) -> Tally {
    let mut status = vec![[0u64; 4]; <Status as strum::VariantArray>::VARIANTS.len()];
    let mut reason = vec![[0u64; 4]; Reason::ALL.len()];
    let mut other = vec![[0u64; 4]; status.len()];
    for Row(task, Reasons(counts), _) in rows {
        let band = task.band.index();
        let s = task.status as usize;
        status[s][band] += 1;
        let main = counts.as_ref().and_then(|c| {
            let best = Reason::ALL.iter().copied().max_by_key(|r| {
                // max_by_key keeps the last of equals: rank ties by reverse order.
                (c.get(*r), std::cmp::Reverse(*r as usize))
            })?;
            (c.get(best) > 0).then_some(best)
        });
        match main {
            Some(r) => reason[r as usize][band] += 1,
            None => other[s][band] += 1,
        }
    }
    let statuses = <Status as strum::VariantArray>::VARIANTS;
    let occurring = |names: Vec<&'static str>, counts: Vec<[u64; 4]>| {
        names
            .into_iter()
            .zip(counts)
            .filter(|(_, c)| c.iter().any(|n| *n > 0))
            .collect::<Vec<_>>()
    };
    let status_names: Vec<&'static str> = statuses.iter().map(|s| (*s).into()).collect();
    let mut by_reason = occurring(Reason::ALL.iter().map(|r| r.key()).collect(), reason);
    by_reason.extend(occurring(status_names.clone(), other));
    Tally {
        by_status: occurring(status_names, status),
        by_reason,
    }
}

/// Rows for the still-pending tasks, in task-id order, then the held ones
/// in the order they were held.
pub fn rows(sim: &Simulation) -> Vec<Row> {
    let mut rows = cell_rows(sim);
    rows.extend(held_rows(sim));
    rows
}

fn held_rows(sim: &Simulation) -> Vec<Row> {
    sim.feed()
        .held_tasks()
        .into_iter()
        .map(|h| {
            let req = h.request;
            let task = Task {
                task_id: None,
                trace_task: h.task,
                job_id: h.job_id,
                job_name: h.job_name,
                task_index: None,
                band: Band::of(h.priority),
                priority: h.priority,
                cpu_milli: req.res.cpu_milli,
                mem_mib: req.res.mem_mib,
                gpu_milli: req.gpu.milli(),
                pending_since_s: Seconds(h.since),
                evictions: 0,
                status: Status::Held,
                last_attempt_s: None,
                queue_position: None,
                queue_release_s: None,
            };
            Row(task, Reasons(None), Why { why: h.reason })
        })
        .collect()
}

/// Why a task of the cell is pending: its status, its last attempt, the
/// machines rejected per reason and the sentence.
type Verdict = (Status, Option<Seconds>, Option<ReasonCounts>, String);

/// The never-schedulable verdicts, evaluated once per (request,
/// constraints) and looked up, never iterated; the machine groups are
/// built at the first never-schedulable task.
#[derive(Default)]
struct NeverCache<'a> {
    verdicts: FxHashMap<(Request, &'a [Constraint]), (ReasonCounts, String)>,
    groups: Option<MachineGroups>,
}

fn verdict<'a>(
    sim: &'a Simulation,
    never: &mut NeverCache<'a>,
    job: &'a crate::workload::Job,
    queued: Option<Queued>,
    hold: Option<OomHold>,
) -> Verdict {
    let st = sim.state();
    let req = job.spec.request;
    if let Some(q) = queued {
        // Whatever its job's last attempt said: no pass sees it now.
        let why = q.describe(Some(sim.now()).filter(|_| sim.is_done()));
        return (Status::RescheduleQueued, None, None, why);
    }
    if let Some(h) = hold {
        // The same: passes pass it by until the hold ends.
        return (Status::BackingOff, None, None, h.describe());
    }
    match (job.ever_schedulable, sim.scheduler().why_pending(job.id)) {
        (false, _) => {
            let (counts, text) = never
                .verdicts
                .entry((req, &job.spec.constraints))
                .or_insert_with(|| {
                    let groups = never.groups.get_or_insert_with(|| MachineGroups::of(st));
                    let nf = NeverFit::of(st.cell(), groups, &req, &job.spec.constraints);
                    (nf.counts.clone(), nf.describe(&st.cell().attr_table))
                });
            (
                Status::NeverSchedulable,
                None,
                Some(counts.clone()),
                text.clone(),
            )
        }
        (true, None) if !sim.options().passes => (
            Status::AwaitingTracePlacement,
            None,
            None,
            "trace-placement mode: no SCHEDULE of the trace has placed it since it \
             became pending (one that did not fit is counted in summary.json as \
             trace.replay.schedule_does_not_fit)"
                .into(),
        ),
        (true, None) => (
            Status::NotAttempted,
            None,
            None,
            "no scheduling pass since it became pending".into(),
        ),
        (true, Some(w)) => (
            Status::Unschedulable,
            Some(Seconds(SimTime(w.attempt_us))),
            Some(w.counts.clone()),
            w.counts.describe(st.cell().len()),
        ),
    }
}

fn cell_rows(sim: &Simulation) -> Vec<Row> {
    let st = sim.state();
    let mut never = NeverCache::default();
    let queue: RescheduleQueue = sim.reschedule_queue();
    // A job's tasks that are neither queued nor held share its verdict:
    // worked out (and its text formatted) once per job, not per task.
    let mut by_job: FxHashMap<JobId, Verdict> = FxHashMap::default();
    st.live_tasks()
        .filter(|(_, r)| r.state == TaskState::Pending)
        .map(|(t, r)| {
            let job = st.job(r.job);
            let req = job.spec.request;
            let queued = queue.get(t);
            let hold = st.oom_hold(t, sim.now());
            let (status, attempt, counts, why) = match (queued, hold) {
                (None, None) => by_job
                    .entry(job.id)
                    .or_insert_with(|| verdict(sim, &mut never, job, None, None))
                    .clone(),
                _ => verdict(sim, &mut never, job, queued, hold),
            };
            let task = Task {
                task_id: Some(t),
                trace_task: sim.feed().trace_task(t).unwrap_or_default(),
                job_id: job.trace_job.unwrap_or(job.serial),
                job_name: job.spec.name.to_string(),
                task_index: job.trace_job.is_none().then_some(r.index),
                band: job.band(),
                priority: job.priority(),
                cpu_milli: req.res.cpu_milli,
                mem_mib: req.res.mem_mib,
                gpu_milli: req.gpu.milli(),
                pending_since_s: Seconds(r.pending_since),
                evictions: r.evictions,
                status,
                last_attempt_s: attempt,
                queue_position: queued.map(|q| q.position),
                queue_release_s: queued.and_then(|q| q.turn).map(|(_, at)| Seconds(at)),
            };
            Row(task, Reasons(counts), Why { why })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(band: Band, status: Status, counts: Option<&[(Reason, u32)]>) -> Row {
        let task = Task {
            task_id: Some(0),
            trace_task: String::new(),
            job_id: 0,
            job_name: "j".into(),
            task_index: Some(0),
            band,
            priority: band.default_priority(),
            cpu_milli: 1,
            mem_mib: 1,
            gpu_milli: 0,
            pending_since_s: Seconds(SimTime::ZERO),
            evictions: 0,
            status,
            last_attempt_s: None,
            queue_position: None,
            queue_release_s: None,
        };
        let counts = counts.map(|c| {
            let mut rc = ReasonCounts::default();
            for (r, n) in c {
                rc.add_n(*r, *n);
            }
            rc
        });
        Row(task, Reasons(counts), Why { why: String::new() })
    }

    /// The reference: the header, then each row through the csv crate's serde.
    fn serde_csv(rows: &[Row]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.write_record(&header()).unwrap();
        for r in rows {
            w.serialize(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn the_direct_writer_writes_what_serde_writes() {
        // Every band and status, fields set and unset, text that needs
        // quoting, and the numbers' extremes: byte for byte the csv
        // crate's serde output.
        let mut rows = Vec::new();
        for (i, (&band, &status)) in Band::ALL.iter().cycle().zip(Status::ALL).enumerate() {
            let i = i as u32;
            let mut r = row(
                band,
                status,
                Some(&[(Reason::InsufficientCpu, i), (Reason::TaskFailedHere, 7)]),
            );
            r.0.trace_task = ["", "a,b", "say \"hi\"", "line\nbreak"][i as usize % 4].into();
            r.0.job_name = format!("job {i}");
            r.0.task_id = i.is_multiple_of(2).then_some(TaskId::MAX - i);
            r.0.task_index = i.is_multiple_of(3).then_some(i);
            r.0.job_id = u64::MAX - u64::from(i);
            r.0.pending_since_s = Seconds(SimTime(1_000_042 * u64::from(i)));
            r.0.last_attempt_s = (i % 2 == 1).then_some(Seconds(SimTime(u64::from(i))));
            r.0.queue_position = i.is_multiple_of(2).then_some(i + 1);
            r.0.queue_release_s = (i % 3 == 1).then_some(Seconds(SimTime(999_999)));
            r.0.evictions = i;
            r.2.why = format!("0/{i} machines are available: {i} insufficient_cpu");
            rows.push(r);
        }
        rows.push(row(Band::Batch, Status::NotAttempted, None));
        let want = String::from_utf8(serde_csv(&rows)).unwrap();
        let got = String::from_utf8(csv_bytes_of(&rows)).unwrap();
        assert_eq!(got, want);
        assert!(got.contains("\"a,b\""), "quoted as the csv crate quotes");
        // Every byte a name could hold, one field each: quoted exactly
        // when and as the csv crate quotes.
        let mut odd = Vec::new();
        for b in 0u8..=127 {
            let mut r = row(Band::Batch, Status::Held, None);
            r.0.job_name = format!("x{}y", b as char);
            r.0.trace_task = (b as char).to_string();
            r.2.why = "é ✓ 中".into();
            odd.push(r);
        }
        assert_eq!(csv_bytes_of(&odd), serde_csv(&odd));
    }

    #[test]
    fn the_tally_counts_by_status_and_by_main_reason() {
        use Reason::{InsufficientCpu, InsufficientMemory};
        let rows = [
            // Memory rejected more machines than CPU: memory is the main reason.
            row(
                Band::Batch,
                Status::Unschedulable,
                Some(&[(InsufficientCpu, 2), (InsufficientMemory, 5)]),
            ),
            // A tie goes to the reason listed first (CPU before memory).
            row(
                Band::Batch,
                Status::Unschedulable,
                Some(&[(InsufficientCpu, 3), (InsufficientMemory, 3)]),
            ),
            row(
                Band::Production,
                Status::NeverSchedulable,
                Some(&[(InsufficientCpu, 8)]),
            ),
            // No reasons: counted under its status.
            row(Band::BestEffort, Status::NotAttempted, None),
        ];
        let t = tally(&rows);
        let (be, b, p) = (
            Band::BestEffort.index(),
            Band::Batch.index(),
            Band::Production.index(),
        );
        let at = |list: &[(&'static str, [u64; 4])], name: &str| {
            list.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
        };
        assert_eq!(at(&t.by_status, "unschedulable").unwrap()[b], 2);
        assert_eq!(at(&t.by_status, "never_schedulable").unwrap()[p], 1);
        assert_eq!(at(&t.by_status, "not_attempted").unwrap()[be], 1);
        assert_eq!(at(&t.by_status, "held"), None, "only what occurs");
        assert_eq!(at(&t.by_reason, "insufficient_memory").unwrap()[b], 1);
        let cpu = at(&t.by_reason, "insufficient_cpu").unwrap();
        assert_eq!((cpu[b], cpu[p]), (1, 1));
        assert_eq!(at(&t.by_reason, "not_attempted").unwrap()[be], 1);
        let names: Vec<&str> = t.by_reason.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["insufficient_cpu", "insufficient_memory", "not_attempted"],
            "reasons in Reason::ALL order, then statuses"
        );
    }
}
