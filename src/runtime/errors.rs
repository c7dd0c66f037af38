//! Provider errors mapped once, here, onto each operation's modeled Bedrock errors.

use quarry_bedrock_runtime::operation::{
    apply_guardrail::ApplyGuardrailError, converse::ConverseError,
    converse_stream::ConverseStreamError, count_tokens::CountTokensError,
    invoke_model::InvokeModelError,
    invoke_model_with_response_stream::InvokeModelWithResponseStreamError,
};
use quarry_bedrock_runtime::types::error as e;
use quarry_bedrock_runtime::types::{ConverseStreamOutputError, ResponseStreamError};

use crate::providers::{ErrorKind, ProviderError};

/// Implements `From<ProviderError>` for an error enum: each listed kind to its variant, the rest to
/// the fallback variant (the kind the operation's model has that is closest in meaning).
macro_rules! map_errors {
    ($target:ty, fallback: $fallback:ident, $($kind:ident => $variant:ident),* $(,)?) => {
        impl From<ProviderError> for Wire<$target> {
            fn from(err: ProviderError) -> Self {
                Wire(match err.kind {
                    $(ErrorKind::$kind => <$target>::$variant(e::$variant::with_message(err.message)),)*
                    #[allow(unreachable_patterns)]
                    // Keep the original code in the message: the variant cannot carry it.
                    kind => <$target>::$fallback(e::$fallback::with_message(format!("{}: {}", kind.code(), err.message))),
                })
            }
        }
    };
}

/// A wire error for operation error type `T`; `.0` is what the handler returns.
pub struct Wire<T>(pub T);

map_errors!(ConverseError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ThrottlingException, ModelTimeout => ModelTimeoutException,
    ModelError => ModelErrorException, ModelStreamError => ModelErrorException,
    ModelNotReady => ModelNotReadyException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

map_errors!(ConverseStreamError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ThrottlingException, ModelTimeout => ModelTimeoutException,
    ModelError => ModelErrorException, ModelStreamError => ModelErrorException,
    ModelNotReady => ModelNotReadyException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

map_errors!(InvokeModelError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ServiceQuotaExceededException, ModelTimeout => ModelTimeoutException,
    ModelError => ModelErrorException, ModelStreamError => ModelErrorException,
    ModelNotReady => ModelNotReadyException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

map_errors!(InvokeModelWithResponseStreamError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ServiceQuotaExceededException, ModelTimeout => ModelTimeoutException,
    ModelError => ModelErrorException, ModelStreamError => ModelStreamErrorException,
    ModelNotReady => ModelNotReadyException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

map_errors!(CountTokensError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ThrottlingException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

map_errors!(ApplyGuardrailError, fallback: InternalServerException,
    Validation => ValidationException, AccessDenied => AccessDeniedException,
    ResourceNotFound => ResourceNotFoundException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ServiceQuotaExceededException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException);

// Mid-stream failures: the stream unions model fewer exceptions; the rest become a stream error
// carrying the original code in its message, so nothing is lost.
map_errors!(ConverseStreamOutputError, fallback: ModelStreamErrorException,
    Validation => ValidationException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ThrottlingException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException, ModelStreamError => ModelStreamErrorException);

map_errors!(ResponseStreamError, fallback: ModelStreamErrorException,
    Validation => ValidationException, Throttling => ThrottlingException,
    ServiceQuotaExceeded => ThrottlingException, ServiceUnavailable => ServiceUnavailableException,
    InternalServer => InternalServerException, ModelTimeout => ModelTimeoutException,
    ModelStreamError => ModelStreamErrorException);

/// Maps a provider error onto an operation's error type.
pub fn wire<T>(err: ProviderError) -> T
where
    Wire<T>: From<ProviderError>,
{
    Wire::<T>::from(err).0
}

/// A failure of the gateway itself (a builder refusing what it was given), as an operation error.
pub fn internal<T>(err: impl std::fmt::Display) -> T
where
    Wire<T>: From<ProviderError>,
{
    wire(ProviderError::new(
        ErrorKind::InternalServer,
        err.to_string(),
    ))
}
