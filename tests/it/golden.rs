//! Golden output: the tiny scenario's summary.json, byte for byte.
//!
//! A deliberate behaviour change regenerates it with
//! `BORGSIM_BLESS=1 cargo test golden`; review the diff before committing.

use super::{borgsim, root, text};
use std::fs;

#[test]
fn tiny_summary_matches_golden() {
    let dir = tempfile::tempdir().unwrap();
    let scen = root().join("tests/golden/tiny.toml");
    let out = borgsim(
        dir.path(),
        &[
            "run",
            scen.to_str().unwrap(),
            "--quiet",
            "--no-plots",
            "--check-invariants",
            "--out",
            "o",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = fs::read_to_string(dir.path().join("o/summary.json")).unwrap();
    let golden = root().join("tests/golden/tiny.summary.json");
    #[expect(
        clippy::disallowed_methods,
        reason = "a switch for the person updating the golden file; it changes no run"
    )]
    let bless = std::env::var_os("BORGSIM_BLESS").is_some();
    if bless {
        fs::write(&golden, &got).unwrap();
    }
    let want = fs::read_to_string(&golden).expect("golden file (BORGSIM_BLESS=1 to create)");
    assert!(
        got == want,
        "summary.json differs from the golden file:\n{got}"
    );
}
