"""The files-and-batch seed's S3 snippets for OpenAI and Gemini, on each provider's leg.

The gateway stores the object in the provider's file API (here the fake upstreams), answers with the
provider's file id as the ETag, and serves the seed's list / head / download / delete calls by the
bucket and key labels. The fake's `/_files` shows what the provider really holds.
"""

import json
import time
import urllib.request

import pytest

from conftest import _url, seed_s3


def provider_files(fake_url, provider):
    with urllib.request.urlopen(f"{fake_url}/_files") as answer:
        return json.load(answer)[provider]


def openai_jsonl():
    return "\n".join(
        json.dumps(
            {
                "custom_id": f"request-{i + 1}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"Hello, this is test message {i + 1}."}],
                    "max_tokens": 100,
                },
            }
        )
        for i in range(2)
    )


def gemini_jsonl():
    return "\n".join(
        json.dumps(
            {
                "request": {
                    "contents": [{"role": "user", "parts": [{"text": f"Hello, this is test message {i + 1}."}]}],
                    "generationConfig": {"maxOutputTokens": 100},
                },
                "metadata": {"key": f"request-{i + 1}"},
            }
        )
        for i in range(2)
    )


CASES = {
    "openai": ("openai-files", openai_jsonl, "file-"),
    "gemini": ("gemini-files", gemini_jsonl, "files/"),
}


@pytest.mark.parametrize("provider", sorted(CASES))
def test_seed_snippets_store_in_the_provider(provider, fake_url):
    bucket, make_jsonl, id_prefix = CASES[provider]
    s3_client = seed_s3(_url(provider), provider)
    jsonl_content = make_jsonl()
    key = f"batch_input_{int(time.time() * 1000)}.jsonl"

    # Upload (the seed's "Upload a File" for this provider).
    response = s3_client.put_object(
        Bucket=bucket,
        Key=key,
        Body=jsonl_content.encode(),
        ContentType="application/jsonl",
    )
    file_id = response.get("ETag", "").strip('"')
    print(f"Uploaded file ID: {file_id}")
    assert file_id.startswith(id_prefix), file_id
    held = provider_files(fake_url, provider)
    assert held[file_id]["data"] == jsonl_content
    assert held[file_id]["filename"] == key

    # List, by the bucket label.
    response = s3_client.list_objects_v2(Bucket=bucket)
    listed = {obj["Key"]: obj for obj in response.get("Contents", [])}
    assert listed[key]["ETag"].strip('"') == file_id
    assert listed[key]["Size"] == len(jsonl_content.encode())

    # Head and download, with the file id as If-Match (the seed's convention).
    head = s3_client.head_object(Bucket=bucket, Key=key, IfMatch=file_id)
    assert head["ContentLength"] == len(jsonl_content.encode())
    assert head["ContentType"] == "application/jsonl"
    body = s3_client.get_object(Bucket=bucket, Key=key, IfMatch=file_id)["Body"].read().decode()
    assert body == jsonl_content

    # A wrong file id fails the condition.
    with pytest.raises(s3_client.exceptions.ClientError) as err:
        s3_client.head_object(Bucket=bucket, Key=key, IfMatch=f"{id_prefix}nope")
    assert err.value.response["Error"]["Code"] == "412"

    # Delete removes the provider's file too.
    s3_client.delete_object(Bucket=bucket, Key=key, IfMatch=file_id)
    assert file_id not in provider_files(fake_url, provider)
    with pytest.raises(s3_client.exceptions.ClientError) as err:
        s3_client.head_object(Bucket=bucket, Key=key)
    assert err.value.response["Error"]["Code"] == "404"


@pytest.mark.parametrize("provider", sorted(CASES))
def test_upload_file_above_8_mb_lands_whole_in_the_provider(provider, fake_url, tmp_path):
    bucket, _, id_prefix = CASES[provider]
    s3_client = seed_s3(_url(provider), provider)
    line = json.dumps({"custom_id": "x", "pad": "y" * 1000}) + "\n"
    data = (line * (9 * 1024 * 1024 // len(line) + 1)).encode()
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    s3_client.upload_file(str(path), bucket, "big/big.jsonl")
    head = s3_client.head_object(Bucket=bucket, Key="big/big.jsonl")
    file_id = head["ETag"].strip('"')
    assert file_id.startswith(id_prefix), file_id
    held = provider_files(fake_url, provider)[file_id]
    assert held["filename"] == "big.jsonl"
    assert held["data"].encode() == data
    s3_client.delete_object(Bucket=bucket, Key="big/big.jsonl")
    assert file_id not in provider_files(fake_url, provider)


def test_an_unconfigured_provider_is_an_s3_error(base_url):
    s3_client = seed_s3(base_url, "openai")
    with pytest.raises(s3_client.exceptions.ClientError) as err:
        s3_client.put_object(Bucket="openai-files", Key="a.jsonl", Body=b"{}")
    error = err.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert "not configured" in error["Message"]
