"""TypeIDs for every entity: ``obj_01h455vb4pex5vsknk084sn02q``.

A TypeID is a type prefix plus a UUIDv7 in Crockford base32, so ids sort by creation time,
say what they name, and are safe in URLs, keys and task arguments.  The encoding is the
maintained ``typeid-python`` package's; this module adds the project's prefixes and a parse that
checks the prefix, so an upload id can never be passed where a stream id is expected.
"""

from __future__ import annotations

from enum import StrEnum

from typeid import TypeID
from typeid.core.errors import TypeIDException

from trove_dist.errors import InvalidID


class Kind(StrEnum):
    OBJECT = "obj"
    BUCKET = "bkt"
    UPLOAD = "upl"
    DOWNLOAD = "dwn"
    STREAM = "str"
    POOL = "pol"
    VERSION = "ver"
    CHUNK = "chk"


def new_id(kind: Kind) -> str:
    """A fresh, k-sortable id of the given kind."""
    return str(TypeID(prefix=kind.value))


def parse_id(text: str, kind: Kind | None = None) -> TypeID[str]:
    """Parse ``text``; with ``kind``, also require that prefix. Raises InvalidID."""
    if not isinstance(text, str):
        raise InvalidID(f"an id is a string, not {type(text).__name__}")
    try:
        parsed = TypeID.from_string(text)
    except (TypeIDException, ValueError) as exc:
        raise InvalidID(f"malformed id {text!r}: {exc}") from exc
    if kind is not None and parsed.prefix != kind.value:
        raise InvalidID(f"id {text!r} has prefix {parsed.prefix!r}, expected {kind.value!r}")
    if parsed.prefix not in Kind._value2member_map_:
        raise InvalidID(f"id {text!r} has unknown prefix {parsed.prefix!r}")
    return parsed


def new_object_id() -> str:
    return new_id(Kind.OBJECT)


def new_bucket_id() -> str:
    return new_id(Kind.BUCKET)


def new_upload_id() -> str:
    return new_id(Kind.UPLOAD)


def new_download_id() -> str:
    return new_id(Kind.DOWNLOAD)


def new_stream_id() -> str:
    return new_id(Kind.STREAM)


def new_pool_id() -> str:
    return new_id(Kind.POOL)


def new_version_id() -> str:
    return new_id(Kind.VERSION)


def new_chunk_id() -> str:
    return new_id(Kind.CHUNK)
