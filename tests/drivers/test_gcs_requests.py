"""What the GCS driver sends, and how it behaves when things fail — against the emulator.

Where the emulator cannot honour a request (preconditions, page tokens, generations, the body of
a rewrite), these tests check the *request* the driver sends, recorded by ``RecordingSession``
on its way to the emulator: that is a client-level check standing in for the service, and each
test says so.  The server-level cases are in ``test_gcs`` (expected failures, strict).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.exceptions

from tests.servers.gcs import (  # noqa: F401 - the *_fixture names are fixtures (gcs, gcs_key)
    GCSEmulator,
    PaginatingSession,
    RecordedRequest,
    RecordingSession,
    gcs_fixture,
    gcs_key_fixture,
    write_service_account_key,
)
from tests.servers.process import free_port
from trove_dist.checksum import digest
from trove_dist.driver.dsn import parse_dsn
from trove_dist.driver.registry import open_driver
from trove_dist.drivers.gcs import GCSDriver, GCSSettings, hidden
from trove_dist.drivers.gcs.config import DEFAULT_ENDPOINT
from trove_dist.drivers.gcs.listing import decode_cursor, prefix_successor
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import (
    BackendUnavailable,
    ChecksumMismatch,
    InvalidCursor,
    InvalidDSN,
    ObjectNotFound,
    PreconditionFailed,
    UnsupportedCapability,
)
from trove_dist.testing.harness import payload, unique_bucket_name

KiB = 1024
SMALL_CHUNK = 256 * KiB


@pytest.fixture
def recorder() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def driver(gcs: GCSEmulator, gcs_key: Path, recorder: RecordingSession) -> Iterator[GCSDriver]:
    settings = GCSSettings(endpoint=gcs.endpoint, credentials_file=str(gcs_key), chunk_size=SMALL_CHUNK)
    with GCSDriver(settings, http=recorder) as drv:
        yield drv


@pytest.fixture
def bucket(driver: GCSDriver) -> Iterator[str]:
    name = unique_bucket_name("req")
    driver.create_bucket(name)
    yield name
    driver.delete_bucket(name, force=True)


def _uploads(recorder: RecordingSession) -> list[RecordedRequest]:
    return [r for r in recorder.recorded if r.method == "POST" and r.path.startswith("/upload/")]


# ---- generation preconditions (the emulator ignores them: the request is what is checked) ------


def test_if_none_match_sends_if_generation_match_zero(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    recorder.clear()
    driver.put(bucket, "small", b"x", if_none_match="*")
    driver.put(bucket, "large", payload(3 * SMALL_CHUNK, "large"), if_none_match="*")
    small, large = _uploads(recorder)
    assert (small.param("uploadType"), small.param("ifGenerationMatch")) == ("multipart", "0")
    assert (large.param("uploadType"), large.param("ifGenerationMatch")) == ("resumable", "0")


def test_if_match_sends_the_etag_as_if_generation_match(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    etag = driver.put(bucket, "k", b"v1").etag
    assert etag.isdigit(), "the etag is the object's generation"
    recorder.clear()
    driver.put(bucket, "k", b"v2", if_match=etag)
    driver.put(bucket, "k", payload(2 * SMALL_CHUNK + 1, "v3"), if_match=driver.head(bucket, "k").etag)
    first, second = _uploads(recorder)
    assert first.param("ifGenerationMatch") == etag
    assert second.param("ifGenerationMatch") not in (None, etag)


def test_if_match_with_a_foreign_etag_fails_without_writing(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    recorder.clear()
    with pytest.raises(PreconditionFailed):
        driver.put(bucket, "k", b"x", if_match='"d41d8cd98f00b204e9800998ecf8427e"')
    assert _uploads(recorder) == []
    assert not driver.exists(bucket, "k")


def test_delete_if_match_sends_if_generation_match(driver: GCSDriver, bucket: str, recorder: RecordingSession) -> None:
    etag = driver.put(bucket, "k", b"x").etag
    recorder.clear()
    driver.delete_if_match(bucket, "k", etag)
    (delete,) = recorder.matching("DELETE", f"/b/{bucket}/o/k")
    assert delete.param("ifGenerationMatch") == etag
    assert not driver.exists(bucket, "k")


def test_multipart_completion_sends_the_condition_on_compose(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    upload_id = driver.initiate_multipart(bucket, "k")
    part = driver.upload_part(bucket, "k", upload_id, 1, b"data")
    recorder.clear()
    driver.complete_multipart(bucket, "k", upload_id, [part], if_none_match="*")
    (compose,) = recorder.matching("POST", "/compose")
    assert compose.param("ifGenerationMatch") == "0"
    assert compose.body["sourceObjects"] == [
        {"name": hidden.part_name(upload_id, 1), "generation": int(part.etag)}
    ], "sources are pinned to the generation each part was uploaded as"


# ---- streaming puts: resumable sessions, the checksum, failures -----------------------------


def test_large_put_streams_in_resumable_chunks_and_stores_the_checksum(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    data = payload(3 * SMALL_CHUNK + 1000, "resumable")
    recorder.clear()
    info = driver.put(bucket, "k", iter([data[i : i + 70_001] for i in range(0, len(data), 70_001)]), checksum="sha256")
    chunks = [r for r in recorder.recorded if r.method == "PUT" and r.param("upload_id")]
    assert [c.headers["Content-Range"] for c in chunks] == [
        "bytes 0-262143/*",
        "bytes 262144-524287/*",
        "bytes 524288-786431/*",
        f"bytes 786432-{len(data) - 1}/{len(data)}",
    ]
    assert chunks[-1].headers["X-Goog-Hash"].startswith("crc32c=")
    (patch,) = recorder.matching("PATCH", f"/b/{bucket}/o/k")
    assert patch.param("ifGenerationMatch") == info.etag, "the checksum lands only on this upload's generation"
    assert (patch.param("ifMetagenerationMatch") or "").isdigit(), "and only on its metadata as uploaded"
    assert info.checksum == digest("sha256", data)
    assert driver.head(bucket, "k").checksum == digest("sha256", data)
    with driver.get(bucket, "k") as reader:
        assert reader.read() == data


def test_body_ending_on_a_chunk_boundary_is_finalised_by_an_empty_request(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    data = payload(2 * SMALL_CHUNK, "boundary")
    recorder.clear()
    driver.put(bucket, "k", iter([data[: SMALL_CHUNK + 5], data[SMALL_CHUNK + 5 :]]))
    chunks = [r.headers["Content-Range"] for r in recorder.recorded if r.method == "PUT" and r.param("upload_id")]
    assert chunks == ["bytes 0-262143/*", f"bytes 262144-524287/{len(data)}"]
    with driver.get(bucket, "k") as reader:
        assert reader.read() == data


class _LostAnswerSession(RecordingSession):
    """Delivers the first resumable chunk, then loses GCS's answer (a connection reset)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        if "upload_id=" in str(url) and not self.lost:
            self.lost = True
            raise requests.ConnectionError("the answer was lost")
        return response


