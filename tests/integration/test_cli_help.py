"""`--help` of every goalpost command reads like typer's own, with an example to copy."""

from __future__ import annotations

import re

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from cli.main import app


def _command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The words that reach each command and group, the root first, taken from the app itself."""
    found = [path]
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            found += _command_paths(sub, (*path, name))
    return found


COMMANDS = _command_paths(typer.main.get_command(app))
# Type placeholders in angle brackets (<str>, <bool>, <list[str]>, <int range>) and
# argument names in braces ({path}) are what typer 0.27 and later print instead.
PLACEHOLDER = re.compile(r"<[a-z][a-z_\[\], ]*>|\{[a-z_]+\}")


def test_every_command_is_found() -> None:
    # The walk reaches the groups and the commands inside them, not only the top level.
    assert {(), ("tokens",), ("tokens", "issue"), ("db", "init")} <= set(COMMANDS)
    assert ("projections", "rebuild") in COMMANDS


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "goalpost")
def test_help_has_no_placeholders_and_one_example(words: tuple[str, ...]) -> None:
    # Wide enough that no example wraps.
    shown = CliRunner().invoke(
        app, [*words, "--help"], prog_name="goalpost", env={"COLUMNS": "200"}
    )
    assert shown.exit_code == 0, shown.output
    assert f"Usage: {' '.join(('goalpost', *words))} [OPTIONS]" in shown.output
    assert PLACEHOLDER.findall(shown.output) == []
    # One example, on a line of its own, that runs this very command.
    examples = [line.strip() for line in shown.output.splitlines() if "Example:" in line]
    assert len(examples) == 1, shown.output
    assert examples[0].startswith(" ".join(("Example: goalpost", *words)))
