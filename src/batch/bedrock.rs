//! AWS Bedrock's own batch control plane: model-invocation-job calls for a `bedrock` provider forwarded to AWS, signed, and answered exactly as AWS answered.
//!
//! Each operation is written as botocore writes it for restJson1 (labels percent-encoded, filters
//! in the query, the rest as a JSON body through the same schema codec the gateway serves with),
//! sent to `https://bedrock.{region}.amazonaws.com` with the provider's credentials (SigV4, service
//! `bedrock`, or a Bedrock API key as a bearer token), and AWS's answer read back into the
//! generated output shapes: statuses, ARNs and timestamps as AWS sent them.

use std::sync::LazyLock;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec as _;
use aws_smithy_schema::serde::{
    SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer as _,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quarry_bedrock::operation::{
    create_model_invocation_job::{CreateModelInvocationJobInput, CreateModelInvocationJobOutput},
    get_model_invocation_job::{GetModelInvocationJobInput, GetModelInvocationJobOutput},
    list_model_invocation_jobs::{ListModelInvocationJobsInput, ListModelInvocationJobsOutput},
    list_tags_for_resource::{ListTagsForResourceInput, ListTagsForResourceOutput},
    stop_model_invocation_job::{StopModelInvocationJobInput, StopModelInvocationJobOutput},
    tag_resource::{TagResourceInput, TagResourceOutput},
    untag_resource::{UntagResourceInput, UntagResourceOutput},
};
use quarry_codegen_runtime::validation::Violations;

use super::errors::BatchError;
use crate::config::{ApiKey, BaseUrl, BedrockConfig, BedrockCredentials};
use crate::providers::bedrock::credentials::AwsCredentials;
use crate::providers::transport::{Transport, TransportBuildError};
use crate::providers::{ErrorKind, ProviderError, ProviderId};

/// The signing name of the control plane (the same as the runtime's).
const SERVICE: &str = "bedrock";
/// What a path label or query value keeps unencoded: RFC 3986's unreserved characters, as
/// botocore encodes them (an ARN's `:` and `/` become `%3A` and `%2F`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The most a successful answer may hold (a full ListModelInvocationJobs page is a few MB).
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// The most of an error answer read for its code and message.
const MAX_ERROR_BYTES: usize = 1024 * 1024;
const JSON: &str = "application/json";

/// restJson1's codec: JSON names, members' own `@timestampFormat` (date-time for this service),
/// and lenient reading, since AWS adds members this gateway's model does not know yet.
static CODEC: LazyLock<JsonCodec> = LazyLock::new(|| {
    JsonCodec::new(
        JsonCodecSettings::builder()
            .use_json_name(true)
            .default_timestamp_format(Format::EpochSeconds)
            .allow_integral_float_numbers(true)
            .build(),
    )
});

/// How the gateway proves itself to AWS.
enum Auth {
    /// A Bedrock API key, as `Authorization: Bearer`.
    ApiKey(ApiKey),
    /// SigV4 with AWS credentials (fixed, or the SDK's default chain).
    SigV4(Box<AwsCredentials>),
}

/// The Bedrock control plane of one configured `bedrock` provider.
pub struct BedrockControlPlane {
    id: ProviderId,
    region: String,
    /// The endpoint without a trailing slash.
    endpoint: String,
    auth: Auth,
    /// The service role jobs run as when the client's `roleArn` is not one.
    batch_role_arn: Option<String>,
    transport: Transport,
}

impl std::fmt::Debug for BedrockControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockControlPlane")
            .field("id", &self.id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("batch_role_arn", &self.batch_role_arn)
            .finish_non_exhaustive()
    }
}

/// `https://bedrock.{region}.amazonaws.com` (`.amazonaws.com.cn` in the China regions).
pub fn control_plane_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://bedrock.{region}.{suffix}")
}

/// Whether `arn` names an IAM role (`arn:aws[-partition]:iam::[account]:role/<name>`), the
/// pattern Bedrock's model puts on `roleArn`.
pub fn is_iam_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|rest| !rest.is_empty());
    let account_ok =
        account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    let role_ok = resource
        .strip_prefix("role/")
        .is_some_and(|name| !name.is_empty());
    partition_ok && account_ok && role_ok
}

impl BedrockControlPlane {
    /// The control plane of provider `id`: the region's endpoint, the provider's transport
    /// settings, and `credentials` when given (tests, embedders), else the configured ones (the
    /// SDK's default chain, or the API key as a bearer token).
    pub fn new(
        id: &ProviderId,
        config: &BedrockConfig,
        credentials: Option<&Credentials>,
    ) -> Result<Self, TransportBuildError> {
        let auth = match (credentials, &config.credentials) {
            (Some(credentials), _) => Auth::SigV4(Box::new(AwsCredentials::fixed(
                id.clone(),
                config.region.clone(),
                SharedCredentialsProvider::new(credentials.clone()),
            ))),
            (None, BedrockCredentials::ApiKey(key)) => Auth::ApiKey(key.clone()),
            (None, BedrockCredentials::AwsDefaultChain) => Auth::SigV4(Box::new(
                AwsCredentials::default_chain(id.clone(), config.region.clone()),
            )),
        };
        // The key pool stays empty: the only key is the API key above, sent by `build`.
        let transport = Transport::new(id.clone(), config.remote.upstream, Vec::new())?;
        Ok(Self {
            id: id.clone(),
            region: config.region.clone(),
            endpoint: control_plane_endpoint(&config.region),
            auth,
            batch_role_arn: config.batch_role_arn.clone(),
            transport,
        })
    }

    /// Sends to `endpoint` instead of the region's (tests, VPC endpoints); requests are still
    /// signed for the configured region.
    pub fn with_endpoint(mut self, endpoint: BaseUrl) -> Self {
        self.endpoint = endpoint.to_string().trim_end_matches('/').to_owned();
        self
    }

