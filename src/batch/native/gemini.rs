//! Gemini Batch Mode (`models/{model}:batchGenerateContent` over the Files API) as a native backend.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shared::{
    Answer, NOTHING_SUBMITTED, each_line, in_order, jsonl, key_value, native_record,
    nothing_status, nothing_submitted, outgoing, read_json, read_success, remote_error, segment,
    sent_index, staged, trimmed,
};
use super::{NativeBatches, NativeHandle, NativeInput, NativeJob, NativeStatus};
use crate::batch::record::{OutputRecord, RecordError, TokenUsage, filled_record_id};
use crate::config::{ApiKey, BaseUrl};
use crate::files::remote::GeminiFiles;
use crate::providers::gemini::Gemini;
use crate::providers::transport::Transport;
use crate::providers::{ModelId, ProviderError};

/// Where Google's API takes the key.
const KEY_HEADER: &str = "x-goog-api-key";

/// The characters a model id keeps unescaped in its path segment (RFC 3986 unreserved), as
/// the real-time adapter sends it.
const MODEL_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Gemini's Batch Mode on the Generative Language API.
#[derive(Debug)]
pub struct GeminiBatches {
    transport: Arc<Transport>,
    files: GeminiFiles,
    api: Gemini,
    /// Without the version (`https://generativelanguage.googleapis.com`) or a trailing slash.
    base: String,
}

/// The long-running operation a batch is (`batches/…`), its `GenerateContentBatch` as metadata.
/// A server answering the batch resource itself (its members at the top) is read too.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    name: String,
    #[serde(default)]
    metadata: Option<Batch>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    error: Option<Status>,
    #[serde(default)]
    response: Option<Output>,
    #[serde(flatten)]
    resource: Batch,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    batch_stats: Option<BatchStats>,
    #[serde(default)]
    output: Option<Output>,
}

/// Counts are int64, so strings in JSON; proto3 leaves zeros out.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchStats {
    #[serde(default)]
    request_count: Option<Value>,
    #[serde(default)]
    successful_request_count: Option<Value>,
    #[serde(default)]
    failed_request_count: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    #[serde(default)]
    responses_file: Option<String>,
}

/// A `google.rpc.Status`.
#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// One line of a responses file: `key` (or `metadata.key`) and `response` or `error`.
#[derive(Debug, Deserialize)]
struct ResultLine {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    error: Option<Status>,
}

/// Gemini's batch state → Bedrock's job status. Batch Mode answers `BATCH_STATE_*`; Google's
/// SDKs (and Vertex) speak `JOB_STATE_*`, so both are read.
///
/// An unknown state is taken as still running (and logged): a state added later is far more
/// likely a new intermediate step than an end, and calling it Failed would drop a batch the
/// provider still completes and bills; the batch's own expiry bounds the wait.
pub(super) fn status(provider_state: &str) -> ModelInvocationJobStatus {
    use ModelInvocationJobStatus as S;
    match provider_state {
        // The batch exists and says nothing more yet.
        "BATCH_STATE_UNSPECIFIED" | "JOB_STATE_UNSPECIFIED" => S::Submitted,
        // Queued behind other work: Bedrock's Scheduled.
        "BATCH_STATE_PENDING" | "JOB_STATE_QUEUED" | "JOB_STATE_PENDING" | "JOB_STATE_PAUSED" => {
            S::Scheduled
        }
        "BATCH_STATE_RUNNING" | "JOB_STATE_RUNNING" | "JOB_STATE_UPDATING" => S::InProgress,
        // The driver tells Completed from PartiallyCompleted by the records.
        "BATCH_STATE_SUCCEEDED" | "JOB_STATE_SUCCEEDED" | "JOB_STATE_PARTIALLY_SUCCEEDED" => {
            S::Completed
        }
        "BATCH_STATE_FAILED" | "JOB_STATE_FAILED" => S::Failed,
        "JOB_STATE_CANCELLING" => S::Stopping,
        "BATCH_STATE_CANCELLED" | "JOB_STATE_CANCELLED" => S::Stopped,
        "BATCH_STATE_EXPIRED" | "JOB_STATE_EXPIRED" => S::Expired,
        other => {
            tracing::warn!(
                provider = "gemini",
                state = other,
                "unknown batch state, taken as InProgress"
            );
            S::InProgress
        }
    }
}

