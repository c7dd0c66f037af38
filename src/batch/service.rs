//! The Bedrock control plane's batch operations: the generated `Bedrock` trait implemented over
//! the job table and the job driver.

use std::sync::Arc;

use aws_smithy_types::DateTime;
use quarry_bedrock::Bedrock;
use quarry_bedrock::operation::{
    create_model_invocation_job::{
        CreateModelInvocationJobError as CreateError, CreateModelInvocationJobInput,
        CreateModelInvocationJobOutput,
    },
    get_foundation_model::{
        GetFoundationModelError, GetFoundationModelInput, GetFoundationModelOutput,
    },
    get_model_invocation_job::{
        GetModelInvocationJobError as GetError, GetModelInvocationJobInput,
        GetModelInvocationJobOutput,
    },
    list_foundation_models::{
        ListFoundationModelsError, ListFoundationModelsInput, ListFoundationModelsOutput,
    },
    list_model_invocation_jobs::{
        ListModelInvocationJobsError as ListError, ListModelInvocationJobsInput,
        ListModelInvocationJobsOutput,
    },
    list_tags_for_resource::{
        ListTagsForResourceError, ListTagsForResourceInput, ListTagsForResourceOutput,
    },
    stop_model_invocation_job::{
        StopModelInvocationJobError as StopError, StopModelInvocationJobInput,
        StopModelInvocationJobOutput,
    },
    tag_resource::{TagResourceError, TagResourceInput, TagResourceOutput},
    untag_resource::{UntagResourceError, UntagResourceInput, UntagResourceOutput},
};
use quarry_bedrock::types::{
    ModelInvocationJobInputDataConfig as InputConfig,
    ModelInvocationJobOutputDataConfig as OutputConfig, ModelInvocationJobS3InputDataConfig,
    ModelInvocationJobS3OutputDataConfig, ModelInvocationJobStatus as Status,
    ModelInvocationJobSummary, ModelInvocationType, S3InputFormat, SortOrder, Tag, VpcConfig,
};
use sha2::Digest as _;

use super::bedrock::BedrockControlPlane;
use super::driver::Context;
use super::errors::BatchError;
use super::ids::{ArnScope, JobId, job_of_resource};
use super::jobs::{Backend, Inserted, Job, JobSpec, ListFilter};
use super::record::InvocationType;
use super::storage::{self, S3Uri};
use crate::context::CallContext;
use crate::files::routing::FileRoutes;
use crate::runtime::PROVIDER_HEADER;

/// AWS's tag limit per resource.
const MAX_TAGS: usize = 200;

/// Get's output and List's summaries carry the same members, through builders of two types:
/// `job_fields!(builder, scope, job)` fills every one and builds.
macro_rules! job_fields {
    ($builder:expr, $scope:expr, $job:expr) => {{
        let job: &Job = $job;
        match view($scope, job) {
            Err(e) => Err(e),
            Ok(v) => $builder
                .job_arn(v.arn)
                .job_name(job.spec.name.clone())
                .model_id(job.spec.model_id.clone())
                .set_client_request_token(job.client_request_token.clone())
                .role_arn(job.spec.role_arn.clone())
                .status(job.status.clone())
                .set_message(job.message.clone())
                .submit_time(ms(job.submit_ms))
                .last_modified_time(ms(job.last_modified_ms))
                .set_end_time(job.end_ms.map(ms))
                .input_data_config(v.input)
                .output_data_config(v.output)
                .set_vpc_config(v.vpc)
                .timeout_duration_in_hours(job.spec.timeout_hours)
                .set_job_expiration_time(v.expiration)
                .set_model_invocation_type(v.invocation_type)
                .set_total_record_count(v.counts.map(|c| c.0))
                .set_processed_record_count(v.counts.map(|c| c.1))
                .set_success_record_count(v.counts.map(|c| c.2))
                .set_error_record_count(v.counts.map(|c| c.3))
                .build()
                .map_err(|e| BatchError::Internal(e.to_string())),
        }
    }};
}

/// The batch half of the Bedrock control plane.
pub struct Batches {
    ctx: Arc<Context>,
    scope: ArnScope,
    files: FileRoutes,
    /// Bedrock providers whose jobs run on Bedrock itself: their calls are forwarded.
    bedrock: std::collections::HashMap<crate::providers::ProviderId, Arc<BedrockControlPlane>>,
}

