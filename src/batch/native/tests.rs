//! The native backends against local servers: every request they send, their status tables row
//! by row, and results translated back as the same real-time answers would be.

use std::sync::Arc;

use bytes::Bytes;
use quarry_bedrock::types::ModelInvocationJobStatus as S;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::anthropic::{self, AnthropicBatches};
use super::gemini::{self, GeminiBatches};
use super::openai::{self, OpenAiBatches};
use super::shared::{NOTHING_SUBMITTED, custom_ids, each_line};
use super::{NativeBatches, NativeHandle, NativeInput, NativeJob, NativeStatus};
use crate::batch::record::{InputRecord, InvocationType, OutputRecord};
use crate::config::MaxTokensField;
use crate::files::remote::testing;
use crate::providers::transport::Transport;
use crate::providers::{ErrorKind, ModelId, ProviderError};

const CLAUDE: &str = "anthropic.claude-3-haiku-20240307-v1:0";

// --- Jobs ------------------------------------------------------------------------------------

/// No retries: each test sees exactly the requests a backend makes.
fn transport(provider: &str) -> Arc<Transport> {
    testing::transport(provider, 0)
}

fn record(id: &str, model_input: Value) -> InputRecord {
    InputRecord {
        record_id: id.to_owned(),
        model_input,
    }
}

/// An InvokeModel body of the Anthropic family, as Bedrock batch files hold them.
fn claude_body(text: &str) -> Value {
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "system": "Answer in one word.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]
    })
}

fn converse_body(text: &str) -> Value {
    json!({
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5}
    })
}

/// A Converse record every adapter refuses (Converse's guardrail block has no provider form).
fn refused_by_adapter() -> Value {
    json!({
        "system": [{"guardContent": {"text": {"text": "guarded"}}}],
        "messages": [{"role": "user", "content": [{"text": "hi"}]}]
    })
}

/// A record the Converse codec itself refuses.
fn refused_by_codec() -> Value {
    json!({"messages": "not a list"})
}

fn job(kind: InvocationType, model: &str, input: NativeInput) -> NativeJob {
    NativeJob {
        job_id: "abc123def456".to_owned(),
        job_name: "nightly-eval".to_owned(),
        model: ModelId::new(model),
        model_id: CLAUDE.to_owned(),
        invocation_type: kind,
        input,
    }
}

/// An InvokeModel job of Claude bodies.
fn invoke_job(model: &str) -> NativeJob {
    job(
        InvocationType::InvokeModel,
        model,
        NativeInput::Bedrock(vec![
            record("r1", claude_body("Capital of France?")),
            record("r2", claude_body("Capital of Japan?")),
        ]),
    )
}

/// A Converse job: two good records, one each translation step refuses, one the provider
/// refuses and one it never answers.
fn converse_job(model: &str) -> NativeJob {
    job(
        InvocationType::Converse,
        model,
        NativeInput::Bedrock(vec![
            record("c1", converse_body("2+2?")),
            record("c2", refused_by_codec()),
            record("c3", converse_body("3+3?")),
            record("c4", refused_by_adapter()),
            record("c5", converse_body("too long")),
            record("c6", converse_body("never answered")),
        ]),
    )
}

fn all_refused_job(model: &str) -> NativeJob {
    job(
        InvocationType::Converse,
        model,
        NativeInput::Bedrock(vec![
            record("x1", refused_by_codec()),
            record("x2", refused_by_adapter()),
        ]),
    )
}

fn native_job(model: &str, file_id: Option<&str>, lines: Vec<Value>) -> NativeJob {
    job(
        InvocationType::Converse,
        model,
        NativeInput::Native {
            file_id: file_id.map(str::to_owned),
            lines,
        },
    )
}

// --- Views -----------------------------------------------------------------------------------

/// A body as text, or its lines as JSON when it is JSONL.
fn text_or_jsonl(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let lines: Option<Vec<Value>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).ok())
        .collect();
    match lines {
        Some(lines) if text.ends_with('\n') => json!({ "jsonl": lines }),
        _ => json!(text),
    }
}

/// A request as snapshots show it (see [`testing::view`]), uploaded JSONL line by line.
fn view(request: &wiremock::Request, headers: &[&str]) -> Value {
    let mut shown = testing::view(request, headers);
    let content_type = request
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if let Some(boundary) = content_type.split("boundary=").nth(1) {
        let parts: Vec<Value> = testing::part_bodies(&request.body, boundary)
            .into_iter()
            .map(
                |(headers, content)| json!({"headers": headers, "content": text_or_jsonl(content)}),
            )
            .collect();
        shown["body"] = json!({ "multipart": parts });
    } else if shown["body"].is_string() {
        shown["body"] = text_or_jsonl(&request.body);
    }
    shown
}

async fn views(server: &MockServer, headers: &[&str]) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| view(r, headers))
        .collect()
}

/// Output lines as JSON, the fresh response ids the families mint made stable.
fn lines(records: &[OutputRecord]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut line: Value = serde_json::from_slice(&r.to_line()).unwrap();
            if let Some(id) = line["modelOutput"]["id"].as_str()
                && id.starts_with("msg_bdrk_")
            {
                line["modelOutput"]["id"] = json!("msg_bdrk_<fresh>");
            }
            // Not part of the line: the tokens the driver counts into the manifest.
            line["_tokens"] = json!([r.usage.input, r.usage.output]);
            line
        })
        .collect()
}

fn jsonl_body(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend(serde_json::to_vec(line).unwrap());
        out.push(b'\n');
    }
    out
}

fn status(status: S, total: u64, processed: u64, failed: u64) -> NativeStatus {
    NativeStatus {
        status,
        message: None,
        total: Some(total),
        processed: Some(processed),
        failed: Some(failed),
    }
}

// --- Shared bookkeeping ----------------------------------------------------------------------

