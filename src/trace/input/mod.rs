//! Reading trace tables: several files (parts) read in order as one stream of
//! rows, plain or gzip-compressed, with every row's file and line kept for
//! error messages.
//!
//! What every reader gets from here, so no reader has its own copy:
//! - **Files as published.** A UTF-8 byte-order mark at the start of a file
//!   (plain or `.gz`, headed or headerless, CSV or JSON lines) is skipped
//!   ([`open_file`]); lines may end in LF or CRLF, the header line and
//!   quoted fields included.
//! - **Columns by name** ([`schema`]): a table's documented columns, each
//!   required or optional with the publisher's default, are resolved once
//!   per file against its header (or, for headerless formats, against the
//!   published positions) into a column → field map; readers then read
//!   fields by column, never by position. A header naming an unknown column,
//!   naming one twice, or lacking a required one is an [`Error::Row`] naming
//!   the file and the column.
//! - **No allocation per row.** One `csv::ByteRecord` is reused for every
//!   row, and fields are parsed from bytes in place. Errors are
//!   [`Error::Row`]: file, 1-based line, the field's schema name, and the
//!   offending value.

mod number;
pub mod schema;
#[cfg(test)]
mod tests;

pub use self::number::{parse_int, Decimal};
pub(crate) use self::schema::table_schema;
pub use self::schema::{Column, Columns, Fault, Fields, Need, Schema};

use super::Source;
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The UTF-8 encoding of U+FEFF, which some tools write at the start of a
/// text file.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Opens a file (on disk or embedded) for reading, through a gzip decoder
/// if its name ends in `.gz`, with a UTF-8 byte-order mark at its start
/// (after decompression) skipped.
pub fn open_file(file: &Source) -> Result<Box<dyn Read>> {
    let f = file.open()?;
    if file.path().extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(SkipBom::new(MultiGzDecoder::new(
            BufReader::with_capacity(1 << 16, f),
        ))))
    } else {
        Ok(Box::new(SkipBom::new(f)))
    }
}

/// A reader that drops a byte-order mark from the start of its input.
struct SkipBom<R> {
    inner: R,
    /// The first bytes, read ahead to look for the mark, still to be served.
    head: [u8; 3],
    head_len: usize,
    head_pos: usize,
    started: bool,
}

