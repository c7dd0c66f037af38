"""The files-and-batch seed's end-to-end batch workflows, one per provider.

Bedrock format on the local engine with the mock provider (the mock leg), OpenAI and Gemini in their
own formats against the fake upstreams' batch APIs, and Bedrock-format records sent to Anthropic's
Message Batches API. The seed's code runs as written, with the gateway under test's address in
place of `http://localhost:8080` — and `roleArn` added to the Bedrock create call, which the seed
omits although botocore requires it (boto3 refuses the call before sending anything, see
`test_seed_bedrock_create_without_role_arn_is_refused_by_boto3`).
"""

import json
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ParamValidationError

from conftest import _url

TERMINAL = ["Completed", "Failed", "Stopped"]


def clients(url, provider):
    """The seed's two clients, `x-model-provider` added on before-send."""

    def add_provider_header(request, **kwargs):
        request.headers["x-model-provider"] = provider

    s3_client = boto3.client(
        "s3",
        region_name="us-west-2",
        endpoint_url=f"{url}/bedrock/files",
        aws_access_key_id="dummy-key",
        aws_secret_access_key="dummy-secret",
    )
    s3_client.meta.events.register("before-send", add_provider_header)
    bedrock_client = boto3.client(
        "bedrock",
        region_name="us-west-2",
        endpoint_url=f"{url}/bedrock",
        aws_access_key_id="dummy-key",
        aws_secret_access_key="dummy-secret",
    )
    bedrock_client.meta.events.register("before-send", add_provider_header)
    return s3_client, bedrock_client


def poll(bedrock_client, job_arn):
    """The seed's Step 4, as written (20 polls, 10 s apart, until a terminal state)."""
    status_response = None
    for i in range(20):
        status_response = bedrock_client.get_model_invocation_job(jobIdentifier=job_arn)
        status = status_response["status"]
        print(f" Poll {i+1}: status = {status}")
        if status in TERMINAL:
            break
        time.sleep(10)
    return status_response


def output_lines(s3_client, bucket, key):
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def job_id(job_arn):
    return job_arn.rsplit("/", 1)[1]


def fake_batches(fake_url):
    with urllib.request.urlopen(f"{fake_url}/_batches") as answer:
        return json.load(answer)


def test_seed_bedrock_create_without_role_arn_is_refused_by_boto3(base_url):
    _, bedrock_client = clients(base_url, "bedrock")
    with pytest.raises(ParamValidationError, match="roleArn"):
        bedrock_client.create_model_invocation_job(
            jobName="no-role",
            modelId="anthropic.claude-3-sonnet-20240229-v1:0",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://b/k.jsonl", "s3InputFormat": "JSONL"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://b/out/"}},
        )


def test_seed_bedrock_end_to_end_on_the_local_engine(base_url):
    region = "us-west-2"
    s3_bucket = "your-s3-bucket"
    model_id = "anthropic.claude-3-sonnet-20240229-v1:0"
    s3_client, bedrock_client = clients(base_url, "bedrock")

    def create_batch_jsonl(num_requests: int) -> str:
        lines = []
        for i in range(num_requests):
            record = {
                "recordId": f"request-{i+1}",
                "modelInput": {
                    "messages": [
                        {"role": "user", "content": [{"text": f"What is {i+1} + {i+1}? Answer briefly."}]}
                    ],
                    "inferenceConfig": {"maxTokens": 100},
                },
            }
            lines.append(json.dumps(record))
        return "\n".join(lines)

    jsonl_content = create_batch_jsonl(num_requests=3)
    timestamp = int(time.time() * 1000)
    s3_key = f"bifrost-batch-input/batch_{timestamp}.jsonl"
    upload_response = s3_client.put_object(
        Bucket=s3_bucket, Key=s3_key, Body=jsonl_content.encode(), ContentType="application/jsonl"
    )
    file_id = upload_response.get("ETag", "").strip('"')
    input_uri = f"s3://{s3_bucket}/{s3_key}"
    output_uri = f"s3://{s3_bucket}/bifrost-batch-output/"
    job_response = bedrock_client.create_model_invocation_job(
        jobName=f"bifrost-e2e-{timestamp}",
        modelId=model_id,
        roleArn="arn:aws:iam::123456789012:role/bedrock-batch",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": output_uri}},
        tags=[
            {"key": "endpoint", "value": "/v1/chat/completions"},
            {"key": "file_id", "value": file_id},
        ],
    )
    job_arn = job_response["jobArn"]
    assert job_arn.startswith(f"arn:aws:bedrock:")
    assert len(job_id(job_arn)) == 12

    status_response = poll(bedrock_client, job_arn)
    assert status_response["status"] == "Completed", status_response.get("message")
    assert status_response["jobArn"] == job_arn
    assert status_response["totalRecordCount"] == 3
    assert status_response["successRecordCount"] == 3
    assert status_response["errorRecordCount"] == 0
    assert status_response["endTime"] >= status_response["submitTime"]

    list_response = bedrock_client.list_model_invocation_jobs(maxResults=20)
    job_arns = [job["jobArn"] for job in list_response.get("invocationJobSummaries", [])]
    assert job_arn in job_arns, f"Job {job_arn} should be in list"

    prefix = f"bifrost-batch-output/{job_id(job_arn)}/"
    out = output_lines(s3_client, s3_bucket, f"{prefix}batch_{timestamp}.jsonl.out")
    assert [line["recordId"] for line in out] == ["request-1", "request-2", "request-3"]
    for line in out:
        assert line["modelOutput"]["stopReason"] == "end_turn"
        assert line["modelOutput"]["output"]["message"]["role"] == "assistant"
        assert "error" not in line
    manifest = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=f"{prefix}manifest.json.out")["Body"].read())
    assert manifest["totalRecordCount"] == 3
    assert manifest["successRecordCount"] == 3
    assert manifest["errorRecordCount"] == 0
    assert manifest["inputTokenCount"] > 0


