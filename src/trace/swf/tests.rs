//! Unit tests of the SWF reader: queues to bands, memory units, the
//! fixture with every rule applied, bad values and lenient skips, and
//! the duration rules.

use super::*;
use crate::workload::Band;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/swf/tiny.swf")
}

fn read_all(r: &mut Reader) -> Result<Vec<TraceRecord>> {
    Ok(crate::trace::read_to_end(r)?.0)
}

fn task(rec: &TraceRecord) -> &TraceTask {
    match &rec.event {
        TraceEvent::Submit(t) => t,
        other => panic!("expected a submit, got {other:?}"),
    }
}

/// Writes `lines` after a one-line header into a temp file.
fn swf(dir: &tempfile::TempDir, lines: &str) -> PathBuf {
    let p = dir.path().join("bad.swf");
    std::fs::write(&p, format!("; MaxProcs: 8\n{lines}")).unwrap();
    p
}

const GOOD: &str = "7 0 0 10 1 -1 -1 1 20 -1 1 1 1 1 1 1 -1 -1\n";

#[test]
fn queue_zero_is_production_and_the_rest_batch() {
    assert_eq!(Band::of(queue_priority(0)), Band::Production);
    assert_eq!(Band::of(queue_priority(1)), Band::Batch);
    assert_eq!(Band::of(queue_priority(7)), Band::Batch);
    // Unknown queue (-1): batch, the common case in the archive.
    assert_eq!(Band::of(queue_priority(-1)), Band::Batch);
    assert_eq!(INTERACTIVE_PRIORITY, Band::Production.default_priority());
    assert_eq!(BATCH_PRIORITY, Band::Batch.default_priority());
}

#[test]
fn memory_is_kib_per_processor_rounded_up_to_mib() {
    // 1024 KB × 4 processors = 4096 KB = 4 MiB exactly.
    assert_eq!(mem_mib(1024, 4), Some(4));
    // 500 KB × 8 = 4000 KB = 3.906 MiB → 4.
    assert_eq!(mem_mib(500, 8), Some(4));
    // 1 KB × 1 = 1/1024 MiB → 1: a request never rounds down to nothing.
    assert_eq!(mem_mib(1, 1), Some(1));
    assert_eq!(mem_mib(0, 16), Some(0));
    // u64::MAX KB × 2048 processors = 2 × u64::MAX MiB: does not fit.
    assert_eq!(mem_mib(u64::MAX, 2048), None);
}

#[test]
fn the_fixture_reads_in_order_with_every_rule_applied() {
    let mut r = Reader::open(&[fixture().into()], &ReadOptions::default()).unwrap();
    assert_eq!(
        (r.header_max_procs(), r.header_max_nodes()),
        (Some(16), Some(4))
    );
    let recs = read_all(&mut r).unwrap();
    let s = 1_000_000; // µs per second
                       // (job, time µs, cpu milli, mem MiB, duration µs, priority, queue)
    let want = [
        // 4 requested processors → 4000 m; 1024 KB × 4 = 4 MiB; queue 1 → batch.
        (1, 0, 4000, 4, 100 * s, 100, 1),
        // Requested processors -1 → allocated 2; requested memory -1 →
        // used 2048 KB × 2 = 4 MiB; queue 0 → production.
        (2, 10 * s, 2000, 4, 30 * s, 120, 0),
        // Cancelled (status 5), still submitted. 500 KB × 8 = 3.9 MiB → 4;
        // run time -1 → requested 500 s.
        (3, 20 * s, 8000, 4, 500 * s, 100, 1),
        // Submitted at 15 s, after job 3 at 20 s: held at 20 s. Run time 0
        // stays 0; no memory given → 0 MiB; queue -1 → batch.
        (4, 20 * s, 1000, 0, 0, 100, -1),
        // 1000 KB × 16 = 15.6 MiB → 16; queue 2 → batch.
        (5, 40 * s, 16_000, 16, 3600 * s, 100, 2),
        // Decimal times: 41.5 s, 1.25 s. 300 KB × 3 = 0.88 MiB → 1.
        (6, 41_500_000, 3000, 1, 1_250_000, 120, 0),
    ];
    let got: Vec<_> = recs
        .iter()
        .map(|rec| {
            let t = task(rec);
            (
                t.key.job,
                rec.time.as_us(),
                t.request.res.cpu_milli,
                t.request.res.mem_mib,
                t.duration.map(|d| d.as_us()).unwrap(),
                t.priority,
                t.trace_priority,
            )
        })
        .collect();
    assert_eq!(got, want);
    let first = task(&recs[0]);
    assert_eq!((&*first.user, &*first.job_name), ("1", "1"));
    assert_eq!((first.key.stage, first.key.index), (0, 0));
    let st = r.stats();
    assert_eq!(st.rows, 6);
    assert_eq!(st.repaired["jobs.time_went_back"], 1);
    assert_eq!(st.repaired["jobs.run_time_from_requested"], 1);
    // Job 3 was cancelled, job 4 failed, job 6 followed job 2: each still
    // submitted, and counted.
    assert_eq!(st.repaired["jobs.status_cancelled"], 1);
    assert_eq!(st.repaired["jobs.status_failed"], 1);
    assert_eq!(st.repaired["jobs.preceding_job_not_enforced"], 1);
    assert_eq!(st.repaired.len(), 5);
    assert_eq!(st.rows_skipped(), 0);
}

#[test]
fn machines_only_yields_nothing_but_keeps_the_header() {
    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let mut r = Reader::open(&[fixture().into()], &opts).unwrap();
    assert_eq!(r.next_record().unwrap(), None);
    assert_eq!(r.header_max_procs(), Some(16));
    assert_eq!(r.stats().rows, 0);
}

