//! Test helpers for the replay feeds: records handed out from a list, and
//! trace tasks.

use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::error::Result;
use crate::time::SimDuration;
use crate::trace::{ReadStats, TaskKey, TraceReader, TraceRecord, TraceTask};

/// A reader handing out these records in order.
pub(crate) struct Records(std::vec::IntoIter<TraceRecord>, ReadStats);

impl Records {
    pub fn new(records: Vec<TraceRecord>) -> Self {
        Records(records.into_iter(), ReadStats::default())
    }
}

impl TraceReader for Records {
    fn next_record(&mut self) -> Result<Option<TraceRecord>> {
        Ok(self.0.next())
    }
    fn stats(&self) -> &ReadStats {
        &self.1
    }
}

/// Task `index` of stage `stage` of job `job` asking for `cpu` milli-cores
/// (and 1 GiB), waiting for stages `after`, running `secs` seconds if given.
pub(crate) fn task(
    job: u64,
    stage: u32,
    index: u32,
    cpu: u64,
    after: &[u32],
    secs: Option<u64>,
) -> TraceTask {
    TraceTask {
        key: TaskKey { job, stage, index },
        job_name: format!("j_{job}").into(),
        user: "".into(),
        priority: 100,
        trace_priority: 100,
        request: Request {
            res: Resources::new(cpu, 1024),
            gpu: GpuRequest::None,
        },
        constraints: vec![],
        max_per_machine: None,
        max_per_rack: None,
        duration: secs.map(SimDuration::from_secs),
        after: after.to_vec(),
        task_name: None,
        stage_tasks: None,
        end_kind: None,
    }
}
