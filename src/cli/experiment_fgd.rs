//! `borgsim experiment fgd [SCENARIO] [--traces LIST,...] [--seeds
//! 42..51] [--policies P,...]`: the command line of
//! `borgsim::experiment::fgd` — the FGD paper's experiment, every policy
//! × pod list × seed replayed one by one in parallel. Writes `fgd.json`,
//! `fgd.csv`, `report.html` and `run.json` whole, and prints the table at
//! 100 % arrived beside the published figures.
//!
//! Bad input exits 2 before anything runs: a capacity experiment's flag
//! (`--parts`, `--hole-size`, `--policy`, `--seed`, `--trials`,
//! `--search`, `--grow`, the fit rule's), a bad seed range, a policy or pod
//! list named twice, a `--traces` path that is not a pod list file (a
//! node list, a directory). `--max-events` and `--max-attempts` are
//! applied to each replay as it runs (exit 2 once one goes past).

use super::compact::{Caller, CompactionArgs};
use super::experiment::ExperimentArgs;
use super::{check_estimate, say};
use borgsim::error::Error;
use borgsim::experiment::fgd::{self, FgdResult, PodList};
use borgsim::experiment::fgd_published::{POLICIES, TRACES};
use borgsim::metrics::report::{OutputKind, RunDir, RunInfo};
use borgsim::report::Plots;
use borgsim::scenario::Scenario;
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The scenario `experiment fgd` replays when none is given.
pub const DEFAULT_SCENARIO: &str = "scenarios/openb.toml";

/// `experiment fgd`'s own flags.
#[derive(Args, Debug)]
pub struct FgdArgs {
    /// fgd: the pod lists, each a name (`openb_pod_list_NAME.csv` beside
    /// the scenario's last trace file, which each replaces) or a CSV path
    /// [default: default, cpu100, gpushare60, multigpu30, gpuspec20].
    #[arg(long, value_delimiter = ',', value_name = "LIST,...")]
    pub traces: Vec<String>,
    /// fgd: the seeds, FIRST..LAST (both included) or S,S,...
    /// [default: 42..51].
    #[arg(long, value_name = "FIRST..LAST|S,S,...")]
    pub seeds: Option<String>,
}

/// The seeds of `--seeds`: `42..51` (both ends included) or `1,5,9`.
///
/// # Errors
/// Not numbers, an empty range, more than 10,000 seeds, a seed twice.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a seed (a whole number)"))
    };
    let seeds: Vec<u64> = match s.split_once("..") {
        Some((a, b)) => {
            for (end, what) in [(a, "FIRST"), (b, "LAST")] {
                if end.trim().is_empty() {
                    return Err(format!(
                        "{s:?}: {what} is missing (expected FIRST..LAST, both included)"
                    ));
                }
            }
            let (a, b) = (num(a)?, num(b)?);
            if b < a || b - a >= 10_000 {
                return Err(format!(
                    "{s}: expected FIRST..LAST with FIRST ≤ LAST, at most 10,000 seeds"
                ));
            }
            (a..=b).collect()
        }
        None => s.split(',').map(num).collect::<Result<_, _>>()?,
    };
    if let Some(i) = (1..seeds.len()).find(|&i| seeds[..i].contains(&seeds[i])) {
        return Err(format!("seed {} is listed twice", seeds[i]));
    }
    Ok(seeds)
}

/// A capacity experiment given `--traces` or `--seeds`: bad input.
///
/// # Errors
/// [`Error::Invalid`] naming the flag.
pub(super) fn refuse_fgd_flags(args: &ExperimentArgs) -> Result<(), Error> {
    let flag = if !args.fgd.traces.is_empty() {
        "--traces"
    } else if args.fgd.seeds.is_some() {
        "--seeds"
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        path: args.scenario.clone().unwrap_or_default(),
        key: flag.into(),
        message: "applies to the fgd experiment only".into(),
    })
}

/// The flags that belong to the capacity experiments: bad input here.
/// (`--max-events` and `--max-attempts` apply, to each replay as it runs;
/// `--max-memory` to the scenario before its trace and to the threads.)
fn refuse_capacity_flags(args: &ExperimentArgs, origin: &Path) -> Result<(), Error> {
    let c: &CompactionArgs = &args.c;
    let f = &c.fit;
    let given = [
        ("--parts", args.parts.is_some()),
        ("--hole-size", args.hole_size.is_some()),
        ("--policy", c.policy.is_some()),
        ("--seed", c.seed.is_some()),
        ("--trials", c.trials.is_some()),
        ("--percentile", c.percentile.is_some()),
        ("--search", c.search.is_some()),
        ("--grow", c.grow),
        ("--verify-above", c.verify_above.is_some()),
        ("--picky-share", f.picky_share.is_some()),
        ("--relax-large-jobs", f.relax_large_jobs.is_some()),
        ("--relax-above-share", f.relax_above_share.is_some()),
        ("--prod-wait-p90-s", f.prod_wait_p90_s.is_some()),
        ("--nonprod-wait-p90-s", f.nonprod_wait_p90_s.is_some()),
        ("--oom-kill-share", f.oom_kill_share.is_some()),
    ];
    match given.iter().find(|(_, g)| *g) {
        Some((flag, _)) => Err(Error::Invalid {
            path: origin.to_path_buf(),
            key: (*flag).into(),
            message: "does not apply to the fgd experiment (nothing is compacted: its runs are \
                      whole replays, seeds with --seeds, policies with --policies)"
                .into(),
        }),
        None => Ok(()),
    }
}

