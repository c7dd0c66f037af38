//! Validation: file text, environment and flags merged into a [`Config`], or an error naming where.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Origin, Problem};
use super::file::{
    UninitializedApiKey, UninitializedAuth, UninitializedBatch, UninitializedConfig,
    UninitializedKey, UninitializedProvider, UninitializedRetries, UninitializedS3,
    UninitializedServer, UninitializedTimeouts,
};
use super::sources::{Env, Flags, Overrides, process_env};
use super::types::{
    Addressing, Allowed, AnthropicConfig, ApiKey, AuthConfig, AuthModeName, BaseUrl, BatchBackend,
    BatchConfig, BedrockConfig, BedrockCredentials, BodyLimits, Config, FilesConfig, GeminiConfig,
    MaxTokensField, OpenAiConfig, ProviderConfig, RemoteConfig, S3Target, ServerConfig,
    SigV4Config, TlsConfig, VirtualKey, WeightedKey,
};
use crate::auth::{AccessKeyId, BearerToken, SecretKey};
use crate::providers::mock::MockConfig;
use crate::providers::transport::{RetryPolicy, Timeouts, UpstreamSettings};
use crate::providers::{ModelId, ProviderId};
use crate::runtime::Rule;

/// The configuration used when no file is given: the mock provider, no authentication.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");
/// How errors in [`EMBEDDED_DEFAULT`] would name it.
pub const EMBEDDED_DEFAULT_NAME: &str = "<embedded default>";

const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);
const DEFAULT_DATA_DIR: &str = "./quarry-data";
const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
const DEFAULT_MAX_SKEW_SECS: u64 = 900;
const DEFAULT_MOCK_PROVIDER: &str = "mock";
const DEFAULT_STREAM_CHUNK_CHARS: u64 = 8;
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
const ANTHROPIC_VERSION: &str = "2023-06-01";
const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// A configuration file's text and the name errors call it by (usually its path as given).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl Source<'static> {
    /// The embedded default configuration.
    pub fn embedded() -> Self {
        Self {
            name: EMBEDDED_DEFAULT_NAME,
            text: EMBEDDED_DEFAULT,
        }
    }
}

/// Reads the file (or takes the embedded default when `path` is `None`) and the process's
/// `QUARRY_*` variables, then [`load`]s.
pub fn load_from_process(path: Option<&Path>, flags: &Flags) -> Result<Config, ConfigError> {
    let env = process_env();
    match path {
        None => load(Source::embedded(), &env, flags),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.to_owned(),
                error,
            })?;
            let name = path.display().to_string();
            load(
                Source {
                    name: &name,
                    text: &text,
                },
                &env,
                flags,
            )
        }
    }
}

/// Merges a file, the environment and flags (lowest precedence first) into a validated [`Config`].
///
/// Pure: it reads neither files nor the process environment.
pub fn load(source: Source<'_>, env: &Env, flags: &Flags) -> Result<Config, ConfigError> {
    let at = Locator::new(source);
    let file: UninitializedConfig = toml::from_str(source.text).map_err(|e| {
        // serde would call it an unknown field; say what it is for instead.
        if let Some(misplaced) = misplaced_s3(&at) {
            return misplaced;
        }
        let message = e.message().trim().to_owned();
        let span = at.refine(e.span().unwrap_or(0..0), &message);
        ConfigError::Invalid {
            origin: at.origin(span),
            problem: Problem::Toml(message),
        }
    })?;
    let overrides = Overrides::new(env, flags)?;
    validate(file, &at, env, overrides)
}

/// An `s3` table in a provider whose `type` is not `"bedrock"`, the only type whose files can
/// live in S3.
fn misplaced_s3(at: &Locator<'_>) -> Option<ConfigError> {
    let providers = at.tree()?.get_ref().get("providers")?;
    let DeValue::Table(providers) = providers.get_ref() else {
        return None;
    };
    providers.iter().find_map(|(name, table)| {
        let DeValue::Table(table) = table.get_ref() else {
            return None;
        };
        let DeValue::String(kind) = table.get("type")?.get_ref() else {
            return None;
        };
        let (key, _) = table.iter().find(|(k, _)| k.get_ref() == "s3")?;
        (kind.as_ref() != "bedrock").then(|| {
            at.err(
                key.span(),
                Problem::S3NotBedrock {
                    name: name.get_ref().to_string(),
                    kind: kind.to_string(),
                },
            )
        })
    })
}

/// One step of a path into the TOML document.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Turns byte spans and key paths into file positions.
struct Locator<'a> {
    source: Source<'a>,
    // Parsed only when an error needs a position that serde could not carry (inside providers).
    tree: OnceLock<Option<Spanned<DeTable<'a>>>>,
}

impl<'a> Locator<'a> {
    fn new(source: Source<'a>) -> Self {
        Self {
            source,
            tree: OnceLock::new(),
        }
    }

