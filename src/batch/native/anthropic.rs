//! Anthropic's Message Batches API (`/v1/messages/batches`, requests inline) as a native backend.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shared::{
    Answer, NOTHING_SUBMITTED, each_line, in_order, key_value, native_record, nothing_status,
    nothing_submitted, outgoing, read_json, read_success, segment, sent_index, trimmed,
};
use super::{NativeBatches, NativeHandle, NativeInput, NativeJob, NativeStatus};
use crate::batch::record::{OutputRecord, RecordError, TokenUsage};
use crate::config::{ApiKey, BaseUrl};
use crate::providers::ProviderError;
use crate::providers::anthropic::Anthropic;
use crate::providers::transport::Transport;

/// Where Anthropic takes the key.
const KEY_HEADER: &str = "x-api-key";

/// Anthropic's Message Batches.
#[derive(Debug)]
pub struct AnthropicBatches {
    transport: Arc<Transport>,
    api: Anthropic,
    /// Without a trailing slash (`https://api.anthropic.com`).
    base: String,
    /// The `anthropic-version` header, as the real-time adapter sends it.
    version: String,
}

/// Anthropic's message batch (the members the gateway uses).
#[derive(Debug, Deserialize)]
struct Batch {
    id: String,
    processing_status: String,
    #[serde(default)]
    request_counts: Option<RequestCounts>,
    #[serde(default)]
    cancel_initiated_at: Option<String>,
    #[serde(default)]
    results_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RequestCounts {
    #[serde(default)]
    processing: u64,
    #[serde(default)]
    succeeded: u64,
    #[serde(default)]
    errored: u64,
    #[serde(default)]
    canceled: u64,
    #[serde(default)]
    expired: u64,
}

/// One line of the results.
#[derive(Debug, Deserialize)]
struct ResultLine {
    custom_id: String,
    result: BatchResult,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum BatchResult {
    Succeeded {
        message: Value,
    },
    Errored {
        #[serde(default)]
        error: Value,
    },
    Canceled,
    Expired,
    #[serde(other)]
    Unknown,
}

/// Anthropic's processing status → Bedrock's job status. An ended batch is `Stopped` when a
/// cancel ended it, `Expired` when requests ran out of time, else `Completed`.
///
/// An unknown status is taken as still running (and logged): a status added later is far more
/// likely a new intermediate step than an end, and calling it Failed would drop a batch the
/// provider still completes and bills; the batch's own 24-hour expiry bounds the wait.
pub(super) fn status(
    processing_status: &str,
    cancel_initiated: bool,
    any_expired: bool,
) -> ModelInvocationJobStatus {
    use ModelInvocationJobStatus as S;
    match (processing_status, cancel_initiated, any_expired) {
        ("in_progress", _, _) => S::InProgress,
        ("canceling", _, _) => S::Stopping,
        ("ended", true, _) => S::Stopped,
        ("ended", false, true) => S::Expired,
        ("ended", false, false) => S::Completed,
        (other, _, _) => {
            tracing::warn!(
                provider = "anthropic",
                state = other,
                "unknown batch processing status, taken as InProgress"
            );
            S::InProgress
        }
    }
}

/// The HTTP status Anthropic documents for an error `type`.
fn error_code(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// Whether Anthropic takes a record id as a `custom_id` as it is (`^[a-zA-Z0-9_-]{1,64}$`).
fn acceptable_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl BatchResult {
    /// The answer in the line; `None` for requests that never ran (canceled, expired).
    fn answer(self) -> Option<Answer> {
        match self {
            Self::Succeeded { message } => Some(Answer::Success(message)),
            Self::Errored { error } => {
                // `{"type": "error", "error": {"type", "message"}}`, or the inner object alone.
                let inner = if error["error"].is_object() {
                    &error["error"]
                } else {
                    &error
                };
                let kind = inner["type"].as_str().unwrap_or_default();
                Some(Answer::Failure(RecordError {
                    error_code: error_code(kind),
                    error_message: inner["message"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("the request failed ({kind})")),
                }))
            }
            Self::Canceled | Self::Expired => None,
            Self::Unknown => {
                tracing::warn!(
                    provider = "anthropic",
                    "a batch result of an unknown type skipped"
                );
                None
            }
        }
    }
}

/// Tokens of a Messages answer, for native lines.
fn native_usage(body: &Value) -> TokenUsage {
    let usage = &body["usage"];
    TokenUsage {
        input: usage["input_tokens"].as_u64().unwrap_or(0),
        output: usage["output_tokens"].as_u64().unwrap_or(0),
    }
}

/// A URL's scheme, host and port (the scheme's default made explicit).
fn origin(url: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

impl AnthropicBatches {
    pub fn new(transport: Arc<Transport>, base_url: &BaseUrl, anthropic_version: String) -> Self {
        Self {
            transport,
            api: Anthropic::new(anthropic_version.clone()),
            base: trimmed(base_url),
            version: anthropic_version,
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        method: http::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client
            .request(method, url)
            .header("anthropic-version", &self.version);
        if let Some(key) = key {
            builder = builder.header(KEY_HEADER, key_value(&self.transport, key, false)?);
        }
        Ok(builder)
    }

    fn batches_url(&self) -> String {
        format!("{}/v1/messages/batches", self.base)
    }

    fn batch_url(&self, id: &str) -> String {
        format!("{}/{}", self.batches_url(), segment(id))
    }

    async fn batch(&self, handle: &NativeHandle) -> Result<Batch, ProviderError> {
        let url = self.batch_url(&handle.0);
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        read_json(&self.transport, &self.api, response).await
    }

    async fn submit_job(&self, job: &NativeJob) -> Result<NativeHandle, ProviderError> {
        // Betas are per batch at Anthropic: the union of those the records' calls ask for.
        let mut betas: Vec<String> = Vec::new();
        let requests: Vec<Value> = match &job.input {
            // Anthropic has no file store: a native file is always sent inline.
            NativeInput::Native { lines, .. } => lines.clone(),
            NativeInput::Bedrock(records) => outgoing(job, records, &self.api, acceptable_id)
                .into_iter()
                .filter_map(|o| {
                    let (_, request) = o.request.ok()?;
                    for (name, value) in &request.headers {
                        if *name == "anthropic-beta" {
                            for beta in value.split(',').map(str::trim).filter(|b| !b.is_empty()) {
                                if !betas.iter().any(|b| b == beta) {
                                    betas.push(beta.to_owned());
                                }
                            }
                        }
                    }
                    Some(json!({"custom_id": o.custom_id, "params": request.body}))
                })
                .collect(),
        };
        if requests.is_empty() {
            return Ok(nothing_submitted());
        }
        let body =
            Bytes::from(serde_json::to_vec(&json!({ "requests": requests })).unwrap_or_default());
        let url = self.batches_url();
        let beta = betas.join(",");
        let response = self
            .transport
            .send_create(|client, key| {
                let mut builder = self
                    .request(client, key, http::Method::POST, &url)?
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                if !beta.is_empty() {
                    builder = builder.header("anthropic-beta", &beta);
                }
                Ok(builder)
            })
            .await?;
        let batch: Batch = read_json(&self.transport, &self.api, response).await?;
        Ok(NativeHandle(batch.id))
    }

    async fn poll_batch(&self, handle: &NativeHandle) -> Result<NativeStatus, ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(nothing_status());
        }
        let batch = self.batch(handle).await?;
        let counts = batch.request_counts.unwrap_or_default();
        let status = status(
            &batch.processing_status,
            batch.cancel_initiated_at.is_some(),
            counts.expired > 0,
        );
        let message = (status == ModelInvocationJobStatus::Expired).then(|| {
            format!(
                "{} requests expired before provider '{}' processed them",
                counts.expired,
                self.transport.provider()
            )
        });
        Ok(NativeStatus {
            status,
            message,
            total: Some(
                counts.processing
                    + counts.succeeded
                    + counts.errored
                    + counts.canceled
                    + counts.expired,
            ),
            processed: Some(counts.succeeded + counts.errored),
            failed: Some(counts.errored),
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

    /// Every line of the results: from `results_url` when it is on the configured base's
    /// origin (the key never goes elsewhere), else from the documented path.
    async fn result_lines(
        &self,
        handle: &NativeHandle,
        mut each: impl FnMut(ResultLine),
    ) -> Result<(), ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(());
        }
        let batch = self.batch(handle).await?;
        let fallback = format!("{}/results", self.batch_url(&handle.0));
        let url = match (
            batch.results_url.as_deref().map(reqwest::Url::parse),
            reqwest::Url::parse(&self.base),
        ) {
            (Some(Ok(url)), Ok(base)) if origin(&url) == origin(&base) => url.to_string(),
            _ => fallback,
        };
        let response = self
            .transport
            .send(|client, key| self.request(client, key, http::Method::GET, &url))
            .await?;
        let response = read_success(&self.transport, &self.api, response).await?;
        let provider = self.transport.provider();
        each_line(
            self.transport.body(response),
            |e| e,
            |line| match serde_json::from_slice::<ResultLine>(line) {
                Ok(line) => each(line),
                Err(err) => {
                    tracing::warn!(%provider, error = %err, "unreadable batch result line skipped");
                }
            },
        )
        .await
    }

    /// Canceled and expired requests, never run, are absent from the results: the driver
    /// accounts for them. Records translation refused come out as error records.
    async fn results_of(
        &self,
        job: &NativeJob,
        handle: &NativeHandle,
    ) -> Result<Vec<OutputRecord>, ProviderError> {
        match &job.input {
            NativeInput::Bedrock(records) => {
                let outgoing = outgoing(job, records, &self.api, acceptable_id);
                let index = sent_index(&outgoing);
                let mut found: Vec<Option<OutputRecord>> = vec![None; outgoing.len()];
                self.result_lines(handle, |line| {
                    let Some(&i) = index.get(line.custom_id.as_str()) else {
                        tracing::warn!(custom_id = line.custom_id, "a batch result for no record");
                        return;
                    };
                    if found[i].is_none()
                        && let Some(answer) = line.result.answer()
                    {
                        found[i] = outgoing[i].answered(&self.api, answer);
                    }
                })
                .await?;
                Ok(in_order(&outgoing, found))
            }
            NativeInput::Native { lines, .. } => {
                let mut index: HashMap<&str, usize> = HashMap::new();
                for (i, line) in lines.iter().enumerate() {
                    if let Some(id) = line["custom_id"].as_str() {
                        index.entry(id).or_insert(i);
                    }
                }
                let mut found: Vec<Option<OutputRecord>> = vec![None; lines.len()];
                self.result_lines(handle, |line| {
                    let Some(&i) = index.get(line.custom_id.as_str()) else {
                        tracing::warn!(custom_id = line.custom_id, "a batch result for no line");
                        return;
                    };
                    if found[i].is_none()
                        && let Some(answer) = line.result.answer()
                    {
                        found[i] = Some(native_record(
                            line.custom_id,
                            lines[i]["params"].clone(),
                            answer,
                            native_usage,
                        ));
                    }
                })
                .await?;
                Ok(found.into_iter().flatten().collect())
            }
        }
    }
}

impl NativeBatches for AnthropicBatches {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn is_native_line(&self, line: &Value) -> bool {
        line.get("custom_id").is_some() && line.get("params").is_some()
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
