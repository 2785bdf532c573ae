//! Replaying a trace: the cell from the trace's machine table, and a
//! [`Feed`] that applies the trace's events to it.
//!
//! The machine tables are read first, whole (they are bounded by the cell's
//! size, not the trace's length): every machine that ever appears becomes a
//! machine of the cell at its largest capacity, down until the trace adds
//! it. Then the whole trace is streamed, and its machine events take
//! machines up and down or resize them as they come (see
//! [`CellState::set_machine`](crate::cell::state::CellState::set_machine)).
//!
//! Two modes ([`ReplayMode`]) and two arrival orders ([`ArrivalOrder`]);
//! the rules for events that do not match the simulated state are in
//! [`StreamFeed`]'s module (`replay/stream.rs`) and counted in `summary.json` under `trace.replay`.
//! Both feeds share two rules: a trace's job is one job, whatever instants
//! and shapes its tasks come in (`replay/jobs.rs`: its parts share spread
//! counters, one count in `jobs_submitted`, its key in outputs); and a
//! task never starts before the DAG stages it waits for are done, whatever
//! the order or timestamps of their rows (`replay/dag.rs`: it is held
//! outside the cell meanwhile, and listed as pending). A trace's usage
//! records reach the driver as updates of the tasks running in the cell
//! ([`Feed::take_usage`]), by the rules in `replay/stream.rs`.

mod dag;
mod jobs;
mod one_by_one;
mod stream;
#[cfg(test)]
pub(crate) mod testing;

pub use one_by_one::OneByOneFeed;
pub use stream::StreamFeed;

use super::{ReadOptions, Select, Source, TaskKey, TraceEvent, TraceMachine, TraceTask};
use crate::cell::attrs::{AttrTable, Attributes, Constraint};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::cell::resources::Resources;
use crate::cell::state::CellState;
use crate::cell::{Cell, Machine, MachineId};
use crate::error::{Error, Result};
use crate::rng::{RngStreams, Stream};
use crate::scenario::{ArrivalOrder, MachineSource, ReplayMode, Scenario, TraceConfig};
use crate::sim::feed::Feed;
use crate::sim::{SimOptions, Simulation};
use crate::workload::{JobSpec, SpreadLimit};
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds a ready-to-run replay of the scenario's `[trace]` on its whole
/// cell, or on the machines `keep` of it (see [`replay_cell`] for their
/// ids): the excluded machines' events are then counted
/// (`machine_event_excluded`), never applied, and the workload is the
/// same as on the whole cell (a one-by-one replay's GPU demand is drawn
/// against the whole cell's GPUs).
pub fn build(
    sc: &Scenario,
    tc: &TraceConfig,
    opts: SimOptions,
    keep: Option<&[MachineId]>,
    edit: crate::workload::edit::WorkloadEdit,
) -> Result<Simulation> {
    let (state, feed) = assemble(sc, tc, keep, edit)?;
    let mut opts = opts;
    match tc.arrivals {
        ArrivalOrder::Trace => opts.passes = tc.mode == ReplayMode::Reschedule,
        ArrivalOrder::OneByOne => opts.drop_unplaced = true,
    }
    Ok(Simulation::with_feed(state, feed, opts))
}

/// The cell and the feed a replay of `tc` on the scenario's whole cell
/// runs on, without the driver: what [`build`] hands the simulation, for
/// tools and tests that step a feed by hand ([`Feed::next_time`],
/// [`Feed::apply`], [`Feed::take_usage`]). In trace-placement mode the
/// feed alone changes the cell; in re-schedule mode nothing places its
/// tasks but the caller.
///
/// # Errors
/// As [`build`]: the trace's files cannot be opened or read, or it has no
/// machines.
pub fn cell_and_feed(sc: &Scenario, tc: &TraceConfig) -> Result<(CellState, Box<dyn Feed>)> {
    assemble(sc, tc, None, crate::workload::edit::WorkloadEdit::default())
}

