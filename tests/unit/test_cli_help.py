"""Every command's `--help` reads like a well-kept Click tool (issue 19): `TEXT`, `INTEGER`,
`FILE`, `--progress / --no-progress`, never Typer's `<str>` / `<bool>` type placeholders, and
every option (with its env var) listed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from outdial.cli import app

PLACEHOLDER = re.compile(r"<[A-Za-z_|\[\], .]+>")
# What Click prints after an option that takes a value.
METAVAR = re.compile(r"^(?:[A-Z]+(?: RANGE)?|\[[a-z0-9_|-]+\])$")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) for the app and every command and group under it, nested ones too."""
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="outdial", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_finds_every_command_and_group() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "serve", "engine", "migrate", "demo", "webhooks"} <= names
    assert {"customers create", "accesskeys create", "targets import", "events prune"} <= names
    assert len(names) >= 16


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "outdial" for p, _ in COMMANDS]
)
def test_help_has_no_type_placeholders_and_lists_every_option(
    path: tuple[str, ...], command: Any
) -> None:
    out = _help(path)
    assert out.startswith(f"Usage: outdial {' '.join(path)}".rstrip()), out
    assert not PLACEHOLDER.search(out), PLACEHOLDER.search(out)
    flat = " ".join(out.split())  # wrapped help text, joined
    help_lines = [line for line in out.splitlines() if line.strip().startswith("--help")]
    assert [line.split(None, 1)[1] for line in help_lines] == ["Show this message and exit."]
    ctx = typer.Context(command, info_name="outdial")
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            assert param.human_readable_name.isupper()
            assert param.human_readable_name in out.split("\n", 1)[0]  # in the usage line
            continue
        assert isinstance(param, TyperOption)
        if param.hidden:
            continue
        record = param.get_help_record(ctx)
        assert record is not None
        shown = record[0]
        assert shown in out, f"{shown!r} not listed"
        if param.is_flag:
            if param.secondary_opts:
                assert shown == f"{param.opts[0]} / {param.secondary_opts[0]}"
            else:
                assert shown == param.opts[0]
        else:
            opt, metavar = shown.split(" ", 1)
            assert opt == param.opts[0]
            assert METAVAR.match(metavar), metavar
        if isinstance(param.envvar, str):
            assert f"env var: {param.envvar}" in flat


def test_the_usual_forms_appear() -> None:
    assert "--progress / --no-progress" in _help(("targets", "import"))
    engine = _help(("engine",))
    assert "--webhooks / --no-webhooks" in engine
    assert "--database-url TEXT" in engine
    assert "--sim-ring-ms INTEGER" in engine
    assert "--telephony [sim|sip]" in engine
    assert "Usage: outdial targets import [OPTIONS] FILE" in _help(("targets", "import"))


def test_group_lists_show_whole_short_help() -> None:
    for path, command in COMMANDS:
        if isinstance(command, TyperGroup):
            listed = _help(path).split("Commands:", 1)[1]
            assert "..." not in listed, listed
            for name in command.commands:
                assert re.search(rf"^  {name}\s+\S", listed, re.M), name
