"""Helpers for end-to-end tests: a config pointed at the sandboxes, and `presswatch run` as a real process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bot.sandbox.configs import FAST_DELIVERY, FAST_X, sandbox_config
from bot.sandbox.configs import write_config as sandbox_write

WAIT = 30  # seconds: a bound on every wait, never a sleep
X_TOKEN = "sandbox-token"
TG_TOKEN = "123456:sandbox"
MATRIX_TOKEN = "syt_sandbox_token"
HOOK_SECRET = "sandbox-hook-secret"


def write_config(
    folder: Path,
    *,
    x_url: str,
    watchlist: list[dict[str, Any]],
    tg_url: str | None = None,
    smtp_port: int | None = None,
    subscribers: list[dict[str, Any]] = (),  # type: ignore[assignment]
    operators: list[dict[str, Any]] = (),  # type: ignore[assignment]
    poll_interval: float | str = 0.3,
    extra: dict[str, Any] | None = None,
) -> Path:
    """config.yaml for the sandboxes in compressed time; ``extra`` merges into (or adds) top-level sections."""
    config = sandbox_config(
        x_url=x_url, watchlist=watchlist, tg_url=tg_url, smtp_port=smtp_port, poll_interval=poll_interval,
        x=FAST_X, telegram={"commands": False}, detection={"confirmations": 2}, delivery=dict(FAST_DELIVERY),
        subscribers=list(subscribers), operators=list(operators))
    for key, value in (extra or {}).items():
        config[key] = config.get(key, {}) | value if isinstance(value, dict) else value
    return sandbox_write(folder, config)


def env() -> dict[str, str]:
    return os.environ | {"X_BEARER_TOKEN": X_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN, "SMTP_PASSWORD": "smtp-secret",
                         "MATRIX_ACCESS_TOKEN": MATRIX_TOKEN, "HOOK_SECRET": HOOK_SECRET,
                         "SLACK_WEBHOOK_URL": "https://hooks.slack.test/services/T0/B0/sandbox",
                         "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


def presswatch(*args: str, config: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one `presswatch` command to completion."""
    extra = ["-c", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "bot.cli", *args, *extra], capture_output=True, text=True,
                          env=env(), timeout=timeout, check=False)


def history(config: Path, handle: str | None = None) -> list[dict[str, Any]]:
    result = presswatch("history", "--json", *([handle] if handle else []), config=config)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


class Daemon:
    """`presswatch run` in its own process, stopped with SIGTERM or killed with SIGKILL."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "-c", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=env())
        return self

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def db_rows(config: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the daemon's database (WAL lets a reader in while it runs)."""
    conn = sqlite3.connect(f"file:{config.parent / 'presswatch.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def cycles(x: Any, count: int) -> None:
    """Wait until the daemon has started ``count`` more polls of the X sandbox (few accounts: one request each).

    A poll's request starting means the previous poll was committed: cycles never overlap.
    """
    target = x.request_count + count
    assert x.wait_for_requests(target, WAIT), f"daemon made {x.request_count} of {target} requests"


def wait_until(predicate: Any, timeout: float = WAIT, what: str = "the condition") -> None:
    """Block until ``predicate()`` is true, looking every 20 ms, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)
