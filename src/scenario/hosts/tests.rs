//! Unit tests of the host warnings: bounded and unbounded draws, tail
//! probabilities in closed form, the per-machine-class explanations, and
//! the shipped scenarios warning only where they mean to.

use super::*;
use std::path::Path;

/// A synthetic scenario with these machine classes and job classes (TOML
/// bodies of `[[cell.machines]]` and `[[workload.jobs]]`, without headers).
fn scenario(machines: &[&str], jobs: &[&str]) -> Scenario {
    let mut text = String::from(
        "name = \"t\"\nseed = 1\nduration_s = 10\n[scheduler]\npolicy = \"best_fit\"\n",
    );
    for m in machines {
        text += &format!("[[cell.machines]]\n{m}\n");
    }
    for (i, j) in jobs.iter().enumerate() {
        text += &format!(
            "[[workload.jobs]]\nname = \"j{i}\"\nband = \"batch\"\ninitial_jobs = 1\n\
             tasks = {{ constant = 1 }}\n{j}\n"
        );
    }
    Scenario::parse(&text, Path::new("t.toml")).unwrap()
}

/// 5 big machines in zone a, 3 small ones in zone a with ssd.
const BIG: &str = "count = 5\ncpu_milli = 96000\nmem_mib = 393216\nattributes = { zone = \"a\" }";
const SSD: &str =
    "count = 3\ncpu_milli = 16000\nmem_mib = 65536\nattributes = { zone = \"a\", ssd = \"yes\" }";

#[test]
fn draws_are_bounded_by_the_distribution_and_rounded_like_the_workload() {
    let d = |toml: &str| -> Dist {
        toml::from_str::<toml::Table>(&format!("d = {toml}")).unwrap()["d"]
            .clone()
            .try_into()
            .unwrap()
    };
    // Rounded to the nearest integer, at least 1: 2.5 -> 3, 0.2 -> 0 -> 1.
    assert_eq!(draw_range(&d("{ constant = 2.5 }")), (3, Some(3)));
    assert_eq!(
        draw_range(&d("{ uniform = { min = 0.2, max = 9.4 } }")),
        (1, Some(9))
    );
    assert_eq!(draw_range(&d("{ choice = [8, 2, 4] }")), (2, Some(8)));
    // A value of weight 0 is never drawn: 100 is not the largest draw.
    let w = d("{ weighted = { values = [1, 5, 100], weights = [1, 1, 0] } }");
    assert_eq!(draw_range(&w), (1, Some(5)));
    assert_eq!(draw_range(&d("{ exponential = { mean = 5 } }")), (1, None));
    let ln = d("{ lognormal = { median = 500, sigma = 1.0, max = 120000 } }");
    assert_eq!(draw_range(&ln), (1, Some(120000)));
    assert_eq!(
        draw_range(&d("{ lognormal = { median = 500, sigma = 1.0 } }")),
        (1, None)
    );
    // Pareto draws start at the scale; a max below it caps every draw.
    assert_eq!(
        draw_range(&d("{ pareto = { scale = 100, shape = 1.5 } }")),
        (100, None)
    );
    let capped = d("{ pareto = { scale = 100, shape = 1.5, max = 50 } }");
    assert_eq!(draw_range(&capped), (50, Some(50)));
}

#[test]
fn tail_probabilities_are_the_closed_forms() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b;
    // Exponential, mean 30000, beyond 96000 (a draw >= 96000.5 rounds above):
    // e^(-96000.5 / 30000) = 0.040761…
    let p = tail_probability(&Dist::Exponential { mean: 30000.0 }, 96000);
    assert!(close(p, 0.040_761_524_6), "{p}");
    // Log-normal, median 2000, sigma 1, beyond 32000:
    // 1 - Φ(ln(32000.5 / 2000)) = 1 - Φ(2.77260…) = 0.0027805…
    let ln = Dist::Lognormal {
        median: 2000.0,
        sigma: 1.0,
        max: None,
    };
    assert!(close(tail_probability(&ln, 32000), 0.002_780_484_4));
    // Pareto, scale 100, shape 1.5, beyond 899: (100 / 899.5)^1.5 = 0.037067…
    let pa = Dist::Pareto {
        scale: 100.0,
        shape: 1.5,
        max: None,
    };
    assert!(close(tail_probability(&pa, 899), 0.037_067_922_7));
    assert_eq!(tail_probability(&pa, 50), 1.0, "every draw is >= 100");
    // erfc at 0 is 1, and it is symmetric about (0, 1).
    assert!((erfc(0.0) - 1.0).abs() < 1e-7);
    assert!((erfc(-1.0) + erfc(1.0) - 2.0).abs() < 1e-7);
}

