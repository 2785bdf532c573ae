//! `[cell] from_trace`: a synthetic workload on a trace's machines.
//!
//! A trace's machine table is a real cell — Alibaba 2018's `machine_meta`
//! gives 4,034 machines in 292 `failure_domain_1` and 20
//! `failure_domain_2` domains — and studying placement across failure
//! domains wants that topology under a workload one controls. So a
//! scenario may take its cell from a trace's machine tables while its jobs
//! stay synthetic:
//!
//! ```toml
//! [cell]
//! from_trace = { format = "alibaba2018", files = ["../traces/alibaba-2018/machine_meta.csv"] }
//! ```
//!
//! The machine tables are read once, when the scenario is loaded
//! ([`Scenario::resolve_cell`]): every machine they ever mention, in order
//! of first appearance, at its largest capacity and with its first
//! attributes and domains (as a replay builds its cell). The machines become
//! ordinary machine classes — one per distinct (capacity, attributes), by
//! capacity, smallest first, as a `[trace]` replay orders its classes
//! (those of one capacity with other attributes in order of first
//! appearance), machines numbered class by class — so
//! everything that judges a scenario by its classes (`validate`'s
//! warnings, the estimate) works unchanged; each machine's rack and power
//! domain are the trace's (`trace.rack`, `trace.power`: for Alibaba
//! `failure_domain_1` and `failure_domain_2`), kept per machine because a
//! trace's levels need not nest. Machines the trace leaves without a
//! domain fill generated ones of the `[cell]` sizes. The trace's machine
//! events (removals, updates) are not replayed: every machine is up.

use super::model::{Base, MachineClass, Scenario};
use crate::error::{Error, Result};
use crate::trace::{ReadOptions, ReferenceMachine, Select, TraceFormat, TraceMachine};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// `cell.from_trace`: the trace whose machine tables make the cell.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellFromTrace {
    pub format: TraceFormat,
    /// The machine table files (or the trace's directory), relative to
    /// the scenario; other tables given are not read.
    pub files: Vec<PathBuf>,
    /// What normalised units are relative to (default: the format's).
    pub reference: Option<ReferenceMachine>,
    /// Skip bad rows instead of failing.
    #[serde(default)]
    pub lenient: bool,
}

/// The key errors name.
const KEY: &str = "cell.from_trace";

impl Scenario {
    /// Reads `cell.from_trace`'s machine tables into `cell.machines` and
    /// each machine's named domains; a no-op without `from_trace` or once
    /// done. [`Scenario::load`] and [`Scenario::builtin`] call it; a
    /// scenario parsed from text needs its `base` set, then this.
    ///
    /// # Errors
    /// The files cannot be found (or, for a built-in, are not embedded) or
    /// read, or they hold no machine; or a `[faults]` rule names a machine
    /// class or domain the cell read does not have (naming the scenario's
    /// file, [`Scenario::origin`], and the key).
    pub fn resolve_cell(&mut self) -> Result<()> {
        let Some(ft) = self.cell.from_trace.clone() else {
            return Ok(());
        };
        if self.cell.trace_domains.is_some() {
            return Ok(());
        }
        let rename = |e: Error| match e {
            Error::Invalid { path, message, .. } => Error::Invalid {
                path,
                key: format!("{KEY}.files"),
                message,
            },
            e => e,
        };
        let files = match &self.base {
            Base::Dir(dir) => crate::trace::replay::resolve_files(dir, &ft.files)?,
            Base::Builtin(origin) => super::embedded::resolve(origin, &ft.files).map_err(rename)?,
        };
        let read = ReadOptions {
            lenient: ft.lenient,
            reference: ft.reference,
            select: Select::MachinesOnly,
        };
        let machines = crate::trace::replay::trace_machines(ft.format, &files, &read)?;
        if machines.is_empty() {
            return Err(Error::Invalid {
                path: files
                    .first()
                    .map(|f| f.path().to_path_buf())
                    .unwrap_or_default(),
                key: KEY.into(),
                message: format!(
                    "the {} trace's machine tables hold no machine",
                    ft.format.name()
                ),
            });
        }
        let (classes, named) = classes_of(&machines);
        self.cell.machines = classes;
        self.cell.trace_domains = Some(Arc::new(named));
        // The faults' classes and domains, unknown until now.
        self.validate_faults()
            .map_err(|(key, message)| Error::Invalid {
                path: self.origin.clone(),
                key,
                message,
            })
    }
}

