//! The rows of one ClusterData2019 table, read from its files in order —
//! newline-delimited JSON or CSV with a header, file by file — and fields
//! read by schema column in either layout.

use crate::error::{Error, Result};
use crate::trace::input::{
    open_file, parse_int, table_schema, CsvLayout, CsvRows, Decimal, Fault, Fields as CsvFields,
    Need, Schema,
};
use crate::trace::Source as TraceFile;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

table_schema! {
    /// `machine_events` (proto `MachineEvent`).
    pub(super) mod mach = "machine_events" {
        TIME: "time" => Required,
        MACHINE_ID: "machine_id" => Required,
        TYPE: "type" => Required,
        SWITCH_ID: "switch_id" => Optional(""),
        CAPACITY_CPUS: "capacity.cpus" => Optional(""),
        CAPACITY_MEMORY: "capacity.memory" => Optional(""),
        PLATFORM_ID: "platform_id" => Optional(""),
        MISSING_DATA_REASON: "missing_data_reason" => Unused,
    }
}

table_schema! {
    /// `collection_events` (proto `CollectionEvent`).
    pub(super) mod coll = "collection_events" {
        TIME: "time" => Required,
        TYPE: "type" => Required,
        COLLECTION_ID: "collection_id" => Required,
        SCHEDULING_CLASS: "scheduling_class" => Unused,
        MISSING_TYPE: "missing_type" => Unused,
        COLLECTION_TYPE: "collection_type" => Unused,
        PRIORITY: "priority" => Optional(""),
        ALLOC_COLLECTION_ID: "alloc_collection_id" => Optional(""),
        USER: "user" => Optional(""),
        COLLECTION_NAME: "collection_name" => Optional(""),
        COLLECTION_LOGICAL_NAME: "collection_logical_name" => Unused,
        PARENT_COLLECTION_ID: "parent_collection_id" => Unused,
        START_AFTER_COLLECTION_IDS: "start_after_collection_ids" => Optional(""),
        MAX_PER_MACHINE: "max_per_machine" => Optional(""),
        MAX_PER_SWITCH: "max_per_switch" => Optional(""),
        VERTICAL_SCALING: "vertical_scaling" => Unused,
        SCHEDULER: "scheduler" => Unused,
    }
}

table_schema! {
    /// `instance_events` (proto `InstanceEvent`).
    pub(super) mod inst = "instance_events" {
        TIME: "time" => Required,
        TYPE: "type" => Required,
        COLLECTION_ID: "collection_id" => Required,
        SCHEDULING_CLASS: "scheduling_class" => Unused,
        MISSING_TYPE: "missing_type" => Unused,
        COLLECTION_TYPE: "collection_type" => Unused,
        PRIORITY: "priority" => Optional(""),
        ALLOC_COLLECTION_ID: "alloc_collection_id" => Optional(""),
        INSTANCE_INDEX: "instance_index" => Required,
        MACHINE_ID: "machine_id" => Optional(""),
        ALLOC_INSTANCE_INDEX: "alloc_instance_index" => Unused,
        RESOURCE_REQUEST_CPUS: "resource_request.cpus" => Optional(""),
        RESOURCE_REQUEST_MEMORY: "resource_request.memory" => Optional(""),
        CONSTRAINT: "constraint" => Optional(""),
    }
}

table_schema! {
    /// `machine_attributes` (proto `MachineAttributes`).
    pub(super) mod mattr = "machine_attributes" {
        TIME: "time" => Required,
        MACHINE_ID: "machine_id" => Required,
        NAME: "name" => Required,
        VALUE: "value" => Optional(""),
        DELETED: "deleted" => Optional("false"),
    }
}

/// The tables this reader uses, in the order that breaks time ties (a
/// machine's attributes before its events, so an ADD carries them; usage
/// last, so a window starting when its instance is scheduled finds it
/// running).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    Attributes,
    Machines,
    Collections,
    Instances,
    Usage,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Attributes,
        Table::Machines,
        Table::Collections,
        Table::Instances,
        Table::Usage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Attributes => "machine_attributes",
            Table::Machines => "machine_events",
            Table::Collections => "collection_events",
            Table::Instances => "instance_events",
            Table::Usage => "instance_usage",
        }
    }

    /// The table's published columns (nested fields as `a.b`).
    pub fn schema(self) -> &'static Schema {
        match self {
            Table::Attributes => &mattr::SCHEMA,
            Table::Machines => &mach::SCHEMA,
            Table::Collections => &coll::SCHEMA,
            Table::Instances => &inst::SCHEMA,
            Table::Usage => &super::usage::cols::SCHEMA,
        }
    }

    /// The table a file belongs to: its file name contains the table's
    /// name, or failing that its directory's name does.
    pub fn of_file(path: &Path) -> Option<Table> {
        let names = [path.file_name(), path.parent().and_then(Path::file_name)];
        names.into_iter().flatten().find_map(|n| {
            let n = n.to_string_lossy();
            Table::ALL.into_iter().find(|t| n.contains(t.name()))
        })
    }
}

