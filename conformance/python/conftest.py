"""Shared fixtures: the gateways' URLs (started by `cargo xtask conformance`) and boto3 clients as the seeds build them.

The seed tests run on every leg: `mock` (the gateway on its embedded defaults, QUARRY_URL) and one
gateway per remote provider (QUARRY_LEG_URLS, "openai=http://...,anthropic=http://...", each
pointed at the fake upstreams of fake_upstreams.py, QUARRY_FAKE_URL). A test that exercises the
mock provider's own behaviour is marked `mock_only` and runs on the mock leg alone.
"""

import os
import tomllib
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

MOCK = "mock"


def leg_urls():
    """Every leg's gateway URL, by leg name, the mock leg first (empty if QUARRY_URL is unset)."""
    legs = {}
    if os.environ.get("QUARRY_URL"):
        legs[MOCK] = os.environ["QUARRY_URL"]
    for item in filter(None, (s.strip() for s in os.environ.get("QUARRY_LEG_URLS", "").split(","))):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise pytest.UsageError(f"QUARRY_LEG_URLS: expected name=url, got {item!r}")
        legs[name.strip()] = url.strip()
    return legs


def pytest_configure(config):
    config.addinivalue_line("markers", "mock_only: exercises the mock provider's own behaviour; runs on the mock leg only")


def pytest_generate_tests(metafunc):
    """Parametrizes `leg` (and so `runtime`) by leg: every leg, or the mock leg for `mock_only` tests."""
    if "leg" in metafunc.fixturenames:
        names = list(leg_urls()) or [MOCK]
        if metafunc.definition.get_closest_marker("mock_only"):
            names = [MOCK]
        metafunc.parametrize("leg", names, ids=names)
    if "remote_leg" in metafunc.fixturenames:
        names = [n for n in leg_urls() if n != MOCK]
        metafunc.parametrize("remote_leg", names, ids=names)


def _url(leg):
    url = leg_urls().get(leg)
    if not url:
        if leg == MOCK:
            pytest.fail("QUARRY_URL is not set: run the suite through `cargo xtask conformance`")
        pytest.fail(f"leg {leg!r} is not in QUARRY_LEG_URLS")
    return url


def seed_client(url):
    """The seeds' client: bedrock-runtime at /bedrock with dummy credentials."""
    return boto3.client(
        service_name="bedrock-runtime",
        endpoint_url=f"{url}/bedrock",
        region_name="us-west-2",
        aws_access_key_id="bifrost-dummy-key",
        aws_secret_access_key="bifrost-dummy-secret",
        config=Config(retries={"max_attempts": 1}),
    )


def seed_s3(url, provider):
    """The files seed's S3 client: `x-model-provider` added on before-send, dummy credentials."""

    def add_provider_header(request, **kwargs):
        request.headers["x-model-provider"] = provider

    client = boto3.client(
        "s3",
        region_name="us-west-2",
        endpoint_url=f"{url}/bedrock/files",
        aws_access_key_id="dummy-key",
        aws_secret_access_key="dummy-secret",
    )
    client.meta.events.register("before-send", add_provider_header)
    return client


SIGV4_TOML = Path(__file__).with_name("sigv4.toml")


def sigv4_key():
    """The (access key id, secret) sigv4.toml configures for the SigV4 gateway."""
    with open(SIGV4_TOML, "rb") as f:
        key = tomllib.load(f)["auth"]["keys"][0]
    return key["access_key_id"], key["secret_access_key"]


@pytest.fixture(scope="session")
def sigv4_url():
    """The SigV4-mode gateway (conformance/python/sigv4.toml)."""
    url = os.environ.get("QUARRY_SIGV4_URL")
    if not url:
        pytest.fail("QUARRY_SIGV4_URL is not set: run the suite through `cargo xtask conformance`")
    return url


@pytest.fixture(scope="session")
def base_url():
    """The mock leg's gateway."""
    return _url(MOCK)


@pytest.fixture
def runtime(leg):
    """The seeds' client, on the gateway of this test's leg."""
    return seed_client(_url(leg))


@pytest.fixture
def mock_runtime(base_url):
    """The seeds' client on the mock leg, whatever legs are configured."""
    return seed_client(base_url)


@pytest.fixture
def remote_runtime(remote_leg):
    """The seeds' client on a remote provider's leg (parametrized over those legs only)."""
    return seed_client(_url(remote_leg))


@pytest.fixture(scope="session")
def fake_url():
    url = os.environ.get("QUARRY_FAKE_URL")
    if not url:
        pytest.fail("QUARRY_FAKE_URL is not set: run the suite through `cargo xtask conformance`")
    return url
