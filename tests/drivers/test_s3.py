"""The S3 driver against moto's S3 server (a real HTTP server process on 127.0.0.1).

Most tests talk to moto.  Where moto does not behave as S3 does, the server-level case is an
expected failure (``xfail(strict=True)``, so that a moto release that fixes the gap is noticed)
and the request the driver sends is checked at the client level instead, with botocore's
``Stubber`` answering as AWS documents; each such test says which gap it stands in for.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from tests.servers.process import free_port
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, CuttingProxy, MotoServer, moto_server
from trove_dist.checksum import Checksum, digest
from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import CAPABILITIES, LifecycleRule, capabilities_of
from trove_dist.driver.dsn import parse_dsn
from trove_dist.driver.registry import open_driver
from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.s3 import S3Driver
from trove_dist.drivers.s3.parts import TIER_PARTS, PartSizer, TooManyParts
from trove_dist.drivers.s3.settings import GiB, MiB, S3Settings
from trove_dist.errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    ChecksumMismatch,
    InvalidCursor,
    InvalidDSN,
    NotFound,
    ObjectNotFound,
    PermissionDenied,
    PreconditionFailed,
    TroveError,
    UnsupportedCapability,
    UploadNotFound,
    VersionNotFound,
)
from trove_dist.testing import BucketFactory, DriverConformance, DriverFactory
from trove_dist.testing.harness import payload, read_all

#: A part size S3 accepts (5 MiB) as the threshold too, so multipart paths run on small bodies.
SMALL = 5 * MiB


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


def _gap(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"moto gap: {reason}")


# ---- the conformance suite ------------------------------------------------------------------


class TestS3Conformance(DriverConformance):
    """The whole suite, with the default (AWS-sized) thresholds: the 256 MiB large-object cases
    run in full (moto holds them in memory and takes about 15 s)."""

    @pytest.fixture
    def driver_factory(self, moto: MotoServer) -> DriverFactory:
        return lambda: open_driver(moto.dsn())

    @_gap("StartAfter is applied after keys are rolled up into common prefixes, dropping dir/")
    def test_start_after_with_delimiter(self, driver: Driver, bucket: str) -> None:
        super().test_start_after_with_delimiter(driver, bucket)

    @_gap("UploadPart to an aborted upload answers 500 (a KeyError), not 404 NoSuchUpload")
    def test_abort(self, driver: Driver, bucket: str) -> None:
        super().test_abort(driver, bucket)

    @_gap("UploadPart to an unknown upload id answers 500 (a KeyError), not 404 NoSuchUpload")
    def test_unknown_upload_id_raises_upload_not_found(self, driver: Driver, bucket: str) -> None:
        super().test_unknown_upload_id_raises_upload_not_found(driver, bucket)

    @_gap("UploadPart does not check that the upload id belongs to the key")
    def test_upload_id_is_bound_to_its_key(self, driver: Driver, bucket: str) -> None:
        super().test_upload_id_is_bound_to_its_key(driver, bucket)


# ---- fixtures for the driver's own tests ------------------------------------------------------


@pytest.fixture
def make_driver(moto: MotoServer) -> Iterator[Callable[..., S3Driver]]:
    """Drivers on moto with small thresholds (multipart from 5 MiB), closed after the test."""
    opened: list[S3Driver] = []

    def make(**params: str) -> S3Driver:
        defaults = {"multipart_threshold": "5MiB", "part_size": "5MiB", "concurrency": "3"}
        driver = open_driver(moto.dsn(**{**defaults, **params}))
        assert isinstance(driver, S3Driver)
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.close()


@pytest.fixture
def s3(make_driver: Callable[..., S3Driver]) -> S3Driver:
    return make_driver()


@pytest.fixture
def bucket(s3: S3Driver) -> Iterator[str]:
    factory = BucketFactory(s3)
    yield factory()
    factory.cleanup()


def _chunks(data: bytes, size: int = 1 * MiB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Requests:
    """Counts the requests a client sends, by operation, and how many run at once — through
    botocore's own event hooks, so the real requests still reach the server."""

    def __init__(self, driver: S3Driver) -> None:
        self.counts: dict[str, int] = {}
        self.params: dict[str, list[dict[str, Any]]] = {}
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self._lock = threading.Lock()
        events = driver.client.meta.events
        events.register("provide-client-params.s3", self._params)
        events.register("before-call.s3", self._before)
        events.register("after-call.s3", self._after)

    def _params(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """The operation's parameters as the driver passed them (before serialisation)."""
        with self._lock:
            self.counts[model.name] = self.counts.get(model.name, 0) + 1
            self.params.setdefault(model.name, []).append(dict(params))

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            name = model.name
            self.in_flight[name] = self.in_flight.get(name, 0) + 1
            self.peak[name] = max(self.peak.get(name, 0), self.in_flight[name])

    def _after(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.in_flight[model.name] -= 1


# ---- DSN, configuration, secrets ------------------------------------------------------------


def test_dsn_example_opens_the_driver(moto: MotoServer) -> None:
    dsn = (
        f"s3://{ACCESS_KEY}:{SECRET_KEY}@127.0.0.1:{moto.port}?region=eu-west-1&tls=false&addressing=path"
        "&retries=3&retry_base=0.05&retry_max=1&connect_timeout=2&read_timeout=30"
        "&multipart_threshold=16MiB&part_size=10MiB&concurrency=6&copy_threshold=64MiB"
    )
    with open_driver(dsn) as driver:
        assert isinstance(driver, S3Driver)
        assert driver.settings == S3Settings(
            endpoint_url=f"http://127.0.0.1:{moto.port}",
            region="eu-west-1",
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            addressing="path",
            multipart_threshold=16 * MiB,
            part_size=10 * MiB,
            concurrency=6,
            copy_threshold=64 * MiB,
            connect_timeout=2.0,
            read_timeout=30.0,
            retry=RetryPolicy(attempts=3, base_delay=0.05, max_delay=1.0),
        )
        driver.ping()


def test_dsn_without_host_means_aws_and_tls() -> None:
    settings = S3Settings.from_dsn(parse_dsn("s3://?region=us-west-2"))
    assert settings.endpoint_url is None
    assert settings.addressing == "auto"
    assert (settings.access_key, settings.secret_key) == (None, None)  # boto3's chain
    assert S3Settings.from_dsn(parse_dsn("s3://minio.local:9000")).endpoint_url == "https://minio.local:9000"


@pytest.mark.parametrize(
    "dsn",
    [
        "s3://h?typo_param=1",
        "s3://h/bucket-in-path",
        "s3://h?part_size=1MiB",  # under S3's 5 MiB minimum
        "s3://h?part_size=6GiB",
        "s3://h?concurrency=0",
        "s3://h?addressing=sideways",
        "s3://h?tls=maybe",
        "s3://h?multipart_threshold=lots",
        "s3://h?retries=0",
        "s3://user@h",  # a key without its secret
        "s3://:1234",  # a port without a host
    ],
)
def test_bad_dsns_are_refused(dsn: str) -> None:
    with pytest.raises(InvalidDSN):
        S3Settings.from_dsn(parse_dsn(dsn))


def test_session_token_is_passed_and_hidden(moto: MotoServer) -> None:
    dsn = moto.dsn(session_token="token-do-not-log")
    assert "token-do-not-log" not in str(parse_dsn(dsn))
    with open_driver(dsn) as driver:
        assert isinstance(driver, S3Driver)
        sent: list[Any] = []
        driver.client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.headers))
        driver.ping()
        assert sent[-1]["X-Amz-Security-Token"] in ("token-do-not-log", b"token-do-not-log")
        assert "token-do-not-log" not in repr(driver)
        assert "token-do-not-log" not in repr(driver.settings)


