//! Batch jobs through the real aws-sdk-bedrock and aws-sdk-s3 clients: Stop mid-job,
//! clientRequestToken idempotency, ListModelInvocationJobs pagination and filters (proptest),
//! and a gateway killed (SIGKILL) mid-job that finishes it after a restart with every record in
//! the output exactly once.

mod common;
mod gateway_process;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_bedrock::error::ProvideErrorMetadata as _;
use aws_sdk_bedrock::types::{
    ModelInvocationJobInputDataConfig, ModelInvocationJobOutputDataConfig,
    ModelInvocationJobS3InputDataConfig, ModelInvocationJobS3OutputDataConfig,
    ModelInvocationJobStatus as Status, ModelInvocationType, SortOrder,
};

const BUCKET: &str = "jobs";

fn files(addr: SocketAddr) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(common::files_config(addr).build())
}

/// A mock provider that takes `latency_ms` per record, records `concurrency` at a time.
fn slow_config(latency_ms: u64, concurrency: u64) -> String {
    format!(
        "default_provider = \"mock\"\n\n[batch]\nregion = \"us-west-2\"\naccount_id = \"123456789012\"\n\
         concurrency = {concurrency}\n\n[providers.mock]\ntype = \"mock\"\nlatency_ms = {latency_ms}\n"
    )
}

fn records(n: usize) -> String {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "recordId": format!("r{i:05}"),
                "modelInput": {"messages": [{"role": "user", "content": [{"text": format!("question {i}")}]}]}
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn upload(addr: SocketAddr, key: &str, body: String) {
    files(addr)
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into_bytes().into())
        .send()
        .await
        .expect("upload the input");
}

fn create(
    client: &aws_sdk_bedrock::Client,
    name: &str,
    key: &str,
) -> aws_sdk_bedrock::operation::create_model_invocation_job::builders::CreateModelInvocationJobFluentBuilder
{
    client
        .create_model_invocation_job()
        .job_name(name)
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .role_arn("arn:aws:iam::123456789012:role/batch")
        .model_invocation_type(ModelInvocationType::Converse)
        .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(
            ModelInvocationJobS3InputDataConfig::builder()
                .s3_uri(format!("s3://{BUCKET}/{key}"))
                .build()
                .expect("input config"),
        ))
        .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
            ModelInvocationJobS3OutputDataConfig::builder()
                .s3_uri(format!("s3://{BUCKET}/out/"))
                .build()
                .expect("output config"),
        ))
}