#[test]
fn custom_ids_keep_acceptable_unique_record_ids_and_name_the_rest_by_position() {
    let records: Vec<InputRecord> = ["a", "b c", "a", "quarry-1", "d", ""]
        .iter()
        .map(|id| record(id, json!({})))
        .collect();
    let no_spaces = |id: &str| !id.is_empty() && !id.contains(' ');
    assert_eq!(
        custom_ids(&records, no_spaces),
        ["a", "quarry-1_", "quarry-2", "quarry-1", "d", "quarry-5"]
    );
    // Recomputed, the same.
    assert_eq!(
        custom_ids(&records, no_spaces),
        custom_ids(&records, no_spaces)
    );
}

#[tokio::test]
async fn lines_are_split_across_chunks_and_blank_ones_skipped() {
    let chunks: Vec<Result<Bytes, ProviderError>> = vec![
        Ok(Bytes::from("{\"a\":1}\n{\"b\"")),
        Ok(Bytes::from(":2}\n\n  \n{\"c\"")),
        Ok(Bytes::from(":3}")),
    ];
    let mut seen = Vec::new();
    each_line(
        futures_util::stream::iter(chunks),
        |e| e,
        |line| seen.push(String::from_utf8(line.to_vec()).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(seen, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    let broken: Vec<Result<Bytes, ProviderError>> = vec![
        Ok(Bytes::from("x\n")),
        Err(ProviderError::new(ErrorKind::ModelStreamError, "cut")),
    ];
    let err = each_line(futures_util::stream::iter(broken), |e| e, |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelStreamError);
}

#[test]
fn only_providers_with_a_batch_api_have_a_backend() {
    let config = testing::every_provider();
    let names: Vec<(String, Option<&str>)> = config
        .providers
        .iter()
        .map(|(id, p)| {
            let backend = super::for_provider(id, p).unwrap();
            (id.to_string(), backend.map(|b| b.name()))
        })
        .collect();
    assert_eq!(
        names,
        [
            ("anthropic".to_owned(), Some("anthropic")),
            ("gemini".to_owned(), Some("gemini")),
            ("mock".to_owned(), None),
            ("openai".to_owned(), Some("openai")),
        ]
    );
}

#[test]
fn native_lines_are_recognized_by_their_provider_shape() {
    let openai = OpenAiBatches::new(
        transport("openai"),
        &testing::base_url("http://127.0.0.1:1/v1"),
        http::HeaderMap::new(),
        MaxTokensField::MaxTokens,
    );
    let gemini = GeminiBatches::new(
        transport("gemini"),
        &testing::base_url("http://127.0.0.1:1"),
    );
    let anthropic = AnthropicBatches::new(
        transport("anthropic"),
        &testing::base_url("http://127.0.0.1:1"),
        "2023-06-01".to_owned(),
    );
    let lines = [
        json!({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}),
        json!({"key": "a", "request": {"contents": []}}),
        json!({"request": {"contents": []}, "metadata": {"key": "a"}}),
        json!({"custom_id": "a", "params": {"model": "m"}}),
        json!({"recordId": "a", "modelInput": {}}),
    ];
    let native = |b: &dyn NativeBatches| -> Vec<bool> {
        lines.iter().map(|l| b.is_native_line(l)).collect()
    };
    assert_eq!(native(&openai), [true, false, false, false, false]);
    assert_eq!(native(&gemini), [false, true, true, false, false]);
    assert_eq!(native(&anthropic), [false, false, false, true, false]);
}

// --- OpenAI ----------------------------------------------------------------------------------

const OPENAI_HEADERS: &[&str] = &[
    "authorization",
    "openai-organization",
    "content-type",
    "content-length",
];

fn openai(server: &MockServer) -> OpenAiBatches {
    let mut headers = http::HeaderMap::new();
    headers.insert("openai-organization", "org-test".parse().unwrap());
    OpenAiBatches::new(
        transport("openai"),
        &testing::base_url(&format!("{}/v1/", server.uri())),
        headers,
        MaxTokensField::MaxTokens,
    )
}

fn openai_batch(status: &str) -> Value {
    json!({
        "id": "batch_abc",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": null,
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": status,
        "output_file_id": null,
        "error_file_id": null,
        "created_at": 1_714_508_499,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": {"quarry_job_id": "abc123def456", "quarry_job_name": "nightly-eval"}
    })
}

fn openai_completion(text: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_714_508_500,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

async fn mount_openai_submit(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "file-in", "object": "file", "bytes": 1000, "created_at": 1_714_508_499,
            "filename": "quarry-batch-abc123def456.jsonl", "purpose": "batch"
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/batches"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_batch("validating")))
        .mount(server)
        .await;
}

#[tokio::test]
async fn openai_submits_an_invoke_model_job_as_chat_completion_lines() {
    let server = MockServer::start().await;
    mount_openai_submit(&server).await;
    let handle = openai(&server).submit(&invoke_job(CLAUDE)).await.unwrap();
    assert_eq!(handle, NativeHandle("batch_abc".to_owned()));
    insta::assert_json_snapshot!(
        "openai_submit_invoke_model",
        views(&server, OPENAI_HEADERS).await
    );
}

#[tokio::test]
async fn openai_submits_a_converse_job_leaving_refused_records_out() {
    let server = MockServer::start().await;
    mount_openai_submit(&server).await;
    openai(&server)
        .submit(&converse_job("gpt-4o-mini"))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "openai_submit_converse",
        views(&server, OPENAI_HEADERS).await
    );
}

#[tokio::test]
async fn openai_submits_native_lines_as_they_are() {
    let lines = vec![
        json!({"custom_id": "n1", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}),
        json!({"custom_id": "n2", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "yo"}]}}),
    ];
    // Lines only: uploaded as they are.
    let server = MockServer::start().await;
    mount_openai_submit(&server).await;
    openai(&server)
        .submit(&native_job("gpt-4o-mini", None, lines.clone()))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "openai_submit_native_lines",
        views(&server, OPENAI_HEADERS).await
    );
    // The provider already holds the file: it is used, nothing uploaded.
    let server = MockServer::start().await;
    mount_openai_submit(&server).await;
    openai(&server)
        .submit(&native_job("gpt-4o-mini", Some("file-given"), lines))
        .await
        .unwrap();
    let sent = views(&server, OPENAI_HEADERS).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["path"], "/v1/batches");
    assert_eq!(sent[0]["body"]["input_file_id"], "file-given");
    assert_eq!(sent[0]["body"]["endpoint"], "/v1/chat/completions");
}

