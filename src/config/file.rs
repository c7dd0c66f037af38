//! The configuration file as written: `Uninitialized*` types that serde reads from TOML, unvalidated.
//!
//! Every table refuses unknown keys, so a misspelt key is an error rather than a silently ignored
//! setting. Fields that validation checks beyond their TOML type carry a [`Spanned`] so the error
//! can name their line and column. Provider tables are an internally tagged enum, whose contents
//! serde buffers before deserializing; spans do not survive that buffering, so provider fields are
//! plain values and validation finds their position by key path instead (see `load::Locator`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedConfig {
    #[serde(default)]
    pub server: UninitializedServer,
    #[serde(default)]
    pub auth: UninitializedAuth,
    pub default_provider: Option<Spanned<String>>,
    #[serde(default)]
    pub providers: BTreeMap<Spanned<String>, Spanned<UninitializedProvider>>,
    #[serde(default)]
    pub routes: Vec<UninitializedRoute>,
    #[serde(default)]
    pub aliases: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub files: UninitializedFiles,
    #[serde(default)]
    pub batch: UninitializedBatch,
}

/// `[batch]`: batch inference jobs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedBatch {
    pub region: Option<Spanned<String>>,
    pub account_id: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<u64>>,
    pub requests_per_second: Option<Spanned<f64>>,
    pub max_records: Option<Spanned<u64>>,
    pub poll_interval_seconds: Option<Spanned<f64>>,
    pub max_running_jobs: Option<Spanned<u64>>,
}

/// `[files]`: the S3-compatible files API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedFiles {
    pub region: Option<Spanned<String>>,
    pub auto_create_buckets: Option<bool>,
    pub base_domain: Option<Spanned<String>>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedServer {
    pub listen: Option<Spanned<String>>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<super::LogFormat>,
    pub shutdown_grace: Option<u64>,
    #[serde(default)]
    pub max_body_bytes: UninitializedBodyLimits,
    pub tls: Option<UninitializedTls>,
}

/// `[server.max_body_bytes]`: one cap per API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedBodyLimits {
    pub bedrock_runtime: Option<Spanned<u64>>,
    pub bedrock: Option<Spanned<u64>>,
    pub files_xml: Option<Spanned<u64>>,
}

/// `[server.tls]`: both halves are required once the table is present.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[auth]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedAuth {
    pub mode: Option<Spanned<super::AuthModeName>>,
    pub max_skew_seconds: Option<u64>,
    #[serde(default)]
    pub keys: Vec<UninitializedKey>,
}

/// `[[auth.keys]]`: one gateway-issued (virtual) key and what it may use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedKey {
    pub name: Spanned<String>,
    pub access_key_id: Spanned<String>,
    pub secret_access_key: Spanned<String>,
    pub bearer_token: Option<Spanned<String>>,
    pub providers: Option<Vec<Spanned<String>>>,
    pub models: Option<Vec<Spanned<String>>>,
}

/// `[providers.<name>]`, by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum UninitializedProvider {
    Mock(UninitializedMock),
    OpenAi(UninitializedOpenAi),
    Anthropic(UninitializedAnthropic),
    Gemini(UninitializedGemini),
    Bedrock(UninitializedBedrock),
}

impl UninitializedProvider {
    /// The `type` value, as written.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Mock(_) => "mock",
            Self::OpenAi(_) => "openai",
            Self::Anthropic(_) => "anthropic",
            Self::Gemini(_) => "gemini",
            Self::Bedrock(_) => "bedrock",
        }
    }
}

/// `type = "mock"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedMock {
    pub reply: Option<String>,
    pub stream_chunk_chars: Option<u64>,
    pub latency_ms: Option<u64>,
}

/// One upstream API key (given, or read from an environment variable) and its share of the traffic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedApiKey {
    pub key: Option<String>,
    pub env: Option<String>,
    pub weight: Option<u64>,
}

/// `timeouts = { connect, first_byte, idle }`, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedTimeouts {
    pub connect: Option<f64>,
    pub first_byte: Option<f64>,
    pub idle: Option<f64>,
}

/// `retries = { max, base_backoff_ms, max_backoff_ms }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedRetries {
    pub max: Option<u64>,
    pub base_backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
}

/// `type = "openai"` (OpenAI or any server speaking its Chat Completions API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedOpenAi {
    pub base_url: Option<String>,
    pub api_keys: Option<Vec<UninitializedApiKey>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub max_tokens_field: Option<String>,
    #[serde(default)]
    pub timeouts: UninitializedTimeouts,
    #[serde(default)]
    pub retries: UninitializedRetries,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    pub batch: Option<String>,
}

/// `type = "anthropic"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedAnthropic {
    pub base_url: Option<String>,
    pub api_keys: Option<Vec<UninitializedApiKey>>,
    pub anthropic_version: Option<String>,
    #[serde(default)]
    pub timeouts: UninitializedTimeouts,
    #[serde(default)]
    pub retries: UninitializedRetries,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    pub batch: Option<String>,
}

/// `type = "gemini"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedGemini {
    pub base_url: Option<String>,
    pub api_keys: Option<Vec<UninitializedApiKey>>,
    #[serde(default)]
    pub timeouts: UninitializedTimeouts,
    #[serde(default)]
    pub retries: UninitializedRetries,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    pub batch: Option<String>,
}

/// `type = "bedrock"`: real AWS Bedrock upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedBedrock {
    pub region: String,
    /// The service role Bedrock batch jobs run as (the client's roleArn is used when it is an ARN).
    pub batch_role_arn: Option<String>,
    /// The control plane batch jobs are forwarded to; default `https://bedrock.{region}.amazonaws.com`.
    pub batch_endpoint: Option<String>,
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
    #[serde(default)]
    pub timeouts: UninitializedTimeouts,
    #[serde(default)]
    pub retries: UninitializedRetries,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    pub s3: Option<UninitializedS3>,
    pub batch: Option<String>,
}

/// `[providers.<name>.s3]` of a bedrock provider: its files live in a real S3 bucket.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedS3 {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub addressing: Option<String>,
    #[serde(default)]
    pub buckets: Vec<String>,
}

/// `[[routes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninitializedRoute {
    pub model: Spanned<String>,
    pub provider: Spanned<String>,
    pub upstream_model: Option<Spanned<String>>,
}
