"""Validators for single config values: strict numbers, one-line text, addresses, Telegram ids.

Each raises ValueError with a message in the operator's words, quoting what was written in the file
(a number YAML read arrives as a ``WrittenInt``/``WrittenFloat`` that keeps its source text).
"""

from __future__ import annotations

import math
import re
import unicodedata
from email.policy import default as email_policy
from typing import Any

from bot.config.written import WrittenFloat, WrittenInt, shown, text
from bot.text import is_tag

_DECIMAL_INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_DECIMAL_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# No quotes, brackets, separators or spaces: exactly one plain addr-spec, never a list of them.
_ADDRESS_RE = re.compile(r'[^@\s,;<>()\[\]\\"]+@[^@\s,;<>()\[\]\\".]+(?:\.[^@\s,;<>()\[\]\\".]+)+')
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
NAME_MAX = 200
# Telegram ids have at most 52 significant bits; a larger number is a typo (and would not fit SQLite).
TELEGRAM_ID_MAX = 2**53


def one_line(value: str) -> str:
    """Text with no line break or control character: it may end up in an email header or subject."""
    for char in value:
        if unicodedata.category(char) in _LINE_BREAKING:
            raise ValueError(f"must be one line: no line breaks or control characters (found U+{ord(char):04X})")
    return value


def name(value: object) -> str:
    """A display name: one line, not blank, at most 200 characters, stripped."""
    cleaned = one_line(text(value)).strip()
    if not cleaned:
        raise ValueError("must not be empty")
    if len(cleaned) > NAME_MAX:
        raise ValueError(f"is {len(cleaned)} characters long: at most {NAME_MAX}")
    return cleaned


def whole(value: object) -> int:
    """A whole number in plain digits: a YAML integer, or text of digits (from a ${VAR}); never true or 1.0."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a whole number, found {shown(value)}")
    source = _source(value)
    if source is None:
        return int(value)  # an int given directly, not read from the file
    if not _DECIMAL_INT_RE.fullmatch(source):
        raise ValueError(f"expected a whole number in plain digits, found {shown(value)}")
    try:
        return int(source)
    except ValueError:  # more digits than Python converts (4300): no field takes such a number
        raise ValueError("expected a whole number, found one too long to read") from None


def number(value: object) -> float:
    """A finite decimal number (int or float); never true/false, a list, or text that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, found {shown(value)}")
    source = _source(value)
    if source is not None and not _DECIMAL_RE.fullmatch(source):
        raise ValueError(f"expected a number, found {shown(value)}")
    result = float(value if source is None else source)
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, found {shown(value)}")
    return result


_PERCENT_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")
RESERVE_MAX = 50.0  # percent: the regular polls keep at least half of the budget


def reserve(value: object) -> float:
    """A share of the request budget written as a percentage, ``10%`` or ``2.5%``, 0% to 50%: a fraction."""
    written = value if isinstance(value, str) else None
    found = _PERCENT_RE.fullmatch(written) if written is not None else None
    if found is None:
        hint = f" (write {shown(value)}%)" if isinstance(value, int | float) and not isinstance(value, bool) else ""
        raise ValueError(f"expected a percentage like 10%, found {shown(value)}{hint}")
    percent = float(found.group(1))
    if percent > RESERVE_MAX:
        raise ValueError(f"{shown(value)} is too much: at most {RESERVE_MAX:g}% (the regular polls need the rest)")
    return percent / 100


def _source(value: object) -> str | None:
    """The text a value was written as: text itself, or a number's source; None for a number given directly."""
    if isinstance(value, str):
        return value
    return value.source if isinstance(value, WrittenInt | WrittenFloat) else None


def telegram_chat(value: object) -> int:
    """A Telegram chat id: a whole number other than 0 (users positive, groups and channels negative)."""
    chat = whole(value)
    if chat == 0 or abs(chat) >= TELEGRAM_ID_MAX:
        raise ValueError(f"{shown(value)} is not a Telegram chat id (like 11111111 or -1001234567890)")
    return chat


def telegram_user(value: object) -> int:
    """A Telegram user id: a whole number above 0."""
    user = whole(value)
    if not 0 < user < TELEGRAM_ID_MAX:
        raise ValueError(f"{shown(value)} is not a Telegram user id (a number above 0, like 11111111)")
    return user


