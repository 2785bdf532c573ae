//! Growing a cell that is too small for its workload, so that compaction
//! still answers the planner's question — how many machines does this
//! workload need? — when the answer is more than the cell has.
//!
//! Borg's compaction only removes machines (§5.1), so a workload that does
//! not fit its whole cell has no answer. With `[compaction] grow = true`
//! (`--grow`), the cell is first grown by its own machine mix: every
//! `[[cell.machines]]` entry's count multiplied by 9/8, 10/8, … up to 4×
//! (rounded up), each grown cell simulated whole, until the workload fits;
//! compaction then runs on that grown cell as on any other. The assumption
//! is the planner's usual one — more machines like those there are — and
//! the grown cells, their verdicts and the factor are recorded in
//! `compaction.json` (`grown`), so the answer is never read as a
//! compaction of the cell as written.
//!
//! Only a synthetic cell can grow: a trace replay's machines are the
//! trace's (its machine events add and remove them).

use super::fit::FitRule;
use super::{run_whole, CompactError, NoFit, ProbeRecord, WholeRun};
use crate::error::Error;
use crate::scenario::Scenario;
use crate::workload::edit::WorkloadEdit;
use serde::Serialize;

/// Growth steps are eighths of the cell's machine mix: 9/8 (12.5 % more
/// machines) first.
pub const STEP_EIGHTHS: u32 = 1;
/// At most 4× the cell (32 eighths).
pub const MAX_EIGHTHS: u32 = 32;

/// How the cell was grown before it was compacted (`compaction.json`'s
/// `grown`).
#[derive(Debug, Serialize)]
pub struct Growth {
    /// The scenario's cell, as written.
    pub from_machines: u32,
    /// The grown cell that was compacted: the first step on which the
    /// workload fits.
    pub to_machines: u32,
    /// Each machine class's count was multiplied by this (eighths: 1.125,
    /// 1.25, …) and rounded up.
    pub factor: f64,
    /// The whole grown cells simulated, smallest first; the last fits.
    pub probes: Vec<ProbeRecord>,
}

/// The grown scenario, its fit rule and whole-cell run, and the record.
pub(super) struct Grown {
    pub scenario: Scenario,
    pub rule: FitRule,
    pub whole: WholeRun,
    pub growth: Growth,
}

/// A trace replay's cell cannot grow: its machines are the trace's.
///
/// # Errors
/// [`Error::Invalid`] naming `compaction.grow`.
pub fn check(sc: &Scenario) -> Result<(), Error> {
    let grow = sc.compaction.is_some_and(|c| c.grow);
    if !grow || sc.trace.is_none() {
        return Ok(());
    }
    Err(Error::Invalid {
        path: std::path::PathBuf::from(&sc.name),
        key: "compaction.grow".into(),
        message: "only a synthetic cell can grow: a trace replay's machines are the trace's".into(),
    })
}

/// `sc` with every machine class's count × `eighths` / 8, rounded up.
pub fn grown(sc: &Scenario, eighths: u32) -> Scenario {
    let mut g = sc.clone();
    for m in &mut g.cell.machines {
        let n = u64::from(m.count) * u64::from(eighths);
        m.count = u32::try_from(n.div_ceil(8)).unwrap_or(u32::MAX);
    }
    g
}

