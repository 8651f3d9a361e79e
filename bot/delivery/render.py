"""Alerts as words: Jinja2 templates for email (text and HTML) and Telegram's HTML subset.

Templates are looked up first in an operator's folder, then in the bundled ``bot/delivery/templates``.
Every outside value reaches the HTML templates through autoescape; Telegram text is kept under
its 4096-character limit by trimming outside values (never the markup) until it fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.countries import country_name
from bot.models import EVERYWHERE, PLATFORM_NAMES, EventKind, Message, Notice, NoticeKind, Transition, group_of
from bot.text import TELEGRAM_BUDGET, clip, esc, fits_telegram, format_utc, humanize_duration

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
SHORT_EVIDENCE = 16
SUBJECT_MAX = 150
HANDLE_MAX = 64  # X handles have at most 15 characters: anything longer is garbage to cut
_CAPS: tuple[int | None, ...] = (None, 1024, 512, 256, 128, 64, 32, 16)
_SPECIAL_CODES = {EVERYWHERE, "XY"}
_ENDS_A_CONDITION = {EventKind.UNWITHHELD, EventKind.UNSUSPENDED, EventKind.REACTIVATED, EventKind.UNPROTECTED,
                     EventKind.UNLIMITED}
_BY_ID = {EventKind.SUSPENDED, EventKind.DEACTIVATED}
_ICONS = {"restricted": "🔴", "restored": "🟢", "other": "🔵"}

# kind -> (sentence after the handle, short form for the subject); {places} and {handle} are filled in.
_ACTIONS: dict[EventKind, tuple[str, str]] = {
    EventKind.WITHHELD: ("is now withheld in {places}", "withheld in {places}"),
    EventKind.UNWITHHELD: ("is no longer withheld in {places}", "no longer withheld in {places}"),
    EventKind.SUSPENDED: ("has been suspended", "suspended"),
    EventKind.UNSUSPENDED: ("is no longer suspended", "no longer suspended"),
    EventKind.DEACTIVATED: ("can no longer be found (deactivated or deleted)", "deactivated or deleted"),
    EventKind.REACTIVATED: ("is back (reactivated)", "reactivated"),
    EventKind.PROTECTED: ("is now protected", "now protected"),
    EventKind.UNPROTECTED: ("is no longer protected", "no longer protected"),
    EventKind.RENAMED: ("renamed to @{handle}", "renamed to @{handle}"),
    EventKind.LIMITED: ("has been limited by the moderators of its instance", "limited by its instance"),
    EventKind.UNLIMITED: ("is no longer limited", "no longer limited"),
}
_NOTICE_WORDS: dict[str, str] = {
    NoticeKind.X_AUTH: "X refused presswatch's credentials",
    NoticeKind.X_USAGE_CAP: "X usage cap reached",
    NoticeKind.STALE: "No successful poll lately",
    NoticeKind.SUBSCRIBER_DISABLED: "A subscriber was disabled",
    NoticeKind.DELIVERY_FAILED: "A message could not be delivered",
    NoticeKind.RECOVERED: "Recovered",
    NoticeKind.CONFIG_REFUSED: "A service refused presswatch's configuration",
    NoticeKind.TASK_RESTARTED: "A presswatch task was restarted",
    NoticeKind.STORAGE: "The database refused writes",
}

_autoescape = select_autoescape(enabled_extensions=("html.j2", "tg.j2"), default_for_string=False)


def one_line(text: str) -> str:
    """Collapse every run of whitespace (CR, LF, tabs) to one space: safe for a mail header."""
    return " ".join(text.split())


def flat(text: str) -> str:
    """Line breaks as spaces, so an outside value cannot forge lines of its own in an alert."""
    return " ".join(text.splitlines())


def country_label(code: str) -> str:
    """'India (IN)'; 'all countries' for XX."""
    return country_name(code) if code in _SPECIAL_CODES else f"{country_name(code)} ({code})"


def join_and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def places(codes: Iterable[str], most: int | None = None) -> str:
    """The countries an event names, in words; XX swallows the rest. ``most`` shortens to 'and N more'."""
    codes = sorted(set(codes))
    if not codes:
        return ""
    if EVERYWHERE in codes:
        return country_label(EVERYWHERE)
    labels = [country_label(code) for code in codes]
    if most is not None and len(labels) > most:
        labels = [*labels[: most - 1], f"{len(labels) - most + 1} more"]
    return join_and(labels)


def on_platform(platform: str, words: str) -> str:
    """The platform in words, the one place alerts name it: X's as ever, others' '... on Bluesky'.

    Bluesky's country labelers hide an account from viewers in a country: said as "hidden in".
    """
    if platform == "x":
        return words
    if platform == "bluesky":
        words = words.replace("withheld in", "hidden in")
    return f"{words} on {PLATFORM_NAMES.get(platform, platform)}"


def profile_urls(platform: str, handle: str, account_id: str | None) -> tuple[str, str]:
    """The account's profile page, and the page by its id ('' where a platform has none)."""
    if platform == "bluesky":
        return "https://bsky.app/profile/" + quote(handle, safe=""), (
            "https://bsky.app/profile/" + quote(account_id, safe=":") if account_id else "")
    if platform == "mastodon":
        user, _, instance = handle.partition("@")
        return f"https://{quote(instance, safe='')}/@{quote(user, safe='')}", ""
    return "https://x.com/" + quote(handle, safe=""), (
        "https://x.com/i/user/" + quote(account_id, safe="") if account_id else "")


