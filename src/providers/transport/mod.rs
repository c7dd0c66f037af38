//! One pooled HTTP client per provider, with what every adapter shares on the wire: key choice,
//! retries with jittered backoff, connect / first-byte / idle timeouts, and upstream statuses
//! mapped to Bedrock's error kinds.

pub mod keys;
pub mod sse;

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;

use self::keys::{DEFAULT_COOLDOWN, KeyPool};
use crate::config::{ApiKey, WeightedKey};
use crate::providers::{ErrorKind, ProviderError, ProviderId};

/// How long the gateway waits on an upstream, per phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the TCP (and TLS) connection.
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub first_byte: Duration,
    /// Between two body chunks (stream events), and to read a whole response body.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            // Non-streamed answers from large models can take minutes before the first byte.
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(120),
        }
    }
}

/// Retries of a request that failed before any of its answer was relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first; 0 disables retries.
    pub max_retries: u32,
    /// The first backoff's upper bound; each retry doubles it, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `attempt` (1-based): "full jitter", uniform in [0, min(max, base·2ⁿ⁻¹)],
    /// so throttled clients spread out instead of retrying in lockstep. `roll` is uniform in [0, 1).
    pub fn backoff(&self, attempt: u32, roll: f64) -> Duration {
        let cap = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_backoff);
        cap.mul_f64(roll.clamp(0.0, 1.0))
    }
}

/// A provider's transport settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpstreamSettings {
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

/// The Bedrock error kind for an upstream HTTP status (the table: 400 → Validation,
/// 401/403 → AccessDenied, 404 → ResourceNotFound, 408 → ModelTimeout, 413 → Validation,
/// 429 → Throttling, 5xx → ServiceUnavailable / InternalServer / ModelError).
pub fn status_kind(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::AccessDenied,
        404 => ErrorKind::ResourceNotFound,
        408 => ErrorKind::ModelTimeout,
        429 => ErrorKind::Throttling,
        // 529 is Anthropic's "overloaded".
        503 | 529 => ErrorKind::ServiceUnavailable,
        504 => ErrorKind::ModelTimeout,
        // The model's server failed behind the provider's gateway.
        502 => ErrorKind::ModelError,
        500..=599 => ErrorKind::InternalServer,
        // A redirect to another origin is not followed (see `Transport::new`): the provider's
        // URL is wrong, which is the gateway's configuration, not the caller's request.
        300..=399 => ErrorKind::InternalServer,
        _ => ErrorKind::Validation,
    }
}

/// An upstream's non-2xx answer as a Bedrock error, keeping the upstream's own message.
pub fn status_error(provider: &ProviderId, status: u16, message: Option<String>) -> ProviderError {
    let message = match message {
        Some(m) if !m.trim().is_empty() => m,
        _ => format!("HTTP {status}"),
    };
    ProviderError::new(
        status_kind(status),
        format!("{message} (provider '{provider}' answered HTTP {status})"),
    )
}

fn retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Seconds from a `Retry-After` header (the delta form; providers do not send dates).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs: f64 = value.to_str().ok()?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// Redirects followed within a provider's origin before the answer is taken as it is.
const MAX_REDIRECTS: usize = 5;

/// Which failures a request may be sent again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Reads, and calls that do the same thing twice: 429, 5xx, timeouts, connection failures.
    Safe,
    /// Calls that create something: only 429 and connections that never opened.
    CreatesOnce,
}

/// A provider's client, keys and policies.
#[derive(Debug)]
pub struct Transport {
    provider: ProviderId,
    client: reqwest::Client,
    keys: KeyPool,
    settings: UpstreamSettings,
}

/// The pooled client could not be built (its TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client for provider '{provider}': {source}")]
pub struct TransportBuildError {
    provider: String,
    #[source]
    source: reqwest::Error,
}

