//! Any [`UpstreamApi`] adapter over a [`Transport`], as a [`Provider`]: the one place HTTP and
//! translation meet.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::Stream;
use futures_util::future::BoxFuture;
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::ConverseStreamOutput;

use super::api::{KeyPlacement, StreamDecoder, UpstreamApi, UpstreamRequest};
use super::transport::sse::SseParser;
use super::transport::{BodyStream, Transport, status_error};
use super::{ConverseCall, ErrorKind, EventStream, Provider, ProviderError, ProviderId};
use crate::config::{ApiKey, BaseUrl};

/// The most a non-streamed upstream answer may hold.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A provider reached over HTTP through an adapter.
pub struct UpstreamProvider<A> {
    id: ProviderId,
    api: A,
    transport: Transport,
    /// Adapters' paths (which start with `/`) are appended to its path.
    base_url: BaseUrl,
    /// Configured extra headers (OpenAI organisation, proxy tokens…), sent on every request.
    headers: http::HeaderMap,
}

impl<A: UpstreamApi> UpstreamProvider<A> {
    pub fn new(
        id: ProviderId,
        api: A,
        transport: Transport,
        base_url: &BaseUrl,
        headers: http::HeaderMap,
    ) -> Self {
        Self {
            id,
            api,
            transport,
            base_url: base_url.clone(),
            headers,
        }
    }

    fn build(
        &self,
        client: &reqwest::Client,
        key: Option<&ApiKey>,
        request: &UpstreamRequest,
        body: &bytes::Bytes,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut builder = client
            .post(self.base_url.join(&request.path_and_query))
            .headers(self.headers.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some(key) = key {
            let mut value = match self.api.key_placement() {
                KeyPlacement::Bearer => {
                    http::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                }
                KeyPlacement::Header(_) => http::HeaderValue::from_str(key.expose()),
            }
            .map_err(|_| {
                ProviderError::new(
                    ErrorKind::InternalServer,
                    format!(
                        "an API key of provider '{}' is not a valid header value",
                        self.id
                    ),
                )
            })?;
            value.set_sensitive(true);
            let name = match self.api.key_placement() {
                KeyPlacement::Bearer => http::header::AUTHORIZATION.as_str(),
                KeyPlacement::Header(name) => name,
            };
            builder = builder.header(name, value);
        }
        Ok(builder)
    }

    /// Sends `request` (with retries) and returns the 2xx response, or the mapped error.
    async fn send(&self, request: &UpstreamRequest) -> Result<reqwest::Response, ProviderError> {
        let body = bytes::Bytes::from(
            serde_json::to_vec(&request.body)
                .map_err(|e| ProviderError::new(ErrorKind::InternalServer, e.to_string()))?,
        );
        let response = self
            .transport
            .send(|client, key| self.build(client, key, request, &body))
            .await?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        // The body of an error is small; a broken one still leaves the status to go by.
        let body = self
            .transport
            .collect(response, 1024 * 1024)
            .await
            .unwrap_or_default();
        let message = self.api.error_message(&body).or_else(|| {
            std::str::from_utf8(&body)
                .ok()
                .map(|s| s.trim().chars().take(500).collect())
        });
        Err(status_error(&self.id, status, message))
    }
}

fn millis(start: Instant) -> i64 {
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

impl<A: UpstreamApi> Provider for UpstreamProvider<A> {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn converse(&self, call: ConverseCall) -> BoxFuture<'_, Result<ConverseOutput, ProviderError>> {
        Box::pin(async move {
            let request = self.api.request(&call, false)?;
            let start = Instant::now();
            let response = self.send(&request).await?;
            let body = self.transport.collect(response, MAX_RESPONSE_BYTES).await?;
            self.api.response(&call, &body, millis(start))
        })
    }

    fn converse_stream(
        &self,
        call: ConverseCall,
    ) -> BoxFuture<'_, Result<EventStream, ProviderError>> {
        Box::pin(async move {
            let request = self.api.request(&call, true)?;
            let start = Instant::now();
            let response = self.send(&request).await?;
            let events = SseEvents {
                provider: self.id.clone(),
                body: self.transport.body(response),
                parser: SseParser::new(),
                decoder: self.api.stream_decoder(&call),
                pending: VecDeque::new(),
                start,
                done: false,
            };
            Ok(Box::pin(events) as EventStream)
        })
    }

    fn count_tokens(&self, call: ConverseCall) -> BoxFuture<'_, Result<i32, ProviderError>> {
        Box::pin(async move {
            let Some(request) = self.api.count_tokens_request(&call) else {
                return Err(ProviderError::validation(format!(
                    "The provided model doesn't support counting tokens: provider '{}' ({}) has no token-counting API",
                    self.id,
                    self.api.name()
                )));
            };
            let response = self.send(&request?).await?;
            let body = self.transport.collect(response, MAX_RESPONSE_BYTES).await?;
            self.api.count_tokens_response(&body)
        })
    }
}

/// An upstream SSE body decoded into Converse events as chunks arrive: nothing is buffered beyond
/// the event being parsed, and the body is read only as fast as the client takes events.
struct SseEvents {
    provider: ProviderId,
    body: BodyStream,
    parser: SseParser,
    decoder: Box<dyn StreamDecoder>,
    pending: VecDeque<Result<ConverseStreamOutput, ProviderError>>,
    start: Instant,
    done: bool,
}

impl SseEvents {
    fn fail(&mut self, err: ProviderError) {
        self.pending.push_back(Err(err));
        self.done = true;
    }

    fn decoded(&mut self, result: Result<Vec<ConverseStreamOutput>, ProviderError>) {
        match result {
            Ok(events) => self.pending.extend(events.into_iter().map(Ok)),
            Err(err) => self.fail(err),
        }
    }
}

impl Stream for SseEvents {
    type Item = Result<ConverseStreamOutput, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => match this.parser.push(&chunk) {
                    Ok(events) => {
                        for event in events {
                            if this.done {
                                break;
                            }
                            let result = this.decoder.event(event);
                            this.decoded(result);
                        }
                    }
                    Err(err) => this.fail(super::vocab::malformed_upstream(
                        this.provider.as_str(),
                        err,
                    )),
                },
                Poll::Ready(Some(Err(err))) => this.fail(err),
                Poll::Ready(None) => {
                    match this.parser.finish() {
                        Ok(Some(event)) => {
                            let result = this.decoder.event(event);
                            this.decoded(result);
                        }
                        Ok(None) => {}
                        Err(err) => this.fail(super::vocab::malformed_upstream(
                            this.provider.as_str(),
                            err,
                        )),
                    }
                    if !this.done {
                        let result = this.decoder.finish(millis(this.start));
                        this.decoded(result);
                        this.done = true;
                    }
                }
            }
        }
    }
}
