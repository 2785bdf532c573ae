//! Table schemas: the columns a format's publisher documents for a table,
//! each required or optional (with the default an absent column takes), and
//! their resolution against one file.
//!
//! A reader declares each table once with `table_schema!`:
//! a module holding one index constant per column and the [`Schema`]. When
//! a file is opened, its header is resolved into [`Columns`] — schema column
//! → field index — once; [`Fields`] then reads a row by column constant, so a
//! reader never depends on the order a file's columns come in, and reading a
//! row costs no allocation. Headerless formats use the same schemas, resolved
//! by position ([`Columns::positional`]): their trailing optional columns may
//! be absent from a row.
//!
//! Resolution rules, the same for every format:
//! - a header names each column by its schema name; a nested field `a.b`
//!   may also be written `a_b` (BigQuery's flattened names);
//! - a header naming a column the schema does not know, or naming one twice,
//!   is an error naming the file and that column (a misspelt optional column
//!   would otherwise be silently replaced by its default);
//! - a required column the header lacks is an error naming it;
//! - an optional column the header lacks reads, in every row, as its
//!   default text — the publisher's documented value for an absent field;
//! - a column marked [`Need::Unused`] is one the publisher documents but the
//!   reader does not use: accepted in a header, never read.

use super::{bad, opt_decimal, opt_int, parse_int, text, uint, Decimal, Row};
use crate::error::{Error, Result};
use std::path::Path;

/// Whether a file must have a column.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Every file of the table must have it.
    Required,
    /// A file may lack it; every row then reads this text.
    Optional(&'static str),
    /// Documented by the publisher, not used by the reader: accepted, never read.
    Unused,
}

/// One column of a table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub need: Need,
}

impl Column {
    /// The text a row reads when its file lacks this column.
    pub fn default_text(&self) -> &'static str {
        match self.need {
            Need::Optional(d) => d,
            Need::Required | Need::Unused => "",
        }
    }
}

/// The columns of one table, in the publisher's order.
#[derive(Debug)]
pub struct Schema {
    /// The table's name, as used in messages and [`ReadStats`](crate::trace::ReadStats) keys.
    pub table: &'static str,
    pub columns: &'static [Column],
}

impl Schema {
    /// The column that `name` (as a header writes it) stands for.
    /// `case_insensitive` for SQL tables, whose names ignore case.
    pub fn find(&self, name: &str, case_insensitive: bool) -> Option<usize> {
        let same = |a: &str, b: &str| {
            if case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        self.columns.iter().position(|c| {
            same(c.name, name)
                || (c.name.contains('.')
                    && c.name.len() == name.len()
                    && c.name.bytes().zip(name.bytes()).all(|(a, b)| {
                        (a == b'.' && b == b'_') || same_byte(a, b, case_insensitive)
                    }))
        })
    }

    /// The schema's column names, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        names.join(", ")
    }

    /// Resolves a list of column names (a header, a table's columns, an
    /// object's keys) against the schema: schema column → position in the
    /// list, or the first fault found.
    pub fn resolve<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        case_insensitive: bool,
    ) -> std::result::Result<Vec<Option<usize>>, Fault> {
        let mut at = vec![None; self.columns.len()];
        for (i, name) in names.into_iter().enumerate() {
            let name = name.trim();
            let Some(c) = self.find(name, case_insensitive) else {
                return Err(Fault::Unknown(name.to_string()));
            };
            if let Some(first) = at[c] {
                return Err(Fault::Twice(c, first, i));
            }
            at[c] = Some(i);
        }
        match (0..self.columns.len())
            .find(|&c| self.columns[c].need == Need::Required && at[c].is_none())
        {
            Some(c) => Err(Fault::Missing(c)),
            None => Ok(at),
        }
    }
}

/// What is wrong with a list of names resolved against a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A name the schema does not know (as written).
    Unknown(String),
    /// Schema column named at these two positions (0-based).
    Twice(usize, usize, usize),
    /// A required schema column not named.
    Missing(usize),
    /// A name that stands for nested columns (`capacity` of `capacity.cpus`)
    /// but whose value is not an object of them.
    NotNested(String),
}

