//! Configuration: TOML parsed into `Uninitialized*` types, then validated into runtime types.
//!
//! - `file`: the file as written ([`UninitializedConfig`] and its tables), read by serde with
//!   unknown keys refused.
//! - `types`: the validated settings the gateway runs on ([`Config`] and below): every default
//!   applied, every name resolved, nothing left to fill in later.
//! - `load`: [`load`], the pure merge of file text, environment and flags into a [`Config`],
//!   and [`load_from_process`], which reads the file and the process environment first.
//! - `sources`: the environment variables and command-line flags that override the file.
//! - `error`: [`ConfigError`], whose every message starts with where the problem is
//!   (`quarry.toml:12:11: …`, `$QUARRY_LISTEN: …`, `--tls-key: …`).
//!
//! Precedence, lowest first: the embedded default (used only when no file is given), the file,
//! `QUARRY_*` environment variables, command-line flags.

mod error;
mod file;
mod load;
mod sources;
mod types;

pub use error::{ConfigError, Origin, Problem};
pub use file::{
    UninitializedAnthropic, UninitializedApiKey, UninitializedAuth, UninitializedBatch,
    UninitializedBedrock, UninitializedBodyLimits, UninitializedConfig, UninitializedFiles,
    UninitializedGemini, UninitializedKey, UninitializedMock, UninitializedOpenAi,
    UninitializedProvider, UninitializedRoute, UninitializedS3, UninitializedServer,
    UninitializedTls,
};
pub use load::{EMBEDDED_DEFAULT, EMBEDDED_DEFAULT_NAME, Source, load, load_from_process};
pub use sources::{ENV_VARS, Env, Flags};
pub use types::{
    Addressing, Allowed, AnthropicConfig, ApiKey, AuthConfig, AuthModeName, BaseUrl, BatchBackend,
    BatchConfig, BedrockConfig, BedrockCredentials, BodyLimits, Config, FilesConfig, GeminiConfig,
    LogFormat, MaxTokensField, OpenAiConfig, ProviderConfig, RemoteConfig, S3Target, ServerConfig,
    SigV4Config, TlsConfig, VirtualKey, WeightedKey,
};

#[cfg(test)]
mod tests;
