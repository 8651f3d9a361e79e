"""The bot's core, without PTB: the command table, per-user limits, and one entry point per command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.chatbot import replies
from bot.chatbot.caller import Caller, Reply, no_args, one_handle
from bot.chatbot.links import UsageError
from bot.chatbot.lookup import Lookup
from bot.chatbot.ownership import NOT_OWNER, Ownership
from bot.chatbot.subscriptions import UNSUBSCRIBED, Subscriptions
from bot.chatbot.userinput import parse_number
from bot.i18n import ENGLISH, N_, Language, compiled, language, resolve
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox
from bot.storage.rows import DisabledSubscriber
from bot.text import TELEGRAM_BUDGET, clip, esc, utf16_units

# A command's callable: (the service, who asks, the arguments, now) -> the reply, or its HTML text.
Handler = Callable[["SelfService", Caller, list[str], datetime], "Reply | str | Awaitable[Reply]"]


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, the line clients show, what runs it, and whether only admins may."""

    name: str
    description: str
    handler: Handler
    admin: bool = False


MAX_PAGE = 99_999  # /list pages: far beyond any watchlist, small enough for any arithmetic on it
ADMINS_ONLY = N_("Sorry, admins only.")
TOO_FAST = N_("You are sending commands too fast (at most {limit} a minute). I will answer again in a minute.")
INTRO = N_("presswatch tells press-freedom groups and journalists when a watched X account is withheld in a "
           "country, suspended, deactivated or restored.")


class Gate(StrEnum):
    OK = "ok"
    REFUSE = "refuse"  # the first command over the limit: one polite refusal
    SILENT = "silent"  # every later one until the window ends