impl Fault {
    /// The column at fault and a message, calling the names `noun`s
    /// ("column", "key").
    pub fn describe(&self, schema: &Schema, noun: &str) -> (String, String) {
        match self {
            Fault::Unknown(name) if name.is_empty() => (
                String::new(),
                format!(
                    "a {noun} without a name; the {} {noun}s are {}",
                    schema.table,
                    schema.names()
                ),
            ),
            Fault::Unknown(name) => (
                name.clone(),
                format!(
                    "unknown {noun}; the {} {noun}s are {}",
                    schema.table,
                    schema.names()
                ),
            ),
            Fault::Twice(c, a, b) => (
                schema.columns[*c].name.to_string(),
                format!("named twice ({noun}s {} and {})", a + 1, b + 1),
            ),
            Fault::Missing(c) => (
                schema.columns[*c].name.to_string(),
                format!("a required {noun} of {} is missing", schema.table),
            ),
            Fault::NotNested(name) => {
                let children: Vec<&str> = schema
                    .columns
                    .iter()
                    .filter_map(|c| c.name.strip_prefix(name.as_str())?.strip_prefix('.'))
                    .collect();
                (
                    name.clone(),
                    format!("expected an object of {}", children.join(", ")),
                )
            }
        }
    }
}

fn same_byte(a: u8, b: u8, case_insensitive: bool) -> bool {
    a == b || (case_insensitive && a.eq_ignore_ascii_case(&b))
}

/// Declares a table's [`Schema`] and one index constant per column, in a
/// module of their own:
///
/// ```ignore
/// table_schema! {
///     pub(super) mod pod = "pods" {
///         NAME: "name" => Required,
///         GPU_MILLI: "gpu_milli" => Optional("1000"),
///     }
/// }
/// // pod::NAME == 0, pod::GPU_MILLI == 1, pod::SCHEMA, pod::COUNT == 2
/// ```
macro_rules! table_schema {
    ($(#[$meta:meta])* $vis:vis mod $module:ident = $table:literal {
        $($konst:ident : $name:literal => $need:expr),+ $(,)?
    }) => {
        $(#[$meta])*
        #[allow(dead_code, reason = "every column gets a constant, whether a reader uses it or not")]
        $vis mod $module {
            #[allow(unused_imports, reason = "not every table has every kind of column")]
            use $crate::trace::input::Need::{Optional, Required, Unused};
            #[allow(
                non_camel_case_types,
                clippy::upper_case_acronyms,
                reason = "the index enum's variants are the column constants' names"
            )]
            #[repr(usize)]
            enum Ix { $($konst),+ }
            $(pub const $konst: usize = Ix::$konst as usize;)+
            /// How many columns the table has.
            pub const COUNT: usize = [$($name),+].len();
            pub static SCHEMA: $crate::trace::input::Schema = $crate::trace::input::Schema {
                table: $table,
                columns: &[$($crate::trace::input::Column { name: $name, need: $need }),+],
            };
        }
    };
}
pub(crate) use table_schema;

/// A [`Schema`] resolved against one file: where each column is in its rows.
#[derive(Clone, Debug)]
pub struct Columns {
    schema: &'static Schema,
    /// Schema column → field index in this file's rows.
    at: Box<[Option<usize>]>,
    /// Each row has `min..=max` fields: exactly the header's count for a
    /// headed file; for a headerless one, through the last required column
    /// at least and the whole schema at most.
    min: usize,
    max: usize,
    headed: bool,
}

impl Columns {
    /// A headerless table: column `i` is field `i`; trailing optional
    /// columns may be absent from a row.
    pub fn positional(schema: &'static Schema) -> Columns {
        let n = schema.columns.len();
        let min = schema
            .columns
            .iter()
            .rposition(|c| c.need == Need::Required)
            .map_or(0, |i| i + 1);
        Columns {
            schema,
            at: (0..n).map(Some).collect(),
            min,
            max: n,
            headed: false,
        }
    }

    /// The columns a file's header names (the header is line `line` of
    /// `path`). See the module doc for the rules.
    pub fn from_header(
        schema: &'static Schema,
        path: &Path,
        line: u64,
        header: &csv::ByteRecord,
    ) -> Result<Columns> {
        let row_error = |column: String, message: String| Error::Row {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let mut names = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            names.push(std::str::from_utf8(raw).map_err(|_| {
                row_error(
                    "header".into(),
                    format!(
                        "column {} is not UTF-8: {:?}",
                        i + 1,
                        String::from_utf8_lossy(raw)
                    ),
                )
            })?);
        }
        let at = schema.resolve(names, false).map_err(|f| {
            let (column, message) = f.describe(schema, "column");
            row_error(column, message)
        })?;
        Ok(Columns {
            schema,
            at: at.into(),
            min: header.len(),
            max: header.len(),
            headed: true,
        })
    }

    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// Whether the file has column `c`.
    pub fn has(&self, c: usize) -> bool {
        self.at[c].is_some()
    }
}