/// How a file is laid out, from its extension (after any `.gz`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    Json,
    Csv,
}

impl Layout {
    pub fn of_file(path: &Path) -> Result<Layout> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("json" | "jsonl" | "ndjson") => Ok(Layout::Json),
            Some("csv") => Ok(Layout::Csv),
            _ => Err(Error::Invalid {
                path: path.to_path_buf(),
                key: "file name".into(),
                message: "expected .json, .jsonl, .ndjson or .csv, optionally .gz".into(),
            }),
        }
    }
}

/// The file being read.
enum Current {
    Json {
        path: PathBuf,
        reader: Box<dyn BufRead>,
        buf: Vec<u8>,
        line: u64,
        obj: Map<String, Value>,
    },
    Csv(CsvRows),
}

/// The rows of one table across its files.
pub(super) struct Source {
    pub table: Table,
    files: Vec<TraceFile>,
    next_file: usize,
    cur: Option<Current>,
}

impl Source {
    pub fn new(table: Table, files: Vec<TraceFile>) -> Self {
        Source {
            table,
            files,
            next_file: 0,
            cur: None,
        }
    }

    /// Moves to the next data row; false at the end of the last file. A
    /// line that is not a JSON object is an [`Error::Row`] (field `json`),
    /// after which the next call reads on.
    pub fn advance(&mut self) -> Result<bool> {
        loop {
            if self.cur.is_none() {
                let Some(file) = self.files.get(self.next_file).cloned() else {
                    return Ok(false);
                };
                self.next_file += 1;
                self.cur = Some(open(file, self.table)?);
            }
            let more = match self.cur.as_mut().expect("opened") {
                Current::Json {
                    path,
                    reader,
                    buf,
                    line,
                    obj,
                } => next_json(path, reader, buf, line, obj)?,
                Current::Csv(rows) => rows.advance()?,
            };
            if more {
                return Ok(true);
            }
            self.cur = None;
        }
    }

    /// The current row's fields.
    pub fn fields(&self) -> Fields<'_> {
        let schema = self.table.schema();
        match self.cur.as_ref() {
            Some(Current::Json {
                path, line, obj, ..
            }) => Fields::Json {
                obj,
                path,
                line: *line,
                schema,
            },
            Some(Current::Csv(rows)) => Fields::Csv(rows.fields()),
            None => Fields::Json {
                obj: empty_map(),
                path: Path::new("-"),
                line: 0,
                schema,
            },
        }
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn open(file: TraceFile, table: Table) -> Result<Current> {
    Ok(match Layout::of_file(file.path())? {
        Layout::Json => Current::Json {
            reader: Box::new(BufReader::with_capacity(1 << 16, open_file(&file)?)),
            path: file.path().to_path_buf(),
            buf: Vec::with_capacity(512),
            line: 0,
            obj: Map::new(),
        },
        Layout::Csv => Current::Csv(CsvRows::with_schema(
            vec![file],
            CsvLayout::WITH_HEADER,
            table.schema(),
        )),
    })
}

/// Reads the next non-blank line of a JSON-lines file into `obj`.
fn next_json(
    path: &Path,
    reader: &mut Box<dyn BufRead>,
    buf: &mut Vec<u8>,
    line: &mut u64,
    obj: &mut Map<String, Value>,
) -> Result<bool> {
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', buf)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(false);
        }
        *line += 1;
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        obj.clear();
        return match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(m)) => {
                *obj = m;
                Ok(true)
            }
            Ok(_) => Err(row_error(path, *line, "json", "not a JSON object".into())),
            Err(e) => Err(row_error(path, *line, "json", format!("not JSON: {e}"))),
        };
    }
}

fn row_error(path: &Path, line: u64, field: &str, message: String) -> Error {
    Error::Row {
        path: path.to_path_buf(),
        line,
        column: field.to_string(),
        message,
    }
}