/// The cell (every trace machine down until the trace adds it) and the
/// feed over the trace's records, edited by `edit`.
fn assemble(
    sc: &Scenario,
    tc: &TraceConfig,
    keep: Option<&[MachineId]>,
    edit: crate::workload::edit::WorkloadEdit,
) -> Result<(CellState, Box<dyn Feed>)> {
    let files = sc.trace_files(tc)?;
    // Usage tables are read only when the run keeps usage: without
    // reclamation a replay reads, counts and costs exactly what it did
    // before they existed.
    let select = if sc.usage_tracked() {
        Select::All
    } else {
        Select::WithoutUsage
    };
    let read = ReadOptions {
        lenient: tc.lenient,
        reference: tc.reference,
        select,
    };
    let (cell, machine_ids, racks) = full_cell(sc, tc, &files, &read)?;
    let full_gpu_milli = cell.total_capacity().gpu_milli();
    let (cell, machine_ids, racks, excluded) = match keep {
        None => (cell, machine_ids, racks, FxHashSet::default()),
        Some(keep) => restrict(&cell, machine_ids, &racks, keep),
    };
    let mut state = CellState::new(cell);
    let use_trace_machines = tc.machines == MachineSource::Trace;
    if use_trace_machines {
        // Every machine is down until the trace adds it.
        for m in 0..state.cell().len() as MachineId {
            state.set_machine(crate::time::SimTime::ZERO, m, None);
        }
    }
    let reader = edited(super::open(tc.format, &files, &read)?, edit, sc.seed);
    let ctx = Context {
        machine_ids,
        excluded,
        racks,
        use_trace_machines,
        format: tc.format.name(),
    };
    let feed: Box<dyn Feed> = match tc.arrivals {
        ArrivalOrder::Trace => {
            let open = read_ahead(tc.format, files.clone(), &read, edit, sc.seed);
            Box::new(StreamFeed::new(reader, tc.mode, ctx).with_read_ahead(open))
        }
        ArrivalOrder::OneByOne => {
            if full_gpu_milli == 0 {
                return Err(no_gpus(sc, tc, &files));
            }
            let rng = RngStreams::new(sc.seed).stream(Stream::Workload);
            let pct = tc.inflate_gpu_demand_pct.unwrap_or(100);
            let list = files.last().map(|f| f.path().to_path_buf());
            let list = list.unwrap_or_else(|| sc.origin.clone());
            Box::new(OneByOneFeed::new(
                reader,
                full_gpu_milli,
                pct,
                rng,
                ctx,
                &list,
            )?)
        }
    };
    Ok((state, feed))
}

/// `reader` with the workload edit applied (as it is, for the identity).
fn edited(
    reader: Box<dyn super::TraceReader>,
    edit: crate::workload::edit::WorkloadEdit,
    seed: u64,
) -> Box<dyn super::TraceReader> {
    if edit.is_identity() {
        reader
    } else {
        Box::new(super::edit::EditedReader::new(reader, edit, seed))
    }
}

/// Opens the typical pods' second reader (`stream/ahead.rs`): the same
/// files and edit as the replay's, without usage tables.
fn read_ahead(
    format: super::TraceFormat,
    files: Vec<Source>,
    read: &ReadOptions,
    edit: crate::workload::edit::WorkloadEdit,
    seed: u64,
) -> stream::ahead::Opener {
    let read = ReadOptions {
        select: Select::WithoutUsage,
        ..read.clone()
    };
    Box::new(move || Ok(edited(super::open(format, &files, &read)?, edit, seed)))
}

/// The error for a one-by-one replay on a cell without GPUs: the protocol
/// draws pods until their GPU demand reaches a share of GPU capacity (of 0,
/// tuning down would remove every pod). Names the node list, or the
/// scenario's `[cell]`.
fn no_gpus(sc: &Scenario, tc: &TraceConfig, files: &[Source]) -> Error {
    let (path, key) = match (tc.machines, files.first()) {
        (MachineSource::Trace, Some(nodes)) => (nodes.path().to_path_buf(), "trace.files"),
        _ => (sc.origin.clone(), "cell"),
    };
    Error::Invalid {
        path,
        key: key.into(),
        message: "the cell has no GPUs: the one-by-one protocol (trace.arrivals = \"one_by_one\") \
                  brings the pods' GPU demand to a share of the cell's GPU capacity"
            .into(),
    }
}

/// The whole cell a replay of `tc` runs on: the trace's machines (every
/// machine its machine tables ever mention, in order of first appearance)
/// or the scenario's `[cell]`. Machine ids are what
/// [`crate::BuildOptions::machines`] names.
///
/// # Errors
/// The trace's files cannot be opened or its machine tables read, or it
/// has no machines.
pub fn replay_cell(sc: &Scenario, tc: &TraceConfig) -> Result<Cell> {
    let files = sc.trace_files(tc)?;
    let read = ReadOptions {
        lenient: tc.lenient,
        reference: tc.reference,
        select: Select::All,
    };
    Ok(full_cell(sc, tc, &files, &read)?.0)
}

