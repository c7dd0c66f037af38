//! The OpenAI Batch API (`/batches` over the Files API) as a native backend, and the record
//! bookkeeping the Gemini and Anthropic backends share with it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shared::{
    Answer, NOTHING_SUBMITTED, each_line, jsonl, key_value, nothing_submitted, outgoing, read_json,
    read_success, remote_error, segment, staged, trimmed,
};
use super::{NativeBatches, NativeHandle, NativeInput, NativeJob, NativeStatus};
use crate::batch::record::{OutputRecord, RecordError, TokenUsage};
use crate::config::{ApiKey, BaseUrl, MaxTokensField};
use crate::files::remote::OpenAiFiles;
use crate::providers::ProviderError;
use crate::providers::api::UpstreamApi as _;
use crate::providers::openai::OpenAi;
use crate::providers::transport::Transport;

/// The endpoint Bedrock records go to: Converse is Chat Completions at OpenAI.
const CHAT_COMPLETIONS: &str = "/v1/chat/completions";

/// OpenAI's Batch API, on any server that speaks it (the configured base URL, `…/v1`).
#[derive(Debug)]
pub struct OpenAiBatches {
    transport: Arc<Transport>,
    files: OpenAiFiles,
    api: OpenAi,
    /// Includes the version (`https://api.openai.com/v1`), without a trailing slash.
    base: String,
    /// Configured extra headers (organisation, project…), sent on every request.
    headers: http::HeaderMap,
}

/// OpenAI's batch object (the members the gateway uses).
#[derive(Debug, Deserialize)]
struct Batch {
    id: String,
    status: String,
    #[serde(default)]
    errors: Option<BatchErrors>,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    request_counts: Option<RequestCounts>,
}

#[derive(Debug, Deserialize)]
struct BatchErrors {
    #[serde(default)]
    data: Vec<BatchError>,
}

#[derive(Debug, Deserialize)]
struct BatchError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RequestCounts {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    completed: u64,
    #[serde(default)]
    failed: u64,
}

/// One line of an output or error file.
#[derive(Debug, Deserialize)]
struct ResultLine {
    custom_id: String,
    #[serde(default)]
    response: Option<ResultResponse>,
    #[serde(default)]
    error: Option<ResultError>,
}

#[derive(Debug, Deserialize)]
struct ResultResponse {
    status_code: u16,
    #[serde(default)]
    body: Value,
}

#[derive(Debug, Deserialize)]
struct ResultError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// OpenAI's batch status → Bedrock's job status.
///
/// An unknown status is taken as still running (and logged): a status added later is far more
/// likely a new intermediate step than an end, and calling it Failed would drop a batch the
/// provider still completes and bills; the batch's own 24-hour window bounds the wait.
pub(super) fn status(provider_state: &str) -> ModelInvocationJobStatus {
    use ModelInvocationJobStatus as S;
    match provider_state {
        "validating" => S::Validating,
        "in_progress" | "finalizing" => S::InProgress,
        "completed" => S::Completed,
        "failed" => S::Failed,
        "expired" => S::Expired,
        "cancelling" => S::Stopping,
        "cancelled" => S::Stopped,
        other => {
            tracing::warn!(
                provider = "openai",
                state = other,
                "unknown batch status, taken as InProgress"
            );
            S::InProgress
        }
    }
}

impl ResultLine {
    /// The line's answer: the response body when it is a 2xx, else the failure.
    fn answer(self, api: &OpenAi) -> Answer {
        if let Some(error) = self.error {
            let status = self.response.as_ref().map_or(500, |r| r.status_code);
            let message = error
                .message
                .or(error.code)
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Answer::Failure(RecordError {
                error_code: status,
                error_message: message,
            });
        }
        match self.response {
            Some(r) if (200..300).contains(&r.status_code) => Answer::Success(r.body),
            Some(r) => {
                let bytes = serde_json::to_vec(&r.body).unwrap_or_default();
                let message = api
                    .error_message(&bytes)
                    .or_else(|| r.body.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("HTTP {}", r.status_code));
                Answer::Failure(RecordError {
                    error_code: r.status_code,
                    error_message: message,
                })
            }
            None => Answer::Failure(RecordError {
                error_code: 500,
                error_message: "the provider answered neither a response nor an error".to_owned(),
            }),
        }
    }
}