/// One row read by column: a [`Row`] with its file's [`Columns`].
#[derive(Copy, Clone)]
pub struct Fields<'a> {
    row: Row<'a>,
    cols: &'a Columns,
}

impl<'a> Fields<'a> {
    pub fn new(row: Row<'a>, cols: &'a Columns) -> Self {
        Fields { row, cols }
    }

    /// The columns the row is read by.
    pub fn columns(&self) -> &'a Columns {
        self.cols
    }

    /// The row, for reading by position.
    pub fn row(&self) -> Row<'a> {
        self.row
    }

    pub fn line(&self) -> u64 {
        self.row.line
    }

    pub fn path(&self) -> &'a Path {
        self.row.path
    }

    /// Column `c`'s schema name.
    pub fn name(&self, c: usize) -> &'static str {
        self.cols.schema.columns[c].name
    }

    /// Whether this row has column `c` (its file names it and, headerless,
    /// the row is long enough).
    pub fn has(&self, c: usize) -> bool {
        self.cols.at[c].is_some_and(|i| i < self.row.rec.len())
    }

    /// Fails unless the row has as many fields as its file's columns say:
    /// a headed file's rows as many as its header, a headerless file's rows
    /// at least through the last required column and at most the schema's.
    pub fn check_width(&self) -> Result<()> {
        let n = self.row.rec.len();
        let (min, max) = (self.cols.min, self.cols.max);
        if (min..=max).contains(&n) {
            return Ok(());
        }
        let expected = match (self.cols.headed, min == max) {
            (true, _) => format!("{max} fields, as the header names"),
            (false, true) => format!("{max} fields ({})", self.cols.schema.names()),
            (false, false) => format!(
                "{min} to {max} fields ({}; the last {} may be left out)",
                self.cols.schema.names(),
                max - min
            ),
        };
        Err(self
            .row
            .error("-", format!("expected {expected}, found {n}")))
    }

    /// The raw bytes of column `c`, or its default text if the row lacks it.
    pub fn raw(&self, c: usize) -> &'a [u8] {
        match self.cols.at[c].and_then(|i| self.row.rec.get(i)) {
            Some(f) => f,
            None => self.cols.schema.columns[c].default_text().as_bytes(),
        }
    }

    /// An error about column `c` of this row.
    pub fn error(&self, c: usize, message: String) -> Error {
        self.row.error(self.name(c), message)
    }

    fn bad(&self, c: usize, expected: &str) -> Error {
        bad(&self.row, self.name(c), self.raw(c), expected)
    }

    /// Column `c` as text, trimmed.
    pub fn str(&self, c: usize) -> Result<&'a str> {
        text(self.raw(c)).ok_or_else(|| self.error(c, "is not UTF-8".into()))
    }

    /// Column `c`, a signed integer.
    pub fn int(&self, c: usize) -> Result<i64> {
        parse_int(self.raw(c).trim_ascii()).ok_or_else(|| self.bad(c, "an integer"))
    }

    /// Column `c`: `None` if empty, else a signed integer.
    pub fn opt_int(&self, c: usize) -> Result<Option<i64>> {
        opt_int(self.raw(c)).ok_or_else(|| self.bad(c, "an integer or nothing"))
    }

    /// Column `c`, an integer ≥ 0.
    pub fn uint(&self, c: usize) -> Result<u64> {
        uint(self.raw(c)).ok_or_else(|| self.bad(c, "an integer ≥ 0"))
    }

    /// Column `c`: `None` if empty, else an integer ≥ 0.
    pub fn opt_uint(&self, c: usize) -> Result<Option<u64>> {
        let f = self.raw(c).trim_ascii();
        if f.is_empty() {
            return Ok(None);
        }
        uint(f)
            .map(Some)
            .ok_or_else(|| self.bad(c, "an integer ≥ 0 or nothing"))
    }

    /// Column `c`, an integer in `0..=u32::MAX`.
    pub fn u32(&self, c: usize) -> Result<u32> {
        let v = self.uint(c)?;
        u32::try_from(v).map_err(|_| self.error(c, format!("expected < 2^32, found {v}")))
    }

    /// Column `c`, a non-negative decimal number.
    pub fn decimal(&self, c: usize) -> Result<Decimal> {
        Decimal::parse(self.raw(c).trim_ascii()).ok_or_else(|| self.bad(c, "a decimal number ≥ 0"))
    }

    /// Column `c`: `None` if empty, else a non-negative decimal number.
    pub fn opt_decimal(&self, c: usize) -> Result<Option<Decimal>> {
        opt_decimal(self.raw(c)).ok_or_else(|| self.bad(c, "a decimal number ≥ 0 or nothing"))
    }
}