impl Batches {
    pub fn new(ctx: Arc<Context>, files: FileRoutes) -> Self {
        let scope = ArnScope {
            region: ctx.settings.region.clone(),
            account: ctx.settings.account_id.clone(),
        };
        Self {
            ctx,
            scope,
            files,
            bedrock: std::collections::HashMap::new(),
        }
    }

    /// Forwards the jobs of these bedrock providers to Bedrock's own control plane.
    pub fn with_bedrock(mut self, planes: Vec<BedrockControlPlane>) -> Self {
        self.bedrock = planes
            .into_iter()
            .map(|p| (p.provider().clone(), Arc::new(p)))
            .collect();
        self
    }

    /// The Bedrock control plane a call goes to: the one `x-model-provider` names; else, for a
    /// job ARN that is not the gateway's own, the only forwarding bedrock provider.
    fn forward_to(&self, arn: Option<&str>) -> Option<Arc<BedrockControlPlane>> {
        let context = CallContext::current();
        if let Some(name) = context
            .headers
            .get(PROVIDER_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            return self
                .bedrock
                .get(&crate::providers::ProviderId::new(name.trim()))
                .cloned();
        }
        let foreign =
            arn.is_some_and(|a| a.starts_with("arn:") && self.scope.identify(a).is_none());
        match (foreign, self.bedrock.len()) {
            (true, 1) => self.bedrock.values().next().cloned(),
            _ => None,
        }
    }

    /// Resumes the jobs a previous run left unfinished (needs a Tokio runtime).
    pub async fn resume(&self) -> Result<usize, BatchError> {
        self.ctx.resume().await
    }

    async fn job(&self, identifier: &str) -> Result<Job, BatchError> {
        let not_found = || {
            BatchError::NotFound(format!(
                "The specified model invocation job {identifier} was not found."
            ))
        };
        let id = self.scope.identify(identifier).ok_or_else(not_found)?;
        self.ctx.jobs.get(&id).await?.ok_or_else(not_found)
    }

