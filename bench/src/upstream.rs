//! A fake OpenAI-compatible upstream: fixed Chat Completions answers, whole or streamed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;

/// How the fake streams: this many content chunks, this far apart.
#[derive(Debug, Clone, Copy)]
pub struct StreamShape {
    pub chunks: usize,
    pub gap: Duration,
}

/// The answer's text; the load generator checks it came back.
pub const ANSWER: &str = "The quick brown fox jumps over the lazy dog.";

fn whole() -> Bytes {
    Bytes::from(
        json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000,
            "model": "gpt-4o-mini",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": ANSWER },
                          "logprobs": null, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 42, "completion_tokens": 10, "total_tokens": 52 }
        })
        .to_string(),
    )
}

fn chunk(delta: serde_json::Value, finish: Option<&str>) -> Bytes {
    let c = json!({ "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] });
    Bytes::from(format!("data: {c}\n\n"))
}

/// The SSE events of one streamed answer, in order; the text is split over `chunks` events.
fn stream_events(chunks: usize) -> Vec<Bytes> {
    let mut out = vec![chunk(json!({ "role": "assistant", "content": "" }), None)];
    let words: Vec<&str> = ANSWER.split_inclusive(' ').collect();
    for i in 0..chunks {
        let piece = words.get(i % words.len()).copied().unwrap_or("x");
        out.push(chunk(json!({ "content": piece }), None));
    }
    out.push(chunk(json!({}), Some("stop")));
    let usage = json!({ "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [],
        "usage": { "prompt_tokens": 42, "completion_tokens": chunks, "total_tokens": 42 + chunks } });
    out.push(Bytes::from(format!("data: {usage}\n\n")));
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    shape: StreamShape,
) -> Result<hyper::Response<Body>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let streamed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["stream"].as_bool())
        .unwrap_or(false);
    if !streamed {
        let response = hyper::Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(whole()).boxed());
        return Ok(response.unwrap_or_default());
    }
    // Each event is written as its own frame, `gap` apart after the first, so buffering anywhere
    // downstream shows up as a later first event.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        for (i, event) in stream_events(shape.chunks).into_iter().enumerate() {
            if i > 1 {
                tokio::time::sleep(shape.gap).await;
            }
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let response = hyper::Response::builder()
        .header("content-type", "text/event-stream")
        .body(StreamBody::new(frames).boxed());
    Ok(response.unwrap_or_default())
}

/// Serves the fake on a loopback port until the process ends.
pub async fn serve(shape: StreamShape) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(move |r| answer(r, shape));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Ok(addr)
}
