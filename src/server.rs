//! Serving the gateway: HTTP/1.1 and HTTP/2 (over TLS when configured), and graceful shutdown.
//!
//! [`bind`] does everything that can fail at start-up (data directory, certificate, port) so
//! `quarry serve` refuses to start rather than failing later; [`Bound::run_until`] then serves
//! until a shutdown future resolves, stops accepting, and lets in-flight requests and streams
//! finish for up to `shutdown_grace`. [`run`] is the two together with the process's signals.

use std::fs::File;
use std::future::Future;
use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, ServerConfig, TlsConfig};
use crate::dispatch::Gateway;

/// How long a client may take over the TLS handshake; bounds how long a silent client can hold
/// a connection slot (and, during shutdown, the drain).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after a failed `accept` (typically out of file descriptors), so the loop cannot spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the data directory {}: {error}", path.display())]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read the TLS certificate {}: {error}", path.display())]
    ReadCert {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the TLS certificate file {} holds no PEM certificate", path.display())]
    NoCert { path: PathBuf },
    #[error("cannot read the TLS key {}: {error}", path.display())]
    ReadKey {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the TLS key file {} holds no PEM private key", path.display())]
    NoKey { path: PathBuf },
    #[error("the TLS certificate {} and key {} are unusable: {error}", cert.display(), key.display())]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        error: rustls::Error,
    },
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// Plain HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the drain after a shutdown signal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every connection finished its requests and closed.
    Complete,
    /// `shutdown_grace` ran out; this many connections were cut off.
    GraceExpired { connections: usize },
}

/// A server that is listening but not yet serving.
pub struct Bound {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    addr: SocketAddr,
    grace: Duration,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("addr", &self.addr)
            .field("scheme", &self.scheme())
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// Prepares to serve: creates the data directory, loads the certificate and binds the port
/// (`listen` may have port 0; [`Bound::local_addr`] tells the one chosen).
pub async fn bind(config: &ServerConfig) -> Result<Bound, ServeError> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .map_err(|error| ServeError::DataDir {
            path: config.data_dir.clone(),
            error,
        })?;
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|error| ServeError::Bind {
            addr: config.listen,
            error,
        })?;
    let addr = listener.local_addr().map_err(|error| ServeError::Bind {
        addr: config.listen,
        error,
    })?;
    Ok(Bound {
        listener,
        tls,
        addr,
        grace: config.shutdown_grace,
    })
}

/// Serves `gateway` as configured until SIGINT or SIGTERM, then drains; logs start and stop.
pub async fn run(config: &Config, gateway: Gateway) -> Result<Drain, ServeError> {
    let bound = bind(&config.server).await?;
    let providers: Vec<String> = config
        .providers
        .iter()
        .map(|(id, p)| format!("{id} ({})", p.type_name()))
        .collect();
    tracing::info!(
        address = %bound.local_addr(),
        scheme = %bound.scheme(),
        providers = %providers.join(", "),
        default_provider = %config.default_provider,
        auth = %config.auth.mode_name(),
        data_dir = %config.server.data_dir.display(),
        "quarry listening: Bedrock at / and /bedrock, S3 files at /bedrock/files"
    );
    let drain = bound.run_until(gateway, shutdown_signal()).await;
    match drain {
        Drain::Complete => tracing::info!("quarry stopped: every in-flight request finished"),
        Drain::GraceExpired { connections } => tracing::warn!(
            connections,
            grace_seconds = config.server.shutdown_grace.as_secs(),
            "quarry stopped: shutdown grace expired, connections cut off"
        ),
    }
    Ok(drain)
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}

