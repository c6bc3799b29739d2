"""``trove buckets``: list, create and delete buckets."""

from __future__ import annotations

from typing import Annotated

import typer

from trove_dist.cli.addressing import bucket_location
from trove_dist.cli.options import JsonOption
from trove_dist.cli.output import bucket_record, emit_json, print_bucket, say, stdout_is_terminal
from trove_dist.cli.stores import open_store

buckets_app = typer.Typer(help="List, create and delete buckets (alone: list them).", rich_markup_mode=None)


def show_buckets(ctx: typer.Context, store: str | None, json_output: bool) -> None:
    """The buckets of ``store`` (an inline DSN, or ``None`` for the command's store)."""
    with open_store(ctx, store) as trove:
        buckets = trove.list_buckets()
    if json_output:
        emit_json([bucket_record(bucket) for bucket in buckets])
        return
    styled = stdout_is_terminal()
    for bucket in buckets:
        print_bucket(bucket, styled)


@buckets_app.callback(invoke_without_command=True)
def buckets(ctx: typer.Context) -> None:
    """List, create and delete buckets (alone: list them)."""
    if ctx.invoked_subcommand is None:
        show_buckets(ctx, None, json_output=False)


@buckets_app.command("list")
def buckets_list(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the store's buckets."""
    show_buckets(ctx, None, json_output)


@buckets_app.command("create")
def buckets_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The bucket, or DSN#BUCKET.")],
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Succeed if the bucket already exists.")] = False,
) -> None:
    """Create a bucket."""
    location = bucket_location(name)
    with open_store(ctx, location.store) as trove:
        trove.create_bucket(location.bucket, exist_ok=exist_ok)
    say(f"created bucket {location}")


@buckets_app.command("delete")
def buckets_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The bucket, or DSN#BUCKET.")],
    force: Annotated[bool, typer.Option("--force", help="Delete the bucket's objects first.")] = False,
) -> None:
    """Delete a bucket; it must be empty unless --force is given."""
    location = bucket_location(name)
    with open_store(ctx, location.store) as trove:
        trove.delete_bucket(location.bucket, force=force)
    say(f"deleted bucket {location}")
