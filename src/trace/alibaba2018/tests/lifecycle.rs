//! Snapshot rows → lifecycle events (container_meta, machine_meta), and
//! the status rules of batch_task and batch_instance.

use super::*;
use std::path::PathBuf;

/// The records and stats of these tables, written under their names.
fn read_tables(tables: &[(&str, &str)]) -> (Vec<String>, ReadStats) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = tables
        .iter()
        .map(|(name, text)| write(dir.path(), name, text))
        .collect();
    let (recs, stats) = read_all(&files, &ReadOptions::default()).unwrap();
    assert!(recs.windows(2).all(|w| w[0].time <= w[1].time));
    (recs.iter().map(show).collect(), stats)
}

fn repaired(stats: &ReadStats) -> Vec<(&str, u64)> {
    stats
        .repaired
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

const M1: &str = "m_1,0,1,1,96,100,USING\n";

#[test]
fn a_container_seen_stopped_ends_then_and_repeated_stops_change_nothing() {
    // The field case: c_101 stopped from 100 s, c_102 alive throughout.
    let (got, stats) = read_tables(&[
        ("machine_meta.csv", M1),
        (
            "container_meta.csv",
            "c_101,m_1,0,app_42,started,400,400,12.5\n\
             c_102,m_1,0,app_42,started,400,400,12.5\n\
             c_101,m_1,100,app_42,stopped,400,400,12.5\n\
             c_101,m_1,200,app_42,stopped,400,400,12.5\n\
             c_102,m_1,200,app_42,started,400,400,12.5\n",
        ),
    ]);
    // cpu_request 400 → 4000 m; mem 12.5 → 12.5 × 262144 / 100 = 32768 MiB.
    assert_eq!(
        got,
        [
            "0 add m_1 96000/262144 rack=1 power=1",
            "0 submit app42/0/101 p120 4000/32768 None after []",
            "0 schedule app42/101 on m1",
            "0 submit app42/0/102 p120 4000/32768 None after []",
            "0 schedule app42/102 on m1",
            "100 Finish app42/101",
            // 200 s: c_101 stopped again, c_102 unchanged: nothing.
        ]
    );
    assert_eq!(repaired(&stats), [("container_meta.stopped_not_live", 1)]);
}

#[test]
fn a_container_started_again_after_stopping_is_a_new_run() {
    // Rows out of time order in the file: they are sorted first.
    let (got, stats) = read_tables(&[
        ("machine_meta.csv", M1),
        (
            "container_meta.csv",
            "c_7,m_1,200,app_3,started,100,100,25\n\
             c_7,m_1,0,app_3,allocated,100,100,25\n\
             c_7,m_1,50,app_3,started,100,100,25\n\
             c_7,m_1,100,app_3,stopped,100,100,25\n\
             c_7,m_1,150,app_3,stopped,100,100,25\n\
             c_7,m_1,300,app_3,started,100,100,25\n",
        ),
    ]);
    // 100 → 1000 m; 25 → 65536 MiB. allocated → started (50 s) is alive
    // to alive: nothing. The run of 200 s is still alive at 300 s.
    assert_eq!(
        got,
        [
            "0 add m_1 96000/262144 rack=1 power=1",
            "0 submit app3/0/7 p120 1000/65536 None after []",
            "0 schedule app3/7 on m1",
            "100 Finish app3/7",
            "200 submit app3/0/7 p120 1000/65536 None after []",
            "200 schedule app3/7 on m1",
        ]
    );
    assert_eq!(repaired(&stats), [("container_meta.stopped_not_live", 1)]);
}

#[test]
fn a_change_of_request_machine_or_app_ends_the_run_and_starts_another() {
    let (got, stats) = read_tables(&[
        (
            "machine_meta.csv",
            "m_1,0,1,1,96,100,USING\nm_2,0,1,1,96,100,USING\n",
        ),
        (
            "container_meta.csv",
            "c_1,m_1,0,app_1,started,400,400,25\n\
             c_1,m_1,100,app_1,started,800,800,25\n\
             c_1,m_2,200,app_1,started,800,800,25\n\
             c_1,m_2,300,app_2,started,800,800,12.5\n\
             c_1,m_2,400,app_2,started,800,1600,12.5\n",
        ),
    ]);
    assert_eq!(
        got,
        [
            "0 add m_1 96000/262144 rack=1 power=1",
            "0 add m_2 96000/262144 rack=1 power=1",
            "0 submit app1/0/1 p120 4000/65536 None after []",
            "0 schedule app1/1 on m1",
            // 100 s: cpu_request 400 → 800 (8000 m).
            "100 Finish app1/1",
            "100 submit app1/0/1 p120 8000/65536 None after []",
            "100 schedule app1/1 on m1",
            // 200 s: m_1 → m_2.
            "200 Finish app1/1",
            "200 submit app1/0/1 p120 8000/65536 None after []",
            "200 schedule app1/1 on m2",
            // 300 s: another deployment unit and memory 25 → 12.5 (32768).
            "300 Finish app1/1",
            "300 submit app2/0/1 p120 8000/32768 None after []",
            "300 schedule app2/1 on m2",
            // 400 s: only cpu_limit changed, which is not used: nothing.
        ]
    );
    assert_eq!(
        repaired(&stats),
        [
            ("container_meta.app_du_changed", 1),
            ("container_meta.moved", 1),
            ("container_meta.resized", 2),
        ]
    );
}

#[test]
fn at_one_instant_ends_come_before_starts() {
    // c_2's start is first in the file, c_1's stop second: c_1's End is
    // handed out first, so c_2 can use what it frees. c_3 starts and stops
    // in the same instant: its End follows its own start.
    let (got, stats) = read_tables(&[
        ("machine_meta.csv", M1),
        (
            "container_meta.csv",
            "c_1,m_1,0,app_1,started,100,100,25\n\
             c_2,m_1,100,app_1,started,100,100,25\n\
             c_1,m_1,100,app_1,stopped,100,100,25\n\
             c_3,m_1,100,app_1,started,100,100,25\n\
             c_3,m_1,100,app_1,stopped,100,100,25\n",
        ),
    ]);
    assert_eq!(
        &got[3..],
        [
            "100 Finish app1/1",
            "100 submit app1/0/2 p120 1000/65536 None after []",
            "100 schedule app1/2 on m1",
            "100 submit app1/0/3 p120 1000/65536 None after []",
            "100 schedule app1/3 on m1",
            "100 Finish app1/3",
        ]
    );
    assert!(stats.repaired.is_empty());
}

#[test]
fn any_status_but_alive_ones_ends_a_container_and_an_empty_one_is_an_error() {
    let (got, stats) = read_tables(&[
        ("machine_meta.csv", M1),
        (
            "container_meta.csv",
            "c_1,m_1,0,app_1,started,100,100,25\nc_1,m_1,60,app_1,unknown,100,100,25\n",
        ),
    ]);
    assert_eq!(got.last().unwrap(), "60 Finish app1/1");
    assert_eq!(
        repaired(&stats),
        [("container_meta.status_unrecognised", 1)]
    );

    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "container_meta.csv",
        "c_1,m_1,0,app_1,started,100,100,25\nc_1,m_1,60,app_1,,100,100,25\n",
    );
    let err = read_all(std::slice::from_ref(&p), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("container_meta.csv:2: status"), "{err}");
    // Lenient: the row is skipped and counted; the container runs on.
    let opts = ReadOptions {
        lenient: true,
        ..ReadOptions::default()
    };
    let (recs, stats) = read_all(&[p], &opts).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(stats.skipped["container_meta.status"], 1);
}

