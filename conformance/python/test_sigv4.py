"""SigV4 mode: boto3 signing with a gateway-issued key gets through; a wrong secret gets Bedrock's 403."""


import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import sigv4_key

KEY_ID, SECRET = sigv4_key()


def client(url, secret):
    return boto3.client(
        service_name="bedrock-runtime",
        endpoint_url=f"{url}/bedrock",
        region_name="us-west-2",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_right_secret_converses_and_streams(sigv4_url):
    c = client(sigv4_url, SECRET)
    response = c.converse(
        modelId="anthropic.claude-3-5-sonnet-20240620-v1:0",
        messages=[{"role": "user", "content": [{"text": "Hello, signed!"}]}],
    )
    assert response["output"]["message"]["content"][0]["text"] == "Hello, signed!"
    stream = c.converse_stream(modelId="m", messages=[{"role": "user", "content": [{"text": "signed stream"}]}])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"] if "contentBlockDelta" in e)
    assert text == "signed stream"


def test_custom_header_signed_before_sign(sigv4_url):
    c = client(sigv4_url, SECRET)

    def add(request, **kwargs):
        request.headers.add_header("x-bf-vk", "vk_12345")

    c.meta.events.register_first("before-sign.bedrock-runtime.*", add)
    response = c.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "with header"}]}])
    assert response["output"]["message"]["content"][0]["text"] == "with header"


def test_wrong_secret_is_rejected(sigv4_url):
    with pytest.raises(ClientError) as err:
        client(sigv4_url, "wrong-secret").converse(
            modelId="mock.throttle", messages=[{"role": "user", "content": [{"text": "x"}]}]
        )
    error = err.value.response["Error"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith("The request signature we calculated does not match")
