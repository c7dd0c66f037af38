//! The real aws-sdk-bedrock (control plane) client against a server built from the generated stubs.
//!
//! Every operation round-trips with handler-side assertions on what arrived (body members, path
//! labels percent-decoded, query parameters including timestamps and enums), the SDK parses what
//! the handler answered (timestamps exactly, enums, nested unions), and modeled errors reach the
//! SDK typed with their status and message.

mod common;

/// An SDK error predicate such as `is_throttling_exception`.
type IsError<E> = fn(&E) -> bool;

use std::sync::{Arc, Mutex};

use aws_sdk_bedrock::error::ProvideErrorMetadata as _;
use aws_sdk_bedrock::types as sdk;
use aws_smithy_types::DateTime;
use quarry_bedrock::operation::create_model_invocation_job::{
    CreateModelInvocationJobError, CreateModelInvocationJobInput, CreateModelInvocationJobOutput,
};
use quarry_bedrock::operation::get_foundation_model::{
    GetFoundationModelError, GetFoundationModelInput, GetFoundationModelOutput,
};
use quarry_bedrock::operation::get_inference_profile::{
    GetInferenceProfileError, GetInferenceProfileInput, GetInferenceProfileOutput,
};
use quarry_bedrock::operation::get_model_invocation_job::{
    GetModelInvocationJobError, GetModelInvocationJobInput, GetModelInvocationJobOutput,
};
use quarry_bedrock::operation::list_foundation_models::{
    ListFoundationModelsError, ListFoundationModelsInput, ListFoundationModelsOutput,
};
use quarry_bedrock::operation::list_inference_profiles::{
    ListInferenceProfilesError, ListInferenceProfilesInput, ListInferenceProfilesOutput,
};
use quarry_bedrock::operation::list_model_invocation_jobs::{
    ListModelInvocationJobsError, ListModelInvocationJobsInput, ListModelInvocationJobsOutput,
};
use quarry_bedrock::operation::list_tags_for_resource::{
    ListTagsForResourceError, ListTagsForResourceInput, ListTagsForResourceOutput,
};
use quarry_bedrock::operation::stop_model_invocation_job::{
    StopModelInvocationJobError, StopModelInvocationJobInput, StopModelInvocationJobOutput,
};
use quarry_bedrock::operation::tag_resource::{
    TagResourceError, TagResourceInput, TagResourceOutput,
};
use quarry_bedrock::operation::untag_resource::{
    UntagResourceError, UntagResourceInput, UntagResourceOutput,
};
use quarry_bedrock::types as gen_types;
use quarry_bedrock::types::error as gen_err;
use quarry_bedrock::{Bedrock, router};

// ---------------------------------------------------------------------------------------------
// The recording mock. Job identifiers ending in one of the `ERROR_JOBS` markers answer that
// error; everything else succeeds with fixed data.
// ---------------------------------------------------------------------------------------------

const JOB_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcd1234efgh";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/BedrockBatchRole";
const SONNET: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const SONNET_ARN: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0";
const PROFILE_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
const PROFILE_ID: &str = "us.anthropic.claude-3-haiku-20240307-v1:0";

/// Job ids (12 lowercase alphanumerics, as the model requires) that make the mock fail.
const ERROR_JOBS: [(&str, &str); 4] = [
    ("accessdenied", "AccessDeniedException"),
    ("notfound0000", "ResourceNotFoundException"),
    ("throttled000", "ThrottlingException"),
    ("invalid00000", "ValidationException"),
];

fn submit_time() -> DateTime {
    DateTime::from_secs_and_nanos(1_718_000_000, 123_000_000)
}
fn last_modified_time() -> DateTime {
    DateTime::from_secs(1_718_003_600)
}
fn end_time() -> DateTime {
    DateTime::from_secs_and_nanos(1_718_007_200, 999_000_000)
}

fn message_for(name: &str) -> String {
    format!("{name} raised by the mock for \"job\"")
}

