//! Fuzz the Google2019 reader: the first byte picks the table, the rest is its file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TABLES: &[&str] = &[
    "instance_events.json",
    "collection_events.json",
    "machine_events.json",
    "instance_events.csv",
    "collection_events.csv",
    "machine_events.csv",
    "instance_usage.json",
    "instance_usage.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = TABLES[pick as usize % TABLES.len()];
    borgsim::trace::fuzz::read_bytes(borgsim::trace::TraceFormat::Google2019, name, body);
});
