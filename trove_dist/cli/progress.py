"""Progress bars for transfers, on stderr, moved by the bytes that really flow.

The bar never touches stdout (``trove get b/k - | gzip`` must receive only the object) and never
guesses: it advances when a wrapped reader hands over bytes or a download writes them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

#: Transfers larger than this get a bar when stderr is a terminal.
PROGRESS_THRESHOLD = 8 * 1024 * 1024

Advance = Callable[[int], None]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def wants_progress(choice: bool | None, size: int | None, stderr_is_terminal: bool) -> bool:
    """``--progress``/``--no-progress`` decide; by default only a large transfer of known size
    gets a bar, and only on a terminal (a log file gains nothing from one)."""
    if choice is not None:
        return choice
    return stderr_is_terminal and size is not None and size > PROGRESS_THRESHOLD


def _ignore(_: int) -> None:
    """The ``advance`` of a transfer that shows no bar."""


@contextmanager
def transfer_progress(description: str, total: int | None, choice: bool | None) -> Iterator[Advance]:
    """Yield the function to call with each number of bytes moved.

    With an unknown ``total`` (stdin) the bar pulses.  Off a terminal rich draws the bar once,
    finished, when the transfer ends.
    """
    if not wants_progress(choice, total, sys.stderr.isatty()):
        yield _ignore
        return
    progress = Progress(
        TextColumn("{task.description}", markup=False),  # keys may contain '[': never markup
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        # Redirecting would route our own stdout writes (the object, for `get -`) to stderr.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with progress:
        task = progress.add_task(description, total=total)

        def advance(count: int) -> None:
            progress.advance(task, count)

        yield advance


class MeteredReader:
    """A reader that reports every byte it hands over, so an upload's bar follows the bytes
    the store actually consumed."""

    def __init__(self, source: Readable, advance: Advance) -> None:
        self._source = source
        self._advance = advance

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self._advance(len(data))
        return data
