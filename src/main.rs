//! The `borgsim` binary: parses the command line and hands over to `cli`.

mod cli;

use clap::Parser;

fn main() {
    let code = cli::main_with(cli::Cli::parse());
    std::process::exit(code);
}
