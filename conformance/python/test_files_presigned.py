"""Presigned URLs (SigV4 query authentication) on the SigV4 gateway's files API.

boto3 presigns with the key sigv4.toml issues; the URLs are then used with urllib and no
credentials at all, as a browser or `curl` would. Failures must be S3's: an XML `<Error>` with the
code S3 sends (SignatureDoesNotMatch, AccessDenied for an expired URL, NoSuchKey).
"""

import hashlib
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.config import Config

from conftest import sigv4_key



@pytest.fixture(scope="module")
def s3(sigv4_url):
    key_id, secret = sigv4_key()
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"{sigv4_url}/bedrock/files",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def bucket(s3):
    name = f"presigned-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def request(url, method="GET", data=None):
    """Sends the request with no credentials; returns (status, headers, body) for any status."""
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def s3_error(body):
    """The `<Error>` document S3 answers with, as {tag: text}; fails if the body is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        pytest.fail(f"not XML ({err}): {body!r}")
    assert root.tag == "Error", body
    return {child.tag: child.text for child in root}


def with_query(url, **changes):
    """The URL with query parameters replaced (order and the rest kept)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, changes.pop(k) if k in changes else v) for k, v in query]
    assert not changes, f"not in the URL: {changes}"
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe="/")))


def test_presigned_put_then_get(s3, bucket):
    key = "uploads/presigned data.jsonl"
    data = b'{"recordId": "1", "modelInput": {}}\n' * 500
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    assert "X-Amz-Signature=" in put_url and "X-Amz-Credential=" in put_url, put_url
    status, headers, body = request(put_url, "PUT", data)
    assert status == 200, body
    etag = headers["ETag"]
    assert etag.strip('"') == hashlib.md5(data).hexdigest(), etag

    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    status, headers, body = request(get_url)
    assert status == 200, body
    assert body == data
    assert headers["ETag"] == etag
    assert int(headers["Content-Length"]) == len(data)

    # And the signed client sees the same object.
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_tampered_presigned_urls_are_refused(s3, bucket):
    key = "tamper/original.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"original")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    assert request(url)[0] == 200

    # Another key under the same signature.
    other = url.replace("/tamper/original.txt?", "/tamper/other.txt?")
    assert other != url
    status, _, body = request(other)
    assert status == 403, body
    error = s3_error(body)
    assert error["Code"] == "SignatureDoesNotMatch", error
    assert error["Message"].startswith("The request signature we calculated does not match"), error

    # A longer expiry than the one signed.
    longer = with_query(url, **{"X-Amz-Expires": "3600"})
    status, _, body = request(longer)
    assert status == 403, body
    assert s3_error(body)["Code"] == "SignatureDoesNotMatch"

    # A presigned GET URL used to PUT.
    status, _, body = request(url, "PUT", b"overwritten")
    assert status == 403, body
    assert s3_error(body)["Code"] == "SignatureDoesNotMatch"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"original"

    # A presigned PUT for one key cannot write another.
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "tamper/a.txt"}, ExpiresIn=300)
    status, _, body = request(put_url.replace("/tamper/a.txt?", "/tamper/b.txt?"), "PUT", b"nope")
    assert status == 403, body
    assert s3_error(body)["Code"] == "SignatureDoesNotMatch"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="tamper/")
    assert [o["Key"] for o in listed["Contents"]] == [key]


def test_expired_presigned_url_is_access_denied(s3, bucket):
    key = "expiring.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"soon gone")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
    time.sleep(2.5)
    status, headers, body = request(url)
    assert status == 403, body
    assert headers.get_content_type() in ("application/xml", "text/xml"), headers
    error = s3_error(body)
    print(f"expired presigned GET: {error}")
    assert error["Code"] == "AccessDenied", error
    assert error["Message"] == "Request has expired", error

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "late.txt"}, ExpiresIn=1)
    time.sleep(2.5)
    status, _, body = request(put_url, "PUT", b"too late")
    assert status == 403, body
    assert s3_error(body)["Code"] == "AccessDenied"
    with pytest.raises(s3.exceptions.ClientError) as err:
        s3.head_object(Bucket=bucket, Key="late.txt")
    assert err.value.response["Error"]["Code"] == "404"


def test_presigned_get_of_a_missing_key_is_no_such_key(s3, bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "no/such/key"}, ExpiresIn=300)
    status, _, body = request(url)
    assert status == 404, body
    error = s3_error(body)
    assert error["Code"] == "NoSuchKey", error
    assert error.get("Key") in (None, "no/such/key"), error
