//! The `borgsim` binary: parses the command line and hands over to `cli`.

// The same guards as the library's (src/lib.rs).
#![warn(clippy::too_many_lines)]
#![warn(clippy::allow_attributes_without_reason)]

mod cli;

use clap::Parser;

fn main() {
    let code = cli::main_with(cli::Cli::parse());
    std::process::exit(code);
}
