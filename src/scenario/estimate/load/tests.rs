//! Unit tests of the cell's load: slots, the share that waits by priority,
//! a class alone beyond its machines, stuck shares and the drain time, each
//! worked by hand.

use super::*;
use crate::scenario::Scenario;
use std::path::Path;

/// 10 machines of 16,000 milli-cores and 65,536 MiB, 2 more with an SSD,
/// and these job classes (TOML bodies without the header; one task a job
/// unless they say).
fn load_of(preemption: bool, jobs: &[&str]) -> CellLoad {
    let mut text = format!(
        "name = \"t\"\nseed = 1\nduration_s = 10\n[cell]\n[[cell.machines]]\ncount = 10\n\
         cpu_milli = 16000\nmem_mib = 65536\n[[cell.machines]]\ncount = 2\ncpu_milli = 16000\n\
         mem_mib = 65536\nattributes = {{ ssd = \"yes\" }}\n[scheduler]\npolicy = \"best_fit\"\n\
         preemption = {preemption}\n"
    );
    for (i, j) in jobs.iter().enumerate() {
        // One task a job unless the class says.
        let tasks = match j.contains("tasks =") {
            true => "",
            false => "tasks = { constant = 1 }\n",
        };
        text += &format!("[[workload.jobs]]\nname = \"j{i}\"\ninitial_jobs = 1\n{tasks}{j}\n");
    }
    let sc = Scenario::parse(&text, Path::new("t.toml")).unwrap();
    CellLoad::of(&sc.prototypes(), preemption)
}

const BATCH_9000: &str = "band = \"batch\"\ncpu_milli = { constant = 9000 }\n\
                          mem_mib = { constant = 100 }\nduration_s = { constant = 10 }";

#[test]
fn a_task_takes_whole_slots_of_the_machines_that_admit_it() {
    let load = load_of(false, &[BATCH_9000]);
    // 12 machines × 16,000 = 192,000 milli-cores; × 65,536 = 786,432 MiB.
    assert_eq!(load.capacity, [192_000.0, 786_432.0, 0.0]);
    let c = &load.classes[0];
    // ⌊16,000 / 9,000⌋ = 1 slot a machine: a task takes a whole machine's
    // CPU, 192,000 / 12. ⌊65,536 / 100⌋ = 655 slots: 786,432 / (12 × 655)
    // = 100.05 MiB. No GPUs asked: 0.
    assert_eq!(c.take[0], 16_000.0);
    assert!((c.take[1] - 786_432.0 / 7_860.0).abs() < 1e-9);
    assert_eq!(c.take[2], 0.0);
    // The scarcest resource, CPU, holds 1 task a machine: 12 in all.
    assert_eq!((c.holds, c.stuck), (12.0, 0.0));
}

#[test]
fn the_cell_keeps_up_to_its_capacity_and_the_excess_waits() {
    let load = load_of(false, &[BATCH_9000]);
    // 12 tasks of a whole machine's CPU fill the 12 machines: offered 1.0.
    let v = load.verdict(&[12.0]);
    assert_eq!((v.offered[0], v.waiting[0]), (1.0, 0.0));
    assert_eq!(v.overloaded(), None);
    // 48 want to run: offered 4 × the CPU, 12 / 48 run, 3/4 wait.
    let v = load.verdict(&[48.0]);
    assert_eq!((v.offered[0], v.waiting[0]), (4.0, 0.75));
    assert_eq!(v.overloaded(), Some(("CPU", 4.0)));
}

#[test]
fn higher_priorities_and_services_get_the_room_first() {
    let prod = "band = \"production\"\ncpu_milli = { constant = 16000 }\n\
                mem_mib = { constant = 1 }\nduration_s = { constant = 10 }";
    let batch = "band = \"batch\"\ncpu_milli = { constant = 16000 }\nmem_mib = { constant = 1 }\n\
                 duration_s = { constant = 10 }";
    let services = "band = \"best_effort\"\ncpu_milli = { constant = 16000 }\n\
                    mem_mib = { constant = 1 }";
    // Without preemption: prod wants 6 machines and gets them; the
    // best-effort services (4 machines), once placed, keep theirs; batch
    // wants 8 and gets the 12 − 6 − 4 = 2 left: 6/8 of it waits. The
    // services come after both higher priorities: 12 − 6 − 8 < 0, all
    // wait (either way the figure leans high).
    let load = load_of(false, &[prod, batch, services]);
    let v = load.verdict(&[6.0, 8.0, 4.0]);
    assert_eq!(v.waiting, vec![0.0, 0.75, 1.0]);
    // Offered (6 + 8 + 4) / 12 = 1.5 × the CPU.
    assert_eq!(v.offered[0], 1.5);
    // With preemption, batch (110) evicts best effort (below 110): it gets
    // 12 − 6 = 6 of its 8 (1/4 waits), and the services what is left, 0.
    let load = load_of(true, &[prod, batch, services]);
    let v = load.verdict(&[6.0, 8.0, 4.0]);
    assert_eq!(v.waiting, vec![0.0, 0.25, 1.0]);
}

