"""What commands print on stdout.

Off a terminal the output is for scripts: exact byte counts, ISO-8601 UTC times, tab-separated
columns with the key last (keys cannot contain tabs or newlines, so ``cut -f3`` is exact), and
``--json`` for everything structured.  On a terminal, listings get human sizes and a little
colour.  Mutating commands print one line saying what they did, so a session reads like a log.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache

from rich.console import Console
from rich.text import Text

from trove_dist.checksum import Checksum
from trove_dist.driver.models import BucketInfo, CommonPrefix, ObjectInfo

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

_ETAG_SHOWN = 10
_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_SIZE_WIDTH = 10
_TIME_WIDTH = len("2024-01-31T23:59:59Z")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@cache
def _terminal() -> Console:
    # markup off: keys are data, and a key like "a[b]" must print as it is.
    return Console(soft_wrap=True, highlight=False, markup=False, emoji=False)


def say(line: str) -> None:
    """One line of a command's log."""
    print(line, flush=True)


# ---- small formats ---------------------------------------------------------------------------


def byte_count(size: int) -> str:
    return "1 byte" if size == 1 else f"{size:,} bytes"


def human_size(size: int) -> str:
    value = float(size)
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_etag(etag: str) -> str:
    """Enough of an etag to tell objects apart in a log; ``stat`` shows all of it."""
    return etag if len(etag) <= _ETAG_SHOWN else etag[:_ETAG_SHOWN] + "…"


def timestamp(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_summary(info: ObjectInfo) -> str:
    """``12,345 bytes, etag 1a2b3c4d5e…`` — what a put or a copy produced."""
    return f"{byte_count(info.size)}, etag {short_etag(info.etag)}"


# ---- JSON ------------------------------------------------------------------------------------


def _jsonable(value: object) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Checksum):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise TypeError(f"no JSON form for {type(value).__name__}")


def info_record(info: ObjectInfo) -> dict[str, JsonValue]:
    """Every field of ``ObjectInfo`` (taken from the dataclass, so a new field shows up here
    without anyone remembering to add it)."""
    return {field.name: _jsonable(getattr(info, field.name)) for field in dataclasses.fields(info)}


def entry_record(entry: ObjectInfo | CommonPrefix) -> dict[str, JsonValue]:
    if isinstance(entry, CommonPrefix):
        return {"prefix": entry.prefix}
    return info_record(entry)


def bucket_record(bucket: BucketInfo) -> dict[str, JsonValue]:
    return {"name": bucket.name, "created": _jsonable(bucket.created)}


def emit_json(value: JsonValue) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2), flush=True)


def emit_json_array(records: Iterable[dict[str, JsonValue]]) -> None:
    """Print a JSON array one element at a time, so a listing of millions of keys streams
    instead of being collected first.  Nothing is printed before the first element exists: an
    error on the first page leaves stdout empty rather than holding a dangling '['."""
    opened = False
    for record in records:
        print("[\n  " if not opened else ",\n  ", end="")
        print(json.dumps(record, ensure_ascii=False), end="")
        opened = True
    print("\n]" if opened else "[]", flush=True)


# ---- listings --------------------------------------------------------------------------------


def print_entry(entry: ObjectInfo | CommonPrefix, styled: bool) -> None:
    """One ``ls`` line: time, size, key; a rolled-up prefix shows ``PRE`` for its size, as in
    ``aws s3 ls``."""
    if isinstance(entry, CommonPrefix):
        if styled:
            folder = (entry.prefix, "bold blue")
            _terminal().print(Text.assemble(" " * _TIME_WIDTH, "  ", "PRE".rjust(_SIZE_WIDTH), "  ", folder))
        else:
            print(f"\tPRE\t{entry.prefix}")
        return
    if styled:
        modified = (timestamp(entry.last_modified), "dim")
        _terminal().print(Text.assemble(modified, "  ", human_size(entry.size).rjust(_SIZE_WIDTH), "  ", entry.key))
    else:
        print(f"{timestamp(entry.last_modified)}\t{entry.size}\t{entry.key}")


def print_bucket(bucket: BucketInfo, styled: bool) -> None:
    if styled:
        created = (timestamp(bucket.created).ljust(_TIME_WIDTH), "dim")
        _terminal().print(Text.assemble(created, "  ", (bucket.name, "bold")))
    else:
        print(f"{timestamp(bucket.created)}\t{bucket.name}")


def print_info(info: ObjectInfo) -> None:
    """``stat``: every field, one ``name: value`` line each, in the dataclass's order."""
    fields = dataclasses.fields(info)
    width = max(len(field.name) for field in fields) + 1
    for field in fields:
        print(f"{field.name + ':':<{width}} {_plain(getattr(info, field.name))}")


def _plain(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return json.dumps(dict(value), ensure_ascii=False)
    return str(value)
