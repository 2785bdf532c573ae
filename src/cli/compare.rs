//! `borgsim compare DIR... [--out DIR]`: the command line of
//! `borgsim::report::compare` — reads the runs, writes `compare.csv` and
//! `report.html` into a directory that appears whole (as a run's does),
//! and says where.

use super::say;
use borgsim::error::Error;
use borgsim::metrics::report::{OutputKind, RunDir};
use borgsim::report::{compare, Plots};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more run directories (what `borgsim run` wrote); differences
    /// are against the first.
    #[arg(required = true, num_args = 2.., value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output directory [default: reports/compare-<first>-vs-<second>…].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draw no plots: report.html with its tables only.
    #[arg(long)]
    pub no_plots: bool,
    /// Say nothing on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn main(args: CompareArgs) -> Result<(), Error> {
    let runs = compare::load_all(&args.dirs)?;
    if let Some(names) = compare::mixed_scenarios(&runs) {
        if !args.quiet {
            eprintln!(
                "warning: the runs are of different scenarios ({}): their differences \
                 mix workload and cell with the parameters",
                names.join(", ")
            );
        }
    }
    let out = args.out.unwrap_or_else(|| default_out(&runs));
    let dir = RunDir::create_for(&out, OutputKind::COMPARISON, &args.dirs)?;
    compare::write(dir.path(), &runs, Plots::wanted(!args.no_plots))?;
    dir.publish()?;
    if !args.quiet {
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        say(&format!(
            "compared {}: {}/report.html, {}/compare.csv",
            labels.join(", "),
            out.display(),
            out.display()
        ));
    }
    Ok(())
}

/// Where the comparison goes by default: `reports/compare-<a>-vs-<b>…`,
/// from the runs' labels (characters other than letters, digits, `-`, `_`
/// and `.` become `_`); past 100 characters, `reports/compare-<a>-and-<n>-more`.
fn default_out(runs: &[compare::Loaded]) -> PathBuf {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let labels: Vec<String> = runs.iter().map(|r| clean(&r.label)).collect();
    let mut name = format!("compare-{}", labels.join("-vs-"));
    if name.len() > 100 {
        name = format!("compare-{}-and-{}-more", labels[0], labels.len() - 1);
    }
    std::path::Path::new("reports").join(name)
}