#[test]
fn a_container_evicted_by_its_machine_is_placed_again_when_the_trace_has_it_there() {
    // m_1 leaves service at 100 s and returns at 150 s: the replay evicts
    // c_1 at 100 s; its row at 100 s (machine out of service) places
    // nothing, its row at 200 s (back in service) places it again. m_2
    // shrinks at 100 s (96 → 64 cores), which may evict c_2: placed again
    // at its next row. Growing (300 s) evicts nothing: nothing at 400 s.
    let (got, stats) = read_tables(&[
        (
            "machine_meta.csv",
            "m_1,0,1,1,96,100,USING\n\
             m_1,100,1,1,96,100,IMPORT_INSTALLING\n\
             m_1,150,1,1,96,100,USING\n\
             m_2,0,1,1,96,100,USING\n\
             m_2,100,1,1,64,100,USING\n\
             m_2,300,1,1,96,100,USING\n",
        ),
        (
            "container_meta.csv",
            "c_1,m_1,0,app_1,started,100,100,25\n\
             c_1,m_1,100,app_1,started,100,100,25\n\
             c_1,m_1,200,app_1,started,100,100,25\n\
             c_1,m_1,300,app_1,started,100,100,25\n\
             c_2,m_2,0,app_1,started,100,100,25\n\
             c_2,m_2,200,app_1,started,100,100,25\n\
             c_2,m_2,400,app_1,started,100,100,25\n",
        ),
    ]);
    assert_eq!(
        &got[6..],
        [
            "100 remove m1",
            "100 update m_2 64000/262144 rack=1 power=1",
            "150 add m_1 96000/262144 rack=1 power=1",
            "200 schedule app1/1 on m1",
            "200 schedule app1/2 on m2",
            "300 update m_2 96000/262144 rack=1 power=1",
        ]
    );
    assert_eq!(repaired(&stats), [("container_meta.placed_again", 2)]);
}