/// `file`, named on the command line as a pod list, checked to be one: a
/// file (not a directory) whose header has the pod list's column `name`
/// (a node list has `sn`).
fn check_pod_list(file: &Path) -> Result<(), String> {
    use std::io::{BufRead, Read};
    let shown = file.display();
    if file.is_dir() {
        return Err(format!(
            "{shown} is a directory; expected an openb pod list (a CSV file)"
        ));
    }
    let source = borgsim::trace::Source::File(file.to_path_buf());
    let read = borgsim::trace::input::open_file(&source).map_err(|e| e.to_string())?;
    let mut header = String::new();
    let mut r = std::io::BufReader::new(read).take(64 * 1024);
    r.read_line(&mut header)
        .map_err(|e| format!("{shown}: {e} (expected an openb pod list, a CSV file)"))?;
    let columns: Vec<&str> = header.trim_end().split(',').map(str::trim).collect();
    let has = |c: &str| columns.contains(&c);
    match (has("name"), has("sn")) {
        (true, false) => Ok(()),
        (false, true) => Err(format!(
            "{shown} is an openb node list (a column `sn`), not a pod list (a column `name`)"
        )),
        _ => Err(format!(
            "{shown}: its header is not an openb pod list's (expected a column `name`)"
        )),
    }
}

/// The pod lists of `--traces`: a name beside the scenario's last trace
/// file, or a path (absolute, or relative to the working directory).
fn pod_lists(args: &ExperimentArgs, sc: &Scenario, origin: &Path) -> Result<Vec<PodList>, Error> {
    let bad = |message: String| Error::Invalid {
        path: origin.to_path_buf(),
        key: "--traces".into(),
        message,
    };
    let names: Vec<String> = if args.fgd.traces.is_empty() {
        TRACES.iter().map(|t| (*t).to_string()).collect()
    } else {
        args.fgd.traces.clone()
    };
    let last = sc.trace.as_ref().and_then(|t| t.files.last());
    let dir = last.and_then(|f| f.parent()).unwrap_or(Path::new(""));
    let mut lists: Vec<PodList> = Vec::new();
    for n in names {
        let list = if n.contains('/') || n.ends_with(".csv") {
            let file = std::path::absolute(&n).map_err(|e| bad(format!("{n}: {e}")))?;
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
            let stem = stem.unwrap_or_else(|| n.clone());
            let name = stem
                .strip_prefix("openb_pod_list_")
                .unwrap_or(&stem)
                .to_string();
            check_pod_list(&file).map_err(&bad)?;
            PodList { name, file }
        } else {
            let file = dir.join(format!("openb_pod_list_{n}.csv"));
            PodList { name: n, file }
        };
        if lists.iter().any(|l| l.name == list.name) {
            return Err(bad(format!("{} is listed twice", list.name)));
        }
        lists.push(list);
    }
    Ok(lists)
}

/// The experiment's options from the flags.
fn options(args: &ExperimentArgs, sc: &Scenario, origin: &Path) -> Result<fgd::Options, Error> {
    refuse_capacity_flags(args, origin)?;
    let bad = |key: &str, message: String| Error::Invalid {
        path: origin.to_path_buf(),
        key: key.into(),
        message,
    };
    let seeds = parse_seeds(args.fgd.seeds.as_deref().unwrap_or("42..51"))
        .map_err(|m| bad("--seeds", m))?;
    if let Some(m) = borgsim::experiment::policies_problem(&args.policies) {
        return Err(bad("--policies", m));
    }
    let policies = if args.policies.is_empty() {
        POLICIES.to_vec()
    } else {
        args.policies.clone()
    };
    Ok(fgd::Options {
        traces: pod_lists(args, sc, origin)?,
        seeds,
        policies,
        threads: 1,
        guards: fgd::Guards::NONE,
    })
}

