"""Azure-specific behaviour, against Azurite: DSNs and credentials, container names, staged
puts, multipart uploads held by the service, SAS URLs, retries, metadata and listing order.

What the conformance suite checks for every driver is in ``test_azure.py``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobClient, BlobServiceClient

from tests.servers.azure import ACCOUNT, ACCOUNT_KEY, AzuriteServer, azurite_server
from trove_dist.checksum import Checksum, digest
from trove_dist.driver.capabilities import (
    LifecycleDriver,
    NotificationDriver,
    PresignDriver,
    VersioningDriver,
    capabilities_of,
)
from trove_dist.driver.dsn import parse_dsn
from trove_dist.driver.registry import open_driver
from trove_dist.drivers.azure import AzureDriver
from trove_dist.drivers.azure.blocks import ID_LENGTH, parse_block
from trove_dist.drivers.azure.errors import BlocksDiscarded
from trove_dist.errors import (
    BackendUnavailable,
    ChecksumMismatch,
    InvalidBucket,
    InvalidDSN,
    ObjectNotFound,
    PermissionDenied,
    PreconditionFailed,
    UploadNotFound,
)

KiB = 1024
MiB = 1024 * KiB
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def driver(azurite: AzuriteServer) -> Iterator[AzureDriver]:
    drv = open_driver(azurite.dsn(block_size="64KiB", concurrency="3"))
    assert isinstance(drv, AzureDriver)
    yield drv
    drv.close()


@pytest.fixture
def bucket(driver: AzureDriver) -> Iterator[str]:
    name = f"az-{uuid.uuid4().hex[:20]}"
    driver.create_bucket(name)
    yield name
    driver.delete_bucket(name, force=True)


@pytest.fixture
def sdk(azurite: AzuriteServer) -> BlobServiceClient:
    """The SDK itself, to look at what the driver left in the service."""
    return BlobServiceClient.from_connection_string(azurite.connection_string)


def uncommitted_ids(sdk: BlobServiceClient, bucket: str, key: str) -> list[str]:
    _, uncommitted = sdk.get_container_client(bucket).get_blob_client(key).get_block_list("uncommitted")
    return [str(b.id) for b in uncommitted]


def data(size: int, seed: str) -> bytes:
    return (seed.encode() * (size // len(seed) + 1))[:size]


# ---- DSNs and credentials -------------------------------------------------------------------


def test_dsn_endpoints() -> None:
    def endpoint(dsn: str) -> str:
        drv = open_driver(dsn)
        assert isinstance(drv, AzureDriver)
        try:
            return str(drv._service.url).rstrip("/")
        finally:
            drv.close()

    assert endpoint("azure://acct123:a2V5@") == "https://acct123.blob.core.windows.net"
    assert endpoint("azure://acct123:a2V5@?tls=false") == "http://acct123.blob.core.windows.net"
    assert endpoint("azure://acct123:a2V5@127.0.0.1:10000?tls=false") == "http://127.0.0.1:10000/acct123"
    assert endpoint("azure://acct123:a2V5@[::1]:10000") == "https://[::1]:10000/acct123"
    assert endpoint("azure://acct123:a2V5@acct123.blob.core.chinacloudapi.cn") == (
        "https://acct123.blob.core.chinacloudapi.cn"
    )


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("azure://acct123:a2V5@?colour=blue", "unknown azure DSN parameter"),
        ("azure://:a2V5@", "names the storage account"),
        ("azure://Not_An_Account:a2V5@", "not a storage account name"),
        ("azure://acct123:a2V5@/container", "no path"),
        ("azure://acct123:a2V5@?block_size=1", "block_size must be"),
        ("azure://acct123:a2V5@?block_size=lots", "not a size"),
        ("azure://acct123:a2V5@?concurrency=0", "concurrency must be"),
        ("azure://acct123:a2V5@?tls=maybe", "not a boolean"),
        ("azure://acct123:a2V5@?retries=zero", "retry parameter"),
        ("azure://?connection_string_env=TROVE_TEST_UNSET_VARIABLE", "not set"),
        ("azure://acct123@?connection_string_env=HOME", "leave them out"),
    ],
)
def test_bad_dsns_are_refused(dsn: str, message: str) -> None:
    with pytest.raises(InvalidDSN, match=message):
        open_driver(dsn)


def test_transfer_parameters_reach_the_driver() -> None:
    drv = open_driver("azure://acct123:a2V5@127.0.0.1:1?block_size=2MiB&concurrency=7&retries=3&retry_base=0.5")
    assert isinstance(drv, AzureDriver)
    config = drv._config
    assert (config.block_size, config.concurrency) == (2 * MiB, 7)
    assert (config.retry.attempts, config.retry.base_delay) == (3, 0.5)
    assert drv._service._config.max_single_put_size == 2 * MiB
    drv.close()


def test_without_a_key_the_sdk_chain_is_required() -> None:
    if importlib.util.find_spec("azure.identity") is not None:
        pytest.skip("azure-identity is installed: the DSN opens with DefaultAzureCredential")
    with pytest.raises(InvalidDSN, match="azure-identity"):
        open_driver("azure://acct123@")


def test_connection_string_from_the_environment(azurite: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROVE_TEST_AZURE_CS", azurite.connection_string)
    drv = open_driver("azure://?connection_string_env=TROVE_TEST_AZURE_CS&retries=2")
    try:
        name = f"cs-{uuid.uuid4().hex[:12]}"
        drv.create_bucket(name)
        drv.put(name, "k", b"via connection string")
        assert isinstance(drv, PresignDriver)
        with urllib.request.urlopen(drv.presign_get(name, "k", timedelta(minutes=1))) as response:
            assert response.read() == b"via connection string", "the key came from the connection string"
        assert ACCOUNT_KEY not in repr(drv)
        drv.delete_bucket(name, force=True)
    finally:
        drv.close()


def test_secrets_never_show(azurite: AzuriteServer) -> None:
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    dsn = f"azure://{ACCOUNT}:{wrong_key}@{azurite.host}:{azurite.port}?tls=false&retries=1"
    drv = open_driver(dsn)
    try:
        assert wrong_key not in repr(drv)
        assert wrong_key not in str(parse_dsn(dsn))
        with pytest.raises(PermissionDenied) as denied:
            drv.create_bucket("never-created")
        assert (denied.value.backend, denied.value.operation) == ("azure", "create bucket")
        assert wrong_key not in str(denied.value)
        assert wrong_key not in repr(denied.value)
    finally:
        drv.close()


# ---- names and capabilities -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [("my_bucket", "'_'"), ("my.bucket", "'.'"), ("my--bucket", "consecutive '-'")],
)
def test_container_names_azure_cannot_hold(driver: AzureDriver, name: str, rule: str) -> None:
    with pytest.raises(InvalidBucket, match=rule):
        driver.create_bucket(name)
    with pytest.raises(InvalidBucket, match=rule):
        driver.put(name, "k", b"x")
    assert name not in [b.name for b in driver.list_buckets()]


def test_declared_capabilities(driver: AzureDriver, sdk: BlobServiceClient, bucket: str) -> None:
    assert capabilities_of(driver) == ["multipart", "presign", "range", "server_copy", "conditional"]
    for absent in (VersioningDriver, LifecycleDriver, NotificationDriver):
        assert not isinstance(driver, absent)
    # Why versioning is absent here too: the emulator reports no version ids at all.
    blob = sdk.get_container_client(bucket).get_blob_client("v")
    blob.upload_blob(b"1")
    blob.upload_blob(b"2", overwrite=True)
    assert blob.get_blob_properties().version_id is None
    assert [b.version_id for b in sdk.get_container_client(bucket).list_blobs(include=["versions"])] == [None]


# ---- staged puts ----------------------------------------------------------------------------


def test_staged_put_commits_blocks_with_metadata_and_checksum(
    driver: AzureDriver, sdk: BlobServiceClient, bucket: str
) -> None:
    body = data(1 * MiB + 123, "staged")
    info = driver.put(bucket, "big", iter([body[:300_000], body[300_000:]]), metadata={"K": "v"}, checksum="sha256")
    assert info.checksum == digest("sha256", body)
    committed, uncommitted = sdk.get_container_client(bucket).get_blob_client("big").get_block_list("all")
    assert len(committed) == 17, "1 MiB + 123 bytes in 64 KiB blocks"
    assert uncommitted == []
    assert all(len(str(b.id)) == ID_LENGTH for b in committed)
    head = driver.head(bucket, "big")
    assert (head.size, head.etag, head.checksum, dict(head.metadata)) == (
        len(body),
        info.etag,
        info.checksum,
        {"k": "v"},
    )
    with driver.get(bucket, "big") as reader:
        assert reader.read() == body


def test_staged_put_keeps_a_bounded_number_of_blocks_in_flight(
    driver: AzureDriver, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wrapper around the real call: it only counts and widens the window in which blocks overlap.
    lock = threading.Lock()
    in_flight = 0
    peak = 0
    real_stage_block = BlobClient.stage_block

    def counting(self: BlobClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(0.02)
            return real_stage_block(self, *args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(BlobClient, "stage_block", counting)
    body = data(2 * MiB, "bounded")
    driver.put(bucket, "k", iter([body[i : i + 10_000] for i in range(0, len(body), 10_000)]))
    assert peak == 3, f"concurrency=3 but {peak} blocks were in flight at once"
    assert not [t for t in threading.enumerate() if t.name.startswith("trove-azure-put")], "a put left a thread"
    with driver.get(bucket, "k") as reader:
        assert reader.read() == body


def test_failed_staged_put_leaves_only_invisible_blocks(
    driver: AzureDriver, sdk: BlobServiceClient, bucket: str
) -> None:
    driver.put(bucket, "k", b"previous")

    def broken() -> Iterator[bytes]:
        # Six 64 KiB blocks: the fourth waits for a free slot (concurrency=3), so at least one
        # block is staged before the failure; blocks still queued then are cancelled unsent.
        yield data(400 * KiB, "partial")
        raise OSError("the source failed mid-stream")

    with pytest.raises(OSError, match="mid-stream"):
        driver.put(bucket, "k", broken())
    with driver.get(bucket, "k") as reader:
        assert reader.read() == b"previous"
    # Azure cannot delete uncommitted blocks (only discard them all, other uploads' too): they stay
    # uncommitted — not part of the object, not listed, not an upload — until the key's next
    # commit or seven days.
    staged = uncommitted_ids(sdk, bucket, "k")
    assert 1 <= len(staged) <= 6
    assert all(parse_block(i, 0) is not None for i in staged)
    assert driver.list_multipart_uploads(bucket) == []
    assert [o.key for o in driver.list(bucket).objects] == ["k"]
    driver.put(bucket, "k", data(100 * KiB, "next"))  # a block-list commit
    assert uncommitted_ids(sdk, bucket, "k") == [], "the next commit discards them"


def test_checksum_mismatch_on_a_staged_put_commits_nothing(driver: AzureDriver, bucket: str) -> None:
    body = data(300 * KiB, "mismatch")
    wrong = Checksum("sha256", "0" * 64)
    with pytest.raises(ChecksumMismatch):
        driver.put(bucket, "k", body, checksum=wrong)
    with pytest.raises(ObjectNotFound):
        driver.head(bucket, "k")
    assert driver.list(bucket).objects == []


def test_a_commit_discards_a_concurrent_staged_put(driver: AzureDriver, bucket: str) -> None:
    """Azure keeps one uncommitted block list per blob: a put that commits while another is
    still staging discards the other's blocks, which then fails — never a mix of the two.

    The interfering put here is itself staged (a Put Block List).  Azure documents that a
    single-request Put Blob discards uncommitted blocks too; Azurite does not emulate that
    (after its Put Blob the other put's blocks survive and its later commit succeeds)."""
    halfway, release = threading.Event(), threading.Event()
    slow = data(300 * KiB, "slow")

    def slow_body() -> Iterator[bytes]:
        yield slow[: 200 * KiB]
        halfway.set()
        release.wait(timeout=60)
        yield slow[200 * KiB :]

    failure: list[BaseException] = []

    def slow_put() -> None:
        try:
            driver.put(bucket, "k", slow_body())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=slow_put)
    thread.start()
    assert halfway.wait(timeout=60)
    fast_body = data(100 * KiB, "fast")
    fast = driver.put(bucket, "k", fast_body)
    release.set()
    thread.join(timeout=60)
    assert len(failure) == 1
    assert isinstance(failure[0], BlocksDiscarded)
    assert isinstance(failure[0], PreconditionFailed)
    with driver.get(bucket, "k") as reader:
        assert reader.read() == fast_body
    assert driver.head(bucket, "k").etag == fast.etag