impl Bound {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn scheme(&self) -> Scheme {
        if self.tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        }
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains (see [`Drain`]).
    ///
    /// Generic over the service so tests and future middleware can wrap the [`Gateway`].
    pub async fn run_until<S, B>(self, service: S, shutdown: impl Future<Output = ()>) -> Drain
    where
        S: tower::Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.serve(service, shutdown, None).await
    }

    /// Serves on a background task; the returned handle stops it.
    pub fn spawn<S, B>(self, service: S) -> Serving
    where
        S: tower::Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let addr = self.addr;
        let scheme = self.scheme();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (closed_tx, closed) = oneshot::channel();
        let shutdown = async move {
            // A dropped handle counts as a stop request too.
            let _ = stop_rx.await;
        };
        let task = tokio::spawn(self.serve(service, shutdown, Some(closed_tx)));
        Serving {
            addr,
            scheme,
            stop: Some(stop),
            closed: Some(closed),
            task,
        }
    }

    async fn serve<S, B>(
        self,
        service: S,
        shutdown: impl Future<Output = ()>,
        on_closed: Option<oneshot::Sender<()>>,
    ) -> Drain
    where
        S: tower::Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Self {
            listener,
            tls,
            grace,
            ..
        } = self;
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                // Reap finished connection tasks so the set does not grow with every connection.
                Some(done) = connections.join_next(), if !connections.is_empty() => {
                    if done.is_err_and(|e| e.is_panic()) {
                        tracing::error!("a connection task panicked");
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Event-stream frames are small writes: with Nagle on, each one after the
                        // first waits for the client's delayed ACK (~40 ms), which is buffering.
                        if let Err(e) = stream.set_nodelay(true) {
                            tracing::debug!(%peer, error = %e, "could not disable Nagle's algorithm");
                        }
                        // Subscribed now, before any shutdown signal, so the connection cannot miss it.
                        let watcher = graceful.watcher();
                        let builder = builder.clone();
                        let service = TowerToHyperService::new(service.clone());
                        let tls = tls.clone();
                        connections.spawn(async move {
                            let result = match tls {
                                None => {
                                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                                    watcher.watch(conn).await
                                }
                                Some(acceptor) => {
                                    let Some(stream) = handshake(&acceptor, stream, peer).await else { return };
                                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                                    watcher.watch(conn).await
                                }
                            };
                            if let Err(e) = result {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        // Closing the listener is what makes new connections fail fast instead of queueing.
        drop(listener);
        if let Some(closed) = on_closed {
            let _ = closed.send(());
        }
        tracing::info!(
            connections = graceful.count(),
            grace_seconds = grace.as_secs(),
            "stopped accepting; waiting for in-flight requests"
        );
        let drained = tokio::time::timeout(grace, graceful.shutdown()).await;
        match drained {
            Ok(()) => {
                // Every watched connection has finished; the tasks are only returning now.
                while connections.join_next().await.is_some() {}
                Drain::Complete
            }
            Err(_) => {
                let cut = connections.len();
                connections.shutdown().await;
                Drain::GraceExpired { connections: cut }
            }
        }
    }
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// A server running on a background task ([`Bound::spawn`]).
#[derive(Debug)]
pub struct Serving {
    addr: SocketAddr,
    scheme: Scheme,
    stop: Option<oneshot::Sender<()>>,
    closed: Option<oneshot::Receiver<()>>,
    task: tokio::task::JoinHandle<Drain>,
}

impl Serving {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Starts the shutdown and returns once the listener is closed: from then on new
    /// connections are refused, while in-flight requests go on.
    pub async fn stop_accepting(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(closed) = self.closed.take() {
            let _ = closed.await;
        }
    }

    /// Stops accepting and waits for the drain to end.
    pub async fn shutdown(mut self) -> Result<Drain, tokio::task::JoinError> {
        self.stop_accepting().await;
        self.task.await
    }
}

/// The TLS acceptor for a certificate chain and key: rustls on ring, offering h2 and http/1.1.
fn tls_acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, ServeError> {
    let certs = read_certs(&tls.cert)?;
    let key = read_key(&tls.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_error = |error| ServeError::Tls {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        error,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ServeError> {
    let read_err = |error| ServeError::ReadCert {
        path: path.to_owned(),
        error,
    };
    let file = File::open(path).map_err(read_err)?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err)?;
    if certs.is_empty() {
        return Err(ServeError::NoCert {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, ServeError> {
    let read_err = |error| ServeError::ReadKey {
        path: path.to_owned(),
        error,
    };
    let file = File::open(path).map_err(read_err)?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(read_err)?
        .ok_or_else(|| ServeError::NoKey {
            path: path.to_owned(),
        })
}