/// Grows `sc`'s cell, which the workload (edited by `edit`) does not fit
/// with `from` machines, step by step until it fits (see the module doc).
///
/// # Errors
/// [`CompactError::Run`] when tasks no machine of the mix can host are
/// more than the picky share (`compaction.grow` named), or a probe fails;
/// [`CompactError::DoesNotFit`] if it does not fit at 4×.
pub(super) fn grow(
    sc: &Scenario,
    edit: WorkloadEdit,
    from: u32,
    first: &WholeRun,
) -> Result<Grown, CompactError> {
    let refuse = |message: String| {
        CompactError::Run(Error::Invalid {
            path: std::path::PathBuf::from(&sc.name),
            key: "compaction.grow".into(),
            message,
        })
    };
    // Tasks no machine of the mix can ever host stay pending on any
    // number of such machines.
    let never = first.summary.tasks.never_schedulable;
    if never > first.verdict.picky_allowed_tasks {
        return Err(refuse(format!(
            "{never} tasks fit no machine of the cell's mix (borgsim validate names their \
             jobs), more than the {} that picky_share allows: more machines like these \
             cannot place them",
            first.verdict.picky_allowed_tasks
        )));
    }
    let cfg = sc.compaction.unwrap_or_default();
    let mut probes = Vec::new();
    let mut eighths = 8;
    loop {
        eighths += STEP_EIGHTHS;
        let scenario = grown(sc, eighths);
        let machines: u32 = scenario.cell.machines.iter().map(|m| m.count).sum();
        let rule = FitRule::for_scenario(&cfg, &scenario, machines as usize);
        let whole = run_whole(&scenario, &rule, edit)?;
        probes.push(ProbeRecord::of(machines, &whole.verdict));
        if whole.verdict.fits {
            let growth = Growth {
                from_machines: from,
                to_machines: machines,
                factor: f64::from(eighths) / 8.0,
                probes,
            };
            return Ok(Grown {
                scenario,
                rule,
                whole,
                growth,
            });
        }
        if eighths >= MAX_EIGHTHS {
            return Err(CompactError::DoesNotFit(Box::new(NoFit {
                machines,
                rule,
                verdict: whole.verdict,
                grown: true,
                can_grow: true,
                within: None,
            })));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_by_eighths_rounded_up() {
        let mut sc = Scenario::builtin("quickstart").unwrap().unwrap();
        sc.cell.machines[0].count = 200;
        sc.cell.machines[1].count = 50;
        // 200 × 9/8 = 225; 50 × 9/8 = 56.25 → 57.
        let g = grown(&sc, 9);
        assert_eq!(g.cell.machines[0].count, 225);
        assert_eq!(g.cell.machines[1].count, 57);
        // 4×: 800 and 200, exactly.
        let g = grown(&sc, MAX_EIGHTHS);
        assert_eq!(g.cell.machines[0].count, 800);
        assert_eq!(g.cell.machines[1].count, 200);
        // Nothing else changes.
        assert_eq!(g.workload.jobs.len(), sc.workload.jobs.len());
        assert_eq!(g.seed, sc.seed);
    }

    fn no_fit(can_grow: bool) -> NoFit {
        use crate::compact::fit::{Check, FitRule, Verdict, WorkloadKind};
        let cfg = crate::scenario::CompactionConfig::default();
        NoFit {
            machines: 10,
            rule: FitRule::new(&cfg, WorkloadKind::Static, 10),
            verdict: Verdict {
                fits: false,
                submitted_tasks: 100,
                unplaced_tasks: 50,
                picky_allowed_tasks: 0,
                prod_wait_p90_us: None,
                nonprod_wait_p90_us: None,
                failed: vec![Check::Unplaced],
                pending_by_band: std::collections::BTreeMap::new(),
                dropped_tasks: 0,
                usage: None,
            },
            grown: false,
            can_grow,
            within: None,
        }
    }

    #[test]
    fn a_cell_that_does_not_fit_is_told_to_grow_only_where_it_can_in_its_users_terms() {
        use crate::compact::Settings;
        let flags = no_fit(true).message(Settings::Flags);
        assert!(flags.contains("--grow"), "{flags}");
        // A sweep's run has no flags: its keys only.
        let keys = no_fit(true).message(Settings::Keys);
        assert!(!keys.contains("--"), "{keys}");
        assert!(
            keys.contains("compaction.grow") && keys.contains("compaction.picky_share"),
            "{keys}"
        );
        // A trace replay's cell cannot grow: neither wording suggests it.
        for settings in [Settings::Flags, Settings::Keys] {
            let m = no_fit(false).message(settings);
            assert!(!m.contains("grow ="), "{m}");
            assert!(
                m.contains("cannot grow") && m.contains("picky_share"),
                "{m}"
            );
        }
    }
}
