//! One source of truth per output schema, checked from outside: the
//! column tables of reports/README.md (section "Columns and keys") against the columns
//! and keys a real run writes, and each enum's names as serde, strum and
//! clap derive them. A column added to the code but not to the README, or
//! the other way round, fails here; so does an output file the README does
//! not describe.

use super::{borgsim, root, text};
use borgsim::cell::state::EventKind;
use borgsim::sched::reason::Reason;
use borgsim::sched::Policy;
use borgsim::trace::TraceFormat;
use borgsim::workload::Band;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The README's tables under "### Columns and keys": file name → its
/// columns or keys, in order, with `<band>` expanded to one name per band
/// as the section lists them ("`<band>` stands for … low to high: `a`,
/// `b`."), each with whether it is written only with reclamation (its
/// row's text starts "*with reclamation:*").
fn readme_rows() -> BTreeMap<String, Vec<(String, bool)>> {
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let section = readme
        .split("\n### Columns and keys\n")
        .nth(1)
        .expect("reports/README.md has a section \"### Columns and keys\"");
    let section = section.split("\n### ").next().unwrap();
    let bands: Vec<&str> = section
        .split("low to high:")
        .nth(1)
        .and_then(|s| s.split('.').next())
        .expect("the section lists the bands, \"low to high: `…`, `…`.\"")
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    let expand = |name: &str| -> Vec<String> {
        if name.contains("<band>") {
            bands.iter().map(|b| name.replace("<band>", b)).collect()
        } else {
            vec![name.to_string()]
        }
    };
    let mut tables: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    let mut file = None;
    for line in section.lines() {
        if let Some(name) = line.strip_prefix("#### `") {
            let name = name.strip_suffix('`').expect("a heading naming one file");
            file = Some(name.to_string());
            tables.entry(name.to_string()).or_default();
        } else if let Some(row) = line.strip_prefix("| `") {
            let name = row.split('`').next().unwrap();
            let what = row.split_once(" | ").map_or("", |x| x.1);
            let reclamation = what.starts_with("*with reclamation:*");
            let file = file.as_ref().expect("a table under a file's heading");
            let names = expand(name).into_iter().map(|n| (n, reclamation));
            tables.get_mut(file).unwrap().extend(names);
        }
    }
    tables
}

/// [`readme_rows`]'s names, every one of them.
fn readme_tables() -> BTreeMap<String, Vec<String>> {
    readme_rows()
        .into_iter()
        .map(|(f, rows)| (f, rows.into_iter().map(|(n, _)| n).collect()))
        .collect()
}

/// [`readme_rows`]'s names but those written only with reclamation.
fn without_reclamation() -> BTreeMap<String, Vec<String>> {
    readme_rows()
        .into_iter()
        .map(|(f, rows)| {
            let names = rows.into_iter().filter(|(_, r)| !r).map(|(n, _)| n);
            (f, names.collect())
        })
        .collect()
}

/// Runs `scenario` (relative to `cwd`) with the real binary, without plots
/// and with `extra` flags; returns the output directory.
fn run(cwd: &Path, scenario: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        scenario,
        "--out",
        out.path().to_str().unwrap(),
        "--no-plots",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = borgsim(cwd, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    out
}

/// Every CSV and JSON file of a directory: name → its header's columns
/// (in order) or its top-level keys (sorted: serde_json's map sorts them).
/// Names the user chooses are given as the README heads their tables: a
/// snapshot as `snapshot-<T>.csv`, the event log as `--events FILE`.
fn written(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = match path.file_name().unwrap().to_string_lossy() {
            n if n.starts_with("snapshot-") => "snapshot-<T>.csv".to_string(),
            n if n.starts_with("events.") => "--events FILE".to_string(),
            n => n.into_owned(),
        };
        let names: Vec<String> = if name.contains(".csv") || name.ends_with(" FILE") {
            let mut r = csv::Reader::from_path(&path).unwrap();
            r.headers().unwrap().iter().map(String::from).collect()
        } else if name.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            v.as_object().unwrap().keys().cloned().collect()
        } else {
            continue;
        };
        files.insert(name, names);
    }
    files
}

/// The keys the schema's sweeps vary.
const SWEPT_KEYS: [&str; 4] = [
    "scheduler.policy",
    "cell.machines[0].count",
    "cell.machines[1].count",
    "compaction.trials",
];

