"""One-click unsubscribe for alert emails (RFC 8058): signed per-subscriber links, and what they do.

A link is ``/unsubscribe/<subscriber id>.<mac>``: the MAC (HMAC-SHA256 under a key made once per database,
128 bits kept) covers the id and the address, so it cannot be guessed, altered to reach someone else, or
reused after the subscriber's address changes. A POST to it disables the subscriber at once (RFC 8058 asks
for no cookie and no login) and tells the operators; a GET only shows a button (mail scanners open links).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from bot.models import NoticeKind, Subscriber
from bot.said import N_, Said
from bot.storage.guard import is_storage_error
from bot.storage.outbox import Outbox
from bot.web.site import SITE

log = logging.getLogger("presswatch.web")

REASON = "unsubscribed by the one-click link of an alert email"
_MAC_BYTES = 16
_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})$")


def sign(key: bytes, subscriber_id: int, address: str) -> str:
    """The token of one subscriber at one address."""
    message = f"unsubscribe\0{subscriber_id}\0{address.casefold()}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{subscriber_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


class Unsubscriber:
    """Makes the links (for the dispatcher) and honours them (for the web server), on the daemon's database."""

    def __init__(self, outbox: Outbox, public_url: str, clock: Callable[[], datetime]) -> None:
        self.outbox = outbox
        self.public_url = public_url
        self.clock = clock
        self.key: bytes | None = None  # loaded from the database at start (SiteKeys)

    def url(self, subscriber: Subscriber) -> str:
        """The link for an email subscriber's alerts; '' for operators, other channels, or before start."""
        if self.key is None or subscriber.channel != "email" or subscriber.operator:
            return ""
        return f"{self.public_url}/unsubscribe/{sign(self.key, subscriber.id, subscriber.address)}"

    def verified(self, token: str) -> Subscriber | None:
        """The email subscriber a token was made for, or None when it is forged, altered or out of date."""
        match = _TOKEN.match(token)
        if self.key is None or match is None:
            return None
        subscriber = self.outbox.subscriber(int(match.group(1)))
        if subscriber is None or subscriber.channel != "email" or subscriber.operator:
            return None
        expected = sign(self.key, subscriber.id, subscriber.address)
        return subscriber if hmac.compare_digest(expected, token) else None

    def unsubscribe(self, subscriber: Subscriber) -> bool:
        """Disable the subscriber and tell the operators; False when it was already disabled."""
        now = self.clock()
        if not self.outbox.disable(subscriber.id, REASON):
            return False
        log.info("subscriber %s unsubscribed by the one-click link of an alert email", subscriber.name)
        self.outbox.notify_operators(
            NoticeKind.SUBSCRIBER_DISABLED, Said(N_("{name} unsubscribed from alert emails"), name=subscriber.name),
            Said(N_("{name} used the one-click unsubscribe link of an alert email: presswatch sends them no more"
                    " alerts. A restart does not subscribe them again; a new address in the config does."),
                 name=subscriber.name), now)
        return True


async def confirm(request: web.Request) -> web.StreamResponse:
    """GET: what the link does, and a button; nothing changes until the button is pressed."""
    site = request.app[SITE]
    unsubscriber = site.unsubscriber
    subscriber = unsubscriber.verified(request.match_info["token"]) if unsubscriber else None
    if subscriber is None:
        return site.message("This link is not valid", "It may have been cut short or changed. Use the link"
                            " of a recent alert email, or ask the people who run this service.", status=403)
    if not subscriber.enabled:
        return site.message("You are unsubscribed", "This address gets no alerts from this service.")
    return site.message("Stop these alerts?", "This stops the alert emails that this link came with.",
                        form_action=request.path, button="Unsubscribe")


async def one_click(request: web.Request) -> web.StreamResponse:
    """POST (RFC 8058, or the button): disable the subscriber at once; a forged link changes nothing."""
    site = request.app[SITE]
    unsubscriber = site.unsubscriber
    await request.read()  # the body is List-Unsubscribe=One-Click; the token alone decides
    subscriber = unsubscriber.verified(request.match_info["token"]) if unsubscriber else None
    if unsubscriber is None or subscriber is None:
        return site.message("This link is not valid", "Nothing was changed.", status=403)
    try:
        unsubscriber.unsubscribe(subscriber)
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        log.warning("an unsubscribe could not be recorded (%s); the person was asked to try again", exc)
        return site.message("Please try again", "The unsubscribe could not be recorded just now.", status=503)
    return site.message("You are unsubscribed", "This address gets no more alerts from this service.")