impl Transport {
    pub fn new(
        provider: ProviderId,
        settings: UpstreamSettings,
        keys: Vec<WeightedKey>,
    ) -> Result<Self, TransportBuildError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            // The API key goes nowhere but the provider's origin: a redirect there is followed, one
            // to another origin is answered as the failure it is (the key would go with it; only
            // `Authorization` is dropped by the client, not `x-api-key` or `x-goog-api-key`).
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt
                    .previous()
                    .last()
                    .is_some_and(|from| from.origin() == attempt.url().origin());
                if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|source| TransportBuildError {
                provider: provider.to_string(),
                source,
            })?;
        Ok(Self {
            provider,
            client,
            keys: KeyPool::new(keys),
            settings,
        })
    }

    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    pub fn settings(&self) -> &UpstreamSettings {
        &self.settings
    }

    /// Sends a request built afresh for each attempt (so it can be signed per attempt) with the
    /// key chosen for that attempt. 429s, 5xxs and connection failures are retried with jittered
    /// backoff (honouring `Retry-After`), a 429 also rotating to another key. Returns the final
    /// response whatever its status; a network failure or timeout on the last attempt is an error.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response, ProviderError>
    where
        F: Fn(&reqwest::Client, Option<&ApiKey>) -> Result<reqwest::RequestBuilder, ProviderError>,
    {
        self.send_with(Replay::Safe, build).await
    }

    /// [`send`](Self::send) for a call that creates something at the provider (a batch): retried
    /// only when the provider cannot have acted on it — a 429, or a connection that never
    /// opened. After a 5xx or a timeout the call may have succeeded, and a second one would
    /// create (and bill) a second batch, so that answer is final.
    pub async fn send_create<F>(&self, build: F) -> Result<reqwest::Response, ProviderError>
    where
        F: Fn(&reqwest::Client, Option<&ApiKey>) -> Result<reqwest::RequestBuilder, ProviderError>,
    {
        self.send_with(Replay::CreatesOnce, build).await
    }

    async fn send_with<F>(
        &self,
        replay: Replay,
        build: F,
    ) -> Result<reqwest::Response, ProviderError>
    where
        F: Fn(&reqwest::Client, Option<&ApiKey>) -> Result<reqwest::RequestBuilder, ProviderError>,
    {
        let mut attempt: u32 = 0;
        loop {
            let key = self.keys.pick(rand::random::<f64>());
            let request = build(&self.client, key.map(|(_, k)| k))?;
            let outcome =
                tokio::time::timeout(self.settings.timeouts.first_byte, request.send()).await;
            let last = attempt >= self.settings.retry.max_retries;
            let mut wait = None;
            match outcome {
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    if status == 429
                        && let Some((index, _)) = key
                    {
                        self.keys
                            .cool_down(index, retry_after(&response).unwrap_or(DEFAULT_COOLDOWN));
                    }
                    let replayable = match replay {
                        Replay::Safe => retryable_status(status),
                        Replay::CreatesOnce => status == 429,
                    };
                    if last || !replayable {
                        return Ok(response);
                    }
                    wait = retry_after(&response);
                    tracing::debug!(provider = %self.provider, status, attempt, "retrying upstream");
                }
                Ok(Err(err)) if err.is_connect() && !last => {
                    tracing::debug!(provider = %self.provider, error = %err, attempt, "retrying upstream connect");
                }
                Ok(Err(err)) => return Err(self.network_error(&err)),
                Err(_) if !last && replay == Replay::Safe => {
                    tracing::debug!(provider = %self.provider, attempt, "retrying upstream after first-byte timeout");
                }
                Err(_) => {
                    return Err(ProviderError::new(
                        ErrorKind::ModelTimeout,
                        format!(
                            "provider '{}' sent no response within {} s",
                            self.provider,
                            self.settings.timeouts.first_byte.as_secs_f64()
                        ),
                    ));
                }
            }
            attempt += 1;
            let backoff = self.settings.retry.backoff(attempt, rand::random::<f64>());
            let wait = wait.map_or(backoff, |w| w.min(self.settings.retry.max_backoff));
            tokio::time::sleep(wait).await;
        }
    }

    fn network_error(&self, err: &reqwest::Error) -> ProviderError {
        if err.is_timeout() {
            return ProviderError::new(
                ErrorKind::ModelTimeout,
                format!("provider '{}' timed out: {err}", self.provider),
            );
        }
        // reqwest's Display omits the cause ("error sending request"); the chain says why.
        let mut why = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            why.push_str(": ");
            why.push_str(&cause.to_string());
            source = cause.source();
        }
        ProviderError::new(
            ErrorKind::ServiceUnavailable,
            format!("provider '{}' could not be reached: {why}", self.provider),
        )
    }

    /// The response body as chunks, as they arrive, failing if the upstream goes quiet for
    /// longer than the idle timeout.
    pub fn body(&self, response: reqwest::Response) -> BodyStream {
        BodyStream {
            provider: self.provider.clone(),
            inner: Box::pin(response.bytes_stream()),
            idle: self.settings.timeouts.idle,
            timer: Box::pin(tokio::time::sleep(self.settings.timeouts.idle)),
            done: false,
        }
    }

    /// Reads a whole (non-streamed) body, up to `limit` bytes.
    pub async fn collect(
        &self,
        response: reqwest::Response,
        limit: usize,
    ) -> Result<Bytes, ProviderError> {
        use futures_util::StreamExt as _;
        let mut body = self.body(response);
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if out.len() + chunk.len() > limit {
                return Err(ProviderError::new(
                    ErrorKind::ModelError,
                    format!(
                        "provider '{}' answered more than {limit} bytes",
                        self.provider
                    ),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

type Chunks = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// An upstream body, chunk by chunk, with an idle timeout between chunks.
pub struct BodyStream {
    provider: ProviderId,
    inner: Chunks,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl Stream for BodyStream {
    type Item = Result<Bytes, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let deadline = tokio::time::Instant::now() + self.idle;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                self.done = true;
                let kind = if err.is_timeout() {
                    ErrorKind::ModelTimeout
                } else {
                    ErrorKind::ModelStreamError
                };
                Poll::Ready(Some(Err(ProviderError::new(
                    kind,
                    format!(
                        "the answer from provider '{}' broke off: {err}",
                        self.provider
                    ),
                ))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(ProviderError::new(
                        ErrorKind::ModelTimeout,
                        format!(
                            "provider '{}' sent nothing for {} s",
                            self.provider,
                            self.idle.as_secs_f64()
                        ),
                    ))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests;