/// A sweep of the tiny scenario over two policies, one run failing (a
/// value the scenario's checks refuse), so runs.csv has every column
/// filled somewhere; returns its directory.
fn sweep() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let base = root().join("tests/golden/tiny.toml");
    let file = out.path().join("sweep.toml");
    std::fs::write(
        &file,
        format!(
            "base = {:?}\nseeds = [1]\n[[parameters]]\nkey = \"{}\"\nvalues = [\"hybrid\", \"best_fit\"]\n\
             [[parameters]]\nkey = \"{}\"\nvalues = [6, 0]\n",
            base.to_str().unwrap(),
            SWEPT_KEYS[0],
            SWEPT_KEYS[1]
        ),
    )
    .unwrap();
    let dir = out.path().join("sweep");
    let o = borgsim(
        &root(),
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "two runs fail: {}",
        text(&o.stderr)
    );
    let kept = tempfile::tempdir().unwrap();
    for name in ["runs.csv", "sweep.json"] {
        std::fs::copy(dir.join(name), kept.path().join(name)).unwrap();
    }
    for (command, runs_csv) in capacity_sweeps() {
        std::fs::write(kept.path().join(format!("runs.csv ({command})")), runs_csv).unwrap();
    }
    kept
}

/// runs.csv of a sweep of each capacity-planning command over the
/// compaction fixture: two policies, two trials, one seed; for `compact`
/// also a cell too small for the workload, so that a run fails.
fn capacity_sweeps() -> Vec<(&'static str, Vec<u8>)> {
    let base = root().join("tests/fixtures/compact/static.toml");
    let policies = format!(
        "[[parameters]]\nkey = \"{}\"\nvalues = [\"hybrid\", \"best_fit\"]\n",
        SWEPT_KEYS[0]
    );
    let trials = format!(
        "[[parameters]]\nkey = \"{}\"\nvalues = [2]\n",
        SWEPT_KEYS[3]
    );
    let ssd = format!(
        "[[parameters]]\nkey = \"{}\"\nvalues = [8, 1]\n",
        SWEPT_KEYS[2]
    );
    let mut out = Vec::new();
    for (command, head, params, code) in [
        ("compact", "", format!("{policies}{ssd}{trials}"), 1),
        (
            "experiment",
            "experiment = \"segregation\"\n",
            format!("{policies}{trials}"),
            0,
        ),
        ("inflate", "mode = \"vertical\"\n", policies.clone(), 0),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("sweep.toml");
        let body = format!(
            "base = {:?}\ncommand = \"{command}\"\n{head}seeds = [1]\n{params}",
            base.to_str().unwrap()
        );
        std::fs::write(&file, body).unwrap();
        let dir = tmp.path().join("sweep");
        let (f, d) = (file.to_str().unwrap(), dir.to_str().unwrap());
        let o = borgsim(&root(), &["sweep", f, "--out", d, "--quiet"]);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{command}: {}",
            text(&o.stderr)
        );
        out.push((command, std::fs::read(dir.join("runs.csv")).unwrap()));
    }
    out
}

