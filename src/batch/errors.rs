//! Why a control-plane call failed, mapped once, at the edge, to each operation's modeled error.

use quarry_bedrock::operation::{
    create_model_invocation_job::CreateModelInvocationJobError,
    get_foundation_model::GetFoundationModelError,
    get_model_invocation_job::GetModelInvocationJobError,
    list_foundation_models::ListFoundationModelsError,
    list_model_invocation_jobs::ListModelInvocationJobsError,
    list_tags_for_resource::ListTagsForResourceError,
    stop_model_invocation_job::StopModelInvocationJobError, tag_resource::TagResourceError,
    untag_resource::UntagResourceError,
};
use quarry_bedrock::types::error::{
    AccessDeniedException, ConflictException, InternalServerException, ResourceNotFoundException,
    ServiceQuotaExceededException, TooManyTagsException, ValidationException,
};

/// A control-plane failure, with the message the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    Internal(String),
}

impl From<crate::db::DbError> for BatchError {
    fn from(e: crate::db::DbError) -> Self {
        tracing::error!(error = %e, "batch: database");
        Self::Internal("The job store failed; try again.".to_owned())
    }
}

impl From<crate::files::store::StoreError> for BatchError {
    fn from(e: crate::files::store::StoreError) -> Self {
        tracing::error!(error = %e, "batch: file store");
        Self::Internal("The file store failed; try again.".to_owned())
    }
}

/// `impl From<BatchError>` for an operation error: each kind to the operation's modeled error,
/// a kind the operation does not model to ValidationException (client errors) or
/// InternalServerException.
macro_rules! map_errors {
    ($op:ty { $($kind:ident => $variant:ident($error:ident)),* $(,)? }) => {
        impl From<BatchError> for $op {
            fn from(err: BatchError) -> Self {
                match err {
                    $(BatchError::$kind(m) => Self::$variant($error::with_message(m)),)*
                    #[allow(unreachable_patterns)]
                    BatchError::Internal(m) => Self::InternalServerException(
                        InternalServerException::with_message(m),
                    ),
                    #[allow(unreachable_patterns)]
                    other => Self::ValidationException(ValidationException::with_message(
                        other.to_string(),
                    )),
                }
            }
        }
    };
}

map_errors!(CreateModelInvocationJobError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
    Conflict => ConflictException(ConflictException),
    Quota => ServiceQuotaExceededException(ServiceQuotaExceededException),
});
map_errors!(GetModelInvocationJobError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
});
map_errors!(StopModelInvocationJobError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
    Conflict => ConflictException(ConflictException),
});
map_errors!(ListModelInvocationJobsError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
});
map_errors!(ListTagsForResourceError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
});
map_errors!(TagResourceError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
    TooManyTags => TooManyTagsException(TooManyTagsException),
});
map_errors!(UntagResourceError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
});
map_errors!(ListFoundationModelsError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
});
map_errors!(GetFoundationModelError {
    Validation => ValidationException(ValidationException),
    AccessDenied => AccessDeniedException(AccessDeniedException),
    NotFound => ResourceNotFoundException(ResourceNotFoundException),
});
