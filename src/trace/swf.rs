//! The Standard Workload Format (SWF) v2.2 of the Parallel Workloads Archive.
//!
//! # Format
//! One job per line, exactly 18 fields separated by whitespace (a line with
//! more or fewer is a bad row, column `-`). A field a log does not know is
//! `-1`. Lines starting with `;` are comments; those at the top of a file
//! are header comments such as `; MaxProcs: 128`. Lines are meant to be
//! sorted by submit time. The standard allows decimal values in the time
//! fields, so times are read as exact decimals; the other fields used are
//! integers. A UTF-8 byte-order mark and CRLF line ends are accepted.
//!
//! # Fields (numbered from 1, as the standard does)
//! Every field is required in the line; "unknown" is `-1`.
//! | # | field | if unknown | unit, rule |
//! |---|-------|---------|---|
//! | 1 | `job_number` | (must be known) | [`TaskKey::job`] (stage 0, index 0) |
//! | 2 | `submit_time` | (must be known) | s → µs: the record's time |
//! | 3 | `wait_time` | | not read: the simulator does its own waiting |
//! | 4 | `run_time` | field 9 | s → µs: the task's duration |
//! | 5 | `allocated_processors` | | CPU, when field 8 is unknown or 0 |
//! | 6 | `average_cpu_time` | | not read (usage, not a request) |
//! | 7 | `used_memory` | | KB per processor: memory, when field 10 is unknown |
//! | 8 | `requested_processors` | field 5 | processors × 1000 milli-cores |
//! | 9 | `requested_time` | | s → µs: duration when field 4 is unknown |
//! | 10 | `requested_memory` | field 7, else 0 | KB per processor → MiB |
//! | 11 | `status` | completed | counted, see below |
//! | 12 | `user_id` | `-1` | [`TraceTask::user`] (the number as text) |
//! | 13 | `group_id` | | not read |
//! | 14 | `executable_number` | `-1` | [`TraceTask::job_name`] (as text) |
//! | 15 | `queue_number` | batch | priority |
//! | 16 | `partition_number` | | not read |
//! | 17 | `preceding_job_number` | none | counted, see below |
//! | 18 | `think_time` | | not read (goes with field 17) |
//!
//! Fields not read are not checked.
//!
//! # Rules
//! - **One job, one task.** An SWF job is a rigid parallel job: all its
//!   processors start together. Splitting it into one task per processor
//!   would let the simulator start part of a job, so it stays one task of
//!   `processors × 1000` milli-cores. A job wider than the cell's largest
//!   machine can never be placed; [`Reader::header_max_procs`] and
//!   [`Reader::header_max_nodes`] let a scenario size a cell that fits.
//! - **Processors**: requested (8) if positive, else allocated (5) if
//!   positive. `-1` and `0` both mean "not given"; if neither is given the
//!   row is bad (it asks for nothing a scheduler could place).
//! - **Memory**: requested (10) if positive, else used (7) if positive, else
//!   0 MiB: many logs record no memory, and such jobs are placed by CPU
//!   alone. KB are KiB (1024 bytes, as the archive's logs are converted).
//!   MiB = ⌈KB per processor × processors / 1024⌉, rounded up so that a job
//!   never asks for less than it used.
//! - **Times**: seconds → µs by exact decimal arithmetic (to the nearest
//!   µs). A submit time earlier than the line before it (SWF files are
//!   sorted, but not always) is moved to that time and counted as
//!   `jobs.time_went_back`, so the stream stays ordered.
//! - **Duration**: run time (4) when known. A run time of 0 means the job
//!   ran for under half a second (the standard's rounding): it stays a
//!   zero-length task, which passes through the scheduler and frees its
//!   resources at once. A run time of `-1` falls back to the requested time
//!   (9), the user's bound on the run, counted as
//!   `jobs.run_time_from_requested` because it overstates the load; if that
//!   is `-1` too the row is bad, since the job's length is unknowable.
//! - **Priority**: by queue (15). Queue 0 is interactive by the standard's
//!   convention: someone waits on it, the latency-sensitive work Borg calls
//!   production, so priority [`INTERACTIVE_PRIORITY`] (production band).
//!   Every other queue, and an unknown one, is batch work:
//!   [`BATCH_PRIORITY`] (batch band). [`TraceTask::trace_priority`] keeps
//!   the queue number.
//! - **Status**: failed (0) and cancelled (5) jobs are submitted like
//!   completed ones, with the run time the log gives: in the logged system
//!   they held their processors for that long. They are counted as repaired
//!   `jobs.status_failed` and `jobs.status_cancelled`; the partial
//!   executions of checkpointed or swapped jobs (2, 3, 4) are submitted each
//!   as their own run and counted as `jobs.status_partial_execution`; any
//!   other code as `jobs.status_other`.
//! - **Dependencies**: a job whose field 17 names a preceding job was
//!   submitted, in the logged system, only after that job ended (plus the
//!   think time of field 18). The record stream has no dependencies between
//!   jobs, so it is submitted at its own submit time, counted as
//!   `jobs.preceding_job_not_enforced`.
//! - **No machines.** SWF describes jobs only; the cell comes from the
//!   scenario, so with [`Select::MachinesOnly`] the reader yields nothing.
//!   [`ReadOptions::reference`] is not used: SWF units are absolute.
//! - **Bad rows** fail with file, line, field and value; in lenient mode
//!   they are skipped and counted under `jobs.<field>` (`jobs.-` for a line
//!   without exactly 18 fields).

