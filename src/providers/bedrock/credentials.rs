//! AWS credentials for signing upstream calls: the SDK's default chain, loaded once, cached until expiry.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;
use tokio::sync::{Mutex, OnceCell};

use crate::providers::{ErrorKind, ProviderError, ProviderId};

/// How long credentials without an expiry (environment, static profile) are reused before the
/// chain is asked again, so a rotated profile file is picked up.
const NO_EXPIRY_REUSE: Duration = Duration::from_secs(15 * 60);
/// Credentials are refreshed this long before they expire, so none expires mid-request.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Where the credentials come from, and the last ones resolved.
pub(crate) struct AwsCredentials {
    provider_id: ProviderId,
    region: String,
    /// Set at construction for fixed credentials; otherwise loaded on first use.
    provider: OnceCell<SharedCredentialsProvider>,
    /// The credentials in use and until when they may be used.
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("region", &self.region)
            .field("loaded", &self.provider.initialized())
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// The SDK's default chain (environment, profile, web identity, ECS, IMDS), for `region`,
    /// resolved on the first call.
    pub(crate) fn default_chain(provider_id: ProviderId, region: String) -> Self {
        Self {
            provider_id,
            region,
            provider: OnceCell::new(),
            cached: Mutex::new(None),
        }
    }

    /// Always the given provider's credentials (tests, embedders).
    pub(crate) fn fixed(
        provider_id: ProviderId,
        region: String,
        provider: SharedCredentialsProvider,
    ) -> Self {
        Self {
            provider_id,
            region,
            provider: OnceCell::new_with(Some(provider)),
            cached: Mutex::new(None),
        }
    }

    async fn provider(&self) -> Result<&SharedCredentialsProvider, ProviderError> {
        self.provider
            .get_or_try_init(|| async {
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region.clone()))
                    .load()
                    .await;
                config.credentials_provider().ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::InternalServer,
                        format!(
                            "provider '{}' (AWS Bedrock) has no AWS credentials provider",
                            self.provider_id
                        ),
                    )
                })
            })
            .await
    }

    /// Credentials valid for at least a few more minutes, asking the chain only when the cached
    /// ones are missing or about to expire. Concurrent callers wait for one refresh.
    pub(crate) async fn get(&self) -> Result<Credentials, ProviderError> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some((credentials, until)) = cached.as_ref()
            && now < *until
        {
            return Ok(credentials.clone());
        }
        let provider = self.provider().await?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|err| self.error(&err))?;
        let until = reuse_until(credentials.expiry(), now);
        *cached = Some((credentials.clone(), until));
        Ok(credentials)
    }

    fn error(&self, err: &CredentialsError) -> ProviderError {
        // Timeouts and failing credential services may pass; a missing or broken setup will not.
        let kind = match err {
            CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
                ErrorKind::ServiceUnavailable
            }
            _ => ErrorKind::InternalServer,
        };
        ProviderError::new(
            kind,
            format!(
                "provider '{}' (AWS Bedrock) could not load AWS credentials: {}",
                self.provider_id,
                DisplayErrorContext(err)
            ),
        )
    }
}

/// Until when credentials resolved at `now` are reused.
pub(super) fn reuse_until(expiry: Option<SystemTime>, now: SystemTime) -> SystemTime {
    match expiry {
        None => now + NO_EXPIRY_REUSE,
        Some(expiry) => expiry
            .checked_sub(REFRESH_BEFORE_EXPIRY)
            .unwrap_or(expiry)
            .min(now + NO_EXPIRY_REUSE),
    }
}
