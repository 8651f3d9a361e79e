"""Subscription filters as people type them, and signed deep links that carry them (pure: no I/O, no clock)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.chatbot.userinput import parse_number, quote
from bot.config.reader import format_duration
from bot.countries import alpha2_hint, normalize_country
from bot.i18n import ENGLISH, N_, Language
from bot.models import DEFAULT_EVENTS, GROUPS, PLATFORMS, EventKind
from bot.text import TAG_RULE, is_tag

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_MAX = 64  # Telegram's limit on a /start payload
MAX_COUNTRIES = 60
MAX_TAGS = 10
DEFAULT_LINK_EXPIRY = timedelta(days=30)
MAX_LINK_EXPIRY = timedelta(days=366)
MIN_LINK_EXPIRY = timedelta(minutes=1)
# An expiry is whole ASCII numbers with units: 12h, 7d, 2w, 1d12h. A word starting with any digit is read as
# one (no country, kind or tag starts with a digit), so '1.5d' or '²d' get an expiry's usage, not a filter's.
_EXPIRY_RE = re.compile(r"(?:[0-9]+[smhdw])+", re.IGNORECASE)
_EXPIRY_PART_RE = re.compile(r"([0-9]+)([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_EXPIRY_NUMBER_MAX = 10**9  # per number: the sum stays an exact int, compared with the limit before timedelta()
LASTS = N_("a link lasts between 1 minute and 366 days (for example 7d or 12h)")
NOT_A_TAG = N_("{word} is not a tag: {rule}")
# The order of these names is the bit order inside a link: append, never reorder.
_EVENT_BITS: tuple[str, ...] = (*GROUPS, *(kind.value for kind in EventKind))
_MAC_BYTES = 10
_VERSION = 1
_HEAD = struct.Struct(">BIHB")  # version, expiry (unix seconds), event mask, number of countries


class UsageError(ValueError):
    """Arguments that cannot be understood; the message says which one and why, in any language.

    Its lines are gettext messages with their values (``UsageError(N_("{word} is not a tag"), word=...)``),
    translated when the reply is written (``render``); ``str()`` is the English.
    """

    def __init__(self, message: str, /, **values: object) -> None:
        self.parts: tuple[tuple[str, dict[str, object]], ...] = ((message, values),)
        super().__init__(message)

    def then(self, message: str, /, **values: object) -> UsageError:
        """This error with one more line (the usage line of the command)."""
        joined = UsageError(self.parts[0][0], **self.parts[0][1])
        joined.parts = (*self.parts, (message, values))
        return joined

    def render(self, lang: Language = ENGLISH) -> str:
        return "\n".join(lang.gettext(message).format(**values) for message, values in self.parts)

    def __str__(self) -> str:
        return self.render()


class LinkError(ValueError):
    """A deep link that is forged, damaged or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Filters:
    """What a subscription lets through: countries, event kinds or groups, account tags, and platforms."""

    countries: tuple[str, ...] = ()
    events: tuple[str, ...] = DEFAULT_EVENTS
    tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()  # x, bluesky, mastodon; empty: every platform (links carry none)


def _words(args: Sequence[str]) -> list[str]:
    """Arguments split on spaces and commas: '/subscribe TR,IN restricted' reads like 'TR IN restricted'."""
    return [word for arg in args for word in arg.replace(",", " ").split() if word]


def parse_filters(args: Sequence[str]) -> Filters:
    """'TR IN', 'restricted', 'tag:journalist' and mixes of them -> Filters; UsageError names a bad word."""
    countries: list[str] = []
    events: list[str] = []
    tags: list[str] = []
    platforms: list[str] = []
    for word in _words(args):
        lower = word.lower()
        if lower in PLATFORMS:
            _add(platforms, lower)
        elif lower.startswith(("tag:", "#")):
            tag = lower.split(":", 1)[1] if lower.startswith("tag:") else lower[1:]
            if not is_tag(tag):
                raise UsageError(NOT_A_TAG, word=quote(word), rule=TAG_RULE)
            _add(tags, tag)
        elif lower in _EVENT_BITS:
            _add(events, lower)
        elif len(word) in (2, 3) and word.isalpha():
            try:
                _add(countries, normalize_country(word))
            except ValueError:
                hint = alpha2_hint(word)
                if hint:
                    raise UsageError(N_("{word} is not an ISO 3166 alpha-2 code (did you mean {code}?)"),
                                     word=repr(word), code=hint) from None
                raise UsageError(N_("{word} is not an ISO 3166 alpha-2 code"), word=repr(word)) from None
        else:
            raise UsageError(N_("{word} is not a country code, event kind or group, or tag:name"), word=quote(word))
    if len(countries) > MAX_COUNTRIES or len(tags) > MAX_TAGS:
        raise UsageError(N_("at most {countries} countries and {tags} tags"), countries=MAX_COUNTRIES, tags=MAX_TAGS)
    return Filters(tuple(countries), tuple(events) or DEFAULT_EVENTS, tuple(tags), tuple(platforms))


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def parse_link_args(args: Sequence[str]) -> tuple[Filters, timedelta]:
    """'/link TR restricted 7d': the filters and how long the link stays valid (default 30 days)."""
    expiry = DEFAULT_LINK_EXPIRY
    rest = []
    for word in _words(args):
        if word[0].isdigit():
            expiry = parse_expiry(word)
        else:
            rest.append(word)
    return parse_filters(rest), expiry