def test_invalid_lines_end_partially_completed_with_exact_counts(base_url):
    s3_client, bedrock_client = clients(base_url, "bedrock")
    good = {"recordId": "ok-1", "modelInput": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}
    lines = [json.dumps(good), "{not json", json.dumps({"recordId": "no-input"}), "", json.dumps({**good, "recordId": "ok-2"})]
    key = f"partial/{int(time.time() * 1000)}.jsonl"
    s3_client.put_object(Bucket="your-s3-bucket", Key=key, Body="\n".join(lines).encode())
    arn = bedrock_client.create_model_invocation_job(
        jobName="partial",
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        roleArn="arn:aws:iam::123456789012:role/r",
        modelInvocationType="Converse",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://your-s3-bucket/{key}"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://your-s3-bucket/partial-out"}},
    )["jobArn"]
    for _ in range(100):
        job = bedrock_client.get_model_invocation_job(jobIdentifier=arn)
        if job["status"] not in ("Submitted", "Validating", "Scheduled", "InProgress"):
            break
        time.sleep(0.1)
    assert job["status"] == "PartiallyCompleted"
    assert (job["totalRecordCount"], job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (4, 4, 2, 2)
    out = output_lines(s3_client, "your-s3-bucket", f"partial-out/{job_id(arn)}/{key.rsplit('/', 1)[1]}.out")
    by_id = {line["recordId"]: line for line in out}
    assert set(by_id) == {"ok-1", "REC00000002", "no-input", "ok-2"}
    assert by_id["REC00000002"]["error"]["errorCode"] == 400
    assert "no modelInput" in by_id["no-input"]["error"]["errorMessage"]
    assert "modelOutput" in by_id["ok-2"]


def test_unknown_input_and_unknown_job_get_bedrock_errors(base_url):
    _, bedrock_client = clients(base_url, "bedrock")
    with pytest.raises(bedrock_client.exceptions.ValidationException, match="s3://your-s3-bucket/missing.jsonl"):
        bedrock_client.create_model_invocation_job(
            jobName="missing",
            modelId="anthropic.claude-3-haiku-20240307-v1:0",
            roleArn="arn:aws:iam::123456789012:role/r",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://your-s3-bucket/missing.jsonl"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://your-s3-bucket/out/"}},
        )
    with pytest.raises(bedrock_client.exceptions.ResourceNotFoundException):
        bedrock_client.get_model_invocation_job(jobIdentifier="abcdefabcdef")


def test_seed_openai_end_to_end(fake_url):
    url = _url("openai")
    model_id = "gpt-4o-mini"
    s3_client, bedrock_client = clients(url, "openai")

    def create_openai_jsonl(num_requests: int) -> str:
        lines = []
        for i in range(num_requests):
            record = {
                "custom_id": f"request-{i+1}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": model_id,
                    "messages": [{"role": "user", "content": f"What is {i+1} + {i+1}? Answer briefly."}],
                    "max_tokens": 100,
                },
            }
            lines.append(json.dumps(record))
        return "\n".join(lines)

    timestamp = int(time.time() * 1000)
    upload_response = s3_client.put_object(
        Bucket="openai-files",
        Key=f"batch_{timestamp}.jsonl",
        Body=create_openai_jsonl(num_requests=3).encode(),
        ContentType="application/jsonl",
    )
    file_id = upload_response.get("ETag", "").strip('"')
    job_response = bedrock_client.create_model_invocation_job(
        jobName=f"openai-e2e-{timestamp}",
        modelId=model_id,
        roleArn="not-required-for-openai",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://openai-files/{file_id}", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://openai-output/"}},
        tags=[
            {"key": "endpoint", "value": "/v1/chat/completions"},
            {"key": "file_id", "value": file_id},
        ],
    )
    job_arn = job_response["jobArn"]
    status_response = poll(bedrock_client, job_arn)
    assert status_response["status"] == "Completed", status_response.get("message")
    assert status_response["successRecordCount"] == 3

    # The provider ran it, from the file the seed uploaded.
    batches = fake_batches(fake_url)["openai"]
    assert [b["input_file_id"] for b in batches.values()].count(file_id) == 1
    out = output_lines(s3_client, "openai-output", f"{job_id(job_arn)}/batch_{timestamp}.jsonl.out")
    assert sorted(line["recordId"] for line in out) == ["request-1", "request-2", "request-3"]
    for line in out:
        assert line["modelOutput"]["choices"][0]["message"]["role"] == "assistant"
    list_response = bedrock_client.list_model_invocation_jobs(maxResults=20)
    assert job_arn in [job["jobArn"] for job in list_response["invocationJobSummaries"]]