def test_secret_never_appears_in_repr_or_errors(moto: MotoServer) -> None:
    dead = f"s3://{ACCESS_KEY}:{SECRET_KEY}@127.0.0.1:{free_port()}?tls=false&retries=1&connect_timeout=1"
    with S3Driver.from_dsn(parse_dsn(dead)) as driver:
        assert SECRET_KEY not in repr(driver)
        assert SECRET_KEY not in str(driver.settings)
        assert SECRET_KEY not in str(parse_dsn(dead))
        with pytest.raises(BackendUnavailable) as caught:
            driver.head("some-bucket", "key")
        assert SECRET_KEY not in str(caught.value)
        assert SECRET_KEY not in repr(caught.value)
    with open_driver(moto.dsn()) as live, pytest.raises(NotFound) as missing:
        live.head("no-such-bucket-here", "key")
    assert SECRET_KEY not in str(missing.value)
    assert ACCESS_KEY not in repr(live)


def test_dead_endpoint_is_backend_unavailable_after_the_configured_retries() -> None:
    port = free_port()  # bound and released: nothing listens there
    dsn = f"s3://k:s@127.0.0.1:{port}?tls=false&retries=3&retry_base=0.01&retry_max=0.05&connect_timeout=1"
    with open_driver(dsn) as driver:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="after 3 attempts"):
            driver.put("bucket", "key", b"x")
        with pytest.raises(BackendUnavailable):
            driver.ping()
        assert time.monotonic() - started < 10


def test_transient_errors_are_retried_then_reported(s3: S3Driver) -> None:
    """Client level: moto does not fail on demand, so the Stubber plays S3 answering 503 SlowDown."""
    with Stubber(s3.client) as stub:
        stub.add_client_error("head_object", "SlowDown", http_status_code=503)
        stub.add_client_error("head_object", "InternalError", http_status_code=500)
        stub.add_response("head_object", _head_answer(7), {"Bucket": "bkt", "Key": "k"})
        assert s3.head("bkt", "k").size == 7  # third attempt of the default five
        for _ in range(5):
            stub.add_client_error("head_object", "SlowDown", http_status_code=503)
        with pytest.raises(BackendUnavailable, match="5 attempts"):
            s3.head("bkt", "k")
        stub.assert_no_pending_responses()


