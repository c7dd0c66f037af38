"""Peak memory of the gateway while boto3 moves a 100 MB object through the files API.

Bodies stream to and from disk, so the gateway's peak resident set (`VmHWM` in
/proc/<pid>/status) must stay well under the size of the object. The test starts its own gateway
(the binary in QUARRY_BIN, which `cargo xtask conformance` sets) so nothing else it serves counts.
"""

import hashlib
import os
import socket
import subprocess
import time

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

SIZE = 100 * 1024 * 1024
LIMIT_BYTES = 100 * 1024 * 1024

# Environment variables that would change what the gateway does; it runs on its flags alone.
GATEWAY_ENV = (
    "QUARRY_CONFIG",
    "QUARRY_LISTEN",
    "QUARRY_DATA_DIR",
    "QUARRY_LOG_FORMAT",
    "QUARRY_AUTH_MODE",
    "QUARRY_DEFAULT_PROVIDER",
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_gateway(tmp_path, request):
    """A `quarry serve` of its own (embedded defaults, no auth): (url, pid)."""
    binary = os.environ.get("QUARRY_BIN")
    if not binary:
        pytest.skip("QUARRY_BIN is not set (the quarry binary to start): run through `cargo xtask conformance`")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc: VmHWM cannot be read on this platform")
    port = free_port()
    data_dir = tmp_path / "data"
    log = open(tmp_path / "gateway.log", "wb")
    env = {k: v for k, v in os.environ.items() if k not in GATEWAY_ENV}
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )

    def stop():
        proc.kill()
        proc.wait(timeout=30)
        log.close()

    request.addfinalizer(stop)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the gateway exited ({proc.returncode}): {(tmp_path / 'gateway.log').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the gateway did not listen on port {port} within 60 s")
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}", proc.pid


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                value, unit = line.split()[1:3]
                assert unit == "kB", line
                return int(value)
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def write_random_ish(path, size):
    """size random bytes (incompressible, nothing to shortcut); returns their SHA-256."""
    digest = hashlib.sha256()
    block = 1024 * 1024
    with open(path, "wb") as f:
        for _ in range(size // block):
            chunk = os.urandom(block)
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_100_mb_up_and_down_stays_under_100_mb_of_gateway_memory(own_gateway, tmp_path):
    url, pid = own_gateway
    src = tmp_path / "big.bin"
    want = write_random_ish(src, SIZE)
    assert src.stat().st_size == SIZE
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"{url}/bedrock/files",
        aws_access_key_id="memory-test",
        aws_secret_access_key="memory-test",
        config=Config(retries={"max_attempts": 1}),
    )
    s3.create_bucket(Bucket="memory")
    before = status_kib(pid, "VmHWM")

    # boto3's defaults: 8 MB parts, 10 at a time, both ways.
    transfer = TransferConfig()
    s3.upload_file(str(src), "memory", "big.bin", Config=transfer)
    head = s3.head_object(Bucket="memory", Key="big.bin")
    assert head["ContentLength"] == SIZE
    assert head["ETag"].endswith(f'-{-(-SIZE // transfer.multipart_chunksize)}"'), head["ETag"]
    back = tmp_path / "back.bin"
    s3.download_file("memory", "big.bin", str(back), Config=transfer)
    assert back.stat().st_size == SIZE
    assert sha256_file(back) == want

    # One plain PutObject and GetObject of the whole body too (no parts, no ranges).
    with open(src, "rb") as f:
        s3.put_object(Bucket="memory", Key="single.bin", Body=f)
    got = hashlib.sha256()
    body = s3.get_object(Bucket="memory", Key="single.bin")["Body"]
    for chunk in body.iter_chunks(1024 * 1024):
        got.update(chunk)
    assert got.hexdigest() == want

    hwm = status_kib(pid, "VmHWM")
    rss = status_kib(pid, "VmRSS")
    print(f"gateway VmHWM {hwm / 1024:.1f} MiB (before the transfers {before / 1024:.1f} MiB), VmRSS {rss / 1024:.1f} MiB")
    assert hwm * 1024 < LIMIT_BYTES, f"gateway peak RSS {hwm} kB is not under {LIMIT_BYTES // 1024} kB"
