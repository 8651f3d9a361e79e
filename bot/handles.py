"""X handles: the rule X enforces, and the forms people paste (@name, x.com/name, twitter.com/name)."""

from __future__ import annotations

import re

HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|mobile\.)?(?:x|twitter)\.com/(?:#!/)?(@?)([^/?#\s]+)(/[^?#\s]*)?(?:[?#].*)?$",
    re.IGNORECASE,
)
# First path segments that are X's own pages, not accounts: x.com/home is the timeline, not @home.
# A bare `home` or `@home` typed alone stays a handle: only a link says which page it points at.
RESERVED_PATHS = frozenset({
    "account", "compose", "explore", "hashtag", "home", "i", "intent", "login", "logout", "messages",
    "notifications", "privacy", "search", "settings", "share", "signup", "tos",
})


def normalize_handle(text: str) -> str:
    """'@MahirZeynalov', 'https://x.com/MahirZeynalov' -> 'MahirZeynalov'; ValueError otherwise.

    A link must point at an account: its first path segment is the handle, and nothing may follow it
    but a slash, a query or a fragment. Links to X's own pages (x.com/home, x.com/i/..., x.com/search?q=)
    are refused with a message saying so.
    """
    raw = text.strip()
    match = _URL_RE.match(raw)
    if match is None:
        candidate = raw.removeprefix("@")
    elif match.group(2).lower() in RESERVED_PATHS and not match.group(1):
        raise ValueError(f"{text!r} is a link to X's {match.group(2).lower()!r} page, not to an account")
    elif match.group(3) not in (None, "/"):
        candidate = raw  # x.com/name/status/1: not an account link, reported below
    else:
        candidate = match.group(2)
    if not HANDLE_RE.match(candidate):
        raise ValueError(
            f"{text!r} is not an X handle: 1 to 15 letters, digits or underscores, "
            "optionally as @handle or an x.com/twitter.com link"
        )
    return candidate