def test_a_chunk_whose_answer_is_lost_resumes_from_what_gcs_persisted(gcs: GCSEmulator) -> None:
    session = _LostAnswerSession()
    with GCSDriver(GCSSettings(endpoint=gcs.endpoint, chunk_size=SMALL_CHUNK), http=session) as drv:
        bucket = unique_bucket_name("lost")
        drv.create_bucket(bucket)
        try:
            data = payload(2 * SMALL_CHUNK + 10, "lost")
            drv.put(bucket, "k", data)
            ranges = [r.headers["Content-Range"] for r in session.recorded if r.param("upload_id")]
            assert ranges == [
                "bytes 0-262143/*",
                "bytes */*",  # where does the session stand? (it has the first chunk)
                "bytes 262144-524287/*",
                f"bytes 524288-524297/{len(data)}",
            ]
            with drv.get(bucket, "k") as reader:
                assert reader.read() == data
        finally:
            drv.delete_bucket(bucket, force=True)


def _own_bucket(driver: GCSDriver) -> str:
    """A bucket these failure tests leave behind: the emulator does not implement cancelling a
    resumable session (GCS does), and it refuses to delete a bucket with a session pending.  The
    emulator is in memory and stops with the test session."""
    name = unique_bucket_name("cancelled")
    driver.create_bucket(name)
    return name


