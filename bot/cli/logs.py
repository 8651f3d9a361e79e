"""Plain log lines with a level; every known secret is replaced before a line is written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.models import Secrets

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log URLs or headers carrying tokens (httpx logs Telegram URLs with the bot token;
# tweepy logs request headers with the bearer token at DEBUG).
_QUIET = (
    "httpx", "httpcore", "tweepy", "urllib3", "requests_oauthlib", "oauthlib", "telegram", "apscheduler", "mail.log",
)


class Redactor(logging.Filter):
    """Scrubs every record with ``Secrets.scrub`` (bot.models): known secrets and Telegram bot tokens."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = Secrets.of(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets += Secrets.of(secrets)

    def redact(self, text: str) -> str:
        return self.secrets.scrub(text)

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