/// The columns or keys of `file` as the README names them: the sweep's
/// parameter columns of runs.csv as the one `<parameter>` standing for them
/// all.
fn as_documented(file: &str, mut names: Vec<String>) -> Vec<String> {
    if file.starts_with("runs.csv") {
        let at = names.iter().position(|n| SWEPT_KEYS.contains(&n.as_str()));
        names.retain(|n| !SWEPT_KEYS.contains(&n.as_str()));
        names.insert(at.expect("parameter columns"), "<parameter>".into());
    }
    // An experiment's two columns per variant, as the one pair standing
    // for them all.
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = match n.strip_prefix("variants.").and_then(|r| r.rsplit_once('.')) {
            Some((_, field)) => format!("variants.<variant>.{field}"),
            None => n,
        };
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Runs `borgsim <args> --out <dir> --no-plots --quiet`, which must
/// succeed; returns the directory.
fn command(args: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend([
        "--out",
        out.path().to_str().unwrap(),
        "--no-plots",
        "--quiet",
    ]);
    let o = borgsim(&root(), &all);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    out
}

/// Directories that hold, between them, every output file: a synthetic
/// run with its event log and a snapshot, and a one-by-one trace replay
/// (together every file of a run, and summary.json's replay-only keys);
/// `compare` of the two (compare.csv); a run with faults (failures.csv,
/// summary.json's `faults`: the last); a run with reclamation on
/// (summary.json's `reclamation`: the one before); a compaction
/// (compaction.json, and its own run.json); an experiment
/// (experiment.json, experiment.csv); an inflation (inflation.json); the
/// FGD experiment (fgd.json, fgd.csv); and a sweep (runs.csv, sweep.json).
fn every_output() -> Vec<tempfile::TempDir> {
    let logs = tempfile::tempdir().unwrap();
    let events = logs.path().join("events.csv");
    let synthetic = run(
        &root(),
        "tests/golden/tiny.toml",
        &["--events", events.to_str().unwrap(), "--snapshot-at", "900"],
    );
    let openb = run(
        &root().join("tests/fixtures/openb-five-columns"),
        "scenario.toml",
        &[],
    );
    let (a, b) = (synthetic.path(), openb.path());
    let compared = command(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let compacted = command(&[
        "compact",
        "tests/fixtures/compact/static.toml",
        "--trials",
        "2",
    ]);
    let experimented = command(&[
        "experiment",
        "policies",
        "tests/fixtures/experiment/cell.toml",
        "--trials",
        "2",
    ]);
    let inflated = command(&[
        "inflate",
        "tests/fixtures/compact/static.toml",
        "--mode",
        "horizontal",
        "--trials",
        "2",
    ]);
    let fgd = command(&[
        "experiment",
        "fgd",
        "tests/fixtures/fgd/scenario.toml",
        "--traces",
        "a",
        "--seeds",
        "1..2",
        "--policies",
        "fgd",
    ]);
    let faulty = run(&root(), "scenarios/failures.toml", &[]);
    let reclaiming = run(&root(), "tests/fixtures/reclamation/on.toml", &[]);
    vec![
        synthetic,
        openb,
        logs,
        compared,
        compacted,
        experimented,
        inflated,
        fgd,
        sweep(),
        reclaiming,
        faulty,
    ]
}

#[test]
fn the_readme_tables_are_the_columns_and_keys_a_run_writes() {
    let readme = readme_tables();
    let plain = without_reclamation();
    let dirs = every_output();
    // A set: both runs write most files, and a mismatch is told once.
    let mut problems = BTreeSet::new();
    let mut json_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = BTreeSet::new();
    for dir in &dirs {
        for (file, names) in written(dir.path()) {
            let names = as_documented(&file, names);
            files.insert(file.clone());
            let Some(documented) = readme.get(&file) else {
                problems.insert(format!(
                    "{file}: written, but reports/README.md has no table for it"
                ));
                continue;
            };
            if file.ends_with(".json") {
                json_keys.entry(file).or_default().extend(names);
            } else if !columns_match(documented, &names) && !columns_match(&plain[&file], &names) {
                problems.insert(format!(
                    "{file}: reports/README.md lists\n  {documented:?}\nbut the run wrote\n  {names:?}"
                ));
            }
        }
    }
    for (file, keys) in &json_keys {
        let documented: BTreeSet<String> = readme[file].iter().cloned().collect();
        if documented != *keys {
            problems.insert(format!(
                "{file}: reports/README.md lists keys {documented:?}\nbut the runs wrote {keys:?}"
            ));
        }
    }
    for file in readme.keys() {
        if !files.contains(file) {
            problems.insert(format!(
                "{file}: reports/README.md has a table, but no run wrote it"
            ));
        }
    }
    // every_output's first two: the synthetic run and the one-by-one replay.
    for dir in &dirs[..2] {
        if let Some(p) = by_band_keys_differ(dir.path()) {
            problems.insert(p);
        }
        for key in ["evictions_per_task_week", "availability"] {
            problems.extend(nested_keys_undocumented(dir.path(), key));
        }
    }
    // The one-by-one replay's GPU figures (their percentages aside).
    problems.extend(nested_keys_undocumented(dirs[1].path(), "gpu_packing"));
    // What the frag figures' typical pods rest on.
    problems.extend(nested_keys_undocumented(dirs[1].path(), "typical_pods"));
    if let Some(p) = fault_keys_differ(dirs.last().unwrap().path()) {
        problems.insert(p);
    }
    problems.extend(nested_keys_undocumented(
        dirs[dirs.len() - 2].path(),
        "reclamation",
    ));
    problems.extend(reclamation_columns_differ(
        &readme,
        &plain,
        [dirs[0].path(), dirs[dirs.len() - 2].path()],
    ));
    assert!(
        problems.is_empty(),
        "reports/README.md's \"Columns and keys\" and the outputs disagree:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The keys at every depth under summary.json's `key` that its row in
/// reports/README.md does not name (in backticks), numbers aside: one
/// sentence each.
fn nested_keys_undocumented(dir: &Path, key: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| `{key}` |")))
        .unwrap_or_else(|| panic!("reports/README.md has a row for summary.json's {key}"));
    let documented: BTreeSet<&str> = row.split('`').skip(1).step_by(2).collect();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let mut written = BTreeSet::new();
    let mut stack = vec![&summary[key]];
    while let Some(v) = stack.pop() {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                written.insert(k.clone());
                stack.push(v);
            }
        }
    }
    assert!(!written.is_empty(), "summary.json writes {key}");
    written
        .into_iter()
        .filter(|k| !documented.contains(k.as_str()))
        // Numbers are values' labels (a demand percentage), not names.
        .filter(|k| !k.chars().all(|c| c.is_ascii_digit()))
        .map(|k| {
            format!("summary.json {key}: writes `{k}`, which reports/README.md's row does not name")
        })
        .collect()
}

/// Every key inside summary.json's `faults` (its own, each kind's,
/// `by_kind`'s kinds, the queue's and the drain's), against the names in
/// backticks on reports/README.md's `faults` row (the table's name
/// `[faults]` aside); a sentence saying how they differ, if they do.
fn fault_keys_differ(dir: &Path) -> Option<String> {
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `faults` |"))
        .expect("reports/README.md has a row for summary.json's faults");
    let what = row.split(" | ").nth(1).unwrap();
    let documented: BTreeSet<String> = what
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.starts_with('['))
        .map(String::from)
        .collect();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    fn keys(v: &serde_json::Value, into: &mut BTreeSet<String>) {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                into.insert(k.clone());
                keys(v, into);
            }
        }
    }
    let mut written = BTreeSet::new();
    let faults = &summary["faults"];
    assert!(faults["maintenance"].is_object(), "the run has a drain");
    keys(faults, &mut written);
    (written != documented).then(|| {
        format!(
            "summary.json faults: reports/README.md lists {documented:?}\nbut the run wrote {written:?}"
        )
    })
}

