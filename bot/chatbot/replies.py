"""Bot replies as Telegram HTML, in the asker's language: every outside value escaped, every reply within
Telegram's budget."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.i18n import ENGLISH, N_, Language
from bot.models import PLATFORM_NAMES, Availability, Subscriber, Transition
from bot.storage.accounts import Watched
from bot.storage.claims import Claim
from bot.storage.polls import Poll
from bot.storage.rows import DisabledSubscriber
from bot.text import ELLIPSIS, TELEGRAM_BUDGET, clip, esc, utf16_units, visible_text

USAGE_LINE_MAX = 300  # longer than any usage line; a safety net for a message quoting too much input
PAGE_SIZE = 20
_AVAILABILITY = {
    Availability.ACTIVE: N_("active"),
    Availability.SUSPENDED: N_("suspended"),
    Availability.NOT_FOUND: N_("deactivated or not found"),
}
KINDS = {  # event kinds as the bot's replies name them
    "withheld": N_("withheld"), "unwithheld": N_("unwithheld"), "suspended": N_("suspended"),
    "unsuspended": N_("unsuspended"), "deactivated": N_("deactivated"), "reactivated": N_("reactivated"),
    "protected": N_("protected"), "unprotected": N_("unprotected"), "renamed": N_("renamed"),
}


def when(moment: datetime | None, lang: Language = ENGLISH) -> str:
    """A time as this language writes it, or 'never'."""
    return lang.when(moment) if moment else lang.gettext("never")


def describe(codes: Iterable[str], lang: Language = ENGLISH) -> str:
    """'India (IN), Turkey (TR)' in this language."""
    return ", ".join(f"{lang.country(code)} ({code})" for code in sorted(codes))


def fit(lines: Iterable[str], budget: int = TELEGRAM_BUDGET) -> str:
    """Join whole lines (each balanced HTML) while they fit in ``budget`` UTF-16 units; mark what was left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if utf16_units(line) > budget:
            line = esc(clip(visible_text(line), budget // 2))
        size = utf16_units(line) + 1
        if used + size > budget - 20:
            kept.append(f"{ELLIPSIS} (more not shown)")
            break
        kept.append(line)
        used += size
    return "\n".join(kept) or ELLIPSIS


def usage(message: str) -> str:
    """A UsageError's message (plain text: the problem, then the usage line) as HTML.

    The messages quote at most a short piece of the input (``bot.userinput.quote``), so the usage line is
    always whole; clipping each line is only a net for a message that quotes more than it should.
    """
    return "\n".join(esc(clip(line, USAGE_LINE_MAX)) for line in message.split("\n"))


def state_words(watched: Watched, lang: Language = ENGLISH) -> str:
    """'active', 'active, withheld in Turkey (TR)', 'suspended', 'not read yet' (plain text)."""
    _ = lang.gettext
    state = watched.state
    if state is None:
        return _("not read yet")
    words = [_(_AVAILABILITY[state.availability])]
    if state.withheld_in:
        words.append(_("withheld in {places}").format(places=describe(state.withheld_in, lang)))
    if state.protected:
        words.append(_("protected"))
    if state.limited:
        words.append(_("limited by its instance"))
    return ", ".join(words)


def _listed(source: str, reference: str | None, owner: str, lang: Language) -> str:
    """'Listed by ...; <owner>.': who added the account, with an import's reference (escaped)."""
    _ = lang.gettext
    if source == "import" and reference:
        return _("Listed by an import ({reference}); {owner}.").format(reference=esc(reference), owner=owner)
    listed = {"config": _("Listed by the operator's config; {owner}."), "import": _("Listed by an import; {owner}.")}
    return listed.get(source, _("Listed by Telegram; {owner}.")).format(owner=owner)


def status(watched: Watched, *, viewer: int | None, confirmations: int, lang: Language = ENGLISH) -> str:
    """/status @handle."""
    _ = lang.gettext
    account, state = watched.account, watched.state
    name = f" ({esc(state.name)})" if state and state.name else ""
    on = "" if account.platform == "x" else " " + _("on {platform}").format(
        platform=PLATFORM_NAMES.get(account.platform, account.platform))
    lines = [f"<b>@{esc(account.handle)}</b>{name}{on}",
             _("State: {state}").format(state=esc(state_words(watched, lang)))]
    if state is not None:
        lines.append(_("Since: {time}").format(time=when(watched.state_since, lang)))
    if watched.pending is not None:
        lines.append(_("Checking a possible change ({count} of {needed} polls agree).").format(
            count=watched.pending.count, needed=confirmations))
    if account.tags:
        lines.append(_("Tags: {tags}").format(tags=esc(", ".join(account.tags))))
    owner = _("no owner")
    if account.owner_telegram_id is not None:
        owner = _("you own it") if account.owner_telegram_id == viewer else _("claimed by its owner")
    lines.append(_listed(account.source, account.reference, owner, lang))
    return fit(lines)


def statuses(accounts: Sequence[Watched], *, viewer: int | None, confirmations: int,
             lang: Language = ENGLISH) -> str:
    """/status of a person: each of their accounts (one a platform), the one asked about first."""
    person = accounts[0].account.person
    head = [lang.gettext("{person} on {count} platforms").format(person=f"<b>{esc(person)}</b>", count=len(accounts))
            ] if person and len(accounts) > 1 else []
    parts = [status(w, viewer=viewer, confirmations=confirmations, lang=lang) for w in accounts]
    return fit([*head, *"\n\n".join(parts).split("\n")])


def watch_list(watched: Sequence[Watched], page: int, lang: Language = ENGLISH) -> str:
    """/list [page]: every watched account with its state, PAGE_SIZE a page."""
    _ = lang.gettext
    if not watched:
        return _("No accounts are watched yet.")
    pages = (len(watched) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 1), pages)
    chunk = sorted(watched, key=lambda w: w.account.handle.casefold())[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [_("<b>Watched accounts</b> ({count}), page {page} of {pages}:").format(
        count=len(watched), page=page, pages=pages)]
    lines += [f"@{esc(w.account.handle)}: {esc(state_words(w, lang))}" for w in chunk]
    if page < pages:
        lines.append(_("Next: /list {page}").format(page=page + 1))
    return fit(lines)


def history(handle: str, transitions: Sequence[Transition], lang: Language = ENGLISH) -> str:
    """/history @handle: recorded transitions, newest first."""
    _ = lang.gettext
    if not transitions:
        return _("No changes recorded for @{handle} yet.").format(handle=esc(handle))
    lines = [_("<b>History of @{handle}</b> (newest first):").format(handle=esc(handle))]
    for item in transitions:
        where = f": {describe(item.countries, lang)}" if item.countries else ""
        lines.append(f"{when(item.confirmed_at, lang)}: {esc(_(KINDS[item.kind.value]))}{esc(where)}")
    return fit(lines)


def pending(claims: Sequence[Claim], now: datetime, *, show_users: bool, lang: Language = ENGLISH) -> str:
    """/pending: live claims, oldest first; user ids only in a private chat with an admin."""
    _ = lang.gettext
    if not claims:
        return _("No claims are waiting.")
    lines = [_("<b>Pending claims</b> ({count}):").format(count=len(claims))]
    for claim in claims:
        hours = max(0, int((claim.expires_at - now).total_seconds() // 3600))
        line = _("#{id} @{handle} by user {user}, expires in {hours} h") if show_users else \
            _("#{id} @{handle}, expires in {hours} h")
        lines.append(line.format(id=claim.id, handle=esc(claim.handle), hours=hours,
                                 user=f"<code>{claim.telegram_user_id}</code>"))
    lines.append(_("Decide with /approve &lt;id&gt; or /reject &lt;id&gt;."))
    return fit(lines)


def subscribers(enabled: Sequence[Subscriber], disabled: Sequence[DisabledSubscriber], *, detail: bool,
                lang: Language = ENGLISH) -> str:
    """/subscribers: counts; names and addresses only when ``detail`` (an admin's private chat)."""
    _ = lang.gettext
    by_channel: dict[str, int] = {}
    for sub in enabled:
        by_channel[sub.channel] = by_channel.get(sub.channel, 0) + 1
    channels = ", ".join(f"{esc(name)} {count}" for name, count in sorted(by_channel.items())) or _("none")
    owners = sum(1 for sub in enabled if sub.accounts)
    lines = [
        _("<b>Subscribers</b>"),
        _("Enabled: {count} ({channels}); of them account owners: {owners}").format(
            count=len(enabled), channels=channels, owners=owners),
        _("Disabled: {count}").format(count=len(disabled)),
    ]
    if detail:  # a webhook URL holds a token: only its host is shown
        lines += [f"• {esc(sub.name)}: {esc(sub.channel)} <code>{esc(sub.shown_address)}</code>" for sub in enabled]
    return fit(lines)


def _lane(label: str, poll: Poll | None, lang: Language) -> str:
    """'Bluesky: last poll 2026-12-01T12:00:00+00:00: 40 read, 0 not read, 2 requests'."""
    _ = lang.gettext
    if poll is None:
        return _("{platform}: no poll yet").format(platform=esc(label))
    result = _("running") if not poll.finished_at else _("{ok} read, {failed} not read, {requests} requests").format(
        ok=poll.accounts_ok, failed=poll.accounts_failed, requests=poll.requests)
    return _("{platform}: last poll {time}: {result}").format(
        platform=esc(label), time=esc(poll.started_at.isoformat()), result=esc(result))


def health(last: Poll | None, depth: dict[str, int], disabled: Sequence[DisabledSubscriber],
           watched: int, conditions: Sequence[str], *, detail: bool, lang: Language = ENGLISH,
           lanes: Sequence[tuple[str, Poll | None]] = ()) -> str:
    """/health: the last poll, X budget left, each other platform's last poll (``lanes``: label, poll),
    outbox depth, disabled subscribers."""
    _ = lang.gettext
    lines = [_("<b>presswatch health</b>"), _("Watched accounts: {count}").format(count=watched)]
    if last is None:
        lines.append(_("Last poll: none yet"))
    else:
        counts = _("{ok} read, {failed} not read, {requests} requests").format(
            ok=last.accounts_ok, failed=last.accounts_failed, requests=last.requests)
        result = _("running") if not last.finished_at else counts
        lines.append(_("Last poll: {time}: {result}").format(time=esc(last.started_at.isoformat()), result=esc(result)))
        if last.error:
            lines.append(_("Last poll error: {error}").format(error=esc(last.error)))
        budget = _("unknown") if last.rate_remaining is None else str(last.rate_remaining)
        reset = _(" (resets {time})").format(time=esc(last.rate_reset_at.isoformat())) if last.rate_reset_at else ""
        lines.append(_("X API budget left: {budget}{reset}").format(budget=esc(budget), reset=reset))
    lines += [_lane(label, poll, lang) for label, poll in lanes]
    outbox = ", ".join(f"{esc(status)} {count}" for status, count in sorted(depth.items())) or _("empty")
    lines.append(_("Outbox: {outbox}").format(outbox=outbox))
    lines.append(_("Disabled subscribers: {count}").format(count=len(disabled)))
    if detail:
        unknown = _("no reason")
        lines += [f"• {esc(sub.name)}: {esc(sub.reason or unknown)}" for sub in disabled]
    if conditions:
        lines.append(_("Open problems: {problems}").format(problems=esc(", ".join(conditions))))
    return fit(lines)
