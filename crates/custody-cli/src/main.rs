//! `custody`: the command-line adapter over `custody-app`.
//!
//! This crate is the only one that knows about terminals, prompts and exit statuses:
//! 0 success, 1 verification failed, 2 usage or input error, 3 environment or I/O failure.

mod cmd;
mod output;
mod passphrase;

use std::process::ExitCode;

use clap::Parser;
use custody_app::{Code, Error};

use crate::output::Output;

fn main() -> ExitCode {
    let cli = match cmd::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let out = Output::new(cli.json);
    match cmd::run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::from(err.exit_status())
        }
    }
}

/// `--help` and `--version` print and succeed; anything else is a usage error (exit 2).
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(Code::Usage.exit_status())
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let json = std::env::args().any(|a| a == "--json");
            let message = e.render().to_string();
            let first = message
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
                .to_owned();
            let err = Error::new(Code::Usage, first)
                .with_hint("Run the command with --help to see its arguments.");
            Output::new(json).error(&err);
            ExitCode::from(err.exit_status())
        }
    }
}
