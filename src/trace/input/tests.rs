//! Unit tests of the shared row reader: exact decimal scaling, parsing
//! without allocation, rows across parts with file and line, layouts,
//! columns by name, and wrong headers named.

use super::*;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let mut rows = CsvRows::new(vec![a.into(), b.clone().into()], CsvLayout::HEADERLESS);
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
    let mut rows = CsvRows::new(vec![p.into()], layout);
    assert!(rows.advance().unwrap());
    let r = rows.row();
    assert_eq!((r.len(), r.int(2, "c").unwrap(), r.line), (3, 5, 2));
    assert!(!rows.advance().unwrap());
}

table_schema! {
    mod demo = "demo" {
        NAME: "name" => Required,
        CPU: "cpu_milli" => Required,
        GPU_MILLI: "gpu_milli" => Optional("1000"),
        NOTE: "note" => Unused,
        CAP_CPUS: "capacity.cpus" => Optional(""),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(bytes).unwrap();
    e.finish().unwrap();
    p
}

/// (name, cpu, gpu_milli, capacity.cpus) of every row, read by column.
fn demo_rows(files: Vec<PathBuf>) -> Result<Vec<(String, u64, u64, String)>> {
    let mut rows =
        CsvRows::with_schema(Source::files(files), CsvLayout::WITH_HEADER, &demo::SCHEMA);
    let mut out = Vec::new();
    while rows.advance()? {
        let f = rows.fields();
        f.check_width()?;
        out.push((
            f.str(demo::NAME)?.to_string(),
            f.uint(demo::CPU)?,
            f.uint(demo::GPU_MILLI)?,
            f.str(demo::CAP_CPUS)?.to_string(),
        ));
    }
    Ok(out)
}

#[test]
fn columns_are_read_by_name_whatever_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"name,cpu_milli,gpu_milli\nx,1,250\n");
    let b = write(dir.path(), "b.csv", b"gpu_milli,name,cpu_milli\n250,x,1\n");
    let want = vec![("x".to_string(), 1, 250, String::new())];
    assert_eq!(demo_rows(vec![a.clone()]).unwrap(), want);
    assert_eq!(demo_rows(vec![b.clone()]).unwrap(), want);
    // Parts of one table may order their columns differently.
    assert_eq!(
        demo_rows(vec![a, b]).unwrap(),
        [want.clone(), want].concat()
    );
}

#[test]
fn absent_optional_columns_read_their_default_and_unused_ones_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.csv", b"note,cpu_milli,name\nhello,7,y\n");
    // gpu_milli is absent: every row reads its default, 1000.
    assert_eq!(
        demo_rows(vec![p]).unwrap(),
        [("y".to_string(), 7, 1000, String::new())]
    );
}

#[test]
fn a_nested_column_may_be_written_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.csv",
        b"name,cpu_milli,capacity.cpus\nx,1,0.5\n",
    );
    let b = write(
        dir.path(),
        "b.csv",
        b"name,cpu_milli,capacity_cpus\nx,1,0.5\n",
    );
    for p in [a, b] {
        assert_eq!(demo_rows(vec![p]).unwrap()[0].3, "0.5");
    }
    assert_eq!(demo::SCHEMA.find("capacity-cpus", false), None);
    assert_eq!(demo::SCHEMA.find("CPU_MILLI", false), None);
    assert_eq!(demo::SCHEMA.find("CPU_MILLI", true), Some(demo::CPU));
}

#[test]
fn a_wrong_header_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "unknown.csv",
            b"name,cpu_milli,gpu_mili\nx,1,2\n",
            "unknown.csv:1: gpu_mili: unknown column; the demo columns are name, cpu_milli, gpu_milli, note, capacity.cpus",
        ),
        (
            "missing.csv",
            b"name,gpu_milli\nx,2\n",
            "missing.csv:1: cpu_milli: a required column of demo is missing",
        ),
        (
            "twice.csv",
            b"name,cpu_milli,name\nx,1,y\n",
            "twice.csv:1: name: named twice (columns 1 and 3)",
        ),
        (
            "unnamed.csv",
            b",name,cpu_milli\n0,x,1\n",
            "unnamed.csv:1: : a column without a name",
        ),
        // The header is checked after the byte-order mark and the CR are gone.
        (
            "bom-crlf.csv",
            b"\xEF\xBB\xBFname,cpu_milli,bogus\r\nx,1,2\r\n",
            "bom-crlf.csv:1: bogus: unknown column",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = write(dir.path(), name, bytes);
        let msg = demo_rows(vec![p.clone()]).unwrap_err().to_string();
        assert!(msg.contains(want), "{msg}");
        // The same error before any row is read.
        let msg = CsvRows::check_headers(&[p.into()], &demo::SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(want), "{msg}");
    }
}

