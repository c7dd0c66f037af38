//! The validated settings the gateway runs on: defaults applied, names resolved, secrets redacted.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::auth::{
    AccessKeyId, AuthMode, BearerToken, Credential, Identity, KeyStore, SecretKey, Verifier,
};
use crate::providers::mock::MockConfig;
use crate::providers::{ModelId, ProviderId};
use crate::runtime::Rule;

/// Everything `quarry serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    /// The provider for calls no header, prefix, alias or route claims; always configured.
    pub default_provider: ProviderId,
    /// Never empty; iteration is in name order.
    pub providers: BTreeMap<ProviderId, ProviderConfig>,
    /// `[[routes]]` in file order: the first matching glob wins.
    pub routes: Vec<Rule>,
    /// `[aliases]`: a model id clients send, and the provider and upstream model it stands for.
    pub aliases: HashMap<String, (ProviderId, ModelId)>,
    pub files: FilesConfig,
    pub batch: BatchConfig,
}

/// `[files]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    /// The region buckets report; `us-east-1` unless configured.
    pub region: String,
    /// A PutObject to a missing local bucket creates it instead of answering NoSuchBucket.
    pub auto_create_buckets: bool,
    /// Virtual-hosted–style requests name the bucket as the first label of a host under this
    /// domain (`my-bucket.localhost`); `None` serves path style only.
    pub base_domain: Option<String>,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            auto_create_buckets: true,
            base_domain: Some("localhost".to_owned()),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Created at start if missing.
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// How long in-flight requests may run after a shutdown signal before the process exits anyway.
    pub shutdown_grace: Duration,
    pub max_body_bytes: BodyLimits,
    /// HTTPS when set, plain HTTP otherwise.
    pub tls: Option<TlsConfig>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "unknown log format {other:?} (expected \"pretty\" or \"json\")"
            )),
        }
    }
}

/// The most each API buffers of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Bedrock Runtime (images and documents ride inline, base64).
    pub bedrock_runtime: NonZeroUsize,
    /// The Bedrock control plane.
    pub bedrock: NonZeroUsize,
    /// Buffered S3 XML bodies (DeleteObjects and the like); object bodies stream, uncapped.
    pub files_xml: NonZeroUsize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        // The dispatch constants are positive literals; `MIN` is only the unreachable fallback.
        let nz = |n| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        Self {
            bedrock_runtime: nz(crate::dispatch::RUNTIME_BODY_LIMIT),
            bedrock: nz(crate::dispatch::CONTROL_BODY_LIMIT),
            files_xml: nz(crate::dispatch::FILES_XML_BODY_LIMIT),
        }
    }
}

/// `[server.tls]`: PEM files, read when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[auth] mode`, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum AuthModeName {
    /// Every request is accepted, whatever credentials it carries.
    #[default]
    #[serde(rename = "none")]
    None,
    /// Requests must be signed (SigV4) or carry a bearer token of a configured key.
    #[serde(rename = "sigv4")]
    SigV4,
}

impl AuthModeName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SigV4 => "sigv4",
        }
    }
}

impl fmt::Display for AuthModeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthModeName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "sigv4" => Ok(Self::SigV4),
            other => Err(format!(
                "unknown auth mode {other:?} (expected \"none\" or \"sigv4\")"
            )),
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// Requests are not verified.
    None,
    /// Requests are verified against the configured keys.
    SigV4(SigV4Config),
}

impl AuthConfig {
    pub fn mode_name(&self) -> AuthModeName {
        match self {
            Self::None => AuthModeName::None,
            Self::SigV4(_) => AuthModeName::SigV4,
        }
    }

    /// The gateway's authentication step for these settings.
    pub fn to_auth_mode(&self) -> AuthMode {
        match self {
            Self::None => AuthMode::None,
            Self::SigV4(sigv4) => AuthMode::SigV4(Arc::new(sigv4.verifier())),
        }
    }
}

/// `[auth] mode = "sigv4"`: how far a signature's clock may stray, and the keys (at least one).
#[derive(Debug, Clone)]
pub struct SigV4Config {
    pub max_skew: Duration,
    pub keys: Vec<VirtualKey>,
}

