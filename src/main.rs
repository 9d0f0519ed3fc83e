use clap::Parser;
use layerlens::cli::{self, Cli};
use std::io::IsTerminal;

fn main() {
    let args = Cli::parse();
    if args.global.default_config {
        print!("{}", layerlens::tui::keymap::DEFAULT_CONFIG);
        return;
    }
    match args.global.daemon_read.parse() {
        Ok(mode) => layerlens::source::set_daemon_read(mode),
        Err(e) => {
            eprintln!("layerlens: error: {e}");
            std::process::exit(2);
        }
    }
    let code = match args.command {
        // Without --format on a terminal, a diff opens the explorer's diff mode.
        Some(cli::Command::Diff {
            a,
            b,
            format: None,
            output: None,
            ..
        }) if std::io::stdout().is_terminal() => cli::expand_shorthand(&a, &b)
            .and_then(|b| platform(&args.global).map(|p| (b, p)))
            .and_then(|(b, p)| {
                layerlens::tui::run_start(layerlens::tui::Start::Diff(a, b), p, cli::sample_path())
            }),
        // A build on a terminal opens the diff of the tag's old and new images.
        Some(cli::Command::Build {
            format: None,
            args: build_args,
        }) if std::io::stdout().is_terminal() => {
            cli::build(&build_args).and_then(|outcome| match outcome {
                cli::BuildOutcome::Compare { old, new } => platform(&args.global).and_then(|p| {
                    layerlens::tui::run_start(
                        layerlens::tui::Start::Diff(old, new),
                        p,
                        cli::sample_path(),
                    )
                }),
                cli::BuildOutcome::Message(m) => {
                    eprintln!("layerlens: {m}");
                    Ok(0)
                }
            })
        }
        Some(cmd) => cli::run_command(cmd, &args.global),
        None => platform(&args.global).and_then(|platform| {
            layerlens::tui::run(args.image.clone(), platform, cli::sample_path())
        }),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            let msg = e.to_string();
            eprintln!(
                "layerlens: error: {}",
                layerlens::report::escape_controls(&msg).replace('\n', " ")
            );
            std::process::exit(2);
        }
    }
}

fn platform(
    g: &cli::Global,
) -> layerlens::error::Result<Option<layerlens::source::layout::Platform>> {
    g.platform
        .as_deref()
        .map(layerlens::source::layout::Platform::parse)
        .transpose()
}
