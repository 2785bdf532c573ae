//! Why a compaction has no answer, for a person: the whole cell's verdict
//! when the workload does not fit it, and the message that says what to
//! change, as flags or as a scenario's keys. Apart from `mod.rs`, which
//! runs the compaction.

use super::fit::{FitRule, Verdict, WorkloadKind};

/// The whole cell's verdict when the workload does not fit it.
#[derive(Debug)]
pub struct NoFit {
    pub machines: u32,
    pub rule: FitRule,
    pub verdict: Verdict,
    /// The cell was grown (`[compaction] grow`) to `machines`, 4× its
    /// size, and still did not hold the workload.
    pub grown: bool,
    /// The cell could grow: a synthetic cell, not a trace replay's (whose
    /// machines are the trace's, `grow::check`).
    pub can_grow: bool,
    /// Which of several compactions it was, when one command runs several
    /// (an experiment's variant and cell), said before the verdict.
    pub within: Option<String>,
}

/// How a message names what the user can change: the command line's
/// flags (with the scenario's keys), or the scenario's keys alone, for a
/// sweep's run, whose settings are its scenario's keys and the sweep's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Settings {
    Flags,
    Keys,
}

impl NoFit {
    /// The message: why the workload does not fit, and what to change,
    /// named as `settings` says — only what can apply (a trace replay's
    /// cell cannot grow).
    pub fn message(&self, settings: Settings) -> String {
        let machines = crate::report::html::count(u64::from(self.machines));
        let why = self.verdict.why_not(&self.rule);
        let mut loosen = vec!["picky_share"];
        if self.rule.workload == WorkloadKind::WithTime {
            loosen.extend(["prod_wait_p90_s", "nonprod_wait_p90_s"]);
        }
        if self.rule.oom_kill_share.is_some() {
            loosen.push("oom_kill_share");
        }
        let loosen = match settings {
            Settings::Flags => format!("[compaction] ({})", loosen.join(", ")),
            Settings::Keys => loosen
                .iter()
                .map(|k| format!("compaction.{k}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let within = self
            .within
            .as_ref()
            .map_or(String::new(), |w| format!("{w}: "));
        if self.grown {
            return format!(
                "{within}the workload does not fit even the cell grown to 4× its machine mix \
                 ({machines} machines): {why}. Loosen {loosen}, or look at what never fits \
                 (borgsim validate)"
            );
        }
        let fixes = match (self.can_grow, settings) {
            (false, _) => format!(
                "a trace replay's cell cannot grow (its machines are the trace's): loosen {loosen}"
            ),
            (true, Settings::Flags) => format!(
                "grow the cell by its machine mix until it fits (--grow, [compaction] grow = \
                 true), add machines, or loosen {loosen}"
            ),
            (true, Settings::Keys) => format!(
                "grow the cell by its machine mix until it fits (compaction.grow = true), add \
                 machines, or loosen {loosen}"
            ),
        };
        format!(
            "{within}the workload does not fit even the whole cell of {machines} machines: \
             {why}. Compaction can only remove machines: {fixes}"
        )
    }
}