impl SigV4Config {
    /// A verifier holding every key's credential and bearer token.
    pub fn verifier(&self) -> Verifier {
        let mut keys = KeyStore::new();
        for key in &self.keys {
            let mut identity = Identity::new(key.name.clone());
            if let Allowed::Only(providers) = &key.providers {
                identity.providers =
                    Some(providers.iter().map(|p| p.as_str().to_owned()).collect());
            }
            if let Allowed::Only(globs) = &key.models {
                let mut set = globset::GlobSetBuilder::new();
                for g in globs {
                    set.add(g.glob().clone());
                }
                // Every glob compiled once already, when the config was loaded.
                identity.models = Some(set.build().unwrap_or_else(|_| globset::GlobSet::empty()));
            }
            keys.insert(Credential {
                access_key_id: key.access_key_id.clone(),
                secret: key.secret_access_key.clone(),
                identity: identity.clone(),
            });
            if let Some(token) = &key.bearer_token {
                keys.insert_bearer(token, identity);
            }
        }
        Verifier {
            keys,
            max_skew: self.max_skew,
        }
    }
}

/// `[[auth.keys]]`: a gateway-issued key and what it may use. Debug never shows the secrets.
#[derive(Debug, Clone)]
pub struct VirtualKey {
    /// Unique; safe to log and to meter by.
    pub name: String,
    /// Unique across keys.
    pub access_key_id: AccessKeyId,
    pub secret_access_key: SecretKey,
    pub bearer_token: Option<BearerToken>,
    /// The providers calls made with this key may reach; each one is configured.
    pub providers: Allowed<ProviderId>,
    /// The model ids (as the client sends them) this key may call.
    pub models: Allowed<globset::GlobMatcher>,
}

/// An allowance: everything, or only the listed items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed<T> {
    Any,
    Only(Vec<T>),
}

impl Allowed<ProviderId> {
    pub fn allows(&self, provider: &ProviderId) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.contains(provider),
        }
    }
}

impl Allowed<globset::GlobMatcher> {
    pub fn allows(&self, model_id: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(globs) => globs.iter().any(|g| g.is_match(model_id)),
        }
    }
}

/// `[providers.<name>]`, by type.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Mock(MockConfig),
    OpenAi(OpenAiConfig),
    Anthropic(AnthropicConfig),
    Gemini(GeminiConfig),
    Bedrock(BedrockConfig),
}

impl ProviderConfig {
    /// Transport settings and fallbacks; `None` for the mock, which has neither.
    pub fn remote(&self) -> Option<&RemoteConfig> {
        match self {
            Self::Mock(_) => None,
            Self::OpenAi(c) => Some(&c.remote),
            Self::Anthropic(c) => Some(&c.remote),
            Self::Gemini(c) => Some(&c.remote),
            Self::Bedrock(c) => Some(&c.remote),
        }
    }

    /// The `type` value this provider was configured with.
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

/// An absolute `http` or `https` URL with a host and no query, upstream requests are built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    uri: http::Uri,
    /// The same URL as the HTTP client takes it, parsed once: a request only sets path and query.
    /// Boxed: configs hold several base URLs and are matched on by value.
    url: Box<reqwest::Url>,
}

impl BaseUrl {
    /// Parses and checks a base URL; the error is the reason, for the caller to locate.
    pub fn parse(s: &str) -> Result<Self, String> {
        let uri: http::Uri = s
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(other) => return Err(format!("scheme {other:?} is not http or https")),
            None => return Err("it is not absolute (expected http:// or https://)".to_owned()),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err("it has no host".to_owned());
        }
        if uri.query().is_some() {
            return Err("it has a query string".to_owned());
        }
        let url = Box::new(reqwest::Url::parse(s).map_err(|e| e.to_string())?);
        Ok(Self { uri, url })
    }

    pub fn as_uri(&self) -> &http::Uri {
        &self.uri
    }

    /// This URL with `path_and_query` (which starts with `/`) appended to its path. The host
    /// is not parsed again, which a URL parser would do (IDNA included) for every request.
    pub fn join(&self, path_and_query: &str) -> reqwest::Url {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let mut url = (*self.url).clone();
        let base = self.url.path().trim_end_matches('/');
        url.set_path(&format!("{base}{path}"));
        url.set_query(query);
        url
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uri.fmt(f)
    }
}

/// An upstream provider's API key. Debug is redacted so it can never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The raw key, for the upstream request's credentials only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// An upstream key and its share of the traffic relative to the provider's other keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedKey {
    pub key: ApiKey,
    pub weight: NonZeroU32,
}

/// What every remote provider takes besides its own settings: transport and fallbacks.
#[derive(Debug, Clone, Default)]
pub struct RemoteConfig {
    pub upstream: crate::providers::transport::UpstreamSettings,
    /// Tried in order when this provider fails before its answer started (each provider is
    /// configured; the model is the upstream id for that provider).
    pub fallbacks: Vec<(ProviderId, ModelId)>,
    /// Where this provider's batch jobs run.
    pub batch: BatchBackend,
}

