//! The serving shell in-process on 127.0.0.1: plain HTTP, HTTPS (HTTP/1.1 and HTTP/2 by ALPN),
//! start-up errors, and a graceful shutdown that lets an in-flight request finish.
// The helpers below are test code too; clippy only recognises `#[test]` functions as such.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use quarry::config::{BodyLimits, LogFormat, ServerConfig, TlsConfig};
use quarry::dispatch::Gateway;
use quarry::server::{self, Drain, Scheme, ServeError};
use quarry::stubs::NotImplementedYet;
use tower::ServiceExt as _;

const CONVERSE: &str = r#"{"messages":[{"role":"user","content":[{"text":"hello"}]}]}"#;

fn gateway() -> Gateway {
    let stub = Arc::new(NotImplementedYet);
    Gateway::new(stub.clone(), stub.clone(), stub).unwrap()
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("quarry-serve-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server_config(dir: &TempDir, tls: Option<TlsConfig>) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        log_format: LogFormat::Pretty,
        shutdown_grace: Duration::from_secs(30),
        max_body_bytes: BodyLimits::default(),
        tls,
    }
}

/// Writes a self-signed certificate for 127.0.0.1 and localhost; returns its paths and PEM.
fn self_signed(dir: &TempDir) -> (TlsConfig, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (TlsConfig { cert, key }, cert_pem)
}

fn assert_stub_answer(response: &reqwest::Response) {
    assert_eq!(response.status(), 501);
    let id = response.headers().get("x-amzn-requestid");
    assert!(
        id.is_some_and(|v| !v.is_empty()),
        "{:?}",
        response.headers()
    );
}

#[tokio::test]
async fn plain_http_answers_the_stub_and_creates_the_data_dir() {
    let dir = TempDir::new();
    let config = server_config(&dir, None);
    let bound = server::bind(&config).await.unwrap();
    assert!(config.data_dir.is_dir());
    assert_eq!(bound.scheme(), Scheme::Http);
    let serving = bound.spawn(gateway());
    let addr = serving.local_addr();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/bedrock/model/x/converse"))
        .header("content-type", "application/json")
        .body(CONVERSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_stub_answer(&response);
    assert_eq!(serving.shutdown().await.unwrap(), Drain::Complete);
}

#[tokio::test]
async fn https_answers_over_http1_and_http2() {
    let dir = TempDir::new();
    let (tls, cert_pem) = self_signed(&dir);
    let bound = server::bind(&server_config(&dir, Some(tls))).await.unwrap();
    assert_eq!(bound.scheme(), Scheme::Https);
    let serving = bound.spawn(gateway());
    let url = format!("https://{}/bedrock/model/x/converse", serving.local_addr());
    let root = reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap();

    // ALPN offers h2 first, and a client that speaks it gets it.
    let h2 = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .build()
        .unwrap();
    let response = h2
        .post(&url)
        .header("content-type", "application/json")
        .body(CONVERSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_stub_answer(&response);

    let h1 = reqwest::Client::builder()
        .add_root_certificate(root)
        .http1_only()
        .build()
        .unwrap();
    let response = h1
        .post(&url)
        .header("content-type", "application/json")
        .body(CONVERSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_stub_answer(&response);

    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new()
        .post(url.replace("https://", "http://"))
        .body(CONVERSE)
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    assert_eq!(serving.shutdown().await.unwrap(), Drain::Complete);
}

#[tokio::test]
async fn unusable_certificates_are_start_up_errors_naming_the_file() {
    let dir = TempDir::new();
    let (tls, _) = self_signed(&dir);

    let missing = TlsConfig {
        cert: dir.path().join("missing.pem"),
        ..tls.clone()
    };
    match server::bind(&server_config(&dir, Some(missing))).await {
        Err(e @ ServeError::ReadCert { .. }) => {
            assert!(e.to_string().contains("missing.pem"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    let not_pem = dir.path().join("not-pem.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let garbage_key = TlsConfig {
        key: not_pem.clone(),
        ..tls.clone()
    };
    match server::bind(&server_config(&dir, Some(garbage_key))).await {
        Err(e @ ServeError::NoKey { .. }) => assert!(e.to_string().contains("not-pem.txt"), "{e}"),
        other => panic!("{other:?}"),
    }
    let garbage_cert = TlsConfig {
        cert: not_pem,
        ..tls
    };
    match server::bind(&server_config(&dir, Some(garbage_cert))).await {
        Err(e @ ServeError::NoCert { .. }) => assert!(e.to_string().contains("not-pem.txt"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_uncreatable_data_dir_is_a_start_up_error_naming_it() {
    let dir = TempDir::new();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let mut config = server_config(&dir, None);
    config.data_dir = file.join("data");
    match server::bind(&config).await {
        Err(e @ ServeError::DataDir { .. }) => assert!(e.to_string().contains("a-file"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn shutdown_refuses_new_connections_and_finishes_the_request_in_flight() {
    let dir = TempDir::new();
    // Tells the test when the gateway has the request in hand (its body still arriving).
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let service = gateway().map_request(move |req: http::Request<hyper::body::Incoming>| {
        let _ = arrived_tx.send(());
        req
    });
    let mut serving = server::bind(&server_config(&dir, None))
        .await
        .unwrap()
        .spawn(service);
    let addr = serving.local_addr();

    // The request body trickles in: each chunk is sent when the test says so.
    let (chunks, chunks_rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let body = futures_util::stream::unfold(chunks_rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let (first, rest) = CONVERSE.split_at(CONVERSE.len() / 2);
    chunks.send(Bytes::from_static(first.as_bytes())).unwrap();
    let request = tokio::spawn(
        reqwest::Client::new()
            .post(format!("http://{addr}/bedrock/model/x/converse"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    arrived.recv().await.unwrap();

    serving.stop_accepting().await;
    let late = tokio::net::TcpStream::connect(addr).await;
    assert!(late.is_err(), "a connection after shutdown was accepted");

    chunks.send(Bytes::from_static(rest.as_bytes())).unwrap();
    drop(chunks);
    let response = request.await.unwrap().unwrap();
    assert_stub_answer(&response);
    assert_eq!(serving.shutdown().await.unwrap(), Drain::Complete);
}
