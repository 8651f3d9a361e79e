"""config.yaml for the sandboxes: the one writer the demo and the tests share.

Secrets stay ``${VAR}`` references (``X_BEARER_TOKEN``, ``TELEGRAM_BOT_TOKEN``), as operators write them;
the caller passes their values to ``load_config`` or a child process's environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

SENDER = "presswatch <alerts@presswatch.test>"
# Compressed time, for the demo and the end-to-end tests: polls a fraction of a second apart, so a request
# budget (requests 0.1 s apart at most), a request timeout and a retry schedule of the same scale.
FAST_X: Mapping[str, Any] = {"timeout": 1, "rate_limit": {"requests": 50, "per": 5}}
FAST_DELIVERY: Mapping[str, Any] = {"retry_initial": 0.2, "retry_max": 1}


def sandbox_config(
    *,
    x_url: str,
    watchlist: Sequence[Mapping[str, Any]],
    tg_url: str | None = None,
    smtp_port: int | None = None,
    poll_interval: float | str = 0.3,
    x: Mapping[str, Any] | None = None,
    telegram: Mapping[str, Any] | None = None,
    email: Mapping[str, Any] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A config as a mapping: X at ``x_url``; Telegram at ``tg_url`` and plain SMTP on ``smtp_port`` when given.

    ``x``, ``telegram`` and ``email`` add keys to (or replace keys of) those sections; every other keyword
    is a top-level key (``database``, ``detection``, ``delivery``, ``subscribers``, ``operators`` ...).
    """
    config: dict[str, Any] = {
        "version": 1,
        "database": "presswatch.db",
        "x": {"bearer_token": "${X_BEARER_TOKEN}", "api_base_url": x_url, "poll_interval": poll_interval,
              **(x or {})},
    }
    if tg_url:
        config["telegram"] = {"bot_token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": tg_url, **(telegram or {})}
    if smtp_port:
        config["email"] = {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": SENDER,
                           **(email or {})}
    config["watchlist"] = [dict(entry) for entry in watchlist]
    config.update(sections)
    return config


def write_config(folder: Path, config: Mapping[str, Any]) -> Path:
    """Write ``config`` as ``folder/config.yaml``; returns its path."""
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
