//! A job class's `usage` table (the synthetic usage model) through the
//! real binary and the library: bad keys exit 2 naming the key, a model
//! without reclamation is accepted with a warning and changes nothing, and
//! the scenario's models reach `SyntheticUsage`.

use super::{borgsim, root, text};
use borgsim::cell::resources::Resources;
use borgsim::metrics::summary::Summary;
use borgsim::scenario::Scenario;
use borgsim::time::{SimDuration, SimTime};
use borgsim::workload::usage::{ModelId, SyntheticUsage, UsageKey, UsageSource};
use std::fs;
use std::path::Path;

/// The quickstart with a usage table on its "web" class (the second).
fn quickstart_with_usage(usage: &str) -> String {
    let q = fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    let at = "name = \"web\"\n";
    assert!(q.contains(at));
    q.replacen(at, &format!("{at}usage = {usage}\n"), 1)
}

const GOOD: &str = "{ cpu_permille = { uniform = { min = 300, max = 700 } }, \
                    mem_permille = { constant = 600 }, diurnal_permille = 200 }";

fn validate(body: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("u.toml"), body).unwrap();
    let out = borgsim(dir.path(), &["validate", "u.toml"]);
    (out.status.code().unwrap(), text(&out.stderr))
}

#[test]
fn bad_usage_keys_exit_2_naming_the_key() {
    for (usage, says) in [
        (
            "{ cpu_permille = { constant = 500 }, mem_permille = { constant = 500 }, peak_hour = 24 }",
            "u.toml: workload.jobs[1].usage.peak_hour: an hour of the day, 0..=23, got 24",
        ),
        (
            "{ cpu_permille = { constant = 500 }, mem_permille = { constant = 500 }, \
             noise_permille = 2000 }",
            "u.toml: workload.jobs[1].usage.noise_permille: at most 1000",
        ),
        (
            "{ cpu_permille = { exponential = { mean = 0 } }, mem_permille = { constant = 500 } }",
            "u.toml: workload.jobs[1].usage.cpu_permille: mean must be a finite number > 0",
        ),
        (
            "{ cpu_permille = { constant = 500 }, mem_permille = { constant = 500 }, peak = 3 }",
            "unknown field `peak`",
        ),
        ("{ cpu_permille = { constant = 500 } }", "missing field `mem_permille`"),
    ] {
        let (code, err) = validate(&quickstart_with_usage(usage));
        assert_eq!(code, 2, "{usage}: {err}");
        assert!(err.contains(says), "{usage}: {err}");
    }
}

#[test]
fn a_usage_model_without_reclamation_warns_and_changes_no_figure() {
    let body = quickstart_with_usage(GOOD);
    let (code, err) = validate(&body);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: u.toml: workload.jobs[1].usage (\"web\"): has no effect"),
        "{err}"
    );
    let summary = |text: &str| {
        let sc = Scenario::parse(text, Path::new("u.toml")).unwrap();
        let mut sim = borgsim::build_simulation(&sc, false).unwrap();
        sim.run(&mut |_| {}).unwrap();
        serde_json::to_string(&Summary::of(&sc, &sim)).unwrap()
    };
    let plain = fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    assert_eq!(summary(&body), summary(&plain));
}

#[test]
fn the_scenario_s_models_reach_synthetic_usage() {
    let sc = Scenario::parse(&quickstart_with_usage(GOOD), Path::new("u.toml")).unwrap();
    let window = SimDuration::from_secs(300);
    let src = SyntheticUsage::from_scenario(&sc, None, window).unwrap();
    // "web" has model 0; the others use their limit.
    let limit = Resources::new(10_000, 10_000);
    let key = UsageKey {
        job_serial: 4,
        index: 2,
    };
    // Memory: 600 ‰ ± 10 % noise (the default) → 5,400..=6,600 of 10,000.
    // CPU: 300..=700 ‰ × (1 ± 20 % daily) × (1 ± 10 %) → 2,160..=9,240.
    for w in 0..288 {
        let u = src.usage(ModelId(0), key, &limit, SimTime::from_secs(w * 300));
        assert!((5_400..=6_600).contains(&u.mem_mib), "{u:?}");
        assert!((2_160..=9_240).contains(&u.cpu_milli), "{u:?}");
    }
    assert_eq!(src.usage(ModelId::LIMIT, key, &limit, SimTime::ZERO), limit);
}

/// `run` warns once of a model nothing reads (it printed `validate`'s
/// warnings and then the usage ones again), and a trace replay's
/// `[reclamation] usage`, which its usage tables replace, is warned of.
#[test]
fn usage_warnings_are_given_once_and_name_a_replay_s_unused_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let q = quickstart_with_usage(GOOD).replacen("duration_s = 7200", "duration_s = 60", 1);
    fs::write(d.join("u.toml"), q).unwrap();
    let out = borgsim(d, &["run", "u.toml", "--out", "o", "--no-plots"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.matches("usage (\"web\"): has no effect").count(),
        1,
        "{err}"
    );
    let trace = root().join("tests/fixtures/traces/google2011");
    let replay = format!(
        "name = \"g\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\nformat = \"google2011\"\nfiles = [{trace:?}]\n\
         [reclamation]\nmode = \"on\"\n\
         usage = {{ cpu_permille = {{ constant = 500 }}, mem_permille = {{ constant = 500 }} }}\n"
    );
    fs::write(d.join("g.toml"), replay).unwrap();
    for args in [
        &["validate", "g.toml"][..],
        &["run", "g.toml", "--out", "g", "--no-plots"],
    ] {
        let out = borgsim(d, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let says = "warning: g.toml: reclamation.usage: has no effect in a trace replay";
        assert_eq!(err.matches(says).count(), 1, "{args:?}: {err}");
    }
}

/// Reclamation on a synthetic workload with no usage model reclaims
/// nothing (every task uses its limit): `validate` says so, naming the key.
#[test]
fn reclamation_without_any_usage_model_is_warned_of() {
    let q = fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    let (code, err) = validate(&format!("{q}\n[reclamation]\nmode = \"on\"\n"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: u.toml: reclamation.mode: usage is tracked but no job class"),
        "{err}"
    );
    // With a model, or off, nothing is said.
    let (_, err) = validate(&format!(
        "{}\n[reclamation]\nmode = \"on\"\n",
        quickstart_with_usage(GOOD)
    ));
    assert!(!err.contains("reclamation.mode"), "{err}");
    let (_, err) = validate(&format!("{q}\n[reclamation]\nmode = \"off\"\n"));
    assert!(!err.contains("reclamation.mode"), "{err}");
}
