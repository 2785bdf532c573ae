//! The random distributions' float maths do not depend on build features.
//!
//! `rand_distr` computes `exp`, `ln` and `powf` through `num-traits`, which
//! uses the standard library's maths when its `std` feature is on and the
//! pure-Rust `libm` otherwise. Features are unified across the dependency
//! graph, so an optional dependency (the `plots` feature's image crates turn
//! `num-traits/std` on) could silently switch the maths, and with it every
//! draw. borgsim turns `rand_distr/std_math` on itself, so both builds use
//! the same maths. This test pins digests of many draws from each
//! continuous distribution; CI runs it in the default build (`cargo test`)
//! and again with `--no-default-features`, with the golden summary, so
//! either build drifting from the pinned values fails.

use borgsim::rng::{RngStreams, Stream};
use borgsim::workload::dist::Dist;

/// FNV-1a over the bit patterns of `n` draws.
fn digest(d: &Dist, n: usize) -> u64 {
    let mut rng = RngStreams::new(2024).stream(Stream::Workload);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..n {
        for byte in d.sample(&mut rng).to_bits().to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[test]
fn continuous_draws_match_their_pinned_digests() {
    let cases = [
        (
            "exponential",
            Dist::Exponential { mean: 300.0 },
            12_408_105_797_651_156_723u64,
        ),
        (
            "lognormal",
            Dist::Lognormal {
                median: 600.0,
                sigma: 1.5,
                max: None,
            },
            10_509_426_302_518_701_195,
        ),
        (
            "pareto",
            Dist::Pareto {
                scale: 1.0,
                shape: 1.1,
                max: None,
            },
            17_619_362_791_594_999_838,
        ),
    ];
    let got: Vec<(&str, u64)> = cases
        .iter()
        .map(|(name, d, _)| (*name, digest(d, 200_000)))
        .collect();
    let want: Vec<(&str, u64)> = cases.iter().map(|(n, _, w)| (*n, *w)).collect();
    assert_eq!(
        got, want,
        "draws changed: the float maths differ from the pinned build (a feature or dependency \
         change switched num-traits between std and libm?)"
    );
}

/// The test builds above always have `num-traits/std` (criterion, a
/// dev-dependency, turns it on), so the pinned digests alone cannot see the
/// shipped binary's maths. Ask cargo what the binary's own dependency graph
/// turns on, with and without default features.
#[test]
fn shipped_builds_compute_with_std_maths() {
    #[expect(
        clippy::disallowed_methods,
        reason = "the cargo running the tests, not an input to a simulation"
    )]
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for extra in [&[][..], &["--no-default-features"][..]] {
        let out = std::process::Command::new(&cargo)
            .args([
                "tree",
                "--offline",
                "-e",
                "normal,features",
                "-i",
                "num-traits",
            ])
            .args(extra)
            .current_dir(super::root())
            .output()
            .expect("cargo runs");
        let tree = super::text(&out.stdout);
        assert!(
            out.status.success(),
            "cargo tree {extra:?}: {}",
            super::text(&out.stderr)
        );
        assert!(
            tree.contains("num-traits feature \"std\""),
            "a build {extra:?} computes draws with libm, not std:\n{tree}"
        );
    }
}