    /// The provider this control plane belongs to.
    pub fn provider(&self) -> &ProviderId {
        &self.id
    }

    /// Where requests go, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The role a job runs as: the client's `roleArn` when it is an IAM role ARN, else the
    /// provider's `batch_role_arn` (clients of the gateway often send a placeholder).
    pub fn role_arn_for(&self, requested: &str) -> Result<String, BatchError> {
        if is_iam_role_arn(requested) {
            return Ok(requested.to_owned());
        }
        self.batch_role_arn.clone().ok_or_else(|| {
            BatchError::Validation(format!(
                "The roleArn '{requested}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>) and provider '{}' has no batch_role_arn configured: AWS Bedrock needs a service role to run the job.",
                self.id
            ))
        })
    }

    /// CreateModelInvocationJob: the job as the client described it, with the service role
    /// resolved and an idempotency token (so the transport's retries cannot create two jobs).
    pub async fn create(
        &self,
        mut input: CreateModelInvocationJobInput,
    ) -> Result<CreateModelInvocationJobOutput, BatchError> {
        const OPERATION: &str = "CreateModelInvocationJob";
        input.role_arn = self.role_arn_for(&input.role_arn)?;
        if input.client_request_token.is_none() {
            input.client_request_token = Some(idempotency_token());
        }
        self.post_json(
            OPERATION,
            "/model-invocation-job",
            &input,
            CreateModelInvocationJobOutput::deserialize_schema,
        )
        .await
    }

    /// GetModelInvocationJob, by job id or ARN.
    pub async fn get(
        &self,
        input: GetModelInvocationJobInput,
    ) -> Result<GetModelInvocationJobOutput, BatchError> {
        const OPERATION: &str = "GetModelInvocationJob";
        let path = format!("/model-invocation-job/{}", label(&input.job_identifier));
        let answer = self.call(OPERATION, Method::GET, path, None).await?;
        read_output(
            OPERATION,
            &answer,
            GetModelInvocationJobOutput::deserialize_schema,
        )
    }

    /// ListModelInvocationJobs, every filter in the query string.
    pub async fn list(
        &self,
        input: ListModelInvocationJobsInput,
    ) -> Result<ListModelInvocationJobsOutput, BatchError> {
        const OPERATION: &str = "ListModelInvocationJobs";
        let query = list_query(&input)?;
        let path = if query.is_empty() {
            "/model-invocation-jobs".to_owned()
        } else {
            format!("/model-invocation-jobs?{query}")
        };
        let answer = self.call(OPERATION, Method::GET, path, None).await?;
        read_output(
            OPERATION,
            &answer,
            ListModelInvocationJobsOutput::deserialize_schema,
        )
    }

    /// StopModelInvocationJob, by job id or ARN.
    pub async fn stop(
        &self,
        input: StopModelInvocationJobInput,
    ) -> Result<StopModelInvocationJobOutput, BatchError> {
        const OPERATION: &str = "StopModelInvocationJob";
        let path = format!(
            "/model-invocation-job/{}/stop",
            label(&input.job_identifier)
        );
        // No body members: botocore sends an empty body and no content type.
        let answer = self.call(OPERATION, Method::POST, path, None).await?;
        read_output(
            OPERATION,
            &answer,
            StopModelInvocationJobOutput::deserialize_schema,
        )
    }

    /// TagResource.
    pub async fn tag(&self, input: TagResourceInput) -> Result<TagResourceOutput, BatchError> {
        const OPERATION: &str = "TagResource";
        self.post_json(
            OPERATION,
            "/tagResource",
            &input,
            TagResourceOutput::deserialize_schema,
        )
        .await
    }

