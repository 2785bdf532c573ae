//! Why a machine was rejected, and the per-task tallies behind "why pending".
//!
//! Like Kubernetes' "0/5000 nodes are available: 3000 Insufficient cpu, …",
//! each failed attempt keeps, per reason, how many machines the first failing
//! filter rejected for it.
//!
//! A task that no machine could host even empty is never attempted (the
//! scheduler skips it, so it has no attempt to report). [`NeverFit`] says why
//! instead, from the fixed cell: every machine, empty and at its full
//! capacity, counted under the first check it fails — the constraint it
//! fails named (`constraint_mismatch zone=b: 250`), the resource it lacks
//! named with the request and the most those machines have
//! (`insufficient_cpu: 3 (needs 120000 cpu_milli; these have at most
//! 96000)`), and machines that are down counted as `machine_down`. It is
//! evaluated once per task shape when reported, never in the placement loop.

use crate::cell::attrs::{AttrTable, Attributes, Constraint};
use crate::cell::resources::{Capacity, GpuRequest, Request};
use crate::cell::state::CellState;
use crate::cell::{Cell, EmptyMisfit, MachineId};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// Why a filter rejected a machine. Its names (`pending.csv`'s columns)
/// are serde's; strum derives the same rule for [`Reason::key`] and the
/// variant list (tests/it/schema.rs checks that the two agree).
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    /// The machine is down or not part of the cell yet.
    MachineDown,
    InsufficientCpu,
    InsufficientMemory,
    InsufficientGpu,
    ConstraintMismatch,
    MaxPerMachine,
    MaxPerRack,
    MaxPerPowerDomain,
    MaxPerRow,
    /// The task failed on this machine (machine failure or crash) within
    /// the scheduler's `avoid_failed_s` (`plugins::avoid_failed`).
    TaskFailedHere,
}

impl Reason {
    /// Every reason, in declaration order (the order of `pending.csv`'s
    /// columns and of [`ReasonCounts`]).
    pub const ALL: &'static [Reason] = <Reason as strum::VariantArray>::VARIANTS;

    /// The column/key name used in outputs (`insufficient_cpu`).
    pub fn key(self) -> &'static str {
        self.into()
    }

    /// The reason the filters give for an empty machine's misfit.
    pub fn of_misfit(m: EmptyMisfit) -> Reason {
        match m {
            EmptyMisfit::Constraint(_) => Reason::ConstraintMismatch,
            EmptyMisfit::Cpu => Reason::InsufficientCpu,
            EmptyMisfit::Memory => Reason::InsufficientMemory,
            EmptyMisfit::Gpu => Reason::InsufficientGpu,
        }
    }

    /// For a resource reason: what the task asks, in the resource's unit
    /// (`120000 cpu_milli`, `2 whole GPUs`, `a 500-milli share of one GPU`).
    pub fn requested(self, req: &Request) -> Option<String> {
        Some(match self {
            Reason::InsufficientCpu => format!("{} cpu_milli", req.res.cpu_milli),
            Reason::InsufficientMemory => format!("{} mem_mib", req.res.mem_mib),
            Reason::InsufficientGpu => match req.gpu {
                GpuRequest::None => "no GPU".to_string(),
                GpuRequest::Whole(1) => "1 whole GPU".to_string(),
                GpuRequest::Whole(n) => format!("{n} whole GPUs"),
                GpuRequest::Share(m) => format!("a {m}-milli share of one GPU"),
            },
            _ => return None,
        })
    }

    /// For a resource reason: a machine's capacity in that resource (GPUs
    /// in devices), the figure [`Reason::requested`] is compared with.
    pub fn capacity(self, cap: &Capacity) -> Option<u64> {
        match self {
            Reason::InsufficientCpu => Some(cap.res.cpu_milli),
            Reason::InsufficientMemory => Some(cap.res.mem_mib),
            Reason::InsufficientGpu => Some(u64::from(cap.gpus)),
            _ => None,
        }
    }

    /// Could evicting lower-priority tasks ever make this machine feasible?
    /// (Kubernetes' Unschedulable vs UnschedulableAndUnresolvable.)
    pub fn resolvable_by_preemption(self) -> bool {
        matches!(
            self,
            Reason::InsufficientCpu | Reason::InsufficientMemory | Reason::InsufficientGpu
        )
    }
}