/// The keys summary.json's `by_band` gives each band, against the names
/// reports/README.md's `by_band` row lists (in backticks, the bands aside); a
/// sentence saying how they differ, if they do.
fn by_band_keys_differ(dir: &Path) -> Option<String> {
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `by_band` |"))
        .expect("reports/README.md has a row for summary.json's by_band");
    let what = row.split(" | ").nth(1).unwrap();
    let bands: Vec<&str> = Band::ALL.iter().map(|b| b.name()).collect();
    let documented: BTreeSet<String> = what
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !bands.contains(n))
        .map(String::from)
        .collect();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    for band in bands {
        let keys: BTreeSet<String> = summary["by_band"][band]
            .as_object()
            .unwrap_or_else(|| panic!("by_band.{band} is written"))
            .keys()
            .cloned()
            .collect();
        if keys != documented {
            return Some(format!(
                "summary.json by_band.{band}: reports/README.md lists {documented:?}\nbut the run wrote {keys:?}"
            ));
        }
    }
    None
}

/// The CSV files with columns written only with reclamation whose header
/// is not, in `runs[0]` (without reclamation), every documented column but
/// those, and in `runs[1]` (with it), every documented column.
fn reclamation_columns_differ(
    all: &BTreeMap<String, Vec<String>>,
    plain: &BTreeMap<String, Vec<String>>,
    runs: [&Path; 2],
) -> Vec<String> {
    let [without, with] = runs.map(written);
    let mut problems = Vec::new();
    for (file, names) in plain {
        if !file.ends_with(".csv") || all[file] == *names {
            continue;
        }
        if without.get(file) != Some(names) {
            problems.push(format!(
                "{file}: a run without reclamation wrote {:?}",
                without.get(file)
            ));
        }
        if with.get(file) != Some(&all[file]) {
            problems.push(format!(
                "{file}: a run with reclamation wrote {:?}",
                with.get(file)
            ));
        }
    }
    if problems.is_empty() && all == plain {
        problems.push("no column is documented as written only with reclamation".into());
    }
    problems
}

