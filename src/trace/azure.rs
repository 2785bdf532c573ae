//! The Azure packing trace 2020 (`AzureTracesForPacking2020.md` in
//! Azure/AzurePublicDataset): one SQLite file of VM requests.
//!
//! # Format and columns
//! One SQLite file with two tables. Each table's columns are found by name
//! (SQL names ignore case, so `VMID` is `vmId`), in any order; a column the
//! published schema does not have, or a required one missing, is
//! [`Error::Invalid`] naming the file and `table.column`, when the reader
//! opens. Machine sizes are not published.
//!
//! `vmRequests` — one row per VM:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `vmId` | required | | the task's job key, ≥ 0 |
//! | `tenantId` | required | | the user (as text) |
//! | `vmTypeId` | required | | the job name; sizes from `vmTypes` |
//! | `priority` | required | | 0 high, 1 low (evictable) |
//! | `starttime` | required | | fractional days from the start of the 14-day collection; negative: alive before it |
//! | `endtime` | required | | fractional days; NULL: still alive (runs to the end) |
//!
//! `vmTypes` — a VM type's size on each machine type offering it:
//! | column | need | default | unit, rule |
//! |---|---|---|---|
//! | `id` | required | | row id (the read order) |
//! | `vmTypeId` | required | | |
//! | `machineId` | required | | the machine type |
//! | `core` | required | | fraction of the machine type's CPU, 0–1 |
//! | `memory` | required | | fraction of the machine type's memory, 0–1 |
//! | `hdd`, `ssd`, `nic` | unused | | disk and network are not modelled |
//!
//! # Rules
//! - **One VM, one task**: {job: vmId, stage 0, index 0}; `tenantId` is the
//!   user and `vmTypeId` the job name.
//! - **Sizes.** Machine types differ, so sizes are only comparable on one
//!   machine type: the *reference machine type* offers the most VM types
//!   (ties: smallest `machineId`), and its fractions are scaled by
//!   [`ReadOptions::reference`], by default [`DEFAULT_REFERENCE`] (48 cores,
//!   384 GiB: an assumed two-socket server; the trace does not say). A VM
//!   type it does not offer is sized on the smallest `machineId` that does,
//!   and each such request is counted as
//!   `vmRequests.sized_on_other_machine_type`. `vmTypes` is read whole at
//!   open (the catalogue is small); a second row for the same VM type and
//!   machine type is ignored, counted as `vmTypes.duplicate`.
//! - **Exact fractions.** REAL columns are read as SQLite's own text
//!   (`CAST(x AS TEXT)`: up to 17 significant digits, shortened when a
//!   shorter text reads back as the same double), parsed as [`Decimal`] and
//!   rounded to the nearest milli-core and MiB: 1/24 stored as
//!   `0.0416666666666667` × 48000 = 2000.0000000000016 → 2000, where
//!   rounding up would give 2001. A fraction above 1 is bad.
//! - **Times**: days × 86 400 × 10⁶ → µs, nearest. Rows stream ordered by
//!   `starttime, vmId` (a total order). A VM that started before collection
//!   is submitted at 0 with the rest of its life, counted as
//!   `vmRequests.started_before_trace`: the run begins with it running.
//! - **Durations**: `endtime − starttime`; NULL end → `None` (it runs to the
//!   end); an end before the start is bad. Low-priority lifetimes include
//!   Azure's own evictions (the trace gives actual lifetimes).
//! - **Priority**: 0 (high) → [`HIGH_PRIORITY`], production band; 1 (low,
//!   evictable) → [`LOW_PRIORITY`], best-effort band: like Borg's free
//!   tier they may be evicted at any time, where batch still expects to
//!   finish. Other values are bad; `trace_priority` keeps the trace's.
//! - **No machines**: only machine types, so with [`Select::MachinesOnly`]
//!   the reader yields nothing (the cell comes from the scenario).
//! - **Bad values** are [`Error::Row`]: the file, `line` = the row's 1-based
//!   ordinal in its ordered query, `column` = the field, and a message naming
//!   table, `vmId` (or `id`) and value. Lenient mode skips the row, counted
//!   as `table.field` (requests of a skipped VM type then fail on
//!   `vmTypeId`). A missing table or column is [`Error::Invalid`]; a file
//!   that is not SQLite, [`Error::Parse`]; both name the file.
//!
//! # Streaming
//! `vmRequests` is streamed by `trace::sqlite`: a thread owns the connection
//! and sends rows in batches, in query order, through a bounded channel, so
//! memory stays bounded and the stream is the same on every run.

