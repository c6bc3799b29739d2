"""Every command's help renders (addresses like BUCKET[/PREFIX] are text, not markup)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from trove_dist.cli.app import app

COMMANDS = [
    [], ["put"], ["get"], ["ls"], ["rm"], ["cp"], ["stat"], ["buckets"], ["buckets", "create"],
    ["buckets", "delete"], ["keys"], ["keys", "rotate"], ["migrate"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "trove")
def test_help_renders(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
