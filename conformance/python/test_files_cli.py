"""The AWS CLI (v1, from PyPI, run from this venv) against the files API at `/bedrock/files`.

`aws s3` mb/cp/ls/sync/rm and `aws s3api head-object` on the gateway on its embedded defaults
(QUARRY_URL, no auth: any credentials), and `cp`/`ls` on the SigV4 gateway (QUARRY_SIGV4_URL) with
the key sigv4.toml issues, and with a wrong secret and an unknown key id, which must fail.
"""

import filecmp
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import sigv4_key


# Every AWS variable that could point the CLI elsewhere than the test's own settings.
AWS_ENV_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_REGION",
)


def aws(url, cwd, *args, key_id="AKIDCLITEST", secret="cli-test-secret"):
    """Runs `python -m awscli ARGS --endpoint-url URL/bedrock/files` from this venv, in cwd.

    Transfers print the local side relative to cwd; progress lines are turned off.
    """
    env = {k: v for k, v in os.environ.items() if k not in AWS_ENV_CLEARED}
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        PYTHONUTF8="1",
        PYTHONIOENCODING="utf-8",
    )
    quiet = ["--no-progress"] if args[:2] in (("s3", "cp"), ("s3", "sync"), ("s3", "mv")) else []
    cmd = [sys.executable, "-m", "awscli", *args, *quiet, "--endpoint-url", f"{url}/bedrock/files"]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, encoding="utf-8", timeout=600)


def ok(result):
    """Asserts the CLI exited 0; returns its stdout."""
    assert result.returncode == 0, f"{result.args[3:]} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def s3(url, key_id="AKIDCLITEST", secret="cli-test-secret"):
    """A boto3 client on the same endpoint, to check what the CLI did independently of it."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"{url}/bedrock/files",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def bucket_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def pseudo_random(n, seed):
    """n bytes of SHA-256 counter output: random-looking, reproducible, cheap."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:n])


def ls_lines(stdout):
    return [line for line in stdout.splitlines() if line.strip()]


def ls_keys(stdout):
    """`aws s3 ls` object lines (`DATE TIME SIZE KEY`) as {key: size}."""
    keys = {}
    for line in ls_lines(stdout):
        m = re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\d+) (.+)$", line)
        if m:
            keys[m.group(2)] = int(m.group(1))
    return keys


def ls_prefixes(stdout):
    return [m.group(1) for line in ls_lines(stdout) if (m := re.match(r"^ +PRE (.+)$", line))]


