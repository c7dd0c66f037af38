"""Shared fixtures: the gateway's URL (started by `cargo xtask conformance`) and boto3 clients as the seeds build them."""

import os

import boto3
import pytest
from botocore.config import Config


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("QUARRY_URL")
    if not url:
        pytest.fail("QUARRY_URL is not set: run the suite through `cargo xtask conformance`")
    return url


@pytest.fixture
def runtime(base_url):
    """The seeds' client: bedrock-runtime at /bedrock with dummy credentials."""
    return boto3.client(
        service_name="bedrock-runtime",
        endpoint_url=f"{base_url}/bedrock",
        region_name="us-west-2",
        aws_access_key_id="bifrost-dummy-key",
        aws_secret_access_key="bifrost-dummy-secret",
        config=Config(retries={"max_attempts": 1}),
    )