def parse_expiry(word: str) -> timedelta:
    """'7d', '12h', '2w', '1d12h' -> how long a link lasts; UsageError outside 1 minute to 366 days."""
    if not _EXPIRY_RE.fullmatch(word):
        raise UsageError(N_("{word} is not an expiry: a whole number and a unit, like 12h, 7d or 2w"), word=quote(word))
    seconds = 0
    for number, unit in _EXPIRY_PART_RE.findall(word):
        value = parse_number(number, _EXPIRY_NUMBER_MAX)
        if value is None:
            raise UsageError(LASTS)
        seconds += value * _UNIT_SECONDS[unit.lower()]
    if not MIN_LINK_EXPIRY.total_seconds() <= seconds <= MAX_LINK_EXPIRY.total_seconds():
        raise UsageError(LASTS)
    return timedelta(seconds=seconds)


def describe_filters(filters: Filters, lang: Language = ENGLISH) -> str:
    """In words, as plain text (escape it for HTML)."""
    countries = ", ".join(f"{lang.country(code)} ({code})" for code in sorted(filters.countries))
    described = lang.gettext("events: {events}; countries: {countries}; tags: {tags}").format(
        events=", ".join(filters.events), countries=countries or lang.gettext("all countries"),
        tags=", ".join(filters.tags) or lang.gettext("all accounts"))
    if filters.platforms:
        described += "; " + lang.gettext("platforms: {platforms}").format(platforms=", ".join(filters.platforms))
    return described


def format_expiry(delta: timedelta) -> str:
    return format_duration(delta.total_seconds())


def link_secret(bot_token: str) -> bytes:
    """The signing key, derived from the bot token (a new token invalidates old links)."""
    return hmac.new(bot_token.encode(), b"presswatch deep links v1", hashlib.sha256).digest()


def sign_link(filters: Filters, expires_at: datetime, secret: bytes) -> str:
    """A /start payload of at most 64 characters of [A-Za-z0-9_-]; UsageError when the filters do not fit."""
    if filters.platforms:  # the token's layout has no room for them; a link is for every platform
        raise UsageError("a link carries no platform filter: those who open it can send /subscribe bluesky (or x, "
                         "mastodon) after")
    mask = 0
    for name in filters.events:
        mask |= 1 << _EVENT_BITS.index(name)
    body = _HEAD.pack(_VERSION, int(expires_at.timestamp()), mask, len(filters.countries))
    body += "".join(filters.countries).encode("ascii") + ",".join(filters.tags).encode("ascii")
    token = _b64(body + _mac(body, secret))
    if len(token) > TOKEN_MAX:
        raise UsageError(N_("too many filters for one link (Telegram allows 64 characters): use fewer"))
    return token


def read_link(token: str, secret: bytes, now: datetime) -> Filters:
    """The filters a link carries; LinkError when it is forged, damaged or expired at ``now``."""
    if not TOKEN_RE.match(token):
        raise LinkError("this link is not valid")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise LinkError("this link is not valid") from None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if len(body) < _HEAD.size or not hmac.compare_digest(mac, _mac(body, secret)):
        raise LinkError("this link is not valid")
    version, expires, mask, count = _HEAD.unpack_from(body)
    if version != _VERSION:
        raise LinkError("this link is not valid")
    if now >= datetime.fromtimestamp(expires, UTC):
        raise LinkError("this link has expired", expired=True)
    try:
        rest = body[_HEAD.size :].decode("ascii")
        codes, tag_text = rest[: 2 * count], rest[2 * count :]
        events = [name for bit, name in enumerate(_EVENT_BITS) if mask & (1 << bit)]
        return Filters(
            tuple(normalize_country(codes[i : i + 2]) for i in range(0, len(codes), 2)),
            tuple(events) or DEFAULT_EVENTS,
            tuple(tag for tag in tag_text.split(",") if tag),
        )
    except ValueError:
        raise LinkError("this link is not valid") from None


def deep_links(bot_username: str, token: str) -> tuple[str, str]:
    """(a link for private chats, a link that adds the bot to a group with the same payload)."""
    return f"https://t.me/{bot_username}?start={token}", f"https://t.me/{bot_username}?startgroup={token}"


def _mac(body: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