/// Machine classes of identical (capacity, attributes), by capacity
/// (CPU, then memory, then GPUs), smallest first — ties in order of first
/// appearance — and each machine's named domains in class-by-class order.
fn classes_of(machines: &[TraceMachine]) -> (Vec<MachineClass>, Vec<super::domains::NamedDomains>) {
    let mut classes: Vec<MachineClass> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, m) in machines.iter().enumerate() {
        let attributes: BTreeMap<String, String> = m
            .attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let same = |c: &MachineClass| {
            c.cpu_milli == m.capacity.res.cpu_milli
                && c.mem_mib == m.capacity.res.mem_mib
                && c.gpus == m.capacity.gpus
                && c.attributes == attributes
        };
        match classes.iter().position(same) {
            Some(c) => {
                classes[c].count += 1;
                members[c].push(i);
            }
            None => {
                classes.push(MachineClass {
                    count: 1,
                    cpu_milli: m.capacity.res.cpu_milli,
                    mem_mib: m.capacity.res.mem_mib,
                    gpus: m.capacity.gpus,
                    attributes,
                    rack: None,
                    power_domain: None,
                    row: None,
                });
                members.push(vec![i]);
            }
        }
    }
    // By capacity, smallest first, as a replay's classes
    // (`MachineClasses::by_capacity`); those of one capacity with other
    // attributes in order of first appearance (the sort is stable).
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by_key(|&c| (classes[c].cpu_milli, classes[c].mem_mib, classes[c].gpus));
    let classes = order.iter().map(|&c| classes[c].clone()).collect();
    let named = order
        .iter()
        .flat_map(|&c| &members[c])
        .map(|&i| super::domains::NamedDomains {
            rack: machines[i].rack.as_deref().map(str::to_string),
            row: None,
            power: machines[i].power.as_deref().map(str::to_string),
        })
        .collect();
    (classes, named)
}

#[cfg(test)]
mod tests {
    use crate::cell::domain::DomainLevel;
    use crate::scenario::Scenario;
    use std::path::Path;

    #[test]
    fn alibaba_domains_is_the_traces_topology() {
        // machine_meta: 4,034 machines, 292 failure_domain_1 and 20
        // failure_domain_2 values (counted in the file with awk; the "21"
        // often quoted counts the empty value of 34 snapshots, which the
        // reader repairs); every machine 96 cores.
        let sc = Scenario::builtin("alibaba-domains").unwrap().unwrap();
        assert_eq!(sc.cell.machines.len(), 1, "one machine class");
        assert_eq!(sc.cell.machines[0].count, 4034);
        assert_eq!(sc.cell.machines[0].cpu_milli, 96_000);
        let cell = sc.build().0;
        assert_eq!(cell.len(), 4034);
        let t = &cell.domains;
        assert_eq!(t.racks(), 292);
        assert_eq!(t.power_domains(), 20);
        assert_eq!(t.domains(DomainLevel::Row), 292, "each rack its own row");
        // The levels do not nest: some rack holds machines of two power
        // domains.
        let split = (0..cell.len()).any(|a| {
            (0..cell.len()).any(|b| t.rack_of(a) == t.rack_of(b) && t.power_of(a) != t.power_of(b))
        });
        assert!(split);
    }

    #[test]
    fn an_outages_domain_on_a_cell_from_a_trace_is_checked_once_the_cell_is_read() {
        // Parsing comes before the trace is read: the domain count is not
        // known yet, so parsing must not ask for it (it panicked); reading
        // the cell checks the domain, naming the file, the key, the level
        // and the valid range (`validate` as `run`).
        let text = crate::scenario::builtin("alibaba-domains")
            .unwrap()
            .replace("domain = 3\n", "domain = 20\n");
        let origin = Path::new("<embedded>/alibaba-domains.toml");
        let mut sc = Scenario::parse(&text, origin).unwrap();
        sc.base = crate::scenario::Base::Builtin(origin.to_path_buf());
        let e = sc.resolve_cell().unwrap_err().to_string();
        assert_eq!(
            e,
            "<embedded>/alibaba-domains.toml: faults.outages[1].domain: the cell has 20 \
             domains at level power_domain (0 to 19), got 20"
        );
    }

