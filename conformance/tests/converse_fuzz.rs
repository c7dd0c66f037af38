//! Proptest-generated Converse and ConverseStream bodies, valid and not, must always get a well-formed Bedrock answer.

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Buf as _;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A liveness bound on one whole exchange: past it the server is taken to hang.
const HANG: Duration = Duration::from_secs(10);

const MODELS: &[&str] = &[
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
    "us.meta.llama3-1-8b-instruct-v1:0",
    "mock/echo",
    "nope/gpt-4o",
    "mock.throttle",
    "mock.stream-throttle",
    "mock.model-timeout",
    "mock.internal",
    "mock.stream-unavailable",
    "model id with spaces",
    "ünïcödé.model:1",
];

/// Tool names; prompts draw from the same words, so the mock sometimes calls a tool.
const TOOLS: &[&str] = &["lookup", "search", "get_weather", "Calc", "x"];
const WORDS: &[&str] = &[
    "hello",
    "please",
    "use",
    "lookup",
    "search",
    "get_weather",
    "the",
    "calc",
    "🦀",
    "ünï",
    "",
    "\u{0}",
    "\"quoted\"",
    "line\nbreak",
];

/// One multi-threaded runtime and one gateway for every case.
fn harness() -> &'static (tokio::runtime::Runtime, SocketAddr) {
    static HARNESS: OnceLock<(tokio::runtime::Runtime, SocketAddr)> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let addr = rt.block_on(common::serve_gateway(common::default_gateway()));
        (rt, addr)
    })
}

// ---------------------------------------------------------------------------------------------
// Strategies (boxed: unboxed, their nested value trees overflow a debug build's 2 MiB test stack)

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => vec(select(WORDS), 0..6).prop_map(|w| w.join(" ")),
        1 => any::<String>(),
    ]
    .boxed()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 bytes, sometimes not base64 at all.
fn blob() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..48).prop_map(|b| json!(base64(&b))),
        1 => select(&["!!!not base64", "abc", "====", "QUJD=QUJD", " ", ""][..]).prop_map(|s| json!(s)),
        1 => any::<i32>().prop_map(|n| json!(n)),
    ].boxed()
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9..1e9f64).prop_map(Value::from),
        "[a-z]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Arrays or objects nested up to a few hundred levels.
fn deep_json() -> BoxedStrategy<Value> {
    (1usize..400, any::<bool>())
        .prop_map(|(depth, arrays)| {
            let mut v = json!("bottom");
            for _ in 0..depth {
                v = if arrays {
                    json!([v])
                } else {
                    json!({ "a": v })
                };
            }
            v
        })
        .boxed()
}

fn json_member() -> BoxedStrategy<Value> {
    prop_oneof![4 => any_json(), 1 => deep_json()].boxed()
}

/// A value of a type no member of the Converse input has where it is used.
fn wrong_type() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e300..1e300f64).prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
    ]
    .boxed()
}

/// Mostly `valid`, sometimes a value of the wrong type in its place.
fn or_wrong(valid: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![12 => valid, 1 => wrong_type()].boxed()
}

fn tool_result_content() -> BoxedStrategy<Value> {
    or_wrong(prop_oneof![
        text().prop_map(|t| json!({ "text": t })),
        any_json().prop_map(|j| json!({ "json": j })),
    ])
    .boxed()
}

fn content_block() -> BoxedStrategy<Value> {
    prop_oneof![
        12 => text().prop_map(|t| json!({ "text": t })),
        2 => (select(&["png", "jpeg", "gif", "webp", "bmp", "PNG", ""][..]), blob())
            .prop_map(|(f, b)| json!({ "image": { "format": f, "source": { "bytes": b } } })),
        2 => (
            select(&["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md", "exe"][..]),
            text(),
            blob(),
        )
            .prop_map(|(f, n, b)| json!({ "document": { "format": f, "name": n, "source": { "bytes": b } } })),
        2 => ("[a-zA-Z0-9_-]{0,12}", select(TOOLS), any_json())
            .prop_map(|(id, n, i)| json!({ "toolUse": { "toolUseId": id, "name": n, "input": i } })),
        2 => (
            "[a-zA-Z0-9_-]{0,12}",
            vec(tool_result_content(), 0..3),
            select(&["success", "error", "bogus"][..]),
        )
            .prop_map(|(id, c, s)| json!({ "toolResult": { "toolUseId": id, "content": c, "status": s } })),
        1 => (text(), proptest::option::of("[a-zA-Z0-9]{0,16}")).prop_map(|(t, sig)| {
            let mut r = json!({ "text": t });
            if let Some(sig) = sig {
                r["signature"] = json!(sig);
            }
            json!({ "reasoningContent": { "reasoningText": r } })
        }),
        1 => select(&["default", "other"][..]).prop_map(|t| json!({ "cachePoint": { "type": t } })),
        1 => ("[a-zA-Z]{1,10}", any_json()).prop_map(|(k, v)| json!({ k: v })),
        1 => Just(json!({})),
        1 => (text(), text()).prop_map(|(a, b)| json!({ "text": a, "reasoningContent": { "reasoningText": { "text": b } } })),
        1 => wrong_type(),
    ].boxed()
}

