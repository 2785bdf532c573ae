//! container_meta: a snapshot table turned into lifecycle events.
//!
//! The table has a row per container per snapshot; what the simulation
//! needs is when each container starts, moves, changes and stops. The
//! table is read whole at open and sorted by time (stably: rows of one
//! instant keep the file's order) — the published tables are not in time
//! order, and this one is small (2.4 MB compressed in the full trace).
//! Then its rows are turned into events an instant at a time, as the
//! reader is pulled, keeping state only for live containers. The rules
//! are in the module docs of `alibaba2018.rs`.

use super::tables::{each_row, id, percent, seconds, Ctx, Table};
use super::{Phase, CONTAINER_JOB_BIT, ONLINE_PRIORITY};
use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::error::Result;
use crate::time::SimTime;
use crate::trace::input::Row;
use crate::trace::Source as TraceFile;
use crate::trace::{EndKind, ReadStats, TaskKey, TraceEvent, TraceRecord, TraceTask};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::iter::Peekable;
use std::sync::Arc;

/// What a row's `status` says about the container.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Status {
    /// `started`, or `allocated` (its resources are held on the machine).
    Alive,
    /// `stopped`.
    Stopped,
    /// Any other value: not running, counted.
    Unrecognised,
}

/// One row.
struct Snapshot {
    time: SimTime,
    container: u32,
    machine: u64,
    app: u64,
    app_du: Arc<str>,
    request: Resources,
    status: Status,
}

fn snapshot(row: Row<'_>, ctx: &mut Ctx<'_>) -> Result<Snapshot> {
    row.expect_fields(8, "container_meta")?;
    let container = id(&row, 0, "container_id", "c_", u64::from(u32::MAX) + 1)? as u32;
    let machine = id(&row, 1, "machine_id", "m_", u64::MAX)?;
    let time = seconds(&row, 2, "time_stamp")?;
    let app = id(&row, 3, "app_du", "app_", CONTAINER_JOB_BIT)?;
    let app_du = ctx.strings.get(row.str(3, "app_du")?);
    let status = match row.str(4, "status")? {
        "" => return Err(row.error("status", "expected a status, found nothing".into())),
        "started" | "allocated" => Status::Alive,
        "stopped" => Status::Stopped,
        _ => Status::Unrecognised,
    };
    // cpu_request: 100 = 1 core, so milli-cores = value × 1000 / 100.
    let cpu_milli = row.decimal(5, "cpu_request")?.scale_ratio(1000, 100);
    let mem_mib = percent(&row, 7, "mem_size")?.scale_ratio(ctx.reference.mem_mib, 100);
    Ok(Snapshot {
        time,
        container,
        machine,
        app,
        app_du,
        request: Resources::new(cpu_milli, mem_mib),
        status,
    })
}

/// A live container's current run.
struct Run {
    machine: u64,
    app: u64,
    app_du: Arc<str>,
    request: Resources,
    /// When the run started (a run that ends in the instant it started
    /// ends after its own start, not among the instant's other ends).
    since: SimTime,
    /// Its machine's epoch when the run was last placed there.
    epoch: u32,
}

impl Run {
    fn key(&self, container: u32) -> TaskKey {
        TaskKey {
            job: CONTAINER_JOB_BIT | self.app,
            stage: 0,
            index: container,
        }
    }
}

/// What the containers need to know about a machine.
#[derive(Default)]
struct MachineState {
    in_service: bool,
    capacity: Resources,
    /// Bumped whenever the machine may have lost its tasks in the
    /// simulation (it left service, shrank) or came back into service.
    epoch: u32,
}

/// The container lifecycle stream.
pub(super) struct Containers {
    rows: Peekable<std::vec::IntoIter<Snapshot>>,
    live: FxHashMap<u32, Run>,
    machines: FxHashMap<u64, MachineState>,
    ready: VecDeque<TraceRecord>,
    user: Arc<str>,
}

impl Containers {
    /// Reads container_meta whole and sorts it by time.
    pub fn load(files: Vec<TraceFile>, ctx: &mut Ctx<'_>) -> Result<Containers> {
        let mut rows = Vec::new();
        each_row(files, Table::ContainerMeta, ctx, |row, ctx| {
            rows.push(snapshot(row, ctx)?);
            Ok(())
        })?;
        rows.sort_by_key(|s| s.time); // stable: an instant keeps the file's order
        Ok(Containers {
            rows: rows.into_iter().peekable(),
            live: FxHashMap::default(),
            machines: FxHashMap::default(),
            ready: VecDeque::new(),
            user: ctx.strings.get(""),
        })
    }

    /// When the next record is due, and its phase. An instant not yet
    /// turned into events reports [`Phase::End`] (it may hold ends).
    pub fn next_key(&mut self) -> Option<(SimTime, Phase)> {
        if let Some(r) = self.ready.front() {
            let phase = match r.event {
                TraceEvent::End { .. } => Phase::End,
                _ => Phase::Start,
            };
            return Some((r.time, phase));
        }
        self.rows.peek().map(|s| (s.time, Phase::End))
    }