def test_mb_cp_ls_head_object(base_url, tmp_path):
    bucket = bucket_name("cli")
    out = ok(aws(base_url, tmp_path, "s3", "mb", f"s3://{bucket}"))
    assert out.strip() == f"make_bucket: {bucket}"

    # The bucket list shows it.
    listed = ok(aws(base_url, tmp_path, "s3", "ls"))
    names = [line.split()[-1] for line in ls_lines(listed)]
    assert bucket in names, listed
    line = next(line for line in ls_lines(listed) if line.endswith(f" {bucket}"))
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line), line

    # A small file up, and down again.
    small = tmp_path / "small.jsonl"
    small.write_bytes(b'{"recordId": "1", "modelInput": {}}\n' * 20)
    out = ok(aws(base_url, tmp_path, "s3", "cp", str(small), f"s3://{bucket}/docs/small.jsonl"))
    assert out.splitlines() == [f"upload: ./small.jsonl to s3://{bucket}/docs/small.jsonl"], out
    back = tmp_path / "small.back"
    out = ok(aws(base_url, tmp_path, "s3", "cp", f"s3://{bucket}/docs/small.jsonl", str(back)))
    assert out.splitlines() == [f"download: s3://{bucket}/docs/small.jsonl to ./small.back"], out
    assert back.read_bytes() == small.read_bytes()

    # Over the CLI's 8 MB threshold: a multipart upload of two parts.
    big = tmp_path / "big.bin"
    big.write_bytes(pseudo_random(9 * 1024 * 1024 + 123, "cli-big"))
    ok(aws(base_url, tmp_path, "s3", "cp", str(big), f"s3://{bucket}/big.bin"))
    head = json.loads(ok(aws(base_url, tmp_path, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin")))
    assert head["ContentLength"] == big.stat().st_size
    assert re.fullmatch(r'"[0-9a-f]{32}-2"', head["ETag"]), head["ETag"]
    big_back = tmp_path / "big.back"
    ok(aws(base_url, tmp_path, "s3", "cp", f"s3://{bucket}/big.bin", str(big_back)))
    assert hashlib.sha256(big_back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()

    head = json.loads(
        ok(aws(base_url, tmp_path, "s3api", "head-object", "--bucket", bucket, "--key", "docs/small.jsonl"))
    )
    assert head["ContentLength"] == small.stat().st_size
    assert head["ETag"] == '"%s"' % hashlib.md5(small.read_bytes()).hexdigest()
    assert "LastModified" in head

    # A missing key: non-zero exit, S3's 404.
    missing = aws(base_url, tmp_path, "s3api", "head-object", "--bucket", bucket, "--key", "no/such/key")
    assert missing.returncode != 0
    assert "404" in missing.stderr and "Not Found" in missing.stderr, missing.stderr

    # ls: the top level shows the prefix as PRE and the key; --recursive every key with its size.
    top = ok(aws(base_url, tmp_path, "s3", "ls", f"s3://{bucket}/"))
    assert ls_prefixes(top) == ["docs/"], top
    assert ls_keys(top) == {"big.bin": big.stat().st_size}, top
    deep = ok(aws(base_url, tmp_path, "s3", "ls", f"s3://{bucket}/", "--recursive"))
    assert ls_prefixes(deep) == [], deep
    assert ls_keys(deep) == {"big.bin": big.stat().st_size, "docs/small.jsonl": small.stat().st_size}, deep
    inside = ok(aws(base_url, tmp_path, "s3", "ls", f"s3://{bucket}/docs/"))
    assert ls_keys(inside) == {"small.jsonl": small.stat().st_size}, inside


def write_tree(root):
    """A local tree with nested dirs, an empty file and a key with spaces and non-ASCII characters."""
    files = {
        "top.txt": b"top level\n",
        "a/one.jsonl": b'{"n": 1}\n' * 100,
        "a/b/two.bin": pseudo_random(70_000, "two"),
        "a/b/c/three.txt": b"deep\n",
        "dir with spaces/na\u00efve \u00fcnic\u00f8de \u2713 \u65e5\u672c.txt": "unicode key\n".encode(),
        "empty.txt": b"",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def tree(root):
    """{relative posix path: bytes} of every file under root."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_sync_up_down_again_and_rm_recursive(base_url, tmp_path):
    bucket = bucket_name("cli-sync")
    ok(aws(base_url, tmp_path, "s3", "mb", f"s3://{bucket}"))
    up = tmp_path / "up"
    files = write_tree(up)

    out = ok(aws(base_url, tmp_path, "s3", "sync", str(up), f"s3://{bucket}/tree"))
    assert sorted(out.splitlines()) == sorted(f"upload: up/{k} to s3://{bucket}/tree/{k}" for k in files), out

    # What S3 lists, independently of the CLI: every key, every size.
    listed = s3(base_url).list_objects_v2(Bucket=bucket, Prefix="tree/")
    assert {o["Key"]: o["Size"] for o in listed.get("Contents", [])} == {
        f"tree/{k}": len(v) for k, v in files.items()
    }

    # The unicode key is listed by the CLI as is.
    deep = ok(aws(base_url, tmp_path, "s3", "ls", f"s3://{bucket}/tree/", "--recursive"))
    assert ls_keys(deep) == {f"tree/{k}": len(v) for k, v in files.items()}, deep

    # Down to a fresh dir: the same tree.
    down = tmp_path / "down"
    down.mkdir()
    out = ok(aws(base_url, tmp_path, "s3", "sync", f"s3://{bucket}/tree", str(down)))
    assert sorted(out.splitlines()) == sorted(f"download: s3://{bucket}/tree/{k} to down/{k}" for k in files), out
    assert tree(down) == files
    cmp = filecmp.dircmp(up, down)
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files

    # Nothing changed: a second sync each way transfers nothing.
    again = ok(aws(base_url, tmp_path, "s3", "sync", str(up), f"s3://{bucket}/tree"))
    assert again.strip() == "", again
    again = ok(aws(base_url, tmp_path, "s3", "sync", f"s3://{bucket}/tree", str(down)))
    assert again.strip() == "", again

    # One change: one upload.
    (up / "a/one.jsonl").write_bytes(b'{"n": 2}\n' * 101)
    again = ok(aws(base_url, tmp_path, "s3", "sync", str(up), f"s3://{bucket}/tree"))
    assert [line for line in again.splitlines() if line.strip()] == [
        f"upload: up/a/one.jsonl to s3://{bucket}/tree/a/one.jsonl"
    ], again

    # rm --recursive deletes every key under the prefix, and nothing else.
    (tmp_path / "keep.txt").write_bytes(b"outside the prefix")
    ok(aws(base_url, tmp_path, "s3", "cp", str(tmp_path / "keep.txt"), f"s3://{bucket}/keep.txt"))
    out = ok(aws(base_url, tmp_path, "s3", "rm", f"s3://{bucket}/tree", "--recursive"))
    deletes = [line for line in out.splitlines() if line.startswith("delete: ")]
    assert sorted(deletes) == sorted(f"delete: s3://{bucket}/tree/{k}" for k in files), out
    listed = s3(base_url).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed.get("Contents", [])] == ["keep.txt"]
    top = ok(aws(base_url, tmp_path, "s3", "ls", f"s3://{bucket}/"))
    assert ls_prefixes(top) == [] and list(ls_keys(top)) == ["keep.txt"], top


def test_sigv4_gateway_cp_and_ls_with_the_issued_key(sigv4_url, tmp_path):
    key_id, secret = sigv4_key()
    bucket = bucket_name("cli-signed")
    ok(aws(sigv4_url, tmp_path, "s3", "mb", f"s3://{bucket}", key_id=key_id, secret=secret))
    src = tmp_path / "signed.txt"
    src.write_bytes(b"signed by the CLI\n" * 1000)
    ok(aws(sigv4_url, tmp_path, "s3", "cp", str(src), f"s3://{bucket}/in/signed.txt", key_id=key_id, secret=secret))
    listed = ok(aws(sigv4_url, tmp_path, "s3", "ls", f"s3://{bucket}/", "--recursive", key_id=key_id, secret=secret))
    assert ls_keys(listed) == {"in/signed.txt": src.stat().st_size}, listed
    top = ok(aws(sigv4_url, tmp_path, "s3", "ls", f"s3://{bucket}/", key_id=key_id, secret=secret))
    assert ls_prefixes(top) == ["in/"], top
    back = tmp_path / "back.txt"
    ok(aws(sigv4_url, tmp_path, "s3", "cp", f"s3://{bucket}/in/signed.txt", str(back), key_id=key_id, secret=secret))
    assert back.read_bytes() == src.read_bytes()

    # A multipart upload signs every part.
    big = tmp_path / "big.bin"
    big.write_bytes(pseudo_random(9 * 1024 * 1024, "signed-big"))
    ok(aws(sigv4_url, tmp_path, "s3", "cp", str(big), f"s3://{bucket}/big.bin", key_id=key_id, secret=secret))
    head = s3(sigv4_url, key_id, secret).head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].endswith('-2"'), head["ETag"]


def test_sigv4_gateway_refuses_a_wrong_secret_and_an_unknown_key(sigv4_url, tmp_path):
    key_id, secret = sigv4_key()
    bucket = bucket_name("cli-refused")
    ok(aws(sigv4_url, tmp_path, "s3", "mb", f"s3://{bucket}", key_id=key_id, secret=secret))
    src = tmp_path / "x.txt"
    src.write_bytes(b"must not be stored\n")

    wrong = aws(sigv4_url, tmp_path, "s3", "cp", str(src), f"s3://{bucket}/x.txt", key_id=key_id, secret=secret + "-wrong")
    assert wrong.returncode != 0, wrong.stdout
    assert "SignatureDoesNotMatch" in wrong.stderr, wrong.stderr
    wrong = aws(sigv4_url, tmp_path, "s3", "ls", f"s3://{bucket}/", key_id=key_id, secret=secret + "-wrong")
    assert wrong.returncode != 0, wrong.stdout
    assert "SignatureDoesNotMatch" in wrong.stderr, wrong.stderr

    unknown = aws(sigv4_url, tmp_path, "s3", "ls", f"s3://{bucket}/", key_id="AKIAQUARRYNOSUCHKEY1", secret=secret)
    assert unknown.returncode != 0, unknown.stdout
    assert "InvalidAccessKeyId" in unknown.stderr, unknown.stderr

    # Nothing was stored.
    listed = s3(sigv4_url, key_id, secret).list_objects_v2(Bucket=bucket)
    assert listed["KeyCount"] == 0, listed.get("Contents")
