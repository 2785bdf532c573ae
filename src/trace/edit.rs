//! Workload edits on a trace: the capacity experiments' parts of a
//! workload (prod or non-prod only, one of k sub-cells) and rounded or
//! grown requests, applied to the records a trace reader yields, so a
//! replay of the edited trace is exactly the replay of the tasks kept.
//!
//! The same [`WorkloadEdit`] as a synthetic workload's
//! (`workload::edit`), read for a trace:
//! - a task is kept or left out at its submission: by the band of its
//!   priority (as the reader maps the trace's own: openb's LS and
//!   Guaranteed pods are prod), or for a sub-cell by a seeded draw of its
//!   trace **job**'s key (every task of a job in one part);
//! - the records that follow a task left out (the trace's own placement,
//!   its usage, its end) are left out with it, and it is forgotten at its
//!   end, so memory follows the tasks live in the trace;
//! - requests are rounded up or grown at submission; usage is the trace's,
//!   unedited (a grown request leaves it as measured).
//!
//! Adding tasks (horizontal inflation) draws new tasks, which a trace does
//! not have: refused before the replay is built.

use super::{TaskKey, TraceEvent, TraceReader, TraceRecord};
use crate::error::Result;
use crate::rng::RngStreams;
use crate::workload::edit::{Keep, WorkloadEdit};
use crate::workload::Band;
use rustc_hash::FxHashSet;

/// A trace reader edited by a [`WorkloadEdit`] (which adds no tasks).
pub struct EditedReader {
    inner: Box<dyn TraceReader>,
    edit: WorkloadEdit,
    streams: RngStreams,
    /// Tasks left out at their submission and not yet ended.
    left_out: FxHashSet<TaskKey>,
}

impl EditedReader {
    /// `inner` edited by `edit`, its draws from `root_seed`'s streams.
    pub fn new(inner: Box<dyn TraceReader>, edit: WorkloadEdit, root_seed: u64) -> Self {
        debug_assert_eq!(edit.more_tasks_permille, 0, "refused before the replay");
        EditedReader {
            inner,
            edit,
            streams: RngStreams::new(root_seed),
            left_out: FxHashSet::default(),
        }
    }

    fn keeps(&self, key: &TaskKey, band: Band) -> bool {
        match self.edit.keep {
            Keep::Part { .. } => self.edit.keeps_job(key.job, band, &self.streams),
            _ => self.edit.keeps_job(0, band, &self.streams),
        }
    }
}

impl TraceReader for EditedReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        loop {
            let Some(mut rec) = self.inner.next_record()? else {
                return Ok(None);
            };
            match &mut rec.event {
                TraceEvent::Submit(t) => {
                    if !self.keeps(&t.key, Band::of(t.priority)) {
                        self.left_out.insert(t.key);
                        continue;
                    }
                    // A task submitted again after it was left out (a
                    // resubmission) is judged again, the same way.
                    t.request = self.edit.request(t.request);
                }
                TraceEvent::Schedule { task, .. } | TraceEvent::Usage { task, .. }
                    if self.left_out.contains(task) =>
                {
                    continue
                }
                TraceEvent::End { task, .. } if self.left_out.remove(task) => continue,
                _ => {}
            }
            return Ok(Some(rec));
        }
    }

    fn stats(&self) -> &super::ReadStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;
    use crate::trace::replay::testing::{task, Records};
    use crate::trace::EndKind;
    use crate::workload::edit::RoundUp;

    /// Job 1 prod (priority 200), job 2 batch (100): each submitted, placed
    /// and ended.
    fn records() -> Vec<TraceRecord> {
        let mut out = Vec::new();
        for (job, prio) in [(1, 200), (2, 100)] {
            let mut t = task(job, 0, 0, 700, &[], None);
            t.priority = prio;
            let key = t.key;
            let at = |s| SimTime::from_secs(s);
            out.push(TraceRecord {
                time: at(job),
                event: TraceEvent::Submit(Box::new(t)),
            });
            out.push(TraceRecord {
                time: at(10 + job),
                event: TraceEvent::Schedule {
                    task: key,
                    machine: 0,
                },
            });
            out.push(TraceRecord {
                time: at(20 + job),
                event: TraceEvent::End {
                    task: key,
                    kind: EndKind::Finish,
                },
            });
        }
        out.sort_by_key(|r| r.time);
        out
    }

    fn edited(edit: WorkloadEdit) -> (Vec<TraceRecord>, usize) {
        let mut r = EditedReader::new(Box::new(Records::new(records())), edit, 1);
        let got = std::iter::from_fn(|| r.next_record().unwrap()).collect();
        (got, r.left_out.len())
    }

    #[test]
    fn a_task_left_out_takes_its_placement_and_end_with_it() {
        let keep = |keep| WorkloadEdit {
            keep,
            ..WorkloadEdit::default()
        };
        // Prod only: job 1's three records; job 2's all left out, and
        // forgotten at its end (nothing left in the set).
        let (prod, left) = edited(keep(Keep::Prod));
        assert_eq!(prod.len(), 3);
        assert!(prod.iter().all(|r| match &r.event {
            TraceEvent::Submit(t) => t.key.job == 1,
            TraceEvent::Schedule { task, .. } | TraceEvent::End { task, .. } => task.job == 1,
            _ => false,
        }));
        assert_eq!(left, 0);
        let (nonprod, _) = edited(keep(Keep::NonProd));
        assert_eq!(nonprod.len(), 3);
        // Parts: every job in exactly one of two.
        let n0 = edited(keep(Keep::Part { parts: 2, index: 0 })).0.len();
        let n1 = edited(keep(Keep::Part { parts: 2, index: 1 })).0.len();
        assert_eq!(n0 + n1, 6);
    }

    #[test]
    fn requests_are_rounded_at_submission() {
        // 700 milli-cores rounds up to 1000 (500 × 2); 1024 MiB stays.
        let (got, _) = edited(WorkloadEdit {
            round_up: Some(RoundUp::BORG),
            ..WorkloadEdit::default()
        });
        let cpus: Vec<u64> = got
            .iter()
            .filter_map(|r| r.event.submitted().map(|t| t.request.res.cpu_milli))
            .collect();
        assert_eq!(cpus, [1000, 1000]);
    }
}