    async fn create(&self, input: CreateModelInvocationJobInput) -> Result<String, BatchError> {
        let name = input.job_name.trim();
        if !valid_job_name(name) {
            return Err(BatchError::Validation(format!(
                "1 validation error detected: Value '{}' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9]{{1,63}}(-*[a-zA-Z0-9\\+\\-\\.]){{0,63}}",
                input.job_name
            )));
        }
        let timeout_hours = input.timeout_duration_in_hours.unwrap_or(24);
        if !(24..=168).contains(&timeout_hours) {
            return Err(BatchError::Validation(format!(
                "1 validation error detected: Value '{timeout_hours}' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168"
            )));
        }
        let invocation_type = match &input.model_invocation_type {
            None => None,
            Some(ModelInvocationType::InvokeModel) => Some(InvocationType::InvokeModel),
            Some(ModelInvocationType::Converse) => Some(InvocationType::Converse),
            Some(other) => {
                return Err(BatchError::Validation(format!(
                    "modelInvocationType {} is not one of InvokeModel, Converse",
                    other.as_str()
                )));
            }
        };
        let InputConfig::S3InputDataConfig(s3_input) = &input.input_data_config;
        let OutputConfig::S3OutputDataConfig(s3_output) = &input.output_data_config;
        if let Some(format) = &s3_input.s3_input_format
            && *format != S3InputFormat::Jsonl
        {
            return Err(BatchError::Validation(format!(
                "s3InputFormat {} is not supported; use JSONL",
                format.as_str()
            )));
        }
        let input_uri = S3Uri::parse(&s3_input.s3_uri).map_err(BatchError::Validation)?;
        let output_uri = S3Uri::parse(&s3_output.s3_uri).map_err(BatchError::Validation)?;

        // The provider: x-model-provider as the files API reads it, then the model's route.
        let context = CallContext::current();
        let header = match context.headers.get(PROVIDER_HEADER) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| {
                        BatchError::Validation(format!("{PROVIDER_HEADER} must be ASCII"))
                    })?
                    .trim()
                    .to_owned(),
            ),
        };
        let file_route = self
            .files
            .resolve(header.as_deref())
            .map_err(|e| BatchError::Validation(e.to_string()))?;
        let mut headers = (*context.headers).clone();
        if let Some(name) = &header {
            // `bedrock` and `anthropic` name the local store even unconfigured; their jobs then
            // follow the model's route like any other.
            if self.ctx.routes.provider(name).is_err() {
                headers.remove(PROVIDER_HEADER);
            }
        }
        let (provider, model) = self
            .ctx
            .routes
            .select(&input.model_id, &headers)
            .map_err(|e| BatchError::Validation(e.message))?;
        // A gateway key limited to some providers or models runs batches under the same limits.
        if let Some(key) = &context.identity
            && !key.allows(provider.id().as_str(), &input.model_id)
        {
            return Err(BatchError::AccessDenied(format!(
                "You don't have access to the model with the specified model ID: key '{}' may not use model '{}' through provider '{}'",
                key.key_name,
                input.model_id,
                provider.id()
            )));
        }
        if invocation_type == Some(InvocationType::InvokeModel) {
            crate::families::Family::detect(model.as_str()).map_err(|_| {
                BatchError::Validation(format!(
                    "The provided model identifier {} is not valid for InvokeModel records: its model family is unknown. Use modelInvocationType Converse.",
                    input.model_id
                ))
            })?;
        }
        if let Some(plane) = self.bedrock.get(provider.id()) {
            // Bedrock runs it: ARNs, statuses and S3 URIs are Bedrock's own.
            let mut input = input;
            input.model_id = model.as_str().to_owned();
            return Ok(plane.create(input).await?.job_arn);
        }
        let backend = if self.ctx.natives.contains_key(provider.id()) {
            Backend::Native
        } else {
            Backend::Local
        };

        // The input must exist now; the output bucket must exist or be creatable.
        let files = storage::resolve_input(
            &self.ctx.store,
            &file_route.namespace,
            &input_uri,
            &s3_input.s3_uri,
        )
        .await
        .map_err(|e| match e {
            storage::InputError::Invalid(m) => BatchError::Validation(m),
            storage::InputError::Store(e) => e.into(),
        })?;
        check_input_size(&files)?;
        if !file_route.auto_create_buckets
            && !self
                .ctx
                .store
                .bucket_exists(&file_route.namespace, &output_uri.bucket)
                .await?
        {
            return Err(BatchError::Validation(format!(
                "The output S3 bucket {} does not exist.",
                output_uri.bucket
            )));
        }

        let tags: Vec<(String, String)> = input
            .tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        check_tags(&tags)?;
        let spec = JobSpec {
            name: name.to_owned(),
            model_id: input.model_id.clone(),
            role_arn: input.role_arn.clone(),
            input_uri: s3_input.s3_uri.clone(),
            input_format: s3_input
                .s3_input_format
                .as_ref()
                .map(|f| f.as_str().to_owned()),
            input_bucket_owner: s3_input.s3_bucket_owner.clone(),
            output_uri: s3_output.s3_uri.clone(),
            output_kms_key_id: s3_output.s3_encryption_key_id.clone(),
            output_bucket_owner: s3_output.s3_bucket_owner.clone(),
            vpc_subnet_ids: input.vpc_config.as_ref().map(|v| v.subnet_ids.clone()),
            vpc_security_group_ids: input
                .vpc_config
                .as_ref()
                .map(|v| v.security_group_ids.clone()),
            timeout_hours,
            invocation_type: invocation_type.map(|t| t.as_str().to_owned()),
            provider: provider.id().as_str().to_owned(),
            upstream_model: model.as_str().to_owned(),
            backend,
            namespace: file_route.namespace.as_str().to_owned(),
        };
        let fingerprint = {
            let mut h = sha2::Sha256::new();
            h.update(serde_json::to_vec(&spec).unwrap_or_default());
            h.update(serde_json::to_vec(&tags).unwrap_or_default());
            hex::encode(h.finalize())
        };
        match self
            .ctx
            .jobs
            .insert(spec, input.client_request_token.clone(), fingerprint, tags)
            .await?
        {
            Inserted::New(job) => {
                let arn = self.scope.arn(&job.id);
                tracing::info!(job = %job.id, provider = %job.spec.provider, backend = ?job.spec.backend, "batch job created");
                self.ctx.start(job);
                Ok(arn)
            }
            Inserted::Existing(job) => Ok(self.scope.arn(&job.id)),
            Inserted::Conflict => Err(BatchError::Conflict(
                "The clientRequestToken was already used for a different request.".to_owned(),
            )),
        }
    }

    fn summary(&self, job: &Job) -> Result<ModelInvocationJobSummary, BatchError> {
        job_fields!(ModelInvocationJobSummary::builder(), &self.scope, job)
    }
}