#[test]
fn classes_of_one_priority_share_what_is_left_in_proportion() {
    let a = "band = \"batch\"\ncpu_milli = { constant = 16000 }\nmem_mib = { constant = 1 }\n\
             duration_s = { constant = 10 }";
    // Two classes of one priority want 12 and 12 of 12 machines: each gets
    // 12 / 24 of its tasks run.
    let load = load_of(false, &[a, a]);
    assert_eq!(load.verdict(&[12.0, 12.0]).waiting, vec![0.5, 0.5]);
}

#[test]
fn a_class_or_a_job_alone_beyond_the_machines_that_admit_it_waits() {
    // SSD machines only (2), a whole machine's CPU a task: 2 hold at once,
    // so of 8 that want to run 6/8 wait — though the cell is not full
    // (8 × 16,000 of 192,000 milli-cores: offered 2/3).
    let ssd = |cpu: u64, tasks: u64| {
        format!(
            "band = \"batch\"\ncpu_milli = {{ constant = {cpu} }}\nmem_mib = {{ constant = 1 }}\n\
             duration_s = {{ constant = 10 }}\nmax_per_machine = 1\n\
             constraints = [{{ attr = \"ssd\", op = \"eq\", value = \"yes\" }}]\n\
             tasks = {{ constant = {tasks} }}"
        )
    };
    let load = load_of(false, &[&ssd(16_000, 1)]);
    assert_eq!(load.classes[0].holds, 2.0);
    let v = load.verdict(&[8.0]);
    assert_eq!(v.overloaded(), None);
    assert_eq!(v.waiting, vec![0.75]);
    // Tasks of 1,000: 16 a machine, 32 on both, but a job's tasks at most
    // 1 a machine (max_per_machine): a job of 4 tasks holds 2 of them at
    // once, so half of every job waits, however few jobs want to run.
    let c = &load_of(false, &[&ssd(1000, 4)]).classes[0];
    assert_eq!((c.holds, c.job_holds, c.per_job), (32.0, 2.0, 4.0));
    let load = load_of(false, &[&ssd(1000, 4)]);
    assert_eq!(load.verdict(&[4.0]).waiting, vec![0.5]);
}

#[test]
fn jobs_no_machine_class_can_host_are_stuck() {
    let sized = |cpu: &str| {
        format!(
            "band = \"batch\"\ncpu_milli = {cpu}\nmem_mib = {{ constant = 1 }}\n\
             duration_s = {{ constant = 10 }}"
        )
    };
    let load = load_of(
        false,
        &[
            &sized("{ constant = 64000 }"),
            // Uniform on [1, 32,000]: a draw rounds above 16,000 from
            // 16,000.5, so (32,000 − 16,000.5) / 31,999 = 0.499 98 of jobs.
            &sized("{ uniform = { min = 1, max = 32000 } }"),
            &sized("{ constant = 16000 }"),
        ],
    );
    assert_eq!(load.classes[0].stuck, 1.0);
    assert!((load.classes[1].stuck - 15_999.5 / 31_999.0).abs() < 1e-12);
    assert_eq!(load.classes[2].stuck, 0.0);
}

#[test]
fn the_drain_time_is_the_work_over_the_room_services_leave() {
    let load = load_of(false, &[BATCH_9000]);
    // 1,200 task-seconds of a whole machine each on 12 machines: 100 s.
    assert_eq!(load.drain_s(&[1200.0], &[0.0]), Some(100.0));
    // Services holding 6 machines leave 6: 200 s; holding 12, never.
    assert_eq!(load.drain_s(&[1200.0], &[6.0]), Some(200.0));
    assert_eq!(load.drain_s(&[1200.0], &[12.0]), None);
    assert_eq!(load.drain_s(&[0.0], &[12.0]), Some(0.0));
}