#[cfg(test)]
mod tests;

use super::input::{parse_int, table_schema, Decimal, Schema};
use super::sqlite::{texts, Rows, Texts};
use super::{
    lenient, Monotone, ReadOptions, ReadStats, ReferenceMachine, Select, TaskKey, TraceEvent,
    TraceReader, TraceRecord, TraceTask,
};
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::error::{Error, Result};
use crate::time::{SimDuration, SimTime, US_PER_S};
use crate::workload::Priority;
use rusqlite::{Connection, OpenFlags};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The machine a fraction of 1.0 stands for, unless the options name one.
pub const DEFAULT_REFERENCE: ReferenceMachine = ReferenceMachine {
    cpu_milli: 48_000,
    mem_mib: 384 * 1024,
};
/// Priority of a high-priority (0) VM: the lowest production priority.
pub const HIGH_PRIORITY: Priority = 120;
/// Priority of a low-priority, evictable (1) VM: the lowest best-effort one.
pub const LOW_PRIORITY: Priority = 0;

const US_PER_DAY: u64 = 86_400 * US_PER_S;
const REQUESTS: &str = "vmRequests";
const TYPES: &str = "vmTypes";

table_schema! {
    /// `vmRequests`, as published.
    mod requests = "vmRequests" {
        VM_ID: "vmId" => Required,
        TENANT_ID: "tenantId" => Required,
        VM_TYPE_ID: "vmTypeId" => Required,
        PRIORITY: "priority" => Required,
        STARTTIME: "starttime" => Required,
        ENDTIME: "endtime" => Required,
    }
}

table_schema! {
    /// `vmTypes`, as published.
    mod types = "vmTypes" {
        ID: "id" => Required,
        VM_TYPE_ID: "vmTypeId" => Required,
        MACHINE_ID: "machineId" => Required,
        CORE: "core" => Required,
        MEMORY: "memory" => Required,
        HDD: "hdd" => Unused,
        SSD: "ssd" => Unused,
        NIC: "nic" => Unused,
    }
}

const REQUESTS_SQL: &str = "SELECT CAST(vmId AS TEXT), CAST(tenantId AS TEXT), \
     CAST(vmTypeId AS TEXT), CAST(priority AS TEXT), CAST(starttime AS TEXT), \
     CAST(endtime AS TEXT) FROM vmRequests ORDER BY starttime, vmId";
const TYPES_SQL: &str = "SELECT CAST(id AS TEXT), CAST(vmTypeId AS TEXT), \
     CAST(machineId AS TEXT), CAST(core AS TEXT), CAST(memory AS TEXT) \
     FROM vmTypes ORDER BY id";

/// How one VM type is sized.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct VmType {
    res: Resources,
    /// The machine type whose fractions were used.
    machine: i64,
}

/// Reads an Azure packing trace's VM requests in start-time order.
pub struct Reader {
    path: PathBuf,
    lenient: bool,
    stats: ReadStats,
    time: Monotone,
    reference: ReferenceMachine,
    reference_machine_type: Option<i64>,
    types: BTreeMap<i64, VmType>,
    /// `vmRequests`, in order; `None` when only machines are read.
    rows: Option<Rows<6>>,
    ordinal: u64,
    /// Tenants and VM types as text, shared by their VMs.
    names: FxHashMap<String, Arc<str>>,
}