/// Machines rejected per reason in one scheduling attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReasonCounts(pub [u32; Reason::ALL.len()]);

impl ReasonCounts {
    pub fn add(&mut self, r: Reason) {
        self.0[r as usize] += 1;
    }

    pub fn add_n(&mut self, r: Reason, n: u32) {
        self.0[r as usize] += n;
    }

    /// Takes one back; false if there was none.
    pub fn sub(&mut self, r: Reason) -> bool {
        let c = &mut self.0[r as usize];
        let had = *c > 0;
        *c = c.saturating_sub(1);
        had
    }

    pub fn get(&self, r: Reason) -> u32 {
        self.0[r as usize]
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }

    /// "0/300 machines are available: 200 insufficient_cpu, 100 max_per_machine".
    pub fn describe(&self, machines: usize) -> String {
        let parts: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| self.get(**r) > 0)
            .map(|r| format!("{} {}", self.get(*r), r.key()))
            .collect();
        format!("0/{machines} machines are available: {}", parts.join(", "))
    }
}

/// What the scheduler last learned about a pending job's tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WhyPending {
    /// Simulated time of the last attempt, in µs.
    pub attempt_us: u64,
    pub counts: ReasonCounts,
}

/// Why a task can never run: each machine, empty and at its full capacity,
/// under the first check it fails, in the filters' order — constraints
/// (a machine's attributes do not change while it is down), then machine
/// down, then CPU, memory, GPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeverFit {
    request: Request,
    /// Machines in the cell.
    pub machines: usize,
    /// Machines per reason, each machine once.
    pub counts: ReasonCounts,
    /// Machines up that could host the task empty: 0 for a task that is
    /// never schedulable.
    pub hosts: u32,
    /// Per constraint of the task, in its order: the machines it was the
    /// first to reject (constraints that rejected none are left out).
    pub by_constraint: Vec<(Constraint, u32)>,
    /// Machines down that could host the task empty once up.
    pub down_but_would_fit: u32,
    /// Per resource reason (CPU, memory, GPUs): the most any machine short
    /// of it has.
    largest_short: [u64; 3],
}

/// The resource reasons, in the order the resource filter checks them.
const RESOURCES: [Reason; 3] = [
    Reason::InsufficientCpu,
    Reason::InsufficientMemory,
    Reason::InsufficientGpu,
];

/// The machines of a cell grouped by everything the empty-machine check
/// reads — capacity, attributes, up or down — in order of their first
/// machine: a task shape is then judged once per group, not once per
/// machine (a synthetic cell of 12,500 machines has a handful of groups).
pub struct MachineGroups {
    /// (a machine of the group, how many machines, up).
    groups: Vec<(MachineId, u32, bool)>,
    machines: usize,
}

impl MachineGroups {
    /// The groups of a cell as it is now (which machines are down).
    pub fn of(st: &CellState) -> MachineGroups {
        MachineGroups::of_cell(st.cell(), |m| st.machine_up(m))
    }

    /// The groups of a cell whose machines are up where `up` says.
    pub fn of_cell(cell: &Cell, up: impl Fn(MachineId) -> bool) -> MachineGroups {
        // Looked up, never iterated: the groups keep first-seen order.
        let mut index: FxHashMap<(Capacity, &Attributes, bool), usize> = FxHashMap::default();
        let mut groups: Vec<(MachineId, u32, bool)> = Vec::new();
        for m in &cell.machines {
            let key = (m.capacity, &m.attrs, up(m.id));
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((m.id, 0, key.2));
                groups.len() - 1
            });
            groups[i].1 += 1;
        }
        MachineGroups {
            groups,
            machines: cell.len(),
        }
    }
}