def test_access_denied_is_permission_denied_naming_backend_and_operation(s3: S3Driver) -> None:
    """Client level: moto does not check credentials, so the Stubber answers as S3 does."""
    with Stubber(s3.client) as stub:
        stub.add_client_error("put_object", "AccessDenied", "Access Denied", http_status_code=403)
        with pytest.raises(PermissionDenied) as caught:
            s3.put("bkt", "k", b"x")
    assert (caught.value.backend, caught.value.operation) == ("s3", "put_object")


def _head_answer(size: int, etag: str = '"e"') -> dict[str, Any]:
    from datetime import UTC, datetime

    return {"ContentLength": size, "ETag": etag, "LastModified": datetime.now(UTC), "Metadata": {}}


# ---- streaming put: thresholds, parts, failures -----------------------------------------------


def test_small_body_is_one_put_object(s3: S3Driver, bucket: str) -> None:
    requests = Requests(s3)
    data = payload(SMALL, "small")  # exactly the threshold: still one request
    s3.put(bucket, "k", data, checksum="sha256")
    assert requests.counts.get("PutObject") == 1
    assert "CreateMultipartUpload" not in requests.counts
    assert s3.head(bucket, "k").checksum == digest("sha256", data)


def test_large_stream_is_uploaded_in_parts_with_bounded_concurrency(s3: S3Driver, bucket: str) -> None:
    requests = Requests(s3)
    data = payload(23 * MiB, "parts")
    info = s3.put(bucket, "k", _chunks(data, 3 * MiB + 1))
    assert requests.counts["UploadPart"] == 5  # 4 parts of 5 MiB and a last one of 3 MiB
    assert requests.peak["UploadPart"] <= 3, "more parts in flight than concurrency=3"
    sent = requests.params["UploadPart"]
    assert sorted(p["ContentLength"] for p in sent) == [3 * MiB] + [SMALL] * 4
    assert {p["ChecksumAlgorithm"] for p in sent} == {"CRC32"}, "S3 is to verify every part"
    (completion,) = requests.params["CompleteMultipartUpload"]
    assert all(p["ChecksumCRC32"] for p in completion["MultipartUpload"]["Parts"])
    assert read_all(s3, bucket, "k") == data
    assert s3.head(bucket, "k").etag == info.etag
    assert info.etag.endswith("-5"), "S3 names multipart etags after their part count"
    assert s3.list_multipart_uploads(bucket) == []


