//! Usage: batch_instance's averages and container_usage's samples as
//! usage records, in units of the tables' own requests, merged last at
//! their instant; rows dropped and counted, bad rows named by field.

use super::*;
use crate::time::SimTime;

fn usage_lines(recs: &[TraceRecord]) -> Vec<String> {
    recs.iter()
        .filter(|r| matches!(r.event, TraceEvent::Usage { .. }))
        .map(show)
        .collect()
}

fn all_tables() -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/traces/alibaba2018");
    [
        "machine_meta.csv",
        "container_meta.csv",
        "batch_task.csv",
        "batch_instance.csv",
        "container_usage.csv",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect()
}

#[test]
fn the_fixtures_usage_in_the_units_of_its_requests() {
    let (recs, stats) = read_all(&all_tables(), &ReadOptions::default()).unwrap();
    assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
    // batch_instance (against 256 GiB = 262,144 MiB): cpu_avg 30 → 300 m
    //   (100 = 1 core, × 10), mem_avg 0.2 → 0.2 × 2621.44 = 524.288 → 524;
    //   80 → 800 m, 0.4 → 1048.576 → 1049; 50 → 500 m, 0.3 → 786.432 → 786;
    //   20 → 200 m, 0.1 → 262.144 → 262. (j_404's row is skipped.)
    // container_usage, percent of the container's own request: c_1 and
    //   c_2 ask for 4000 m and 8205 MiB, c_3 for 8000 m and 16384 MiB:
    //   c_1 50 % → 2000 m, 80 % × 8205 = 6564 MiB;
    //   c_2 120 % → 4800 m (above its request), 90 % × 8205 = 7384.5 → 7385;
    //   c_3 25 % → 2000 m, 50 % → 8192 MiB.
    // At 300 s the instance's usage comes before the container's (batch
    // work before container_usage at an equal key).
    let want = [
        "10 usage app5/0/1 2000/6564",
        "100 usage j1/1/0 300/524",
        "100 usage j1/1/1 300/524",
        "100 usage j1/2/0 800/1049",
        "220 usage j1/3/0 500/786",
        "300 usage j1/4/0 200/262",
        "300 usage app5/0/2 4800/7385",
        "2711 usage app7/0/3 2000/8192",
    ];
    assert_eq!(usage_lines(&recs), want);
    // c_3 at 100 s (it starts at 2711 s) and c_9 (never in
    // container_meta) have no run; the row at 3600 s has no percentages.
    assert_eq!(stats.repaired["container_usage.container_not_live"], 2);
    assert_eq!(stats.repaired["container_usage.usage_missing"], 1);
    assert!(!stats.repaired.contains_key("batch_instance.usage_missing"));
    // An instance's records come together: Submit, Schedule, Usage; and a
    // container's usage at its start comes after its Schedule.
    let at = |t: u64| -> Vec<String> {
        recs.iter()
            .filter(|r| r.time == SimTime::from_secs(t))
            .map(|r| show(r).split(' ').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(
        at(2711),
        ["add", "submit", "schedule", "usage"],
        "m_1021 is added, then c_3 starts on it and its sample follows"
    );
    assert_eq!(
        &at(100)[..3],
        ["submit", "schedule", "usage"],
        "{:?}",
        at(100)
    );
}

#[test]
fn usage_is_left_unread_when_not_selected() {
    let opts = ReadOptions {
        select: Select::WithoutUsage,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&all_tables(), &opts).unwrap();
    assert!(usage_lines(&recs).is_empty());
    assert!(!stats.repaired.keys().any(|k| k.contains("usage")));
    let text = |n: &str| {
        std::fs::read_to_string(root().join("tests/fixtures/traces/alibaba2018").join(n)).unwrap()
    };
    let rows: u64 = [
        "machine_meta.csv",
        "container_meta.csv",
        "batch_task.csv",
        "batch_instance.csv",
    ]
    .iter()
    .map(|n| text(n).lines().count() as u64)
    .sum();
    assert_eq!(stats.rows, rows, "container_usage is not read");
}

#[test]
fn a_containers_usage_is_relative_to_its_current_run() {
    let dir = tempfile::tempdir().unwrap();
    // c_1 asks for 4 cores and 1.5625 % of the memory (4096 MiB), then is
    // resized to 8 cores at 100 s: a new run.
    let files = [
        write(dir.path(), "machine_meta.csv", "m_1,0,1,1,96,100,USING\n"),
        write(
            dir.path(),
            "container_meta.csv",
            "c_1,m_1,0,app_5,started,400,400,1.5625\nc_1,m_1,100,app_5,started,800,800,1.5625\n",
        ),
        write(
            dir.path(),
            "container_usage.csv",
            "c_1,m_1,50,50,25\nc_1,m_1,100,50,25\nc_1,m_1,150.5,50,25\n",
        ),
    ];
    let (recs, _) = read_all(&files, &ReadOptions::default()).unwrap();
    // 50 % of 4000 m = 2000 m, then of 8000 m = 4000 m (the resize at 100 s
    // comes before the sample at 100 s); 25 % of 4096 MiB = 1024 MiB. The
    // time stamp 150.5 s is 150,500,000 µs exactly.
    let got: Vec<(u64, u64)> = recs
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::Usage { usage, .. } => Some((r.time.as_us(), usage.cpu_milli)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [(50_000_000, 2000), (100_000_000, 4000), (150_500_000, 4000)]
    );
    assert!(recs.iter().all(|r| match r.event {
        TraceEvent::Usage { usage, .. } => usage.mem_mib == 1024,
        _ => true,
    }));
}

#[test]
fn bad_usage_rows_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write(dir.path(), "machine_meta.csv", "m_1,0,1,1,96,100,USING\n");
    let cases = [
        (
            "container_usage.csv",
            "c_1,m_1,-5,10,10\n",
            "container_usage.csv:1: time_stamp: expected a decimal",
        ),
        (
            "container_usage.csv",
            "c_1,m_1,5,ten,10\n",
            "container_usage.csv:1: cpu_util_percent: expected a decimal",
        ),
        (
            "container_usage.csv",
            "c_1,m_1,5\n",
            "container_usage.csv:1: -: expected 5 fields",
        ),
    ];
    for (name, text, want) in cases {
        let f = write(dir.path(), name, text);
        let err = read_all(&[meta.clone(), f], &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
    // batch_instance: mem_avg on the 0–100 scale; a row without the
    // trailing usage columns has no usage (counted).
    let task = write(
        dir.path(),
        "batch_task.csv",
        "M1,2,j_1,1,Terminated,100,160,50,0.39\n",
    );
    let inst = write(
        dir.path(),
        "batch_instance.csv",
        "i_1,M1,j_1,1,Terminated,100,150,m_1,1,1,30,40,101,0.3\n",
    );
    let err = read_all(&[task.clone(), inst], &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("batch_instance.csv:1: mem_avg: expected 0–100"),
        "{err}"
    );
    let inst = write(
        dir.path(),
        "batch_instance.csv",
        "i_1,M1,j_1,1,Terminated,100,150,m_1\ni_2,M1,j_1,1,Terminated,100,150,m_1,1,1,,,,\n",
    );
    let (recs, stats) = read_all(&[task, inst], &ReadOptions::default()).unwrap();
    assert!(usage_lines(&recs).is_empty());
    assert_eq!(stats.repaired["batch_instance.usage_missing"], 2);
}
