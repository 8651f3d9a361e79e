"""Journalists claim their own handle (code in the bio, or an admin's approval); owners and admins unwatch.

Replies are in the asker's language; notes to other people in theirs (a claimant's, kept with the claim),
or in the default language for admins told of a new claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.chatbot.caller import Caller, Reply, handle_arg, one_handle
from bot.chatbot.claims import MAX_PENDING, code_in_profile, new_code
from bot.chatbot.links import NOT_A_TAG, UsageError
from bot.chatbot.lookup import Lookup, LookupFailed, lookup_failure
from bot.chatbot.lookups import PROFILE_FIELDS, not_polled
from bot.chatbot.replies import when
from bot.chatbot.userinput import QUOTE_MAX, SQLITE_MAX, is_digits, parse_number, quote
from bot.i18n import ENGLISH, N_, Language, language
from bot.models import PLATFORM_NAMES, Account, Availability, Observation
from bot.social_handles import platform_of
from bot.storage.accounts import Store
from bot.storage.claims import Claim, ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.text import TAG_RULE, clip, esc, is_tag

OWNER_EVENTS = ("restricted", "restored", "other")
# Each /verify costs an X request from the budget the polls use: a few per person, then wait.
VERIFY_LIMIT = 3
VERIFY_WINDOW = timedelta(minutes=10)
CONFIG_REFUSAL = N_("this handle is in the operator's config")
NOT_OWNER = "no longer the account's owner"
OFF = N_("Adding handles from Telegram is turned off here. Ask the operators to add yours.")


def owner_key(user_id: int, account_pk: int) -> str:
    return f"owner:{user_id}:{account_pk}"


class Ownership:
    """Claims, verification, approval, and the watchlist changes made from Telegram."""

    def __init__(self, store: Store, outbox: Outbox, claims: ClaimBook, *, mode: str, admins: Sequence[int],
                 lookup: Lookup, default: Language = ENGLISH) -> None:
        self.store = store
        self.outbox = outbox
        self.claims = claims
        self.mode = mode
        self.admins = tuple(admins)
        self.lookup = lookup
        self.default = default
        # Whether presswatch polls an account's platform (a Mastodon instance without a lane is not).
        self.polls: Callable[[str], bool] = getattr(lookup, "polls", lambda _handle: True)
        self._lookups: dict[int, list[datetime]] = {}

    def _of(self, claim: Claim) -> Language:
        """The claimant's language (as they wrote /watch), else the default language."""
        return language(claim.language) if claim.language else self.default

    def watch(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/watch @handle: start a claim and hand out its code (or queue it for an admin)."""
        _ = caller.lang.gettext
        handle = one_handle(args, N_("Usage: /watch @handle (your own X, Bluesky or Mastodon account)"))
        if self.mode == "off":
            return Reply(_(OFF))
        if not self.polls(handle):
            return Reply(not_polled(handle, caller.lang))
        if not caller.private or caller.user_id is None:
            return Reply(_("Send /watch to me in a private chat, so that I can reach you about your account."))
        user = caller.user_id
        watched = self.store.find_watched(handle)
        if watched and watched.account.owner_telegram_id is not None:
            shown = esc(watched.account.handle)
            if watched.account.owner_telegram_id == user:
                return Reply(_("You already own @{handle}.").format(handle=shown))
            return Reply(_("@{handle} already has an owner. If that is wrong, ask an admin.").format(handle=shown))
        live = self.claims.live(now, user_id=user)
        same = [claim for claim in live if claim.handle.casefold() == handle.casefold()]
        if same:
            return self._started(same[0], caller.lang, again=True)
        if len(live) >= MAX_PENDING:
            return Reply(_("You already have {count} pending claims. Finish them with /verify, or wait until they "
                           "expire.").format(count=MAX_PENDING))
        claim = self.claims.create(user, caller.chat_id, handle, new_code(), now, language=caller.language)
        return self._started(claim, caller.lang, again=False, name=caller.name)

    def _started(self, claim: Claim, lang: Language, *, again: bool, name: str = "") -> Reply:
        _ = lang.gettext
        handle = esc(claim.handle)
        if self.mode == "approve":
            told = self.default.gettext("New claim #{id}: @{handle} by {name} (user {user}). /approve {id} or "
                                        "/reject {id}")
            notes = tuple((admin, told.format(id=claim.id, handle=handle, name=esc(name),
                                              user=f"<code>{claim.telegram_user_id}</code>"))
                          for admin in self.admins) if not again else ()
            return Reply(_("Your claim #{id} on @{handle} waits for an admin's approval. I will tell you here when "
                           "it is decided.").format(id=claim.id, handle=handle), notes)
        words = _("Your claim is still open. To prove @{handle} is yours, put this code in its {field}:") if again \
            else _("To prove @{handle} is yours, put this code in its {field}:")
        field = _(PROFILE_FIELDS[platform_of(claim.handle)])
        rest = _("Then send /verify. The code expires {time}.").format(time=when(claim.expires_at, lang))
        return Reply(f"{words.format(handle=handle, field=field)}\n<code>{esc(claim.code)}</code>\n{rest}")

    async def verify(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/verify [@handle]: look the claimed accounts up and grant those whose bio or name has the code."""
        _ = caller.lang.gettext
        handle = one_handle(args, N_("Usage: /verify, or /verify @handle")) if args else None
        if self.mode == "off":
            return Reply(_(OFF))
        if self.mode == "approve":
            return Reply(_("Here an admin approves claims; no code is needed. I will tell you when yours is decided."))
        if not caller.private or caller.user_id is None:
            return Reply(_("Send /verify to me in a private chat."))
        claims = self.claims.live(now, user_id=caller.user_id, handle=handle)
        if not claims:
            last = self.claims.latest(caller.user_id, handle)
            if last is not None and last.status == "expired":
                return Reply(_("Your claim on @{handle} expired. Send /watch @{handle} for a new code.").format(
                    handle=esc(last.handle)))
            return Reply(_("You have no pending claim. Start one with /watch @handle."))
        wait = self._lookup_wait(caller.user_id, now)
        if wait is not None:
            return Reply(_("You asked me to check X {count} times in a short while. Try /verify again in {minutes} "
                           "min.").format(count=VERIFY_LIMIT, minutes=math.ceil(wait.total_seconds() / 60)))
        try:
            found = await self.lookup([claim.handle for claim in claims])
        except LookupFailed as exc:
            return Reply(_("I could not ask X right now ({why}). Your claim is kept: try /verify later.").format(
                why=esc(lookup_failure(exc, caller.lang))))
        lines: list[str] = []
        notes: list[tuple[int, str]] = []
        for claim in claims:
            line, more = self._check(claim, found.get(claim.handle.casefold()), now, caller.lang)
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

    def _check(self, claim: Claim, seen: Observation | None, now: datetime,
               lang: Language) -> tuple[str, list[tuple[int, str]]]:
        _ = lang.gettext
        handle = esc(claim.handle)
        if seen is None or seen.availability != Availability.ACTIVE:
            where = PLATFORM_NAMES[platform_of(claim.handle)]
            return _("I could not read @{handle} on {platform}: it does not exist, or it is suspended or "
                     "deactivated.").format(handle=handle, platform=where), []
        if not code_in_profile(claim.code, seen.description, seen.name):
            return (_("The code for @{handle} is not in its bio or name yet. Put {code} there, then send /verify "
                      "again.").format(handle=handle, code=f"<code>{esc(claim.code)}</code>"), [])
        granted = self.grant(claim, seen.handle or claim.handle, "verified", claim.telegram_user_id, now, lang)
        if isinstance(granted, str):
            return granted, []
        account, notes = granted
        return (_("Verified: you own @{handle}. {listed} You may remove the code from your bio now.").format(
            handle=esc(account.handle), listed=self._owned(account, lang)), notes)

    @staticmethod
    def _owned(account: Account, lang: Language) -> str:
        if account.source == "config":
            return lang.gettext("It stays in the operator's config, and you will get its alerts here.")
        return lang.gettext("It is on the watchlist, and you will get its alerts here.")

    def grant(self, claim: Claim, handle: str, status: str, by: int | None, now: datetime,
              lang: Language = ENGLISH) -> tuple[Account, list[tuple[int, str]]] | str:
        """Make the claimant the owner, watch the account, subscribe them to it; a str says why not."""
        _ = lang.gettext
        current = self.claims.get(claim.id)
        if current is None or current.status != "pending":
            return _("Claim #{id} was already decided ({status}).").format(
                id=claim.id, status=esc(current.status if current else "gone"))
        watched = self.store.find_watched(handle)
        user = claim.telegram_user_id
        if watched and watched.account.owner_telegram_id not in (None, user):
            self.claims.decide(claim.id, "rejected", by, now)
            return _("@{handle} already has an owner.").format(handle=esc(watched.account.handle))
        if watched and watched.account.source == "config":
            self.store.set_owner(watched.account.pk, user)
            account = self.store.account(watched.account.pk) or watched.account
        else:
            account = self.store.add_account(handle, (), "telegram", user, now, platform_of(handle))
        self.claims.decide(claim.id, status, by, now, account.pk)
        spec = SubscriberSpec(key=owner_key(user, account.pk), name=f"owner of @{account.handle}",
                              channel="telegram", address=str(user), events=OWNER_EVENTS,
                              accounts=(account.pk,), source="telegram", language=claim.language)
        sub_id = self.outbox.upsert_subscriber(spec, now)
        self.outbox.enable(sub_id)
        closed = self.claims.close_others(account.handle, claim.id, now)
        notes = [(other.chat_id, self._of(other).gettext("Your claim on @{handle} was closed: it has an owner now.")
                  .format(handle=esc(other.handle))) for other in closed]
        return account, notes

    def _claim_arg(self, args: Sequence[str], verb: str, now: datetime, lang: Language) -> Claim | str:
        _ = lang.gettext
        usage = N_("Usage: /{verb} <claim id> or /{verb} @handle")
        if len(args) != 1:
            raise UsageError(usage, verb=verb)
        text = args[0].removeprefix("#")
        if is_digits(text):
            claim_id = parse_number(text, SQLITE_MAX)  # None for 0 or beyond what SQLite can hold
            claim = self.claims.get(claim_id) if claim_id is not None else None
            return claim if claim is not None else _("There is no claim #{id}.").format(id=esc(clip(text, QUOTE_MAX)))
        handle = handle_arg(text, usage, verb=verb)
        live = self.claims.live(now, handle=handle)
        if len(live) > 1:
            ids = ", ".join(f"#{claim.id}" for claim in live)
            return _("Several claims on @{handle} ({ids}): name one by its id.").format(handle=esc(handle), ids=ids)
        return live[0] if live else _("No pending claim on @{handle}.").format(handle=esc(handle))

    def approve(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/approve <id|@handle> (admins): grant a claim without a code."""
        _ = caller.lang.gettext
        claim = self._claim_arg(args, "approve", now, caller.lang)
        if isinstance(claim, str):
            return Reply(claim)
        if claim.expired(now):
            self.claims.decide(claim.id, "expired", None, now)
            return Reply(_("Claim #{id} on @{handle} has expired.").format(id=claim.id, handle=esc(claim.handle)))
        granted = self.grant(claim, claim.handle, "approved", caller.user_id, now, caller.lang)
        if isinstance(granted, str):
            return Reply(granted)
        account, notes = granted
        theirs = self._of(claim)
        told = (claim.chat_id, theirs.gettext("Your claim on @{handle} was approved. {listed}").format(
            handle=esc(account.handle), listed=self._owned(account, theirs)))
        return Reply(_("Approved claim #{id}: @{handle} now has its owner.").format(
            id=claim.id, handle=esc(account.handle)), (told, *notes))

    def reject(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/reject <id|@handle> (admins)."""
        _ = caller.lang.gettext
        claim = self._claim_arg(args, "reject", now, caller.lang)
        if isinstance(claim, str):
            return Reply(claim)
        if not self.claims.decide(claim.id, "rejected", caller.user_id, now):
            return Reply(_("Claim #{id} was already decided ({status}).").format(id=claim.id, status=esc(claim.status)))
        told = (claim.chat_id, self._of(claim).gettext("Your claim on @{handle} was not approved.").format(
            handle=esc(claim.handle)))
        return Reply(_("Rejected claim #{id} on @{handle}.").format(id=claim.id, handle=esc(claim.handle)), (told,))

    def unwatch(self, caller: Caller, args: Sequence[str], now: datetime, *, verb: str = "unwatch") -> Reply:
        """/unwatch @handle (its owner or an admin), /remove @handle (admins)."""
        _ = caller.lang.gettext
        handle = one_handle(args, N_("Usage: /{verb} @handle"), verb=verb)
        watched = self.store.find_watched(handle)
        if watched is None:
            return Reply(_("@{handle} is not on the watchlist.").format(handle=esc(handle)))
        account = watched.account
        shown = esc(account.handle)
        owner = account.owner_telegram_id is not None and account.owner_telegram_id == caller.user_id
        if not (owner or caller.is_admin):
            return Reply(_("Only the owner of @{handle} or an admin can do that.").format(handle=shown))
        if account.source == "config":
            if not owner or verb == "remove":
                return Reply(_("@{handle}: {why}; it can only be removed there.").format(
                    handle=shown, why=_(CONFIG_REFUSAL)))
            self.store.set_owner(account.pk, None)
            self._drop_owner_alerts(account.pk)
            return Reply(_("@{handle}: {why}, so it stays watched. You no longer own it and will no longer get its "
                           "owner alerts.").format(handle=shown, why=_(CONFIG_REFUSAL)))
        self.store.unwatch(account.pk)
        self._drop_owner_alerts(account.pk)
        return Reply(_("@{handle} is no longer watched.").format(handle=shown))

    def _drop_owner_alerts(self, account_pk: int) -> None:
        for sub in self.outbox.enabled_keyed("owner:", f":{account_pk}"):  # owner_key(any user, account_pk)
            self.outbox.disable(sub.id, NOT_OWNER)

    def add(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/add @handle [tags] (admins): watch a handle with no owner."""
        _ = caller.lang.gettext
        usage = N_("Usage: /add @handle [tag ...]")
        if not args:
            raise UsageError(usage)
        handle = one_handle(args[:1], usage)
        tags = [tag.lower().removeprefix("tag:") for tag in args[1:]]
        bad = [tag for tag in tags if not is_tag(tag)]
        if bad:
            raise UsageError(NOT_A_TAG, word=quote(bad[0]), rule=TAG_RULE).then(usage)
        watched = self.store.find_watched(handle)
        if watched is not None and watched.account.source == "config":
            return Reply(_("@{handle} is already watched: {why}.").format(
                handle=esc(watched.account.handle), why=_(CONFIG_REFUSAL)))
        if not self.polls(handle):
            return Reply(not_polled(handle, caller.lang))
        account = self.store.add_account(handle, tags, "telegram", None, now, platform_of(handle))
        said = _("@{handle} is already watched.") if watched else _("@{handle} is now watched.")
        tag_text = " " + _("Tags: {tags}.").format(tags=esc(", ".join(account.tags))) if account.tags else ""
        return Reply(said.format(handle=esc(account.handle)) + tag_text + " " + _("It is read at every poll."))