#[test]
fn a_bad_value_names_file_line_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = swf(&dir, "1 abc 0 10 1 -1 -1 1 20 -1 1 1 1 1 1 1 -1 -1\n");
    let mut r = Reader::open(&[p.into()], &ReadOptions::default()).unwrap();
    let msg = r.next_record().unwrap_err().to_string();
    assert!(msg.contains("bad.swf:2: submit_time:"), "{msg}");
    assert!(msg.contains("\"abc\""), "{msg}");
}

#[test]
fn lenient_mode_skips_bad_rows_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "1 abc 0 10 1 -1 -1 1 20 -1 1 1 1 1 1 1 -1 -1", // submit_time
        "2 0 0 10 -1 -1 -1 -1 20 -1 1 1 1 1 1 1 -1 -1", // no processors
        "3 0 0 -1 1 -1 -1 1 -1 -1 1 1 1 1 1 1 -1 -1",   // no duration
        "4 0 0 10 1 -1 -7 1 20 -1 1 1 1 1 1 1 -1 -1",   // used_memory -7
        "5 0 0 10 1",                                   // short line
    ];
    let p = swf(&dir, &format!("{}\n{GOOD}", lines.join("\n")));
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let mut r = Reader::open(&[p.into()], &opts).unwrap();
    let recs = read_all(&mut r).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(task(&recs[0]).key.job, 7);
    let st = r.stats();
    assert_eq!(st.rows, 6);
    for reason in [
        "jobs.submit_time",
        "jobs.requested_processors",
        "jobs.run_time",
        "jobs.used_memory",
        "jobs.-",
    ] {
        assert_eq!(st.skipped.get(reason), Some(&1), "{reason}: {st:?}");
    }
}

#[test]
fn duration_rules() {
    let dir = tempfile::tempdir().unwrap();
    // Run time -1 and requested time -1: the length is unknowable.
    let p = swf(&dir, "1 0 0 -1 1 -1 -1 1 -1 -1 1 1 1 1 1 1 -1 -1\n");
    let err = Reader::open(&[p.into()], &ReadOptions::default())
        .unwrap()
        .next_record()
        .unwrap_err()
        .to_string();
    assert!(err.contains(":2: run_time: is unknown"), "{err}");
    // Processors -1 and 0: nothing to place.
    let p = swf(&dir, "1 0 0 5 0 -1 -1 -1 -1 -1 1 1 1 1 1 1 -1 -1\n");
    let err = Reader::open(&[p.into()], &ReadOptions::default())
        .unwrap()
        .next_record()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("requested_processors: neither the requested (-1) nor the allocated (0)"),
        "{err}"
    );
}

#[test]
fn header_values_that_are_not_numbers_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.swf");
    let text = format!(";MaxNodes:  32 nodes\n;  MaxProcs: lots\n\n{GOOD}; MaxProcs: 9\n");
    std::fs::write(&p, text).unwrap();
    // Only the comments before the first job line are the header.
    assert_eq!(
        read_header(&p.into()).unwrap(),
        Header {
            max_procs: None,
            max_nodes: Some(32)
        }
    );
    let missing = dir.path().join("missing.swf");
    assert!(Reader::open(&[missing.into()], &ReadOptions::default()).is_err());
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture()).unwrap();
    let p = dir.path().join("crlf.swf");
    let bytes = [&b"\xEF\xBB\xBF"[..], text.replace('\n', "\r\n").as_bytes()].concat();
    std::fs::write(&p, bytes).unwrap();
    let mut a = Reader::open(&[fixture().into()], &ReadOptions::default()).unwrap();
    let mut b = Reader::open(&[p.into()], &ReadOptions::default()).unwrap();
    // The header comments too: the mark is not part of the first one.
    assert_eq!(
        (b.header_max_procs(), b.header_max_nodes()),
        (a.header_max_procs(), a.header_max_nodes())
    );
    assert_eq!(read_all(&mut b).unwrap(), read_all(&mut a).unwrap());
    assert_eq!(b.stats(), a.stats());
}

#[test]
fn a_job_line_has_exactly_18_fields() {
    let dir = tempfile::tempdir().unwrap();
    for (line, found) in [
        ("7 0 0 10 1 -1 -1 1 20 -1 1 1 1 1 1 1 -1\n", 17),
        ("7 0 0 10 1 -1 -1 1 20 -1 1 1 1 1 1 1 -1 -1 5\n", 19),
    ] {
        let p = swf(&dir, line);
        let msg = Reader::open(&[p.into()], &ReadOptions::default())
            .unwrap()
            .next_record()
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":2: -: expected 18 fields (job_number, submit_time, wait_time,"),
            "{msg}"
        );
        assert!(msg.ends_with(&format!("found {found}")), "{msg}");
    }
}

#[test]
fn partial_executions_and_other_statuses_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = [2, 3, 4, 7, -1, 1]
        .iter()
        .enumerate()
        .map(|(i, st)| format!("{} 0 0 10 1 -1 -1 1 20 -1 {st} 1 1 1 1 1 -1 -1\n", i + 1))
        .collect();
    let mut r = Reader::open(&[swf(&dir, &lines).into()], &ReadOptions::default()).unwrap();
    assert_eq!(read_all(&mut r).unwrap().len(), 6);
    let st = r.stats();
    assert_eq!(st.repaired["jobs.status_partial_execution"], 3);
    assert_eq!(st.repaired["jobs.status_other"], 1);
    assert_eq!(st.repaired.len(), 2);
}
