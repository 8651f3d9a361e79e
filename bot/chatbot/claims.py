"""Proving a claim on a handle: the one-time code a journalist puts in the profile, and how many may wait.

The claims themselves are rows of bot.storage.claims (ClaimBook).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

CODE_PREFIX = "presswatch-"
MAX_PENDING = 5  # live claims per Telegram user


def new_code(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """'presswatch-' and 8 random base32 characters (40 bits): short enough to paste into a bio."""
    return CODE_PREFIX + base64.b32encode(random_bytes(5)).decode("ascii")


def code_in_profile(code: str, description: str | None, name: str | None) -> bool:
    """True when the code is in the bio or the display name (case does not matter: bios get retyped)."""
    wanted = code.casefold()
    return any(wanted in (text or "").casefold() for text in (description, name))