    fn origin(&self, span: Range<usize>) -> Origin {
        let before = self
            .source
            .text
            .get(..span.start)
            .unwrap_or(self.source.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Origin::File {
            path: self.source.name.to_owned(),
            line,
            column,
        }
    }

    /// The start of the file, for problems that belong to no single value.
    fn top(&self) -> Origin {
        self.origin(0..0)
    }

    fn err(&self, span: Range<usize>, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin(span),
            problem,
        }
    }

    /// Narrows an "unknown field" error from the whole table to the offending key. Errors inside
    /// provider tables come out of serde's buffering with only the table's span.
    fn refine(&self, span: Range<usize>, message: &str) -> Range<usize> {
        let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field)
        else {
            return span;
        };
        let Some(root) = self.tree() else { return span };
        root.get_ref()
            .values()
            .find_map(|v| find_key(v, &span, field))
            .unwrap_or(span)
    }

    fn tree(&self) -> Option<&Spanned<DeTable<'a>>> {
        self.tree
            .get_or_init(|| DeTable::parse(self.source.text).ok())
            .as_ref()
    }

    /// The span of the value at `path`, or `fallback` when the path is not in the document.
    fn span_of(&self, path: &[Seg<'_>], fallback: Range<usize>) -> Range<usize> {
        let Some(root) = self.tree() else {
            return fallback;
        };
        let mut path = path.iter();
        let mut current: &Spanned<DeValue<'a>> = match path.next() {
            Some(Seg::Key(k)) => match root.get_ref().get(*k) {
                Some(v) => v,
                None => return fallback,
            },
            _ => return fallback,
        };
        for seg in path {
            let next = match seg {
                Seg::Key(k) => current.get_ref().get(*k),
                Seg::Index(i) => current.get_ref().get(*i),
            };
            match next {
                Some(v) => current = v,
                None => return fallback,
            }
        }
        current.span()
    }
}

/// The span of key `field` in the table whose span is `table_span`, searched anywhere in `value`.
fn find_key(
    value: &Spanned<DeValue<'_>>,
    table_span: &Range<usize>,
    field: &str,
) -> Option<Range<usize>> {
    match value.get_ref() {
        DeValue::Table(table) => {
            if value.span() == *table_span {
                if let Some(key) = table.keys().find(|k| k.get_ref() == field) {
                    return Some(key.span());
                }
                // An unknown key of a table inside a provider (`[providers.x.s3]`, `retries`)
                // comes out with the provider table's span too.
                return table.values().find_map(|v| nested_key(v, field));
            }
            table.values().find_map(|v| find_key(v, table_span, field))
        }
        DeValue::Array(items) => items.iter().find_map(|v| find_key(v, table_span, field)),
        _ => None,
    }
}

/// The span of the first key `field` in a table anywhere in `value`.
fn nested_key(value: &Spanned<DeValue<'_>>, field: &str) -> Option<Range<usize>> {
    match value.get_ref() {
        DeValue::Table(table) => table
            .keys()
            .find(|k| k.get_ref() == field)
            .map(|k| k.span())
            .or_else(|| table.values().find_map(|v| nested_key(v, field))),
        DeValue::Array(items) => items.iter().find_map(|v| nested_key(v, field)),
        _ => None,
    }
}

