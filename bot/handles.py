"""X handles: the rule X enforces, and the forms people paste (@name, x.com/name, twitter.com/name)."""

from __future__ import annotations

import re

HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|mobile\.)?(?:x|twitter)\.com/(?:#!/)?@?([^/?#\s]+)/?(?:[?#].*)?$",
    re.IGNORECASE,
)


def normalize_handle(text: str) -> str:
    """'@MahirZeynalov', 'https://x.com/MahirZeynalov' -> 'MahirZeynalov'; ValueError otherwise."""
    raw = text.strip()
    match = _URL_RE.match(raw)
    candidate = match.group(1) if match else raw.removeprefix("@")
    if not HANDLE_RE.match(candidate):
        raise ValueError(
            f"{text!r} is not an X handle: 1 to 15 letters, digits or underscores, "
            "optionally as @handle or an x.com/twitter.com link"
        )
    return candidate