#[cfg(test)]
mod tests;

use super::input::{open_file, parse_int, table_schema, CsvLayout, CsvRows, Decimal, Fields};
use super::Source;
use super::{
    lenient, Monotone, ReadOptions, ReadStats, Select, TaskKey, TraceEvent, TraceReader,
    TraceRecord, TraceTask,
};
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::Priority;
use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

/// The table name used in [`ReadStats`] keys.
const TABLE: &str = "jobs";

/// Priority of a job from queue 0, the interactive queue: the lowest
/// production priority.
pub const INTERACTIVE_PRIORITY: Priority = 120;
/// Priority of a job from any other queue: the lowest batch priority.
pub const BATCH_PRIORITY: Priority = 100;

table_schema! {
    /// The 18 fields of a job line, in the standard's order; every line has
    /// all of them (`-1` where the log does not know).
    mod col = "jobs" {
        JOB: "job_number" => Required,
        SUBMIT: "submit_time" => Required,
        WAIT: "wait_time" => Required,
        RUN: "run_time" => Required,
        ALLOC_PROCS: "allocated_processors" => Required,
        AVG_CPU: "average_cpu_time" => Required,
        USED_MEM: "used_memory" => Required,
        REQ_PROCS: "requested_processors" => Required,
        REQ_TIME: "requested_time" => Required,
        REQ_MEM: "requested_memory" => Required,
        STATUS: "status" => Required,
        USER: "user_id" => Required,
        GROUP: "group_id" => Required,
        EXE: "executable_number" => Required,
        QUEUE: "queue_number" => Required,
        PARTITION: "partition_number" => Required,
        PRECEDING: "preceding_job_number" => Required,
        THINK: "think_time" => Required,
    }
}

const _: () = assert!(col::COUNT == 18);

/// Reads SWF files (plain or `.gz`, several parts in order) as one stream.
pub struct Reader {
    rows: CsvRows,
    lenient: bool,
    machines_only: bool,
    stats: ReadStats,
    time: Monotone,
    max_procs: Option<u64>,
    max_nodes: Option<u64>,
    /// Users and executables, as text, shared by their jobs.
    names: FxHashMap<i64, Arc<str>>,
}

/// One job line, parsed and converted.
#[derive(Debug, PartialEq, Eq)]
struct Job {
    number: u64,
    submit_us: u64,
    duration_us: u64,
    /// The run time was unknown and the requested time was used.
    from_requested: bool,
    cpu_milli: u64,
    mem_mib: u64,
    user: i64,
    exe: i64,
    queue: i64,
    /// Field 11 (`-1`: unknown).
    status: i64,
    /// Field 17 names a job this one followed.
    after_other_job: bool,
}

