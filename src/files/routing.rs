//! Which store a files request goes to: the `x-model-provider` header (else the default provider)
//! picks the local store, a provider's file API, or a bedrock provider's real S3 bucket.

use std::collections::HashMap;
use std::sync::Arc;

use super::names::Namespace;
use super::relay::S3Relay;
use super::remote::RemoteStore;
use crate::config::{Config, ProviderConfig};
use crate::providers::transport::TransportBuildError;

/// Where one provider's files live.
#[derive(Debug, Clone)]
pub struct FileRoute {
    /// The provider the request named (or the default), for messages and logs.
    pub provider: String,
    pub namespace: Namespace,
    /// Set for providers with their own file API: bodies are uploaded there too, and the
    /// provider's file id is the object's ETag.
    pub remote: Option<Arc<RemoteStore>>,
    /// Whether a write to a missing bucket creates it (bucket names are labels for providers).
    pub auto_create_buckets: bool,
    /// Set for bedrock providers with `[providers.<id>.s3]`: requests are relayed to that S3
    /// bucket as they are (by `dispatch`, before the files service), not served here.
    pub relay: Option<Arc<S3Relay>>,
}

/// A request named a provider whose files cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "x-model-provider names '{0}', which is not configured on this gateway (its files live in that provider's own storage, which needs its credentials)"
    )]
    NotConfigured(String),
    #[error(
        "x-model-provider names '{0}', which is neither a configured provider nor one of bedrock, anthropic, openai, gemini"
    )]
    Unknown(String),
}

/// The route of every configured provider, and the default's.
#[derive(Debug, Clone)]
pub struct FileRoutes {
    by_provider: HashMap<String, FileRoute>,
    default: FileRoute,
    auto_create_local: bool,
}

impl FileRoutes {
    /// One route per configured provider: OpenAI and Gemini providers through their file APIs
    /// (each in its own namespace), bedrock providers with an `s3` table relayed to S3 (signed
    /// with the AWS SDK's default credential chain), every other provider on the local store.
    pub fn from_config(config: &Config) -> Result<Self, TransportBuildError> {
        Self::with_aws_credentials(config, None)
    }

    /// [`FileRoutes::from_config`], the S3 relays signing with `credentials` instead of the
    /// default chain when given (tests, embedders).
    pub fn with_aws_credentials(
        config: &Config,
        credentials: Option<&aws_credential_types::Credentials>,
    ) -> Result<Self, TransportBuildError> {
        let auto_create_local = config.files.auto_create_buckets;
        let mut by_provider = HashMap::new();
        for (id, provider) in &config.providers {
            let remote = RemoteStore::from_config(id, provider)?.map(Arc::new);
            let relay = match provider {
                ProviderConfig::Bedrock(bedrock) => S3Relay::from_config(id, bedrock)?
                    .map(|relay| match credentials {
                        Some(c) => relay.with_credentials(c.clone()),
                        None => relay,
                    })
                    .map(Arc::new),
                _ => None,
            };
            let route = match remote {
                Some(remote) => FileRoute {
                    provider: id.as_str().to_owned(),
                    namespace: Namespace::provider(id.as_str()),
                    remote: Some(remote),
                    auto_create_buckets: true,
                    relay: None,
                },
                None => FileRoute {
                    provider: id.as_str().to_owned(),
                    namespace: Namespace::local(),
                    remote: None,
                    // Bedrock's buckets are S3 buckets; the others' are labels.
                    auto_create_buckets: auto_create_local
                        || !matches!(
                            provider,
                            ProviderConfig::Bedrock(_) | ProviderConfig::Mock(_)
                        ),
                    relay,
                },
            };
            by_provider.insert(id.as_str().to_owned(), route);
        }
        let default = by_provider
            .get(config.default_provider.as_str())
            .cloned()
            .unwrap_or_else(|| Self::local(config.default_provider.as_str(), auto_create_local));
        Ok(Self {
            by_provider,
            default,
            auto_create_local,
        })
    }

    fn local(provider: &str, auto_create_buckets: bool) -> FileRoute {
        FileRoute {
            provider: provider.to_owned(),
            namespace: Namespace::local(),
            remote: None,
            auto_create_buckets,
            relay: None,
        }
    }

    /// The S3 relay of the provider a request names (`None`: the header was absent), when that
    /// provider keeps its files in S3; `None` when they are served here, or when the name does
    /// not resolve (the files service answers that).
    pub fn relay(&self, provider: Option<&str>) -> Option<Arc<S3Relay>> {
        self.resolve(provider).ok()?.relay
    }

