//! A gateway configured for one wiremock upstream, the SDK pointed at it, and JSON renderings of
//! what the upstream received and what the SDK got back, for snapshots.

use std::net::SocketAddr;

use aws_sdk_bedrockruntime::types as sdk;
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::common;

/// Serves the gateway a TOML configuration describes.
pub async fn gateway(toml: &str) -> SocketAddr {
    common::serve_toml(toml).await
}

/// Fast retries, so retry tests take milliseconds.
pub const FAST_RETRIES: &str = "retries = { max = 2, base_backoff_ms = 1, max_backoff_ms = 5 }\n";

/// A one-provider gateway whose default provider is `name` of `kind` at `base_url`.
pub async fn single(name: &str, kind: &str, base_url: &str, extra: &str) -> SocketAddr {
    gateway(&format!(
        "default_provider = \"{name}\"\n[providers.{name}]\ntype = \"{kind}\"\nbase_url = \"{base_url}\"\napi_keys = [{{ key = \"test-key-{name}\" }}]\n{FAST_RETRIES}{extra}"
    ))
    .await
}

pub fn client(addr: SocketAddr) -> aws_sdk_bedrockruntime::Client {
    common::bedrock_runtime_no_retries(addr)
}

/// The requests the upstream received, each as method, path and query, the headers a provider
/// cares about (credentials shown only by their shape) and the JSON body.
pub async fn sent(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recording is on");
    requests
        .iter()
        .map(|r| {
            let mut headers = serde_json::Map::new();
            for name in [
                "content-type",
                "authorization",
                "x-api-key",
                "x-goog-api-key",
                "anthropic-version",
                "anthropic-beta",
                "openai-organization",
            ] {
                if let Some(v) = r.headers.get(name) {
                    let v = v.to_str().unwrap_or("<not ascii>");
                    headers.insert(name.to_owned(), json!(v));
                }
            }
            let body: Value = serde_json::from_slice(&r.body)
                .unwrap_or_else(|_| json!({ "<not json>": String::from_utf8_lossy(&r.body) }));
            let path = match r.url.query() {
                Some(q) => format!("{}?{q}", r.url.path()),
                None => r.url.path().to_owned(),
            };
            json!({ "method": r.method.as_str(), "path": path, "headers": headers, "body": body })
        })
        .collect()
}

/// The only request the upstream received.
pub async fn sent_one(server: &MockServer) -> Value {
    let mut all = sent(server).await;
    assert_eq!(all.len(), 1, "expected one upstream request: {all:#?}");
    all.remove(0)
}

fn document(d: &aws_smithy_types::Document) -> Value {
    use aws_smithy_types::{Document, Number};
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => json!(b),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Array(a) => Value::Array(a.iter().map(document).collect()),
        Document::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), document(&m[k])))
                    .collect(),
            )
        }
    }
}

pub fn block(b: &sdk::ContentBlock) -> Value {
    match b {
        sdk::ContentBlock::Text(t) => json!({ "text": t }),
        sdk::ContentBlock::ToolUse(t) => json!({ "toolUse": {
            "toolUseId": t.tool_use_id(), "name": t.name(), "input": document(t.input()) } }),
        sdk::ContentBlock::ReasoningContent(r) => match r {
            sdk::ReasoningContentBlock::ReasoningText(t) => json!({ "reasoningContent": {
                "reasoningText": { "text": t.text(), "signature": t.signature() } } }),
            sdk::ReasoningContentBlock::RedactedContent(b) => json!({ "reasoningContent": {
                "redactedContent": String::from_utf8_lossy(b.as_ref()) } }),
            other => json!({ "reasoningContent": format!("{other:?}") }),
        },
        other => json!({ "other": format!("{other:?}") }),
    }
}

fn usage(u: &sdk::TokenUsage) -> Value {
    json!({
        "inputTokens": u.input_tokens(),
        "outputTokens": u.output_tokens(),
        "totalTokens": u.total_tokens(),
        "cacheReadInputTokens": u.cache_read_input_tokens(),
        "cacheWriteInputTokens": u.cache_write_input_tokens(),
    })
}

/// What the SDK parsed from a Converse answer (latency left out: it varies).
pub fn converse_output(out: &aws_sdk_bedrockruntime::operation::converse::ConverseOutput) -> Value {
    let message = match out.output() {
        Some(sdk::ConverseOutput::Message(m)) => json!({
            "role": m.role().as_str(),
            "content": m.content().iter().map(block).collect::<Vec<_>>(),
        }),
        other => json!(format!("{other:?}")),
    };
    assert!(out.metrics().is_some_and(|m| m.latency_ms() >= 0));
    json!({
        "message": message,
        "stopReason": out.stop_reason().as_str(),
        "usage": out.usage().map(usage),
        "additionalModelResponseFields": out.additional_model_response_fields().map(document),
    })
}

