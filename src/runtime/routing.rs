//! Which provider answers a call: the `x-model-provider` header, a `provider/model` id, aliases,
//! model-id rules, then the default provider.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::providers::{ModelId, Provider, ProviderError, ProviderId};

/// The header the seeds use to pick a provider.
pub const PROVIDER_HEADER: &str = "x-model-provider";

/// A model-id glob sending matching calls to a provider, optionally under another model id.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: globset::GlobMatcher,
    pub provider: ProviderId,
    pub upstream_model: Option<ModelId>,
}

/// The configured providers and the rules that choose among them.
#[derive(Clone)]
pub struct Routes {
    providers: BTreeMap<ProviderId, Arc<dyn Provider>>,
    default: ProviderId,
    aliases: HashMap<String, (ProviderId, ModelId)>,
    rules: Vec<Rule>,
    /// Per provider, the targets tried in order when it fails before answering.
    fallbacks: HashMap<ProviderId, Vec<(ProviderId, ModelId)>>,
}

/// A provider and the model id it is asked for.
pub type Target = (Arc<dyn Provider>, ModelId);

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("default", &self.default)
            .field("aliases", &self.aliases)
            .field("rules", &self.rules)
            .field("fallbacks", &self.fallbacks)
            .finish()
    }
}

/// A routing table that names providers it does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} names provider {provider:?}, which is not configured")]
pub struct UnknownProvider {
    pub what: String,
    pub provider: String,
}

impl Routes {
    /// Builds the table; every provider named by the default, an alias or a rule must be configured.
    pub fn new(
        providers: Vec<Arc<dyn Provider>>,
        default: ProviderId,
        aliases: HashMap<String, (ProviderId, ModelId)>,
        rules: Vec<Rule>,
    ) -> Result<Self, UnknownProvider> {
        let providers: BTreeMap<_, _> =
            providers.into_iter().map(|p| (p.id().clone(), p)).collect();
        let check = |what: String, id: &ProviderId| {
            if providers.contains_key(id) {
                Ok(())
            } else {
                Err(UnknownProvider {
                    what,
                    provider: id.to_string(),
                })
            }
        };
        check("default_provider".to_owned(), &default)?;
        for (alias, (p, _)) in &aliases {
            check(format!("alias {alias:?}"), p)?;
        }
        for r in &rules {
            check(format!("route {:?}", r.pattern.glob().glob()), &r.provider)?;
        }
        Ok(Self {
            providers,
            default,
            aliases,
            rules,
            fallbacks: HashMap::new(),
        })
    }

    /// Adds fallback chains: when a provider fails before answering, its targets are tried in
    /// order. Every provider named must be configured.
    pub fn with_fallbacks(
        mut self,
        fallbacks: HashMap<ProviderId, Vec<(ProviderId, ModelId)>>,
    ) -> Result<Self, UnknownProvider> {
        for (from, targets) in &fallbacks {
            for (to, _) in targets {
                if !self.providers.contains_key(to) {
                    return Err(UnknownProvider {
                        what: format!("fallback of provider {:?}", from.as_str()),
                        provider: to.to_string(),
                    });
                }
            }
        }
        self.fallbacks = fallbacks;
        Ok(self)
    }

    /// The targets to try after `primary` failed, in order.
    pub fn fallbacks_of(&self, primary: &ProviderId) -> Vec<Target> {
        self.fallbacks
            .get(primary)
            .into_iter()
            .flatten()
            .filter_map(|(p, m)| Some((self.providers.get(p)?.clone(), m.clone())))
            .collect()
    }

    /// Only the given provider, as the default (tests and the embedded defaults).
    pub fn single(provider: Arc<dyn Provider>) -> Self {
        let default = provider.id().clone();
        Self {
            providers: BTreeMap::from([(default.clone(), provider)]),
            default,
            aliases: HashMap::new(),
            rules: Vec::new(),
            fallbacks: HashMap::new(),
        }
    }

    pub fn provider(&self, id: &str) -> Result<&Arc<dyn Provider>, ProviderError> {
        self.providers.get(&ProviderId::new(id)).ok_or_else(|| {
            let known: Vec<&str> = self.providers.keys().map(ProviderId::as_str).collect();
            ProviderError::validation(format!(
                "Unknown provider '{id}'. Configured providers: {}",
                known.join(", ")
            ))
        })
    }

