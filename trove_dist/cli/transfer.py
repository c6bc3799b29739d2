"""Moving bytes between a store and local files, streamed in bounded buffers.

A download goes to a hidden temporary file next to its destination and is renamed over it only
once complete: a failure (a missing object, a checksum mismatch, Ctrl-C) never leaves a partial
file, and never destroys the file that was there before.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from trove_dist.cli.addressing import Location
from trove_dist.cli.errors import BadArgument
from trove_dist.cli.progress import Advance, MeteredReader, transfer_progress
from trove_dist.driver.models import ObjectInfo
from trove_dist.trove import Trove

COPY_BUFFER_SIZE = 1024 * 1024
PARTIAL_SUFFIX = ".trove-part"


class IntoReadable(Protocol):
    def readinto(self, buffer: bytearray | memoryview, /) -> int: ...


class Writable(Protocol):
    def write(self, data: memoryview, /) -> object: ...
    def flush(self) -> None: ...


def pump(source: IntoReadable, write: Callable[[memoryview], object], advance: Advance) -> int:
    """Copy ``source`` to ``write`` through one reused buffer; return the bytes copied."""
    buffer = memoryview(bytearray(COPY_BUFFER_SIZE))
    total = 0
    while count := source.readinto(buffer):
        write(buffer[:count])
        advance(count)
        total += count
    return total


def partial_path(destination: Path) -> Path:
    """A fresh hidden name in the destination's directory, so the final rename is atomic (one
    filesystem) and a leftover from a killed process is easy to recognise."""
    return destination.with_name(f".{destination.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


def download_to_file(source: IntoReadable, destination: Path, advance: Advance) -> int:
    temp = partial_path(destination)
    try:
        # 0o666 and the umask give the mode a plain `open(..., "wb")` would; O_EXCL never reuses a file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise _about(destination, exc) from None
    try:
        with open(fd, "wb") as out:
            count = pump(source, out.write, advance)
        try:
            os.replace(temp, destination)
        except OSError as exc:
            raise _about(destination, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return count


def _about(destination: Path, error: OSError) -> OSError:
    """The same error, naming the file the user asked for rather than our temporary one."""
    return type(error)(error.errno, error.strerror, str(destination))


def download_to_stream(source: IntoReadable, out: Writable, advance: Advance) -> int:
    count = pump(source, out.write, advance)
    out.flush()
    return count


def resolve_destination(dest: str | None, default_name: str) -> Path:
    """``DEST`` as ``cp`` reads it: missing means ``./NAME``; an existing directory gets
    ``NAME`` inside it."""
    path = Path(dest) if dest is not None else None
    if path is not None and not path.is_dir():
        return path
    if not default_name:
        raise BadArgument("the key has no file name to save it under: give a destination path")
    return path / default_name if path is not None else Path(default_name)


def copy_between(source: Trove, src: Location, target: Trove, dst: Location, progress: bool | None) -> ObjectInfo:
    """Stream an object from one store into another, keeping its content type and metadata.

    The source's stored checksum is checked as the bytes pass; a mismatch is raised from inside
    the upload, before the target commits anything.
    """
    with (
        source.get(src.bucket, src.path, verify=True) as reader,
        transfer_progress(f"cp {src}", reader.info.size, progress) as advance,
    ):
        return target.put(
            dst.bucket,
            dst.path,
            MeteredReader(reader, advance),
            content_type=reader.info.content_type,
            metadata=reader.info.metadata,
            size=reader.length,
        )