# ---- multipart --------------------------------------------------------------------------------


def test_two_interleaved_uploads_to_one_key_never_mix(driver: AzureDriver, bucket: str) -> None:
    a_parts = [data(100 * KiB, "a1"), data(100 * KiB, "a2"), data(10, "a3")]
    b_parts = [data(100 * KiB, "b1"), data(100 * KiB, "b2"), data(10, "b3")]
    a = driver.initiate_multipart(bucket, "k", metadata={"who": "a"})
    b = driver.initiate_multipart(bucket, "k", metadata={"who": "b"})
    assert a != b
    sent_a, sent_b = [], []
    for n in (1, 2, 3):  # strictly interleaved, same part numbers
        sent_a.append(driver.upload_part(bucket, "k", a, n, a_parts[n - 1]))
        sent_b.append(driver.upload_part(bucket, "k", b, n, b_parts[n - 1]))
    assert {p.etag for p in sent_a}.isdisjoint(p.etag for p in sent_b), "block ids are unique per upload"
    assert driver.list_parts(bucket, "k", a) == sent_a
    assert driver.list_parts(bucket, "k", b) == sent_b
    assert sorted(u.upload_id for u in driver.list_multipart_uploads(bucket)) == sorted([a, b])

    driver.complete_multipart(bucket, "k", b, sent_b)
    with driver.get(bucket, "k") as reader:
        assert reader.read() == b"".join(b_parts)
    assert dict(driver.head(bucket, "k").metadata) == {"who": "b"}
    # B's commit discarded A's blocks (Azure keeps one uncommitted list per blob): A is gone.
    with pytest.raises(UploadNotFound):
        driver.complete_multipart(bucket, "k", a, sent_a)
    with driver.get(bucket, "k") as reader:
        assert reader.read() == b"".join(b_parts)


