"""Alerts as words: Jinja2 templates for email (text and HTML), Telegram's HTML subset and the other channels,
in each subscriber's language (gettext through Jinja2's i18n extension; the sentences are in words.py).

Templates are looked up first in an operator's folder, then in the bundled ``bot/delivery/templates``.
Every outside value reaches the HTML templates through autoescape; Telegram text is kept under
its 4096-character limit by trimming outside values (never the markup) until it fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.delivery.payload import alert_data
from bot.delivery.words import (
    SUBJECT_MAX,
    alert_subject,
    clip_handle,
    country_label,
    digest_notes,
    digest_subject,
    headline,
    notice_title,
    one_line,
    places,
    what,
)
from bot.i18n import ENGLISH, Language
from bot.models import EventKind, Message, Notice, NoticeKind, Transition, group_of
from bot.text import TELEGRAM_BUDGET, clip, esc, fits_telegram

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
SHORT_EVIDENCE = 16
_CAPS: tuple[int | None, ...] = (None, 1024, 512, 256, 128, 64, 32, 16)
_BY_ID = {EventKind.SUSPENDED, EventKind.DEACTIVATED}
_ICONS = {"restricted": "🔴", "restored": "🟢", "other": "🔵"}

_autoescape = select_autoescape(enabled_extensions=("html.j2", "tg.j2"), default_for_string=False)

__all__ = ["Renderer", "country_label", "flat", "headline", "one_line", "places", "profile_urls", "web_links"]


def flat(text: str) -> str:
    """Line breaks as spaces, so an outside value cannot forge lines of its own in an alert."""
    return " ".join(text.splitlines())


def web_links(t: Transition, public_url: str | None) -> tuple[str, str]:
    """The account's page and the evidence URL on presswatch's site; ('', '') without one, or for an
    account kept off the web (watchlist[].private)."""
    if not public_url or t.private or not t.account_id:
        return "", ""
    page = f"{public_url}/accounts/{quote(t.platform, safe='')}/{quote(t.account_id, safe='')}"
    return page, f"{public_url}/api/v1/transitions/{t.id}/evidence"


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


def _alert_view(t: Transition, lang: Language, cap: int | None, public_url: str | None = None) -> dict[str, Any]:
    handle = clip_handle(t.handle)
    by_id = t.kind in _BY_ID and bool(t.account_id)
    page_url, evidence_url = web_links(t, public_url)
    profile_url, id_url = profile_urls(t.platform, handle, t.account_id)
    return {
        "kind": str(t.kind),
        "group": group_of(t.kind),
        "icon": _ICONS[group_of(t.kind)],
        "what": what(t, lang, cap),
        "handle": handle,
        "previous_handle": clip_handle(t.previous_handle),
        "name": clip(flat(t.name), cap),
        "countries": clip(places(t.countries, lang), cap),
        "withheld": clip(", ".join(country_label(c, lang) for c in sorted(t.withheld_in))
                         or lang.gettext("none"), cap),
        "profile_url": profile_url,
        "id_url": id_url if by_id else "",
        "first_seen": lang.when(t.first_seen_at),
        "confirmed": lang.when(t.confirmed_at),
        "tags": clip(flat(", ".join(t.tags)) or lang.gettext("none"), cap),
        "listed_in": clip(flat(t.listed_in), cap) if t.listed_in else "",  # an import's reference
        "evidence": t.evidence_sha256,
        "evidence_short": t.evidence_sha256[:SHORT_EVIDENCE],
        "history_command": f"presswatch history {handle}",
        "page_url": page_url,  # when set, alerts link these instead of the command a subscriber cannot run
        "evidence_url": evidence_url,
    }


def operator_subject(n: Notice, lang: Language) -> str:
    """'[presswatch health] X usage cap reached: ...': one short line."""
    prefix = lang.gettext("[presswatch health]")
    return clip(one_line(f"{prefix} {notice_title(n.kind, lang)}: {lang.say(n.summary)}"), SUBJECT_MAX)


def _operator_view(n: Notice, lang: Language, cap: int | None) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": str(n.kind),
        "title": notice_title(n.kind, lang),
        "icon": "✅" if n.kind == NoticeKind.RECOVERED else "⚠️",
        "summary": clip(lang.say(n.summary), cap),
        "detail": clip(lang.say(n.detail), cap),
        "at": lang.when(n.at),
    }


class Renderer:
    """Renders subscriber alerts and operator notices, in a language, from templates an operator may override.

    Operator notices are in ``default`` (``i18n.default_language``); alerts in the language asked for, and
    link the account's page and its evidence on ``public_url`` (``server.public_url``) when there is one.
    """

    def __init__(self, templates_dir: Path | None = None, default: Language = ENGLISH, *,
                 public_url: str | None = None) -> None:
        self.public_url = public_url
        loaders: list[BaseLoader] = [FileSystemLoader(templates_dir)] if templates_dir else []
        self.loader = ChoiceLoader([*loaders, FileSystemLoader(BUNDLED_TEMPLATES)])
        self.default = default
        self._envs: dict[str, Environment] = {}
        self.env = self._env(default)

    def _env(self, lang: Language) -> Environment:
        """One Environment per language: Jinja2's i18n extension installs its gettext on the whole env."""
        env = self._envs.get(lang.code)
        if env is None:
            env = Environment(loader=self.loader, autoescape=_autoescape, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
            env.install_gettext_callables(lang.gettext, lang.ngettext, newstyle=True)  # type: ignore[attr-defined]
            self._envs[lang.code] = env
        return env

    def templates(self) -> list[str]:
        """Every template name this renderer can load, overrides included."""
        return sorted({name for name in self.env.list_templates() if name.endswith(".j2")})

    def alert(self, t: Transition, lang: Language | None = None) -> Message:
        """A subscriber alert for one recorded transition, in ``lang`` (default: the default language)."""
        lang = lang or self.default
        message = self._message("alert", lang, alert_subject(t, lang),
                                lambda cap: _alert_view(t, lang, cap, self.public_url))
        _, evidence_url = web_links(t, self.public_url)
        return message.with_data(alert_data(t, message.text, evidence_url or None))

    def operator(self, n: Notice) -> Message:
        """An operator health alert about presswatch itself, in the default language."""
        lang = self.default
        return self._message("operator", lang, operator_subject(n, lang), lambda cap: _operator_view(n, lang, cap))

    def digest(self, transitions: Sequence[Transition], lang: Language | None = None) -> tuple[Message, int]:
        """One message for several alerts to one subscriber, and how many (from the first) it covers.

        A burst like February 2021's (500 accounts withheld in India) would take 25 minutes to reach a
        group at Telegram's 20 messages a minute; a few digests reach it at once. Each change is in
        exactly one message: what does not fit under 4096 characters is left for the next.
        """
        lang = lang or self.default
        if len(transitions) == 1:
            return self.alert(transitions[0], lang), 1
        count = len(transitions)
        while count > 1:
            chosen = transitions[:count]
            subject = digest_subject([t.handle for t in chosen], lang)
            items = [_alert_view(t, lang, 64, self.public_url) | {"note": digest_notes(t, lang)} for t in chosen]
            values = {"items": items, "subject": subject, "lang": lang.code,
                      "linked": any(item["page_url"] for item in items)}
            markup = self.render("digest.tg.j2", values, lang).strip()
            if fits_telegram(markup):
                text = self.render("digest.txt.j2", values, lang).rstrip() + "\n"
                page = self.render("digest.html.j2", values, lang)
                return Message(subject=subject, text=text, html=page, telegram_html=markup), count
            count = max(1, count * 3 // 4)
        return self.alert(transitions[0], lang), 1

    def render(self, name: str, values: dict[str, Any], lang: Language | None = None) -> str:
        """One template; ``markup`` tells the shared macros whether they write HTML."""
        env = self._env(lang or self.default)
        return env.get_template(name).render(values, markup=bool(_autoescape(name)))

    def _message(self, stem: str, lang: Language, subject: str,
                 view: Callable[[int | None], dict[str, Any]]) -> Message:
        values = {**view(None), "subject": subject, "lang": lang.code}
        text = self.render(f"{stem}.txt.j2", values, lang).rstrip() + "\n"
        page = self.render(f"{stem}.html.j2", values, lang)
        telegram = self._telegram(stem, lang, subject, view)
        return Message(subject=subject, text=text, html=page, telegram_html=telegram)

    def _telegram(self, stem: str, lang: Language, subject: str, view: Callable[[int | None], dict[str, Any]]) -> str:
        for cap in _CAPS:
            values = {**view(cap), "subject": clip(subject, cap), "lang": lang.code}
            markup = self.render(f"{stem}.tg.j2", values, lang).strip()
            if fits_telegram(markup):
                return markup
        return self._telegram_fallback(stem, lang, view)

    def _telegram_fallback(self, stem: str, lang: Language, view: Callable[[int | None], dict[str, Any]]) -> str:
        """An override too long to fit even trimmed: send its plain-text sibling, escaped and cut."""
        plain = self.render(f"{stem}.txt.j2", {**view(_CAPS[-1]), "subject": "", "lang": lang.code}, lang).strip()
        return esc(clip(plain, TELEGRAM_BUDGET // 6))  # // 6: each character may become '&quot;'