class FloodGate:
    """At most ``limit`` commands per sender in a window of ``per`` that starts with their first one."""

    def __init__(self, limit: int = 20, per: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.per = per
        self._windows: dict[int, tuple[datetime, int]] = {}

    def check(self, sender: int, now: datetime) -> Gate:
        """Count one command from ``sender`` at ``now``."""
        start, count = self._windows.get(sender, (now, 0))
        if now - start >= self.per or now < start:
            start, count = now, 0
        count += 1
        self._windows[sender] = (start, count)
        if len(self._windows) > 10_000:
            self._windows = {key: value for key, value in self._windows.items() if now - value[0] < self.per}
        if count <= self.limit:
            return Gate.OK
        return Gate.REFUSE if count == self.limit + 1 else Gate.SILENT


class SelfService:
    """Runs a command for a caller and returns the reply; admin commands never run for non-admins."""

    def __init__(self, store: Store, outbox: Outbox, claims: ClaimBook, *, admins: Sequence[int], mode: str,
                 secret: bytes, lookup: Lookup, clock: Callable[[], datetime], confirmations: int = 2,
                 bot_username: Callable[[], str] = lambda: "presswatch_bot", limit: int = 20,
                 default: Language = ENGLISH, lanes: Sequence[tuple[str, str]] = ()) -> None:
        """``lanes``: (key, label) of the platforms polled beside X (Bluesky, each Mastodon instance)."""
        self.lanes = tuple(lanes)
        self.store = store
        self.outbox = outbox
        self.admins = frozenset(admins)
        self.mode = mode
        self.clock = clock
        self.confirmations = confirmations
        self.bot_username = bot_username
        self.gate = FloodGate(limit)
        self.default = default  # i18n.default_language: for people presswatch cannot ask (admins told of a claim)
        self.subscriptions = Subscriptions(store, outbox, claims, secret=secret)
        self.ownership = Ownership(store, outbox, claims, mode=mode, admins=tuple(admins), lookup=lookup,
                                   default=default)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins

    def admit(self, sender: int, lang: Language = ENGLISH) -> Reply | None:
        """None when the sender is within the limit; else the one refusal, or an empty reply (silence)."""
        verdict = self.gate.check(sender, self.clock())
        if verdict is Gate.OK:
            return None
        return Reply(lang.gettext(TOO_FAST).format(limit=self.gate.limit) if verdict is Gate.REFUSE else "")

    async def run(self, name: str, caller: Caller, args: Sequence[str]) -> Reply:
        """Answer ``/name args``: usage on bad arguments, a refusal for non-admins on admin commands."""
        command = BY_NAME.get(name)
        if command is None:
            return self.unknown(name, caller.lang)
        if command.admin and not caller.is_admin:
            return Reply(caller.lang.gettext(ADMINS_ONLY))
        try:
            result = command.handler(self, caller, list(args), self.clock())
            if not isinstance(result, Reply | str):
                result = await result
        except UsageError as exc:
            return Reply(replies.usage(exc.render(caller.lang)))
        reply = result if isinstance(result, Reply) else Reply(result)
        if utf16_units(reply.text) > TELEGRAM_BUDGET:
            reply = Reply(replies.fit(reply.text.split("\n")), reply.notify)
        return reply

    @staticmethod
    def unknown(name: str, lang: Language = ENGLISH) -> Reply:
        return Reply(lang.gettext("I do not know /{name}. Send /help for the commands.").format(
            name=esc(clip(name, 33))))

    def help_text(self, caller: Caller) -> str:
        _ = caller.lang.gettext
        shown = [c for c in COMMANDS if caller.is_admin or not c.admin]
        lines = [_(INTRO), "", *(f"/{c.name}: {esc(_(c.description))}" for c in shown)]
        if self.mode == "off":
            lines.append(_("Adding handles from Telegram is turned off here."))
        elif self.mode == "approve":
            lines.append(_("Claims on handles are approved by an admin."))
        return replies.fit(lines)

    def _language(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        """/language [code]: this chat's alert language, or the languages there are."""
        if not args:
            return self.subscriptions.language_shown(caller, self.default)
        found = resolve(args[0]) if len(args) == 1 else None
        if found is None:
            raise UsageError(N_("{word} is not a language presswatch speaks: {languages}"),
                             word=repr(args[0][:20]), languages=", ".join(compiled())).then(LANGUAGE_USAGE)
        return self.subscriptions.set_language(caller, language(found))

    def _start(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        linked = self.subscriptions.start(caller, args, now)
        return linked or Reply(self.help_text(caller))

    def _help(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return Reply(self.help_text(caller))

    def _subscribe(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.subscriptions.subscribe(caller, args, now)

    def _unsubscribe(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.subscriptions.unsubscribe(caller, args, now)

    def _settings(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.subscriptions.settings(caller, args, now)

    def _watch(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.watch(caller, args, now)

    async def _verify(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return await self.ownership.verify(caller, args, now)

    def _unwatch(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.unwatch(caller, args, now)

    def _status(self, caller: Caller, args: list[str], now: datetime) -> str:
        handle = one_handle(args, N_("Usage: /status @handle"))
        watched = self.store.find_watched(handle)
        if watched is None:
            return caller.lang.gettext("@{handle} is not on the watchlist.").format(handle=esc(handle))
        person = [watched, *self.store.same_person(watched)]  # every platform of a person, asked one first
        return replies.statuses(person, viewer=caller.user_id, confirmations=self.confirmations, lang=caller.lang)

    def _list(self, caller: Caller, args: list[str], now: datetime) -> str:
        page = parse_number(args[0], MAX_PAGE) if len(args) == 1 else None
        if args and page is None:
            raise UsageError(N_("Usage: /list, or /list 2 for the second page"))
        return replies.watch_list(self.store.watched(), page or 1, caller.lang)

    def _history(self, caller: Caller, args: list[str], now: datetime) -> str:
        handle = one_handle(args, N_("Usage: /history @handle"))
        return replies.history(handle, self.store.transitions(handle=handle, limit=15), caller.lang)

    def _add(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.add(caller, args, now)

    def _remove(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.unwatch(caller, args, now, verb="remove")

    def _pending(self, caller: Caller, args: list[str], now: datetime) -> str:
        no_args(args, N_("Usage: /pending"))
        return replies.pending(self.ownership.claims.live(now), now, show_users=caller.private, lang=caller.lang)

    def _approve(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.approve(caller, args, now)

    def _reject(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.ownership.reject(caller, args, now)

    def _subscribers(self, caller: Caller, args: list[str], now: datetime) -> str:
        no_args(args, N_("Usage: /subscribers"))
        enabled = self.outbox.subscribers(operator=False)
        return replies.subscribers(enabled, self._disabled(), detail=caller.private, lang=caller.lang)

    def _health(self, caller: Caller, args: list[str], now: datetime) -> str:
        no_args(args, N_("Usage: /health"))
        others = [(label, self.store.last_poll(lane=key)) for key, label in self.lanes]
        return replies.health(self.store.last_poll(), self.outbox.depth(), self._disabled(),
                              len(self.store.watched()), self.outbox.open_conditions(), detail=caller.private,
                              lang=caller.lang, lanes=others)

    def _link(self, caller: Caller, args: list[str], now: datetime) -> Reply:
        return self.subscriptions.link(caller, args, now, self.bot_username())

    def _disabled(self) -> list[DisabledSubscriber]:
        """Subscribers disabled by presswatch (delivery failures, the config), not those who left."""
        return self.outbox.disabled(except_reasons=(UNSUBSCRIBED, NOT_OWNER))


LANGUAGE_USAGE = N_("Usage: /language, or /language tr for alerts in Turkish")

# The command table: what clients show (setMyCommands, /help), and the callable each command runs.
COMMANDS: tuple[Command, ...] = (
    Command("start", N_("Welcome, or subscribe through a link"), SelfService._start),
    Command("help", N_("What the bot does and its commands"), SelfService._help),
    Command("subscribe", N_("Get alerts here: /subscribe [countries] [kinds] [tag:x]"), SelfService._subscribe),
    Command("unsubscribe", N_("Stop this chat's alerts"), SelfService._unsubscribe),
    Command("settings", N_("This chat's filters, your accounts and claims"), SelfService._settings),
    Command("language", N_("The language of this chat's alerts: /language tr"), SelfService._language),
    Command("watch", N_("Add your own account (X, Bluesky, Mastodon): /watch @handle"), SelfService._watch),
    Command("verify", N_("Prove the account is yours (code in its bio)"), SelfService._verify),
    Command("unwatch", N_("Stop watching an account you own: /unwatch @handle"), SelfService._unwatch),
    Command("status", N_("An account's current state: /status @handle"), SelfService._status),
    Command("list", N_("Watched accounts and their state: /list [page]"), SelfService._list),
    Command("history", N_("Recorded changes of an account: /history @handle"), SelfService._history),
    Command("add", N_("(admins) Watch a handle: /add @handle [tags]"), SelfService._add, admin=True),
    Command("remove", N_("(admins) Stop watching a handle: /remove @handle"), SelfService._remove, admin=True),
    Command("pending", N_("(admins) Claims waiting for a decision"), SelfService._pending, admin=True),
    Command("approve", N_("(admins) Approve a claim: /approve <id|@handle>"), SelfService._approve, admin=True),
    Command("reject", N_("(admins) Reject a claim: /reject <id|@handle>"), SelfService._reject, admin=True),
    Command("subscribers", N_("(admins) Subscriber counts"), SelfService._subscribers, admin=True),
    Command("health", N_("(admins) Last poll, X budget, outbox, disabled subscribers"), SelfService._health,
            admin=True),
    Command("link", N_("(admins) A subscription link: /link [filters] [expiry]"), SelfService._link, admin=True),
)
BY_NAME = {command.name: command for command in COMMANDS}
