"""Virtual-hosted–style addressing: boto3 with `addressing_style = "virtual"` names the bucket in the
Host header (`<bucket>.localhost:<port>`), which the gateway serves under `[files] base_domain`
(default "localhost").

`*.localhost` does not resolve everywhere, so the client reaches the gateway as its HTTP proxy: the
request still carries `Host: <bucket>.localhost:<port>`, exactly as it would through DNS.
"""

from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from conftest import sigv4_key

SIGV4_KEY = sigv4_key()


def virtual_client(gateway_url, key=("dummy-key", "dummy-secret")):
    port = urlsplit(gateway_url).port
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"http://localhost:{port}/bedrock/files",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(
            s3={"addressing_style": "virtual"},
            proxies={"http": gateway_url},
            retries={"max_attempts": 1},
        ),
    )


def round_trip(s3, bucket):
    s3.create_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"virtual")
    assert len(put["ETag"].strip('"')) == 32
    assert s3.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"virtual"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b.txt"]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] in (None, "us-east-1")
    s3.delete_object(Bucket=bucket, Key="dir/a b.txt")
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(s3.exceptions.ClientError) as err:
        s3.head_bucket(Bucket=bucket)
    assert err.value.response["Error"]["Code"] == "404"


def test_virtual_hosted_style_round_trip(base_url):
    s3 = virtual_client(base_url)
    sent_hosts = []
    s3.meta.events.register("before-send", lambda request, **kw: sent_hosts.append(urlsplit(request.url).hostname))
    round_trip(s3, "virtual-bucket")
    # Every object and listing call went to the bucket's host (botocore sends a few bucket-level
    # calls, such as GetBucketLocation, path style).
    assert sent_hosts.count("virtual-bucket.localhost") >= 6, sent_hosts


def test_virtual_hosted_style_is_signed_over_the_bucket_host(sigv4_url):
    url = sigv4_url
    round_trip(virtual_client(url, SIGV4_KEY), "virtual-signed")
    wrong = virtual_client(url, (SIGV4_KEY[0], "wrong-secret"))
    with pytest.raises(wrong.exceptions.ClientError) as err:
        wrong.list_objects_v2(Bucket="virtual-signed")
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
