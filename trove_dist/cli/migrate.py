"""``trove migrate SRC DST``: copy a bucket (or a folder of it) to another store, incrementally.

The command builds the migration's spec from its arguments, starts it — in this process, or
through the workers when ``TROVE_BROKER_URL`` is set — then follows its state until it ends,
showing progress on stderr, and prints the report (``--json``: as JSON) on stdout.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from trove_dist.cli.addressing import Location, prefix_location
from trove_dist.cli.errors import BadArgument
from trove_dist.cli.options import JsonOption, ProgressOption
from trove_dist.cli.output import emit_json, human_size, say
from trove_dist.cli.stores import store_dsn
from trove_dist.dist.config import DistConfig
from trove_dist.driver.names import validate_prefix
from trove_dist.migrate.report import ProgressReader, Report, Snapshot, build_report
from trove_dist.migrate.service import MigrationMismatch, Migrations
from trove_dist.migrate.spec import (
    TRANSFORMS,
    CredentialsInDSN,
    Endpoint,
    MigrationSpec,
    Settings,
    backend_name,
    distributable,
    folder,
    new_migration_id,
)
from trove_dist.migrate.state import Meta, Phase, Status
from trove_dist.migrate.transforms import MissingEncryptionKey, ordered, require_key

_SIZE_RE = re.compile(r"\A(\d+)\s*([kmg]?)i?b?\Z", re.IGNORECASE)
#: Without a terminal, ``--progress`` prints one line this often.
PLAIN_PROGRESS_INTERVAL = 5.0


def migrate(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="DSN#BUCKET[/PREFIX], or BUCKET[/PREFIX] in --store.")],
    destination: Annotated[str, typer.Argument(metavar="DST", help="DSN#BUCKET[/PREFIX] (or in --store).")],
    prefix: Annotated[str, typer.Option("--prefix", metavar="P", help="Only keys starting with P (under SRC).")] = "",
    include: Annotated[
        list[str] | None, typer.Option("--include", metavar="GLOB", help="Only keys matching GLOB; repeat for more.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", metavar="GLOB", help="Leave out keys matching GLOB; repeatable.")
    ] = None,
    transform: Annotated[
        list[str] | None,
        typer.Option(
            "--transform",
            metavar="|".join(TRANSFORMS),
            help="Transform on the destination; repeat for both (encrypt takes its key from $TROVE_ENCRYPTION_KEY).",
        ),
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Read every copy back through the middleware and compare with the source.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be copied, copy nothing.")] = False,
    delete_extraneous: Annotated[
        bool,
        typer.Option("--delete-extraneous", help="Delete destination objects the source lacks (after a clean copy)."),
    ] = False,
    migration_id: Annotated[
        str | None, typer.Option("--id", metavar="MIGRATION_ID", help="Name the migration; an existing one resumes.")
    ] = None,
    chunk_size: Annotated[
        str | None, typer.Option("--chunk-size", metavar="SIZE", help="Chunk of streamed objects (default 8MiB).")
    ] = None,
    stream_threshold: Annotated[
        str | None,
        typer.Option(
            "--stream-threshold",
            metavar="SIZE",
            help="Objects larger than this are streamed in chunks (default 32MiB).",
        ),
    ] = None,
    batch_objects: Annotated[
        int | None, typer.Option("--batch-objects", min=1, help="Small objects copied per task (default 100).")
    ] = None,
    json_output: JsonOption = False,
    progress: ProgressOption = None,
) -> None:
    """Copy every object under SRC to DST, skipping what DST already has.

    Keys keep their path below SRC's prefix: `trove migrate file:///a#photos s3://host#backup/2024`
    copies photos/x.jpg to backup/2024/x.jpg.  Objects are skipped when DST has them with the same
    checksum (or the same etag on one backend), or unchanged since an earlier migration between the
    same two places; only what changed is copied on a re-run.  With TROVE_BROKER_URL set the work
    runs on the workers (DSNs must then carry no secrets: the workers have the credentials); the
    progress and report are read from the shared state either way.  Exit code 1 if any object failed.
    """
    spec, stores = _spec(
        ctx, source, destination, prefix, include, exclude, transform, verify, dry_run, delete_extraneous,
        migration_id, _settings(chunk_size, stream_threshold, batch_objects),
    )  # fmt: skip
    config = DistConfig.from_env()
    with _service(config, stores) as service:
        try:
            resumed = service.start(spec)
        except MigrationMismatch as exc:
            raise BadArgument(str(exc)) from None
        if resumed and not json_output:
            say(f"resuming migration {spec.migration_id}")
        with _progress(service, spec.migration_id, progress) as tick:
            service.wait(spec.migration_id, tick)
        report = build_report(service.store, spec.migration_id, outcomes=json_output or spec.dry_run)
    if json_output:
        emit_json(report.to_json())
    else:
        for line in render(report):
            say(line)
    if not report.succeeded:
        raise typer.Exit(1)


# ---- arguments ------------------------------------------------------------------------------


def _spec(
    ctx: typer.Context,
    source: str,
    destination: str,
    prefix: str,
    include: list[str] | None,
    exclude: list[str] | None,
    transform: list[str] | None,
    verify: bool,
    dry_run: bool,
    delete_extraneous: bool,
    migration_id: str | None,
    settings: Settings,
) -> tuple[MigrationSpec, dict[str, str]]:
    """The spec, and the DSN to open each backend name with (for an in-process run)."""
    src, dst = prefix_location(source), prefix_location(destination)
    validate_prefix(prefix)
    if dry_run and migration_id is not None:
        raise BadArgument("--dry-run plans a throwaway migration: it cannot take --id")
    try:
        transforms = ordered(transform or [])
        distributed = DistConfig.from_env().distributed
        if "encrypt" in transforms and not distributed:
            require_key()  # workers check their own environment
        src_dsn, dst_dsn = store_dsn(ctx, src.store), store_dsn(ctx, dst.store)
        name = distributable if distributed else backend_name
        stores = {name(src_dsn): src_dsn}
        if stores.setdefault(name(dst_dsn), dst_dsn) != dst_dsn:
            raise BadArgument("SRC and DST name stores that differ only in their secrets: use one store, or two names")
        spec = MigrationSpec(
            migration_id=migration_id or new_migration_id(),
            source=_endpoint(name(src_dsn), src),
            destination=_endpoint(name(dst_dsn), dst),
            prefix=prefix,
            include=tuple(include or ()),
            exclude=tuple(exclude or ()),
            transforms=transforms,
            verify=verify,
            dry_run=dry_run,
            delete_extraneous=delete_extraneous,
            settings=settings,
        )
    except (CredentialsInDSN, MissingEncryptionKey, ValueError) as exc:
        raise BadArgument(str(exc)) from None
    if spec.source.bucket == spec.destination.bucket and spec.same_backend:
        roots = (spec.source.root, spec.destination.root)
        if roots[0].startswith(roots[1]) or roots[1].startswith(roots[0]):
            raise BadArgument("SRC and DST overlap: a migration cannot copy a folder into itself")
    return spec, stores


def _endpoint(backend: str, location: Location) -> Endpoint:
    return Endpoint(backend, location.bucket, folder(location.path))


def _settings(chunk_size: str | None, stream_threshold: str | None, batch_objects: int | None) -> Settings:
    defaults = Settings()
    chunk = _size("--chunk-size", chunk_size) if chunk_size else defaults.chunk_size
    threshold = (
        _size("--stream-threshold", stream_threshold) if stream_threshold else max(defaults.stream_threshold, chunk)
    )
    try:
        return Settings(
            chunk_size=chunk, stream_threshold=threshold, batch_objects=batch_objects or defaults.batch_objects
        )
    except ValueError as exc:
        raise BadArgument(str(exc)) from None


def _size(option: str, text: str) -> int:
    match = _SIZE_RE.match(text.strip())
    if match is None:
        raise BadArgument(f"{option} {text!r}: write a number of bytes, or with K, M or G (binary units)")
    exponent = "_kmg".index(match.group(2).lower() or "_")
    return int(match.group(1)) * (1 << (10 * exponent))


def _service(config: DistConfig, stores: dict[str, str]) -> Migrations:
    if config.distributed:
        return Migrations.distributed(config)
    return Migrations.embedded(stores)


# ---- progress -------------------------------------------------------------------------------


@contextmanager
def _progress(service: Migrations, migration_id: str, choice: bool | None) -> Iterator[Callable[[Meta], None]]:
    """A function to call with each poll of the state; it draws progress on stderr — a live bar
    on a terminal, a line every few seconds otherwise (with --progress), nothing with
    --no-progress (and by default off a terminal)."""
    reader = ProgressReader(service.store, migration_id)
    terminal = sys.stderr.isatty()
    if not (choice if choice is not None else terminal):
        yield lambda meta: None
        return
    if not terminal:
        last = [0.0]

        def plain(meta: Meta) -> None:
            if time.monotonic() - last[0] >= PLAIN_PROGRESS_INTERVAL or meta.phase.ended:
                last[0] = time.monotonic()
                typer.echo(f"migrate: {progress_line(reader.read(meta))}", err=True)

        yield plain
        return
    bar = Progress(
        TextColumn("migrate", markup=False),
        BarColumn(),
        TextColumn("{task.fields[line]}", markup=False),
        console=Console(stderr=True),
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with bar:
        task = bar.add_task("migrate", total=None, line="starting…")

        def live(meta: Meta) -> None:
            snap = reader.read(meta)
            done = snap.moved_bytes + snap.counters.bytes_skipped
            bar.update(task, total=snap.counters.bytes_planned or None, completed=done, line=progress_line(snap))

        yield live


def progress_line(snap: Snapshot) -> str:
    c = snap.counters
    done = c.objects_copied + c.objects_skipped + c.objects_failed
    planning = " (planning)" if snap.meta.phase == Phase.PLANNING else ""
    eta = f", ETA {_duration(snap.eta)}" if snap.eta is not None else ""
    return (
        f"{done:,}/{c.objects_planned:,} objects{planning}, "
        f"{human_size(snap.moved_bytes + c.bytes_skipped)}/{human_size(c.bytes_planned)}, "
        f"{human_size(int(snap.rate))}/s{eta}, {c.objects_failed:,} failed"
    )


# ---- the report -----------------------------------------------------------------------------


def render(report: Report) -> Iterator[str]:
    spec, c = report.spec, report.counters
    yield f"migration {spec.migration_id}: {spec.source} -> {spec.destination} ({report.meta.phase.value})"
    if report.meta.error:
        yield f"  error: {report.meta.error}"
    if spec.dry_run:
        yield f"  would copy: {_objects(c.objects_pending)} ({human_size(c.bytes_pending)})"
        yield from _reasons(report.copy_reasons)
        for key, outcome in report.outcomes or []:
            if outcome.status == Status.PENDING:
                yield f"    {outcome.size}\t{outcome.method}\t{outcome.reason}\t{key}"  # the key last, as ls does
        yield f"  would skip: {_objects(c.objects_skipped)} ({human_size(c.bytes_skipped)})"
        yield from _reasons(report.skip_reasons)
        if spec.delete_extraneous:
            yield f"  would delete: {_objects(len(report.would_delete))} absent from the source"
            yield from (f"    {key}" for key in report.would_delete)
        return
    rate = f", {human_size(int(report.rate))}/s" if report.rate else ""
    yield f"  copied:  {_objects(c.objects_copied)} ({human_size(c.bytes_copied)}) in {_duration(report.elapsed)}{rate}"
    yield from _reasons(report.copy_reasons)
    if spec.verify:
        yield f"  verified: {_objects(c.objects_verified)} read back equal to their source"
    yield f"  skipped: {_objects(c.objects_skipped)} ({human_size(c.bytes_skipped)})"
    yield from _reasons(report.skip_reasons)
    if spec.delete_extraneous:
        yield f"  deleted: {_objects(c.objects_deleted)} absent from the source"
        yield from (f"    {key}" for key in report.deleted)
    yield f"  failed:  {_objects(c.objects_failed)} ({human_size(c.bytes_failed)})"
    yield from (f"    {key}: {reason}" for key, reason in report.failures)
    if c.objects_pending:
        yield f"  unfinished: {_objects(c.objects_pending)} (resume with --id {spec.migration_id})"


def _objects(count: int) -> str:
    return "1 object" if count == 1 else f"{count:,} objects"


def _reasons(reasons: dict[str, int]) -> Iterator[str]:
    for reason, count in reasons.items():
        yield f"    {count:,} {reason}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
