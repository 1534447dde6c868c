//! The `switchback` binary: parse the command line, install tracing, build the runtime, run,
//! map errors to exit codes (bad config 64, check problems 1, other failures 1).

use anyhow::Context as _;
use clap::Parser;
use std::process::ExitCode;
use switchback::cli::{self, Cli, Command, LogFormatArg};
use switchback::config::{self, LogFormat};
use tracing_subscriber::EnvFilter;

/// Bad config (EX_CONFIG), as linkerd and sysexits do.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Check { config } => check(&config),
        Command::Probe { config, .. } => probe_once(&config),
        Command::Alert {
            command:
                cli::AlertCommand::Test {
                    config,
                    sink,
                    resolve,
                },
        } => alert_test(&config, sink.as_deref(), resolve),
        operator => run_operator(&operator),
    }
}

/// The error and its causes, each printed once: a cause whose text the message before it
/// already includes (`{source}` in a Display) is skipped.
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn init_tracing(format: LogFormat, level: &str) {
    // RUST_LOG wins over the config's level; hickory's per-query logs stay quiet by default.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info,hickory_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(args: cli::ServeArgs) -> ExitCode {
    // Without -c we run the loopback demo, which also needs stand-in sites to probe.
    let demo = args.config.is_none();
    let path = args.config.unwrap_or_else(cli::demo_config_path);
    let cfg = match config::load(&path, None) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let format = match args.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => cfg.log.format,
    };
    init_tracing(format, &cfg.log.level);
    tracing::info!(config = %path.display(), node = %cfg.node.id, "starting");
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            // The stand-ins die with the runtime when the node returns.
            let _stand_ins = if demo {
                let token = tokio_util::sync::CancellationToken::new();
                Some(switchback::demo::start(&switchback::demo::default_stand_ins(), token).await?)
            } else {
                None
            };
            switchback::node::serve(cfg).await?;
            Ok(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %chain(&e), "node failed");
            eprintln!("switchback: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// `switchback probe -c FILE --once`: every check once, as a table.
fn probe_once(path: &std::path::Path) -> ExitCode {
    let cfg = match config::load(path, None) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_tracing(LogFormat::Text, "warn");
    let files = match switchback::probe::defs::load_all(&cfg) {
        Ok(files) => files,
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::FAILURE;
        }
    };
    let result = runtime().and_then(|rt| {
        rt.block_on(switchback::probe::run_once(&cfg, files))
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(report) => {
            print!("{report}");
            // Scripts and the README rely on it: any check not up is a failure.
            if report.all_up() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("switchback: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// `switchback alert test`: exit 0 when every chosen sink acknowledged.
fn alert_test(path: &std::path::Path, sink: Option<&str>, resolve: bool) -> ExitCode {
    let cfg = match config::load(path, None) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_tracing(LogFormat::Text, "warn");
    let result = runtime().and_then(|rt| {
        rt.block_on(cli::alert_test(&cfg, sink, resolve))
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchback: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    match switchback::check::check(path, None) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

fn run_operator(cmd: &Command) -> ExitCode {
    init_tracing(LogFormat::Text, "warn");
    let result = runtime().and_then(|rt| {
        rt.block_on(cli::run_operator(cmd))
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchback: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}