/// The parts of a job both Get and List answer with.
struct View {
    arn: String,
    input: InputConfig,
    output: OutputConfig,
    vpc: Option<VpcConfig>,
    expiration: Option<DateTime>,
    invocation_type: Option<ModelInvocationType>,
    counts: Option<(i64, i64, i64, i64)>,
}

fn view(scope: &ArnScope, job: &Job) -> Result<View, BatchError> {
    let internal = |e: quarry_codegen_runtime::BuildError| BatchError::Internal(e.to_string());
    let input = InputConfig::S3InputDataConfig(
        ModelInvocationJobS3InputDataConfig::builder()
            .s3_uri(job.spec.input_uri.clone())
            .set_s3_input_format(job.spec.input_format.as_deref().map(S3InputFormat::from))
            .set_s3_bucket_owner(job.spec.input_bucket_owner.clone())
            .build()
            .map_err(internal)?,
    );
    let output = OutputConfig::S3OutputDataConfig(
        ModelInvocationJobS3OutputDataConfig::builder()
            .s3_uri(job.spec.output_uri.clone())
            .set_s3_encryption_key_id(job.spec.output_kms_key_id.clone())
            .set_s3_bucket_owner(job.spec.output_bucket_owner.clone())
            .build()
            .map_err(internal)?,
    );
    let vpc = match (&job.spec.vpc_subnet_ids, &job.spec.vpc_security_group_ids) {
        (Some(subnets), Some(groups)) => Some(
            VpcConfig::builder()
                .subnet_ids(subnets.clone())
                .security_group_ids(groups.clone())
                .build()
                .map_err(internal)?,
        ),
        _ => None,
    };
    // Bedrock reports the expiration once the job is running.
    let expiration = (!matches!(job.status, Status::Submitted | Status::Validating))
        .then(|| ms(job.expiration_ms));
    let invocation_type = Some(match job.spec.invocation_type.as_deref() {
        Some("Converse") => ModelInvocationType::Converse,
        _ => ModelInvocationType::InvokeModel,
    });
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let counts = job.counts.map(|c| {
        (
            to_i64(c.total_record_count),
            to_i64(c.processed_record_count),
            to_i64(c.success_record_count),
            to_i64(c.error_record_count),
        )
    });
    Ok(View {
        arn: scope.arn(&job.id),
        input,
        output,
        vpc,
        expiration,
        invocation_type,
        counts,
    })
}

fn ms(millis: i64) -> DateTime {
    DateTime::from_millis(millis)
}

/// Bedrock's input quotas: 1 GB per file, 5 GB per job.
const MAX_FILE_BYTES: u64 = 1_000_000_000;
const MAX_JOB_BYTES: u64 = 5_000_000_000;

fn check_input_size(files: &[storage::InputFile]) -> Result<(), BatchError> {
    if let Some(big) = files.iter().find(|f| f.info.size > MAX_FILE_BYTES) {
        return Err(BatchError::Validation(format!(
            "The input file {} is {} bytes, over the 1 GB limit per file.",
            big.info.key, big.info.size
        )));
    }
    let total: u64 = files.iter().map(|f| f.info.size).sum();
    if total > MAX_JOB_BYTES {
        return Err(BatchError::Validation(format!(
            "The input files hold {total} bytes, over the 5 GB limit per job."
        )));
    }
    Ok(())
}

/// Bedrock's job-name pattern: `[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}`.
fn valid_job_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 126
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
}

fn check_tags(tags: &[(String, String)]) -> Result<(), BatchError> {
    if tags.len() > MAX_TAGS {
        return Err(BatchError::TooManyTags(format!(
            "A resource holds at most {MAX_TAGS} tags."
        )));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(BatchError::Validation(format!(
                "Tag key '{key}' must be 1 to 128 characters and its value at most 256."
            )));
        }
    }
    Ok(())
}

/// A page token: the last job of the page, opaque to clients.
fn encode_token(job: &Job) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", job.submit_ms, job.id))
}