/// One row's fields, by schema column. A JSON null, an absent key and an
/// empty CSV field are all "nothing" (`None`); so is a column an export
/// left out (every column read here is optional but the keys).
#[derive(Copy, Clone)]
pub(super) enum Fields<'a> {
    Json {
        obj: &'a Map<String, Value>,
        path: &'a Path,
        line: u64,
        schema: &'static Schema,
    },
    Csv(CsvFields<'a>),
}

impl<'a> Fields<'a> {
    fn schema(&self) -> &'static Schema {
        match self {
            Fields::Json { schema, .. } => schema,
            Fields::Csv(f) => f.columns().schema(),
        }
    }

    /// Column `c`'s schema name.
    fn name(&self, c: usize) -> &'static str {
        self.schema().columns[c].name
    }

    /// An error about the field called `field` (a column, or a part of one
    /// such as `constraint.name`).
    pub fn error_named(&self, field: &str, message: String) -> Error {
        match self {
            Fields::Json { path, line, .. } => row_error(path, *line, field, message),
            Fields::Csv(f) => f.row().error(field, message),
        }
    }

    /// An error about column `c`.
    pub fn error(&self, c: usize, message: String) -> Error {
        self.error_named(self.name(c), message)
    }

    /// Checks the row's shape: a CSV row has as many fields as its header;
    /// a JSON row's keys are the table's columns (nested `a: {b: …}`, or
    /// flattened `a.b` / `a_b`), and its required keys are there.
    pub fn check(&self) -> Result<()> {
        match *self {
            Fields::Csv(f) => f.check_width(),
            Fields::Json { obj, schema, .. } => {
                let fault = json_fault(obj, schema).map(|f| f.describe(schema, "key"));
                match fault {
                    None => Ok(()),
                    Some((key, message)) => Err(self.error_named(&key, message)),
                }
            }
        }
    }

    fn json_value(obj: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
        let nested = field
            .split_once('.')
            .and_then(|(a, b)| obj.get(a)?.as_object()?.get(b));
        nested
            .or_else(|| obj.get(field))
            .or_else(|| obj.get(&field.replace('.', "_")))
    }

    /// Column `c` as text; numbers as their decimal text.
    pub fn text(&self, c: usize) -> Result<Option<Cow<'a, str>>> {
        match *self {
            Fields::Json { obj, .. } => match Self::json_value(obj, self.name(c)) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => scalar_text(v)
                    .map(|t| (!t.is_empty()).then_some(t))
                    .ok_or_else(|| self.error(c, format!("expected a value, found {v}"))),
            },
            Fields::Csv(f) => {
                let s = f.str(c)?;
                Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
            }
        }
    }

    fn expected(&self, c: usize, what: &str, found: Option<&str>) -> Error {
        match found {
            Some(v) => self.error(c, format!("expected {what}, found {v:?}")),
            None => self.error(c, format!("expected {what}, found nothing")),
        }
    }

    /// An integer column in `lo..=hi`.
    pub fn int_in(&self, c: usize, lo: i64, hi: i64) -> Result<i64> {
        let what = format!("an integer in {lo}..={hi}");
        match self.text(c)? {
            None => Err(self.expected(c, &what, None)),
            Some(t) => parse_int(t.as_bytes())
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| self.expected(c, &what, Some(&t))),
        }
    }

    /// An optional integer column in `lo..=hi`.
    pub fn opt_int_in(&self, c: usize, lo: i64, hi: i64) -> Result<Option<i64>> {
        if self.text(c)?.is_none() {
            return Ok(None);
        }
        self.int_in(c, lo, hi).map(Some)
    }

    /// A non-negative decimal column (NCU, NMU), exactly, or nothing.
    pub fn decimal(&self, c: usize) -> Result<Option<Decimal>> {
        match self.text(c)? {
            None => Ok(None),
            Some(t) => Decimal::parse(t.as_bytes())
                .map(Some)
                .ok_or_else(|| self.expected(c, "a decimal number ≥ 0", Some(&t))),
        }
    }

    /// A list column (`constraint`, `start_after_collection_ids`): a JSON
    /// array, or in CSV (or as a JSON string) that array as JSON text.
    /// Nothing, `null` and an empty text are the empty list.
    pub fn list(&self, c: usize) -> Result<Vec<Value>> {
        let parsed;
        let list = match *self {
            Fields::Json { obj, .. } => match Self::json_value(obj, self.name(c)) {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
                Some(Value::String(s)) => {
                    parsed = self.parse_list(c, s)?;
                    &parsed
                }
                Some(v) => v,
            },
            Fields::Csv(_) => match self.text(c)? {
                None => return Ok(Vec::new()),
                Some(t) => {
                    parsed = self.parse_list(c, &t)?;
                    &parsed
                }
            },
        };
        match list {
            Value::Array(items) => Ok(items.clone()),
            _ => Err(self.error(c, format!("expected a list, found {list}"))),
        }
    }

    /// The `constraint` list: `{name, value, relation}` objects.
    pub fn constraints(&self, c: usize) -> Result<Vec<RawConstraint>> {
        let items = self.list(c)?;
        items.iter().map(|item| self.constraint(c, item)).collect()
    }

    fn parse_list(&self, c: usize, text: &str) -> Result<Value> {
        serde_json::from_str(text)
            .map_err(|e| self.error(c, format!("expected a JSON list: {e}, in {text:?}")))
    }

    fn constraint(&self, c: usize, item: &Value) -> Result<RawConstraint> {
        let field = self.name(c);
        let part = |name: &str| {
            item.get(name)
                .filter(|v| !v.is_null())
                .and_then(scalar_text)
        };
        let rel_field = format!("{field}.relation");
        let name = part("name").ok_or_else(|| {
            self.error_named(
                &format!("{field}.name"),
                format!("expected a name in {item}"),
            )
        })?;
        let relation = part("relation")
            .as_deref()
            .and_then(Relation::parse)
            .ok_or_else(|| {
                self.error_named(&rel_field, format!("expected a relation in {item}"))
            })?;
        Ok(RawConstraint {
            name: name.into_owned(),
            value: part("value").map(Cow::into_owned).unwrap_or_default(),
            relation,
        })
    }
}

