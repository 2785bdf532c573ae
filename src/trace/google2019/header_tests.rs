//! Columns by name, keys by name, and the published variants (byte-order
//! mark, CRLF) of both layouts.

use super::*;
use std::path::{Path, PathBuf};

fn fixture(dir: &str, names: &[&str]) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(dir);
    names.iter().map(|n| d.join(n)).collect()
}

const CSV: [&str; 4] = [
    "machine_events.csv",
    "collection_events.csv",
    "instance_events-000000000000.csv",
    "instance_events-000000000001.csv",
];
const JSON: [&str; 3] = [
    "machine_events.json",
    "collection_events.json",
    "instance_events.json",
];

fn read_all(files: &[PathBuf]) -> Result<(Vec<TraceRecord>, ReadStats)> {
    crate::trace::read_to_end(&mut Reader::open(
        &crate::trace::Source::files(files),
        &ReadOptions::default(),
    )?)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `text` (a CSV without quoted commas in the columns moved) with its
/// columns in reverse order, every header correct.
fn reversed(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut fields: Vec<String> = Vec::new();
        // Split on commas outside quotes.
        let (mut cur, mut quoted) = (String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => {
                    quoted = !quoted;
                    cur.push(ch);
                }
                ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(ch),
            }
        }
        fields.push(cur);
        fields.reverse();
        out += &fields.join(",");
        out.push('\n');
    }
    out
}

#[test]
fn reordered_csv_columns_give_identical_records() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = fixture("google2019", &CSV)
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            write(
                dir.path(),
                &f.file_name().unwrap().to_string_lossy(),
                &reversed(&text),
            )
        })
        .collect();
    let want = read_all(&fixture("google2019", &CSV)).unwrap();
    assert_eq!(read_all(&files).unwrap(), want);
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_the_same() {
    for names in [&CSV[..], &JSON[..]] {
        let files = fixture("google2019-bom-crlf", names);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert!(bytes.starts_with(b"\xEF\xBB\xBF") && bytes.windows(2).any(|w| w == b"\r\n"));
        }
        let want = read_all(&fixture("google2019", names)).unwrap();
        assert_eq!(read_all(&files).unwrap(), want, "{names:?}");
    }
}

#[test]
fn every_published_column_is_accepted_and_unused_ones_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    // The whole instance_events schema, as a flattening query writes it.
    let header = "time,type,collection_id,scheduling_class,missing_type,collection_type,priority,\
                  alloc_collection_id,instance_index,machine_id,alloc_instance_index,\
                  resource_request_cpus,resource_request_memory,constraint";
    let p = write(
        dir.path(),
        "instance_events.csv",
        &format!("{header}\n5,0,1,3,,0,200,0,4,,-1,0.5,0.25,\n"),
    );
    let (recs, _) = read_all(&[p]).unwrap();
    let t = recs[0].event.submitted().unwrap();
    // 0.5 × 64000 = 32000 m; 0.25 × 262144 = 65536 MiB.
    assert_eq!(
        (t.key.index, t.request.res),
        (4, Resources::new(32_000, 65_536))
    );
}

#[test]
fn a_wrong_csv_header_names_file_and_column_when_the_reader_opens() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "machine_events.csv",
            "time,machine_id,type,capacity_cpu\n",
            "machine_events.csv:1: capacity_cpu: unknown column; the machine_events columns are time, machine_id, type",
        ),
        (
            "collection_events.csv",
            "time,type,priority\n",
            "collection_events.csv:1: collection_id: a required column of collection_events is missing",
        ),
        (
            "instance_events.csv",
            "time,type,collection_id,instance_index,resource_request.cpus,resource_request_cpus\n",
            "instance_events.csv:1: resource_request.cpus: named twice (columns 5 and 6)",
        ),
    ];
    for (name, header, want) in cases {
        let p = write(dir.path(), name, header);
        let msg = Reader::open(&[p.into()], &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(want), "{msg}");
    }
}

#[test]
fn json_keys_are_checked_like_csv_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"time":0,"machine_id":1,"type":1,"capacity":{"cpus":1,"memory":1},"platfrom_id":"p"}"#,
            "machine_events.json:1: platfrom_id: unknown key; the machine_events keys are time",
        ),
        (
            r#"{"time":0,"machine_id":1,"type":1,"capacity":{"cpus":1,"memory":1,"gpus":1}}"#,
            "machine_events.json:1: capacity.gpus: unknown key",
        ),
        (
            r#"{"time":0,"machine_id":1,"type":1,"capacity":0.5}"#,
            "machine_events.json:1: capacity: expected an object of cpus, memory",
        ),
        (
            r#"{"time":0,"type":1,"capacity":{"cpus":1,"memory":1}}"#,
            "machine_events.json:1: machine_id: a required key of machine_events is missing",
        ),
    ];
    for (line, want) in cases {
        let p = write(dir.path(), "machine_events.json", line);
        let msg = read_all(&[p]).unwrap_err().to_string();
        assert!(msg.contains(want), "{line}: {msg}");
    }
    // Flattened and dotted names of a nested column, and the published
    // columns the reader does not use, are all accepted.
    let p = write(
        dir.path(),
        "machine_events.json",
        r#"{"time":0,"machine_id":1,"type":1,"capacity_cpus":0.5,"capacity.memory":0.25,"missing_data_reason":0}"#,
    );
    let (recs, _) = read_all(&[p]).unwrap();
    assert_eq!(recs.len(), 1);
    // Lenient mode skips such a line, counted under the key.
    let p = write(
        dir.path(),
        "machine_events.json",
        "{\"time\":0,\"machine_id\":1,\"type\":1,\"bogus\":1}\n\
         {\"time\":0,\"machine_id\":2,\"type\":1,\"capacity\":{\"cpus\":1,\"memory\":1}}\n",
    );
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) =
        crate::trace::read_to_end(&mut Reader::open(&[p.into()], &opts).unwrap()).unwrap();
    assert_eq!((recs.len(), stats.skipped["machine_events.bogus"]), (1, 1));
}

#[test]
fn dependencies_between_collections_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "collection_events.json",
        "{\"time\":0,\"type\":0,\"collection_id\":1,\"start_after_collection_ids\":[]}\n\
         {\"time\":0,\"type\":0,\"collection_id\":2,\"start_after_collection_ids\":[\"1\"]}\n\
         {\"time\":0,\"type\":2,\"collection_id\":2,\"start_after_collection_ids\":[\"1\"]}\n",
    );
    let (_, stats) = read_all(&[p]).unwrap();
    // Counted once, at the dependent collection's SUBMIT.
    assert_eq!(
        stats
            .repaired
            .get("collection_events.start_after_not_enforced"),
        Some(&1)
    );
    let q = write(
        dir.path(),
        "collection_events.csv",
        "time,type,collection_id,start_after_collection_ids\n0,0,3,\"[4, 5]\"\n0,0,4,\n",
    );
    let (_, stats) = read_all(&[q]).unwrap();
    assert_eq!(
        stats
            .repaired
            .get("collection_events.start_after_not_enforced"),
        Some(&1)
    );
}