#[test]
fn machine_status_snapshots_become_machine_events() {
    let (got, stats) = read_tables(&[(
        "machine_meta.csv",
        "m_1,0,1,1,96,100,USING\n\
         m_1,10,1,1,96,100,OFFLINE\n\
         m_1,20,1,1,96,100,OFFLINE\n\
         m_1,30,1,1,96,100,USING\n\
         m_2,0,1,1,96,100,IMPORT_INSTALLING\n\
         m_2,30,1,1,96,100,USING\n",
    )]);
    assert_eq!(
        got,
        [
            "0 add m_1 96000/262144 rack=1 power=1",
            "0 add m_2 96000/262144 rack=1 power=1",
            "0 remove m2",
            "10 remove m1",
            "30 add m_1 96000/262144 rack=1 power=1",
            "30 add m_2 96000/262144 rack=1 power=1",
        ]
    );
    // OFFLINE is neither USING nor IMPORT_INSTALLING: out of service, counted.
    assert_eq!(repaired(&stats), [("machine_meta.status_unrecognised", 2)]);
}

#[test]
fn batch_task_status_decides_what_is_submitted_and_for_how_long() {
    let (got, stats) = read_tables(&[(
        "batch_task.csv",
        "M1,1,j_1,1,Terminated,10,70,100,1\n\
         M2,1,j_1,1,Failed,10,40,100,1\n\
         M3,1,j_1,1,Cancelled,10,20,100,1\n\
         M4,1,j_1,1,Interrupted,10,30,100,1\n\
         M5,1,j_1,1,Running,10,90,100,1\n\
         M6,2,j_1,1,Waiting,10,0,100,1\n\
         M7,1,j_1,1,Ready,10,0,100,1\n\
         M8,1,j_1,1,Paused,10,50,100,1\n",
    )]);
    // plan_mem 1 → 2621.44 → 2621 MiB. Ended statuses run end − start:
    // 60, 30, 10, 20 s; Running has no end though it gives one; Waiting
    // and Ready submit nothing; Paused is read as Terminated: 40 s.
    assert_eq!(
        got,
        [
            "10 submit j1/1/0 p100 1000/2621 Some(60) after []",
            "10 submit j1/2/0 p100 1000/2621 Some(30) after []",
            "10 submit j1/3/0 p100 1000/2621 Some(10) after []",
            "10 submit j1/4/0 p100 1000/2621 Some(20) after []",
            "10 submit j1/5/0 p100 1000/2621 None after []",
            "10 submit j1/8/0 p100 1000/2621 Some(40) after []",
        ]
    );
    assert_eq!(
        repaired(&stats),
        [
            ("batch_task.no_end_time", 1),
            ("batch_task.not_started", 2),
            ("batch_task.status_cancelled", 1),
            ("batch_task.status_failed", 1),
            ("batch_task.status_interrupted", 1),
            ("batch_task.status_unrecognised", 1),
        ]
    );
}

