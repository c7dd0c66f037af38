"""The files-and-batch seed's S3 snippets against the gateway's local store (the mock leg).

The client is built as the seed builds it (`x-model-provider: bedrock` added on before-send), with
the gateway under test's address in place of `http://localhost:8080`.
"""

import json
import time

import pytest

from conftest import seed_s3


@pytest.fixture
def s3_client(base_url):
    return seed_s3(base_url, "bedrock")


def test_seed_upload_list_head_download_delete(s3_client, capsys):
    # Upload (the seed's "Upload a File", Bedrock tab).
    batch_requests = [
        {
            "recordId": f"request-{i}",
            "modelInput": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": [{"type": "text", "text": f"Hello {i}"}]}],
            },
        }
        for i in range(3)
    ]
    jsonl_content = "\n".join(json.dumps(r) for r in batch_requests)
    s3_bucket = "your-s3-bucket"
    s3_key = f"bifrost-batch-input/batch_input_{int(time.time() * 1000)}.jsonl"
    response = s3_client.put_object(
        Bucket=s3_bucket,
        Key=s3_key,
        Body=jsonl_content.encode(),
        ContentType="application/jsonl",
    )
    file_id = response.get("ETag", "").strip('"')
    print(f"Uploaded file ID: {file_id}")
    assert len(file_id) == 32

    # List files.
    response = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="bifrost-batch-input/")
    keys = [obj["Key"] for obj in response["Contents"]]
    assert s3_key in keys
    for obj in response["Contents"]:
        if obj["Key"] == s3_key:
            assert obj["Size"] == len(jsonl_content.encode())
            assert obj["LastModified"] is not None

    # Retrieve file metadata (HEAD) with the file id as If-Match.
    response = s3_client.head_object(Bucket=s3_bucket, Key=s3_key, IfMatch=file_id)
    assert response["ContentLength"] == len(jsonl_content.encode())
    assert response["ContentType"] == "application/jsonl"
    assert response["ETag"].strip('"') == file_id

    # Download.
    response = s3_client.get_object(Bucket=s3_bucket, Key=s3_key, IfMatch=file_id)
    content = response["Body"].read().decode("utf-8")
    assert content == jsonl_content

    # Delete, after which the key is gone.
    s3_client.delete_object(Bucket=s3_bucket, Key=s3_key, IfMatch=file_id)
    with pytest.raises(s3_client.exceptions.ClientError) as err:
        s3_client.head_object(Bucket=s3_bucket, Key=s3_key)
    assert err.value.response["Error"]["Code"] == "404"


def test_upload_file_goes_multipart_above_8_mb(s3_client, tmp_path):
    path = tmp_path / "big.jsonl"
    line = b'{"recordId": "r", "modelInput": {"prompt": "' + b"x" * 200 + b'"}}\n'
    with open(path, "wb") as f:
        for _ in range((12 * 1024 * 1024) // len(line) + 1):
            f.write(line)
    s3_client.upload_file(str(path), "your-s3-bucket", "big/input.jsonl")
    head = s3_client.head_object(Bucket="your-s3-bucket", Key="big/input.jsonl")
    assert head["ContentLength"] == path.stat().st_size
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]
    out = tmp_path / "back.jsonl"
    s3_client.download_file("your-s3-bucket", "big/input.jsonl", str(out))
    assert out.read_bytes() == path.read_bytes()


def test_errors_are_s3_xml(s3_client):
    with pytest.raises(s3_client.exceptions.NoSuchKey):
        s3_client.get_object(Bucket="your-s3-bucket", Key="no/such/key")
    with pytest.raises(s3_client.exceptions.NoSuchBucket):
        s3_client.list_objects_v2(Bucket="never-created-bucket")
