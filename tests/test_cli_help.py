"""`presswatch --version` and each command's --help, through the real CLI in a subprocess."""

from __future__ import annotations

import shlex
import subprocess
import sys
from importlib.metadata import version

import pytest

from bot import __version__
from bot.cli.parser import COMMANDS, build_parser
from tests.e2e import env, presswatch


def test_version_is_the_installed_distributions() -> None:
    installed = version("presswatch")
    assert installed == __version__  # pyproject.toml and the version stamped in databases agree
    result = presswatch("--version")
    assert (result.returncode, result.stdout) == (0, f"presswatch {installed}\n"), result.stderr
    as_module = subprocess.run([sys.executable, "-m", "bot", "--version"], capture_output=True, text=True,
                               env=env(), timeout=60, check=False)
    assert (as_module.returncode, as_module.stdout) == (0, f"presswatch {installed}\n"), as_module.stderr


def examples(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("presswatch ")]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_description_and_examples_that_parse(command: str) -> None:
    result = presswatch(command, "--help")
    assert result.returncode == 0, result.stderr
    _, description, _ = COMMANDS[command]
    assert description.splitlines()[0] in result.stdout
    shown = result.stdout.split("example")[-1]
    assert examples(shown), result.stdout
    for line in examples(shown):
        args = build_parser().parse_args(shlex.split(line)[1:])  # SystemExit here: an example that is wrong
        assert args.command == command


def test_the_overview_lists_every_command_with_examples() -> None:
    result = presswatch("--help")
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in COMMANDS) and "--version" in result.stdout
    for line in examples(result.stdout.split("examples:")[-1]):
        build_parser().parse_args(shlex.split(line)[1:])