fn modeled_error<E>(name: &str) -> E
where
    E: From<gen_err::AccessDeniedException>
        + From<gen_err::ResourceNotFoundException>
        + From<gen_err::ThrottlingException>
        + From<gen_err::ValidationException>,
{
    let m = message_for(name);
    match name {
        "AccessDeniedException" => gen_err::AccessDeniedException::with_message(m).into(),
        "ResourceNotFoundException" => gen_err::ResourceNotFoundException::with_message(m).into(),
        "ThrottlingException" => gen_err::ThrottlingException::with_message(m).into(),
        "ValidationException" => gen_err::ValidationException::with_message(m).into(),
        other => panic!("no error {other}"),
    }
}

fn error_for_job(identifier: &str) -> Option<&'static str> {
    ERROR_JOBS
        .iter()
        .find(|(marker, _)| identifier.ends_with(marker))
        .map(|(_, name)| *name)
}

#[derive(Default)]
struct Seen {
    create: Vec<CreateModelInvocationJobInput>,
    get_job: Vec<String>,
    list_jobs: Vec<ListModelInvocationJobsInput>,
    stop: Vec<String>,
    list_models: Vec<ListFoundationModelsInput>,
    get_model: Vec<String>,
    list_profiles: Vec<ListInferenceProfilesInput>,
    get_profile: Vec<String>,
    tag: Vec<TagResourceInput>,
    untag: Vec<UntagResourceInput>,
    list_tags: Vec<String>,
}

#[derive(Default)]
struct Mock {
    seen: Mutex<Seen>,
}

impl Mock {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

async fn start() -> (Arc<Mock>, aws_sdk_bedrock::Client) {
    let mock = Arc::new(Mock::default());
    let app = router(mock.clone(), Default::default()).expect("router builds");
    let addr = common::serve(app).await;
    (mock, common::bedrock_no_retries(addr))
}

fn gen_input_config() -> gen_types::ModelInvocationJobInputDataConfig {
    gen_types::ModelInvocationJobInputDataConfig::S3InputDataConfig(
        gen_types::ModelInvocationJobS3InputDataConfig {
            s3_input_format: Some(gen_types::S3InputFormat::Jsonl),
            s3_uri: "s3://batch-input/prompts/records.jsonl".into(),
            s3_bucket_owner: Some("123456789012".into()),
        },
    )
}

fn gen_output_config() -> gen_types::ModelInvocationJobOutputDataConfig {
    gen_types::ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
        gen_types::ModelInvocationJobS3OutputDataConfig {
            s3_uri: "s3://batch-output/results/".into(),
            s3_encryption_key_id: Some(
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .into(),
            ),
            s3_bucket_owner: None,
        },
    )
}

fn sdk_input_config() -> sdk::ModelInvocationJobInputDataConfig {
    sdk::ModelInvocationJobInputDataConfig::S3InputDataConfig(
        sdk::ModelInvocationJobS3InputDataConfig::builder()
            .s3_input_format(sdk::S3InputFormat::Jsonl)
            .s3_uri("s3://batch-input/prompts/records.jsonl")
            .s3_bucket_owner("123456789012")
            .build()
            .unwrap(),
    )
}

fn sdk_output_config() -> sdk::ModelInvocationJobOutputDataConfig {
    sdk::ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
        sdk::ModelInvocationJobS3OutputDataConfig::builder()
            .s3_uri("s3://batch-output/results/")
            .s3_encryption_key_id(
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )
            .build()
            .unwrap(),
    )
}

fn gen_summary() -> gen_types::ModelInvocationJobSummary {
    gen_types::ModelInvocationJobSummary {
        job_arn: JOB_ARN.into(),
        job_name: "nightly-batch".into(),
        model_id: SONNET.into(),
        client_request_token: Some("token-1".into()),
        role_arn: ROLE_ARN.into(),
        status: Some(gen_types::ModelInvocationJobStatus::InProgress),
        message: None,
        submit_time: submit_time(),
        last_modified_time: Some(last_modified_time()),
        end_time: None,
        input_data_config: gen_input_config(),
        output_data_config: gen_output_config(),
        vpc_config: None,
        timeout_duration_in_hours: Some(72),
        job_expiration_time: None,
        model_invocation_type: Some(gen_types::ModelInvocationType::Converse),
        total_record_count: Some(1000),
        processed_record_count: Some(250),
        success_record_count: Some(249),
        error_record_count: Some(1),
    }
}