    /// UntagResource.
    pub async fn untag(
        &self,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, BatchError> {
        const OPERATION: &str = "UntagResource";
        self.post_json(
            OPERATION,
            "/untagResource",
            &input,
            UntagResourceOutput::deserialize_schema,
        )
        .await
    }

    /// ListTagsForResource.
    pub async fn list_tags(
        &self,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, BatchError> {
        const OPERATION: &str = "ListTagsForResource";
        self.post_json(
            OPERATION,
            "/listTagsForResource",
            &input,
            ListTagsForResourceOutput::deserialize_schema,
        )
        .await
    }

    /// A POST whose body is the input as restJson1 writes it, and its answer read.
    async fn post_json<T>(
        &self,
        operation: &'static str,
        path: &str,
        input: &(dyn SerializableStruct + Sync),
        read: Reader<T>,
    ) -> Result<T, BatchError> {
        let body = json_body(operation, input)?;
        let answer = self
            .call(operation, Method::POST, path.to_owned(), Some(body))
            .await?;
        read_output(operation, &answer, read)
    }

    /// Sends one call (retried by the transport on 429, 5xx and connection failures) and
    /// returns the 2xx answer's body, or AWS's error as a [`BatchError`].
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: String,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, BatchError> {
        let url = format!("{}{}", self.endpoint, path_and_query);
        let mut headers = HeaderMap::new();
        if body.is_some() {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        }
        let body = Bytes::from(body.unwrap_or_default());
        let credentials = match &self.auth {
            Auth::ApiKey(_) => None,
            Auth::SigV4(chain) => Some(chain.get().await.map_err(|err| {
                tracing::warn!(provider = %self.id, operation, error = %err.message, "batch: AWS credentials");
                BatchError::Internal(format!(
                    "The AWS credentials of provider '{}' could not be loaded; try again.",
                    self.id
                ))
            })?),
        };
        let response = self
            .transport
            .send(|client, _key| {
                self.build(client, &method, &url, &headers, &body, credentials.as_ref())
            })
            .await
            .map_err(|err| self.unreachable(operation, &err))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return self
                .transport
                .collect(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|err| self.unreachable(operation, &err));
        }
        let response_headers = response.headers().clone();
        // A broken error body still leaves the status and the error type header to go by.
        let body = self
            .transport
            .collect(response, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        let err = upstream_error(&self.id, status, &response_headers, &body);
        tracing::debug!(provider = %self.id, operation, status, error = %err, "batch: AWS Bedrock refused the call");
        Err(err)
    }

    /// One attempt's request, authenticated for this moment.
    fn build(
        &self,
        client: &reqwest::Client,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: &Bytes,
        credentials: Option<&Credentials>,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut headers = headers.clone();
        match (&self.auth, credentials) {
            (Auth::ApiKey(key), _) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
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
            (Auth::SigV4(_), Some(credentials)) => sign_request(
                method,
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
        if *method == Method::GET {
            return Ok(client.request(method.clone(), url).headers(headers));
        }
        if body.is_empty() {
            // As botocore does: AWS's front ends may refuse a POST that states no length, and
            // hyper states none for an empty body. Not signed, as in botocore.
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Ok(client
            .request(method.clone(), url)
            .headers(headers)
            .body(body.clone()))
    }

    /// A call that never got an answer: the detail goes to the log, the client gets a retryable
    /// InternalServerException.
    fn unreachable(&self, operation: &str, err: &ProviderError) -> BatchError {
        tracing::warn!(provider = %self.id, operation, error = %err.message, "batch: AWS Bedrock unreachable");
        BatchError::Internal(format!(
            "{operation} could not be forwarded to AWS Bedrock (provider '{}'); try again.",
            self.id
        ))
    }
}

/// Signs `method url` with `headers` and `body` for `region` as botocore does (no
/// `x-amz-content-sha256`, the session token signed), adding `authorization`, `x-amz-date` and,
/// for temporary credentials, `x-amz-security-token`. `url` is percent-encoded, as on the wire.
fn sign_request(
    method: &Method,
    url: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), ProviderError> {
    let failed = |err: &dyn std::fmt::Display| {
        ProviderError::new(
            ErrorKind::InternalServer,
            format!("signing the request to AWS Bedrock failed: {err}"),
        )
    };
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        url,
        // Only headers this file set, all ASCII.
        headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
        SignableBody::Bytes(body),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| failed(&e))?
        .into_parts();
    let (added, _query) = instructions.into_parts();
    for header in added {
        let mut value = HeaderValue::from_str(header.value()).map_err(|e| failed(&e))?;
        // Kept out of debug output: the signature and the session token are credentials.
        value.set_sensitive(
            header.sensitive()
                || header.name() == http::header::AUTHORIZATION.as_str()
                || header.name() == "x-amz-security-token",
        );
        headers.insert(header.name(), value);
    }
    Ok(())
}

/// A path label as botocore encodes it.
fn label(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// An ISO-8601 timestamp for the query string (`2024-05-01T12:00:00Z`, fractions when set), the
/// format botocore uses for this service's `date-time` timestamps.
fn iso8601(member: &str, value: &DateTime) -> Result<String, BatchError> {
    value.fmt(Format::DateTime).map_err(|err| {
        BatchError::Validation(format!("{member} cannot be written as a timestamp: {err}"))
    })
}

/// ListModelInvocationJobs's query string, members in model order, values percent-encoded.
fn list_query(input: &ListModelInvocationJobsInput) -> Result<String, BatchError> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &input.submit_time_after {
        pairs.push(("submitTimeAfter", iso8601("submitTimeAfter", t)?));
    }
    if let Some(t) = &input.submit_time_before {
        pairs.push(("submitTimeBefore", iso8601("submitTimeBefore", t)?));
    }
    if let Some(status) = &input.status_equals {
        pairs.push(("statusEquals", status.as_str().to_owned()));
    }
    if let Some(name) = &input.name_contains {
        pairs.push(("nameContains", name.clone()));
    }
    if let Some(max) = input.max_results {
        pairs.push(("maxResults", max.to_string()));
    }
    if let Some(token) = &input.next_token {
        pairs.push(("nextToken", token.clone()));
    }
    if let Some(by) = &input.sort_by {
        pairs.push(("sortBy", by.as_str().to_owned()));
    }
    if let Some(order) = &input.sort_order {
        pairs.push(("sortOrder", order.as_str().to_owned()));
    }
    Ok(pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, UNRESERVED)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// An input whose members all bind to the body, as restJson1's JSON body.
fn json_body(operation: &str, input: &dyn SerializableStruct) -> Result<Vec<u8>, BatchError> {
    let mut serializer = CODEC.create_serializer();
    serializer
        .write_struct(input.schema(), input)
        .map_err(|err| BatchError::Internal(format!("writing the {operation} request: {err}")))?;
    Ok(serializer.finish())
}

/// A generated output's reader: the shape, or `None` when a required member is missing.
type Reader<T> = fn(&mut dyn ShapeDeserializer, &mut Violations) -> Result<Option<T>, SerdeError>;

/// AWS's 2xx answer as the operation's output. Constraint violations are ignored (AWS's values
/// pass through as sent, unknown enum values as `Unknown`); only an unreadable answer or a
/// missing required member fails.
fn read_output<T>(operation: &str, body: &[u8], read: Reader<T>) -> Result<T, BatchError> {
    // Operations without output members may answer with no body at all.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut deserializer = CODEC.create_deserializer(body);
    let mut violations = Violations::new();
    let why = match read(&mut deserializer, &mut violations) {
        Ok(Some(output)) => return Ok(output),
        Ok(None) => violations
            .message()
            .unwrap_or_else(|| "a required member is missing".to_owned()),
        Err(err) => err.to_string(),
    };
    tracing::warn!(operation, error = %why, "batch: unreadable answer from AWS Bedrock");
    Err(BatchError::Internal(format!(
        "AWS Bedrock's answer to {operation} could not be read: {why}"
    )))
}

/// `ValidationException` from `ValidationException:http://…` (the header) or
/// `com.amazonaws.bedrock#ValidationException` (`__type`).
fn error_code(value: &str) -> &str {
    let value = value.split(':').next().unwrap_or(value);
    value.rsplit('#').next().unwrap_or(value).trim()
}

/// AWS's non-2xx answer as a [`BatchError`]: the error type AWS named (the
/// `x-amzn-ErrorType` header, else `__type` / `code` in the body), else the status's; AWS's
/// message kept. Types `BatchError` cannot carry keep their name in the message.
fn upstream_error(
    provider: &ProviderId,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> BatchError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| json.as_ref()?.get(*name)?.as_str().map(str::to_owned))
    };
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|c| error_code(&c).to_owned())
        .filter(|c| !c.is_empty());
    let message = field(&["message", "Message"])
        .or_else(|| {
            // Not JSON (a load balancer's page, say): its start, if it says anything.
            json.is_none().then(|| {
                String::from_utf8_lossy(body)
                    .trim()
                    .chars()
                    .take(500)
                    .collect()
            })
        })
        .filter(|m: &String| !m.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let named = |code: &str| format!("{code}: {message}");
    match code.as_deref() {
        Some("ValidationException") => BatchError::Validation(message),
        Some("ResourceNotFoundException") => BatchError::NotFound(message),
        Some("ConflictException") => BatchError::Conflict(message),
        Some("ServiceQuotaExceededException") => BatchError::Quota(message),
        Some("TooManyTagsException") => BatchError::TooManyTags(message),
        // The caller may not do this (a role it may not pass, say): a client error, not retried.
        Some(code @ "AccessDeniedException") => BatchError::Validation(named(code)),
        // Transient: InternalServerException is the retryable error every operation models.
        Some(code @ ("ThrottlingException" | "ServiceUnavailableException")) => {
            BatchError::Internal(named(code))
        }
        Some("InternalServerException") => BatchError::Internal(message),
        // AWS rejected the gateway's own credentials: the gateway's fault, not the client's.
        Some(
            code @ ("UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignatureException"
            | "MissingAuthenticationTokenException"
            | "ExpiredTokenException"),
        ) => BatchError::Internal(format!(
            "AWS Bedrock rejected the credentials of provider '{provider}': {}",
            named(code)
        )),
        code => {
            let message = match code {
                Some(code) => named(code),
                None => message,
            };
            match status {
                404 => BatchError::NotFound(message),
                409 => BatchError::Conflict(message),
                429 | 500..=599 => BatchError::Internal(message),
                _ => BatchError::Validation(message),
            }
        }
    }
}

/// A fresh idempotency token, a version-4 UUID as boto3 generates for `clientRequestToken`.
fn idempotency_token() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use quarry_bedrock::types::{
        ModelInvocationJobInputDataConfig, ModelInvocationJobOutputDataConfig,
        ModelInvocationJobS3InputDataConfig, ModelInvocationJobS3OutputDataConfig,
        ModelInvocationJobStatus, ModelInvocationType, S3InputFormat, SortJobsBy, SortOrder, Tag,
        VpcConfig,
    };
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::auth::{AccessKeyId, Credential, Identity, KeyStore, PayloadHash, SecretKey};
    use crate::config::RemoteConfig;

    const REGION: &str = "us-west-2";
    const AKID: &str = "AKIDBATCHTEST";
    const SECRET: &str = "batch-secret";
    const JOB_ARN: &str =
        "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abcdefghij12";
    const CLIENT_ROLE: &str = "arn:aws:iam::123456789012:role/ClientBatchRole";
    const CONFIG_ROLE: &str = "arn:aws:iam::123456789012:role/GatewayBatchRole";

    fn config(credentials: BedrockCredentials, role: Option<&str>) -> BedrockConfig {
        let mut remote = RemoteConfig::default();
        // Error rows answer 429 / 5xx: one attempt each, no backoff.
        remote.upstream.retry.max_retries = 0;
        BedrockConfig {
            region: REGION.to_owned(),
            endpoint: BaseUrl::parse("https://bedrock-runtime.us-west-2.amazonaws.com").unwrap(),
            credentials,
            remote,
            s3: None,
            batch_role_arn: role.map(str::to_owned),
            batch_endpoint: None,
        }
    }

    fn credentials(session_token: Option<&str>) -> Credentials {
        Credentials::new(AKID, SECRET, session_token.map(str::to_owned), None, "test")
    }

    fn plane(server: &MockServer, role: Option<&str>, token: Option<&str>) -> BedrockControlPlane {
        BedrockControlPlane::new(
            &ProviderId::new("aws"),
            &config(BedrockCredentials::AwsDefaultChain, role),
            Some(&credentials(token)),
        )
        .unwrap()
        .with_endpoint(BaseUrl::parse(&server.uri()).unwrap())
    }

    fn answer(status: u16, body: Value) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
    }

    async fn only_request(server: &MockServer) -> wiremock::Request {
        let mut requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests.remove(0)
    }

    fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
        request.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// `20240501T120000Z` as a time.
    fn amz_time(amz_date: &str) -> SystemTime {
        let d = amz_date.as_bytes();
        assert_eq!(d.len(), 16, "{amz_date}");
        let s = |r: std::ops::Range<usize>| std::str::from_utf8(&d[r]).unwrap();
        let iso = format!(
            "{}-{}-{}T{}:{}:{}Z",
            s(0..4),
            s(4..6),
            s(6..8),
            s(9..11),
            s(11..13),
            s(13..15)
        );
        SystemTime::try_from(DateTime::from_str(&iso, Format::DateTime).unwrap()).unwrap()
    }

    /// The received request's signature, checked twice: recomputed here with aws-sigv4 from what
    /// arrived (method, encoded URL, body, the time it claims), as an AWS SDK signs it, and
    /// verified by the gateway's own SigV4 verifier, written apart from aws-sigv4.
    fn check_signature(request: &wiremock::Request, credentials: &Credentials) {
        // wiremock's URL names `localhost`; the client signed (and sent) the Host it dialled.
        let mut url = format!(
            "http://{}{}",
            header(request, "host").expect("host"),
            request.url.path()
        );
        if let Some(query) = request.url.query() {
            url.push('?');
            url.push_str(query);
        }
        let sent = header(request, "authorization").expect("authorization");
        let time = amz_time(header(request, "x-amz-date").expect("x-amz-date"));
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("bedrock")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        // What an SDK hands the signer: the content type when there is a body; the signer adds
        // host, x-amz-date and the session token itself.
        let given: Vec<(&str, &str)> = header(request, "content-type")
            .map(|v| ("content-type", v))
            .into_iter()
            .collect();
        let signable = SignableRequest::new(
            request.method.as_str(),
            &url,
            given.into_iter(),
            SignableBody::Bytes(&request.body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let (added, _) = instructions.into_parts();
        let expected = added
            .iter()
            .find(|h| h.name() == "authorization")
            .unwrap()
            .value();
        assert_eq!(sent, expected, "{} {url}", request.method);

        let mut keys = KeyStore::new();
        keys.insert(Credential {
            access_key_id: AccessKeyId::new(AKID),
            secret: SecretKey::new(SECRET),
            identity: Identity::new("upstream"),
        });
        let mut parts = http::Request::builder()
            .method(request.method.as_str())
            .uri(&url)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        parts.headers = request.headers.clone();
        crate::auth::verify_header(
            &parts,
            &PayloadHash::of_body(&request.body),
            &keys,
            SystemTime::now(),
            Duration::from_secs(300),
            &["bedrock"],
        )
        .unwrap();
    }

    /// The request as it reached AWS, its signature checked; the date and signature redacted.
    fn wire(request: &wiremock::Request, token: Option<&str>) -> Value {
        check_signature(request, &credentials(token));
        let authorization = header(request, "authorization").unwrap();
        let amz_date = header(request, "x-amz-date").unwrap();
        let (scope, _signature) = authorization.split_once(", Signature=").unwrap();
        let mut names: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        json!({
            "method": request.method.as_str(),
            "path": request.url.path(),
            "query": request.url.query(),
            "content-type": header(request, "content-type"),
            "x-amz-security-token": header(request, "x-amz-security-token"),
            "authorization": format!("{}, Signature=[signature]", scope.replacen(&amz_date[..8], "[date]", 1)),
            "headers": names,
            "body": if request.body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice::<Value>(&request.body).unwrap()
            },
        })
    }

    fn create_input(role: &str, token: Option<&str>) -> CreateModelInvocationJobInput {
        CreateModelInvocationJobInput::builder()
            .job_name("nightly-eval")
            .role_arn(role)
            .set_client_request_token(token.map(str::to_owned))
            .model_id("anthropic.claude-3-haiku-20240307-v1:0")
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(
                ModelInvocationJobS3InputDataConfig {
                    s3_input_format: Some(S3InputFormat::Jsonl),
                    s3_uri: "s3://batch-in/records.jsonl".to_owned(),
                    s3_bucket_owner: None,
                },
            ))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                ModelInvocationJobS3OutputDataConfig {
                    s3_uri: "s3://batch-out/".to_owned(),
                    s3_encryption_key_id: None,
                    s3_bucket_owner: Some("123456789012".to_owned()),
                },
            ))
            .vpc_config(VpcConfig {
                subnet_ids: vec!["subnet-1".to_owned()],
                security_group_ids: vec!["sg-1".to_owned()],
            })
            .timeout_duration_in_hours(48)
            .tags(vec![Tag {
                key: "team".to_owned(),
                value: "eval".to_owned(),
            }])
            .model_invocation_type(ModelInvocationType::Converse)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn create_forwards_the_job_signed_with_the_gateway_credentials() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/model-invocation-job"))
            .respond_with(answer(200, json!({ "jobArn": JOB_ARN })))
            .mount(&server)
            .await;
        let token = Some("session-token");
        let out = plane(&server, Some(CONFIG_ROLE), token)
            .create(create_input(CLIENT_ROLE, Some("client-token-1")))
            .await
            .unwrap();
        assert_eq!(out.job_arn, JOB_ARN);
        insta::assert_json_snapshot!("create_request", wire(&only_request(&server).await, token));
    }

    #[tokio::test]
    async fn create_without_a_token_sends_a_fresh_uuid() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer(200, json!({ "jobArn": JOB_ARN })))
            .mount(&server)
            .await;
        let plane = plane(&server, None, None);
        plane.create(create_input(CLIENT_ROLE, None)).await.unwrap();
        plane.create(create_input(CLIENT_ROLE, None)).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        let tokens: Vec<String> = requests
            .iter()
            .map(|r| {
                let body: Value = r.body_json().unwrap();
                body["clientRequestToken"].as_str().unwrap().to_owned()
            })
            .collect();
        for token in &tokens {
            let groups: Vec<usize> = token.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{token}");
            assert_eq!(&token[14..15], "4", "{token}");
            assert!(token.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        }
        assert_ne!(tokens[0], tokens[1]);
    }

    #[tokio::test]
    async fn the_role_is_the_clients_iam_role_else_the_configured_one() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer(200, json!({ "jobArn": JOB_ARN })))
            .mount(&server)
            .await;
        let sent_role = |request: &wiremock::Request| {
            let body: Value = request.body_json().unwrap();
            body["roleArn"].as_str().unwrap().to_owned()
        };

        // The client's IAM role wins over the configured one.
        plane(&server, Some(CONFIG_ROLE), None)
            .create(create_input(CLIENT_ROLE, Some("t1")))
            .await
            .unwrap();
        assert_eq!(sent_role(&only_request(&server).await), CLIENT_ROLE);

        // A placeholder (or any other ARN) falls back to the configured role.
        for placeholder in [
            "placeholder",
            "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/x",
        ] {
            server.reset().await;
            Mock::given(method("POST"))
                .respond_with(answer(200, json!({ "jobArn": JOB_ARN })))
                .mount(&server)
                .await;
            plane(&server, Some(CONFIG_ROLE), None)
                .create(create_input(placeholder, Some("t2")))
                .await
                .unwrap();
            assert_eq!(sent_role(&only_request(&server).await), CONFIG_ROLE);
        }

        // Neither: refused before anything is sent, naming what is missing.
        server.reset().await;
        let err = plane(&server, None, None)
            .create(create_input("placeholder", Some("t3")))
            .await
            .unwrap_err();
        let BatchError::Validation(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.contains("'placeholder'"), "{message}");
        assert!(message.contains("batch_role_arn"), "{message}");
        assert!(message.contains("provider 'aws'"), "{message}");
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[test]
    fn iam_role_arns() {
        for (arn, is_role) in [
            ("arn:aws:iam::123456789012:role/BatchRole", true),
            ("arn:aws:iam::123456789012:role/service-role/Batch", true),
            ("arn:aws-us-gov:iam::123456789012:role/r", true),
            ("arn:aws-cn:iam:::role/r", true),
            ("arn:aws:iam::123456789012:role/", false),
            ("arn:aws:iam::123456789012:user/alice", false),
            ("arn:aws:iam::12345:role/r", false),
            ("arn:aws:iam:us-east-1:123456789012:role/r", false),
            ("arn:aws:sts::123456789012:role/r", false),
            ("arn:aws-:iam::123456789012:role/r", false),
            ("arn:azure:iam::123456789012:role/r", false),
            ("role/r", false),
            ("", false),
        ] {
            assert_eq!(is_iam_role_arn(arn), is_role, "{arn}");
        }
    }

    #[tokio::test]
    async fn get_encodes_the_arn_and_reads_the_job_as_aws_sent_it() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(answer(
                200,
                json!({
                    "jobArn": JOB_ARN,
                    "jobName": "nightly-eval",
                    "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                    "clientRequestToken": "client-token-1",
                    "roleArn": CONFIG_ROLE,
                    "status": "InProgress",
                    "message": "Processing",
                    "submitTime": "2024-05-01T12:00:00.123Z",
                    "lastModifiedTime": "2024-05-01T12:30:00Z",
                    "inputDataConfig": { "s3InputDataConfig": { "s3InputFormat": "JSONL", "s3Uri": "s3://batch-in/records.jsonl" } },
                    "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": "s3://batch-out/" } },
                    "timeoutDurationInHours": 24,
                    "jobExpirationTime": "2024-05-02T12:00:00Z",
                    "modelInvocationType": "InvokeModel",
                    "totalRecordCount": 1000,
                    "processedRecordCount": 400,
                    "successRecordCount": 398,
                    "errorRecordCount": 2,
                    // A member newer than this gateway's model: skipped, not an error.
                    "someFutureMember": { "nested": [1, 2] }
                }),
            ))
            .mount(&server)
            .await;
        let out = plane(&server, None, None)
            .get(
                GetModelInvocationJobInput::builder()
                    .job_identifier(JOB_ARN)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        insta::assert_json_snapshot!("get_request", wire(&only_request(&server).await, None));
        assert_eq!(out.job_arn, JOB_ARN);
        assert_eq!(out.job_name.as_deref(), Some("nightly-eval"));
        assert_eq!(out.role_arn, CONFIG_ROLE);
        assert_eq!(out.status, Some(ModelInvocationJobStatus::InProgress));
        assert_eq!(out.message.as_deref(), Some("Processing"));
        assert_eq!(out.submit_time.secs(), 1_714_564_800);
        assert_eq!(out.submit_time.subsec_nanos(), 123_000_000);
        assert_eq!(
            out.last_modified_time.map(|t| t.secs()),
            Some(1_714_566_600)
        );
        assert_eq!(out.end_time, None);
        assert_eq!(
            out.job_expiration_time.map(|t| t.secs()),
            Some(1_714_651_200)
        );
        let ModelInvocationJobInputDataConfig::S3InputDataConfig(input) = &out.input_data_config;
        assert_eq!(input.s3_uri, "s3://batch-in/records.jsonl");
        assert_eq!(input.s3_input_format, Some(S3InputFormat::Jsonl));
        let ModelInvocationJobOutputDataConfig::S3OutputDataConfig(output) =
            &out.output_data_config;
        assert_eq!(output.s3_uri, "s3://batch-out/");
        assert_eq!(out.timeout_duration_in_hours, Some(24));
        assert_eq!(
            out.model_invocation_type,
            Some(ModelInvocationType::InvokeModel)
        );
        assert_eq!(
            (
                out.total_record_count,
                out.processed_record_count,
                out.success_record_count,
                out.error_record_count
            ),
            (Some(1000), Some(400), Some(398), Some(2))
        );
    }

    #[tokio::test]
    async fn statuses_this_gateway_does_not_know_are_kept() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/model-invocation-job/abcdefghij12"))
            .respond_with(answer(
                200,
                json!({
                    "jobArn": JOB_ARN,
                    "modelId": "m",
                    "roleArn": CONFIG_ROLE,
                    "status": "Paused",
                    "submitTime": "2024-05-01T12:00:00Z",
                    "inputDataConfig": { "s3InputDataConfig": { "s3Uri": "s3://batch-in/" } },
                    "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": "s3://batch-out/" } },
                    "modelInvocationType": "Embeddings"
                }),
            ))
            .mount(&server)
            .await;
        let out = plane(&server, None, None)
            .get(
                GetModelInvocationJobInput::builder()
                    .job_identifier("abcdefghij12")
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            out.status,
            Some(ModelInvocationJobStatus::Unknown("Paused".to_owned()))
        );
        assert_eq!(out.status.as_ref().map(|s| s.as_str()), Some("Paused"));
        assert_eq!(
            out.model_invocation_type,
            Some(ModelInvocationType::Unknown("Embeddings".to_owned()))
        );
    }

    #[tokio::test]
    async fn list_sends_every_filter_in_the_query() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/model-invocation-jobs"))
            .respond_with(answer(
                200,
                json!({
                    "nextToken": "page+2/==",
                    "invocationJobSummaries": [
                        {
                            "jobArn": JOB_ARN,
                            "jobName": "nightly-eval",
                            "modelId": "m",
                            "roleArn": CONFIG_ROLE,
                            "status": "Completed",
                            "submitTime": "2024-05-01T12:00:00Z",
                            "endTime": "2024-05-01T18:00:00.5Z",
                            "inputDataConfig": { "s3InputDataConfig": { "s3Uri": "s3://batch-in/" } },
                            "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": "s3://batch-out/" } }
                        },
                        {
                            "jobArn": "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/zyxwvutsrq98",
                            "jobName": "other",
                            "modelId": "m",
                            "roleArn": CONFIG_ROLE,
                            "status": "Scheduled",
                            "submitTime": "2024-05-01T13:00:00Z",
                            "inputDataConfig": { "s3InputDataConfig": { "s3Uri": "s3://batch-in/" } },
                            "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": "s3://batch-out/" } }
                        }
                    ]
                }),
            ))
            .mount(&server)
            .await;
        let plane = plane(&server, None, None);
        let out = plane
            .list(
                ListModelInvocationJobsInput::builder()
                    .submit_time_after(DateTime::from_secs(1_714_521_600))
                    .submit_time_before(DateTime::from_secs_and_nanos(1_714_608_000, 250_000_000))
                    .status_equals(ModelInvocationJobStatus::Completed)
                    .name_contains("nightly eval")
                    .max_results(50)
                    .next_token("page+1/==")
                    .sort_by(SortJobsBy::CreationTime)
                    .sort_order(SortOrder::Descending)
                    .build(),
            )
            .await
            .unwrap();
        insta::assert_json_snapshot!("list_request", wire(&only_request(&server).await, None));
        assert_eq!(out.next_token.as_deref(), Some("page+2/=="));
        let jobs = out.invocation_job_summaries.unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].job_arn, JOB_ARN);
        assert_eq!(jobs[0].status, Some(ModelInvocationJobStatus::Completed));
        assert_eq!(jobs[0].submit_time.secs(), 1_714_564_800);
        let end = jobs[0].end_time.unwrap();
        assert_eq!(
            (end.secs(), end.subsec_nanos()),
            (1_714_586_400, 500_000_000)
        );
        assert_eq!(jobs[1].status, Some(ModelInvocationJobStatus::Scheduled));

        // No filters, no query string at all.
        server.reset().await;
        Mock::given(method("GET"))
            .respond_with(answer(200, json!({})))
            .mount(&server)
            .await;
        let out = plane
            .list(ListModelInvocationJobsInput::builder().build())
            .await
            .unwrap();
        assert_eq!(out.invocation_job_summaries, None);
        let request = only_request(&server).await;
        check_signature(&request, &credentials(None));
        assert_eq!(request.url.path(), "/model-invocation-jobs");
        assert_eq!(request.url.query(), None);
    }

    #[tokio::test]
    async fn stop_posts_no_body() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        plane(&server, None, Some("session-token"))
            .stop(
                StopModelInvocationJobInput::builder()
                    .job_identifier(JOB_ARN)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        insta::assert_json_snapshot!(
            "stop_request",
            wire(&only_request(&server).await, Some("session-token"))
        );
    }

    #[tokio::test]
    async fn tags_are_forwarded_as_json_bodies() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tagResource"))
            .respond_with(answer(200, json!({})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/untagResource"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/listTagsForResource"))
            .respond_with(answer(
                200,
                json!({ "tags": [ { "key": "team", "value": "eval" }, { "key": "cost", "value": "" } ] }),
            ))
            .mount(&server)
            .await;
        let plane = plane(&server, None, None);
        plane
            .tag(
                TagResourceInput::builder()
                    .resource_arn(JOB_ARN)
                    .tags(vec![
                        Tag {
                            key: "team".to_owned(),
                            value: "eval".to_owned(),
                        },
                        Tag {
                            key: "cost".to_owned(),
                            value: String::new(),
                        },
                    ])
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        plane
            .untag(
                UntagResourceInput::builder()
                    .resource_arn(JOB_ARN)
                    .tag_keys(vec!["old".to_owned()])
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let listed = plane
            .list_tags(
                ListTagsForResourceInput::builder()
                    .resource_arn(JOB_ARN)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            listed.tags,
            Some(vec![
                Tag {
                    key: "team".to_owned(),
                    value: "eval".to_owned()
                },
                Tag {
                    key: "cost".to_owned(),
                    value: String::new()
                },
            ])
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3);
        insta::assert_json_snapshot!("tag_request", wire(&requests[0], None));
        insta::assert_json_snapshot!("untag_request", wire(&requests[1], None));
        insta::assert_json_snapshot!("list_tags_request", wire(&requests[2], None));
    }

    #[tokio::test]
    async fn aws_errors_map_to_batch_errors() {
        let server = MockServer::start().await;
        let plane = plane(&server, None, None);
        let header = "x-amzn-ErrorType";
        let rows: Vec<(u16, Option<&str>, &str, BatchError)> = vec![
            (
                400,
                Some("ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/"),
                r#"{"message":"jobName is too long"}"#,
                BatchError::Validation("jobName is too long".into()),
            ),
            (
                404,
                None,
                r#"{"__type":"com.amazonaws.bedrock#ResourceNotFoundException","message":"Job not found"}"#,
                BatchError::NotFound("Job not found".into()),
            ),
            (
                400,
                None,
                r#"{"code":"ConflictException","Message":"Job is stopping"}"#,
                BatchError::Conflict("Job is stopping".into()),
            ),
            (
                400,
                Some("ServiceQuotaExceededException"),
                r#"{"message":"Too many jobs"}"#,
                BatchError::Quota("Too many jobs".into()),
            ),
            (
                400,
                Some("TooManyTagsException"),
                r#"{"message":"Over 200 tags"}"#,
                BatchError::TooManyTags("Over 200 tags".into()),
            ),
            (
                403,
                Some("AccessDeniedException"),
                r#"{"message":"not authorized to perform iam:PassRole"}"#,
                BatchError::Validation(
                    "AccessDeniedException: not authorized to perform iam:PassRole".into(),
                ),
            ),
            (
                429,
                Some("ThrottlingException"),
                r#"{"message":"Rate exceeded"}"#,
                BatchError::Internal("ThrottlingException: Rate exceeded".into()),
            ),
            (
                500,
                Some("InternalServerException"),
                r#"{"message":"Internal failure"}"#,
                BatchError::Internal("Internal failure".into()),
            ),
            (
                403,
                Some("UnrecognizedClientException"),
                r#"{"message":"The security token included in the request is invalid."}"#,
                BatchError::Internal("AWS Bedrock rejected the credentials of provider 'aws': UnrecognizedClientException: The security token included in the request is invalid.".into()),
            ),
            (
                503,
                None,
                "Service Unavailable",
                BatchError::Internal("Service Unavailable".into()),
            ),
            (404, None, "", BatchError::NotFound("HTTP 404".into())),
            (
                400,
                Some("SomeNewException"),
                "{}",
                BatchError::Validation("SomeNewException: HTTP 400".into()),
            ),
        ];
        for (status, error_type, body, expected) in rows {
            server.reset().await;
            let mut response = ResponseTemplate::new(status).set_body_raw(body, "application/json");
            if let Some(error_type) = error_type {
                response = response.insert_header(header, error_type);
            }
            Mock::given(method("GET"))
                .respond_with(response)
                .mount(&server)
                .await;
            let err = plane
                .get(
                    GetModelInvocationJobInput::builder()
                        .job_identifier("abcdefghij12")
                        .build()
                        .unwrap(),
                )
                .await
                .unwrap_err();
            assert_eq!(err, expected, "HTTP {status} {error_type:?} {body}");
        }
    }

    #[tokio::test]
    async fn unreadable_answers_and_unreachable_endpoints_are_internal_errors() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(answer(200, json!({ "jobArn": JOB_ARN })))
            .mount(&server)
            .await;
        let get = GetModelInvocationJobInput::builder()
            .job_identifier("abcdefghij12")
            .build()
            .unwrap();
        let err = plane(&server, None, None)
            .get(get.clone())
            .await
            .unwrap_err();
        let BatchError::Internal(message) = &err else {
            panic!("{err:?}");
        };
        assert!(
            message.starts_with("AWS Bedrock's answer to GetModelInvocationJob could not be read"),
            "{message}"
        );
        assert!(message.contains("modelId"), "{message}");

        // A port nothing listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let err = BedrockControlPlane::new(
            &ProviderId::new("aws"),
            &config(BedrockCredentials::AwsDefaultChain, None),
            Some(&credentials(None)),
        )
        .unwrap()
        .with_endpoint(BaseUrl::parse(&endpoint).unwrap())
        .get(get)
        .await
        .unwrap_err();
        assert_eq!(
            err,
            BatchError::Internal(
                "GetModelInvocationJob could not be forwarded to AWS Bedrock (provider 'aws'); try again."
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn api_keys_are_bearer_tokens_and_nothing_is_signed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer(200, json!({ "tags": [] })))
            .mount(&server)
            .await;
        let plane = BedrockControlPlane::new(
            &ProviderId::new("aws"),
            &config(
                BedrockCredentials::ApiKey(ApiKey::new("bedrock-api-key")),
                None,
            ),
            None,
        )
        .unwrap()
        .with_endpoint(BaseUrl::parse(&server.uri()).unwrap());
        assert!(!format!("{plane:?}").contains("bedrock-api-key"));
        let out = plane
            .list_tags(
                ListTagsForResourceInput::builder()
                    .resource_arn(JOB_ARN)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(out.tags, Some(Vec::new()));
        let request = only_request(&server).await;
        assert_eq!(
            header(&request, "authorization"),
            Some("Bearer bedrock-api-key")
        );
        assert_eq!(header(&request, "x-amz-date"), None);
        assert_eq!(header(&request, "x-amz-security-token"), None);
    }

    #[test]
    fn the_endpoint_is_the_regions_control_plane() {
        let plane = |region: &str| {
            let mut config = config(BedrockCredentials::AwsDefaultChain, None);
            config.region = region.to_owned();
            BedrockControlPlane::new(&ProviderId::new("aws"), &config, None).unwrap()
        };
        assert_eq!(
            plane("us-west-2").endpoint(),
            "https://bedrock.us-west-2.amazonaws.com"
        );
        assert_eq!(
            plane("cn-north-1").endpoint(),
            "https://bedrock.cn-north-1.amazonaws.com.cn"
        );
        let moved =
            plane("eu-central-1").with_endpoint(BaseUrl::parse("http://127.0.0.1:4566/").unwrap());
        assert_eq!(moved.endpoint(), "http://127.0.0.1:4566");
        assert_eq!(moved.provider().as_str(), "aws");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let plane = BedrockControlPlane::new(
            &ProviderId::new("aws"),
            &config(BedrockCredentials::AwsDefaultChain, Some(CONFIG_ROLE)),
            Some(&credentials(Some("session-token"))),
        )
        .unwrap();
        let debug = format!("{plane:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains("session-token"), "{debug}");
    }
}
