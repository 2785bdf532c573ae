//! Unit tests of the Azure packing-trace reader over small SQLite files:
//! units and priorities, start order, the reference machine, streaming in
//! batches, bad values and lenient skips, and columns by name.

use super::*;
use crate::workload::Band;

const TINY: &str = include_str!("../../../tests/fixtures/traces/azure/tiny.sql");
const DAY: u64 = 86_400_000_000; // µs

/// A fresh `tiny.sqlite` from the fixture's SQL plus `extra`.
fn db(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.sqlite");
    let conn = Connection::open(&p).unwrap();
    conn.execute_batch(&format!("{TINY}{extra}")).unwrap();
    (dir, p)
}

fn open(p: &Path, lenient: bool, select: Select) -> Result<Reader> {
    let o = ReadOptions {
        lenient,
        select,
        ..ReadOptions::default()
    };
    Reader::open(p, &o)
}

/// (vmId, time µs, request, duration µs, priority, trace priority, user)
type Vm = (u64, u64, Resources, Option<u64>, Priority, i64, String);

fn read_all(r: &mut Reader) -> Result<Vec<Vm>> {
    let mut out = Vec::new();
    while let Some(TraceRecord { time, event }) = r.next_record()? {
        let TraceEvent::Submit(t) = event else {
            panic!("not a submit: {event:?}");
        };
        let (p, user) = (t.priority, t.user.to_string());
        let duration = t.duration.map(|d| d.as_us());
        let res = t.request.res;
        out.push((
            t.key.job,
            time.as_us(),
            res,
            duration,
            p,
            t.trace_priority,
            user,
        ));
    }
    Ok(out)
}

fn has(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} not in {text:?}");
}

#[test]
fn units_and_priorities() {
    assert_eq!(Band::of(vm_priority(0)), Band::Production);
    assert_eq!(Band::of(vm_priority(1)), Band::BestEffort);
    let d = |s: &str| days(&Some(s.to_string()));
    // 0.5 day = 43 200 s; -0.5 day: before collection began.
    assert_eq!(d("0.5"), Some(43_200_000_000));
    assert_eq!(d("-0.5"), Some(-43_200_000_000));
    // Day 2 + 1 s, to 15 digits: 2.00001157407407 × 86.4e9
    // = 172 800 999 999.99965 → 172 801 000 000 (nearest µs).
    assert_eq!(d("2.00001157407407"), Some(172_801_000_000));
    assert_eq!(
        [d("1.0e-05"), d("--1"), d("x")],
        [Some(864_000), None, None]
    );
    let f = |s: &str| fraction(&Some(s.to_string()));
    // 1/24 as SQLite prints it: × 48 000 = 2000.0000000000016 → 2000.
    assert_eq!(f("0.0416666666666667").unwrap().scale(48_000), 2000);
    // 0.1 × 393 216 MiB = 39 321.6 → 39 322.
    assert_eq!(f("0.1").unwrap().scale(384 * 1024), 39_322);
    assert!(f("1.0").is_some() && f("0").is_some());
    assert!(f("1.0000001").is_none() && f("1e1").is_none() && f("-0.5").is_none());
}

#[test]
fn the_fixture_streams_in_start_order_with_every_rule_applied() {
    let (_dir, p) = db("");
    let mut r = open(&p, false, Select::All).unwrap();
    // Machine type 1 offers three VM types, more than 0 (two) or 2 (one).
    assert_eq!(r.reference_machine_type(), Some(1));
    let got = read_all(&mut r).unwrap();
    let res = Resources::new;
    let t5 = 172_801_000_000; // day 2 + 1 s, as above
    let want = [
        // Started at -0.5 day: submitted at 0 with 1.25 days left. Type 1 on
        // machine type 1: 0.0416666666666667 × 48 000 = 2000 m and
        // 0.0208333333333333 × 393 216 = 8191.99999999999 → 8192 MiB.
        (1, 0, res(2000, 8192), Some(DAY + DAY / 4), 120, 0, "10"),
        // NULL end: no duration. Low → best effort. 0.5 × 48 000, 0.25 × 393 216.
        (2, 0, res(24_000, 98_304), None, 0, 1, "10"),
        // 0.5 → 0.75 day. 0.125 × 48 000; 0.1 × 393 216 = 39 321.6 → 39 322.
        (3, DAY / 2, res(6000, 39_322), Some(DAY / 4), 120, 0, "11"),
        // Ties VM 3's start, so after it by vmId. Type 4 is only on machine
        // type 2: 0.25 × 48 000 and 0.0625 × 393 216, counted.
        (4, DAY / 2, res(12_000, 24_576), Some(0), 0, 1, "12"),
        // Ends at day 3: 259 200 000 000 − 172 801 000 000 µs.
        (5, t5, res(2000, 8192), Some(3 * DAY - t5), 120, 0, "11"),
    ];
    let want: Vec<Vm> = want
        .map(|w| (w.0, w.1, w.2, w.3, w.4, w.5, w.6.into()))
        .into();
    assert_eq!(got, want);
    let st = r.stats();
    assert_eq!(st.rows, 6 + 5); // vmTypes + vmRequests
    assert_eq!(st.repaired["vmRequests.started_before_trace"], 1);
    assert_eq!(st.repaired["vmRequests.sized_on_other_machine_type"], 1);
    assert_eq!(st.rows_skipped(), 0);
}