fn gen_profile_model() -> gen_types::InferenceProfileModel {
    gen_types::InferenceProfileModel {
        model_arn: Some(
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
                .into(),
        ),
    }
}

fn gen_foundation_model_summary() -> gen_types::FoundationModelSummary {
    gen_types::FoundationModelSummary {
        model_arn: SONNET_ARN.into(),
        model_id: SONNET.into(),
        model_name: Some("Claude 3.5 Sonnet".into()),
        provider_name: Some("Anthropic".into()),
        input_modalities: Some(vec![
            gen_types::ModelModality::Text,
            gen_types::ModelModality::Image,
        ]),
        output_modalities: Some(vec![gen_types::ModelModality::Text]),
        response_streaming_supported: Some(true),
        customizations_supported: Some(vec![]),
        inference_types_supported: Some(vec![
            gen_types::InferenceType::OnDemand,
            gen_types::InferenceType::Provisioned,
        ]),
        model_lifecycle: Some(gen_types::FoundationModelLifecycle {
            status: gen_types::FoundationModelLifecycleStatus::Legacy,
            start_of_life_time: None,
            end_of_life_time: None,
            legacy_time: None,
            public_extended_access_time: None,
        }),
    }
}

impl Bedrock for Mock {
    async fn create_model_invocation_job(
        &self,
        input: CreateModelInvocationJobInput,
    ) -> Result<CreateModelInvocationJobOutput, CreateModelInvocationJobError> {
        self.seen().create.push(input);
        Ok(CreateModelInvocationJobOutput {
            job_arn: JOB_ARN.into(),
        })
    }

    async fn get_model_invocation_job(
        &self,
        input: GetModelInvocationJobInput,
    ) -> Result<GetModelInvocationJobOutput, GetModelInvocationJobError> {
        let id = input.job_identifier;
        self.seen().get_job.push(id.clone());
        if let Some(name) = error_for_job(&id) {
            return Err(modeled_error(name));
        }
        Ok(GetModelInvocationJobOutput {
            job_arn: JOB_ARN.into(),
            job_name: Some("nightly-batch".into()),
            model_id: SONNET.into(),
            client_request_token: Some("token-1".into()),
            role_arn: ROLE_ARN.into(),
            status: Some(gen_types::ModelInvocationJobStatus::PartiallyCompleted),
            message: Some("3 records failed".into()),
            submit_time: submit_time(),
            last_modified_time: Some(last_modified_time()),
            end_time: Some(end_time()),
            input_data_config: gen_input_config(),
            output_data_config: gen_output_config(),
            vpc_config: None,
            timeout_duration_in_hours: Some(24),
            job_expiration_time: Some(DateTime::from_secs(1_718_086_400)),
            model_invocation_type: Some(gen_types::ModelInvocationType::InvokeModel),
            total_record_count: Some(10_000_000_000),
            processed_record_count: Some(10_000_000_000),
            success_record_count: Some(9_999_999_997),
            error_record_count: Some(3),
        })
    }

    async fn list_model_invocation_jobs(
        &self,
        input: ListModelInvocationJobsInput,
    ) -> Result<ListModelInvocationJobsOutput, ListModelInvocationJobsError> {
        self.seen().list_jobs.push(input);
        Ok(ListModelInvocationJobsOutput {
            next_token: Some("page-2/with+odd=chars".into()),
            invocation_job_summaries: Some(vec![gen_summary()]),
        })
    }

    async fn stop_model_invocation_job(
        &self,
        input: StopModelInvocationJobInput,
    ) -> Result<StopModelInvocationJobOutput, StopModelInvocationJobError> {
        let id = input.job_identifier;
        self.seen().stop.push(id.clone());
        if id.ends_with("conflict0000") {
            return Err(gen_err::ConflictException::with_message("job already stopped").into());
        }
        Ok(StopModelInvocationJobOutput {})
    }