    /// The route for a request naming `provider` (`None`: the header was absent).
    ///
    /// `bedrock`, `anthropic` and `mock` are served from the local store even when not
    /// configured, as the seed's scripts expect of a gateway on its embedded defaults; `openai`
    /// and `gemini` need their provider's credentials.
    pub fn resolve(&self, provider: Option<&str>) -> Result<FileRoute, RouteError> {
        let Some(name) = provider.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(self.default.clone());
        };
        if let Some(route) = self.by_provider.get(name) {
            return Ok(route.clone());
        }
        match name {
            "bedrock" | "mock" => Ok(Self::local(name, self.auto_create_local)),
            "anthropic" => Ok(Self::local(name, true)),
            "openai" | "gemini" => Err(RouteError::NotConfigured(name.to_owned())),
            _ => Err(RouteError::Unknown(name.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        crate::config::load(
            crate::config::Source {
                name: "test.toml",
                text: toml,
            },
            &crate::config::Env::new(),
            &crate::config::Flags::default(),
        )
        .unwrap()
    }

    const PROVIDERS: &str = r#"
default_provider = "openai"
[files]
auto_create_buckets = false
[providers.openai]
type = "openai"
api_keys = [{ key = "k" }]
[providers.gem-eu]
type = "gemini"
api_keys = [{ key = "k" }]
[providers.claude]
type = "anthropic"
api_keys = [{ key = "k" }]
"#;

    #[test]
    fn file_api_providers_get_their_own_namespace_and_the_rest_share_the_local_store() {
        let routes = FileRoutes::from_config(&config(PROVIDERS)).unwrap();
        let openai = routes.resolve(Some("openai")).unwrap();
        assert_eq!(openai.namespace, Namespace::provider("openai"));
        assert!(openai.remote.is_some() && openai.auto_create_buckets);
        let gemini = routes.resolve(Some("gem-eu")).unwrap();
        assert_eq!(gemini.namespace, Namespace::provider("gem-eu"));
        assert!(matches!(
            gemini.remote.as_deref(),
            Some(RemoteStore::Gemini(_))
        ));
        let claude = routes.resolve(Some("claude")).unwrap();
        assert_eq!(claude.namespace, Namespace::local());
        assert!(claude.remote.is_none());
        assert!(
            claude.auto_create_buckets,
            "Anthropic's bucket names are labels"
        );
    }

    #[test]
    fn no_header_is_the_default_provider() {
        let routes = FileRoutes::from_config(&config(PROVIDERS)).unwrap();
        assert_eq!(routes.resolve(None).unwrap().provider, "openai");
        assert_eq!(routes.resolve(Some("  ")).unwrap().provider, "openai");
    }

    #[test]
    fn bedrock_and_anthropic_are_local_even_unconfigured_but_openai_and_gemini_need_keys() {
        let routes = FileRoutes::from_config(&config(PROVIDERS)).unwrap();
        let bedrock = routes.resolve(Some("bedrock")).unwrap();
        assert_eq!(bedrock.namespace, Namespace::local());
        assert!(
            !bedrock.auto_create_buckets,
            "follows [files] auto_create_buckets"
        );
        assert!(
            routes
                .resolve(Some("anthropic"))
                .unwrap()
                .auto_create_buckets
        );
        assert_eq!(
            routes.resolve(Some("gemini")).unwrap_err(),
            RouteError::NotConfigured("gemini".into())
        );
        assert_eq!(
            routes.resolve(Some("cohere")).unwrap_err(),
            RouteError::Unknown("cohere".into())
        );
    }

    #[test]
    fn bedrock_providers_with_an_s3_table_relay_and_the_others_do_not() {
        let routes = FileRoutes::from_config(&config(
            r#"
default_provider = "aws"
[providers.aws]
type = "bedrock"
region = "eu-west-1"
[providers.aws.s3]
[providers.local-aws]
type = "bedrock"
region = "eu-west-1"
[providers.mock]
type = "mock"
"#,
        ))
        .unwrap();
        let relay = routes
            .relay(Some("aws"))
            .expect("aws keeps its files in S3");
        assert_eq!(relay.provider().as_str(), "aws");
        assert_eq!(relay.target().region, "eu-west-1");
        assert!(routes.resolve(Some("aws")).unwrap().relay.is_some());
        // No header: the default provider's route.
        assert!(routes.relay(None).is_some());
        assert!(routes.relay(Some("local-aws")).is_none());
        assert!(routes.relay(Some("mock")).is_none());
        // Names that do not resolve are the files service's to answer.
        assert!(routes.relay(Some("bedrock")).is_none());
        assert!(routes.relay(Some("cohere")).is_none());
    }

    #[test]
    fn the_embedded_defaults_serve_everything_locally() {
        let routes = FileRoutes::from_config(&config(crate::config::EMBEDDED_DEFAULT)).unwrap();
        let default = routes.resolve(None).unwrap();
        assert_eq!(default.namespace, Namespace::local());
        assert!(
            default.auto_create_buckets,
            "auto_create_buckets defaults to true"
        );
        assert_eq!(
            routes.resolve(Some("bedrock")).unwrap().namespace,
            Namespace::local()
        );
    }
}