def test_known_size_plans_parts_within_the_limit() -> None:
    for size in (0, 1, 5 * MiB, 50 * GiB, 5 * 1024 * GiB):
        sizer = PartSizer(5 * MiB, size)
        parts = max(1, -(-size // sizer.base))
        assert parts <= 10_000
        assert sizer.base >= 5 * MiB
        assert sizer.size_of(parts) == sizer.base


def test_unknown_size_grows_parts_so_10000_hold_5_tib() -> None:
    sizer = PartSizer(5 * MiB, None)
    sizes = [sizer.size_of(n) for n in range(1, 10_001)]
    assert sizes[0] == sizes[TIER_PARTS - 1] == 5 * MiB
    assert sizes[TIER_PARTS] == 10 * MiB
    assert all(5 * MiB <= s <= 5 * GiB for s in sizes)
    assert sizes == sorted(sizes)
    assert sum(sizes) >= 4.8 * 1024 * GiB  # S3's largest object is 5 TiB
    with pytest.raises(TooManyParts):
        sizer.size_of(10_001)


def test_failing_body_aborts_the_upload_and_keeps_the_previous_object(s3: S3Driver, bucket: str) -> None:
    s3.put(bucket, "k", b"previous")

    def broken() -> Iterator[bytes]:
        yield from _chunks(payload(12 * MiB, "broken"))
        raise OSError("the source failed after 12 MiB")

    with pytest.raises(OSError, match="12 MiB"):
        s3.put(bucket, "k", broken())
    assert read_all(s3, bucket, "k") == b"previous"
    assert s3.list_multipart_uploads(bucket) == [], "the failed upload was left dangling"


def test_a_refused_part_stops_the_upload_early_and_aborts(s3: S3Driver, bucket: str) -> None:
    """moto cannot refuse a part on demand: a botocore hook refuses part 3 before it is sent
    (every other request reaches the server)."""

    def refuse_part_three(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 3:
            raise ClientError({"Error": {"Code": "InvalidRequest", "Message": "part 3 refused"}}, "UploadPart")

    s3.client.meta.events.register("provide-client-params.s3.UploadPart", refuse_part_three)
    block = payload(1 * MiB, "block")
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(1000):  # 1000 MiB, were it read to the end
            pulled += 1
            yield block

    with pytest.raises(TroveError, match="part 3 refused"):
        s3.put(bucket, "k", endless())
    assert pulled < 60, f"the body was read for {pulled} MiB after a part had failed"
    assert s3.list_multipart_uploads(bucket) == []
    assert not s3.exists(bucket, "k")


def test_checksum_mismatch_of_a_multipart_body_aborts(s3: S3Driver, bucket: str) -> None:
    s3.put(bucket, "k", b"previous")
    data = payload(12 * MiB, "mismatch")
    with pytest.raises(ChecksumMismatch):
        s3.put(bucket, "k", _chunks(data), checksum=digest("sha256", data[:-1]))
    assert read_all(s3, bucket, "k") == b"previous"
    assert s3.list_multipart_uploads(bucket) == []


@pytest.mark.parametrize("algorithm", ["sha256", "blake3", "xxh3"])
def test_checksum_of_a_multipart_stream_is_stored(s3: S3Driver, bucket: str, algorithm: str) -> None:
    requests = Requests(s3)
    data = payload(11 * MiB, "stamped")
    info = s3.put(bucket, "k", _chunks(data), checksum=algorithm, metadata={"Owner": "ada"}, content_type="x/y")
    expected = digest(algorithm, data)
    head = s3.head(bucket, "k")
    assert info.checksum == head.checksum == expected
    assert (head.etag, head.size, head.content_type, dict(head.metadata)) == (
        info.etag,
        len(data),
        "x/y",
        {"owner": "ada"},
    )
    (stamp,) = requests.params["CopyObject"]
    assert stamp["MetadataDirective"] == "REPLACE"
    assert stamp["CopySourceIfMatch"] == stamp["IfMatch"], "the stamp must be pinned to our own completion"
    assert stamp["IfMatch"] != f'"{info.etag}"', "the stamp is a new write with its own etag"
    assert read_all(s3, bucket, "k") == data


def test_checksum_stamp_above_the_copy_threshold_uses_part_copies(
    make_driver: Callable[..., S3Driver], bucket: str
) -> None:
    s3 = make_driver(copy_threshold="5MiB")
    requests = Requests(s3)
    data = payload(11 * MiB, "stamped-big")
    info = s3.put(bucket, "k", _chunks(data), checksum="sha256")
    assert s3.head(bucket, "k").checksum == info.checksum == digest("sha256", data)
    assert requests.counts["UploadPartCopy"] == 3
    assert "CopyObject" not in requests.counts
    completed, stamped = requests.params["CompleteMultipartUpload"]
    pinned = {p["CopySourceIfMatch"] for p in requests.params["UploadPartCopy"]}
    assert "IfMatch" not in completed
    assert pinned == {stamped["IfMatch"]}, "parts and completion of the stamp are pinned to our upload"
    # the copied parts are the same bytes in the same layout: S3 gives the stamped object the
    # same multipart etag, so a reader's etag from before the stamp still matches
    assert stamped["IfMatch"] == f'"{info.etag}"'
    assert read_all(s3, bucket, "k") == data


def test_checksum_stamp_in_a_versioned_bucket(s3: S3Driver, bucket: str) -> None:
    s3.set_versioning(bucket, True)
    data = payload(6 * MiB, "versioned-stamp")
    info = s3.put(bucket, "k", _chunks(data), checksum="sha256")
    versions = [v for v in s3.list_versions(bucket) if v.key == "k"]
    # documented cost: the completed upload and its stamped copy, same content
    assert len(versions) == 2
    assert [v.version_id for v in versions if v.is_latest] == [info.version_id]
    assert s3.head(bucket, "k").checksum == info.checksum


def test_if_none_match_on_a_multipart_put_refuses_an_existing_key(s3: S3Driver, bucket: str) -> None:
    s3.put(bucket, "k", b"existing")
    with pytest.raises(PreconditionFailed):
        s3.put(bucket, "k", _chunks(payload(7 * MiB, "late")), if_none_match="*")
    assert read_all(s3, bucket, "k") == b"existing"
    assert s3.list_multipart_uploads(bucket) == []
    s3.put(bucket, "new", _chunks(payload(7 * MiB, "first")), if_none_match="*")
    assert s3.head(bucket, "new").size == 7 * MiB


@_gap("CompleteMultipartUpload ignores If-Match (only If-None-Match is checked)")
def test_if_match_on_a_multipart_put_with_a_stale_etag_fails(s3: S3Driver, bucket: str) -> None:
    stale = s3.put(bucket, "k", b"v1").etag
    s3.put(bucket, "k", b"v2")
    with pytest.raises(PreconditionFailed):
        s3.put(bucket, "k", _chunks(payload(7 * MiB, "cas")), if_match=stale)


def test_if_match_on_a_multipart_put_is_sent_with_the_completion(s3: S3Driver) -> None:
    """Client level, for the gap above: the condition rides on CompleteMultipartUpload, and S3's
    412 (or its 404 for a missing key) aborts the upload and raises PreconditionFailed."""
    for code, status in (("PreconditionFailed", 412), ("NoSuchKey", 404)):
        with Stubber(s3.client) as stub:
            stub.add_response("create_multipart_upload", {"UploadId": "up-1"})
            stub.add_response("upload_part", {"ETag": '"p1"', "ChecksumCRC32": "c1"})
            stub.add_response("upload_part", {"ETag": '"p2"', "ChecksumCRC32": "c2"})
            stub.add_client_error(
                "complete_multipart_upload",
                code,
                http_status_code=status,
                expected_params={
                    "Bucket": "bkt",
                    "Key": "k",
                    "UploadId": "up-1",
                    "MultipartUpload": {
                        "Parts": [
                            {"PartNumber": 1, "ETag": '"p1"', "ChecksumCRC32": "c1"},
                            {"PartNumber": 2, "ETag": '"p2"', "ChecksumCRC32": "c2"},
                        ]
                    },
                    "IfMatch": '"old-etag"',
                },
            )
            stub.add_response("abort_multipart_upload", {}, {"Bucket": "bkt", "Key": "k", "UploadId": "up-1"})
            with pytest.raises(PreconditionFailed):
                s3.put("bkt", "k", _chunks(payload(6 * MiB, "cas")), if_match="old-etag")
            stub.assert_no_pending_responses()


def test_conditional_put_object_requests(s3: S3Driver) -> None:
    """Client level: If-Match / If-None-Match go on PutObject; a 404 for If-Match is a failed
    precondition (the key is absent), as the contract says."""
    with Stubber(s3.client) as stub:
        stub.add_client_error(
            "put_object",
            "NoSuchKey",
            http_status_code=404,
            expected_params={
                "Bucket": "bkt",
                "Key": "k",
                "Body": ANY,
                "ContentLength": 1,
                "ContentType": ANY,
                "Metadata": {},
                "IfMatch": '"abc"',
            },
        )
        with pytest.raises(PreconditionFailed):
            s3.put("bkt", "k", b"x", if_match="abc")
        stub.assert_no_pending_responses()


def test_no_worker_thread_outlives_close(make_driver: Callable[..., S3Driver], bucket: str) -> None:
    s3 = make_driver()
    s3.put(bucket, "k", _chunks(payload(11 * MiB, "threads")))
    assert any(t.name.startswith("trove-s3") for t in threading.enumerate())
    s3.close()
    assert not any(t.name.startswith("trove-s3") for t in threading.enumerate())


# ---- multipart capability ---------------------------------------------------------------------


def test_upload_resumed_and_completed_by_another_process(s3: S3Driver, bucket: str, moto: MotoServer) -> None:
    part_one, part_two = payload(SMALL, "one"), payload(1234, "two")
    upload_id = s3.initiate_multipart(bucket, "resumed", content_type="a/b", metadata={"k": "v"})
    first = s3.upload_part(bucket, "resumed", upload_id, 1, part_one)
    script = textwrap.dedent(
        f"""
        from trove_dist.driver.registry import open_driver
        driver = open_driver({moto.dsn()!r})
        parts = driver.list_parts({bucket!r}, "resumed", {upload_id!r})
        assert [(p.part_number, p.etag, p.size) for p in parts] == [(1, {first.etag!r}, {SMALL})], parts
        parts.append(driver.upload_part({bucket!r}, "resumed", {upload_id!r}, 2, {part_two!r}))
        print(driver.complete_multipart({bucket!r}, "resumed", {upload_id!r}, parts).etag)
        driver.close()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    head = s3.head(bucket, "resumed")
    assert head.etag == done.stdout.strip()
    assert (head.content_type, dict(head.metadata)) == ("a/b", {"k": "v"})
    assert read_all(s3, bucket, "resumed") == part_one + part_two
    assert s3.list_multipart_uploads(bucket) == []


def test_in_progress_uploads_are_listed_and_aborted(s3: S3Driver, bucket: str) -> None:
    upload_id = s3.initiate_multipart(bucket, "a/k")
    s3.upload_part(bucket, "a/k", upload_id, 1, b"part")
    assert [(u.key, u.upload_id) for u in s3.list_multipart_uploads(bucket, "a/")] == [("a/k", upload_id)]
    assert s3.list_multipart_uploads(bucket, "b/") == []
    s3.abort_multipart(bucket, "a/k", upload_id)
    assert s3.list_multipart_uploads(bucket) == []
    with pytest.raises(UploadNotFound):
        s3.list_parts(bucket, "a/k", upload_id)
    with pytest.raises(ObjectNotFound):
        s3.head(bucket, "a/k")


def test_upload_part_to_an_unknown_upload_is_upload_not_found(s3: S3Driver) -> None:
    """Client level, for moto's 500 on UploadPart to an unknown or foreign upload id."""
    with Stubber(s3.client) as stub:
        stub.add_client_error("upload_part", "NoSuchUpload", http_status_code=404)
        with pytest.raises(UploadNotFound) as caught:
            s3.upload_part("bkt", "k", "gone", 1, b"late")
    assert caught.value.upload_id == "gone"


def test_upload_part_streams_a_file(s3: S3Driver, bucket: str, tmp_path: Any) -> None:
    path = tmp_path / "part.bin"
    data = payload(SMALL + 10, "file-part")
    path.write_bytes(data)
    upload_id = s3.initiate_multipart(bucket, "k")
    with path.open("rb") as fh:
        fh.seek(10)
        part = s3.upload_part(bucket, "k", upload_id, 1, fh)
    assert part.size == SMALL
    s3.complete_multipart(bucket, "k", upload_id, [part])
    assert read_all(s3, bucket, "k") == data[10:]


# ---- reads ------------------------------------------------------------------------------------


def test_range_reads_ask_for_the_range_only(s3: S3Driver, bucket: str) -> None:
    data = payload(100_000, "range")
    s3.put(bucket, "k", data)
    requests = Requests(s3)
    with s3.get_range(bucket, "k", 1000, 50) as reader:
        assert reader.read() == data[1000:1050]
    assert requests.params["GetObject"][-1]["Range"] == "bytes=1000-1049"
    with s3.get(bucket, "k", offset=99_990) as reader:
        assert reader.read() == data[99_990:]
    assert requests.params["GetObject"][-1]["Range"] == "bytes=99990-"


def test_an_endpoint_that_ignores_ranges_is_refused_not_misread(s3: S3Driver) -> None:
    """Client level: some S3-compatible servers answer a ranged GET with the whole object (200,
    no Content-Range); the driver must not hand those bytes out as the range."""
    whole = b"0123456789"
    with Stubber(s3.client) as stub:
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(whole), len(whole)), "ContentLength": len(whole), "ETag": '"e"'},
            {"Bucket": "bkt", "Key": "k", "Range": "bytes=4-5"},
        )
        with pytest.raises(TroveError, match="ignored the Range"):
            s3.get_range("bkt", "k", 4, 2)


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(moto.port)
    yield cutting
    cutting.close()


def test_read_resumes_after_a_dropped_connection(
    s3: S3Driver, bucket: str, proxy: CuttingProxy, make_driver: Callable[..., S3Driver], moto: MotoServer
) -> None:
    data = payload(3 * MiB, "resume")
    s3.put(bucket, "k", data)
    through_proxy = open_driver(moto.dsn().replace(f":{moto.port}?", f":{proxy.port}?") + "&retry_base=0.01")
    try:
        proxy.cut_after(1 * MiB)
        with through_proxy.get(bucket, "k") as reader:
            received = b"".join(reader.iter_chunks(256 * 1024))
    finally:
        through_proxy.close()
    assert proxy.cuts == 1
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()


def test_resumed_read_refuses_an_object_replaced_meanwhile(
    s3: S3Driver, bucket: str, proxy: CuttingProxy, moto: MotoServer
) -> None:
    s3.put(bucket, "k", payload(3 * MiB, "before"))
    through_proxy = open_driver(moto.dsn().replace(f":{moto.port}?", f":{proxy.port}?") + "&retry_base=0.01")
    try:
        proxy.cut_after(1 * MiB)
        with through_proxy.get(bucket, "k") as reader:
            reader.read(1000)
            s3.put(bucket, "k", payload(3 * MiB, "after"))
            with pytest.raises(PreconditionFailed):
                reader.read()
    finally:
        through_proxy.close()


# ---- metadata ---------------------------------------------------------------------------------


def test_metadata_values_headers_cannot_carry_round_trip(s3: S3Driver, bucket: str) -> None:
    metadata = {
        "unicode": "naïve ✓ 文件",
        "padded": "  spaces around  ",
        "tab": "a\tb",
        "looks-encoded": "=?UTF-8?B?bm90IHJlYWxseQ==?=",
        "plain": "ascii only",
    }
    s3.put(bucket, "k", b"x", metadata=metadata)
    assert dict(s3.head(bucket, "k").metadata) == metadata
    raw = s3.client.head_object(Bucket=bucket, Key="k")["Metadata"]
    assert raw["plain"] == "ascii only", "plain values are stored as they are, readable by any tool"
    assert all(value.isascii() for value in raw.values())


def test_the_checksum_entry_is_reserved(s3: S3Driver, bucket: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        s3.put(bucket, "k", b"x", metadata={"trove-checksum": "sha256:00"})
    assert not s3.exists(bucket, "k")


def test_checksum_written_by_another_tool_is_ignored_if_unparsable(s3: S3Driver, bucket: str) -> None:
    s3.client.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"trove-checksum": "md5:nonsense"})
    head = s3.head(bucket, "k")
    assert head.checksum is None
    assert dict(head.metadata) == {}