#[tokio::test]
async fn openai_polls_through_each_state() {
    let server = MockServer::start().await;
    let backend = openai(&server);
    let handle = NativeHandle("batch_abc".to_owned());
    let cases = [
        (
            "validating",
            json!({"total": 0, "completed": 0, "failed": 0}),
            status(S::Validating, 0, 0, 0),
        ),
        (
            "in_progress",
            json!({"total": 3, "completed": 1, "failed": 0}),
            status(S::InProgress, 3, 1, 0),
        ),
        (
            "finalizing",
            json!({"total": 3, "completed": 2, "failed": 1}),
            status(S::InProgress, 3, 3, 1),
        ),
        (
            "completed",
            json!({"total": 3, "completed": 2, "failed": 1}),
            status(S::Completed, 3, 3, 1),
        ),
        (
            "cancelling",
            json!({"total": 3, "completed": 1, "failed": 0}),
            status(S::Stopping, 3, 1, 0),
        ),
        (
            "cancelled",
            json!({"total": 3, "completed": 1, "failed": 0}),
            status(S::Stopped, 3, 1, 0),
        ),
        (
            "expired",
            json!({"total": 3, "completed": 1, "failed": 0}),
            status(S::Expired, 3, 1, 0),
        ),
    ];
    for (state, counts, want) in cases {
        server.reset().await;
        let mut batch = openai_batch(state);
        batch["request_counts"] = counts;
        Mock::given(method("GET"))
            .and(path("/v1/batches/batch_abc"))
            .respond_with(ResponseTemplate::new(200).set_body_json(batch))
            .mount(&server)
            .await;
        assert_eq!(backend.poll(&handle).await.unwrap(), want, "{state}");
    }
    // A failed batch says why.
    server.reset().await;
    let mut batch = openai_batch("failed");
    batch["errors"] = json!({"object": "list", "data": [
        {"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.", "param": null, "line": 2},
        {"code": "mismatched_model", "message": null, "param": "body.model", "line": 3}
    ]});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(&server)
        .await;
    let polled = backend.poll(&handle).await.unwrap();
    assert_eq!(polled.status, S::Failed);
    assert_eq!(
        polled.message.as_deref(),
        Some("This line is not parseable as valid JSON.; mismatched_model")
    );
    let sent = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("openai_poll_request", view(&sent[0], OPENAI_HEADERS));
}

#[test]
fn openai_status_table() {
    for (state, want) in [
        ("validating", S::Validating),
        ("in_progress", S::InProgress),
        ("finalizing", S::InProgress),
        ("completed", S::Completed),
        ("failed", S::Failed),
        ("expired", S::Expired),
        ("cancelling", S::Stopping),
        ("cancelled", S::Stopped),
        ("paused", S::InProgress),
        ("", S::InProgress),
    ] {
        assert_eq!(openai::status(state), want, "{state:?}");
    }
}

