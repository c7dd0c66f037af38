//! Model providers behind one trait, all speaking the Converse vocabulary of the generated Bedrock types.
//!
//! A provider answers Converse calls (whole or streamed) and counts tokens; InvokeModel bodies are
//! translated to and from Converse by [`crate::families`], so every provider serves every family.

pub mod api;
mod error;
pub mod mock;
pub mod openai;
pub mod transport;
pub mod unavailable;
pub mod upstream;
pub mod vocab;

use futures_util::future::BoxFuture;
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::types::ConverseStreamOutput;

pub use self::error::{ErrorKind, ProviderError};

/// A configured provider's name: `mock`, `openai`, `anthropic`, `gemini`, `bedrock`, or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The model id a provider is asked for, after routing (aliases resolved, `provider/` prefix removed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelId(String);

impl ModelId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One Converse call as a provider receives it.
#[derive(Debug, Clone)]
pub struct ConverseCall {
    /// The upstream model id.
    pub model: ModelId,
    /// The request, in the Converse vocabulary (`model_id` still holds what the client sent).
    pub request: ConverseInput,
    /// Request headers a provider may act on (the mock's failure switches, for one).
    pub headers: http::HeaderMap,
}

/// The Converse stream events a provider produces, in order. `Sync` because the runtime's
/// event-stream sender requires it.
pub type EventStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<ConverseStreamOutput, ProviderError>> + Send + Sync>,
>;

/// A model provider.
pub trait Provider: Send + Sync + 'static {
    /// The provider's configured name.
    fn id(&self) -> &ProviderId;

    /// Answers a Converse call whole.
    fn converse(&self, call: ConverseCall) -> BoxFuture<'_, Result<ConverseOutput, ProviderError>>;

    /// Answers a Converse call as a stream of events; an `Err` before the first event is an
    /// ordinary error response, one after it an exception frame.
    fn converse_stream(
        &self,
        call: ConverseCall,
    ) -> BoxFuture<'_, Result<EventStream, ProviderError>>;

    /// Counts the input tokens of a Converse call.
    fn count_tokens(&self, call: ConverseCall) -> BoxFuture<'_, Result<i32, ProviderError>>;
}