/// One ConverseStream event as JSON (latency left out).
pub fn stream_event(e: &sdk::ConverseStreamOutput) -> Value {
    match e {
        sdk::ConverseStreamOutput::MessageStart(m) => {
            json!({ "messageStart": { "role": m.role().as_str() } })
        }
        sdk::ConverseStreamOutput::ContentBlockStart(s) => {
            let start = match s.start() {
                Some(sdk::ContentBlockStart::ToolUse(t)) => {
                    json!({ "toolUse": { "toolUseId": t.tool_use_id(), "name": t.name() } })
                }
                other => json!(format!("{other:?}")),
            };
            json!({ "contentBlockStart": { "contentBlockIndex": s.content_block_index(), "start": start } })
        }
        sdk::ConverseStreamOutput::ContentBlockDelta(d) => {
            let delta = match d.delta() {
                Some(sdk::ContentBlockDelta::Text(t)) => json!({ "text": t }),
                Some(sdk::ContentBlockDelta::ToolUse(t)) => {
                    json!({ "toolUse": { "input": t.input() } })
                }
                Some(sdk::ContentBlockDelta::ReasoningContent(r)) => match r {
                    sdk::ReasoningContentBlockDelta::Text(t) => {
                        json!({ "reasoningContent": { "text": t } })
                    }
                    sdk::ReasoningContentBlockDelta::Signature(s) => {
                        json!({ "reasoningContent": { "signature": s } })
                    }
                    sdk::ReasoningContentBlockDelta::RedactedContent(b) => json!({
                        "reasoningContent": { "redactedContent": String::from_utf8_lossy(b.as_ref()) } }),
                    other => json!(format!("{other:?}")),
                },
                other => json!(format!("{other:?}")),
            };
            json!({ "contentBlockDelta": { "contentBlockIndex": d.content_block_index(), "delta": delta } })
        }
        sdk::ConverseStreamOutput::ContentBlockStop(s) => {
            json!({ "contentBlockStop": { "contentBlockIndex": s.content_block_index() } })
        }
        sdk::ConverseStreamOutput::MessageStop(s) => json!({ "messageStop": {
            "stopReason": s.stop_reason().as_str(),
            "additionalModelResponseFields": s.additional_model_response_fields().map(document),
        } }),
        sdk::ConverseStreamOutput::Metadata(m) => {
            assert!(m.metrics().is_some_and(|m| m.latency_ms() >= 0));
            json!({ "metadata": { "usage": m.usage().map(usage) } })
        }
        other => json!(format!("{other:?}")),
    }
}

/// Every event of a ConverseStream answer, and the error that ended it if one did.
pub async fn collect_stream(
    out: aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamOutput,
) -> (Vec<Value>, Option<String>) {
    let mut stream = out.stream;
    let mut events = Vec::new();
    loop {
        match stream.recv().await {
            Ok(Some(e)) => events.push(stream_event(&e)),
            Ok(None) => return (events, None),
            Err(e) => {
                let code = match e.as_service_error() {
                    Some(s) => format!("{s:?}"),
                    None => format!("{e:?}"),
                };
                return (events, Some(code));
            }
        }
    }
}

/// Checks a stream's shape: messageStart first; blocks opened and closed in order with no
/// deltas outside an open block; messageStop then metadata last.
pub fn assert_well_formed(events: &[Value]) {
    assert!(
        events.first().and_then(|e| e.get("messageStart")).is_some(),
        "{events:#?}"
    );
    let n = events.len();
    assert!(n >= 3, "{events:#?}");
    assert!(events[n - 2].get("messageStop").is_some(), "{events:#?}");
    assert!(events[n - 1].get("metadata").is_some(), "{events:#?}");
    let mut open: Option<i64> = None;
    let mut next_index = 0;
    for e in &events[1..n - 2] {
        let (kind, body) = e
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one key");
        let index = body["contentBlockIndex"].as_i64().expect("an index");
        match kind.as_str() {
            "contentBlockStart" => {
                assert_eq!(open, None, "start inside an open block: {events:#?}");
                assert_eq!(index, next_index, "{events:#?}");
                open = Some(index);
            }
            "contentBlockDelta" => {
                if open.is_none() {
                    assert_eq!(index, next_index, "{events:#?}");
                    open = Some(index);
                }
                assert_eq!(open, Some(index), "{events:#?}");
            }
            "contentBlockStop" => {
                assert_eq!(open, Some(index), "stop of a block not open: {events:#?}");
                open = None;
                next_index += 1;
            }
            other => panic!("unexpected {other} mid-stream: {events:#?}"),
        }
    }
    assert_eq!(open, None, "a block was left open: {events:#?}");
}

/// The text of a user message.
pub fn user(text: &str) -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::User)
        .content(sdk::ContentBlock::Text(text.to_owned()))
        .build()
        .expect("a message")
}

/// Builds an SDK document from JSON.
pub fn doc(v: Value) -> aws_smithy_types::Document {
    use aws_smithy_types::{Document, Number};
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or_default())
        }),
        Value::String(s) => Document::String(s),
        Value::Array(a) => Document::Array(a.into_iter().map(doc).collect()),
        Value::Object(m) => Document::Object(m.into_iter().map(|(k, v)| (k, doc(v))).collect()),
    }
}

/// An SSE body from (event name, JSON data) pairs, as providers send them.
pub fn sse(events: &[(Option<&str>, Value)]) -> String {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out
}

/// The `get_weather(city)` tool the provider tests use, with the given tool choice.
pub fn weather_tool(choice: sdk::ToolChoice) -> sdk::ToolConfiguration {
    sdk::ToolConfiguration::builder()
        .tools(sdk::Tool::ToolSpec(
            sdk::ToolSpecification::builder()
                .name("get_weather")
                .description("Weather for a city")
                .input_schema(sdk::ToolInputSchema::Json(doc(json!({
                    "type": "object",
                    "properties": { "city": { "type": "string" } },
                    "required": ["city"]
                }))))
                .build()
                .expect("a tool spec"),
        ))
        .tool_choice(choice)
        .build()
        .expect("a tool config")
}

/// An assistant turn calling one tool.
pub fn tool_call(id: &str, name: &str, input: Value) -> sdk::Message {
    sdk::Message::builder()
        .role(sdk::ConversationRole::Assistant)
        .content(sdk::ContentBlock::ToolUse(
            sdk::ToolUseBlock::builder()
                .tool_use_id(id)
                .name(name)
                .input(doc(input))
                .build()
                .expect("a tool use"),
        ))
        .build()
        .expect("a message")
}
