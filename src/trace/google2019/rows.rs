//! The rows of one ClusterData2019 table, read from its files in order —
//! newline-delimited JSON or CSV with a header, file by file — and fields
//! looked up by their schema name in either layout.

use crate::error::{Error, Result};
use crate::trace::input::{open_file, parse_int, CsvLayout, CsvRows, Decimal, Row};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The tables this reader uses, in the order that breaks time ties.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    Machines,
    Collections,
    Instances,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Machines, Table::Collections, Table::Instances];

    pub fn name(self) -> &'static str {
        match self {
            Table::Machines => "machine_events",
            Table::Collections => "collection_events",
            Table::Instances => "instance_events",
        }
    }

    /// The schema fields read from this table (nested fields as `a.b`).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Table::Machines => &[
                "time",
                "machine_id",
                "type",
                "switch_id",
                "capacity.cpus",
                "capacity.memory",
                "platform_id",
            ],
            Table::Collections => &[
                "time",
                "type",
                "collection_id",
                "priority",
                "user",
                "collection_name",
                "max_per_machine",
                "max_per_switch",
                "alloc_collection_id",
            ],
            Table::Instances => &[
                "time",
                "type",
                "collection_id",
                "instance_index",
                "machine_id",
                "priority",
                "alloc_collection_id",
                "resource_request.cpus",
                "resource_request.memory",
                "constraint",
            ],
        }
    }

    /// Fields a CSV header must name.
    fn required(self) -> &'static [&'static str] {
        match self {
            Table::Machines => &["time", "machine_id", "type"],
            Table::Collections => &["time", "type", "collection_id"],
            Table::Instances => &["time", "type", "collection_id", "instance_index"],
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
    Csv {
        rows: CsvRows,
        /// Schema field → column, from this file's header.
        cols: Vec<(&'static str, usize)>,
    },
}

/// The rows of one table across its files.
pub(super) struct Source {
    pub table: Table,
    files: Vec<PathBuf>,
    next_file: usize,
    cur: Option<Current>,
}

impl Source {
    pub fn new(table: Table, files: Vec<PathBuf>) -> Self {
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
                let Some(path) = self.files.get(self.next_file).cloned() else {
                    return Ok(false);
                };
                self.next_file += 1;
                self.cur = Some(open(path)?);
            }
            let table = self.table;
            let more = match self.cur.as_mut().expect("opened") {
                Current::Json {
                    path,
                    reader,
                    buf,
                    line,
                    obj,
                } => next_json(path, reader, buf, line, obj)?,
                Current::Csv { rows, cols } => {
                    let more = rows.advance()?;
                    if more && cols.is_empty() {
                        *cols = header_columns(table, rows)?;
                    }
                    more
                }
            };
            if more {
                return Ok(true);
            }
            self.cur = None;
        }
    }

    /// The current row's fields.
    pub fn fields(&self) -> Fields<'_> {
        match self.cur.as_ref() {
            Some(Current::Json {
                path, line, obj, ..
            }) => Fields::Json {
                obj,
                path,
                line: *line,
            },
            Some(Current::Csv { rows, cols }) => Fields::Csv {
                row: rows.row(),
                cols,
            },
            None => Fields::Json {
                obj: empty_map(),
                path: Path::new("-"),
                line: 0,
            },
        }
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn open(path: PathBuf) -> Result<Current> {
    Ok(match Layout::of_file(&path)? {
        Layout::Json => Current::Json {
            reader: Box::new(BufReader::with_capacity(1 << 16, open_file(&path)?)),
            path,
            buf: Vec::with_capacity(512),
            line: 0,
            obj: Map::new(),
        },
        Layout::Csv => Current::Csv {
            rows: CsvRows::new(vec![path], CsvLayout::WITH_HEADER),
            cols: Vec::new(),
        },
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

/// Maps the table's fields to this file's columns. A header may name a
/// nested field `a.b` or `a_b`.
fn header_columns(table: Table, rows: &CsvRows) -> Result<Vec<(&'static str, usize)>> {
    let norm = |s: &[u8]| {
        String::from_utf8_lossy(s)
            .trim()
            .trim_start_matches('\u{feff}')
            .replace('.', "_")
    };
    let header: Vec<String> = rows
        .header()
        .map(|h| h.iter().map(norm).collect())
        .unwrap_or_default();
    let cols: Vec<(&'static str, usize)> = table
        .fields()
        .iter()
        .filter_map(|&f| {
            let want = f.replace('.', "_");
            header.iter().position(|h| *h == want).map(|i| (f, i))
        })
        .collect();
    for &req in table.required() {
        if !cols.iter().any(|c| c.0 == req) {
            return Err(Error::Invalid {
                path: rows.path().to_path_buf(),
                key: req.into(),
                message: format!("the header has no column {req:?}"),
            });
        }
    }
    Ok(cols)
}

fn row_error(path: &Path, line: u64, field: &str, message: String) -> Error {
    Error::Row {
        path: path.to_path_buf(),
        line,
        column: field.to_string(),
        message,
    }
}

/// One row's fields, by schema name. A JSON null, an absent key and an
/// empty CSV field are all "nothing" (`None`).
#[derive(Copy, Clone)]
pub(super) enum Fields<'a> {
    Json {
        obj: &'a Map<String, Value>,
        path: &'a Path,
        line: u64,
    },
    Csv {
        row: Row<'a>,
        cols: &'a [(&'static str, usize)],
    },
}

impl<'a> Fields<'a> {
    pub fn error(&self, field: &str, message: String) -> Error {
        match self {
            Fields::Json { path, line, .. } => row_error(path, *line, field, message),
            Fields::Csv { row, .. } => row.error(field, message),
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

    /// The field as text; numbers as their decimal text.
    pub fn text(&self, field: &str) -> Result<Option<Cow<'a, str>>> {
        match *self {
            Fields::Json { obj, .. } => match Self::json_value(obj, field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => scalar_text(v)
                    .map(|t| (!t.is_empty()).then_some(t))
                    .ok_or_else(|| self.error(field, format!("expected a value, found {v}"))),
            },
            Fields::Csv { row, cols } => match cols.iter().find(|c| c.0 == field) {
                None => Ok(None),
                Some(&(_, i)) => {
                    let s = row.str(i, field)?;
                    Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
                }
            },
        }
    }

    fn expected(&self, field: &str, what: &str, found: Option<&str>) -> Error {
        match found {
            Some(v) => self.error(field, format!("expected {what}, found {v:?}")),
            None => self.error(field, format!("expected {what}, found nothing")),
        }
    }

    /// An integer field in `lo..=hi`.
    pub fn int_in(&self, field: &str, lo: i64, hi: i64) -> Result<i64> {
        let what = format!("an integer in {lo}..={hi}");
        match self.text(field)? {
            None => Err(self.expected(field, &what, None)),
            Some(t) => parse_int(t.as_bytes())
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| self.expected(field, &what, Some(&t))),
        }
    }

    /// An optional integer field in `lo..=hi`.
    pub fn opt_int_in(&self, field: &str, lo: i64, hi: i64) -> Result<Option<i64>> {
        if self.text(field)?.is_none() {
            return Ok(None);
        }
        self.int_in(field, lo, hi).map(Some)
    }

    /// A non-negative decimal field (NCU, NMU), exactly, or nothing.
    pub fn decimal(&self, field: &str) -> Result<Option<Decimal>> {
        match self.text(field)? {
            None => Ok(None),
            Some(t) => Decimal::parse(t.as_bytes())
                .map(Some)
                .ok_or_else(|| self.expected(field, "a decimal number ≥ 0", Some(&t))),
        }
    }

    /// The `constraint` list: a JSON array of `{name, value, relation}`
    /// (in CSV, that array as JSON text in one field).
    pub fn constraints(&self, field: &str) -> Result<Vec<RawConstraint>> {
        let parsed;
        let list = match *self {
            Fields::Json { obj, .. } => match Self::json_value(obj, field) {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::String(s)) => {
                    parsed = self.parse_list(field, s)?;
                    &parsed
                }
                Some(v) => v,
            },
            Fields::Csv { .. } => match self.text(field)? {
                None => return Ok(Vec::new()),
                Some(t) => {
                    parsed = self.parse_list(field, &t)?;
                    &parsed
                }
            },
        };
        let Value::Array(items) = list else {
            return Err(self.error(field, format!("expected a list, found {list}")));
        };
        items.iter().map(|c| self.constraint(field, c)).collect()
    }

    fn parse_list(&self, field: &str, text: &str) -> Result<Value> {
        serde_json::from_str(text)
            .map_err(|e| self.error(field, format!("expected a JSON list: {e}, in {text:?}")))
    }

    fn constraint(&self, field: &str, c: &Value) -> Result<RawConstraint> {
        let part = |name: &str| c.get(name).filter(|v| !v.is_null()).and_then(scalar_text);
        let rel_field = format!("{field}.relation");
        let name = part("name").ok_or_else(|| {
            self.error(&format!("{field}.name"), format!("expected a name in {c}"))
        })?;
        let relation = part("relation")
            .as_deref()
            .and_then(Relation::parse)
            .ok_or_else(|| self.error(&rel_field, format!("expected a relation in {c}")))?;
        Ok(RawConstraint {
            name: name.into_owned(),
            value: part("value").map(Cow::into_owned).unwrap_or_default(),
            relation,
        })
    }
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
