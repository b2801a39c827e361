//! The command line: one subcommand per job, errors as one line on stderr.

mod hash;
mod lab;
mod run;
mod status;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// A user-space NIC bond over AF_XDP.
#[derive(Debug, Parser)]
#[command(name = "afxdp-bond", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(Box<run::RunArgs>),
    Status(status::StatusArgs),
    Lab(Box<lab::LabArgs>),
    Hash(hash::HashArgs),
}

/// An error to report as one line (`afxdp-bond: <message>`) with a non-zero exit.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

/// Parses the command line, runs the subcommand and turns failures into one-line errors:
/// exit status 2 for a bad command line, 1 for a failure while running.
pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let names: Vec<String> = Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            eprintln!(
                "afxdp-bond: no subcommand given; the subcommands are: {} (see afxdp-bond --help)",
                names.join(", ")
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("afxdp-bond: {}", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    if !matches!(cli.command, Command::Hash(_)) {
        init_logging();
    }
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Lab(args) => lab::run(&args),
        Command::Hash(args) => hash::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("afxdp-bond: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr with a timestamp, at `info` unless `RUST_LOG` says otherwise.
fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .format_target(false)
        .init();
}

/// clap's error text (message, usage, hint, over several lines) as the message alone, on
/// one line.
fn one_line(rendered: &str) -> String {
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn clap_errors_become_one_line() {
        let text = "error: the following required arguments were not provided:\n  \
                    --policy <POLICY>\n\nUsage: afxdp-bond hash --policy <POLICY> FILE\n\n\
                    For more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "the following required arguments were not provided: --policy <POLICY>"
        );
    }
}