def test_body_failing_midway_cancels_the_session_and_keeps_the_old_object(
    driver: GCSDriver, recorder: RecordingSession
) -> None:
    bucket = _own_bucket(driver)
    driver.put(bucket, "k", b"previous")

    def broken() -> Iterator[bytes]:
        yield payload(2 * SMALL_CHUNK, "first")
        yield payload(SMALL_CHUNK, "second")
        raise OSError("the source failed mid-stream")

    recorder.clear()
    with pytest.raises(OSError, match="mid-stream"):
        driver.put(bucket, "k", broken())
    chunks = [r for r in recorder.recorded if r.method == "PUT" and r.param("upload_id")]
    assert chunks, "the body was large enough to be streamed in chunks"
    assert all(c.headers["Content-Range"].endswith("/*") for c in chunks), "no chunk finalised the object"
    assert [r.method for r in recorder.recorded if r.param("upload_id")][-1] == "DELETE", "the session is cancelled"
    with driver.get(bucket, "k") as reader:
        assert reader.read() == b"previous"


def test_checksum_mismatch_of_a_streamed_body_never_finalises(driver: GCSDriver, recorder: RecordingSession) -> None:
    bucket = _own_bucket(driver)
    data = payload(3 * SMALL_CHUNK, "mismatch")
    recorder.clear()
    with pytest.raises(ChecksumMismatch):
        driver.put(bucket, "k", iter([data]), checksum=digest("sha256", data[:-1]), chunk_size=50_000)
    ranges = [r.headers.get("Content-Range", "") for r in recorder.recorded if r.method == "PUT"]
    assert ranges
    assert all(r.endswith("/*") for r in ranges)
    assert not driver.exists(bucket, "k")
    assert driver.list(bucket).objects == []


# ---- listing: maxResults, startOffset, pageToken -------------------------------------------


