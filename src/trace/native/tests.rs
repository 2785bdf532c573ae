use super::*;
use crate::trace::{open, ReadOptions, TraceFormat, TraceReader};
use std::path::{Path, PathBuf};

fn all(format: TraceFormat, files: &[PathBuf]) -> Vec<TraceRecord> {
    let mut r = open(format, files, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec);
    }
    out
}

fn fixture(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(name);
    crate::trace::replay::resolve_files(&dir, &[PathBuf::from(".")]).unwrap()
}

/// Converting to either layout and reading back gives the same records.
#[test]
fn conversion_round_trips_in_both_layouts() {
    for (format, name) in [
        (TraceFormat::Google2011, "google2011"),
        (TraceFormat::Openb, "openb"),
    ] {
        let original = all(format, &fixture(name));
        for jsonl in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut r = open(format, &fixture(name), &ReadOptions::default()).unwrap();
            let n = write(r.as_mut(), dir.path(), jsonl).unwrap();
            assert_eq!(n as usize, original.len());
            let files =
                crate::trace::replay::resolve_files(dir.path(), &[PathBuf::from(".")]).unwrap();
            let back = all(TraceFormat::Native, &files);
            assert_eq!(back, original, "{name}, jsonl = {jsonl}");
        }
    }
}

#[test]
fn bad_native_rows_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tasks.csv");
    let header = TASK_COLUMNS.join(",");
    std::fs::write(
        &p,
        format!("{header}\n5,submit,1,0,0,,,j,u,100,0,10,10,whole:99,,,,,\n"),
    )
    .unwrap();
    let mut r = Reader::open(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(
        msg.contains("tasks.csv:2: gpu: expected nothing, whole:N or share:M, found \"whole:99\""),
        "{msg}"
    );
    let j = dir.path().join("t.jsonl");
    std::fs::write(&j, "{\"event\":\"submit\",\"time_us\":1}\n").unwrap();
    let mut r = Reader::open(&[j], &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(msg.contains("t.jsonl:1: column"), "{msg}");
}