#[test]
fn the_reference_machine_scales_and_machines_only_reads_nothing() {
    let (_dir, p) = db("");
    let mut o = ReadOptions::default();
    let mib = 512 * 1024;
    o.reference = Some(ReferenceMachine {
        cpu_milli: 64_000,
        mem_mib: mib,
    });
    // VM 2, type 2: 0.5 × 64 000 = 32 000 m; 0.25 × 524 288 = 131 072 MiB.
    let got = read_all(&mut Reader::open(&p, &o).unwrap()).unwrap();
    assert_eq!(got[1].2, Resources::new(32_000, 131_072));
    let mut r = open(&p, false, Select::MachinesOnly).unwrap();
    assert_eq!((r.next_record().unwrap(), r.stats().rows), (None, 0));
}

#[test]
fn rows_stream_in_batches_and_a_dropped_reader_stops_the_stream() {
    // 2500 more VMs, one every 86.4 s (0.001 day), over several batches.
    let (_dir, p) = db("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 \
            FROM c WHERE x < 2500) INSERT INTO vmRequests SELECT 100 + x, 1, 1, 0, \
            x / 1000.0, NULL FROM c;");
    let got = read_all(&mut open(&p, false, Select::All).unwrap()).unwrap();
    assert_eq!(got.len(), 5 + 2500);
    assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(got.last().map(|g| (g.0, g.1)), Some((2600, 5 * DAY / 2)));
    let mut r = open(&p, false, Select::All).unwrap();
    assert!(r.next_record().unwrap().is_some());
    drop(r); // the reading thread's next send fails, and it ends
}

#[test]
fn a_bad_value_names_file_row_table_vm_and_field() {
    // Text sorts after numbers: the 6th row of the ordered query.
    let (_dir, p) = db("INSERT INTO vmRequests VALUES (9, 13, 1, 0, 'abc', 1.0);");
    let err = read_all(&mut open(&p, false, Select::All).unwrap()).unwrap_err();
    has(
        &err.to_string(),
        "tiny.sqlite:6: starttime: vmRequests vmId 9: ",
    );
    has(&err.to_string(), "found \"abc\"");
    assert_eq!(err.exit_code(), 2);
    // A bad vmTypes row fails at open, named by its id.
    let (_dir, p) = db("INSERT INTO vmTypes VALUES (7, 5, 1, 0.1, NULL, 0, 0, 0);");
    let err = open(&p, false, Select::All).err().unwrap().to_string();
    has(
        &err,
        "tiny.sqlite:7: memory: vmTypes id 7: expected a fraction",
    );
}

