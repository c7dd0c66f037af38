//! The `quarry` command: serves Bedrock Runtime, the Bedrock control plane and S3 on one port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use quarry::config::{self, Config, Flags, LogFormat};

/// Exit status for a configuration that cannot be served (the same as for bad command-line usage).
const EXIT_BAD_CONFIG: u8 = 2;
/// Exit status for a failure while starting or serving.
const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "quarry",
    version,
    about = "A gateway that speaks AWS Bedrock and S3 exactly as AWS does",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `quarry [FLAGS]` is `quarry serve [FLAGS]`.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gateway (the default).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Configuration file (TOML); without one, the embedded default: the mock provider, no auth.
    #[arg(long, env = "QUARRY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `[server] listen` and QUARRY_LISTEN).
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Directory for the gateway's state, created if missing (overrides QUARRY_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// `pretty` or `json` (overrides QUARRY_LOG_FORMAT).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// TLS certificate chain, PEM (with --tls-key; serves HTTPS).
    #[arg(long, value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with --tls-cert).
    #[arg(long, value_name = "PEM")]
    tls_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let flags = Flags {
        listen: args.listen,
        data_dir: args.data_dir,
        log_format: args.log_format,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
    };
    let config = match config::load_from_process(args.config.as_deref(), &flags) {
        Ok(config) => config,
        Err(e) => {
            // Logging is configured by the file, so this one goes straight to stderr.
            eprintln!("{e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    init_logging(config.server.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(serve(config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal, so log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let gateway = quarry::app::gateway(&config)?;
    quarry::server::run(&config, gateway).await?;
    Ok(())
}
