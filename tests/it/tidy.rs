//! Tidy checks (rust-analyzer's `tests/tidy.rs`): rules about the source
//! text itself, which the compiler and clippy cannot state or could be
//! talked out of. Every file under `src/` opens with a `//!` module doc
//! saying why it exists; the modules a run's results come from name no wall
//! clock, environment or unseeded randomness (clippy.toml bans the calls it
//! can name; this also catches imports, types and constants); and the lint
//! that keeps those modules from iterating hash maps stays switched on.
//! See ARCHITECTURE.md, "Guards".

use super::root;
use std::path::{Path, PathBuf};

/// The modules whose behaviour reaches `summary.json`, `pending.csv` and
/// the time series: ARCHITECTURE.md's determinism invariant.
const DETERMINISTIC: [&str; 5] = ["engine", "cell", "sched", "sim", "workload"];

/// Names that reach outside (scenario, seed), matched as whole words (a
/// `::` path counts as one word), with what to use instead.
const NONDETERMINISTIC: &[(&str, &str)] = &[
    ("std::time", "the wall clock: take a crate::time::SimTime"),
    (
        "Instant::now",
        "the wall clock: take a crate::time::SimTime",
    ),
    ("SystemTime", "the wall clock: take a crate::time::SimTime"),
    ("UNIX_EPOCH", "the wall clock: take a crate::time::SimTime"),
    ("std::env", "the environment: take it as an argument"),
    ("rand::rng", "unseeded: use a stream of rng::RngStreams"),
    ("thread_rng", "unseeded: use a stream of rng::RngStreams"),
    ("ThreadRng", "unseeded: use a stream of rng::RngStreams"),
    ("OsRng", "unseeded: use a stream of rng::RngStreams"),
    ("rand::random", "unseeded: use a stream of rng::RngStreams"),
    (
        "rand::random_range",
        "unseeded: use a stream of rng::RngStreams",
    ),
    (
        "rand::random_bool",
        "unseeded: use a stream of rng::RngStreams",
    ),
    (
        "rand::random_ratio",
        "unseeded: use a stream of rng::RngStreams",
    ),
    (
        "rand::random_iter",
        "unseeded: use a stream of rng::RngStreams",
    ),
    ("from_os_rng", "unseeded: use a stream of rng::RngStreams"),
    (
        "try_from_os_rng",
        "unseeded: use a stream of rng::RngStreams",
    ),
    ("from_entropy", "unseeded: use a stream of rng::RngStreams"),
    ("getrandom", "unseeded: use a stream of rng::RngStreams"),
    (
        "RandomState",
        "seeded per process, so iteration order changes run to run: use FxHashMap",
    ),
];

/// Every `.rs` file under `dir`, in path order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `path` relative to the repository root, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True if `line` holds `word` with no identifier character on either side.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The code of a line: everything before a `//` comment (doc comments
/// included, since they may name what they forbid).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// What `text` (one file) names that it must not: `(line number, name,
/// why)`. A `use` of std's hash collections counts too: they are seeded per
/// process (`RandomState`), so even their lookups-only use is one edit away
/// from an order that changes run to run.
fn nondeterminism(text: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = code(line);
        for &(word, why) in NONDETERMINISTIC {
            if has_word(code, word) {
                found.push((i + 1, word, why));
            }
        }
        if has_word(code, "std::collections")
            && (has_word(code, "HashMap") || has_word(code, "HashSet"))
        {
            found.push((
                i + 1,
                "std::collections::HashMap",
                "seeded per process: use rustc_hash's FxHashMap, for lookups only",
            ));
        }
    }
    found
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let missing: Vec<String> = rust_files(&root().join("src"))
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| format!("{}:1", shown(&f)))
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not begin with a `//!` module doc saying why they exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_deterministic_modules_name_no_clock_environment_or_unseeded_rng() {
    let mut found = Vec::new();
    for module in DETERMINISTIC {
        let src = root().join("src");
        let mut files = rust_files(&src.join(module));
        files.push(src.join(format!("{module}.rs")));
        for f in files.into_iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(&f).unwrap();
            for (line, word, why) in nondeterminism(&text) {
                found.push(format!("{}:{line}: `{word}`: {why}", shown(&f)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a run must be a pure function of (scenario, seed) (ARCHITECTURE.md, \
         Determinism), but {} names:\n{}",
        DETERMINISTIC.join(", "),
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_what_it_looks_for_and_only_that() {
    let bad = "use std::time::Instant;\n\
               let s = SmallRng::from_os_rng();\n\
               let m: std::collections::HashMap<u32, u32> = Default::default();\n\
               let x: u64 = rand::random();";
    let lines: Vec<(usize, &str)> = nondeterminism(bad)
        .into_iter()
        .map(|(line, word, _)| (line, word))
        .collect();
    assert_eq!(
        lines,
        [
            (1, "std::time"),
            (2, "from_os_rng"),
            (3, "std::collections::HashMap"),
            (4, "rand::random"),
        ]
    );
    // Look-alikes: an enum variant, a seeded stream, a comment, a longer name.
    let fine = "WindowRule::Instant => 0,\n\
                let r = rand::rngs::SmallRng::seed_from_u64(1);\n\
                // never std::env, never Instant::now\n\
                let t = crate::time::SimTime(0); let q = rand::random_sample;";
    assert_eq!(nondeterminism(fine), []);
}

#[test]
fn the_deterministic_modules_deny_iterating_hash_maps() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let lines: Vec<&str> = lib.lines().collect();
    let missing: Vec<&str> = DETERMINISTIC
        .into_iter()
        .filter(|module| {
            let decl = format!("pub mod {module};");
            !lines.windows(2).any(|w| {
                w[0].trim() == "#[deny(clippy::iter_over_hash_type)]" && w[1].trim() == decl
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs must declare each of these modules right under \
         `#[deny(clippy::iter_over_hash_type)]` (a hash map's iteration order \
         is its hasher's, not the data's): {missing:?}"
    );
}

/// Every file the Markdown docs link to by a relative path exists in the
/// tree, and git tracks it (a picture left untracked is a broken image on
/// every clone).
#[test]
fn relative_links_in_the_docs_name_tracked_files() {
    let root = super::root();
    let tracked = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    for doc in ["README.md", "ARCHITECTURE.md", "reports/README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let base = Path::new(doc).parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = base.join(target);
            assert!(
                root.join(&path).exists(),
                "{doc} links to {target}, which does not exist"
            );
            if let Some(files) = &tracked {
                let p = path.to_string_lossy().replace('\\', "/");
                let is_dir = root.join(&path).is_dir();
                let known = files.lines().any(|f| {
                    f == p || (is_dir && f.starts_with(&format!("{}/", p.trim_end_matches('/'))))
                });
                assert!(known, "{doc} links to {target}, which git does not track");
            }
        }
    }
}
