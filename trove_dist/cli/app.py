"""The ``trove`` command: ``put``, ``get``, ``ls``, ``rm``, ``cp``, ``stat`` (and ``buckets``,
in its own module).

Each command parses its addresses first (so bad input touches nothing), opens the store(s) it
needs through ``Trove``, does one thing, and prints one line saying what it did.  Errors become
one line and an exit code in ``errors.ErrorReportingGroup``, not here.
"""

from __future__ import annotations

import itertools
import os
import stat as stat_module
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from trove_dist.cli.addressing import (
    DEFAULT_STORE,
    STORE_ENV,
    Location,
    key_basename,
    object_location,
    parse_location,
    prefix_location,
    target_location,
    tree_location,
)
from trove_dist.cli.buckets import buckets_app, show_buckets
from trove_dist.cli.errors import BadArgument, ErrorReportingGroup, warn
from trove_dist.cli.keys import keys_app
from trove_dist.cli.migrate import migrate
from trove_dist.cli.options import JsonOption, ProgressOption
from trove_dist.cli.output import (
    byte_count,
    emit_json,
    emit_json_array,
    entry_record,
    info_record,
    print_entry,
    print_info,
    say,
    stdout_is_terminal,
    stored_summary,
)
from trove_dist.cli.progress import MeteredReader, Readable, transfer_progress
from trove_dist.cli.stores import open_store, store_dsn
from trove_dist.cli.transfer import copy_between, download_to_file, download_to_stream, resolve_destination
from trove_dist.driver.models import ObjectInfo, normalize_metadata
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import NotFound
from trove_dist.trove import Trove
from trove_dist.verifying_reader import VerifyingReader

app = typer.Typer(
    name="trove",
    cls=ErrorReportingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name addresses like BUCKET[/PREFIX]: not markup
)
app.add_typer(buckets_app, name="buckets")
app.add_typer(keys_app, name="keys")
app.command()(migrate)

#: ``ls`` pages through a listing this many keys at a time (the most a driver returns per page).
PAGE_SIZE = 1000

# ---- the store ----------------------------------------------------------------------------------


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[
        str,
        typer.Option("--store", "-s", envvar=STORE_ENV, metavar="DSN", help="The store to use, as a DSN."),
    ] = DEFAULT_STORE,
) -> None:
    """Put, get, list, copy and delete objects in any store trove_dist can open.

    Objects are addressed as BUCKET/KEY in the store given by --store (or $TROVE_STORE); any
    argument can name another store inline as DSN#BUCKET/KEY, e.g. file:///tmp/a#photos/cat.jpg.

    Exit codes: 0 done, 1 failed, 2 bad input, 3 not found, 4 precondition failed or conflict.
    """
    ctx.obj = store


# ---- put -------------------------------------------------------------------------------------


@app.command()
def put(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="LOCAL_PATH|-", help="A file, or - for stdin.", show_default=False)],
    target: Annotated[
        str, typer.Argument(metavar="BUCKET/KEY", help="Where to store it; BUCKET/PREFIX/ appends the file name.")
    ],
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Content type (default: guessed from the key).")
    ] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", metavar="NAME=VALUE", help="User metadata; repeat for more.")
    ] = None,
    if_none_match: Annotated[
        bool, typer.Option("--if-none-match", help="Only write if the key does not exist yet.")
    ] = False,
    if_match: Annotated[
        str | None, typer.Option("--if-match", metavar="ETAG", help="Only overwrite the object with this etag.")
    ] = None,
    progress: ProgressOption = None,
) -> None:
    """Upload a local file (or stdin) as an object."""
    from_stdin = source == "-"
    location = target_location(target, None if from_stdin else Path(source).name or None)
    metadata = parse_metadata(meta or [])
    if if_match is not None and if_none_match:
        raise BadArgument("--if-match and --if-none-match contradict each other: give one")
    with (
        local_source(source) as (body, size),
        open_store(ctx, location.store) as trove,
        transfer_progress(f"put {location}", size, progress) as advance,
    ):
        info = trove.put(
            location.bucket,
            location.path,
            MeteredReader(body, advance),
            content_type=content_type,
            metadata=metadata,
            if_match=if_match,
            if_none_match="*" if if_none_match else None,
            size=size,
        )
    say(f"put {location} ({stored_summary(info)})")


