"""``MultipartDriver``: parts sent independently and out of order, listed, completed, aborted."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import ConditionalDriver, MultipartDriver, PartInfo
from trove_dist.errors import ObjectNotFound, PreconditionFailed, UploadNotFound
from trove_dist.testing.harness import ConformanceBase, MiB, keys_in, payload, read_all
from trove_dist.testing.operations import FAKE_UPLOAD_ID
from trove_dist.testing.requirements import need_multipart


class MultipartTests(ConformanceBase):
    #: Size of every part but the last (S3 refuses non-final parts under 5 MiB).
    multipart_part_size = 5 * MiB

    def _parts(self) -> list[bytes]:
        size = self.multipart_part_size
        return [payload(size, "part-1"), payload(size, "part-2"), payload(size // 3 + 1, "part-3")]

    def _upload(self, mp: MultipartDriver, bucket: str, key: str, upload_id: str, order: list[int]) -> list[PartInfo]:
        parts = self._parts()
        return [mp.upload_part(bucket, key, upload_id, n, parts[n - 1]) for n in order]

    def test_upload_out_of_order_list_and_complete(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        parts = self._parts()
        upload_id = mp.initiate_multipart(bucket, "big.bin", content_type="application/x-mp", metadata={"M": "1"})
        assert isinstance(upload_id, str)
        assert upload_id
        sent = self._upload(mp, bucket, "big.bin", upload_id, [3, 1, 2])
        assert [(p.part_number, p.size) for p in sent] == [(3, len(parts[2])), (1, len(parts[0])), (2, len(parts[1]))]

        listed = mp.list_parts(bucket, "big.bin", upload_id)
        assert [(p.part_number, p.size) for p in listed] == [(n, len(parts[n - 1])) for n in (1, 2, 3)]
        assert {p.part_number: p.etag for p in listed} == {p.part_number: p.etag for p in sent}
        uploads = mp.list_multipart_uploads(bucket)
        assert [(u.bucket, u.key, u.upload_id) for u in uploads] == [(bucket, "big.bin", upload_id)]
        assert not driver.exists(bucket, "big.bin"), "an unfinished upload must be invisible"
        assert keys_in(driver, bucket) == []

        info = mp.complete_multipart(bucket, "big.bin", upload_id, sorted(sent, key=lambda p: p.part_number))
        assert info.size == sum(map(len, parts))
        assert read_all(driver, bucket, "big.bin") == b"".join(parts)
        head = driver.head(bucket, "big.bin")
        assert (head.content_type, dict(head.metadata)) == ("application/x-mp", {"m": "1"})
        assert head.etag == info.etag
        assert mp.list_multipart_uploads(bucket) == []
        with pytest.raises(UploadNotFound):
            mp.list_parts(bucket, "big.bin", upload_id)

    def test_reuploaded_part_replaces_the_earlier_one(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        parts = self._parts()
        upload_id = mp.initiate_multipart(bucket, "k")
        mp.upload_part(bucket, "k", upload_id, 1, payload(len(parts[0]), "discarded"))
        sent = self._upload(mp, bucket, "k", upload_id, [1, 2, 3])
        assert len(mp.list_parts(bucket, "k", upload_id)) == 3
        mp.complete_multipart(bucket, "k", upload_id, sent)
        assert read_all(driver, bucket, "k") == b"".join(parts)

    def test_completion_replaces_an_existing_object_only_at_the_end(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        driver.put(bucket, "k", b"old")
        upload_id = mp.initiate_multipart(bucket, "k")
        sent = self._upload(mp, bucket, "k", upload_id, [1, 2, 3])
        assert read_all(driver, bucket, "k") == b"old"
        mp.complete_multipart(bucket, "k", upload_id, sent)
        assert read_all(driver, bucket, "k") == b"".join(self._parts())

    def test_abort(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        upload_id = mp.initiate_multipart(bucket, "k")
        sent = self._upload(mp, bucket, "k", upload_id, [1])
        mp.abort_multipart(bucket, "k", upload_id)
        assert mp.list_multipart_uploads(bucket) == []
        with pytest.raises(UploadNotFound):
            mp.upload_part(bucket, "k", upload_id, 2, b"late")
        with pytest.raises(UploadNotFound):
            mp.complete_multipart(bucket, "k", upload_id, sent)
        with pytest.raises(ObjectNotFound):
            driver.head(bucket, "k")

    def test_unknown_upload_id_raises_upload_not_found(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        part = PartInfo(1, "etag", 1)
        with pytest.raises(UploadNotFound):
            mp.upload_part(bucket, "k", FAKE_UPLOAD_ID, 1, b"x")
        with pytest.raises(UploadNotFound):
            mp.list_parts(bucket, "k", FAKE_UPLOAD_ID)
        with pytest.raises(UploadNotFound):
            mp.complete_multipart(bucket, "k", FAKE_UPLOAD_ID, [part])
        with pytest.raises(UploadNotFound):
            mp.abort_multipart(bucket, "k", FAKE_UPLOAD_ID)

    def test_upload_id_is_bound_to_its_key(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        upload_id = mp.initiate_multipart(bucket, "k")
        with pytest.raises(UploadNotFound):
            mp.upload_part(bucket, "other-key", upload_id, 1, b"x")
        mp.abort_multipart(bucket, "k", upload_id)

    def test_list_multipart_uploads_with_prefix(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        ids = {key: mp.initiate_multipart(bucket, key) for key in ("a/1", "a/2", "b/1")}
        assert sorted((u.key, u.upload_id) for u in mp.list_multipart_uploads(bucket, "a/")) == [
            ("a/1", ids["a/1"]),
            ("a/2", ids["a/2"]),
        ]
        assert len(mp.list_multipart_uploads(bucket)) == 3

    def test_complete_with_if_none_match_on_existing_key_fails(self, driver: Driver, bucket: str) -> None:
        mp = need_multipart(driver)
        if not isinstance(driver, ConditionalDriver):
            pytest.skip(f"{driver.name} does not implement conditional")
        driver.put(bucket, "k", b"existing")
        upload_id = mp.initiate_multipart(bucket, "k")
        sent = self._upload(mp, bucket, "k", upload_id, [1, 2, 3])
        with pytest.raises(PreconditionFailed):
            mp.complete_multipart(bucket, "k", upload_id, sent, if_none_match="*")
        assert read_all(driver, bucket, "k") == b"existing"
