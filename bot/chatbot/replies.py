"""Bot replies as Telegram HTML: every outside value escaped, every reply within Telegram's budget."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.countries import describe
from bot.models import PLATFORM_NAMES, Availability, Subscriber, Transition
from bot.storage.accounts import Watched
from bot.storage.claims import Claim
from bot.storage.polls import Poll
from bot.storage.rows import DisabledSubscriber
from bot.text import ELLIPSIS, TELEGRAM_BUDGET, clip, esc, utf16_units, visible_text, when

USAGE_LINE_MAX = 300  # longer than any usage line; a safety net for a message quoting too much input
PAGE_SIZE = 20
_AVAILABILITY = {
    Availability.ACTIVE: "active",
    Availability.SUSPENDED: "suspended",
    Availability.NOT_FOUND: "deactivated or not found",
}


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


def state_words(watched: Watched) -> str:
    """'active', 'active, withheld in Turkey (TR)', 'suspended', 'not read yet' (plain text)."""
    state = watched.state
    if state is None:
        return "not read yet"
    words = [_AVAILABILITY[state.availability]]
    if state.withheld_in:
        words.append(f"withheld in {describe(state.withheld_in)}")
    if state.protected:
        words.append("protected")
    if state.limited:
        words.append("limited by its instance")
    return ", ".join(words)


def status(watched: Watched, *, viewer: int | None, confirmations: int) -> str:
    """/status @handle."""
    account, state = watched.account, watched.state
    name = f" ({esc(state.name)})" if state and state.name else ""
    on = "" if account.platform == "x" else f" on {PLATFORM_NAMES.get(account.platform, account.platform)}"
    lines = [f"<b>@{esc(account.handle)}</b>{name}{on}", f"State: {esc(state_words(watched))}"]
    if state is not None:
        lines.append(f"Since: {when(watched.state_since)}")
    if watched.pending is not None:
        lines.append(f"Checking a possible change ({watched.pending.count} of {confirmations} polls agree).")
    if account.tags:
        lines.append(f"Tags: {esc(', '.join(account.tags))}")
    source = "the operator's config" if account.source == "config" else "Telegram"
    owner = "no owner"
    if account.owner_telegram_id is not None:
        owner = "you own it" if account.owner_telegram_id == viewer else "claimed by its owner"
    lines.append(f"Listed by {source}; {owner}.")
    return fit(lines)


def statuses(accounts: Sequence[Watched], *, viewer: int | None, confirmations: int) -> str:
    """/status of a person: each of their accounts (one a platform), the one asked about first."""
    person = accounts[0].account.person
    head = [f"<b>{esc(person)}</b> on {len(accounts)} platforms"] if person and len(accounts) > 1 else []
    parts = [status(w, viewer=viewer, confirmations=confirmations) for w in accounts]
    return fit([*head, *"\n\n".join(parts).split("\n")])


def watch_list(watched: Sequence[Watched], page: int) -> str:
    """/list [page]: every watched account with its state, PAGE_SIZE a page."""
    if not watched:
        return "No accounts are watched yet."
    pages = (len(watched) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 1), pages)
    chunk = sorted(watched, key=lambda w: w.account.handle.casefold())[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [f"<b>Watched accounts</b> ({len(watched)}), page {page} of {pages}:"]
    lines += [f"@{esc(w.account.handle)}: {esc(state_words(w))}" for w in chunk]
    if page < pages:
        lines.append(f"Next: /list {page + 1}")
    return fit(lines)


def history(handle: str, transitions: Sequence[Transition]) -> str:
    """/history @handle: recorded transitions, newest first."""
    if not transitions:
        return f"No changes recorded for @{esc(handle)} yet."
    lines = [f"<b>History of @{esc(handle)}</b> (newest first):"]
    for item in transitions:
        where = f": {describe(item.countries)}" if item.countries else ""
        lines.append(f"{when(item.confirmed_at)}: {esc(item.kind.value)}{esc(where)}")
    return fit(lines)


def pending(claims: Sequence[Claim], now: datetime, *, show_users: bool) -> str:
    """/pending: live claims, oldest first; user ids only in a private chat with an admin."""
    if not claims:
        return "No claims are waiting."
    lines = [f"<b>Pending claims</b> ({len(claims)}):"]
    for claim in claims:
        hours = max(0, int((claim.expires_at - now).total_seconds() // 3600))
        who = f" by user <code>{claim.telegram_user_id}</code>" if show_users else ""
        lines.append(f"#{claim.id} @{esc(claim.handle)}{who}, expires in {hours} h")
    lines.append("Decide with /approve &lt;id&gt; or /reject &lt;id&gt;.")
    return fit(lines)


def subscribers(enabled: Sequence[Subscriber], disabled: Sequence[DisabledSubscriber], *, detail: bool) -> str:
    """/subscribers: counts; names and addresses only when ``detail`` (an admin's private chat)."""
    by_channel: dict[str, int] = {}
    for sub in enabled:
        by_channel[sub.channel] = by_channel.get(sub.channel, 0) + 1
    channels = ", ".join(f"{esc(name)} {count}" for name, count in sorted(by_channel.items())) or "none"
    owners = sum(1 for sub in enabled if sub.accounts)
    lines = [
        "<b>Subscribers</b>",
        f"Enabled: {len(enabled)} ({channels}); of them account owners: {owners}",
        f"Disabled: {len(disabled)}",
    ]
    if detail:
        lines += [f"• {esc(sub.name)}: {esc(sub.channel)} <code>{esc(sub.address)}</code>" for sub in enabled]
    return fit(lines)


def health(last: Poll | None, depth: dict[str, int], disabled: Sequence[DisabledSubscriber],
           watched: int, conditions: Sequence[str], *, detail: bool) -> str:
    """/health: the last poll, X budget left, outbox depth, disabled subscribers."""
    lines = ["<b>presswatch health</b>", f"Watched accounts: {watched}"]
    if last is None:
        lines.append("Last poll: none yet")
    else:
        result = "running" if not last.finished_at else (
            f"{last.accounts_ok} read, {last.accounts_failed} not read, {last.requests} requests")
        lines.append(f"Last poll: {esc(last.started_at.isoformat())}: {esc(result)}")
        if last.error:
            lines.append(f"Last poll error: {esc(last.error)}")
        budget = "unknown" if last.rate_remaining is None else str(last.rate_remaining)
        reset = f" (resets {esc(last.rate_reset_at.isoformat())})" if last.rate_reset_at else ""
        lines.append(f"X API budget left: {esc(budget)}{reset}")
    outbox = ", ".join(f"{esc(status)} {count}" for status, count in sorted(depth.items())) or "empty"
    lines.append(f"Outbox: {outbox}")
    lines.append(f"Disabled subscribers: {len(disabled)}")
    if detail:
        lines += [f"• {esc(sub.name)}: {esc(sub.reason or 'no reason')}" for sub in disabled]
    if conditions:
        lines.append(f"Open problems: {esc(', '.join(conditions))}")
    return fit(lines)
