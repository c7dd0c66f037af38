//! The OpenAI Batch API (`/batches` over the Files API) as a native backend, and the record
//! bookkeeping the Gemini and Anthropic backends share with it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use self::shared::{
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

    /// A JSON call to the batches API (`body`: a JSON POST body), answered with JSON.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: http::Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<T, ProviderError> {
        let response = self
            .transport
            .send(|client, key| {
                let builder = self.request(client, key, method.clone(), url)?;
                Ok(match &body {
                    Some(body) => builder
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                    None => builder,
                })
            })
            .await?;
        read_json(&self.transport, &self.api, response).await
    }

    fn batch_url(&self, id: &str) -> String {
        format!("{}/batches/{}", self.base, segment(id))
    }

    async fn batch(&self, handle: &NativeHandle) -> Result<Batch, ProviderError> {
        self.call(http::Method::GET, &self.batch_url(&handle.0), None)
            .await
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
        let batch: Batch = self
            .call(
                http::Method::POST,
                &format!("{}/batches", self.base),
                Some(body),
            )
            .await?;
        Ok(NativeHandle(batch.id))
    }

    async fn poll_batch(&self, handle: &NativeHandle) -> Result<NativeStatus, ProviderError> {
        if handle.0 == NOTHING_SUBMITTED {
            return Ok(shared::nothing_status());
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
                let index = shared::sent_index(&outgoing);
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
                Ok(shared::in_order(&outgoing, found))
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
                    let record = shared::native_record(
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

pub(super) mod shared {
    //! What every native backend shares: the Bedrock records' ids and translation, the answers'
    //! translation back, and the HTTP plumbing around [`Transport`].

    use std::collections::{HashMap, HashSet};

    use bytes::Bytes;
    use futures_util::{Stream, StreamExt as _};
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    use quarry_bedrock::types::ModelInvocationJobStatus;
    use serde_json::Value;

    use super::super::{NativeHandle, NativeJob, NativeStatus};
    use crate::batch::record::{
        InputRecord, OutputRecord, RecordError, TokenUsage, Translated, usage_of,
    };
    use crate::config::{ApiKey, BaseUrl};
    use crate::files::remote::RemoteError;
    use crate::providers::api::{UpstreamApi, UpstreamRequest};
    use crate::providers::transport::{Transport, status_error};
    use crate::providers::{ErrorKind, ProviderError, ProviderId};

    /// The most a batch object or an error body may hold; they are a few kilobytes.
    const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

    /// The handle of a job that had nothing to send (every record refused by translation, or no
    /// lines): no provider batch exists, it is complete at once and its results are the refusals.
    /// No provider names a batch like this (`batch_…`, `batches/…`, `msgbatch_…`).
    pub const NOTHING_SUBMITTED: &str = "quarry:nothing-submitted";

    pub fn nothing_submitted() -> NativeHandle {
        NativeHandle(NOTHING_SUBMITTED.to_owned())
    }

    pub fn nothing_status() -> NativeStatus {
        NativeStatus {
            status: ModelInvocationJobStatus::Completed,
            message: None,
            total: Some(0),
            processed: Some(0),
            failed: Some(0),
        }
    }

    /// The characters an id keeps unescaped in its path segment (RFC 3986 unreserved), so an id
    /// holding `/`, `?` or `:` cannot reach another resource or method.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    /// `id` as one path segment.
    pub fn segment(id: &str) -> String {
        utf8_percent_encode(id, SEGMENT).to_string()
    }

    /// A base URL without its trailing slash; paths appended start with one.
    pub fn trimmed(base_url: &BaseUrl) -> String {
        base_url.to_string().trim_end_matches('/').to_owned()
    }

    /// A key as a header value (`Bearer …` when `bearer`), marked sensitive so it is never logged.
    pub fn key_value(
        transport: &Transport,
        key: &ApiKey,
        bearer: bool,
    ) -> Result<http::HeaderValue, ProviderError> {
        let value = if bearer {
            http::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        } else {
            http::HeaderValue::from_str(key.expose())
        };
        let mut value = value.map_err(|_| {
            ProviderError::new(
                ErrorKind::InternalServer,
                format!(
                    "an API key of provider '{}' is not a valid header value",
                    transport.provider()
                ),
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// A non-2xx answer as the Bedrock error its status maps to, keeping the provider's message.
    async fn failure(
        transport: &Transport,
        api: &impl UpstreamApi,
        response: reqwest::Response,
    ) -> ProviderError {
        let status = response.status().as_u16();
        // The body of an error is small; a broken one still leaves the status to go by.
        let body = transport
            .collect(response, MAX_JSON_BYTES)
            .await
            .unwrap_or_default();
        let message = api.error_message(&body).or_else(|| {
            std::str::from_utf8(&body)
                .ok()
                .map(|s| s.trim().chars().take(500).collect())
        });
        status_error(transport.provider(), status, message)
    }

    /// The 2xx answer, or the failure it is.
    pub async fn read_success(
        transport: &Transport,
        api: &impl UpstreamApi,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, ProviderError> {
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(failure(transport, api, response).await)
        }
    }

    /// The 2xx answer's JSON body, or the failure it is.
    pub async fn read_json<T: serde::de::DeserializeOwned>(
        transport: &Transport,
        api: &impl UpstreamApi,
        response: reqwest::Response,
    ) -> Result<T, ProviderError> {
        let response = read_success(transport, api, response).await?;
        let body = transport.collect(response, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| {
            crate::providers::vocab::malformed_upstream(transport.provider().as_str(), e)
        })
    }

    /// A file API failure as the Bedrock error it is, keeping the provider's message.
    pub fn remote_error(provider: &ProviderId, err: RemoteError) -> ProviderError {
        match err {
            RemoteError::Status { status, message } => {
                status_error(provider, status, Some(message))
            }
            RemoteError::NotFound { id } => status_error(
                provider,
                404,
                Some(format!("the provider has no file {id:?}")),
            ),
            RemoteError::Transport(err) => err,
            RemoteError::Malformed(why) => {
                crate::providers::vocab::malformed_upstream(provider.as_str(), why)
            }
            RemoteError::Local(err) => ProviderError::new(
                ErrorKind::InternalServer,
                format!("staging the batch input for provider '{provider}': {err}"),
            ),
        }
    }

    /// Lines as a JSONL file's content.
    pub fn jsonl<'a>(lines: impl IntoIterator<Item = &'a Value>) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut out, line)
                .map_err(|e| ProviderError::new(ErrorKind::InternalServer, e.to_string()))?;
            out.push(b'\n');
        }
        Ok(out)
    }

    /// `content` in a temporary file (the file APIs upload from a path), and its length; the
    /// file is removed when the handle drops.
    pub async fn staged(content: &[u8]) -> Result<(tempfile::NamedTempFile, u64), ProviderError> {
        let local = |e: std::io::Error| {
            ProviderError::new(
                ErrorKind::InternalServer,
                format!("staging a batch input file: {e}"),
            )
        };
        let file = tempfile::NamedTempFile::new().map_err(local)?;
        tokio::fs::write(file.path(), content)
            .await
            .map_err(local)?;
        Ok((file, content.len() as u64))
    }

    /// Calls `each` with every non-blank line of a body as it arrives, so a large results file
    /// is never held whole.
    pub async fn each_line<S, E>(
        mut body: S,
        on_error: impl Fn(E) -> ProviderError,
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), ProviderError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let mut pending: Vec<u8> = Vec::new();
        let mut emit = |line: &[u8]| {
            if !line.iter().all(u8::is_ascii_whitespace) {
                each(line);
            }
        };
        while let Some(chunk) = body.next().await {
            pending.extend_from_slice(&chunk.map_err(&on_error)?);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
                emit(&pending[start..start + end]);
                start += end + 1;
            }
            pending.drain(..start);
        }
        emit(&pending);
        Ok(())
    }

    /// One Bedrock record as a backend sends it.
    #[derive(Debug)]
    pub struct Outgoing<'a> {
        pub record: &'a InputRecord,
        /// The id the provider knows the record by.
        pub custom_id: String,
        /// The call and its upstream request, or why translation refused the record.
        pub request: Result<(Translated, UpstreamRequest), ProviderError>,
    }

    /// A provider's answer to one record: the success body, or the failure.
    #[derive(Debug)]
    pub enum Answer {
        Success(Value),
        Failure(RecordError),
    }

    /// The job's records with their provider ids, translated exactly as real-time calls are.
    /// Pure, so `results` recomputes what `submit` sent (ids and refusals alike).
    pub fn outgoing<'a>(
        job: &NativeJob,
        records: &'a [InputRecord],
        api: &impl UpstreamApi,
        acceptable: fn(&str) -> bool,
    ) -> Vec<Outgoing<'a>> {
        let ids = custom_ids(records, acceptable);
        records
            .iter()
            .zip(ids)
            .map(|(record, custom_id)| {
                let request = Translated::new(
                    job.invocation_type,
                    &job.model,
                    &job.model_id,
                    &record.model_input,
                )
                .and_then(|t| {
                    let request = api.request(&t.call, false)?;
                    Ok((t, request))
                });
                Outgoing {
                    record,
                    custom_id,
                    request,
                }
            })
            .collect()
    }

    /// Provider ids for records: the record id itself when the provider accepts it and no
    /// earlier record has it, else `quarry-<position>` (with `_` appended while that is taken).
    /// A function of the record list alone, so results map back the same way.
    pub fn custom_ids(records: &[InputRecord], acceptable: fn(&str) -> bool) -> Vec<String> {
        let mut taken: HashSet<&str> = HashSet::new();
        let kept: Vec<bool> = records
            .iter()
            .map(|r| acceptable(&r.record_id) && taken.insert(r.record_id.as_str()))
            .collect();
        let mut minted: HashSet<String> = HashSet::new();
        records
            .iter()
            .zip(kept)
            .enumerate()
            .map(|(i, (record, kept))| {
                if kept {
                    return record.record_id.clone();
                }
                let mut id = format!("quarry-{i}");
                while taken.contains(id.as_str()) || minted.contains(&id) {
                    id.push('_');
                }
                minted.insert(id.clone());
                id
            })
            .collect()
    }

    /// Provider id → position, for the records that were sent.
    pub fn sent_index<'a>(outgoing: &'a [Outgoing<'_>]) -> HashMap<&'a str, usize> {
        outgoing
            .iter()
            .enumerate()
            .filter(|(_, o)| o.request.is_ok())
            .map(|(i, o)| (o.custom_id.as_str(), i))
            .collect()
    }

    impl Outgoing<'_> {
        /// The output line for the provider's answer to this record, translated back as a
        /// real-time answer is; `None` for a record that was never sent.
        pub fn answered(&self, api: &impl UpstreamApi, answer: Answer) -> Option<OutputRecord> {
            let (translated, _) = self.request.as_ref().ok()?;
            let outcome = match answer {
                Answer::Success(body) => {
                    let bytes = serde_json::to_vec(&body).unwrap_or_default();
                    api.response(&translated.call, &bytes, 0)
                        .and_then(|out| Ok((translated.model_output(&out)?, usage_of(&out))))
                        .map_err(|err| RecordError::from(&err))
                }
                Answer::Failure(error) => Err(error),
            };
            Some(match outcome {
                Ok((output, usage)) => OutputRecord {
                    record_id: self.record.record_id.clone(),
                    model_input: self.record.model_input.clone(),
                    outcome: Ok(output),
                    usage,
                },
                Err(error) => OutputRecord::failed(
                    self.record.record_id.clone(),
                    self.record.model_input.clone(),
                    error,
                ),
            })
        }

        /// The error line of a record translation refused.
        pub fn refused(&self) -> Option<OutputRecord> {
            let err = self.request.as_ref().err()?;
            Some(OutputRecord::failed(
                self.record.record_id.clone(),
                self.record.model_input.clone(),
                RecordError::validation(err.message.clone()),
            ))
        }
    }

    /// The output lines in input order: refusals where they stand, answers found, and nothing
    /// for a sent record the provider did not answer.
    pub fn in_order(
        outgoing: &[Outgoing<'_>],
        found: Vec<Option<OutputRecord>>,
    ) -> Vec<OutputRecord> {
        outgoing
            .iter()
            .zip(found)
            .filter_map(|(o, found)| o.refused().or(found))
            .collect()
    }

    /// The output line for an answer to a native line: the provider's body as it is.
    pub fn native_record(
        record_id: String,
        model_input: Value,
        answer: Answer,
        usage: fn(&Value) -> TokenUsage,
    ) -> OutputRecord {
        match answer {
            Answer::Success(body) => OutputRecord {
                record_id,
                model_input,
                usage: usage(&body),
                outcome: Ok(body),
            },
            Answer::Failure(error) => OutputRecord::failed(record_id, model_input, error),
        }
    }
}
