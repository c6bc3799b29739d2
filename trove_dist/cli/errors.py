"""How failures reach the user: one line on stderr and an exit code a script can branch on.

Every error a user can cause — a bad address, a missing object, a failed precondition, an
unreadable local file — is reported here, in one place, instead of in each command; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import enum
from typing import Any

import typer
from typer.core import TyperGroup

from trove_dist.errors import (
    AlreadyExists,
    BucketNotEmpty,
    DriverNotFound,
    InvalidBucket,
    InvalidCursor,
    InvalidDSN,
    InvalidKey,
    InvalidRange,
    NotFound,
    PreconditionFailed,
    TroveError,
)


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    #: Bad input: an invalid key, bucket, DSN or range, or arguments that do not fit together.
    USAGE = 2
    NOT_FOUND = 3
    #: The store is not in the state the command needs (a precondition, an existing bucket...).
    CONFLICT = 4


class BadArgument(Exception):
    """An argument the CLI itself refuses (an address without a key, a ``--meta`` without '=')."""


#: First match wins: ``DriverNotFound`` is a ``NotFound`` in the library, but on the command line
#: it means the DSN names an unknown scheme — bad input.
_EXIT_CODES: tuple[tuple[tuple[type[BaseException], ...], ExitCode], ...] = (
    (
        (BadArgument, InvalidKey, InvalidBucket, InvalidDSN, InvalidRange, InvalidCursor, DriverNotFound),
        ExitCode.USAGE,
    ),
    ((NotFound, FileNotFoundError), ExitCode.NOT_FOUND),
    ((PreconditionFailed, AlreadyExists, BucketNotEmpty), ExitCode.CONFLICT),
)

#: The errors reported as one line; anything else is unexpected and keeps its traceback.
REPORTED_ERRORS: tuple[type[BaseException], ...] = (TroveError, OSError, BadArgument)


def exit_code_for(error: BaseException) -> ExitCode:
    for kinds, code in _EXIT_CODES:
        if isinstance(error, kinds):
            return code
    return ExitCode.FAILURE


def describe(error: BaseException) -> str:
    """The error as one line; local-file errors read like ``cp``'s (``path: No such file``)."""
    if isinstance(error, BucketNotEmpty):  # the library's hint names its keyword argument
        text = f"bucket not empty: {error.bucket} (delete its objects first, or use --force)"
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename is not None else error.strerror
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.splitlines())


def report(error: BaseException) -> ExitCode:
    typer.echo(f"trove: error: {describe(error)}", err=True)
    return exit_code_for(error)


def warn(message: str) -> None:
    typer.echo(f"trove: warning: {message}", err=True)


class ErrorReportingGroup(TyperGroup):
    """The root command group: every sub-command runs inside its ``invoke``, so this is the one
    place where expected errors become a line and an exit code (in-process tests included)."""

    # ``Any``: the parameter is the click ``Context`` typer vendors privately; typer passes its own.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader of our stdout went away: typer exits quietly
        except REPORTED_ERRORS as error:
            raise typer.Exit(report(error)) from None
