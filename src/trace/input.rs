//! Reading trace tables: several files (parts) read in order as one stream of
//! rows, plain or gzip-compressed, with every row's file and line kept for
//! error messages.
//!
//! One `csv::ByteRecord` is reused for every row, and fields are parsed from
//! bytes in place, so a row costs no allocation. Errors are
//! [`Error::Row`]: file, 1-based line, the field's schema name, and the
//! offending value.

use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Opens a file for reading, through a gzip decoder if its name ends in `.gz`.
pub fn open_file(path: &Path) -> Result<Box<dyn Read>> {
    let f = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            f,
        ))))
    } else {
        Ok(Box::new(f))
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
pub struct CsvRows {
    files: Vec<PathBuf>,
    layout: CsvLayout,
    next_file: usize,
    reader: Option<Box<dyn BufRead>>,
    buf: Vec<u8>,
    field: Vec<u8>,
    rec: csv::ByteRecord,
    /// Header of the current file, if the layout has one.
    header: Option<csv::ByteRecord>,
    line: u64,
}

impl CsvRows {
    pub fn new(files: Vec<PathBuf>, layout: CsvLayout) -> Self {
        CsvRows {
            files,
            layout,
            next_file: 0,
            reader: None,
            buf: Vec::with_capacity(256),
            field: Vec::with_capacity(64),
            rec: csv::ByteRecord::new(),
            header: None,
            line: 0,
        }
    }

    /// The file the current row came from.
    pub fn path(&self) -> &Path {
        self.files
            .get(self.next_file.saturating_sub(1))
            .map_or(Path::new("-"), |p| p.as_path())
    }

    /// The header of the current file (layouts with a header only).
    pub fn header(&self) -> Option<&csv::ByteRecord> {
        self.header.as_ref()
    }

    /// Advances to the next row; false when every file is exhausted.
    /// Blank lines and comment lines are skipped.
    pub fn advance(&mut self) -> Result<bool> {
        loop {
            if self.reader.is_none() && !self.open_next()? {
                return Ok(false);
            }
            if !self.read_line()? {
                self.reader = None;
                continue;
            }
            if self.layout.header && self.header.is_none() {
                self.split()?;
                self.header = Some(self.rec.clone());
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

    fn open_next(&mut self) -> Result<bool> {
        let Some(path) = self.files.get(self.next_file) else {
            return Ok(false);
        };
        let input = open_file(path)?;
        self.next_file += 1;
        self.reader = Some(Box::new(BufReader::with_capacity(1 << 16, input)));
        self.header = None;
        self.line = 0;
        Ok(true)
    }

    fn read_line(&mut self) -> Result<bool> {
        self.buf.clear();
        let r = self.reader.as_mut().expect("opened");
        let n = r
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| Error::Read {
                path: self.files[self.next_file - 1].clone(),
                source,
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
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
}

/// One row of a table, with where it came from.
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
        std::str::from_utf8(self.raw(i))
            .map(str::trim)
            .map_err(|_| self.error(name, "is not UTF-8".into()))
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
        let v = String::from_utf8_lossy(self.raw(i));
        self.error(name, format!("expected {expected}, found {v:?}"))
    }

    /// Field `i`, which must be a signed integer.
    pub fn int(&self, i: usize, name: &str) -> Result<i64> {
        parse_int(trim(self.raw(i))).ok_or_else(|| self.bad(i, name, "an integer"))
    }

    /// Field `i`: `None` if empty, else a signed integer.
    pub fn opt_int(&self, i: usize, name: &str) -> Result<Option<i64>> {
        let f = trim(self.raw(i));
        if f.is_empty() {
            return Ok(None);
        }
        parse_int(f)
            .map(Some)
            .ok_or_else(|| self.bad(i, name, "an integer or nothing"))
    }

    /// Field `i`, which must be an unsigned integer.
    pub fn uint(&self, i: usize, name: &str) -> Result<u64> {
        match parse_int(trim(self.raw(i))) {
            Some(v) if v >= 0 => Ok(v as u64),
            _ => Err(self.bad(i, name, "an integer ≥ 0")),
        }
    }

    /// Field `i`: `None` if empty, else a non-negative decimal number.
    pub fn opt_decimal(&self, i: usize, name: &str) -> Result<Option<Decimal>> {
        let f = trim(self.raw(i));
        if f.is_empty() {
            return Ok(None);
        }
        Decimal::parse(f)
            .map(Some)
            .ok_or_else(|| self.bad(i, name, "a decimal number ≥ 0 or nothing"))
    }

    /// Field `i`, a non-negative decimal number.
    pub fn decimal(&self, i: usize, name: &str) -> Result<Decimal> {
        Decimal::parse(trim(self.raw(i))).ok_or_else(|| self.bad(i, name, "a decimal number ≥ 0"))
    }
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Parses `[+-]digits` without allocating.
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// A non-negative decimal number held exactly: `mantissa × 10^exp10`.
///
/// Normalised trace values ("largest machine = 1.0", NCU, Alibaba's 0–100)
/// are parsed into this and scaled to integer units by exact integer
/// arithmetic ([`Decimal::scale`]), so a conversion never depends on float
/// rounding and is the same on every platform.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: u128,
    pub exp10: i32,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        exp10: 0,
    };

    /// Parses `digits[.digits][e[+-]digits]`. Negative numbers, NaN and
    /// infinities are refused; more than 30 significant digits too.
    pub fn parse(b: &[u8]) -> Option<Decimal> {
        let b = b.strip_prefix(b"+").unwrap_or(b);
        let (num, exp) = match b.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&b[..i], i32::try_from(parse_int(&b[i + 1..])?).ok()?),
            None => (b, 0),
        };
        let (int_part, frac) = match num.iter().position(|&c| c == b'.') {
            Some(i) => (&num[..i], &num[i + 1..]),
            None => (num, &b""[..]),
        };
        if int_part.is_empty() && frac.is_empty() {
            return None;
        }
        let mut m: u128 = 0;
        let mut digits = 0;
        for &c in int_part.iter().chain(frac) {
            if !c.is_ascii_digit() {
                return None;
            }
            if m == 0 && c == b'0' {
                continue;
            }
            digits += 1;
            if digits > 30 {
                return None;
            }
            m = m * 10 + u128::from(c - b'0');
        }
        let exp10 = exp.checked_sub(i32::try_from(frac.len()).ok()?)?;
        if !(-60..=30).contains(&exp10) {
            return if m == 0 { Some(Decimal::ZERO) } else { None };
        }
        Some(Decimal { mantissa: m, exp10 })
    }

    /// `round(self × unit)`, halves rounded up, exactly; saturates at u64::MAX.
    pub fn scale(&self, unit: u64) -> u64 {
        self.scale_ratio(unit, 1)
    }

    /// `round(self × unit / of)`, halves rounded up, exactly: a value on a
    /// 0–`of` scale (Alibaba's memory 0–100), in `unit`s. Saturates.
    pub fn scale_ratio(&self, unit: u64, of: u64) -> u64 {
        let mut num = self.mantissa.saturating_mul(u128::from(unit));
        let mut den = u128::from(of.max(1));
        if self.exp10 >= 0 {
            num = num.saturating_mul(10u128.saturating_pow(self.exp10 as u32));
        } else {
            let e = (-self.exp10) as u32;
            match 10u128.checked_pow(e).and_then(|p| den.checked_mul(p)) {
                Some(d) => den = d,
                None => return 0,
            }
        }
        let v = num / den + u128::from(num % den >= den.div_ceil(2) && den > 1);
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn decimals_scale_exactly() {
        let d = |s: &str| Decimal::parse(s.as_bytes()).unwrap();
        // 0.5 × 64000 = 32000 exactly.
        assert_eq!(d("0.5").scale(64_000), 32_000);
        // 0.06873 × 131072 = 9008.57856 → 9009 (nearest).
        assert_eq!(d("0.06873").scale(131_072), 9009);
        // 6.25e-05 × 64000 = 4 exactly.
        assert_eq!(d("6.25e-05").scale(64_000), 4);
        // 0.0000125 × 64000 = 0.8 → 1 (nearest, so no tiny request becomes 0 by truncation).
        assert_eq!(d("0.0000125").scale(64_000), 1);
        // 0.0000075 × 64000 = 0.48 → 0.
        assert_eq!(d("0.0000075").scale(64_000), 0);
        assert_eq!(d("1").scale(7), 7);
        assert_eq!(d("12.").scale(10), 120);
        assert_eq!(d(".25").scale(4), 1);
        // Alibaba memory 37.5 on 0–100 of 256 GiB: 0.375 × 262144 = 98304 MiB.
        assert_eq!(d("37.5").scale_ratio(262_144, 100), 98_304);
        // 1/3 of 100 MiB on a 0–3 scale: 33.33 → 33.
        assert_eq!(d("1").scale_ratio(100, 3), 33);
        assert!(Decimal::parse(b"-0.5").is_none());
        assert!(Decimal::parse(b"nan").is_none());
        assert!(Decimal::parse(b"").is_none());
        assert!(Decimal::parse(b".").is_none());
        assert!(Decimal::parse(b"1e999999999999").is_none());
    }

    #[test]
    fn integers_parse_without_allocation() {
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"92233720368547758070"), None);
        assert_eq!(parse_int(b"1.0"), None);
        assert_eq!(parse_int(b""), None);
    }

    #[test]
    fn rows_span_parts_and_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("part-00000-of-00002.csv");
        std::fs::write(&a, "1,x\n2,y\n").unwrap();
        let b = dir.path().join("part-00001-of-00002.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&b).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"3,z\n\nbad,w\n\"4\",\"a,\"\"b\"\n").unwrap();
        gz.finish().unwrap();
        let mut rows = CsvRows::new(vec![a, b.clone()], CsvLayout::HEADERLESS);
        let mut seen = Vec::new();
        while rows.advance().unwrap() {
            let r = rows.row();
            match r.int(0, "time") {
                Ok(v) => seen.push(v),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains("part-00001-of-00002.csv.gz:3: time"), "{msg}");
                    assert!(msg.contains("\"bad\""), "{msg}");
                }
            }
        }
        assert_eq!(seen, vec![1, 2, 3, 4]);
        assert_eq!(rows.row().raw(1), b"a,\"b");
    }

    #[test]
    fn whitespace_layout_splits_runs_of_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.swf");
        std::fs::write(&p, "; comment\n  1   0 \t 5\n").unwrap();
        let layout = CsvLayout {
            header: false,
            delimiter: b'\t',
            comment: Some(b';'),
            whitespace: true,
        };
        let mut rows = CsvRows::new(vec![p], layout);
        assert!(rows.advance().unwrap());
        let r = rows.row();
        assert_eq!((r.len(), r.int(2, "c").unwrap(), r.line), (3, 5, 2));
        assert!(!rows.advance().unwrap());
    }
}
