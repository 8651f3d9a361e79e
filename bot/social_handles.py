"""Bluesky and Mastodon accounts as people write them, and which platform a pasted text names.

Bluesky: ``name.bsky.social``, ``@name.bsky.social``, ``bsky:name.bsky.social``, a ``did:plc:`` or
``did:web:`` DID, or a ``bsky.app/profile/<handle or DID>`` link -> the lower-cased handle, or the DID.
Mastodon: ``user@instance``, ``@user@instance`` or an ``https://instance/@user`` link -> ``user@instance``
(the instance lower-cased).
"""

from __future__ import annotations

import re

from bot.handles import normalize_handle

_BSKY_HANDLE = re.compile(
    r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-z0-9.:%-]{1,253})$")
_BSKY_LINK = re.compile(r"^(?:https?://)?(?:www\.)?bsky\.app/profile/([^/?#\s]+)/?(?:[?#].*)?$", re.IGNORECASE)
_INSTANCE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_USER = re.compile(r"^[A-Za-z0-9_]{1,30}$")
_MASTO_LINK = re.compile(r"^https?://([^/?#\s]+)/@([^/?#\s]+)/?(?:[?#].*)?$", re.IGNORECASE)


def normalize_bluesky(text: str) -> str:
    """A Bluesky handle (lower-cased) or DID; ValueError naming the forms accepted otherwise."""
    raw = text.strip()
    link = _BSKY_LINK.match(raw)
    candidate = link.group(1) if link else raw.removeprefix("bsky:").removeprefix("@")
    if candidate.startswith("did:") and _DID.match(candidate):
        return candidate
    candidate = candidate.lower()
    if _BSKY_HANDLE.match(candidate) and not candidate.endswith(".invalid"):
        return candidate
    raise ValueError(f"{text!r} is not a Bluesky account: a handle like name.bsky.social, a did:plc: or did:web: "
                     "DID, or a bsky.app/profile/ link")


def normalize_mastodon(text: str) -> str:
    """``user@instance`` (the instance lower-cased); ValueError naming the forms accepted otherwise."""
    raw = text.strip()
    link = _MASTO_LINK.match(raw)
    if link:
        user, instance = link.group(2), link.group(1)
        if "@" in user:  # instance.example/@user@home: a remote account as seen from another instance
            user, _, instance = user.partition("@")
    else:
        user, _, instance = raw.removeprefix("@").partition("@")
    instance = instance.lower()
    if _USER.match(user) and _INSTANCE.match(instance):
        return f"{user}@{instance}"
    raise ValueError(f"{text!r} is not a Mastodon account: user@instance (as @user@mastodon.social) or a link "
                     "like https://mastodon.social/@user")


def instance_of(handle: str) -> str:
    """'mahir@mastodon.social' -> 'mastodon.social'."""
    return handle.rpartition("@")[2].lower()


def platform_of(account: str) -> str:
    """The platform of an account as normalized (an X handle, a Bluesky handle or DID, ``user@instance``)."""
    return parse_account(account)[0]


def parse_account(text: str) -> tuple[str, str]:
    """(platform, account) for any accepted form: ``bsky:`` or a bsky.app link is Bluesky, ``user@instance``
    or an instance's ``/@user`` link is Mastodon, anything else must be an X handle. ValueError otherwise."""
    raw = text.strip()
    if raw.lower().startswith("bsky:") or _BSKY_LINK.match(raw) or raw.startswith("did:"):
        return "bluesky", normalize_bluesky(raw)
    if "@" in raw.removeprefix("@") or (_MASTO_LINK.match(raw) and "bsky.app" not in raw.lower()
                                         and not re.match(r"^(?:https?://)?(?:www\.)?(?:x|twitter)\.com/", raw, re.I)):
        return "mastodon", normalize_mastodon(raw)
    if "." in raw.removeprefix("@") and "/" not in raw:
        return "bluesky", normalize_bluesky(raw)  # a domain-shaped handle: X handles have no dots
    return "x", normalize_handle(raw)