@dataclass(frozen=True, slots=True)
class What:
    """The 'what happened' sentence in parts: ``actor`` (a handle), ``action``, ``after`` (or '')."""

    actor: str
    action: str
    after: str


def _what(t: Transition, cap: int | None) -> What:
    sentence, _ = _ACTIONS[t.kind]
    actor = t.previous_handle if t.kind is EventKind.RENAMED and t.previous_handle else t.handle
    action = on_platform(t.platform, sentence.format(places=clip(places(t.countries), cap),
                                                     handle=clip(t.handle, HANDLE_MAX)))
    return What(actor="@" + clip(actor, HANDLE_MAX), action=action, after=_after(t))


def _after(t: Transition) -> str:
    if t.previous_since is None or t.kind not in _ENDS_A_CONDITION:
        return ""
    return "after " + humanize_duration((t.confirmed_at - t.previous_since).total_seconds())


def alert_subject(t: Transition) -> str:
    """'[presswatch] @handle withheld in India (IN)': one short line."""
    _, short = _ACTIONS[t.kind]
    actor = t.previous_handle if t.kind is EventKind.RENAMED and t.previous_handle else t.handle
    words = on_platform(t.platform, short.format(places=places(t.countries, most=3), handle=t.handle))
    return clip(one_line(f"[presswatch] @{actor} {words}"), SUBJECT_MAX)


def _alert_view(t: Transition, cap: int | None) -> dict[str, Any]:
    handle = clip(t.handle, HANDLE_MAX)
    by_id = t.kind in _BY_ID and bool(t.account_id)
    profile_url, id_url = profile_urls(t.platform, handle, t.account_id)
    return {
        "kind": str(t.kind),
        "group": group_of(t.kind),
        "icon": _ICONS[group_of(t.kind)],
        "what": _what(t, cap),
        "handle": handle,
        "previous_handle": clip(t.previous_handle, HANDLE_MAX),
        "name": clip(flat(t.name), cap),
        "countries": clip(places(t.countries), cap),
        "withheld": clip(", ".join(country_label(c) for c in sorted(t.withheld_in)) or "none", cap),
        "profile_url": profile_url,
        "id_url": id_url if by_id else "",
        "first_seen": format_utc(t.first_seen_at),
        "confirmed": format_utc(t.confirmed_at),
        "tags": clip(flat(", ".join(t.tags)) or "none", cap),
        "evidence": t.evidence_sha256,
        "evidence_short": t.evidence_sha256[:SHORT_EVIDENCE],
        "history_command": f"presswatch history {handle}",
    }


def _digest_note(t: Transition) -> str:
    """The full withheld list where the sentence alone does not give it: '(still withheld in Turkey (TR))'."""
    if not t.withheld_in or (set(t.withheld_in) == set(t.countries) and t.kind is EventKind.WITHHELD):
        return ""
    prefix = "still withheld in" if t.kind is EventKind.UNWITHHELD else "withheld in"
    return f"({prefix} {places(t.withheld_in, most=6)})"