/// True if `written` are the `documented` columns, in order, where a
/// documented name ending in `<i>` (`run_<i>`) stands for one or more
/// columns of that prefix and consecutive numbers (`run_1`, `run_2`): the
/// columns of `compare.csv` that come one per run.
fn columns_match(documented: &[String], written: &[String]) -> bool {
    let mut w = written.iter().peekable();
    for d in documented {
        let Some(prefix) = d.strip_suffix("<i>") else {
            if w.next() != Some(d) {
                return false;
            }
            continue;
        };
        let mut numbers = Vec::new();
        while let Some(n) = w
            .peek()
            .and_then(|c| c.strip_prefix(prefix))
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbers.push(n);
            w.next();
        }
        if numbers.is_empty() || numbers.windows(2).any(|p| p[1] != p[0] + 1) {
            return false;
        }
    }
    w.next().is_none()
}

#[test]
fn numbered_columns_match_their_pattern_and_nothing_else() {
    let doc: Vec<String> = ["metric", "run_<i>", "delta_<i>"].map(String::from).into();
    let cols = |c: &[&str]| -> Vec<String> { c.iter().map(|s| s.to_string()).collect() };
    assert!(columns_match(
        &doc,
        &cols(&["metric", "run_1", "run_2", "delta_2"])
    ));
    assert!(
        !columns_match(&doc, &cols(&["metric", "run_1", "run_3", "delta_2"])),
        "a gap"
    );
    assert!(!columns_match(
        &doc,
        &cols(&["metric", "run_1", "delta_2", "extra"])
    ));
    assert!(
        !columns_match(&doc, &cols(&["metric", "delta_2"])),
        "no run column"
    );
}

/// The name serde gives a unit variant.
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .expect("a unit variant")
        .to_string()
}

#[test]
fn enum_names_are_the_same_whoever_derives_them() {
    let mut differ = Vec::new();
    let mut check = |what: String, derived: &str, serde: String| {
        if derived != serde {
            differ.push(format!("{what}: {derived:?}, serde says {serde:?}"));
        }
    };
    for b in Band::ALL {
        check(format!("Band::{b:?}.name()"), b.name(), serde_name(b));
    }
    for p in Policy::ALL {
        check(format!("Policy::{p:?}.name()"), p.name(), serde_name(p));
        assert_eq!(p.name().parse::<Policy>(), Ok(*p));
    }
    for r in Reason::ALL {
        check(format!("Reason::{r:?}.key()"), r.key(), serde_name(r));
    }
    for f in <TraceFormat as clap::ValueEnum>::value_variants() {
        check(
            format!("TraceFormat::{f:?}.name()"),
            f.name(),
            serde_name(f),
        );
        let clap = clap::ValueEnum::to_possible_value(f).unwrap();
        check(
            format!("TraceFormat::{f:?} on the command line"),
            clap.get_name(),
            serde_name(f),
        );
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// reports/README.md's `event` column of the event log names every kind of row,
/// by the name the log writes, and nothing else.
#[test]
fn the_readme_names_every_kind_of_event() {
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let table = readme
        .split("#### `--events FILE`")
        .nth(1)
        .expect("reports/README.md has a table for the event log");
    let row = table
        .lines()
        .find(|l| l.starts_with("| `event` |"))
        .expect("the table has a row for `event`");
    let named: BTreeSet<&str> = row.split('`').skip(1).step_by(2).skip(1).collect();
    let kinds: BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        named, kinds,
        "reports/README.md's `event` row against EventKind"
    );
}

/// reports/README.md's `status` column of pending.csv names every status,
/// by the name the file writes, and nothing else.
#[test]
fn the_readme_names_every_pending_status() {
    use borgsim::metrics::pending::Status;
    let readme = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let table = readme
        .split("#### `pending.csv`")
        .nth(1)
        .expect("reports/README.md has a table for pending.csv");
    let row = table
        .lines()
        .find(|l| l.starts_with("| `status` |"))
        .expect("the table has a row for `status`");
    let named: BTreeSet<&str> = row.split('`').skip(1).step_by(2).skip(1).collect();
    let statuses: BTreeSet<&str> = Status::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        named, statuses,
        "reports/README.md's `status` row against Status"
    );
    for s in Status::ALL {
        assert_eq!(s.name(), serde_name(s), "Status::{s:?}");
    }
}
