//! The gateway a configuration describes: what `quarry serve` runs, buildable by tests too.

use std::sync::Arc;

use aws_smithy_http_server::schema::routing::RouterBuildError;

use crate::batch::bedrock::BedrockControlPlane;
use crate::batch::driver::Context;
use crate::batch::jobs::Jobs;
use crate::batch::service::Batches;
use crate::config::{
    BedrockCredentials, Config, ConfigError, Env, Flags, ProviderConfig, RemoteConfig, Source,
    WeightedKey,
};
use crate::db::Database;
use crate::dispatch::{BodyLimits, Gateway};
use crate::files::routing::FileRoutes;
use crate::files::service::{Files, FilesSettings};
use crate::files::store::Store;
use crate::providers::Provider;
use crate::providers::ProviderId;
use crate::providers::anthropic::Anthropic;
use crate::providers::bedrock::Bedrock;
use crate::providers::gemini::Gemini;
use crate::providers::mock::Mock;
use crate::providers::openai::OpenAi;
use crate::providers::transport::{Transport, TransportBuildError};
use crate::providers::upstream::UpstreamProvider;
use crate::runtime::Runtime;
use crate::runtime::routing::{Routes, UnknownProvider};

/// Why a validated configuration still could not become a gateway.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("building the routing table: {0}")]
    Routes(#[from] UnknownProvider),
    #[error("building the routers: {0}")]
    Routers(#[from] RouterBuildError),
    #[error(transparent)]
    Transport(#[from] TransportBuildError),
    #[error("opening the database in the data dir: {0}")]
    Database(#[from] crate::db::DbError),
    #[error("opening the files store in the data dir: {0}")]
    Files(#[from] crate::files::store::StoreError),
}

impl From<crate::config::BodyLimits> for BodyLimits {
    fn from(limits: crate::config::BodyLimits) -> Self {
        Self {
            runtime: limits.bedrock_runtime.get(),
            control: limits.bedrock.get(),
            files_xml: limits.files_xml.get(),
        }
    }
}

/// Bedrock Runtime over the configured providers, the files API over the data dir, and the
/// control plane's batch jobs over both. Creates the data dir if needed; unfinished jobs resume.
pub fn gateway(config: &Config) -> Result<Gateway, BuildError> {
    build(config, None)
}

/// [`gateway`], every call to AWS (bedrock providers without an API key, and their S3 buckets)
/// signed with `credentials` instead of the AWS SDK's default chain (tests, embedders).
pub fn gateway_with_aws_credentials(
    config: &Config,
    credentials: aws_credential_types::Credentials,
) -> Result<Gateway, BuildError> {
    build(config, Some(&credentials))
}

fn build(
    config: &Config,
    credentials: Option<&aws_credential_types::Credentials>,
) -> Result<Gateway, BuildError> {
    let providers = config
        .providers
        .iter()
        .map(|(id, provider)| provider_for(id, provider, credentials))
        .collect::<Result<Vec<_>, _>>()?;
    let fallbacks = config
        .providers
        .iter()
        .filter_map(|(id, p)| Some((id.clone(), p.remote()?.fallbacks.clone())))
        .filter(|(_, chain)| !chain.is_empty())
        .collect();
    let routes = Routes::new(
        providers,
        config.default_provider.clone(),
        config.aliases.clone(),
        config.routes.clone(),
    )?
    .with_fallbacks(fallbacks)?;
    let runtime = Arc::new(Runtime::new(routes));
    let file_routes = FileRoutes::with_aws_credentials(config, credentials)?;
    let store = store(config)?;
    let files = Arc::new(Files::new(
        store.clone(),
        FilesSettings {
            region: config.files.region.clone(),
        },
        file_routes.clone(),
    ));
    let batches = Arc::new(batches(
        config,
        store,
        runtime.routes(),
        file_routes.clone(),
        credentials,
    )?);
    let gateway = Gateway::with_limits(
        runtime.clone(),
        batches,
        files,
        config.server.max_body_bytes.into(),
    )?;
    Ok(gateway
        .with_auth(config.auth.to_auth_mode())
        .with_base_domain(config.files.base_domain.as_deref())
        .with_passthrough(runtime)
        .with_files_relay(Arc::new(file_routes)))
}

/// The local store in the data dir (created if missing), over the gateway's database.
fn store(config: &Config) -> Result<Store, BuildError> {
    let dir = &config.server.data_dir;
    std::fs::create_dir_all(dir).map_err(crate::files::store::StoreError::Io)?;
    let db = Database::open(&dir.join("quarry.db"))?;
    Ok(Store::open(dir, db)?)
}

/// Batch jobs over the store's database; jobs a previous run left unfinished resume once the
/// gateway runs on a Tokio runtime.
fn batches(
    config: &Config,
    store: Store,
    routes: Arc<crate::runtime::routing::Routes>,
    file_routes: FileRoutes,
    credentials: Option<&aws_credential_types::Credentials>,
) -> Result<Batches, BuildError> {
    let mut natives = std::collections::HashMap::new();
    let mut bedrock = Vec::new();
    for (id, provider) in &config.providers {
        let native = provider
            .remote()
            .is_some_and(|r| r.batch == crate::config::BatchBackend::Native);
        if native && let ProviderConfig::Bedrock(c) = provider {
            let plane = BedrockControlPlane::new(id, c, credentials)?;
            bedrock.push(match &c.batch_endpoint {
                Some(endpoint) => plane.with_endpoint(endpoint.clone()),
                None => plane,
            });
        } else if native && let Some(backend) = crate::batch::native::for_provider(id, provider)? {
            natives.insert(id.clone(), backend);
        }
    }
    let ctx = Arc::new(Context::new(
        Jobs::new(store.database().clone()),
        store,
        routes,
        natives,
        config.batch.clone(),
    ));
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let ctx = ctx.clone();
        handle.spawn(async move {
            if let Err(e) = ctx.resume().await {
                tracing::error!(error = %e, "resuming batch jobs");
            }
        });
    }
    Ok(Batches::new(ctx, file_routes).with_bedrock(bedrock))
}

/// The client for one configured provider.
fn provider_for(
    id: &ProviderId,
    config: &ProviderConfig,
    aws_credentials: Option<&aws_credential_types::Credentials>,
) -> Result<Arc<dyn Provider>, BuildError> {
    let transport = |remote: &RemoteConfig, keys: &[WeightedKey]| {
        Transport::new(id.clone(), remote.upstream, keys.to_vec())
    };
    Ok(match config {
        ProviderConfig::Mock(mock) => Arc::new(Mock::new(id.clone(), mock.clone())),
        ProviderConfig::OpenAi(c) => Arc::new(UpstreamProvider::new(
            id.clone(),
            OpenAi::new(c.max_tokens_field),
            transport(&c.remote, &c.api_keys)?,
            &c.base_url,
            c.headers.clone(),
        )),
        ProviderConfig::Bedrock(c) => {
            let bedrock = Bedrock::new(
                id.clone(),
                c,
                // AWS credentials are not keys to rotate: the provider signs or sends its own.
                transport(&c.remote, &[])?,
            );
            Arc::new(match (aws_credentials, &c.credentials) {
                (Some(fixed), BedrockCredentials::AwsDefaultChain) => {
                    bedrock.with_credentials(fixed.clone())
                }
                _ => bedrock,
            })
        }
        ProviderConfig::Gemini(c) => Arc::new(UpstreamProvider::new(
            id.clone(),
            Gemini,
            transport(&c.remote, &c.api_keys)?,
            &c.base_url,
            http::HeaderMap::new(),
        )),
        ProviderConfig::Anthropic(c) => Arc::new(UpstreamProvider::new(
            id.clone(),
            Anthropic::new(c.anthropic_version.clone()),
            transport(&c.remote, &c.api_keys)?,
            &c.base_url,
            http::HeaderMap::new(),
        )),
    })
}

/// The configuration `quarry serve` runs on with no file, no environment and no flags.
pub fn embedded_config() -> Result<Config, ConfigError> {
    crate::config::load(Source::embedded(), &Env::default(), &Flags::default())
}
