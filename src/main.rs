use clap::Parser;
use layerlens::cli::{self, Cli};

fn main() {
    let args = Cli::parse();
    let code = match args.command {
        Some(cmd) => cli::run_command(cmd, &args.global),
        None => args
            .global
            .platform
            .as_deref()
            .map(layerlens::source::layout::Platform::parse)
            .transpose()
            .and_then(|platform| {
                layerlens::tui::run(args.image.clone(), platform, cli::sample_path())
            }),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("layerlens: error: {e}");
            std::process::exit(2);
        }
    }
}