def test_listing_asks_for_a_page_and_resumes_with_start_offset(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    for key in ("a", "b", "c", "d", "e"):
        driver.put(bucket, key, b"x")
    recorder.clear()
    first = driver.list(bucket, max_keys=2)
    second = driver.list(bucket, max_keys=2, cursor=first.next_cursor)
    one, two = recorder.matching("GET", f"/b/{bucket}/o")
    assert (one.param("maxResults"), one.param("startOffset"), one.param("pageToken")) == ("3", None, None)
    assert (two.param("maxResults"), two.param("startOffset"), two.param("pageToken")) == ("3", "b", None)
    assert [o.key for o in first.objects + second.objects] == ["a", "b", "c", "d"]


def test_listing_after_a_common_prefix_starts_past_everything_under_it(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    for key in ("a/1", "a/2", "b/1", "c"):
        driver.put(bucket, key, b"x")
    first = driver.list(bucket, delimiter="/", max_keys=1)
    assert first.common_prefixes == ["a/"]
    recorder.clear()
    second = driver.list(bucket, delimiter="/", max_keys=1, cursor=first.next_cursor)
    (request,) = recorder.matching("GET", f"/b/{bucket}/o")
    assert request.param("startOffset") == "a0", "the smallest name after every name under 'a/'"
    assert second.common_prefixes == ["b/"]


def test_service_page_tokens_become_cursors(gcs: GCSEmulator) -> None:
    """``PaginatingSession`` pages the emulator's answers as GCS does (the emulator cannot)."""
    session = PaginatingSession()
    with GCSDriver(GCSSettings(endpoint=gcs.endpoint), http=session) as drv:
        bucket = unique_bucket_name("pages")
        drv.create_bucket(bucket)
        try:
            keys = [f"k{i:02d}" for i in range(7)]
            for key in keys:
                drv.put(bucket, key, b"x")
            session.clear()
            listed: list[str] = []
            cursor: str | None = None
            while True:
                page = drv.list(bucket, max_keys=3, cursor=cursor, start_after="k00")
                listed += [o.key for o in page.objects]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert listed == keys[1:]
            requests_sent = session.matching("GET", f"/b/{bucket}/o")
            assert requests_sent[0].param("pageToken") is None
            assert all(r.param("maxResults") == "4" for r in requests_sent)
            # Pages of 4 with the resume key dropped: the service's own token is carried on.
            assert any(r.param("pageToken") for r in requests_sent[1:])
            for r in requests_sent:
                assert r.param("startOffset") == "k00", "a token's listing repeats its startOffset"
        finally:
            drv.delete_bucket(bucket, force=True)


def test_cursor_wraps_the_service_token_and_refuses_foreign_cursors() -> None:
    memory = MemoryDriver()
    memory.create_bucket("bkt")
    for key in ("a", "b", "c"):
        memory.put("bkt", key, b"x")
    foreign = memory.list("bkt", max_keys=1).next_cursor
    assert foreign is not None
    with pytest.raises(InvalidCursor):
        decode_cursor(foreign, '["bkt", "", ""]')
    with pytest.raises(InvalidCursor):
        decode_cursor(base64.urlsafe_b64encode(b'{"v": "gcs1"}').decode(), '["bkt", "", ""]')


def test_prefix_successor() -> None:
    assert prefix_successor("a/") == "a0"
    assert prefix_successor("dir\uffff") == "dir\U00010000"
    assert prefix_successor("x\ud7ff") == "x\ue000"
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("") is None


def test_hidden_objects_never_appear_in_listings(driver: GCSDriver, bucket: str) -> None:
    upload_id = driver.initiate_multipart(bucket, "pending")
    driver.upload_part(bucket, "pending", upload_id, 1, b"part")
    driver.put(bucket, "visible", b"x")
    raw = sorted(blob.name for blob in driver._connection.client.list_blobs(bucket))
    assert any(hidden.is_hidden(name) for name in raw), "the upload keeps hidden objects in the bucket"
    for delimiter in (None, "/", "\\", "t"):
        assert [e.key if hasattr(e, "key") else e.prefix for e in driver.iter_list(bucket, delimiter=delimiter)] == [
            "visible"
        ]
    assert [o.key for o in driver.list(bucket, max_keys=1).objects] == ["visible"]


# ---- compose: more than 32 parts ---------------------------------------------------------------


def test_more_than_32_parts_compose_in_a_tree_and_leave_nothing_behind(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    upload_id = driver.initiate_multipart(bucket, "big", metadata={"m": "1"})
    parts_data = [payload(1000 + n, f"part-{n}") for n in range(1, 71)]
    parts = [driver.upload_part(bucket, "big", upload_id, n, data) for n, data in enumerate(parts_data, 1)]
    recorder.clear()
    info = driver.complete_multipart(bucket, "big", upload_id, parts)
    composes = recorder.matching("POST", "/compose")
    assert [len(c.body["sourceObjects"]) for c in composes] == [32, 32, 6, 3]
    assert all(hidden.is_hidden(unquote_path(c)) for c in composes[:3])
    assert unquote_path(composes[-1]) == "big"
    assert composes[-1].body["destination"]["metadata"] == {"m": "1"}
    with driver.get(bucket, "big") as reader:
        assert reader.read() == b"".join(parts_data)
    assert info.size == sum(map(len, parts_data))
    remaining = [blob.name for blob in driver._connection.client.list_blobs(bucket)]
    assert remaining == ["big"], "parts, intermediates and the manifest are deleted"
    assert driver.list_multipart_uploads(bucket) == []


def unquote_path(request: RecordedRequest) -> str:
    name = request.object_path.split("/o/", 1)[1]
    return name.removesuffix("/compose")


def test_forced_bucket_delete_removes_abandoned_uploads(driver: GCSDriver) -> None:
    name = unique_bucket_name("abandoned")
    driver.create_bucket(name)
    upload_id = driver.initiate_multipart(name, "k")
    driver.upload_part(name, "k", upload_id, 1, b"part")
    driver.put(name, "visible", b"x")
    driver.delete_bucket(name, force=True)
    assert not driver.bucket_exists(name)


# ---- server-side copy: the destination resource --------------------------------------------


def test_copy_sends_the_destination_metadata_in_the_rewrite_body(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    """The emulator ignores this body; GCS applies it to the destination."""
    driver.put(bucket, "src", b"data", content_type="a/b", metadata={"old": "1"}, checksum="sha256")
    recorder.clear()
    driver.copy(bucket, "src", bucket, "dst", metadata={"New": "2"}, content_type="c/d")
    driver.copy(bucket, "src", bucket, "cleared", metadata={})
    replaced, cleared = recorder.matching("POST", "/rewriteTo/")
    assert replaced.body["contentType"] == "c/d"
    assert replaced.body["metadata"] == {"new": "2", "trove-checksum": str(digest("sha256", b"data"))}
    assert cleared.body["contentType"] == "a/b", "an unchanged content type is sent explicitly"
    assert cleared.body["metadata"] == {"trove-checksum": str(digest("sha256", b"data"))}
    assert replaced.param("sourceGeneration") == driver.head(bucket, "src").etag


# ---- versioning (generations; the emulator keeps one per object) ----------------------------


def test_versioning_requests_address_generations(driver: GCSDriver, bucket: str, recorder: RecordingSession) -> None:
    recorder.clear()
    driver.set_versioning(bucket, True)
    (patch,) = recorder.matching("PATCH", f"/b/{bucket}")
    assert patch.body == {"versioning": {"enabled": True}}
    assert driver.get_versioning(bucket) is True
    info = driver.put(bucket, "k", b"data")
    generation = info.version_id
    assert generation == info.etag

    recorder.clear()
    assert [v.version_id for v in driver.list_versions(bucket)] == [generation]
    (listing,) = recorder.matching("GET", f"/b/{bucket}/o")
    assert listing.param("versions") == "True"

    recorder.clear()
    with driver.get_version(bucket, "k", generation) as reader:
        assert reader.read() == b"data"
    metadata, media = recorder.recorded
    assert metadata.param("generation") == generation
    assert (media.param("alt"), media.param("generation")) == ("media", generation)

    recorder.clear()
    restored = driver.restore_version(bucket, "k", generation)
    (rewrite,) = recorder.matching("POST", "/rewriteTo/")
    assert rewrite.param("sourceGeneration") == generation
    assert restored.version_id != generation

    recorder.clear()
    driver.delete_version(bucket, "k", restored.version_id or "")
    (delete,) = recorder.matching("DELETE", f"/b/{bucket}/o/k")
    assert delete.param("generation") == restored.version_id


def test_delete_marker_is_reported_for_a_key_without_a_live_generation() -> None:
    """GCS's version listing has no markers; ``list_versions`` adds one where S3 would have one.
    Built from listing entries shaped like GCS's (the emulator keeps no noncurrent versions)."""
    from datetime import UTC, datetime

    from trove_dist.drivers.gcs.versions import versions_newest_first

    class Blob:
        def __init__(self, name: str, generation: int, deleted: bool) -> None:
            self.name, self.generation, self.size = name, generation, 1
            self.time_deleted = datetime(2024, 1, generation, tzinfo=UTC) if deleted else None
            self.updated, self.content_type, self.metadata, self.storage_class = None, None, None, "STANDARD"

    listed = list(
        versions_newest_first(
            "b",
            [Blob("gone", 1, True), Blob("gone", 2, True), Blob("live", 3, True), Blob("live", 4, False)],
        )
    )
    assert [(v.key, v.version_id, v.is_latest, v.is_delete_marker) for v in listed] == [
        ("gone", None, True, True),
        ("gone", "2", False, False),
        ("gone", "1", False, False),
        ("live", "4", True, False),
        ("live", "3", False, False),
    ]


# ---- reads: ranges on the wire, resumed bodies ---------------------------------------------


def test_range_is_end_inclusive_on_the_wire_and_pinned_to_a_generation(
    driver: GCSDriver, bucket: str, recorder: RecordingSession
) -> None:
    data = payload(1000, "range")
    etag = driver.put(bucket, "k", data).etag
    recorder.clear()
    with driver.get_range(bucket, "k", 10, 5) as reader:
        assert reader.read() == data[10:15]
    media = recorder.matching("GET", "/download/")[-1]
    assert media.headers["Range"] == "bytes=10-14"
    assert media.param("generation") == etag


class _BreakingSession(RecordingSession):
    """Cuts the first media body it serves after ``after`` bytes (a dropped connection)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.broken = False

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        if "/download/" in str(url) and not self.broken:
            self.broken = True
            raw = response.raw
            original = raw.read
            served = 0

            def read(amt: int | None = None, **read_kwargs: Any) -> bytes:
                nonlocal served
                if served >= self.after:
                    raise urllib3.exceptions.ProtocolError("connection dropped by the test")
                chunk: bytes = original(min(amt or self.after, self.after - served), **read_kwargs)
                served += len(chunk)
                return chunk

            raw.read = read
        return response


def test_a_dropped_read_resumes_at_the_byte_it_reached(gcs: GCSEmulator) -> None:
    session = _BreakingSession(after=3000)
    with GCSDriver(GCSSettings(endpoint=gcs.endpoint), http=session) as drv:
        bucket = unique_bucket_name("resume")
        drv.create_bucket(bucket)
        try:
            data = payload(10_000, "resume")
            etag = drv.put(bucket, "k", data).etag
            session.clear()
            with drv.get(bucket, "k", offset=100) as reader:
                assert reader.read() == data[100:]
            first, second = session.matching("GET", "/download/")
            assert first.headers["Range"] == "bytes=100-9999"
            assert second.headers["Range"] == "bytes=3100-9999"
            assert second.param("generation") == etag
        finally:
            drv.delete_bucket(bucket, force=True)


# ---- retries and a dead endpoint ---------------------------------------------------------------


class _FlakySession(RecordingSession):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if self.failures > 0:
            self.failures -= 1
            raise requests.ConnectionError("connection reset by the test")
        return super().request(method, url, *args, **kwargs)


def test_transient_failures_are_retried_within_the_policy(gcs: GCSEmulator) -> None:
    dsn = parse_dsn(gcs.dsn(retries="4", retry_base="0.01", retry_max="0.02"))
    settings = GCSSettings.from_dsn(dsn)
    assert settings.retry.attempts == 4
    with GCSDriver(settings, http=_FlakySession(failures=3)) as drv:
        assert drv.bucket_exists(unique_bucket_name()) is False  # three failures, then an answer
    with GCSDriver(settings, http=_FlakySession(failures=4)) as drv, pytest.raises(
        BackendUnavailable, match="after 4 attempts"
    ):
        drv.bucket_exists(unique_bucket_name())


def test_dead_endpoint_is_backend_unavailable_quickly() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with open_driver(f"gcs://?endpoint={dead}&retries=2&retry_base=0.01&timeout=2") as drv:
        with pytest.raises(BackendUnavailable):
            drv.head("some-bucket", "k")
        with pytest.raises(BackendUnavailable):
            drv.put("some-bucket", "k", b"x")
        with pytest.raises(BackendUnavailable):
            drv.ping()
    assert time.monotonic() - started < 10


def test_failed_chunk_messages_do_not_reveal_the_session_url(gcs: GCSEmulator) -> None:
    class ChunkFailing(RecordingSession):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
            if "upload_id=" in str(url):
                raise requests.ConnectionError(f"failed to reach {url}")
            return super().request(method, url, *args, **kwargs)

    settings = GCSSettings(endpoint=gcs.endpoint, chunk_size=SMALL_CHUNK, retry=GCSSettings().retry.__class__(2, 0.01))
    with GCSDriver(settings, http=ChunkFailing()) as drv:
        bucket = unique_bucket_name("chunkfail")
        drv.create_bucket(bucket)
        with pytest.raises(BackendUnavailable) as caught:
            drv.put(bucket, "k", payload(2 * SMALL_CHUNK, "x"))
        assert "upload_id" not in str(caught.value)
        assert all("upload_id" not in str(e) for e in _chain(caught.value))


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


# ---- configuration, credentials and presigned URLs -------------------------------------------


def test_dsn_parameters(tmp_path: Path, gcs_key: Path) -> None:
    settings = GCSSettings.from_dsn(
        parse_dsn(
            f"gcs://?project=p1&endpoint=http://127.0.0.1:1/&credentials={gcs_key}"
            "&retries=7&retry_base=0.5&retry_max=3&chunk_size=8MiB&timeout=12.5"
        )
    )
    assert settings.project == "p1"
    assert settings.endpoint == "http://127.0.0.1:1"
    assert settings.anonymous
    assert settings.credentials_file == str(gcs_key)
    assert (settings.retry.attempts, settings.retry.base_delay, settings.retry.max_delay) == (7, 0.5, 3.0)
    assert settings.chunk_size == 8 * 1024 * 1024
    assert settings.timeout == 12.5
    assert GCSSettings.from_dsn(parse_dsn("gcs://")).endpoint == DEFAULT_ENDPOINT
    for bad in (
        "gcs://bucket",
        "gcs://?chunk=1",
        "gcs://?chunk_size=1000",
        "gcs://?timeout=soon",
        "gcs://?endpoint=ftp://x",
        f"gcs://?endpoint=http://127.0.0.1:1&credentials={tmp_path / 'missing.json'}",
    ):
        with pytest.raises(InvalidDSN):
            open_driver(bad)


def test_project_and_timeout_reach_the_client(gcs: GCSEmulator) -> None:
    with open_driver(gcs.dsn(project="my-project", timeout="7")) as drv:
        assert isinstance(drv, GCSDriver)
        assert drv._connection.client.project == "my-project"
        assert drv._connection.timeout == (7.0, 7.0)


def test_secrets_stay_out_of_reprs_and_messages(gcs: GCSEmulator, tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    pem = write_service_account_key(key_file)
    secret_line = pem.splitlines()[5]
    dead = f"http://127.0.0.1:{free_port()}"
    with open_driver(f"gcs://?endpoint={dead}&credentials={key_file}&retries=1") as drv:
        assert isinstance(drv, GCSDriver)
        assert secret_line not in repr(drv)
        with pytest.raises(BackendUnavailable) as caught:
            drv.head("bucket", "k")
        assert all(secret_line not in str(e) and secret_line not in repr(e) for e in _chain(caught.value))
        url = drv.presign_get("bucket", "k", timedelta(minutes=1))
        assert secret_line not in url
    key_file.write_text(json.dumps({"type": "service_account", "private_key": pem}))
    with pytest.raises(InvalidDSN) as bad_key:
        open_driver(f"gcs://?endpoint={dead}&credentials={key_file}")
    assert secret_line not in str(bad_key.value)
    assert bad_key.value.__cause__ is None


def test_presigned_urls_point_at_the_endpoint(driver: GCSDriver, bucket: str, gcs: GCSEmulator) -> None:
    driver.put(bucket, "k", b"signed")
    url = driver.presign_get(bucket, "k", timedelta(minutes=5))
    assert url.startswith(f"{gcs.endpoint}/{bucket}/k?")
    assert "X-Goog-Algorithm=GOOG4-RSA-SHA256" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"signed"
    with pytest.raises(ValueError, match="7 days"):
        driver.presign_get(bucket, "k", timedelta(days=8))


def test_presign_without_a_key_is_unsupported(gcs: GCSEmulator) -> None:
    with GCSDriver.from_dsn(parse_dsn(gcs.dsn())) as drv, pytest.raises(UnsupportedCapability):
        drv.presign_get("bucket", "k", timedelta(minutes=1))


def test_missing_object_after_generation_is_replaced_reads_the_new_one(driver: GCSDriver, bucket: str) -> None:
    """``get`` pins a generation; when it is gone it looks again rather than failing."""
    driver.put(bucket, "k", b"one")
    driver.delete(bucket, "k")
    with pytest.raises(ObjectNotFound):
        driver.get(bucket, "k")
