use clap::Parser;
use layerlens::cli::{self, Cli};

fn main() {
    let args = Cli::parse();
    let code = match args.command {
        Some(cmd) => cli::run_command(cmd, &args.global),
        None => {
            // Until the explorer lands: a text report of the image or the sample.
            let image = args.image.clone().unwrap_or_else(|| {
                let p = cli::sample_path();
                format!("docker-archive:{}", p.display())
            });
            cli::run_command(
                cli::Command::Report {
                    image,
                    format: cli::Format::Text,
                    output: None,
                },
                &args.global,
            )
        }
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("layerlens: error: {e}");
            std::process::exit(2);
        }
    }
}