    /// The configured aliases, sorted by name (ListFoundationModels lists them).
    pub fn alias_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.aliases.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Picks the provider and upstream model for `model_id` (already URL-decoded by the protocol).
    pub fn select(
        &self,
        model_id: &str,
        headers: &http::HeaderMap,
    ) -> Result<(Arc<dyn Provider>, ModelId), ProviderError> {
        // `provider/model`, but never inside an ARN, whose resource part has slashes of its own.
        let prefixed = if model_id.starts_with("arn:") {
            None
        } else {
            model_id.split_once('/')
        };
        if let Some(header) = headers.get(PROVIDER_HEADER) {
            let name = header
                .to_str()
                .map_err(|_| ProviderError::validation(format!("{PROVIDER_HEADER} must be ASCII")))?
                .trim();
            let provider = self.provider(name)?;
            let model = match prefixed {
                Some((p, m)) if p == name => m,
                _ => model_id,
            };
            return Ok((provider.clone(), ModelId::new(model)));
        }
        if let Some((p, m)) = prefixed {
            return Ok((self.provider(p)?.clone(), ModelId::new(m)));
        }
        if let Some((p, m)) = self.aliases.get(model_id) {
            return Ok((self.provider(p.as_str())?.clone(), m.clone()));
        }
        if let Some(rule) = self.rules.iter().find(|r| r.pattern.is_match(model_id)) {
            let model = rule
                .upstream_model
                .clone()
                .unwrap_or_else(|| ModelId::new(model_id));
            return Ok((self.provider(rule.provider.as_str())?.clone(), model));
        }
        Ok((
            self.provider(self.default.as_str())?.clone(),
            ModelId::new(model_id),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::mock::{Mock, MockConfig};

    fn routes() -> Routes {
        let mock: Arc<dyn Provider> =
            Arc::new(Mock::new(ProviderId::new("mock"), MockConfig::default()));
        let other: Arc<dyn Provider> =
            Arc::new(Mock::new(ProviderId::new("openai"), MockConfig::default()));
        let rule = Rule {
            pattern: globset::Glob::new("gpt-*").unwrap().compile_matcher(),
            provider: ProviderId::new("openai"),
            upstream_model: None,
        };
        let aliases = HashMap::from([(
            "fast".to_owned(),
            (ProviderId::new("openai"), ModelId::new("gpt-4o-mini")),
        )]);
        Routes::new(
            vec![mock, other],
            ProviderId::new("mock"),
            aliases,
            vec![rule],
        )
        .unwrap()
    }

    fn pick(model: &str, header: Option<&str>) -> Result<(String, String), ProviderError> {
        let mut headers = http::HeaderMap::new();
        if let Some(h) = header {
            headers.insert(PROVIDER_HEADER, h.parse().unwrap());
        }
        routes()
            .select(model, &headers)
            .map(|(p, m)| (p.id().to_string(), m.to_string()))
    }

    #[test]
    fn order_header_prefix_alias_rule_default() {
        assert_eq!(
            pick("anthropic.claude-3", Some("openai")).unwrap(),
            ("openai".into(), "anthropic.claude-3".into())
        );
        assert_eq!(
            pick("openai/gpt-4o", Some("openai")).unwrap(),
            ("openai".into(), "gpt-4o".into())
        );
        assert_eq!(
            pick("openai/gpt-4o", None).unwrap(),
            ("openai".into(), "gpt-4o".into())
        );
        assert_eq!(
            pick("fast", None).unwrap(),
            ("openai".into(), "gpt-4o-mini".into())
        );
        assert_eq!(
            pick("gpt-4.1", None).unwrap(),
            ("openai".into(), "gpt-4.1".into())
        );
        assert_eq!(
            pick("anthropic.claude-3", None).unwrap(),
            ("mock".into(), "anthropic.claude-3".into())
        );
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3";
        assert_eq!(pick(arn, None).unwrap(), ("mock".into(), arn.into()));
    }

    #[test]
    fn unknown_providers_are_named_with_the_configured_ones() {
        let err = pick("x", Some("gemini")).unwrap_err();
        assert_eq!(
            err.message,
            "Unknown provider 'gemini'. Configured providers: mock, openai"
        );
        assert!(
            pick("vertex/gemini-pro", None)
                .unwrap_err()
                .message
                .contains("Unknown provider 'vertex'")
        );
        let mock: Arc<dyn Provider> =
            Arc::new(Mock::new(ProviderId::new("mock"), MockConfig::default()));
        let err = Routes::new(
            vec![mock],
            ProviderId::new("openai"),
            HashMap::new(),
            vec![],
        )
        .unwrap_err();
        assert_eq!(err.provider, "openai");
    }
}
