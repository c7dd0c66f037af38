//! AWS Bedrock itself as an upstream: requests forwarded as the client sent them, re-signed, answers relayed byte for byte.
//!
//! Calls routed here take the passthrough path ([`Passthrough`]): the gateway does not parse the
//! request, it rebuilds the URL on the configured endpoint with the upstream model id, keeps the
//! headers Bedrock acts on, signs the identical body bytes (SigV4 with the AWS SDK's credential
//! chain, or a Bedrock API key as a bearer token) and streams the answer back chunk by chunk,
//! whatever its status: AWS's own errors are already exact.
//!
//! As a fallback target the provider takes typed calls too (`converse`): the typed request is
//! written as Bedrock's JSON, sent the same way, and the answer read back into typed shapes.

mod converse;
pub(crate) mod credentials;
mod sign;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quarry_bedrock_runtime::operation::converse::ConverseOutput;

use self::credentials::AwsCredentials;
use super::transport::Transport;
use super::{
    ConverseCall, ErrorKind, EventStream, ModelId, Passthrough, Provider, ProviderError,
    ProviderId, RawRequest, RuntimeOperation,
};
use crate::config::{ApiKey, BedrockConfig, BedrockCredentials};

/// What a path label keeps unencoded: RFC 3986's unreserved characters, as the AWS SDKs encode
/// `{modelId}` (`:` and `/` in ARNs become `%3A` and `%2F`).
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Request headers forwarded besides every `x-amzn-bedrock-*` one.
const FORWARDED_REQUEST_HEADERS: [&str; 2] = ["content-type", "accept"];
/// Response headers relayed besides every `x-amzn-bedrock-*` one.
const RELAYED_RESPONSE_HEADERS: [&str; 3] =
    ["content-type", "x-amzn-requestid", "x-amzn-errortype"];
/// The prefix of Bedrock's own headers: guardrails, trace, latency, service tier, stream accept.
const BEDROCK_HEADER_PREFIX: &str = "x-amzn-bedrock-";
/// The most a typed call's whole answer may hold.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// The most of an error answer read for its message.
const MAX_ERROR_BYTES: usize = 1024 * 1024;
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// How the gateway proves itself to AWS.
enum Auth {
    /// A Bedrock API key, as `Authorization: Bearer`.
    ApiKey(ApiKey),
    /// SigV4 with AWS credentials.
    SigV4(Box<AwsCredentials>),
}

/// The `bedrock` provider.
pub struct Bedrock {
    id: ProviderId,
    region: String,
    /// The endpoint without a trailing slash.
    endpoint: String,
    auth: Auth,
    transport: Transport,
}