impl Reader {
    /// Opens `files`, read in the order given. The header comments at the top
    /// of each file are read here; a file that cannot be opened fails now.
    pub fn open(files: &[Source], opts: &ReadOptions) -> Result<Reader> {
        let mut max_procs = None;
        let mut max_nodes = None;
        for f in files {
            let h = read_header(f)?;
            max_procs = max_procs.max(h.max_procs);
            max_nodes = max_nodes.max(h.max_nodes);
        }
        let layout = CsvLayout {
            header: false,
            delimiter: b' ',
            comment: Some(b';'),
            whitespace: true,
        };
        Ok(Reader {
            rows: CsvRows::with_schema(files.to_vec(), layout, &col::SCHEMA),
            lenient: opts.lenient,
            machines_only: opts.select == Select::MachinesOnly,
            stats: ReadStats::default(),
            time: Monotone::default(),
            max_procs,
            max_nodes,
            names: FxHashMap::default(),
        })
    }

    /// `; MaxProcs:` from the header comments (the largest over the files):
    /// the processors of the logged machine.
    pub fn header_max_procs(&self) -> Option<u64> {
        self.max_procs
    }

    /// `; MaxNodes:` from the header comments (the largest over the files):
    /// the nodes of the logged machine (`MaxProcs / MaxNodes` per node).
    pub fn header_max_nodes(&self) -> Option<u64> {
        self.max_nodes
    }

    fn name(&mut self, id: i64) -> Arc<str> {
        self.names
            .entry(id)
            .or_insert_with(|| Arc::from(id.to_string()))
            .clone()
    }

