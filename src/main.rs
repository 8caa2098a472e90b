//! The `mcp-gateway` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mcp_gateway::cli::Cli::parse();
    mcp_gateway::cli::main(cli)
}
