//! Unit tests of the native format: `trace convert` round trips in both
//! layouts, bad rows named by field, columns by name, defaults of absent
//! columns, and JSON-lines keys named when wrong.

use super::*;
use crate::cell::resources::{GpuRequest, Resources};
use crate::trace::{open, ReadOptions, Source, TraceFormat, TraceReader};
use std::path::{Path, PathBuf};

fn all(format: TraceFormat, files: &[Source]) -> Vec<TraceRecord> {
    let mut r = open(format, files, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec);
    }
    out
}

fn fixture(name: &str) -> Vec<Source> {
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
        // DAG stages: task names and stage sizes survive the conversion.
        (TraceFormat::Alibaba2018, "alibaba2018"),
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
    let header = header(&task_col::SCHEMA);
    std::fs::write(
        &p,
        format!("{header}\n5,submit,1,0,0,,,j,u,100,0,10,10,whole:99,,,,,,,,\n"),
    )
    .unwrap();
    let mut r = Reader::open(&[p.clone().into()], &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(
        msg.contains("tasks.csv:2: gpu: expected nothing, whole:N or share:M, found \"whole:99\""),
        "{msg}"
    );
    let j = dir.path().join("t.jsonl");
    std::fs::write(&j, "{\"event\":\"submit\",\"time_us\":1}\n").unwrap();
    let mut r = Reader::open(&[j.clone().into()], &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(
        msg.contains("t.jsonl:1: task: a required key of submit is missing"),
        "{msg}"
    );
    // A fault that is not about keys still names where serde stopped.
    std::fs::write(
        &j,
        r#"{"event":"submit","time_us":"x","task":{"job":1,"priority":0,"cpu_milli":1,"mem_mib":1}}"#,
    )
    .unwrap();
    let mut r = Reader::open(&[j.into()], &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(msg.contains("t.jsonl:1: column"), "{msg}");
}

fn header(s: &crate::trace::input::Schema) -> String {
    s.columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(",")
}

fn case(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    vec![d.join("machines.csv"), d.join("tasks.csv")]
}

fn read(files: &[PathBuf]) -> crate::error::Result<Vec<TraceRecord>> {
    let mut r = Reader::open(&Source::files(files), &ReadOptions::default())?;
    crate::trace::read_to_end(&mut r).map(|(recs, _)| recs)
}

#[test]
fn columns_are_read_by_name_not_position() {
    let want = read(&case("native-columns-by-name/as-written")).unwrap();
    assert_eq!(want.len(), 17);
    assert_eq!(
        read(&case("native-columns-by-name/reordered")).unwrap(),
        want
    );
    // Job 100's tasks: 4000 m and 8192 MiB, not the other way round.
    let t = want[3].event.submitted().unwrap();
    assert_eq!(
        (t.key.job, t.request.res),
        (100, Resources::new(4000, 8192))
    );
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_the_same() {
    let files = case("traces/native-bom-crlf");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF") && bytes.windows(2).any(|w| w == b"\r\n"));
    }
    let want = read(&case("native-columns-by-name/as-written")).unwrap();
    assert_eq!(read(&files).unwrap(), want);
}

#[test]
fn wrong_headers_name_the_file_and_the_column_when_the_reader_opens() {
    let dir = tempfile::tempdir().unwrap();
    let m = header(&machine_col::SCHEMA);
    let cases = [
        (
            "machines.csv",
            m.replace("mem_mib", "memory_mib"),
            "machines.csv:1: memory_mib: unknown column; the machines columns are time_us, event",
        ),
        (
            "tasks.csv",
            "time_us,event,job,cpu_milli,mem_mib".to_string(),
            "tasks.csv:1: priority: a required column of tasks is missing",
        ),
        (
            "tasks-2.csv",
            "time_us,event,job,priority,cpu_milli,mem_mib,job".to_string(),
            "tasks-2.csv:1: job: named twice (columns 3 and 7)",
        ),
    ];
    for (name, header, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{header}\n")).unwrap();
        let msg = Reader::open(&[p.into()], &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(want), "{msg}");
    }
}

#[test]
fn absent_optional_columns_take_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("machines.csv");
    std::fs::write(
        &m,
        "machine,cpu_milli,time_us,mem_mib,event\n4,1000,0,2048,add\n",
    )
    .unwrap();
    let t = dir.path().join("tasks.csv");
    std::fs::write(
        &t,
        "event,time_us,job,priority,cpu_milli,mem_mib\nsubmit,5,9,120,500,256\n",
    )
    .unwrap();
    let recs = read(&[m, t]).unwrap();
    let TraceEvent::MachineAdd(machine) = &recs[0].event else {
        panic!()
    };
    assert_eq!(
        (
            &*machine.name,
            machine.capacity.gpus,
            machine.rack.is_none(),
            machine.attrs.len()
        ),
        ("", 0, true, 0)
    );
    let task = recs[1].event.submitted().unwrap();
    assert_eq!(
        (task.key.stage, task.key.index, task.trace_priority),
        (0, 0, 0)
    );
    assert_eq!(task.request.gpu, GpuRequest::None);
    assert_eq!((task.max_per_machine, task.duration), (None, None));
    assert!(task.after.is_empty() && task.constraints.is_empty());
}

#[test]
fn json_lines_name_the_key_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"time_us":1,"event":"submit","task":{"job":1,"priority":0,"cpu_milli":1,"mem_mib":1,"cpus":2}}"#,
            "t.jsonl:1: task.cpus: unknown key; the submitted task keys are job, stage",
        ),
        (
            r#"{"time_us":1,"event":"submit","task":{"job":1,"priority":0,"mem_mib":1}}"#,
            "t.jsonl:1: task.cpu_milli: a required key of submitted task is missing",
        ),
        (
            r#"{"time_us":1,"event":"machine_add","machine":{"key":1,"name":"m","cpu_milli":1}}"#,
            "t.jsonl:1: machine.mem_mib: a required key of machine is missing",
        ),
        (
            r#"{"time_us":1,"event":"end","task":{"job":1},"kind":"finish","why":0}"#,
            "t.jsonl:1: why: unknown key; the end keys are time_us, event, task, kind",
        ),
        (
            r#"{"event":"schedule","task":{"job":1},"machine":3}"#,
            "t.jsonl:1: time_us: a required key of schedule is missing",
        ),
        (
            r#"{"time_us":1,"event":"start"}"#,
            "t.jsonl:1: event: expected machine_add",
        ),
        // A byte-order mark and a CR are not part of the line.
        (
            "\u{feff}{\"time_us\":1,\"event\":\"schedule\",\"task\":{\"job\":1,\"stage\":0,\"idx\":0},\"machine\":3}\r",
            "t.jsonl:1: task.idx: unknown key; the task key keys are job, stage, index",
        ),
    ];
    for (line, want) in cases {
        let j = dir.path().join("t.jsonl");
        std::fs::write(&j, format!("{line}\n")).unwrap();
        let msg = read(&[j]).unwrap_err().to_string();
        assert!(msg.contains(want), "{line}: {msg}");
    }
    // Optional keys left out take their defaults, and CRLF lines read.
    let j = dir.path().join("ok.jsonl");
    std::fs::write(
        &j,
        "\u{feff}{\"time_us\":1,\"event\":\"submit\",\"task\":{\"job\":1,\"priority\":0,\"cpu_milli\":1,\"mem_mib\":1}}\r\n",
    )
    .unwrap();
    let recs = read(&[j]).unwrap();
    let task = recs[0].event.submitted().unwrap();
    assert_eq!(
        (task.key.index, task.request.gpu, task.duration),
        (0, GpuRequest::None, None)
    );
}