/// Tokens of a Chat Completions (or Responses) answer, for native lines.
fn native_usage(body: &Value) -> TokenUsage {
    let usage = &body["usage"];
    let count = |a: &str, b: &str| usage[a].as_u64().or_else(|| usage[b].as_u64()).unwrap_or(0);
    TokenUsage {
        input: count("prompt_tokens", "input_tokens"),
        output: count("completion_tokens", "output_tokens"),
    }
}

/// The endpoint a native file's lines call (they must all call the same one).
fn endpoint_of(lines: &[Value]) -> String {
    lines
        .first()
        .and_then(|l| l["url"].as_str())
        .unwrap_or(CHAT_COMPLETIONS)
        .to_owned()
}

impl OpenAiBatches {
    pub fn new(
        transport: Arc<Transport>,
        base_url: &BaseUrl,
        headers: http::HeaderMap,
        max_tokens_field: MaxTokensField,
    ) -> Self {
        Self {
            files: OpenAiFiles::new(transport.clone(), base_url, headers.clone()),
            transport,
            api: OpenAi::new(max_tokens_field),
            base: trimmed(base_url),
            headers,
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        method: http::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client.request(method, url).headers(self.headers.clone());
        if let Some(key) = key {
            builder = builder.header(
                http::header::AUTHORIZATION,
                key_value(&self.transport, key, true)?,
            );
        }
        Ok(builder)
    }

    /// `POST /batches`: sent once unless the provider surely did not act on it (a second batch
    /// would run, and be billed, twice).
    async fn create_batch(&self, body: Bytes) -> Result<Batch, ProviderError> {
        let url = format!("{}/batches", self.base);
        let response = self
            .transport
            .send_create(|client, key| {
                Ok(self
                    .request(client, key, http::Method::POST, &url)?
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone()))
            })
            .await?;
        read_json(&self.transport, &self.api, response).await
    }

    fn batch_url(&self, id: &str) -> String {
        format!("{}/batches/{}", self.base, segment(id))
    }

    async fn batch(&self, handle: &NativeHandle) -> Result<Batch, ProviderError> {
        let url = self.batch_url(&handle.0);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        read_json(&self.transport, &self.api, response).await
    }

