//! Unit tests of the Google 2011 reader against its fixture: priorities to
//! bands, units, time order, gzip parts, byte-order marks and CRLF, short
//! rows, and bad rows named by file, line, field and value.

use super::*;
use std::path::{Path, PathBuf};

fn fixture() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/google2011");
    crate::trace::replay::resolve_files(&dir, &[PathBuf::from(".")])
        .unwrap()
        .into_iter()
        .map(|s| s.path().to_path_buf())
        .collect()
}

fn read_all(files: &[PathBuf], opts: &ReadOptions) -> Result<(Vec<TraceRecord>, ReadStats)> {
    crate::trace::read_to_end(&mut Reader::open(
        &crate::trace::Source::files(files),
        opts,
    )?)
}

#[test]
fn priorities_map_to_bands() {
    use crate::workload::Band;
    let band = |p| Band::of(priority_of(p).unwrap());
    assert_eq!(band(1), Band::BestEffort);
    assert_eq!(band(2), Band::Batch);
    assert_eq!(priority_of(8), Some(106));
    assert_eq!(band(9), Band::Production);
    assert_eq!(band(10), Band::Production);
    assert_eq!(band(11), Band::Monitoring);
    assert_eq!(priority_of(12), None);
}

#[test]
fn the_fixture_reads_in_time_order_with_units_converted() {
    let (recs, stats) = read_all(&fixture(), &ReadOptions::default()).unwrap();
    assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
    // 4 machine records (the re-ADD without capacity keeps the last one),
    // 12 task records (of 14 rows: the UPDATE_RUNNING and the after-the-end row dropped),
    // 7 usage records (of 8 task_usage rows: one without its values dropped).
    let machines = recs
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                TraceEvent::MachineAdd(_)
                    | TraceEvent::MachineRemove { .. }
                    | TraceEvent::MachineUpdate(_)
            )
        })
        .count();
    assert_eq!(machines, 5);
    assert_eq!(recs.len(), 5 + 12 + 7);
    assert_eq!(stats.repaired["task_events.update_ignored"], 1);
    assert_eq!(stats.repaired["task_events.after_trace_end"], 1);
    assert_eq!(stats.repaired["task_constraints.unsupported_operator"], 1);
    assert_eq!(stats.rows, 5 + 4 + 14 + 2 + 8);
    assert_eq!(stats.repaired["task_usage.usage_missing"], 1);
    let TraceEvent::MachineAdd(m) = &recs[0].event else {
        panic!("{:?}", recs[0])
    };
    // 0.5 × 32000 mcpu = 16000; 0.5 × 131072 MiB = 65536.
    assert_eq!(m.capacity.res, Resources::new(16_000, 65_536));
    let readd = recs
        .iter()
        .rev()
        .find(|r| matches!(r.event, TraceEvent::MachineAdd(_)))
        .unwrap();
    assert_eq!(readd.time, SimTime::from_secs(9));
    let TraceEvent::MachineAdd(m) = &readd.event else {
        unreachable!()
    };
    assert_eq!((m.key, m.capacity.res), (2, Resources::new(16_000, 32_768)));
    let submits: Vec<&TraceTask> = recs.iter().filter_map(|r| r.event.submitted()).collect();
    assert_eq!(submits.len(), 4);
    // 0.125 × 32000 = 4000 mcpu; 0.0625 × 131072 = 8192 MiB; priority 9 → 120.
    assert_eq!(submits[0].request.res, Resources::new(4000, 8192));
    assert_eq!(
        (
            submits[0].priority,
            &*submits[0].job_name,
            &*submits[0].user
        ),
        (120, "jobA", "userA")
    );
    let b = submits.iter().find(|t| t.key.job == 200).unwrap();
    assert_eq!(b.max_per_machine, Some(1));
    assert_eq!(b.constraints.len(), 1);
    assert_eq!(
        (
            &*b.constraints[0].name,
            b.constraints[0].op,
            &*b.constraints[0].value
        ),
        ("platform", ConstraintOp::Ne, "platB")
    );
}