impl std::fmt::Debug for Bedrock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bedrock")
            .field("id", &self.id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Bedrock {
    /// The provider a `[providers.<id>] type = "bedrock"` table describes.
    pub fn new(id: ProviderId, config: &BedrockConfig, transport: Transport) -> Self {
        let auth = match &config.credentials {
            BedrockCredentials::ApiKey(key) => Auth::ApiKey(key.clone()),
            BedrockCredentials::AwsDefaultChain => Auth::SigV4(Box::new(
                AwsCredentials::default_chain(id.clone(), config.region.clone()),
            )),
        };
        Self {
            region: config.region.clone(),
            endpoint: config.endpoint.to_string().trim_end_matches('/').to_owned(),
            id,
            auth,
            transport,
        }
    }

    /// Signs with these credentials instead of the configured ones (tests, embedders).
    pub fn with_credentials(mut self, credentials: aws_credential_types::Credentials) -> Self {
        self.auth = Auth::SigV4(Box::new(AwsCredentials::fixed(
            self.id.clone(),
            self.region.clone(),
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )));
        self
    }

    /// `{endpoint}/model/{model id, percent-encoded}/{operation}[?query]`.
    pub fn upstream_url(
        &self,
        model: &ModelId,
        operation: RuntimeOperation,
        query: Option<&str>,
    ) -> String {
        let mut url = format!(
            "{}/model/{}/{}",
            self.endpoint,
            utf8_percent_encode(model.as_str(), LABEL),
            operation.path_suffix()
        );
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// One attempt's request: the forwarded headers, then the credentials for this moment.
    fn build(
        &self,
        client: &reqwest::Client,
        url: &str,
        headers: &HeaderMap,
        body: &bytes::Bytes,
        credentials: Option<&aws_credential_types::Credentials>,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut headers = headers.clone();
        match (&self.auth, credentials) {
            (Auth::ApiKey(key), _) => {
                let mut value = http::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                    .map_err(|_| {
                        ProviderError::new(
                            ErrorKind::InternalServer,
                            format!(
                                "the API key of provider '{}' is not a valid header value",
                                self.id
                            ),
                        )
                    })?;
                value.set_sensitive(true);
                headers.insert(http::header::AUTHORIZATION, value);
            }
            (Auth::SigV4(_), Some(credentials)) => sign::sign_request(
                url,
                &mut headers,
                body,
                credentials,
                &self.region,
                SystemTime::now(),
            )?,
            (Auth::SigV4(_), None) => {
                return Err(ProviderError::new(
                    ErrorKind::InternalServer,
                    format!("provider '{}' has no AWS credentials to sign with", self.id),
                ));
            }
        }
        Ok(client.post(url).headers(headers).body(body.clone()))
    }

    /// Sends `body` to `url` with `headers`, authenticated, retried by the transport; the
    /// final answer whatever its status.
    async fn send(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &bytes::Bytes,
    ) -> Result<reqwest::Response, ProviderError> {
        let credentials = match &self.auth {
            Auth::ApiKey(_) => None,
            Auth::SigV4(chain) => Some(chain.get().await?),
        };
        self.transport
            .send(|client, _key| self.build(client, url, headers, body, credentials.as_ref()))
            .await
    }

    /// A typed call: a JSON body for `operation` on `model`; the answer when 2xx, AWS's error
    /// (its kind and message) otherwise.
    async fn call(
        &self,
        model: &ModelId,
        operation: RuntimeOperation,
        body: bytes::Bytes,
        accept: &'static str,
    ) -> Result<reqwest::Response, ProviderError> {
        let url = self.upstream_url(model, operation, None);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(JSON),
        );
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
        let response = self.send(&url, &headers, &body).await?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let response_headers = response.headers().clone();
        // A broken error body still leaves the status and the error type to go by.
        let body = self
            .transport
            .collect(response, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        Err(converse::error_from_response(
            &self.id,
            status,
            &response_headers,
            &body,
        ))
    }

    async fn relay(
        &self,
        request: RawRequest,
    ) -> Result<http::Response<aws_smithy_http_server::body::BoxBody>, ProviderError> {
        let url = self.upstream_url(&request.model, request.operation, request.query.as_deref());
        let headers = forwarded_request_headers(&request.headers);
        let response = self.send(&url, &headers, &request.body).await?;
        let status = response.status();
        tracing::debug!(provider = %self.id, model = %request.model, status = status.as_u16(), "relaying AWS Bedrock's answer");
        let relayed = relayed_response_headers(response.headers());
        let provider = self.id.clone();
        let chunks = self.transport.body(response).map(move |chunk| {
            chunk.map(http_body::Frame::data).inspect_err(|err| {
                // The client's decoder reports the cut; the reason is only in the log.
                tracing::warn!(provider = %provider, error = %err, "AWS Bedrock's answer broke off; cutting the connection");
            })
        });
        let mut out = http::Response::new(aws_smithy_http_server::body::boxed(
            http_body_util::StreamBody::new(chunks),
        ));
        *out.status_mut() = status;
        *out.headers_mut() = relayed;
        Ok(out)
    }
}

fn is_bedrock_header(name: &http::HeaderName) -> bool {
    name.as_str().starts_with(BEDROCK_HEADER_PREFIX)
}

/// The client's headers AWS acts on: `content-type`, `accept` and every `x-amzn-bedrock-*`
/// (guardrail, trace, latency, service tier, stream accept). Never the client's credentials,
/// date, host, length, routing header or connection headers: the request is re-signed and
/// re-framed. Values that are not visible ASCII are dropped (they could not be signed).
pub fn forwarded_request_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let keep = FORWARDED_REQUEST_HEADERS.contains(&name.as_str()) || is_bedrock_header(name);
        if keep && value.to_str().is_ok() {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// AWS's headers a client reads: `content-type`, `x-amzn-requestid`, `x-amzn-errortype` and
/// every `x-amzn-bedrock-*` (InvokeModel's latency and service tier, for one).
pub fn relayed_response_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if RELAYED_RESPONSE_HEADERS.contains(&name.as_str()) || is_bedrock_header(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

impl Passthrough for Bedrock {
    fn forward(
        &self,
        request: RawRequest,
    ) -> BoxFuture<'_, Result<http::Response<aws_smithy_http_server::body::BoxBody>, ProviderError>>
    {
        Box::pin(self.relay(request))
    }
}

impl Provider for Bedrock {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn converse(&self, call: ConverseCall) -> BoxFuture<'_, Result<ConverseOutput, ProviderError>> {
        Box::pin(async move {
            let body = converse::converse_body(&call.request)?;
            let response = self
                .call(&call.model, RuntimeOperation::Converse, body, JSON)
                .await?;
            let body = self.transport.collect(response, MAX_RESPONSE_BYTES).await?;
            converse::converse_output(&self.id, &body)
        })
    }

    fn converse_stream(
        &self,
        call: ConverseCall,
    ) -> BoxFuture<'_, Result<EventStream, ProviderError>> {
        Box::pin(async move {
            let body = converse::converse_body(&call.request)?;
            let response = self
                .call(
                    &call.model,
                    RuntimeOperation::ConverseStream,
                    body,
                    EVENT_STREAM,
                )
                .await?;
            let events =
                converse::StreamEvents::new(self.id.clone(), self.transport.body(response));
            Ok(Box::pin(events) as EventStream)
        })
    }

    fn count_tokens(&self, call: ConverseCall) -> BoxFuture<'_, Result<i32, ProviderError>> {
        Box::pin(async move {
            let body = converse::count_tokens_body(&call.request)?;
            let response = self
                .call(&call.model, RuntimeOperation::CountTokens, body, JSON)
                .await?;
            let body = self.transport.collect(response, MAX_RESPONSE_BYTES).await?;
            converse::count_tokens_output(&self.id, &body)
        })
    }

    fn passthrough(&self) -> Option<&dyn Passthrough> {
        Some(self)
    }
}
