"""Journalists claim their own handle (code in the bio, or an admin's approval); owners and admins unwatch."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from bot.chatbot.caller import Caller, Reply, handle_arg, one_handle
from bot.chatbot.claims import MAX_PENDING, code_in_profile, new_code
from bot.chatbot.links import UsageError
from bot.chatbot.userinput import QUOTE_MAX, SQLITE_MAX, is_digits, parse_number, quote
from bot.models import PLATFORM_NAMES, Account, Availability, Observation
from bot.ratelimit import SlidingWindow
from bot.social_handles import platform_of
from bot.storage.accounts import Store
from bot.storage.claims import Claim, ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.text import TAG_RULE, clip, esc, is_tag, when
from watchers.base import Watcher, WatcherError

OWNER_EVENTS = ("restricted", "restored", "other")
# Each /verify costs an X request from the budget the polls use: a few per person, then wait.
VERIFY_LIMIT = 3
VERIFY_WINDOW = timedelta(minutes=10)
CONFIG_REFUSAL = "this handle is in the operator's config"
NOT_OWNER = "no longer the account's owner"
OFF = "Adding handles from Telegram is turned off here. Ask the operators to add yours."
Lookup = Callable[[Sequence[str]], Awaitable[dict[str, Observation]]]
# Where a claimant puts the code, per platform (their bio is the description on Bluesky, the note on Mastodon).
PROFILE_FIELDS = {"x": "X bio or display name", "bluesky": "Bluesky description or display name",
                  "mastodon": "Mastodon bio or display name"}


class LookupFailed(Exception):
    """X could not be asked right now; nothing about the claim changes."""


def x_lookup(watcher: Watcher, limiter: SlidingWindow, *, max_wait: float = 5.0, name: str = "X") -> Lookup:
    """Look handles up through the monitor's watcher, inside the same request budget as the polls (those of
    X, or of the platform ``name``)."""
    async def lookup(handles: Sequence[str]) -> dict[str, Observation]:
        wait = limiter.delay()
        if wait > max_wait:
            raise LookupFailed(f"presswatch's {name} request budget is spent for about {math.ceil(wait / 60)} min")
        await limiter.acquire()
        try:
            result = await watcher.lookup_handles(list(handles))
        except WatcherError as exc:
            raise LookupFailed(f"{name} did not answer") from exc
        return {observation.requested.casefold(): observation for observation in result.observations}

    return lookup


def not_polled(handle: str) -> str:
    """Why an account on a platform (or Mastodon instance) presswatch does not poll cannot be added."""
    return (f"presswatch does not poll {esc(PLATFORM_NAMES[platform_of(handle)])} accounts like @{esc(handle)} "
            "here. Ask the operators to add it to the config's watchlist.")


def owner_key(user_id: int, account_pk: int) -> str:
    return f"owner:{user_id}:{account_pk}"


class Ownership:
    """Claims, verification, approval, and the watchlist changes made from Telegram."""

    def __init__(self, store: Store, outbox: Outbox, claims: ClaimBook, *, mode: str, admins: Sequence[int],
                 lookup: Lookup) -> None:
        self.store = store
        self.outbox = outbox
        self.claims = claims
        self.mode = mode
        self.admins = tuple(admins)
        self.lookup = lookup
        # Whether presswatch polls an account's platform (a Mastodon instance without a lane is not).
        self.polls: Callable[[str], bool] = getattr(lookup, "polls", lambda _handle: True)
        self._lookups: dict[int, list[datetime]] = {}

    def watch(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/watch @handle: start a claim and hand out its code (or queue it for an admin)."""
        handle = one_handle(args, "Usage: /watch @handle (your own X, Bluesky or Mastodon account)")
        if self.mode == "off":
            return Reply(OFF)
        if not self.polls(handle):
            return Reply(not_polled(handle))
        if not caller.private or caller.user_id is None:
            return Reply("Send /watch to me in a private chat, so that I can reach you about your account.")
        user = caller.user_id
        watched = self.store.find_watched(handle)
        if watched and watched.account.owner_telegram_id is not None:
            if watched.account.owner_telegram_id == user:
                return Reply(f"You already own @{esc(watched.account.handle)}.")
            return Reply(f"@{esc(watched.account.handle)} already has an owner. If that is wrong, ask an admin.")
        live = self.claims.live(now, user_id=user)
        same = [claim for claim in live if claim.handle.casefold() == handle.casefold()]
        if same:
            return self._started(same[0], again=True)
        if len(live) >= MAX_PENDING:
            return Reply(f"You already have {MAX_PENDING} pending claims. Finish them with /verify, or wait "
                         "until they expire.")
        claim = self.claims.create(user, caller.chat_id, handle, new_code(), now)
        return self._started(claim, again=False, name=caller.name)

    def _started(self, claim: Claim, *, again: bool, name: str = "") -> Reply:
        handle = esc(claim.handle)
        if self.mode == "approve":
            notes = tuple(
                (admin, f"New claim #{claim.id}: @{handle} by {esc(name)} (user <code>{claim.telegram_user_id}"
                        f"</code>). /approve {claim.id} or /reject {claim.id}")
                for admin in self.admins) if not again else ()
            return Reply(f"Your claim #{claim.id} on @{handle} waits for an admin's approval. "
                         "I will tell you here when it is decided.", notes)
        return Reply(
            f"{'Your claim is still open. ' if again else ''}To prove @{handle} is yours, put this code in its "
            f"{PROFILE_FIELDS[platform_of(claim.handle)]}:\n<code>{esc(claim.code)}</code>\nThen send /verify. "
            f"The code expires {when(claim.expires_at)}.")

    async def verify(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/verify [@handle]: look the claimed accounts up and grant those whose bio or name has the code."""
        handle = one_handle(args, "Usage: /verify, or /verify @handle") if args else None
        if self.mode == "off":
            return Reply(OFF)
        if self.mode == "approve":
            return Reply("Here an admin approves claims; no code is needed. I will tell you when yours is decided.")
        if not caller.private or caller.user_id is None:
            return Reply("Send /verify to me in a private chat.")
        claims = self.claims.live(now, user_id=caller.user_id, handle=handle)
        if not claims:
            last = self.claims.latest(caller.user_id, handle)
            if last is not None and last.status == "expired":
                return Reply(f"Your claim on @{esc(last.handle)} expired. Send /watch @{esc(last.handle)} for a "
                             "new code.")
            return Reply("You have no pending claim. Start one with /watch @handle.")
        wait = self._lookup_wait(caller.user_id, now)
        if wait is not None:
            return Reply(f"You asked me to check X {VERIFY_LIMIT} times in a short while. Try /verify again in "
                         f"{math.ceil(wait.total_seconds() / 60)} min.")
        try:
            found = await self.lookup([claim.handle for claim in claims])
        except LookupFailed as exc:
            return Reply(f"I could not ask X right now ({esc(exc)}). Your claim is kept: try /verify later.")
        lines: list[str] = []
        notes: list[tuple[int, str]] = []
        for claim in claims:
            line, more = self._check(claim, found.get(claim.handle.casefold()), now)
            lines.append(line)
            notes += more
        return Reply("\n\n".join(lines), tuple(notes))

    def _lookup_wait(self, user: int, now: datetime) -> timedelta | None:
        """None and count one lookup when the user may make it; else how long until they may."""
        recent = [at for at in self._lookups.get(user, []) if now - at < VERIFY_WINDOW]
        if len(recent) >= VERIFY_LIMIT:
            return recent[0] + VERIFY_WINDOW - now
        if len(self._lookups) > 10_000:
            self._lookups = {key: times for key, times in self._lookups.items() if now - times[-1] < VERIFY_WINDOW}
        self._lookups[user] = [*recent, now]
        return None

    def _check(self, claim: Claim, seen: Observation | None, now: datetime) -> tuple[str, list[tuple[int, str]]]:
        handle = esc(claim.handle)
        if seen is None or seen.availability != Availability.ACTIVE:
            where = PLATFORM_NAMES[platform_of(claim.handle)]
            return f"I could not read @{handle} on {where}: it does not exist, or it is suspended or deactivated.", []
        if not code_in_profile(claim.code, seen.description, seen.name):
            return (f"The code for @{handle} is not in its bio or name yet. Put <code>{esc(claim.code)}</code> "
                    "there, then send /verify again.", [])
        granted = self.grant(claim, seen.handle or claim.handle, "verified", claim.telegram_user_id, now)
        if isinstance(granted, str):
            return granted, []
        account, notes = granted
        return (f"Verified: you own @{esc(account.handle)}. {self._owned(account)} You may remove the code "
                "from your bio now.", notes)

    @staticmethod
    def _owned(account: Account) -> str:
        listed = "It stays in the operator's config" if account.source == "config" else "It is on the watchlist"
        return f"{listed}, and you will get its alerts here."

    def grant(self, claim: Claim, handle: str, status: str, by: int | None,
              now: datetime) -> tuple[Account, list[tuple[int, str]]] | str:
        """Make the claimant the owner, watch the account, subscribe them to it; a str says why not."""
        current = self.claims.get(claim.id)
        if current is None or current.status != "pending":
            return f"Claim #{claim.id} was already decided ({esc(current.status if current else 'gone')})."
        watched = self.store.find_watched(handle)
        user = claim.telegram_user_id
        if watched and watched.account.owner_telegram_id not in (None, user):
            self.claims.decide(claim.id, "rejected", by, now)
            return f"@{esc(watched.account.handle)} already has an owner."
        if watched and watched.account.source == "config":
            self.store.set_owner(watched.account.pk, user)
            account = self.store.account(watched.account.pk) or watched.account
        else:
            account = self.store.add_account(handle, (), "telegram", user, now, platform_of(handle))
        self.claims.decide(claim.id, status, by, now, account.pk)
        spec = SubscriberSpec(key=owner_key(user, account.pk), name=f"owner of @{account.handle}",
                              channel="telegram", address=str(user), events=OWNER_EVENTS,
                              accounts=(account.pk,), source="telegram")
        sub_id = self.outbox.upsert_subscriber(spec, now)
        self.outbox.enable(sub_id)
        closed = self.claims.close_others(account.handle, claim.id, now)
        notes = [(other.chat_id, f"Your claim on @{esc(other.handle)} was closed: it has an owner now.")
                 for other in closed]
        return account, notes

    def _claim_arg(self, args: Sequence[str], verb: str, now: datetime) -> Claim | str:
        usage = f"Usage: /{verb} <claim id> or /{verb} @handle"
        if len(args) != 1:
            raise UsageError(usage)
        text = args[0].removeprefix("#")
        if is_digits(text):
            claim_id = parse_number(text, SQLITE_MAX)  # None for 0 or beyond what SQLite can hold
            claim = self.claims.get(claim_id) if claim_id is not None else None
            return claim if claim is not None else f"There is no claim #{esc(clip(text, QUOTE_MAX))}."
        handle = handle_arg(text, usage)
        live = self.claims.live(now, handle=handle)
        if len(live) > 1:
            ids = ", ".join(f"#{claim.id}" for claim in live)
            return f"Several claims on @{esc(handle)} ({ids}): name one by its id."
        return live[0] if live else f"No pending claim on @{esc(handle)}."

    def approve(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/approve <id|@handle> (admins): grant a claim without a code."""
        claim = self._claim_arg(args, "approve", now)
        if isinstance(claim, str):
            return Reply(claim)
        if claim.expired(now):
            self.claims.decide(claim.id, "expired", None, now)
            return Reply(f"Claim #{claim.id} on @{esc(claim.handle)} has expired.")
        granted = self.grant(claim, claim.handle, "approved", caller.user_id, now)
        if isinstance(granted, str):
            return Reply(granted)
        account, notes = granted
        told = (claim.chat_id, f"Your claim on @{esc(account.handle)} was approved. {self._owned(account)}")
        return Reply(f"Approved claim #{claim.id}: @{esc(account.handle)} now has its owner.", (told, *notes))

    def reject(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/reject <id|@handle> (admins)."""
        claim = self._claim_arg(args, "reject", now)
        if isinstance(claim, str):
            return Reply(claim)
        if not self.claims.decide(claim.id, "rejected", caller.user_id, now):
            return Reply(f"Claim #{claim.id} was already decided ({esc(claim.status)}).")
        told = (claim.chat_id, f"Your claim on @{esc(claim.handle)} was not approved.")
        return Reply(f"Rejected claim #{claim.id} on @{esc(claim.handle)}.", (told,))

    def unwatch(self, caller: Caller, args: Sequence[str], now: datetime, *, verb: str = "unwatch") -> Reply:
        """/unwatch @handle (its owner or an admin), /remove @handle (admins)."""
        handle = one_handle(args, f"Usage: /{verb} @handle")
        watched = self.store.find_watched(handle)
        if watched is None:
            return Reply(f"@{esc(handle)} is not on the watchlist.")
        account = watched.account
        owner = account.owner_telegram_id is not None and account.owner_telegram_id == caller.user_id
        if not (owner or caller.is_admin):
            return Reply(f"Only the owner of @{esc(account.handle)} or an admin can do that.")
        if account.source == "config":
            if not owner or verb == "remove":
                return Reply(f"@{esc(account.handle)}: {CONFIG_REFUSAL}; it can only be removed there.")
            self.store.set_owner(account.pk, None)
            self._drop_owner_alerts(account.pk)
            return Reply(f"@{esc(account.handle)}: {CONFIG_REFUSAL}, so it stays watched. You no longer own it "
                         "and will no longer get its owner alerts.")
        self.store.unwatch(account.pk)
        self._drop_owner_alerts(account.pk)
        return Reply(f"@{esc(account.handle)} is no longer watched.")

    def _drop_owner_alerts(self, account_pk: int) -> None:
        for sub in self.outbox.enabled_keyed("owner:", f":{account_pk}"):  # owner_key(any user, account_pk)
            self.outbox.disable(sub.id, NOT_OWNER)

    def add(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/add @handle [tags] (admins): watch a handle with no owner."""
        usage = "Usage: /add @handle [tag ...]"
        if not args:
            raise UsageError(usage)
        handle = one_handle(args[:1], usage)
        tags = [tag.lower().removeprefix("tag:") for tag in args[1:]]
        bad = [tag for tag in tags if not is_tag(tag)]
        if bad:
            raise UsageError(f"{quote(bad[0])} is not a tag: {TAG_RULE}\n{usage}")
        watched = self.store.find_watched(handle)
        if watched is not None and watched.account.source == "config":
            return Reply(f"@{esc(watched.account.handle)} is already watched: {CONFIG_REFUSAL}.")
        if not self.polls(handle):
            return Reply(not_polled(handle))
        account = self.store.add_account(handle, tags, "telegram", None, now, platform_of(handle))
        verb = "is already watched" if watched else "is now watched"
        tag_text = f" Tags: {esc(', '.join(account.tags))}." if account.tags else ""
        return Reply(f"@{esc(account.handle)} {verb}.{tag_text} It is read at every poll.")