/// Every machine `format`'s machine tables in `files` mention, in order of
/// first appearance, each at its largest capacity and with its first
/// attributes and domains (what a replay's cell is made of; a scenario's
/// `cell.from_trace`).
///
/// # Errors
/// The files cannot be opened or their machine tables read.
pub fn trace_machines(
    format: super::TraceFormat,
    files: &[Source],
    read: &ReadOptions,
) -> Result<Vec<TraceMachine>> {
    Ok(Universe::read(format, files, read)?.machines)
}

/// The whole cell, trace machine key → machine id, and each machine's
/// rack as the trace first named it (both empty for a scenario's cell).
#[allow(
    clippy::type_complexity,
    reason = "the three results of `Universe::into_cell`, taken apart at once by the callers"
)]
fn full_cell(
    sc: &Scenario,
    tc: &TraceConfig,
    files: &[Source],
    read: &ReadOptions,
) -> Result<(Cell, FxHashMap<u64, MachineId>, Vec<Option<Arc<str>>>)> {
    match tc.machines {
        MachineSource::Trace => {
            let universe = Universe::read(tc.format, files, read)?;
            if universe.machines.is_empty() {
                return Err(Error::Invalid {
                    path: files[0].path().to_path_buf(),
                    key: "trace.machines".into(),
                    message: "the trace has no machines; give a [cell] and set trace.machines = \"scenario\"".into(),
                });
            }
            Ok(universe.into_cell())
        }
        MachineSource::Scenario => Ok((sc.build().0, FxHashMap::default(), Vec::new())),
    }
}

/// The cell of the machines `keep` of `cell`, with the trace's machine
/// keys and racks renumbered to match, and the keys of the machines left
/// out.
#[allow(
    clippy::type_complexity,
    reason = "the cell and the maps that go with it, taken apart at once by the one caller"
)]
fn restrict(
    cell: &Cell,
    machine_ids: FxHashMap<u64, MachineId>,
    racks: &[Option<Arc<str>>],
    keep: &[MachineId],
) -> (
    Cell,
    FxHashMap<u64, MachineId>,
    Vec<Option<Arc<str>>>,
    FxHashSet<u64>,
) {
    let sub = cell.subset(keep);
    // Old id → new id; kept machines are renumbered in id order.
    let mut new_id: Vec<Option<MachineId>> = vec![None; cell.len()];
    let mut kept: Vec<MachineId> = keep.to_vec();
    kept.sort_unstable();
    kept.dedup();
    for (new, &old) in kept.iter().enumerate() {
        new_id[old as usize] = Some(new as MachineId);
    }
    let mut ids = FxHashMap::default();
    let mut excluded = FxHashSet::default();
    for (key, old) in machine_ids {
        match new_id[old as usize] {
            Some(new) => {
                ids.insert(key, new);
            }
            None => {
                excluded.insert(key);
            }
        }
    }
    let racks = if racks.is_empty() {
        Vec::new()
    } else {
        kept.iter().map(|&m| racks[m as usize].clone()).collect()
    };
    (sub, ids, racks, excluded)
}