fn message() -> BoxedStrategy<Value> {
    let role = prop_oneof![
        20 => select(&["user", "assistant"][..]).prop_map(|r| Some(json!(r))),
        1 => select(&["system", "", "User", "tool"][..]).prop_map(|r| Some(json!(r))),
        1 => wrong_type().prop_map(Some),
        1 => Just(None),
    ];
    let content = prop_oneof![
        20 => vec(content_block(), 0..4).prop_map(|c| Some(Value::Array(c))),
        1 => wrong_type().prop_map(Some),
        1 => Just(None),
    ];
    (role, content)
        .prop_map(|(role, content)| {
            let mut m = Map::new();
            if let Some(role) = role {
                m.insert("role".into(), role);
            }
            if let Some(content) = content {
                m.insert("content".into(), content);
            }
            Value::Object(m)
        })
        .boxed()
}

fn system_block() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => text().prop_map(|t| json!({ "text": t })),
        1 => Just(json!({ "cachePoint": { "type": "default" } })),
        1 => text().prop_map(|t| json!({ "guardContent": { "text": { "text": t } } })),
        1 => wrong_type(),
    ]
    .boxed()
}

fn tool_config() -> BoxedStrategy<Value> {
    let tool = (
        prop_oneof![9 => select(TOOLS).prop_map(str::to_owned), 1 => any::<String>()],
        proptest::option::of(prop_oneof![4 => "[a-z]{1,8}( [a-z]{1,8}){0,3}", 1 => any::<String>()]),
        prop_oneof![
            3 => Just(json!({ "type": "object", "properties": { "q": { "type": "string" } }, "required": ["q"] })),
            2 => any_json(),
        ],
    )
        .prop_map(|(name, description, schema)| {
            let mut spec = json!({ "name": name, "inputSchema": { "json": schema } });
            if let Some(d) = description {
                spec["description"] = json!(d);
            }
            json!({ "toolSpec": spec })
        });
    let choice = prop_oneof![
        Just(json!({ "auto": {} })),
        Just(json!({ "any": {} })),
        select(TOOLS).prop_map(|t| json!({ "tool": { "name": t } })),
        Just(json!({ "auto": {}, "any": {} })),
    ];
    (
        or_wrong(vec(tool, 1..3).prop_map(Value::Array)),
        proptest::option::of(or_wrong(choice)),
    )
        .prop_map(|(tools, choice)| {
            let mut c = json!({ "tools": tools });
            if let Some(choice) = choice {
                c["toolChoice"] = choice;
            }
            c
        })
        .boxed()
}

fn inference_config() -> BoxedStrategy<Value> {
    let max_tokens = prop_oneof![
        (-3i64..5).prop_map(Value::from),
        (1i64..100_000).prop_map(Value::from),
        Just(json!(i64::from(i32::MAX) + 1)),
        Just(json!(1.5)),
    ];
    let unit = || {
        or_wrong(prop_oneof![
            (-2.0..3.0f64).prop_map(Value::from),
            Just(json!(1e40)),
        ])
    };
    (
        proptest::option::of(or_wrong(max_tokens)),
        proptest::option::of(unit()),
        proptest::option::of(unit()),
        proptest::option::of(or_wrong(vec(text(), 0..5).prop_map(|s| json!(s)))),
    )
        .prop_map(|(max_tokens, temperature, top_p, stop)| {
            let mut c = Map::new();
            for (k, v) in [
                ("maxTokens", max_tokens),
                ("temperature", temperature),
                ("topP", top_p),
                ("stopSequences", stop),
            ] {
                if let Some(v) = v {
                    c.insert(k.into(), v);
                }
            }
            Value::Object(c)
        })
        .boxed()
}

