"""Options that several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

ProgressOption = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Show a progress bar on stderr, or never (default: for transfers over 8 MiB on a terminal).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