impl<R: Read> SkipBom<R> {
    fn new(inner: R) -> Self {
        SkipBom {
            inner,
            head: [0; 3],
            head_len: 0,
            head_pos: 0,
            started: false,
        }
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            // Read up to three bytes (a short read is not the end).
            while self.head_len < 3 {
                match self.inner.read(&mut self.head[self.head_len..]) {
                    Ok(0) => break,
                    Ok(n) => self.head_len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.started = true;
            if self.head_len == 3 && &self.head == BOM {
                self.head_len = 0;
            }
        }
        if self.head_pos < self.head_len {
            let n = (self.head_len - self.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// How a table's files are laid out.
#[derive(Copy, Clone, Debug)]
pub struct CsvLayout {
    /// The first line of each file is a header (skipped).
    pub header: bool,
    pub delimiter: u8,
    /// Lines starting with this byte are comments (SWF's `;`).
    pub comment: Option<u8>,
    /// Fields may be separated by runs of whitespace (SWF).
    pub whitespace: bool,
}

impl CsvLayout {
    pub const HEADERLESS: CsvLayout = CsvLayout {
        header: false,
        delimiter: b',',
        comment: None,
        whitespace: false,
    };
    pub const WITH_HEADER: CsvLayout = CsvLayout {
        header: true,
        ..CsvLayout::HEADERLESS
    };
}

/// Rows of one table, read across its parts in the order given.
///
/// Lines are split by hand rather than by the `csv` crate so that line
/// numbers are exact even across blank and comment lines. Fields may be
/// double-quoted (`""` inside is a quote); a quoted field cannot span lines.
/// A line's end is LF or CRLF.
///
/// With a [`Schema`] ([`CsvRows::with_schema`]), each file's header (or, for
/// a headerless layout, the schema's order) is resolved into [`Columns`],
/// and [`CsvRows::fields`] reads the current row by column.
pub struct CsvRows {
    files: Vec<Source>,
    layout: CsvLayout,
    next_file: usize,
    reader: Option<Box<dyn BufRead>>,
    buf: Vec<u8>,
    field: Vec<u8>,
    rec: csv::ByteRecord,
    /// Header of the current file, if the layout has one.
    header: Option<csv::ByteRecord>,
    schema: Option<&'static Schema>,
    /// The schema resolved against the current file.
    cols: Option<Columns>,
    line: u64,
}

impl CsvRows {
    pub fn new(files: Vec<Source>, layout: CsvLayout) -> Self {
        CsvRows {
            files,
            layout,
            next_file: 0,
            reader: None,
            buf: Vec::with_capacity(256),
            field: Vec::with_capacity(64),
            rec: csv::ByteRecord::new(),
            header: None,
            schema: None,
            cols: None,
            line: 0,
        }
    }

    /// Rows whose fields are read by the columns of `schema`: by each
    /// file's header when the layout has one, else by position.
    pub fn with_schema(files: Vec<Source>, layout: CsvLayout, schema: &'static Schema) -> Self {
        let mut rows = CsvRows::new(files, layout);
        rows.schema = Some(schema);
        if !layout.header {
            rows.cols = Some(Columns::positional(schema));
        }
        rows
    }

    /// Checks the header of every file against `schema` now (each file is
    /// opened and its first line read), so that a wrong header is reported
    /// before any row is read.
    pub fn check_headers(files: &[Source], schema: &'static Schema) -> Result<()> {
        for f in files {
            CsvRows::with_schema(vec![f.clone()], CsvLayout::WITH_HEADER, schema).open_header()?;
        }
        Ok(())
    }

    /// The file the current row came from.
    pub fn path(&self) -> &Path {
        self.files
            .get(self.next_file.saturating_sub(1))
            .map_or(Path::new("-"), Source::path)
    }

    /// The header of the current file (layouts with a header only).
    pub fn header(&self) -> Option<&csv::ByteRecord> {
        self.header.as_ref()
    }

    /// Opens the next file if none is open and reads its header (layouts
    /// with a header). False when every file is exhausted. Files without
    /// even a header line are passed over.
    pub fn open_header(&mut self) -> Result<bool> {
        loop {
            if self.reader.is_none() && !self.open_next()? {
                return Ok(false);
            }
            if !self.layout.header || self.header.is_some() {
                return Ok(true);
            }
            if !self.read_line()? {
                self.reader = None;
                continue;
            }
            self.take_header()?;
            return Ok(true);
        }
    }

    /// Advances to the next row; false when every file is exhausted.
    /// Blank lines and comment lines are skipped.
    pub fn advance(&mut self) -> Result<bool> {
        loop {
            if !self.open_header()? {
                return Ok(false);
            }
            if !self.read_line()? {
                self.reader = None;
                continue;
            }
            let content = self.buf.trim_ascii();
            if content.is_empty() || self.layout.comment.is_some_and(|c| content[0] == c) {
                continue;
            }
            self.split()?;
            return Ok(true);
        }
    }

    /// The current line is the header: keep it, and resolve the schema. A
    /// file whose header is wrong is given up (the next call reads the next
    /// file), so no row is ever read by a header that did not resolve.
    fn take_header(&mut self) -> Result<()> {
        let resolved = self.split().and_then(|()| match self.schema {
            Some(schema) => {
                let path = self.files[self.next_file - 1].path();
                Columns::from_header(schema, path, self.line, &self.rec).map(Some)
            }
            None => Ok(None),
        });
        match resolved {
            Ok(cols) => {
                self.cols = cols;
                self.header = Some(self.rec.clone());
                Ok(())
            }
            Err(e) => {
                self.reader = None;
                Err(e)
            }
        }
    }

    fn open_next(&mut self) -> Result<bool> {
        let Some(file) = self.files.get(self.next_file) else {
            return Ok(false);
        };
        let input = open_file(file)?;
        self.next_file += 1;
        self.reader = Some(Box::new(BufReader::with_capacity(1 << 16, input)));
        self.header = None;
        if self.layout.header {
            self.cols = None;
        }
        self.line = 0;
        Ok(true)
    }

    fn read_line(&mut self) -> Result<bool> {
        self.buf.clear();
        let r = self.reader.as_mut().expect("opened");
        let n = r
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| Error::Read {
                path: self.files[self.next_file - 1].path().to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        // LF or CRLF (and a last line ending in CR alone).
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(true)
    }

    /// Splits the current line into `rec`.
    fn split(&mut self) -> Result<()> {
        self.rec.clear();
        if self.layout.whitespace {
            for f in self
                .buf
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
            {
                self.rec.push_field(f);
            }
            return Ok(());
        }
        let d = self.layout.delimiter;
        let mut i = 0;
        let line = &self.buf;
        loop {
            self.field.clear();
            if line.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match line.get(i) {
                        None => {
                            return Err(Error::Row {
                                path: self.path().to_path_buf(),
                                line: self.line,
                                column: "-".into(),
                                message: "a quoted field is not closed on its line".into(),
                            })
                        }
                        Some(b'"') if line.get(i + 1) == Some(&b'"') => {
                            self.field.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            self.field.push(c);
                            i += 1;
                        }
                    }
                }
                let end = line[i..]
                    .iter()
                    .position(|&c| c == d)
                    .map_or(line.len(), |p| i + p);
                self.field.extend_from_slice(&line[i..end]);
                i = end;
            } else {
                let end = line[i..]
                    .iter()
                    .position(|&c| c == d)
                    .map_or(line.len(), |p| i + p);
                self.field.extend_from_slice(&line[i..end]);
                i = end;
            }
            self.rec.push_field(&self.field);
            if i >= line.len() {
                return Ok(());
            }
            i += 1; // the delimiter
        }
    }

    /// The current row.
    pub fn row(&self) -> Row<'_> {
        Row {
            path: self.path(),
            line: self.line,
            rec: &self.rec,
        }
    }

    /// The current row, read by the columns of the schema given at
    /// [`CsvRows::with_schema`].
    ///
    /// # Panics
    /// If the rows were made without a schema (a bug in the reader).
    pub fn fields(&self) -> Fields<'_> {
        let cols = self
            .cols
            .as_ref()
            .expect("CsvRows::fields needs a schema and a current row");
        Fields::new(self.row(), cols)
    }
}

/// One row of a table, with where it came from, read by position.
#[derive(Copy, Clone)]
pub struct Row<'a> {
    pub path: &'a Path,
    pub line: u64,
    pub rec: &'a csv::ByteRecord,
}

impl<'a> Row<'a> {
    pub fn len(&self) -> usize {
        self.rec.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rec.is_empty()
    }