def parse_metadata(pairs: list[str]) -> dict[str, str]:
    """``--meta name=value`` options as the metadata mapping, checked before anything is read."""
    metadata: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise BadArgument(f"--meta {pair!r}: write NAME=VALUE")
        metadata[name] = value
    try:
        return normalize_metadata(metadata)
    except ValueError as exc:
        raise BadArgument(f"--meta: {exc}") from None


@contextmanager
def local_source(source: str) -> Iterator[tuple[Readable, int | None]]:
    """The upload's body and its size when known (a regular file; not a pipe or stdin)."""
    if source == "-":
        yield sys.stdin.buffer, None
        return
    with open(source, "rb") as file:
        st = os.fstat(file.fileno())
        yield file, st.st_size if stat_module.S_ISREG(st.st_mode) else None


# ---- get -------------------------------------------------------------------------------------


@app.command()
def get(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="BUCKET/KEY", help="The object to download.")],
    dest: Annotated[
        str | None,
        typer.Argument(metavar="DEST", help="A file or directory, or - for stdout (default: the key's file name)."),
    ] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Start at this byte.")] = 0,
    length: Annotated[int | None, typer.Option("--length", min=0, help="Read at most this many bytes.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check the stored checksum while downloading.")] = False,
    progress: ProgressOption = None,
) -> None:
    """Download an object (or a byte range of it) to a file or stdout.

    A download to a file is written beside it and renamed into place when complete, so a
    failure never leaves a partial file.  On stdout the bytes are already gone when a --verify
    mismatch is found at the end: check the exit code.
    """
    location = object_location(source)
    ranged = offset > 0 or length is not None
    if verify and ranged:
        raise BadArgument("--verify checks the whole object's checksum; it cannot be used with --offset/--length")
    destination = None if dest == "-" else resolve_destination(dest, key_basename(location.path))
    with (
        open_store(ctx, location.store) as trove,
        trove.get(location.bucket, location.path, offset=offset, length=length, verify=verify) as reader,
    ):
        verified = isinstance(reader, VerifyingReader)
        if verify and not verified:
            warn(f"{location} has no stored checksum: nothing to verify")
        with transfer_progress(f"get {location}", bytes_to_read(reader), progress) as advance:
            if destination is None:
                download_to_stream(reader, sys.stdout.buffer, advance)
                return
            count = download_to_file(reader, destination, advance)
    checksum = reader.info.checksum
    checked = f", {checksum.algorithm} checksum verified" if verified and checksum is not None else ""
    say(f"got {location} -> {destination} ({byte_count(count)}{checked})")


def bytes_to_read(reader: ObjectReader | VerifyingReader) -> int:
    return reader.length if isinstance(reader, ObjectReader) else reader.info.size


# ---- ls --------------------------------------------------------------------------------------


@app.command()
def ls(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(metavar="BUCKET/PREFIX", help="What to list (default: the buckets).", show_default=False),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="List every key, not one level of '/' folders.")
    ] = False,
    json_output: JsonOption = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many entries.")] = None,
) -> None:
    """List objects one level deep (folders as PRE), every key with -r, or the buckets.

    Prints time, size and key per object; the listing is fetched a page at a time, so any size
    of bucket streams.
    """
    location = parse_location(target or "")
    if not location.bucket and not location.path:
        show_buckets(ctx, location.store, json_output)
        return
    location = prefix_location(target or "")
    with open_store(ctx, location.store) as trove:
        entries = trove.iter_list(
            location.bucket,
            prefix=location.path,
            delimiter=None if recursive else "/",
            page_size=min(limit or PAGE_SIZE, PAGE_SIZE),
        )
        if limit is not None:
            entries = itertools.islice(entries, limit)
        if json_output:
            emit_json_array(entry_record(entry) for entry in entries)
            return
        styled = stdout_is_terminal()
        for entry in entries:
            print_entry(entry, styled)