/// Table files on disk given in a scenario file or on the command line,
/// relative to `base`; a directory stands for every file under it, in path
/// order, except documentation beside the data (`*.md`, `*.txt`: a trace
/// folder's README) and hidden files. (A built-in scenario's files are
/// embedded: [`Scenario::trace_files`].)
pub fn resolve_files(base: &Path, files: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for f in files {
        let p = if f.is_absolute() {
            f.clone()
        } else {
            base.join(f)
        };
        collect(&p, &mut out)?;
    }
    Ok(Source::files(out))
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(p).map_err(|source| Error::Read {
        path: p.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let rd = std::fs::read_dir(p).map_err(|source| Error::Read {
        path: p.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|e| !is_documentation(e))
        .collect();
    entries.sort();
    for e in entries {
        collect(&e, out)?;
    }
    Ok(())
}

/// A file in a trace folder that documents the data rather than holding it.
pub(crate) fn is_documentation(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with('.')
        || p.extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("md") || x.eq_ignore_ascii_case("txt"))
}

/// Every machine a trace's machine tables mention, in order of first
/// appearance, each at its largest capacity and with its first attributes;
/// every attribute a machine takes later is interned too, so that an
/// UPDATE can give it to the machine when the replay reaches it.
struct Universe {
    machines: Vec<TraceMachine>,
    index: FxHashMap<u64, usize>,
    later_attrs: Vec<(Arc<str>, Arc<str>)>,
}

impl Universe {
    fn read(format: super::TraceFormat, files: &[Source], read: &ReadOptions) -> Result<Self> {
        let opts = ReadOptions {
            select: Select::MachinesOnly,
            ..read.clone()
        };
        let mut reader = super::open(format, files, &opts)?;
        let mut u = Universe {
            machines: Vec::new(),
            index: FxHashMap::default(),
            later_attrs: Vec::new(),
        };
        while let Some(rec) = reader.next_record()? {
            if let TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) = rec.event {
                u.add(m);
            }
        }
        Ok(u)
    }

    fn add(&mut self, m: TraceMachine) {
        match self.index.get(&m.key) {
            Some(&i) => {
                let c = &mut self.machines[i].capacity;
                c.res = Resources::new(
                    c.res.cpu_milli.max(m.capacity.res.cpu_milli),
                    c.res.mem_mib.max(m.capacity.res.mem_mib),
                );
                c.gpus = c.gpus.max(m.capacity.gpus);
                if self.machines[i].attrs != m.attrs {
                    self.later_attrs.extend(m.attrs);
                    self.later_attrs.sort_unstable();
                    self.later_attrs.dedup();
                }
            }
            None => {
                self.index.insert(m.key, self.machines.len());
                self.machines.push(m);
            }
        }
    }

    /// The cell, trace machine key → machine id, and each machine's rack as
    /// the trace first named it.
    #[allow(
        clippy::type_complexity,
        reason = "three results of one walk over the machine table, taken apart at once by the one caller"
    )]
    fn into_cell(self) -> (Cell, FxHashMap<u64, MachineId>, Vec<Option<Arc<str>>>) {
        let mut table = AttrTable::default();
        let mut racks: Vec<Arc<str>> = Vec::new();
        let mut rack_ids: FxHashMap<Arc<str>, u32> = FxHashMap::default();
        let mut rack_of_machine = Vec::new();
        let mut machines = Vec::new();
        for (i, m) in self.machines.iter().enumerate() {
            let attrs = m
                .attrs
                .iter()
                .map(|(k, v)| (table.name_id(k), table.value_id(v)))
                .collect();
            machines.push(Machine {
                id: i as MachineId,
                capacity: m.capacity,
                attrs: Attributes::new(attrs),
            });
            // Machines without a named rack fill generated racks of 40.
            let rack: Arc<str> = m
                .rack
                .clone()
                .unwrap_or_else(|| format!("~generated-{}", i / 40).into());
            let r = *rack_ids.entry(rack.clone()).or_insert_with(|| {
                racks.push(rack.clone());
                (racks.len() - 1) as u32
            });
            rack_of_machine.push(r);
        }
        // Each machine's power domain is its own (a trace's levels need
        // not nest: Alibaba's failure_domain_1 spans several
        // failure_domain_2); machines without one take generated ones of 10
        // racks.
        let mut power_ids: FxHashMap<Arc<str>, u32> = FxHashMap::default();
        let mut powers = 0u32;
        let power_of_machine: Vec<u32> = self
            .machines
            .iter()
            .zip(&rack_of_machine)
            .map(|(m, &r)| {
                let name = m
                    .power
                    .clone()
                    .unwrap_or_else(|| format!("~generated-{}", r / 10).into());
                *power_ids.entry(name).or_insert_with(|| {
                    powers += 1;
                    powers - 1
                })
            })
            .collect();
        for (k, v) in &self.later_attrs {
            table.name_id(k);
            table.value_id(v);
        }
        let counts = [racks.len() as u32, racks.len() as u32, powers];
        let rows = rack_of_machine.clone();
        let domains = DomainTree::partitions(rack_of_machine, rows, power_of_machine, counts);
        let ids = self
            .index
            .iter()
            .map(|(&k, &i)| (k, i as MachineId))
            .collect();
        let racks = self.machines.iter().map(|m| m.rack.clone()).collect();
        (Cell::new(machines, domains, table), ids, racks)
    }
}

/// What both feeds share: the machine map and the rules to turn trace
/// records into cell changes.
pub(crate) struct Context {
    pub machine_ids: FxHashMap<u64, MachineId>,
    /// Trace machine keys of machines left out of the cell (a replay on a
    /// subset of the trace's machines): their events are ignored.
    pub excluded: FxHashSet<u64>,
    /// Per machine id: its rack as the trace first named it. The
    /// failure-domain tree is built from these and kept: a later event that
    /// names another rack is counted (`machine_rack_change_ignored`), not
    /// applied (tasks' spread counters are per domain).
    pub racks: Vec<Option<Arc<str>>>,
    pub use_trace_machines: bool,
    pub format: &'static str,
}