fn decode_token(token: &str) -> Option<(i64, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (ms, id) = raw.split_once(':')?;
    Some((ms.parse().ok()?, JobId::parse(id)?.to_string()))
}

impl Bedrock for Batches {
    async fn list_foundation_models(
        &self,
        input: ListFoundationModelsInput,
    ) -> Result<ListFoundationModelsOutput, ListFoundationModelsError> {
        let summaries = super::models::list(
            &self.ctx.routes,
            &self.scope.region,
            input.by_provider.as_deref(),
            input.by_output_modality.as_ref(),
            input.by_inference_type.as_ref(),
        )?;
        Ok(ListFoundationModelsOutput::builder()
            .model_summaries(summaries)
            .build())
    }

    async fn get_foundation_model(
        &self,
        input: GetFoundationModelInput,
    ) -> Result<GetFoundationModelOutput, GetFoundationModelError> {
        let details = super::models::get(
            &self.ctx.routes,
            &self.scope.region,
            &input.model_identifier,
        )?;
        Ok(GetFoundationModelOutput::builder()
            .model_details(details)
            .build())
    }

    async fn create_model_invocation_job(
        &self,
        input: CreateModelInvocationJobInput,
    ) -> Result<CreateModelInvocationJobOutput, CreateError> {
        let arn = self.create(input).await?;
        CreateModelInvocationJobOutput::builder()
            .job_arn(arn)
            .build()
            .map_err(|e| BatchError::Internal(e.to_string()).into())
    }

    async fn get_model_invocation_job(
        &self,
        input: GetModelInvocationJobInput,
    ) -> Result<GetModelInvocationJobOutput, GetError> {
        if let Some(plane) = self.forward_to(Some(&input.job_identifier)) {
            return Ok(plane.get(input).await?);
        }
        let job = self.job(&input.job_identifier).await?;
        Ok(job_fields!(
            GetModelInvocationJobOutput::builder(),
            &self.scope,
            &job
        )?)
    }

