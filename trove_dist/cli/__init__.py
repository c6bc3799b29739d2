"""The ``trove`` command line (``trove --help``); ``main`` is the console script.

The typer application itself is ``trove_dist.cli.app.app``.
"""

from trove_dist.cli.app import main

__all__ = ["main"]