def version(value: object) -> int:
    """The format version: the YAML integer 1, written as 1 (not 1.0, true, '1' or 0x1)."""
    if isinstance(value, int) and not isinstance(value, bool) and value == 1 and getattr(value, "source", "1") == "1":
        return 1
    raise ValueError(f"expected 1 (the only config version), found {shown(value)}")


def host(value: object) -> str:
    """A host name or address: not blank, no spaces or control characters."""
    cleaned = one_line(text(value)).strip()
    if not cleaned:
        raise ValueError("must not be empty (a host name like smtp.example.org)")
    if any(char.isspace() for char in cleaned):
        raise ValueError(f"{cleaned!r} is not a host name (like smtp.example.org)")
    return cleaned


def url(value: object) -> str:
    """An http(s) base URL without its trailing slash; no spaces or control characters."""
    written = text(value)
    if not re.match(r"^https?://[^/\s]+", written) or any(not char.isprintable() or char.isspace() for char in written):
        raise ValueError(f"{written!r} is not an http:// or https:// URL")
    return written.rstrip("/")


def listen(value: object) -> tuple[str, int]:
    """Where a server listens: 'host:port' ('127.0.0.1:8080', '[::1]:8080', '0.0.0.0:8080'); port 0 is any free one."""
    written = text(value).strip()
    host, colon, port = written.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    usage = f"{written!r} is not host:port (like 127.0.0.1:8080)"
    if not colon or not host or any(char.isspace() or not char.isprintable() for char in host):
        raise ValueError(usage)
    if not port.isascii() or not port.isdigit() or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"{usage}: the port is a number from 0 to 65535")
    return host, int(port)
def webhook_url(value: object) -> str:
    """An https:// (or http://) URL to POST to. It may carry a token (Slack's do): no message quotes it."""
    written = text(value).strip()
    if not re.match(r"^https?://[^/\s?#]+", written) or any(not c.isprintable() or c.isspace() for c in written):
        raise ValueError("is not an http:// or https:// URL (the value is not shown: it may hold a token)")
    return written


def matrix_room(value: object) -> str:
    """A Matrix room id: '!' and more ('!AbCdEf:example.org'; room version 12 ids have no ':server')."""
    written = one_line(text(value)).strip()
    if not written.startswith("!") or len(written) < 2 or any(char.isspace() for char in written):
        raise ValueError(f"{written!r} is not a Matrix room id (it starts with '!', like \"!AbCdEf:example.org\")")
    return written


def tag(value: object) -> str:
    """A lower-cased tag of 1 to 32 of a-z, 0-9, '_' and '-'."""
    written = text(value)
    cleaned = written.strip().lower()
    if not is_tag(cleaned):
        raise ValueError(f"{written!r} is not a tag: 1 to 32 letters, digits, '_' or '-'")
    return cleaned


def address(value: object) -> str:
    """One email address (``desk@example.org``): no display name, no list, no control characters."""
    cleaned = one_line(text(value)).strip()
    found = _parsed(cleaned) or []
    if _ADDRESS_RE.fullmatch(cleaned) and found == [("", cleaned)]:
        return cleaned
    if len(found) > 1:
        raise ValueError(f"{cleaned!r} is more than one email address: give each its own entry")
    raise ValueError(f"{cleaned!r} is not an email address (like desk@example.org)")


def mailbox(value: object) -> str:
    """One sender mailbox for the From header: 'alerts@example.org' or 'Name <alerts@example.org>'."""
    cleaned = one_line(text(value)).strip()
    found = _parsed(cleaned) or []
    if len(found) == 1 and _ADDRESS_RE.fullmatch(found[0][1]):
        return cleaned
    if len(found) > 1:
        raise ValueError(f"{cleaned!r} is more than one mailbox: the sender is one address")
    raise ValueError(f'{cleaned!r} is not a mailbox (like "presswatch <alerts@example.org>")')


def _parsed(value: str) -> list[tuple[str, str]] | None:
    """(display name, address) pairs as the email package reads a From header, or None if it finds defects."""
    try:
        header: Any = email_policy.header_factory("From", value)
    except Exception:  # the stdlib parser raises IndexError and others on some malformed input
        return None
    if header.defects:
        return None
    return [(entry.display_name, entry.addr_spec) for entry in header.addresses]

