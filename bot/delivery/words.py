"""The words of an alert in one language (pure): what happened, where, for how long, and the notice titles.

Every sentence is a gettext message with named placeholders, so a translation may put the words in its
own order ('@{handle} artık {places} içinde erişime kapalı'); values are filled in after translating.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import ENGLISH, N_, Language
from bot.models import EVERYWHERE, PLATFORM_NAMES, EventKind, NoticeKind, Transition
from bot.text import clip

SUBJECT_MAX = 150
HANDLE_MAX = 64  # X handles have at most 15 characters: anything longer is garbage to cut
LISTED_IN_DIGEST = 40  # characters of an import's reference in a digest line
_SPECIAL_CODES = {EVERYWHERE, "XY"}
_ENDS_A_CONDITION = {EventKind.UNWITHHELD, EventKind.UNSUSPENDED, EventKind.REACTIVATED, EventKind.UNPROTECTED,
                     EventKind.UNLIMITED}

# kind -> (sentence after the handle, short form for the subject); {places} and {handle} are filled in.
ACTIONS: dict[EventKind, tuple[str, str]] = {
    EventKind.WITHHELD: (N_("is now withheld in {places}"), N_("withheld in {places}")),
    EventKind.UNWITHHELD: (N_("is no longer withheld in {places}"), N_("no longer withheld in {places}")),
    EventKind.SUSPENDED: (N_("has been suspended"), N_("suspended")),
    EventKind.UNSUSPENDED: (N_("is no longer suspended"), N_("no longer suspended")),
    EventKind.DEACTIVATED: (N_("can no longer be found (deactivated or deleted)"), N_("deactivated or deleted")),
    EventKind.REACTIVATED: (N_("is back (reactivated)"), N_("reactivated")),
    EventKind.PROTECTED: (N_("is now protected"), N_("now protected")),
    EventKind.UNPROTECTED: (N_("is no longer protected"), N_("no longer protected")),
    EventKind.RENAMED: (N_("renamed to @{handle}"), N_("renamed to @{handle}")),
    EventKind.LIMITED: (N_("has been limited by the moderators of its instance"), N_("limited by its instance")),
    EventKind.UNLIMITED: (N_("is no longer limited"), N_("no longer limited")),
}
# Bluesky's country labelers hide an account from viewers in a country: said as "hidden in".
BLUESKY_ACTIONS: dict[EventKind, tuple[str, str]] = {
    EventKind.WITHHELD: (N_("is now hidden in {places}"), N_("hidden in {places}")),
    EventKind.UNWITHHELD: (N_("is no longer hidden in {places}"), N_("no longer hidden in {places}")),
}
NOTICE_TITLES: dict[str, str] = {
    NoticeKind.X_AUTH: N_("X refused presswatch's credentials"),
    NoticeKind.X_USAGE_CAP: N_("X usage cap reached"),
    NoticeKind.STALE: N_("No successful poll lately"),
    NoticeKind.SUBSCRIBER_DISABLED: N_("A subscriber was disabled"),
    NoticeKind.DELIVERY_FAILED: N_("A message could not be delivered"),
    NoticeKind.RECOVERED: N_("Recovered"),
    NoticeKind.CONFIG_REFUSED: N_("A service refused presswatch's configuration"),
    NoticeKind.TASK_RESTARTED: N_("A presswatch task was restarted"),
    NoticeKind.STORAGE: N_("The database refused writes"),
    NoticeKind.CONFIG_NOT_APPLIED: N_("An edit of the config file was not applied"),
}


def one_line(text: str) -> str:
    """Collapse every run of whitespace (CR, LF, tabs) to one space: safe for a mail header."""
    return " ".join(text.split())


def country_label(code: str, lang: Language = ENGLISH) -> str:
    """'India (IN)'; 'all countries' for XX."""
    name = lang.country(code)
    return name if code in _SPECIAL_CODES else f"{name} ({code})"


def places(codes: Iterable[str], lang: Language = ENGLISH, most: int | None = None) -> str:
    """The countries an event names, in words; XX swallows the rest. ``most`` shortens to 'and N more'."""
    codes = sorted(set(codes))
    if not codes:
        return ""
    if EVERYWHERE in codes:
        return country_label(EVERYWHERE, lang)
    labels = [country_label(code, lang) for code in codes]
    if most is not None and len(labels) > most:
        rest = len(labels) - most + 1
        labels = [*labels[: most - 1], lang.ngettext("{count} more", "{count} more", rest).format(count=rest)]
    return lang.join(labels)


@dataclass(frozen=True, slots=True)
class What:
    """The 'what happened' sentence in parts: ``actor`` (a handle), ``action``, ``after`` (or '')."""

    actor: str
    action: str
    after: str


def clip_handle(handle: str) -> str:
    return clip(handle, HANDLE_MAX)


def actor(t: Transition) -> str:
    """The handle a sentence starts with: a rename names the old one."""
    return t.previous_handle if t.kind is EventKind.RENAMED and t.previous_handle else t.handle


def actions(t: Transition) -> tuple[str, str]:
    """The (sentence, short form) of ``t``'s kind, in its platform's words."""
    return (BLUESKY_ACTIONS.get(t.kind) if t.platform == "bluesky" else None) or ACTIONS[t.kind]


def on_platform(t: Transition, words: str, lang: Language) -> str:
    """The platform in words, the one place alerts name it: X's as ever, others' '... on Bluesky'."""
    if t.platform == "x":
        return words
    name = PLATFORM_NAMES.get(t.platform, t.platform)
    return lang.gettext("{words} on {platform}").format(words=words, platform=name)


def what(t: Transition, lang: Language, cap: int | None) -> What:
    sentence, _ = actions(t)
    action = lang.gettext(sentence).format(places=clip(places(t.countries, lang), cap),
                                           handle=clip(t.handle, HANDLE_MAX))
    return What(actor="@" + clip(actor(t), HANDLE_MAX), action=on_platform(t, action, lang), after=after(t, lang))


def after(t: Transition, lang: Language) -> str:
    """'after 3 days 4 hours' for the end of a condition whose start is known, else ''."""
    if t.previous_since is None or t.kind not in _ENDS_A_CONDITION:
        return ""
    lasted = lang.duration((t.confirmed_at - t.previous_since).total_seconds())
    return lang.gettext("after {duration}").format(duration=lasted)


def headline(t: Transition, lang: Language = ENGLISH) -> str:
    """'@handle withheld in India (IN)': what happened, in one short line (subjects, feeds, pages)."""
    _, short = actions(t)
    words = on_platform(t, lang.gettext(short).format(places=places(t.countries, lang, most=3), handle=t.handle), lang)
    return clip(one_line(f"@{actor(t)} {words}"), SUBJECT_MAX)


def alert_subject(t: Transition, lang: Language) -> str:
    """'[presswatch] @handle withheld in India (IN)': one short line."""
    return clip(f"[presswatch] {headline(t, lang)}", SUBJECT_MAX)


def digest_subject(handles: list[str], lang: Language) -> str:
    count = len(handles)
    head = lang.ngettext("{count} change", "{count} changes", count).format(count=count)
    return clip(f"[presswatch] {head}: " + ", ".join(f"@{handle}" for handle in handles), SUBJECT_MAX)


def digest_note(t: Transition, lang: Language) -> str:
    """The full withheld list where the sentence alone does not give it: '(still withheld in Turkey (TR))'."""
    if not t.withheld_in or (set(t.withheld_in) == set(t.countries) and t.kind is EventKind.WITHHELD):
        return ""
    message = N_("(still withheld in {places})") if t.kind is EventKind.UNWITHHELD else N_("(withheld in {places})")
    return lang.gettext(message).format(places=places(t.withheld_in, lang, most=6))


def digest_notes(t: Transition, lang: Language) -> str:
    """A digest line's notes: the withheld list, then '(listed in: Court order 2016/1234)', kept short."""
    listed = ""
    if t.listed_in:
        reference = clip(one_line(t.listed_in), LISTED_IN_DIGEST)
        listed = lang.gettext("(listed in: {reference})").format(reference=reference)
    return " ".join(note for note in (digest_note(t, lang), listed) if note)


def notice_title(kind: NoticeKind | str, lang: Language) -> str:
    if kind in NOTICE_TITLES:
        return lang.gettext(NOTICE_TITLES[kind])
    return str(kind).replace("_", " ").capitalize()
