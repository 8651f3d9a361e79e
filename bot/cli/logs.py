"""Plain log lines with a level; every known secret is replaced before a line is written."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log URLs or headers carrying tokens (httpx logs Telegram URLs with the bot token;
# tweepy logs request headers with the bearer token at DEBUG).
_QUIET = (
    "httpx", "httpcore", "tweepy", "urllib3", "requests_oauthlib", "oauthlib", "telegram", "apscheduler", "mail.log",
)
_TELEGRAM_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]{20,}")


class Redactor(logging.Filter):
    """Replaces secrets (and anything shaped like a Telegram bot URL token) in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets |= {s for s in secrets if s and len(s) >= 4}

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "[redacted]")
        return _TELEGRAM_TOKEN.sub("bot[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            cleaned += "\n" + self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, None
        return True


REDACTOR = Redactor()


def setup(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: stderr, plain lines, secrets redacted."""
    REDACTOR.add(secrets)
    root = logging.getLogger()
    if not any(getattr(h, "_presswatch", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT, "%Y-%m-%d %H:%M:%S"))
        handler.addFilter(REDACTOR)
        handler._presswatch = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" is the no-overlap rule working, not a fault.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
