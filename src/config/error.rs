//! Configuration errors, each naming where the offending value came from and what is wrong with it.

use std::fmt;
use std::path::PathBuf;

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A position in a configuration file (1-based line and column, columns in characters).
    File {
        path: String,
        line: usize,
        column: usize,
    },
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line, column } => write!(f, "{path}:{line}:{column}"),
            Self::Env(name) => write!(f, "${name}"),
            Self::Flag(name) => f.write_str(name),
        }
    }
}

/// A configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the configuration file: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{origin}: {problem}")]
    Invalid { origin: Origin, problem: Problem },
}

impl ConfigError {
    /// What is wrong, when the configuration was read but refused.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Read { .. } => None,
            Self::Invalid { problem, .. } => Some(problem),
        }
    }

    /// Where the problem is, when the configuration was read but refused.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            Self::Read { .. } => None,
            Self::Invalid { origin, .. } => Some(origin),
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A syntax error, an unknown key or a value of the wrong type, in toml's own words.
    #[error("{0}")]
    Toml(String),
    #[error("{what} names provider {name:?}, which is not configured (configured: {configured})")]
    UnknownProvider {
        what: String,
        name: String,
        configured: String,
    },
    #[error("{pattern:?} is not a valid glob: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("{value:?} is not a valid URL: {reason}")]
    BadUrl { value: String, reason: String },
    #[error("{value:?} is not a socket address (expected IP:port, such as 127.0.0.1:8080)")]
    BadListen { value: String },
    #[error("{value:?} is not a valid value: {reason}")]
    BadValue { value: String, reason: String },
    #[error("{field} must not be empty")]
    Empty { field: String },
    #[error("{field} must be greater than 0")]
    Zero { field: String },
    #[error("auth mode \"sigv4\" needs at least one [[auth.keys]] entry")]
    NoAuthKeys,
    #[error("access key id {id:?} is already used by key {first:?}")]
    DuplicateAccessKey { id: String, first: String },
    #[error("key name {name:?} is already used by another key")]
    DuplicateKeyName { name: String },
    #[error("this bearer token is already used by key {first:?}")]
    DuplicateBearerToken { first: String },
    #[error("provider name {name:?} may hold only ASCII letters, digits, '-', '_' and '.'")]
    BadProviderName { name: String },
    #[error(
        "provider {name:?} of type {kind} needs at least one api_keys entry (or {env} set in the environment)"
    )]
    NoApiKeys {
        name: String,
        kind: &'static str,
        env: &'static str,
    },
    #[error("alias {alias:?} must name \"<provider>/<model>\", not {value:?}")]
    BadAlias { alias: String, value: String },
    #[error("header {name:?} is not a valid HTTP header: {reason}")]
    BadHeader { name: String, reason: String },
    #[error(
        "default_provider must be set: several providers are configured ({configured}) and none is called \"mock\""
    )]
    NoDefaultProvider { configured: String },
    #[error(
        "s3 is only for providers of type \"bedrock\" (provider {name:?} is of type {kind:?}): only AWS Bedrock's files live in S3"
    )]
    S3NotBedrock { name: String, kind: String },
    #[error(
        "provider {name:?} has an s3 table but authenticates with api_key: S3 requests are signed with AWS credentials (SigV4), which a Bedrock API key is not; remove api_key to use the AWS credential chain, or remove the s3 table"
    )]
    S3WithApiKey { name: String },
    #[error("given without {missing}; a TLS certificate and key go together")]
    TlsHalf {
        given: &'static str,
        missing: &'static str,
    },
}