/// What is wrong with a JSON row's keys, if anything: a key that is none of
/// the table's columns (a nested object's keys included), or a required
/// column missing. Allocates only to name a fault.
fn json_fault(obj: &Map<String, Value>, schema: &Schema) -> Option<Fault> {
    for (key, value) in obj {
        if schema.find(key, false).is_some() {
            continue;
        }
        // A parent of nested columns (`resource_request`): its object's keys
        // must be its children.
        let child = |inner: &str| {
            schema.columns.iter().any(|c| {
                c.name
                    .split_once('.')
                    .is_some_and(|(a, b)| a == key && b == inner)
            })
        };
        let is_parent = schema
            .columns
            .iter()
            .any(|c| c.name.split_once('.').is_some_and(|(a, _)| a == key));
        match value {
            Value::Object(inner) if is_parent => {
                if let Some(k) = inner.keys().find(|k| !child(k)) {
                    return Some(Fault::Unknown(format!("{key}.{k}")));
                }
            }
            Value::Null if is_parent => {}
            _ if is_parent => return Some(Fault::NotNested(key.clone())),
            _ => return Some(Fault::Unknown(key.clone())),
        }
    }
    (0..schema.columns.len())
        .find(|&c| {
            schema.columns[c].need == Need::Required
                && Fields::json_value(obj, schema.columns[c].name).is_none()
        })
        .map(Fault::Missing)
}

/// A scalar's text: strings as they are, numbers in decimal (a JSON
/// floating-point number as the shortest text that reads back as the same
/// double, which is the text written for numbers of up to 15 significant
/// digits). `None` for lists and objects.
fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.trim())),
        Value::Number(n) => Some(Cow::Owned(match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (None, Some(i), _) => i.to_string(),
            (None, None, Some(f)) => format!("{f}"),
            _ => n.to_string(),
        })),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A constraint's relation (proto `Relation`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Relation {
    Equal,
    NotEqual,
    /// LESS_THAN, GREATER_THAN, LESS_THAN_EQUAL, GREATER_THAN_EQUAL.
    Ordered,
    Present,
    NotPresent,
}

impl Relation {
    /// From its code (0–7) or its proto name.
    pub fn parse(s: &str) -> Option<Relation> {
        Some(match s {
            "0" | "EQUAL" => Relation::Equal,
            "1" | "NOT_EQUAL" => Relation::NotEqual,
            "2" | "3" | "4" | "5" | "LESS_THAN" | "GREATER_THAN" | "LESS_THAN_EQUAL"
            | "GREATER_THAN_EQUAL" => Relation::Ordered,
            "6" | "PRESENT" => Relation::Present,
            "7" | "NOT_PRESENT" => Relation::NotPresent,
            _ => return None,
        })
    }
}

/// A constraint as a row states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RawConstraint {
    pub name: String,
    pub value: String,
    pub relation: Relation,
}
