//! Fuzz the Swf reader: the first byte picks the table, the rest is its file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TABLES: &[&str] = &["x.swf", "x.swf.gz"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = TABLES[pick as usize % TABLES.len()];
    borgsim::trace::fuzz::read_bytes(borgsim::trace::TraceFormat::Swf, name, body);
});