    /// Uploads a JSONL input file (purpose `batch`) and returns its id.
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
        let (file_id, endpoint) = match &job.input {
            NativeInput::Native {
                file_id: Some(id),
                lines,
            } => (id.clone(), endpoint_of(lines)),
            NativeInput::Native {
                file_id: None,
                lines,
            } => {
                if lines.is_empty() {
                    return Ok(nothing_submitted());
                }
                (self.upload(job, jsonl(lines)?).await?, endpoint_of(lines))
            }
            NativeInput::Bedrock(records) => {
                let lines: Vec<Value> = outgoing(job, records, &self.api, |_| true)
                    .into_iter()
                    .filter_map(|o| {
                        let (_, request) = o.request.ok()?;
                        Some(json!({
                            "custom_id": o.custom_id,
                            "method": "POST",
                            "url": CHAT_COMPLETIONS,
                            "body": request.body,
                        }))
                    })
                    .collect();
                if lines.is_empty() {
                    return Ok(nothing_submitted());
                }
                (
                    self.upload(job, jsonl(&lines)?).await?,
                    CHAT_COMPLETIONS.to_owned(),
                )
            }
        };
        let body = json!({
            "input_file_id": file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": {"quarry_job_id": job.job_id, "quarry_job_name": job.job_name},
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let batch = self.create_batch(body).await?;
        Ok(NativeHandle(batch.id))
    }

    async fn poll_batch(&self, handle: &NativeHandle) -> Result<NativeStatus, ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(super::shared::nothing_status());
        }
        let batch = self.batch(handle).await?;
        let status = status(&batch.status);
        let reasons: Vec<String> = batch
            .errors
            .map(|e| e.data)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.message.or(e.code))
            .collect();
        let message = match status {
            ModelInvocationJobStatus::Failed if reasons.is_empty() => Some(format!(
                "provider '{}' reported the batch failed without a reason",
                self.transport.provider()
            )),
            ModelInvocationJobStatus::Failed | ModelInvocationJobStatus::Expired
                if !reasons.is_empty() =>
            {
                Some(reasons.join("; "))
            }
            _ => None,
        };
        let counts = batch.request_counts;
        Ok(NativeStatus {
            status,
            message,
            total: counts.as_ref().map(|c| c.total),
            processed: counts.as_ref().map(|c| c.completed + c.failed),
            failed: counts.as_ref().map(|c| c.failed),
        })
    }

    async fn cancel_batch(&self, handle: &NativeHandle) -> Result<(), ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(());
        }
        let url = format!("{}/cancel", self.batch_url(&handle.0));
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

    /// Every line of the batch's output and error files, in that order.
    async fn result_lines(
        &self,
        handle: &NativeHandle,
        mut each: impl FnMut(ResultLine),
    ) -> Result<(), ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(());
        }
        let batch = self.batch(handle).await?;
        let provider = self.transport.provider();
        for file in [batch.output_file_id, batch.error_file_id]
            .into_iter()
            .flatten()
        {
            let body = self
                .files
                .download(&file)
                .await
                .map_err(|e| remote_error(provider, e))?;
            each_line(
                body,
                |e| remote_error(provider, e),
                |line| match serde_json::from_slice::<ResultLine>(line) {
                    Ok(line) => each(line),
                    Err(err) => {
                        tracing::warn!(%provider, file, error = %err, "unreadable batch result line skipped");
                    }
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Records the provider never answered (a cancelled or expired batch) are absent: the
    /// driver accounts for them. Records translation refused come out as error records.
    async fn results_of(
        &self,
        job: &NativeJob,
        handle: &NativeHandle,
    ) -> Result<Vec<OutputRecord>, ProviderError> {
        match &job.input {
            NativeInput::Bedrock(records) => {
                let outgoing = outgoing(job, records, &self.api, |_| true);
                let index = super::shared::sent_index(&outgoing);
                let mut found: Vec<Option<OutputRecord>> = vec![None; outgoing.len()];
                self.result_lines(handle, |line| {
                    let Some(&i) = index.get(line.custom_id.as_str()) else {
                        tracing::warn!(custom_id = line.custom_id, "a batch result for no record");
                        return;
                    };
                    if found[i].is_none() {
                        found[i] = outgoing[i].answered(&self.api, line.answer(&self.api));
                    }
                })
                .await?;
                Ok(super::shared::in_order(&outgoing, found))
            }
            NativeInput::Native { lines, .. } => {
                let mut index: HashMap<&str, usize> = HashMap::new();
                for (i, line) in lines.iter().enumerate() {
                    if let Some(id) = line["custom_id"].as_str() {
                        index.entry(id).or_insert(i);
                    }
                }
                let mut found: Vec<Option<OutputRecord>> = vec![None; lines.len()];
                let mut strays = Vec::new();
                self.result_lines(handle, |line| {
                    let slot = index.get(line.custom_id.as_str()).copied();
                    let model_input = slot.map_or(Value::Null, |i| lines[i]["body"].clone());
                    let record_id = line.custom_id.clone();
                    let record = super::shared::native_record(
                        record_id,
                        model_input,
                        line.answer(&self.api),
                        native_usage,
                    );
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

impl NativeBatches for OpenAiBatches {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn is_native_line(&self, line: &Value) -> bool {
        line.get("custom_id").is_some() && line.get("body").is_some()
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
