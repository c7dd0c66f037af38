//! The floor under the gateway's CPU: a process that only receives an HTTP request, sends its body
//! to the upstream with a pooled reqwest client and relays the answer — no auth, parsing or
//! translation — built from the same crates the gateway serves and calls with.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

type Body = BoxBody<Bytes, std::io::Error>;

/// `quarry-bench relay LISTEN UPSTREAM`: serves until killed (the bench starts it as a child, so
/// its CPU time is its own).
pub async fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let listen: SocketAddr = args.next().context("relay LISTEN UPSTREAM")?.parse()?;
    let upstream: SocketAddr = args.next().context("relay LISTEN UPSTREAM")?.parse()?;
    // The gateway's provider client: pooled, no Nagle, one per upstream.
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("http://{upstream}/v1/chat/completions");
    let listener = tokio::net::TcpListener::bind(listen).await?;
    // The gateway serves HTTP/1 and HTTP/2 with hyper-util's auto builder; so does the floor.
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (socket, _) = listener.accept().await?;
        let _ = socket.set_nodelay(true);
        let (client, url, builder) = (client.clone(), url.clone(), builder.clone());
        tokio::spawn(async move {
            let service = service_fn(move |r| forward(client.clone(), url.clone(), r));
            let _ = builder
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

/// Reads the whole request body (the gateway must, to verify and parse it), sends it on and
/// streams the answer back as it arrives.
async fn forward(
    client: reqwest::Client,
    url: String,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Body>, Infallible> {
    let failed = |message: String| {
        let body = Full::new(Bytes::from(message)).map_err(|e| match e {});
        let mut response = hyper::Response::new(body.boxed());
        *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        Ok(response)
    };
    let authorization = request.headers().get("authorization").cloned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return failed(e.to_string()),
    };
    let mut upstream = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(value) = authorization {
        upstream = upstream.header("authorization", value);
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => return failed(e.to_string()),
    };
    let mut response = hyper::Response::builder().status(answer.status());
    if let Some(kind) = answer.headers().get("content-type") {
        response = response.header("content-type", kind);
    }
    let frames = answer
        .bytes_stream()
        .map_ok(Frame::data)
        .map_err(std::io::Error::other);
    match response.body(StreamBody::new(frames).boxed()) {
        Ok(response) => Ok(response),
        Err(e) => failed(e.to_string()),
    }
}
