//! A configured provider whose client this build does not have yet: every call answers 503.

use futures_util::future::BoxFuture;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;

use super::{ConverseCall, ErrorKind, EventStream, Provider, ProviderError, ProviderId};

/// Stands in for a configured provider whose client is not written yet, so routing to it answers
/// a clear error instead of the configuration being refused.
pub struct Unavailable {
    id: ProviderId,
    kind: &'static str,
}

impl Unavailable {
    pub fn new(id: ProviderId, kind: &'static str) -> Self {
        Self { id, kind }
    }

    fn error(&self) -> ProviderError {
        ProviderError::new(
            ErrorKind::ServiceUnavailable,
            format!(
                "Provider '{}' (type {}) is not available in this build of the gateway yet.",
                self.id, self.kind
            ),
        )
    }
}

impl Provider for Unavailable {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn converse(
        &self,
        _call: ConverseCall,
    ) -> BoxFuture<'_, Result<ConverseOutput, ProviderError>> {
        Box::pin(std::future::ready(Err(self.error())))
    }

    fn converse_stream(
        &self,
        _call: ConverseCall,
    ) -> BoxFuture<'_, Result<EventStream, ProviderError>> {
        Box::pin(std::future::ready(Err(self.error())))
    }

    fn count_tokens(&self, _call: ConverseCall) -> BoxFuture<'_, Result<i32, ProviderError>> {
        Box::pin(std::future::ready(Err(self.error())))
    }
}