fn validate(
    file: UninitializedConfig,
    at: &Locator<'_>,
    env: &Env,
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let providers = providers(file.providers, env, at)?;
    let configured = Configured(&providers);
    check_fallbacks(&providers, at)?;
    let default_provider = default_provider(file.default_provider, &overrides, &configured, at)?;
    let routes = file
        .routes
        .into_iter()
        .map(|r| {
            let pattern = glob(&r.model, at)?;
            let provider = configured.check("route", &r.provider, at)?;
            let upstream_model = match r.upstream_model {
                None => None,
                Some(m) => Some(ModelId::new(non_empty(&m, "upstream_model", at)?)),
            };
            Ok(Rule {
                pattern,
                provider,
                upstream_model,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let mut aliases = HashMap::new();
    for (alias, target) in file.aliases {
        let name = non_empty(&alias, "alias name", at)?;
        let Some((provider, model)) = target.get_ref().split_once('/') else {
            return Err(at.err(
                target.span(),
                Problem::BadAlias {
                    alias: name,
                    value: target.into_inner(),
                },
            ));
        };
        if model.is_empty() {
            return Err(at.err(
                target.span(),
                Problem::BadAlias {
                    alias: name,
                    value: target.get_ref().clone(),
                },
            ));
        }
        let provider_name = Spanned::new(target.span(), provider.to_owned());
        let provider = configured.check(&format!("alias {name:?}"), &provider_name, at)?;
        aliases.insert(name, (provider, ModelId::new(model)));
    }
    let auth = auth(file.auth, &overrides, &configured, at)?;
    let server = server(file.server, overrides, at)?;
    let defaults = FilesConfig::default();
    let files = FilesConfig {
        region: match file.files.region {
            Some(r) => non_empty(&r, "files.region", at)?,
            None => defaults.region,
        },
        auto_create_buckets: file
            .files
            .auto_create_buckets
            .unwrap_or(defaults.auto_create_buckets),
        base_domain: match file.files.base_domain {
            Some(d) => base_domain(d, at)?,
            None => defaults.base_domain,
        },
    };
    let batch = batch(file.batch, at)?;
    Ok(Config {
        server,
        auth,
        default_provider,
        providers,
        routes,
        aliases,
        files,
        batch,
    })
}

/// `[batch]`, checked: ARN parts as AWS spells them, positive limits.
fn batch(file: UninitializedBatch, at: &Locator<'_>) -> Result<BatchConfig, ConfigError> {
    let defaults = BatchConfig::default();
    let bad = |span: Range<usize>, value: String, reason: &str| {
        at.err(
            span,
            Problem::BadValue {
                value,
                reason: reason.to_owned(),
            },
        )
    };
    let region = match file.region {
        Some(r) if is_region(r.get_ref()) => r.into_inner(),
        Some(r) => {
            return Err(bad(
                r.span(),
                r.get_ref().clone(),
                "batch.region is an AWS region name such as \"us-west-2\"",
            ));
        }
        None => defaults.region,
    };
    let account_id = match file.account_id {
        Some(a) if a.get_ref().len() == 12 && a.get_ref().bytes().all(|b| b.is_ascii_digit()) => {
            a.into_inner()
        }
        Some(a) => {
            return Err(bad(
                a.span(),
                a.get_ref().clone(),
                "batch.account_id is 12 digits",
            ));
        }
        None => defaults.account_id,
    };
    let concurrency = match file.concurrency {
        Some(c) => usize::try_from(*c.get_ref())
            .ok()
            .filter(|c| *c <= 1024)
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| {
                bad(
                    c.span(),
                    c.get_ref().to_string(),
                    "batch.concurrency is 1 to 1024",
                )
            })?,
        None => defaults.concurrency,
    };
    let requests_per_second = match file.requests_per_second {
        Some(r) if r.get_ref().is_finite() && *r.get_ref() > 0.0 => Some(*r.get_ref()),
        Some(r) => {
            return Err(bad(
                r.span(),
                r.get_ref().to_string(),
                "batch.requests_per_second is a number above 0 (leave it out for no limit)",
            ));
        }
        None => defaults.requests_per_second,
    };
    let max_records = match file.max_records {
        Some(m) if *m.get_ref() > 0 => *m.get_ref(),
        Some(m) => {
            return Err(bad(
                m.span(),
                "0".to_owned(),
                "batch.max_records is above 0",
            ));
        }
        None => defaults.max_records,
    };
    let poll_interval = match file.poll_interval_seconds {
        Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 && *s.get_ref() <= 3600.0 => {
            Duration::from_secs_f64(*s.get_ref())
        }
        Some(s) => {
            return Err(bad(
                s.span(),
                s.get_ref().to_string(),
                "batch.poll_interval_seconds is above 0 and at most 3600",
            ));
        }
        None => defaults.poll_interval,
    };
    let max_running_jobs = match file.max_running_jobs {
        Some(n) => usize::try_from(*n.get_ref())
            .ok()
            .filter(|n| *n <= 256)
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| {
                bad(
                    n.span(),
                    n.get_ref().to_string(),
                    "batch.max_running_jobs is 1 to 256",
                )
            })?,
        None => defaults.max_running_jobs,
    };
    Ok(BatchConfig {
        region,
        account_id,
        concurrency,
        requests_per_second,
        max_records,
        poll_interval,
        max_running_jobs,
    })
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lower-case letters and digits in dash-separated
/// parts, the last a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The configured provider names, for checking references to them.
struct Configured<'a>(&'a BTreeMap<ProviderId, ProviderConfig>);

impl Configured<'_> {
    fn list(&self) -> String {
        self.0
            .keys()
            .map(ProviderId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn problem(&self, what: &str, name: &str) -> Option<Problem> {
        if self.0.contains_key(&ProviderId::new(name)) {
            None
        } else {
            Some(Problem::UnknownProvider {
                what: what.to_owned(),
                name: name.to_owned(),
                configured: self.list(),
            })
        }
    }

    fn check(
        &self,
        what: &str,
        name: &Spanned<String>,
        at: &Locator<'_>,
    ) -> Result<ProviderId, ConfigError> {
        match self.problem(what, name.get_ref()) {
            None => Ok(ProviderId::new(name.get_ref().clone())),
            Some(problem) => Err(at.err(name.span(), problem)),
        }
    }
}

fn non_empty(
    value: &Spanned<String>,
    field: &str,
    at: &Locator<'_>,
) -> Result<String, ConfigError> {
    let trimmed = value.get_ref().trim();
    if trimmed.is_empty() {
        Err(at.err(
            value.span(),
            Problem::Empty {
                field: field.to_owned(),
            },
        ))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// `[files] base_domain`: a DNS name (lower-case labels of letters, digits and `-`), or `""`
/// for path style only.
fn base_domain(value: Spanned<String>, at: &Locator<'_>) -> Result<Option<String>, ConfigError> {
    let domain = value
        .get_ref()
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() {
        return Ok(None);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if domain.split('.').all(label_ok) {
        Ok(Some(domain))
    } else {
        Err(at.err(
            value.span(),
            Problem::BadValue {
                value: value.get_ref().clone(),
                reason: "files.base_domain is a DNS name such as \"localhost\" or \"s3.example.com\" (or \"\" to turn virtual-hosted style off)".to_owned(),
            },
        ))
    }
}

fn glob(pattern: &Spanned<String>, at: &Locator<'_>) -> Result<globset::GlobMatcher, ConfigError> {
    globset::Glob::new(pattern.get_ref())
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            at.err(
                pattern.span(),
                Problem::BadGlob {
                    pattern: pattern.get_ref().clone(),
                    reason: e.kind().to_string(),
                },
            )
        })
}

fn default_provider(
    file: Option<Spanned<String>>,
    overrides: &Overrides,
    configured: &Configured<'_>,
    at: &Locator<'_>,
) -> Result<ProviderId, ConfigError> {
    if let Some(given) = &overrides.default_provider {
        return match configured.problem("default_provider", given.value.as_str()) {
            None => Ok(given.value.clone()),
            Some(problem) => Err(ConfigError::Invalid {
                origin: given.origin.clone(),
                problem,
            }),
        };
    }
    if let Some(name) = file {
        return configured.check("default_provider", &name, at);
    }
    let mock = ProviderId::new(DEFAULT_MOCK_PROVIDER);
    if configured.0.contains_key(&mock) {
        return Ok(mock);
    }
    match configured.0.keys().next() {
        Some(only) if configured.0.len() == 1 => Ok(only.clone()),
        _ => Err(ConfigError::Invalid {
            origin: at.top(),
            problem: Problem::NoDefaultProvider {
                configured: configured.list(),
            },
        }),
    }
}

/// Every fallback names a configured provider that can take a translated call.
fn check_fallbacks(
    providers: &BTreeMap<ProviderId, ProviderConfig>,
    at: &Locator<'_>,
) -> Result<(), ConfigError> {
    let configured = Configured(providers);
    for (name, config) in providers {
        let Some(remote) = config.remote() else {
            continue;
        };
        for (i, (target, _)) in remote.fallbacks.iter().enumerate() {
            let path = [
                Seg::Key("providers"),
                Seg::Key(name.as_str()),
                Seg::Key("fallbacks"),
                Seg::Index(i),
            ];
            let span = at.span_of(&path, 0..0);
            if let Some(problem) = configured.problem(
                &format!("fallback of provider {:?}", name.as_str()),
                target.as_str(),
            ) {
                return Err(at.err(span, problem));
            }
        }
    }
    Ok(())
}

fn providers(
    file: BTreeMap<Spanned<String>, Spanned<UninitializedProvider>>,
    env: &Env,
    at: &Locator<'_>,
) -> Result<BTreeMap<ProviderId, ProviderConfig>, ConfigError> {
    if file.is_empty() {
        // A file that configures no providers still serves: the built-in mock, as with no file.
        return Ok(BTreeMap::from([(
            ProviderId::new(DEFAULT_MOCK_PROVIDER),
            ProviderConfig::Mock(MockConfig::default()),
        )]));
    }
    let mut out = BTreeMap::new();
    for (name, body) in file {
        let valid_name = !name.get_ref().is_empty()
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_name {
            return Err(at.err(
                name.span(),
                Problem::BadProviderName {
                    name: name.get_ref().clone(),
                },
            ));
        }
        let ctx = ProviderAt {
            at,
            env,
            name: name.get_ref(),
            fallback: body.span(),
        };
        let config = provider(body.into_inner(), &ctx)?;
        out.insert(ProviderId::new(name.get_ref().clone()), config);
    }
    Ok(out)
}

/// Locates problems inside one `[providers.<name>]` table.
struct ProviderAt<'a, 'src> {
    at: &'a Locator<'src>,
    env: &'a Env,
    name: &'a str,
    fallback: Range<usize>,
}

impl ProviderAt<'_, '_> {
    fn err(&self, path: &[Seg<'_>], problem: Problem) -> ConfigError {
        let mut full = vec![Seg::Key("providers"), Seg::Key(self.name)];
        full.extend_from_slice(path);
        let span = self.at.span_of(&full, self.fallback.clone());
        self.at.err(span, problem)
    }

    fn url(
        &self,
        value: Option<String>,
        default: &str,
        field: &str,
    ) -> Result<BaseUrl, ConfigError> {
        let value = value.unwrap_or_else(|| default.to_owned());
        BaseUrl::parse(&value)
            .map_err(|reason| self.err(&[Seg::Key(field)], Problem::BadUrl { value, reason }))
    }

    /// The keys as configured; omitted entirely, the provider's usual environment variable
    /// (`OPENAI_API_KEY`…) if it is set.
    fn keys(
        &self,
        keys: Option<Vec<UninitializedApiKey>>,
        standard_env: &'static str,
        required: Option<&'static str>,
    ) -> Result<Vec<WeightedKey>, ConfigError> {
        let keys = match keys {
            Some(keys) => keys,
            None => match self.env.get(standard_env) {
                Some(v) if !v.trim().is_empty() => vec![UninitializedApiKey {
                    key: None,
                    env: Some(standard_env.to_owned()),
                    weight: None,
                }],
                _ => Vec::new(),
            },
        };
        if let (true, Some(kind)) = (keys.is_empty(), required) {
            return Err(self.err(
                &[Seg::Key("api_keys")],
                Problem::NoApiKeys {
                    name: self.name.to_owned(),
                    kind,
                    env: standard_env,
                },
            ));
        }
        keys.into_iter()
            .enumerate()
            .map(|(i, k)| {
                let here = |field| [Seg::Key("api_keys"), Seg::Index(i), Seg::Key(field)];
                let key = match (k.key, k.env) {
                    (Some(key), None) => key,
                    (None, Some(var)) => match self.env.get(&var) {
                        Some(value) if !value.trim().is_empty() => value.trim().to_owned(),
                        _ => {
                            return Err(self.err(
                                &here("env"),
                                Problem::BadValue {
                                    value: var,
                                    reason: "this environment variable is not set".to_owned(),
                                },
                            ));
                        }
                    },
                    _ => {
                        return Err(self.err(
                            &[Seg::Key("api_keys"), Seg::Index(i)],
                            Problem::BadValue {
                                value: format!("api_keys[{i}]"),
                                reason: "give exactly one of `key` and `env`".to_owned(),
                            },
                        ));
                    }
                };
                if key.trim().is_empty() {
                    return Err(self.err(
                        &here("key"),
                        Problem::Empty {
                            field: format!("api_keys[{i}].key"),
                        },
                    ));
                }
                let weight = k.weight.unwrap_or(1);
                let weight = u32::try_from(weight)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .ok_or_else(|| {
                        self.err(
                            &here("weight"),
                            Problem::Zero {
                                field: format!("api_keys[{i}].weight"),
                            },
                        )
                    })?;
                Ok(WeightedKey {
                    key: ApiKey::new(key),
                    weight,
                })
            })
            .collect()
    }

    /// `timeouts`, `retries` and `fallbacks`, checked.
    fn remote(
        &self,
        timeouts: UninitializedTimeouts,
        retries: UninitializedRetries,
        fallbacks: Vec<String>,
        batch: Option<String>,
    ) -> Result<RemoteConfig, ConfigError> {
        let batch = match batch.as_deref() {
            None | Some("native") => BatchBackend::Native,
            Some("local") => BatchBackend::Local,
            Some(other) => {
                return Err(self.err(
                    &[Seg::Key("batch")],
                    Problem::BadValue {
                        value: other.to_owned(),
                        reason: "batch is \"native\" (the provider's batch API) or \"local\" (the gateway's engine)".to_owned(),
                    },
                ));
            }
        };
        let defaults = UpstreamSettings::default();
        let seconds = |value: Option<f64>, field: &str, default: Duration| match value {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(self.err(
                &[Seg::Key("timeouts"), Seg::Key(field)],
                Problem::BadValue {
                    value: s.to_string(),
                    reason: "a timeout is a number of seconds above 0 and at most 86400".to_owned(),
                },
            )),
        };
        let timeouts = Timeouts {
            connect: seconds(timeouts.connect, "connect", defaults.timeouts.connect)?,
            first_byte: seconds(
                timeouts.first_byte,
                "first_byte",
                defaults.timeouts.first_byte,
            )?,
            idle: seconds(timeouts.idle, "idle", defaults.timeouts.idle)?,
        };
        let max_retries = match retries.max {
            None => defaults.retry.max_retries,
            Some(n) => u32::try_from(n).ok().filter(|n| *n <= 10).ok_or_else(|| {
                self.err(
                    &[Seg::Key("retries"), Seg::Key("max")],
                    Problem::BadValue {
                        value: n.to_string(),
                        reason: "at most 10 retries".to_owned(),
                    },
                )
            })?,
        };
        let millis = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
        let retry = RetryPolicy {
            max_retries,
            base_backoff: millis(retries.base_backoff_ms, defaults.retry.base_backoff),
            max_backoff: millis(retries.max_backoff_ms, defaults.retry.max_backoff),
        };
        let fallbacks = fallbacks
            .into_iter()
            .enumerate()
            .map(|(i, target)| match target.split_once('/') {
                Some((p, m)) if !p.is_empty() && !m.is_empty() => {
                    Ok((ProviderId::new(p), ModelId::new(m)))
                }
                _ => Err(self.err(
                    &[Seg::Key("fallbacks"), Seg::Index(i)],
                    Problem::BadValue {
                        value: target,
                        reason: "a fallback is \"<provider>/<model>\"".to_owned(),
                    },
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(RemoteConfig {
            upstream: UpstreamSettings { timeouts, retry },
            fallbacks,
            batch,
        })
    }
}

fn provider(
    body: UninitializedProvider,
    p: &ProviderAt<'_, '_>,
) -> Result<ProviderConfig, ConfigError> {
    Ok(match body {
        UninitializedProvider::Mock(m) => {
            let chars = m.stream_chunk_chars.unwrap_or(DEFAULT_STREAM_CHUNK_CHARS);
            let stream_chunk_chars =
                usize::try_from(chars)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        p.err(
                            &[Seg::Key("stream_chunk_chars")],
                            Problem::Zero {
                                field: "stream_chunk_chars".to_owned(),
                            },
                        )
                    })?;
            ProviderConfig::Mock(MockConfig {
                reply: m.reply,
                stream_chunk_chars,
                latency: Duration::from_millis(m.latency_ms.unwrap_or(0).min(60_000)),
            })
        }
        UninitializedProvider::OpenAi(o) => {
            let mut headers = http::HeaderMap::new();
            for (name, value) in o.headers {
                let bad = |reason: String| {
                    p.err(
                        &[Seg::Key("headers"), Seg::Key(&name)],
                        Problem::BadHeader {
                            name: name.clone(),
                            reason,
                        },
                    )
                };
                let header = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| bad(e.to_string()))?;
                let mut value =
                    http::HeaderValue::from_str(&value).map_err(|e| bad(e.to_string()))?;
                // Extra headers often carry credentials (organisation ids, proxy tokens).
                value.set_sensitive(true);
                headers.insert(header, value);
            }
            let max_tokens_field = match o.max_tokens_field.as_deref() {
                None | Some("max_tokens") => MaxTokensField::MaxTokens,
                Some("max_completion_tokens") => MaxTokensField::MaxCompletionTokens,
                Some(other) => {
                    return Err(p.err(
                        &[Seg::Key("max_tokens_field")],
                        Problem::BadValue {
                            value: other.to_owned(),
                            reason: "expected \"max_tokens\" or \"max_completion_tokens\""
                                .to_owned(),
                        },
                    ));
                }
            };
            ProviderConfig::OpenAi(OpenAiConfig {
                base_url: p.url(o.base_url, OPENAI_BASE_URL, "base_url")?,
                api_keys: p.keys(o.api_keys, "OPENAI_API_KEY", None)?,
                headers,
                max_tokens_field,
                remote: p.remote(o.timeouts, o.retries, o.fallbacks, o.batch)?,
            })
        }
        UninitializedProvider::Anthropic(a) => {
            let anthropic_version = a
                .anthropic_version
                .unwrap_or_else(|| ANTHROPIC_VERSION.to_owned());
            if anthropic_version.trim().is_empty() {
                return Err(p.err(
                    &[Seg::Key("anthropic_version")],
                    Problem::Empty {
                        field: "anthropic_version".to_owned(),
                    },
                ));
            }
            ProviderConfig::Anthropic(AnthropicConfig {
                base_url: p.url(a.base_url, ANTHROPIC_BASE_URL, "base_url")?,
                api_keys: p.keys(a.api_keys, "ANTHROPIC_API_KEY", Some("anthropic"))?,
                anthropic_version,
                remote: p.remote(a.timeouts, a.retries, a.fallbacks, a.batch)?,
            })
        }
        UninitializedProvider::Gemini(g) => ProviderConfig::Gemini(GeminiConfig {
            base_url: p.url(g.base_url, GEMINI_BASE_URL, "base_url")?,
            api_keys: p.keys(g.api_keys, "GEMINI_API_KEY", Some("gemini"))?,
            remote: p.remote(g.timeouts, g.retries, g.fallbacks, g.batch)?,
        }),
        UninitializedProvider::Bedrock(b) => {
            let region = aws_region(b.region, &[Seg::Key("region")], p)?;
            let default_endpoint = format!("https://bedrock-runtime.{region}.amazonaws.com");
            let endpoint = p.url(b.endpoint, &default_endpoint, "endpoint")?;
            let credentials = match b.api_key {
                None => BedrockCredentials::AwsDefaultChain,
                Some(k) if k.trim().is_empty() => {
                    return Err(p.err(
                        &[Seg::Key("api_key")],
                        Problem::Empty {
                            field: "api_key".to_owned(),
                        },
                    ));
                }
                Some(k) => BedrockCredentials::ApiKey(ApiKey::new(k)),
            };
            let s3 = match b.s3 {
                None => None,
                Some(_) if matches!(credentials, BedrockCredentials::ApiKey(_)) => {
                    return Err(p.err(
                        &[Seg::Key("s3")],
                        Problem::S3WithApiKey {
                            name: p.name.to_owned(),
                        },
                    ));
                }
                Some(s3) => Some(s3_target(s3, &region, p)?),
            };
            ProviderConfig::Bedrock(BedrockConfig {
                region,
                endpoint,
                credentials,
                remote: p.remote(b.timeouts, b.retries, b.fallbacks, b.batch)?,
                s3,
                batch_role_arn: b.batch_role_arn.filter(|r| !r.trim().is_empty()),
                batch_endpoint: match b.batch_endpoint {
                    Some(e) => Some(p.url(Some(e), "", "batch_endpoint")?),
                    None => None,
                },
            })
        }
    })
}

/// An AWS region name, as AWS spells them (`us-east-1`).
fn aws_region(
    region: String,
    path: &[Seg<'_>],
    p: &ProviderAt<'_, '_>,
) -> Result<String, ConfigError> {
    let ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(region)
    } else {
        Err(p.err(
            path,
            Problem::BadValue {
                value: region,
                reason: "an AWS region is lowercase letters, digits and '-', such as us-east-1"
                    .to_owned(),
            },
        ))
    }
}

/// `[providers.<name>.s3]`: the region (the provider's by default), the endpoint (AWS's for that
/// region by default) and the addressing style (virtual-hosted on AWS's endpoint, path style on
/// any other by default).
fn s3_target(
    s3: UninitializedS3,
    provider_region: &str,
    p: &ProviderAt<'_, '_>,
) -> Result<S3Target, ConfigError> {
    let region = match s3.region {
        None => provider_region.to_owned(),
        Some(r) => aws_region(r, &[Seg::Key("s3"), Seg::Key("region")], p)?,
    };
    let (endpoint, default_addressing) = match s3.endpoint {
        None => (
            format!("https://s3.{region}.amazonaws.com"),
            Addressing::Virtual,
        ),
        Some(endpoint) => (endpoint, Addressing::Path),
    };
    let endpoint = BaseUrl::parse(&endpoint).map_err(|reason| {
        p.err(
            &[Seg::Key("s3"), Seg::Key("endpoint")],
            Problem::BadUrl {
                value: endpoint.clone(),
                reason,
            },
        )
    })?;
    let addressing = match s3.addressing.as_deref() {
        None => default_addressing,
        Some("virtual") => Addressing::Virtual,
        Some("path") => Addressing::Path,
        Some(other) => {
            return Err(p.err(
                &[Seg::Key("s3"), Seg::Key("addressing")],
                Problem::BadValue {
                    value: other.to_owned(),
                    reason: "expected \"virtual\" (<bucket>.<endpoint host>) or \"path\" \
                             (<endpoint>/<bucket>)"
                        .to_owned(),
                },
            ));
        }
    };
    for (i, bucket) in s3.buckets.iter().enumerate() {
        if crate::files::names::BucketName::parse(bucket).is_err() {
            return Err(p.err(
                &[Seg::Key("s3"), Seg::Key("buckets"), Seg::Index(i)],
                Problem::BadValue {
                    value: bucket.clone(),
                    reason: "not a valid S3 bucket name".to_owned(),
                },
            ));
        }
    }
    Ok(S3Target {
        region,
        endpoint,
        addressing,
        buckets: s3.buckets,
    })
}

fn auth(
    file: UninitializedAuth,
    overrides: &Overrides,
    configured: &Configured<'_>,
    at: &Locator<'_>,
) -> Result<AuthConfig, ConfigError> {
    // Keys are checked whatever the mode, so switching `mode` never uncovers a broken key.
    let keys = virtual_keys(file.keys, configured, at)?;
    let (mode, origin) = match (&overrides.auth_mode, &file.mode) {
        (Some(given), _) => (given.value, given.origin.clone()),
        (None, Some(mode)) => (*mode.get_ref(), at.origin(mode.span())),
        (None, None) => (AuthModeName::None, at.top()),
    };
    match mode {
        AuthModeName::None => Ok(AuthConfig::None),
        AuthModeName::SigV4 => {
            if keys.is_empty() {
                return Err(ConfigError::Invalid {
                    origin,
                    problem: Problem::NoAuthKeys,
                });
            }
            let skew = file.max_skew_seconds.unwrap_or(DEFAULT_MAX_SKEW_SECS);
            if skew == 0 {
                let span = at.span_of(&[Seg::Key("auth"), Seg::Key("max_skew_seconds")], 0..0);
                return Err(at.err(
                    span,
                    Problem::Zero {
                        field: "max_skew_seconds".to_owned(),
                    },
                ));
            }
            Ok(AuthConfig::SigV4(SigV4Config {
                max_skew: Duration::from_secs(skew),
                keys,
            }))
        }
    }
}

fn virtual_keys(
    file: Vec<UninitializedKey>,
    configured: &Configured<'_>,
    at: &Locator<'_>,
) -> Result<Vec<VirtualKey>, ConfigError> {
    let mut names = HashMap::<String, ()>::new();
    let mut access_keys = HashMap::<String, String>::new();
    let mut bearers = HashMap::<String, String>::new();
    let mut out = Vec::with_capacity(file.len());
    for key in file {
        let name = non_empty(&key.name, "name", at)?;
        if names.insert(name.clone(), ()).is_some() {
            return Err(at.err(key.name.span(), Problem::DuplicateKeyName { name }));
        }
        let id = non_empty(&key.access_key_id, "access_key_id", at)?;
        if let Some(first) = access_keys.insert(id.clone(), name.clone()) {
            return Err(at.err(
                key.access_key_id.span(),
                Problem::DuplicateAccessKey { id, first },
            ));
        }
        // Secrets are not trimmed: a space inside one is the operator's business, only emptiness is checked.
        if key.secret_access_key.get_ref().is_empty() {
            return Err(at.err(
                key.secret_access_key.span(),
                Problem::Empty {
                    field: "secret_access_key".to_owned(),
                },
            ));
        }
        let bearer_token = match &key.bearer_token {
            None => None,
            Some(token) if token.get_ref().is_empty() => {
                return Err(at.err(
                    token.span(),
                    Problem::Empty {
                        field: "bearer_token".to_owned(),
                    },
                ));
            }
            Some(token) => {
                if let Some(first) = bearers.insert(token.get_ref().clone(), name.clone()) {
                    return Err(at.err(token.span(), Problem::DuplicateBearerToken { first }));
                }
                Some(BearerToken::new(token.get_ref().clone()))
            }
        };
        let what = format!("key {name:?}");
        let providers = match &key.providers {
            None => Allowed::Any,
            Some(list) => Allowed::Only(
                list.iter()
                    .map(|p| configured.check(&what, p, at))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let models = match &key.models {
            None => Allowed::Any,
            Some(list) => {
                Allowed::Only(list.iter().map(|m| glob(m, at)).collect::<Result<_, _>>()?)
            }
        };
        out.push(VirtualKey {
            name,
            access_key_id: AccessKeyId::new(id),
            secret_access_key: SecretKey::new(key.secret_access_key.into_inner()),
            bearer_token,
            providers,
            models,
        });
    }
    Ok(out)
}

fn body_limit(
    value: Option<Spanned<u64>>,
    default: NonZeroUsize,
    field: &str,
    at: &Locator<'_>,
) -> Result<NonZeroUsize, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    usize::try_from(*value.get_ref())
        .ok()
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| {
            at.err(
                value.span(),
                Problem::Zero {
                    field: format!("max_body_bytes.{field}"),
                },
            )
        })
}

fn server(
    file: UninitializedServer,
    overrides: Overrides,
    at: &Locator<'_>,
) -> Result<ServerConfig, ConfigError> {
    // The file's own value is checked even when overridden: a broken file stays broken.
    let file_listen = match &file.listen {
        None => None,
        Some(v) => Some(v.get_ref().parse::<SocketAddr>().map_err(|_| {
            at.err(
                v.span(),
                Problem::BadListen {
                    value: v.get_ref().clone(),
                },
            )
        })?),
    };
    let listen = match (overrides.listen, file_listen) {
        (Some(given), _) => given.value,
        (None, Some(listen)) => listen,
        (None, None) => SocketAddr::from(DEFAULT_LISTEN),
    };
    let defaults = BodyLimits::default();
    let limits = file.max_body_bytes;
    let max_body_bytes = BodyLimits {
        bedrock_runtime: body_limit(
            limits.bedrock_runtime,
            defaults.bedrock_runtime,
            "bedrock_runtime",
            at,
        )?,
        bedrock: body_limit(limits.bedrock, defaults.bedrock, "bedrock", at)?,
        files_xml: body_limit(limits.files_xml, defaults.files_xml, "files_xml", at)?,
    };
    let (file_cert, file_key) = match file.tls {
        Some(tls) => (Some(tls.cert), Some(tls.key)),
        None => (None, None),
    };
    let tls = match (
        overrides.tls_cert.or(file_cert),
        overrides.tls_key.or(file_key),
    ) {
        (Some(cert), Some(key)) => Some(TlsConfig { cert, key }),
        (None, None) => None,
        (Some(_), None) => return Err(tls_half("--tls-cert", "--tls-key")),
        (None, Some(_)) => return Err(tls_half("--tls-key", "--tls-cert")),
    };
    Ok(ServerConfig {
        listen,
        data_dir: overrides
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        log_format: overrides.log_format.or(file.log_format).unwrap_or_default(),
        shutdown_grace: Duration::from_secs(
            file.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS),
        ),
        max_body_bytes,
        tls,
    })
}

/// Only one half of a certificate pair was given: the file's `[server.tls]` needs both keys, so
/// the lone half came from a flag.
fn tls_half(given: &'static str, missing: &'static str) -> ConfigError {
    ConfigError::Invalid {
        origin: Origin::Flag(given),
        problem: Problem::TlsHalf { given, missing },
    }
}
