//! The `[faults]` table's checks: each bad value named by its key, the
//! horizon a fault needs, the one drain.

use super::*;

fn cx(bounded: bool) -> Context<'static> {
    Context {
        classes: Some(2),
        classes_from_trace: false,
        domains: Some(DomainCounts {
            racks: 4,
            rows: 2,
            power_domains: 2,
        }),
        bounded,
        job_classes: &[],
    }
}

fn parse(text: &str) -> FaultsConfig {
    toml::from_str(text).unwrap()
}

#[test]
fn each_bad_value_is_named_by_its_key() {
    let cases = [
        ("[[machine_failures]]\nclass = 2\ntime_to_failure = { exponential = { mean_s = 10 } }\nrepair_s = { constant = 1 }", "faults.machine_failures[0].class"),
        ("[[machine_failures]]\ntime_to_failure = { weibull = { shape = 0, scale_s = 10 } }\nrepair_s = { constant = 1 }", "faults.machine_failures[0].time_to_failure.weibull.shape"),
        ("[[outages]]\nlevel = \"rack\"\nat_s = 5\ndomain = 4\nduration_s = { constant = 1 }", "faults.outages[0].domain"),
        ("[[outages]]\nlevel = \"power_domain\"\nat_s = 5\nduration_s = { constant = 1 }", "faults.outages[0].domain"),
        ("[[outages]]\nlevel = \"row\"\nat_s = 5\ndomain = 2\nduration_s = { constant = 1 }", "faults.outages[0].domain"),
        ("[maintenance]\nstart_s = 0\nmax_down = 0\nmax_job_share_pct = 10\nduration_s = { constant = 1 }", "faults.maintenance.max_down"),
        ("[maintenance]\nstart_s = 0\nmax_down = 1\nmax_job_share_pct = 0\nduration_s = { constant = 1 }", "faults.maintenance.max_job_share_pct"),
        ("[[task_crashes]]\nper_task_hour = -1", "faults.task_crashes[0].per_task_hour"),
        ("[reschedule_limit]\ntasks = 0\ninterval_s = 1", "faults.reschedule_limit.tasks"),
        ("[reschedule_limit]\ntasks = 1\ninterval_s = 0", "faults.reschedule_limit.interval_s"),
    ];
    for (text, key) in cases {
        let err = parse(text).validate(&cx(true)).unwrap_err();
        assert_eq!(err.0, key, "{text}: {}", err.1);
    }
}

#[test]
fn recurring_faults_need_a_horizon() {
    let f = parse("[[task_crashes]]\nper_task_hour = 1");
    assert_eq!(
        f.validate(&cx(false)).unwrap_err().0,
        "faults.task_crashes[0]"
    );
    let f = parse("[reschedule_limit]\ntasks = 1\ninterval_s = 1");
    f.validate(&cx(false)).unwrap();
}

const DRAIN: &str =
    "start_s = 0\nmax_down = 1\nmax_job_share_pct = 10\nduration_s = { constant = 1 }\n";

#[test]
fn a_drain_without_a_horizon_is_refused_for_what_it_may_do() {
    // One-off, not recurring: the reason is that it may wait for ever.
    let e = parse(&format!("[maintenance]\n{DRAIN}"))
        .validate(&cx(false))
        .unwrap_err();
    assert_eq!(e.0, "faults.maintenance");
    assert!(e.1.contains("may wait for ever"), "{}", e.1);
    assert!(!e.1.contains("recurs"), "{}", e.1);
}

#[test]
fn an_array_of_drains_is_refused_saying_one_table_is_expected() {
    let e = toml::from_str::<FaultsConfig>(&format!("[[maintenance]]\n{DRAIN}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected one table [faults.maintenance]"), "{e}");
    // Inside the one table, keys are still checked by name.
    let e = toml::from_str::<FaultsConfig>(&format!("[maintenance]\n{DRAIN}bogus = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `bogus`"), "{e}");
    let f: FaultsConfig = toml::from_str(&format!("[maintenance]\n{DRAIN}")).unwrap();
    assert_eq!(f.maintenance.unwrap().max_down, 1);
}
