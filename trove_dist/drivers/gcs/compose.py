"""Concatenating any number of objects with GCS's ``compose``, which takes at most 32 per call.

More sources are composed in a tree: groups of 32 into intermediate objects, those again in groups
of 32, until one call can make the destination.  Each source is pinned to its generation, so a
part replaced meanwhile fails the compose instead of being mixed in.  Intermediates are named by
the caller (hidden names) and returned, for the caller to delete; the destination is written by
one final call with its metadata and precondition, so it appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trove_dist.drivers.gcs.connection import Connection

#: GCS's limit on the sources of one compose call.
MAX_COMPOSE_SOURCES = 32


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    generation: int


def compose_tree(
    connection: Connection,
    bucket: str,
    sources: Sequence[Source],
    destination: Any,
    *,
    intermediate_name: Callable[[int, int], str],
    created: list[str],
    if_generation_match: int | None,
    operation: str,
) -> None:
    """Compose ``sources`` (in order) into the ``destination`` blob, whose properties (content
    type, metadata) become the object's.  Every intermediate object made is appended to
    ``created`` as soon as it exists, so the caller can delete them even if a later call fails."""
    if not sources:
        raise ValueError("compose needs at least one source")
    level_sources = list(sources)
    level = 0
    while len(level_sources) > MAX_COMPOSE_SOURCES:
        next_level: list[Source] = []
        for index, start in enumerate(range(0, len(level_sources), MAX_COMPOSE_SOURCES)):
            group = level_sources[start : start + MAX_COMPOSE_SOURCES]
            name = intermediate_name(level, index)
            intermediate = connection.blob(bucket, name)
            intermediate.content_type = "application/octet-stream"
            _compose(connection, bucket, group, intermediate, None, operation)
            created.append(name)
            next_level.append(Source(name, int(intermediate.generation)))
        level_sources = next_level
        level += 1
    _compose(connection, bucket, level_sources, destination, if_generation_match, operation)


def _compose(
    connection: Connection,
    bucket: str,
    group: Sequence[Source],
    target: Any,
    if_generation_match: int | None,
    operation: str,
) -> None:
    target.compose(
        [connection.blob(bucket, source.name, generation=source.generation) for source in group],
        if_generation_match=if_generation_match,
        timeout=connection.timeout,
        retry=connection.retry(operation),
    )