/// Judged per machine class: a cell of u32::MAX machines (about 400 GB
/// if built) is judged at once, from one machine standing for the class.
#[test]
fn the_cell_is_never_built_to_judge_it() {
    let sc = scenario(
        &["count = 4294967295\ncpu_milli = 1000\nmem_mib = 1000"],
        &["cpu_milli = { constant = 5000 }\nmem_mib = { constant = 1 }"],
    );
    let w = sc.host_warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, HostWarningKind::Never);
    assert!(
        w[0].machine_classes[0]
            .1
            .starts_with("4294967295 × (1000 cpu_milli, 1000 mem_mib)"),
        "{}",
        w[0]
    );
}

#[test]
fn exceed_probabilities_follow_the_draws_and_their_caps() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9;
    // Discrete: the share of values (weights) whose draw rounds above 10.
    assert_eq!(exceed_probability(&Dist::Constant(10.4), 10), 0.0);
    assert_eq!(exceed_probability(&Dist::Constant(10.5), 10), 1.0);
    assert_eq!(
        exceed_probability(&Dist::Choice(vec![5.0, 11.0, 20.0, 8.0]), 10),
        0.5
    );
    let w = Dist::Weighted {
        values: vec![5.0, 11.0],
        weights: vec![3.0, 1.0],
    };
    assert_eq!(exceed_probability(&w, 10), 0.25);
    // Uniform on [0, 100]: above 10 from 10.5, (100 − 10.5) / 100.
    let u = Dist::Uniform {
        min: 0.0,
        max: 100.0,
    };
    assert!(close(exceed_probability(&u, 10), 0.895));
    assert_eq!(exceed_probability(&u, 100), 0.0);
    // A max at or below the limit caps every draw under it; above, the
    // uncapped tail: Pareto (100 / 899.5)^1.5 as for the tail warning.
    let pa = |max| Dist::Pareto {
        scale: 100.0,
        shape: 1.5,
        max,
    };
    assert_eq!(exceed_probability(&pa(Some(899.0)), 899), 0.0);
    assert!(close(
        exceed_probability(&pa(Some(5000.0)), 899),
        tail_probability(&pa(None), 899)
    ));
    // The tail warning reads unbounded distributions only.
    assert_eq!(tail_probability(&pa(Some(5000.0)), 899), 0.0);
}