impl Reader {
    /// Opens the SQLite file at `path` read-only, checks its tables, reads
    /// `vmTypes` and starts streaming `vmRequests`.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Reader> {
        let conn = connect(path)?;
        for schema in [&requests::SCHEMA, &types::SCHEMA] {
            require_table(&conn, path, schema.table)?;
            require_columns(&conn, path, schema)?;
        }
        conn.prepare(REQUESTS_SQL)
            .map_err(|e| invalid(path, REQUESTS, &e))?;
        let mut r = Reader {
            path: path.to_path_buf(),
            lenient: opts.lenient,
            stats: ReadStats::default(),
            time: Monotone::default(),
            reference: opts.reference.unwrap_or(DEFAULT_REFERENCE),
            reference_machine_type: None,
            types: BTreeMap::new(),
            rows: None,
            ordinal: 0,
            names: FxHashMap::default(),
        };
        if opts.select == Select::MachinesOnly {
            return Ok(r);
        }
        r.load_types(&conn)?;
        let rows = Rows::spawn(conn, REQUESTS_SQL, "azure-vmRequests");
        r.rows = Some(rows.map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?);
        Ok(r)
    }

    /// The machine type whose fractions size the VMs (`None` before
    /// `vmTypes` is read, or if it is empty).
    pub fn reference_machine_type(&self) -> Option<i64> {
        self.reference_machine_type
    }

    /// What a fraction of 1.0 is, in borgsim units.
    pub fn reference(&self) -> ReferenceMachine {
        self.reference
    }

    fn load_types(&mut self, conn: &Connection) -> Result<()> {
        let path = self.path.clone();
        let mut stmt = conn
            .prepare(TYPES_SQL)
            .map_err(|e| invalid(&path, TYPES, &e))?;
        let mut rows = stmt.query([]).map_err(|e| sql(&path, &e))?;
        // vmTypeId → machineId → (core, memory), first row by id wins.
        let mut by_type: BTreeMap<i64, BTreeMap<i64, (Decimal, Decimal)>> = BTreeMap::new();
        let mut line = 0;
        while let Some(row) = rows.next().map_err(|e| sql(&path, &e))? {
            line += 1;
            self.stats.rows += 1;
            let t = texts::<5>(row).map_err(|e| sql(&path, &e))?;
            let parsed = parse_type(&path, line, &t);
            let Some((vm_type, machine, size)) =
                lenient(parsed, self.lenient, &mut self.stats, TYPES)?
            else {
                continue;
            };
            let sizes = by_type.entry(vm_type).or_default();
            match sizes.entry(machine) {
                Entry::Vacant(e) => _ = e.insert(size),
                Entry::Occupied(_) => self.stats.repair("vmTypes.duplicate"),
            }
        }
        let mut offered: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for (&vm_type, sizes) in &by_type {
            for &machine in sizes.keys() {
                offered.entry(machine).or_default().insert(vm_type);
            }
        }
        let reference = offered
            .iter()
            .max_by_key(|(&m, types)| (types.len(), Reverse(m)))
            .map(|(&m, _)| m);
        for (vm_type, sizes) in by_type {
            let chosen = reference
                .and_then(|m| sizes.get_key_value(&m))
                .or_else(|| sizes.first_key_value());
            if let Some((&machine, (core, memory))) = chosen {
                let res = Resources::new(
                    core.scale(self.reference.cpu_milli),
                    memory.scale(self.reference.mem_mib),
                );
                self.types.insert(vm_type, VmType { res, machine });
            }
        }
        self.reference_machine_type = reference;
        Ok(())
    }

    /// The next row of the ordered query, from the reading thread.
    fn next_row(&mut self) -> Result<Option<Texts<6>>> {
        let Some(rows) = &mut self.rows else {
            return Ok(None);
        };
        rows.next().map_err(|message| Error::Parse {
            path: self.path.clone(),
            message: format!("{REQUESTS}: {message}"),
        })
    }

    /// Parses and converts one request; repairs are counted only for rows
    /// that pass.
    fn request(&mut self, line: u64, t: Texts<6>) -> Result<TraceRecord> {
        let [vm_id, tenant, vm_type, priority, start, end] = t;
        let at = At {
            path: &self.path,
            line,
            what: format!("{REQUESTS} vmId {}", vm_id.as_deref().unwrap_or("NULL")),
        };
        let id = int(&vm_id)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| at.bad("vmId", &vm_id, "an id ≥ 0"))?;
        let tenant = tenant.ok_or_else(|| at.bad("tenantId", &None, "an id"))?;
        let type_id = int(&vm_type).ok_or_else(|| at.bad("vmTypeId", &vm_type, "an integer id"))?;
        let size = self
            .types
            .get(&type_id)
            .copied()
            .ok_or_else(|| at.error("vmTypeId", format!("{type_id} is not in {TYPES}")))?;
        let trace_priority = int(&priority)
            .filter(|p| matches!(p, 0 | 1))
            .ok_or_else(|| at.bad("priority", &priority, "0 (high) or 1 (low)"))?;
        let start_us = days(&start).ok_or_else(|| at.bad("starttime", &start, "days"))?;
        let end_us = match &end {
            None => None,
            Some(_) => Some(days(&end).ok_or_else(|| at.bad("endtime", &end, "days or NULL"))?),
        };
        if end_us.is_some_and(|e| e < start_us) {
            let (s, e) = (show(&start), show(&end));
            return Err(at.error("endtime", format!("{e} is before starttime {s}")));
        }

        if start_us < 0 {
            self.stats.repair("vmRequests.started_before_trace");
        }
        if Some(size.machine) != self.reference_machine_type {
            self.stats.repair("vmRequests.sized_on_other_machine_type");
        }
        let start = clamp_us(start_us);
        let duration = end_us.map(|e| SimDuration(clamp_us(e).saturating_sub(start)));
        let time = self.time.fix(SimTime(start), &mut self.stats, REQUESTS);
        let task = TraceTask {
            key: TaskKey {
                job: id,
                stage: 0,
                index: 0,
            },
            job_name: self.name(vm_type.unwrap_or_default()),
            user: self.name(tenant),
            priority: vm_priority(trace_priority),
            trace_priority,
            request: Request {
                res: size.res,
                gpu: GpuRequest::None,
            },
            constraints: Vec::new(),
            max_per_machine: None,
            max_per_rack: None,
            duration,
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        };
        Ok(TraceRecord {
            time,
            event: TraceEvent::Submit(Box::new(task)),
        })
    }

    fn name(&mut self, text: String) -> Arc<str> {
        let n = self.names.entry(text);
        n.or_insert_with_key(|k| Arc::from(k.as_str())).clone()
    }
}