    async fn list_foundation_models(
        &self,
        input: ListFoundationModelsInput,
    ) -> Result<ListFoundationModelsOutput, ListFoundationModelsError> {
        self.seen().list_models.push(input);
        Ok(ListFoundationModelsOutput {
            model_summaries: Some(vec![gen_foundation_model_summary()]),
        })
    }

    async fn get_foundation_model(
        &self,
        input: GetFoundationModelInput,
    ) -> Result<GetFoundationModelOutput, GetFoundationModelError> {
        self.seen().get_model.push(input.model_identifier);
        let s = gen_foundation_model_summary();
        Ok(GetFoundationModelOutput {
            model_details: Some(gen_types::FoundationModelDetails {
                model_arn: s.model_arn,
                model_id: s.model_id,
                model_name: s.model_name,
                provider_name: s.provider_name,
                input_modalities: s.input_modalities,
                output_modalities: s.output_modalities,
                response_streaming_supported: s.response_streaming_supported,
                customizations_supported: Some(vec![gen_types::ModelCustomization::FineTuning]),
                inference_types_supported: s.inference_types_supported,
                model_lifecycle: s.model_lifecycle,
            }),
        })
    }

    async fn list_inference_profiles(
        &self,
        input: ListInferenceProfilesInput,
    ) -> Result<ListInferenceProfilesOutput, ListInferenceProfilesError> {
        self.seen().list_profiles.push(input);
        Ok(ListInferenceProfilesOutput {
            inference_profile_summaries: Some(vec![gen_types::InferenceProfileSummary {
                inference_profile_name: "US Anthropic Claude 3 Haiku".into(),
                description: Some("Routes requests to Claude 3 Haiku in US regions".into()),
                created_at: Some(submit_time()),
                updated_at: Some(end_time()),
                inference_profile_arn: PROFILE_ARN.into(),
                models: vec![gen_profile_model()],
                inference_profile_id: PROFILE_ID.into(),
                status: gen_types::InferenceProfileStatus::Active,
                r#type: gen_types::InferenceProfileType::SystemDefined,
            }]),
            next_token: None,
        })
    }

    async fn get_inference_profile(
        &self,
        input: GetInferenceProfileInput,
    ) -> Result<GetInferenceProfileOutput, GetInferenceProfileError> {
        self.seen()
            .get_profile
            .push(input.inference_profile_identifier);
        Ok(GetInferenceProfileOutput {
            inference_profile_name: "my-app-profile".into(),
            description: None,
            created_at: Some(submit_time()),
            updated_at: None,
            inference_profile_arn: PROFILE_ARN.into(),
            models: vec![
                gen_profile_model(),
                gen_types::InferenceProfileModel { model_arn: None },
            ],
            inference_profile_id: PROFILE_ID.into(),
            status: gen_types::InferenceProfileStatus::Active,
            r#type: gen_types::InferenceProfileType::Application,
        })
    }

