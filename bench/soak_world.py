"""The soak bench's world: the three sandboxes, the subscribers, the config and the daemon process.

The daemon is a real ``python -m bot.cli run`` child, so SIGKILL is real; its output goes through a pipe
(not a file it writes itself) so that the file-size limit of the "full disk" does not silence its log.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

ROOT = Path(__file__).resolve().parents[1]
X_TOKEN = "soak-x-token"
TG_TOKEN = "424242:soak-telegram-token"
SMTP_PASSWORD = "soak-smtp-secret"
X_TIMEOUT = 2.0
_ERROR_LINE = re.compile(r"^\S+ \S+ ERROR (.*)$")  # bot/logs.py: "date time LEVEL logger: message"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b.*$")  # a traceback's last line
GROUPS = {"restricted": ("withheld", "suspended", "deactivated"),
          "restored": ("unwithheld", "unsuspended", "reactivated"),
          "other": ("protected", "unprotected", "renamed")}


@dataclass(frozen=True, slots=True)
class Sub:
    """A subscriber or an operator as the config declares it; ``chat_type`` is the sandbox chat's type."""

    name: str
    address: str  # a chat id or an email address
    channel: str = "telegram"
    chat_type: str = "private"
    countries: tuple[str, ...] = ()
    events: tuple[str, ...] = ("restricted", "restored")
    tags: tuple[str, ...] = ()
    operator: bool = False

    def wants(self, kind: str, countries: Sequence[str], account_tags: Sequence[str]) -> bool:
        """The README's filter rules, written again here so the bench does not grade bot.routing by itself."""
        kinds = {k for event in self.events for k in GROUPS.get(event, (event,))}
        if self.operator or kind not in kinds:
            return False
        if self.tags and not set(self.tags) & set(account_tags):
            return False
        if self.countries and kind in ("withheld", "unwithheld"):
            return "XX" in countries or bool(set(self.countries) & set(countries))
        return True

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name}
        if self.channel == "email":
            entry["email"] = self.address
        else:
            entry["telegram_chat"] = int(self.address)
        if not self.operator:
            entry |= {"events": list(self.events)} | ({"countries": list(self.countries)} if self.countries else {})
            entry |= {"tags": list(self.tags)} if self.tags else {}
        return entry


SUBSCRIBERS = (
    Sub("Desk (private chat)", "5001"),
    Sub("Turkey group", "-4001", chat_type="group", countries=("TR",)),
    Sub("Every change (supergroup)", "-1001000000001", chat_type="supergroup",
        events=("restricted", "restored", "other")),
    Sub("Journalists, restrictions (private chat)", "5002", events=("restricted",), tags=("journalist",)),
    Sub("India group", "-4002", chat_type="group", countries=("IN",), events=("withheld", "unwithheld")),
    Sub("Press desk email", "desk@presswatch.test", channel="email"),
    Sub("India email", "india@presswatch.test", channel="email", countries=("IN",), tags=("india", "journalist")),
    Sub("Other changes email", "other@presswatch.test", channel="email", events=("other",)),
)
OPERATORS = (
    Sub("Ops (Telegram)", "9001", operator=True),
    Sub("Ops (email)", "ops@presswatch.test", channel="email", operator=True),
)


class Sandboxes:
    """X, Telegram and SMTP on loopback, in this process; X seeded with the plan's accounts."""

    def __init__(self, accounts: int, requests_per_minute: int) -> None:
        self.x = XSandbox(X_TOKEN, rate_limit=requests_per_minute, window=60.0).start()
        self.x.configure(slow_seconds=X_TIMEOUT + 1.5, reset_in=1.0)
        self.ids = self.x.seed(accounts, "pw")
        self.tg = TelegramSandbox(TG_TOKEN).start()
        for sub in (*SUBSCRIBERS, *OPERATORS):
            if sub.channel == "telegram":
                title = None if sub.chat_type == "private" else sub.name
                self.tg.add_chat(int(sub.address), sub.chat_type, title=title)
        self.mail = MailSink().start()

    def stop(self) -> None:
        for stop in (self.x.stop, self.tg.stop, self.mail.stop):
            try:
                stop()
            except Exception as exc:  # one sandbox failing to stop must not hide the figures
                print(f"soak: stopping a sandbox failed: {exc}", file=sys.stderr)


def write_config(folder: Path, box: Sandboxes, handles: Sequence[str], tags: Sequence[Sequence[str]],
                 interval: float, requests_per_minute: int, confirmations: int) -> Path:
    """The daemon's config: compressed intervals, the sandboxes, every subscriber and operator."""
    config = {
        "version": 1,
        "database": "presswatch.db",
        "x": {"bearer_token": "${X_BEARER_TOKEN}", "api_base_url": box.x.base_url, "poll_interval": interval,
              "jitter": round(interval * 0.05, 3), "timeout": X_TIMEOUT,
              "rate_limit": {"requests": requests_per_minute, "per": 60}},
        "detection": {"confirmations": confirmations},
        "telegram": {"bot_token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": box.tg.base_url},
        "email": {"host": "127.0.0.1", "port": box.mail.port, "security": "none",
                  "from": "presswatch <alerts@presswatch.test>", "timeout": 5},
        # 5 s doubling to 15 min, giving up after 24 h, compressed; never giving up within the run.
        "delivery": {"retry_initial": 0.5, "retry_max": 5, "give_up_after": "1h"},
        "watchlist": [{"handle": h, "tags": list(t)} for h, t in zip(handles, tags, strict=True)],
        "subscribers": [sub.config() for sub in SUBSCRIBERS],
        "operators": [sub.config() for sub in OPERATORS],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Daemon:
    """`presswatch run` as a child process; restarts append to the same log."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log_path = config.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []
        self.errors: Counter[str] = Counter()  # ERROR log lines ("logger: message"), digits folded
        self.exceptions: Counter[str] = Counter()  # exception lines of tracebacks, digits folded
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        env = os.environ | {"X_BEARER_TOKEN": X_TOKEN, "TELEGRAM_BOT_TOKEN": TG_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD,
                            "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
                            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "-c", str(self.config)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.pids.append(self.proc.pid)
        self._pump = threading.Thread(target=self._copy, args=(self.proc.stdout, self.proc.pid), daemon=True)
        self._pump.start()

    def _copy(self, stream: IO[bytes] | None, pid: int) -> None:
        if stream is None:
            return
        with self.log_path.open("ab") as log:
            log.write(f"----- soak: daemon pid {pid} started\n".encode())
            for line in stream:
                log.write(line)
                text = line.decode(errors="replace").rstrip()
                if match := _ERROR_LINE.match(text):
                    self.errors[re.sub(r"\b\d+\b", "N", match.group(1))[:120]] += 1
                elif _EXCEPTION_LINE.match(text):
                    self.exceptions[re.sub(r"\b\d+\b", "N", text)[:120]] += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int | None:
        """VmRSS of the running daemon, from /proc; None when it is not running."""
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (OSError, AssertionError):
            return None
        return None

    def freeze(self) -> None:
        """SIGSTOP: the database stays exactly as the daemon left it while the bench reads it."""
        os.kill(self.pid, signal.SIGSTOP)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._join()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; None if it had to be killed after ``timeout``."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            self._join()
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            code = None
        self._join()
        return code

    def _join(self) -> None:
        if self._pump is not None:
            self._pump.join(10)

    def limit_writes(self, full: bool) -> None:
        """The full disk: RLIMIT_FSIZE 0 on the daemon (every file write fails with EFBIG), or lifted."""
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)  # ours: the daemon inherited them
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (0 if full else soft, hard))