/// A well-formed body whose prompt names its tool, so the mock calls it with a random input.
fn tool_call_body() -> BoxedStrategy<Value> {
    (
        select(TOOLS),
        text(),
        vec(any::<String>(), 0..4),
        any_json(),
    )
        .prop_map(|(tool, prompt, required, extra)| {
            json!({
                "messages": [{ "role": "user", "content": [{ "text": format!("{prompt} {tool}") }] }],
                "toolConfig": { "tools": [{ "toolSpec": {
                    "name": tool,
                    "inputSchema": { "json": { "type": "object", "required": required } },
                } }] },
                "additionalModelRequestFields": extra,
            })
        }).boxed()
}

/// A Converse request body: mostly with every kind of mistake mixed in, sometimes a tool call.
fn body() -> BoxedStrategy<Value> {
    prop_oneof![4 => messy_body(), 1 => tool_call_body()].boxed()
}

/// A Converse request body: mostly well-formed, with every kind of mistake mixed in.
fn messy_body() -> BoxedStrategy<Value> {
    (
        prop_oneof![
            16 => vec(message(), 0..4).prop_map(|m| Some(Value::Array(m))),
            1 => wrong_type().prop_map(Some),
            1 => Just(None),
        ],
        proptest::option::weighted(
            0.3,
            or_wrong(vec(system_block(), 0..3).prop_map(Value::Array)),
        ),
        proptest::option::weighted(0.5, or_wrong(tool_config())),
        proptest::option::weighted(0.4, or_wrong(inference_config())),
        proptest::option::weighted(0.2, json_member()),
        proptest::option::weighted(0.1, ("[a-zA-Z]{1,12}", any_json())),
    )
        .prop_map(|(messages, system, tools, inference, extra, unknown)| {
            let mut b = Map::new();
            for (k, v) in [
                ("messages", messages),
                ("system", system),
                ("toolConfig", tools),
                ("inferenceConfig", inference),
                ("additionalModelRequestFields", extra),
            ] {
                if let Some(v) = v {
                    b.insert(k.into(), v);
                }
            }
            if let Some((k, v)) = unknown {
                b.insert(k, v);
            }
            Value::Object(b)
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The exchange

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = find(raw, b"\r\n").ok_or("no chunk size line")?;
        let size = std::str::from_utf8(&raw[..eol]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 || &raw[size..size + 2] != b"\r\n" {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Result<Response, String> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| e.to_string())?;
    let split = find(&raw, b"\r\n\r\n").ok_or("no end of response head")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[split + 4..];
    response.body = if response.header("transfer-encoding") == Some("chunked") {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(response)
}

/// The error a `mock.<error>` model id asks for: status and `x-amzn-ErrorType`.
fn requested_error(model: &str, stream: bool) -> Option<(u16, &'static str)> {
    match model {
        "mock.throttle" => Some((429, "ThrottlingException")),
        "mock.model-timeout" => Some((408, "ModelTimeoutException")),
        "mock.internal" => Some((500, "InternalServerException")),
        // A stream fails mid-way (200, then an exception frame); Converse fails at once.
        "mock.stream-throttle" if !stream => Some((429, "ThrottlingException")),
        "mock.stream-unavailable" if !stream => Some((503, "ServiceUnavailableException")),
        _ => None,
    }
}

/// The exception frame a `mock.stream-<error>` model id ends a stream with.
fn requested_stream_exception(model: &str) -> Option<&'static str> {
    match model {
        "mock.stream-throttle" => Some("throttlingException"),
        "mock.stream-unavailable" => Some("serviceUnavailableException"),
        _ => None,
    }
}

fn error_message(r: &Response) -> Result<String, TestCaseError> {
    prop_assert_eq!(r.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| TestCaseError::fail(format!("error body is not JSON ({e}): {:?}", r.body)))?;
    let message = v["message"].as_str().unwrap_or_default().to_owned();
    prop_assert!(!message.is_empty(), "error without a message: {}", v);
    Ok(message)
}

fn check_converse(r: &Response) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| TestCaseError::fail(format!("200 body is not JSON: {e}")))?;
    prop_assert_eq!(&v["output"]["message"]["role"], "assistant", "{}", v);
    prop_assert!(v["output"]["message"]["content"].is_array(), "{}", v);
    prop_assert!(v["stopReason"].is_string(), "{}", v);
    Ok(())
}

fn check_stream(r: &Response, exception: Option<&str>) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let mut buf = bytes::Bytes::from(r.body.clone());
    let mut kinds = Vec::new();
    let mut tool_input: Option<String> = None;
    while buf.has_remaining() {
        let frame = aws_smithy_eventstream::frame::read_message_from(&mut buf)
            .map_err(|e| TestCaseError::fail(format!("bad frame after {kinds:?}: {e}")))?;
        let header = |name: &str| {
            frame
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
        };
        let payload: Value = serde_json::from_slice(frame.payload())
            .map_err(|e| TestCaseError::fail(format!("frame payload is not JSON: {e}")))?;
        match header(":message-type").as_deref() {
            Some("event") => {
                let kind = header(":event-type").unwrap_or_default();
                if kind == "contentBlockStart" && payload["start"]["toolUse"].is_object() {
                    tool_input = Some(String::new());
                }
                if let (Some(input), Some(fragment)) = (
                    tool_input.as_mut(),
                    payload["delta"]["toolUse"]["input"].as_str(),
                ) {
                    input.push_str(fragment);
                }
                if kind == "contentBlockStop"
                    && let Some(input) = tool_input.take()
                {
                    let parsed = serde_json::from_str::<Value>(&input);
                    prop_assert!(parsed.is_ok(), "tool input deltas are not JSON: {}", input);
                }
                kinds.push(kind);
            }
            Some("exception") => {
                prop_assert!(payload["message"].as_str().is_some_and(|m| !m.is_empty()));
                kinds.push(format!(
                    "!{}",
                    header(":exception-type").unwrap_or_default()
                ));
            }
            other => prop_assert!(false, "frame with :message-type {:?}", other),
        }
    }
    prop_assert_eq!(
        kinds.first().map(String::as_str),
        Some("messageStart"),
        "{:?}",
        kinds
    );
    let last = match exception {
        Some(e) => format!("!{e}"),
        None => "metadata".to_owned(),
    };
    prop_assert_eq!(kinds.last(), Some(&last), "{:?}", kinds);
    let exceptions = kinds.iter().filter(|k| k.starts_with('!')).count();
    prop_assert!(exceptions <= 1, "{:?}", kinds);
    Ok(())
}

