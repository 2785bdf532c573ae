//! Trace reading throughput.
//!
//! - `trace_parse/google2011_task_events`: the Google 2011 reader over a
//!   `task_events` table of ~220,000 rows (SUBMIT, SCHEDULE and FINISH rows
//!   of a synthetic 1,250-machine day written by `trace synth`, same seed
//!   every time), from a plain CSV file in the OS page cache. One iteration
//!   opens the reader and reads every record; throughput = rows/s.
//! - `trace_parse/openb_pods`: the openb reader over the shipped default pod
//!   list (8,152 pods) and GPU node list (1,213 nodes); throughput = rows/s.
// The library's guards hold here too (src/lib.rs, clippy.toml).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

use borgsim::trace::{self, ReadOptions, Source, TraceFormat};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn read_all(format: TraceFormat, files: &[Source]) -> u64 {
    let mut r = trace::open(format, files, &ReadOptions::default()).expect("opens");
    let mut n = 0;
    while r.next_record().expect("valid").is_some() {
        n += 1;
    }
    std::hint::black_box(n);
    r.stats().rows
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let cfg = trace::synth::SynthConfig {
        machines: 1250,
        duration_s: 86_400,
        seed: 1,
        rows_per_part: u64::MAX,
        usage: false,
    };
    trace::synth::google2011(&cfg, dir.path()).expect("synthesised");
    let tasks =
        trace::replay::resolve_files(dir.path(), &[PathBuf::from("task_events")]).expect("listed");
    let rows = read_all(TraceFormat::Google2011, &tasks);
    let mut g = c.benchmark_group("trace_parse");
    g.throughput(Throughput::Elements(rows));
    g.bench_function("google2011_task_events", |b| {
        b.iter(|| read_all(TraceFormat::Google2011, &tasks))
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/alibaba-openb-2023");
    let openb = Source::files([
        root.join("openb_node_list_gpu_node.csv"),
        root.join("openb_pod_list_default.csv"),
    ]);
    let rows = read_all(TraceFormat::Openb, &openb);
    g.throughput(Throughput::Elements(rows));
    g.bench_function("openb_pods", |b| {
        b.iter(|| read_all(TraceFormat::Openb, &openb))
    });
    g.finish();
}

criterion_group!(trace_parse, benches);
criterion_main!(trace_parse);