    fn record(&mut self, job: Job) -> TraceRecord {
        if job.from_requested {
            self.stats.repair("jobs.run_time_from_requested");
        }
        match job.status {
            -1 | 1 => {}
            0 => self.stats.repair("jobs.status_failed"),
            5 => self.stats.repair("jobs.status_cancelled"),
            2..=4 => self.stats.repair("jobs.status_partial_execution"),
            _ => self.stats.repair("jobs.status_other"),
        }
        if job.after_other_job {
            self.stats.repair("jobs.preceding_job_not_enforced");
        }
        let time = self
            .time
            .fix(SimTime(job.submit_us), &mut self.stats, TABLE);
        let task = TraceTask {
            key: TaskKey {
                job: job.number,
                stage: 0,
                index: 0,
            },
            job_name: self.name(job.exe),
            user: self.name(job.user),
            priority: queue_priority(job.queue),
            trace_priority: job.queue,
            request: Request {
                res: Resources::new(job.cpu_milli, job.mem_mib),
                gpu: GpuRequest::None,
            },
            constraints: Vec::new(),
            max_per_machine: None,
            max_per_rack: None,
            duration: Some(SimDuration(job.duration_us)),
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        };
        TraceRecord {
            time,
            event: TraceEvent::Submit(Box::new(task)),
        }
    }
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        if self.machines_only {
            return Ok(None);
        }
        while self.rows.advance()? {
            self.stats.rows += 1;
            let parsed = parse_job(&self.rows.fields());
            if let Some(job) = lenient(parsed, self.lenient, &mut self.stats, TABLE)? {
                return Ok(Some(self.record(job)));
            }
        }
        Ok(None)
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

/// The priority of a job from `queue` (`-1`: unknown).
pub fn queue_priority(queue: i64) -> Priority {
    if queue == 0 {
        INTERACTIVE_PRIORITY
    } else {
        BATCH_PRIORITY
    }
}

/// MiB for `kb_per_proc` KiB on each of `procs` processors, rounded up;
/// `None` if it overflows.
fn mem_mib(kb_per_proc: u64, procs: u64) -> Option<u64> {
    let kb = u128::from(kb_per_proc) * u128::from(procs);
    u64::try_from(kb.div_ceil(1024)).ok()
}

fn parse_job(row: &Fields<'_>) -> Result<Job> {
    row.check_width()?;
    let number = row.uint(col::JOB)?;
    let submit_us =
        secs(row, col::SUBMIT)?.ok_or_else(|| row.error(col::SUBMIT, "is unknown (-1)".into()))?;

    let (duration_us, from_requested) = match secs(row, col::RUN)? {
        Some(us) => (us, false),
        None => match secs(row, col::REQ_TIME)? {
            Some(us) => (us, true),
            None => {
                return Err(row.error(
                    col::RUN,
                    "is unknown (-1), and so is the requested time".into(),
                ))
            }
        },
    };

    let given = |v: Option<i64>| v.filter(|&x| x > 0).map(|x| x as u64);
    let req_procs = known(row, col::REQ_PROCS)?;
    let alloc_procs = known(row, col::ALLOC_PROCS)?;
    let procs = given(req_procs).or(given(alloc_procs)).ok_or_else(|| {
        row.error(
            col::REQ_PROCS,
            format!(
                "neither the requested ({}) nor the allocated ({}) processors are given",
                show(req_procs),
                show(alloc_procs)
            ),
        )
    })?;
    let cpu_milli = procs
        .checked_mul(1000)
        .ok_or_else(|| row.error(col::REQ_PROCS, format!("{procs} is too many")))?;

    let req_mem = given(known(row, col::REQ_MEM)?);
    let used_mem = given(known(row, col::USED_MEM)?);
    let (kb, mem_field) = match (req_mem, used_mem) {
        (Some(kb), _) => (kb, col::REQ_MEM),
        (None, Some(kb)) => (kb, col::USED_MEM),
        (None, None) => (0, col::REQ_MEM),
    };
    let mem_mib = mem_mib(kb, procs).ok_or_else(|| {
        row.error(
            mem_field,
            format!("{kb} KB on each of {procs} processors is too much"),
        )
    })?;

    Ok(Job {
        number,
        submit_us,
        duration_us,
        from_requested,
        cpu_milli,
        mem_mib,
        user: known(row, col::USER)?.unwrap_or(-1),
        exe: known(row, col::EXE)?.unwrap_or(-1),
        queue: known(row, col::QUEUE)?.unwrap_or(-1),
        status: known(row, col::STATUS)?.unwrap_or(-1),
        after_other_job: given(known(row, col::PRECEDING)?).is_some(),
    })
}

fn show(v: Option<i64>) -> String {
    v.map_or_else(|| "-1".to_string(), |x| x.to_string())
}

fn bad(row: &Fields<'_>, c: usize, expected: &str) -> Error {
    let v = String::from_utf8_lossy(row.raw(c));
    row.error(c, format!("expected {expected}, found {v:?}"))
}

/// An integer field: `None` for `-1` (unknown); other negatives are bad.
fn known(row: &Fields<'_>, c: usize) -> Result<Option<i64>> {
    match parse_int(row.raw(c).trim_ascii()) {
        Some(-1) => Ok(None),
        Some(v) if v >= 0 => Ok(Some(v)),
        _ => Err(bad(row, c, "an integer ≥ 0, or -1 for unknown")),
    }
}

/// A time field in seconds (integer or decimal) as µs, rounded to the
/// nearest µs: `None` for `-1` (unknown).
fn secs(row: &Fields<'_>, c: usize) -> Result<Option<u64>> {
    let f = row.raw(c).trim_ascii();
    if parse_int(f) == Some(-1) {
        return Ok(None);
    }
    Decimal::parse(f)
        .map(|d| Some(d.scale(US_PER_S)))
        .ok_or_else(|| bad(row, c, "seconds ≥ 0, or -1 for unknown"))
}

/// What the header comments of one file say.
#[derive(Debug, Default, PartialEq, Eq)]
struct Header {
    max_procs: Option<u64>,
    max_nodes: Option<u64>,
}

/// Reads the comment lines at the top of `path`, up to its first job line.
/// A header value that is not a positive integer is ignored: header
/// comments are free text, and a scenario can name the cell's size itself.
fn read_header(file: &Source) -> Result<Header> {
    let path = file.path();
    let mut r = BufReader::new(open_file(file)?);
    let mut h = Header::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(h);
        }
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        let Some(comment) = t.strip_prefix(b";") else {
            return Ok(h);
        };
        let Some(colon) = comment.iter().position(|&c| c == b':') else {
            continue;
        };
        let (key, value) = (comment[..colon].trim_ascii(), &comment[colon + 1..]);
        let number = value
            .split(|c| c.is_ascii_whitespace())
            .find(|w| !w.is_empty())
            .and_then(parse_int)
            .filter(|&v| v > 0)
            .map(|v| v as u64);
        if key.eq_ignore_ascii_case(b"MaxProcs") {
            h.max_procs = number;
        } else if key.eq_ignore_ascii_case(b"MaxNodes") {
            h.max_nodes = number;
        }
    }
}