# ---- rm --------------------------------------------------------------------------------------


@app.command()
def rm(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(metavar="BUCKET/KEY...", help="The objects to delete.")],
    recursive: Annotated[
        bool,
        typer.Option("--recursive", "-r", help="Delete BUCKET/PATH and every key under PATH/ (or the whole bucket)."),
    ] = False,
) -> None:
    """Delete objects; with -r, whole folders.

    Every address is checked before anything is deleted.  An object that does not exist is an
    error (exit 3), as with rm.
    """
    locations = [tree_location(t) if recursive else object_location(t) for t in targets]
    for location in locations:
        with open_store(ctx, location.store) as trove:
            if recursive:
                remove_tree(trove, location)
            else:
                remove_object(trove, location)


def remove_object(trove: Trove, location: Location) -> None:
    # The store treats deleting a missing key as success (as S3 does); a person typing a key
    # wants to hear about a typo.
    trove.head(location.bucket, location.path)
    trove.delete(location.bucket, location.path)
    say(f"deleted {location}")


def remove_tree(trove: Trove, location: Location) -> None:
    """Delete the object at ``location`` (if any) and every key under it as a folder: ``logs``
    means ``logs`` and ``logs/...``, never ``logs-old/...``, as ``rm -r`` on files would.  The
    listing is paged through, never collected."""
    removed = 0
    path = location.path
    if path and not path.endswith("/") and trove.exists(location.bucket, path):
        remove_object(trove, location)
        removed += 1
    folder = path + "/" if path and not path.endswith("/") else path
    for entry in trove.iter_list(location.bucket, prefix=folder, page_size=PAGE_SIZE):
        if isinstance(entry, ObjectInfo):
            trove.delete(entry.bucket, entry.key)
            say(f"deleted {location.with_path(entry.key)}")
            removed += 1
    if not removed:
        raise NotFound(f"nothing to delete at {location}")


# ---- cp --------------------------------------------------------------------------------------


@app.command()
def cp(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="BUCKET/KEY or DSN#BUCKET/KEY.")],
    target: Annotated[
        str, typer.Argument(metavar="DST", help="BUCKET/KEY or DSN#BUCKET/KEY; BUCKET/PREFIX/ appends the file name.")
    ],
    progress: ProgressOption = None,
) -> None:
    """Copy an object, within a store or to another one.

    Within one store the copy is the store's own (server-side where it can); between stores it
    streams through this process, checking the source's checksum on the way (only then is
    there a progress bar to show).  Metadata and content type are kept.
    """
    src = object_location(source)
    dst = target_location(target, key_basename(src.path))
    src_dsn, dst_dsn = store_dsn(ctx, src.store), store_dsn(ctx, dst.store)
    if src_dsn == dst_dsn:
        with Trove.open(src_dsn) as trove:
            info = trove.copy(src.bucket, src.path, dst.bucket, dst.path)
    else:
        with Trove.open(src_dsn) as source_store, Trove.open(dst_dsn) as target_store:
            info = copy_between(source_store, src, target_store, dst, progress)
    say(f"copied {src} -> {dst} ({stored_summary(info)})")


# ---- stat ------------------------------------------------------------------------------------


@app.command()
def stat(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="BUCKET/KEY", help="The object to describe.")],
    json_output: JsonOption = False,
) -> None:
    """Show everything the store knows about an object: size, etag, checksum, content type,
    metadata, last modified..."""
    location = object_location(target)
    with open_store(ctx, location.store) as trove:
        info = trove.head(location.bucket, location.path)
    if json_output:
        emit_json(info_record(info))
    else:
        print_info(info)


def main() -> None:
    """The ``trove`` console script."""
    app(prog_name="trove")
