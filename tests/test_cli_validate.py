"""`presswatch validate` as a real process, its stderr a pipe: one problem a line, hostile YAML refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e import WAIT

BASE = "version: 1\ndatabase: presswatch.db\nx:\n  bearer_token: ${X_BEARER_TOKEN}\nwatchlist:\n  - handle: Someone\n"
# 9 levels of 9 aliases each: about 400 bytes that expand to 9**9 strings when read naively.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]\n" for before, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    """Run `validate` as a pipeline would: no terminal, and no COLUMNS or LINES for rich to take a width from."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    env["X_BEARER_TOKEN"] = "x-token-1234"
    return subprocess.run([sys.executable, "-m", "bot.cli", "validate", "-c", str(path)], capture_output=True,
                          text=True, env=env, timeout=WAIT, check=False)


def test_each_problem_is_one_whole_line_in_a_pipe(tmp_path: Path) -> None:
    address = "desk-" + "x" * 80 + "@example"
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "email:\n  host: smtp.example.org\n  from: a@example.org\n"
                    f"subscribers:\n  - name: Desk\n    email: {address}\n'[red]oops[/red] :warning:': 1\n")
    result = validate(path)
    assert result.returncode == 2
    problem = f"subscribers.0.email: {address!r} is not an email address (like desk@example.org) (line 12)"
    assert len(problem) > 80
    assert result.stderr.splitlines() == [
        f"{path}: invalid config",
        f"  {problem}",
        "  [red]oops[/red] :warning:: unknown key (a typo? known keys: version, database, x, detection, telegram, "
        "email, matrix, i18n, bluesky, mastodon, watchlist, subscribers, operators, templates, delivery, server) "
        "(line 13)",
    ]


def test_an_alias_bomb_is_refused_at_its_first_anchor(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BOMB + BASE)
    assert len(BOMB) < 500
    result = validate(path)  # bounded by the subprocess timeout: today's build reads it for minutes
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        f"{path}: invalid config",
        "  (file): anchors and aliases (&name, *name) are not supported: write the value out (line 1)",
    ])


def test_a_pasted_colour_code_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "  - handle: \x1b[31mRed\x1b[0m\n")
    result = validate(path)
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        f"{path}: invalid config",
        "  (file): invalid YAML: the character U+001B is not allowed (a pasted terminal colour code?) (line 7)",
    ])
