//! The master's embedded store: SQLite (bundled rusqlite), one file.
//!
//! The master writes every change before it acts on it (write-ahead): a
//! placement is committed before its launch goes out, a submission before
//! its 201, a kill before its requests. A restarted master reads it all
//! back ([`Store::load`]) and rebuilds the same cell. One transaction per
//! batch of changes; WAL journal, `synchronous = NORMAL`: a master
//! *process* that dies loses nothing committed (the case that matters
//! here: a crash, a restart); a power cut may lose the last transactions,
//! which the agents' registrations then reconcile.
//!
//! # Schema (version 1)
//! | table | columns |
//! |---|---|
//! | `meta` | `key` TEXT PRIMARY KEY, `value` TEXT — `schema` = `1`, `cell` = the cell's name |
//! | `machines` | `id` INTEGER PRIMARY KEY (registration order, from 0), `name` TEXT UNIQUE, `registration` TEXT (the agent's registration as JSON, without its tasks), `drained` INTEGER (0/1) |
//! | `jobs` | `id` INTEGER PRIMARY KEY (submission order, from 0), `name` TEXT, `submission` TEXT (the job as submitted, JSON), `submitted_ms` INTEGER, `killed` INTEGER (0/1) |
//! | `tasks` | `job` INTEGER, `idx` INTEGER (PRIMARY KEY both), `state` TEXT (`pending`, `starting`, `running`, `finished`, `failed`, `killed`, `lost`), `machine` INTEGER NULL (a `machines.id`), `incarnation`, `restarts` INTEGER, `exit_code`, `signal` INTEGER NULL, `detail` TEXT NULL, `started_ms`, `ended_ms` INTEGER NULL, `failed_on` TEXT (JSON array of `machines.id`) |
//!
//! A store belongs to one cell: opening it under another `--cell` name is
//! refused (task names, which agents report, hold the cell's name).
//!
//! A store belongs to one master at a time: [`Store::open`] takes an
//! exclusive `flock` on the database file, held until the store is
//! dropped (the process's end), and a second master opening the same
//! file is refused ([`StoreError::InUse`]) — two masters writing one store
//! would each lose the other's jobs on their next restart.

use super::records::{Changes, JobRecord, MachineRecord, Records, TaskRow};
use super::view::state_name;
use crate::live::proto::TaskState;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

const SCHEMA_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    registration TEXT NOT NULL, drained INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, submission TEXT NOT NULL,
    submitted_ms INTEGER NOT NULL, killed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    job INTEGER NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
    machine INTEGER, incarnation INTEGER NOT NULL, restarts INTEGER NOT NULL,
    exit_code INTEGER, signal INTEGER, detail TEXT,
    started_ms INTEGER, ended_ms INTEGER, failed_on TEXT NOT NULL,
    PRIMARY KEY (job, idx));
";