    #[test]
    fn a_traces_classes_go_by_capacity_smallest_first() {
        use crate::cell::resources::{Capacity, Resources};
        use crate::trace::TraceMachine;
        // Machines 0–4 of 32, 8, 32 (with an attribute), 8 and 16 cores:
        // classes 8 (machines 1, 3), 16 (4), 32 (0), 32 with ssd (2), as
        // a replay's `MachineClasses::by_capacity` ranks capacities, the
        // two of 32 cores in order of first appearance.
        let m = |key: u64, cores: u64, attrs: &[(&str, &str)]| TraceMachine {
            key,
            name: format!("m{key}").into(),
            capacity: Capacity {
                res: Resources::new(cores * 1000, 65_536),
                gpus: 0,
            },
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            rack: Some(format!("r{key}").into()),
            power: None,
        };
        let machines = [
            m(0, 32, &[]),
            m(1, 8, &[]),
            m(2, 32, &[("ssd", "yes")]),
            m(3, 8, &[]),
            m(4, 16, &[]),
        ];
        let (classes, named) = super::classes_of(&machines);
        let shape: Vec<(u64, u32, usize)> = classes
            .iter()
            .map(|c| (c.cpu_milli, c.count, c.attributes.len()))
            .collect();
        assert_eq!(
            shape,
            [(8000, 2, 0), (16_000, 1, 0), (32_000, 1, 0), (32_000, 1, 1)]
        );
        // Machines numbered class by class, each keeping its own rack.
        let racks: Vec<&str> = named.iter().map(|n| n.rack.as_deref().unwrap()).collect();
        assert_eq!(racks, ["r1", "r3", "r4", "r0", "r2"]);
    }

    fn parse(cell: &str, trace: &str) -> String {
        let text = format!(
            "name = \"t\"\nseed = 1\nduration_s = 1\n[cell]\n{cell}\n{trace}\n\
             [scheduler]\npolicy = \"best_fit\"\n"
        );
        match Scenario::parse(&text, Path::new("t.toml")) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_builtins_file_not_embedded_is_an_error_naming_the_key() {
        let text = "name = \"t\"\nseed = 1\nduration_s = 1\n[cell]\n\
                    from_trace = { format = \"alibaba2018\", files = [\"../traces/nope.csv\"] }\n\
                    [scheduler]\npolicy = \"best_fit\"\n[[workload.jobs]]\nname = \"j\"\n\
                    band = \"batch\"\ninitial_jobs = 1\ntasks = { constant = 1 }\n\
                    cpu_milli = { constant = 1 }\nmem_mib = { constant = 1 }\n";
        let origin = Path::new("<embedded>/t.toml");
        let mut sc = Scenario::parse(text, origin).unwrap();
        sc.base = crate::scenario::Base::Builtin(origin.to_path_buf());
        let e = sc.resolve_cell().unwrap_err().to_string();
        assert!(
            e.contains("cell.from_trace.files") && e.contains("not embedded"),
            "{e}"
        );
    }

    #[test]
    fn from_trace_is_checked_naming_the_key() {
        let ft = "from_trace = { format = \"alibaba2018\", files = [\"m.csv\"] }";
        let both = format!("{ft}\n[[cell.machines]]\ncount = 1\ncpu_milli = 1\nmem_mib = 1");
        assert!(
            parse(&both, "").contains("cell.machines"),
            "{}",
            parse(&both, "")
        );
        let none = "from_trace = { format = \"alibaba2018\", files = [] }";
        assert!(parse(none, "").contains("cell.from_trace.files"));
        let replay = "[trace]\nformat = \"alibaba2018\"\nfiles = [\"x\"]";
        assert!(
            parse(ft, replay).contains("cell.from_trace"),
            "{}",
            parse(ft, replay)
        );
    }
}
