//! The runtime's answer to the gateway's passthrough question: does this call route to a provider that takes raw requests?

use super::{Runtime, check_allowed};
use crate::context::CallContext;
use crate::dispatch::{Claimed, PassthroughRouter};
use crate::providers::ProviderError;

impl PassthroughRouter for Runtime {
    /// Routes as the typed handlers do; a routing failure is left to them (same call, same
    /// error). A key that may not use the provider is refused here, exactly as `Runtime::call`
    /// refuses it.
    fn claim(&self, model_id: &str, call: &CallContext) -> Result<Option<Claimed>, ProviderError> {
        let Ok((provider, model)) = self.routes.select(model_id, &call.headers) else {
            return Ok(None);
        };
        // A provider with fallbacks is called typed, so the chain can run if it fails; only a
        // call that has nowhere else to go is relayed byte for byte.
        if provider.passthrough().is_none() || !self.routes.fallbacks_of(provider.id()).is_empty() {
            return Ok(None);
        }
        check_allowed(call.identity.as_ref(), provider.id().as_str(), model_id)?;
        Ok(Some((provider, model)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::providers::Provider;
    use crate::providers::mock::{Mock, MockConfig};
    use crate::runtime::routing::Routes;

    fn runtime_with(provider: Arc<dyn Provider>) -> Runtime {
        Runtime::new(Routes::single(provider))
    }

    #[test]
    fn providers_without_a_raw_side_are_never_claimed() {
        let mock: Arc<dyn Provider> = Arc::new(Mock::new(
            crate::providers::ProviderId::new("mock"),
            MockConfig::default(),
        ));
        let runtime = runtime_with(mock);
        assert!(
            runtime
                .claim("anthropic.claude-v2", &CallContext::default())
                .unwrap()
                .is_none()
        );
        // Unknown providers are left to the typed path, which names them.
        let mut headers = http::HeaderMap::new();
        headers.insert(crate::runtime::PROVIDER_HEADER, "nope".parse().unwrap());
        let call = CallContext {
            headers: Arc::new(headers),
            ..CallContext::default()
        };
        assert!(runtime.claim("m", &call).unwrap().is_none());
    }

    fn bedrock() -> Arc<dyn Provider> {
        use crate::config::{ApiKey, BaseUrl, BedrockConfig, BedrockCredentials, RemoteConfig};
        let id = crate::providers::ProviderId::new("aws");
        let config = BedrockConfig {
            region: "us-east-1".to_owned(),
            endpoint: BaseUrl::parse("http://127.0.0.1:9").unwrap(),
            credentials: BedrockCredentials::ApiKey(ApiKey::new("k")),
            remote: RemoteConfig::default(),
            s3: None,
            batch_role_arn: None,
            batch_endpoint: None,
        };
        let transport =
            crate::providers::transport::Transport::new(id.clone(), Default::default(), Vec::new())
                .unwrap();
        Arc::new(crate::providers::bedrock::Bedrock::new(
            id, &config, transport,
        ))
    }

    #[test]
    fn raw_providers_are_claimed_with_the_upstream_model_within_the_key_allowance() {
        let runtime = runtime_with(bedrock());
        let (provider, model) = runtime
            .claim("aws/anthropic.claude-v2:1", &CallContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(provider.id().as_str(), "aws");
        assert_eq!(model.as_str(), "anthropic.claude-v2:1");

        let mut key = crate::auth::Identity::new("team-a");
        key.providers = Some(vec!["openai".to_owned()]);
        let call = CallContext {
            identity: Some(key),
            ..CallContext::default()
        };
        let Err(err) = runtime.claim("anthropic.claude-v2:1", &call) else {
            panic!("a key limited to openai reached provider 'aws'");
        };
        assert_eq!(err.kind, crate::providers::ErrorKind::AccessDenied);
        assert!(err.message.contains("key 'team-a'"), "{}", err.message);
    }

    #[test]
    fn a_provider_with_fallbacks_is_left_to_the_typed_path_so_the_chain_can_run() {
        use std::collections::HashMap;

        use crate::providers::{ModelId, ProviderId};
        let mock: Arc<dyn Provider> =
            Arc::new(Mock::new(ProviderId::new("mock"), MockConfig::default()));
        let routes = Routes::new(
            vec![bedrock(), mock],
            ProviderId::new("aws"),
            HashMap::new(),
            Vec::new(),
        )
        .unwrap()
        .with_fallbacks(HashMap::from([(
            ProviderId::new("aws"),
            vec![(ProviderId::new("mock"), ModelId::new("echo"))],
        )]))
        .unwrap();
        let runtime = Runtime::new(routes);
        assert!(
            runtime
                .claim("anthropic.claude-v2", &CallContext::default())
                .unwrap()
                .is_none()
        );
    }
}