impl TraceReader for Reader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        while let Some(t) = self.next_row()? {
            self.ordinal += 1;
            self.stats.rows += 1;
            let parsed = self.request(self.ordinal, t);
            if let Some(rec) = lenient(parsed, self.lenient, &mut self.stats, REQUESTS)? {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

/// borgsim priority of the trace's priority (0 high, anything else low).
pub fn vm_priority(trace_priority: i64) -> Priority {
    if trace_priority == 0 {
        HIGH_PRIORITY
    } else {
        LOW_PRIORITY
    }
}

/// Where a row is, for its errors.
struct At<'a> {
    path: &'a Path,
    line: u64,
    /// The table and the row's key, e.g. `vmRequests vmId 7`.
    what: String,
}

impl At<'_> {
    fn error(&self, field: &str, message: String) -> Error {
        Error::Row {
            path: self.path.to_path_buf(),
            line: self.line,
            column: field.to_string(),
            message: format!("{}: {message}", self.what),
        }
    }

    fn bad(&self, field: &str, value: &Option<String>, expected: &str) -> Error {
        self.error(field, format!("expected {expected}, found {}", show(value)))
    }
}

fn show(v: &Option<String>) -> String {
    v.as_ref()
        .map_or_else(|| "NULL".to_string(), |s| format!("{s:?}"))
}