async fn wait_for(
    client: &aws_sdk_bedrock::Client,
    arn: &str,
    done: impl Fn(
        &aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobOutput,
    ) -> bool,
) -> aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobOutput {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = client
            .get_model_invocation_job()
            .job_identifier(arn)
            .send()
            .await
            .expect("get the job");
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job never got there: {job:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminal(
    job: &aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobOutput,
) -> bool {
    matches!(
        job.status(),
        Some(
            Status::Completed
                | Status::PartiallyCompleted
                | Status::Failed
                | Status::Stopped
                | Status::Expired
        )
    )
}

/// The output lines of a job, by record id (each id must appear once).
async fn output(
    addr: SocketAddr,
    arn: &str,
    input_name: &str,
) -> BTreeMap<String, serde_json::Value> {
    let id = arn.rsplit('/').next().expect("job id");
    let body = files(addr)
        .get_object()
        .bucket(BUCKET)
        .key(format!("out/{id}/{input_name}.out"))
        .send()
        .await
        .expect("the output file")
        .body
        .collect()
        .await
        .expect("read the output")
        .into_bytes();
    let mut lines = BTreeMap::new();
    for line in std::str::from_utf8(&body).expect("utf-8").lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let record_id = value["recordId"].as_str().expect("recordId").to_owned();
        assert!(
            lines.insert(record_id.clone(), value).is_none(),
            "{record_id} appears twice"
        );
    }
    lines
}

#[tokio::test]
async fn stop_mid_job_keeps_the_finished_records_and_ends_stopped() {
    let addr = common::serve_toml(&slow_config(100, 2)).await;
    upload(addr, "stop/in.jsonl", records(60)).await;
    let client = common::bedrock(addr);
    let arn = create(&client, "stop-me", "stop/in.jsonl")
        .send()
        .await
        .expect("create")
        .job_arn;
    wait_for(&client, &arn, |j| {
        j.processed_record_count().unwrap_or(0) >= 4
    })
    .await;
    client
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .expect("stop");
    let job = wait_for(&client, &arn, terminal).await;
    assert_eq!(job.status(), Some(&Status::Stopped));
    let processed = job.processed_record_count().expect("processed");
    assert!(
        (4..60).contains(&processed),
        "stopped promptly: {processed} of 60"
    );
    let lines = output(addr, &arn, "in.jsonl").await;
    assert_eq!(lines.len() as i64, processed);
    assert!(lines.values().all(|l| l.get("modelOutput").is_some()));

    // A stopped job cannot be stopped again.
    let err = client
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .expect_err("already stopped");
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn a_client_request_token_names_one_job_and_refuses_a_different_request() {
    let addr = common::serve_toml(&slow_config(0, 4)).await;
    upload(addr, "idem/in.jsonl", records(3)).await;
    let client = common::bedrock(addr);
    let first = create(&client, "idem", "idem/in.jsonl")
        .client_request_token("token-1")
        .send()
        .await
        .expect("create")
        .job_arn;
    let again = create(&client, "idem", "idem/in.jsonl")
        .client_request_token("token-1")
        .send()
        .await
        .expect("the same request again")
        .job_arn;
    assert_eq!(first, again);
    let err = create(&client, "idem-other-name", "idem/in.jsonl")
        .client_request_token("token-1")
        .send()
        .await
        .expect_err("a different request under the same token");
    assert_eq!(err.code(), Some("ConflictException"));
    let listed = client
        .list_model_invocation_jobs()
        .send()
        .await
        .expect("list")
        .invocation_job_summaries
        .unwrap_or_default();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_request_token(), Some("token-1"));
    let job = wait_for(&client, &first, terminal).await;
    assert_eq!(job.status(), Some(&Status::Completed));
    assert_eq!(job.success_record_count(), Some(3));
}

#[tokio::test]
async fn arns_and_bare_ids_name_the_same_job_and_tags_follow_it() {
    let addr = common::serve_toml(&slow_config(0, 4)).await;
    upload(addr, "ids/in.jsonl", records(2)).await;
    let client = common::bedrock(addr);
    let arn = create(&client, "ids", "ids/in.jsonl")
        .tags(
            aws_sdk_bedrock::types::Tag::builder()
                .key("team")
                .value("a")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("create")
        .job_arn;
    let id = arn.rsplit('/').next().expect("id");
    assert!(arn.starts_with("arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/"));
    assert_eq!(id.len(), 12);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    let by_id = client
        .get_model_invocation_job()
        .job_identifier(id)
        .send()
        .await
        .expect("by id");
    assert_eq!(by_id.job_arn(), arn);
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            aws_sdk_bedrock::types::Tag::builder()
                .key("env")
                .value("ci")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .expect("untag");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("tags");
    let tags: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("env", "ci")]);
    let err = client
        .get_model_invocation_job()
        .job_identifier("arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/zzzzzzzzzzzz")
        .send()
        .await
        .expect_err("no such job");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[test]
fn listing_walks_every_job_once_in_order_under_any_page_size_and_filter() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // 23 jobs: every third one's input holds no valid record, so it ends Failed.
    let (addr, jobs) = runtime.block_on(async {
        let addr = common::serve_toml(&slow_config(0, 4)).await;
        upload(addr, "list/in.jsonl", records(1)).await;
        upload(addr, "list/bad.jsonl", "not json".to_owned()).await;
        let client = common::bedrock(addr);
        let mut arns = Vec::new();
        for i in 0..23 {
            let name = format!("{}-{i:02}", ["alpha", "beta", "gamma"][i % 3]);
            let input = if i % 3 == 2 {
                "list/bad.jsonl"
            } else {
                "list/in.jsonl"
            };
            let arn = create(&client, &name, input)
                .send()
                .await
                .expect("create")
                .job_arn;
            arns.push(arn);
        }
        let mut jobs = Vec::new();
        for arn in arns {
            let job = wait_for(&client, &arn, terminal).await;
            jobs.push((
                job.job_name().unwrap_or_default().to_owned(),
                job.status().cloned().expect("status"),
                job.submit_time,
            ));
        }
        (addr, jobs)
    });
    assert_eq!(
        jobs.iter().filter(|j| j.1 == Status::Failed).count(),
        7,
        "{jobs:?}"
    );
    let config = proptest::test_runner::Config {
        cases: 32,
        ..proptest::test_runner::Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (
        1i32..10,
        proptest::bool::ANY,
        proptest::option::of(0usize..4),
        proptest::option::of(0usize..2),
        proptest::option::of(0usize..23),
    );
    runner
        .run(&strategy, |(page, ascending, name, status, after)| {
            let part = name.map(|f| ["alpha", "beta", "gamma", "-1"][f]);
            let status = status.map(|s| [Status::Completed, Status::Failed][s].clone());
            // Strictly after the submit time of one of the jobs.
            let after = after.map(|i| jobs[i].2);
            let walked = runtime.block_on(async {
                let client = common::bedrock(addr);
                let mut seen = Vec::new();
                let mut token = None;
                loop {
                    let answer = client
                        .list_model_invocation_jobs()
                        .max_results(page)
                        .sort_order(if ascending {
                            SortOrder::Ascending
                        } else {
                            SortOrder::Descending
                        })
                        .set_name_contains(part.map(str::to_owned))
                        .set_status_equals(status.clone())
                        .set_submit_time_after(after)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .expect("list");
                    let summaries = answer.invocation_job_summaries.unwrap_or_default();
                    assert!(summaries.len() <= page as usize);
                    seen.extend(summaries.into_iter().map(|s| (s.submit_time, s.job_name)));
                    match answer.next_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
                seen
            });
            let mut expected: Vec<&String> = jobs
                .iter()
                .filter(|(n, st, t)| {
                    part.is_none_or(|p| n.contains(p))
                        && status.as_ref().is_none_or(|s| s == st)
                        && after.is_none_or(|a| t.to_millis().ok() > a.to_millis().ok())
                })
                .map(|(n, _, _)| n)
                .collect();
            let mut got: Vec<&String> = walked.iter().map(|(_, n)| n).collect();
            // Every matching job exactly once…
            got.sort();
            expected.sort();
            proptest::prop_assert_eq!(got, expected);
            // …in submit-time order.
            let times: Vec<_> = walked.iter().map(|(t, _)| *t).collect();
            let mut sorted = times.clone();
            sorted.sort();
            if !ascending {
                sorted.reverse();
            }
            proptest::prop_assert_eq!(times, sorted);
            Ok(())
        })
        .expect("listing holds under every page size and filter");
}

#[tokio::test]
async fn a_job_killed_mid_run_resumes_after_restart_with_every_record_once() {
    let data_dir = common::scratch_dir();
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let config = data_dir.join("quarry.toml");
    std::fs::write(&config, slow_config(25, 4)).expect("config");
    let total = 400;
    let gateway = gateway_process::Gateway::start(&data_dir, Some(&config));
    upload(gateway.addr, "crash/in.jsonl", records(total)).await;
    let client = common::bedrock(gateway.addr);
    let arn = create(&client, "crash", "crash/in.jsonl")
        .send()
        .await
        .expect("create")
        .job_arn;
    let seen = wait_for(&client, &arn, |j| {
        j.processed_record_count().unwrap_or(0) >= 40
    })
    .await;
    assert_eq!(seen.status(), Some(&Status::InProgress));
    gateway.kill();

    let gateway = gateway_process::Gateway::start(&data_dir, Some(&config));
    let client = common::bedrock(gateway.addr);
    let job = wait_for(&client, &arn, terminal).await;
    assert_eq!(
        job.status(),
        Some(&Status::Completed),
        "{:?}",
        job.message()
    );
    assert_eq!(job.total_record_count(), Some(total as i64));
    assert_eq!(job.success_record_count(), Some(total as i64));
    let lines = output(gateway.addr, &arn, "in.jsonl").await;
    let expected: Vec<String> = (0..total).map(|i| format!("r{i:05}")).collect();
    assert_eq!(lines.keys().cloned().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn foundation_models_list_what_the_routes_serve() {
    let addr = common::serve_toml(
        "default_provider = \"mock\"\n[aliases]\nfast = \"mock/echo-small\"\n\n[providers.mock]\ntype = \"mock\"\n",
    )
    .await;
    let client = common::bedrock(addr);
    let models = client
        .list_foundation_models()
        .send()
        .await
        .expect("list")
        .model_summaries
        .unwrap_or_default();
    let ids: Vec<&str> = models.iter().map(|m| m.model_id()).collect();
    assert!(
        ids.contains(&"anthropic.claude-3-haiku-20240307-v1:0"),
        "{ids:?}"
    );
    assert!(ids.contains(&"fast"), "{ids:?}");
    assert!(models.iter().all(|m| m.provider_name() == Some("mock")));
    let by_other = client
        .list_foundation_models()
        .by_provider("openai")
        .send()
        .await
        .expect("list by provider");
    assert!(by_other.model_summaries().is_empty());
    let details = client
        .get_foundation_model()
        .model_identifier(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        )
        .send()
        .await
        .expect("get")
        .model_details
        .expect("details");
    assert_eq!(details.model_id(), "anthropic.claude-3-haiku-20240307-v1:0");
    assert_eq!(details.response_streaming_supported(), Some(true));
    let err = client
        .get_foundation_model()
        .model_identifier("no.such-model")
        .send()
        .await
        .expect_err("unknown model");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

/// Adds `x-model-provider` to every control-plane request, as the seed's before-send hook does.
#[derive(Debug)]
struct Provider(&'static str);

impl aws_sdk_bedrock::config::Intercept for Provider {
    fn name(&self) -> &'static str {
        "Provider"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_bedrock::config::interceptors::BeforeTransmitInterceptorContextMut<
            '_,
        >,
        _: &aws_sdk_bedrock::config::RuntimeComponents,
        _: &mut aws_sdk_bedrock::config::ConfigBag,
    ) -> Result<(), aws_sdk_bedrock::error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-model-provider", self.0);
        Ok(())
    }
}

#[tokio::test]
async fn a_bedrock_provider_forwards_its_jobs_to_bedrock_with_arns_and_statuses_as_sent() {
    use wiremock::matchers::{method, path};
    let upstream = wiremock::MockServer::start().await;
    let arn = "arn:aws:bedrock:us-west-2:111122223333:model-invocation-job/abcdefghijkl";
    wiremock::Mock::given(method("POST"))
        .and(path("/model-invocation-job"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"jobArn": arn})),
        )
        .expect(1)
        .mount(&upstream)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path(format!(
            "/model-invocation-job/{}",
            arn.replace(':', "%3A").replace('/', "%2F")
        )))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "jobArn": arn,
                "jobName": "real",
                "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                "roleArn": "arn:aws:iam::111122223333:role/batch",
                "status": "Scheduled",
                "submitTime": "2026-11-23T09:00:00Z",
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://real-bucket/in.jsonl"}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://real-bucket/out/"}}
            })),
        )
        .expect(1)
        .mount(&upstream)
        .await;
    let toml = format!(
        "default_provider = \"aws\"\n[providers.aws]\ntype = \"bedrock\"\nregion = \"us-west-2\"\n\
         batch_endpoint = \"{}\"\nbatch_role_arn = \"arn:aws:iam::111122223333:role/batch\"\n",
        upstream.uri()
    );
    let config = quarry::config::load(
        quarry::config::Source {
            name: "test.toml",
            text: &toml,
        },
        &quarry::config::Env::new(),
        &common::scratch_flags(),
    )
    .expect("config");
    let gateway = quarry::app::gateway_with_aws_credentials(
        &config,
        aws_sdk_bedrock::config::Credentials::new(
            "AKIDGATEWAY",
            "gateway-secret",
            None,
            None,
            "test",
        ),
    )
    .expect("gateway");
    let addr = common::serve_gateway(gateway).await;
    let client = aws_sdk_bedrock::Client::from_conf(
        common::bedrock(addr)
            .config()
            .to_builder()
            .interceptor(Provider("aws"))
            .build(),
    );
    let created = create(&client, "real", "in.jsonl")
        .role_arn("not-an-arn")
        .send()
        .await
        .expect("forwarded create")
        .job_arn;
    assert_eq!(created, arn);
    let job = client
        .get_model_invocation_job()
        .job_identifier(arn)
        .send()
        .await
        .expect("forwarded get");
    assert_eq!(job.status(), Some(&Status::Scheduled));
    assert_eq!(job.job_arn(), arn);
    // What went upstream: signed by the gateway, the configured role in place of the client's.
    let requests = upstream.received_requests().await.expect("requests");
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).expect("json body");
    assert_eq!(body["roleArn"], "arn:aws:iam::111122223333:role/batch");
    assert_eq!(
        body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"],
        "s3://jobs/in.jsonl"
    );
    let auth = requests[0]
        .headers
        .get("authorization")
        .expect("signed")
        .to_str()
        .expect("ascii");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDGATEWAY/"),
        "{auth}"
    );
    assert!(auth.contains("/us-west-2/bedrock/aws4_request"), "{auth}");
}

