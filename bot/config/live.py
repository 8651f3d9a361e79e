"""The config of a running daemon, read again: one version of the file (its bytes' digest, and the config or
every problem with it), and the keys a running daemon cannot take without a restart.

A version is read once from bytes taken once: the digest names exactly what was validated, so an edit that
lands while it is being read is a later version, read on its own.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.config.model import SECRET_PATHS, Config
from bot.config.reader import ConfigError, LineMap, Loc, Problem, decode_yaml, dotted, line_of, read_raw
from bot.config.report import load_model

# What a running daemon holds open or was built around: the database it locked, and the connections to X,
# Telegram and the SMTP server (clients logged in with these values), the web server's socket, the Bluesky
# and Mastodon lanes (each its own watcher and budget, built at start). The rest applies live.
RESTART_ONLY: tuple[Loc, ...] = (
    ("database",), ("x", "bearer_token"), ("x", "api_base_url"), ("x", "timeout"), ("telegram",), ("email",),
    ("server",), ("bluesky",), ("mastodon",))
RESTART = "cannot change while presswatch runs: restart it to use this version (nothing of it was applied)"


@dataclass(frozen=True, slots=True)
class Version:
    """One version of the config file: ``config`` when valid, else ``problems`` (never both)."""

    digest: str  # of the bytes read; "" when the file could not be read at all
    config: Config | None
    problems: tuple[Problem, ...] = ()
    lines: LineMap | None = None


def read_version(path: Path, env: Mapping[str, str] | None = None) -> Version:
    """Read and validate the file in full, ${VAR}s from ``env`` (the daemon's own environment by default)."""
    try:
        raw = read_raw(path)
    except ConfigError as exc:
        return Version("", None, tuple(exc.problems))
    digest = hashlib.sha256(raw).hexdigest()
    try:
        parsed = decode_yaml(raw)
        config = load_model(path, os.environ if env is None else env, Config, SECRET_PATHS, parsed)
    except ConfigError as exc:
        return Version(digest, None, tuple(exc.problems))
    return Version(digest, config, (), parsed[1])


def restart_only(running: Config, new: Config, lines: LineMap | None) -> list[Problem]:
    """Each key of RESTART_ONLY whose value differs, with its line in the new file."""
    problems: list[Problem] = []
    for loc in RESTART_ONLY:
        for changed in _differences(_at(running, loc), _at(new, loc), loc):
            problems.append(Problem(dotted(changed), RESTART, line_of(lines or {}, changed)))
    return problems


def _at(config: Config, loc: Loc) -> Any:
    value: Any = config
    for part in loc:
        value = getattr(value, str(part), None)
    return value


def _differences(old: Any, new: Any, loc: Loc) -> list[Loc]:
    """The leaf keys where two values differ (a section added or removed is named whole)."""
    if old == new:  # SecretStr compares its secret: a token changed is a difference, never shown
        return []
    if isinstance(old, BaseModel) and isinstance(new, BaseModel) and type(old) is type(new):
        found: list[Loc] = []
        for name in type(old).model_fields:
            found += _differences(getattr(old, name), getattr(new, name), (*loc, name))
        return found or [loc]
    return [loc]
