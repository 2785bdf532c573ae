//! Fuzz the Google2011 reader: the first byte picks the table, the rest is its file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TABLES: &[&str] = &[
    "task_events-part-00000-of-00001.csv",
    "machine_events-part-00000-of-00001.csv",
    "job_events-part-00000-of-00001.csv",
    "task_constraints-part-00000-of-00001.csv",
    "task_events-part-00000-of-00001.csv.gz",
    "task_usage-part-00000-of-00001.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = TABLES[pick as usize % TABLES.len()];
    borgsim::trace::fuzz::read_bytes(borgsim::trace::TraceFormat::Google2011, name, body);
});
