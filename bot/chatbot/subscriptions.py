"""A chat's own subscription: /subscribe, /unsubscribe, /settings, signed deep links (/link, /start TOKEN)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.chatbot.caller import Caller, Reply, no_args
from bot.chatbot.links import (
    Filters,
    LinkError,
    UsageError,
    deep_links,
    describe_filters,
    format_expiry,
    parse_filters,
    parse_link_args,
    read_link,
    sign_link,
)
from bot.chatbot.replies import fit
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.text import esc, when

UNSUBSCRIBED = "unsubscribed on Telegram"
NOT_ALLOWED = "Only this group's admins can change its subscription."
SUBSCRIBE_USAGE = ("Usage: /subscribe [countries] [kinds or groups] [tag:name], for example "
                   "/subscribe TR IN restricted tag:journalist")


class Subscriptions:
    """Subscriber rows keyed ``tg:<chat id>``; changing one needs ``caller.manages_chat``."""

    def __init__(self, store: Store, outbox: Outbox, claims: ClaimBook, *, secret: bytes) -> None:
        self.store = store
        self.outbox = outbox
        self.secret = secret
        self.claims = claims

    def _key(self, caller: Caller) -> str:
        """``tg:<chat id>``, or the key of the row whose chat moved here (a group became a supergroup)."""
        moved = self.outbox.key_at("telegram", str(caller.chat_id), prefix="tg:", prefer=caller.subscriber_key)
        return moved or caller.subscriber_key

    def subscribe(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/subscribe [filters]: create or replace this chat's subscription."""
        try:
            filters = parse_filters(args)
        except UsageError as exc:
            raise UsageError(f"{exc}\n{SUBSCRIBE_USAGE}") from None
        return self.apply(caller, filters, now)

    def apply(self, caller: Caller, filters: Filters, now: datetime) -> Reply:
        if not caller.manages_chat:
            return Reply(NOT_ALLOWED)
        spec = SubscriberSpec(
            key=self._key(caller), name=f"Telegram: {caller.name}"[:100], channel="telegram",
            address=str(caller.chat_id), countries=filters.countries, events=filters.events, tags=filters.tags,
            source="telegram", platforms=filters.platforms)
        existed = self.outbox.subscriber_by_key(spec.key)
        sub_id = self.outbox.upsert_subscriber(spec, now)
        self.outbox.enable(sub_id)
        verb = "Subscription updated" if existed and existed.enabled else "Subscribed"
        return Reply(f"{verb}. This chat gets alerts for {esc(describe_filters(filters))}.\n"
                     "Change it with /subscribe, stop with /unsubscribe.")

    def unsubscribe(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/unsubscribe: stop this chat's alerts (owner alerts stop with /unwatch)."""
        no_args(args, "Usage: /unsubscribe")
        if not caller.manages_chat:
            return Reply(NOT_ALLOWED)
        sub = self.outbox.subscriber_by_key(self._key(caller))
        if sub is None or not sub.enabled:
            return Reply("This chat is not subscribed.")
        self.outbox.disable(sub.id, UNSUBSCRIBED)
        return Reply("Unsubscribed: no more alerts here. /subscribe starts them again.")

    def settings(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/settings: every route that brings alerts to this chat, and in a private chat the user's accounts."""
        no_args(args, "Usage: /settings")
        lines = self._routes(caller)
        if not caller.private:
            lines.append(f"This chat's id: <code>{caller.chat_id}</code> (for telegram_chat in the config)")
        elif caller.user_id is not None:
            lines.append(f"Your user id: <code>{caller.user_id}</code> (for telegram.admins or telegram_chat)")
            owned = self.store.owned_handles(caller.user_id)
            if owned:
                lines.append("You own: " + ", ".join(f"@{esc(handle)}" for handle in owned))
            for claim in self.claims.live(now, user_id=caller.user_id):
                lines.append(f"Pending claim #{claim.id} on @{esc(claim.handle)}, expires {when(claim.expires_at)}")
        return Reply(fit(lines))

    def _routes(self, caller: Caller) -> list[str]:
        """One line per enabled subscriber row that sends here: this chat's own, the config's, the owner's.

        The outbox sends one copy per chat whatever the routes; this says which filters let an alert in.
        A disabled row (unsubscribed, blocked, removed from the config) is not a route.
        """
        chat = str(caller.chat_id)
        own = self.outbox.enabled_spec(self._key(caller))
        config = self.outbox.enabled_at("telegram", chat, operator=False, prefix="config:")
        prefix = f"owner:{caller.user_id}:"  # owner_key(user, pk)
        owned = self.outbox.owner_routes(prefix) if caller.private and caller.user_id is not None else []
        operator = self.outbox.enabled_at("telegram", chat, operator=True)
        lines = [f"This chat is subscribed: {esc(describe_filters(_filters(own)))}."] if own else []
        lines += [f"The operator's config sends alerts here ({esc(spec.name)}): "
                  f"{esc(describe_filters(_filters(spec)))}." for spec in config]
        lines += [f"Alerts about @{esc(route.handle)}, which you own: events: "
                  f"{esc(', '.join(route.events))}." for route in owned]
        if not own:
            lines.append("This chat has no subscription of its own: /subscribe adds one." if lines
                         else "This chat is not subscribed. Send /subscribe to get alerts.")
        if operator:
            lines.append("This chat also gets presswatch's health notices (an operator in the config).")
        return lines

    def start(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply | None:
        """/start TOKEN from a deep link: subscribe with its filters; None when there is no token."""
        if not args:
            return None
        if len(args) != 1:
            raise UsageError("Usage: /start, or open a subscription link")
        try:
            filters = read_link(args[0], self.secret, now)
        except LinkError as exc:
            why = "It has expired" if exc.expired else "It is not a valid presswatch link"
            return Reply(f"This subscription link cannot be used. {why}: ask for a new one. Nothing was changed.")
        return self.apply(caller, filters, now)

    def link(self, caller: Caller, args: Sequence[str], now: datetime, bot_username: str) -> Reply:
        """/link [filters] [expiry] (admins): a signed deep link that subscribes with these filters."""
        try:
            filters, lasts = parse_link_args(args)
        except UsageError as exc:
            raise UsageError(f"{exc}\nUsage: /link [countries] [kinds or groups] [tag:name] [expiry like 7d]") from None
        token = sign_link(filters, now + lasts, self.secret)
        private, group = deep_links(bot_username, token)
        return Reply(
            f"Subscription link for {esc(describe_filters(filters))}, valid for {esc(format_expiry(lasts))} "
            f"(until {when(now + lasts)}):\n{esc(private)}\nTo add the bot to a group with it:\n{esc(group)}")


def _filters(spec: SubscriberSpec) -> Filters:
    """A subscriber's filters, as /subscribe would have set them."""
    return Filters(spec.countries, spec.events, spec.tags, spec.platforms)