#[tokio::test]
async fn openai_results_translate_each_answer_back_as_real_time_would() {
    let server = MockServer::start().await;
    let mut batch = openai_batch("completed");
    batch["output_file_id"] = json!("file-out");
    batch["error_file_id"] = json!("file-err");
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(&server)
        .await;
    let output = jsonl_body(&[
        // Out of input order, as OpenAI may write them.
        json!({"id": "batch_req_2", "custom_id": "c3", "response": {"status_code": 200,
               "request_id": "req_2", "body": openai_completion("6", 11, 1)}, "error": null}),
        json!({"id": "batch_req_1", "custom_id": "c1", "response": {"status_code": 200,
               "request_id": "req_1", "body": openai_completion("4", 10, 1)}, "error": null}),
        // A line for no record is ignored.
        json!({"id": "batch_req_9", "custom_id": "stranger", "response": {"status_code": 200,
               "request_id": "req_9", "body": openai_completion("?", 1, 1)}, "error": null}),
    ]);
    let errors = jsonl_body(
        &[json!({"id": "batch_req_3", "custom_id": "c5", "response": {
        "status_code": 400, "request_id": "req_3", "body": {"error": {
            "message": "This model's maximum context length is 128000 tokens.",
            "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}},
        "error": null})],
    );
    Mock::given(method("GET"))
        .and(path("/v1/files/file-out/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(output, "application/octet-stream"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/files/file-err/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(errors, "application/octet-stream"))
        .mount(&server)
        .await;
    let records = openai(&server)
        .results(
            &converse_job("gpt-4o-mini"),
            &NativeHandle("batch_abc".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("openai_results_converse", lines(&records));
    insta::assert_json_snapshot!(
        "openai_results_requests",
        views(&server, OPENAI_HEADERS).await
    );
}

#[tokio::test]
async fn openai_results_of_an_invoke_model_job_are_family_bodies() {
    let server = MockServer::start().await;
    let mut batch = openai_batch("expired");
    batch["output_file_id"] = json!("file-out");
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(&server)
        .await;
    // r2 expired unanswered; a request-level error comes as `error` without a response.
    let output = jsonl_body(&[
        json!({"id": "batch_req_1", "custom_id": "r1", "response": {"status_code": 200,
               "body": openai_completion("Paris", 20, 1)}, "error": null}),
        json!({"id": "batch_req_2", "custom_id": "r2", "response": null,
               "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
    ]);
    Mock::given(method("GET"))
        .and(path("/v1/files/file-out/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(output, "application/octet-stream"))
        .mount(&server)
        .await;
    let records = openai(&server)
        .results(&invoke_job(CLAUDE), &NativeHandle("batch_abc".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!("openai_results_invoke_model", lines(&records));
}

#[tokio::test]
async fn openai_results_of_native_lines_keep_the_bodies_as_they_are() {
    let server = MockServer::start().await;
    let mut batch = openai_batch("completed");
    batch["output_file_id"] = json!("file-out");
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(&server)
        .await;
    let output = jsonl_body(&[
        json!({"custom_id": "n2", "response": {"status_code": 429, "body": {"error": {
            "message": "Rate limit reached", "type": "requests"}}}, "error": null}),
        json!({"custom_id": "n1", "response": {"status_code": 200,
               "body": openai_completion("hello", 5, 2)}, "error": null}),
    ]);
    Mock::given(method("GET"))
        .and(path("/v1/files/file-out/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(output, "application/octet-stream"))
        .mount(&server)
        .await;
    let lines_in = vec![
        json!({"custom_id": "n1", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}),
        json!({"custom_id": "n2", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "yo"}]}}),
    ];
    let records = openai(&server)
        .results(
            &native_job("gpt-4o-mini", Some("file-in"), lines_in),
            &NativeHandle("batch_abc".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("openai_results_native", lines(&records));
}

#[tokio::test]
async fn openai_cancel_posts_to_the_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/batches/batch_abc/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_batch("cancelling")))
        .mount(&server)
        .await;
    openai(&server)
        .cancel(&NativeHandle("batch_abc".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "openai_cancel_request",
        views(&server, OPENAI_HEADERS).await
    );
    // A batch that can no longer be cancelled: the provider's refusal, kept.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {
            "message": "Cannot cancel a batch with status 'completed'.", "type": "invalid_request_error"}})))
        .mount(&server)
        .await;
    let err = openai(&server)
        .cancel(&NativeHandle("batch_abc".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(err.message.contains("Cannot cancel a batch"), "{err}");
}

#[tokio::test]
async fn openai_create_errors_map_to_bedrock_kinds_with_the_message() {
    for (status, kind, message) in [
        (400, ErrorKind::Validation, "Invalid 'input_file_id'"),
        (401, ErrorKind::AccessDenied, "Incorrect API key provided"),
        (429, ErrorKind::Throttling, "Enqueued token limit reached"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/files"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "file-in", "object": "file", "bytes": 1, "created_at": 1, "filename": "x"})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/batches"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"error": {
                "message": message, "type": "invalid_request_error"}})),
            )
            .mount(&server)
            .await;
        let err = openai(&server)
            .submit(&invoke_job(CLAUDE))
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}");
        assert_eq!(
            err.message,
            format!("{message} (provider 'openai' answered HTTP {status})")
        );
    }
    // The upload failing is the same.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Incorrect API key provided", "type": "invalid_request_error"}})))
        .mount(&server)
        .await;
    let err = openai(&server)
        .submit(&invoke_job(CLAUDE))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert!(
        err.message.starts_with("Incorrect API key provided"),
        "{err}"
    );
}

#[tokio::test]
async fn a_batch_create_the_provider_may_have_acted_on_is_not_sent_again() {
    for (status, kind, posts) in [
        // A 5xx may come after the batch was created: a second create would run it twice.
        (503, ErrorKind::ServiceUnavailable, 1),
        (500, ErrorKind::InternalServer, 1),
        // A 429 refused the call: sending it again is safe, up to the retry limit.
        (429, ErrorKind::Throttling, 3),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/files"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "file-in", "object": "file", "bytes": 1, "created_at": 1, "filename": "x"})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/batches"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"error": {"message": "busy", "type": "server_error"}})),
            )
            .mount(&server)
            .await;
        let backend = OpenAiBatches::new(
            testing::transport("openai", 2),
            &testing::base_url(&format!("{}/v1/", server.uri())),
            http::HeaderMap::new(),
            MaxTokensField::MaxTokens,
        );
        let err = backend.submit(&invoke_job(CLAUDE)).await.unwrap_err();
        assert_eq!(err.kind, kind, "{status}");
        let creates = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/v1/batches")
            .count();
        assert_eq!(creates, posts, "HTTP {status}");
    }
}

#[tokio::test]
async fn a_job_every_record_of_which_is_refused_sends_nothing() {
    let server = MockServer::start().await;
    let backends: Vec<Box<dyn NativeBatches>> = vec![
        Box::new(openai(&server)),
        Box::new(gemini_backend(&server)),
        Box::new(anthropic_backend(&server)),
    ];
    for backend in backends {
        let job = all_refused_job("some-model");
        let handle = backend.submit(&job).await.unwrap();
        assert_eq!(handle.0, NOTHING_SUBMITTED);
        assert_eq!(
            backend.poll(&handle).await.unwrap(),
            status(S::Completed, 0, 0, 0)
        );
        backend.cancel(&handle).await.unwrap();
        let records = backend.results(&job, &handle).await.unwrap();
        insta::assert_json_snapshot!(format!("all_refused_{}", backend.name()), lines(&records));
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

// --- Gemini ----------------------------------------------------------------------------------

const GEMINI_HEADERS: &[&str] = &[
    "x-goog-api-key",
    "x-goog-upload-protocol",
    "x-goog-upload-command",
    "x-goog-upload-header-content-type",
    "content-type",
    "content-length",
    "authorization",
];

fn gemini_backend(server: &MockServer) -> GeminiBatches {
    GeminiBatches::new(transport("gemini"), &testing::base_url(&server.uri()))
}

/// The batch operation as Batch Mode answers it.
fn gemini_operation(state: &str) -> Value {
    json!({
        "name": "batches/bx1",
        "metadata": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": "models/gemini-2.0-flash",
            "displayName": "nightly-eval (quarry job abc123def456)",
            "inputConfig": {"fileName": "files/in-1"},
            "createTime": "2025-01-02T03:04:05.678901Z",
            "updateTime": "2025-01-02T03:04:05.678901Z",
            "batchStats": {"requestCount": "3", "pendingRequestCount": "3"},
            "state": state,
            "name": "batches/bx1"
        }
    })
}

fn gemini_response(text: &str, prompt: u64, output: u64) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": output,
                          "totalTokenCount": prompt + output},
        "modelVersion": "gemini-2.0-flash",
        "responseId": "resp-1"
    })
}

