"""A chat's own subscription: /subscribe, /unsubscribe, /settings, /language, signed deep links (/link,
/start TOKEN). Replies are in the asker's language; /language answers in the language it sets."""

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
from bot.chatbot.replies import fit, when
from bot.i18n import N_, Language, compiled, language
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.text import esc

UNSUBSCRIBED = "unsubscribed on Telegram"
NOT_ALLOWED = N_("Only this group's admins can change its subscription.")
SUBSCRIBE_USAGE = N_("Usage: /subscribe [countries] [kinds or groups] [tag:name], for example "
                     "/subscribe TR IN restricted tag:journalist")
LINK_USAGE = N_("Usage: /link [countries] [kinds or groups] [tag:name] [expiry like 7d]")


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
            raise exc.then(SUBSCRIBE_USAGE) from None
        return self.apply(caller, filters, now)

    def apply(self, caller: Caller, filters: Filters, now: datetime) -> Reply:
        _ = caller.lang.gettext
        if not caller.manages_chat:
            return Reply(_(NOT_ALLOWED))
        key = self._key(caller)
        existed = self.outbox.subscriber_by_key(key)
        # A new subscription speaks the language of whoever made it (when presswatch has it); /language changes it.
        spoken = existed.language if existed and existed.language else caller.language
        spec = SubscriberSpec(
            key=key, name=f"Telegram: {caller.name}"[:100], channel="telegram", address=str(caller.chat_id),
            countries=filters.countries, events=filters.events, tags=filters.tags, source="telegram",
            language=spoken, platforms=filters.platforms)
        sub_id = self.outbox.upsert_subscriber(spec, now)
        self.outbox.enable(sub_id)
        said = _("Subscription updated. This chat gets alerts for {filters}.") if existed and existed.enabled \
            else _("Subscribed. This chat gets alerts for {filters}.")
        return Reply(said.format(filters=esc(describe_filters(filters, caller.lang))) + "\n"
                     + _("Change it with /subscribe, stop with /unsubscribe."))

    def unsubscribe(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/unsubscribe: stop this chat's alerts (owner alerts stop with /unwatch)."""
        _ = caller.lang.gettext
        no_args(args, N_("Usage: /unsubscribe"))
        if not caller.manages_chat:
            return Reply(_(NOT_ALLOWED))
        sub = self.outbox.subscriber_by_key(self._key(caller))
        if sub is None or not sub.enabled:
            return Reply(_("This chat is not subscribed."))
        self.outbox.disable(sub.id, UNSUBSCRIBED)
        return Reply(_("Unsubscribed: no more alerts here. /subscribe starts them again."))

    def language_shown(self, caller: Caller, default: Language) -> Reply:
        """/language: the language of this chat's alerts, and the ones presswatch speaks."""
        _ = caller.lang.gettext
        sub = self.outbox.subscriber_by_key(self._key(caller))
        speaks = ", ".join(f"{code} ({language(code).name})" for code in compiled())
        if sub is None or not sub.enabled:
            shown = _("This chat has no subscription of its own; alerts from the operator's config come in "
                      "{name}.").format(name=esc(default.name))
        else:
            shown = _("This chat's alerts are in {name}.").format(name=esc(language(sub.language or default.code).name))
        return Reply(shown + "\n" + _("presswatch speaks: {languages}. Change it with /language tr.").format(
            languages=esc(speaks)))

    def set_language(self, caller: Caller, chosen: Language) -> Reply:
        """/language CODE: this chat's own subscription (and, in a private chat, its owner alerts) in ``chosen``."""
        _ = chosen.gettext  # the answer is in the new language: it shows what the alerts will read like
        if not caller.manages_chat:
            return Reply(_(NOT_ALLOWED))
        keys = [self._key(caller)]
        if caller.private and caller.user_id is not None:
            keys.append(f"owner:{caller.user_id}:")  # owner_key(user, any account)
        if not self.outbox.set_language("telegram", str(caller.chat_id), keys, chosen.code):
            return Reply(_("This chat has no subscription of its own yet: send /subscribe first."))
        return Reply(_("Done: this chat's alerts will be in {name}.").format(name=esc(chosen.name)))

    def settings(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply:
        """/settings: every route that brings alerts to this chat, and in a private chat the user's accounts."""
        _ = caller.lang.gettext
        no_args(args, N_("Usage: /settings"))
        lines = self._routes(caller)
        if not caller.private:
            lines.append(_("This chat's id: {id} (for telegram_chat in the config)").format(
                id=f"<code>{caller.chat_id}</code>"))
        elif caller.user_id is not None:
            lines.append(_("Your user id: {id} (for telegram.admins or telegram_chat)").format(
                id=f"<code>{caller.user_id}</code>"))
            owned = self.store.owned_handles(caller.user_id)
            if owned:
                lines.append(_("You own: {handles}").format(handles=", ".join(f"@{esc(handle)}" for handle in owned)))
            for claim in self.claims.live(now, user_id=caller.user_id):
                lines.append(_("Pending claim #{id} on @{handle}, expires {time}").format(
                    id=claim.id, handle=esc(claim.handle), time=when(claim.expires_at, caller.lang)))
        return Reply(fit(lines))

    def _routes(self, caller: Caller) -> list[str]:
        """One line per enabled subscriber row that sends here: this chat's own, the config's, the owner's.

        The outbox sends one copy per chat whatever the routes; this says which filters let an alert in.
        A disabled row (unsubscribed, blocked, removed from the config) is not a route.
        """
        _, lang = caller.lang.gettext, caller.lang
        chat = str(caller.chat_id)
        own = self.outbox.enabled_spec(self._key(caller))
        config = self.outbox.enabled_at("telegram", chat, operator=False, prefix="config:")
        prefix = f"owner:{caller.user_id}:"  # owner_key(user, pk)
        owned = self.outbox.owner_routes(prefix) if caller.private and caller.user_id is not None else []
        operator = self.outbox.enabled_at("telegram", chat, operator=True)
        lines = [_("This chat is subscribed: {filters}.").format(
            filters=esc(describe_filters(_filters(own), lang)))] if own else []
        lines += [_("The operator's config sends alerts here ({name}): {filters}.").format(
            name=esc(spec.name), filters=esc(describe_filters(_filters(spec), lang))) for spec in config]
        lines += [_("Alerts about @{handle}, which you own: events: {events}.").format(
            handle=esc(route.handle), events=esc(", ".join(route.events))) for route in owned]
        if not own:
            lines.append(_("This chat has no subscription of its own: /subscribe adds one.") if lines
                         else _("This chat is not subscribed. Send /subscribe to get alerts."))
        if operator:
            lines.append(_("This chat also gets presswatch's health notices (an operator in the config)."))
        return lines

    def start(self, caller: Caller, args: Sequence[str], now: datetime) -> Reply | None:
        """/start TOKEN from a deep link: subscribe with its filters; None when there is no token."""
        if not args:
            return None
        if len(args) != 1:
            raise UsageError(N_("Usage: /start, or open a subscription link"))
        _ = caller.lang.gettext
        try:
            filters = read_link(args[0], self.secret, now)
        except LinkError as exc:
            if exc.expired:
                return Reply(_("This subscription link cannot be used. It has expired: ask for a new one. Nothing "
                               "was changed."))
            return Reply(_("This subscription link cannot be used. It is not a valid presswatch link: ask for a new "
                           "one. Nothing was changed."))
        return self.apply(caller, filters, now)

    def link(self, caller: Caller, args: Sequence[str], now: datetime, bot_username: str) -> Reply:
        """/link [filters] [expiry] (admins): a signed deep link that subscribes with these filters."""
        try:
            filters, lasts = parse_link_args(args)
        except UsageError as exc:
            raise exc.then(LINK_USAGE) from None
        token = sign_link(filters, now + lasts, self.secret)
        private, group = deep_links(bot_username, token)
        _ = caller.lang.gettext
        head = _("Subscription link for {filters}, valid for {expiry} (until {time}):").format(
            filters=esc(describe_filters(filters, caller.lang)), expiry=esc(format_expiry(lasts)),
            time=when(now + lasts, caller.lang))
        to_group = _("To add the bot to a group with it:")
        return Reply(f"{head}\n{esc(private)}\n{to_group}\n{esc(group)}")


def _filters(spec: SubscriberSpec) -> Filters:
    """A subscriber's filters, as /subscribe would have set them."""
    return Filters(spec.countries, spec.events, spec.tags, spec.platforms)