fn int(v: &Option<String>) -> Option<i64> {
    parse_int(v.as_deref()?.trim().as_bytes())
}

/// A fraction of a machine, 0 to 1 inclusive.
fn fraction(v: &Option<String>) -> Option<Decimal> {
    let d = Decimal::parse(v.as_deref()?.trim().as_bytes())?;
    // d ≤ 1 ⇔ mantissa ≤ 10^-exp10 (mantissas have at most 30 digits, so a
    // power of ten that overflows is larger).
    let at_most_one = match u32::try_from(-i64::from(d.exp10)) {
        Ok(e) => 10u128.checked_pow(e).is_none_or(|p| d.mantissa <= p),
        Err(_) => d.mantissa == 0,
    };
    at_most_one.then_some(d)
}

/// Signed fractional days as µs, rounded to the nearest µs.
fn days(v: &Option<String>) -> Option<i128> {
    let s = v.as_deref()?.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let us = i128::from(Decimal::parse(digits.as_bytes())?.scale(US_PER_DAY));
    Some(if negative { -us } else { us })
}

/// A signed µs time as a [`SimTime`] count: before 0 becomes 0.
fn clamp_us(us: i128) -> u64 {
    u64::try_from(us.max(0)).unwrap_or(u64::MAX)
}

fn parse_type(path: &Path, line: u64, t: &Texts<5>) -> Result<(i64, i64, (Decimal, Decimal))> {
    let [id, vm_type, machine, core, memory] = t;
    let at = At {
        path,
        line,
        what: format!("{TYPES} id {}", id.as_deref().unwrap_or("NULL")),
    };
    let vm_type = int(vm_type).ok_or_else(|| at.bad("vmTypeId", vm_type, "an integer id"))?;
    let machine = int(machine).ok_or_else(|| at.bad("machineId", machine, "an integer id"))?;
    let share = "a fraction of a machine, 0 to 1";
    let core = fraction(core).ok_or_else(|| at.bad("core", core, share))?;
    let memory = fraction(memory).ok_or_else(|| at.bad("memory", memory, share))?;
    Ok((vm_type, machine, (core, memory)))
}

fn sql(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        message: format!("cannot read as an SQLite database: {e}"),
    }
}

fn invalid(path: &Path, table: &str, e: &rusqlite::Error) -> Error {
    Error::Invalid {
        path: path.to_path_buf(),
        key: table.to_string(),
        message: format!("not the packing trace's columns: {e}"),
    }
}

fn connect(path: &Path) -> Result<Connection> {
    std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags).map_err(|e| sql(path, &e))
}

fn require_table(conn: &Connection, path: &Path, table: &str) -> Result<()> {
    let found: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master \
             WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
            [table],
            |r| r.get(0),
        )
        .map_err(|e| sql(path, &e))?;
    if found == 0 {
        return Err(Error::Invalid {
            path: path.to_path_buf(),
            key: table.to_string(),
            message: format!("no such table: an Azure packing trace has {REQUESTS} and {TYPES}"),
        });
    }
    Ok(())
}

/// Resolves a table's columns against its schema, by name (SQL names ignore
/// case): an unknown, duplicated or missing required column is an error
/// naming the table and the column.
fn require_columns(conn: &Connection, path: &Path, schema: &'static Schema) -> Result<()> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{}\")", schema.table))
        .map_err(|e| sql(path, &e))?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(1))
        .and_then(|rows| rows.collect())
        .map_err(|e| sql(path, &e))?;
    schema
        .resolve(names.iter().map(String::as_str), true)
        .map(|_| ())
        .map_err(|f| {
            let (column, message) = f.describe(schema, "column");
            Error::Invalid {
                path: path.to_path_buf(),
                key: format!("{}.{column}", schema.table),
                message,
            }
        })
}
