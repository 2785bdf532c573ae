//! Fuzz the Alibaba2018 reader: the first byte picks the table, the rest is its file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TABLES: &[&str] = &[
    "batch_task.csv",
    "machine_meta.csv",
    "container_meta.csv",
    "batch_instance.csv",
    "container_usage.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = TABLES[pick as usize % TABLES.len()];
    borgsim::trace::fuzz::read_bytes(borgsim::trace::TraceFormat::Alibaba2018, name, body);
});
