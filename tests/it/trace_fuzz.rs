//! Arbitrary bytes and mutated fixtures: every reader gives records or an
//! error, never a panic; and a replay of whatever a lenient reader accepts
//! keeps every invariant (the replay rules cover any order of events).
//! The same inputs drive the cargo-fuzz targets in `fuzz/`.

use super::root;
use borgsim::scenario::Scenario;
use borgsim::trace::{self, ReadOptions, TraceFormat};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// (format, the file name the bytes are written under)
const TARGETS: &[(TraceFormat, &str)] = &[
    (
        TraceFormat::Google2011,
        "task_events-part-00000-of-00001.csv",
    ),
    (
        TraceFormat::Google2011,
        "machine_events-part-00000-of-00001.csv",
    ),
    (
        TraceFormat::Google2011,
        "task_constraints-part-00000-of-00001.csv",
    ),
    (
        TraceFormat::Google2011,
        "task_usage-part-00000-of-00001.csv",
    ),
    (TraceFormat::Google2019, "instance_events.json"),
    (TraceFormat::Google2019, "collection_events.csv"),
    (TraceFormat::Google2019, "instance_usage.json"),
    (TraceFormat::Google2019, "instance_usage.csv"),
    (TraceFormat::Alibaba2018, "batch_task.csv"),
    (TraceFormat::Alibaba2018, "machine_meta.csv"),
    (TraceFormat::Alibaba2018, "container_meta.csv"),
    (TraceFormat::Alibaba2018, "batch_instance.csv"),
    (TraceFormat::Alibaba2018, "container_usage.csv"),
    (TraceFormat::Openb, "pods.csv"),
    (TraceFormat::Swf, "x.swf"),
    (TraceFormat::Azure, "x.sqlite"),
    (TraceFormat::Native, "tasks.csv"),
    (TraceFormat::Native, "t.jsonl"),
];

/// Reads every record; the result does not matter, only that it returns.
fn read(format: TraceFormat, file: &Path, lenient: bool) -> Result<usize, String> {
    let opts = ReadOptions {
        lenient,
        ..ReadOptions::default()
    };
    let mut r = trace::open(format, &[file.into()], &opts).map_err(|e| e.to_string())?;
    let mut n = 0;
    while r.next_record().map_err(|e| e.to_string())?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// A fixture's lines with some bytes replaced and some lines repeated or dropped.
fn mutate(text: &str, edits: &[(usize, u8)], dup: usize) -> Vec<u8> {
    let mut b: Vec<u8> = text.as_bytes().to_vec();
    for &(at, byte) in edits {
        if !b.is_empty() {
            let i = at % b.len();
            b[i] = byte;
        }
    }
    let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        out.extend_from_slice(l);
        out.push(b'\n');
        if dup > 0 && i % dup == 0 {
            out.extend_from_slice(l);
            out.push(b'\n');
        }
    }
    out
}

fn edit() -> impl Strategy<Value = (usize, u8)> {
    (
        any::<usize>(),
        prop_oneof![
            Just(b','),
            Just(b'-'),
            Just(b'9'),
            Just(b'0'),
            Just(b'.'),
            Just(b'\n'),
            Just(b'"'),
            any::<u8>()
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_bytes_give_records_or_errors(which in 0..TARGETS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (format, name) = TARGETS[which];
        let [strict, lenient] = trace::fuzz::read_bytes(format, name, &bytes);
        // Lenient reading skips what strict reading fails on.
        if let (Some(a), Some(b)) = (strict, lenient) {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn mutated_fixtures_give_records_or_errors(edits in proptest::collection::vec(edit(), 0..12), dup in 0usize..4) {
        let f = root().join("tests/fixtures/traces");
        for (format, src, name) in [
            (TraceFormat::Google2011, "google2011/task_events/part-00000-of-00002.csv", "task_events-part-00000-of-00001.csv"),
            (TraceFormat::Openb, "openb/pods.csv", "pods.csv"),
            (TraceFormat::Swf, "swf/tiny.swf", "x.swf"),
            (TraceFormat::Alibaba2018, "alibaba2018/batch_task.csv", "batch_task.csv"),
            (TraceFormat::Alibaba2018, "alibaba2018/container_meta.csv", "container_meta.csv"),
            (TraceFormat::Google2019, "google2019/instance_events.json", "instance_events.json"),
            (TraceFormat::Google2011, "google2011/task_usage/part-00000-of-00001.csv", "task_usage-part-00000-of-00001.csv"),
            (TraceFormat::Google2019, "google2019/instance_usage.json", "instance_usage.json"),
            (TraceFormat::Alibaba2018, "alibaba2018/container_usage.csv", "container_usage.csv"),
        ] {
            let text = std::fs::read_to_string(f.join(src)).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(name);
            std::fs::write(&p, mutate(&text, &edits, dup)).unwrap();
            let _ = read(format, &p, false);
            let _ = read(format, &p, true);
        }
    }

    /// A replay of a mutated Google 2011 trace (whatever a lenient reader
    /// makes of it: events for unknown tasks, ends before submissions,
    /// machines removed twice) keeps every invariant, in both modes.
    #[test]
    fn replays_of_mutated_traces_keep_every_invariant(edits in proptest::collection::vec(edit(), 0..10), dup in 0usize..3, placement in any::<bool>()) {
        let fixture = root().join("tests/fixtures/traces/google2011");
        let dir = tempfile::tempdir().unwrap();
        for table in ["machine_events", "job_events", "task_events", "task_constraints"] {
            let files = trace::replay::resolve_files(&fixture.join(table), &[PathBuf::from(".")]).unwrap();
            for (i, src) in files.iter().enumerate() {
                let text = std::fs::read_to_string(src.path()).unwrap();
                let bytes = if table == "task_events" { mutate(&text, &edits, dup) } else { text.into_bytes() };
                std::fs::create_dir_all(dir.path().join(table)).unwrap();
                std::fs::write(dir.path().join(table).join(format!("part-{i:05}-of-00002.csv")), bytes).unwrap();
            }
        }
        let mode = if placement { "trace_placement" } else { "reschedule" };
        let text = format!("name = \"fuzz\"\nseed = 1\n[scheduler]\npolicy = \"hybrid\"\n[trace]\nformat = \"google2011\"\nfiles = [\".\"]\nmode = \"{mode}\"\nlenient = true\n");
        let mut sc = Scenario::parse(&text, Path::new("fuzz.toml")).unwrap();
        sc.base = borgsim::scenario::Base::Dir(dir.path().to_path_buf());
        match borgsim::build_simulation(&sc, true) {
            Ok(mut sim) => {
                let _ = sim.run(&mut |_| {});
                borgsim::cell::invariants::check(sim.state()).unwrap();
            }
            Err(e) => prop_assert_eq!(e.exit_code(), 2),
        }
    }
}
