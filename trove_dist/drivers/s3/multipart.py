"""S3's multipart requests, one function each, shared by the streaming put, the multipart copy
and the ``MultipartDriver`` capability.

Upload ids are S3's own: they live in the bucket, not in this process, so any driver instance —
in another process, after a restart — can list the parts of an upload and complete or abort it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from trove_dist.driver.capabilities import MultipartUpload, PartInfo
from trove_dist.drivers.s3.api import Response, S3Api
from trove_dist.drivers.s3.errors import Target
from trove_dist.drivers.s3.metadata import quote_etag, unquote_etag
from trove_dist.drivers.s3.settings import MAX_PARTS
from trove_dist.errors import ObjectNotFound, PreconditionFailed, TroveError

PartBody = bytes | bytearray | IO[bytes]

#: The per-part checksum the driver's own uploads declare: what boto3's transfer manager uses,
#: so S3 verifies every part and the whole (a composite CRC32) at completion.
PART_CHECKSUM = "CRC32"


@dataclass(frozen=True, slots=True)
class ChecksummedPart(PartInfo):
    """A part sent with a CRC32 that the completion must repeat (uploads that declared one)."""

    crc32: str = ""


def create(
    api: S3Api, bucket: str, key: str, content_type: str, metadata: dict[str, str], *, part_checksums: bool = False
) -> str:
    """Start an upload; with ``part_checksums`` every part carries a CRC32 (``ChecksummedPart``)."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentType": content_type, "Metadata": metadata}
    if part_checksums:
        params["ChecksumAlgorithm"] = PART_CHECKSUM
    response = api.call("create_multipart_upload", Target(bucket, key), **params)
    return str(response["UploadId"])


def upload_part(
    api: S3Api,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    body: PartBody,
    size: int,
    *,
    checksum: bool = False,
) -> PartInfo:
    """Send one part; with ``checksum`` (the upload declared part checksums) it carries a CRC32
    and comes back as a ``ChecksummedPart``."""
    check_part_number(part_number)
    target = Target(bucket, key, upload_id=upload_id)
    if isinstance(body, (bytes, bytearray)):
        extra = {"ChecksumAlgorithm": PART_CHECKSUM} if checksum else {}
        response = api.call(
            "upload_part",
            target,
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=part_number,
            Body=body,
            ContentLength=size,
            **extra,
        )
        if checksum:
            return ChecksummedPart(
                part_number, unquote_etag(response["ETag"]), size, response[f"Checksum{PART_CHECKSUM}"]
            )
    else:
        # A file is rewound before every attempt, so that a retry sends the part from its start.
        start = body.tell()

        def attempt() -> Response:
            body.seek(start)
            response: Response = api.client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number, Body=body, ContentLength=size
            )
            return response

        response = api.run("upload_part", target, attempt)
    return PartInfo(part_number=part_number, etag=unquote_etag(response["ETag"]), size=size)


def copy_part(
    api: S3Api,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    source: dict[str, str],
    source_etag: str,
    first: int,
    last: int,
) -> PartInfo:
    """Part ``part_number`` copied inside S3 from bytes ``first..last`` (inclusive) of ``source``,
    refused if the source no longer has ``source_etag`` (so all parts come from one version)."""
    response = api.call(
        "upload_part_copy",
        Target(bucket, key, upload_id=upload_id),
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        PartNumber=part_number,
        CopySource=source,
        CopySourceRange=f"bytes={first}-{last}",
        CopySourceIfMatch=quote_etag(source_etag),
    )
    return PartInfo(part_number, unquote_etag(response["CopyPartResult"]["ETag"]), last - first + 1)


def complete(
    api: S3Api,
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[PartInfo],
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> Response:
    """Make the upload the object at ``bucket/key``, atomically, if the conditions hold.

    ``if_match`` on a key that does not exist is a failed precondition (S3 answers 404).
    """
    numbers = [p.part_number for p in parts]
    if not numbers:
        raise ValueError("a multipart upload needs at least one part")
    if numbers != sorted(set(numbers)):
        raise ValueError("parts must be given in ascending part-number order, each once")
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": [_completed_part(p) for p in parts]},
    }
    if if_match is not None:
        params["IfMatch"] = quote_etag(if_match)
    if if_none_match is not None:
        params["IfNoneMatch"] = if_none_match
    try:
        return api.call("complete_multipart_upload", Target(bucket, key, upload_id=upload_id), **params)
    except ObjectNotFound as exc:
        if if_match is None:
            raise
        raise PreconditionFailed(f"s3: {bucket}/{key} does not exist (if_match={if_match})") from exc


def _completed_part(part: PartInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"PartNumber": part.part_number, "ETag": quote_etag(part.etag)}
    if isinstance(part, ChecksummedPart):
        entry[f"Checksum{PART_CHECKSUM}"] = part.crc32
    return entry


def abort(api: S3Api, bucket: str, key: str, upload_id: str) -> None:
    api.call(
        "abort_multipart_upload", Target(bucket, key, upload_id=upload_id), Bucket=bucket, Key=key, UploadId=upload_id
    )


def abort_after_failure(api: S3Api, bucket: str, key: str, upload_id: str, failure: BaseException) -> None:
    """Abort an upload that cannot finish, so that no parts are left behind (and billed).

    The failure that stopped the upload is what the caller must see; should the abort fail as
    well, that is added to it as a note rather than replacing it.
    """
    try:
        abort(api, bucket, key, upload_id)
    except TroveError as abort_error:
        failure.add_note(f"aborting multipart upload {upload_id} of {bucket}/{key} failed too: {abort_error}")


def list_uploads(api: S3Api, bucket: str, prefix: str) -> list[MultipartUpload]:
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    uploads: list[MultipartUpload] = []
    while True:
        response = api.call("list_multipart_uploads", Target(bucket), **params)
        uploads += [
            MultipartUpload(bucket, str(u["Key"]), str(u["UploadId"]), u.get("Initiated"))
            for u in response.get("Uploads", [])
        ]
        if not response.get("IsTruncated"):
            return uploads
        params["KeyMarker"] = response["NextKeyMarker"]
        params["UploadIdMarker"] = response.get("NextUploadIdMarker", "")


def list_parts(api: S3Api, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    parts: list[PartInfo] = []
    while True:
        response = api.call("list_parts", Target(bucket, key, upload_id=upload_id), **params)
        parts += [
            PartInfo(int(p["PartNumber"]), unquote_etag(p["ETag"]), int(p["Size"])) for p in response.get("Parts", [])
        ]
        if not response.get("IsTruncated"):
            return parts
        params["PartNumberMarker"] = response["NextPartNumberMarker"]


def check_part_number(part_number: int) -> None:
    if not isinstance(part_number, int) or not 1 <= part_number <= MAX_PARTS:
        raise ValueError(f"part numbers run from 1 to {MAX_PARTS}, not {part_number!r}")