impl Context {
    /// True if trace machine `key` was left out of the cell (a replay on
    /// a subset of the trace's machines).
    pub fn excluded(&self, key: u64) -> bool {
        self.excluded.contains(&key)
    }

    /// Applies a machine event: capacity (down, up, resized) and
    /// attributes; returns what changed, or `None` if the event was ignored
    /// (machines from the scenario, or unknown).
    pub fn apply_machine(
        &self,
        now: crate::time::SimTime,
        st: &mut CellState,
        ev: &TraceEvent,
    ) -> Option<MachineChange> {
        if !self.use_trace_machines {
            return None;
        }
        let (key, m) = match ev {
            TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => (m.key, Some(m)),
            TraceEvent::MachineRemove { machine } => (*machine, None),
            _ => return None,
        };
        let &id = self.machine_ids.get(&key)?;
        let evicted = st.set_machine(now, id, m.map(|m| m.capacity.res));
        let rack_changed = m.is_some_and(|m| {
            m.rack.is_some() && self.racks.get(id as usize).is_some_and(|r| *r != m.rack)
        });
        let attrs_changed = m.is_some_and(|m| {
            let attrs = attributes(&st.cell().attr_table, &m.attrs);
            st.set_machine_attrs(now, id, attrs)
        });
        Some(MachineChange {
            evicted,
            attrs_changed,
            rack_changed,
        })
    }
}

/// What a machine event changed.
pub(crate) struct MachineChange {
    /// Tasks evicted (the machine went down or shrank).
    pub evicted: Vec<crate::workload::TaskId>,
    /// The machine's attributes are new (constraints see them from now on).
    pub attrs_changed: bool,
    /// The event names another rack than the machine's (not applied).
    pub rack_changed: bool,
}

/// A trace machine's attributes in the cell's terms (every value a machine
/// table holds was interned when the cell was built).
fn attributes(table: &AttrTable, attrs: &[(Arc<str>, Arc<str>)]) -> Attributes {
    Attributes::new(
        attrs
            .iter()
            .filter_map(|(k, v)| Some((table.find_name(k)?, table.find_value(v)?)))
            .collect(),
    )
}

/// A trace task as a job of `n` identical tasks with these run lengths.
///
/// A constraint on an attribute *name* that no machine of the cell has is
/// dropped and counted (`constraint_on_unknown_attribute`): the trace's
/// machine attributes were not given (e.g. Google 2011 without its
/// `machine_attributes` table), and judging it would leave the task pending
/// forever for a reason the trace's own cell did not have. A known name with an unknown
/// value is kept (an `eq` then matches no machine, as in the trace's cell).
pub(crate) fn job_spec(
    t: &TraceTask,
    durations: Vec<Option<crate::time::SimDuration>>,
    table: &mut AttrTable,
    counts: &mut std::collections::BTreeMap<&'static str, u64>,
) -> JobSpec {
    let mut constraints = Vec::with_capacity(t.constraints.len());
    for c in &t.constraints {
        let Some(name) = table.find_name(&c.name) else {
            *counts.entry("constraint_on_unknown_attribute").or_default() += 1;
            continue;
        };
        constraints.push(Constraint {
            name,
            op: c.op,
            value: table.value_id(&c.value),
        });
    }
    let spread = [
        (DomainLevel::Machine, t.max_per_machine),
        (DomainLevel::Rack, t.max_per_rack),
    ]
    .into_iter()
    .filter_map(|(level, n)| {
        n.map(|n| SpreadLimit {
            level,
            max_tasks: n.max(1),
        })
    })
    .collect();
    JobSpec {
        name: crate::workload::job::JobName {
            base: t.job_name.clone(),
            serial: None,
        },
        user: t.user.clone(),
        priority: t.priority,
        request: t.request,
        constraints,
        spread,
        task_durations: durations,
    }
}

/// Two submissions that can share one job (same job, stage, time and shape).
pub(crate) fn same_shape(a: &TraceTask, b: &TraceTask) -> bool {
    a.key.job == b.key.job
        && a.key.stage == b.key.stage
        && a.priority == b.priority
        && a.request == b.request
        && a.constraints == b.constraints
        && a.max_per_machine == b.max_per_machine
        && a.max_per_rack == b.max_per_rack
        && a.after == b.after
        && a.job_name == b.job_name
}

/// Keys of live tasks; only what is live is kept.
pub(crate) type LiveMap = FxHashMap<TaskKey, crate::workload::TaskId>;
