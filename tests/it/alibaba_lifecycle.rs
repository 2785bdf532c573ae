//! Alibaba 2018 state changes reach the simulation: containers seen
//! stopped in the container_meta snapshots free their resources then,
//! containers a machine's status change evicted are placed again where the
//! trace has them, and a failed instance is over — in both replay modes,
//! through the real binary, from `summary.json`.

use super::{borgsim, root, text};
use serde_json::Value;
use std::path::Path;

/// Runs `scenario` in a copy of fixture folder `case` (as the case's
/// command does: `borgsim run <scenario> --out out --no-plots`) and returns
/// its summary.json.
fn run_case(case: &str, scenario: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("tests/fixtures").join(case);
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let o = borgsim(
        dir.path(),
        &["run", scenario, "--out", "out", "--no-plots", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    summary(&dir.path().join("out/summary.json"))
}

fn summary(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap() - want).abs() < 1e-6
}

#[test]
fn a_container_seen_stopped_frees_its_resources_then_in_both_modes() {
    // One machine, 96 cores and 262,144 MiB, for 300 s. c_101 and c_102
    // ask 4 cores (cpu_request 400) and 10.00 of memory (10 × 262144 / 100
    // = 26214.4 → 26214 MiB); c_101 stops at 100 s, c_102 runs throughout.
    //   cpu: 4 × (100 + 300) / (96 × 300) = 1600 / 28800 = 5.56 %
    //   mem: 26214 × 400 / (262144 × 300) = 13.3331 %
    // Re-scheduled, borgsim places both at 0 s on the only machine and
    // ends c_101 after the trace's run (100 − 0 s): the same numbers.
    for scenario in ["scenario.toml", "scenario-reschedule.toml"] {
        let s = run_case("alibaba-container-stops", scenario);
        let u = &s["utilization"];
        assert!(
            close(&u["cpu"]["total"], 1600.0 / 28800.0),
            "{scenario}: {u}"
        );
        assert!(
            close(&u["mem"]["total"], 26214.0 * 400.0 / (262144.0 * 300.0)),
            "{scenario}: {u}"
        );
        let t = &s["tasks"];
        assert_eq!(t["submitted"], 2, "{scenario}");
        assert_eq!(t["finished"], 1, "{scenario}: c_101");
        assert_eq!(t["running_at_end"], 1, "{scenario}: c_102");
        // The second stopped row of c_101 changes nothing, counted.
        let rep = &s["trace"]["trace_rows_repaired"];
        assert_eq!(rep["container_meta.stopped_not_live"], 1, "{scenario}");
    }
}

#[test]
fn a_container_evicted_when_its_machine_left_service_is_placed_again() {
    // Two machines (2 × 96 cores × 300 s = 57,600 core-s). m_1 is out of
    // service from 100 s to 150 s; c_1 (4 cores, memory 25 → 65,536 MiB)
    // runs on m_1 in the snapshots at 0, 100 and 200 s.
    // Trace placement: on m_1 0–100 s, evicted with the machine, placed
    // there again by the snapshot at 200 s: 4 × 200 = 800 core-s = 1.39 %.
    let s = run_case("alibaba-machine-returns", "scenario.toml");
    assert!(
        close(&s["utilization"]["cpu"]["total"], 800.0 / 57600.0),
        "{s}"
    );
    assert_eq!(s["tasks"]["placements"], 2);
    assert_eq!(s["evictions"]["machine_down"], 1);
    assert_eq!(
        s["trace"]["trace_rows_repaired"]["container_meta.placed_again"],
        1
    );
    // Re-scheduled, borgsim moves it to m_2 as soon as m_1 leaves (the
    // scheduler, not the trace, places): 4 × 300 = 1200 core-s = 2.08 %;
    // the snapshot's placement changes nothing then.
    let s = run_case("alibaba-machine-returns", "scenario-reschedule.toml");
    assert!(
        close(&s["utilization"]["cpu"]["total"], 1200.0 / 57600.0),
        "{s}"
    );
    assert_eq!(s["tasks"]["placements"], 2);
    assert_eq!(s["tasks"]["pending_at_end"], 0);
}

#[test]
fn a_failed_instance_is_over_not_pending_in_both_modes() {
    // Two instances of M1 (4 cores each) on m_1 from 100 s: i_1 terminates
    // at 200 s, i_2 fails at 150 s. cpu: 4 × (100 + 50) / (96 × 300) =
    // 600 / 28800 = 2.08 %. Nothing is left pending: the failed run is
    // over, and killed in either mode.
    for (scenario, killed) in [("scenario.toml", 1), ("scenario-reschedule.toml", 1)] {
        let s = run_case("alibaba-instance-failed", scenario);
        assert!(
            close(&s["utilization"]["cpu"]["total"], 600.0 / 28800.0),
            "{scenario}: {s}"
        );
        let t = &s["tasks"];
        assert_eq!(t["submitted"], 2, "{scenario}");
        assert_eq!(t["pending_at_end"], 0, "{scenario}");
        assert_eq!(t["running_at_end"], 0, "{scenario}");
        assert_eq!(t["evicted"], 0, "{scenario}");
        assert_eq!(t["killed"], killed, "{scenario}");
    }
}

mod random_snapshots {
    use super::*;
    use borgsim::scenario::Scenario;
    use proptest::prelude::*;

    fn machine_row() -> impl Strategy<Value = String> {
        (
            1..4u32,
            0..5u64,
            prop::sample::select(vec!["USING", "IMPORT_INSTALLING", "OFFLINE"]),
            prop::sample::select(vec![32u32, 96]),
        )
            .prop_map(|(m, t, st, cpu)| format!("m_{m},{},1,1,{cpu},100,{st}", t * 50))
    }

    fn container_row() -> impl Strategy<Value = String> {
        (
            (1..6u32, 1..5u32, 0..6u64, 1..3u32),
            prop::sample::select(vec!["started", "allocated", "stopped", "unknown"]),
            prop::sample::select(vec![400u32, 4000, 9600]),
            prop::sample::select(vec!["10", "50"]),
        )
            .prop_map(|((c, m, t, app), st, cpu, mem)| {
                format!("c_{c},m_{m},{},app_{app},{st},{cpu},{cpu},{mem}", t * 50)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any snapshots — restarts, moves, machines leaving and returning,
        /// containers on machines the table does not list — replay in both
        /// modes with every invariant checked after every event.
        #[test]
        fn replays_of_random_snapshots_keep_every_invariant(
            machines in prop::collection::vec(machine_row(), 1..10),
            containers in prop::collection::vec(container_row(), 0..25),
            placement in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("machine_meta.csv"), machines.join("\n")).unwrap();
            std::fs::write(dir.path().join("container_meta.csv"), containers.join("\n")).unwrap();
            let mode = if placement { "trace_placement" } else { "reschedule" };
            let text = format!(
                "name = \"snapshots\"\nseed = 1\n[scheduler]\npolicy = \"best_fit\"\n[trace]\n\
                 format = \"alibaba2018\"\nfiles = [\"machine_meta.csv\", \"container_meta.csv\"]\nmode = \"{mode}\"\n"
            );
            let mut sc = Scenario::parse(&text, Path::new("s.toml")).unwrap();
            sc.base = borgsim::scenario::Base::Dir(dir.path().to_path_buf());
            let mut sim = borgsim::build_simulation(&sc, true).unwrap();
            sim.run(&mut |_| {}).unwrap();
            borgsim::cell::invariants::check(sim.state()).unwrap();
        }
    }
}