/// `(time ms, job/index, milli-cores, MiB)` of each usage record.
fn usage_of(recs: &[TraceRecord]) -> Vec<(u64, String, u64, u64)> {
    recs.iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Usage { task, usage } => Some((
                r.time.as_us() / 1000,
                format!("{}/{}", task.job, task.index),
                usage.cpu_milli,
                usage.mem_mib,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn task_usage_windows_become_usage_records_at_their_start() {
    let (recs, _) = read_all(&fixture(), &ReadOptions::default()).unwrap();
    // Mean CPU rate and canonical memory × the 32-core, 128 GiB reference:
    //   0.0625 × 32000 = 2000 m, 0.03125 × 131072 = 4096 MiB;
    //   0.125 → 4000 m, 0.0625 → 8192 MiB (100/1's whole request);
    //   0.1875 → 6000 m, 0.09375 → 12288 MiB (a 7-field row: the
    //   trailing unused columns left out);
    //   0.05 → 1600 m, 0.025 × 131072 = 3276.8 → 3277 MiB;
    //   0.1 → 3200 m, 0.05 → 6553.6 → 6554 MiB;
    //   0.3 → 9600 m (above 200/0's request of 8000: as measured),
    //   0.2 × 131072 = 26214.4 → 26214 MiB;
    //   0.01 → 320 m, 1310.72 → 1311 MiB (job 300: no such task; the
    //   reader does not judge, the replay does).
    // The row at 9 s has neither value: dropped.
    let want = [
        (2000, "100/0", 2000, 4096),
        (2000, "100/1", 4000, 8192),
        (3000, "200/0", 6000, 12288),
        (4000, "100/0", 1600, 3277),
        (6500, "100/1", 3200, 6554),
        (10_000, "200/0", 9600, 26214),
        (12_000, "300/0", 320, 1311),
    ];
    let want: Vec<(u64, String, u64, u64)> = want
        .iter()
        .map(|&(t, k, c, m)| (t, k.to_string(), c, m))
        .collect();
    assert_eq!(usage_of(&recs), want);
    // Ties: a window starting when its task is scheduled comes after the
    // SCHEDULE (tasks before usage), so the replay finds the task running.
    let at3: Vec<bool> = recs
        .iter()
        .filter(|r| r.time == SimTime::from_secs(3))
        .map(|r| matches!(r.event, TraceEvent::Usage { .. }))
        .collect();
    assert_eq!(at3, [false, true]);
}

#[test]
fn usage_is_left_unread_when_not_selected() {
    let opts = ReadOptions {
        select: Select::WithoutUsage,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&fixture(), &opts).unwrap();
    assert!(usage_of(&recs).is_empty());
    // Not a row of task_usage is read.
    assert_eq!((recs.len(), stats.rows), (5 + 12, 5 + 4 + 14 + 2));
}

#[test]
fn a_bad_usage_row_names_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("task_usage-part-00000-of-00001.csv");
    std::fs::write(
        &p,
        "1,2,7,0,1,0.1,0.1
3,4,7,0,1,-0.1,0.1
5,6,7,0
",
    )
    .unwrap();
    let err = read_all(std::slice::from_ref(&p), &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("task_usage-part-00000-of-00001.csv:2: cpu_rate: expected a decimal"),
        "{err}"
    );
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[p], &lenient).unwrap();
    // Row 3 has 4 fields of the 7 through canonical_memory_usage.
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (
            stats.skipped["task_usage.cpu_rate"],
            stats.skipped["task_usage.-"]
        ),
        (1, 1)
    );
}

#[test]
fn machines_only_reads_the_machine_table() {
    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let (recs, _) = read_all(&fixture(), &opts).unwrap();
    assert_eq!(recs.len(), 5);
}

#[test]
fn a_bad_row_names_file_line_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("task_events-part-00000-of-00001.csv");
    std::fs::write(
        &p,
        "1,,7,0,,0,u,0,3,0.1,0.1,0,0\n2,,7,1,,0,u,0,3,abc,0.1,0,0\n",
    )
    .unwrap();
    let err = read_all(std::slice::from_ref(&p), &ReadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("task_events-part-00000-of-00001.csv:2: cpu_request: expected a decimal"),
        "{msg}"
    );
    assert!(msg.contains("\"abc\""), "{msg}");
    assert_eq!(err.exit_code(), 2);
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[p], &lenient).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(stats.skipped["task_events.cpu_request"], 1);
}

#[test]
fn gzip_parts_and_times_going_back() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("task_events-part-00000-of-00001.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"5,,7,0,,0,u,0,3,0.1,0.1,0,0\n4,,7,1,,0,u,0,3,0.1,0.1,0,0\n")
        .unwrap();
    gz.finish().unwrap();
    let (recs, stats) = read_all(&[p], &ReadOptions::default()).unwrap();
    assert_eq!(
        recs.iter().map(|r| r.time.as_us()).collect::<Vec<_>>(),
        vec![5, 5]
    );
    assert_eq!(stats.repaired["task_events.time_went_back"], 1);
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_the_same() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // Every part of the fixture again, with a mark and CRLF; half gzipped.
    let mut files = Vec::new();
    for (i, f) in fixture().iter().enumerate() {
        let table = f.parent().unwrap().file_name().unwrap();
        let d = dir.path().join(table);
        std::fs::create_dir_all(&d).unwrap();
        let text = std::fs::read_to_string(f).unwrap().replace('\n', "\r\n");
        let bytes = [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let p = if i % 2 == 0 {
            let p = d.join(name + ".gz");
            let mut gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::fast(),
            );
            gz.write_all(&bytes).unwrap();
            gz.finish().unwrap();
            p
        } else {
            let p = d.join(name);
            std::fs::write(&p, &bytes).unwrap();
            p
        };
        files.push(p);
    }
    let want = read_all(&fixture(), &ReadOptions::default()).unwrap();
    assert_eq!(read_all(&files, &ReadOptions::default()).unwrap(), want);
}