async fn property(model: &str, stream: bool, body: &Value) -> Result<(), TestCaseError> {
    let (_, addr) = harness();
    let op = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    let path = format!("/bedrock/model/{}/{op}", encode(model));
    let bytes = serde_json::to_vec(body).unwrap();
    let r = tokio::time::timeout(HANG, post(*addr, &path, &bytes))
        .await
        .map_err(|_| TestCaseError::fail("no answer within the liveness bound: a hang"))?
        .map_err(TestCaseError::fail)?;
    let id = r.header("x-amzn-requestid").unwrap_or_default();
    prop_assert!(!id.is_empty(), "no x-amzn-requestid");
    let error_type = r
        .header("x-amzn-errortype")
        .map(|t| t.split(':').next().unwrap_or_default().to_owned());
    let requested = requested_error(model, stream);
    match r.status {
        200 => {
            prop_assert!(requested.is_none(), "{} answered 200", model);
            prop_assert_eq!(error_type, None);
            if stream {
                check_stream(&r, requested_stream_exception(model))?;
            } else {
                check_converse(&r)?;
            }
        }
        400 => {
            let message = error_message(&r)?;
            prop_assert_eq!(
                error_type.as_deref(),
                Some("ValidationException"),
                "message: {}",
                message
            );
        }
        status => {
            let message = error_message(&r)?;
            prop_assert_eq!(
                Some((status, error_type.as_deref().unwrap_or_default())),
                requested,
                "message: {}",
                message
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(128)
    })]

    #[test]
    fn converse_always_answers_like_bedrock(
        model in select(MODELS),
        body in body(),
    ) {
        harness().0.block_on(property(model, false, &body))?;
    }

    #[test]
    fn converse_stream_always_answers_like_bedrock(
        model in select(MODELS),
        body in body(),
    ) {
        harness().0.block_on(property(model, true, &body))?;
    }
}
