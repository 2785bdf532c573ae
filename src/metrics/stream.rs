//! CSV files written row by row while a run goes, so that an output with a
//! row per sample (or per step of demand) costs disk, not memory: a run of
//! 10⁹ samples holds the CSV writer's buffer (8 KiB), not 10⁹ rows.
//!
//! Each file's rows are one struct (`Serialize`), and its header is that
//! struct's field names, as the csv crate writes them for it — so the
//! header and the rows cannot drift apart. The header is written when the
//! file is created, so a file with no rows still has it.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// A CSV file of `R` rows, written as they come.
#[derive(Debug)]
pub struct CsvStream<R> {
    path: PathBuf,
    out: csv::Writer<File>,
    rows: u64,
    row: PhantomData<fn(&R)>,
}

/// The CSV header of a row struct: its field names, read back from the
/// header the csv crate writes before a serialised default row.
pub fn header_of<R: Serialize + Default>() -> csv::StringRecord {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(R::default())
        .expect("a row struct of plain fields serialises");
    let bytes = w.into_inner().expect("writing to memory");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    r.records()
        .next()
        .expect("a header line")
        .expect("the csv crate's own output")
}

impl<R: Serialize + Default> CsvStream<R> {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let mut s = CsvStream {
            path: path.to_path_buf(),
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
            rows: 0,
            row: PhantomData,
        };
        let header = header_of::<R>();
        s.out.write_record(&header).map_err(|e| s.error(e))?;
        Ok(s)
    }

    /// Appends one row.
    pub fn put(&mut self, row: &R) -> Result<()> {
        self.out.serialize(row).map_err(|e| self.error(e))?;
        self.rows += 1;
        Ok(())
    }

    /// Writes out what is buffered; the file is complete.
    pub fn finish(&mut self) -> Result<()> {
        let path = &self.path;
        self.out.flush().map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, e: csv::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source: e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize)]
    struct Row {
        time_s: u64,
        name: String,
    }

    #[test]
    fn the_header_is_the_field_names_and_rows_follow_as_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut s = CsvStream::<Row>::create(&path).unwrap();
        s.finish().unwrap();
        // No rows yet: the header alone.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "time_s,name\n");
        for i in 0..3 {
            let name = format!("r{i}, quoted");
            s.put(&Row { time_s: i, name }).unwrap();
        }
        s.finish().unwrap();
        assert_eq!(s.rows(), 3);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "time_s,name\n0,\"r0, quoted\"\n1,\"r1, quoted\"\n2,\"r2, quoted\"\n"
        );
    }

    #[test]
    fn a_file_that_cannot_be_created_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/r.csv");
        let e = CsvStream::<Row>::create(&path).unwrap_err();
        assert!(e.to_string().contains("missing/r.csv: cannot write"), "{e}");
    }
}