pub fn main(args: &ExperimentArgs) -> Result<(), Error> {
    let origin = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SCENARIO));
    let sc = super::load_scenario(&origin)?;
    let mut o = options(args, &sc, &origin)?;
    let limits = args.c.limits.resolve();
    let est = check_estimate(&sc, &origin, &limits)?;
    o.guards = fgd::Guards {
        events: limits.events,
        attempts: limits.attempts,
    };
    o.threads = super::compact::threads(&args.c, est.memory_bytes, limits.memory_bytes);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-fgd", sc.name)));
    let kind = OutputKind {
        what: "experiment",
        marker: "fgd.json",
    };
    let dir = RunDir::create_for(&out, kind, std::slice::from_ref(&origin))?;
    let loud = !args.c.quiet && std::io::stderr().is_terminal();
    let result = run_into(&dir, &sc, &o, Plots::wanted(!args.c.no_plots), &|p| {
        if loud {
            eprint!("\rexperiment fgd: {}/{} runs   ", p.runs_done, p.runs);
        }
    });
    if loud {
        eprintln!();
    }
    let (r, wall) = result?;
    dir.publish()?;
    if !args.c.quiet {
        say(&human(&r, &out, wall, o.threads));
    }
    Ok(())
}

/// Runs the experiment and writes `fgd.json`, `fgd.csv`, `run.json` and
/// `report.html` into `dir`; returns the result and its wall time, s.
#[expect(
    clippy::disallowed_methods,
    reason = "the experiment's wall time, for run.json and the terminal, not deterministic by design"
)]
fn run_into(
    dir: &RunDir,
    sc: &Scenario,
    o: &fgd::Options,
    plots: Plots,
    progress: &(dyn Fn(fgd::Progress) + Sync),
) -> Result<(FgdResult, f64), Error> {
    let started = Instant::now();
    let cpu = Caller::CommandLine.cpu();
    let cpu_started = cpu.now();
    let r = fgd::run(sc, o, progress)?;
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo::completed(wall, cpu.since(cpu_started), r.events_processed);
    dir.write_json("fgd.json", &r)?;
    dir.write_json("run.json", &run)?;
    borgsim::report::fgd::write_csv(dir.path(), &r)?;
    borgsim::report::fgd::write(dir.path(), &r, plots)?;
    Ok((r, wall))
}

/// The table at 100 % arrived for a person: a line per pod list, a
/// column per policy, "mean ± sd (published)".
fn human(r: &FgdResult, out: &Path, wall: f64, threads: usize) -> String {
    let mut s = format!(
        "experiment fgd on {}: {} runs ({} policies × {} pod lists × {} seeds) on {}, {:.1} s wall\n\
         GPU allocated at 100 % of GPU demand arrived, % (the paper's metric{})\n",
        r.scenario,
        r.runs.len(),
        r.policies.len(),
        r.traces.len(),
        r.seeds.len(),
        super::counted(threads, "thread"),
        wall,
        match r.published_withheld {
            None => "; published in brackets",
            Some(_) => "",
        },
    );
    if let Some(why) = &r.published_withheld {
        s += &format!("  (no published figures: {why})\n");
    }
    s += &format!("  {:<12}", "pod list");
    for p in &r.policies {
        s += &format!(" {:>22}", p.name());
    }
    s += "\n";
    for t in &r.traces {
        s += &format!("  {t:<12}");
        for &p in &r.policies {
            let w = r
                .table
                .iter()
                .find(|w| w.policy == p && w.trace == *t && w.demand_pct == 100);
            s += &format!(" {:>22}", w.map(cell).unwrap_or_default());
        }
        s += "\n";
    }
    s + &format!("outputs in {}/", out.display())
}

/// "95.22 ± 0.12 (95.23)".
fn cell(w: &fgd::Row) -> String {
    let mut c = match w.gpu_alloc_pct {
        Some(s) => match s.sd {
            Some(sd) => format!("{:.2} ± {sd:.2}", s.mean),
            None => format!("{:.2}", s.mean),
        },
        None => "—".into(),
    };
    if let Some(m) = w.published_gpu_alloc_pct_mean {
        c += &format!(" ({m:.2})");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_as_a_range_or_a_list() {
        assert_eq!(
            parse_seeds("42..51").unwrap(),
            (42..=51).collect::<Vec<_>>()
        );
        assert_eq!(parse_seeds("7").unwrap(), [7]);
        assert_eq!(parse_seeds("3,1").unwrap(), [3, 1]);
        assert!(parse_seeds("51..42").is_err());
        assert!(parse_seeds("1,1").unwrap_err().contains("twice"));
        assert!(parse_seeds("a..3").is_err());
        // An open range names the missing end.
        assert!(parse_seeds("42..").unwrap_err().contains("LAST is missing"));
        assert!(parse_seeds("..42")
            .unwrap_err()
            .contains("FIRST is missing"));
    }
}