impl NeverFit {
    /// Evaluates every machine of `cell` (grouped as `groups`, which must
    /// be this cell's) for a task of `req` with `constraints`.
    pub fn of(
        cell: &Cell,
        groups: &MachineGroups,
        req: &Request,
        constraints: &[Constraint],
    ) -> NeverFit {
        debug_assert_eq!(groups.machines, cell.len(), "groups of another cell");
        let mut by_constraint = vec![0u32; constraints.len()];
        let mut nf = NeverFit {
            request: *req,
            machines: cell.len(),
            counts: ReasonCounts::default(),
            hosts: 0,
            by_constraint: Vec::new(),
            down_but_would_fit: 0,
            largest_short: [0; 3],
        };
        for &(id, n, up) in &groups.groups {
            let m = &cell.machines[id as usize];
            let misfit = m.empty_misfit(req, constraints);
            if let Some(EmptyMisfit::Constraint(i)) = misfit {
                by_constraint[i] += n;
                nf.counts.add_n(Reason::ConstraintMismatch, n);
                continue;
            }
            if !up {
                nf.counts.add_n(Reason::MachineDown, n);
                if misfit.is_none() {
                    nf.down_but_would_fit += n;
                }
                continue;
            }
            let Some(misfit) = misfit else {
                nf.hosts += n;
                continue;
            };
            let reason = Reason::of_misfit(misfit);
            nf.counts.add_n(reason, n);
            let i = RESOURCES
                .iter()
                .position(|r| *r == reason)
                .expect("a resource");
            let have = reason.capacity(&m.capacity).expect("a resource");
            nf.largest_short[i] = nf.largest_short[i].max(have);
        }
        nf.by_constraint = constraints
            .iter()
            .zip(by_constraint)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (*c, n))
            .collect();
        nf
    }

    /// [`NeverFit::of`] over a cell whose machines are up where `up` says.
    pub fn of_cell(
        cell: &Cell,
        up: impl Fn(MachineId) -> bool,
        req: &Request,
        constraints: &[Constraint],
    ) -> NeverFit {
        NeverFit::of(cell, &MachineGroups::of_cell(cell, up), req, constraints)
    }

    /// One clause per reason, in check order: `constraint_mismatch zone=b:
    /// 250; machine_down: 1 (could not host it even when up); insufficient_cpu: 3
    /// (needs 120000 cpu_milli; these have at most 96000)`.
    pub fn clauses(&self, table: &AttrTable) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_constraint
            .iter()
            .map(|(c, n)| format!("constraint_mismatch {}: {n}", c.describe(table)))
            .collect();
        let down = self.counts.get(Reason::MachineDown);
        if down > 0 {
            let note = match self.down_but_would_fit {
                0 => "could not host it even when up".to_string(),
                k if k == down => "would fit when up".to_string(),
                k => format!("{k} would fit when up"),
            };
            out.push(format!("machine_down: {down} ({note})"));
        }
        for (i, r) in RESOURCES.iter().enumerate() {
            let n = self.counts.get(*r);
            if n > 0 {
                let need = r.requested(&self.request).expect("a resource");
                let most = self.largest_short[i];
                out.push(format!(
                    "{}: {n} (needs {need}; these have at most {most})",
                    r.key()
                ));
            }
        }
        out
    }

    /// The `why` of a task no machine could host: "no machine could ever
    /// host it (0/253 machines, even empty): …" with the [`NeverFit::clauses`].
    pub fn describe(&self, table: &AttrTable) -> String {
        let lead = if self.hosts == 0 {
            format!(
                "no machine could ever host it (0/{} machines, even empty)",
                self.machines
            )
        } else {
            format!(
                "{}/{} machines could host it empty",
                self.hosts, self.machines
            )
        };
        format!("{lead}: {}", self.clauses(table).join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_like_kubernetes() {
        let mut c = ReasonCounts::default();
        c.add(Reason::InsufficientCpu);
        c.add(Reason::InsufficientCpu);
        c.add(Reason::MaxPerMachine);
        assert_eq!(c.total(), 3);
        assert_eq!(
            c.describe(3),
            "0/3 machines are available: 2 insufficient_cpu, 1 max_per_machine"
        );
        assert!(Reason::InsufficientGpu.resolvable_by_preemption());
        assert!(!Reason::ConstraintMismatch.resolvable_by_preemption());
    }

    use crate::cell::attrs::ConstraintOp;
    use crate::cell::resources::Resources;
    use crate::testkit::CellBuilder;

    /// A machine class: (count, cpu_milli, mem_mib, gpus, attributes).
    type Class<'a> = (u32, u64, u64, u32, &'a [(&'a str, &'a str)]);

    /// A cell of machine classes, numbered in order.
    fn cell_of(classes: &[Class]) -> Cell {
        classes
            .iter()
            .fold(CellBuilder::new(), |b, &(count, cpu, mem, gpus, attrs)| {
                b.class(count as usize, (cpu, mem, gpus), attrs)
            })
            .cell()
    }

    fn eq(cell: &mut Cell, name: &str, value: &str) -> Constraint {
        Constraint {
            name: cell.attr_table.name_id(name),
            op: ConstraintOp::Eq,
            value: cell.attr_table.value_id(value),
        }
    }

    fn req(cpu: u64, mem: u64, gpu: GpuRequest) -> Request {
        Request {
            res: Resources::new(cpu, mem),
            gpu,
        }
    }

    const ALL_UP: fn(MachineId) -> bool = |_| true;

    #[test]
    fn never_fit_names_the_constraint_and_the_short_resource() {
        // 5 big machines without ssd, 3 small ones with it, all in zone a.
        let mut cell = cell_of(&[
            (5, 96_000, 393_216, 0, &[("zone", "a")]),
            (3, 16_000, 65_536, 0, &[("zone", "a"), ("ssd", "yes")]),
        ]);
        let ssd = eq(&mut cell, "ssd", "yes");
        // Two groups of identical machines, judged once each and counted 5 and 3.
        assert_eq!(MachineGroups::of_cell(&cell, ALL_UP).groups.len(), 2);
        // 24000 mcpu on an ssd machine: the 5 big ones lack ssd (constraint),
        // the 3 with ssd have 16000 < 24000 mcpu (cpu). 5 + 3 = 8 machines.
        let r = req(24_000, 1024, GpuRequest::None);
        let nf = NeverFit::of_cell(&cell, ALL_UP, &r, &[ssd]);
        assert_eq!((nf.hosts, nf.machines), (0, 8));
        assert_eq!(nf.counts.get(Reason::ConstraintMismatch), 5);
        assert_eq!(nf.counts.get(Reason::InsufficientCpu), 3);
        assert_eq!(nf.counts.total(), 8);
        assert_eq!(
            nf.describe(&cell.attr_table),
            "no machine could ever host it (0/8 machines, even empty): \
             constraint_mismatch ssd=yes: 5; \
             insufficient_cpu: 3 (needs 24000 cpu_milli; these have at most 16000)"
        );
        assert!(!cell.could_ever_host(&r, &[ssd]));
        // zone=b: no machine is in zone b, so all 8 fail the constraint.
        let zone_b = eq(&mut cell, "zone", "b");
        let nf = NeverFit::of_cell(&cell, ALL_UP, &r, &[zone_b]);
        assert_eq!(
            nf.clauses(&cell.attr_table),
            vec!["constraint_mismatch zone=b: 8"]
        );
    }

    #[test]
    fn each_machine_counts_once_under_its_first_failing_check() {
        // Machines: 2 in zone a without ssd, 1 in zone b with ssd (small),
        // 1 in zone a with ssd (big).
        let mut cell = cell_of(&[
            (2, 8000, 8192, 0, &[("zone", "a")]),
            (1, 2000, 8192, 0, &[("zone", "b"), ("ssd", "yes")]),
            (1, 8000, 4096, 0, &[("zone", "a"), ("ssd", "yes")]),
        ]);
        let (zone_a, ssd) = (eq(&mut cell, "zone", "a"), eq(&mut cell, "ssd", "yes"));
        // Constraints [zone=a, ssd=yes], request 4000 mcpu / 6000 MiB:
        // machines 0, 1: zone a, no ssd -> the 2nd constraint (ssd=yes);
        // machine 2: zone b -> the 1st (zone=a), even though it is also
        // small; machine 3: both constraints hold, 4096 < 6000 MiB -> memory.
        let r = req(4000, 6000, GpuRequest::None);
        let nf = NeverFit::of_cell(&cell, ALL_UP, &r, &[zone_a, ssd]);
        assert_eq!(nf.by_constraint, vec![(zone_a, 1), (ssd, 2)]);
        assert_eq!(nf.counts.get(Reason::ConstraintMismatch), 3);
        assert_eq!(nf.counts.get(Reason::InsufficientMemory), 1);
        assert_eq!(
            nf.clauses(&cell.attr_table),
            vec![
                "constraint_mismatch zone=a: 1",
                "constraint_mismatch ssd=yes: 2",
                "insufficient_memory: 1 (needs 6000 mem_mib; these have at most 4096)",
            ]
        );
    }

    #[test]
    fn down_machines_are_their_own_reason_after_constraints() {
        // 4 machines of 4000 mcpu; 0 and 1 in zone a, 2 and 3 in zone b.
        let mut cell = cell_of(&[
            (2, 4000, 4096, 0, &[("zone", "a")]),
            (2, 4000, 4096, 0, &[("zone", "b")]),
        ]);
        let zone_b = eq(&mut cell, "zone", "b");
        let down = |m: MachineId| m == 0 || m == 2;
        // 6000 mcpu in zone b: machine 0 (down, zone a) fails the
        // constraint first; machine 2 (down, zone b) is machine_down and
        // too small anyway; machine 3 (up) is short of cpu: 1 + 1 + 1 + 1.
        let big = req(6000, 1, GpuRequest::None);
        let nf = NeverFit::of_cell(&cell, |m| !down(m), &big, &[zone_b]);
        assert_eq!(nf.counts.get(Reason::ConstraintMismatch), 2);
        assert_eq!(nf.counts.get(Reason::MachineDown), 1);
        assert_eq!(nf.counts.get(Reason::InsufficientCpu), 1);
        assert_eq!(
            nf.describe(&cell.attr_table),
            "no machine could ever host it (0/4 machines, even empty): \
             constraint_mismatch zone=b: 2; machine_down: 1 (could not host it even when up); \
             insufficient_cpu: 1 (needs 6000 cpu_milli; these have at most 4000)"
        );
        // 1000 mcpu fits machine 2 once it is up, and machine 3 now.
        let small = req(1000, 1, GpuRequest::None);
        let nf = NeverFit::of_cell(&cell, |m| !down(m), &small, &[zone_b]);
        assert_eq!((nf.hosts, nf.down_but_would_fit), (1, 1));
        assert!(nf
            .describe(&cell.attr_table)
            .starts_with("1/4 machines could host it empty"));
    }

    #[test]
    fn gpus_are_compared_in_devices() {
        // 2 machines with 1 GPU, 1 without; plenty of cpu and memory.
        let cell = cell_of(&[(2, 8000, 8192, 1, &[]), (1, 8000, 8192, 0, &[])]);
        // Two whole GPUs: every machine has fewer than 2 devices; the most is 1.
        let nf = NeverFit::of_cell(&cell, ALL_UP, &req(1, 1, GpuRequest::Whole(2)), &[]);
        assert_eq!(
            nf.clauses(&cell.attr_table),
            vec!["insufficient_gpu: 3 (needs 2 whole GPUs; these have at most 1)"]
        );
        // A share fits any machine with a device: the 2 with one.
        let share = req(1, 1, GpuRequest::Share(500));
        let nf = NeverFit::of_cell(&cell, ALL_UP, &share, &[]);
        assert_eq!((nf.hosts, nf.counts.get(Reason::InsufficientGpu)), (2, 1));
        assert!(nf.clauses(&cell.attr_table)[0].contains("a 500-milli share of one GPU"));
    }

    #[test]
    fn never_fit_agrees_with_could_ever_host() {
        // Every combination of cpu (1000..=5000), memory and GPU against a
        // mixed cell: no host exactly when the cell says no machine could.
        let mut cell = cell_of(&[
            (1, 2000, 2048, 0, &[("arch", "x86")]),
            (1, 4000, 1024, 2, &[("arch", "arm")]),
        ]);
        let arm = eq(&mut cell, "arch", "arm");
        for cpu in (1000..=5000).step_by(1000) {
            for mem in [512, 1536, 4096] {
                for gpu in [
                    GpuRequest::None,
                    GpuRequest::Whole(2),
                    GpuRequest::Share(10),
                ] {
                    for cons in [&[][..], &[arm][..]] {
                        let r = req(cpu, mem, gpu);
                        let nf = NeverFit::of_cell(&cell, ALL_UP, &r, cons);
                        assert_eq!(nf.hosts > 0, cell.could_ever_host(&r, cons), "{r:?}");
                        assert_eq!(nf.counts.total() + nf.hosts, 2);
                    }
                }
            }
        }
    }
}