def test_upload_resumes_in_another_process(driver: AzureDriver, azurite: AzuriteServer, bucket: str) -> None:
    upload_id = driver.initiate_multipart(bucket, "k", content_type="text/x-resumed", metadata={"step": "one"})
    first = driver.upload_part(bucket, "k", upload_id, 1, data(100 * KiB, "first"))
    script = (
        "import sys\n"
        "from trove_dist.driver.registry import open_driver\n"
        "drv = open_driver(sys.argv[1])\n"
        "part = drv.upload_part(sys.argv[2], 'k', sys.argv[3], 2, b'second part')\n"
        "print(part.etag)\n"
        "drv.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, azurite.dsn(), bucket, upload_id],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parts = driver.list_parts(bucket, "k", upload_id)
    assert [p.part_number for p in parts] == [1, 2]
    assert parts[0] == first
    assert parts[1].etag == done.stdout.strip()
    info = driver.complete_multipart(bucket, "k", upload_id, parts)
    head = driver.head(bucket, "k")
    assert (head.size, head.content_type, dict(head.metadata)) == (
        len(data(100 * KiB, "first")) + len(b"second part"),
        "text/x-resumed",
        {"step": "one"},
    )
    assert head.etag == info.etag


def test_abort_hides_the_upload_while_azure_keeps_its_blocks(
    driver: AzureDriver, sdk: BlobServiceClient, bucket: str
) -> None:
    upload_id = driver.initiate_multipart(bucket, "k")
    part = driver.upload_part(bucket, "k", upload_id, 1, b"part")
    driver.abort_multipart(bucket, "k", upload_id)
    assert driver.list_multipart_uploads(bucket) == []
    for call in (
        lambda: driver.list_parts(bucket, "k", upload_id),
        lambda: driver.complete_multipart(bucket, "k", upload_id, [part]),
        lambda: driver.abort_multipart(bucket, "k", upload_id),
    ):
        with pytest.raises(UploadNotFound):
            call()
    kinds = sorted(p.kind for p in (parse_block(i, 0) for i in uncommitted_ids(sdk, bucket, "k")) if p)
    assert kinds[-1] == "x", "an abort marker"
    assert "p" in kinds, "uncommitted blocks cannot be deleted: they wait for Azure to discard them"


def test_uploads_to_existing_keys_are_not_listed(driver: AzureDriver, bucket: str) -> None:
    """Azure lists blobs that have only uncommitted blocks, not the uncommitted blocks of an
    existing blob: such uploads work but ``list_multipart_uploads`` cannot see them."""
    driver.put(bucket, "exists", b"x")
    hidden = driver.initiate_multipart(bucket, "exists")
    seen = driver.initiate_multipart(bucket, "new")
    assert [(u.key, u.upload_id) for u in driver.list_multipart_uploads(bucket)] == [("new", seen)]
    assert driver.list_parts(bucket, "exists", hidden) == []


def test_manifest_keeps_large_metadata_and_unicode(driver: AzureDriver, bucket: str) -> None:
    metadata = {f"name-{i}": "välue ✓ " * 8 for i in range(12)}
    upload_id = driver.initiate_multipart(bucket, "k", content_type="text/plain; charset=utf-8", metadata=metadata)
    part = driver.upload_part(bucket, "k", upload_id, 1, b"x")
    (listed,) = driver.list_multipart_uploads(bucket)
    assert listed.initiated is not None
    assert listed.upload_id == upload_id
    driver.complete_multipart(bucket, "k", upload_id, [part])
    head = driver.head(bucket, "k")
    assert (head.content_type, dict(head.metadata)) == ("text/plain; charset=utf-8", metadata)


def test_complete_checks_the_parts(driver: AzureDriver, bucket: str) -> None:
    upload_id = driver.initiate_multipart(bucket, "k")
    one = driver.upload_part(bucket, "k", upload_id, 1, b"one")
    two = driver.upload_part(bucket, "k", upload_id, 2, b"two")
    with pytest.raises(ValueError, match="ascending"):
        driver.complete_multipart(bucket, "k", upload_id, [two, one])
    with pytest.raises(ValueError, match="at least one part"):
        driver.complete_multipart(bucket, "k", upload_id, [])
    driver.upload_part(bucket, "k", upload_id, 2, b"two, again and longer")
    with pytest.raises(ValueError, match="re-uploaded"):
        driver.complete_multipart(bucket, "k", upload_id, [one, two])
    for bad in (0, 50_001):
        with pytest.raises(ValueError, match="part_number"):
            driver.upload_part(bucket, "k", upload_id, bad, b"x")
    info = driver.complete_multipart(bucket, "k", upload_id, driver.list_parts(bucket, "k", upload_id))
    assert info.size == len(b"one") + len(b"two, again and longer")


def test_complete_with_if_match(driver: AzureDriver, bucket: str) -> None:
    current = driver.put(bucket, "k", b"current")
    upload_id = driver.initiate_multipart(bucket, "k")
    part = driver.upload_part(bucket, "k", upload_id, 1, b"new")
    with pytest.raises(PreconditionFailed):
        driver.complete_multipart(bucket, "k", upload_id, [part], if_match="0x0000")
    driver.complete_multipart(bucket, "k", upload_id, [part], if_match=current.etag)
    with driver.get(bucket, "k") as reader:
        assert reader.read() == b"new"


# ---- SAS URLs -------------------------------------------------------------------------------


def test_presigned_put_with_the_blob_type_header(driver: AzureDriver, bucket: str) -> None:
    url = driver.presign_put(bucket, "up load.txt", timedelta(minutes=5), content_type="text/plain")
    request = urllib.request.Request(
        url,
        data=b"uploaded",
        method="PUT",
        headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
    head = driver.head(bucket, "up load.txt")
    assert (head.size, head.content_type) == (8, "text/plain")


def test_presigned_urls_are_scoped(driver: AzureDriver, bucket: str) -> None:
    driver.put(bucket, "k", b"secret")
    read_url = driver.presign_get(bucket, "k", timedelta(minutes=5))
    write = urllib.request.Request(read_url, data=b"overwrite", method="PUT", headers={"x-ms-blob-type": "BlockBlob"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(write)
    assert refused.value.code == 403, "a read SAS must not write"
    tampered = read_url.replace("sig=", "sig=A")
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(tampered)
    assert forged.value.code == 403
    with pytest.raises(ValueError, match="positive"):
        driver.presign_get(bucket, "k", timedelta(0))


def test_presigned_url_expires(driver: AzureDriver, bucket: str) -> None:
    driver.put(bucket, "k", b"short-lived")
    url = driver.presign_get(bucket, "k", timedelta(seconds=1))
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(url)
    assert expired.value.code == 403


# ---- copy ------------------------------------------------------------------------------------


def test_server_copy_of_a_staged_object_keeps_its_checksum(driver: AzureDriver, bucket: str) -> None:
    body = data(500 * KiB, "copied")
    source = driver.put(bucket, "src", body, checksum="blake3", metadata={"a": "1"})
    info = driver.server_copy(bucket, "src", bucket, "dst", metadata={"b": "2"}, content_type="x/y")
    assert (info.checksum, dict(info.metadata), info.content_type, info.size) == (
        source.checksum,
        {"b": "2"},
        "x/y",
        len(body),
    )
    with driver.get(bucket, "dst") as reader:
        assert reader.read() == body


# ---- retries and unavailability ----------------------------------------------------------------


def test_dead_endpoint_is_backend_unavailable_quickly() -> None:
    with socket_nobody_listens() as port:
        drv = open_driver(f"azure://{ACCOUNT}:a2V5@127.0.0.1:{port}?tls=false&retries=2&retry_base=0.01")
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            drv.head("some-bucket", "k")
        assert time.monotonic() - started < 5
        drv.close()


def test_server_errors_are_retried_as_configured() -> None:
    hits: list[str] = []

    class AlwaysBusy(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            hits.append(self.path)
            self.send_response(503)
            self.send_header("x-ms-error-code", "ServerBusy")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysBusy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        drv = open_driver(f"azure://{ACCOUNT}:a2V5@127.0.0.1:{port}?tls=false&retries=4&retry_base=0.01")
        with pytest.raises(BackendUnavailable, match="503"):
            drv.head("some-bucket", "k")
        assert len(hits) == 4, "retries=4 means four attempts"
        drv.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class socket_nobody_listens:
    """A loopback port that was free a moment ago and that nothing listens on."""

    def __enter__(self) -> int:
        from tests.servers.process import free_port

        return free_port()

    def __exit__(self, *exc: object) -> None:
        return None


# ---- metadata and listing ---------------------------------------------------------------------


def test_metadata_azure_cannot_hold_plainly_round_trips(
    driver: AzureDriver, sdk: BlobServiceClient, bucket: str
) -> None:
    metadata = {
        "owner": "ada",
        "x-color": "blue",
        "trove_checksum": "user value, not a checksum",
        "trove_m_x": "also the user's",
        "spaced": "  padded  ",
        "tab": "a\tb",
        "unicode": "naïve ✓",
        "empty": "",
        "percent%": "100%",
        "under_score": "u",
    }
    driver.put(bucket, "k", b"x", metadata=metadata)
    head = driver.head(bucket, "k")
    assert dict(head.metadata) == metadata
    assert head.checksum is None
    stored = sdk.get_container_client(bucket).get_blob_client("k").get_blob_properties().metadata
    assert stored["owner"] == "ada", "what Azure can hold is stored as it is, for other tools"
    assert stored["under_score"] == "u"
    assert all(name.isidentifier() for name in stored)


def test_foreign_metadata_is_read_lowercased(driver: AzureDriver, sdk: BlobServiceClient, bucket: str) -> None:
    sdk.get_container_client(bucket).get_blob_client("k").upload_blob(b"x", metadata={"Author": "Grace"})
    assert dict(driver.head(bucket, "k").metadata) == {"author": "Grace"}


def test_pagination_follows_the_service_order(driver: AzureDriver, bucket: str) -> None:
    keys = ["a", "\uff61half", "\U00010000linear", "😀", "z"]
    for key in keys:
        driver.put(bucket, key, b"x")
    service_order = sorted(keys, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
    for page_size in (1, 2, 3):
        listed = [o.key for o in driver.iter_list(bucket, page_size=page_size)]  # type: ignore[union-attr]
        assert listed == service_order, f"page_size={page_size}"
    after = driver.list(bucket, start_after="\U00010000linear").objects
    assert [o.key for o in after] == ["😀", "\uff61half"]


# ---- pure units ---------------------------------------------------------------------------------


def test_block_sizes_never_need_more_than_50000_blocks() -> None:
    from trove_dist.drivers.azure.blocks import BlockSizer
    from trove_dist.drivers.azure.config import MAX_BLOCK_BYTES, MAX_BLOCKS

    known = BlockSizer(8 * MiB, 1024**4)  # 1 TiB announced up front
    assert known.base * MAX_BLOCKS >= 1024**4
    unknown = BlockSizer(8 * MiB, None)
    capacity = sum(unknown.size_of(i) for i in range(MAX_BLOCKS))
    assert capacity >= 2 * 1024**4, "a stream of unknown length still reaches terabytes"
    assert unknown.size_of(0) == 8 * MiB
    assert unknown.size_of(10_000) == 16 * MiB
    assert BlockSizer(8 * MiB, 190 * 1024**4).size_of(0) <= MAX_BLOCK_BYTES
    with pytest.raises(ValueError, match="50000 blocks"):
        unknown.size_of(MAX_BLOCKS)


@pytest.mark.parametrize("name", ["x-color", "a_b", "__", "a.b-c_d", "trove_m_x", "-_-", "0start", "~!$"])
def test_metadata_name_escaping_round_trips(name: str) -> None:
    from trove_dist.drivers.azure.metadata import escape_name, unescape_name

    escaped = escape_name(name)
    assert ("n" + escaped).isidentifier()
    assert unescape_name(escaped) == name


def test_garbled_manifest_is_no_upload() -> None:
    from trove_dist.drivers.azure.blocks import MANIFEST, Manifest, block_id, uploads_in

    manifest = Manifest("text/plain", {"k": "v" * 200})
    ids = manifest.block_ids("0" * 20)
    assert len(ids) > 1
    assert all(len(i) == ID_LENGTH for i in ids)
    whole = uploads_in([(i, 1) for i in ids])["0" * 20]
    assert whole.is_live
    assert whole.manifest is not None
    assert whole.manifest.metadata == {"k": "v" * 200}
    missing_chunk = uploads_in([(i, 1) for i in ids[1:]])["0" * 20]
    assert not missing_chunk.is_live
    garbage = uploads_in([(block_id("1" * 20, MANIFEST, 0, "not-zlib"), 1)])["1" * 20]
    assert not garbage.is_live
    assert uploads_in([("someone else's block id", 1)]) == {}


def test_error_translation() -> None:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    from trove_dist.drivers.azure.errors import AzureRequestFailed, translate
    from trove_dist.errors import BucketAlreadyExists, BucketNotFound, InvalidRange

    def http(status: int, code: str) -> HttpResponseError:
        error = HttpResponseError(message=f"{status} {code}")
        error.status_code = status
        error.error_code = code  # type: ignore[attr-defined]
        return error

    assert isinstance(translate(http(404, "ContainerNotFound"), "get", bucket="b", key="k"), BucketNotFound)
    assert isinstance(translate(http(404, "BlobNotFound"), "get", bucket="b", key="k"), ObjectNotFound)
    assert isinstance(translate(http(404, "BlobNotFound"), "x", bucket="b", key="k", upload_id="u"), UploadNotFound)
    assert isinstance(translate(http(409, "ContainerAlreadyExists"), "create", bucket="b"), BucketAlreadyExists)
    assert isinstance(
        translate(http(409, "BlobAlreadyExists"), "put", bucket="b", key="k", conditional=True), PreconditionFailed
    )
    assert isinstance(translate(http(412, "ConditionNotMet"), "put", bucket="b", key="k"), PreconditionFailed)
    assert isinstance(translate(http(400, "InvalidBlockList"), "put", bucket="b", key="k"), BlocksDiscarded)
    assert isinstance(translate(http(416, "InvalidRange"), "get", bucket="b", key="k"), InvalidRange)
    denied = translate(http(403, "AuthorizationFailure"), "put", bucket="b", key="k")
    assert isinstance(denied, PermissionDenied)
    assert denied.operation == "put"
    assert isinstance(translate(http(503, "ServerBusy"), "put"), BackendUnavailable)
    assert isinstance(translate(ServiceRequestError("refused"), "put"), BackendUnavailable)
    odd = translate(http(400, "InvalidHeaderValue"), "put", bucket="b", key="k")
    assert isinstance(odd, AzureRequestFailed)
    assert "InvalidHeaderValue" in str(odd)
