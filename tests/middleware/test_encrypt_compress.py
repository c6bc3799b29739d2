"""Encryption and compression through Trove, on the local and memory drivers."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from trove_dist import Trove
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import MissingKey, TamperedFrame, WrongKey
from trove_dist.key_rotation import rotate_keys
from trove_dist.middleware import ForBuckets
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import Encrypt, EnvKeyProvider, KeyRing, StaticKeyProvider, decode_key

CHUNK = 64 * 1024
K1, K2 = os.urandom(32), os.urandom(32)


@pytest.fixture(params=["memory", "local"])
def trove(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trove]:
    driver = MemoryDriver() if request.param == "memory" else LocalDriver(tmp_path, durable=False)
    with Trove(driver, default_bucket="bkt", chunk_size=CHUNK, verify=True) as t:
        t.create_bucket("bkt")
        yield t


def stored_bytes(trove: Trove, key: str) -> bytes:
    return trove.driver.get("bkt", key).read()


def test_encrypted_and_compressed_round_trip_with_ranges(trove: Trove) -> None:
    trove.use(Compress(), priority=10)
    encrypt = Encrypt(StaticKeyProvider(K1, "k1"))
    trove.use(encrypt, priority=20)
    data = b"log line with some repetition\n" * 20_000 + os.urandom(50_000)
    info = trove.put(None, "app.log", data, metadata={"owner": "ops"})
    assert info.size == len(data)
    assert info.metadata == {"owner": "ops"}
    raw = stored_bytes(trove, "app.log")
    assert len(raw) < len(data) / 3  # compressed
    assert b"log line" not in raw  # and encrypted
    assert trove.get(None, "app.log").read() == data
    head = trove.head(None, "app.log")
    assert (head.size, dict(head.metadata)) == (len(data), {"owner": "ops"})
    for offset, length in [(0, 1), (CHUNK - 3, 6), (len(data) - 10, None), (123_456, 250_000)]:
        expected = data[offset : None if length is None else offset + length]
        assert trove.get(None, "app.log", offset=offset, length=length).read() == expected
    listed = trove.list().objects[0]
    assert listed.size in (len(data), len(raw))  # drivers that list metadata report the logical size
    assert trove.remove(encrypt) == 1
    with pytest.raises(MissingKey):
        trove.get(None, "app.log").read()


def test_streams_of_unknown_length_report_their_size(trove: Trove) -> None:
    trove.use(Compress())
    data = os.urandom(3 * CHUNK + 5)
    trove.put(None, "gen", (data[i : i + 10_000] for i in range(0, len(data), 10_000)))
    assert trove.head(None, "gen").size == len(data)
    assert trove.get(None, "gen").read() == data


def test_wrong_and_missing_keys_are_distinct_errors(trove: Trove) -> None:
    trove.use(Encrypt(StaticKeyProvider(K1, "k1")))
    trove.put(None, "secret", b"top secret" * 1000)
    other = Trove(trove.driver, default_bucket="bkt")
    other.use(Encrypt(StaticKeyProvider(K2, "k1")))
    with pytest.raises(WrongKey):
        other.get(None, "secret").read()
    renamed = Trove(trove.driver, default_bucket="bkt")
    renamed.use(Encrypt(StaticKeyProvider(K1, "other-id")))
    with pytest.raises(MissingKey, match="k1"):
        renamed.get(None, "secret").read()
    bare = Trove(trove.driver, default_bucket="bkt")
    with pytest.raises(MissingKey, match="aes-256-gcm"):
        bare.get(None, "secret").read()


def test_tampering_on_the_backend_is_detected(tmp_path: Path) -> None:
    trove = Trove(LocalDriver(tmp_path, durable=False), default_bucket="bkt", chunk_size=CHUNK)
    trove.create_bucket("bkt")
    trove.use(Encrypt(StaticKeyProvider(K1, "k1")))
    trove.put(None, "f", os.urandom(3 * CHUNK))
    path = tmp_path / "bkt" / "f"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, bytes(raw), 0)
    os.close(fd)
    with pytest.raises(TamperedFrame):
        trove.get(None, "f").read()


def test_compression_skips_what_is_already_compressed_and_what_does_not_shrink(trove: Trove) -> None:
    trove.use(Compress())
    jpeg = b"\xff\xd8\xff" + os.urandom(10_000)
    trove.put(None, "photo.jpg", jpeg)
    assert stored_bytes(trove, "photo.jpg") == jpeg  # never framed
    trove.put(None, "blob", io.BytesIO(jpeg), content_type="video/mp4")
    assert stored_bytes(trove, "blob") == jpeg
    noise = os.urandom(2 * CHUNK)
    trove.put(None, "noise.bin", noise)
    overhead = len(stored_bytes(trove, "noise.bin")) - len(noise)
    assert 0 < overhead < 512  # raw frames: header, index and a byte per frame; no zstd growth
    assert trove.get(None, "noise.bin").read() == noise


def test_plain_objects_that_look_framed_or_compressed_are_returned_as_written(trove: Trove) -> None:
    trove.use(Compress(skip_extensions=["zst"]))
    lookalike = zstandard.ZstdCompressor().compress(b"inner")
    trove.put(None, "x.zst", lookalike)
    assert trove.get(None, "x.zst").read() == lookalike
    framed_magic = b"\x89TRV\r\n\x1a\n" + b"\x00\x01" + b"rest"
    trove.backend("default").driver.put("bkt", "raw", framed_magic)
    assert trove.get(None, "raw").read() == framed_magic


def test_scoped_encryption_leaves_other_buckets_plain(trove: Trove) -> None:
    trove.create_bucket("secrets")
    trove.use(Encrypt(StaticKeyProvider(K1, "k1")), scope=ForBuckets("secrets"))
    trove.put("secrets", "a", b"classified")
    trove.put("bkt", "a", b"public")
    assert trove.driver.get("bkt", "a").read() == b"public"
    assert b"classified" not in trove.driver.get("secrets", "a").read()
    assert trove.get("secrets", "a").read() == b"classified"


def test_key_rotation_rewraps_without_touching_frames(trove: Trove) -> None:
    old = trove.use(Encrypt(KeyRing(("k1", K1))))
    payload = {f"docs/{i}": os.urandom(CHUNK + i) for i in range(3)}
    for key, data in payload.items():
        trove.put(None, key, data)
    trove.put(None, "elsewhere/x", b"not under the prefix")
    before = {key: stored_bytes(trove, key) for key in payload}
    trove.remove(old)
    trove.use(Encrypt(KeyRing(("k2", K2), older={"k1": K1})))
    report = rotate_keys(trove, "bkt", "docs/")
    assert sorted(report.rotated) == sorted(payload)
    assert report.skipped == {}
    for key, data in payload.items():
        after = stored_bytes(trove, key)
        assert after != before[key]
        assert after.endswith(before[key][-(len(data) // 2) :])  # frames and index unchanged
        assert trove.get(None, key).read() == data
    assert rotate_keys(trove, "bkt", "docs/").already_current == sorted(payload)
    only_new = Trove(trove.driver, default_bucket="bkt")
    only_new.use(Encrypt(StaticKeyProvider(K2, "k2")))
    assert only_new.get(None, "docs/0").read() == payload["docs/0"]
    with pytest.raises(MissingKey):
        only_new.get(None, "elsewhere/x").read()


def test_key_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROVE_TEST_KEY", K1.hex())
    assert EnvKeyProvider("TROVE_TEST_KEY").primary_key_id == "trove_test_key"
    monkeypatch.setenv("TROVE_TEST_KEY", "not a key")
    with pytest.raises(ValueError, match="neither") as excinfo:
        EnvKeyProvider("TROVE_TEST_KEY")
    assert "not a key" not in str(excinfo.value)
    with pytest.raises(ValueError):
        StaticKeyProvider(b"short")
    with pytest.raises(ValueError, match="twice"):
        KeyRing(("a", K1), older={"a": K2})
    assert decode_key(__import__("base64").b64encode(K2).decode()) == K2
