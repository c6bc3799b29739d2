"""The driver's own objects: multipart manifests, parts and intermediate composites.

GCS composes only objects of the same bucket, so a multipart upload's parts must live in the
bucket it completes into.  They are named under ``\\trove\\`` — a name no trove key can have,
since keys may not contain a backslash (``names.validate_key``) — so they can never collide with
or overwrite a user's object, and listing drops them by a rule that cannot hide a user's key.
They sort among names starting with ``\\`` and only ever appear in listings of the whole bucket.
"""

from __future__ import annotations

import re

ROOT = "\\trove\\"
#: One small object per multipart upload in progress, so listing uploads never walks the parts.
MANIFESTS = ROOT + "manifests\\"
#: Each upload's parts and intermediate composites, under a folder of their own.
UPLOADS = ROOT + "uploads\\"
_UPLOAD_ID_RE = re.compile(r"\A[a-z0-9_]{1,64}\Z")
_PART_RE = re.compile(r"\Apart-(\d{5})\Z")


def is_hidden(name: str) -> bool:
    """An object the driver keeps for itself."""
    return name.startswith(ROOT)


def hides_prefix(prefix: str) -> bool:
    """A rolled-up prefix that covers only the driver's own objects.

    Either it lies inside the hidden tree, or it is a prefix of the tree's root (a delimiter
    such as ``\\`` rolled the tree up): every such prefix contains a backslash, which no trove key
    can, so nothing of the user's is under it.
    """
    return prefix.startswith(ROOT) or (ROOT.startswith(prefix) and "\\" in prefix)


def valid_upload_id(upload_id: str) -> bool:
    """Upload ids become part of object names: only the shape ``new_upload_id`` makes is taken."""
    return isinstance(upload_id, str) and bool(_UPLOAD_ID_RE.match(upload_id))


def upload_dir(upload_id: str) -> str:
    return f"{UPLOADS}{upload_id}\\"


def manifest_name(upload_id: str) -> str:
    return MANIFESTS + upload_id


def parts_prefix(upload_id: str) -> str:
    return upload_dir(upload_id) + "part-"


def part_name(upload_id: str, part_number: int) -> str:
    return f"{parts_prefix(upload_id)}{part_number:05d}"


def part_number_of(upload_id: str, name: str) -> int | None:
    """The part number a part object's name carries, or None for any other name."""
    match = _PART_RE.match(name[len(upload_dir(upload_id)) :]) if name.startswith(upload_dir(upload_id)) else None
    return int(match.group(1)) if match else None


def composite_name(upload_id: str, level: int, index: int) -> str:
    """An intermediate object of the compose tree (deleted once the upload completes)."""
    return f"{upload_dir(upload_id)}compose-{level:02d}-{index:05d}"


def upload_id_of_manifest(name: str) -> str | None:
    upload_id = name[len(MANIFESTS) :] if name.startswith(MANIFESTS) else ""
    return upload_id if valid_upload_id(upload_id) else None
