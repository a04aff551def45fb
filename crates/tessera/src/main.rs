//! The `tessera` command. It resolves arguments and configuration, then calls
//! into `tessera-server`; it holds no logic beyond that.

mod audit_trail;
mod cli;
mod commands;
mod logging;

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc took about a tenth of a token request's CPU in profiles
/// (many small, short-lived allocations across worker threads); mimalloc's
/// thread-local free lists cost a fraction of that. It is built to commit
/// memory as it is used (`.cargo/config.toml`), which keeps idle RSS low.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