#[test]
fn batch_instance_status_decides_how_each_run_ends() {
    let (got, stats) = read_tables(&[
        ("machine_meta.csv", M1),
        (
            "batch_task.csv",
            "M1,2,j_1,1,Terminated,10,90,100,1\nM1,9,j_1,1,Terminated,10,90,100,1\n",
        ),
        (
            "batch_instance.csv",
            "i1,M1,j_1,1,Cancelled,10,20,m_1,1,1\n\
             i2,M1,j_1,1,Running,10,50,m_1\n\
             i3,M1,j_1,1,Waiting,10,0,m_1,1,1,0,0,0,0\n\
             i4,M1,j_1,1,Paused,10,30,m_1,1,1,0,0,0,0\n",
        ),
    ]);
    // Trailing columns after machine_id may be absent (i1, i2). The second
    // M1 row of batch_task is a duplicate: instance_num stays 2, and the
    // three runs of M1 (i1, i2, i4; i3 never started) are one beyond it.
    assert_eq!(
        &got[1..],
        [
            "10 submit j1/1/0 p100 1000/2621 Some(10) then Kill after []",
            "10 schedule j1/0 on m1",
            "10 submit j1/1/1 p100 1000/2621 None after []",
            "10 schedule j1/1 on m1",
            "10 submit j1/1/2 p100 1000/2621 Some(20) then Kill after []",
            "10 schedule j1/2 on m1",
            // i4's cpu_avg and mem_avg (0, 0): its usage from its start.
            "10 usage j1/1/2 0/0",
        ]
    );
    // i1 and i2 lack the usage columns.
    assert_eq!(
        repaired(&stats),
        [
            ("batch_instance.instances_beyond_instance_num", 1),
            ("batch_instance.no_end_time", 1),
            ("batch_instance.not_started", 1),
            ("batch_instance.status_unrecognised", 1),
            ("batch_instance.usage_missing", 2),
            ("batch_task.duplicate_task", 1),
        ]
    );
}

#[test]
fn ends_of_every_table_come_before_starts_of_the_same_instant() {
    // At 10 s: a container stops (container_meta) and an instance starts
    // (batch_instance); the End is handed out first. (An instance's own
    // end is known at its submission, so it sends no End record.)
    let (got, _) = read_tables(&[
        ("machine_meta.csv", M1),
        ("batch_task.csv", "M1,1,j_1,1,Terminated,10,50,100,1\n"),
        ("batch_instance.csv", "i1,M1,j_1,1,Terminated,10,50,m_1\n"),
        (
            "container_meta.csv",
            "c_1,m_1,50,app_1,started,100,100,25\nc_2,m_1,0,app_1,started,100,100,25\nc_2,m_1,10,app_1,stopped,100,100,25\n",
        ),
    ]);
    assert_eq!(
        &got[1..],
        [
            "0 submit app1/0/2 p120 1000/65536 None after []",
            "0 schedule app1/2 on m1",
            // 10 s: the container's End before the instance's start.
            "10 Finish app1/2",
            "10 submit j1/1/0 p100 1000/2621 Some(40) then Finish after []",
            "10 schedule j1/0 on m1",
            "50 submit app1/0/1 p120 1000/65536 None after []",
            "50 schedule app1/1 on m1",
        ]
    );
}

#[test]
fn rows_that_submit_nothing_do_not_hold_later_rows_back() {
    // A Waiting task with start_time 0 (and one with no instances) after
    // a start at 50 s submits nothing, so it is not "a time that went
    // back": the row at 60 s is not held.
    let (got, stats) = read_tables(&[(
        "batch_task.csv",
        "M1,1,j_1,1,Terminated,50,70,100,1\n\
         M2,1,j_1,1,Waiting,0,0,100,1\n\
         M3,0,j_1,1,Terminated,0,10,100,1\n\
         M4,1,j_1,1,Terminated,60,70,100,1\n",
    )]);
    assert_eq!(
        got,
        [
            "50 submit j1/1/0 p100 1000/2621 Some(20) after []",
            "60 submit j1/4/0 p100 1000/2621 Some(10) after []",
        ]
    );
    assert_eq!(
        repaired(&stats),
        [
            ("batch_task.no_instances", 1),
            ("batch_task.not_started", 1)
        ]
    );
}
