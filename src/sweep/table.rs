//! `runs.csv`: a row per run, in index order — what the run was (its
//! index, id, status, each parameter's value in a column named by its key
//! path, its seed), then its headline figures from its `summary.json`,
//! then its error if it failed. The figures are a fixed list per command
//! (`FIGURES` for simulations; a compaction's, an inflation's in
//! `sweep::command`; an experiment's with two per variant), so every
//! sweep of a command has the same columns after its parameters, and
//! values are written as the result file has them (as `compare.csv`
//! does).
//!
//! The file is a function of the sweep and its runs' directories only —
//! not of the thread count, the order runs finished in, which shard ran
//! them or whether they were done by an earlier invocation — so a sweep
//! and the merge of its shards write the same bytes. Wall times are not in
//! it (each run's `run.json` has its own).

use super::command::{self, Command};
use super::dir::Outcome;
use super::expand::Run;
use super::resolve::value_texts;
use super::spec::Spec;
use crate::report::html::{at, raw};

/// The headline figures of each row: dotted keys of `summary.json`.
pub const FIGURES: &[&str] = &[
    "jobs_submitted",
    "tasks.submitted",
    "tasks.scheduled",
    "tasks.finished",
    "tasks.running_at_end",
    "tasks.pending_at_end",
    "tasks.never_schedulable",
    "tasks.evicted",
    "evictions.preemption",
    "evictions.machine_down",
    "evictions_per_task_week.prod.per_task_week.machine_failure",
    "evictions_per_task_week.prod.per_task_week.maintenance",
    "evictions_per_task_week.nonprod.per_task_week.preemption",
    "evictions_per_task_week.nonprod.per_task_week.machine_failure",
    "evictions_per_task_week.nonprod.per_task_week.maintenance",
    "evictions_per_task_week.nonprod.per_task_week.other",
    "availability.all_running.time_weighted",
    "availability.all_running.min",
    "availability.n_minus_k_running.min",
    "faults.faults",
    "faults.all.recover_us_p90",
    "faults.task_crashes",
    "faults.reschedule_queue.max_queued",
    "faults.maintenance.finished_s",
    "utilization.cpu.prod",
    "utilization.cpu.nonprod",
    "utilization.cpu.total",
    "utilization.mem.prod",
    "utilization.mem.nonprod",
    "utilization.mem.total",
    "utilization.gpu.prod",
    "utilization.gpu.nonprod",
    "utilization.gpu.total",
    "steady_state.utilization.cpu.total",
    "reclamation.reclaimed_share.cpu",
    "reclamation.reclaimed_share.mem",
    "reclamation.usage_utilization.cpu.total",
    "reclamation.usage_utilization.mem.total",
    "reclamation.throttled_cpu_core_s",
    "reclamation.oom_kills",
    "wait_us.prod.count",
    "wait_us.prod.never_started",
    "wait_us.prod.p50",
    "wait_us.prod.p90",
    "wait_us.prod.p99",
    "wait_us.nonprod.count",
    "wait_us.nonprod.never_started",
    "wait_us.nonprod.p50",
    "wait_us.nonprod.p90",
    "wait_us.nonprod.p99",
    "packing.stranded.cpu_share",
    "packing.stranded.mem_share",
    "packing.holes.units_free",
    "packing.holes.free_share",
    "events_processed",
    "scheduler.feasibility_checks",
    "scheduler.scores_computed",
];

/// A run's status in runs.csv.
pub const OK: &str = "ok";
pub const FAILED: &str = "failed";

/// The figures of `spec`'s command for `rows`, by dotted key of each
/// run's result (`dir::Outcome::Done`): [`FIGURES`] for simulations, the
/// command's list otherwise; an experiment's then `variants.<name>.` and
/// each of [`command::VARIANT_FIGURES`] per variant its runs give, in the
/// order they give them.
pub fn figures(spec: &Spec, rows: &[(&Run, &Outcome)]) -> Vec<String> {
    let fixed = |list: &[&str]| list.iter().map(|f| (*f).to_string()).collect();
    match spec.command {
        Command::Run => fixed(FIGURES),
        Command::Compact { .. } => fixed(command::COMPACT_FIGURES),
        Command::Inflate { .. } => fixed(command::INFLATE_FIGURES),
        Command::Experiment { .. } => {
            let mut out: Vec<String> = fixed(command::EXPERIMENT_FIGURES);
            let done = rows.iter().filter_map(|(_, o)| match o {
                Outcome::Done(v) => Some(v),
                Outcome::Failed(_) => None,
            });
            for name in command::variant_names(done) {
                for f in command::VARIANT_FIGURES {
                    out.push(format!("variants.{name}.{f}"));
                }
            }
            out
        }
    }
}