async fn mount_gemini_submit(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(wiremock::matchers::header("x-goog-upload-command", "start"))
        .respond_with(ResponseTemplate::new(200).insert_header(
            "x-goog-upload-url",
            format!("{}/upload/v1beta/files?upload_id=UP-1", server.uri()).as_str(),
        ))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(query_param("upload_id", "UP-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"file": {
            "name": "files/in-1", "displayName": "quarry-batch-abc123def456.jsonl",
            "mimeType": "application/jsonl", "sizeBytes": "100",
            "createTime": "2025-01-02T03:04:05.678901Z", "state": "ACTIVE"}})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            r"^/v1beta/models/[^/]+:batchGenerateContent$",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(gemini_operation("BATCH_STATE_PENDING")),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn gemini_submits_an_invoke_model_job_as_generate_content_requests() {
    let server = MockServer::start().await;
    mount_gemini_submit(&server).await;
    let handle = gemini_backend(&server)
        .submit(&invoke_job(CLAUDE))
        .await
        .unwrap();
    assert_eq!(handle, NativeHandle("batches/bx1".to_owned()));
    insta::assert_json_snapshot!(
        "gemini_submit_invoke_model",
        views(&server, GEMINI_HEADERS).await
    );
}

#[tokio::test]
async fn gemini_submits_a_converse_job_leaving_refused_records_out() {
    let server = MockServer::start().await;
    mount_gemini_submit(&server).await;
    gemini_backend(&server)
        .submit(&converse_job("gemini-2.0-flash"))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "gemini_submit_converse",
        views(&server, GEMINI_HEADERS).await
    );
}

#[tokio::test]
async fn gemini_submits_native_lines_as_they_are() {
    let lines = vec![
        json!({"key": "g1", "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}}),
        json!({"request": {"contents": [{"role": "user", "parts": [{"text": "yo"}]}]},
               "metadata": {"key": "g2"}}),
    ];
    let server = MockServer::start().await;
    mount_gemini_submit(&server).await;
    gemini_backend(&server)
        .submit(&native_job("models/gemini-2.0-flash", None, lines.clone()))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "gemini_submit_native_lines",
        views(&server, GEMINI_HEADERS).await
    );
    let server = MockServer::start().await;
    mount_gemini_submit(&server).await;
    gemini_backend(&server)
        .submit(&native_job("gemini-2.0-flash", Some("files/given"), lines))
        .await
        .unwrap();
    let sent = views(&server, GEMINI_HEADERS).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        sent[0]["path"],
        "/v1beta/models/gemini-2.0-flash:batchGenerateContent"
    );
    assert_eq!(
        sent[0]["body"]["batch"]["inputConfig"]["fileName"],
        "files/given"
    );
}

#[tokio::test]
async fn gemini_polls_through_each_state() {
    let server = MockServer::start().await;
    let backend = gemini_backend(&server);
    let handle = NativeHandle("batches/bx1".to_owned());
    let cases = [
        (
            "BATCH_STATE_PENDING",
            json!({"requestCount": "3", "pendingRequestCount": "3"}),
            status(S::Scheduled, 3, 0, 0),
        ),
        (
            "BATCH_STATE_RUNNING",
            json!({"requestCount": "3", "successfulRequestCount": "1", "pendingRequestCount": "2"}),
            status(S::InProgress, 3, 1, 0),
        ),
        (
            "BATCH_STATE_SUCCEEDED",
            json!({"requestCount": "3", "successfulRequestCount": "2", "failedRequestCount": "1"}),
            status(S::Completed, 3, 3, 1),
        ),
        (
            "BATCH_STATE_CANCELLED",
            json!({"requestCount": "3"}),
            status(S::Stopped, 3, 0, 0),
        ),
        // Numbers are read too.
        (
            "JOB_STATE_RUNNING",
            json!({"requestCount": 3, "successfulRequestCount": 2}),
            status(S::InProgress, 3, 2, 0),
        ),
    ];
    for (state, stats, want) in cases {
        server.reset().await;
        let mut op = gemini_operation(state);
        op["metadata"]["batchStats"] = stats;
        Mock::given(method("GET"))
            .and(path("/v1beta/batches/bx1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(op))
            .mount(&server)
            .await;
        assert_eq!(backend.poll(&handle).await.unwrap(), want, "{state}");
    }
    for (state, want, message) in [
        (
            "BATCH_STATE_FAILED",
            S::Failed,
            "Batch batches/bx1 failed: quota.",
        ),
        (
            "BATCH_STATE_EXPIRED",
            S::Expired,
            "The batch expired after 48 hours.",
        ),
    ] {
        server.reset().await;
        let mut op = gemini_operation(state);
        op["done"] = json!(true);
        op["error"] = json!({"code": 13, "message": message});
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(op))
            .mount(&server)
            .await;
        let polled = backend.poll(&handle).await.unwrap();
        assert_eq!(
            (polled.status, polled.message.as_deref()),
            (want, Some(message))
        );
    }
    // An operation without a state says by `done` and `error` how it ended.
    for (error, want) in [
        (Value::Null, S::Completed),
        (json!({"code": 13, "message": "x"}), S::Failed),
    ] {
        server.reset().await;
        let mut op = gemini_operation("");
        op["metadata"].as_object_mut().unwrap().remove("state");
        op["done"] = json!(true);
        op["error"] = error;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(op))
            .mount(&server)
            .await;
        assert_eq!(backend.poll(&handle).await.unwrap().status, want);
    }
    let sent = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("gemini_poll_request", view(&sent[0], GEMINI_HEADERS));
}

