//! Batches run on a provider's own batch API: the vocabulary every native backend speaks to the
//! job driver, which owns job state, input reading and output writing.

mod anthropic;
mod gemini;
mod openai;
mod shared;
#[cfg(test)]
mod tests;

use futures_util::future::BoxFuture;
use quarry_bedrock::types::ModelInvocationJobStatus;
use serde_json::Value;

use super::record::{InputRecord, InvocationType, OutputRecord};
use crate::providers::{ModelId, ProviderError};

/// What a backend needs to submit one job and to read its results back.
#[derive(Debug, Clone)]
pub struct NativeJob {
    /// The gateway's job id (12 `[a-z0-9]`), for the provider batch's metadata / display name.
    pub job_id: String,
    /// The job name the client gave.
    pub job_name: String,
    /// The upstream model (after routing).
    pub model: ModelId,
    /// The model id the job was created with.
    pub model_id: String,
    pub invocation_type: InvocationType,
    pub input: NativeInput,
}

/// A job's input, as the driver read it from the file store.
#[derive(Debug, Clone)]
pub enum NativeInput {
    /// Valid records in Bedrock's format (invalid lines never reach a backend: the driver writes
    /// them as error records). The backend translates each `modelInput` with
    /// [`super::record::Translated`], exactly as a real-time call would be translated, and
    /// renders each answer back with [`super::record::Translated::model_output`].
    Bedrock(Vec<InputRecord>),
    /// A file already in the provider's own batch format (see [`NativeBatches::is_native_line`]):
    /// its lines as they are, and the file's id at the provider when the file store holds it there.
    Native {
        file_id: Option<String>,
        lines: Vec<Value>,
    },
}

/// The provider's id for a submitted batch; the driver stores it with the job, so a restarted
/// gateway polls the same batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeHandle(pub String);

/// One poll's answer, the provider's status already mapped through the backend's status table.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeStatus {
    /// Only Bedrock's statuses: `Submitted` / `Validating` / `Scheduled` / `InProgress` while it
    /// runs; `Completed` once results can be read (the driver decides between Completed and
    /// PartiallyCompleted from the records); `Failed`, `Stopping`, `Stopped`, `Expired`.
    pub status: ModelInvocationJobStatus,
    /// The provider's reason, for `Failed` and `Expired`.
    pub message: Option<String>,
    /// Record counts the provider reports while running, when it does.
    pub total: Option<u64>,
    pub processed: Option<u64>,
    pub failed: Option<u64>,
}

/// A provider's batch API.
pub trait NativeBatches: Send + Sync + 'static {
    /// The adapter's name in messages: "openai", "gemini", "anthropic".
    fn name(&self) -> &'static str;

    /// Whether an input line is already in this provider's batch format (an OpenAI line has
    /// `custom_id` and `body`; a Gemini line `request`; an Anthropic line `custom_id` and
    /// `params`) rather than Bedrock's (`modelInput`).
    fn is_native_line(&self, line: &Value) -> bool;

    /// Submits the job to the provider.
    fn submit<'a>(
        &'a self,
        job: &'a NativeJob,
    ) -> BoxFuture<'a, Result<NativeHandle, ProviderError>>;

    /// The batch's state now.
    fn poll<'a>(
        &'a self,
        handle: &'a NativeHandle,
    ) -> BoxFuture<'a, Result<NativeStatus, ProviderError>>;

    /// Asks the provider to cancel the batch.
    fn cancel<'a>(&'a self, handle: &'a NativeHandle) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Once [`Self::poll`] answered `Completed` (or `Stopped` / `Expired` with partial results):
    /// one output record per input record the provider answered, in Bedrock's output form.
    fn results<'a>(
        &'a self,
        job: &'a NativeJob,
        handle: &'a NativeHandle,
    ) -> BoxFuture<'a, Result<Vec<OutputRecord>, ProviderError>>;
}

/// The native batch backend of a configured provider, with its own transport (same keys,
/// timeouts and retries as the provider's model calls); `None` for providers without a batch
/// API here (the mock, and Bedrock, whose own control plane is used directly).
pub fn for_provider(
    id: &crate::providers::ProviderId,
    config: &crate::config::ProviderConfig,
) -> Result<
    Option<std::sync::Arc<dyn NativeBatches>>,
    crate::providers::transport::TransportBuildError,
> {
    use crate::config::ProviderConfig;
    use crate::providers::transport::Transport;
    use std::sync::Arc;
    Ok(match config {
        ProviderConfig::OpenAi(c) => {
            let transport = Transport::new(id.clone(), c.remote.upstream, c.api_keys.clone())?;
            Some(Arc::new(openai::OpenAiBatches::new(
                Arc::new(transport),
                &c.base_url,
                c.headers.clone(),
                c.max_tokens_field,
            )))
        }
        ProviderConfig::Gemini(c) => {
            let transport = Transport::new(id.clone(), c.remote.upstream, c.api_keys.clone())?;
            Some(Arc::new(gemini::GeminiBatches::new(
                Arc::new(transport),
                &c.base_url,
            )))
        }
        ProviderConfig::Anthropic(c) => {
            let transport = Transport::new(id.clone(), c.remote.upstream, c.api_keys.clone())?;
            Some(Arc::new(anthropic::AnthropicBatches::new(
                Arc::new(transport),
                &c.base_url,
                c.anthropic_version.clone(),
            )))
        }
        ProviderConfig::Mock(_) | ProviderConfig::Bedrock(_) => None,
    })
}