/// The header: `index`, `id`, `status`, the parameters' keys, `seed`, the
/// `figures`, `error`.
pub fn header(spec: &Spec, figures: &[String]) -> Vec<String> {
    let mut h: Vec<String> = ["index", "id", "status"].map(String::from).into();
    h.extend(spec.parameters.iter().map(|p| p.key.to_string()));
    h.push("seed".into());
    h.extend(figures.iter().cloned());
    h.push("error".into());
    h
}

/// The value at a dotted key of a result, where a key may hold dots of
/// its own in its last part (an experiment's variant `2 sub-cells`
/// holds none, but a name is the results' to choose): the key as one
/// path, else `variants.<name>.<field>` read as those three parts.
pub fn value_at<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    at(v, key).or_else(|| {
        let rest = key.strip_prefix("variants.")?;
        let (name, field) = rest.rsplit_once('.')?;
        v.get("variants")?.get(name)?.get(field)
    })
}

/// An error on one line: a multi-line message (a TOML error shows the line
/// it is about) keeps its first line and its last, which says what is
/// wrong.
pub fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first, .., last] => format!("{first} {last}"),
    }
}

/// runs.csv's bytes for `rows`, in the order given (index order).
pub fn csv_bytes(spec: &Spec, rows: &[(&Run, &Outcome)]) -> Vec<u8> {
    let figures = figures(spec, rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(spec, &figures))
        .expect("writing to memory");
    for (run, outcome) in rows {
        let mut row = vec![run.index.to_string(), run.id.clone()];
        row.push(match outcome {
            Outcome::Done(_) => OK.into(),
            Outcome::Failed(_) => FAILED.into(),
        });
        row.extend(value_texts(spec, run));
        row.push(run.seed.to_string());
        match outcome {
            Outcome::Done(summary) => {
                row.extend(figures.iter().map(|k| raw(value_at(summary, k))));
                row.push(String::new());
            }
            Outcome::Failed(e) => {
                row.extend(figures.iter().map(|_| String::new()));
                row.push(one_line(e));
            }
        }
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::headline::METRICS;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn rows_hold_the_parameters_the_seed_and_the_summary_figures() {
        let spec = Spec::parse(
            "base = \"q\"\nseeds = [4]\n[[parameters]]\nkey = \"scheduler.policy\"\nvalues = [\"best_fit\", \"hybrid\"]\n",
            Path::new("s.toml"),
        )
        .unwrap();
        let runs = super::super::expand::expand(&spec, Path::new("s.toml")).unwrap();
        let done = Outcome::Done(
            json!({"tasks": {"submitted": 12}, "utilization": {"cpu": {"total": 0.25}}, "steady_state": null}),
        );
        let failed = Outcome::Failed(
            "runs/x/scenario.toml: TOML parse error at line 3\n  |\n3 | a = 1\nunknown field `a`"
                .into(),
        );
        let bytes = csv_bytes(&spec, &[(&runs[0], &done), (&runs[1], &failed)]);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0]
            .starts_with("index,id,status,scheduler.policy,seed,jobs_submitted,tasks.submitted,"));
        assert!(lines[0].ends_with(",scheduler.scores_computed,error"));
        let cells = |l: &str| l.split(',').map(String::from).collect::<Vec<_>>();
        let h = cells(lines[0]);
        let ok = cells(lines[1]);
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        assert_eq!(ok[..5], ["0", "best_fit-s4", "ok", "best_fit", "4"]);
        assert_eq!(ok[col("tasks.submitted")], "12");
        assert_eq!(ok[col("utilization.cpu.total")], "0.25");
        assert_eq!(
            ok[col("steady_state.utilization.cpu.total")],
            "",
            "null is empty"
        );
        let bad = cells(lines[2]);
        assert_eq!(bad[2], "failed");
        assert_eq!(bad[col("tasks.submitted")], "");
        assert_eq!(
            bad.last().unwrap(),
            "runs/x/scenario.toml: TOML parse error at line 3 unknown field `a`"
        );
    }

    #[test]
    fn every_figure_is_a_headline_figure_with_a_unit() {
        for f in FIGURES {
            assert!(
                METRICS.iter().any(|m| m.key == *f),
                "{f} is not in report::headline::METRICS"
            );
        }
    }
}
