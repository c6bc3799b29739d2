"""One exception hierarchy for every backend.

Drivers translate their native failures (OS errors, SDK exceptions, HTTP status codes) into
these classes, so code written against one backend handles the same condition the same way on
every other.  Callers catch the *condition* (``ObjectNotFound``), never a vendor type.
"""

from __future__ import annotations


class TroveError(Exception):
    """Base of every error trove_dist raises on purpose."""


class NotFound(TroveError):
    """Something named by the caller does not exist."""


class ObjectNotFound(NotFound):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"object not found: {bucket}/{key}")
        self.bucket = bucket
        self.key = key


class BucketNotFound(NotFound):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket not found: {bucket}")
        self.bucket = bucket


class VersionNotFound(NotFound):
    def __init__(self, bucket: str, key: str, version_id: str) -> None:
        super().__init__(f"version not found: {bucket}/{key}@{version_id}")
        self.bucket = bucket
        self.key = key
        self.version_id = version_id


class UploadNotFound(NotFound):
    """A multipart upload id that the backend does not know (completed, aborted or never made)."""

    def __init__(self, bucket: str, key: str, upload_id: str) -> None:
        super().__init__(f"multipart upload not found: {bucket}/{key} ({upload_id})")
        self.upload_id = upload_id


class InvalidPart(TroveError, ValueError):
    """A multipart completion names a part that was not uploaded (or not with that etag)."""


class BackendNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no backend named {name!r}")
        self.name = name


class DriverNotFound(NotFound):
    def __init__(self, scheme: str, known: list[str]) -> None:
        super().__init__(f"no driver for scheme {scheme!r} (known: {', '.join(known) or 'none'})")
        self.scheme = scheme


class AlreadyExists(TroveError):
    """The target exists and the operation must not replace it."""


class BucketAlreadyExists(AlreadyExists):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket already exists: {bucket}")
        self.bucket = bucket


class BucketNotEmpty(TroveError):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket not empty: {bucket} (delete its objects or pass force=True)")
        self.bucket = bucket


class KeyConflict(AlreadyExists):
    """A backend with real directories cannot hold both ``a`` and ``a/b`` (see the local driver)."""


class PreconditionFailed(TroveError):
    """A conditional operation (if_match / if_none_match) found the object in another state."""


class ChecksumMismatch(TroveError):
    def __init__(self, what: str, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(f"{algorithm} checksum mismatch for {what}: expected {expected}, got {actual}")
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class InvalidKey(TroveError, ValueError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid key {key!r}: {reason}")
        self.key = key
        self.reason = reason


class InvalidBucket(TroveError, ValueError):
    def __init__(self, bucket: str, reason: str) -> None:
        super().__init__(f"invalid bucket name {bucket!r}: {reason}")
        self.bucket = bucket
        self.reason = reason


class InvalidRange(TroveError, ValueError):
    """A byte range that starts at or past the end of the object (HTTP 416)."""


class InvalidCursor(TroveError, ValueError):
    """A listing cursor that this driver did not produce."""


class InvalidDSN(TroveError, ValueError):
    """A connection string that cannot be parsed or is missing a required part."""


class InvalidID(TroveError, ValueError):
    """A TypeID with a wrong prefix or a malformed suffix."""


class UnsupportedCapability(TroveError):
    """The driver does not have the capability; it says so instead of pretending."""

    def __init__(self, driver: str, capability: str) -> None:
        super().__init__(f"the {driver} driver does not support {capability}")
        self.driver = driver
        self.capability = capability


class PermissionDenied(TroveError):
    def __init__(self, backend: str, operation: str, detail: str = "") -> None:
        msg = f"permission denied by {backend} for {operation}"
        super().__init__(f"{msg}: {detail}" if detail else msg)
        self.backend = backend
        self.operation = operation


class BackendUnavailable(TroveError):
    """The backend could not be reached or kept failing after the configured retries."""


class ContentBlocked(TroveError):
    """A middleware (a virus scanner, a policy) refused the content."""


class DriverClosed(TroveError):
    """An operation on a driver after ``close()``."""


class FormatError(TroveError):
    """A framed object (compressed and/or encrypted) is malformed or has been tampered with."""


class CorruptHeader(FormatError):
    """The framed header cannot be parsed or is out of bounds."""


class CorruptTrailer(FormatError):
    """The frame index at the end of a framed object cannot be parsed or does not add up."""


class TruncatedObject(FormatError):
    """A framed object ends before its final frame (cut at a frame boundary or mid-frame)."""


class TrailingBytes(FormatError):
    """Bytes follow the end of a framed object (an extension after the final frame)."""


class FramesReordered(FormatError):
    """A frame sits at a position other than its own index."""


class FrameFromAnotherObject(FormatError):
    """A frame belongs to a different framed object (frames swapped between objects)."""


class TamperedFrame(FormatError):
    """A frame's authentication failed: its bytes were changed."""


class DecryptionError(FormatError):
    """An encrypted object cannot be decrypted with the configured keys."""


class WrongKey(DecryptionError):
    """The key-encryption key cannot unwrap this object's data key (a different key)."""


class MissingKey(DecryptionError):
    """The object names a key id that no configured key provider holds."""