def test_seed_gemini_end_to_end(fake_url):
    url = _url("gemini")
    model_id = "gemini-1.5-flash"
    s3_client, bedrock_client = clients(url, "gemini")

    def create_gemini_jsonl(num_requests: int) -> str:
        lines = []
        for i in range(num_requests):
            record = {
                "request": {
                    "contents": [{"role": "user", "parts": [{"text": f"What is {i+1} + {i+1}? Answer briefly."}]}],
                    "generationConfig": {"maxOutputTokens": 100},
                },
                "metadata": {"key": f"request-{i+1}"},
            }
            lines.append(json.dumps(record))
        return "\n".join(lines)

    timestamp = int(time.time() * 1000)
    upload_response = s3_client.put_object(
        Bucket="gemini-files",
        Key=f"batch_{timestamp}.jsonl",
        Body=create_gemini_jsonl(num_requests=3).encode(),
        ContentType="application/jsonl",
    )
    file_id = upload_response.get("ETag", "").strip('"')
    job_response = bedrock_client.create_model_invocation_job(
        jobName=f"gemini-e2e-{timestamp}",
        modelId=model_id,
        roleArn="not-required-for-gemini",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://gemini-files/{file_id}", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://gemini-output/"}},
    )
    job_arn = job_response["jobArn"]
    status_response = poll(bedrock_client, job_arn)
    assert status_response["status"] == "Completed", status_response.get("message")
    assert status_response["successRecordCount"] == 3
    out = output_lines(s3_client, "gemini-output", f"{job_id(job_arn)}/batch_{timestamp}.jsonl.out")
    assert sorted(line["recordId"] for line in out) == ["request-1", "request-2", "request-3"]
    for line in out:
        assert line["modelOutput"]["candidates"][0]["content"]["role"] == "model"
    assert len(fake_batches(fake_url)["gemini"]) >= 1


def test_anthropic_bedrock_records_through_message_batches(fake_url):
    url = _url("anthropic")
    s3_client, bedrock_client = clients(url, "anthropic")
    records = [
        {
            "recordId": f"request-{i+1}",
            "modelInput": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": [{"type": "text", "text": f"What is {i+1} + {i+1}?"}]}],
            },
        }
        for i in range(3)
    ]
    timestamp = int(time.time() * 1000)
    key = f"bifrost-batch-input/batch_{timestamp}.jsonl"
    s3_client.put_object(Bucket="anthropic-batches", Key=key, Body="\n".join(json.dumps(r) for r in records).encode())
    job_arn = bedrock_client.create_model_invocation_job(
        jobName=f"anthropic-e2e-{timestamp}",
        modelId="anthropic.claude-3-5-sonnet-20241022-v2:0",
        roleArn="not-required-for-anthropic",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://anthropic-batches/{key}", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://anthropic-batches/out/"}},
    )["jobArn"]
    status_response = poll(bedrock_client, job_arn)
    assert status_response["status"] == "Completed", status_response.get("message")
    out = output_lines(s3_client, "anthropic-batches", f"out/{job_id(job_arn)}/batch_{timestamp}.jsonl.out")
    assert sorted(line["recordId"] for line in out) == ["request-1", "request-2", "request-3"]
    for line in out:
        # InvokeModel records come back in the Anthropic Messages format, as Bedrock writes them.
        assert line["modelOutput"]["type"] == "message"
        assert line["modelOutput"]["content"][0]["type"] == "text"
    assert len(fake_batches(fake_url)["anthropic"]) >= 1