#[test]
fn lenient_mode_skips_bad_rows_by_table_and_field() {
    let (_dir, p) = db("
            INSERT INTO vmTypes VALUES (7, 5, 1, 1.5, 0.1, 0, 0, 0);  -- core > 1
            INSERT INTO vmTypes VALUES (8, 2, 1, 0.9, 0.9, 0, 0, 0);  -- duplicate: ignored
            INSERT INTO vmRequests VALUES (10, 13, 5, 0, 1.0, 2.0);   -- type 5 skipped
            INSERT INTO vmRequests VALUES (11, 13, 1, 2, 1.0, 2.0);   -- priority 2
            INSERT INTO vmRequests VALUES (12, 13, 1, 0, 1.0, 0.5);   -- ends first
            INSERT INTO vmRequests VALUES (13, 13, 99, 0, 1.0, 2.0);  -- no type 99
            INSERT INTO vmRequests VALUES (14, NULL, 1, 0, 1.0, 2.0); -- no tenant
            INSERT INTO vmRequests VALUES (-3, 13, 1, 0, 1.0, 2.0);   -- negative id");
    let mut r = open(&p, true, Select::All).unwrap();
    let got = read_all(&mut r).unwrap();
    let ids: Vec<u64> = got.iter().map(|g| g.0).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(got[1].2.cpu_milli, 24_000); // type 2's first size (0.5), not 0.9
    let st = r.stats();
    assert_eq!((st.rows, st.repaired["vmTypes.duplicate"]), (8 + 11, 1));
    let skipped: Vec<(&str, u64)> = st.skipped.iter().map(|(k, &n)| (&**k, n)).collect();
    let want = [
        ("vmRequests.endtime", 1),
        ("vmRequests.priority", 1),
        ("vmRequests.tenantId", 1),
        ("vmRequests.vmId", 1),
        ("vmRequests.vmTypeId", 2), // 5 (its row skipped) and 99
        ("vmTypes.core", 1),
    ];
    assert_eq!(skipped, want);
}

#[test]
fn files_that_are_not_packing_traces_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("types-only.sqlite");
    let conn = Connection::open(&p).unwrap();
    conn.execute_batch("CREATE TABLE vmTypes (id);").unwrap();
    let e = open(&p, false, Select::All).err().unwrap();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    has(
        &e.to_string(),
        "types-only.sqlite: vmRequests: no such table",
    );
    conn.execute_batch("CREATE TABLE vmRequests (vmId);")
        .unwrap();
    let e = open(&p, false, Select::All).err().unwrap().to_string();
    has(
        &e,
        "types-only.sqlite: vmRequests.tenantId: a required column of vmRequests is missing",
    );
    let p = dir.path().join("text.sqlite");
    std::fs::write(&p, "vmId,starttime\n1,0.5\n".repeat(100)).unwrap();
    let e = open(&p, false, Select::All).err().unwrap();
    assert!(
        matches!(&e, Error::Parse { path, .. } if path == &p),
        "{e:?}"
    );
    let e = open(&dir.path().join("none.sqlite"), false, Select::All).err();
    assert!(matches!(e, Some(Error::Read { .. })), "{e:?}");
}

#[test]
fn columns_are_found_by_name_in_each_table() {
    // The same trace with both tables' columns in another order and another
    // case (SQL names ignore case): the same requests.
    let (_d, original) = db("");
    let want = read_all(&mut open(&original, false, Select::All).unwrap()).unwrap();
    let reordered = TINY
        .replace(
            "id INTEGER PRIMARY KEY,\n    vmTypeId INTEGER,\n    machineId INTEGER,",
            "machineId INTEGER,\n    VMTYPEID INTEGER,\n    id INTEGER PRIMARY KEY,",
        )
        .replace("VALUES\n    (1, 1, 0,", "VALUES\n    (0, 1, 1,")
        .replace("(2, 2, 0,", "(0, 2, 2,")
        .replace("(3, 1, 1,", "(1, 1, 3,")
        .replace("(4, 2, 1,", "(1, 2, 4,")
        .replace("(5, 3, 1,", "(1, 3, 5,")
        .replace("(6, 4, 2,", "(2, 4, 6,");
    assert_ne!(reordered, TINY);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("reordered.sqlite");
    Connection::open(&p)
        .unwrap()
        .execute_batch(&reordered)
        .unwrap();
    assert_eq!(
        read_all(&mut open(&p, false, Select::All).unwrap()).unwrap(),
        want
    );

    // An unknown column is named with its table.
    for (sql, want) in [
        (
            "ALTER TABLE vmRequests ADD COLUMN vmSize REAL;",
            "vmRequests.vmSize: unknown column; the vmRequests columns are vmId, tenantId",
        ),
        (
            "ALTER TABLE vmTypes ADD COLUMN CORE2 REAL;",
            "vmTypes.CORE2: unknown column",
        ),
    ] {
        let (_d, p) = db(sql);
        let e = open(&p, false, Select::All).err().unwrap();
        assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
        has(&e.to_string(), want);
    }
    // A table without a required column.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no-memory.sqlite");
    // The fixture's vmTypes table without its memory column (no rows).
    let no_memory = TINY.replace("    memory REAL,\n", "");
    let conn = Connection::open(&p).unwrap();
    conn.execute_batch(no_memory.split("INSERT INTO vmTypes").next().unwrap())
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE vmRequests (vmId, tenantId, vmTypeId, priority, starttime, endtime);",
    )
    .unwrap();
    let e = open(&p, false, Select::All).err().unwrap().to_string();
    has(
        &e,
        "no-memory.sqlite: vmTypes.memory: a required column of vmTypes is missing",
    );
}
