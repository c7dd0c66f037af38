//! Model providers behind one trait, all speaking the Converse vocabulary of the generated Bedrock types.
//!
//! A provider answers Converse calls (whole or streamed) and counts tokens; InvokeModel bodies are
//! translated to and from Converse by [`crate::families`], so every provider serves every family.

pub mod anthropic;
pub mod api;
pub mod bedrock;
mod error;
pub mod gemini;
pub mod mock;
pub mod openai;
#[cfg(test)]
mod test_support;
pub mod transport;
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
    /// Request headers a provider may act on (the mock's failure switches, for one); shared
    /// with the call context, so fallbacks and batches copy no header map.
    pub headers: std::sync::Arc<http::HeaderMap>,
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

    /// The provider's raw side, when it takes Bedrock Runtime requests unchanged (AWS Bedrock
    /// itself): calls routed to it directly then skip translation altogether.
    fn passthrough(&self) -> Option<&dyn Passthrough> {
        None
    }
}

/// A Bedrock Runtime request as the client sent it, for providers that take it unchanged.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub operation: RuntimeOperation,
    /// The upstream model id, after routing.
    pub model: ModelId,
    /// The query string as received, without the `?`.
    pub query: Option<String>,
    /// Every header the client sent; the provider picks what it forwards.
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// The Bedrock Runtime operations addressed as `POST /model/{modelId}/{suffix}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeOperation {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
    CountTokens,
}

impl RuntimeOperation {
    /// Every operation, for tests and path matching.
    pub const ALL: [RuntimeOperation; 5] = [
        Self::Converse,
        Self::ConverseStream,
        Self::InvokeModel,
        Self::InvokeModelWithResponseStream,
        Self::CountTokens,
    ];

    /// The last path segment naming the operation.
    pub fn path_suffix(&self) -> &'static str {
        match self {
            Self::Converse => "converse",
            Self::ConverseStream => "converse-stream",
            Self::InvokeModel => "invoke",
            Self::InvokeModelWithResponseStream => "invoke-with-response-stream",
            Self::CountTokens => "count-tokens",
        }
    }

    /// The operation a path suffix names.
    pub fn from_path_suffix(suffix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.path_suffix() == suffix)
    }
}

/// A provider that relays raw Bedrock Runtime requests and answers byte for byte.
pub trait Passthrough: Send + Sync {
    /// Sends the request upstream and returns the answer as it arrives: status, headers and a
    /// streamed body. An `Err` is a failure before any answer (network, timeout, credentials).
    fn forward(
        &self,
        request: RawRequest,
    ) -> BoxFuture<'_, Result<http::Response<aws_smithy_http_server::body::BoxBody>, ProviderError>>;
}
