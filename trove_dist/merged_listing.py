"""One listing over several backends, as if the routed keys lived in one bucket.

Each backend is listed lazily from the same resume position and the streams are merged in key
order.  A key is shown only from the backend the router currently sends it to, so a stale copy
left on another backend (after a route changed) never shadows the real object.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping

from trove_dist.driver.base import Driver
from trove_dist.driver.listing import Entry, Position, listing_scope, paginate, start_position
from trove_dist.driver.models import CommonPrefix, ListPage, ObjectInfo


def merged_page(
    backends: Mapping[str, Driver],
    resolve: Callable[[str, str], str],
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    start_after: str | None,
    max_keys: int,
    cursor: str | None,
) -> ListPage:
    scope = listing_scope(bucket, prefix, delimiter) + "#merged"
    position = start_position(start_after, cursor, scope)
    streams = [_stream(name, driver, resolve, bucket, prefix, delimiter, position) for name, driver in backends.items()]
    merged = heapq.merge(*streams, key=lambda entry: entry.key)
    return paginate(
        _dedupe(merged), prefix=prefix, delimiter=delimiter, position=position, max_keys=max_keys, scope=scope
    )


def _stream(
    name: str,
    driver: Driver,
    resolve: Callable[[str, str], str],
    bucket: str,
    prefix: str,
    delimiter: str | None,
    position: Position,
) -> Iterator[Entry]:
    if not driver.bucket_exists(bucket):
        return
    for item in driver.iter_list(bucket, prefix=prefix, delimiter=delimiter, start_after=position.after):
        if isinstance(item, CommonPrefix):
            if position.admits(item.prefix):
                yield Entry(item.prefix)
        elif position.admits(item.key) and resolve(bucket, item.key) == name:
            yield Entry(item.key, _constant(item))


def _constant(info: ObjectInfo) -> Callable[[], ObjectInfo]:
    return lambda: info


def _dedupe(entries: Iterator[Entry]) -> Iterator[Entry]:
    last: str | None = None
    for entry in entries:
        if entry.key != last:
            yield entry
        last = entry.key