#[test]
fn trailing_optional_columns_may_be_left_out_and_extra_ones_are_bad() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("task_events-part-00000-of-00001.csv");
    // Row 1: through priority only (9 fields): no request, no restriction.
    // Row 2: 14 fields. Row 3: 8 fields, short of priority.
    std::fs::write(
        &p,
        "1,,7,0,,0,u,0,3\n2,,7,1,,0,u,0,3,0.1,0.1,0,0,9\n3,,7,2,,0,u,0\n",
    )
    .unwrap();
    let lenient = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(std::slice::from_ref(&p), &lenient).unwrap();
    let t = recs[0].event.submitted().unwrap();
    assert_eq!((t.request.res.cpu_milli, t.max_per_machine), (0, None));
    assert_eq!(stats.skipped["task_events.-"], 2);
    let msg = read_all(&[p], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":2: -: expected 9 to 13 fields (time, missing_info, job_id, task_index"),
        "{msg}"
    );
    assert!(msg.ends_with("found 14"), "{msg}");
}

#[test]
fn job_level_events_are_counted_not_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("job_events-part-00000-of-00001.csv");
    std::fs::write(
        &p,
        "0,,7,0,u,1,j,l\n1,,7,1,u,1,j,l\n2,,7,2,u,1,j,l\n3,,7,8,u,1,j,l\n4,,7,1,u,1,j,l\n5,,7,4,u,1,j,l\n",
    )
    .unwrap();
    let (_, stats) = read_all(&[p], &ReadOptions::default()).unwrap();
    let r = |k: &str| stats.repaired.get(k).copied();
    assert_eq!(r("job_events.schedule_ignored"), Some(2));
    assert_eq!(r("job_events.evict_ignored"), Some(1));
    assert_eq!(r("job_events.update_running_ignored"), Some(1));
    assert_eq!(stats.repaired.len(), 3);
}

#[test]
fn machine_attributes_reach_the_machines() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("machine_events-part-00000-of-00001.csv");
    std::fs::write(
        &m,
        "0,1,0,platA,0.5,0.5\n0,2,0,platB,0.5,0.5\n20,2,1,,,\n40,2,0,platB,0.5,0.5\n",
    )
    .unwrap();
    let a = dir
        .path()
        .join("machine_attributes-part-00000-of-00001.csv");
    // At 0: machine 1 gets x=5 and y=a, machine 2 x=7, machine 3 (never
    // added) z=1. At 10 machine 1 loses x; at 30 machine 2, out of the cell,
    // gets y=b, which its ADD at 40 carries.
    std::fs::write(
        &a,
        "0,1,x,5,0\n0,2,x,7\n0,1,y,a,0\n0,3,z,1,0\n10,1,x,,1\n30,2,y,b,0\n",
    )
    .unwrap();
    let (recs, stats) = read_all(&[a, m], &ReadOptions::default()).unwrap();
    let show: Vec<String> = recs
        .iter()
        .map(|r| {
            let t = r.time.as_us();
            match &r.event {
                TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => {
                    let kind = if matches!(r.event, TraceEvent::MachineAdd(_)) {
                        "add"
                    } else {
                        "update"
                    };
                    let attrs: Vec<String> =
                        m.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{t} {kind} m{} {}", m.key, attrs.join(","))
                }
                TraceEvent::MachineRemove { machine } => format!("{t} remove m{machine}"),
                other => format!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(
        show,
        [
            "0 add m1 platform=platA,x=5,y=a",
            "0 add m2 platform=platB,x=7",
            "10 update m1 platform=platA,y=a",
            "20 remove m2",
            "40 add m2 platform=platB,x=7,y=b",
        ]
    );
    assert_eq!(stats.rows, 10);
    // The machine tables alone (what the replay reads to build the cell)
    // carry the attributes too.
    let opts = ReadOptions {
        select: Select::MachinesOnly,
        ..ReadOptions::default()
    };
    let files = [
        dir.path()
            .join("machine_attributes-part-00000-of-00001.csv"),
        dir.path().join("machine_events-part-00000-of-00001.csv"),
    ];
    let (only, _) = read_all(&files, &opts).unwrap();
    assert_eq!(only, recs);
    // A bad deleted flag is named.
    let b = dir.path().join("machine_attributes-bad.csv");
    std::fs::write(&b, "0,1,x,5,maybe\n").unwrap();
    let msg = read_all(&[b], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(
            "machine_attributes-bad.csv:1: attribute_deleted: expected 0 or 1, found \"maybe\""
        ),
        "{msg}"
    );
}
