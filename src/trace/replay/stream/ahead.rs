//! A trace replayed at its times gives the `fgd` policy (and the paper's
//! frag metric) the typical pods of its own first tasks, not of those
//! submitted by the first scheduling pass, which may be one pod (openb's
//! default list has one at time 0 of 8,152).
//!
//! The replay streams its trace, so the tasks ahead are read by a second
//! reader over the same files (and the same workload edit), opened only
//! when the typical pods are asked for and dropped once
//! [`TYPICAL_SAMPLE_TASKS`] distinct tasks are read: a trace of many
//! gigabytes is not read twice in full. Each task counts once, whatever
//! its resubmissions (a SUBMIT of a task already read); machine, schedule,
//! end and usage records are skipped.

use crate::cell::state::CellState;
use crate::error::Result;
use crate::sched::typical::{TypicalPods, TypicalSource};
use crate::sim::feed::TYPICAL_SAMPLE_TASKS;
use crate::trace::{TraceEvent, TraceReader, TraceTask};
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;

/// Opens the second reader, from the first record of the trace.
pub(crate) type Opener = Box<dyn FnOnce() -> Result<Box<dyn TraceReader>> + Send>;

/// The first `limit` distinct tasks `reader` submits, in trace order (all
/// of them if it has fewer).
///
/// # Errors
/// A record cannot be read (as the replay itself would fail on it).
pub(super) fn first_tasks(reader: &mut dyn TraceReader, limit: u64) -> Result<Vec<TraceTask>> {
    let mut seen = FxHashSet::default();
    let mut tasks = Vec::new();
    while (tasks.len() as u64) < limit {
        let Some(rec) = reader.next_record()? else {
            break;
        };
        if let TraceEvent::Submit(t) = rec.event {
            if seen.insert(t.key) {
                tasks.push(*t);
            }
        }
    }
    Ok(tasks)
}

/// The typical pods of the trace `open` reads: its first
/// [`TYPICAL_SAMPLE_TASKS`] tasks, each task's request and constraints.
///
/// # Errors
/// The trace cannot be opened or read.
pub(super) fn typical_pods(open: Opener, st: &mut CellState) -> Result<TypicalPods> {
    let tasks = first_tasks(open()?.as_mut(), TYPICAL_SAMPLE_TASKS)?;
    let mut scratch = BTreeMap::new();
    let specs: Vec<_> = (tasks.iter())
        .map(|t| super::super::job_spec(t, vec![None], st.attr_table_mut(), &mut scratch))
        .collect();
    let shapes = specs.iter().map(|s| (s.request, &s.constraints[..]));
    Ok(TypicalPods::from_tasks(TypicalSource::TraceAhead, shapes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;
    use crate::trace::replay::testing::{task, Records};
    use crate::trace::TraceRecord;

    fn submit(t: TraceTask, secs: u64) -> TraceRecord {
        TraceRecord {
            time: SimTime::from_secs(secs),
            event: TraceEvent::Submit(Box::new(t)),
        }
    }

    #[test]
    fn the_first_distinct_tasks_up_to_the_limit() {
        // Job 1's task 0 at 0 s, resubmitted at 5 s (counted once), then
        // jobs 2..=4's: the limit 3 keeps 1.0, 2.0, 3.0 and reads no more.
        let records = vec![
            submit(task(1, 0, 0, 1000, &[], None), 0),
            submit(task(1, 0, 0, 1000, &[], None), 5),
            submit(task(2, 0, 0, 2000, &[], None), 10),
            submit(task(3, 0, 0, 3000, &[], None), 20),
            submit(task(4, 0, 0, 4000, &[], None), 30),
        ];
        let mut reader = Records::new(records);
        let got = first_tasks(&mut reader, 3).unwrap();
        let cpus: Vec<u64> = got.iter().map(|t| t.request.res.cpu_milli).collect();
        assert_eq!(cpus, [1000, 2000, 3000]);
        // The rest is left unread: the next record is job 4's.
        let next = reader.next_record().unwrap().unwrap();
        assert_eq!(next.time, SimTime::from_secs(30));
        // An empty trace: none.
        let mut reader = Records::new(Vec::new());
        assert!(first_tasks(&mut reader, 3).unwrap().is_empty());
    }
}