    /// The raw bytes of field `i` (empty if the row is short).
    pub fn raw(&self, i: usize) -> &'a [u8] {
        self.rec.get(i).unwrap_or(b"")
    }

    /// Field `i` as text, trimmed.
    pub fn str(&self, i: usize, name: &str) -> Result<&'a str> {
        text(self.raw(i)).ok_or_else(|| self.error(name, "is not UTF-8".into()))
    }

    /// An error about field `name` of this row.
    pub fn error(&self, name: &str, message: String) -> Error {
        Error::Row {
            path: self.path.to_path_buf(),
            line: self.line,
            column: name.to_string(),
            message,
        }
    }

    /// Fails unless the row has at least `n` fields.
    pub fn expect_fields(&self, n: usize, what: &str) -> Result<()> {
        if self.rec.len() < n {
            return Err(self.error(
                "-",
                format!("expected {n} fields ({what}), found {}", self.rec.len()),
            ));
        }
        Ok(())
    }

    fn bad(&self, i: usize, name: &str, expected: &str) -> Error {
        bad(self, name, self.raw(i), expected)
    }

    /// Field `i`, which must be a signed integer.
    pub fn int(&self, i: usize, name: &str) -> Result<i64> {
        parse_int(self.raw(i).trim_ascii()).ok_or_else(|| self.bad(i, name, "an integer"))
    }

    /// Field `i`: `None` if empty, else a signed integer.
    pub fn opt_int(&self, i: usize, name: &str) -> Result<Option<i64>> {
        opt_int(self.raw(i)).ok_or_else(|| self.bad(i, name, "an integer or nothing"))
    }

    /// Field `i`, which must be an unsigned integer.
    pub fn uint(&self, i: usize, name: &str) -> Result<u64> {
        uint(self.raw(i)).ok_or_else(|| self.bad(i, name, "an integer ≥ 0"))
    }

    /// Field `i`: `None` if empty, else a non-negative decimal number.
    pub fn opt_decimal(&self, i: usize, name: &str) -> Result<Option<Decimal>> {
        opt_decimal(self.raw(i)).ok_or_else(|| self.bad(i, name, "a decimal number ≥ 0 or nothing"))
    }

    /// Field `i`, a non-negative decimal number.
    pub fn decimal(&self, i: usize, name: &str) -> Result<Decimal> {
        Decimal::parse(self.raw(i).trim_ascii())
            .ok_or_else(|| self.bad(i, name, "a decimal number ≥ 0"))
    }
}

// ---- field parsers shared by `Row` and `Fields`: `None` means malformed ----

fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok().map(str::trim)
}

fn opt_int(b: &[u8]) -> Option<Option<i64>> {
    let f = b.trim_ascii();
    if f.is_empty() {
        return Some(None);
    }
    parse_int(f).map(Some)
}

fn uint(b: &[u8]) -> Option<u64> {
    parse_int(b.trim_ascii())
        .filter(|&v| v >= 0)
        .map(|v| v as u64)
}

fn opt_decimal(b: &[u8]) -> Option<Option<Decimal>> {
    let f = b.trim_ascii();
    if f.is_empty() {
        return Some(None);
    }
    Decimal::parse(f).map(Some)
}

/// "expected …, found …" about field `name`.
fn bad(row: &Row<'_>, name: &str, value: &[u8], expected: &str) -> Error {
    let v = String::from_utf8_lossy(value);
    row.error(name, format!("expected {expected}, found {v:?}"))
}