    async fn list_model_invocation_jobs(
        &self,
        input: ListModelInvocationJobsInput,
    ) -> Result<ListModelInvocationJobsOutput, ListError> {
        if let Some(plane) = self.forward_to(None) {
            return Ok(plane.list(input).await?);
        }
        let limit = match input.max_results {
            None => 1000,
            Some(n @ 1..=1000) => usize::try_from(n).unwrap_or(1000),
            Some(n) => {
                return Err(BatchError::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                ))
                .into());
            }
        };
        let cursor =
            match &input.next_token {
                None => None,
                Some(token) => Some(decode_token(token).ok_or_else(|| {
                    BatchError::Validation("The nextToken is not valid.".to_owned())
                })?),
            };
        if let Some(Status::Unknown(s)) = &input.status_equals {
            return Err(
                BatchError::Validation(format!("statusEquals {s} is not a job status")).into(),
            );
        }
        let filter = ListFilter {
            submit_after_ms: input
                .submit_time_after
                .map(|t| t.to_millis().unwrap_or(i64::MIN)),
            submit_before_ms: input
                .submit_time_before
                .map(|t| t.to_millis().unwrap_or(i64::MAX)),
            status: input.status_equals.clone(),
            name_contains: input.name_contains.clone(),
            ascending: matches!(input.sort_order, Some(SortOrder::Ascending)),
        };
        let mut jobs = self
            .ctx
            .jobs
            .list(filter, cursor, limit + 1)
            .await
            .map_err(BatchError::from)?;
        let next = if jobs.len() > limit {
            jobs.truncate(limit);
            jobs.last().map(encode_token)
        } else {
            None
        };
        let summaries = jobs
            .iter()
            .map(|job| self.summary(job))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListModelInvocationJobsOutput::builder()
            .set_next_token(next)
            .invocation_job_summaries(summaries)
            .build())
    }

    async fn stop_model_invocation_job(
        &self,
        input: StopModelInvocationJobInput,
    ) -> Result<StopModelInvocationJobOutput, StopError> {
        if let Some(plane) = self.forward_to(Some(&input.job_identifier)) {
            return Ok(plane.stop(input).await?);
        }
        let job = self.job(&input.job_identifier).await?;
        if job.is_terminal() || job.status == Status::Stopping {
            return Err(BatchError::Validation(format!(
                "The job {} is {} and cannot be stopped.",
                self.scope.arn(&job.id),
                job.status.as_str()
            ))
            .into());
        }
        self.ctx
            .jobs
            .set_status(&job.id, Status::Stopping, None)
            .await
            .map_err(BatchError::from)?;
        if !self.ctx.cancel(&job.id) {
            // No task runs it (it never started here): nothing to wait for.
            self.ctx
                .jobs
                .set_status(&job.id, Status::Stopped, None)
                .await
                .map_err(BatchError::from)?;
        }
        Ok(StopModelInvocationJobOutput::builder().build())
    }

    async fn list_tags_for_resource(
        &self,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ListTagsForResourceError> {
        if let Some(plane) = self.forward_to(Some(&input.resource_arn)) {
            return Ok(plane.list_tags(input).await?);
        }
        let id = self.tagged(&input.resource_arn).await?;
        let tags = self
            .ctx
            .jobs
            .tags(&id)
            .await
            .map_err(BatchError::from)?
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BatchError::Internal(e.to_string()))?;
        Ok(ListTagsForResourceOutput::builder().tags(tags).build())
    }

    async fn tag_resource(
        &self,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, TagResourceError> {
        if let Some(plane) = self.forward_to(Some(&input.resource_arn)) {
            return Ok(plane.tag(input).await?);
        }
        let id = self.tagged(&input.resource_arn).await?;
        let tags: Vec<_> = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
        check_tags(&tags)?;
        if !self
            .ctx
            .jobs
            .tag(&id, tags, MAX_TAGS)
            .await
            .map_err(BatchError::from)?
        {
            return Err(BatchError::TooManyTags(format!(
                "A resource holds at most {MAX_TAGS} tags."
            ))
            .into());
        }
        Ok(TagResourceOutput::builder().build())
    }

    async fn untag_resource(
        &self,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, UntagResourceError> {
        if let Some(plane) = self.forward_to(Some(&input.resource_arn)) {
            return Ok(plane.untag(input).await?);
        }
        let id = self.tagged(&input.resource_arn).await?;
        self.ctx
            .jobs
            .untag(&id, input.tag_keys)
            .await
            .map_err(BatchError::from)?;
        Ok(UntagResourceOutput::builder().build())
    }
}

impl Batches {
    /// The job a tagging call's resource ARN names.
    async fn tagged(&self, arn: &str) -> Result<JobId, BatchError> {
        let not_found = || BatchError::NotFound(format!("The resource {arn} was not found."));
        let id = job_of_resource(&self.scope, arn).ok_or_else(not_found)?;
        self.ctx.jobs.get(&id).await?.ok_or_else(not_found)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::names::BucketName;
    use crate::files::store::ObjectInfo;

    fn file(key: &str, size: u64) -> storage::InputFile {
        let mut info = ObjectInfo::for_tests(key);
        info.size = size;
        storage::InputFile {
            bucket: BucketName::parse("input").unwrap(),
            info,
        }
    }

    #[test]
    fn inputs_over_bedrocks_quotas_are_refused_naming_the_limit() {
        assert!(check_input_size(&[file("a.jsonl", MAX_FILE_BYTES)]).is_ok());
        let err = check_input_size(&[file("a.jsonl", MAX_FILE_BYTES + 1)]).unwrap_err();
        assert!(
            matches!(&err, BatchError::Validation(m) if m.contains("a.jsonl") && m.contains("1 GB"))
        );
        let six = (0..6)
            .map(|i| file(&format!("{i}.jsonl"), MAX_FILE_BYTES))
            .collect::<Vec<_>>();
        let err = check_input_size(&six).unwrap_err();
        assert!(matches!(&err, BatchError::Validation(m) if m.contains("5 GB")));
    }

    #[test]
    fn job_names_follow_bedrocks_pattern() {
        assert!(valid_job_name("bifrost-e2e-1700000000"));
        assert!(valid_job_name("a.b+c"));
        for bad in ["", "-x", "has space", "ünï"] {
            assert!(!valid_job_name(bad), "{bad}");
        }
    }

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_token("not base64!"), None);
        use base64::Engine as _;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1700:abcdefabcdef");
        assert_eq!(
            decode_token(&token),
            Some((1700, "abcdefabcdef".to_owned()))
        );
        let bad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1700:ABC");
        assert_eq!(decode_token(&bad), None);
    }
}