#[test]
fn a_row_must_have_as_many_fields_as_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "w.csv", b"name,cpu_milli\nx,1\ny,2,3\n");
    let msg = demo_rows(vec![p]).unwrap_err().to_string();
    assert!(
        msg.ends_with("w.csv:3: -: expected 2 fields, as the header names, found 3"),
        "{msg}"
    );
}

#[test]
fn headerless_rows_may_leave_out_trailing_optional_columns() {
    let dir = tempfile::tempdir().unwrap();
    // name and cpu_milli are required; the last three may be left out.
    let p = write(dir.path(), "h.csv", b"x,1\ny,2,500\nz\nw,1,2,3,4,5\n");
    let mut rows = CsvRows::with_schema(vec![p.into()], CsvLayout::HEADERLESS, &demo::SCHEMA);
    let mut got = Vec::new();
    while rows.advance().unwrap() {
        let f = rows.fields();
        got.push(match f.check_width() {
            Ok(()) => format!("{}", f.uint(demo::GPU_MILLI).unwrap()),
            Err(e) => e.to_string(),
        });
    }
    assert_eq!(got[..2], ["1000", "500"]);
    assert!(got[2].ends_with(":3: -: expected 2 to 5 fields (name, cpu_milli, gpu_milli, note, capacity.cpus; the last 3 may be left out), found 1"), "{}", got[2]);
    assert!(
        got[3].contains(":4: -: expected 2 to 5 fields"),
        "{}",
        got[3]
    );
}

#[test]
fn a_byte_order_mark_is_skipped_in_plain_and_gzipped_files() {
    let dir = tempfile::tempdir().unwrap();
    let body = b"name,cpu_milli\n\"x\",1\n";
    let with_bom = [&BOM[..], body].concat();
    let want = demo_rows(vec![write(dir.path(), "plain.csv", body)]).unwrap();
    for p in [
        write(dir.path(), "bom.csv", &with_bom),
        gz(dir.path(), "bom.csv.gz", &with_bom),
    ] {
        assert_eq!(demo_rows(vec![p]).unwrap(), want);
    }
    // Headerless: the first field is read clean, and lines count from 1.
    let p = gz(dir.path(), "h.csv.gz", b"\xEF\xBB\xBF7,x\n8,y\n");
    let mut rows = CsvRows::new(vec![p.into()], CsvLayout::HEADERLESS);
    assert!(rows.advance().unwrap());
    assert_eq!((rows.row().int(0, "n").unwrap(), rows.row().line), (7, 1));
    // Only at the very start: a mark later on is data.
    let mut r = open_file(&write(dir.path(), "mid.txt", b"a\xEF\xBB\xBF").into()).unwrap();
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"a\xEF\xBB\xBF");
    // Shorter than a mark, or nothing at all.
    for short in [&b""[..], b"\xEF", b"\xEF\xBB", b"ab"] {
        let mut r = open_file(&write(dir.path(), "short.txt", short).into()).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, short);
    }
}

#[test]
fn crlf_line_ends_are_read_like_lf() {
    let dir = tempfile::tempdir().unwrap();
    let lf = b"name,cpu_milli,capacity.cpus\n\"a,\"\"b\",1,\"0.5\"\n\nc,2,\n";
    let crlf = b"name,cpu_milli,capacity.cpus\r\n\"a,\"\"b\",1,\"0.5\"\r\n\r\nc,2,\r\n";
    let want = vec![
        ("a,\"b".to_string(), 1, 1000, "0.5".to_string()),
        ("c".to_string(), 2, 1000, String::new()),
    ];
    assert_eq!(
        demo_rows(vec![write(dir.path(), "lf.csv", lf)]).unwrap(),
        want
    );
    assert_eq!(
        demo_rows(vec![write(dir.path(), "crlf.csv", crlf)]).unwrap(),
        want
    );
    // Line numbers count CRLF lines too (the blank one included).
    let mut rows = CsvRows::new(
        vec![dir.path().join("crlf.csv").into()],
        CsvLayout::WITH_HEADER,
    );
    let mut lines = Vec::new();
    while rows.advance().unwrap() {
        lines.push(rows.row().line);
    }
    assert_eq!(lines, [2, 4]);
}