#[test]
fn a_class_no_machine_class_can_host_is_explained_per_machine_class() {
    let sc = scenario(
        &[BIG, SSD],
        &[
            // j0: fits the big machines: no warning.
            "cpu_milli = { constant = 24000 }\nmem_mib = { constant = 1024 }",
            // j1: zone b: every machine class is in zone a.
            "cpu_milli = { constant = 100 }\nmem_mib = { constant = 100 }\n\
             constraints = [{ attr = \"zone\", op = \"eq\", value = \"b\" }]",
            // j2: needs ssd and at least 24000 mcpu: the big machines have no
            // ssd; the ssd ones have 16000, short by 24000 - 16000 = 8000.
            "cpu_milli = { uniform = { min = 24000, max = 30000 } }\nmem_mib = { constant = 1024 }\n\
             constraints = [{ attr = \"ssd\", op = \"eq\", value = \"yes\" }]",
            // j3: 2 whole GPUs; no machine has any.
            "cpu_milli = { constant = 1 }\nmem_mib = { constant = 1 }\ngpu = { whole = 2 }",
        ],
    );
    let w = sc.host_warnings();
    assert_eq!(w.iter().map(|w| w.job).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(w.iter().all(|w| w.kind == HostWarningKind::Never));
    assert_eq!(
        w[0].to_string(),
        "workload.jobs[1] (\"j1\"): no machine class can host any of its tasks; every one will stay pending (never schedulable)\n  \
         cell.machines[0]: 5 × (96000 cpu_milli, 393216 mem_mib): constraint_mismatch zone=b (its machines have zone=a)\n  \
         cell.machines[1]: 3 × (16000 cpu_milli, 65536 mem_mib): constraint_mismatch zone=b (its machines have zone=a)"
    );
    assert_eq!(
        w[1].machine_classes,
        vec![
            (0, "5 × (96000 cpu_milli, 393216 mem_mib): constraint_mismatch ssd=yes (its machines have no ssd)".to_string()),
            (1, "3 × (16000 cpu_milli, 65536 mem_mib): insufficient_cpu: needs at least 24000 cpu_milli, has 16000 (short by 8000)".to_string()),
        ]
    );
    assert!(w[2].machine_classes[0]
        .1
        .ends_with("insufficient_gpu: needs 2 whole GPUs, has 0 (short by 2)"));
}

#[test]
fn a_bounded_size_whose_largest_draw_fits_nothing_is_its_own_warning() {
    let sc = scenario(
        &[BIG, SSD],
        &[
            // Most draws are small (median 2000), but the largest, 120000,
            // exceeds the largest machine (96000).
            "cpu_milli = { lognormal = { median = 2000, sigma = 0.5, max = 120000 } }\n\
             mem_mib = { constant = 1024 }",
            // Bounded at 90000: every draw fits a big machine. No warning.
            "cpu_milli = { lognormal = { median = 2000, sigma = 0.5, max = 90000 } }\n\
             mem_mib = { constant = 1024 }",
        ],
    );
    let w = sc.host_warnings();
    assert_eq!(w.len(), 1, "{w:#?}");
    let HostWarningKind::LargestDraw {
        cpu_milli, notes, ..
    } = &w[0].kind
    else {
        panic!("{w:?}")
    };
    assert_eq!(*cpu_milli, Some(120000));
    assert_eq!(
        notes,
        &vec!["cpu_milli lognormal max 120000 exceeds the largest machine that satisfies its constraints (96000)".to_string()]
    );
    // Short by 120000 - 96000 = 24000 on the big machines, 104000 on the small.
    assert!(w[0].machine_classes[0]
        .1
        .ends_with("has 96000 (short by 24000)"));
    assert!(w[0].machine_classes[1]
        .1
        .ends_with("has 16000 (short by 104000)"));
}

#[test]
fn sizes_that_fit_alone_but_not_together_are_found() {
    // A: much cpu, little memory; B: the opposite.
    let a = "count = 1\ncpu_milli = 64000\nmem_mib = 8192";
    let b = "count = 1\ncpu_milli = 8000\nmem_mib = 262144";
    // cpu up to 32000 fits A, memory up to 131072 fits B, both at once neither.
    let sc = scenario(
        &[a, b],
        &["cpu_milli = { choice = [1000, 32000] }\nmem_mib = { choice = [1024, 131072] }"],
    );
    let w = sc.host_warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].kind,
        HostWarningKind::LargestDraw {
            cpu_milli: Some(32000),
            mem_mib: Some(131072),
            notes: vec![],
        }
    );
    assert!(w[0].machine_classes[0]
        .1
        .contains("insufficient_memory: needs 131072 mem_mib, has 8192"));
    assert!(w[0].machine_classes[1]
        .1
        .contains("insufficient_cpu: needs 32000 cpu_milli, has 8000"));
}

#[test]
fn unbounded_sizes_warn_only_when_the_tail_is_likely() {
    let sc = scenario(
        &[BIG, SSD],
        &[
            // P(draw > 96000) = e^(-96000.5 / 30000) = 4.08e-2: warned.
            "cpu_milli = { exponential = { mean = 30000 } }\nmem_mib = { constant = 1 }",
            // e^(-96000.5 / 600) = 2.9e-70: not.
            "cpu_milli = { exponential = { mean = 600 } }\nmem_mib = { constant = 1 }",
            // With ssd, the largest machine has 16000: 1 - Φ(ln(16000.5 / 2000)) = 1.9e-2.
            "cpu_milli = { lognormal = { median = 2000, sigma = 1.0 } }\nmem_mib = { constant = 1 }\n\
             constraints = [{ attr = \"ssd\", op = \"present\" }]",
        ],
    );
    let w = sc.host_warnings();
    assert_eq!(w.iter().map(|w| w.job).collect::<Vec<_>>(), vec![0, 2]);
    let HostWarningKind::Tail {
        largest,
        probability,
        ..
    } = w[1].kind
    else {
        panic!("{w:?}")
    };
    assert_eq!(largest, 16000);
    assert!((0.018..0.020).contains(&probability), "{probability}");
    assert!(w[0].to_string().contains(
        "cpu_milli exponential is unbounded: a draw exceeds the largest machine that satisfies its constraints (96000) with probability 4.08e-2 per task"
    ), "{}", w[0]);
}

#[test]
fn shipped_scenarios_warn_only_about_the_deliberately_oversized_class() {
    for (name, _) in crate::scenario::BUILTIN {
        let sc = Scenario::builtin(name).unwrap().unwrap();
        let w = sc.host_warnings();
        if *name == "quickstart" {
            assert_eq!(w.len(), 1, "{w:#?}");
            assert_eq!(
                (w[0].name.as_str(), &w[0].kind),
                ("too-big", &HostWarningKind::Never)
            );
            // 64000 mcpu against 16000- and 32000-mcpu machines.
            assert!(w[0]
                .to_string()
                .contains("needs 64000 cpu_milli, has 32000 (short by 32000)"));
        } else {
            assert!(w.is_empty(), "{name}: {w:#?}");
        }
    }
}