/// Where a provider's batch jobs run: its own batch API, or the gateway's engine record by
/// record (for servers without one, such as vLLM or Ollama).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchBackend {
    #[default]
    Native,
    Local,
}

/// `[batch]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// The region and 12-digit account job ARNs name.
    pub region: String,
    pub account_id: String,
    /// Records in flight at once per job on the local engine.
    pub concurrency: std::num::NonZeroUsize,
    /// Records started per second per job on the local engine; `None`: no limit.
    pub requests_per_second: Option<f64>,
    /// Records a job may hold (Bedrock's default quota is 50,000).
    pub max_records: u64,
    /// How often a provider's batch is polled.
    pub poll_interval: Duration,
    /// Local jobs running at once; later ones wait, Scheduled.
    pub max_running_jobs: std::num::NonZeroUsize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            concurrency: std::num::NonZeroUsize::new(16).unwrap_or(std::num::NonZeroUsize::MIN),
            requests_per_second: None,
            max_records: 50_000,
            poll_interval: Duration::from_secs(5),
            max_running_jobs: std::num::NonZeroUsize::new(4).unwrap_or(std::num::NonZeroUsize::MIN),
        }
    }
}

/// Which member carries Converse's `maxTokens` to an OpenAI-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensField {
    /// `max_tokens`: what vLLM, Ollama, LM Studio and Azure take.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: what OpenAI's reasoning models require.
    MaxCompletionTokens,
}

/// `type = "openai"`.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    pub base_url: BaseUrl,
    /// May be empty: OpenAI-compatible local servers often take no key.
    pub api_keys: Vec<WeightedKey>,
    /// Sent with every upstream request; values are marked sensitive, so Debug hides them.
    pub headers: http::HeaderMap,
    pub max_tokens_field: MaxTokensField,
    pub remote: RemoteConfig,
}

/// `type = "anthropic"`.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    pub base_url: BaseUrl,
    /// At least one.
    pub api_keys: Vec<WeightedKey>,
    /// The `anthropic-version` header.
    pub anthropic_version: String,
    pub remote: RemoteConfig,
}

/// `type = "gemini"`.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    pub base_url: BaseUrl,
    /// At least one.
    pub api_keys: Vec<WeightedKey>,
    pub remote: RemoteConfig,
}

/// `type = "bedrock"`: AWS Bedrock itself as the upstream.
#[derive(Debug, Clone)]
pub struct BedrockConfig {
    pub region: String,
    /// `https://bedrock-runtime.<region>.amazonaws.com` unless configured.
    pub endpoint: BaseUrl,
    pub credentials: BedrockCredentials,
    pub remote: RemoteConfig,
    /// `[providers.<name>.s3]`: files for this provider are relayed to a real S3 bucket, signed
    /// with the provider's AWS credentials; `None` keeps them on the local store.
    pub s3: Option<S3Target>,
    /// The service role batch jobs forwarded to Bedrock run as.
    pub batch_role_arn: Option<String>,
    /// Where they are forwarded: `https://bedrock.<region>.amazonaws.com` unless configured.
    pub batch_endpoint: Option<BaseUrl>,
}

/// Where a bedrock provider's files live: S3 (or an S3-compatible server) at `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    /// The region requests are signed for; the provider's unless configured.
    pub region: String,
    /// `https://s3.<region>.amazonaws.com` unless configured.
    pub endpoint: BaseUrl,
    /// How the bucket is named in upstream URLs.
    pub addressing: Addressing,
    /// The only buckets clients may reach with the gateway's AWS identity; empty: every bucket
    /// those credentials can reach.
    pub buckets: Vec<String>,
}

/// How an S3 request names its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// In the host: `https://<bucket>.s3.<region>.amazonaws.com/<key>` (AWS's default).
    Virtual,
    /// In the path: `<endpoint>/<bucket>/<key>` (what S3-compatible servers take).
    Path,
}

impl Addressing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Virtual => "virtual",
            Self::Path => "path",
        }
    }
}

impl fmt::Display for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the gateway authenticates to AWS Bedrock.
#[derive(Debug, Clone)]
pub enum BedrockCredentials {
    /// A Bedrock API key, sent as a bearer token.
    ApiKey(ApiKey),
    /// The AWS SDK's usual chain (environment, profile, instance role), resolved when calling.
    AwsDefaultChain,
}