    /// The next record; `None` when this call only turned the next instant
    /// into events (ask [`Containers::next_key`] again).
    pub fn pop(&mut self, stats: &mut ReadStats) -> Option<TraceRecord> {
        if let Some(r) = self.ready.pop_front() {
            return Some(r);
        }
        let t = self.rows.peek()?.time;
        let (mut ends, mut starts) = (Vec::new(), Vec::new());
        while let Some(s) = self.rows.next_if(|s| s.time == t) {
            self.apply(s, &mut ends, &mut starts, stats);
        }
        self.ready.extend(ends);
        self.ready.extend(starts);
        None
    }

    /// The task key and request of container `container`'s current run, if
    /// it is live (what its usage rows are relative to).
    pub fn run_of(&self, container: u32) -> Option<(TaskKey, Resources)> {
        self.live
            .get(&container)
            .map(|run| (run.key(container), run.request))
    }

    /// A machine record the reader hands out (machines come first at each
    /// instant, so the state here is the machine's at the rows' time).
    pub fn on_machine(&mut self, ev: &TraceEvent) {
        match ev {
            TraceEvent::MachineAdd(m) => {
                let st = self.machines.entry(m.key).or_default();
                st.in_service = true;
                st.capacity = m.capacity.res;
                st.epoch += 1;
            }
            TraceEvent::MachineUpdate(m) => {
                let st = self.machines.entry(m.key).or_default();
                if !st.capacity.fits_in(&m.capacity.res) {
                    st.epoch += 1;
                }
                st.capacity = m.capacity.res;
            }
            TraceEvent::MachineRemove { machine } => {
                let st = self.machines.entry(*machine).or_default();
                st.in_service = false;
                st.epoch += 1;
            }
            _ => {}
        }
    }

    /// One row: ends go to `ends` (handed out before the instant's starts,
    /// so what they free is free for the starts), starts to `starts`.
    fn apply(
        &mut self,
        s: Snapshot,
        ends: &mut Vec<TraceRecord>,
        starts: &mut Vec<TraceRecord>,
        stats: &mut ReadStats,
    ) {
        let t = s.time;
        if s.status != Status::Alive {
            if s.status == Status::Unrecognised {
                stats.repair("container_meta.status_unrecognised");
            }
            match self.live.remove(&s.container) {
                Some(run) => Self::end(&run, s.container, t, ends, starts),
                None => stats.repair("container_meta.stopped_not_live"),
            }
            return;
        }
        let Some(run) = self.live.get_mut(&s.container) else {
            return self.start(s, starts);
        };
        let changed = [
            ("container_meta.moved", run.machine != s.machine),
            ("container_meta.resized", run.request != s.request),
            ("container_meta.app_du_changed", run.app != s.app),
        ];
        if changed.iter().any(|c| c.1) {
            for (rule, _) in changed.iter().filter(|c| c.1) {
                stats.repair(rule);
            }
            if let Some(run) = self.live.remove(&s.container) {
                Self::end(&run, s.container, t, ends, starts);
            }
            return self.start(s, starts);
        }
        // Unchanged. If its machine may have lost it since it was placed
        // and is in service now, the trace has it running there: place it
        // again (a no-op, counted by the replay, if it is still running).
        if let Some(m) = self.machines.get(&s.machine) {
            if m.in_service && m.epoch != run.epoch {
                run.epoch = m.epoch;
                stats.repair("container_meta.placed_again");
                starts.push(TraceRecord {
                    time: t,
                    event: TraceEvent::Schedule {
                        task: run.key(s.container),
                        machine: s.machine,
                    },
                });
            }
        }
    }

    fn end(
        run: &Run,
        container: u32,
        t: SimTime,
        ends: &mut Vec<TraceRecord>,
        starts: &mut Vec<TraceRecord>,
    ) {
        let rec = TraceRecord {
            time: t,
            event: TraceEvent::End {
                task: run.key(container),
                kind: EndKind::Finish,
            },
        };
        if run.since == t {
            starts.push(rec);
        } else {
            ends.push(rec);
        }
    }

    /// A new run: a Submit and a Schedule on the row's machine.
    fn start(&mut self, s: Snapshot, starts: &mut Vec<TraceRecord>) {
        let run = Run {
            machine: s.machine,
            app: s.app,
            app_du: s.app_du,
            request: s.request,
            since: s.time,
            epoch: self.machines.get(&s.machine).map_or(0, |m| m.epoch),
        };
        let key = run.key(s.container);
        let task = TraceTask {
            key,
            job_name: run.app_du.clone(),
            user: self.user.clone(),
            priority: ONLINE_PRIORITY,
            trace_priority: i64::from(ONLINE_PRIORITY),
            request: Request {
                res: run.request,
                gpu: GpuRequest::None,
            },
            constraints: Vec::new(),
            max_per_machine: None,
            max_per_rack: None,
            duration: None,
            after: Vec::new(),
            task_name: None,
            stage_tasks: None,
            end_kind: None,
        };
        for event in [
            TraceEvent::Submit(Box::new(task)),
            TraceEvent::Schedule {
                task: key,
                machine: s.machine,
            },
        ] {
            starts.push(TraceRecord {
                time: s.time,
                event,
            });
        }
        self.live.insert(s.container, run);
    }
}
