//! A provider failure, in Bedrock's error kinds, mapped once to the wire at the edge.

/// Bedrock's error kinds, each with the status Bedrock sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    AccessDenied,
    ResourceNotFound,
    Throttling,
    ModelTimeout,
    ModelError,
    ModelNotReady,
    ModelStreamError,
    ServiceQuotaExceeded,
    ServiceUnavailable,
    InternalServer,
}

impl ErrorKind {
    /// Every kind, for tests and the mock's failure switch.
    pub const ALL: [ErrorKind; 11] = [
        Self::Validation,
        Self::AccessDenied,
        Self::ResourceNotFound,
        Self::Throttling,
        Self::ModelTimeout,
        Self::ModelError,
        Self::ModelNotReady,
        Self::ModelStreamError,
        Self::ServiceQuotaExceeded,
        Self::ServiceUnavailable,
        Self::InternalServer,
    ];

    /// The Bedrock error code (`x-amzn-ErrorType`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Throttling => "ThrottlingException",
            Self::ModelTimeout => "ModelTimeoutException",
            Self::ModelError => "ModelErrorException",
            Self::ModelNotReady => "ModelNotReadyException",
            Self::ModelStreamError => "ModelStreamErrorException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::ServiceUnavailable => "ServiceUnavailableException",
            Self::InternalServer => "InternalServerException",
        }
    }

    /// The HTTP status Bedrock answers this kind with.
    pub fn status(self) -> u16 {
        match self {
            Self::Validation | Self::ServiceQuotaExceeded => 400,
            Self::AccessDenied => 403,
            Self::ResourceNotFound => 404,
            Self::ModelTimeout => 408,
            Self::ModelError | Self::ModelStreamError => 424,
            Self::Throttling | Self::ModelNotReady => 429,
            Self::ServiceUnavailable => 503,
            Self::InternalServer => 500,
        }
    }

    /// Parses a code, with or without the `Exception` suffix, case-insensitively, ignoring `-` and
    /// `_` (`ThrottlingException`, `throttle`, `model-timeout` all parse).
    pub fn parse(s: &str) -> Option<Self> {
        let s: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        let s = s.trim_end_matches("exception");
        Some(match s {
            "validation" => Self::Validation,
            "accessdenied" => Self::AccessDenied,
            "resourcenotfound" | "notfound" => Self::ResourceNotFound,
            "throttling" | "throttle" => Self::Throttling,
            "modeltimeout" | "timeout" => Self::ModelTimeout,
            "modelerror" => Self::ModelError,
            "modelnotready" => Self::ModelNotReady,
            "modelstreamerror" => Self::ModelStreamError,
            "servicequotaexceeded" | "quota" => Self::ServiceQuotaExceeded,
            "serviceunavailable" | "unavailable" => Self::ServiceUnavailable,
            "internalserver" | "internal" => Self::InternalServer,
            _ => return None,
        })
    }
}

/// A failure to answer a call, with the message the client will see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// Whether another provider might answer where this one failed: capacity, availability and
    /// model failures, yes; a bad request or a refused key, no (they would fail anywhere).
    pub fn falls_back(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttling
                | ErrorKind::ServiceQuotaExceeded
                | ErrorKind::ServiceUnavailable
                | ErrorKind::InternalServer
                | ErrorKind::ModelTimeout
                | ErrorKind::ModelError
                | ErrorKind::ModelNotReady
                | ErrorKind::ModelStreamError
        )
    }
}
