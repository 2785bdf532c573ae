//! From the wire to the simulator: a registered machine becomes a
//! [`Machine`] of a [`Cell`], a submitted job a [`JobSpec`] — and the
//! checks a submission passes before anything changes.
//!
//! Kept apart from the core so the one translation both the live cell and
//! a comparison with the simulator rely on is in one place: capacities and
//! requests as given (milli-cores, MiB, whole GPUs), attributes and
//! constraint names interned in the cell's table, spread limits per
//! machine and per rack, every task a service (no duration: its agent's
//! exit report ends it).

use super::core::{LiveMachine, MAX_TASKS_PER_JOB};
use super::names::check_name;
use crate::cell::attrs::{AttrTable, Attributes, Constraint, ConstraintOp};
use crate::cell::domain::{DomainLevel, DomainTree};
use crate::cell::resources::{Capacity, GpuRequest, Request, Resources};
use crate::cell::{Cell, Machine, MachineId};
use crate::live::proto::{self, ConstraintOpSpec, GpuSpec, JobSubmission};
use crate::workload::{JobSpec, SpreadLimit};
use std::collections::BTreeMap;

/// Largest CPU of a task or a machine, milli-cores (a million cores):
/// sums over a cell of `--max-machines` machines stay far from overflow.
pub const MAX_CPU_MILLI: u64 = 1_000_000_000;
/// Largest memory of a task or a machine, MiB (1 EiB).
pub const MAX_MEM_MIB: u64 = 1 << 40;
/// Most GPUs on a machine.
pub const MAX_GPUS: u32 = 1024;

/// Checks a machine's capacity against the bounds above.
///
/// # Errors
/// A dimension beyond its bound, named.
pub fn check_capacity(c: &proto::Capacity) -> Result<(), String> {
    if c.cpu_milli > MAX_CPU_MILLI || c.mem_mib > MAX_MEM_MIB || c.gpus > MAX_GPUS {
        return Err(format!(
            "`capacity` must be at most {MAX_CPU_MILLI} milli-cores, {MAX_MEM_MIB} MiB \
             and {MAX_GPUS} GPUs"
        ));
    }
    Ok(())
}

/// The cell of the registered machines, ids in registration order. Each
/// rack an agent names is a rack (its own power domain); a machine that
/// names none is a rack of its own.
pub(super) fn build_cell(machines: &[LiveMachine]) -> Cell {
    let mut table = AttrTable::default();
    let mut racks: BTreeMap<String, u32> = BTreeMap::new();
    let mut rack_of = Vec::with_capacity(machines.len());
    let mut out = Vec::with_capacity(machines.len());
    for (i, lm) in machines.iter().enumerate() {
        let reg = &lm.rec.registration;
        let next = racks.len() as u32;
        let rack = match &reg.rack {
            Some(r) => *racks.entry(r.clone()).or_insert(next),
            None => *racks.entry(format!("\0{i}")).or_insert(next),
        };
        rack_of.push(rack);
        let attrs = (reg.attrs.iter())
            .map(|(k, v)| (table.name_id(k), table.value_id(v)))
            .collect();
        out.push(Machine {
            id: i as MachineId,
            capacity: Capacity {
                res: Resources::new(reg.capacity.cpu_milli, reg.capacity.mem_mib),
                gpus: reg.capacity.gpus,
            },
            attrs: Attributes::new(attrs),
        });
    }
    let power: Vec<u32> = (0..racks.len() as u32).collect();
    Cell::new(out, DomainTree::explicit(rack_of, power), table)
}

/// The simulator's description of a submitted job (a service per task).
pub(super) fn job_spec(sub: &JobSubmission, table: &mut AttrTable) -> JobSpec {
    let constraints = (sub.constraints.iter())
        .map(|c| Constraint {
            name: table.name_id(&c.name),
            op: match c.op {
                ConstraintOpSpec::Eq => ConstraintOp::Eq,
                ConstraintOpSpec::Ne => ConstraintOp::Ne,
                ConstraintOpSpec::Present => ConstraintOp::Present,
                ConstraintOpSpec::Absent => ConstraintOp::Absent,
            },
            value: table.value_id(&c.value),
        })
        .collect();
    let mut spread = Vec::new();
    if let Some(k) = sub.max_per_machine {
        spread.push(SpreadLimit {
            level: DomainLevel::Machine,
            max_tasks: k,
        });
    }
    if let Some(k) = sub.max_per_rack {
        spread.push(SpreadLimit {
            level: DomainLevel::Rack,
            max_tasks: k,
        });
    }
    JobSpec {
        name: sub.name.as_str().into(),
        user: sub.user.as_str().into(),
        priority: sub.priority,
        request: Request {
            res: Resources::new(sub.cpu_milli, sub.mem_mib),
            gpu: match sub.gpu {
                GpuSpec::None => GpuRequest::None,
                GpuSpec::Whole(n) => GpuRequest::Whole(n),
                GpuSpec::Share(m) => GpuRequest::Share(m),
            },
        },
        constraints,
        spread,
        task_durations: vec![None; sub.tasks as usize],
    }
}

/// Checks a submission field by field.
///
/// # Errors
/// The first field that is wrong, named, with what was expected.
pub fn check_submission(sub: &JobSubmission) -> Result<(), String> {
    check_name("name", &sub.name)?;
    check_name("user", &sub.user)?;
    if sub.tasks == 0 || sub.tasks > MAX_TASKS_PER_JOB {
        return Err(format!(
            "`tasks` must be 1 to {MAX_TASKS_PER_JOB}, not {}",
            sub.tasks
        ));
    }
    if !(1..=MAX_CPU_MILLI).contains(&sub.cpu_milli) || !(1..=MAX_MEM_MIB).contains(&sub.mem_mib) {
        return Err(format!(
            "`cpu_milli` must be 1 to {MAX_CPU_MILLI} and `mem_mib` 1 to {MAX_MEM_MIB}"
        ));
    }
    match sub.gpu {
        GpuSpec::Whole(n) if !(1..=64).contains(&n) => {
            return Err(format!("`gpu.whole` must be 1 to 64, not {n}"))
        }
        GpuSpec::Share(m) if !(1..1000).contains(&m) => {
            return Err(format!("`gpu.share` must be 1 to 999 milli, not {m}"))
        }
        _ => {}
    }
    crate::live::spec_check::check_command_env(&sub.command, &sub.env)?;
    if sub.max_per_machine == Some(0) || sub.max_per_rack == Some(0) {
        return Err("`max_per_machine` and `max_per_rack` must be at least 1".into());
    }
    if let Some(c) = sub.constraints.iter().find(|c| c.name.is_empty()) {
        return Err(format!(
            "`constraints`: a constraint names no attribute ({c:?})"
        ));
    }
    check_workdir(sub.workdir.as_deref())
}

/// A working directory must stay inside the task's sandbox: relative,
/// without `..` (the agent checks symbolic links too).
fn check_workdir(workdir: Option<&str>) -> Result<(), String> {
    let Some(w) = workdir else {
        return Ok(());
    };
    let path = std::path::Path::new(w);
    let escapes = path.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if w.is_empty() || escapes {
        return Err(format!(
            "`workdir` must be a relative path inside the sandbox, without `..`: {w:?}"
        ));
    }
    Ok(())
}

impl From<proto::Capacity> for Resources {
    fn from(c: proto::Capacity) -> Resources {
        Resources::new(c.cpu_milli, c.mem_mib)
    }
}