#[test]
fn gemini_status_table() {
    for (state, want) in [
        ("BATCH_STATE_UNSPECIFIED", S::Submitted),
        ("JOB_STATE_UNSPECIFIED", S::Submitted),
        ("BATCH_STATE_PENDING", S::Scheduled),
        ("JOB_STATE_QUEUED", S::Scheduled),
        ("JOB_STATE_PENDING", S::Scheduled),
        ("JOB_STATE_PAUSED", S::Scheduled),
        ("BATCH_STATE_RUNNING", S::InProgress),
        ("JOB_STATE_RUNNING", S::InProgress),
        ("JOB_STATE_UPDATING", S::InProgress),
        ("BATCH_STATE_SUCCEEDED", S::Completed),
        ("JOB_STATE_SUCCEEDED", S::Completed),
        ("JOB_STATE_PARTIALLY_SUCCEEDED", S::Completed),
        ("BATCH_STATE_FAILED", S::Failed),
        ("JOB_STATE_FAILED", S::Failed),
        ("JOB_STATE_CANCELLING", S::Stopping),
        ("BATCH_STATE_CANCELLED", S::Stopped),
        ("JOB_STATE_CANCELLED", S::Stopped),
        ("BATCH_STATE_EXPIRED", S::Expired),
        ("JOB_STATE_EXPIRED", S::Expired),
        ("BATCH_STATE_RESTING", S::InProgress),
    ] {
        assert_eq!(gemini::status(state), want, "{state}");
    }
}

