"""``trove keys rotate``: rewrap encrypted objects' data keys with the current primary key.

Keys come from the environment, never from the command line (where ``ps`` and shell history
would see them):

    TROVE_ENCRYPTION_KEY       the primary key-encryption key (64 hex digits or base64)
    TROVE_ENCRYPTION_KEY_ID    its id (default "primary")
    TROVE_OLD_ENCRYPTION_KEYS  older keys still needed to unwrap: "id=KEY,id=KEY"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import typer

from trove_dist.cli.addressing import prefix_location
from trove_dist.cli.errors import BadArgument
from trove_dist.cli.options import JsonOption
from trove_dist.cli.output import JsonValue, emit_json, say
from trove_dist.cli.stores import open_store
from trove_dist.key_rotation import rotate_keys
from trove_dist.middleware.encrypt import Encrypt, KeyRing, decode_key

keys_app = typer.Typer(help="Manage encryption keys of stored objects.", rich_markup_mode=None)


def key_ring_from_env(env: Mapping[str, str] | None = None) -> KeyRing:
    env = os.environ if env is None else env
    primary = env.get("TROVE_ENCRYPTION_KEY")
    if not primary:
        raise BadArgument("set TROVE_ENCRYPTION_KEY to the new primary key (64 hex digits or base64)")
    older: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in env.get("TROVE_OLD_ENCRYPTION_KEYS", "").split(","))):
        key_id, sep, text = item.partition("=")
        if not sep or not key_id:
            raise BadArgument("TROVE_OLD_ENCRYPTION_KEYS takes id=KEY pairs separated by commas")
        older[key_id] = decode_key(text, f"old key {key_id!r}")
    primary_id = env.get("TROVE_ENCRYPTION_KEY_ID", "primary")
    return KeyRing((primary_id, decode_key(primary, "TROVE_ENCRYPTION_KEY")), older=older)


@keys_app.command("rotate")
def rotate(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="BUCKET[/PREFIX]", help="The objects to rewrap.")],
    json_output: JsonOption = False,
) -> None:
    """Rewrap every encrypted object under BUCKET[/PREFIX] with the primary key (frames untouched)."""
    location = prefix_location(target)
    try:
        ring = key_ring_from_env()
    except ValueError as exc:
        raise BadArgument(str(exc)) from None
    with open_store(ctx, location.store) as trove:
        trove.use(Encrypt(ring))
        report = rotate_keys(trove, location.bucket, location.path)
    if json_output:
        record: dict[str, JsonValue] = {
            "rotated": list[JsonValue](report.rotated),
            "already_current": list[JsonValue](report.already_current),
            "not_encrypted": list[JsonValue](report.not_encrypted),
            "skipped": dict[str, JsonValue](report.skipped),
        }
        emit_json(record)
    else:
        say(
            f"rotated {len(report.rotated)}, already current {len(report.already_current)}, "
            f"not encrypted {len(report.not_encrypted)}, skipped {len(report.skipped)} "
            f"(primary key {ring.primary_key_id!r})"
        )
        for key, reason in report.skipped.items():
            say(f"  skipped {key}: {reason}")
    if report.skipped:
        raise typer.Exit(1)
