//! What every native backend shares: the Bedrock records' ids and translation, the answers'
//! translation back, and the HTTP plumbing around [`Transport`].

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde_json::Value;

use super::{NativeHandle, NativeJob, NativeStatus};
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
    serde_json::from_slice(&body)
        .map_err(|e| crate::providers::vocab::malformed_upstream(transport.provider().as_str(), e))
}

/// A file API failure as the Bedrock error it is, keeping the provider's message.
pub fn remote_error(provider: &ProviderId, err: RemoteError) -> ProviderError {
    match err {
        RemoteError::Status { status, message } => status_error(provider, status, Some(message)),
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
pub fn in_order(outgoing: &[Outgoing<'_>], found: Vec<Option<OutputRecord>>) -> Vec<OutputRecord> {
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