async fn mount_gemini_results(server: &MockServer, lines: &[Value]) {
    let mut op = gemini_operation("BATCH_STATE_SUCCEEDED");
    op["done"] = json!(true);
    op["metadata"]["output"] = json!({"responsesFile": "files/out-1"});
    op["response"] = json!({
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
        "responsesFile": "files/out-1"
    });
    Mock::given(method("GET"))
        .and(path("/v1beta/batches/bx1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(op))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/files/out-1:download"))
        .and(query_param("alt", "media"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(jsonl_body(lines), "application/octet-stream"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn gemini_results_translate_each_answer_back_as_real_time_would() {
    let server = MockServer::start().await;
    // Converse job: c1, c3, c5 were sent, in that order.
    mount_gemini_results(
        &server,
        &[
            json!({"key": "c1", "response": gemini_response("4", 9, 1)}),
            // No key: matched by position (the second request sent).
            json!({"response": gemini_response("6", 9, 1)}),
            json!({"key": "c5", "error": {"code": 400, "message": "Request contains an invalid argument.",
                   "status": "INVALID_ARGUMENT"}}),
        ],
    )
    .await;
    let records = gemini_backend(&server)
        .results(
            &converse_job("gemini-2.0-flash"),
            &NativeHandle("batches/bx1".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("gemini_results_converse", lines(&records));
    insta::assert_json_snapshot!(
        "gemini_results_requests",
        views(&server, GEMINI_HEADERS).await
    );
}

#[tokio::test]
async fn gemini_results_of_an_invoke_model_job_are_family_bodies() {
    let server = MockServer::start().await;
    mount_gemini_results(
        &server,
        &[
            json!({"key": "r2", "response": gemini_response("Tokyo", 12, 1)}),
            // An RPC status code, not an HTTP one.
            json!({"key": "r1", "error": {"code": 8, "message": "Resource has been exhausted"}}),
        ],
    )
    .await;
    let records = gemini_backend(&server)
        .results(&invoke_job(CLAUDE), &NativeHandle("batches/bx1".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!("gemini_results_invoke_model", lines(&records));
}

#[tokio::test]
async fn gemini_results_of_native_lines_keep_the_responses_as_they_are() {
    let server = MockServer::start().await;
    mount_gemini_results(
        &server,
        &[
            json!({"key": "g1", "response": gemini_response("hello", 3, 1)}),
            json!({"metadata": {"key": "g2"}, "response": gemini_response("yo", 3, 1)}),
            json!({"response": gemini_response("third", 3, 1)}),
        ],
    )
    .await;
    let lines_in = vec![
        json!({"key": "g1", "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}}),
        json!({"request": {"contents": [{"role": "user", "parts": [{"text": "yo"}]}]},
               "metadata": {"key": "g2"}}),
        json!({"request": {"contents": [{"role": "user", "parts": [{"text": "3"}]}]}}),
    ];
    let records = gemini_backend(&server)
        .results(
            &native_job("gemini-2.0-flash", Some("files/in-1"), lines_in),
            &NativeHandle("batches/bx1".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("gemini_results_native", lines(&records));
}

#[tokio::test]
async fn gemini_results_of_a_batch_without_a_responses_file_are_the_refusals_only() {
    let server = MockServer::start().await;
    let mut op = gemini_operation("BATCH_STATE_CANCELLED");
    op["done"] = json!(true);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(op))
        .mount(&server)
        .await;
    let records = gemini_backend(&server)
        .results(
            &converse_job("gemini-2.0-flash"),
            &NativeHandle("batches/bx1".to_owned()),
        )
        .await
        .unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c4"]);
}

#[tokio::test]
async fn gemini_cancel_posts_to_the_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/batches/bx1:cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    gemini_backend(&server)
        .cancel(&NativeHandle("batches/bx1".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "gemini_cancel_request",
        views(&server, GEMINI_HEADERS).await
    );
}

#[tokio::test]
async fn gemini_create_errors_map_to_bedrock_kinds_with_the_message() {
    for (status, rpc, kind, message) in [
        (
            400,
            "INVALID_ARGUMENT",
            ErrorKind::Validation,
            "* BatchGenerateContentRequest.batch: batch is required",
        ),
        (
            401,
            "UNAUTHENTICATED",
            ErrorKind::AccessDenied,
            "API key not valid. Please pass a valid API key.",
        ),
        (
            429,
            "RESOURCE_EXHAUSTED",
            ErrorKind::Throttling,
            "Resource has been exhausted (e.g. check quota).",
        ),
    ] {
        let server = MockServer::start().await;
        mount_gemini_submit(&server).await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::path_regex(r":batchGenerateContent$"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"error": {
                "code": status, "message": message, "status": rpc}})),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        let err = gemini_backend(&server)
            .submit(&converse_job("gemini-2.0-flash"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}");
        assert_eq!(
            err.message,
            format!("{message} (provider 'gemini' answered HTTP {status})")
        );
    }
}

// --- Anthropic -------------------------------------------------------------------------------

const ANTHROPIC_HEADERS: &[&str] = &[
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "content-type",
    "content-length",
    "authorization",
];

fn anthropic_backend(server: &MockServer) -> AnthropicBatches {
    AnthropicBatches::new(
        transport("anthropic"),
        &testing::base_url(&server.uri()),
        "2023-06-01".to_owned(),
    )
}

fn anthropic_batch(server: &MockServer, processing_status: &str) -> Value {
    let ended = processing_status == "ended";
    json!({
        "id": "msgbatch_01",
        "type": "message_batch",
        "processing_status": processing_status,
        "request_counts": {"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        "ended_at": if ended { json!("2025-01-02T04:04:05.678901Z") } else { Value::Null },
        "created_at": "2025-01-02T03:04:05.678901Z",
        "expires_at": "2025-01-03T03:04:05.678901Z",
        "archived_at": null,
        "cancel_initiated_at": null,
        "results_url": if ended {
            json!(format!("{}/v1/messages/batches/msgbatch_01/results", server.uri()))
        } else {
            Value::Null
        }
    })
}

fn anthropic_message(text: &str, input: u64, output: u64) -> Value {
    json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output}
    })
}

async fn mount_anthropic_submit(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/messages/batches"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(anthropic_batch(server, "in_progress")),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn anthropic_submits_an_invoke_model_job_inline_with_safe_ids_and_betas() {
    let server = MockServer::start().await;
    mount_anthropic_submit(&server).await;
    let mut with_beta = claude_body("Use the tool.");
    with_beta["anthropic_beta"] = json!(["token-efficient-tools-2025-02-19"]);
    let job = job(
        InvocationType::InvokeModel,
        CLAUDE,
        NativeInput::Bedrock(vec![
            record("r1", claude_body("Capital of France?")),
            // Not a custom_id Anthropic takes: sent as `quarry-1`, mapped back in results.
            record("record two/π", claude_body("Capital of Japan?")),
            // A second record with an id already used.
            record("r1", with_beta),
        ]),
    );
    let handle = anthropic_backend(&server).submit(&job).await.unwrap();
    assert_eq!(handle, NativeHandle("msgbatch_01".to_owned()));
    insta::assert_json_snapshot!(
        "anthropic_submit_invoke_model",
        views(&server, ANTHROPIC_HEADERS).await
    );
}

#[tokio::test]
async fn anthropic_submits_a_converse_job_leaving_refused_records_out() {
    let server = MockServer::start().await;
    mount_anthropic_submit(&server).await;
    anthropic_backend(&server)
        .submit(&converse_job("claude-3-5-haiku-20241022"))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "anthropic_submit_converse",
        views(&server, ANTHROPIC_HEADERS).await
    );
}

#[tokio::test]
async fn anthropic_submits_native_lines_as_they_are() {
    let server = MockServer::start().await;
    mount_anthropic_submit(&server).await;
    let lines = vec![json!({"custom_id": "a1", "params": {
        "model": "claude-3-5-haiku-20241022", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]}})];
    anthropic_backend(&server)
        .submit(&native_job(
            "claude-3-5-haiku-20241022",
            None,
            lines.clone(),
        ))
        .await
        .unwrap();
    let sent = views(&server, ANTHROPIC_HEADERS).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"], json!({ "requests": lines }));
    assert_eq!(sent[0]["headers"]["anthropic-version"], "2023-06-01");
    assert!(sent[0]["headers"].get("anthropic-beta").is_none());
}

#[tokio::test]
async fn anthropic_polls_through_each_state() {
    let server = MockServer::start().await;
    let backend = anthropic_backend(&server);
    let handle = NativeHandle("msgbatch_01".to_owned());
    let counts = |p: u64, s: u64, e: u64, c: u64, x: u64| json!({"processing": p, "succeeded": s, "errored": e, "canceled": c, "expired": x});
    let cancelled = json!("2025-01-02T03:30:00.000000Z");
    let cases = [
        (
            "in_progress",
            counts(2, 1, 0, 0, 0),
            Value::Null,
            status(S::InProgress, 3, 1, 0),
        ),
        (
            "canceling",
            counts(2, 1, 0, 0, 0),
            cancelled.clone(),
            status(S::Stopping, 3, 1, 0),
        ),
        (
            "ended",
            counts(0, 1, 0, 2, 0),
            cancelled.clone(),
            status(S::Stopped, 3, 1, 0),
        ),
        (
            "ended",
            counts(0, 2, 1, 0, 0),
            Value::Null,
            status(S::Completed, 3, 3, 1),
        ),
    ];
    for (state, counts, cancel, want) in cases {
        server.reset().await;
        let mut batch = anthropic_batch(&server, state);
        batch["request_counts"] = counts;
        batch["cancel_initiated_at"] = cancel;
        Mock::given(method("GET"))
            .and(path("/v1/messages/batches/msgbatch_01"))
            .respond_with(ResponseTemplate::new(200).set_body_json(batch))
            .mount(&server)
            .await;
        assert_eq!(backend.poll(&handle).await.unwrap(), want, "{state}");
    }
    server.reset().await;
    let mut batch = anthropic_batch(&server, "ended");
    batch["request_counts"] = counts(0, 1, 0, 0, 2);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(&server)
        .await;
    let polled = backend.poll(&handle).await.unwrap();
    assert_eq!(polled.status, S::Expired);
    assert_eq!(
        polled.message.as_deref(),
        Some("2 requests expired before provider 'anthropic' processed them")
    );
    let sent = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("anthropic_poll_request", view(&sent[0], ANTHROPIC_HEADERS));
}

#[test]
fn anthropic_status_table() {
    for (state, cancel_initiated, any_expired, want) in [
        ("in_progress", false, false, S::InProgress),
        ("in_progress", true, false, S::InProgress),
        ("canceling", true, false, S::Stopping),
        ("canceling", false, false, S::Stopping),
        ("ended", true, false, S::Stopped),
        ("ended", true, true, S::Stopped),
        ("ended", false, true, S::Expired),
        ("ended", false, false, S::Completed),
        ("archived", false, false, S::InProgress),
    ] {
        assert_eq!(
            anthropic::status(state, cancel_initiated, any_expired),
            want,
            "{state} {cancel_initiated} {any_expired}"
        );
    }
}

async fn mount_anthropic_results(
    server: &MockServer,
    results_url: Option<String>,
    lines: &[Value],
) {
    let mut batch = anthropic_batch(server, "ended");
    if let Some(url) = results_url {
        batch["results_url"] = json!(url);
    }
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_01/results"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(jsonl_body(lines), "application/binary"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn anthropic_results_translate_each_answer_back_as_real_time_would() {
    let server = MockServer::start().await;
    mount_anthropic_results(
        &server,
        None,
        &[
            json!({"custom_id": "c3", "result": {"type": "succeeded", "message": anthropic_message("6", 14, 1)}}),
            json!({"custom_id": "c1", "result": {"type": "succeeded", "message": anthropic_message("4", 14, 1)}}),
            json!({"custom_id": "c5", "result": {"type": "errored", "error": {"type": "error",
                   "error": {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"}}}}),
            json!({"custom_id": "c6", "result": {"type": "canceled"}}),
        ],
    )
    .await;
    let records = anthropic_backend(&server)
        .results(
            &converse_job("claude-3-5-haiku-20241022"),
            &NativeHandle("msgbatch_01".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("anthropic_results_converse", lines(&records));
    insta::assert_json_snapshot!(
        "anthropic_results_requests",
        views(&server, ANTHROPIC_HEADERS).await
    );
}

#[tokio::test]
async fn anthropic_results_of_an_invoke_model_job_map_safe_ids_back() {
    let server = MockServer::start().await;
    mount_anthropic_results(
        &server,
        None,
        &[
            json!({"custom_id": "quarry-1", "result": {"type": "succeeded", "message": anthropic_message("Tokyo", 20, 2)}}),
            json!({"custom_id": "r1", "result": {"type": "errored", "error": {"type": "error",
                   "error": {"type": "invalid_request_error", "message": "max_tokens: 100000 > 4096"}}}}),
            json!({"custom_id": "quarry-2", "result": {"type": "expired"}}),
        ],
    )
    .await;
    let job = job(
        InvocationType::InvokeModel,
        CLAUDE,
        NativeInput::Bedrock(vec![
            record("r1", claude_body("Capital of France?")),
            record("record two/π", claude_body("Capital of Japan?")),
            record("r1", claude_body("Capital of Peru?")),
        ]),
    );
    let records = anthropic_backend(&server)
        .results(&job, &NativeHandle("msgbatch_01".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!("anthropic_results_invoke_model", lines(&records));
}

#[tokio::test]
async fn anthropic_results_of_native_lines_keep_the_messages_as_they_are() {
    let server = MockServer::start().await;
    mount_anthropic_results(
        &server,
        None,
        &[
            json!({"custom_id": "a1", "result": {"type": "succeeded", "message": anthropic_message("hello", 8, 1)}}),
            json!({"custom_id": "a2", "result": {"type": "errored", "error": {"type": "error",
                   "error": {"type": "overloaded_error", "message": "Overloaded"}}}}),
        ],
    )
    .await;
    let lines_in = vec![
        json!({"custom_id": "a1", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}),
        json!({"custom_id": "a2", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "yo"}]}}),
    ];
    let records = anthropic_backend(&server)
        .results(
            &native_job("m", None, lines_in),
            &NativeHandle("msgbatch_01".to_owned()),
        )
        .await
        .unwrap();
    insta::assert_json_snapshot!("anthropic_results_native", lines(&records));
}

#[tokio::test]
async fn anthropic_results_url_elsewhere_is_not_sent_the_key() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_anthropic_results(
        &server,
        Some(format!(
            "{}/v1/messages/batches/msgbatch_01/results",
            elsewhere.uri()
        )),
        &[json!({"custom_id": "c1", "result": {"type": "succeeded", "message": anthropic_message("4", 14, 1)}})],
    )
    .await;
    let records = anthropic_backend(&server)
        .results(
            &converse_job("claude-3-5-haiku-20241022"),
            &NativeHandle("msgbatch_01".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 3);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/messages/batches/msgbatch_01",
            "/v1/messages/batches/msgbatch_01/results"
        ]
    );
}

#[tokio::test]
async fn anthropic_cancel_posts_to_the_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages/batches/msgbatch_01/cancel"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(anthropic_batch(&server, "canceling")),
        )
        .mount(&server)
        .await;
    anthropic_backend(&server)
        .cancel(&NativeHandle("msgbatch_01".to_owned()))
        .await
        .unwrap();
    insta::assert_json_snapshot!(
        "anthropic_cancel_request",
        views(&server, ANTHROPIC_HEADERS).await
    );
}

#[tokio::test]
async fn anthropic_create_errors_map_to_bedrock_kinds_with_the_message() {
    for (status, kind, kind_name, message) in [
        (
            400,
            ErrorKind::Validation,
            "invalid_request_error",
            "requests: Field required",
        ),
        (
            401,
            ErrorKind::AccessDenied,
            "authentication_error",
            "invalid x-api-key",
        ),
        (
            429,
            ErrorKind::Throttling,
            "rate_limit_error",
            "Number of batch requests exceeds your rate limit.",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"type": "error",
                "error": {"type": kind_name, "message": message}})),
            )
            .mount(&server)
            .await;
        let err = anthropic_backend(&server)
            .submit(&invoke_job(CLAUDE))
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}");
        assert_eq!(
            err.message,
            format!("{message} (provider 'anthropic' answered HTTP {status})")
        );
    }
}

#[tokio::test]
async fn ids_in_paths_cannot_reach_another_resource() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let handle = NativeHandle("../files?x=1".to_owned());
    let _ = openai(&server).poll(&handle).await;
    let _ = gemini_backend(&server).poll(&handle).await;
    let _ = anthropic_backend(&server).poll(&handle).await;
    let paths: Vec<(String, Option<String>)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| (r.url.path().to_owned(), r.url.query().map(str::to_owned)))
        .collect();
    assert_eq!(
        paths,
        [
            ("/v1/batches/..%2Ffiles%3Fx%3D1".to_owned(), None),
            ("/v1beta/batches/..%2Ffiles%3Fx%3D1".to_owned(), None),
            ("/v1/messages/batches/..%2Ffiles%3Fx%3D1".to_owned(), None),
        ]
    );
}
