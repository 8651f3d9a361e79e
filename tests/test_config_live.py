"""The config read again by a running daemon: one version (digest, config or problems) and the keys it
cannot take without a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

from test_config import BASE, ENV, write

from bot.config.live import RESTART, read_version, restart_only
from bot.config.model import Problem, load_config

TELEGRAM = """\
telegram:
  bot_token: ${TELEGRAM_BOT_TOKEN}
  admins: [1001]
"""


def test_a_valid_version_is_the_config_load_config_gives_with_the_digest_of_its_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    version = read_version(path, ENV)
    assert version.config == load_config(path, ENV)
    assert version.problems == ()
    assert version.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_invalid_version_has_every_problem_with_its_line_and_no_config(tmp_path: Path) -> None:
    text = BASE + ("detection:\n  confirmations: 0\nsubscribers:\n  - name: Desk\n"
                   "    email: desk@rights.test  # no email section to send it\n    countries: [TR, Narnia]\n")
    version = read_version(write(tmp_path, text), ENV)
    assert version.config is None
    assert [(p.path, p.line) for p in version.problems] == [
        ("detection.confirmations", 8), ("subscribers.0.email", 11), ("subscribers.0.countries.1", 12)]
    assert version.digest == hashlib.sha256(text.encode()).hexdigest()


def test_a_missing_file_or_a_missing_variable_is_a_problem(tmp_path: Path) -> None:
    missing = read_version(tmp_path / "gone.yaml", ENV)
    assert (missing.digest, missing.config) == ("", None)
    assert [p.message for p in missing.problems] == [f"file not found: {tmp_path / 'gone.yaml'}"]
    unset = read_version(write(tmp_path, BASE), {})  # the daemon's environment has no X_BEARER_TOKEN
    assert [p.path for p in unset.problems] == ["x.bearer_token"]


def test_restart_only_names_each_changed_key_with_its_line_and_never_a_secret(tmp_path: Path) -> None:
    running = read_version(write(tmp_path, BASE + TELEGRAM), ENV).config
    changed = (BASE + TELEGRAM).replace("presswatch.db", "other.db").replace("[1001]", "[1001, 1002]") \
        .replace("${X_BEARER_TOKEN}", "another-secret-token")
    new = read_version(write(tmp_path, changed), ENV)
    assert running is not None and new.config is not None
    found = restart_only(running, new.config, new.lines)
    assert found == [Problem("database", RESTART, 2), Problem("x.bearer_token", RESTART, 4),
                     Problem("telegram.admins", RESTART, 9)]
    assert not any("secret" in str(problem) for problem in found)


def test_a_section_added_is_named_whole_and_live_keys_are_not_restart_only(tmp_path: Path) -> None:
    running = read_version(write(tmp_path, BASE), ENV).config
    live = BASE.replace("MahirZeynalov", "ErisimEngeli") + "detection:\n  confirmations: 3\n"
    new = read_version(write(tmp_path, live + TELEGRAM), ENV)
    assert running is not None and new.config is not None
    assert restart_only(running, new.config, new.lines) == [Problem("telegram", RESTART, 9)]
    same = read_version(write(tmp_path, live), ENV)
    assert same.config is not None and restart_only(running, same.config, same.lines) == []