def notice_title(kind: NoticeKind | str) -> str:
    return _NOTICE_WORDS.get(kind, str(kind).replace("_", " ").capitalize())


def operator_subject(n: Notice) -> str:
    """'[presswatch health] X usage cap reached: ...': one short line."""
    return clip(one_line(f"[presswatch health] {notice_title(n.kind)}: {n.summary}"), SUBJECT_MAX)


def _operator_view(n: Notice, cap: int | None) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": str(n.kind),
        "title": notice_title(n.kind),
        "icon": "✅" if n.kind == NoticeKind.RECOVERED else "⚠️",
        "summary": clip(n.summary, cap),
        "detail": clip(n.detail, cap),
        "at": format_utc(n.at),
    }


class Renderer:
    """Renders subscriber alerts and operator notices from templates an operator may override."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(templates_dir)] if templates_dir else []
        self.env = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(BUNDLED_TEMPLATES)]),
            autoescape=_autoescape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def templates(self) -> list[str]:
        """Every template name this renderer can load, overrides included."""
        return sorted({name for name in self.env.list_templates() if name.endswith(".j2")})

    def alert(self, t: Transition) -> Message:
        """A subscriber alert for one recorded transition."""
        return self._message("alert", alert_subject(t), lambda cap: _alert_view(t, cap))

    def operator(self, n: Notice) -> Message:
        """An operator health alert about presswatch itself."""
        return self._message("operator", operator_subject(n), lambda cap: _operator_view(n, cap))

    def digest(self, transitions: Sequence[Transition]) -> tuple[Message, int]:
        """One message for several alerts to one subscriber, and how many (from the first) it covers.

        A burst like February 2021's (500 accounts withheld in India) would take 25 minutes to reach a
        group at Telegram's 20 messages a minute; a few digests reach it at once. Each change is in
        exactly one message: what does not fit under 4096 characters is left for the next.
        """
        if len(transitions) == 1:
            return self.alert(transitions[0]), 1
        count = len(transitions)
        while count > 1:
            chosen = transitions[:count]
            subject = clip(f"[presswatch] {count} changes: " + ", ".join(f"@{t.handle}" for t in chosen), SUBJECT_MAX)
            values = {"items": [_alert_view(t, 64) | {"note": _digest_note(t)} for t in chosen], "subject": subject}
            markup = self.render("digest.tg.j2", values).strip()
            if fits_telegram(markup):
                text = self.render("digest.txt.j2", values).rstrip() + "\n"
                page = self.render("digest.html.j2", values)
                return Message(subject=subject, text=text, html=page, telegram_html=markup), count
            count = max(1, count * 3 // 4)
        return self.alert(transitions[0]), 1

    def render(self, name: str, values: dict[str, Any]) -> str:
        """One template; ``markup`` tells the shared macros whether they write HTML."""
        return self.env.get_template(name).render(values, markup=bool(_autoescape(name)))

    def _message(self, stem: str, subject: str, view: Callable[[int | None], dict[str, Any]]) -> Message:
        values = {**view(None), "subject": subject}
        text = self.render(f"{stem}.txt.j2", values).rstrip() + "\n"
        page = self.render(f"{stem}.html.j2", values)
        telegram = self._telegram(stem, subject, view)
        return Message(subject=subject, text=text, html=page, telegram_html=telegram)

    def _telegram(self, stem: str, subject: str, view: Callable[[int | None], dict[str, Any]]) -> str:
        for cap in _CAPS:
            values = {**view(cap), "subject": clip(subject, cap)}
            markup = self.render(f"{stem}.tg.j2", values).strip()
            if fits_telegram(markup):
                return markup
        return self._telegram_fallback(stem, view)

    def _telegram_fallback(self, stem: str, view: Callable[[int | None], dict[str, Any]]) -> str:
        """An override too long to fit even trimmed: send its plain-text sibling, escaped and cut."""
        plain = self.render(f"{stem}.txt.j2", {**view(_CAPS[-1]), "subject": ""}).strip()
        return esc(clip(plain, TELEGRAM_BUDGET // 6))  # // 6: each character may become '&quot;'