# ---- server-side copy -------------------------------------------------------------------------


def test_copy_above_the_copy_threshold_uses_upload_part_copy(make_driver: Callable[..., S3Driver], bucket: str) -> None:
    s3 = make_driver(copy_threshold="5MiB")
    data = payload(12 * MiB, "big-copy")
    source = s3.put(bucket, "src", _chunks(data), metadata={"m": "1"}, content_type="a/b")
    s3.put(bucket, "small", b"tiny", checksum="sha256")
    requests = Requests(s3)
    info = s3.copy(bucket, "src", bucket, "dst")
    s3.copy(bucket, "small", bucket, "small-copy")
    assert requests.counts["UploadPartCopy"] == 3
    assert requests.counts["CopyObject"] == 1, "the small object is one CopyObject"
    assert {p["CopySourceIfMatch"] for p in requests.params["UploadPartCopy"]} == {f'"{source.etag}"'}
    assert [p["CopySourceRange"] for p in requests.params["UploadPartCopy"]] == [
        f"bytes=0-{SMALL - 1}",
        f"bytes={SMALL}-{2 * SMALL - 1}",
        f"bytes={2 * SMALL}-{12 * MiB - 1}",
    ]
    head = s3.head(bucket, "dst")
    assert (head.size, head.etag, head.content_type, dict(head.metadata)) == (len(data), info.etag, "a/b", {"m": "1"})
    assert read_all(s3, bucket, "dst") == data
    assert s3.head(bucket, "small-copy").checksum == digest("sha256", b"tiny")
    assert s3.list_multipart_uploads(bucket) == []


