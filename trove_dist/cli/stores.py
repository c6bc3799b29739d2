"""Opening the store a location lives in, through ``Trove``.

The command's store is chosen once, by the root callback (``--store``, ``$TROVE_STORE`` or the
default) and kept on the click context; a location that names its own store inline uses that.
"""

from __future__ import annotations

import typer

from trove_dist.trove import Trove


def store_dsn(ctx: typer.Context, inline: str | None) -> str:
    """The DSN an argument's location lives in: the store it named inline, else the command's."""
    if inline is not None:
        return inline
    store = ctx.find_root().obj
    if not isinstance(store, str):
        raise RuntimeError("the root callback did not record the store")
    return store


def open_store(ctx: typer.Context, inline: str | None) -> Trove:
    return Trove.open(store_dsn(ctx, inline))