/// Opens (creating if missing) the database file at `path` and takes its
/// exclusive lock without waiting: one master per store. `flock` locks
/// are apart from SQLite's own (POSIX) locks, and the file stays open
/// for the store's life, so SQLite's are never dropped by its closing.
fn lock(path: &Path) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    // A new store is its owner's alone (0600): job specs hold their `env`,
    // and SQLite gives its `-wal` and `-shm` files the database's mode.
    let file = (std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true))
    .truncate(false)
    .mode(0o600)
    .open(path)
    .map_err(io)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(StoreError::InUse {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io(e.into())),
    }
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("store {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("store {path} is in use by another master")]
    InUse { path: PathBuf },
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The database file, locked (`flock`, exclusive) for as long as the
    /// store is open; `None` in memory.
    _lock: Option<std::fs::File>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` for cell `cell`.
    ///
    /// # Errors
    /// The file cannot be opened or is not a store of this cell.
    pub fn open(path: &Path, cell: &str) -> Result<Store, StoreError> {
        let lock = lock(path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        Self::init(conn, path, cell, Some(lock))
    }

    /// Where the store is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A store in memory (tests).
    ///
    /// # Errors
    /// SQLite cannot create it.
    pub fn in_memory(cell: &str) -> Result<Store, StoreError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        Self::init(conn, path, cell, None)
    }

    fn init(
        conn: Connection,
        path: &Path,
        cell: &str,
        lock: Option<std::fs::File>,
    ) -> Result<Store, StoreError> {
        let store = Store {
            conn,
            path: path.to_path_buf(),
            _lock: lock,
        };
        let setup = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
        store.sql(store.conn.execute_batch(setup))?;
        store.sql(store.conn.busy_timeout(std::time::Duration::from_secs(5)))?;
        store.sql(store.conn.execute_batch(SCHEMA))?;
        store.check_meta("schema", SCHEMA_VERSION)?;
        store.check_meta("cell", cell)?;
        Ok(store)
    }

    /// Sets `key` to `want` if unset; refuses another value.
    fn check_meta(&self, key: &str, want: &str) -> Result<(), StoreError> {
        let q = "SELECT value FROM meta WHERE key = ?1";
        let have: Option<String> =
            self.sql(self.conn.query_row(q, [key], |r| r.get(0)).optional())?;
        match have {
            None => {
                let ins = "INSERT INTO meta (key, value) VALUES (?1, ?2)";
                self.sql(self.conn.execute(ins, [key, want]))?;
                Ok(())
            }
            Some(v) if v == want => Ok(()),
            Some(v) => Err(self.invalid(format!(
                "its `{key}` is {v:?}, not {want:?} (a store belongs to one cell)"
            ))),
        }
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, StoreError> {
        r.map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    fn invalid(&self, message: String) -> StoreError {
        StoreError::Invalid {
            path: self.path.clone(),
            message,
        }
    }

    /// Writes `changes` in one transaction.
    ///
    /// # Errors
    /// SQLite fails (disk full, file gone): nothing of `changes` is kept.
    pub fn write(&mut self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        write_changes(&tx, changes).map_err(wrap)?;
        tx.commit().map_err(wrap)
    }

    /// Every record, as written.
    ///
    /// # Errors
    /// SQLite fails, or a row is not what this version wrote (bad JSON,
    /// an unknown state, ids with gaps, a job without all its tasks).
    pub fn load(&self) -> Result<Records, StoreError> {
        let machines = self.load_machines()?;
        let mut jobs = self.load_jobs()?;
        let n = machines.len() as u32;
        for (j, k, row) in self.load_tasks()? {
            let tasks = jobs
                .get_mut(j as usize)
                .map(|(_, t)| t)
                .ok_or_else(|| self.invalid(format!("task {k} of job {j}, which is not stored")))?;
            if k as usize != tasks.len() || row.machine.is_some_and(|m| m >= n) {
                return Err(self.invalid(format!("task {k} of job {j} is out of order")));
            }
            tasks.push(row);
        }
        for (j, (rec, tasks)) in jobs.iter().enumerate() {
            if tasks.len() != rec.submission.tasks as usize {
                return Err(self.invalid(format!(
                    "job {j} has {} of its {} tasks",
                    tasks.len(),
                    rec.submission.tasks
                )));
            }
        }
        Ok(Records { machines, jobs })
    }

    fn load_machines(&self) -> Result<Vec<MachineRecord>, StoreError> {
        let q = "SELECT id, registration, drained FROM machines ORDER BY id";
        let mut stmt = self.sql(self.conn.prepare(q))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        });
        let rows = self.sql(rows.and_then(|it| it.collect::<Result<Vec<_>, _>>()))?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, (id, json, drained)) in rows.into_iter().enumerate() {
            if id != i as i64 {
                return Err(self.invalid(format!("machine ids skip from {i} to {id}")));
            }
            let registration = serde_json::from_str(&json)
                .map_err(|e| self.invalid(format!("machine {id}'s registration: {e}")))?;
            out.push(MachineRecord {
                registration,
                drained,
            });
        }
        Ok(out)
    }

    fn load_jobs(&self) -> Result<Vec<(JobRecord, Vec<TaskRow>)>, StoreError> {
        let q = "SELECT id, submission, submitted_ms, killed FROM jobs ORDER BY id";
        let mut stmt = self.sql(self.conn.prepare(q))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
            ))
        });
        let rows = self.sql(rows.and_then(|it| it.collect::<Result<Vec<_>, _>>()))?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, (id, json, submitted_ms, killed)) in rows.into_iter().enumerate() {
            if id != i as i64 {
                return Err(self.invalid(format!("job ids skip from {i} to {id}")));
            }
            let submission = serde_json::from_str(&json)
                .map_err(|e| self.invalid(format!("job {id}'s submission: {e}")))?;
            let rec = JobRecord {
                submission,
                submitted_ms: u64::try_from(submitted_ms).unwrap_or(0),
                killed,
            };
            out.push((rec, Vec::new()));
        }
        Ok(out)
    }

    fn load_tasks(&self) -> Result<Vec<(u32, u32, TaskRow)>, StoreError> {
        let q = "SELECT job, idx, state, machine, incarnation, restarts, exit_code, signal, \
                 detail, started_ms, ended_ms, failed_on FROM tasks ORDER BY job, idx";
        let mut stmt = self.sql(self.conn.prepare(q))?;
        let rows = stmt.query_map([], read_task);
        let rows = self.sql(rows.and_then(|it| it.collect::<Result<Vec<_>, _>>()))?;
        rows.into_iter()
            .map(|(j, k, state, failed_on, mut row)| {
                row.state = parse_state(&state)
                    .ok_or_else(|| self.invalid(format!("task {k} of job {j}: state {state:?}")))?;
                row.failed_on = serde_json::from_str(&failed_on)
                    .map_err(|e| self.invalid(format!("task {k} of job {j}: failed_on: {e}")))?;
                Ok((j, k, row))
            })
            .collect()
    }
}

/// A task row as read, its state and failed-on list still text.
type RawTask = (u32, u32, String, String, TaskRow);

fn read_task(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTask> {
    let ms = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?
            .and_then(|v| u64::try_from(v).ok()))
    };
    let row = TaskRow {
        state: TaskState::Pending,
        machine: r.get(3)?,
        incarnation: r.get(4)?,
        restarts: r.get(5)?,
        exit_code: r.get(6)?,
        signal: r.get(7)?,
        detail: r.get(8)?,
        started_ms: ms(9)?,
        ended_ms: ms(10)?,
        failed_on: Vec::new(),
    };
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(11)?, row))
}

fn parse_state(s: &str) -> Option<TaskState> {
    use TaskState as S;
    let all = [
        S::Pending,
        S::Starting,
        S::Running,
        S::Finished,
        S::Failed,
        S::Killed,
        S::Lost,
    ];
    all.into_iter().find(|&x| state_name(x) == s)
}

fn write_changes(tx: &rusqlite::Transaction<'_>, c: &Changes) -> rusqlite::Result<()> {
    let mut m = tx.prepare_cached(
        "INSERT OR REPLACE INTO machines (id, name, registration, drained) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, rec) in &c.machines {
        let reg = json(&rec.registration);
        m.execute(params![id, rec.registration.name, reg, rec.drained])?;
    }
    let mut j = tx.prepare_cached(
        "INSERT OR REPLACE INTO jobs (id, name, submission, submitted_ms, killed) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (id, rec) in &c.jobs {
        let sub = json(&rec.submission);
        let ms = i64::try_from(rec.submitted_ms).unwrap_or(i64::MAX);
        j.execute(params![id, rec.submission.name, sub, ms, rec.killed])?;
    }
    let mut t = tx.prepare_cached(
        "INSERT OR REPLACE INTO tasks (job, idx, state, machine, incarnation, restarts, \
         exit_code, signal, detail, started_ms, ended_ms, failed_on) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let ms = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    for (job, idx, r) in &c.tasks {
        t.execute(params![
            job,
            idx,
            state_name(r.state),
            r.machine,
            r.incarnation,
            r.restarts,
            r.exit_code,
            r.signal,
            r.detail,
            ms(r.started_ms),
            ms(r.ended_ms),
            json(&r.failed_on),
        ])?;
    }
    Ok(())
}

/// JSON text of a record's serialisable part (plain structs of strings
/// and numbers: serialising them cannot fail).
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::master::core::{CoreConfig, LiveCell, Now};
    use crate::live::proto::{AgentRegistration, Capacity, JobSubmission, LimitsMode};
    use crate::sched::{Policy, SchedConfig};
    use crate::time::SimTime;

    fn now(ms: u64) -> Now {
        Now {
            sim: SimTime(ms * 1000),
            wall_ms: ms,
        }
    }

    fn cell_with_work() -> LiveCell {
        let cfg = CoreConfig::new("c", SchedConfig::new(Policy::Hybrid, true), 3);
        let mut c = LiveCell::new(cfg, now(0));
        for i in 0..2 {
            let reg = AgentRegistration {
                name: format!("n{i}"),
                addr: format!("127.0.0.1:{}", 9000 + i),
                capacity: Capacity {
                    cpu_milli: 2000,
                    mem_mib: 4096,
                    gpus: 0,
                },
                attrs: [("zone".to_string(), "a".to_string())].into(),
                rack: Some("r1".into()),
                limits: LimitsMode::CgroupV2,
                running: vec![],
                exits: vec![],
            };
            c.register(now(1), reg).unwrap();
        }
        let body = r#"{"name":"j","user":"u","priority":200,"tasks":5,"cpu_milli":600,
            "mem_mib":64,"command":["sleep","9"],"env":{"A":"b"}}"#;
        let sub: JobSubmission = serde_json::from_str(body).unwrap();
        c.submit(now(2), sub).unwrap();
        c.pass(now(3));
        c.kill_job(now(4), "j").unwrap();
        c
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let mut c = cell_with_work();
        let mut store = Store::in_memory("c").unwrap();
        store.write(&c.take_changes()).unwrap();
        assert_eq!(store.load().unwrap(), c.records());
        // Later changes replace rows in place.
        let body = r#"{"name":"k","user":"u","priority":100,"tasks":1,"cpu_milli":1,
            "mem_mib":1,"command":["true"]}"#;
        c.submit(now(5), serde_json::from_str(body).unwrap())
            .unwrap();
        c.pass(now(6));
        c.drain(now(7), "n1").unwrap();
        store.write(&c.take_changes()).unwrap();
        assert_eq!(store.load().unwrap(), c.records());
    }

    #[test]
    fn a_store_of_another_cell_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        drop(Store::open(&path, "c").unwrap());
        let err = Store::open(&path, "d").err().unwrap().to_string();
        assert!(err.contains("\"c\", not \"d\""), "{err}");
        assert!(Store::open(&path, "c").is_ok());
    }

    #[test]
    fn a_store_is_held_by_one_opener_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let first = Store::open(&path, "c").unwrap();
        let err = Store::open(&path, "c").err().unwrap();
        assert!(matches!(err, StoreError::InUse { .. }), "{err}");
        drop(first);
        assert!(Store::open(&path, "c").is_ok());
    }

    #[test]
    fn a_damaged_row_is_named() {
        let mut c = cell_with_work();
        let mut store = Store::in_memory("c").unwrap();
        store.write(&c.take_changes()).unwrap();
        let bad = "UPDATE tasks SET state = 'sleeping' WHERE idx = 2";
        store.conn.execute(bad, []).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(
            err.contains("task 2 of job 0") && err.contains("sleeping"),
            "{err}"
        );
    }
}

#[test]
fn a_new_store_and_its_log_are_their_owner_s_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let _store = Store::open(&path, "cell").unwrap();
    for f in ["m.db", "m.db-wal"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}: {mode:o}");
    }
}