#[tokio::test]
async fn jobs_beyond_the_engines_slots_wait_scheduled_then_run() {
    let addr = common::serve_toml(
        "default_provider = \"mock\"\n[batch]\nmax_running_jobs = 1\nconcurrency = 1\n\n\
         [providers.mock]\ntype = \"mock\"\nlatency_ms = 100\n",
    )
    .await;
    upload(addr, "slots/in.jsonl", records(5)).await;
    let client = common::bedrock(addr);
    let first = create(&client, "first", "slots/in.jsonl")
        .send()
        .await
        .expect("create")
        .job_arn;
    wait_for(&client, &first, |j| j.status() == Some(&Status::InProgress)).await;
    let second = create(&client, "second", "slots/in.jsonl")
        .send()
        .await
        .expect("create")
        .job_arn;
    let waiting = wait_for(&client, &second, |j| j.status() != Some(&Status::Submitted)).await;
    assert_eq!(waiting.status(), Some(&Status::Scheduled));
    for arn in [&first, &second] {
        let job = wait_for(&client, arn, terminal).await;
        assert_eq!(job.status(), Some(&Status::Completed));
        assert_eq!(job.success_record_count(), Some(5));
    }
}

#[tokio::test]
async fn a_gateway_key_limited_to_some_models_cannot_batch_others() {
    let addr = common::serve_toml(
        "default_provider = \"mock\"\n[auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"llama-only\"\n\
         access_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"secret\"\nmodels = [\"meta.*\"]\n\n\
         [providers.mock]\ntype = \"mock\"\n",
    )
    .await;
    upload(addr, "keys/in.jsonl", records(1)).await;
    let client = common::bedrock(addr);
    let err = create(&client, "not-allowed", "keys/in.jsonl")
        .send()
        .await
        .expect_err("an anthropic model with a meta-only key");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err.message().unwrap_or_default().contains("llama-only"));
    let listed = client
        .list_model_invocation_jobs()
        .send()
        .await
        .expect("list");
    assert!(
        listed.invocation_job_summaries().is_empty(),
        "nothing was created"
    );
    let allowed = create(&client, "allowed", "keys/in.jsonl")
        .model_id("meta.llama3-8b-instruct-v1:0")
        .send()
        .await
        .expect("a meta model");
    let job = wait_for(&client, &allowed.job_arn, terminal).await;
    assert_eq!(job.status(), Some(&Status::Completed));
}
