//! The event log (`borgsim run --events FILE`): one CSV row per change of a
//! task or a machine — submit, place, evict (with its cause), finish, kill,
//! drop, a machine down, up, resized or given new attributes — in the order
//! the simulation made them, so that what `summary.json` counts can be
//! recounted, and any task's history followed.
//!
//! Streamed: rows are written as the run goes (the cell records its changes
//! during an event, the driver writes them after it), so the log of the
//! largest scenario costs disk, not memory. Gzip-compressed when the file's
//! name ends in `.gz` (at flate2's fastest level: a log is large and
//! written once; the gzip header carries no time or name, so the bytes are
//! deterministic). Written under a temporary name beside the file and
//! renamed into place only when the run has finished and its outputs are
//! written ([`EventLog::finish`]): the file is never left partial, and a
//! run that fails leaves no file (and an earlier one as it was).
//!
//! Tasks are named as in `pending.csv`, stably over the whole run (borgsim
//! reuses a finished task's slot, so `task_id` alone is not): `job_id` is
//! the job's submission serial — for a trace replay, the trace job's key —
//! and `task` its index in the job — for a trace replay, the trace's label
//! of the task (`pending.csv`'s `trace_task`). One source of truth for the
//! columns: the header is what the csv crate writes for a [`Row`].

use super::stream::header_of;
use super::timeseries::Seconds;
use crate::cell::resources::GPU_MILLI_PER_DEVICE;
use crate::cell::state::{CellEvent, CellState, TaskChange};
use crate::error::{Error, Result};
use crate::sim::feed::Feed;
use crate::workload::{Band, Priority, TaskId};
use flate2::write::GzEncoder;
use serde::Serialize;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// One row of the event log.
#[derive(Debug, Default, Serialize)]
pub struct Row<'a> {
    pub time_s: Seconds,
    pub event: &'static str,
    /// The job's stable id: its submission serial, or the trace job's key.
    pub job_id: Option<u64>,
    /// The task in its job: its index, or the trace's label.
    pub task: &'a str,
    pub job_name: &'a str,
    /// borgsim's slot id (reused once the task is done).
    pub task_id: Option<TaskId>,
    pub machine: Option<u32>,
    /// An eviction's cause.
    pub reason: &'static str,
    pub band: Option<Band>,
    pub priority: Option<Priority>,
    /// A task's request; a machine's capacity from then on (0 when down).
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpu_milli: u64,
}

/// Where the rows go: the temporary file, compressed or not.
enum Sink {
    Plain(File),
    Gz(GzEncoder<File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(buf),
            Sink::Gz(g) => g.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Gz(g) => g.flush(),
        }
    }
}

