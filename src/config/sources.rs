//! The settings that override the file: `QUARRY_*` environment variables, then command-line flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::error::{ConfigError, Origin, Problem};
use super::types::{AuthModeName, LogFormat};
use crate::providers::ProviderId;

/// The environment variables the loader reads (besides `QUARRY_CONFIG`, which picks the file).
pub const ENV_VARS: &[&str] = &[
    "QUARRY_LISTEN",
    "QUARRY_DATA_DIR",
    "QUARRY_LOG_FORMAT",
    "QUARRY_AUTH_MODE",
    "QUARRY_DEFAULT_PROVIDER",
];

/// The environment as the loader sees it, name to value; a map rather than the process
/// environment so that loading is a pure function and tests never touch global state.
pub type Env = BTreeMap<String, String>;

/// The process environment: [`ENV_VARS`], the providers' standard key variables
/// (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`) and any variable an `api_keys` entry
/// names with `env = "..."`. Variables that are not valid Unicode are skipped.
pub(super) fn process_env() -> Env {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The command-line flags that override the file and the environment; `None` means not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// An overriding value and where it came from, so a later check can point at it.
#[derive(Debug, Clone)]
pub(super) struct Given<T> {
    pub value: T,
    pub origin: Origin,
}

/// The environment and flags merged (flags win), each value parsed.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    pub listen: Option<Given<SocketAddr>>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub auth_mode: Option<Given<AuthModeName>>,
    pub default_provider: Option<Given<ProviderId>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// An environment variable's value; an empty one counts as unset, as shells make unsetting awkward.
fn env_value<'a>(env: &'a Env, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn parse_env<T>(
    env: &Env,
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, Problem>,
) -> Result<Option<Given<T>>, ConfigError> {
    let Some(raw) = env_value(env, name) else {
        return Ok(None);
    };
    let origin = Origin::Env(name);
    match parse(raw) {
        Ok(value) => Ok(Some(Given { value, origin })),
        Err(problem) => Err(ConfigError::Invalid { origin, problem }),
    }
}

fn bad_value(value: &str, reason: String) -> Problem {
    Problem::BadValue {
        value: value.to_owned(),
        reason,
    }
}

impl Overrides {
    pub fn new(env: &Env, flags: &Flags) -> Result<Self, ConfigError> {
        let listen = parse_env(env, "QUARRY_LISTEN", |v| {
            v.parse::<SocketAddr>().map_err(|_| Problem::BadListen {
                value: v.to_owned(),
            })
        })?;
        let log_format = parse_env(env, "QUARRY_LOG_FORMAT", |v| {
            v.parse::<LogFormat>().map_err(|e| bad_value(v, e))
        })?;
        let auth_mode = parse_env(env, "QUARRY_AUTH_MODE", |v| {
            v.parse::<AuthModeName>().map_err(|e| bad_value(v, e))
        })?;
        let default_provider = parse_env(env, "QUARRY_DEFAULT_PROVIDER", |v| {
            Ok(ProviderId::new(v.trim()))
        })?;
        let data_dir = env_value(env, "QUARRY_DATA_DIR").map(PathBuf::from);
        Ok(Self {
            listen: flags
                .listen
                .map(|value| Given {
                    value,
                    origin: Origin::Flag("--listen"),
                })
                .or(listen),
            data_dir: flags.data_dir.clone().or(data_dir),
            log_format: flags.log_format.or(log_format.map(|g| g.value)),
            auth_mode,
            default_provider,
            tls_cert: flags.tls_cert.clone(),
            tls_key: flags.tls_key.clone(),
        })
    }
}