/// An int64 count, as a string or a number.
fn count(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// The HTTP status for a per-request `google.rpc.Status`: its code when that is one already,
/// else the RPC code's HTTP mapping (google/rpc/code.proto).
fn error_code(status: &Status) -> u16 {
    if let Some(code) = status
        .code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
    {
        return code;
    }
    let by_name = match status.status.as_deref() {
        Some("CANCELLED") => Some(1),
        Some("INVALID_ARGUMENT") => Some(3),
        Some("DEADLINE_EXCEEDED") => Some(4),
        Some("NOT_FOUND") => Some(5),
        Some("ALREADY_EXISTS") => Some(6),
        Some("PERMISSION_DENIED") => Some(7),
        Some("RESOURCE_EXHAUSTED") => Some(8),
        Some("FAILED_PRECONDITION") => Some(9),
        Some("ABORTED") => Some(10),
        Some("OUT_OF_RANGE") => Some(11),
        Some("UNIMPLEMENTED") => Some(12),
        Some("UNAVAILABLE") => Some(14),
        Some("UNAUTHENTICATED") => Some(16),
        _ => None,
    };
    match by_name.or(status.code) {
        Some(1) => 499,
        Some(3 | 9 | 11) => 400,
        Some(4) => 504,
        Some(5) => 404,
        Some(6 | 10) => 409,
        Some(7) => 403,
        Some(8) => 429,
        Some(12) => 501,
        Some(14) => 503,
        Some(16) => 401,
        _ => 500,
    }
}

impl ResultLine {
    /// The key the line names, where either form puts it.
    fn key(&self) -> Option<&str> {
        self.key
            .as_deref()
            .or_else(|| self.metadata.as_ref()?.get("key")?.as_str())
    }

    fn answer(self) -> Answer {
        match (self.response, self.error) {
            (_, Some(error)) => Answer::Failure(RecordError {
                error_code: error_code(&error),
                error_message: error
                    .message
                    .or(error.status)
                    .unwrap_or_else(|| "the request failed".to_owned()),
            }),
            (Some(response), None) => Answer::Success(response),
            (None, None) => Answer::Failure(RecordError {
                error_code: 500,
                error_message: "the provider answered neither a response nor an error".to_owned(),
            }),
        }
    }
}

/// The key of a native line: `key`, or `metadata.key` (the inlined form).
fn native_key(line: &Value) -> Option<&str> {
    line["key"]
        .as_str()
        .or_else(|| line["metadata"]["key"].as_str())
}

/// Tokens of a `GenerateContentResponse`, for native lines (thinking counts as output).
fn native_usage(body: &Value) -> TokenUsage {
    let usage = &body["usageMetadata"];
    let n = |name: &str| usage[name].as_u64().unwrap_or(0);
    TokenUsage {
        input: n("promptTokenCount"),
        output: n("candidatesTokenCount") + n("thoughtsTokenCount"),
    }
}

impl GeminiBatches {
    pub fn new(transport: Arc<Transport>, base_url: &BaseUrl) -> Self {
        Self {
            files: GeminiFiles::new(transport.clone(), base_url),
            transport,
            api: Gemini,
            base: trimmed(base_url),
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        method: http::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client.request(method, url);
        if let Some(key) = key {
            builder = builder.header(KEY_HEADER, key_value(&self.transport, key, false)?);
        }
        Ok(builder)
    }

    /// `{base}/v1beta/batches/{id}`; the handle may come with its `batches/` prefix or without.
    fn batch_url(&self, handle: &NativeHandle) -> String {
        let bare = handle.0.strip_prefix("batches/").unwrap_or(&handle.0);
        format!("{}/v1beta/batches/{}", self.base, segment(bare))
    }

    async fn operation(&self, handle: &NativeHandle) -> Result<Operation, ProviderError> {
        let url = self.batch_url(handle);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        read_json(&self.transport, &self.api, response).await
    }

    /// Uploads a JSONL input file and returns its name (`files/…`).
    async fn upload(&self, job: &NativeJob, content: Vec<u8>) -> Result<String, ProviderError> {
        let (file, len) = staged(&content).await?;
        let name = format!("quarry-batch-{}.jsonl", job.job_id);
        let uploaded = self
            .files
            .upload(file.path(), len, &name, "application/jsonl")
            .await
            .map_err(|e| remote_error(self.transport.provider(), e))?;
        Ok(uploaded.id)
    }

    async fn submit_job(&self, job: &NativeJob) -> Result<NativeHandle, ProviderError> {
        let file_name = match &job.input {
            NativeInput::Native {
                file_id: Some(id), ..
            } => id.clone(),
            NativeInput::Native {
                file_id: None,
                lines,
            } => {
                if lines.is_empty() {
                    return Ok(nothing_submitted());
                }
                self.upload(job, jsonl(lines)?).await?
            }
            NativeInput::Bedrock(records) => {
                let lines: Vec<Value> = outgoing(job, records, &self.api, |_| true)
                    .into_iter()
                    .filter_map(|o| {
                        let (_, request) = o.request.ok()?;
                        Some(json!({"key": o.custom_id, "request": request.body}))
                    })
                    .collect();
                if lines.is_empty() {
                    return Ok(nothing_submitted());
                }
                self.upload(job, jsonl(&lines)?).await?
            }
        };
        let url = format!(
            "{}/v1beta/models/{}:batchGenerateContent",
            self.base,
            utf8_percent_encode(bare_model(&job.model), MODEL_SEGMENT)
        );
        let body = json!({"batch": {
            "displayName": format!("{} (quarry job {})", job.job_name, job.job_id),
            "inputConfig": {"fileName": file_name},
        }});
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let response = self
            .transport
            .send_create(|client, key| {
                Ok(self
                    .request(client, key, http::Method::POST, &url)?
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone()))
            })
            .await?;
        let operation: Operation = read_json(&self.transport, &self.api, response).await?;
        Ok(NativeHandle(operation.name))
    }

    async fn poll_batch(&self, handle: &NativeHandle) -> Result<NativeStatus, ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(nothing_status());
        }
        let operation = self.operation(handle).await?;
        let batch = operation.metadata.unwrap_or(operation.resource);
        // Without a state, a finished operation still tells success from failure.
        let state = match (batch.state.as_deref(), operation.done) {
            (Some(state), _) => state,
            (None, true) if operation.error.is_some() => "BATCH_STATE_FAILED",
            (None, true) => "BATCH_STATE_SUCCEEDED",
            (None, false) => "BATCH_STATE_UNSPECIFIED",
        };
        let status = status(state);
        let reason = operation.error.and_then(|e| e.message);
        let message = match status {
            ModelInvocationJobStatus::Failed => Some(reason.unwrap_or_else(|| {
                format!(
                    "provider '{}' reported the batch failed without a reason",
                    self.transport.provider()
                )
            })),
            ModelInvocationJobStatus::Expired => reason,
            _ => None,
        };
        let stats = batch.batch_stats;
        Ok(NativeStatus {
            status,
            message,
            total: stats.as_ref().map(|s| count(s.request_count.as_ref())),
            processed: stats.as_ref().map(|s| {
                count(s.successful_request_count.as_ref()) + count(s.failed_request_count.as_ref())
            }),
            failed: stats
                .as_ref()
                .map(|s| count(s.failed_request_count.as_ref())),
        })
    }

    async fn cancel_batch(&self, handle: &NativeHandle) -> Result<(), ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(());
        }
        let url = format!("{}:cancel", self.batch_url(handle));
        let response = self
            .transport
            .send(|client, key| {
                // A POST without a body still declares its length (Google's front end refuses
                // one that does not).
                Ok(self
                    .request(client, key, http::Method::POST, &url)?
                    .header(http::header::CONTENT_LENGTH, 0))
            })
            .await?;
        read_success(&self.transport, &self.api, response).await?;
        Ok(())
    }

    /// Every line of the batch's responses file, with its position; none when the batch has
    /// no such file (cancelled, failed).
    async fn result_lines(
        &self,
        handle: &NativeHandle,
        mut each: impl FnMut(usize, ResultLine),
    ) -> Result<(), ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(());
        }
        let operation = self.operation(handle).await?;
        let file = operation
            .response
            .and_then(|o| o.responses_file)
            .or_else(|| operation.metadata.and_then(|b| b.output?.responses_file))
            .or_else(|| operation.resource.output.and_then(|o| o.responses_file));
        let Some(file) = file else {
            return Ok(());
        };
        let provider = self.transport.provider();
        let body = self
            .files
            .download(&file)
            .await
            .map_err(|e| remote_error(provider, e))?;
        let mut position = 0;
        each_line(
            body,
            |e| remote_error(provider, e),
            |line| {
                match serde_json::from_slice::<ResultLine>(line) {
                    Ok(line) => each(position, line),
                    Err(err) => {
                        tracing::warn!(%provider, file = %file, error = %err, "unreadable batch result line skipped");
                    }
                }
                position += 1;
            },
        )
        .await
    }

    /// Responses come back in input order, so a line without a key is matched by position.
    /// Records the provider never answered are absent: the driver accounts for them. Records
    /// translation refused come out as error records.
    async fn results_of(
        &self,
        job: &NativeJob,
        handle: &NativeHandle,
    ) -> Result<Vec<OutputRecord>, ProviderError> {
        match &job.input {
            NativeInput::Bedrock(records) => {
                let outgoing = outgoing(job, records, &self.api, |_| true);
                let index = sent_index(&outgoing);
                let sent: Vec<usize> = (0..outgoing.len())
                    .filter(|i| outgoing[*i].request.is_ok())
                    .collect();
                let mut found: Vec<Option<OutputRecord>> = vec![None; outgoing.len()];
                self.result_lines(handle, |position, line| {
                    let slot = match line.key() {
                        Some(key) => index.get(key).copied(),
                        None => sent.get(position).copied(),
                    };
                    let Some(i) = slot else {
                        tracing::warn!(key = line.key(), "a batch result for no record");
                        return;
                    };
                    if found[i].is_none() {
                        found[i] = outgoing[i].answered(&self.api, line.answer());
                    }
                })
                .await?;
                Ok(in_order(&outgoing, found))
            }
            NativeInput::Native { lines, .. } => {
                let mut index: HashMap<&str, usize> = HashMap::new();
                for (i, line) in lines.iter().enumerate() {
                    if let Some(key) = native_key(line) {
                        index.entry(key).or_insert(i);
                    }
                }
                let mut found: Vec<Option<OutputRecord>> = vec![None; lines.len()];
                let mut strays = Vec::new();
                self.result_lines(handle, |position, line| {
                    let key = line.key().map(str::to_owned);
                    let slot = match &key {
                        Some(key) => index.get(key.as_str()).copied(),
                        None => (position < lines.len()).then_some(position),
                    };
                    let record_id = key
                        .or_else(|| slot.and_then(|i| native_key(&lines[i]).map(str::to_owned)))
                        .unwrap_or_else(|| filled_record_id(position as u64));
                    let model_input = slot.map_or(Value::Null, |i| lines[i]["request"].clone());
                    let record = native_record(record_id, model_input, line.answer(), native_usage);
                    match slot {
                        Some(i) if found[i].is_none() => found[i] = Some(record),
                        Some(_) => {}
                        // A line of the provider's file the driver did not read: still an answer.
                        None => strays.push(record),
                    }
                })
                .await?;
                Ok(found.into_iter().flatten().chain(strays).collect())
            }
        }
    }
}

/// A model id without its optional `models/` prefix (the path adds it).
fn bare_model(model: &ModelId) -> &str {
    let id = model.as_str();
    id.strip_prefix("models/").unwrap_or(id)
}

impl NativeBatches for GeminiBatches {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn is_native_line(&self, line: &Value) -> bool {
        line.get("request").is_some()
    }

    fn submit<'a>(
        &'a self,
        job: &'a NativeJob,
    ) -> BoxFuture<'a, Result<NativeHandle, ProviderError>> {
        Box::pin(self.submit_job(job))
    }

    fn poll<'a>(
        &'a self,
        handle: &'a NativeHandle,
    ) -> BoxFuture<'a, Result<NativeStatus, ProviderError>> {
        Box::pin(self.poll_batch(handle))
    }

    fn cancel<'a>(&'a self, handle: &'a NativeHandle) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.cancel_batch(handle))
    }

    fn results<'a>(
        &'a self,
        job: &'a NativeJob,
        handle: &'a NativeHandle,
    ) -> BoxFuture<'a, Result<Vec<OutputRecord>, ProviderError>> {
        Box::pin(self.results_of(job, handle))
    }
}