/// The event log while a run goes (see the module doc).
pub struct EventLog {
    path: PathBuf,
    tmp: TempPath,
    out: csv::Writer<Sink>,
    rows: u64,
    /// Reused buffers for a row's job name and task label.
    name: String,
    task: String,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// Opens the log for `path` (under a temporary name beside it, in its
    /// directory, made if missing) and writes the header. Failing here is
    /// bad input naming `--events` (exit code 2), found before the run.
    pub fn create(path: &Path) -> Result<EventLog> {
        let bad = |message: String| Error::Invalid {
            path: path.to_path_buf(),
            key: "--events".into(),
            message,
        };
        let name = match path.file_name() {
            Some(n) if !path.is_dir() => n.to_string_lossy().into_owned(),
            _ => return Err(bad("names a directory, not a file".into())),
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cannot = |e: std::io::Error| bad(format!("cannot write the event log here: {e}"));
        std::fs::create_dir_all(&parent).map_err(cannot)?;
        let prefix = format!(".tmp.{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // As any file the user writes (the umask applies), not the private
        // mode temporary files get.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(&parent).map_err(cannot)?;
        let (file, tmp) = tmp.into_parts();
        let sink = if name.to_ascii_lowercase().ends_with(".gz") {
            Sink::Gz(GzEncoder::new(file, flate2::Compression::fast()))
        } else {
            Sink::Plain(file)
        };
        let mut log = EventLog {
            path: path.to_path_buf(),
            tmp,
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .buffer_capacity(1 << 16)
                .from_writer(sink),
            rows: 0,
            name: String::new(),
            task: String::new(),
        };
        let header = header_of::<Row>();
        log.out.write_record(&header).map_err(|e| log.error(e))?;
        Ok(log)
    }

    /// Where the log goes once finished.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes a row per recorded change. Called after each event, before
    /// the cell reclaims the slots of tasks done in it, so every id still
    /// names its task, job and (through `feed`) trace label.
    pub fn write(&mut self, events: &[CellEvent], st: &CellState, feed: &dyn Feed) -> Result<()> {
        for e in events {
            let row = match *e {
                CellEvent::Task(c) => task_row(&c, st, feed, &mut self.name, &mut self.task),
                CellEvent::Machine(c) => Row {
                    time_s: Seconds(c.time.as_us()),
                    event: c.kind.name(),
                    machine: Some(c.machine),
                    cpu_milli: c.capacity.cpu_milli,
                    mem_mib: c.capacity.mem_mib,
                    gpu_milli: u64::from(c.gpus) * u64::from(GPU_MILLI_PER_DEVICE),
                    ..Row::default()
                },
            };
            if let Err(e) = self.out.serialize(&row) {
                return Err(self.error(e));
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Completes the file (the gzip trailer too) and renames it into place.
    /// Returns its path.
    pub fn finish(self) -> Result<PathBuf> {
        let path = self.path;
        let err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let sink = self.out.into_inner().map_err(|e| err(e.into_error()))?;
        match sink {
            Sink::Plain(f) => drop(f),
            Sink::Gz(g) => drop(g.finish().map_err(err)?),
        }
        self.tmp.persist(&path).map_err(|e| err(e.error))?;
        Ok(path)
    }

    fn error(&self, e: csv::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source: e.into(),
        }
    }
}

/// A task's row; `name` and `label` are buffers for its job's name and
/// its label in the job.
fn task_row<'a>(
    c: &TaskChange,
    st: &CellState,
    feed: &dyn Feed,
    name: &'a mut String,
    label: &'a mut String,
) -> Row<'a> {
    let task = c.task;
    let rec = st.task(task);
    let job = st.job(rec.job);
    let shape = st.shape_of(rec);
    name.clear();
    write!(name, "{}", job.spec.name).expect("writing to a String");
    label.clear();
    match feed.trace_task(task) {
        Some(l) => label.push_str(&l),
        None => write!(label, "{}", rec.index).expect("writing to a String"),
    }
    Row {
        time_s: Seconds(c.time.as_us()),
        event: c.kind.name(),
        job_id: Some(job.trace_job.unwrap_or(job.serial)),
        task: label,
        job_name: name,
        task_id: Some(task),
        machine: c.machine,
        reason: c.cause.map_or("", |cause| cause.name()),
        band: Some(shape.band()),
        priority: Some(shape.priority),
        cpu_milli: shape.request.res.cpu_milli,
        mem_mib: shape.request.res.mem_mib,
        gpu_milli: shape.request.gpu.milli(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::feed::JobFeed;
    use crate::testkit::{cell, job, submit};
    use crate::time::SimTime;
    use crate::workload::ListSource;

    /// A cell with a two-task job placed, one task evicted and the machine
    /// it ran on taken down, recorded.
    fn recorded() -> (CellState, Vec<CellEvent>) {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 1)]);
        st.record_events(true);
        let j = submit(&mut st, job(1000, 2000, 100, 2));
        let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
        st.place(SimTime(1_500_000), a, 0);
        st.place(SimTime(1_500_000), b, 1);
        st.evict(
            SimTime(2_000_000),
            a,
            crate::cell::state::EvictionCause::Preemption,
        );
        st.set_machine(SimTime(3_000_000), 1, None);
        let events = st.take_events();
        (st, events)
    }

    #[test]
    fn rows_name_tasks_stably_and_machines_with_their_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ev.csv");
        let mut log = EventLog::create(&path).unwrap();
        let (st, events) = recorded();
        let feed = JobFeed::new(Box::new(ListSource::new(Vec::new())));
        log.write(&events, &st, &feed).unwrap();
        assert_eq!(log.rows(), 7);
        // Nothing at the final name until finished.
        assert!(!path.exists());
        assert_eq!(log.finish().unwrap(), path);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "time_s,event,job_id,task,job_name,task_id,machine,reason,band,priority,\
                 cpu_milli,mem_mib,gpu_milli",
                "0.000000,submit,0,0,test,0,,,batch,100,1000,2000,0",
                "0.000000,submit,0,1,test,1,,,batch,100,1000,2000,0",
                "1.500000,place,0,0,test,0,0,,batch,100,1000,2000,0",
                "1.500000,place,0,1,test,1,1,,batch,100,1000,2000,0",
                "2.000000,evict,0,0,test,0,0,preemption,batch,100,1000,2000,0",
                // Down: no capacity from now on; then the task it evicts.
                "3.000000,machine_down,,,,,1,,,,0,0,0",
                "3.000000,evict,0,1,test,1,1,machine_down,batch,100,1000,2000,0",
            ]
        );
        // Only the log is left in its directory: no temporary file.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        // Readable as any file the user writes there, not private.
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let plain = dir.path().join("plain");
            std::fs::write(&plain, "").unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
            assert_eq!(mode(&path), mode(&plain));
        }
    }

    #[test]
    fn gz_holds_the_same_rows_and_an_unfinished_log_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (st, events) = recorded();
        let feed = JobFeed::new(Box::new(ListSource::new(Vec::new())));
        let mut bytes = Vec::new();
        for name in ["ev.csv", "ev.csv.gz"] {
            let mut log = EventLog::create(&dir.path().join(name)).unwrap();
            log.write(&events, &st, &feed).unwrap();
            log.finish().unwrap();
            bytes.push(std::fs::read(dir.path().join(name)).unwrap());
        }
        let mut plain = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(bytes[1].as_slice())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, bytes[0]);
        // Dropped before finishing (a run that failed): nothing is left.
        let mut log = EventLog::create(&dir.path().join("failed.csv")).unwrap();
        log.write(&events, &st, &feed).unwrap();
        drop(log);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
