//! `layerlens`: parse the command line, run it, turn the outcome into an exit code.
//! Everything else lives in the library (see `src/lib.rs` for the map).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    layerlens::tune_allocator();
    match run() {
        Ok(code) => code,
        Err(e) => {
            // One line, control bytes escaped: messages may quote untrusted input.
            let msg = e.to_string();
            eprintln!(
                "layerlens: error: {}",
                layerlens::report::escape_controls(&msg).replace('\n', " ")
            );
            ExitCode::from(2)
        }
    }
}

fn run() -> layerlens::error::Result<ExitCode> {
    let args = layerlens::cli::Cli::parse();
    let code = layerlens::cli::dispatch(args)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(2)))
}