def test_copy_keeps_the_stored_checksum(s3: S3Driver, bucket: str, moto: MotoServer) -> None:
    s3.put(bucket, "src", b"content", checksum="blake3")
    s3.copy(bucket, "src", bucket, "same-meta")
    s3.copy(bucket, "src", bucket, "new-meta", metadata={"x": "1"})
    s3.copy(bucket, "src", bucket, "src", content_type="text/plain")
    for key in ("same-meta", "new-meta", "src"):
        assert s3.head(bucket, key).checksum == digest("blake3", b"content"), key


# ---- presigned URLs ---------------------------------------------------------------------------


def test_presigned_put_without_content_type(s3: S3Driver, bucket: str) -> None:
    url = s3.presign_put(bucket, "k", timedelta(minutes=5))
    # moto stores an empty body unless the Content-Type is given (a moto quirk, not S3's rule)
    request = urllib.request.Request(
        url, data=b"uploaded", method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert read_all(s3, bucket, "k") == b"uploaded"
    with urllib.request.urlopen(s3.presign_get(bucket, "k", timedelta(seconds=30)), timeout=30) as response:
        assert response.read() == b"uploaded"


def test_presign_expiry_is_bounded(s3: S3Driver) -> None:
    for bad in (timedelta(0), timedelta(days=8)):
        with pytest.raises(ValueError, match="expires"):
            s3.presign_get("bkt", "k", bad)
    assert "X-Amz-Expires=604800" in s3.presign_get("bkt", "k", timedelta(days=7))


# ---- versioning -------------------------------------------------------------------------------


def test_delete_markers_and_their_removal(s3: S3Driver, bucket: str) -> None:
    s3.set_versioning(bucket, True)
    v1 = s3.put(bucket, "k", b"one")
    s3.delete(bucket, "k")
    versions = list(s3.list_versions(bucket))
    marker = next(v for v in versions if v.is_delete_marker)
    assert (marker.key, marker.is_latest, marker.size) == ("k", True, 0)
    assert marker.version_id
    assert [v.version_id for v in versions if not v.is_delete_marker] == [v1.version_id]
    # S3 answers 405 for a delete marker's version (ObjectNotFound, see the next test), moto
    # 404 NoSuchVersion (VersionNotFound): either way there is nothing to read or restore
    with pytest.raises(NotFound):
        s3.get_version(bucket, "k", marker.version_id)
    with pytest.raises(NotFound):
        s3.restore_version(bucket, "k", marker.version_id)
    s3.delete_version(bucket, "k", marker.version_id)  # removing the marker brings the object back
    assert read_all(s3, bucket, "k") == b"one"


def test_a_delete_markers_version_as_s3_answers_it(s3: S3Driver) -> None:
    """Client level, for moto answering 404 where S3 answers 405 with x-amz-delete-marker."""
    with Stubber(s3.client) as stub:
        stub.add_client_error(
            "get_object",
            "MethodNotAllowed",
            http_status_code=405,
            response_meta={"HTTPHeaders": {"x-amz-delete-marker": "true"}},
        )
        with pytest.raises(ObjectNotFound):
            s3.get_version("bkt", "k", "marker-version")


def test_restore_keeps_metadata_and_checksum(s3: S3Driver, bucket: str) -> None:
    s3.set_versioning(bucket, True)
    v1 = s3.put(bucket, "k", b"one", metadata={"gen": "1"}, content_type="a/one", checksum="sha256")
    s3.put(bucket, "k", b"two", metadata={"gen": "2"})
    assert v1.version_id
    restored = s3.restore_version(bucket, "k", v1.version_id)
    head = s3.head(bucket, "k")
    assert restored.version_id == head.version_id != v1.version_id
    assert (dict(head.metadata), head.content_type, head.checksum) == ({"gen": "1"}, "a/one", digest("sha256", b"one"))
    assert len([v for v in s3.list_versions(bucket) if v.key == "k"]) == 3


def test_missing_version_of_an_existing_key(s3: S3Driver, bucket: str) -> None:
    s3.set_versioning(bucket, True)
    v1 = s3.put(bucket, "k", b"one")
    s3.put(bucket, "k", b"two")
    assert v1.version_id
    s3.delete_version(bucket, "k", v1.version_id)
    with pytest.raises(VersionNotFound):
        s3.get_version(bucket, "k", v1.version_id)


# ---- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_is_stored_as_s3_rules(s3: S3Driver, bucket: str) -> None:
    s3.set_lifecycle(bucket, [LifecycleRule(id="r", prefix="tmp/", expire_after_days=3, enabled=False)])
    (rule,) = s3.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["ID"] == "r"
    assert rule["Filter"] == {"Prefix": "tmp/"}
    assert rule["Status"] == "Disabled"
    assert rule["Expiration"] == {"Days": 3}


def test_lifecycle_rule_trove_cannot_express_is_refused_on_read(s3: S3Driver, bucket: str) -> None:
    s3.client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "archive",
                    "Filter": {"Prefix": "logs/"},
                    "Status": "Enabled",
                    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
                }
            ]
        },
    )
    with pytest.raises(UnsupportedCapability, match="Transitions"):
        s3.get_lifecycle(bucket)