    async fn tag_resource(
        &self,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, TagResourceError> {
        let too_many = input.tags.len() > 3;
        self.seen().tag.push(input);
        if too_many {
            return Err(gen_err::TooManyTagsException::builder()
                .message("at most 3 tags in this test")
                .resource_name(JOB_ARN)
                .build()
                .into());
        }
        Ok(TagResourceOutput {})
    }

    async fn untag_resource(
        &self,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, UntagResourceError> {
        self.seen().untag.push(input);
        Ok(UntagResourceOutput {})
    }

    async fn list_tags_for_resource(
        &self,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ListTagsForResourceError> {
        self.seen().list_tags.push(input.resource_arn);
        Ok(ListTagsForResourceOutput {
            tags: Some(vec![
                gen_types::Tag {
                    key: "team".into(),
                    value: "ml-platform".into(),
                },
                gen_types::Tag {
                    key: "cost:center".into(),
                    value: "a/b=c+d@e 1.0".into(),
                },
            ]),
        })
    }
}

fn sdk_tag(key: &str, value: &str) -> sdk::Tag {
    sdk::Tag::builder().key(key).value(value).build().unwrap()
}

fn gen_tag(key: &str, value: &str) -> gen_types::Tag {
    gen_types::Tag {
        key: key.into(),
        value: value.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Model invocation jobs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_model_invocation_job_round_trips() {
    let (mock, client) = start().await;
    let out = client
        .create_model_invocation_job()
        .job_name("nightly-batch")
        .role_arn(ROLE_ARN)
        .client_request_token("token-1")
        .model_id(SONNET)
        .input_data_config(sdk_input_config())
        .output_data_config(sdk_output_config())
        .timeout_duration_in_hours(72)
        .tags(sdk_tag("team", "ml-platform"))
        .tags(sdk_tag("env", ""))
        .model_invocation_type(sdk::ModelInvocationType::Converse)
        .send()
        .await
        .expect("create succeeds");
    assert_eq!(out.job_arn(), JOB_ARN);

    let seen = mock.seen();
    assert_eq!(seen.create.len(), 1);
    let input = &seen.create[0];
    assert_eq!(input.job_name, "nightly-batch");
    assert_eq!(input.role_arn, ROLE_ARN);
    assert_eq!(input.client_request_token.as_deref(), Some("token-1"));
    assert_eq!(input.model_id, SONNET);
    assert_eq!(input.input_data_config, gen_input_config());
    assert_eq!(input.output_data_config, gen_output_config());
    assert_eq!(input.vpc_config, None);
    assert_eq!(input.timeout_duration_in_hours, Some(72));
    assert_eq!(
        input.tags,
        Some(vec![gen_tag("team", "ml-platform"), gen_tag("env", "")])
    );
    assert_eq!(
        input.model_invocation_type,
        Some(gen_types::ModelInvocationType::Converse)
    );
}

#[tokio::test]
async fn create_model_invocation_job_fills_the_idempotency_token() {
    let (mock, client) = start().await;
    client
        .create_model_invocation_job()
        .job_name("nightly-batch")
        .role_arn(ROLE_ARN)
        .model_id(SONNET)
        .input_data_config(sdk_input_config())
        .output_data_config(sdk_output_config())
        .send()
        .await
        .expect("create succeeds");
    let seen = mock.seen();
    let token = seen.create[0].client_request_token.as_deref();
    assert!(
        token.is_some_and(|t| !t.is_empty()),
        "the SDK generates a token and it must arrive: {token:?}"
    );
    assert_eq!(seen.create[0].tags, None);
    assert_eq!(seen.create[0].timeout_duration_in_hours, None);
}

#[tokio::test]
async fn get_model_invocation_job_round_trips() {
    let (mock, client) = start().await;
    let out = client
        .get_model_invocation_job()
        .job_identifier(JOB_ARN)
        .send()
        .await
        .expect("get succeeds");
    assert_eq!(
        mock.seen().get_job,
        [JOB_ARN],
        "the ARN label arrives decoded"
    );

    assert_eq!(out.job_arn(), JOB_ARN);
    assert_eq!(out.job_name(), Some("nightly-batch"));
    assert_eq!(out.model_id(), SONNET);
    assert_eq!(out.client_request_token(), Some("token-1"));
    assert_eq!(out.role_arn(), ROLE_ARN);
    assert_eq!(
        out.status(),
        Some(&sdk::ModelInvocationJobStatus::PartiallyCompleted)
    );
    assert_eq!(out.message(), Some("3 records failed"));
    assert_eq!(out.submit_time(), &submit_time());
    assert_eq!(out.last_modified_time(), Some(&last_modified_time()));
    assert_eq!(out.end_time(), Some(&end_time()));
    assert_eq!(
        out.job_expiration_time(),
        Some(&DateTime::from_secs(1_718_086_400))
    );
    assert_eq!(out.input_data_config(), Some(&sdk_input_config()));
    assert_eq!(out.output_data_config(), Some(&sdk_output_config()));
    assert_eq!(out.timeout_duration_in_hours(), Some(24));
    assert_eq!(
        out.model_invocation_type(),
        Some(&sdk::ModelInvocationType::InvokeModel)
    );
    assert_eq!(out.total_record_count(), Some(10_000_000_000));
    assert_eq!(out.success_record_count(), Some(9_999_999_997));
    assert_eq!(out.error_record_count(), Some(3));
}

#[tokio::test]
async fn get_model_invocation_job_by_bare_id() {
    let (mock, client) = start().await;
    client
        .get_model_invocation_job()
        .job_identifier("abcd1234efgh")
        .send()
        .await
        .expect("get succeeds");
    assert_eq!(mock.seen().get_job, ["abcd1234efgh"]);
}

#[tokio::test]
async fn list_model_invocation_jobs_query_parameters_arrive() {
    let (mock, client) = start().await;
    let after = DateTime::from_secs_and_nanos(1_717_000_000, 250_000_000);
    let before = DateTime::from_secs(1_719_000_000);
    let out = client
        .list_model_invocation_jobs()
        .max_results(25)
        .next_token("page-1/with+odd=chars")
        .status_equals(sdk::ModelInvocationJobStatus::InProgress)
        .name_contains("nightly")
        .submit_time_after(after)
        .submit_time_before(before)
        .sort_by(sdk::SortJobsBy::CreationTime)
        .sort_order(sdk::SortOrder::Descending)
        .send()
        .await
        .expect("list succeeds");

    let seen = mock.seen();
    let input = &seen.list_jobs[0];
    assert_eq!(input.max_results, Some(25));
    assert_eq!(input.next_token.as_deref(), Some("page-1/with+odd=chars"));
    assert_eq!(
        input.status_equals,
        Some(gen_types::ModelInvocationJobStatus::InProgress)
    );
    assert_eq!(input.name_contains.as_deref(), Some("nightly"));
    assert_eq!(input.submit_time_after, Some(after));
    assert_eq!(input.submit_time_before, Some(before));
    assert_eq!(input.sort_by, Some(gen_types::SortJobsBy::CreationTime));
    assert_eq!(input.sort_order, Some(gen_types::SortOrder::Descending));
    drop(seen);

    assert_eq!(out.next_token(), Some("page-2/with+odd=chars"));
    let jobs = out.invocation_job_summaries();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.job_arn(), JOB_ARN);
    assert_eq!(job.job_name(), "nightly-batch");
    assert_eq!(
        job.status(),
        Some(&sdk::ModelInvocationJobStatus::InProgress)
    );
    assert_eq!(job.submit_time(), &submit_time());
    assert_eq!(job.last_modified_time(), Some(&last_modified_time()));
    assert_eq!(job.end_time(), None);
    assert_eq!(job.input_data_config(), Some(&sdk_input_config()));
    assert_eq!(job.output_data_config(), Some(&sdk_output_config()));
    assert_eq!(job.timeout_duration_in_hours(), Some(72));
    assert_eq!(
        job.model_invocation_type(),
        Some(&sdk::ModelInvocationType::Converse)
    );
    assert_eq!(job.processed_record_count(), Some(250));
}

#[tokio::test]
async fn list_model_invocation_jobs_without_parameters() {
    let (mock, client) = start().await;
    client
        .list_model_invocation_jobs()
        .send()
        .await
        .expect("list succeeds");
    let seen = mock.seen();
    let input = &seen.list_jobs[0];
    assert_eq!(
        (
            input.max_results,
            input.next_token.as_deref(),
            input.status_equals.as_ref(),
            input.submit_time_after,
            input.sort_order.as_ref()
        ),
        (None, None, None, None, None)
    );
}

#[tokio::test]
async fn stop_model_invocation_job_round_trips() {
    let (mock, client) = start().await;
    client
        .stop_model_invocation_job()
        .job_identifier(JOB_ARN)
        .send()
        .await
        .expect("stop succeeds");
    assert_eq!(mock.seen().stop, [JOB_ARN]);

    let err = client
        .stop_model_invocation_job()
        .job_identifier("conflict0000")
        .send()
        .await
        .expect_err("conflict");
    // The Bedrock model gives ConflictException `@httpError(400)`, not 409.
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    let err = err.into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert_eq!(err.message(), Some("job already stopped"));
}

// ---------------------------------------------------------------------------------------------
// Foundation models
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_foundation_models_filters_arrive() {
    let (mock, client) = start().await;
    let out = client
        .list_foundation_models()
        .by_provider("Anthropic")
        .by_customization_type(sdk::ModelCustomization::FineTuning)
        .by_output_modality(sdk::ModelModality::Text)
        .by_inference_type(sdk::InferenceType::OnDemand)
        .send()
        .await
        .expect("list succeeds");

    let seen = mock.seen();
    let input = &seen.list_models[0];
    assert_eq!(input.by_provider.as_deref(), Some("Anthropic"));
    assert_eq!(
        input.by_customization_type,
        Some(gen_types::ModelCustomization::FineTuning)
    );
    assert_eq!(
        input.by_output_modality,
        Some(gen_types::ModelModality::Text)
    );
    assert_eq!(
        input.by_inference_type,
        Some(gen_types::InferenceType::OnDemand)
    );
    drop(seen);

    let models = out.model_summaries();
    assert_eq!(models.len(), 1);
    let m = &models[0];
    assert_eq!(m.model_arn(), SONNET_ARN);
    assert_eq!(m.model_id(), SONNET);
    assert_eq!(m.model_name(), Some("Claude 3.5 Sonnet"));
    assert_eq!(m.provider_name(), Some("Anthropic"));
    assert_eq!(
        m.input_modalities(),
        [sdk::ModelModality::Text, sdk::ModelModality::Image]
    );
    assert_eq!(m.output_modalities(), [sdk::ModelModality::Text]);
    assert_eq!(m.response_streaming_supported(), Some(true));
    assert_eq!(m.customizations_supported(), []);
    assert!(
        m.customizations_supported.is_some(),
        "an empty list stays a list"
    );
    assert_eq!(
        m.inference_types_supported(),
        [
            sdk::InferenceType::OnDemand,
            sdk::InferenceType::Provisioned
        ]
    );
    assert_eq!(
        m.model_lifecycle().map(|l| l.status()),
        Some(&sdk::FoundationModelLifecycleStatus::Legacy)
    );
}

#[tokio::test]
async fn get_foundation_model_round_trips() {
    let (mock, client) = start().await;
    for identifier in [SONNET, SONNET_ARN] {
        let out = client
            .get_foundation_model()
            .model_identifier(identifier)
            .send()
            .await
            .expect("get succeeds");
        let details = out.model_details().unwrap();
        assert_eq!(details.model_id(), SONNET);
        assert_eq!(details.model_arn(), SONNET_ARN);
        assert_eq!(
            details.customizations_supported(),
            [sdk::ModelCustomization::FineTuning]
        );
        assert_eq!(details.input_modalities().len(), 2);
    }
    assert_eq!(mock.seen().get_model, [SONNET, SONNET_ARN]);
}

// ---------------------------------------------------------------------------------------------
// Inference profiles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_inference_profiles_round_trips() {
    let (mock, client) = start().await;
    let out = client
        .list_inference_profiles()
        .max_results(10)
        .next_token("abc==")
        .type_equals(sdk::InferenceProfileType::SystemDefined)
        .send()
        .await
        .expect("list succeeds");

    let seen = mock.seen();
    let input = &seen.list_profiles[0];
    assert_eq!(input.max_results, Some(10));
    assert_eq!(input.next_token.as_deref(), Some("abc=="));
    assert_eq!(
        input.type_equals,
        Some(gen_types::InferenceProfileType::SystemDefined)
    );
    drop(seen);

    assert_eq!(out.next_token(), None);
    let profiles = out.inference_profile_summaries();
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!(p.inference_profile_name(), "US Anthropic Claude 3 Haiku");
    assert_eq!(
        p.description(),
        Some("Routes requests to Claude 3 Haiku in US regions")
    );
    assert_eq!(p.created_at(), Some(&submit_time()));
    assert_eq!(p.updated_at(), Some(&end_time()));
    assert_eq!(p.inference_profile_arn(), PROFILE_ARN);
    assert_eq!(p.inference_profile_id(), PROFILE_ID);
    assert_eq!(p.status(), &sdk::InferenceProfileStatus::Active);
    assert_eq!(p.r#type(), &sdk::InferenceProfileType::SystemDefined);
    assert_eq!(
        p.models()[0].model_arn(),
        Some("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0")
    );
}

#[tokio::test]
async fn get_inference_profile_round_trips() {
    let (mock, client) = start().await;
    for identifier in [PROFILE_ARN, PROFILE_ID] {
        let out = client
            .get_inference_profile()
            .inference_profile_identifier(identifier)
            .send()
            .await
            .expect("get succeeds");
        assert_eq!(out.inference_profile_name(), "my-app-profile");
        assert_eq!(out.description(), None);
        assert_eq!(out.created_at(), Some(&submit_time()));
        assert_eq!(out.updated_at(), None);
        assert_eq!(out.r#type(), &sdk::InferenceProfileType::Application);
        assert_eq!(out.models().len(), 2);
        assert_eq!(out.models()[1].model_arn(), None);
    }
    assert_eq!(mock.seen().get_profile, [PROFILE_ARN, PROFILE_ID]);
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tag_untag_and_list_tags_round_trip() {
    let (mock, client) = start().await;
    client
        .tag_resource()
        .resource_arn(JOB_ARN)
        .tags(sdk_tag("team", "ml-platform"))
        .tags(sdk_tag("cost:center", "a/b=c+d@e 1.0"))
        .send()
        .await
        .expect("tag succeeds");
    client
        .untag_resource()
        .resource_arn(JOB_ARN)
        .tag_keys("team")
        .tag_keys("cost:center")
        .send()
        .await
        .expect("untag succeeds");
    let out = client
        .list_tags_for_resource()
        .resource_arn(PROFILE_ARN)
        .send()
        .await
        .expect("list tags succeeds");

    let seen = mock.seen();
    assert_eq!(seen.tag[0].resource_arn, JOB_ARN);
    assert_eq!(
        seen.tag[0].tags,
        [
            gen_tag("team", "ml-platform"),
            gen_tag("cost:center", "a/b=c+d@e 1.0")
        ]
    );
    assert_eq!(seen.untag[0].resource_arn, JOB_ARN);
    assert_eq!(seen.untag[0].tag_keys, ["team", "cost:center"]);
    assert_eq!(seen.list_tags, [PROFILE_ARN]);
    drop(seen);

    assert_eq!(
        out.tags(),
        [
            sdk_tag("team", "ml-platform"),
            sdk_tag("cost:center", "a/b=c+d@e 1.0")
        ]
    );
}

#[tokio::test]
async fn too_many_tags_is_typed() {
    let (_, client) = start().await;
    let mut request = client.tag_resource().resource_arn(JOB_ARN);
    for i in 0..4 {
        request = request.tags(sdk_tag(&format!("k{i}"), "v"));
    }
    let err = request.send().await.expect_err("too many tags");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    let err = err.into_service_error();
    assert!(err.is_too_many_tags_exception(), "{err:?}");
    assert_eq!(err.message(), Some("at most 3 tags in this test"));
    let aws_sdk_bedrock::operation::tag_resource::TagResourceError::TooManyTagsException(e) = &err
    else {
        unreachable!()
    };
    assert_eq!(e.resource_name(), Some(JOB_ARN));
}

// ---------------------------------------------------------------------------------------------
// Modeled errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn modeled_errors_reach_the_sdk_typed() {
    use aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobError as E;
    let (mock, client) = start().await;
    let cases: [(&str, u16, IsError<E>); 4] = [
        ("accessdenied", 403, E::is_access_denied_exception),
        ("notfound0000", 404, E::is_resource_not_found_exception),
        ("throttled000", 429, E::is_throttling_exception),
        ("invalid00000", 400, E::is_validation_exception),
    ];
    for (job, status, is_it) in cases {
        let name = error_for_job(job).unwrap();
        let err = client
            .get_model_invocation_job()
            .job_identifier(job)
            .send()
            .await
            .expect_err(name);
        assert_eq!(
            err.raw_response().map(|r| r.status().as_u16()),
            Some(status),
            "{name}"
        );
        let err = err.into_service_error();
        assert!(is_it(&err), "{name}: {err:?}");
        assert_eq!(err.code(), Some(name));
        assert_eq!(err.message(), Some(message_for(name).as_str()));
    }
    assert_eq!(mock.seen().get_job.len(), 4, "no retries, one call each");
}
