//! The `quarry` command: serves Bedrock Runtime, the Bedrock control plane and S3 on one port.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use aws_smithy_http_server::routing::IntoMakeService;
use clap::{Parser, Subcommand};
use quarry::dispatch::Gateway;
use quarry::providers::ProviderId;
use quarry::providers::mock::{Mock, MockConfig};
use quarry::runtime::Runtime;
use quarry::runtime::routing::Routes;
use quarry::stubs::NotImplementedYet;

#[derive(Debug, Parser)]
#[command(
    name = "quarry",
    version,
    about = "A gateway that speaks AWS Bedrock and S3 exactly as AWS does"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gateway (the default).
    Serve(Serve),
}

#[derive(Debug, clap::Args, Default)]
struct Serve {
    /// Address to listen on.
    #[arg(long, env = "QUARRY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    let serve = match cli.command {
        Some(Command::Serve(s)) => s,
        None => Serve::default(),
    };
    let listen = serve
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let stub = Arc::new(NotImplementedYet);
    // The embedded default: Bedrock Runtime answered by the built-in mock provider.
    let mock = Arc::new(Mock::new(ProviderId::new("mock"), MockConfig::default()));
    let runtime = Arc::new(Runtime::new(Routes::single(mock)));
    let gateway = Gateway::new(runtime, stub.clone(), stub).context("building the routers")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, "quarry listening: Bedrock at /bedrock and /, S3 files at /bedrock/files");
    aws_smithy_http_server::serve::serve(listener, IntoMakeService::new(gateway))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}