def test_lifecycle_rule_without_an_action_is_refused(s3: S3Driver, bucket: str) -> None:
    with pytest.raises(ValueError, match="no action"):
        s3.set_lifecycle(bucket, [LifecycleRule(id="idle")])
    with pytest.raises(ValueError, match="unique"):
        s3.set_lifecycle(bucket, [LifecycleRule(id="a", expire_after_days=1)] * 2)


# ---- listing ----------------------------------------------------------------------------------


def test_start_after_with_a_delimiter_is_sent_to_s3(s3: S3Driver) -> None:
    """Client level, for moto's StartAfter gap: S3 itself applies StartAfter before rolling up."""
    with Stubber(s3.client) as stub:
        stub.add_response(
            "list_objects_v2",
            {"CommonPrefixes": [{"Prefix": "dir/"}, {"Prefix": "e/"}], "IsTruncated": False, "KeyCount": 2},
            {"Bucket": "bkt", "MaxKeys": 1000, "Delimiter": "/", "StartAfter": "dir/x"},
        )
        page = s3.list("bkt", delimiter="/", start_after="dir/x")
    assert page.common_prefixes == ["dir/", "e/"]


def test_cursor_carries_s3s_continuation_token(s3: S3Driver, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put(bucket, key, b"x")
    requests = Requests(s3)
    first = s3.list(bucket, max_keys=2)
    assert first.next_cursor is not None
    s3.list(bucket, max_keys=2, cursor=first.next_cursor)
    token = requests.params["ListObjectsV2"][-1]["ContinuationToken"]
    assert token
    assert token not in first.next_cursor, "the cursor wraps the token, it is not the token itself"


def test_cursor_with_a_token_s3_refuses_is_invalid(s3: S3Driver) -> None:
    """Client level: S3 answers 400 InvalidArgument for a token it did not issue."""
    from trove_dist.driver.listing import listing_scope
    from trove_dist.drivers.s3.listing import encode_cursor

    forged = encode_cursor("not-a-token", listing_scope("bkt", "", None))
    with Stubber(s3.client) as stub:
        stub.add_client_error("list_objects_v2", "InvalidArgument", "The continuation token provided is incorrect")
        with pytest.raises(InvalidCursor):
            s3.list("bkt", cursor=forged)


# ---- buckets and capabilities ---------------------------------------------------------------


def test_capabilities(s3: S3Driver) -> None:
    assert capabilities_of(s3) == [name for name in CAPABILITIES if name != "notification"]


def test_create_existing_bucket_in_us_east_1(moto: MotoServer, new_bucket_name: str) -> None:
    """us-east-1 answers 200 to re-creating one's own bucket; the driver still refuses."""
    with open_driver(moto.dsn(region="us-east-1")) as driver:
        driver.create_bucket(new_bucket_name)
        try:
            with pytest.raises(BucketAlreadyExists):
                driver.create_bucket(new_bucket_name)
            driver.create_bucket(new_bucket_name, exist_ok=True)
        finally:
            driver.delete_bucket(new_bucket_name)


@pytest.fixture
def new_bucket_name() -> str:
    from trove_dist.testing.harness import unique_bucket_name

    return unique_bucket_name("s3")


def test_checksum_value_is_verified_not_trusted(s3: S3Driver, bucket: str) -> None:
    data = payload(1000, "verify")
    info = s3.put(bucket, "k", data, checksum=Checksum("sha256", hashlib.sha256(data).hexdigest()))
    assert info.checksum == digest("sha256", data)
